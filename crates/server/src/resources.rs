//! What the service costs the machine, read from `/proc` (Linux; elsewhere the numbers are
//! absent): CPU time and resident memory of a process, the inotify watches it holds, and the
//! size of the index on disk.

use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// `/proc/<pid>/stat` counts CPU time in clock ticks of `USER_HZ`, which the kernel fixes at
/// 100 for every userspace ABI (whatever `CONFIG_HZ` is).
const USER_HZ: f64 = 100.0;

/// One process's use.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct ProcessUse {
    /// Its id.
    pub pid: u32,
    /// User and system CPU time since it started.
    pub cpu_seconds: f64,
    /// Resident memory.
    pub rss_bytes: u64,
    /// inotify watches it holds (one per watched folder).
    pub inotify_watches: u64,
}

/// The service's use: this process, the syncer when another process syncs, and the index.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Resources {
    /// This process (the one serving the page).
    pub server: Option<ProcessUse>,
    /// The syncing process when it is another one (it holds the watches).
    pub syncer: Option<ProcessUse>,
    /// Bytes of the index: its files in the data directory, or the database's size when
    /// the store says (PostgreSQL).
    pub index_bytes: u64,
}

impl Resources {
    /// Reads them now; `syncer_pid` from the status, `store_bytes` from the store when it
    /// is not files in `data_dir`.
    pub fn read(data_dir: &Path, syncer_pid: Option<u32>, store_bytes: Option<u64>) -> Resources {
        let own = std::process::id();
        Resources {
            server: process_use(own),
            syncer: syncer_pid.filter(|&p| p != own).and_then(process_use),
            index_bytes: store_bytes.unwrap_or_else(|| index_bytes(data_dir)),
        }
    }

    /// The watches of the process that holds them (the syncer).
    pub fn inotify_watches(&self) -> u64 {
        self.syncer
            .as_ref()
            .or(self.server.as_ref())
            .map_or(0, |p| p.inotify_watches)
    }
}

/// `None` when the process is gone or `/proc` cannot be read.
pub fn process_use(pid: u32) -> Option<ProcessUse> {
    let proc_dir = Path::new("/proc").join(pid.to_string());
    let stat = std::fs::read_to_string(proc_dir.join("stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: fields start after the last
    // `)`. utime and stime are fields 14 and 15 of the line, so 12 and 13 from there.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    let cpu_seconds = (ticks(11)? + ticks(12)?) as f64 / USER_HZ;
    let status = std::fs::read_to_string(proc_dir.join("status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    Some(ProcessUse {
        pid,
        cpu_seconds,
        rss_bytes: rss_kib * 1024,
        inotify_watches: inotify_watches(&proc_dir),
    })
}

/// How long a count of inotify watches is reused: the kernel formats a line per watch to
/// list them (most of a `/metrics` render with a few thousand watches), and they change only
/// when repositories come or go.
const WATCHES_TTL: Duration = Duration::from_secs(10);

/// The inotify watches of a process, counted at most every [`WATCHES_TTL`].
fn inotify_watches(proc_dir: &Path) -> u64 {
    static COUNTED: Mutex<Option<(PathBuf, Instant, u64)>> = Mutex::new(None);
    let mut counted = COUNTED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((dir, at, n)) = counted.as_ref() {
        if dir == proc_dir && at.elapsed() < WATCHES_TTL {
            return *n;
        }
    }
    let n = count_inotify_watches(proc_dir);
    *counted = Some((proc_dir.to_path_buf(), Instant::now(), n));
    n
}

/// One `inotify wd:` line per watch in the fdinfo of each inotify descriptor.
fn count_inotify_watches(proc_dir: &Path) -> u64 {
    let Ok(fds) = std::fs::read_dir(proc_dir.join("fd")) else {
        return 0;
    };
    let mut watches = 0;
    for fd in fds.flatten() {
        let is_inotify = std::fs::read_link(fd.path())
            .is_ok_and(|target| target.as_os_str() == "anon_inode:inotify");
        if !is_inotify {
            continue;
        }
        if let Ok(info) = std::fs::read_to_string(proc_dir.join("fdinfo").join(fd.file_name())) {
            watches += info
                .lines()
                .filter(|l| l.starts_with("inotify wd:"))
                .count() as u64;
        }
    }
    watches
}

/// The index files of the embedded store: the database with its WAL and shared memory, and
/// the lexical index folder. (A PostgreSQL store keeps its rows elsewhere: only the local
/// files count.)
fn index_bytes(data_dir: &Path) -> u64 {
    let file = |name: &str| std::fs::metadata(data_dir.join(name)).map_or(0, |m| m.len());
    file("index.db")
        + file("index.db-wal")
        + file("index.db-shm")
        + tree_bytes(&data_dir.join("index.lexical"))
}

fn tree_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_bytes(&e.path()),
            Ok(t) if t.is_file() => e.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_measured_and_index_files_are_summed() {
        if !Path::new("/proc/self/stat").exists() {
            return;
        }
        let me = process_use(std::process::id()).expect("own /proc entry");
        assert!(me.rss_bytes > 0);
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("index.db"), [0u8; 100]).unwrap();
        std::fs::write(dir.path().join("other"), [0u8; 1000]).unwrap();
        std::fs::create_dir_all(dir.path().join("index.lexical/seg")).unwrap();
        std::fs::write(dir.path().join("index.lexical/seg/a"), [0u8; 10]).unwrap();
        assert_eq!(index_bytes(dir.path()), 110);
    }
}
