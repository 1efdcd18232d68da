//! The one-syncer lock: an OS file lock in the data directory. The kernel releases it when the
//! holder dies, however it dies, so another process can take over.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// A held lock; released on drop.
#[derive(Debug)]
pub struct SyncLock {
    _file: File,
    path: PathBuf,
}

impl SyncLock {
    /// Where the lock file lives in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("autosync.lock")
    }

    /// Takes the lock if no other process holds it. Writes this process's id into the file
    /// (information only: the lock, not the content, decides).
    pub fn try_acquire(data_dir: &Path) -> std::io::Result<Option<SyncLock>> {
        std::fs::create_dir_all(data_dir)?;
        let path = Self::path_in(data_dir);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)?;
        match file.try_lock() {
            Ok(()) => {
                file.set_len(0)?;
                writeln!(file, "{}", std::process::id())?;
                Ok(Some(SyncLock { _file: file, path }))
            }
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }

    /// Whether some process (this one included) holds the lock now, and its pid if known.
    pub fn holder(data_dir: &Path) -> Option<u32> {
        let path = Self::path_in(data_dir);
        let file = OpenOptions::new().read(true).write(true).open(&path).ok()?;
        match file.try_lock() {
            Ok(()) => {
                let _ = file.unlock();
                None
            }
            Err(_) => std::fs::read_to_string(&path)
                .ok()?
                .trim()
                .parse()
                .ok()
                .or(Some(0)),
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(SyncLock::holder(dir.path()), None);
        let first = SyncLock::try_acquire(dir.path())
            .unwrap()
            .expect("free lock");
        // File locks are per open file description: a second open in the same process
        // conflicts like another process would.
        assert!(SyncLock::try_acquire(dir.path()).unwrap().is_none());
        assert_eq!(SyncLock::holder(dir.path()), Some(std::process::id()));
        drop(first);
        assert!(SyncLock::try_acquire(dir.path()).unwrap().is_some());
    }
}
