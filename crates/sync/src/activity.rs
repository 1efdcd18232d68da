//! What the syncer is doing right now, for the status page and `/metrics`: the running syncs
//! with their progress, the queue in order, the next scan, the last errors, and the sync
//! duration histogram. The syncer publishes it through the store (like the metrics), so a
//! server that does not sync shows the same.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Queued repositories listed by name (the rest are only counted).
pub const QUEUE_SHOWN: usize = 50;
/// Errors kept, newest last.
pub const ERRORS_KEPT: usize = 20;
/// Upper bounds of the sync duration buckets, in seconds: a re-check of an unchanged
/// repository takes milliseconds, a first sync of a large one minutes.
pub const SYNC_BUCKETS_SECONDS: [f64; 12] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// The syncer's live view.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Activity {
    /// Syncs running now.
    #[serde(default)]
    pub syncing: Vec<SyncActivity>,
    /// Names of the queued repositories, next first (at most [`QUEUE_SHOWN`]).
    #[serde(default)]
    pub queue: Vec<String>,
    /// Repositories in the queue.
    #[serde(default)]
    pub queue_len: u64,
    /// When the next scan is due (RFC 3339), while auto-sync is enabled and not paused.
    #[serde(default)]
    pub next_scan: Option<String>,
    /// The last errors, newest last.
    #[serde(default)]
    pub errors: Vec<ErrorEntry>,
    /// Every error counted by kind (`sync`, `scan`, `embedding`, `state`).
    #[serde(default)]
    pub errors_by_kind: BTreeMap<String, u64>,
    /// Durations of finished syncs.
    #[serde(default)]
    pub sync_durations: DurationHistogram,
    /// Repositories by state (`new`, `queued`, `syncing`, ...) as the syncer last counted them
    /// (when a state changed, and every few seconds): `/metrics` reads these instead of
    /// listing every repository.
    #[serde(default)]
    pub repositories_by_state: BTreeMap<String, u64>,
    /// Repositories a watcher covers, counted with them.
    #[serde(default)]
    pub watched_repositories: u64,
    /// Grows whenever a repository's state is saved (a sync finished, one was queued): a
    /// page that has the list of this version need not fetch it again.
    #[serde(default)]
    pub states_version: u64,
}

/// One running sync.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct SyncActivity {
    /// The repository's name.
    pub name: String,
    /// Its folder.
    pub path: String,
    /// Files read so far.
    pub done: u64,
    /// Files the sync reads in all (0 while it is still walking).
    pub total: u64,
    /// When it started (RFC 3339).
    pub started: String,
}

/// One error, as the page lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorEntry {
    /// RFC 3339.
    pub time: String,
    /// `sync`, `scan`, `embedding` or `state`.
    pub kind: String,
    /// The repository it concerns, if one.
    pub repository: Option<String>,
    /// What went wrong.
    pub message: String,
}

/// A histogram with fixed buckets ([`SYNC_BUCKETS_SECONDS`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DurationHistogram {
    /// Observations per bucket (not cumulative), one more than the bounds (the last is +Inf).
    pub counts: Vec<u64>,
    /// Sum of the observations, in seconds.
    pub sum_seconds: f64,
}

impl Default for DurationHistogram {
    fn default() -> Self {
        DurationHistogram {
            counts: vec![0; SYNC_BUCKETS_SECONDS.len() + 1],
            sum_seconds: 0.0,
        }
    }
}

impl DurationHistogram {
    /// Counts one observation.
    pub fn observe(&mut self, seconds: f64) {
        // A stored histogram of another bucket layout starts over rather than mislabel counts.
        if self.counts.len() != SYNC_BUCKETS_SECONDS.len() + 1 {
            *self = DurationHistogram::default();
        }
        let bucket = SYNC_BUCKETS_SECONDS
            .iter()
            .position(|&b| seconds <= b)
            .unwrap_or(SYNC_BUCKETS_SECONDS.len());
        self.counts[bucket] += 1;
        self.sum_seconds += seconds;
    }

    /// Observations in all.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// `(upper bound, observations in that bucket alone)` per finite bucket (the
    /// Prometheus encoder sums them up; the +Inf bucket is [`Self::count`]).
    pub fn buckets(&self) -> Vec<(f64, u64)> {
        SYNC_BUCKETS_SECONDS
            .iter()
            .zip(self.counts.iter().chain(std::iter::repeat(&0)))
            .map(|(&bound, &n)| (bound, n))
            .collect()
    }
}

impl Activity {
    /// Records an error of `kind`.
    pub(crate) fn error(
        &mut self,
        time: String,
        kind: &str,
        repository: Option<&str>,
        message: &str,
    ) {
        *self.errors_by_kind.entry(kind.to_string()).or_default() += 1;
        self.errors.push(ErrorEntry {
            time,
            kind: kind.to_string(),
            repository: repository.map(str::to_string),
            message: message.to_string(),
        });
        let extra = self.errors.len().saturating_sub(ERRORS_KEPT);
        self.errors.drain(..extra);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_split_observations_and_errors_are_capped() {
        let mut h = DurationHistogram::default();
        for s in [0.001, 0.07, 0.07, 1000.0] {
            h.observe(s);
        }
        assert_eq!(h.count(), 4);
        let b = h.buckets();
        assert_eq!(b[0], (0.01, 1));
        assert_eq!(b[2], (0.1, 2));
        let finite: u64 = b.iter().map(|(_, n)| n).sum();
        assert_eq!(finite, 3, "1000 s is only in +Inf");
        let mut a = Activity::default();
        for i in 0..(ERRORS_KEPT + 5) {
            a.error("t".into(), "sync", Some("r"), &format!("e{i}"));
        }
        assert_eq!(a.errors.len(), ERRORS_KEPT);
        assert_eq!(a.errors.last().map(|e| e.message.as_str()), Some("e24"));
        assert_eq!(a.errors_by_kind["sync"], 25);
    }
}
