//! References: the places a file uses a name that can name a definition (calls, constructor
//! calls, type uses, imports, decorators and annotations, plain value uses), found with one
//! query per language (tree-sitter's query language, matched by [`pattern`] in one walk) over
//! the tree the chunker already parsed. Comments and
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

use rustc_hash::FxHashSet;
use tree_sitter::Node;

mod pattern;

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

impl Reference {
    /// An import as stored for a file: `name` from `module`, bound in the file to `local`
    /// (an alias when it differs); its place is not kept.
    pub fn import_binding(name: String, local: &str, module: Option<String>) -> Reference {
        Reference {
            alias: (name != local).then(|| local.to_string()),
            name,
            kind: RefKind::Import,
            line: 0,
            column: 0,
            qualifier: None,
            module,
        }
    }
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
    fn of(capture: &str) -> Role {
        match capture {
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
        }
    }

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

/// A language's reference query, read once per grammar and thread.
pub struct RefQuery {
    patterns: pattern::Patterns,
    roles: Vec<Role>,
    /// Tests check every extraction against tree-sitter's own query cursor.
    #[cfg(test)]
    oracle: tree_sitter::Query,
}

impl RefQuery {
    /// Reads `source` for `language`; a query that does not read is a bug in this crate's
    /// `.scm` files (a test reads every one, and compiles it with tree-sitter too).
    pub fn new(language: &tree_sitter::Language, source: &str) -> Result<RefQuery, String> {
        let patterns = pattern::Patterns::new(language, source)?;
        let roles = patterns
            .capture_names()
            .iter()
            .map(|n| Role::of(n))
            .collect();
        Ok(RefQuery {
            patterns,
            roles,
            #[cfg(test)]
            oracle: tree_sitter::Query::new(language, source).map_err(|e| e.to_string())?,
        })
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
#[derive(Clone, Copy)]
struct Found<'t> {
    role: Role,
    node: Node<'t>,
    qual: Option<Node<'t>>,
    module: Option<Node<'t>>,
    alias: Option<Node<'t>>,
}

/// The references of one file, gathered while its tree is walked: [`Extraction::visit`]
/// every node (in any order), then [`Extraction::finish`].
pub struct Extraction<'t, 'a> {
    query: &'a RefQuery,
    matcher: pattern::Matcher<'t, 'a>,
    found: Collector<'t>,
    #[cfg(test)]
    root: (Node<'t>, &'t str),
}

impl<'t, 'a> Extraction<'t, 'a> {
    /// For the tree under `root`, a parse of `text`.
    pub fn new(query: &'a RefQuery, root: Node<'t>, text: &'t str) -> Self {
        Extraction {
            query,
            matcher: query.patterns.matcher(root, text.as_bytes()),
            found: Collector::new(text.as_bytes()),
            #[cfg(test)]
            root: (root, text),
        }
    }

    pub fn visit(&mut self, node: Node<'t>) {
        let (roles, found) = (&self.query.roles, &mut self.found);
        self.matcher.visit(node, &mut |captures| {
            found.add(roles, captures.iter().copied())
        });
    }

    /// Every reference, in the order they appear.
    pub fn finish(self) -> Vec<Reference> {
        let refs = self.found.finish();
        #[cfg(test)]
        tests::same_as_tree_sitter(self.root.0, self.query, self.root.1, &refs);
        refs
    }
}

/// What the matches of a file's query say, gathered into its references.
struct Collector<'t> {
    bytes: &'t [u8],
    /// Every meaning a match gave a node, in the order found; [`Collector::finish`] keeps
    /// each node's strongest (sorting is cheaper than a map probed for every identifier).
    found: Vec<Found<'t>>,
    locals: FxHashSet<&'t str>,
    hidden: Vec<(usize, usize)>,
    namespace_imports: Vec<(usize, Reference)>,
}

impl<'t> Collector<'t> {
    fn new(bytes: &'t [u8]) -> Self {
        Collector {
            bytes,
            found: Vec::new(),
            locals: FxHashSet::default(),
            hidden: Vec::new(),
            namespace_imports: Vec::new(),
        }
    }

    /// One match: its captures, as (capture index, node).
    fn add(&mut self, roles: &[Role], captures: impl Iterator<Item = (u32, Node<'t>)>) {
        let bytes = self.bytes;
        let (mut primary, mut qual, mut module, mut alias) = (None, None, None, None);
        for (index, node) in captures {
            match roles[index as usize] {
                Role::Qual => qual = Some(node),
                Role::Module => module = Some(node),
                Role::Alias => alias = Some(node),
                Role::Local => {
                    if let Ok(name) = node.utf8_text(bytes) {
                        self.locals.insert(name);
                    }
                }
                Role::Hide => self.hidden.push((node.start_byte(), node.end_byte())),
                Role::Ignore => {}
                role => primary = Some((role, node)),
            }
        }
        let Some((role, node)) = primary else {
            // `import * as ns from 'm'`: a local name and a source, no imported name.
            if let (Some(a), Some(m)) = (alias, module) {
                let text = |n: Node<'_>| n.utf8_text(bytes).ok().map(str::to_string);
                let pos = a.start_position();
                self.namespace_imports.push((
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
            return;
        };
        self.found.push(Found {
            role,
            node,
            qual,
            module,
            alias,
        });
    }

    /// Each node's strongest meaning: of several, the strongest role wins, and of equal ones
    /// the first found, with what the others add to it.
    fn strongest(found: Vec<Found<'t>>) -> Vec<Found<'t>> {
        // Sorted by place, then node, then the order found; the entries stay where they are.
        let mut order: Vec<(usize, usize, u32)> = found
            .iter()
            .enumerate()
            .map(|(i, f)| (f.node.start_byte(), f.node.id(), i as u32))
            .collect();
        order.sort_unstable();
        let mut kept: Vec<Found<'t>> = Vec::with_capacity(found.len());
        for (_, id, i) in order {
            let f = &found[i as usize];
            match kept.last_mut() {
                Some(old) if old.node.id() == id => {
                    if f.role.strength() > old.role.strength() {
                        *old = *f;
                    } else if f.role == old.role {
                        old.qual = old.qual.or(f.qual);
                        old.module = old.module.or(f.module);
                        old.alias = old.alias.or(f.alias);
                    }
                }
                _ => kept.push(*f),
            }
        }
        kept
    }

    fn finish(self) -> Vec<Reference> {
        let Collector {
            bytes,
            found,
            locals,
            mut hidden,
            namespace_imports,
        } = self;
        hidden.sort_unstable();
        let is_hidden = |at: usize| {
            let i = hidden.partition_point(|h| h.0 <= at);
            hidden[..i].iter().rev().take(64).any(|h| h.1 > at)
        };
        let mut refs: Vec<(usize, Reference)> = Self::strongest(found)
            .into_iter()
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
    // One pass from the end (this runs for every reference: three `rfind`s cost more).
    let bytes = raw.as_bytes();
    let sep = (0..bytes.len()).rev().find_map(|i| match bytes[i] {
        b'.' | b'\\' => Some((i, 1)),
        b':' if i > 0 && bytes[i - 1] == b':' => Some((i - 1, 2)),
        _ => None,
    });
    sep.map_or((raw, None), |(i, len)| {
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
