//! The AutoSyncManager: the control handle of the auto-sync service, and the jobs behind it,
//! one module each.
//!
//! Any number of processes may build a manager over one data directory; the one holding the
//! right to sync ([`supervisor`]) runs the [`scheduler`] (scans, syncs, watches, background
//! embedding), the others only answer from the store and pass requests (pause, resume, scan,
//! configure) through it ([`state`]: the typed protocol over the store's `state` table). Timers
//! compare wall-clock times kept in the store on a short tick, so a laptop waking from suspend,
//! a restart or a clock jump re-checks on time instead of sleeping through it; the rules are
//! pure functions in [`policy`].
//!
//! - [`policy`]: when scans and re-checks are due, backoff, what a finished sync leaves behind;
//! - [`state`]: what processes share through the store, one typed accessor per key;
//! - [`supervisor`]: which process syncs ([`Coordination`]; the file lock is the first kind);
//! - [`scheduler`]: the loop of the syncing process; [`job`]: one sync job;
//! - [`scan`]: discovery and its bookkeeping; [`embedding`]: the embedding worker's passes;
//! - [`shared`]: what the handle and the loop of one process share, and the status.

mod embedding;
mod job;
pub mod policy;
mod scan;
mod scheduler;
mod shared;
mod state;
mod supervisor;

pub use policy::{MISSING_GRACE, RETRY_BASE, RETRY_MAX};
pub use scan::forget_removal;
pub use supervisor::{Coordination, FileLock, Held};

use crate::config::{AutoSyncConfig, ConfigError, ConfigUpdate};
use crate::status::Status;
use codeintel_embed::EmbedderSlot;
use codeintel_index::{IndexStore, StoreError};
use shared::{now_ms, Control, Shared};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Errors of the manager's control operations.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    /// A configuration value that cannot be used.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A repository the request names that the index does not hold.
    #[error("{0}")]
    NotFound(String),
    /// An exclude pattern that does not compile: discovery cannot start.
    #[error(transparent)]
    Exclude(#[from] codeintel_discovery::ExcludeError),
}

pub type Result<T, E = ManagerError> = std::result::Result<T, E>;

/// What `remove_repository` dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemovedRepository {
    /// Its name.
    pub repository: String,
    /// Its folder.
    pub path: String,
    /// Files it had indexed.
    pub files: u64,
    /// Chunks it had indexed.
    pub chunks: u64,
}

/// What a scan request returns: the queue and its neighbours right after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanCounts {
    /// Repositories waiting for a sync.
    pub queued: u64,
    /// Syncs running.
    pub active: u64,
    /// Repositories synced.
    pub synced: u64,
}

/// The auto-sync service of one process. Cheap to share: clone the `Arc` it lives in.
pub struct AutoSyncManager {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl AutoSyncManager {
    /// A manager over `store` (in `data_dir`) with `base` configuration (flags, environment,
    /// env file), over which overrides persisted by earlier `configure` calls are applied.
    pub fn new(store: Arc<IndexStore>, data_dir: PathBuf, base: AutoSyncConfig) -> Result<Self> {
        Self::with_embedder(store, data_dir, base, Arc::new(EmbedderSlot::fixed(None)))
    }

    /// A manager that also embeds chunks in the background (after their lexical index is
    /// committed, when no sync is waiting), so semantic results fill in without slowing syncs.
    pub fn with_embedder(
        store: Arc<IndexStore>,
        data_dir: PathBuf,
        base: AutoSyncConfig,
        embedder: Arc<EmbedderSlot>,
    ) -> Result<Self> {
        let coordination = Box::new(FileLock::new(data_dir));
        Self::with_coordination(store, coordination, base, embedder)
    }

    /// A manager whose processes agree on the syncer through `coordination`.
    pub fn with_coordination(
        store: Arc<IndexStore>,
        coordination: Box<dyn Coordination>,
        base: AutoSyncConfig,
        embedder: Arc<EmbedderSlot>,
    ) -> Result<Self> {
        let stored = state::StoredState::new(&store);
        let config = match base.apply(&stored.overrides()?) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(%e, "ignoring invalid persisted auto-sync overrides");
                base.clone()
            }
        };
        let worker = coordination.worker();
        let metrics = stored.metrics(&worker)?;
        let mut activity = stored.activity(&worker)?;
        // Only the error log and the durations outlive a syncer; what ran is gone.
        activity.syncing.clear();
        activity.queue.clear();
        let (control, control_rx) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        Ok(AutoSyncManager {
            shared: Arc::new(Shared {
                store,
                coordination,
                worker,
                base,
                config: RwLock::new(config),
                control,
                control_rx: Mutex::new(Some(control_rx)),
                shutdown,
                metrics: Mutex::new(metrics),
                syncing_here: AtomicBool::new(false),
                embedder,
                embed_wanted: Mutex::new(None),
                embed_error: Mutex::new(None),
                ignore_pause: AtomicBool::new(false),
                activity: Mutex::new(activity),
                progress: Mutex::new(Default::default()),
                activity_written: Mutex::new((String::new(), None)),
                states_dirty: AtomicBool::new(true),
                #[cfg(debug_assertions)]
                injected_panic: AtomicBool::new(false),
                #[cfg(debug_assertions)]
                injected_away: AtomicBool::new(false),
            }),
            task: Mutex::new(None),
        })
    }

    /// Starts the background work on the current tokio runtime: wait for the sync lock, then run
    /// the loop. Returns at once.
    pub fn start(&self) {
        let mut task = self.task.lock().unwrap_or_else(|e| e.into_inner());
        if task.is_some() {
            return;
        }
        let Some(control_rx) = self
            .shared
            .control_rx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        else {
            return;
        };
        let shared = self.shared.clone();
        *task = Some(tokio::spawn(supervisor::supervise(shared, control_rx)));
    }

    fn wake(&self) {
        let _ = self.shared.control.send(Control::Wake);
    }

    /// Drops a repository's index (files, chunks, symbols, vectors, state) and keeps scans
    /// from adding it back while it stays under a scan path; indexing it by hand again
    /// ([`forget_removal`]) undoes that.
    pub fn remove_repository(&self, name_or_path: &str) -> Result<RemovedRepository> {
        let store = &self.shared.store;
        let record = store.find_repository(name_or_path)?.ok_or_else(|| {
            ManagerError::NotFound(format!(
                "no indexed repository named or at `{name_or_path}`"
            ))
        })?;
        let counts = store.repository_info(record.id)?;
        let path = record.path.display().to_string();
        scan::record_removal(store, &path)?;
        store.remove_repository(record.id)?;
        self.wake();
        Ok(RemovedRepository {
            repository: record.name,
            path,
            files: counts.as_ref().map_or(0, |c| c.files),
            chunks: counts.as_ref().map_or(0, |c| c.chunks),
        })
    }

    /// Lets scans find `path` again after a removal (a person indexed it by hand). Returns
    /// whether it had been removed.
    pub fn forget_removal(&self, path: &Path) -> Result<bool> {
        forget_removal(&self.shared.store, path)
    }

    /// Makes this process sync its queue even while auto-sync is paused (the stored pause
    /// stays as it is for every other process), for a manual scan run in the foreground.
    pub fn ignore_pause(&self) {
        self.shared.ignore_pause.store(true, Ordering::SeqCst);
    }

    /// Stops gracefully: running syncs stop at their next batch boundary and are queued again
    /// for the next start; state is saved.
    pub async fn stop(&self) {
        let _ = self.shared.shutdown.send(true);
        let task = self.task.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }

    /// The configuration in effect (base and overrides).
    pub fn config(&self) -> AutoSyncConfig {
        self.shared.config()
    }

    /// Validates and applies a change, persists it for restarts and other processes, and
    /// wakes the loop (a change of paths or excludes triggers a scan).
    pub fn configure(&self, update: &ConfigUpdate) -> Result<AutoSyncConfig> {
        let stored = self.shared.stored();
        let next = self.shared.config().apply(update)?;
        stored.set_overrides(&stored.overrides()?.merged(update))?;
        self.shared.set_config(next.clone());
        if update.scan_paths.is_some() || update.exclude_patterns.is_some() {
            stored.request_scan(now_ms())?;
        }
        self.wake();
        Ok(next)
    }

    /// Scans now (whatever `enabled` and `paused` say) and returns the queue counts after.
    /// In a process without the sync lock the request goes through the store to the syncer.
    pub async fn trigger_scan(&self) -> Result<ScanCounts> {
        if self.shared.syncing_here.load(Ordering::SeqCst) {
            let (reply, answer) = tokio::sync::oneshot::channel();
            if self.shared.control.send(Control::Scan(reply)).is_ok() {
                if let Ok(counts) = answer.await {
                    return Ok(counts);
                }
            }
        }
        self.shared.stored().request_scan(now_ms())?;
        // Give a syncer elsewhere a moment to pick it up, so the counts mean something.
        tokio::time::sleep(scheduler::TICK * 3).await;
        let status = self.status()?;
        Ok(ScanCounts {
            queued: status.queued_repos,
            active: status.active_syncs,
            synced: status.synced_repos,
        })
    }

    /// Stops starting new syncs (running ones stop at their next batch boundary and stay
    /// queued). Persisted: every process sees it, and it survives restarts.
    pub fn pause(&self) -> Result<()> {
        self.shared.stored().set_paused(true)?;
        self.wake();
        Ok(())
    }

    /// Continues with the same queue.
    pub fn resume(&self) -> Result<()> {
        self.shared.stored().set_paused(false)?;
        self.wake();
        Ok(())
    }

    /// The status, from the store: true in every process, whichever one syncs.
    pub fn status(&self) -> Result<Status> {
        self.shared.status()
    }

    /// What the syncer is doing now (running syncs with progress, the queue, the next scan)
    /// and its last errors, from the store: the same in every process.
    pub fn activity(&self) -> Result<crate::activity::Activity> {
        self.shared.activity()
    }

    /// The status and the activity for `/metrics`, cheap at any number of repositories: the
    /// counts by state come from the syncer's activity (the status's repository list is then
    /// empty), or, without a syncer, from a listing without file and chunk counts.
    pub fn summary(&self) -> Result<(Status, crate::activity::Activity)> {
        self.shared.summary()
    }

    /// Whether this process runs the loop.
    pub fn is_syncer(&self) -> bool {
        self.shared.syncing_here.load(Ordering::SeqCst)
    }

    /// Records that the configured embedding `model` could not be loaded (a broken model, an
    /// unreachable provider): the service runs lexical-only and the status says why.
    pub fn set_embedding_unavailable(&self, model: &str, error: &str) {
        *self
            .shared
            .embed_wanted
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(model.to_string());
        self.shared.set_embed_error(Some(error.to_string()));
    }

    /// Records how the download of the local model is going, for every process's status.
    pub fn set_model_install(&self, state: &str) {
        if let Err(e) = self.shared.stored().set_model_install(state) {
            tracing::warn!(%e, "cannot save the model download state");
        }
    }

    /// The embedder arrived after the start (the model finished installing): the error goes,
    /// and the background worker embeds what is pending at its next idle moment.
    pub fn embedder_arrived(&self) {
        self.shared.set_embed_error(None);
        self.shared.publish_config();
        let _ = self.shared.control.send(Control::EmbedderReady);
    }

    /// Why embeddings fail in this process or in the syncer, if they do.
    pub fn embedding_error(&self) -> Option<String> {
        self.shared.embed_error()
    }
}
