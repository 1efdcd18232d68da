//! Per-language tree-sitter grammars and the node kinds that define symbols.

use codeintel_discovery::Language;
use std::cell::RefCell;
use std::collections::HashMap;

/// What a definition is. Stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    Function,
    Method,
    Class,
    Struct,
    Interface,
    Trait,
    Enum,
    Impl,
    Module,
    Type,
    Macro,
}

impl SymbolKind {
    pub fn name(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Interface => "interface",
            SymbolKind::Trait => "trait",
            SymbolKind::Enum => "enum",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Type => "type",
            SymbolKind::Macro => "macro",
        }
    }

    /// Kinds whose functions are methods.
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Interface
                | SymbolKind::Trait
                | SymbolKind::Impl
                | SymbolKind::Enum
        )
    }
}

/// The definition node kinds of one language.
pub struct Grammar {
    pub language: tree_sitter::Language,
    pub definitions: &'static [(&'static str, SymbolKind)],
    /// Nodes that wrap one definition (`export`, decorators, templates): the wrapper is the
    /// chunk, the inner node names it.
    pub wrappers: &'static [&'static str],
}

use SymbolKind::*;

const PYTHON: &[(&str, SymbolKind)] = &[
    ("function_definition", Function),
    ("class_definition", Class),
];
const JAVASCRIPT: &[(&str, SymbolKind)] = &[
    ("function_declaration", Function),
    ("generator_function_declaration", Function),
    ("class_declaration", Class),
    ("method_definition", Method),
    ("variable_declarator", Function), // only with a function value, see `definition`
];
const TYPESCRIPT: &[(&str, SymbolKind)] = &[
    ("function_declaration", Function),
    ("generator_function_declaration", Function),
    ("class_declaration", Class),
    ("abstract_class_declaration", Class),
    ("method_definition", Method),
    ("variable_declarator", Function),
    ("interface_declaration", Interface),
    ("type_alias_declaration", Type),
    ("enum_declaration", Enum),
    ("internal_module", Module),
];
const JAVA: &[(&str, SymbolKind)] = &[
    ("class_declaration", Class),
    ("interface_declaration", Interface),
    ("enum_declaration", Enum),
    ("record_declaration", Class),
    ("annotation_type_declaration", Interface),
    ("method_declaration", Method),
    ("constructor_declaration", Method),
];
const GO: &[(&str, SymbolKind)] = &[
    ("function_declaration", Function),
    ("method_declaration", Method),
    ("type_spec", Type),
];
const RUST: &[(&str, SymbolKind)] = &[
    ("function_item", Function),
    ("function_signature_item", Function),
    ("struct_item", Struct),
    ("enum_item", Enum),
    ("union_item", Struct),
    ("trait_item", Trait),
    ("impl_item", Impl),
    ("mod_item", Module),
    ("type_item", Type),
    ("macro_definition", Macro),
];
const RUBY: &[(&str, SymbolKind)] = &[
    ("method", Method),
    ("singleton_method", Method),
    ("class", Class),
    ("module", Module),
];
const PHP: &[(&str, SymbolKind)] = &[
    ("function_definition", Function),
    ("class_declaration", Class),
    ("interface_declaration", Interface),
    ("trait_declaration", Trait),
    ("enum_declaration", Enum),
    ("method_declaration", Method),
];
const CSHARP: &[(&str, SymbolKind)] = &[
    ("class_declaration", Class),
    ("struct_declaration", Struct),
    ("interface_declaration", Interface),
    ("enum_declaration", Enum),
    ("record_declaration", Class),
    ("method_declaration", Method),
    ("constructor_declaration", Method),
    ("local_function_statement", Function),
];
const CPP: &[(&str, SymbolKind)] = &[
    ("function_definition", Function),
    ("class_specifier", Class),
    ("struct_specifier", Struct),
    ("union_specifier", Struct),
    ("enum_specifier", Enum),
];
const C: &[(&str, SymbolKind)] = &[
    ("function_definition", Function),
    ("struct_specifier", Struct),
    ("union_specifier", Struct),
    ("enum_specifier", Enum),
];

fn grammar(lang: Language) -> Grammar {
    let (language, definitions, wrappers): (tree_sitter::Language, _, &'static [&'static str]) =
        match lang {
            Language::Python => (
                tree_sitter_python::LANGUAGE.into(),
                PYTHON,
                &["decorated_definition"],
            ),
            Language::JavaScript => (
                tree_sitter_javascript::LANGUAGE.into(),
                JAVASCRIPT,
                &[
                    "export_statement",
                    "lexical_declaration",
                    "variable_declaration",
                ],
            ),
            Language::TypeScript => (
                tree_sitter_typescript::LANGUAGE_TSX.into(),
                TYPESCRIPT,
                &[
                    "export_statement",
                    "lexical_declaration",
                    "variable_declaration",
                    "ambient_declaration",
                ],
            ),
            Language::Java => (tree_sitter_java::LANGUAGE.into(), JAVA, &[]),
            Language::Go => (tree_sitter_go::LANGUAGE.into(), GO, &["type_declaration"]),
            Language::Rust => (tree_sitter_rust::LANGUAGE.into(), RUST, &[]),
            Language::Ruby => (tree_sitter_ruby::LANGUAGE.into(), RUBY, &[]),
            Language::Php => (tree_sitter_php::LANGUAGE_PHP.into(), PHP, &[]),
            Language::CSharp => (tree_sitter_c_sharp::LANGUAGE.into(), CSHARP, &[]),
            Language::Cpp => (
                tree_sitter_cpp::LANGUAGE.into(),
                CPP,
                &["template_declaration", "type_definition"],
            ),
            Language::C => (tree_sitter_c::LANGUAGE.into(), C, &["type_definition"]),
        };
    Grammar {
        language,
        definitions,
        wrappers,
    }
}

/// `.ts` files parse with the TypeScript grammar; `.tsx` (and the JSX-tolerant default) with TSX.
fn typescript_plain() -> tree_sitter::Language {
    tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()
}

const PARSE_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

thread_local! {
    static PARSERS: RefCell<HashMap<(Language, bool), tree_sitter::Parser>> = RefCell::new(HashMap::new());
    static GRAMMARS: RefCell<HashMap<Language, std::rc::Rc<Grammar>>> = RefCell::new(HashMap::new());
}

/// The grammar of `lang`, built once per thread.
pub fn grammar_for(lang: Language) -> std::rc::Rc<Grammar> {
    GRAMMARS.with(|g| {
        g.borrow_mut()
            .entry(lang)
            .or_insert_with(|| std::rc::Rc::new(grammar(lang)))
            .clone()
    })
}

/// Parses `text` as `lang` with this thread's parser. `plain_ts` picks the non-TSX TypeScript
/// grammar (type assertions like `<T>x` do not parse as TSX).
pub fn parse(lang: Language, plain_ts: bool, text: &str) -> Option<tree_sitter::Tree> {
    PARSERS.with(|parsers| {
        let mut parsers = parsers.borrow_mut();
        let key = (lang, plain_ts && lang == Language::TypeScript);
        let parser = match parsers.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let mut parser = tree_sitter::Parser::new();
                let language = if key.1 {
                    typescript_plain()
                } else {
                    grammar_for(lang).language.clone()
                };
                if let Err(err) = parser.set_language(&language) {
                    tracing::warn!(language = lang.name(), %err, "grammar does not load");
                    return None;
                }
                e.insert(parser)
            }
        };
        // A pathological file must not stall a sync worker: give up after a deadline (the file
        // is then chunked by line windows).
        let deadline = std::time::Instant::now() + PARSE_DEADLINE;
        let mut past_deadline = |_: &tree_sitter::ParseState| std::time::Instant::now() > deadline;
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut past_deadline);
        let bytes = text.as_bytes();
        let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
        let tree = parser.parse_with_options(&mut read, None, Some(options));
        if tree.is_none() {
            parser.reset();
        }
        tree
    })
}
