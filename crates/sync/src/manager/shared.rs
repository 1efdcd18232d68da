//! What the control handle and the scheduler of one process share: the store, the
//! configuration in effect, the metrics, the embedder, and how the status is put together from
//! all of it (and from what the syncer published, when another process syncs).

use super::state::StoredState;
use super::supervisor::Coordination;
use super::{Result, ScanCounts};
use crate::activity::{Activity, SyncActivity};
use crate::config::AutoSyncConfig;
use crate::status::{EmbeddingStatus, Metrics, RepositoryStatus, Status, StatusConfig};
use codeintel_embed::EmbedderSlot;
use codeintel_index::{IndexStore, RepoState, RepositoryInfo, SyncState, WatchState};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// How often a live indexer writes its activity even when nothing changed.
const HEARTBEAT: Duration = Duration::from_secs(10);
/// How long another indexer's activity counts as live after it was written (three
/// heartbeats: a dead indexer's syncs leave the page within this).
const LIVE_FOR: Duration = Duration::from_secs(30);

pub(super) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(super) fn rfc3339_ms(ms: i64) -> String {
    humantime::format_rfc3339_millis(UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64))
        .to_string()
}

/// Requests to the scheduler of this process.
pub(super) enum Control {
    Scan(tokio::sync::oneshot::Sender<ScanCounts>),
    Wake,
    /// An embedder arrived (a model finished installing): embed without waiting out a retry.
    EmbedderReady,
}

pub(super) struct Shared {
    pub(super) store: Arc<IndexStore>,
    pub(super) coordination: Box<dyn Coordination>,
    /// This process as an indexer ([`Coordination::worker`]): the key of its metrics and
    /// activity in the store.
    pub(super) worker: String,
    /// Flags, environment and env file: what overrides apply over.
    pub(super) base: AutoSyncConfig,
    pub(super) config: RwLock<AutoSyncConfig>,
    pub(super) control: mpsc::UnboundedSender<Control>,
    pub(super) control_rx: Mutex<Option<mpsc::UnboundedReceiver<Control>>>,
    pub(super) shutdown: watch::Sender<bool>,
    pub(super) metrics: Mutex<Metrics>,
    /// This process holds the sync lock and runs the loop.
    pub(super) syncing_here: AtomicBool,
    /// Computes chunk vectors in the background when it holds an embedder (or gets one: a
    /// provider down at start is retried).
    pub(super) embedder: Arc<EmbedderSlot>,
    /// The configured model when it could not be loaded (no embedder), for status.
    pub(super) embed_wanted: Mutex<Option<String>>,
    /// Why embedding fails: the model did not load, or the last pass failed (cleared by a pass
    /// that succeeds).
    pub(super) embed_error: Mutex<Option<String>>,
    /// A manual foreground scan (`auto-sync-scan` without a server) syncs what it queued even
    /// while auto-sync is paused: the person asked for it.
    pub(super) ignore_pause: AtomicBool,
    /// The error log and sync durations (persisted with the activity), and what this syncer
    /// runs now, by repository id (jobs update their progress here).
    pub(super) activity: Mutex<Activity>,
    pub(super) progress: Mutex<BTreeMap<i64, SyncActivity>>,
    /// The activity as last written to the store (without its time) and when: an unchanged
    /// one is written again only as a heartbeat.
    pub(super) activity_written: Mutex<(String, Option<Instant>)>,
    /// A repository's state was saved since the syncer last counted them.
    pub(super) states_dirty: AtomicBool,
    /// The scheduler's injected panic happened (test hook: once per process).
    #[cfg(debug_assertions)]
    pub(super) injected_panic: AtomicBool,
    /// The store-away hook has fired (debug builds).
    #[cfg(debug_assertions)]
    pub(super) injected_away: AtomicBool,
}

impl Shared {
    pub(super) fn stored(&self) -> StoredState<'_> {
        StoredState::new(&self.store)
    }

    pub(super) fn config(&self) -> AutoSyncConfig {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(super) fn set_config(&self, config: AutoSyncConfig) {
        *self.config.write().unwrap_or_else(|e| e.into_inner()) = config;
    }

    /// Whether this process's scheduler holds back new syncs.
    pub(super) fn holds_back(&self) -> bool {
        self.stored().paused() && !self.ignore_pause.load(Ordering::SeqCst)
    }

    /// Saves a repository's auto-sync state. A failure is logged and counted, never dropped
    /// silently: the status would report a stale state.
    pub(super) fn save_sync_state(&self, repo_id: i64, state: &SyncState) {
        self.states_dirty.store(true, Ordering::SeqCst);
        if let Err(e) = self.store.set_sync_state(repo_id, state) {
            tracing::warn!(%e, repo_id, "cannot save a repository's sync state");
            self.record_error("state", None, &format!("cannot save a sync state: {e}"));
        }
    }

    pub(super) fn status_config(&self) -> (bool, StatusConfig) {
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
            removed_repositories: self.stored().removed().unwrap_or_default(),
        };
        (config.enabled, status_config)
    }

    pub(super) fn set_embed_error(&self, error: Option<String>) {
        let mut slot = self.embed_error.lock().unwrap_or_else(|e| e.into_inner());
        if *slot == error {
            return;
        }
        slot.clone_from(&error);
        drop(slot);
        if self.syncing_here.load(Ordering::SeqCst) {
            if let Err(e) = self.stored().set_embed_error(error.as_deref()) {
                tracing::warn!(%e, "cannot publish the embedding error");
            }
        }
    }

    /// This process's embedding error, else (when another process syncs) the syncer's.
    pub(super) fn embed_error(&self) -> Option<String> {
        let local = self
            .embed_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if local.is_some() || self.syncing_here.load(Ordering::SeqCst) {
            return local;
        }
        self.coordination.holder()?;
        self.stored().embed_error()
    }

    /// The model embeddings are (or would be) computed with.
    pub(super) fn embed_model(&self) -> Option<String> {
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
    pub(super) fn publish_config(&self) {
        let stored = self.stored();
        let (enabled, config) = self.status_config();
        if let Err(e) = stored.publish_config(enabled, &config) {
            tracing::warn!(%e, "cannot publish the auto-sync configuration");
        }
        if let Err(e) = stored.set_embed_model(self.embed_model().as_deref()) {
            tracing::warn!(%e, "cannot publish the embedding model");
        }
        let error = self
            .embed_error
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Err(e) = stored.set_embed_error(error.as_deref()) {
            tracing::warn!(%e, "cannot publish the embedding error");
        }
    }

    pub(super) fn status(&self) -> Result<Status> {
        self.status_of(true, None)
    }

    /// The status without the repositories (an empty list) and the activity, when the syncer
    /// published its counts by state; else with the repositories listed without their file
    /// and chunk counts. Cheap whatever the number of repositories.
    pub(super) fn summary(&self) -> Result<(Status, Activity)> {
        let activity = self.activity()?;
        let counts =
            (!activity.repositories_by_state.is_empty()).then_some(&activity.repositories_by_state);
        let status = self.status_of(false, counts)?;
        Ok((status, activity))
    }

    /// The status; without `counted`, repositories carry no file and chunk counts and no
    /// dependencies (0 and empty); with counts `by_state` (the syncer's), no repositories at all.
    fn status_of(&self, counted: bool, by_state: Option<&BTreeMap<String, u64>>) -> Result<Status> {
        let stored = self.stored();
        let syncer_pid = self.coordination.holder();
        let here = self.syncing_here.load(Ordering::SeqCst);
        // Another process syncs: report the configuration it runs with, not this one's.
        let published = (syncer_pid.is_some() && !here)
            .then(|| stored.published_config())
            .flatten();
        let (enabled, status_config) = published.unwrap_or_else(|| self.status_config());
        let repos = if counted {
            self.store.repositories()?
        } else if by_state.is_some() {
            Vec::new()
        } else {
            self.store.repository_states()?
        };
        let count = |state: RepoState| match by_state {
            Some(counts) => counts.get(state.as_str()).copied().unwrap_or(0),
            None => repos.iter().filter(|r| r.sync.state == state).count() as u64,
        };
        let last_scan = stored.last_scan_ms()?.map(rfc3339_ms);
        let metrics = self.all_metrics(here)?;
        // The model of this process, else the one the syncer published.
        let embeddings = match self.embed_model().or_else(|| stored.embed_model()) {
            Some(model) => Some(EmbeddingStatus {
                embedded: self.store.embedded_chunks(Some(&model), None)?,
                pending: self.store.chunks_to_embed(&model, None)?,
                model,
                error: self.embed_error(),
                install: stored.model_install()?,
            }),
            None => None,
        };
        Ok(Status {
            store: self.store.path().display().to_string(),
            embeddings,
            enabled,
            running: syncer_pid.is_some(),
            last_scan,
            queued_repos: count(RepoState::Queued) + count(RepoState::New),
            active_syncs: count(RepoState::Syncing),
            synced_repos: count(RepoState::Synced),
            config: status_config,
            paused: stored.paused(),
            syncer_pid,
            repositories: {
                let dependencies = if counted {
                    self.store.dependencies()?
                } else {
                    Vec::new()
                };
                let links = codeintel_index::RepositoryLinks::new(&repos, &dependencies);
                repos.iter().map(|r| repository_status(r, &links)).collect()
            },
            metrics,
        })
    }

    pub(super) fn save_metrics(&self) {
        let metrics = self
            .metrics
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Err(e) = self.stored().set_metrics(&self.worker, &metrics) {
            tracing::warn!(%e, "cannot save auto-sync metrics");
        }
    }

    /// Counts an error (in the metrics, and by kind) and keeps it for the page's error list.
    pub(super) fn record_error(&self, kind: &str, repository: Option<&str>, message: &str) {
        self.metrics(|m| m.errors += 1);
        self.activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .error(rfc3339_ms(now_ms()), kind, repository, message);
    }

    /// Updates a running sync's progress.
    pub(super) fn set_progress(&self, repo_id: i64, update: impl FnOnce(&mut SyncActivity)) {
        let mut progress = self.progress.lock().unwrap_or_else(|e| e.into_inner());
        update(progress.entry(repo_id).or_default());
    }

    pub(super) fn end_progress(&self, repo_id: i64) {
        self.progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&repo_id);
    }

    /// The activity with this process's running syncs, and `queue`/`next_scan` as the
    /// scheduler sees them.
    pub(super) fn live_activity(
        &self,
        queue: Vec<String>,
        queue_len: u64,
        next_scan: Option<String>,
    ) -> Activity {
        let mut activity = self
            .activity
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        activity.syncing = self
            .progress
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .cloned()
            .collect();
        activity.queue = queue;
        activity.queue_len = queue_len;
        activity.next_scan = next_scan;
        activity
    }

    /// Writes `activity` to the store when it changed since the last write, and every
    /// [`HEARTBEAT`] anyway (its time tells other machines this indexer lives).
    pub(super) fn publish_activity(&self, activity: &Activity) {
        let text = serde_json::to_string(activity).unwrap_or_default();
        let mut written = self
            .activity_written
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let beat_due = written.1.is_none_or(|at| at.elapsed() >= HEARTBEAT);
        if written.0 == text && !beat_due {
            return;
        }
        let mut stamped = activity.clone();
        stamped.published_ms = now_ms();
        let stamped = serde_json::to_string(&stamped).unwrap_or_default();
        match self.stored().set_activity_text(&self.worker, &stamped) {
            Ok(()) => *written = (text, Some(Instant::now())),
            Err(e) => tracing::debug!(%e, "cannot publish the auto-sync activity"),
        }
    }

    /// What the indexers (this process or others) published, as one: running syncs and queues
    /// only of live ones. This machine's and data directory's indexer lives while it holds
    /// the right to sync; another (on PostgreSQL) while it published within [`LIVE_FOR`].
    pub(super) fn activity(&self) -> Result<Activity> {
        let here_alive = self.coordination.holder().is_some();
        let now = now_ms();
        let parts = self.stored().activities()?.into_iter().map(|(worker, a)| {
            let live = if worker == self.worker || worker.is_empty() {
                here_alive
            } else {
                now - a.published_ms <= LIVE_FOR.as_millis() as i64
            };
            (a, live)
        });
        Ok(Activity::merged(parts))
    }

    /// Every indexer's metrics added up, this process's as it counts them now when it syncs.
    fn all_metrics(&self, here: bool) -> Result<Metrics> {
        let mut parts = self.stored().all_metrics()?;
        let own = here.then(|| {
            self.metrics
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        });
        if let Some(own) = &own {
            parts.retain(|(worker, _)| worker != &self.worker && !worker.is_empty());
            parts.push((self.worker.clone(), own.clone()));
        }
        let parts: Vec<Metrics> = parts.into_iter().map(|(_, m)| m).collect();
        Ok(Metrics::merged(&parts, own.as_ref()))
    }

    pub(super) fn metrics(&self, f: impl FnOnce(&mut Metrics)) {
        f(&mut self.metrics.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

fn repository_status(
    r: &RepositoryInfo,
    links: &codeintel_index::RepositoryLinks,
) -> RepositoryStatus {
    let ms = |t: SystemTime| {
        t.duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    };
    RepositoryStatus {
        path: r.record.path.display().to_string(),
        name: r.record.name.clone(),
        state: r.sync.state.as_str().to_string(),
        language: r.record.language.clone(),
        files: r.files,
        chunks: r.chunks,
        last_sync: r.last_sync.map(|t| rfc3339_ms(ms(t))),
        watched: r.sync.watch == WatchState::Watching,
        watch: r.sync.watch.as_str().to_string(),
        last_error: r.last_error.clone(),
        failures: r.sync.failures,
        next_retry: r.sync.next_retry_ms.map(rfc3339_ms),
        size: r.sync.size,
        depends_on: links.depends_on(r.record.id),
        used_by: links.used_by(r.record.id),
    }
}
