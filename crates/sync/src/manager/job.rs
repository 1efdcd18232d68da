//! One sync job on a blocking thread: the whole repository, or just the paths a watcher saw,
//! through [`SyncNow`] like every other sync.

use super::shared::Shared;
use crate::queue::{Job, JobKind};
use crate::sync_now::{SyncNow, SyncNowError};
use codeintel_index::SyncResult;
use std::sync::atomic::AtomicBool;

pub(super) fn run(
    shared: &Shared,
    job: &Job,
    cancel: &AtomicBool,
) -> Result<SyncResult, SyncNowError> {
    #[cfg(debug_assertions)]
    if let Some(error) = injected_failure(&job.name) {
        let _ = shared.store.record_sync(job.repo_id, None, Some(&error));
        return Err(
            codeintel_index::SyncError::Store(codeintel_index::StoreError::Unavailable(error))
                .into(),
        );
    }
    #[cfg(debug_assertions)]
    let held = AtomicBool::new(false);
    let progress = |p: codeintel_index::SyncProgress| {
        let (done, total) = match p {
            codeintel_index::SyncProgress::Walked { to_read, .. } => (0, to_read),
            codeintel_index::SyncProgress::Read { done, to_read }
            | codeintel_index::SyncProgress::Committed { done, to_read } => (done, to_read),
        };
        shared.set_progress(job.repo_id, |a| {
            a.done = a.done.max(done);
            a.total = total;
        });
        // After the progress is set: held before it, a first batch that came in sooner than
        // the first progress report held a sync that still showed nothing done.
        #[cfg(debug_assertions)]
        hold_after_a_batch(&job.name, p, &held);
    };
    let sync = SyncNow::new(&shared.store, &shared.config().exclude)?
        .with_cancel(cancel)
        .with_progress(&progress)
        .skip_if_busy();
    Ok(match &job.kind {
        JobKind::Sync => sync.run(&job.path, Some(&job.name))?,
        JobKind::Paths(paths) => {
            let paths: Vec<String> = paths.iter().cloned().collect();
            sync.run_paths(&job.path, &paths)?
        }
    })
}

/// Test hook, in debug builds only: `CODEINTEL_TEST_FAIL_REPOS=name,...` makes syncs of those
/// repositories fail, so retries and error reporting can be tested on real processes.
#[cfg(debug_assertions)]
fn injected_failure(name: &str) -> Option<String> {
    let names = std::env::var("CODEINTEL_TEST_FAIL_REPOS").ok()?;
    names
        .split(',')
        .any(|n| n.trim() == name)
        .then(|| format!("injected failure for {name} (CODEINTEL_TEST_FAIL_REPOS)"))
}

/// Test hook, in debug builds only: `CODEINTEL_TEST_HOLD_SYNC=name` holds that repository's
/// sync for 3 s once its first batch short of the last is committed (the writer waits, the
/// parsers wait for it), so a test sees the sync half done however fast the store is.
#[cfg(debug_assertions)]
fn hold_after_a_batch(name: &str, progress: codeintel_index::SyncProgress, held: &AtomicBool) {
    use std::sync::atomic::Ordering;
    let codeintel_index::SyncProgress::Committed { done, to_read } = progress else {
        return;
    };
    let named = std::env::var("CODEINTEL_TEST_HOLD_SYNC").is_ok_and(|n| n == name);
    if named && done < to_read && !held.swap(true, Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
}
