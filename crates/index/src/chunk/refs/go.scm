; Go.
(call_expression function: (identifier) @call)
(call_expression function: (selector_expression operand: (_) @qual field: (field_identifier) @call))
(composite_literal type: (type_identifier) @call)
(composite_literal type: (qualified_type package: (package_identifier) @qual name: (type_identifier) @call))
(type_identifier) @type
(qualified_type package: (package_identifier) @qual name: (type_identifier) @type)
(import_spec path: (interpreted_string_literal) @import)
(import_spec name: (package_identifier) @alias path: (interpreted_string_literal) @import)
(import_declaration) @hide
(package_clause) @hide
(identifier) @ref
(function_declaration name: (identifier) @def)
(method_declaration name: (field_identifier) @def)
(type_spec name: (type_identifier) @def)
(type_parameter_declaration name: (identifier) @def)
(parameter_declaration name: (identifier) @local)
(variadic_parameter_declaration name: (identifier) @local)
(short_var_declaration left: (expression_list (identifier) @local))
(var_spec name: (identifier) @local)
(const_spec name: (identifier) @local)
(range_clause left: (expression_list (identifier) @local))
(labeled_statement label: (label_name) @skip)
