//! Auto-sync's rules as pure functions of a repository's state and the time: when a scan or a
//! re-check is due, how long a failure waits, what a finished sync leaves behind. No I/O and no
//! clock of their own (the caller passes `now`, wall-clock milliseconds), so every rule is
//! tested on a fake clock.

use codeintel_index::{RepoState, SyncState, WatchState};
use std::time::Duration;

/// First retry delay after a failed sync; doubles with each further failure.
pub const RETRY_BASE: Duration = Duration::from_secs(300);
/// Longest retry delay.
pub const RETRY_MAX: Duration = Duration::from_secs(3600);
/// First retry delay after a sync failed because the store's database was away (restarting,
/// unreachable); doubles up to [`RETRY_BASE`], so a sync completes soon after it is back.
pub const STORE_RETRY_BASE: Duration = Duration::from_secs(10);
/// How long the index of a vanished repository is kept in case its folder comes back.
pub const MISSING_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Success rate (percent) a sync needs before its repository is watched.
pub const WATCH_MIN_SUCCESS: f64 = 90.0;
/// A recorded time this far ahead of now means the clock jumped back.
const CLOCK_JUMP_MS: i64 = 60_000;

fn ms(d: Duration) -> i64 {
    d.as_millis().min(i64::MAX as u128) as i64
}

/// How long a repository waits after its `failures`-th failure in a row.
pub fn retry_delay(failures: u32) -> Duration {
    RETRY_BASE
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(RETRY_MAX)
}

/// Whether a discovery scan is due. A last scan in the future means the clock jumped back:
/// scan now rather than wait for the clock to catch up.
pub fn scan_due(last_scan_ms: Option<i64>, now: i64, interval: Duration) -> bool {
    last_scan_ms.is_none_or(|t| t > now + CLOCK_JUMP_MS || now - t >= ms(interval))
}

/// Whether a repository needs a sync it was not asked for: synced and unwatched past the
/// re-check interval (or synced "in the future": the clock jumped), or failed with its retry
/// due.
pub fn recheck_due(
    sync: &SyncState,
    last_sync_ms: Option<i64>,
    now: i64,
    interval: Duration,
) -> bool {
    match sync.state {
        RepoState::Synced => {
            sync.watch != WatchState::Watching
                && last_sync_ms.is_none_or(|t| t > now || now - t >= ms(interval))
        }
        RepoState::Failed => sync.next_retry_ms.is_none_or(|t| t <= now),
        _ => false,
    }
}

/// Whether a failed repository's retry is still ahead (a scan does not queue it yet).
pub fn retry_later(sync: &SyncState, now: i64) -> bool {
    sync.state == RepoState::Failed && sync.next_retry_ms.is_some_and(|t| t > now)
}

/// Whether a repository missing since `since` has been gone for the grace period.
pub fn missing_expired(since: i64, now: i64) -> bool {
    now - since >= ms(MISSING_GRACE)
}

/// A scan found the repository (`size` bytes of code, newest change at `last_modified_ms`).
/// One that was missing is queued again; one that was only indexed by hand starts as new.
pub fn found(sync: &mut SyncState, size: u64, last_modified_ms: Option<i64>) {
    if !sync.auto || sync.state == RepoState::Missing {
        sync.state = if sync.auto && sync.state == RepoState::Missing {
            RepoState::Queued
        } else {
            RepoState::New
        };
    }
    sync.auto = true;
    sync.missing_since_ms = None;
    sync.size = Some(size);
    sync.last_modified_ms = last_modified_ms;
}

/// A scan did not find a repository it had found before: missing from `now` on (or since it
/// first went missing).
pub fn vanished(sync: &mut SyncState, now: i64) {
    sync.state = RepoState::Missing;
    sync.missing_since_ms = Some(sync.missing_since_ms.unwrap_or(now));
}

/// Queued for a sync. A never-synced repository stays `new` until its first sync starts.
pub fn queued(sync: &mut SyncState) {
    if sync.state != RepoState::New {
        sync.state = RepoState::Queued;
    }
}

/// A sync succeeded with `success_rate` percent of files read. Returns whether the repository
/// should be watched from now on.
pub fn succeeded(sync: &mut SyncState, success_rate: f64) -> bool {
    let unwatched = sync.watch != WatchState::Watching;
    sync.state = RepoState::Synced;
    sync.failures = 0;
    sync.next_retry_ms = None;
    unwatched && success_rate > WATCH_MIN_SUCCESS
}

/// How long a repository waits after its `failures`-th failure in a row when the store was
/// away: far sooner than a failure of the repository itself.
pub fn store_retry_delay(failures: u32) -> Duration {
    STORE_RETRY_BASE
        .saturating_mul(1 << failures.saturating_sub(1).min(10))
        .min(RETRY_BASE)
}

/// A sync failed (`missing`: its folder is gone; `store_away`: the store's database could not
/// be reached). Returns how long until the retry.
pub fn failed(sync: &mut SyncState, missing: bool, store_away: bool, now: i64) -> Duration {
    sync.failures += 1;
    let delay = if store_away {
        store_retry_delay(sync.failures)
    } else {
        retry_delay(sync.failures)
    };
    sync.next_retry_ms = Some(now + ms(delay));
    if missing {
        sync.state = RepoState::Missing;
        sync.missing_since_ms.get_or_insert(now);
    } else {
        sync.state = RepoState::Failed;
    }
    delay
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;
    const T0: i64 = 1_800_000_000_000;

    fn state(state: RepoState, watch: WatchState) -> SyncState {
        SyncState {
            state,
            watch,
            auto: true,
            ..SyncState::default()
        }
    }

    #[test]
    fn retries_wait_five_minutes_doubling_up_to_an_hour() {
        let minutes: Vec<u64> = (1..=6).map(|f| retry_delay(f).as_secs() / 60).collect();
        assert_eq!(minutes, [5, 10, 20, 40, 60, 60]);
        assert_eq!(retry_delay(u32::MAX), RETRY_MAX);
        let mut s = state(RepoState::Syncing, WatchState::Off);
        assert_eq!(failed(&mut s, false, false, T0), RETRY_BASE);
        assert_eq!((s.state, s.failures), (RepoState::Failed, 1));
        assert!(retry_later(&s, T0 + 4 * MIN));
        assert!(!retry_later(&s, T0 + 5 * MIN));
        assert!(!recheck_due(
            &s,
            None,
            T0 + 4 * MIN,
            Duration::from_secs(300)
        ));
        assert!(recheck_due(
            &s,
            None,
            T0 + 5 * MIN,
            Duration::from_secs(300)
        ));
        assert_eq!(failed(&mut s, false, false, T0 + 5 * MIN), 2 * RETRY_BASE);
    }

    #[test]
    fn a_store_that_was_away_is_retried_within_seconds_doubling_up_to_five_minutes() {
        let seconds: Vec<u64> = (1..=7).map(|f| store_retry_delay(f).as_secs()).collect();
        assert_eq!(seconds, [10, 20, 40, 80, 160, 300, 300]);
        let mut s = state(RepoState::Syncing, WatchState::Off);
        assert_eq!(failed(&mut s, false, true, T0), STORE_RETRY_BASE);
        assert_eq!((s.state, s.failures), (RepoState::Failed, 1));
        assert!(retry_later(&s, T0 + 9_000));
        assert!(!retry_later(&s, T0 + 10_000));
        assert!(recheck_due(&s, None, T0 + 10_000, Duration::from_secs(300)));
        // A repository's own failure after that waits as before.
        assert_eq!(failed(&mut s, false, false, T0 + MIN), 2 * RETRY_BASE);
    }

    #[test]
    fn scans_are_due_by_interval_or_after_a_clock_jump() {
        let hour = Duration::from_secs(3600);
        assert!(scan_due(None, T0, hour));
        assert!(!scan_due(Some(T0), T0 + 59 * MIN, hour));
        assert!(scan_due(Some(T0), T0 + 60 * MIN, hour));
        // The clock went back two hours: the last scan is "in the future".
        assert!(scan_due(Some(T0), T0 - 120 * MIN, hour));
        assert!(!scan_due(Some(T0), T0 - MIN / 2, hour));
    }

    #[test]
    fn only_unwatched_synced_repositories_are_rechecked_by_time() {
        let five = Duration::from_secs(300);
        let watched = state(RepoState::Synced, WatchState::Watching);
        assert!(!recheck_due(&watched, Some(T0), T0 + 60 * MIN, five));
        let polled = state(RepoState::Synced, WatchState::Polling);
        assert!(!recheck_due(&polled, Some(T0), T0 + 4 * MIN, five));
        assert!(recheck_due(&polled, Some(T0), T0 + 5 * MIN, five));
        assert!(
            recheck_due(&polled, Some(T0 + MIN), T0, five),
            "synced in the future"
        );
        let syncing = state(RepoState::Syncing, WatchState::Off);
        assert!(!recheck_due(&syncing, None, T0, five));
    }

    #[test]
    fn missing_repositories_are_kept_for_the_grace_period() {
        let mut s = state(RepoState::Synced, WatchState::Off);
        vanished(&mut s, T0);
        vanished(&mut s, T0 + MIN);
        assert_eq!(
            (s.state, s.missing_since_ms),
            (RepoState::Missing, Some(T0))
        );
        assert!(!missing_expired(T0, T0 + ms(MISSING_GRACE) - 1));
        assert!(missing_expired(T0, T0 + ms(MISSING_GRACE)));
        // Back before the grace period ends: queued again, the index kept.
        found(&mut s, 10, Some(T0));
        assert_eq!((s.state, s.missing_since_ms), (RepoState::Queued, None));
    }

    #[test]
    fn a_hand_indexed_repository_found_by_a_scan_starts_as_new() {
        let mut s = SyncState {
            state: RepoState::Synced,
            ..SyncState::default()
        };
        found(&mut s, 42, Some(T0));
        assert_eq!((s.state, s.auto, s.size), (RepoState::New, true, Some(42)));
        queued(&mut s);
        assert_eq!(s.state, RepoState::New, "new until its first sync starts");
        let mut synced = state(RepoState::Synced, WatchState::Off);
        found(&mut synced, 42, None);
        assert_eq!(
            synced.state,
            RepoState::Synced,
            "known ones keep their state"
        );
        queued(&mut synced);
        assert_eq!(synced.state, RepoState::Queued);
    }

    #[test]
    fn a_good_first_sync_starts_watching_a_poor_one_does_not() {
        let mut s = state(RepoState::Syncing, WatchState::Off);
        s.failures = 3;
        s.next_retry_ms = Some(T0);
        assert!(succeeded(&mut s, 95.0));
        assert_eq!(
            (s.state, s.failures, s.next_retry_ms),
            (RepoState::Synced, 0, None)
        );
        let mut poor = state(RepoState::Syncing, WatchState::Off);
        assert!(!succeeded(&mut poor, 80.0));
        let mut watched = state(RepoState::Syncing, WatchState::Watching);
        assert!(!succeeded(&mut watched, 100.0), "already watched");
        let mut gone = state(RepoState::Syncing, WatchState::Off);
        failed(&mut gone, true, false, T0);
        assert_eq!(
            (gone.state, gone.missing_since_ms),
            (RepoState::Missing, Some(T0))
        );
    }
}
