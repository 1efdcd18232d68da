//! The IndexStore: the one handle the rest of codeintel holds on an index, whatever backend
//! keeps it.
//!
//! - `backend`: the storage seam, the [`Storage`] and [`Snapshot`] traits a backend
//!   implements (the SQLite one is `crate::sqlite`);
//! - `types`: the plain data they take and give (repositories, files, chunk rows);
//! - `error`: [`StoreError`];
//! - this module: [`IndexStore`], which opens a backend and adds what is the same for every
//!   backend (name-or-path lookups, bulk-write guards); search and vectors add their methods
//!   in their own modules.

mod backend;
pub(crate) mod contents;
mod copy;
mod error;
mod location;
mod types;

pub use backend::{Snapshot, Storage};
pub use copy::{copy_index, CopyCounts};
pub use error::StoreError;
pub use location::{redact as redact_store, PostgresUrl, StoreLocation};
pub use types::*;

use crate::sqlite::SqliteStorage;
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The store's result.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Bulk writing in progress (see [`IndexStore::bulk_writes`]); dropping it, whether the
/// writes succeeded or not, ends it.
pub struct BulkWrites<'s>(&'s IndexStore);

impl Drop for BulkWrites<'_> {
    fn drop(&mut self) {
        self.0.storage.end_bulk();
    }
}

/// An index: a backend, and the caches kept over it.
pub struct IndexStore {
    storage: Box<dyn Storage>,
    pub(crate) vectors: crate::vectors::VectorCache,
}

impl std::fmt::Debug for IndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexStore")
            .field("location", &self.storage.location())
            .finish()
    }
}

/// This machine's name, to tell processes on several machines apart (`host` when unknown).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into())
}

/// Now, in ns since the epoch.
pub fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

/// A time in ns since the epoch (negative before it).
pub fn to_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

/// `preferred` (or `repository`), else the first of `-2`, `-3`... that `taken` says is free:
/// how every backend names a new repository.
pub(crate) fn unique_name(
    preferred: &str,
    mut taken: impl FnMut(&str) -> Result<bool>,
) -> Result<String> {
    let base = if preferred.is_empty() {
        "repository"
    } else {
        preferred
    };
    if !taken(base)? {
        return Ok(base.to_string());
    }
    for n in 2.. {
        let candidate = format!("{base}-{n}");
        if !taken(&candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("an unbounded range always yields a free name")
}

pub(crate) fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl IndexStore {
    /// The index file inside a data directory.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join("index.db")
    }

    /// An index kept by `storage`.
    pub fn with_storage(storage: impl Storage + 'static) -> IndexStore {
        IndexStore {
            storage: Box::new(storage),
            vectors: Default::default(),
        }
    }

    /// Opens (creating if needed) the index at `path`. A file that is not a codeintel index is
    /// an error and is left untouched, unless `force`, which moves it aside first.
    pub fn open(path: &Path, force: bool) -> Result<IndexStore> {
        SqliteStorage::open(path, force).map(Self::with_storage)
    }

    /// Opens an existing index for reading only, with no schema work (the fast path for a
    /// one-shot search). `None` when there is no index yet.
    pub fn open_read_only(path: &Path) -> Result<Option<IndexStore>> {
        Ok(SqliteStorage::open_read_only(path)?.map(Self::with_storage))
    }

    /// Opens (creating if needed) the index `location` names: the file in `data_dir`, or a
    /// PostgreSQL database (`force` only moves a broken SQLite file aside).
    pub fn open_at(location: &StoreLocation, data_dir: &Path, force: bool) -> Result<IndexStore> {
        match location {
            StoreLocation::Sqlite => Self::open(&Self::default_path(data_dir), force),
            StoreLocation::Postgres(url) => {
                crate::postgres::PostgresStorage::open(url).map(Self::with_storage)
            }
        }
    }

    /// [`IndexStore::open_read_only`] for the index `location` names: a database is opened
    /// as for writing (it has no one-shot fast path; `None` never).
    pub fn open_read_only_at(
        location: &StoreLocation,
        data_dir: &Path,
    ) -> Result<Option<IndexStore>> {
        match location {
            StoreLocation::Sqlite => Self::open_read_only(&Self::default_path(data_dir)),
            StoreLocation::Postgres(_) => Self::open_at(location, data_dir, false).map(Some),
        }
    }

    /// [`IndexStore::open_existing`] for the index `location` names (a database always is).
    pub fn open_existing_at(
        location: &StoreLocation,
        data_dir: &Path,
    ) -> Result<Option<IndexStore>> {
        match location {
            StoreLocation::Sqlite => Self::open_existing(&Self::default_path(data_dir)),
            StoreLocation::Postgres(_) => Self::open_at(location, data_dir, false).map(Some),
        }
    }

    /// Opens without creating: for commands that only read. `None` when there is no index yet.
    pub fn open_existing(path: &Path) -> Result<Option<IndexStore>> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path, false).map(Some)
    }

    /// Where the index is.
    pub fn path(&self) -> &Path {
        self.storage.location()
    }

    /// A consistent view to read from.
    pub(crate) fn read(&self) -> Result<Box<dyn Snapshot + '_>> {
        self.storage.read()
    }

    /// The backend's writes.
    pub(crate) fn storage(&self) -> &dyn Storage {
        self.storage.as_ref()
    }

    /// The repository at `path`, registering it if new. Its name is `preferred` (or the folder
    /// name), made unique with a `-2`, `-3`... suffix. An existing repository is renamed only
    /// when `rename` is set and the name is free.
    pub fn ensure_repository(
        &self,
        path: &Path,
        preferred: &str,
        language: Option<&str>,
        rename: bool,
    ) -> Result<RepositoryRecord> {
        self.storage
            .ensure_repository(path, preferred, language, rename)
    }

    /// A repository by name, or by path (absolute).
    pub fn find_repository(&self, name_or_path: &str) -> Result<Option<RepositoryRecord>> {
        let snapshot = self.read()?;
        if let Some(rec) = snapshot.repository_named(name_or_path)? {
            return Ok(Some(rec));
        }
        let canonical = std::fs::canonicalize(name_or_path)
            .ok()
            .and_then(|p| p.to_str().map(str::to_string))
            .unwrap_or_else(|| name_or_path.to_string());
        snapshot.repository_at(&canonical)
    }

    /// Waits until no other sync of repository `repo_id` runs, in this process or another, and
    /// holds that until the lock is dropped: two syncs of one repository never run at once,
    /// whoever started them (auto-sync, `codeintel index`, an MCP client).
    pub fn lock_repository(&self, repo_id: i64) -> Result<RepositoryLock> {
        self.storage.lock_repository(repo_id)
    }

    /// Whether this process may write to the store (see [`Storage::writable`]).
    pub fn writable(&self) -> bool {
        self.storage.writable()
    }

    /// Bytes of the index outside the data directory (see [`Storage::size_bytes`]).
    pub fn size_bytes(&self) -> Option<u64> {
        self.storage.size_bytes()
    }

    /// Whether the store keeps file contents (see [`Storage::keeps_contents`]).
    pub fn keeps_contents(&self) -> bool {
        self.storage.keeps_contents()
    }

    /// The content of an indexed file as the store keeps it, where it keeps contents: `None`
    /// when it does not, or when `path` is not an indexed file of repository `repo_id`.
    pub fn stored_file(&self, repo_id: i64, path: &str) -> Result<Option<Vec<u8>>> {
        match self.read()?.file_content(repo_id, path)? {
            Some(deflated) => contents::inflate(&deflated).map(Some),
            None => Ok(None),
        }
    }

    /// [`IndexStore::lock_repository`] without waiting: `None` while another sync of
    /// `repo_id` runs (in any process sharing the store).
    pub fn try_lock_repository(&self, repo_id: i64) -> Result<Option<RepositoryLock>> {
        self.storage.try_lock_repository(repo_id)
    }

    /// The indexed repository whose folder holds `path` (canonical) strictly inside it: indexing
    /// such a folder as a repository of its own would index its files twice.
    pub fn repository_containing(&self, path: &Path) -> Result<Option<RepositoryRecord>> {
        Ok(self
            .repository_states()?
            .into_iter()
            .map(|r| r.record)
            .filter(|r| path != r.path && path.starts_with(&r.path))
            .max_by_key(|r| r.path.components().count()))
    }

    /// All repositories with their file and chunk counts, by name.
    pub fn repositories(&self) -> Result<Vec<RepositoryInfo>> {
        self.read()?.repositories(true, None)
    }

    /// All repositories without counting their files and chunks (those stay 0): cheap enough
    /// for a scheduler to call every tick, whatever the size of the index.
    pub fn repository_states(&self) -> Result<Vec<RepositoryInfo>> {
        self.read()?.repositories(false, None)
    }

    /// Repositories whose first sync has not finished (running, or queued and not started),
    /// with the files indexed so far: their files may be missing from any result.
    pub fn unfinished_first_syncs(&self) -> Result<Vec<UnfinishedSync>> {
        self.read()?.unfinished_first_syncs()
    }

    /// One repository's row with its file and chunk counts.
    pub fn repository_info(&self, repo_id: i64) -> Result<Option<RepositoryInfo>> {
        Ok(self.read()?.repositories(true, Some(repo_id))?.pop())
    }

    /// One repository's row without counts, as [`IndexStore::repository_states`] has it.
    pub fn repository_state(&self, repo_id: i64) -> Result<Option<RepositoryInfo>> {
        Ok(self.read()?.repositories(false, Some(repo_id))?.pop())
    }

    /// What the store knows of each file of a repository, by relative path.
    pub fn file_states(&self, repo_id: i64) -> Result<FxHashMap<String, FileState>> {
        self.read()?.file_states(repo_id)
    }

    /// Applies `ops` to one repository in a single transaction: all of them or none.
    pub fn write_batch(&self, repo_id: i64, ops: &[FileOp]) -> Result<BatchCounts> {
        self.storage.write_batch(repo_id, ops)
    }

    /// Bulk writing (a first index, a big checkout) until the guard is dropped: the backend
    /// may trade read freshness for write speed meanwhile (see the backend's `begin_bulk`).
    pub fn bulk_writes(&self) -> BulkWrites<'_> {
        self.storage.begin_bulk();
        BulkWrites(self)
    }

    /// Makes what was committed cheap to read (best effort).
    pub fn checkpoint(&self) {
        self.storage.checkpoint();
    }

    /// Records the outcome of a sync: the result JSON, and the error (cleared on success).
    pub fn record_sync(
        &self,
        repo_id: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        self.storage.record_sync(repo_id, result, error)
    }

    /// Replaces a repository's auto-sync bookkeeping.
    pub fn set_sync_state(&self, repo_id: i64, s: &SyncState) -> Result<()> {
        self.storage.set_sync_state(repo_id, s)
    }

    /// Sets the main language of a repository.
    pub fn set_repository_language(&self, repo_id: i64, language: Option<&str>) -> Result<()> {
        self.storage.set_repository_language(repo_id, language)
    }

    /// Replaces the packages a repository provides and requires.
    pub fn set_packages(
        &self,
        repo_id: i64,
        packages: &codeintel_discovery::manifest::Packages,
    ) -> Result<()> {
        self.storage.set_packages(repo_id, packages)
    }

    /// Which repositories depend on which, as (dependent, dependency) pairs.
    pub fn dependencies(&self) -> Result<Vec<(i64, i64)>> {
        self.read()?.dependencies()
    }

    /// Removes a repository and everything indexed for it.
    pub fn remove_repository(&self, repo_id: i64) -> Result<()> {
        self.storage.remove_repository(repo_id)
    }

    /// A persisted state value (auto-sync state, configuration overrides).
    pub fn state(&self, key: &str) -> Result<Option<String>> {
        self.read()?.state(key)
    }

    /// Every state value whose key starts with `prefix`, by key (values one process of many
    /// keeps under a key of its own).
    pub fn states_with_prefix(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        self.read()?.states(prefix)
    }

    /// Stores a shared state value (see [`IndexStore::state`]).
    pub fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.storage.set_state(key, value)
    }
}

#[cfg(test)]
pub(crate) mod tests;
