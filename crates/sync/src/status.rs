//! What `get_status` reports, as plain serializable data.

use serde::{Deserialize, Serialize};

/// The status contract: the plan's keys plus `paused`, `repositories` and `metrics`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// The configuration's switch.
    pub enabled: bool,
    /// Whether a syncer process (this one or another) is alive and holds the sync lock.
    pub running: bool,
    pub last_scan: Option<String>,
    pub queued_repos: u64,
    pub active_syncs: u64,
    pub synced_repos: u64,
    pub config: StatusConfig,
    pub paused: bool,
    /// Process id of the syncer, when one runs.
    pub syncer_pid: Option<u32>,
    pub repositories: Vec<RepositoryStatus>,
    pub metrics: Metrics,
    /// Embedding progress, when an embedding model is configured.
    #[serde(default)]
    pub embeddings: Option<EmbeddingStatus>,
}

/// How far the background embedding is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingStatus {
    pub model: String,
    /// Chunks with a vector of the model.
    pub embedded: u64,
    /// Chunks still waiting for one.
    pub pending: u64,
    /// Why embeddings are not being computed (the model did not load, the provider cannot be
    /// reached, the last pass failed); `None` when all is well.
    #[serde(default)]
    pub error: Option<String>,
    /// How the download of the local model went: `downloading 37%`, `installed`, or why it
    /// failed (`offline: ...`); absent when nothing was downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusConfig {
    pub scan_interval: u64,
    pub sync_interval: u64,
    pub max_concurrent: usize,
    pub scan_paths: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub priority_languages: Vec<String>,
    pub size_threshold: u64,
    pub auto_watch: bool,
    /// Repositories a person removed: scans leave them out until they are indexed again.
    #[serde(default)]
    pub removed_repositories: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepositoryStatus {
    pub path: String,
    pub name: String,
    /// `new`, `queued`, `syncing`, `synced`, `failed` or `missing`.
    pub state: String,
    pub language: Option<String>,
    pub files: u64,
    pub chunks: u64,
    /// RFC 3339 with milliseconds.
    pub last_sync: Option<String>,
    pub watched: bool,
    /// `off`, `watching` or `polling` (watch limit reached: periodic re-checks instead).
    pub watch: String,
    pub last_error: Option<String>,
    pub failures: u32,
    pub next_retry: Option<String>,
    pub size: Option<u64>,
}

/// Counters of the syncer, persisted so any process can report them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    pub repos_found: u64,
    pub scans: u64,
    pub syncs_succeeded: u64,
    pub syncs_failed: u64,
    pub files_indexed: u64,
    pub chunks_indexed: u64,
    pub sync_ms_last: u64,
    pub sync_ms_max: u64,
    pub sync_ms_total: u64,
    pub watcher_events: u64,
    pub watcher_batches: u64,
    pub watch_fallbacks: u64,
    pub errors: u64,
    #[serde(default)]
    pub chunks_embedded: u64,
}
