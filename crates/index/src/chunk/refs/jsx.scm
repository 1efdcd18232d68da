; JSX elements (JavaScript and TSX): a component used is called.
(jsx_opening_element name: (identifier) @call)
(jsx_self_closing_element name: (identifier) @call)
(jsx_opening_element name: (member_expression object: (_) @qual property: (property_identifier) @call))
(jsx_self_closing_element name: (member_expression object: (_) @qual property: (property_identifier) @call))
(jsx_closing_element) @hide
