//! Auto-sync: repositories are found, indexed and kept current with no one asking.
//!
//! [`AutoSyncManager`] runs a scan loop (discovery every `scan_interval`), a priority queue with
//! at most `max_concurrent` workers ([`codeintel_index::RepositorySync`] jobs, retried with
//! backoff), and a file watcher whose debounced events become incremental syncs of just the
//! changed files. Its state lives in the store, so every process reports the same truth and a
//! restart resumes; a [`Coordination`] (for the embedded store an OS file lock, [`SyncLock`])
//! makes exactly one process the syncer.

#![deny(missing_docs)]

mod activity;
mod config;
mod lock;
mod manager;
mod queue;
mod status;
mod sync_now;
mod watcher;

pub use activity::{
    Activity, DurationHistogram, ErrorEntry, SyncActivity, ERRORS_KEPT, QUEUE_SHOWN,
    SYNC_BUCKETS_SECONDS,
};
pub use config::{
    parse_bool, parse_size, split_list, AutoSyncConfig, ConfigError, ConfigUpdate, Flag, Kind,
    Scope, Setting, SETTINGS,
};
pub use lock::SyncLock;
pub use manager::{
    forget_removal, policy, AutoSyncManager, Coordination, FileLock, Held, ManagerError,
    RemovedRepository, ScanCounts, MISSING_GRACE, RETRY_BASE, RETRY_MAX,
};
pub use queue::{Job, JobKind, Priority, SyncQueue, MAX_PATHS_PER_JOB};
pub use status::{EmbeddingStatus, Metrics, RepositoryStatus, Status, StatusConfig};
pub use sync_now::{SyncNow, SyncNowError, SyncedNow};
pub use watcher::{RepoWatcher, WatchBatch, WatchError, DEBOUNCE};
