//! Which process syncs: the supervisor waits for the right to run auto-sync and runs the
//! scheduler while it holds it. The right comes from a [`Coordination`]: for the embedded
//! store an OS file lock in the data directory ([`FileLock`]), which the kernel releases however
//! its holder dies; a shared team store will bring its own (leases in the store).

use super::scheduler::Syncer;
use super::shared::{Control, Shared};
use super::ScanCounts;
use crate::lock::SyncLock;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// How often a process without the right asks for it again.
const RETRY: Duration = Duration::from_millis(500);
/// How long a failed scheduler waits before it is started again (a bug that fails at once
/// must not spin).
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Held while this process may sync; dropping it gives the right up.
pub trait Held: Send {
    /// Where the right lives, for the log.
    fn describe(&self) -> String;
}

/// Decides which one process runs auto-sync: at most one holds the right at a time, and the
/// right of a process that dies goes to another.
pub trait Coordination: Send + Sync {
    /// Takes the right if nobody holds it; `None` while another process does.
    fn try_acquire(&self) -> std::io::Result<Option<Box<dyn Held>>>;
    /// The process holding the right (this one included), if any, and its pid when known
    /// (0 when not).
    fn holder(&self) -> Option<u32>;
    /// Who syncs when this process does, the same for every process that shares the right
    /// (this machine and data directory): the key of what it publishes of itself.
    fn worker(&self) -> String;
}

/// The embedded store's coordination: `autosync.lock` in the data directory.
pub struct FileLock {
    data_dir: PathBuf,
}

impl FileLock {
    /// The lock in `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        FileLock { data_dir }
    }
}

impl Held for SyncLock {
    fn describe(&self) -> String {
        self.path().display().to_string()
    }
}

impl Coordination for FileLock {
    fn try_acquire(&self) -> std::io::Result<Option<Box<dyn Held>>> {
        Ok(SyncLock::try_acquire(&self.data_dir)?.map(|lock| Box::new(lock) as Box<dyn Held>))
    }

    fn holder(&self) -> Option<u32> {
        SyncLock::holder(&self.data_dir)
    }

    fn worker(&self) -> String {
        format!(
            "{}:{}",
            codeintel_index::host_name(),
            self.data_dir.display()
        )
    }
}

/// Waits for the right to sync (or shutdown), then runs the scheduler while holding it.
pub(super) async fn supervise(shared: Arc<Shared>, mut control: mpsc::UnboundedReceiver<Control>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        match shared.coordination.try_acquire() {
            Ok(Some(held)) => {
                tracing::info!(lock = %held.describe(), "this process runs auto-sync");
                shared.syncing_here.store(true, Ordering::SeqCst);
                run_schedulers(&shared, &mut control).await;
                shared.syncing_here.store(false, Ordering::SeqCst);
                shared.save_metrics();
                drop(held);
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
            _ = tokio::time::sleep(RETRY) => {}
        }
    }
}

/// Runs the scheduler until shutdown. One that panics (a bug) is logged and replaced by a new
/// one, which takes the repositories that were queued or syncing up again from the store:
/// otherwise auto-sync would stop for good while the process goes on serving.
async fn run_schedulers(shared: &Arc<Shared>, control: &mut mpsc::UnboundedReceiver<Control>) {
    loop {
        let mut shutdown = shared.shutdown.subscribe();
        if *shutdown.borrow() {
            return;
        }
        let (forward, mut requests) = mpsc::unbounded_channel();
        let syncer = Syncer::new(shared.clone());
        let mut task = tokio::spawn(async move { syncer.run(&mut requests, &mut shutdown).await });
        let ended = loop {
            tokio::select! {
                ended = &mut task => break ended,
                Some(msg) = control.recv() => {
                    let _ = forward.send(msg);
                }
            }
        };
        match ended {
            Err(e) if e.is_panic() => {
                let panic = e.into_panic();
                let why = (panic.downcast_ref::<&str>().copied())
                    .or(panic.downcast_ref::<String>().map(String::as_str))
                    .unwrap_or("a panic");
                tracing::error!(why, "the auto-sync scheduler failed; starting it again");
                shared.record_error("scheduler", None, &format!("the scheduler failed: {why}"));
                tokio::time::sleep(RESTART_AFTER).await;
            }
            _ => return,
        }
    }
}
