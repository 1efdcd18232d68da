//! The reference queries' patterns, matched in one walk of the tree.
//!
//! The `.scm` files use a small part of tree-sitter's query language: node patterns
//! `(kind child…)` and `(_)`, fields `name: (…)`, captures `@name`, anchors `.`, comments `;`, and the
//! predicates `(#eq? @c "text")` and `(#match? @c "regex")`. Tree-sitter's own query cursor
//! runs every pattern as a state machine over the whole tree and cost as much as the parse
//! (a third of chunking a Rust file); here each pattern is tried only at the nodes of its root
//! kind, with one table lookup per node, which is what these shallow patterns need.
//!
//! Matches follow tree-sitter's rules: a child step matches any named child of its kind (with
//! its field, when one is given), sibling steps match children in order, and a pattern that
//! fits a node in several ways yields one match for each. The test suite checks this module
//! against tree-sitter's query cursor on every language's query.

use tree_sitter::{Language, Node, TreeCursor};

/// A capture: its index among the query's capture names, and the node it took.
pub type Capture<'t> = (u32, Node<'t>);

/// One node of a pattern, in preorder with the other steps of its pattern.
#[derive(Debug)]
struct Step {
    /// `None` for `(_)`: any named node.
    kind: Option<u16>,
    field: Option<std::num::NonZeroU16>,
    /// The step this one is a child of (`None` for the root).
    parent: Option<usize>,
    /// The step before this one under the same parent: its node must come first.
    previous: Option<usize>,
    captures: Vec<u32>,
    /// Anchors (`.`): no named sibling before this node, between it and `previous`'s, after it.
    first: bool,
    immediate: bool,
    last: bool,
}

#[derive(Debug)]
enum Predicate {
    Eq(u32, String),
    Match(u32, regex::Regex),
}

#[derive(Debug)]
struct Pattern {
    steps: Vec<Step>,
    predicates: Vec<Predicate>,
}

/// A language's patterns, indexed by the kind of their root.
#[derive(Debug)]
pub struct Patterns {
    patterns: Vec<Pattern>,
    capture_names: Vec<String>,
    /// For each node kind id, the patterns whose root is of that kind.
    by_root: Vec<Vec<usize>>,
    /// Patterns rooted at `(_)`.
    any_root: Vec<usize>,
    max_steps: usize,
}

impl Patterns {
    /// Reads `source` for `language`: an unknown node kind or field, or syntax outside the
    /// subset above, is an error naming it.
    pub fn new(language: &Language, source: &str) -> Result<Patterns, String> {
        let mut parser = Parser {
            tokens: tokenize(source)?,
            at: 0,
            language,
            capture_names: Vec::new(),
        };
        let mut patterns = Vec::new();
        while parser.at < parser.tokens.len() {
            patterns.push(parser.pattern()?);
        }
        let mut by_root = vec![Vec::new(); language.node_kind_count()];
        let mut any_root = Vec::new();
        for (i, p) in patterns.iter().enumerate() {
            match p.steps[0].kind {
                Some(kind) => by_root[usize::from(kind)].push(i),
                None => any_root.push(i),
            }
        }
        let max_steps = patterns.iter().map(|p| p.steps.len()).max().unwrap_or(0);
        Ok(Patterns {
            patterns,
            capture_names: parser.capture_names,
            by_root,
            any_root,
            max_steps,
        })
    }

    /// The capture names, by index.
    pub fn capture_names(&self) -> &[String] {
        &self.capture_names
    }

    /// A matcher for the tree under `root`, a parse of `text`.
    pub fn matcher<'t, 'a>(&'a self, root: Node<'t>, text: &'t [u8]) -> Matcher<'t, 'a> {
        Matcher {
            patterns: self,
            text,
            bound: vec![root; self.max_steps],
            position: vec![0; self.max_steps],
            children: (0..self.max_steps).map(|_| Children::default()).collect(),
            cursor: root.walk(),
            captures: Vec::new(),
        }
    }
}

/// Matches the patterns at the nodes it is shown: the caller walks the tree (once, for
/// everything it does with the tree) and shows it every node.
pub struct Matcher<'t, 'a> {
    patterns: &'a Patterns,
    text: &'t [u8],
    /// The node bound to each step of the pattern being matched, and its place among its
    /// siblings.
    bound: Vec<Node<'t>>,
    position: Vec<usize>,
    /// Per step, the children of its node when they were listed.
    children: Vec<Children<'t>>,
    /// Made once and reused: a cursor made per node would cost more than the match.
    cursor: TreeCursor<'t>,
    captures: Vec<Capture<'t>>,
}

impl<'t> Matcher<'t, '_> {
    /// Calls `found` with the captures of every match rooted at `node`.
    pub fn visit(&mut self, node: Node<'t>, found: &mut impl FnMut(&[Capture<'t>])) {
        let patterns = self.patterns;
        let here = patterns.by_root.get(usize::from(node.kind_id()));
        for &p in here.into_iter().flatten().chain(&patterns.any_root) {
            let pattern = &patterns.patterns[p];
            if pattern.steps[0].kind.is_none() && !node.is_named() {
                continue;
            }
            self.bound[0] = node;
            self.solve(pattern, 1, found);
        }
    }

    /// Binds steps `next..` (steps before it are bound), calling `found` for each way.
    fn solve(&mut self, pattern: &Pattern, next: usize, found: &mut impl FnMut(&[Capture<'t>])) {
        let Some(step) = pattern.steps.get(next) else {
            self.emit(pattern, found);
            return;
        };
        let parent = step.parent.unwrap_or(0);
        self.list_children(parent);
        // Sibling steps take children in order: after the previous sibling's child.
        let from = step.previous.map_or(0, |s| self.position[s] + 1);
        for at in from..self.children[parent].list.len() {
            let child = self.children[parent].list[at];
            let fits = step.kind.map_or(child.named, |k| child.node.kind_id() == k)
                && step.field.is_none_or(|f| child.field == Some(f))
                && self.anchored(step, parent, at, from);
            if fits {
                self.bound[next] = child.node;
                self.position[next] = at;
                self.solve(pattern, next + 1, found);
            }
        }
    }

    /// Lists the children of the node bound to `step`, unless they are listed already: the
    /// patterns at one node mostly look at its children, and one pass over them serves all.
    fn list_children(&mut self, step: usize) {
        let node = self.bound[step];
        let children = &mut self.children[step];
        if children.of == Some(node) {
            return;
        }
        children.of = Some(node);
        children.list.clear();
        self.cursor.reset(node);
        if self.cursor.goto_first_child() {
            loop {
                let child = self.cursor.node();
                children.list.push(Child {
                    node: child,
                    field: self.cursor.field_id(),
                    named: child.is_named(),
                });
                if !self.cursor.goto_next_sibling() {
                    break;
                }
            }
        }
    }

    /// Anchors: `.` before a first child, between two, after a last (named children only).
    fn anchored(&self, step: &Step, parent: usize, at: usize, from: usize) -> bool {
        let list = &self.children[parent].list;
        let none_named = |range: std::ops::Range<usize>| !list[range].iter().any(|c| c.named);
        (!step.first || none_named(0..at))
            && (!step.immediate || none_named(from..at))
            && (!step.last || none_named(at + 1..list.len()))
    }

    fn emit(&mut self, pattern: &Pattern, found: &mut impl FnMut(&[Capture<'t>])) {
        self.captures.clear();
        for (step, node) in pattern.steps.iter().zip(&self.bound) {
            self.captures
                .extend(step.captures.iter().map(|&c| (c, *node)));
        }
        let text_of = |capture: u32| {
            self.captures
                .iter()
                .find(|(c, _)| *c == capture)
                .and_then(|(_, n)| self.text.get(n.start_byte()..n.end_byte()))
        };
        let holds = pattern.predicates.iter().all(|p| match p {
            Predicate::Eq(c, want) => text_of(*c) == Some(want.as_bytes()),
            Predicate::Match(c, re) => text_of(*c)
                .and_then(|t| std::str::from_utf8(t).ok())
                .is_some_and(|t| re.is_match(t)),
        });
        if holds {
            found(&self.captures);
        }
    }
}

#[derive(Default)]
struct Children<'t> {
    of: Option<Node<'t>>,
    list: Vec<Child<'t>>,
}

#[derive(Clone, Copy)]
struct Child<'t> {
    node: Node<'t>,
    field: Option<std::num::NonZeroU16>,
    named: bool,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    Word(String),
    Field(String),
    Capture(String),
    Text(String),
}

fn tokenize(source: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = source.char_indices().peekable();
    let word_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '?' | '#');
    while let Some((at, c)) = chars.next() {
        match c {
            ';' => while chars.next_if(|(_, c)| *c != '\n').is_some() {},
            '(' => tokens.push(Token::Open),
            ')' => tokens.push(Token::Close),
            '"' => {
                let mut text = String::new();
                loop {
                    match chars.next() {
                        Some((_, '"')) => break,
                        Some((_, '\\')) => match chars.next() {
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, e)) => text.push(e),
                            None => return Err("unterminated string".into()),
                        },
                        Some((_, c)) => text.push(c),
                        None => return Err("unterminated string".into()),
                    }
                }
                tokens.push(Token::Text(text));
            }
            c if c.is_whitespace() => {}
            c if c == '@' || word_char(c) => {
                let mut word = String::new();
                while let Some((_, c)) = chars.next_if(|(_, c)| word_char(*c)) {
                    word.push(c);
                }
                if c == '@' {
                    tokens.push(Token::Capture(word));
                } else if chars.next_if(|(_, c)| *c == ':').is_some() {
                    tokens.push(Token::Field(format!("{c}{word}")));
                } else {
                    tokens.push(Token::Word(format!("{c}{word}")));
                }
            }
            other => return Err(format!("unexpected `{other}` at byte {at}")),
        }
    }
    Ok(tokens)
}

/// A `.` before `child`: it is the first named child, or right after `previous`.
fn anchor_child(pattern: &mut Pattern, child: usize, previous: Option<usize>, anchored: bool) {
    if anchored {
        let step = &mut pattern.steps[child];
        step.first = previous.is_none();
        step.immediate = previous.is_some();
    }
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    language: &'a Language,
    capture_names: Vec<String>,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn pattern(&mut self) -> Result<Pattern, String> {
        let mut pattern = Pattern {
            steps: Vec::new(),
            predicates: Vec::new(),
        };
        self.node(&mut pattern, None, None, None)?;
        Ok(pattern)
    }

    /// Reads `(kind children…) @captures` into `pattern` as the step after the ones read.
    fn node(
        &mut self,
        pattern: &mut Pattern,
        parent: Option<usize>,
        previous: Option<usize>,
        field: Option<std::num::NonZeroU16>,
    ) -> Result<usize, String> {
        if self.next() != Some(Token::Open) {
            return Err(format!("expected `(` at token {}", self.at));
        }
        let kind = match self.next() {
            Some(Token::Word(w)) if w == "_" => None,
            Some(Token::Word(w)) => match self.language.id_for_node_kind(&w, true) {
                0 => return Err(format!("unknown node kind `{w}`")),
                id => Some(id),
            },
            other => return Err(format!("expected a node kind, found {other:?}")),
        };
        let index = pattern.steps.len();
        pattern.steps.push(Step {
            kind,
            field,
            parent,
            previous,
            captures: Vec::new(),
            first: false,
            immediate: false,
            last: false,
        });
        let mut last_child: Option<usize> = None;
        let mut anchor = false;
        loop {
            match self.peek() {
                Some(Token::Close) => {
                    self.at += 1;
                    if let (true, Some(c)) = (anchor, last_child) {
                        pattern.steps[c].last = true;
                    }
                    break;
                }
                Some(Token::Word(w)) if w == "." => {
                    self.at += 1;
                    anchor = true;
                    continue;
                }
                Some(Token::Open) if matches!(self.tokens.get(self.at + 1), Some(Token::Word(w)) if w.starts_with('#')) =>
                {
                    let predicate = self.predicate()?;
                    pattern.predicates.push(predicate);
                }
                Some(Token::Field(name)) => {
                    let name = name.clone();
                    self.at += 1;
                    let id = self
                        .language
                        .field_id_for_name(&name)
                        .ok_or_else(|| format!("unknown field `{name}`"))?;
                    let child = self.node(pattern, Some(index), last_child, Some(id))?;
                    anchor_child(pattern, child, last_child, std::mem::take(&mut anchor));
                    last_child = Some(child);
                }
                Some(Token::Open) => {
                    let child = self.node(pattern, Some(index), last_child, None)?;
                    anchor_child(pattern, child, last_child, std::mem::take(&mut anchor));
                    last_child = Some(child);
                }
                other => return Err(format!("unexpected {other:?} in a pattern")),
            }
        }
        while let Some(Token::Capture(name)) = self.peek() {
            let name = name.clone();
            self.at += 1;
            let capture = self.capture(&name);
            pattern.steps[index].captures.push(capture);
        }
        Ok(index)
    }

    fn capture(&mut self, name: &str) -> u32 {
        let index = self.capture_names.iter().position(|n| n == name);
        index.unwrap_or_else(|| {
            self.capture_names.push(name.to_string());
            self.capture_names.len() - 1
        }) as u32
    }

    /// `(#eq? @c "text")` or `(#match? @c "regex")`.
    fn predicate(&mut self) -> Result<Predicate, String> {
        self.at += 1;
        let (Some(Token::Word(op)), Some(Token::Capture(c)), Some(Token::Text(arg))) =
            (self.next(), self.next(), self.next())
        else {
            return Err("a predicate is `(#eq? @capture \"text\")`".into());
        };
        if self.next() != Some(Token::Close) {
            return Err(format!("`{op}` takes one capture and one string"));
        }
        let capture = self.capture(&c);
        match op.as_str() {
            "#eq?" => Ok(Predicate::Eq(capture, arg)),
            "#match?" => regex::Regex::new(&arg)
                .map(|re| Predicate::Match(capture, re))
                .map_err(|e| e.to_string()),
            _ => Err(format!("unsupported predicate `{op}`")),
        }
    }
}
