//! Per-language tree-sitter grammars and the node kinds that define symbols.

use codeintel_discovery::Language;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// What a definition is. Stored as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function inside a class, struct, impl, trait or interface.
    Method,
    /// A class.
    Class,
    /// A struct (or record, or union).
    Struct,
    /// An interface (or protocol).
    Interface,
    /// A trait.
    Trait,
    /// An enum.
    Enum,
    /// A Rust `impl` block.
    Impl,
    /// A module or namespace.
    Module,
    /// A type alias or definition.
    Type,
    /// A macro.
    Macro,
}

impl SymbolKind {
    /// The lowercase name stored and shown (`function`, `class`, ...).
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

    /// Every kind, in the order they are listed to a person.
    pub const ALL: [SymbolKind; 11] = [
        SymbolKind::Function,
        SymbolKind::Method,
        SymbolKind::Class,
        SymbolKind::Struct,
        SymbolKind::Interface,
        SymbolKind::Trait,
        SymbolKind::Enum,
        SymbolKind::Impl,
        SymbolKind::Module,
        SymbolKind::Type,
        SymbolKind::Macro,
    ];

    /// The kind a person or an assistant means: any case, and the words languages use for it
    /// (`def`, `fn`, `func` are functions; `namespace`, `package` modules). An unknown word is
    /// an error listing the kinds, so a typo never reads as "no such definition".
    pub fn parse_alias(word: &str) -> Result<SymbolKind, String> {
        let lower = word.trim().to_ascii_lowercase();
        let kind = match lower.as_str() {
            "def" | "fn" | "func" | "fun" | "function" | "functions" | "procedure" | "sub" => {
                SymbolKind::Function
            }
            "method" | "methods" | "member" => SymbolKind::Method,
            "class" | "classes" => SymbolKind::Class,
            "struct" | "structs" | "record" | "union" => SymbolKind::Struct,
            "interface" | "interfaces" | "protocol" => SymbolKind::Interface,
            "trait" | "traits" => SymbolKind::Trait,
            "enum" | "enums" | "enumeration" => SymbolKind::Enum,
            "impl" | "impls" | "implementation" => SymbolKind::Impl,
            "module" | "modules" | "mod" | "namespace" | "package" => SymbolKind::Module,
            "type" | "types" | "typedef" | "alias" | "type_alias" => SymbolKind::Type,
            "macro" | "macros" => SymbolKind::Macro,
            _ => {
                let kinds: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                return Err(format!(
                    "unknown kind `{word}`: one of {}",
                    kinds.join(", ")
                ));
            }
        };
        Ok(kind)
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

/// What the chunker needs to know of one node kind, looked up by kind id (comparing kind names
/// as strings on every node measured ~6% of indexing time).
#[derive(Debug, Clone, Copy, Default)]
pub struct KindInfo {
    pub name: &'static str,
    pub definition: Option<SymbolKind>,
    /// Wraps one definition (`export`, decorators, templates): the wrapper is the chunk, the
    /// inner node names it.
    pub wrapper: bool,
    pub comment: bool,
    /// Never holds a definition (strings, comments, macro token trees, parameter lists): the
    /// symbol walk does not descend into it.
    pub opaque: bool,
}

/// Kind-name fragments of nodes that cannot contain definitions. `arguments` is not among
/// them: JavaScript modules wrapped in a factory call keep all their code in an argument.
const OPAQUE: &[&str] = &[
    "string",
    "comment",
    "literal",
    "token_tree",
    "attribute",
    "parameters",
    "type_arguments",
    "import",
    "use_declaration",
    "heredoc",
    "regex",
];

/// Which grammar parses a file: its language, and for TypeScript whether it is plain `.ts`
/// (type assertions like `<T>x` do not parse as TSX).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GrammarKey {
    pub lang: Language,
    pub plain_ts: bool,
}

impl GrammarKey {
    pub fn for_file(lang: Language, file_name: &str) -> Self {
        let plain_ts = lang == Language::TypeScript
            && [".ts", ".mts", ".cts"]
                .iter()
                .any(|e| file_name.ends_with(e));
        GrammarKey { lang, plain_ts }
    }
}

/// A tree-sitter grammar with its kind table and reference query.
pub struct Grammar {
    pub lang: Language,
    kinds: Vec<KindInfo>,
    /// `None` when the query does not compile (logged once per thread).
    pub refs: Option<super::refs::RefQuery>,
}

impl Grammar {
    pub fn kind(&self, node: tree_sitter::Node) -> KindInfo {
        self.kinds
            .get(usize::from(node.kind_id()))
            .copied()
            .unwrap_or_default()
    }
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

pub(super) type Spec = (
    tree_sitter::Language,
    &'static [(&'static str, SymbolKind)],
    &'static [&'static str],
);

pub(super) fn spec(key: GrammarKey) -> Spec {
    match key.lang {
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
            if key.plain_ts {
                tree_sitter_typescript::LANGUAGE_TYPESCRIPT.into()
            } else {
                tree_sitter_typescript::LANGUAGE_TSX.into()
            },
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
    }
}

/// A parser with its grammar, one per grammar per thread.
struct Loaded {
    parser: tree_sitter::Parser,
    grammar: Rc<Grammar>,
}

fn load(key: GrammarKey) -> Option<Loaded> {
    let (language, definitions, wrappers) = spec(key);
    let kinds = (0..language.node_kind_count())
        .map(|id| {
            let name = u16::try_from(id)
                .ok()
                .and_then(|id| language.node_kind_for_id(id))
                .unwrap_or("");
            KindInfo {
                name,
                definition: definitions
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, d)| *d),
                wrapper: wrappers.contains(&name),
                comment: name.contains("comment"),
                opaque: OPAQUE.iter().any(|o| name.contains(o)),
            }
        })
        .collect();
    let mut parser = tree_sitter::Parser::new();
    if let Err(err) = parser.set_language(&language) {
        tracing::warn!(language = key.lang.name(), %err, "grammar does not load");
        return None;
    }
    let source = super::refs::query_source(key.lang, !key.plain_ts);
    let refs = super::refs::RefQuery::new(&language, &source)
        .map_err(|err| tracing::warn!(language = key.lang.name(), %err, "reference query does not compile"))
        .ok();
    Some(Loaded {
        parser,
        grammar: Rc::new(Grammar {
            lang: key.lang,
            kinds,
            refs,
        }),
    })
}

/// How much work a parse may do, counted in tree-sitter's progress checks (one per about 100
/// parser operations): 2,000 plus 100 per KB, at most 200,000. Counting work, not time, makes
/// the cut the same on every machine, build and load (a deadline made chunk counts depend on
/// how busy the machine was). Real code takes 3-12 checks per KB (28 at most, in 3,000 files
/// of eleven languages; about 35 checks per ms on one core), so a file past its budget is not
/// code the grammar understands but a fragment that sends its error recovery exploring (a
/// 12 KB `.h` holding a bare array initializer took ~10,000 checks, 300 ms); it is chunked by
/// line windows instead.
fn parse_budget(len: usize) -> u64 {
    (2_000 + 100 * (len as u64 / 1024)).min(200_000)
}

thread_local! {
    static LOADED: RefCell<HashMap<GrammarKey, Loaded>> = RefCell::new(HashMap::new());
}

/// Parses `text` with this thread's parser for `key`; the tree comes with its grammar.
pub fn parse(key: GrammarKey, text: &str) -> Option<(tree_sitter::Tree, Rc<Grammar>)> {
    parse_within(key, text, parse_budget(text.len()))
}

/// [`parse`] with `budget` progress checks of work at most.
fn parse_within(
    key: GrammarKey,
    text: &str,
    mut budget: u64,
) -> Option<(tree_sitter::Tree, Rc<Grammar>)> {
    LOADED.with(|loaded| {
        let mut loaded = loaded.borrow_mut();
        let entry = match loaded.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => e.insert(load(key)?),
        };
        // A pathological file must not stall a sync worker: give up past a budget of work (the
        // file is then chunked by line windows).
        let mut over_budget = |_: &tree_sitter::ParseState| {
            budget = budget.saturating_sub(1);
            budget == 0
        };
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut over_budget);
        let bytes = text.as_bytes();
        let mut read = |offset: usize, _| bytes.get(offset..).unwrap_or_default();
        let tree = entry
            .parser
            .parse_with_options(&mut read, None, Some(options));
        if tree.is_none() {
            entry.parser.reset();
        }
        Some((tree?, entry.grammar.clone()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use codeintel_discovery::Language;

    #[test]
    fn a_parse_past_its_budget_of_work_gives_up_whatever_the_clock_says() {
        let key = GrammarKey::for_file(Language::C, "big.c");
        let code: String = (0..3_000)
            .map(|i| format!("static int f{i}(int a) {{ return a * {i} + 1; }}\n"))
            .collect();
        let (tree, _) = parse(key, &code).expect("ordinary code parses within its budget");
        assert!(!tree.root_node().has_error());
        // The checks a parse takes are a property of the text, not of the machine's load:
        // under its count the parse gives up every time, at it it never does.
        let mut checks = 0;
        let needed = (1..)
            .map(|b| {
                checks = b;
                b * 16
            })
            .find(|&b| parse_within(key, &code, b).is_some())
            .unwrap();
        assert!(checks > 1, "the text needs more than the smallest budget");
        for _ in 0..3 {
            assert!(parse_within(key, &code, needed).is_some());
            assert!(parse_within(key, &code, needed - 16).is_none());
        }
        assert!(needed < parse_budget(code.len()) / 2, "{needed} checks");
    }
}
