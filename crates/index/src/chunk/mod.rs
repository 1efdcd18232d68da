//! Chunking: a file's text cut into pieces that follow its syntax.
//!
//! Code files are parsed with tree-sitter: each function, method, class, struct, impl or
//! interface becomes one chunk (with the comments right above it); one larger than
//! [`MAX_CHUNK_BYTES`] is split at its children's boundaries, and runs of small non-definition
//! neighbours (imports, statements) are merged up to the bound. Other text is cut into line
//! windows. Every definition, nested or not, is also reported as a [`Symbol`].

mod grammar;
mod refs;
mod sites;

use crate::lang::FileKind;
use codeintel_discovery::Language;
pub use grammar::SymbolKind;
use grammar::{Grammar, GrammarKey};
pub use refs::{RefKind, Reference, REFS_VERSION};
pub use sites::{decode_sites, FileReferences};
pub(crate) use sites::{get_varint, put_varint};
use tree_sitter::Node;

/// Upper bound on a chunk's size (a longer line is cut into pieces of this size).
pub const MAX_CHUNK_BYTES: usize = 2400;
/// Definitions smaller than this (one-line types, extern declarations, tiny helpers) merge with
/// their neighbours instead of making a chunk each: the symbols table still has every one.
pub const MIN_DEFINITION_BYTES: usize = 320;
/// Lines per window for text that is not parsed.
pub const WINDOW_LINES: usize = 40;
/// Average line length (bytes) above which a file counts as minified or generated.
pub const MINIFIED_LINE_BYTES: usize = 300;

/// One piece of a file, the unit of search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based, inclusive.
    pub start_line: u32,
    /// 1-based, inclusive.
    pub end_line: u32,
    /// The definition this chunk is (or is inside of), if any.
    pub symbol: Option<String>,
    /// Its kind (`function`, `class`, ...), with `symbol`.
    pub kind: Option<&'static str>,
    /// The text.
    pub content: String,
}

/// A definition found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    /// The defined name.
    pub name: String,
    /// What it is (`function`, `method`, `class`, ...).
    pub kind: &'static str,
    /// 1-based first line.
    pub start_line: u32,
    /// 1-based last line, inclusive.
    pub end_line: u32,
}

/// Chunks and symbols of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkedFile {
    /// The file's chunks, in order.
    pub chunks: Vec<Chunk>,
    /// Every definition in the file, nested ones too, in line order.
    pub symbols: Vec<Symbol>,
    /// Every use of a name that can name a definition, in order (none for text and for
    /// minified or generated files).
    pub references: Vec<Reference>,
}

/// Cuts `text` (the content of a file named `file_name`) into chunks and finds its symbols.
pub fn chunk_file(kind: FileKind, file_name: &str, text: &str) -> ChunkedFile {
    let lines = LineIndex::new(text);
    if let (FileKind::Code(lang), false) = (kind, lines.minified(text)) {
        if let Some((tree, grammar)) = grammar::parse(GrammarKey::for_file(lang, file_name), text) {
            let mut chunker = Chunker {
                text,
                lines: &lines,
                grammar: &grammar,
                out: ChunkedFile::default(),
                pending: None,
            };
            chunker.children(tree.root_node(), None);
            chunker.flush();
            let root = tree.root_node();
            let mut refs = grammar
                .refs
                .as_ref()
                .map(|q| refs::Extraction::new(q, root, text));
            chunker.collect_symbols(root, refs.as_mut());
            chunker.out.references = refs.map(refs::Extraction::finish).unwrap_or_default();
            return chunker.out;
        }
    }
    ChunkedFile {
        chunks: line_windows(text, &lines, 0, text.len(), None),
        ..ChunkedFile::default()
    }
}

/// Parses `text` as [`chunk_file`] would and does nothing else; whether it parsed. The floor
/// of indexing for benchmarks: the same files, the same grammars, no chunking, no store.
pub fn parse_only(kind: FileKind, file_name: &str, text: &str) -> bool {
    let lines = LineIndex::new(text);
    match (kind, lines.minified(text)) {
        (FileKind::Code(lang), false) => {
            grammar::parse(GrammarKey::for_file(lang, file_name), text).is_some()
        }
        _ => false,
    }
}

/// Byte offsets of line starts, for byte → line lookups.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// Whether `text` (the text this index is of) reads as minified or generated (bundles,
    /// source maps, data tables): lines averaging over [`MINIFIED_LINE_BYTES`]. Such files are
    /// indexed as text windows: parsing them finds thousands of definitions on one line that no
    /// one searches for by name.
    fn minified(&self, text: &str) -> bool {
        text.len() / self.starts.len() > MINIFIED_LINE_BYTES
    }

    /// Byte offset where the line holding `offset` starts.
    fn start_of(&self, offset: usize) -> usize {
        self.starts[self.line(offset) as usize - 1]
    }

    /// 1-based line of byte `offset`.
    fn line(&self, offset: usize) -> u32 {
        (self.starts.partition_point(|&s| s <= offset)) as u32
    }

    /// 1-based line holding the last byte before `end` (an exclusive end offset).
    fn end_line(&self, start: usize, end: usize) -> u32 {
        self.line(end.saturating_sub(1).max(start))
    }
}

/// The enclosing definition a loose piece belongs to.
type Owner<'a> = Option<(&'a str, &'static str)>;

/// A run of merged small neighbours waiting to become a chunk.
struct Pending {
    start: usize,
    end: usize,
    /// Where the comments at the end of the run begin: they may document what comes next.
    trailing_comments: Option<usize>,
    /// The definitions merged into the run.
    definitions: Vec<(String, &'static str)>,
    owner: Option<(String, &'static str)>,
}

/// What a piece of a merged run is.
enum Piece {
    Comment,
    Code,
    Definition(String, &'static str),
}

struct Chunker<'t> {
    text: &'t str,
    lines: &'t LineIndex,
    grammar: &'t Grammar,
    out: ChunkedFile,
    pending: Option<Pending>,
}

impl<'t> Chunker<'t> {
    fn children(&mut self, node: Node<'t>, owner: Owner<'_>) {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            self.node(child, owner);
        }
    }

    fn node(&mut self, node: Node<'t>, owner: Owner<'_>) {
        let (start, end) = (node.start_byte(), node.end_byte());
        if start == end {
            return;
        }
        let def = self.definition(node);
        let len = end - start;
        if len <= MAX_CHUNK_BYTES {
            match def {
                Some((name, kind)) if len >= MIN_DEFINITION_BYTES => {
                    self.emit_definition(start, end, name, kind)
                }
                Some((name, kind)) => {
                    self.add_piece(start, end, Piece::Definition(name, kind), owner)
                }
                None if self.grammar.kind(node).comment => {
                    self.add_piece(start, end, Piece::Comment, owner)
                }
                None => self.add_piece(start, end, Piece::Code, owner),
            }
            return;
        }
        if node.child_count() == 0 {
            self.flush();
            let symbol = def.as_ref().map(|(n, k)| (n.as_str(), *k)).or(owner);
            let chunks = line_windows(self.text, self.lines, start, end, symbol);
            self.out.chunks.extend(chunks);
            return;
        }
        // Too large: split at child boundaries; the pieces keep this definition as their owner.
        // A definition's header (`def f(x):`) is not flushed alone: it merges with the first
        // statements of its body (same owner), so no chunk is a lone signature line.
        match &def {
            Some((name, kind)) => {
                self.flush();
                self.children(node, Some((name.as_str(), kind)));
                self.flush();
            }
            None => self.children(node, owner),
        }
    }

    /// The name and kind if `node` is a definition (or a wrapper around exactly one).
    fn definition(&self, node: Node<'t>) -> Option<(String, &'static str)> {
        if self.grammar.kind(node).wrapper {
            let mut cursor = node.walk();
            let inner: Vec<Node> = node
                .named_children(&mut cursor)
                .filter(|c| !self.grammar.kind(*c).comment)
                .collect();
            return inner.iter().find_map(|c| self.definition(*c));
        }
        let kind = self.symbol_kind(node)?;
        let name = self.name_of(node)?;
        Some((name, kind.name()))
    }

    fn symbol_kind(&self, node: Node<'t>) -> Option<SymbolKind> {
        let info = self.grammar.kind(node);
        let kind = &info.definition?;
        match info.name {
            // `const f = () => ...` is a function; `const x = 1` is not a definition.
            "variable_declarator" => {
                let value = node.child_by_field_name("value")?;
                matches!(
                    value.kind(),
                    "arrow_function" | "function_expression" | "function" | "generator_function"
                )
                .then_some(*kind)
            }
            // Forward declarations (`struct x;`) and uses (`struct x var;`) are not definitions.
            "struct_specifier" | "union_specifier" | "enum_specifier" | "class_specifier" => {
                node.child_by_field_name("body").map(|_| *kind)
            }
            "type_spec" => Some(match node.child_by_field_name("type").map(|t| t.kind()) {
                Some("struct_type") => SymbolKind::Struct,
                Some("interface_type") => SymbolKind::Interface,
                _ => SymbolKind::Type,
            }),
            _ => Some(*kind),
        }
    }

    fn name_of(&self, node: Node<'t>) -> Option<String> {
        let text = |n: Node| n.utf8_text(self.text.as_bytes()).ok().map(str::to_string);
        match self.grammar.kind(node).name {
            "impl_item" => {
                let ty = text(node.child_by_field_name("type")?)?;
                Some(match node.child_by_field_name("trait").and_then(text) {
                    Some(tr) => format!("{tr} for {ty}"),
                    None => ty,
                })
            }
            "function_definition" if matches!(self.grammar.lang, Language::C | Language::Cpp) => {
                let mut decl = node.child_by_field_name("declarator")?;
                // Unwrap pointer/function/reference declarators down to the name.
                while let Some(inner) = decl.child_by_field_name("declarator") {
                    decl = inner;
                }
                text(decl)
            }
            _ => node.child_by_field_name("name").and_then(text),
        }
    }

    fn emit_definition(&mut self, start: usize, end: usize, name: String, kind: &'static str) {
        // Comments right above a definition document it: they belong to its chunk.
        let mut start = start;
        if let Some(p) = &mut self.pending {
            if let Some(comments) = p.trailing_comments.filter(|&c| end - c <= MAX_CHUNK_BYTES) {
                start = comments;
                p.end = comments;
                p.trailing_comments = None;
            }
        }
        self.flush();
        self.push(start, end, Some((name, kind)));
    }

    fn add_piece(&mut self, start: usize, end: usize, piece: Piece, owner: Owner<'_>) {
        let owner = owner.map(|(n, k)| (n.to_string(), k));
        let fits = self
            .pending
            .as_ref()
            .is_some_and(|p| end - p.start <= MAX_CHUNK_BYTES && p.owner == owner);
        if !fits {
            self.flush();
            self.pending = Some(Pending {
                start,
                end,
                trailing_comments: None,
                definitions: Vec::new(),
                owner,
            });
        }
        let Some(p) = &mut self.pending else { return };
        p.end = end;
        match piece {
            Piece::Comment => {
                p.trailing_comments.get_or_insert(start);
            }
            Piece::Code => p.trailing_comments = None,
            Piece::Definition(name, kind) => {
                p.trailing_comments = None;
                p.definitions.push((name, kind));
            }
        }
    }

    fn flush(&mut self) {
        let Some(p) = self.pending.take() else { return };
        if self.text[p.start..p.end].trim().is_empty() {
            return;
        }
        // A run holding one definition is that definition's chunk; otherwise it belongs to
        // its owner (the large definition it was split from), if any.
        let symbol = match <[_; 1]>::try_from(p.definitions) {
            Ok([single]) => Some(single),
            Err(_) => p.owner,
        };
        self.push(p.start, p.end, symbol);
    }

    fn push(&mut self, start: usize, end: usize, symbol: Option<(String, &'static str)>) {
        // Start chunks at the beginning of their first line so indentation reads right.
        let line_start = self.lines.start_of(start);
        let start = if self.text[line_start..start].trim().is_empty() {
            line_start
        } else {
            start
        };
        let end = start + self.text[start..end].trim_end().len();
        let (symbol, kind) = match symbol {
            Some((s, k)) => (Some(s), Some(k)),
            None => (None, None),
        };
        self.out.chunks.push(Chunk {
            start_line: self.lines.line(start),
            end_line: self.lines.end_line(start, end),
            symbol,
            kind,
            content: self.text[start..end].to_string(),
        });
    }

    /// Every definition in the tree; functions inside containers are methods. One cursor walks
    /// the whole tree (a cursor or child list per node costs more than the walk itself), and
    /// shows every node to the reference extraction too. Symbols are not looked for inside
    /// opaque nodes (strings, parameters, imports), references are.
    fn collect_symbols(&mut self, root: Node<'t>, mut refs: Option<&mut refs::Extraction<'t, '_>>) {
        let mut cursor = root.walk();
        // Per depth: whether the parent chain holds a container, and whether an opaque node.
        let mut in_container = vec![(false, false)];
        loop {
            let node = cursor.node();
            if let Some(refs) = refs.as_deref_mut() {
                refs.visit(node);
            }
            let (outer, hidden) = in_container.last().copied().unwrap_or_default();
            let mut inside = outer;
            let kind = if hidden { None } else { self.symbol_kind(node) };
            if let Some(kind) = kind {
                if let Some(name) = self.name_of(node) {
                    let kind = if kind == SymbolKind::Function && outer {
                        SymbolKind::Method
                    } else {
                        kind
                    };
                    self.out.symbols.push(Symbol {
                        name,
                        kind: kind.name(),
                        start_line: self.lines.line(node.start_byte()),
                        end_line: self.lines.end_line(node.start_byte(), node.end_byte()),
                    });
                    inside = kind.is_container();
                }
            }
            // Without references to find, an opaque node's subtree is skipped, as before.
            let opaque = hidden || self.grammar.kind(node).opaque;
            if (refs.is_some() || !opaque) && cursor.goto_first_child() {
                in_container.push((inside, opaque));
                continue;
            }
            while !cursor.goto_next_sibling() {
                if !cursor.goto_parent() {
                    self.out.symbols.sort_by_key(|s| (s.start_line, s.end_line));
                    return;
                }
                in_container.pop();
            }
        }
    }
}

/// Cuts `text[start..end]` into windows of [`WINDOW_LINES`] lines, each at most
/// [`MAX_CHUNK_BYTES`]; a line longer than that is cut into pieces of its own (see
/// [`split_long_line`]), so no chunk grows with the length of a line.
fn line_windows(
    text: &str,
    lines: &LineIndex,
    start: usize,
    end: usize,
    owner: Owner<'_>,
) -> Vec<Chunk> {
    let mut chunks = Vec::new();
    let mut chunk_start = start;
    let mut line_count = 0;
    let mut pos = start;
    let mut push = |from: usize, to: usize| {
        if !text[from..to].trim().is_empty() {
            chunks.push(Chunk {
                start_line: lines.line(from),
                end_line: lines.end_line(from, to),
                symbol: owner.map(|(n, _)| n.to_string()),
                kind: owner.map(|(_, k)| k),
                content: text[from..to].to_string(),
            });
        }
    };
    while pos < end {
        let line_end = text[pos..end].find('\n').map_or(end, |i| pos + i + 1);
        if line_end - pos > MAX_CHUNK_BYTES {
            if pos > chunk_start {
                push(chunk_start, pos);
            }
            let mut piece = pos;
            while piece < line_end {
                let cut = split_long_line(text, piece, line_end);
                push(piece, cut);
                piece = cut;
            }
            pos = line_end;
            chunk_start = pos;
            line_count = 0;
            continue;
        }
        if line_end - chunk_start > MAX_CHUNK_BYTES && pos > chunk_start {
            push(chunk_start, pos);
            chunk_start = pos;
            line_count = 0;
        }
        pos = line_end;
        line_count += 1;
        if line_count >= WINDOW_LINES {
            push(chunk_start, pos);
            chunk_start = pos;
            line_count = 0;
        }
    }
    if chunk_start < end {
        push(chunk_start, end);
    }
    chunks
}

/// Where the piece of a long line that starts at `from` ends: at most [`MAX_CHUNK_BYTES`]
/// later, after the last space or punctuation in the piece's last quarter when there is one
/// (so identifiers are not cut in two), always on a character boundary and always past `from`.
fn split_long_line(text: &str, from: usize, line_end: usize) -> usize {
    if line_end - from <= MAX_CHUNK_BYTES {
        return line_end;
    }
    let mut limit = from + MAX_CHUNK_BYTES;
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let floor = from + MAX_CHUNK_BYTES * 3 / 4;
    let bytes = text.as_bytes();
    (floor..limit)
        .rev()
        .find(|&i| !bytes[i].is_ascii_alphanumeric() && bytes[i] != b'_' && bytes[i].is_ascii())
        .map_or(limit, |i| i + 1)
        .max(from + 1)
}

#[cfg(test)]
mod tests;
