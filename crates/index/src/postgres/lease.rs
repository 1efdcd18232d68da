//! Repository leases: one sync of a repository at a time, among every indexer on every machine
//! that writes into the database.
//!
//! A lease is a row of `repository_leases` (repository, holder, expiry). Taking one succeeds
//! when there is none or the one there has expired; its holder renews it every
//! [`RENEW_EVERY`] on a connection of its own and deletes it when the sync ends. A holder that
//! dies (kill -9, a lost machine) stops renewing, and [`LEASE`] later another indexer takes the
//! repository over and finishes it from what was committed. Every batch of a sync checks, in
//! its own transaction, that no one else holds a live lease on its repository (and keeps the
//! row locked until it commits): a holder that stalled past its expiry cannot write over the
//! sync that took its place.

use super::{blocking, connect, StoreError};
use crate::store::{RepositoryLock, Result};
use postgres::{Client, GenericClient};
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

/// How long a lease lasts without renewal: a dead holder's repositories wait at most this
/// long for another indexer.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often a live holder renews its leases.
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// The leases this process holds, by repository: each sync's own holder name, so two syncs of
/// one repository in one process exclude each other as two processes do.
#[derive(Default)]
pub(super) struct Leases {
    /// `host:pid:start`, this process among all indexers.
    worker: String,
    taken: AtomicU64,
    held: Arc<Mutex<FxHashMap<i64, String>>>,
}

impl Leases {
    pub(super) fn new() -> Leases {
        Leases {
            worker: format!(
                "{}:{}:{}",
                crate::store::host_name(),
                std::process::id(),
                crate::store::now_ns()
            ),
            ..Leases::default()
        }
    }

    /// Takes repository `repo_id`'s lease on a new connection (`connect`), unless another
    /// holder's lease on it is live: then `None`.
    ///
    /// A lease of this process that no sync of it holds any more is taken at once, live or
    /// not: its sync ended while the database was away, so the row could not be deleted, and
    /// this process knows that no one is behind it (other indexers wait for its expiry).
    pub(super) fn try_take(
        &self,
        repo_id: i64,
        connect: impl FnOnce() -> std::result::Result<Client, postgres::Error>,
    ) -> Result<Option<RepositoryLock>> {
        let holder = format!(
            "{}#{}",
            self.worker,
            self.taken.fetch_add(1, Ordering::Relaxed)
        );
        // Reserved first: two syncs of one repository in this process must not both see
        // this process's leftover as theirs to take.
        {
            let mut held = self.lock_held();
            if held.contains_key(&repo_id) {
                return Ok(None);
            }
            held.insert(repo_id, holder.clone());
        }
        let taken = blocking(|| -> Result<Option<Client>> {
            let mut client = connect()?;
            let row = client.query_opt(
                "INSERT INTO repository_leases (repo_id, holder, expires_at)
                 VALUES ($1, $2, now() + make_interval(secs => $3))
                 ON CONFLICT (repo_id) DO UPDATE
                    SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
                    WHERE repository_leases.expires_at < now()
                       OR starts_with(repository_leases.holder, $4)
                 RETURNING 1",
                &[
                    &repo_id,
                    &holder,
                    &LEASE.as_secs_f64(),
                    &format!("{}#", self.worker),
                ],
            )?;
            Ok(row.map(|_| client))
        });
        let client = match taken {
            Ok(Some(client)) => client,
            other => {
                self.lock_held().remove(&repo_id);
                return other.map(|_| None);
            }
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let held = self.held.clone();
        let renewer = std::thread::Builder::new()
            .name(format!("lease-{repo_id}"))
            .spawn(move || renew_until_dropped(client, repo_id, &holder, &stopped, &held))
            .map_err(|e| StoreError::Unavailable(format!("cannot start a lease thread: {e}")))?;
        Ok(Some(RepositoryLock::new(Some(Box::new(Held {
            stop: Some(stop),
            renewer: Some(renewer),
        })))))
    }

    /// Fails when someone other than this process's sync of `repo_id` holds a live lease on
    /// it; otherwise keeps the lease row locked until `tx` ends, so a takeover waits for the
    /// batch in flight.
    pub(super) fn check(&self, tx: &mut impl GenericClient, repo_id: i64) -> Result<()> {
        let ours = self.lock_held().get(&repo_id).cloned();
        let row = tx.query_opt(
            "SELECT holder, expires_at > now() FROM repository_leases WHERE repo_id = $1
             FOR SHARE",
            &[&repo_id],
        )?;
        match row {
            Some(row) if row.get::<_, bool>(1) && Some(row.get::<_, String>(0)) != ours => {
                Err(StoreError::Unavailable(format!(
                    "repository {repo_id} is being synced by {} (this sync's lease ran out)",
                    row.get::<_, String>(0)
                )))
            }
            _ => Ok(()),
        }
    }

    fn lock_held(&self) -> std::sync::MutexGuard<'_, FxHashMap<i64, String>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A taken lease: dropping it stops the renewals and deletes the row (the drop waits for that,
/// so the next sync of the repository can take it at once).
struct Held {
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(renewer) = self.renewer.take() {
            blocking(|| {
                let _ = renewer.join();
            });
        }
    }
}

fn renew_until_dropped(
    mut client: Client,
    repo_id: i64,
    holder: &str,
    stopped: &mpsc::Receiver<()>,
    held: &Mutex<FxHashMap<i64, String>>,
) {
    while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(RENEW_EVERY) {
        let renewed = client.execute(
            "UPDATE repository_leases SET expires_at = now() + make_interval(secs => $3)
             WHERE repo_id = $1 AND holder = $2",
            &[&repo_id, &holder, &LEASE.as_secs_f64()],
        );
        match renewed {
            Ok(1) => {}
            Ok(_) => tracing::warn!(repo_id, "the repository's lease was taken over"),
            Err(e) => tracing::warn!(%e, repo_id, "cannot renew the repository's lease"),
        }
    }
    held.lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|id, h| *id != repo_id || h != holder);
    if let Err(e) = client.execute(
        "DELETE FROM repository_leases WHERE repo_id = $1 AND holder = $2",
        &[&repo_id, &holder],
    ) {
        tracing::debug!(%e, repo_id, "lease left to expire");
    }
}

/// Waits for repository `repo_id`'s lease (polling: a holder may be on another machine).
pub(super) fn wait_for(
    mut try_take: impl FnMut() -> Result<Option<RepositoryLock>>,
    repo_id: i64,
) -> Result<RepositoryLock> {
    let mut said = false;
    loop {
        if let Some(lock) = try_take()? {
            return Ok(lock);
        }
        if !said {
            tracing::info!(
                repo_id,
                "waiting for another indexer's sync of the repository"
            );
            said = true;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `connect` as [`Leases::try_take`] wants it.
pub(super) fn connector<'a>(
    config: &'a postgres::Config,
    tls: Option<&'a tokio_postgres_rustls::MakeRustlsConnect>,
) -> impl FnOnce() -> std::result::Result<Client, postgres::Error> + 'a {
    move || connect(config, tls)
}
