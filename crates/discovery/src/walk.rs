//! The parallel walk behind [`crate::Discovery::run`].
//!
//! Each walker thread keeps its own map from directory (at depth <= max_depth) to what was seen
//! in it; files deeper than max_depth are credited to their ancestor at max_depth, so memory
//! grows with the number of shallow directories, not with the tree. The maps are merged when the
//! threads finish.

use crate::{git, DiscoveryOptions, Excludes, Indicator, Language, RepoKind, Repository};
use ignore::{DirEntry, ParallelVisitor, ParallelVisitorBuilder, WalkBuilder, WalkState};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

/// Code files counted so far: per language, total bytes and newest modification time.
#[derive(Debug, Clone, Copy)]
struct Counts {
    files: [u64; Language::ALL.len()],
    size: u64,
    newest: SystemTime,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            files: [0; Language::ALL.len()],
            size: 0,
            newest: SystemTime::UNIX_EPOCH,
        }
    }
}

impl Counts {
    fn add(&mut self, other: &Counts) {
        for (mine, theirs) in self.files.iter_mut().zip(other.files) {
            *mine += theirs;
        }
        self.size += other.size;
        self.newest = self.newest.max(other.newest);
    }

    fn file_count(&self) -> u64 {
        self.files.iter().sum()
    }

    /// The language with the most files; `max_by_key` keeps the last maximum, so walk the
    /// languages in reverse to let the first-listed one win a tie.
    fn language(&self) -> Language {
        Language::ALL
            .into_iter()
            .rev()
            .max_by_key(|l| self.files[l.index()])
            .unwrap_or(Language::Python)
    }
}

/// What one directory holds: its own indicators, and code files in it (and, for a directory at
/// max_depth, in everything below it).
#[derive(Debug, Clone, Default)]
struct DirStats {
    depth: usize,
    indicators: Vec<Indicator>,
    counts: Counts,
}

impl DirStats {
    fn new(depth: usize) -> Self {
        DirStats {
            depth,
            ..DirStats::default()
        }
    }
}

type DirMap = HashMap<PathBuf, DirStats>;

/// Walks `root` (an existing, canonical directory) and returns its repositories, unsorted and
/// not yet made unique by name.
pub(crate) fn discover_under(
    root: &Path,
    options: &DiscoveryOptions,
    excludes: &Excludes,
) -> Vec<Repository> {
    let merged = Mutex::new(DirMap::new());
    let mut builder = VisitorBuilder {
        root,
        max_depth: options.max_depth,
        excludes,
        merged: &merged,
    };
    WalkBuilder::new(root)
        .standard_filters(false)
        .follow_links(false)
        .threads(options.threads)
        .build_parallel()
        .visit(&mut builder);
    let dirs = merged.into_inner().unwrap_or_else(|e| e.into_inner());
    pick_repositories(dirs, options.min_files as u64)
}

struct VisitorBuilder<'a> {
    root: &'a Path,
    max_depth: usize,
    excludes: &'a Excludes,
    merged: &'a Mutex<DirMap>,
}

impl<'s> ParallelVisitorBuilder<'s> for VisitorBuilder<'s> {
    fn build(&mut self) -> Box<dyn ParallelVisitor + 's> {
        Box::new(Visitor {
            root: self.root,
            max_depth: self.max_depth,
            excludes: self.excludes,
            merged: self.merged,
            dirs: DirMap::new(),
        })
    }
}

struct Visitor<'a> {
    root: &'a Path,
    max_depth: usize,
    excludes: &'a Excludes,
    merged: &'a Mutex<DirMap>,
    dirs: DirMap,
}

impl Visitor<'_> {
    /// The stats slot for the directory at `depth` that `path` is in or below.
    fn slot(&mut self, path: &Path, depth: usize) -> Option<&mut DirStats> {
        let target = depth.min(self.max_depth);
        let dir = path.ancestors().nth(depth - target)?;
        if !self.dirs.contains_key(dir) {
            self.dirs.insert(dir.to_path_buf(), DirStats::new(target));
        }
        self.dirs.get_mut(dir)
    }

    fn visit_entry(&mut self, entry: DirEntry) -> WalkState {
        let depth = entry.depth();
        let path = entry.path();
        if depth == 0 {
            self.slot(path, 0);
            return WalkState::Continue;
        }
        let Some(file_type) = entry.file_type() else {
            return WalkState::Continue;
        };
        let Some(name) = entry.file_name().to_str() else {
            tracing::debug!(path = %path.display(), "skipping non-UTF-8 name");
            return skip_if_dir(file_type.is_dir());
        };
        let parent_depth = depth - 1;
        let Some(parent) = path.parent() else {
            return WalkState::Continue;
        };
        // Indicators count even inside excluded names: `.git` is both.
        if parent_depth <= self.max_depth && !file_type.is_symlink() {
            if let Some(indicator) = Indicator::classify(name, file_type.is_dir()) {
                if let Some(stats) = self.slot(parent, parent_depth) {
                    stats.indicators.push(indicator);
                }
            }
        }
        let relative = path.strip_prefix(self.root).unwrap_or(path);
        if file_type.is_dir() {
            if name.starts_with('.') || self.excludes.is_excluded(name, relative) {
                return WalkState::Skip;
            }
            if depth <= self.max_depth {
                self.slot(path, depth);
            }
            return WalkState::Continue;
        }
        if !file_type.is_file() {
            return WalkState::Continue; // symlinks (never followed), sockets, fifos, devices
        }
        let Some(language) = Language::from_file_name(name) else {
            return WalkState::Continue;
        };
        if self.excludes.is_excluded(name, relative) {
            return WalkState::Continue;
        }
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(err) => {
                tracing::debug!(path = %path.display(), %err, "cannot stat file");
                return WalkState::Continue;
            }
        };
        let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
        if let Some(stats) = self.slot(parent, parent_depth) {
            stats.counts.files[language.index()] += 1;
            stats.counts.size += meta.len();
            stats.counts.newest = stats.counts.newest.max(modified);
        }
        WalkState::Continue
    }
}

fn skip_if_dir(is_dir: bool) -> WalkState {
    if is_dir {
        WalkState::Skip
    } else {
        WalkState::Continue
    }
}

impl ParallelVisitor for Visitor<'_> {
    fn visit(&mut self, entry: Result<DirEntry, ignore::Error>) -> WalkState {
        match entry {
            Ok(entry) => self.visit_entry(entry),
            Err(err) => {
                // Unreadable directories, loops, vanished entries: skipped, never fatal.
                tracing::debug!(%err, "skipping entry");
                WalkState::Continue
            }
        }
    }
}

impl Drop for Visitor<'_> {
    fn drop(&mut self) {
        let mut merged = self.merged.lock().unwrap_or_else(|e| e.into_inner());
        for (path, stats) in self.dirs.drain() {
            match merged.get_mut(&path) {
                Some(existing) => {
                    existing.counts.add(&stats.counts);
                    existing.indicators.extend(stats.indicators);
                }
                None => {
                    merged.insert(path, stats);
                }
            }
        }
    }
}

/// Sums code files bottom-up, then picks repositories top-down: a directory with an indicator
/// and at least `min_files` code files in its whole subtree, and no repository above it.
fn pick_repositories(mut dirs: DirMap, min_files: u64) -> Vec<Repository> {
    let mut order: Vec<PathBuf> = dirs.keys().cloned().collect();
    order.sort_by(|a, b| dirs[b].depth.cmp(&dirs[a].depth).then_with(|| a.cmp(b)));
    for path in &order {
        let Some(parent) = path.parent() else {
            continue;
        };
        if dirs[path].depth == 0 || !dirs.contains_key(parent) {
            continue;
        }
        let child = dirs[path].counts;
        if let Some(p) = dirs.get_mut(parent) {
            p.counts.add(&child);
        }
    }
    order.reverse(); // shallowest first
    let mut repos: HashSet<PathBuf> = HashSet::new();
    let mut found = Vec::new();
    for path in order {
        let stats = &dirs[&path];
        if stats.indicators.is_empty() || stats.counts.file_count() < min_files {
            continue;
        }
        if path.ancestors().skip(1).any(|a| repos.contains(a)) {
            continue;
        }
        repos.insert(path.clone());
        found.push(repository(path, stats));
    }
    found
}

fn repository(path: PathBuf, stats: &DirStats) -> Repository {
    let mut indicators = stats.indicators.clone();
    indicators.sort();
    indicators.dedup();
    let kind = if indicators.contains(&Indicator::Git) {
        RepoKind::Git
    } else if indicators.contains(&Indicator::Mercurial) {
        RepoKind::Mercurial
    } else if indicators.contains(&Indicator::Svn) {
        RepoKind::Svn
    } else {
        RepoKind::Unknown
    };
    let name = (kind == RepoKind::Git)
        .then(|| git::remote_name(&path))
        .flatten()
        .or_else(|| path.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| path.to_string_lossy().into_owned());
    Repository {
        name,
        kind,
        language: stats.counts.language(),
        size: stats.counts.size,
        file_count: stats.counts.file_count(),
        last_modified: stats.counts.newest,
        indicators,
        path,
    }
}
