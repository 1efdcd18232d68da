//! What `get_status` reports, as plain serializable data.

use serde::{Deserialize, Serialize};

/// The status contract: the plan's keys plus `paused`, `repositories` and `metrics`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Status {
    /// The configuration's switch.
    pub enabled: bool,
    /// Whether a syncer process (this one or another) is alive and holds the sync lock.
    pub running: bool,
    /// When the last scan ran (RFC 3339), if ever.
    pub last_scan: Option<String>,
    /// Repositories waiting for a sync (new or queued).
    pub queued_repos: u64,
    /// Syncs running.
    pub active_syncs: u64,
    /// Repositories synced.
    pub synced_repos: u64,
    /// The configuration the syncer runs with.
    pub config: StatusConfig,
    /// Auto-sync is paused (`enabled` stays as configured).
    pub paused: bool,
    /// Process id of the syncer, when one runs.
    pub syncer_pid: Option<u32>,
    /// Every repository's state.
    pub repositories: Vec<RepositoryStatus>,
    /// The syncer's counters.
    pub metrics: Metrics,
    /// Embedding progress, when an embedding model is configured.
    #[serde(default)]
    pub embeddings: Option<EmbeddingStatus>,
    /// Where the index is: the SQLite file, or the PostgreSQL URL without its password.
    #[serde(default)]
    pub store: String,
}

/// How far the background embedding is.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EmbeddingStatus {
    /// The model's id.
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

/// The configuration, as the status shows it: one field per setting of
/// [`Scope::Config`](crate::Scope::Config), named by its key (a test checks it), plus the
/// removed repositories.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusConfig {
    /// Seconds between scans.
    pub scan_interval: u64,
    /// Seconds between re-checks of unwatched repositories.
    pub sync_interval: u64,
    /// Repositories synced at once.
    pub max_concurrent: usize,
    /// Folders scanned.
    pub scan_paths: Vec<String>,
    /// Extra excludes.
    pub exclude_patterns: Vec<String>,
    /// Languages synced first.
    pub priority_languages: Vec<String>,
    /// Bytes above which a repository syncs last.
    pub size_threshold: u64,
    /// Whether synced repositories are watched.
    pub auto_watch: bool,
    /// Repositories a person removed: scans leave them out until they are indexed again.
    #[serde(default)]
    pub removed_repositories: Vec<String>,
}

/// One repository's state in the status.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RepositoryStatus {
    /// Its folder.
    pub path: String,
    /// Its name.
    pub name: String,
    /// `new`, `queued`, `syncing`, `synced`, `failed` or `missing`.
    pub state: String,
    /// Its main language.
    pub language: Option<String>,
    /// Files indexed.
    pub files: u64,
    /// Chunks indexed.
    pub chunks: u64,
    /// RFC 3339 with milliseconds.
    pub last_sync: Option<String>,
    /// A watcher covers it.
    pub watched: bool,
    /// `off`, `watching` or `polling` (watch limit reached: periodic re-checks instead).
    pub watch: String,
    /// The last sync's error, if it failed.
    pub last_error: Option<String>,
    /// Failed syncs in a row.
    pub failures: u32,
    /// When a failed sync is retried (RFC 3339).
    pub next_retry: Option<String>,
    /// Bytes of code, as discovery last saw them.
    pub size: Option<u64>,
    /// Indexed repositories this one depends on (by its manifests), by name.
    pub depends_on: Vec<String>,
    /// Indexed repositories that depend on this one, by name.
    pub used_by: Vec<String>,
}

/// Counters of the syncer, persisted so any process can report them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metrics {
    /// Repositories the last scan found.
    pub repos_found: u64,
    /// Scans run.
    pub scans: u64,
    /// Syncs that succeeded.
    pub syncs_succeeded: u64,
    /// Syncs that failed.
    pub syncs_failed: u64,
    /// Files added or updated by syncs.
    pub files_indexed: u64,
    /// Chunks written by syncs.
    pub chunks_indexed: u64,
    /// Duration of the last sync (ms).
    pub sync_ms_last: u64,
    /// Longest sync (ms).
    pub sync_ms_max: u64,
    /// All syncs together (ms).
    pub sync_ms_total: u64,
    /// File events the watcher reported.
    pub watcher_events: u64,
    /// Batches those events became.
    pub watcher_batches: u64,
    /// Repositories re-checked by time because the OS refused a watch.
    pub watch_fallbacks: u64,
    /// Errors of any kind (failed syncs, scans, embedding passes, state writes).
    pub errors: u64,
    /// Chunks the background worker embedded.
    #[serde(default)]
    pub chunks_embedded: u64,
}

impl Metrics {
    /// The metrics of several indexers of one store as one: counts added up; the longest
    /// sync and the repositories a scan found the most of any (indexers of a shared mount
    /// find the same ones); the last sync's duration `last`'s (this process's when it
    /// syncs, else the first one's).
    pub fn merged(parts: &[Metrics], last: Option<&Metrics>) -> Metrics {
        let mut all = Metrics::default();
        for m in parts {
            all.repos_found = all.repos_found.max(m.repos_found);
            all.scans += m.scans;
            all.syncs_succeeded += m.syncs_succeeded;
            all.syncs_failed += m.syncs_failed;
            all.files_indexed += m.files_indexed;
            all.chunks_indexed += m.chunks_indexed;
            all.sync_ms_max = all.sync_ms_max.max(m.sync_ms_max);
            all.sync_ms_total += m.sync_ms_total;
            all.watcher_events += m.watcher_events;
            all.watcher_batches += m.watcher_batches;
            all.watch_fallbacks += m.watch_fallbacks;
            all.errors += m.errors;
            all.chunks_embedded += m.chunks_embedded;
        }
        all.sync_ms_last = last.or(parts.first()).map_or(0, |m| m.sync_ms_last);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Scope, SETTINGS};

    #[test]
    fn indexers_metrics_add_up() {
        let a = Metrics {
            repos_found: 8,
            files_indexed: 10,
            sync_ms_max: 50,
            sync_ms_last: 5,
            errors: 1,
            ..Metrics::default()
        };
        let b = Metrics {
            repos_found: 6,
            files_indexed: 20,
            sync_ms_max: 70,
            sync_ms_last: 7,
            ..Metrics::default()
        };
        let all = Metrics::merged(&[a.clone(), b.clone()], Some(&b));
        assert_eq!(
            (
                all.repos_found,
                all.files_indexed,
                all.sync_ms_max,
                all.sync_ms_last,
                all.errors
            ),
            (8, 30, 70, 7, 1)
        );
        assert_eq!(Metrics::merged(std::slice::from_ref(&a), None), a);
    }

    #[test]
    fn the_status_config_has_a_field_for_each_setting_it_shows() {
        let config = StatusConfig {
            scan_interval: 1,
            sync_interval: 1,
            max_concurrent: 1,
            scan_paths: vec![],
            exclude_patterns: vec![],
            priority_languages: vec![],
            size_threshold: 1,
            auto_watch: true,
            removed_repositories: vec![],
        };
        let json = serde_json::to_value(&config).unwrap();
        let mut fields: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "removed_repositories")
            .collect();
        fields.sort_unstable();
        let mut keys: Vec<&str> = SETTINGS
            .iter()
            .filter(|s| s.scope == Scope::Config)
            .map(|s| s.key)
            .collect();
        keys.sort_unstable();
        assert_eq!(
            fields, keys,
            "the status config and the settings table differ"
        );
        // The settings shown at the top level of the status.
        for s in SETTINGS.iter().filter(|s| s.scope == Scope::TopLevel) {
            assert_eq!(s.key, "enabled", "{} is not a field of Status", s.key);
        }
    }
}
