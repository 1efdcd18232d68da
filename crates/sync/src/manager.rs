//! The AutoSyncManager: the scan loop, the queue and its workers, the watcher, and the state
//! they share through the store.
//!
//! Any number of processes may build a manager over one data directory; the one holding the
//! sync lock runs the loop (scans, syncs, watches), the others only answer from the store and
//! pass requests (pause, resume, scan, configure) through it. Timers compare wall-clock times
//! kept in the store on a one-second tick, so a laptop waking from suspend, a restart or a clock
//! jump re-checks on time instead of sleeping through it.

use crate::config::{AutoSyncConfig, ConfigError, ConfigUpdate};
use crate::lock::SyncLock;
use crate::queue::{Job, JobKind, Priority, SyncQueue};
use crate::status::{Metrics, RepositoryStatus, Status, StatusConfig};
use crate::watcher::{RepoWatcher, WatchBatch, WatchError};
use codeintel_discovery::{Discovery, DiscoveryOptions};
use codeintel_index::embed::EmbedderSlot;
use codeintel_index::{
    IndexStore, RepositoryInfo, RepositorySync, StoreError, SyncError, SyncOptions, SyncResult,
};
use std::cmp::Reverse;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

const KEY_PAUSED: &str = "autosync.paused";
const KEY_LAST_SCAN: &str = "autosync.last_scan_ms";
const KEY_OVERRIDES: &str = "autosync.overrides";
const KEY_SCAN_REQUEST: &str = "autosync.scan_requested_ms";
const KEY_METRICS: &str = "autosync.metrics";
/// The embedding model of the syncer, for status from other processes.
const KEY_EMBED_MODEL: &str = "autosync.embed_model";
/// Why the syncer's embeddings fail ("" when they do not), for status from other processes.
const KEY_EMBED_ERROR: &str = "autosync.embed_error";
/// The syncer's effective configuration, for status from other processes.
const KEY_EFFECTIVE: &str = "autosync.effective";
/// Paths of repositories removed by a person: scans leave them out until they are indexed
/// again by hand (a JSON array of paths).
const KEY_REMOVED: &str = "autosync.removed";
/// How the download of the local model is going (`downloading 37%`, `installed`, or why it
/// failed), for the status of every process.
const KEY_MODEL_INSTALL: &str = "autosync.model_install";

/// First retry delay after a failed sync; doubles per failure up to [`RETRY_MAX`].
pub const RETRY_BASE: Duration = Duration::from_secs(300);
pub const RETRY_MAX: Duration = Duration::from_secs(3600);
/// A repository that vanished from discovery keeps its index this long (it may be on a
/// drive that is not mounted right now).
pub const MISSING_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// How often the loop looks at its clocks and at requests from other processes.
const TICK: Duration = Duration::from_millis(250);
/// How often a process without the lock tries to take it.
const LOCK_RETRY: Duration = Duration::from_millis(500);
/// How long an embedding pass that found nothing waits before looking again (new chunks from
/// a sync wake it sooner).
const EMBED_IDLE_RECHECK: Duration = Duration::from_secs(60);
/// A watcher batch this large is a burst (a checkout, a build): events may have been lost.
const BURST_PATHS: usize = 200;
/// Quiet time after a burst before the repository is walked once more.
const BURST_SETTLE: Duration = Duration::from_secs(2);
/// A first sync must index more than this share of files for the repository to be watched.
const WATCH_MIN_SUCCESS: f64 = 90.0;

/// Errors of the manager's control operations.
#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Other(String),
}

pub type Result<T, E = ManagerError> = std::result::Result<T, E>;

/// What `remove_repository` dropped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemovedRepository {
    pub repository: String,
    pub path: String,
    pub files: u64,
    pub chunks: u64,
}

/// What a scan request returns: the queue and its neighbours right after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScanCounts {
    pub queued: u64,
    pub active: u64,
    pub synced: u64,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn rfc3339_ms(ms: i64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
        .to_string()
}

/// Requests to the syncing loop of this process.
enum Control {
    Scan(tokio::sync::oneshot::Sender<ScanCounts>),
    Wake,
}

struct Shared {
    store: Arc<IndexStore>,
    data_dir: PathBuf,
    base: AutoSyncConfig,
    config: RwLock<AutoSyncConfig>,
    control: mpsc::UnboundedSender<Control>,
    control_rx: Mutex<Option<mpsc::UnboundedReceiver<Control>>>,
    shutdown: watch::Sender<bool>,
    metrics: Mutex<Metrics>,
    /// This process holds the sync lock and runs the loop.
    syncing_here: AtomicBool,
    /// Computes chunk vectors in the background when it holds an embedder (or gets one: a
    /// provider down at start is retried).
    embedder: Arc<EmbedderSlot>,
    /// The configured model when it could not be loaded (no embedder), for status.
    embed_wanted: Mutex<Option<String>>,
    /// Why embedding fails: the model did not load, or the last pass failed (cleared by a pass
    /// that succeeds).
    embed_error: Mutex<Option<String>>,
    /// A manual foreground scan (`auto-sync-scan` without a server) syncs what it queued even
    /// while auto-sync is paused: the person asked for it.
    ignore_pause: AtomicBool,
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
        let overrides = load_overrides(&store)?;
        let config = match base.apply(&overrides) {
            Ok(config) => config,
            Err(e) => {
                tracing::warn!(%e, "ignoring invalid persisted auto-sync overrides");
                base.clone()
            }
        };
        let metrics = store
            .state(KEY_METRICS)?
            .and_then(|m| serde_json::from_str(&m).ok())
            .unwrap_or_default();
        let (control, control_rx) = mpsc::unbounded_channel();
        let (shutdown, _) = watch::channel(false);
        Ok(AutoSyncManager {
            shared: Arc::new(Shared {
                store,
                data_dir,
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
        *task = Some(tokio::spawn(supervise(shared, control_rx)));
    }

    /// Drops a repository's index (files, chunks, symbols, vectors, state) and keeps scans
    /// from adding it back while it stays under a scan path; indexing it by hand again
    /// ([`AutoSyncManager::forget_removal`]) undoes that.
    pub fn remove_repository(&self, name_or_path: &str) -> Result<RemovedRepository> {
        let store = &self.shared.store;
        let record = store.find_repository(name_or_path)?.ok_or_else(|| {
            ManagerError::Other(format!(
                "no indexed repository named or at `{name_or_path}`"
            ))
        })?;
        let counts = store
            .repositories()?
            .into_iter()
            .find(|r| r.record.id == record.id);
        let mut removed = removed_paths(store)?;
        let path = record.path.display().to_string();
        if !removed.contains(&path) {
            removed.push(path.clone());
            store.set_state(
                KEY_REMOVED,
                &serde_json::to_string(&removed).unwrap_or_default(),
            )?;
        }
        store.remove_repository(record.id)?;
        let _ = self.shared.control.send(Control::Wake);
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

    pub fn config(&self) -> AutoSyncConfig {
        self.shared.config()
    }

    /// Validates and applies a change, persists it for restarts and other processes, and
    /// wakes the loop (a change of paths or excludes triggers a scan).
    pub fn configure(&self, update: &ConfigUpdate) -> Result<AutoSyncConfig> {
        let current = self.shared.config();
        let next = current.apply(update)?;
        let overrides = load_overrides(&self.shared.store)?.merged(update);
        self.shared.store.set_state(
            KEY_OVERRIDES,
            &serde_json::to_string(&overrides).unwrap_or_default(),
        )?;
        *self
            .shared
            .config
            .write()
            .unwrap_or_else(|e| e.into_inner()) = next.clone();
        if update.scan_paths.is_some() || update.exclude_patterns.is_some() {
            self.request_scan_in_store()?;
        }
        let _ = self.shared.control.send(Control::Wake);
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
        self.request_scan_in_store()?;
        // Give a syncer elsewhere a moment to pick it up, so the counts mean something.
        tokio::time::sleep(TICK * 3).await;
        let status = self.status()?;
        Ok(ScanCounts {
            queued: status.queued_repos,
            active: status.active_syncs,
            synced: status.synced_repos,
        })
    }

    fn request_scan_in_store(&self) -> Result<()> {
        self.shared
            .store
            .set_state(KEY_SCAN_REQUEST, &now_ms().to_string())?;
        Ok(())
    }

    /// Stops starting new syncs (running ones stop at their next batch boundary and stay
    /// queued). Persisted: every process sees it, and it survives restarts.
    pub fn pause(&self) -> Result<()> {
        self.shared.store.set_state(KEY_PAUSED, "true")?;
        let _ = self.shared.control.send(Control::Wake);
        Ok(())
    }

    /// Continues with the same queue.
    pub fn resume(&self) -> Result<()> {
        self.shared.store.set_state(KEY_PAUSED, "false")?;
        let _ = self.shared.control.send(Control::Wake);
        Ok(())
    }

    /// The status, from the store: true in every process, whichever one syncs.
    pub fn status(&self) -> Result<Status> {
        self.shared.status()
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
        if let Err(e) = self.shared.store.set_state(KEY_MODEL_INSTALL, state) {
            tracing::warn!(%e, "cannot save the model download state");
        }
    }

    /// The embedder arrived after the start (the model finished installing): the error goes,
    /// and the background worker embeds what is pending at its next idle moment.
    pub fn embedder_arrived(&self) {
        self.shared.set_embed_error(None);
        self.shared.publish_config();
        let _ = self.shared.control.send(Control::Wake);
    }

    /// Why embeddings fail in this process or in the syncer, if they do.
    pub fn embedding_error(&self) -> Option<String> {
        self.shared.embed_error()
    }
}

impl Shared {
    fn config(&self) -> AutoSyncConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn paused(&self) -> bool {
        matches!(self.store.state(KEY_PAUSED), Ok(Some(v)) if v == "true")
    }

    fn status_config(&self) -> (bool, StatusConfig) {
        let config = self.config();
        let status_config = StatusConfig {
            scan_interval: config.scan_interval.as_secs(),
            sync_interval: config.sync_interval.as_secs(),
            max_concurrent: config.max_concurrent,
            scan_paths: config
                .paths
                .iter()
                .map(|p| p.display().to_string())
                .collect(),
            exclude_patterns: config.exclude.clone(),
            priority_languages: config
                .priority_languages
                .iter()
                .map(|l| l.name().to_string())
                .collect(),
            size_threshold: config.size_threshold,
            auto_watch: config.auto_watch,
            removed_repositories: removed_paths(&self.store).unwrap_or_default(),
        };
        (config.enabled, status_config)
    }

    fn set_embed_error(&self, error: Option<String>) {
        let mut slot = self.embed_error.lock().unwrap_or_else(|e| e.into_inner());
        if *slot == error {
            return;
        }
        slot.clone_from(&error);
        drop(slot);
        if self.syncing_here.load(Ordering::SeqCst) {
            if let Err(e) = self
                .store
                .set_state(KEY_EMBED_ERROR, error.as_deref().unwrap_or(""))
            {
                tracing::warn!(%e, "cannot publish the embedding error");
            }
        }
    }

    /// This process's embedding error, else (when another process syncs) the syncer's.
    fn embed_error(&self) -> Option<String> {
        let local = self
            .embed_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if local.is_some() || self.syncing_here.load(Ordering::SeqCst) {
            return local;
        }
        SyncLock::holder(&self.data_dir)?;
        self.store
            .state(KEY_EMBED_ERROR)
            .ok()
            .flatten()
            .filter(|e| !e.is_empty())
    }

    /// The model embeddings are (or would be) computed with.
    fn embed_model(&self) -> Option<String> {
        match self.embedder.get() {
            Some(e) => Some(e.model_id().to_string()),
            None => self
                .embed_wanted
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone(),
        }
    }

    /// Publishes this syncer's configuration for the status other processes report.
    fn publish_config(&self) {
        let (enabled, config) = self.status_config();
        let json = serde_json::json!({ "enabled": enabled, "config": config }).to_string();
        if let Err(e) = self.store.set_state(KEY_EFFECTIVE, &json) {
            tracing::warn!(%e, "cannot publish the auto-sync configuration");
        }
        let model = self.embed_model().unwrap_or_default();
        if let Err(e) = self.store.set_state(KEY_EMBED_MODEL, &model) {
            tracing::warn!(%e, "cannot publish the embedding model");
        }
        let error = self
            .embed_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or_default();
        if let Err(e) = self.store.set_state(KEY_EMBED_ERROR, &error) {
            tracing::warn!(%e, "cannot publish the embedding error");
        }
    }

    fn status(&self) -> Result<Status> {
        let syncer_pid = SyncLock::holder(&self.data_dir);
        let here = self.syncing_here.load(Ordering::SeqCst);
        // Another process syncs: report the configuration it runs with, not this one's.
        let published = (syncer_pid.is_some() && !here)
            .then(|| self.store.state(KEY_EFFECTIVE).ok().flatten())
            .flatten()
            .and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok())
            .and_then(|v| {
                let enabled = v.get("enabled")?.as_bool()?;
                let config = serde_json::from_value(v.get("config")?.clone()).ok()?;
                Some((enabled, config))
            });
        let (enabled, status_config) = published.unwrap_or_else(|| self.status_config());
        let repos = self.store.repositories()?;
        let count = |state: &str| repos.iter().filter(|r| r.sync.state == state).count() as u64;
        let last_scan = self
            .store
            .state(KEY_LAST_SCAN)?
            .and_then(|v| v.parse::<i64>().ok())
            .map(rfc3339_ms);
        let metrics = if here {
            self.metrics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        } else {
            self.store
                .state(KEY_METRICS)?
                .and_then(|m| serde_json::from_str(&m).ok())
                .unwrap_or_default()
        };
        // The model of this process, else the one the syncer published.
        let model = match self.embed_model() {
            Some(model) => Some(model),
            None => self.store.state(KEY_EMBED_MODEL)?.filter(|m| !m.is_empty()),
        };
        let embeddings = match model {
            Some(model) => Some(crate::status::EmbeddingStatus {
                embedded: self.store.embedded_chunks(Some(&model), None)?,
                pending: self.store.chunks_to_embed(&model, None)?,
                model,
                error: self.embed_error(),
                install: self
                    .store
                    .state(KEY_MODEL_INSTALL)?
                    .filter(|s| !s.is_empty()),
            }),
            None => None,
        };
        Ok(Status {
            embeddings,
            enabled,
            running: syncer_pid.is_some(),
            last_scan,
            queued_repos: count("queued") + count("new"),
            active_syncs: count("syncing"),
            synced_repos: count("synced"),
            config: status_config,
            paused: self.paused(),
            syncer_pid,
            repositories: repos.iter().map(repository_status).collect(),
            metrics,
        })
    }

    fn save_metrics(&self) {
        let json = {
            let metrics = self.metrics.lock().unwrap_or_else(|e| e.into_inner());
            serde_json::to_string(&*metrics).unwrap_or_default()
        };
        if let Err(e) = self.store.set_state(KEY_METRICS, &json) {
            tracing::warn!(%e, "cannot save auto-sync metrics");
        }
    }

    fn metrics(&self, f: impl FnOnce(&mut Metrics)) {
        f(&mut self.metrics.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

fn load_overrides(store: &IndexStore) -> Result<ConfigUpdate> {
    Ok(store
        .state(KEY_OVERRIDES)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

fn repository_status(r: &RepositoryInfo) -> RepositoryStatus {
    let ms = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    };
    RepositoryStatus {
        path: r.record.path.display().to_string(),
        name: r.record.name.clone(),
        state: r.sync.state.clone(),
        language: r.record.language.clone(),
        files: r.files,
        chunks: r.chunks,
        last_sync: r.last_sync.map(|t| rfc3339_ms(ms(t))),
        watched: r.sync.watch == "watching",
        watch: r.sync.watch.clone(),
        last_error: r.last_error.clone(),
        failures: r.sync.failures,
        next_retry: r.sync.next_retry_ms.map(rfc3339_ms),
        size: r.sync.size,
    }
}

/// Waits for the sync lock (or shutdown), then runs the loop while holding it.
async fn supervise(shared: Arc<Shared>, mut control: mpsc::UnboundedReceiver<Control>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        match SyncLock::try_acquire(&shared.data_dir) {
            Ok(Some(lock)) => {
                tracing::info!(lock = %lock.path().display(), "this process runs auto-sync");
                shared.syncing_here.store(true, Ordering::SeqCst);
                Syncer::new(shared.clone())
                    .run(&mut control, &mut shutdown)
                    .await;
                shared.syncing_here.store(false, Ordering::SeqCst);
                shared.save_metrics();
                drop(lock);
                return;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(%e, "cannot open the sync lock"),
        }
        // Another process syncs; answer scan requests from here with store counts.
        tokio::select! {
            _ = shutdown.changed() => return,
            Some(msg) = control.recv() => {
                if let Control::Scan(reply) = msg {
                    let _ = reply.send(ScanCounts { queued: 0, active: 0, synced: 0 });
                }
            }
            _ = tokio::time::sleep(LOCK_RETRY) => {}
        }
    }
}

/// One finished job.
struct Done {
    repo_id: i64,
    result: Result<SyncResult, SyncError>,
    kind: JobKind,
}

struct Active {
    cancel: Arc<AtomicBool>,
}

/// The loop of the process holding the lock.
struct Syncer {
    shared: Arc<Shared>,
    queue: SyncQueue,
    active: HashMap<i64, Active>,
    watcher: Option<RepoWatcher>,
    watch_tx: mpsc::UnboundedSender<WatchBatch>,
    watch_rx: mpsc::UnboundedReceiver<WatchBatch>,
    done_tx: mpsc::UnboundedSender<Done>,
    done_rx: mpsc::UnboundedReceiver<Done>,
    seen_scan_request: Option<String>,
    seen_overrides: Option<String>,
    stopping: bool,
    /// Repositories that just had a burst of changes, and when to walk them once more.
    settle: HashMap<i64, std::time::Instant>,
    /// The cancel flag of the running background embedding pass.
    embedding: Option<Arc<AtomicBool>>,
    /// A finished pass says how long to wait before the next.
    embed_done_tx: mpsc::UnboundedSender<Duration>,
    embed_done_rx: mpsc::UnboundedReceiver<Duration>,
    /// No embedding pass before this: a pass that found nothing waits for new chunks (a sync)
    /// or a minute, so an idle index is not scanned over and over.
    embed_not_before: Option<std::time::Instant>,
}

impl Syncer {
    fn new(shared: Arc<Shared>) -> Self {
        let (watch_tx, watch_rx) = mpsc::unbounded_channel();
        let (done_tx, done_rx) = mpsc::unbounded_channel();
        let (embed_done_tx, embed_done_rx) = mpsc::unbounded_channel();
        Syncer {
            shared,
            queue: SyncQueue::default(),
            active: HashMap::new(),
            watcher: None,
            watch_tx,
            watch_rx,
            done_tx,
            done_rx,
            seen_scan_request: None,
            seen_overrides: None,
            stopping: false,
            settle: HashMap::new(),
            embedding: None,
            embed_done_tx,
            embed_done_rx,
            embed_not_before: None,
        }
    }

    async fn run(
        mut self,
        control: &mut mpsc::UnboundedReceiver<Control>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        self.seen_scan_request = self.shared.store.state(KEY_SCAN_REQUEST).ok().flatten();
        self.seen_overrides = self.shared.store.state(KEY_OVERRIDES).ok().flatten();
        self.shared.publish_config();
        self.resume_from_store();
        let config = self.shared.config();
        if config.enabled && config.on_startup {
            self.scan().await;
        }
        loop {
            self.start_jobs();
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(msg) = control.recv() => match msg {
                    Control::Scan(reply) => {
                        let counts = self.scan().await;
                        let _ = reply.send(counts);
                    }
                    Control::Wake => self.on_tick().await,
                },
                Some(batch) = self.watch_rx.recv() => self.on_watch(batch),
                Some(done) = self.done_rx.recv() => self.on_done(done),
                Some(wait) = self.embed_done_rx.recv() => {
                    self.embedding = None;
                    self.embed_not_before = Some(std::time::Instant::now() + wait);
                }
                _ = tokio::time::sleep(TICK) => self.on_tick().await,
            }
        }
        self.shutdown().await;
    }

    /// After a restart: repositories that were queued or syncing go back in the queue; the
    /// watched ones are watched again.
    fn resume_from_store(&mut self) {
        let Ok(repos) = self.shared.store.repository_states() else {
            return;
        };
        for info in repos.iter().filter(|r| r.sync.auto) {
            match info.sync.state.as_str() {
                "queued" | "syncing" | "new" => self.enqueue(info, JobKind::Sync, false),
                "synced" if info.sync.watch != "off" => self.start_watch(info),
                _ => {}
            }
        }
    }

    async fn on_tick(&mut self) {
        self.settle_bursts();
        let config = self.shared.config();
        self.reload_overrides();
        let request = self.shared.store.state(KEY_SCAN_REQUEST).ok().flatten();
        if request.is_some() && request != self.seen_scan_request {
            self.seen_scan_request = request;
            self.scan().await;
            return;
        }
        if !config.enabled {
            return;
        }
        let now = now_ms();
        let last_scan = self
            .shared
            .store
            .state(KEY_LAST_SCAN)
            .ok()
            .flatten()
            .and_then(|v| v.parse::<i64>().ok());
        // A last scan in the future means the clock jumped back: scan now rather than wait.
        let due = last_scan
            .is_none_or(|t| t > now + 60_000 || now - t >= config.scan_interval.as_millis() as i64);
        if due {
            self.scan().await;
            return;
        }
        self.recheck_due(&config, now);
    }

    /// Re-reads configuration overrides another process persisted.
    fn reload_overrides(&mut self) {
        let current = self.shared.store.state(KEY_OVERRIDES).ok().flatten();
        if current == self.seen_overrides {
            return;
        }
        self.seen_overrides = current;
        let overrides = load_overrides(&self.shared.store).unwrap_or_default();
        if let Ok(next) = self.shared.base.apply(&overrides) {
            *self
                .shared
                .config
                .write()
                .unwrap_or_else(|e| e.into_inner()) = next;
        }
    }

    /// Unwatched synced repositories past `sync_interval`, and failed ones whose retry is due.
    fn recheck_due(&mut self, config: &AutoSyncConfig, now: i64) {
        let Ok(repos) = self.shared.store.repository_states() else {
            return;
        };
        for info in repos.iter().filter(|r| r.sync.auto) {
            let id = info.record.id;
            if self.queue.contains(id) || self.active.contains_key(&id) {
                continue;
            }
            let last_sync = info
                .last_sync
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map(|d| d.as_millis() as i64);
            let due = match info.sync.state.as_str() {
                "synced" => {
                    info.sync.watch != "watching"
                        && last_sync.is_none_or(|t| {
                            t > now || now - t >= config.sync_interval.as_millis() as i64
                        })
                }
                "failed" => info.sync.next_retry_ms.is_none_or(|t| t <= now),
                _ => false,
            };
            if due {
                self.enqueue(info, JobKind::Sync, false);
            }
        }
    }

    /// Discovers repositories: new ones are queued, known ones re-checked, vanished ones marked
    /// missing (and dropped after the grace period).
    async fn scan(&mut self) -> ScanCounts {
        let shared = self.shared.clone();
        let outcome = tokio::task::spawn_blocking(move || scan_blocking(&shared)).await;
        match outcome {
            Ok(Ok(found)) => {
                let new = found.iter().filter(|r| r.sync.state == "new").count();
                tracing::info!("scan: {} repositories found, {new} new", found.len());
                for info in &found {
                    if self.queue.contains(info.record.id)
                        || self.active.contains_key(&info.record.id)
                    {
                        continue;
                    }
                    let retry_later = info.sync.state == "failed"
                        && info.sync.next_retry_ms.is_some_and(|t| t > now_ms());
                    if !retry_later {
                        self.enqueue(info, JobKind::Sync, false);
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(%e, "scan failed");
                self.shared.metrics(|m| m.errors += 1);
            }
            Err(e) => tracing::warn!(%e, "scan task failed"),
        }
        self.shared.save_metrics();
        ScanCounts {
            queued: self.queue.len() as u64,
            active: self.active.len() as u64,
            synced: self
                .shared
                .store
                .repository_states()
                .map(|r| r.iter().filter(|r| r.sync.state == "synced").count() as u64)
                .unwrap_or(0),
        }
    }

    fn priority(&self, info: &RepositoryInfo, manual: bool) -> Priority {
        let config = self.shared.config();
        let language_rank = info
            .record
            .language
            .as_deref()
            .and_then(|l| config.priority_languages.iter().position(|p| p.name() == l))
            .unwrap_or(config.priority_languages.len());
        let size = info.sync.size.unwrap_or(0);
        Priority {
            manual: Reverse(manual),
            language_rank,
            over_threshold: size > config.size_threshold,
            recency: Reverse(info.sync.last_modified_ms.unwrap_or(0)),
            size,
        }
    }

    fn enqueue(&mut self, info: &RepositoryInfo, kind: JobKind, manual: bool) {
        let job = Job {
            repo_id: info.record.id,
            path: info.record.path.clone(),
            name: info.record.name.clone(),
            kind,
            priority: self.priority(info, manual),
        };
        self.queue.push(job);
        if !self.active.contains_key(&info.record.id) && info.sync.state != "queued" {
            let mut state = info.sync.clone();
            // A never-synced repository stays `new` until its first sync starts.
            if state.state != "new" {
                state.state = "queued".into();
            }
            let _ = self.shared.store.set_sync_state(info.record.id, &state);
        }
    }

    fn start_jobs(&mut self) {
        let paused = self.shared.paused() && !self.shared.ignore_pause.load(Ordering::SeqCst);
        if self.stopping || paused {
            self.stop_embedding();
            return;
        }
        if !self.queue.is_empty() {
            // Syncs first: embedding waits until the queue is empty.
            self.stop_embedding();
        } else if self.active.is_empty() {
            self.start_embedding();
        }
        let max = self.shared.config().max_concurrent;
        while self.active.len() < max {
            let active = &self.active;
            let Some(job) = self.queue.pop_where(|j| !active.contains_key(&j.repo_id)) else {
                break;
            };
            self.spawn_job(job);
        }
    }

    fn spawn_job(&mut self, job: Job) {
        // Removed since it was queued (by a person, possibly in another process): syncing it
        // would index it again.
        let Some(info) = self.repository(job.repo_id) else {
            if let Some(w) = self.watcher.as_mut() {
                w.unwatch(job.repo_id);
            }
            return;
        };
        let cancel = Arc::new(AtomicBool::new(false));
        self.active.insert(
            job.repo_id,
            Active {
                cancel: cancel.clone(),
            },
        );
        let mut state = info.sync.clone();
        state.state = "syncing".into();
        let _ = self.shared.store.set_sync_state(job.repo_id, &state);
        let shared = self.shared.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = run_job(&shared, &job, &cancel);
            let _ = done.send(Done {
                repo_id: job.repo_id,
                result,
                kind: job.kind,
            });
        });
    }

    fn repository(&self, repo_id: i64) -> Option<RepositoryInfo> {
        self.shared.store.repository_state(repo_id).ok()?
    }

    fn on_done(&mut self, done: Done) {
        self.active.remove(&done.repo_id);
        let Some(info) = self.repository(done.repo_id) else {
            return;
        };
        let mut state = info.sync.clone();
        match &done.result {
            Ok(result) => {
                if result.chunks_new > 0 {
                    // New chunks to embed: the next idle moment may start a pass at once.
                    self.embed_not_before = None;
                }
                if result.files_added
                    + result.files_updated
                    + result.files_deleted
                    + result.files_renamed
                    > 0
                {
                    tracing::info!(
                        "synced {}: {} files ({} added, {} updated, {} deleted), {} chunks new, {} ms",
                        info.record.name,
                        result.files_processed,
                        result.files_added,
                        result.files_updated,
                        result.files_deleted,
                        result.chunks_new,
                        result.duration_ms
                    );
                }
                let unwatched = state.watch != "watching";
                state.state = "synced".into();
                state.failures = 0;
                state.next_retry_ms = None;
                self.shared.metrics(|m| {
                    m.syncs_succeeded += 1;
                    m.files_indexed += result.files_added + result.files_updated;
                    m.chunks_indexed += result.chunks_new;
                    m.sync_ms_last = result.duration_ms;
                    m.sync_ms_max = m.sync_ms_max.max(result.duration_ms);
                    m.sync_ms_total += result.duration_ms;
                });
                // Metrics first: a status that sees the repository synced sees it counted.
                self.shared.save_metrics();
                let _ = self.shared.store.set_sync_state(done.repo_id, &state);
                if unwatched && result.success_rate > WATCH_MIN_SUCCESS {
                    self.start_watch(&info);
                }
            }
            Err(SyncError::Cancelled) => {
                // Paused or stopping: keep its place for later.
                state.state = "queued".into();
                let _ = self.shared.store.set_sync_state(done.repo_id, &state);
                if !self.stopping {
                    self.enqueue(&info, done.kind, false);
                }
            }
            Err(error) => {
                state.failures += 1;
                let delay = RETRY_BASE
                    .saturating_mul(1 << (state.failures - 1).min(10))
                    .min(RETRY_MAX);
                state.next_retry_ms = Some(now_ms() + delay.as_millis() as i64);
                if matches!(error, SyncError::Missing(_)) {
                    state.state = "missing".into();
                    state.missing_since_ms.get_or_insert(now_ms());
                } else {
                    state.state = "failed".into();
                }
                tracing::warn!(repository = %info.record.name, %error, retry_in = ?delay, "sync failed");
                self.shared.metrics(|m| {
                    m.syncs_failed += 1;
                    m.errors += 1;
                });
                self.shared.save_metrics();
                let _ = self.shared.store.set_sync_state(done.repo_id, &state);
            }
        }
    }

    /// Watches a repository when auto_watch is on; falls back to periodic re-checks when the
    /// OS refuses more watches.
    fn start_watch(&mut self, info: &RepositoryInfo) {
        let config = self.shared.config();
        if !config.auto_watch {
            return;
        }
        if self.watcher.is_none() {
            match RepoWatcher::new(self.watch_tx.clone()) {
                Ok(w) => self.watcher = Some(w),
                Err(e) => tracing::warn!(%e, "file watching unavailable; using periodic re-checks"),
            }
        }
        let outcome = match self.watcher.as_mut() {
            Some(w) => w.watch(info.record.id, &info.record.path),
            None => Err(WatchError::Other("no watcher".into())),
        };
        let mut state = info.sync.clone();
        state.watch = match outcome {
            Ok(()) => "watching".into(),
            Err(e) => {
                tracing::warn!(repository = %info.record.name, %e, "not watched; re-checked every sync_interval instead");
                self.shared.metrics(|m| m.watch_fallbacks += 1);
                "polling".into()
            }
        };
        if let Some(current) = self.repository(info.record.id) {
            let mut fresh = current.sync;
            fresh.watch = state.watch;
            let _ = self.shared.store.set_sync_state(info.record.id, &fresh);
        }
    }

    fn on_watch(&mut self, batch: WatchBatch) {
        self.shared.metrics(|m| {
            m.watcher_events += batch.events;
            m.watcher_batches += 1;
        });
        let Some(info) = self.repository(batch.repo_id) else {
            // Removed: stop watching it.
            if let Some(w) = self.watcher.as_mut() {
                w.unwatch(batch.repo_id);
            }
            return;
        };
        if batch.paths.len() >= BURST_PATHS || batch.rescan {
            self.settle
                .insert(batch.repo_id, std::time::Instant::now() + BURST_SETTLE);
        }
        let kind = if batch.rescan {
            JobKind::Sync
        } else {
            JobKind::Paths(batch.paths)
        };
        // A person just changed these files: they go before background work.
        self.enqueue(&info, kind, true);
    }

    fn stop_embedding(&mut self) {
        if let Some(cancel) = &self.embedding {
            cancel.store(true, Ordering::SeqCst);
        }
    }

    /// Embeds chunks that have no vector yet, on a blocking thread, until done or cancelled;
    /// first connects to the provider when it was unreachable so far.
    fn start_embedding(&mut self) {
        let slot = self.shared.embedder.clone();
        if slot.get().is_none() && !slot.may_connect() {
            return;
        }
        let waiting = self
            .embed_not_before
            .is_some_and(|t| std::time::Instant::now() < t);
        if self.embedding.is_some() || waiting {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.embedding = Some(cancel.clone());
        let shared = self.shared.clone();
        let done = self.embed_done_tx.clone();
        // Connecting and embedding may block on a remote provider: on the blocking pool.
        tokio::task::spawn_blocking(move || {
            let wait = match connect(&shared, &slot) {
                Some(embedder) => match embed_pass(&shared, embedder.as_ref(), &cancel) {
                    0 => EMBED_IDLE_RECHECK,
                    _ => Duration::from_secs(1),
                },
                None => codeintel_index::embed::slot::RETRY_INTERVAL,
            };
            let _ = done.send(wait);
        });
    }

    /// After a burst, the kernel may have dropped events (its queue overflows at ~16k): walk
    /// the repository once more when the burst has been quiet for a while.
    fn settle_bursts(&mut self) {
        let now = std::time::Instant::now();
        let due: Vec<i64> = self
            .settle
            .iter()
            .filter(|(_, at)| **at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in due {
            self.settle.remove(&id);
            if let Some(info) = self.repository(id) {
                self.enqueue(&info, JobKind::Sync, true);
            }
        }
    }

    async fn shutdown(&mut self) {
        self.stopping = true;
        self.stop_embedding();
        if self.embedding.is_some() {
            let _ = tokio::time::timeout(Duration::from_secs(30), self.embed_done_rx.recv()).await;
        }
        for active in self.active.values() {
            active.cancel.store(true, Ordering::SeqCst);
        }
        while !self.active.is_empty() {
            match tokio::time::timeout(Duration::from_secs(30), self.done_rx.recv()).await {
                Ok(Some(done)) => self.on_done(done),
                _ => break,
            }
        }
        // What was waiting stays queued in the store for the next start.
        while let Some(job) = self.queue.pop() {
            if let Some(info) = self.repository(job.repo_id) {
                let mut state = info.sync;
                if state.state != "new" {
                    state.state = "queued".into();
                }
                let _ = self.shared.store.set_sync_state(job.repo_id, &state);
            }
        }
        self.watcher = None;
        self.shared.save_metrics();
    }
}

/// Runs one job on a blocking thread.
fn run_job(shared: &Shared, job: &Job, cancel: &AtomicBool) -> Result<SyncResult, SyncError> {
    #[cfg(debug_assertions)]
    if let Some(error) = injected_failure(&job.name) {
        let _ = shared.store.record_sync(job.repo_id, None, Some(&error));
        return Err(SyncError::Store(StoreError::Invalid(error)));
    }
    let options = sync_options(&shared.config());
    let sync = RepositorySync::new(&shared.store, &options).with_cancel(cancel);
    match &job.kind {
        JobKind::Sync => sync.run(&job.path, Some(&job.name), true),
        JobKind::Paths(paths) => {
            let paths: Vec<String> = paths.iter().cloned().collect();
            sync.run_paths(&job.path, &paths)
        }
    }
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

fn sync_options(config: &AutoSyncConfig) -> SyncOptions {
    // The excludes were validated when the configuration was built.
    SyncOptions::with_extra_excludes(&config.exclude).unwrap_or_default()
}

/// The paths of repositories a person removed (see [`AutoSyncManager::remove_repository`]).
fn removed_paths(store: &IndexStore) -> Result<Vec<String>> {
    Ok(store
        .state(KEY_REMOVED)?
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_default())
}

/// Lets scans find `path` (canonical) again after a removal: a person indexed it by hand.
/// Returns whether it had been removed.
pub fn forget_removal(store: &IndexStore, path: &Path) -> Result<bool> {
    let mut removed = removed_paths(store)?;
    let path = path.display().to_string();
    let before = removed.len();
    removed.retain(|p| *p != path);
    if removed.len() == before {
        return Ok(false);
    }
    store.set_state(
        KEY_REMOVED,
        &serde_json::to_string(&removed).unwrap_or_default(),
    )?;
    Ok(true)
}

/// Discovery and its bookkeeping, on a blocking thread. Returns the repositories found.
fn scan_blocking(shared: &Shared) -> Result<Vec<RepositoryInfo>> {
    let config = shared.config();
    let options = DiscoveryOptions::default().with_extra_excludes(config.exclude.clone());
    let discovery = Discovery::new(options).map_err(|e| ManagerError::Other(e.to_string()))?;
    let report = discovery.run(&config.paths);
    for error in &report.errors {
        tracing::warn!(%error, "scan path skipped");
    }
    let now = now_ms();
    let mut found_ids = HashSet::new();
    let removed = removed_paths(&shared.store)?;
    for repo in &report.repositories {
        if removed.contains(&repo.path.display().to_string()) {
            continue;
        }
        let record = shared.store.ensure_repository(
            &repo.path,
            &repo.name,
            Some(repo.language.name()),
            false,
        )?;
        found_ids.insert(record.id);
        let known = shared.store.repository_state(record.id)?;
        let mut state = known.map(|k| k.sync).unwrap_or_default();
        if !state.auto || state.state == "missing" || state.state.is_empty() {
            state.state = if state.auto && state.state == "missing" {
                "queued".into()
            } else {
                "new".into()
            };
        }
        state.auto = true;
        state.missing_since_ms = None;
        state.size = Some(repo.size);
        state.last_modified_ms = repo
            .last_modified
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as i64);
        if state.watch.is_empty() {
            state.watch = "off".into();
        }
        shared.store.set_sync_state(record.id, &state)?;
    }
    let all = shared.store.repository_states()?;
    let scan_roots: Vec<PathBuf> = config
        .paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok().or_else(|| Some(p.clone())))
        .collect();
    for info in &all {
        let under_scan = scan_roots
            .iter()
            .any(|root| info.record.path.starts_with(root));
        if !info.sync.auto || found_ids.contains(&info.record.id) || !under_scan {
            continue;
        }
        let since = info.sync.missing_since_ms.unwrap_or(now);
        if now - since >= MISSING_GRACE.as_millis() as i64 {
            tracing::info!(repository = %info.record.name, "removing the index of a repository missing for the grace period");
            shared.store.remove_repository(info.record.id)?;
            continue;
        }
        let mut state = info.sync.clone();
        state.state = "missing".into();
        state.missing_since_ms = Some(since);
        shared.store.set_sync_state(info.record.id, &state)?;
    }
    shared.store.set_state(KEY_LAST_SCAN, &now.to_string())?;
    shared.metrics(|m| {
        m.scans += 1;
        m.repos_found = report.repositories.len() as u64;
    });
    let found: Vec<RepositoryInfo> = shared
        .store
        .repository_states()?
        .into_iter()
        .filter(|r| found_ids.contains(&r.record.id))
        .collect();
    Ok(found)
}

/// The embedder, connecting to the provider first if it was unreachable so far; `None` (and
/// the error in the status) while it still is.
fn connect(
    shared: &Shared,
    slot: &EmbedderSlot,
) -> Option<Arc<dyn codeintel_index::embed::Embedder>> {
    if let Some(embedder) = slot.get() {
        return Some(embedder);
    }
    match slot.connect() {
        Ok(embedder) => {
            if let Some(e) = &embedder {
                tracing::info!(model = e.model_id(), "embedding provider reachable");
                shared.set_embed_error(None);
                shared.publish_config();
            }
            embedder
        }
        Err(e) => {
            tracing::debug!(%e, "embedding provider still unreachable");
            shared.set_embed_error(Some(e.to_string()));
            None
        }
    }
}

/// One background embedding pass; returns how many chunks got vectors.
fn embed_pass(
    shared: &Shared,
    embedder: &dyn codeintel_index::embed::Embedder,
    cancel: &AtomicBool,
) -> u64 {
    let progress = |p: codeintel_index::semantic::EmbedProgress| {
        tracing::debug!(done = p.done, total = p.total, "embedding");
    };
    match shared
        .store
        .embed_pending(embedder, None, cancel, &progress)
    {
        Ok(n) => {
            if n > 0 {
                tracing::info!("embedded {n} chunks");
                shared.metrics(|m| m.chunks_embedded += n);
            }
            shared.set_embed_error(None);
            n
        }
        Err(e) => {
            tracing::warn!(%e, "embedding failed; lexical search is unaffected");
            shared.metrics(|m| m.errors += 1);
            shared.set_embed_error(Some(e.to_string()));
            0
        }
    }
}
