//! Chunking: a file's text cut into pieces that follow its syntax.
//!
//! Code files are parsed with tree-sitter: each function, method, class, struct, impl or
//! interface becomes one chunk (with the comments right above it); one larger than
//! [`MAX_CHUNK_BYTES`] is split at its children's boundaries, and runs of small non-definition
//! neighbours (imports, statements) are merged up to the bound. Other text is cut into line
//! windows. Every definition, nested or not, is also reported as a [`Symbol`].

use crate::grammar::{self, Grammar, SymbolKind};
use crate::lang::FileKind;
use codeintel_discovery::Language;
use tree_sitter::Node;

/// Upper bound on a chunk's size; only a single line longer than this exceeds it.
pub const MAX_CHUNK_BYTES: usize = 2400;
/// Lines per window for text that is not parsed.
pub const WINDOW_LINES: usize = 40;

/// One piece of a file, the unit of search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// 1-based, inclusive.
    pub start_line: u32,
    pub end_line: u32,
    /// The definition this chunk is (or is inside of), if any.
    pub symbol: Option<String>,
    pub kind: Option<&'static str>,
    pub content: String,
}

/// A definition found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Symbol {
    pub name: String,
    pub kind: &'static str,
    pub start_line: u32,
    pub end_line: u32,
}

/// Chunks and symbols of one file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChunkedFile {
    pub chunks: Vec<Chunk>,
    pub symbols: Vec<Symbol>,
}

/// Cuts `text` (the content of a file named `file_name`) into chunks and finds its symbols.
pub fn chunk_file(kind: FileKind, file_name: &str, text: &str) -> ChunkedFile {
    let lines = LineIndex::new(text);
    if let FileKind::Code(lang) = kind {
        let plain_ts = file_name.ends_with(".ts")
            || file_name.ends_with(".mts")
            || file_name.ends_with(".cts");
        if let Some(tree) = grammar::parse(lang, plain_ts, text) {
            let grammar = grammar::grammar_for(lang);
            let mut chunker = Chunker {
                text,
                lines: &lines,
                grammar: &grammar,
                lang,
                out: ChunkedFile::default(),
                pending: None,
            };
            chunker.children(tree.root_node(), None);
            chunker.flush();
            chunker.collect_symbols(tree.root_node());
            return chunker.out;
        }
    }
    ChunkedFile {
        chunks: line_windows(text, &lines, 0, text.len(), None),
        symbols: Vec::new(),
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

/// Pending run of merged small neighbours.
struct Pending {
    start: usize,
    end: usize,
    only_comments: bool,
    owner: Option<(String, &'static str)>,
}

struct Chunker<'t> {
    text: &'t str,
    lines: &'t LineIndex,
    grammar: &'t Grammar,
    lang: Language,
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
        if end - start <= MAX_CHUNK_BYTES {
            match def {
                Some((name, kind)) => self.emit_definition(start, end, name, kind),
                None => self.add_loose(start, end, node.kind().contains("comment"), owner),
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
        self.flush();
        match &def {
            Some((name, kind)) => self.children(node, Some((name.as_str(), kind))),
            None => self.children(node, owner),
        }
        self.flush();
    }

    /// The name and kind if `node` is a definition (or a wrapper around exactly one).
    fn definition(&self, node: Node<'t>) -> Option<(String, &'static str)> {
        if self.grammar.wrappers.contains(&node.kind()) {
            let mut cursor = node.walk();
            let inner: Vec<Node> = node
                .named_children(&mut cursor)
                .filter(|c| !c.kind().contains("comment"))
                .collect();
            return inner.iter().find_map(|c| self.definition(*c));
        }
        let kind = self.symbol_kind(node)?;
        let name = self.name_of(node)?;
        Some((name, kind.name()))
    }

    fn symbol_kind(&self, node: Node<'t>) -> Option<SymbolKind> {
        let (_, kind) = self
            .grammar
            .definitions
            .iter()
            .find(|(k, _)| *k == node.kind())?;
        match node.kind() {
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
        match node.kind() {
            "impl_item" => {
                let ty = text(node.child_by_field_name("type")?)?;
                Some(match node.child_by_field_name("trait").and_then(text) {
                    Some(tr) => format!("{tr} for {ty}"),
                    None => ty,
                })
            }
            "function_definition" if matches!(self.lang, Language::C | Language::Cpp) => {
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
        if let Some(p) = &self.pending {
            if p.only_comments && end - p.start <= MAX_CHUNK_BYTES {
                start = p.start;
                self.pending = None;
            }
        }
        self.flush();
        self.push(start, end, Some((name, kind)));
    }

    fn add_loose(&mut self, start: usize, end: usize, is_comment: bool, owner: Owner<'_>) {
        let owner = owner.map(|(n, k)| (n.to_string(), k));
        if let Some(p) = &mut self.pending {
            // A comment after code starts a new run: it may document the next definition.
            let comment_after_code = is_comment && !p.only_comments;
            if end - p.start <= MAX_CHUNK_BYTES && p.owner == owner && !comment_after_code {
                p.end = end;
                p.only_comments &= is_comment;
                return;
            }
        }
        self.flush();
        self.pending = Some(Pending {
            start,
            end,
            only_comments: is_comment,
            owner,
        });
    }

    fn flush(&mut self) {
        if let Some(p) = self.pending.take() {
            if !self.text[p.start..p.end].trim().is_empty() {
                self.push(p.start, p.end, p.owner);
            }
        }
    }

    fn push(&mut self, start: usize, end: usize, symbol: Option<(String, &'static str)>) {
        // Start chunks at the beginning of their first line so indentation reads right.
        let line_start = self.text[..start].rfind('\n').map_or(0, |i| i + 1);
        let start = if self.text[line_start..start].trim().is_empty() {
            line_start
        } else {
            start
        };
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

    /// Every definition in the tree; functions inside containers are methods.
    fn collect_symbols(&mut self, root: Node<'t>) {
        let mut stack: Vec<(Node<'t>, bool)> = vec![(root, false)];
        while let Some((node, in_container)) = stack.pop() {
            let mut inside = in_container;
            if let Some(kind) = self.symbol_kind(node) {
                if let Some(name) = self.name_of(node) {
                    let kind = if kind == SymbolKind::Function && in_container {
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
            let mut cursor = node.walk();
            let children: Vec<Node<'t>> = node.named_children(&mut cursor).collect();
            for child in children.into_iter().rev() {
                stack.push((child, inside));
            }
        }
        self.out.symbols.sort_by_key(|s| (s.start_line, s.end_line));
    }
}

/// Cuts `text[start..end]` into windows of [`WINDOW_LINES`] lines, each at most
/// [`MAX_CHUNK_BYTES`] (a single longer line stays whole).
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

#[cfg(test)]
mod tests;
