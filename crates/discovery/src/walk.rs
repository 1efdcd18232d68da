//! The parallel walk behind [`crate::Discovery::run`].
//!
//! What each directory (at depth <= max_depth) holds is kept in one map; files deeper than
//! max_depth are credited to their ancestor at max_depth, so memory grows with the number of
//! shallow directories, not with the size of the tree.

use crate::{git, DiscoveryOptions, Excludes, Indicator, Language, RepoKind, Repository};
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
///
/// Each directory is one rayon task that reads it once and spawns tasks for its subdirectories.
/// `std`'s `DirEntry::metadata` stats relative to the open directory (`statx` on the dir fd);
/// the `ignore` crate's parallel walker re-stats each file by its absolute path, and with it this
/// walk took 217 ms instead of 148 ms on the 20-copy bench corpus (BENCHMARKS.md). Discovery
/// applies no ignore files, so nothing of that walker is missed.
pub(crate) fn discover_under(
    root: &Path,
    options: &DiscoveryOptions,
    excludes: &Excludes,
) -> Vec<Repository> {
    let walk = Walk {
        root,
        max_depth: options.max_depth,
        excludes,
        dirs: Mutex::new(DirMap::new()),
    };
    let run = |walk: &Walk| rayon::scope(|scope| walk.visit_dir(scope, root.to_path_buf(), 0));
    match rayon::ThreadPoolBuilder::new()
        .num_threads(options.threads)
        .build()
    {
        Ok(pool) if options.threads > 0 => pool.install(|| run(&walk)),
        _ => run(&walk),
    }
    let dirs = walk.dirs.into_inner().unwrap_or_else(|e| e.into_inner());
    pick_repositories(dirs, options.min_files as u64)
}

struct Walk<'a> {
    root: &'a Path,
    max_depth: usize,
    excludes: &'a Excludes,
    dirs: Mutex<DirMap>,
}

impl<'a> Walk<'a> {
    /// Reads `dir` (at `depth` below the root), counts its code files and indicators, and
    /// queues its subdirectories.
    fn visit_dir<'s>(&'s self, scope: &rayon::Scope<'s>, dir: PathBuf, depth: usize) {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(err) => {
                tracing::debug!(path = %dir.display(), %err, "skipping unreadable directory");
                return;
            }
        };
        let shallow = depth <= self.max_depth;
        let mut stats = DirStats::new(depth.min(self.max_depth));
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(err) => {
                    tracing::debug!(path = %dir.display(), %err, "skipping entry");
                    continue;
                }
            };
            let Ok(file_type) = entry.file_type() else {
                continue;
            };
            let file_name = entry.file_name();
            let Some(name) = file_name.to_str() else {
                tracing::debug!(path = %entry.path().display(), "skipping non-UTF-8 name");
                continue;
            };
            // Indicators count even inside excluded names: `.git` is both.
            if shallow && !file_type.is_symlink() {
                if let Some(indicator) = Indicator::classify(name, file_type.is_dir()) {
                    stats.indicators.push(indicator);
                }
            }
            if file_type.is_dir() {
                if name.starts_with('.') || self.is_excluded(&dir, name) {
                    continue;
                }
                let child = entry.path();
                scope.spawn(move |scope| self.visit_dir(scope, child, depth + 1));
                continue;
            }
            if !file_type.is_file() {
                continue; // symlinks (never followed), sockets, fifos, devices
            }
            let Some(language) = Language::from_file_name(name) else {
                continue;
            };
            if self.is_excluded(&dir, name) {
                continue;
            }
            match entry.metadata() {
                Ok(meta) => {
                    let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
                    stats.counts.files[language.index()] += 1;
                    stats.counts.size += meta.len();
                    stats.counts.newest = stats.counts.newest.max(modified);
                }
                Err(err) => tracing::debug!(path = %entry.path().display(), %err, "cannot stat"),
            }
        }
        self.record(dir, depth, stats);
    }

    fn is_excluded(&self, dir: &Path, name: &str) -> bool {
        self.excludes.is_excluded_at(name, || {
            let path = dir.join(name);
            match path.strip_prefix(self.root) {
                Ok(relative) => relative.to_path_buf(),
                Err(_) => path,
            }
        })
    }

    /// Adds what `dir` held to its own slot, or, below max_depth, to its ancestor at max_depth.
    fn record(&self, dir: PathBuf, depth: usize, stats: DirStats) {
        let key = if depth <= self.max_depth {
            dir
        } else {
            match dir.ancestors().nth(depth - self.max_depth) {
                Some(ancestor) => ancestor.to_path_buf(),
                None => return,
            }
        };
        let mut dirs = self.dirs.lock().unwrap_or_else(|e| e.into_inner());
        let slot = dirs
            .entry(key)
            .or_insert_with(|| DirStats::new(stats.depth));
        slot.counts.add(&stats.counts);
        slot.indicators.extend(stats.indicators);
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
