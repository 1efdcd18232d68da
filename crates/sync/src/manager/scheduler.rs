//! The scheduler of the process that holds the right to sync: a one-second tick that starts
//! scans and re-checks when they are due (by wall-clock times kept in the store), the priority
//! queue and at most `max_concurrent` running jobs, the watcher whose batches become jobs, and
//! the background embedding worker when the queue is empty. The rules it applies are in
//! [`super::policy`].

use super::shared::{now_ms, Control, Shared};
use super::{embedding, job, policy, scan, ScanCounts};
use crate::config::AutoSyncConfig;
use crate::queue::{Job, JobKind, Priority, SyncQueue};
use crate::sync_now::SyncNowError;
use crate::watcher::{RepoWatcher, WatchBatch, WatchError};
use codeintel_index::{RepoState, RepositoryInfo, SyncError, SyncResult, WatchState};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// How often the scheduler looks at the clock and the store.
pub(super) const TICK: Duration = Duration::from_millis(250);
/// How often the activity is published while no repository's state changes.
const PUBLISH_EVERY: Duration = Duration::from_secs(1);
/// How often the repositories are counted by state even when this process saved no state.
const RECOUNT: Duration = Duration::from_secs(10);
/// Paths in one watcher batch that make it a burst (a checkout, a build).
const BURST_PATHS: usize = 200;
/// Quiet time after a burst before the repository is walked once more: the kernel may have
/// dropped events (its queue overflows at ~16k).
const BURST_SETTLE: Duration = Duration::from_secs(2);
/// How long a repository another worker is syncing waits before this one looks again.
const HELD_ELSEWHERE_RETRY: Duration = Duration::from_secs(5);
/// How long a repository waits when the store could not be read for it (a database
/// restarting): its job, its finished sync's outcome or its watcher events are taken up again.
const STORE_AWAY_RETRY: Duration = Duration::from_secs(2);

/// One finished job.
struct Done {
    repo_id: i64,
    result: Result<SyncResult, SyncNowError>,
    kind: JobKind,
    /// Its failure is in the log already (said when the store could not take it).
    told: bool,
}

struct Active {
    cancel: Arc<AtomicBool>,
}

/// The loop of the process holding the lock.
pub(super) struct Syncer {
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
    settle: HashMap<i64, Instant>,
    /// Repositories to walk again later, and when: another worker was syncing them (sharing
    /// the store), so whatever changed after that worker's walk is synced here; or the store
    /// could not be read when their job was to start or their events came.
    look_again: HashMap<i64, Instant>,
    /// Finished syncs whose outcome could not be recorded yet (the store was away), and when
    /// to try again: a sync that failed on a restarting database must still be retried.
    unrecorded: HashMap<i64, (Instant, Done)>,
    /// The cancel flag of the running background embedding pass.
    embedding: Option<Arc<AtomicBool>>,
    /// A finished pass says how long to wait before the next.
    embed_done_tx: mpsc::UnboundedSender<Duration>,
    embed_done_rx: mpsc::UnboundedReceiver<Duration>,
    /// No embedding pass before this: a pass that found nothing waits for new chunks (a sync)
    /// or a minute, so an idle index is not scanned over and over.
    embed_not_before: Option<Instant>,
    /// The repositories by state and watched, their version, and when they were counted.
    counted: Option<(Instant, BTreeMap<String, u64>, u64, u64)>,
    /// When the activity was last published.
    published_at: Option<Instant>,
}

impl Syncer {
    pub(super) fn new(shared: Arc<Shared>) -> Self {
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
            look_again: HashMap::new(),
            unrecorded: HashMap::new(),
            embedding: None,
            embed_done_tx,
            embed_done_rx,
            embed_not_before: None,
            counted: None,
            published_at: None,
        }
    }

    pub(super) async fn run(
        mut self,
        control: &mut mpsc::UnboundedReceiver<Control>,
        shutdown: &mut watch::Receiver<bool>,
    ) {
        self.seen_scan_request = self.shared.stored().scan_request();
        self.seen_overrides = self.shared.stored().overrides_text();
        self.shared.publish_config();
        self.resume_from_store();
        let config = self.shared.config();
        if config.enabled && config.on_startup {
            self.scan().await;
        }
        loop {
            self.start_jobs();
            self.publish_activity();
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(msg) = control.recv() => match msg {
                    Control::Scan(reply) => {
                        let counts = self.scan().await;
                        let _ = reply.send(counts);
                    }
                    Control::Wake => self.on_tick().await,
                    Control::EmbedderReady => self.embed_not_before = None,
                },
                Some(batch) = self.watch_rx.recv() => self.on_watch(batch),
                Some(done) = self.done_rx.recv() => self.on_done(done),
                Some(wait) = self.embed_done_rx.recv() => {
                    self.embedding = None;
                    self.embed_not_before = Some(Instant::now() + wait);
                }
                _ = tokio::time::sleep(TICK) => self.on_tick().await,
            }
        }
        self.shutdown().await;
    }

    /// Publishes what runs and waits: at once when a repository's state was saved, else at
    /// most every [`PUBLISH_EVERY`] (progress, the next scan), and written only when it
    /// changed, so an idle syncer neither reads much nor writes.
    fn publish_activity(&mut self) {
        let due = self
            .published_at
            .is_none_or(|t| t.elapsed() >= PUBLISH_EVERY);
        if !due && !self.shared.states_dirty.load(Ordering::SeqCst) {
            return;
        }
        self.published_at = Some(Instant::now());
        let config = self.shared.config();
        // Never scanned: the first scan is due at once, and "now" would change at every tick
        // (and be written each time); it shows as unscheduled until it ran.
        let next_scan = if config.enabled && !self.shared.stored().paused() {
            let interval = config.scan_interval.as_millis() as i64;
            let last = self.shared.stored().last_scan_ms().ok().flatten();
            last.map(|l| super::shared::rfc3339_ms(l + interval))
        } else {
            None
        };
        let mut activity = self.shared.live_activity(
            self.queue.first_names(crate::activity::QUEUE_SHOWN),
            self.queue.len() as u64,
            next_scan,
        );
        if let Some((_, by_state, watched, version)) = self.count_states() {
            activity.repositories_by_state = by_state.clone();
            activity.watched_repositories = *watched;
            activity.states_version = *version;
        }
        self.shared.publish_activity(&activity);
    }

    /// Counts the repositories by state when one was saved, and every [`RECOUNT`] for what
    /// other processes changed (a removal, an `index_repository`).
    fn count_states(&mut self) -> Option<&(Instant, BTreeMap<String, u64>, u64, u64)> {
        let dirty = self.shared.states_dirty.swap(false, Ordering::SeqCst);
        let stale = self
            .counted
            .as_ref()
            .is_none_or(|c| c.0.elapsed() >= RECOUNT);
        if dirty || stale {
            match self.shared.store.repository_states() {
                Ok(repos) => {
                    let mut by_state = BTreeMap::new();
                    for r in &repos {
                        *by_state
                            .entry(r.sync.state.as_str().to_string())
                            .or_insert(0) += 1;
                    }
                    let watched = repos
                        .iter()
                        .filter(|r| r.sync.watch == WatchState::Watching)
                        .count() as u64;
                    let version = match &self.counted {
                        Some((_, b, w, v)) if !dirty && *b == by_state && *w == watched => *v,
                        Some((_, _, _, v)) => v + 1,
                        None => 1,
                    };
                    self.counted = Some((Instant::now(), by_state, watched, version));
                }
                Err(e) => {
                    tracing::debug!(%e, "cannot count the repositories by state");
                    self.shared.states_dirty.store(true, Ordering::SeqCst);
                }
            }
        }
        self.counted.as_ref()
    }

    /// After a restart: repositories that were queued or syncing go back in the queue; the
    /// watched ones are watched again.
    fn resume_from_store(&mut self) {
        let Ok(repos) = self.shared.store.repository_states() else {
            return;
        };
        for info in repos.iter().filter(|r| r.sync.auto) {
            match info.sync.state {
                RepoState::Queued | RepoState::Syncing | RepoState::New => {
                    self.enqueue(info, JobKind::Sync, false)
                }
                RepoState::Synced if info.sync.watch != WatchState::Off => self.start_watch(info),
                _ => {}
            }
        }
    }

    async fn on_tick(&mut self) {
        self.settle_bursts();
        self.record_unrecorded();
        let config = self.shared.config();
        self.reload_overrides();
        let request = self.shared.stored().scan_request();
        if request.is_some() && request != self.seen_scan_request {
            self.seen_scan_request = request;
            self.scan().await;
            return;
        }
        if !config.enabled {
            return;
        }
        let now = now_ms();
        let last_scan = self.shared.stored().last_scan_ms().ok().flatten();
        if policy::scan_due(last_scan, now, config.scan_interval) {
            self.scan().await;
            return;
        }
        self.recheck_due(&config, now);
    }

    /// Re-reads configuration overrides another process persisted.
    fn reload_overrides(&mut self) {
        let current = self.shared.stored().overrides_text();
        if current == self.seen_overrides {
            return;
        }
        self.seen_overrides = current;
        let overrides = self.shared.stored().overrides().unwrap_or_default();
        if let Ok(next) = self.shared.base.apply(&overrides) {
            self.shared.set_config(next);
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
            if policy::recheck_due(&info.sync, last_sync, now, config.sync_interval) {
                self.enqueue(info, JobKind::Sync, false);
            }
        }
    }

    /// Discovers repositories: new ones are queued, known ones re-checked, vanished ones marked
    /// missing (and dropped after the grace period).
    async fn scan(&mut self) -> ScanCounts {
        let shared = self.shared.clone();
        let outcome = tokio::task::spawn_blocking(move || scan::scan_blocking(&shared)).await;
        match outcome {
            Ok(Ok(found)) => {
                let new = found
                    .iter()
                    .filter(|r| r.sync.state == RepoState::New)
                    .count();
                tracing::info!("scan: {} repositories found, {new} new", found.len());
                let now = now_ms();
                for info in &found {
                    if self.queue.contains(info.record.id)
                        || self.active.contains_key(&info.record.id)
                    {
                        continue;
                    }
                    if !policy::retry_later(&info.sync, now) {
                        self.enqueue(info, JobKind::Sync, false);
                    }
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(%e, "scan failed");
                self.shared.record_error("scan", None, &e.to_string());
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
                .map(|r| {
                    r.iter()
                        .filter(|r| r.sync.state == RepoState::Synced)
                        .count() as u64
                })
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
        if !self.active.contains_key(&info.record.id) && info.sync.state != RepoState::Queued {
            let mut state = info.sync.clone();
            policy::queued(&mut state);
            self.shared.save_sync_state(info.record.id, &state);
        }
    }

    fn start_jobs(&mut self) {
        if self.stopping || self.shared.holds_back() {
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
        let Some(info) = self.repository_still_there(job.repo_id) else {
            return;
        };
        // A newer sync's outcome is the one to record.
        self.unrecorded.remove(&job.repo_id);
        let cancel = Arc::new(AtomicBool::new(false));
        self.active.insert(
            job.repo_id,
            Active {
                cancel: cancel.clone(),
            },
        );
        let mut state = info.sync.clone();
        state.state = RepoState::Syncing;
        self.shared.save_sync_state(job.repo_id, &state);
        let started = super::shared::rfc3339_ms(now_ms());
        self.shared.set_progress(job.repo_id, |p| {
            *p = crate::activity::SyncActivity {
                name: job.name.clone(),
                path: job.path.display().to_string(),
                started,
                ..Default::default()
            }
        });
        let shared = self.shared.clone();
        let done = self.done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = job::run(&shared, &job, &cancel);
            let _ = done.send(Done {
                repo_id: job.repo_id,
                result,
                kind: job.kind,
                told: false,
            });
        });
    }

    /// The repository as the store has it: `Ok(None)` when it was removed, `Err` when the
    /// store cannot say now (logged).
    fn repository(&self, repo_id: i64) -> Result<Option<RepositoryInfo>, ()> {
        self.shared.store.repository_state(repo_id).map_err(|e| {
            tracing::warn!(%e, repo_id, "cannot read the repository's state; trying again soon");
        })
    }

    /// The repository, unless it was removed (then it is no longer watched) or the store
    /// cannot say now (then it is walked again later).
    fn repository_still_there(&mut self, repo_id: i64) -> Option<RepositoryInfo> {
        match self.repository(repo_id) {
            Ok(Some(info)) => Some(info),
            Ok(None) => {
                if let Some(w) = self.watcher.as_mut() {
                    w.unwatch(repo_id);
                }
                None
            }
            Err(()) => {
                self.look_again_later(repo_id);
                None
            }
        }
    }

    fn on_done(&mut self, mut done: Done) {
        #[cfg(debug_assertions)]
        self.injected_panic(done.repo_id);
        self.active.remove(&done.repo_id);
        self.shared.end_progress(done.repo_id);
        let looked = self.repository(done.repo_id);
        #[cfg(debug_assertions)]
        let looked = self.injected_store_away(done.repo_id).map_or(looked, Err);
        let info = match looked {
            Ok(Some(info)) => info,
            Ok(None) => return,
            Err(()) => {
                // The log does not wait for the store: a newer sync may replace this outcome
                // before the store takes it, and the failure must still be seen.
                if let (Err(error), false) = (&done.result, done.told) {
                    tracing::warn!(repo_id = done.repo_id, %error, "sync failed; recorded when the store answers");
                    done.told = true;
                }
                let at = Instant::now() + STORE_AWAY_RETRY;
                self.unrecorded.insert(done.repo_id, (at, done));
                return;
            }
        };
        let mut state = info.sync.clone();
        match &done.result {
            Ok(result) => {
                if result.chunks_new > 0 {
                    // New chunks to embed: the next idle moment may start a pass at once.
                    self.embed_not_before = None;
                }
                log_changes(&info, result);
                let watch = policy::succeeded(&mut state, result.success_rate);
                self.shared.metrics(|m| {
                    m.syncs_succeeded += 1;
                    m.files_indexed += result.files_added + result.files_updated;
                    m.chunks_indexed += result.chunks_new;
                    m.sync_ms_last = result.duration_ms;
                    m.sync_ms_max = m.sync_ms_max.max(result.duration_ms);
                    m.sync_ms_total += result.duration_ms;
                });
                self.shared
                    .activity
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .sync_durations
                    .observe(result.duration_ms as f64 / 1000.0);
                // Metrics first: a status that sees the repository synced sees it counted.
                self.shared.save_metrics();
                self.shared.save_sync_state(done.repo_id, &state);
                if watch {
                    self.start_watch(&info);
                }
            }
            Err(SyncNowError::Sync(SyncError::Busy(_))) => {
                // Another worker (or a person's `codeintel index`) syncs it now: its state is
                // that sync's to record. Look again once it is likely done.
                tracing::debug!(repository = %info.record.name, "synced by another worker");
                self.look_again
                    .insert(done.repo_id, Instant::now() + HELD_ELSEWHERE_RETRY);
            }
            Err(SyncNowError::Sync(SyncError::Cancelled)) => {
                // Paused or stopping: keep its place for later.
                state.state = RepoState::Queued;
                self.shared.save_sync_state(done.repo_id, &state);
                if !self.stopping {
                    self.enqueue(&info, done.kind, false);
                }
            }
            Err(error) => {
                let missing = matches!(error, SyncNowError::Sync(SyncError::Missing(_)));
                let away =
                    matches!(&error, SyncNowError::Sync(SyncError::Store(e)) if e.is_transient());
                let delay = policy::failed(&mut state, missing, away, now_ms());
                if done.told {
                    tracing::debug!(repository = %info.record.name, retry_in = ?delay, "sync failure recorded");
                } else {
                    tracing::warn!(repository = %info.record.name, %error, retry_in = ?delay, "sync failed");
                }
                self.shared.metrics(|m| m.syncs_failed += 1);
                self.shared
                    .record_error("sync", Some(&info.record.name), &error.to_string());
                self.shared.save_metrics();
                self.shared.save_sync_state(done.repo_id, &state);
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
        let watch = match outcome {
            Ok(()) => WatchState::Watching,
            Err(e) => {
                tracing::warn!(repository = %info.record.name, %e, "not watched; re-checked every sync_interval instead");
                self.shared.metrics(|m| m.watch_fallbacks += 1);
                WatchState::Polling
            }
        };
        if let Ok(Some(current)) = self.repository(info.record.id) {
            let mut fresh = current.sync;
            fresh.watch = watch;
            self.shared.save_sync_state(info.record.id, &fresh);
        }
    }

    fn on_watch(&mut self, batch: WatchBatch) {
        self.shared.metrics(|m| {
            m.watcher_events += batch.events;
            m.watcher_batches += 1;
        });
        // When the store cannot say, the events are lost: the walk of the whole repository
        // that comes later finds what they said.
        let Some(info) = self.repository_still_there(batch.repo_id) else {
            return;
        };
        if batch.paths.len() >= BURST_PATHS || batch.rescan {
            self.settle
                .insert(batch.repo_id, Instant::now() + BURST_SETTLE);
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

    /// Starts a background embedding pass on the blocking pool (connecting and embedding may
    /// block on a remote provider), unless one runs or the last one asked to wait.
    fn start_embedding(&mut self) {
        let slot = self.shared.embedder.clone();
        if slot.get().is_none() && !slot.may_connect() {
            return;
        }
        let waiting = self.embed_not_before.is_some_and(|t| Instant::now() < t);
        if self.embedding.is_some() || waiting {
            return;
        }
        let cancel = Arc::new(AtomicBool::new(false));
        self.embedding = Some(cancel.clone());
        let shared = self.shared.clone();
        let done = self.embed_done_tx.clone();
        tokio::task::spawn_blocking(move || {
            let wait = embedding::pass(&shared, &slot, &cancel);
            let _ = done.send(wait);
        });
    }

    /// After a burst, walk the repository once more when the burst has been quiet for a while
    /// (the kernel may have dropped events).
    fn settle_bursts(&mut self) {
        for (id, manual) in due(&mut self.settle, true)
            .into_iter()
            .chain(due(&mut self.look_again, false))
        {
            // A burst's walk waits for the sync in flight; a look at another worker's
            // repository is moot when one is already coming.
            if !manual && (self.queue.contains(id) || self.active.contains_key(&id)) {
                continue;
            }
            match self.repository(id) {
                Ok(Some(info)) => self.enqueue(&info, JobKind::Sync, manual),
                Ok(None) => {}
                Err(()) => self.look_again_later(id),
            }
        }
    }

    /// Records the outcomes the store could not take when their syncs ended, once their
    /// time to try again has come.
    fn record_unrecorded(&mut self) {
        let now = Instant::now();
        let ready: Vec<i64> = (self.unrecorded.iter())
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, _)| *id)
            .collect();
        for id in ready {
            if let Some((_, done)) = self.unrecorded.remove(&id) {
                self.on_done(done);
            }
        }
    }

    fn look_again_later(&mut self, repo_id: i64) {
        self.look_again
            .insert(repo_id, Instant::now() + STORE_AWAY_RETRY);
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
            if let Ok(Some(info)) = self.repository(job.repo_id) {
                let mut state = info.sync;
                policy::queued(&mut state);
                self.shared.save_sync_state(job.repo_id, &state);
            }
        }
        self.watcher = None;
        self.shared.save_metrics();
        let activity = self.shared.live_activity(Vec::new(), 0, None);
        self.shared.publish_activity(&activity);
    }
}

#[cfg(debug_assertions)]
impl Syncer {
    /// Test hook, in debug builds only: `CODEINTEL_TEST_SCHEDULER_PANIC=name` makes the
    /// scheduler panic once, as that repository's first sync ends, so its recovery can be
    /// tested on a real process.
    fn injected_panic(&self, repo_id: i64) {
        let Ok(name) = std::env::var("CODEINTEL_TEST_SCHEDULER_PANIC") else {
            return;
        };
        let named = matches!(self.repository(repo_id), Ok(Some(info)) if info.record.name == name);
        if named && !self.shared.injected_panic.swap(true, Ordering::SeqCst) {
            panic!("injected scheduler panic (CODEINTEL_TEST_SCHEDULER_PANIC={name})");
        }
    }
}

#[cfg(debug_assertions)]
impl Syncer {
    /// Test hook, in debug builds only: `CODEINTEL_TEST_STORE_AWAY_AT_DONE=name` makes the
    /// store look unreachable once, as that repository's first sync ends, so that keeping
    /// its outcome to record later can be tested on a real process.
    fn injected_store_away(&self, repo_id: i64) -> Option<()> {
        let name = std::env::var("CODEINTEL_TEST_STORE_AWAY_AT_DONE").ok()?;
        let named = matches!(self.repository(repo_id), Ok(Some(info)) if info.record.name == name);
        (named && !self.shared.injected_away.swap(true, Ordering::SeqCst)).then_some(())
    }
}

/// Logs a sync that changed something (an unchanged re-check stays quiet).
fn log_changes(info: &RepositoryInfo, result: &SyncResult) {
    let changed =
        result.files_added + result.files_updated + result.files_deleted + result.files_renamed;
    if changed > 0 {
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
}

/// Takes the repositories of `waiting` whose time has come, each with `manual`.
fn due(waiting: &mut HashMap<i64, Instant>, manual: bool) -> Vec<(i64, bool)> {
    let now = Instant::now();
    let ids: Vec<i64> = waiting
        .iter()
        .filter(|(_, at)| **at <= now)
        .map(|(id, _)| *id)
        .collect();
    for id in &ids {
        waiting.remove(id);
    }
    ids.into_iter().map(|id| (id, manual)).collect()
}
