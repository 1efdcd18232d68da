//! Code navigation: the uses of a definition ([`IndexStore::find_references`]) and the calls
//! between definitions ([`IndexStore::call_graph`]), across repositories.
//!
//! Nothing resolved is stored: the index keeps each file's references, imports and symbols,
//! and every question resolves them when asked (`resolve`), so a sync that edits, renames or
//! deletes a file changes the answers the moment it commits and no stale edge can remain.
//! Uses are matched by name first (an index lookup), then each is weighed by the evidence
//! around it; a name defined nowhere in the index matches no definition at all.

mod resolve;

pub use resolve::Confidence;

use crate::chunk::{RefKind, Reference, Symbol, SymbolKind};
use crate::store::{FileInfo, IndexStore, Result, Snapshot, StoreError};
use resolve::{head, is_self, Around, Target};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::path::Path;
use std::rc::Rc;

/// Most sites or nodes a navigation answer lists.
pub const MAX_LIMIT: usize = 1000;
/// Deepest call graph.
pub const MAX_DEPTH: u8 = 5;
/// Longest snippet, in bytes (a use on a minified-length line is shown around its column).
const MAX_SNIPPET_BYTES: usize = 200;
/// Names of constructors, whose uses are the calls of their class.
const CONSTRUCTORS: &[&str] = &["__init__", "constructor", "initialize"];
/// Definitions a callee's name may resolve to, at most (the most likely ones).
const MAX_CALLEE_TARGETS: usize = 3;

/// Which definition a navigation question is about.
#[derive(Debug, Clone, Default)]
pub struct DefinitionQuery<'a> {
    /// Its name; may be qualified (`Class.method`, `module.func`, `Type::method`).
    pub name: &'a str,
    /// Only definitions in this repository (name or path).
    pub repository: Option<&'a str>,
    /// The file it is in: relative to `repository`, or absolute.
    pub path: Option<&'a str>,
    /// A line of it (with `path`): the definition starting there, or holding it.
    pub line: Option<u32>,
}

/// One use of a definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReferenceSite {
    /// The repository's name.
    pub repository: String,
    /// Relative to the repository root.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in bytes.
    pub column: u32,
    /// `call`, `type`, `import` or `reference`.
    pub kind: &'static str,
    /// The definition the use is inside of (`null` at a file's top level).
    pub symbol: Option<String>,
    /// How sure the match is.
    pub confidence: Confidence,
    /// The line of the use.
    pub snippet: String,
}

/// The uses of a definition, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct References {
    /// At most the limit asked for.
    pub references: Vec<ReferenceSite>,
    /// How many uses there are in all.
    pub total: usize,
    /// Why the list is empty or cut, when it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which way a call graph goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// The definitions that call this one.
    Callers,
    /// The definitions this one calls.
    Callees,
}

impl Direction {
    /// `callers` or `callees`; anything else is an error naming both.
    pub fn parse(word: &str) -> std::result::Result<Direction, String> {
        match word.trim().to_ascii_lowercase().as_str() {
            "callers" | "caller" | "in" | "incoming" => Ok(Direction::Callers),
            "callees" | "callee" | "out" | "outgoing" => Ok(Direction::Callees),
            _ => Err(format!("unknown direction `{word}`: callers or callees")),
        }
    }
}

/// One definition in a call graph, with the calls that lead on from it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallNode {
    /// The definition's name.
    pub symbol: String,
    /// What it is (`function`, `method`, ...).
    pub kind: String,
    /// The repository's name.
    pub repository: String,
    /// Relative to the repository root.
    pub path: String,
    /// Its first line.
    pub line: u32,
    /// How sure the call between it and its parent is (`null` at the root).
    pub confidence: Option<Confidence>,
    /// The lines of the calls between it and its parent (in the caller's file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sites: Vec<u32>,
    /// Its callers or callees, one level further.
    pub calls: Vec<CallNode>,
    /// It is already on the path from the root: its calls are not repeated.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cycle: bool,
}

/// A call graph: the definition asked for at the root.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallGraph {
    /// The definition, with its callers or callees.
    #[serde(flatten)]
    pub root: CallNode,
    /// How many nodes there are under the root.
    pub nodes: usize,
    /// Why the graph is cut or was chosen among several definitions, when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A definition being navigated from, with what resolution needs of it.
#[derive(Debug, Clone)]
struct Def {
    file: FileInfo,
    symbol: Symbol,
    container: Option<String>,
    /// The packages its repository provides.
    packages: Rc<Vec<String>>,
    /// The lines of the function it is nested in, if it is.
    scope: Option<(u32, u32)>,
}

impl Def {
    fn target(&self) -> Target<'_> {
        Target {
            file: &self.file,
            kind: self.symbol.kind,
            container: self.container.as_deref(),
            packages: &self.packages,
            scope: self.scope,
        }
    }

    fn same(&self, other: &Def) -> bool {
        self.file.id == other.file.id && self.symbol == other.symbol
    }
}

/// Kinds whose bodies hold members.
fn is_container(kind: &str) -> bool {
    SymbolKind::parse_alias(kind).is_ok_and(SymbolKind::is_container)
}

/// The type a container symbol stands for: `Store for Cache` is an impl of `Cache`.
fn container_type(name: &str) -> &str {
    name.rsplit(" for ").next().unwrap_or(name).trim()
}

/// The innermost symbol of `symbols` (in line order) holding `line`, optionally only
/// containers.
fn innermost(symbols: &[Symbol], line: u32, containers: bool) -> Option<&Symbol> {
    symbols
        .iter()
        .filter(|s| s.start_line <= line && s.end_line >= line)
        .filter(|s| !containers || is_container(s.kind))
        .min_by_key(|s| (s.end_line - s.start_line, std::cmp::Reverse(s.start_line)))
}

/// What makes two uses in one file weigh alike: (file, qualifier, class, by an alias, an
/// import, a `self` call of the class's own member).
type MemoKey = (i64, Option<String>, Option<String>, bool, bool, bool);

/// One question's reads, with each file's symbols read once.
struct Navigator<'s> {
    snap: &'s dyn Snapshot,
    /// (dependent, dependency) repository pairs.
    dependencies: Option<rustc_hash::FxHashSet<(i64, i64)>>,
    packages: FxHashMap<i64, Rc<Vec<String>>>,
    /// Weighings of uses that weigh alike, for one name (see `best_target`).
    memo: FxHashMap<MemoKey, Option<Confidence>>,
    symbols: FxHashMap<i64, Rc<Vec<Symbol>>>,
    qualifier_imports: FxHashMap<(i64, String), Rc<Vec<Reference>>>,
}

/// What [`Navigator::each_use`] calls with each place: the navigator, the place's file, the
/// use, its file's imports binding the name, and the import of an alias it goes through.
type UseVisitor<'v> = dyn FnMut(&mut Navigator<'_>, &FileInfo, &Reference, &[Reference], Option<&Reference>) -> Result<()>
    + 'v;

/// The definitions a use is weighed against.
#[derive(Clone, Copy)]
struct Targets<'a> {
    defs: &'a [Def],
    /// Whether any of them is a member (a use's class then matters).
    any_member: bool,
    /// Buckets over `defs`, when they are many.
    index: Option<&'a TargetIndex>,
}

/// A use matched to one of the definitions asked about.
struct Resolved {
    file: FileInfo,
    site: Reference,
    confidence: Confidence,
}

impl<'s> Navigator<'s> {
    fn new(snap: &'s dyn Snapshot) -> Self {
        Navigator {
            snap,
            dependencies: None,
            packages: FxHashMap::default(),
            memo: FxHashMap::default(),
            symbols: FxHashMap::default(),
            qualifier_imports: FxHashMap::default(),
        }
    }

    /// Whether uses in `from` may mean definitions in `to`: the same repository, or one it
    /// depends on.
    fn related(&mut self, from: i64, to: i64) -> Result<bool> {
        if from == to {
            return Ok(true);
        }
        if self.dependencies.is_none() {
            self.dependencies = Some(self.snap.dependencies()?.into_iter().collect());
        }
        Ok(self
            .dependencies
            .as_ref()
            .is_some_and(|d| d.contains(&(from, to))))
    }

    fn packages(&mut self, repo_id: i64) -> Result<Rc<Vec<String>>> {
        if let Some(p) = self.packages.get(&repo_id) {
            return Ok(p.clone());
        }
        let p: Rc<Vec<String>> =
            Rc::new(self.snap.packages(repo_id)?.provides.into_iter().collect());
        self.packages.insert(repo_id, p.clone());
        Ok(p)
    }

    fn symbols(&mut self, file_id: i64) -> Result<Rc<Vec<Symbol>>> {
        if let Some(s) = self.symbols.get(&file_id) {
            return Ok(s.clone());
        }
        let s = Rc::new(self.snap.file_symbols(file_id)?);
        self.symbols.insert(file_id, s.clone());
        Ok(s)
    }

    fn imports_binding(&mut self, file_id: i64, local: &str) -> Result<Rc<Vec<Reference>>> {
        let key = (file_id, local.to_string());
        if let Some(i) = self.qualifier_imports.get(&key) {
            return Ok(i.clone());
        }
        let i = Rc::new(self.snap.imports_binding(file_id, local)?);
        self.qualifier_imports.insert(key, i.clone());
        Ok(i)
    }

    fn container_at(&mut self, file_id: i64, line: u32) -> Result<Option<String>> {
        let symbols = self.symbols(file_id)?;
        Ok(innermost(&symbols, line, true).map(|s| container_type(&s.name).to_string()))
    }

    fn def(&mut self, file: FileInfo, symbol: Symbol) -> Result<Def> {
        let symbols = self.symbols(file.id)?;
        // The definition's parent: a class makes it a member; a function makes it a nested
        // function, seen only inside that one.
        let parent = symbols
            .iter()
            .filter(|s| {
                s.start_line <= symbol.start_line && s.end_line >= symbol.end_line && **s != symbol
            })
            .min_by_key(|s| s.end_line - s.start_line);
        let (container, scope) = match parent {
            Some(p) if is_container(p.kind) => (Some(container_type(&p.name).to_string()), None),
            Some(p) if p.kind != "module" => (None, Some((p.start_line, p.end_line))),
            _ => (None, None),
        };
        let packages = self.packages(file.repo_id)?;
        Ok(Def {
            file,
            symbol,
            container,
            packages,
            scope,
        })
    }

    /// The uses of `targets`; a constructor (`__init__`, `constructor`, `initialize`) is
    /// used where its class is called (`Store()`, `new Store`, `Store.new`).
    fn uses_of(&mut self, targets: &[Def], kind: Option<RefKind>) -> Result<Vec<Resolved>> {
        let constructors = !targets.is_empty()
            && targets
                .iter()
                .all(|t| CONSTRUCTORS.contains(&t.symbol.name.as_str()) && t.container.is_some());
        if !constructors || kind.is_some_and(|k| k != RefKind::Call) {
            return self.resolve_uses(targets, kind);
        }
        let mut classes = Vec::new();
        for t in targets {
            let symbols = self.symbols(t.file.id)?;
            let class = symbols
                .iter()
                .filter(|s| is_container(s.kind) && s.kind != "impl")
                .filter(|s| s.start_line <= t.symbol.start_line && s.end_line >= t.symbol.end_line)
                .min_by_key(|s| s.end_line - s.start_line)
                .cloned();
            if let Some(class) = class {
                let def = self.def(t.file.clone(), class)?;
                if !classes.iter().any(|c: &Def| c.same(&def)) {
                    classes.push(def);
                }
            }
        }
        self.resolve_uses(&classes, Some(RefKind::Call))
    }

    /// Every use of `targets` (all of one name), matched to the likeliest of them.
    fn resolve_uses(&mut self, targets: &[Def], kind: Option<RefKind>) -> Result<Vec<Resolved>> {
        let any_member = targets.iter().any(|t| t.target().is_member());
        let index = TargetIndex::new(targets);
        self.memo.clear();
        let mut out = Vec::new();
        self.each_use(targets, kind, &mut |nav, file, site, binding, via| {
            let all = Targets {
                defs: targets,
                any_member,
                index: Some(&index),
            };
            out.extend(nav.best_target(file, site, all, binding, via)?);
            Ok(())
        })?;
        Ok(out)
    }

    /// How many uses each of `targets` (all of one name) has, each weighed on its own (as a
    /// question about that one definition would).
    fn count_uses_each(&mut self, targets: &[Def]) -> Result<Vec<usize>> {
        let mut counts = vec![0; targets.len()];
        self.each_use(targets, None, &mut |nav, file, site, binding, via| {
            for (j, t) in targets.iter().enumerate() {
                let one = Targets {
                    defs: std::slice::from_ref(t),
                    any_member: t.target().is_member(),
                    index: None,
                };
                if nav.best_target(file, site, one, binding, via)?.is_some() {
                    counts[j] += 1;
                }
            }
            Ok(())
        })?;
        Ok(counts)
    }

    /// Calls `f` with every place that may use `targets` (all of one name), in the
    /// repositories that can see one of them: with the imports of its file that bind the
    /// name, and the import it goes through when it uses an alias of the name.
    fn each_use(
        &mut self,
        targets: &[Def],
        kind: Option<RefKind>,
        f: &mut UseVisitor<'_>,
    ) -> Result<()> {
        let Some(first) = targets.first() else {
            return Ok(());
        };
        let name = first.symbol.name.clone();
        for fs in self.snap.references_named(&name, None)? {
            let mut related = false;
            for t in targets {
                related |= self.related(fs.file.repo_id, t.file.repo_id)?;
            }
            if !related {
                continue;
            }
            let imports: Vec<&Reference> = fs
                .sites
                .iter()
                .filter(|s| s.kind == RefKind::Import)
                .collect();
            // Imports binding the name itself; one under an alias binds the alias instead.
            let binding: Vec<Reference> = imports
                .iter()
                .filter(|i| i.alias.is_none())
                .map(|i| (*i).clone())
                .collect();
            let mut uses: Vec<(Reference, Option<Reference>)> =
                fs.sites.iter().map(|s| (s.clone(), None)).collect();
            // `import f as g`: the uses of `g` in this file are uses of `f`, by that import.
            for import in imports.iter().filter(|i| i.alias.is_some()) {
                let alias = import.alias.as_deref().unwrap_or_default();
                if alias == "*" || alias == name {
                    continue;
                }
                let extra = self.snap.references_named(alias, Some(fs.file.repo_id))?;
                for other in extra.into_iter().filter(|o| o.file.id == fs.file.id) {
                    uses.extend(
                        other
                            .sites
                            .into_iter()
                            .filter(|s| s.kind != RefKind::Import)
                            .map(|s| (s, Some((*import).clone()))),
                    );
                }
            }
            // The file imports the name only under another one: its own uses of the name
            // are of something else (unless the definition is in this file).
            let shadowed = binding.is_empty()
                && imports.iter().any(|i| i.alias.is_some())
                && !targets.iter().any(|t| t.file.id == fs.file.id);
            for (site, via) in uses {
                if kind.is_some_and(|k| k != site.kind) {
                    continue;
                }
                if shadowed && via.is_none() && site.kind != RefKind::Import {
                    continue;
                }
                f(self, &fs.file, &site, &binding, via.as_ref())?;
            }
        }
        Ok(())
    }

    fn best_target(
        &mut self,
        file: &FileInfo,
        site: &Reference,
        targets: Targets<'_>,
        name_imports: &[Reference],
        via_import: Option<&Reference>,
    ) -> Result<Option<Resolved>> {
        let Targets {
            defs: targets,
            any_member,
            index,
        } = targets;
        let q = site.qualifier.as_deref();
        let selfish = q.is_some_and(is_self);
        let needs_container = any_member && (selfish || q.is_none());
        let container = if needs_container {
            self.container_at(file.id, site.line)?
        } else {
            None
        };
        // `self.x()` in a class of this file that defines its own `x` calls that one.
        let own_member = selfish && self.class_defines(file.id, site.line, &site.name)?;
        let qualifier_imports = match q {
            Some(q) if !is_self(q) && q != "?" => self.imports_binding(file.id, head(q))?,
            _ => Rc::new(Vec::new()),
        };
        let around = Around {
            file,
            container: container.as_deref(),
            qualifier_imports: &qualifier_imports,
            name_imports,
            via_import,
            own_member,
        };
        // Uses in one file with the same qualifier and class weigh alike, unless a target
        // is in that file (where the line matters): weigh them once.
        let memo_key = index
            .filter(|i| !i.by_file.contains_key(&file.id))
            .map(|_| {
                (
                    file.id,
                    site.qualifier.clone(),
                    container.clone(),
                    via_import.is_some(),
                    site.kind == RefKind::Import,
                    own_member,
                )
            });
        if let Some(hit) = memo_key.as_ref().and_then(|k| self.memo.get(k)) {
            return Ok(hit.map(|confidence| Resolved {
                file: file.clone(),
                site: site.clone(),
                confidence,
            }));
        }
        let mut best: Option<(Confidence, usize)> = None;
        let picked = match index {
            Some(index) => index.for_use(file, site, around.container, name_imports),
            None => (0..targets.len()).collect(),
        };
        for i in picked {
            let t = &targets[i];
            let at_definition = t.file.id == file.id
                && t.symbol.start_line == site.line
                && site.kind != RefKind::Call;
            if at_definition {
                continue;
            }
            let related = self.related(file.repo_id, t.file.repo_id)?;
            if let Some(c) = resolve::confidence(site, &around, &t.target(), related) {
                if best.is_none_or(|(b, _)| c > b) {
                    best = Some((c, i));
                }
            }
        }
        if let Some(key) = memo_key {
            self.memo.insert(key, best.map(|(c, _)| c));
        }
        Ok(best.map(|(confidence, _)| Resolved {
            file: file.clone(),
            site: site.clone(),
            confidence,
        }))
    }

    /// Whether the class around `line` of a file defines a member named `name`.
    fn class_defines(&mut self, file_id: i64, line: u32, name: &str) -> Result<bool> {
        let symbols = self.symbols(file_id)?;
        let Some(class) = innermost(&symbols, line, true) else {
            return Ok(false);
        };
        Ok(symbols.iter().any(|s| {
            s.name == name && s.start_line >= class.start_line && s.end_line <= class.end_line
        }))
    }

    fn site(&mut self, r: &Resolved) -> Result<ReferenceSite> {
        let symbols = self.symbols(r.file.id)?;
        let symbol = innermost(&symbols, r.site.line, false).map(|s| s.name.clone());
        let line = self
            .snap
            .line_text(r.file.id, r.site.line)?
            .unwrap_or_default();
        Ok(ReferenceSite {
            repository: r.file.repository.clone(),
            path: r.file.path.clone(),
            line: r.site.line,
            column: r.site.column,
            kind: r.site.kind.name(),
            symbol,
            confidence: r.confidence,
            snippet: snippet(&line, r.site.column),
        })
    }
}

/// Definitions a name has beyond which the others are weighed by a few of them: a use is
/// matched against the ones its evidence can single out (its file, its qualifier's type, its
/// class) and against this many of the rest, which only its name can match. `new` has
/// thousands of definitions in a Rust corpus; every use against every one of them took
/// seconds.
const GENERIC_CANDIDATES: usize = 8;

/// The definitions of one name, bucketed by what can single one out for a use.
struct TargetIndex {
    len: usize,
    by_file: FxHashMap<i64, Vec<usize>>,
    by_container: FxHashMap<String, Vec<usize>>,
    by_folder: FxHashMap<(i64, String), Vec<usize>>,
    /// The first few of each repository, and of all.
    by_repo: FxHashMap<i64, Vec<usize>>,
    /// By each folder name and the file stem of their paths: where an import's module can
    /// point.
    by_segment: FxHashMap<String, Vec<usize>>,
    first: Vec<usize>,
}

/// The folder names and the file stem of a path.
fn segments(path: &str) -> impl Iterator<Item = &str> {
    path.split('/')
        .map(|s| s.split('.').next().unwrap_or(s))
        .filter(|s| !s.is_empty())
}

impl TargetIndex {
    fn new(targets: &[Def]) -> Self {
        let mut index = TargetIndex {
            len: targets.len(),
            by_file: FxHashMap::default(),
            by_container: FxHashMap::default(),
            by_folder: FxHashMap::default(),
            by_repo: FxHashMap::default(),
            by_segment: FxHashMap::default(),
            first: (0..targets.len().min(2 * GENERIC_CANDIDATES)).collect(),
        };
        for (i, t) in targets.iter().enumerate() {
            index.by_file.entry(t.file.id).or_default().push(i);
            if let Some(c) = &t.container {
                index.by_container.entry(c.clone()).or_default().push(i);
            }
            let folder = resolve::parent(&t.file.path).to_string();
            index
                .by_folder
                .entry((t.file.repo_id, folder))
                .or_default()
                .push(i);
            for seg in segments(&t.file.path) {
                let ids = index.by_segment.entry(seg.to_string()).or_default();
                if ids.last() != Some(&i) {
                    ids.push(i);
                }
            }
            let repo = index.by_repo.entry(t.file.repo_id).or_default();
            if repo.len() < GENERIC_CANDIDATES {
                repo.push(i);
            }
        }
        index
    }

    /// Which definitions a use is weighed against: all of them when they are few, else those
    /// its file, folder, imports, qualifier or class single out, and a few others its name
    /// alone (or a package of another repository) may mean.
    fn for_use(
        &self,
        file: &FileInfo,
        site: &Reference,
        container: Option<&str>,
        imports: &[Reference],
    ) -> Vec<usize> {
        if self.len <= GENERIC_CANDIDATES {
            return (0..self.len).collect();
        }
        let mut picked: Vec<usize> = Vec::new();
        let mut add = |ids: Option<&Vec<usize>>| picked.extend(ids.into_iter().flatten());
        // An import points at a file or folder by the last part of its module (or names the
        // class its file is named after).
        for i in imports {
            let module = i.module.as_deref().unwrap_or("");
            let last = if module.contains('/') {
                module
                    .trim_end_matches('/')
                    .rsplit('/')
                    .next()
                    .unwrap_or(module)
            } else {
                resolve::tail(module)
            };
            add(self.by_segment.get(last.split('.').next().unwrap_or(last)));
            add(self.by_segment.get(i.name.as_str()));
        }
        add(self.by_file.get(&file.id));
        if let Some(q) = site.qualifier.as_deref() {
            add(self.by_container.get(resolve::tail(q)));
        }
        if let Some(c) = container {
            add(self.by_container.get(c));
        }
        add(self
            .by_folder
            .get(&(file.repo_id, resolve::parent(&file.path).to_string())));
        add(self.by_repo.get(&file.repo_id));
        add(Some(&self.first));
        picked.sort_unstable();
        picked.dedup();
        picked
    }
}

/// The line of a use, trimmed; a long one is cut around the use's column.
fn snippet(line: &str, column: u32) -> String {
    let line = line.trim_end();
    if line.len() <= MAX_SNIPPET_BYTES {
        return line.trim_start().to_string();
    }
    let at = (column as usize).saturating_sub(1).min(line.len());
    let mut start = at.saturating_sub(MAX_SNIPPET_BYTES / 2);
    while !line.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (start + MAX_SNIPPET_BYTES).min(line.len());
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[start..end].trim().to_string()
}

/// `Class.method` → (`Class`, `method`); `a::b::f` → (`a::b`, `f`); `f` → (None, `f`).
fn split_name(name: &str) -> (Option<&str>, &str) {
    ["::", ".", "\\", "#"]
        .iter()
        .filter_map(|sep| name.rfind(sep).map(|i| (i, sep.len())))
        .max_by_key(|(i, _)| *i)
        .map_or((None, name), |(i, len)| {
            (Some(&name[..i]).filter(|p| !p.is_empty()), &name[i + len..])
        })
}

impl IndexStore {
    /// The places that use a definition, best first (confidence, then the definition's own
    /// repository, then by place); the definition itself is not one of them. An unknown name
    /// is an empty answer with a note.
    pub fn find_references(
        &self,
        q: &DefinitionQuery<'_>,
        kind: Option<RefKind>,
        limit: usize,
    ) -> Result<References> {
        let limit = check_limit(limit)?;
        let snapshot = self.read()?;
        let mut nav = Navigator::new(snapshot.as_ref());
        let targets = self.definitions(&mut nav, q)?;
        if targets.is_empty() {
            return Ok(References {
                references: Vec::new(),
                total: 0,
                note: Some(format!("no definition named `{}` is indexed", q.name)),
            });
        }
        let home = targets[0].file.repo_id;
        let mut resolved = nav.uses_of(&targets, kind)?;
        resolved.sort_by(|a, b| {
            b.confidence
                .cmp(&a.confidence)
                .then_with(|| (a.file.repo_id != home).cmp(&(b.file.repo_id != home)))
                .then_with(|| a.file.repository.cmp(&b.file.repository))
                .then_with(|| a.file.path.cmp(&b.file.path))
                .then_with(|| (a.site.line, a.site.column).cmp(&(b.site.line, b.site.column)))
        });
        let total = resolved.len();
        let references = resolved
            .iter()
            .take(limit)
            .map(|r| nav.site(r))
            .collect::<Result<Vec<_>>>()?;
        let note = match (total, targets.len()) {
            (0, _) => Some(format!("nothing in the index uses `{}`", q.name)),
            (t, _) if t > limit => Some(format!(
                "{t} references; showing the first {limit} (raise `limit`, up to {MAX_LIMIT}, or narrow with `kind`)"
            )),
            (_, n) if n > 1 => Some(format!(
                "{n} definitions are named `{}`: each use is matched to the likeliest; give `path` and `line` to pick one",
                q.name
            )),
            _ => None,
        };
        Ok(References {
            references,
            total,
            note,
        })
    }

    /// How many uses each of `hits` (definitions as `find_symbol` reports them) has: the
    /// `total` a question about that one definition answers. The uses of a name are read
    /// once for all its hits.
    pub fn reference_counts(&self, hits: &[crate::SymbolHit]) -> Result<Vec<usize>> {
        let snapshot = self.read()?;
        let mut nav = Navigator::new(snapshot.as_ref());
        let mut counts = vec![0; hits.len()];
        let mut names: Vec<&str> = hits.iter().map(|h| h.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let all = self.definitions(
                &mut nav,
                &DefinitionQuery {
                    name,
                    ..DefinitionQuery::default()
                },
            )?;
            let mut targets: Vec<(usize, Def)> = Vec::new();
            for (i, h) in hits.iter().enumerate().filter(|(_, h)| h.name == name) {
                let def = all.iter().find(|d| {
                    d.file.repository == h.repository
                        && d.file.path == h.path
                        && d.symbol.start_line == h.start_line
                });
                match def {
                    // A constructor's uses are its class's calls: asked on its own.
                    Some(d) if CONSTRUCTORS.contains(&name) => {
                        counts[i] = nav.uses_of(std::slice::from_ref(d), None)?.len();
                    }
                    Some(d) => targets.push((i, d.clone())),
                    None => {}
                }
            }
            let defs: Vec<Def> = targets.iter().map(|(_, d)| d.clone()).collect();
            for ((i, _), n) in targets.iter().zip(nav.count_uses_each(&defs)?) {
                counts[*i] = n;
            }
        }
        Ok(counts)
    }

    /// The callers or callees of a definition, `depth` levels deep (cycles cut and marked),
    /// at most `limit` nodes.
    pub fn call_graph(
        &self,
        q: &DefinitionQuery<'_>,
        direction: Direction,
        depth: u8,
        limit: usize,
    ) -> Result<Option<CallGraph>> {
        let limit = check_limit(limit)?;
        if !(1..=MAX_DEPTH).contains(&depth) {
            return Err(StoreError::BadQuery(format!(
                "depth {depth} is out of range: 1 to {MAX_DEPTH}"
            )));
        }
        let snapshot = self.read()?;
        let mut nav = Navigator::new(snapshot.as_ref());
        let targets = self.definitions(&mut nav, q)?;
        let Some(root) = targets.first().cloned() else {
            return Ok(None);
        };
        let mut walk = Walk {
            direction,
            budget: limit,
            cut: false,
            path: vec![root.clone()],
        };
        let calls = walk.expand(&mut nav, &root, depth)?;
        let nodes = limit - walk.budget;
        let note = if targets.len() > 1 {
            Some(format!(
                "{} definitions are named `{}`; this is the one in {}:{} (give `path` and `line` to pick another)",
                targets.len(),
                q.name,
                root.file.path,
                root.symbol.start_line
            ))
        } else if walk.cut {
            Some(format!(
                "cut at {limit} nodes (raise `limit`, up to {MAX_LIMIT})"
            ))
        } else {
            None
        };
        Ok(Some(CallGraph {
            root: node(&root, None, Vec::new(), calls, false),
            nodes,
            note,
        }))
    }

    /// The definitions a question names, best match first.
    fn definitions(&self, nav: &mut Navigator, q: &DefinitionQuery<'_>) -> Result<Vec<Def>> {
        let (prefix, name) = split_name(q.name.trim());
        if name.is_empty() {
            return Err(StoreError::BadQuery("empty name".into()));
        }
        let mut repo_id = match q.repository {
            Some(r) => Some(
                self.find_repository(r)?
                    .ok_or_else(|| {
                        StoreError::NotFound(format!("no indexed repository named `{r}`"))
                    })?
                    .id,
            ),
            None => None,
        };
        let file = match q.path {
            Some(path) => {
                let (id, rel) = self.locate(path, repo_id)?;
                repo_id = Some(id);
                Some(rel)
            }
            None => None,
        };
        let rows = nav.snap.definitions_named(name)?;
        let mut defs = Vec::new();
        for row in rows {
            if repo_id.is_some_and(|id| id != row.file.repo_id)
                || file.as_ref().is_some_and(|f| *f != row.file.path)
            {
                continue;
            }
            defs.push(nav.def(row.file, row.symbol)?);
        }
        // An `impl Foo` block is not what a use of `Foo` means when `Foo` itself is indexed.
        if defs.iter().any(|d| d.symbol.kind != "impl") {
            defs.retain(|d| d.symbol.kind != "impl");
        }
        if let Some(prefix) = prefix {
            let last = resolve::tail(prefix);
            defs.retain(|d| {
                d.container.as_deref() == Some(last)
                    || Path::new(&d.file.path).file_stem().and_then(|s| s.to_str()) == Some(last)
                    || resolve::parent(&d.file.path).rsplit('/').next() == Some(last)
            });
        }
        if let Some(line) = q.line {
            let at: Vec<Def> = defs
                .iter()
                .filter(|d| d.symbol.start_line == line)
                .cloned()
                .collect();
            defs = if at.is_empty() {
                let holding = defs
                    .iter()
                    .filter(|d| d.symbol.start_line <= line && d.symbol.end_line >= line)
                    .min_by_key(|d| d.symbol.end_line - d.symbol.start_line)
                    .cloned();
                holding.into_iter().collect()
            } else {
                at
            };
            if defs.is_empty() {
                return Err(StoreError::BadQuery(format!(
                    "no definition named `{}` at {}:{line}",
                    q.name,
                    q.path.unwrap_or("?")
                )));
            }
        }
        Ok(defs)
    }

    /// A path from a client: relative to `repo_id`'s root, or absolute inside an indexed
    /// repository; as (repository id, relative path).
    fn locate(&self, path: &str, repo_id: Option<i64>) -> Result<(i64, String)> {
        let p = Path::new(path);
        if p.is_absolute() {
            let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let repo = self
                .repository_states()?
                .into_iter()
                .map(|r| r.record)
                .find(|r| canonical.starts_with(&r.path) && repo_id.is_none_or(|id| id == r.id));
            let repo = repo.ok_or_else(|| {
                StoreError::BadQuery(format!("{path} is not inside an indexed repository"))
            })?;
            let rel = canonical
                .strip_prefix(&repo.path)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            return Ok((repo.id, rel));
        }
        let id = repo_id.ok_or_else(|| {
            StoreError::BadQuery(format!(
                "a relative path ({path}) needs its repository: give `repository`, or an absolute path"
            ))
        })?;
        let rel = path.trim_start_matches("./").trim_matches('/').to_string();
        if rel.split('/').any(|s| s == "..") {
            return Err(StoreError::BadQuery(format!(
                "{path} leaves the repository"
            )));
        }
        Ok((id, rel))
    }
}

fn check_limit(limit: usize) -> Result<usize> {
    if (1..=MAX_LIMIT).contains(&limit) {
        Ok(limit)
    } else {
        Err(StoreError::BadQuery(format!(
            "limit {limit} is out of range: 1 to {MAX_LIMIT}"
        )))
    }
}

fn node(
    def: &Def,
    confidence: Option<Confidence>,
    sites: Vec<u32>,
    calls: Vec<CallNode>,
    cycle: bool,
) -> CallNode {
    CallNode {
        symbol: def.symbol.name.clone(),
        kind: def.symbol.kind.to_string(),
        repository: def.file.repository.clone(),
        path: def.file.path.clone(),
        line: def.symbol.start_line,
        confidence,
        sites,
        calls,
        cycle,
    }
}

/// A call graph being built depth-first, with the nodes it may still add.
struct Walk {
    direction: Direction,
    budget: usize,
    cut: bool,
    /// The definitions from the root to here: one met again is a cycle.
    path: Vec<Def>,
}

impl Walk {
    fn expand(&mut self, nav: &mut Navigator, def: &Def, depth: u8) -> Result<Vec<CallNode>> {
        let next = match self.direction {
            Direction::Callers => callers(nav, def)?,
            Direction::Callees => callees(nav, def)?,
        };
        let mut out = Vec::new();
        for (other, confidence, sites) in next {
            if self.budget == 0 {
                self.cut = true;
                break;
            }
            self.budget -= 1;
            let cycle = self.path.iter().any(|p| p.same(&other));
            let calls = if cycle || depth <= 1 {
                Vec::new()
            } else {
                self.path.push(other.clone());
                let calls = self.expand(nav, &other, depth - 1)?;
                self.path.pop();
                calls
            };
            out.push(node(&other, Some(confidence), sites, calls, cycle));
        }
        Ok(out)
    }
}

/// The definitions whose bodies call `def`, with the best confidence of their calls and the
/// lines of those calls; calls at a file's top level count for no definition.
fn callers(nav: &mut Navigator, def: &Def) -> Result<Vec<(Def, Confidence, Vec<u32>)>> {
    let uses = nav.uses_of(std::slice::from_ref(def), Some(RefKind::Call))?;
    let mut groups: Vec<(Def, Confidence, Vec<u32>)> = Vec::new();
    for r in uses {
        let symbols = nav.symbols(r.file.id)?;
        let Some(caller) = innermost(&symbols, r.site.line, false)
            .filter(|s| !is_container(s.kind))
            .cloned()
        else {
            continue;
        };
        let caller = nav.def(r.file.clone(), caller)?;
        match groups.iter_mut().find(|(d, _, _)| d.same(&caller)) {
            Some(g) => {
                g.1 = g.1.max(r.confidence);
                if !g.2.contains(&r.site.line) {
                    g.2.push(r.site.line);
                }
            }
            None => groups.push((caller, r.confidence, vec![r.site.line])),
        }
    }
    groups.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then_with(|| a.0.file.repository.cmp(&b.0.file.repository))
            .then_with(|| a.0.file.path.cmp(&b.0.file.path))
            .then_with(|| a.0.symbol.start_line.cmp(&b.0.symbol.start_line))
    });
    Ok(groups)
}

/// The definitions `def`'s body calls (names defined nowhere in the index, such as library
/// calls, lead nowhere and are left out), each with its likeliest definitions.
fn callees(nav: &mut Navigator, def: &Def) -> Result<Vec<(Def, Confidence, Vec<u32>)>> {
    let (name_imports, rest): (Vec<Reference>, Vec<Reference>) = nav
        .snap
        .references_in_file(def.file.id)?
        .into_iter()
        .partition(|r| r.kind == RefKind::Import);
    let body: Vec<Reference> = rest
        .into_iter()
        .filter(|r| r.kind == RefKind::Call)
        .filter(|r| r.line >= def.symbol.start_line && r.line <= def.symbol.end_line)
        .collect();
    let mut out: Vec<(Def, Confidence, Vec<u32>)> = Vec::new();
    let mut seen_names: rustc_hash::FxHashSet<String> = Default::default();
    for site in &body {
        if !seen_names.insert(site.name.clone()) {
            continue;
        }
        let lines: Vec<u32> = body
            .iter()
            .filter(|s| s.name == site.name)
            .map(|s| s.line)
            .collect();
        // `import f as g` … `g()`: a call of `f`.
        let name = name_imports
            .iter()
            .find(|i| i.alias.as_deref() == Some(site.name.as_str()))
            .map_or(site.name.as_str(), |i| i.name.as_str());
        let candidates: Vec<Def> = nav
            .snap
            .definitions_named(name)?
            .into_iter()
            .map(|row| nav.def(row.file, row.symbol))
            .collect::<Result<Vec<_>>>()?;
        let candidates: Vec<Def> = candidates
            .into_iter()
            .filter(|d| d.symbol.kind != "impl")
            .collect();
        let via = name_imports
            .iter()
            .find(|i| i.alias.as_deref() == Some(site.name.as_str()));
        let imports: Vec<Reference> = name_imports
            .iter()
            .filter(|i| i.name == name && i.alias.is_none())
            .cloned()
            .collect();
        let mut scored: Vec<(Def, Confidence)> = Vec::new();
        for c in candidates {
            let one = Targets {
                defs: std::slice::from_ref(&c),
                any_member: c.target().is_member(),
                index: None,
            };
            let Some(r) = nav.best_target(&def.file, site, one, &imports, via)? else {
                continue;
            };
            scored.push((c, r.confidence));
        }
        let Some(best) = scored.iter().map(|(_, c)| *c).max() else {
            continue;
        };
        for (callee, confidence) in scored
            .into_iter()
            .filter(|(_, c)| *c == best)
            .take(MAX_CALLEE_TARGETS)
        {
            out.push((callee, confidence, lines.clone()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
