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
    /// When the syncer wrote it (ms since the epoch; rewritten every few seconds while it
    /// lives, so another machine can tell a live indexer from a gone one).
    #[serde(default)]
    pub published_ms: i64,
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

    /// The activities of several indexers (one store on PostgreSQL) as one: the running
    /// syncs, queues and watches of the live ones (`true` beside each), the errors and
    /// durations of all; the counts by state of the live one that wrote last.
    pub fn merged(parts: impl IntoIterator<Item = (Activity, bool)>) -> Activity {
        let mut all = Activity::default();
        let mut counted_at = None;
        for (part, live) in parts {
            all.errors.extend(part.errors);
            for (kind, n) in part.errors_by_kind {
                *all.errors_by_kind.entry(kind).or_default() += n;
            }
            all.sync_durations.add(&part.sync_durations);
            all.states_version += part.states_version;
            all.published_ms = all.published_ms.max(part.published_ms);
            if !live {
                continue;
            }
            all.syncing.extend(part.syncing);
            all.queue.extend(part.queue);
            all.queue_len += part.queue_len;
            all.watched_repositories += part.watched_repositories;
            all.next_scan = match (all.next_scan.take(), part.next_scan) {
                (Some(a), Some(b)) => Some(a.min(b)), // RFC 3339 in UTC: in time order
                (a, b) => a.or(b),
            };
            if counted_at.is_none_or(|at| part.published_ms > at) {
                counted_at = Some(part.published_ms);
                all.repositories_by_state = part.repositories_by_state;
            }
        }
        all.queue.truncate(QUEUE_SHOWN);
        all.errors.sort_by(|a, b| a.time.cmp(&b.time));
        let extra = all.errors.len().saturating_sub(ERRORS_KEPT);
        all.errors.drain(..extra);
        all
    }
}

impl DurationHistogram {
    /// Adds `other`'s observations (one of another bucket layout is left out).
    fn add(&mut self, other: &DurationHistogram) {
        if other.counts.len() != self.counts.len() {
            return;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.sum_seconds += other.sum_seconds;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexers_activities_merge_live_work_and_every_error() {
        let sync = |name: &str| SyncActivity {
            name: name.into(),
            ..SyncActivity::default()
        };
        let mut a = Activity {
            syncing: vec![sync("a1")],
            queue: vec!["a2".into()],
            queue_len: 1,
            next_scan: Some("2026-12-02T10:00:00.000Z".into()),
            repositories_by_state: [("synced".to_string(), 3)].into(),
            watched_repositories: 2,
            states_version: 5,
            published_ms: 100,
            ..Activity::default()
        };
        a.error(
            "2026-12-02T09:00:02.000Z".into(),
            "sync",
            Some("a1"),
            "late",
        );
        a.sync_durations.observe(0.02);
        let mut b = Activity {
            syncing: vec![sync("b1")],
            queue_len: 4,
            next_scan: Some("2026-12-02T09:30:00.000Z".into()),
            repositories_by_state: [("synced".to_string(), 4)].into(),
            watched_repositories: 1,
            states_version: 7,
            published_ms: 200,
            ..Activity::default()
        };
        b.error("2026-12-02T09:00:01.000Z".into(), "scan", None, "early");
        b.sync_durations.observe(0.02);
        let mut gone = Activity {
            syncing: vec![sync("stale")],
            queue_len: 9,
            published_ms: 300,
            ..Activity::default()
        };
        gone.error("2026-12-02T08:00:00.000Z".into(), "sync", None, "old");
        let all = Activity::merged([(a, true), (b, true), (gone, false)]);
        let names: Vec<&str> = all.syncing.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a1", "b1"]);
        assert_eq!(
            (all.queue.as_slice(), all.queue_len),
            (&["a2".to_string()][..], 5)
        );
        assert_eq!(all.next_scan.as_deref(), Some("2026-12-02T09:30:00.000Z"));
        assert_eq!(all.repositories_by_state.get("synced"), Some(&4));
        assert_eq!(all.watched_repositories, 3);
        assert_eq!(all.states_version, 12);
        let messages: Vec<&str> = all.errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(messages, ["old", "early", "late"]);
        assert_eq!(all.errors_by_kind.get("sync"), Some(&2));
        assert_eq!(all.sync_durations.count(), 2);
    }

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
