; JavaScript only.
(class_declaration name: (identifier) @def)
(class_heritage (identifier) @type)
(class_heritage (member_expression object: (_) @qual property: (property_identifier) @type))
(formal_parameters (identifier) @local)
(formal_parameters (assignment_pattern left: (identifier) @local))
(formal_parameters (rest_pattern (identifier) @local))
