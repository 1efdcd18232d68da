//! Which files a sync looks at: a parallel walk of the repository (or the stat facts of just the
//! paths a watcher reported), with one rule for what is indexable everywhere: hidden files,
//! `.gitignore`/`.ignore` (git or not), the excludes, secrets and oversized files are left out.

use super::SyncOptions;
use crate::lang::{self, FileKind};
use crate::store;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Mutex;

/// A file found by the walk. A sync holds one per file of the repository from its walk to
/// its end, so it is kept small: the path relative to the root only (the absolute one is
/// built when the file is read), in a box without spare capacity. A 346,000-file repository's
/// walk took ~265 bytes a file with an absolute `PathBuf` and a `String` beside it.
pub(super) struct Walked {
    pub(super) rel: Box<str>,
    pub(super) kind: FileKind,
    pub(super) size: u64,
    pub(super) mtime_ns: i64,
}

impl Walked {
    /// Where the file is, under the repository's `root`.
    pub(super) fn path(&self, root: &Path) -> PathBuf {
        root.join(&*self.rel)
    }
}

/// Walks the repository: indexable files with their stat facts, by path, and the count of
/// files left out by rule (secrets, too large).
pub(super) fn walk(root: &Path, start: &Path, options: &SyncOptions) -> (Vec<Walked>, u64) {
    let found = Mutex::new(Vec::new());
    let skipped = std::sync::atomic::AtomicU64::new(0);
    let excludes = options.excludes.clone();
    let root_owned = root.to_path_buf();
    walk_builder(start)
        .filter_entry(move |entry| {
            if entry.depth() == 0 {
                return true;
            }
            let name = entry.file_name().to_string_lossy();
            let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
            if is_dir && lang::is_secret_dir(&name) {
                return false;
            }
            !excludes.is_excluded_at(&name, || {
                entry
                    .path()
                    .strip_prefix(&root_owned)
                    .unwrap_or(entry.path())
            })
        })
        .build_parallel()
        .run(|| {
            let found = &found;
            let skipped = &skipped;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return ignore::WalkState::Continue;
                };
                if !entry.file_type().is_some_and(|t| t.is_file()) {
                    return ignore::WalkState::Continue;
                }
                let Some(name) = entry.file_name().to_str() else {
                    return ignore::WalkState::Continue;
                };
                let Some(kind) = lang::file_kind(name) else {
                    return ignore::WalkState::Continue;
                };
                let Some(rel) = relative_str(entry.path(), root) else {
                    return ignore::WalkState::Continue;
                };
                let Ok(meta) = entry.metadata() else {
                    return ignore::WalkState::Continue;
                };
                if lang::is_secret_file(name) || meta.len() > options.max_file_size {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    return ignore::WalkState::Continue;
                }
                let walked = Walked {
                    rel: rel.into(),
                    kind,
                    size: meta.len(),
                    mtime_ns: meta.modified().map(store::to_ns).unwrap_or(0),
                };
                found.lock().unwrap_or_else(|e| e.into_inner()).push(walked);
                ignore::WalkState::Continue
            })
        });
    let mut found = found.into_inner().unwrap_or_else(|e| e.into_inner());
    found.sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    (found, skipped.into_inner())
}

/// `path` relative to `root` as UTF-8. The walker's paths are `root` joined with more
/// components, so a string prefix settles it; parsing both into components cost more than the
/// rest of the per-file work of a no-change sync.
fn relative_str<'p>(path: &'p Path, root: &Path) -> Option<&'p str> {
    let rest = path.to_str()?.strip_prefix(root.to_str()?)?;
    match rest.strip_prefix(std::path::MAIN_SEPARATOR) {
        Some(rel) if !rel.is_empty() => Some(rel),
        _ => path.strip_prefix(root).ok()?.to_str(),
    }
}

/// The walker settings every sync uses: hidden files skipped, `.gitignore` (git or not),
/// `.ignore`, git's excludes and global ignore honoured, symlinks never followed.
fn walk_builder(start: &Path) -> ignore::WalkBuilder {
    let mut builder = ignore::WalkBuilder::new(start);
    builder
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(true)
        .ignore(true)
        .parents(true)
        .require_git(false)
        .follow_links(false);
    builder
}

/// Which files a sync looks at.
pub(super) enum Scope {
    All,
    /// These relative paths (files or folders) and everything below them.
    Paths(Vec<String>),
}

impl Scope {
    pub(super) fn covers(&self, rel: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Paths(paths) => paths.iter().any(|p| {
                rel == p
                    || (rel.starts_with(p.as_str()) && rel.as_bytes().get(p.len()) == Some(&b'/'))
            }),
        }
    }
}

/// Stat facts of just `paths` (a watcher's report), with the same rules as a walk: hidden,
/// ignored, excluded and secret paths are left out; folders are walked. By path, as a walk.
pub(super) fn stat_paths(
    root: &Path,
    paths: &[String],
    options: &SyncOptions,
) -> (Vec<Walked>, u64) {
    let mut matcher = walk_builder(root).build_matchers().into_iter().next();
    let mut found = Vec::new();
    let mut skipped = 0;
    for rel in paths {
        let rel_path = Path::new(rel);
        let clean = rel_path
            .components()
            .all(|c| matches!(c, std::path::Component::Normal(_)));
        if !clean || rel.is_empty() {
            continue;
        }
        let hidden_or_secret = rel_path.components().any(|c| {
            let name = c.as_os_str().to_string_lossy();
            name.starts_with('.') || lang::is_secret_dir(&name)
        });
        if hidden_or_secret || options.excludes.excludes_path(rel_path) {
            continue;
        }
        let abs = root.join(rel_path);
        let Ok(meta) = std::fs::symlink_metadata(&abs) else {
            continue;
        };
        if let Some(m) = matcher.as_mut() {
            let ignored = rel_path
                .ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| m.matched(a, a != rel_path || meta.is_dir()).is_ignore());
            if ignored {
                continue;
            }
        }
        if meta.is_dir() {
            let (more, more_skipped) = walk(root, &abs, options);
            found.extend(more);
            skipped += more_skipped;
            continue;
        }
        if !meta.is_file() {
            continue;
        }
        let Some(name) = rel_path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let Some(kind) = lang::file_kind(name) else {
            continue;
        };
        if lang::is_secret_file(name) || meta.len() > options.max_file_size {
            skipped += 1;
            continue;
        }
        found.push(Walked {
            rel: rel.as_str().into(),
            kind,
            size: meta.len(),
            mtime_ns: meta.modified().map(store::to_ns).unwrap_or(0),
        });
    }
    found.sort_by(|a, b| a.rel.cmp(&b.rel));
    found.dedup_by(|a, b| a.rel == b.rel);
    (found, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sync finds deleted files by halving the walk: a walk out of path order would call
    /// files that are there deleted.
    #[test]
    fn walks_come_back_in_path_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let mut made = Vec::new();
        for d in ["zeta", "alpha", "mid/deeper", "mid", "b"] {
            for f in ["z.py", "a.py", "m_1.py", "m.py"] {
                std::fs::create_dir_all(root.join(d)).unwrap();
                std::fs::write(root.join(d).join(f), "x = 1\n").unwrap();
                made.push(format!("{d}/{f}"));
            }
        }
        made.sort();
        let options = SyncOptions::default();
        let (walked, _) = walk(root, root, &options);
        let rels: Vec<&str> = walked.iter().map(|w| &*w.rel).collect();
        assert_eq!(rels, made);
        assert_eq!(walked[0].path(root), root.join("alpha/a.py"));
        let asked: Vec<String> = ["zeta/a.py", "mid", "alpha/z.py", "zeta/a.py"]
            .map(String::from)
            .to_vec();
        let (stated, _) = stat_paths(root, &asked, &options);
        let rels: Vec<&str> = stated.iter().map(|w| &*w.rel).collect();
        let mut want: Vec<&str> = made
            .iter()
            .map(String::as_str)
            .filter(|p| p.starts_with("mid/") || *p == "zeta/a.py" || *p == "alpha/z.py")
            .collect();
        want.sort();
        assert_eq!(rels, want);
    }

    #[test]
    fn relative_paths_by_prefix_match_strip_prefix() {
        let cases = [
            ("/r/repo", "/r/repo/src/main.rs", Some("src/main.rs")),
            ("/r/repo", "/r/repo/a.py", Some("a.py")),
            ("/r/repo", "/r/repository/a.py", None),
            ("/", "/etc/x.py", Some("etc/x.py")),
            ("/r/repo", "/r/repo", Some("")),
        ];
        for (root, path, want) in cases {
            let got = relative_str(Path::new(path), Path::new(root));
            assert_eq!(got, want, "{path} under {root}");
            let by_components = Path::new(path)
                .strip_prefix(root)
                .ok()
                .and_then(|p| p.to_str());
            assert_eq!(got, by_components, "{path} under {root}");
        }
    }
}
