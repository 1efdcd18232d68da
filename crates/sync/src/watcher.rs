//! File watching: one recursive watch per repository root, events debounced and grouped into
//! per-repository path sets for incremental syncs of just those files.

use notify::{EventKind, RecursiveMode};
use notify_debouncer_full::{new_debouncer, DebounceEventResult, Debouncer, RecommendedCache};
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc::UnboundedSender;

/// How long events settle before a batch is delivered: short enough that an edit is
/// searchable well within a second, long enough that an editor's save dance is one event.
pub const DEBOUNCE: Duration = Duration::from_millis(200);

/// Changed paths (relative to the root) of one repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchBatch {
    /// The repository the events are about.
    pub repo_id: i64,
    /// Changed paths, relative to its root.
    pub paths: BTreeSet<String>,
    /// Raw events behind the batch, for metrics.
    pub events: u64,
    /// Events were lost (the kernel's event queue overflowed): the whole repository must be
    /// re-checked, not just `paths`.
    pub rescan: bool,
}

/// Why a repository cannot be watched.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// The OS limit on watches is reached: fall back to periodic re-checks.
    #[error("the OS file-watch limit is reached")]
    LimitReached,
    /// Any other watcher error.
    #[error("cannot watch: {0}")]
    Other(String),
}

type Roots = Arc<Mutex<Vec<(PathBuf, i64)>>>;

/// Watches repository roots and sends [`WatchBatch`]es.
pub struct RepoWatcher {
    debouncer: Debouncer<notify::RecommendedWatcher, RecommendedCache>,
    roots: Roots,
}

impl RepoWatcher {
    /// A watcher that sends its batches to `sender`.
    pub fn new(sender: UnboundedSender<WatchBatch>) -> Result<Self, WatchError> {
        let roots: Roots = Arc::default();
        let lookup = roots.clone();
        let handler = move |result: DebounceEventResult| match result {
            Ok(events) => {
                let roots = lookup.lock().unwrap_or_else(|e| e.into_inner()).clone();
                for batch in group(
                    &roots,
                    events.iter().map(|e| (&e.event.kind, &e.event.paths)),
                ) {
                    let _ = sender.send(batch);
                }
            }
            Err(errors) => {
                for error in errors {
                    tracing::warn!(%error, "file watcher error");
                }
            }
        };
        let debouncer = new_debouncer(DEBOUNCE, None, handler).map_err(classify)?;
        Ok(RepoWatcher { debouncer, roots })
    }

    /// Starts watching a repository root (recursively: one watch per root, never per folder
    /// from our side).
    pub fn watch(&mut self, repo_id: i64, root: &Path) -> Result<(), WatchError> {
        self.debouncer
            .watch(root, RecursiveMode::Recursive)
            .map_err(classify)?;
        let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
        roots.retain(|(_, id)| *id != repo_id);
        roots.push((root.to_path_buf(), repo_id));
        // Longest root first, so a nested repository wins over its parent.
        roots.sort_by_key(|(p, _)| std::cmp::Reverse(p.as_os_str().len()));
        Ok(())
    }

    /// Stops watching `repo_id`.
    pub fn unwatch(&mut self, repo_id: i64) {
        let mut roots = self.roots.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pos) = roots.iter().position(|(_, id)| *id == repo_id) {
            let (root, _) = roots.remove(pos);
            let _ = self.debouncer.unwatch(&root);
        }
    }

    /// Whether `repo_id` is watched.
    pub fn is_watching(&self, repo_id: i64) -> bool {
        self.roots
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .any(|(_, id)| *id == repo_id)
    }
}

fn classify(error: notify::Error) -> WatchError {
    let limit = matches!(error.kind, notify::ErrorKind::MaxFilesWatch)
        || matches!(&error.kind, notify::ErrorKind::Io(e) if e.raw_os_error() == Some(28));
    if limit {
        WatchError::LimitReached
    } else {
        WatchError::Other(error.to_string())
    }
}

/// Groups event paths by repository, dropping access events and paths no sync would index
/// (hidden folders such as `.git` internals); ignore rules are applied by the sync itself.
fn group<'a>(
    roots: &[(PathBuf, i64)],
    events: impl Iterator<Item = (&'a EventKind, &'a Vec<PathBuf>)>,
) -> Vec<WatchBatch> {
    let mut by_repo: HashMap<i64, WatchBatch> = HashMap::new();
    for (kind, paths) in events {
        if matches!(kind, EventKind::Access(_)) {
            continue;
        }
        for path in paths {
            let Some((root, id)) = roots.iter().find(|(root, _)| path.starts_with(root)) else {
                continue;
            };
            let Ok(rel) = path.strip_prefix(root) else {
                continue;
            };
            let hidden = rel
                .components()
                .any(|c| c.as_os_str().to_string_lossy().starts_with('.'));
            let Some(rel) = rel.to_str().filter(|r| !r.is_empty() && !hidden) else {
                continue;
            };
            let batch = by_repo.entry(*id).or_insert_with(|| WatchBatch {
                repo_id: *id,
                paths: BTreeSet::new(),
                events: 0,
                rescan: false,
            });
            batch.paths.insert(rel.to_string());
            batch.events += 1;
        }
    }
    let mut batches: Vec<WatchBatch> = by_repo.into_values().collect();
    batches.sort_by_key(|b| b.repo_id);
    batches
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, ModifyKind};

    #[test]
    fn events_group_by_innermost_repository() {
        let roots = vec![
            (PathBuf::from("/r/outer/inner"), 2),
            (PathBuf::from("/r/outer"), 1),
        ];
        let create = EventKind::Create(CreateKind::File);
        let modify = EventKind::Modify(ModifyKind::Any);
        let access = EventKind::Access(AccessKind::Any);
        let a = vec![
            PathBuf::from("/r/outer/src/a.py"),
            PathBuf::from("/r/outer/inner/b.py"),
        ];
        let b = vec![
            PathBuf::from("/r/outer/.git/index"),
            PathBuf::from("/elsewhere/x.py"),
        ];
        let c = vec![PathBuf::from("/r/outer/src/read-only.py")];
        let got = group(
            &roots,
            [(&create, &a), (&modify, &b), (&access, &c)].into_iter(),
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].paths, ["src/a.py".to_string()].into());
        assert_eq!(got[1].paths, ["b.py".to_string()].into());
    }
}
