//! Discovery: find the code repositories under the folders a person names.
//!
//! One parallel walk per scan path (the `ignore` crate's walker) reads every directory once and
//! records, per directory down to `max_depth`, the repository indicators it holds and the code
//! files below it. Totals are then summed bottom-up and repositories picked top-down, so a
//! repository's nested folders (submodules included) belong to it and are never reported apart.
//!
//! ```no_run
//! use codeintel_discovery::{Discovery, DiscoveryOptions};
//! let report = Discovery::new(DiscoveryOptions::default()).unwrap().run(&["/home/me/projects".into()]);
//! for repo in &report.repositories {
//!     println!("{} {} {}", repo.name, repo.language, repo.path.display());
//! }
//! ```
//!
//! Discovery does no I/O beyond the walk and reading `.git` config files: it never writes.

#![deny(missing_docs)]

mod exclude;
pub mod git;
mod indicator;
mod language;
pub mod manifest;
mod walk;

use std::path::PathBuf;
use std::time::SystemTime;

pub use exclude::{ExcludeError, Excludes};
pub use indicator::Indicator;
pub use language::{Language, UnknownLanguage};

/// Folders skipped everywhere unless a caller removes them from [`DiscoveryOptions::excludes`].
pub const DEFAULT_EXCLUDES: [&str; 10] = [
    "node_modules",
    ".git",
    "__pycache__",
    "venv",
    "env",
    "build",
    "dist",
    "target",
    ".pytest_cache",
    ".tox",
];
/// How many levels below a scan path a repository's folder may be.
pub const DEFAULT_MAX_DEPTH: usize = 5;
/// Code files a folder needs (besides an indicator) to count as a repository.
pub const DEFAULT_MIN_FILES: usize = 3;

/// What to look for and where to stop. Built once by the caller and passed in.
#[derive(Debug, Clone)]
pub struct DiscoveryOptions {
    /// Exclude patterns: folder or file names (`node_modules`), globs (`*.min.js`), or
    /// paths relative to the scan path (`vendor/third_party`). Matched against whole path
    /// components, never as substrings.
    pub excludes: Vec<String>,
    /// Deepest directory (scan path = 0) that can be reported as a repository.
    pub max_depth: usize,
    /// Fewest code files (in the whole repository) for a directory to count.
    pub min_files: usize,
    /// Walker threads; 0 picks one per core.
    pub threads: usize,
}

impl Default for DiscoveryOptions {
    fn default() -> Self {
        DiscoveryOptions {
            excludes: DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect(),
            max_depth: DEFAULT_MAX_DEPTH,
            min_files: DEFAULT_MIN_FILES,
            threads: 0,
        }
    }
}

impl DiscoveryOptions {
    /// The defaults plus `extra` exclude patterns.
    pub fn with_extra_excludes<I: IntoIterator<Item = String>>(mut self, extra: I) -> Self {
        for pattern in extra {
            if !self.excludes.contains(&pattern) {
                self.excludes.push(pattern);
            }
        }
        self
    }
}

/// The version-control system a repository uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoKind {
    /// Has `.git` (a folder, or a file for worktrees and submodules).
    Git,
    /// Has `.hg`.
    Mercurial,
    /// Has `.svn`.
    Svn,
    /// No version control: found by a build, project or docs indicator.
    Unknown,
}

impl RepoKind {
    /// The lowercase name used in JSON (`git`, `mercurial`, `svn`, `unknown`).
    pub fn name(self) -> &'static str {
        match self {
            RepoKind::Git => "git",
            RepoKind::Mercurial => "mercurial",
            RepoKind::Svn => "svn",
            RepoKind::Unknown => "unknown",
        }
    }
}

/// One repository found by discovery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// Absolute, with symlinks in the scan path resolved. The identity of a repository.
    pub path: PathBuf,
    /// From the first git remote URL, else the directory name; unique within one report.
    pub name: String,
    /// Its version control, if any.
    pub kind: RepoKind,
    /// The language with the most code files (ties go to the one listed first).
    pub language: Language,
    /// Total bytes of all code files.
    pub size: u64,
    /// Number of code files.
    pub file_count: u64,
    /// Newest modification time among the code files.
    pub last_modified: SystemTime,
    /// Indicator file and folder names found in the repository's top directory, sorted.
    pub indicators: Vec<Indicator>,
}

/// A scan path that could not be walked, with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    /// The scan path (or folder) that could not be walked.
    pub path: PathBuf,
    /// Why, for a person.
    pub message: String,
}

impl std::fmt::Display for ScanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// The result of a discovery run: repositories sorted by size (largest first), and the scan
/// paths that could not be used.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryReport {
    /// The repositories found, largest first.
    pub repositories: Vec<Repository>,
    /// Scan paths that could not be walked (the others were still scanned).
    pub errors: Vec<ScanError>,
}

/// A configured discovery, ready to run over scan paths.
#[derive(Debug, Clone)]
pub struct Discovery {
    options: DiscoveryOptions,
    excludes: Excludes,
}

impl Discovery {
    /// Validates the options (exclude globs must compile).
    pub fn new(options: DiscoveryOptions) -> Result<Self, ExcludeError> {
        let excludes = Excludes::new(&options.excludes)?;
        Ok(Discovery { options, excludes })
    }

    /// The options this discovery runs with.
    pub fn options(&self) -> &DiscoveryOptions {
        &self.options
    }

    /// The compiled exclude patterns, for other walkers (sync, watcher) to share.
    pub fn excludes(&self) -> &Excludes {
        &self.excludes
    }

    /// Walks each scan path and reports the repositories under them. A path that does not exist
    /// or is not a directory becomes a [`ScanError`]; the others are still scanned.
    pub fn run(&self, scan_paths: &[PathBuf]) -> DiscoveryReport {
        let mut report = DiscoveryReport::default();
        let mut seen = std::collections::HashSet::new();
        for path in scan_paths {
            let root = match canonical_dir(path) {
                Ok(root) => root,
                Err(message) => {
                    report.errors.push(ScanError {
                        path: path.clone(),
                        message,
                    });
                    continue;
                }
            };
            for repo in walk::discover_under(&root, &self.options, &self.excludes) {
                // Overlapping scan paths must not report a repository twice.
                if seen.insert(repo.path.clone()) {
                    report.repositories.push(repo);
                }
            }
        }
        report
            .repositories
            .sort_by(|a, b| b.size.cmp(&a.size).then_with(|| a.path.cmp(&b.path)));
        make_names_unique(&mut report.repositories);
        report
    }
}

fn canonical_dir(path: &std::path::Path) -> Result<PathBuf, String> {
    let root = std::fs::canonicalize(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => "scan path does not exist".to_string(),
        _ => format!("cannot open scan path: {e}"),
    })?;
    if !root.is_dir() {
        return Err("scan path is not a directory".to_string());
    }
    Ok(root)
}

/// Gives repeated names a numeric suffix (`name-2`, `name-3`, ...) in report order, so the
/// largest repository keeps the plain name.
fn make_names_unique(repos: &mut [Repository]) {
    let mut used = std::collections::HashSet::new();
    for repo in repos.iter_mut() {
        if used.insert(repo.name.clone()) {
            continue;
        }
        let mut n = 2;
        let unique = loop {
            let candidate = format!("{}-{n}", repo.name);
            if !used.contains(&candidate) {
                break candidate;
            }
            n += 1;
        };
        used.insert(unique.clone());
        repo.name = unique;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str, size: u64) -> Repository {
        Repository {
            path: PathBuf::from(format!("/r/{name}/{size}")),
            name: name.to_string(),
            kind: RepoKind::Unknown,
            language: Language::Python,
            size,
            file_count: 3,
            last_modified: SystemTime::UNIX_EPOCH,
            indicators: vec![],
        }
    }

    #[test]
    fn colliding_names_get_suffixes_in_order() {
        let mut repos = vec![repo("a", 3), repo("a", 2), repo("a-2", 1), repo("a", 0)];
        make_names_unique(&mut repos);
        let names: Vec<_> = repos.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["a", "a-2", "a-2-2", "a-3"]);
    }
}
