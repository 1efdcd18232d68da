//! References: the places a file uses a name that can name a definition (calls, constructor
//! calls, type uses, imports, decorators and annotations, plain value uses), found with one
//! tree-sitter query per language over the tree the chunker already parsed. Comments and
//! strings hold no identifier nodes, so nothing in them is ever a reference.
//!
//! Each language's query (`refs/*.scm`) marks nodes with captures:
//! - `call`, `type`, `import`, `ref`: a use of that kind (`ref`: a plain value use, such as a
//!   function passed as an argument);
//! - `qual`: in the same match, what the use is qualified by (`self`, a receiver, `pkg`,
//!   `Foo::`); `alias` and `module`: in an import's match, the local name and the source;
//! - `def`: a definition's own name (never a use); `skip`: not a plain value use (a field
//!   name, a keyword argument); `local`: a name bound in the file (a parameter, a variable),
//!   whose plain value uses name no definition and are dropped; `hide`: no plain value use
//!   inside this node (import statements, namespace names).
//!
//! A node captured by several patterns keeps its strongest meaning:
//! def > import > call > type > skip > ref.

use rustc_hash::{FxHashMap, FxHashSet};
use tree_sitter::{Node, Query, QueryCursor, StreamingIterator, Tree};

/// How a place uses a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefKind {
    /// A call, method call or constructor call (`f()`, `x.f()`, `new F`, `F{}`), a decorator.
    Call,
    /// A type use (annotations, bases, generic arguments), an annotation.
    Type,
    /// An import or use declaration.
    Import,
    /// Any other use of the name as a value.
    Reference,
}

impl RefKind {
    /// Every kind, in the order they are listed.
    pub const ALL: [RefKind; 4] = [
        RefKind::Call,
        RefKind::Type,
        RefKind::Import,
        RefKind::Reference,
    ];

    /// The name stored and shown (`call`, `type`, `import`, `reference`).
    pub fn name(self) -> &'static str {
        match self {
            RefKind::Call => "call",
            RefKind::Type => "type",
            RefKind::Import => "import",
            RefKind::Reference => "reference",
        }
    }

    /// The kind named `word` (any case); an unknown word is an error listing the kinds.
    pub fn parse(word: &str) -> Result<RefKind, String> {
        let lower = word.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.name() == lower || (lower == "ref" && *k == RefKind::Reference))
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.name()).collect();
                format!(
                    "unknown reference kind `{word}`: one of {}",
                    names.join(", ")
                )
            })
    }

    /// The small integer stored for the kind.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The kind stored as `code`.
    pub fn from_code(code: i64) -> Option<RefKind> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }
}

/// One use of a name in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The name used (the last segment of a qualified name).
    pub name: String,
    /// How it is used.
    pub kind: RefKind,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
    /// What the use is qualified by, as written (`self`, `this`, `os.path`, `Foo`); `?` for a
    /// receiver that is an expression (`f().g()`).
    pub qualifier: Option<String>,
    /// Imports: where the name comes from, as written (`a.b`, `./util`, `crate::m`, `fmt`).
    pub module: Option<String>,
    /// Imports: the local name when it differs (`import x as y`, `import * as ns`).
    pub alias: Option<String>,
}

/// Which extraction this is: bumped when the queries change what they find, so the next sync
/// finds every file's references again.
pub const REFS_VERSION: i64 = 2;

/// Longest qualifier kept as written; a longer one (a chained expression) is `?`.
const MAX_QUALIFIER_BYTES: usize = 64;

/// What a capture of a language's query means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Use(RefKind),
    Def,
    Skip,
    Local,
    Hide,
    Qual,
    Alias,
    Module,
    Ignore,
}

impl Role {
    /// Which meaning of a node captured twice wins.
    fn strength(self) -> u8 {
        match self {
            Role::Def => 6,
            Role::Use(RefKind::Import) => 5,
            Role::Use(RefKind::Call) => 4,
            Role::Use(RefKind::Type) => 3,
            Role::Skip => 2,
            Role::Use(RefKind::Reference) => 1,
            _ => 0,
        }
    }
}

/// A language's reference query, compiled once per grammar and thread.
pub struct RefQuery {
    query: Query,
    roles: Vec<Role>,
}

impl RefQuery {
    /// Compiles `source` for `language`; a query that does not compile is a bug in this
    /// crate's `.scm` files (a test compiles every one).
    pub fn new(language: &tree_sitter::Language, source: &str) -> Result<RefQuery, String> {
        let query = Query::new(language, source).map_err(|e| e.to_string())?;
        let roles = query
            .capture_names()
            .iter()
            .map(|name| match *name {
                "call" => Role::Use(RefKind::Call),
                "type" => Role::Use(RefKind::Type),
                "import" => Role::Use(RefKind::Import),
                "ref" => Role::Use(RefKind::Reference),
                "def" => Role::Def,
                "skip" => Role::Skip,
                "local" => Role::Local,
                "hide" => Role::Hide,
                "qual" => Role::Qual,
                "alias" => Role::Alias,
                "module" => Role::Module,
                _ => Role::Ignore,
            })
            .collect();
        Ok(RefQuery { query, roles })
    }
}

/// The query source of a language: its `.scm` pieces, joined.
pub fn query_source(lang: codeintel_discovery::Language, tsx: bool) -> String {
    use codeintel_discovery::Language as L;
    let parts: &[&str] = match lang {
        L::Python => &[include_str!("refs/python.scm")],
        L::JavaScript => &[
            include_str!("refs/ecma.scm"),
            include_str!("refs/javascript.scm"),
            include_str!("refs/jsx.scm"),
        ],
        L::TypeScript if tsx => &[
            include_str!("refs/ecma.scm"),
            include_str!("refs/typescript.scm"),
            include_str!("refs/jsx.scm"),
        ],
        L::TypeScript => &[
            include_str!("refs/ecma.scm"),
            include_str!("refs/typescript.scm"),
        ],
        L::Java => &[include_str!("refs/java.scm")],
        L::Go => &[include_str!("refs/go.scm")],
        L::Rust => &[include_str!("refs/rust.scm")],
        L::Ruby => &[include_str!("refs/ruby.scm")],
        L::Php => &[include_str!("refs/php.scm")],
        L::CSharp => &[include_str!("refs/csharp.scm")],
        L::Cpp => &[include_str!("refs/c.scm"), include_str!("refs/cpp.scm")],
        L::C => &[include_str!("refs/c.scm")],
    };
    parts.join("\n")
}

/// A node's strongest meaning so far, with what its match said about it.
struct Found<'t> {
    role: Role,
    node: Node<'t>,
    qual: Option<Node<'t>>,
    module: Option<Node<'t>>,
    alias: Option<Node<'t>>,
}

/// Every reference in `tree` (a parse of `text`), in the order they appear.
pub fn extract(tree: &Tree, query: &RefQuery, text: &str) -> Vec<Reference> {
    let bytes = text.as_bytes();
    let mut found: FxHashMap<usize, Found> = FxHashMap::default();
    let mut locals: FxHashSet<&str> = FxHashSet::default();
    let mut hidden: Vec<(usize, usize)> = Vec::new();
    let mut namespace_imports: Vec<(usize, Reference)> = Vec::new();
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query.query, tree.root_node(), bytes);
    while let Some(m) = matches.next() {
        let (mut primary, mut qual, mut module, mut alias) = (None, None, None, None);
        for c in m.captures {
            match query.roles[c.index as usize] {
                Role::Qual => qual = Some(c.node),
                Role::Module => module = Some(c.node),
                Role::Alias => alias = Some(c.node),
                Role::Local => {
                    if let Ok(name) = c.node.utf8_text(bytes) {
                        locals.insert(name);
                    }
                }
                Role::Hide => hidden.push((c.node.start_byte(), c.node.end_byte())),
                Role::Ignore => {}
                role => primary = Some((role, c.node)),
            }
        }
        let Some((role, node)) = primary else {
            // `import * as ns from 'm'`: a local name and a source, no imported name.
            if let (Some(a), Some(m)) = (alias, module) {
                let text = |n: Node<'_>| n.utf8_text(bytes).ok().map(str::to_string);
                let pos = a.start_position();
                namespace_imports.push((
                    a.start_byte(),
                    Reference {
                        name: "*".into(),
                        kind: RefKind::Import,
                        line: pos.row as u32 + 1,
                        column: pos.column as u32 + 1,
                        qualifier: None,
                        module: text(m).map(|m| unquote(&m).to_string()),
                        alias: text(a),
                    },
                ));
            }
            continue;
        };
        let entry = Found {
            role,
            node,
            qual,
            module,
            alias,
        };
        match found.get_mut(&node.id()) {
            Some(old) if old.role.strength() > role.strength() => {}
            // The same meaning from a more specific pattern: keep what it adds.
            Some(old) if old.role == role => {
                old.qual = old.qual.or(qual);
                old.module = old.module.or(module);
                old.alias = old.alias.or(alias);
            }
            _ => {
                found.insert(node.id(), entry);
            }
        }
    }
    hidden.sort_unstable();
    let is_hidden = |at: usize| {
        let i = hidden.partition_point(|h| h.0 <= at);
        hidden[..i].iter().rev().take(64).any(|h| h.1 > at)
    };
    let mut refs: Vec<(usize, Reference)> = found
        .into_values()
        .filter_map(|f| {
            let Role::Use(kind) = f.role else { return None };
            let start = f.node.start_byte();
            // Inside an import or a namespace's name only the import itself counts.
            if matches!(kind, RefKind::Reference | RefKind::Type) && is_hidden(start) {
                return None;
            }
            let r = reference(&f, kind, bytes)?;
            let plain = matches!(kind, RefKind::Reference | RefKind::Type);
            if plain && (r.name.len() < 2 || locals.contains(r.name.as_str())) {
                return None;
            }
            Some((start, r))
        })
        .chain(namespace_imports)
        .collect();
    refs.sort_by_key(|(start, _)| *start);
    refs.into_iter().map(|(_, r)| r).collect()
}

/// Names that stand for the object or class at hand: uses of them are qualifiers, not names.
const SELF_NAMES: &[&str] = &[
    "self", "this", "super", "cls", "Self", "$this", "parent", "static",
];

fn reference(f: &Found, kind: RefKind, bytes: &[u8]) -> Option<Reference> {
    let text = |n: Node| n.utf8_text(bytes).ok().map(str::trim);
    let raw = text(f.node)?;
    let pos = f.node.start_position();
    let (mut name, mut prefix) = split_qualified(raw);
    let mut module = f.module.and_then(text).map(unquote);
    let quoted = raw.starts_with(['"', '\'', '<', '`']);
    if kind == RefKind::Import && (quoted || raw.contains('/')) {
        // A path (`"net/http"`, `<stdio.h>`, `require 'a/b'`): the name is its last part.
        let path = unquote(raw);
        name = path.rsplit('/').next().unwrap_or(path);
        prefix = None;
        module = Some(path);
    }
    if name.is_empty() || SELF_NAMES.contains(&name) {
        return None;
    }
    let qualifier = match (f.qual.and_then(text), prefix) {
        (Some(q), _) => Some(qualifier_text(q)),
        (None, Some(p)) if kind != RefKind::Import => Some(qualifier_text(p)),
        _ => None,
    };
    let module = match (kind, module, prefix) {
        (RefKind::Import, None, Some(p)) => Some(p),
        (_, m, _) => m,
    };
    Some(Reference {
        name: name.to_string(),
        kind,
        line: pos.row as u32 + 1,
        column: pos.column as u32 + 1,
        qualifier,
        module: module.map(str::to_string),
        alias: f
            .alias
            .and_then(text)
            .filter(|a| *a != name)
            .map(str::to_string),
    })
}

/// `a.b.c` → (`c`, `a.b`); `A::B` → (`B`, `A`); `\App\User` → (`User`, `\App`).
fn split_qualified(raw: &str) -> (&str, Option<&str>) {
    [("::", 2), (".", 1), ("\\", 1)]
        .iter()
        .filter_map(|(sep, len)| raw.rfind(sep).map(|i| (i, *len)))
        .max_by_key(|(i, _)| *i)
        .map_or((raw, None), |(i, len)| {
            let prefix = &raw[..i];
            (&raw[i + len..], (!prefix.is_empty()).then_some(prefix))
        })
}

fn unquote(s: &str) -> &str {
    s.trim_matches(|c| c == '"' || c == '\'' || c == '`' || c == '<' || c == '>')
}

/// A qualifier as stored: as written when it is a plain path of names, else `?`.
fn qualifier_text(q: &str) -> String {
    let plain = q.len() <= MAX_QUALIFIER_BYTES
        && q.chars().all(|c| {
            c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '\\' | '$' | '@' | '-' | '>')
        });
    if plain {
        q.to_string()
    } else {
        "?".into()
    }
}

#[cfg(test)]
mod tests;
