//! The IndexStore: repositories, files, chunks, symbols and a full-text index in one SQLite
//! database (WAL mode).
//!
//! Every SQL statement of the project lives in this module and in `search`, so another backend
//! can replace them behind the same API. One writer connection (behind a mutex; across processes
//! SQLite's own lock, waited for with a busy timeout) and a small pool of reader connections: a
//! search never waits for a sync, which commits in short batches.

use crate::chunk::{Chunk, Symbol};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use rustc_hash::FxHashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
mod batch;
mod schema;

pub use schema::SCHEMA_VERSION;

use batch::apply;
use schema::{
    configure, migrate, set_checkpoint_bytes, APPLICATION_ID, BULK_CHECKPOINT_BYTES,
    DEFAULT_CHECKPOINT_BYTES,
};

/// Bulk writing in progress (see [`IndexStore::bulk_writes`]); dropping it, whether the
/// writes succeeded or not, restores the default interval and checkpoints.
pub struct BulkWrites<'s>(&'s IndexStore);

impl Drop for BulkWrites<'_> {
    fn drop(&mut self) {
        self.0.set_checkpoint_interval(DEFAULT_CHECKPOINT_BYTES);
        self.0.checkpoint();
    }
}

/// Errors from the store, each with a message fit for a person.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The index file is another program's (or not SQLite at all): left untouched.
    #[error("{path} is not a codeintel index ({reason}); it was left untouched: `codeintel index --force PATH` moves it aside and starts a new index")]
    Foreign {
        /// The file.
        path: String,
        /// What it is instead.
        reason: String,
    },
    /// The index was written by a newer codeintel.
    #[error("{path} was written by a newer codeintel (schema {found}, this one knows {SCHEMA_VERSION}); upgrade codeintel")]
    TooNew {
        /// The file.
        path: String,
        /// Its schema version.
        found: i32,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// SQLite failed.
    #[error("index database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A query, filter or name that cannot be used as given: the caller's input.
    #[error("{0}")]
    BadQuery(String),
    /// Something the request names that the index does not hold (a repository).
    #[error("{0}")]
    NotFound(String),
    /// The request needs what is not there yet (an embedding model, vectors).
    #[error("{0}")]
    Unavailable(String),
    /// The embedder failed, or answered vectors that do not fit.
    #[error("embedding failed: {0}")]
    Embedder(#[from] codeintel_embed::EmbedError),
    /// The embedder's vectors do not fit (count or dimension).
    #[error("embedding failed: {0}")]
    EmbedderAnswer(String),
    /// A worker thread of the store (the index writer, a loader) panicked.
    #[error("{0} panicked")]
    Panicked(&'static str),
    /// A write on an index opened read-only.
    #[error("the index was opened read-only")]
    ReadOnly,
    /// A path that cannot be used.
    #[error("{path}: {reason}")]
    Path {
        /// The path.
        path: String,
        /// What went wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// Whether the error is the caller's input (a usage error), not a failure of the index.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::BadQuery(_) | StoreError::NotFound(_) | StoreError::Unavailable(_)
        )
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A repository row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRecord {
    /// The store's id.
    pub id: i64,
    /// Its folder (canonical): the identity.
    pub path: PathBuf,
    /// Its name, unique in the store.
    pub name: String,
    /// Its main language, once known.
    pub language: Option<String>,
}

/// A repository with its counts and last sync, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryInfo {
    /// The repository.
    pub record: RepositoryRecord,
    /// Files indexed (0 from the listings that skip counting).
    pub files: u64,
    /// Chunks indexed (likewise).
    pub chunks: u64,
    /// When it last synced.
    pub last_sync: Option<SystemTime>,
    /// The last sync's result, as JSON.
    pub last_result: Option<serde_json::Value>,
    /// The last sync's error, if it failed.
    pub last_error: Option<String>,
    /// Auto-sync's bookkeeping.
    pub sync: SyncState,
}

/// A repository whose first sync has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedSync {
    /// The repository's name.
    pub name: String,
    /// Syncing now (else queued).
    pub running: bool,
    /// Files indexed so far.
    pub files: u64,
}

/// Where a repository is in auto-sync's cycle. Stored (and shown) as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoState {
    /// Found, never synced yet.
    #[default]
    New,
    /// Waiting for a sync.
    Queued,
    /// A sync runs.
    Syncing,
    /// Up to date as of its last sync.
    Synced,
    /// The last sync failed; retried with backoff.
    Failed,
    /// Its folder is gone; the index is kept for a grace period.
    Missing,
}

impl RepoState {
    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoState::New => "new",
            RepoState::Queued => "queued",
            RepoState::Syncing => "syncing",
            RepoState::Synced => "synced",
            RepoState::Failed => "failed",
            RepoState::Missing => "missing",
        }
    }

    /// The state a stored name means; an unknown name (a newer program's) reads as `new`, so
    /// the repository is synced again rather than forgotten.
    pub fn parse(name: &str) -> RepoState {
        match name {
            "queued" => RepoState::Queued,
            "syncing" => RepoState::Syncing,
            "synced" => RepoState::Synced,
            "failed" => RepoState::Failed,
            "missing" => RepoState::Missing,
            _ => RepoState::New,
        }
    }
}

/// Whether changes to a repository reach the index through a file watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchState {
    /// Not watched.
    #[default]
    Off,
    /// Watched: changes are synced within about a second.
    Watching,
    /// The OS watch limit was reached: re-checked every sync interval instead.
    Polling,
}

impl WatchState {
    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchState::Off => "off",
            WatchState::Watching => "watching",
            WatchState::Polling => "polling",
        }
    }

    /// An unknown stored name reads as `off` (the repository is watched again if it should be).
    pub fn parse(name: &str) -> WatchState {
        match name {
            "watching" => WatchState::Watching,
            "polling" => WatchState::Polling,
            _ => WatchState::Off,
        }
    }
}

/// Auto-sync bookkeeping of one repository. Kept in the store, not in a process's memory, so
/// every process reports the truth and a restart resumes where the last one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct SyncState {
    /// Where it is in the cycle.
    pub state: RepoState,
    /// Failed syncs in a row.
    pub failures: u32,
    /// When a failed sync is retried (ms since the epoch).
    pub next_retry_ms: Option<i64>,
    /// Since when its folder is gone (ms since the epoch).
    pub missing_since_ms: Option<i64>,
    /// Whether a watcher covers it.
    pub watch: WatchState,
    /// Code bytes and newest modification, as discovery last saw them.
    pub size: Option<u64>,
    /// Newest modification of its code files (ms since the epoch).
    pub last_modified_ms: Option<i64>,
    /// Found by auto-sync's discovery (not only indexed by hand).
    pub auto: bool,
}

/// What the store knows of one file, to decide whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Bytes, when indexed.
    pub size: u64,
    /// Modification time (ns since the epoch), when indexed.
    pub mtime_ns: i64,
    /// blake3 of the content.
    pub hash: [u8; 32],
    /// When it was read (ns since the epoch).
    pub indexed_at_ns: i64,
}

/// Stat facts of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes.
    pub size: u64,
    /// Modification time (ns since the epoch).
    pub mtime_ns: i64,
    /// When the content was read (for the same-second mtime rule).
    pub indexed_at_ns: i64,
}

/// One change to apply in a batch.
#[derive(Debug, Clone)]
pub enum FileOp {
    /// New or changed content.
    Upsert {
        /// Relative to the repository root.
        path: String,
        /// Its language name.
        language: &'static str,
        /// Its stat facts.
        stamp: FileStamp,
        /// blake3 of the content.
        hash: [u8; 32],
        /// Its chunks.
        chunks: Vec<Chunk>,
        /// Its definitions.
        symbols: Vec<Symbol>,
    },
    /// Same content, new stat (touched, or copied back).
    Touch {
        /// Relative to the repository root.
        path: String,
        /// Its new stat facts.
        stamp: FileStamp,
    },
    /// Same content under a new path.
    Rename {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
        /// Its stat facts.
        stamp: FileStamp,
    },
    /// A file gone from the repository.
    Delete {
        /// Relative to the repository root.
        path: String,
    },
}

/// Rows changed by a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    pub chunks_new: u64,
    pub chunks_deleted: u64,
}

/// Held while one sync of a repository runs ([`IndexStore::lock_repository`]).
#[derive(Debug)]
pub struct RepositoryLock {
    _file: Option<std::fs::File>,
}

/// The embedded index.
pub struct IndexStore {
    path: PathBuf,
    /// `None` when opened read-only.
    writer: Option<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
    pub(crate) vectors: crate::vectors::VectorCache,
}

impl Drop for IndexStore {
    fn drop(&mut self) {
        // Readers close first, so the writer's connection is the last one: closing it copies
        // the write-ahead log into the database and removes it. When a read-only reader closed
        // last, the log stayed behind and every later process had to read all of it back on
        // open (a one-shot search on the bench index: 6.2 ms with 6 MB of log left, 5.4 without).
        self.readers
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

impl std::fmt::Debug for IndexStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexStore")
            .field("path", &self.path)
            .finish()
    }
}

pub fn now_ns() -> i64 {
    to_ns(SystemTime::now())
}

pub fn to_ns(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_nanos()).unwrap_or(i64::MAX),
    }
}

fn from_ms(ms: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms.max(0) as u64)
}

impl IndexStore {
    /// The index file inside a data directory.
    pub fn default_path(data_dir: &Path) -> PathBuf {
        data_dir.join("index.db")
    }

    /// Opens (creating if needed) the index at `path`. A file that is not a codeintel index is
    /// an error and is left untouched, unless `force`, which moves it aside first.
    pub fn open(path: &Path, force: bool) -> Result<IndexStore> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let writer = match Self::open_retrying(path) {
            Err(StoreError::Foreign { .. }) if force => {
                let aside = path.with_extension(format!("db.broken-{}", now_ns() / 1_000_000_000));
                tracing::warn!(from = %path.display(), to = %aside.display(), "moving a broken index aside");
                std::fs::rename(path, &aside).map_err(|e| StoreError::Path {
                    path: path.display().to_string(),
                    reason: format!("cannot move it aside: {e}"),
                })?;
                for suffix in ["-wal", "-shm"] {
                    let side = PathBuf::from(format!("{}{suffix}", path.display()));
                    let _ = std::fs::remove_file(side);
                }
                Self::open_retrying(path)?
            }
            other => other?,
        };
        Ok(IndexStore {
            path: path.to_path_buf(),
            writer: Some(Mutex::new(writer)),
            readers: Mutex::new(Vec::new()),
            vectors: Default::default(),
        })
    }

    /// Opens an existing index for reading only, with one connection and no schema work (the
    /// fast path for a one-shot search). `None` when there is no index yet. An index of an
    /// older schema is migrated through a full open first.
    pub fn open_read_only(path: &Path) -> Result<Option<IndexStore>> {
        match Self::try_open_read_only(path) {
            // Another process is creating or migrating it: the full open waits for that.
            Err(StoreError::Sqlite(e)) if is_busy(&e) => Self::open(path, false).map(Some),
            other => other,
        }
    }

    fn try_open_read_only(path: &Path) -> Result<Option<IndexStore>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Self::reader_connection(path)?;
        let header = |sql: &str| -> Result<i32> {
            conn.query_row(sql, [], |r| r.get(0))
                .map_err(|e| Self::foreign(path, e))
        };
        let (app_id, version) = (
            header("PRAGMA application_id")?,
            header("PRAGMA user_version")?,
        );
        if app_id != APPLICATION_ID {
            // An empty file (or a new, still empty index) is not foreign: a full open decides.
            drop(conn);
            return Self::open(path, false).map(Some);
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.display().to_string(),
                found: version,
            });
        }
        if version < SCHEMA_VERSION {
            drop(conn);
            return Self::open(path, false).map(Some);
        }
        Ok(Some(IndexStore {
            path: path.to_path_buf(),
            writer: None,
            readers: Mutex::new(vec![conn]),
            vectors: Default::default(),
        }))
    }

    fn reader_connection(path: &Path) -> Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    /// Opens without creating: for commands that only read. `None` when there is no index yet.
    pub fn open_existing(path: &Path) -> Result<Option<IndexStore>> {
        if !path.exists() {
            return Ok(None);
        }
        Self::open(path, false).map(Some)
    }

    /// The index file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A failure to read the header: busy is worth a retry, anything else means the file is not
    /// ours.
    fn header_error(path: &Path, e: rusqlite::Error) -> StoreError {
        if is_busy(&e) {
            StoreError::Sqlite(e)
        } else {
            Self::foreign(path, e)
        }
    }

    fn foreign(path: &Path, reason: impl ToString) -> StoreError {
        StoreError::Foreign {
            path: path.display().to_string(),
            reason: reason.to_string(),
        }
    }

    /// Opening races with other processes creating or migrating the same new file; some of
    /// those lock conflicts bypass SQLite's busy handler, so retry them here for a while.
    fn open_retrying(path: &Path) -> Result<Connection> {
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let mut delay = Duration::from_millis(10);
        loop {
            match Self::open_checked(path) {
                Err(StoreError::Sqlite(e))
                    if is_busy(&e) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(delay);
                    delay = (delay * 2).min(Duration::from_millis(200));
                }
                other => return other,
            }
        }
    }

    fn open_checked(path: &Path) -> Result<Connection> {
        let existed = path.metadata().map(|m| m.len() > 0).unwrap_or(false);
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(10))?;
        // Reading the header is the first thing that fails on a file that is not SQLite. The
        // three reads share one snapshot: another process creating the index meanwhile would
        // otherwise show its tables without the application id that commits with them, and
        // this one would call its own index foreign.
        let header = || -> rusqlite::Result<(i32, i32, i64)> {
            conn.execute_batch("BEGIN")?;
            let read = (|| {
                Ok((
                    conn.query_row("PRAGMA application_id", [], |r| r.get(0))?,
                    conn.query_row("PRAGMA user_version", [], |r| r.get(0))?,
                    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?,
                ))
            })();
            let _ = conn.execute_batch("COMMIT");
            read
        };
        let (app_id, version, tables) = header().map_err(|e| Self::header_error(path, e))?;
        if existed && app_id != APPLICATION_ID && (tables > 0 || app_id != 0) {
            return Err(Self::foreign(path, "another program's database"));
        }
        if version > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: path.display().to_string(),
                found: version,
            });
        }
        configure(&conn)?;
        set_checkpoint_bytes(&conn, DEFAULT_CHECKPOINT_BYTES)?;
        // The log file is cut back after a reset (bulk writes grow it; see `bulk_writes`).
        conn.pragma_update(None, "journal_size_limit", 16 << 20)?;
        migrate(&conn, version)?;
        Ok(conn)
    }

    /// Runs `f` on a reader connection from the pool (opening one when none is free).
    pub(crate) fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let pooled = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => Self::reader_connection(&self.path)?,
        };
        // One read transaction for everything `f` asks: a consistent snapshot while a writer
        // commits, and one lock and log check instead of one per statement.
        let result = conn
            .execute_batch("BEGIN")
            .map_err(StoreError::from)
            .and_then(|()| {
                let result = f(&conn);
                let end = conn.execute_batch("COMMIT");
                let value = result?;
                end?;
                Ok(value)
            });
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < 8 {
            pool.push(conn);
        }
        result
    }

    pub(crate) fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let writer = self.writer.as_ref().ok_or(StoreError::ReadOnly)?;
        let mut conn = writer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
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
        let path_str = path_text(path)?;
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let existing = repository_where(&tx, "path = ?1", &path_str)?;
            let record = match existing {
                Some(mut rec) => {
                    if rename && rec.name != preferred && !name_taken(&tx, preferred)? {
                        tx.execute("UPDATE repositories SET name = ?1 WHERE id = ?2", params![preferred, rec.id])?;
                        rec.name = preferred.to_string();
                    }
                    if let Some(lang) = language {
                        tx.execute("UPDATE repositories SET language = ?1 WHERE id = ?2", params![lang, rec.id])?;
                        rec.language = Some(lang.to_string());
                    }
                    rec
                }
                None => {
                    let name = unique_name(&tx, preferred)?;
                    tx.execute(
                        "INSERT INTO repositories (path, name, language, created_at_ms) VALUES (?1, ?2, ?3, ?4)",
                        params![path_str, name, language, now_ns() / 1_000_000],
                    )?;
                    RepositoryRecord {
                        id: tx.last_insert_rowid(),
                        path: path.to_path_buf(),
                        name,
                        language: language.map(str::to_string),
                    }
                }
            };
            tx.commit()?;
            Ok(record)
        })
    }

    /// A repository by name, or by path (absolute).
    pub fn find_repository(&self, name_or_path: &str) -> Result<Option<RepositoryRecord>> {
        self.with_reader(|conn| {
            if let Some(rec) = repository_where(conn, "name = ?1", name_or_path)? {
                return Ok(Some(rec));
            }
            let canonical = std::fs::canonicalize(name_or_path)
                .ok()
                .and_then(|p| p.to_str().map(str::to_string))
                .unwrap_or_else(|| name_or_path.to_string());
            repository_where(conn, "path = ?1", &canonical)
        })
    }

    /// Waits until no other sync of repository `repo_id` runs, in this process or another, and
    /// holds that until the lock is dropped: two syncs of one repository never run at once,
    /// whoever started them (auto-sync, `codeintel index`, an MCP client). An OS file lock
    /// beside the index, released by the kernel however its holder ends; where none can be
    /// made (a read-only folder) syncs go unguarded, as SQLite still serializes their writes.
    pub fn lock_repository(&self, repo_id: i64) -> RepositoryLock {
        let dir = self.path.parent().unwrap_or(Path::new(".")).join("locks");
        let file = std::fs::create_dir_all(&dir).and_then(|()| {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(dir.join(format!("repository-{repo_id}.lock")))?;
            file.lock()?;
            Ok(file)
        });
        match file {
            Ok(file) => RepositoryLock { _file: Some(file) },
            Err(e) => {
                tracing::debug!(%e, repo_id, "syncing without a repository lock");
                RepositoryLock { _file: None }
            }
        }
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
        self.list_repositories(true, None)
    }

    /// All repositories without counting their files and chunks (those stay 0): cheap enough
    /// for a scheduler to call every tick, whatever the size of the index.
    pub fn repository_states(&self) -> Result<Vec<RepositoryInfo>> {
        self.list_repositories(false, None)
    }

    /// Repositories whose first sync has not finished (running, or queued and not started),
    /// with the files indexed so far: their files may be missing from any result.
    pub fn unfinished_first_syncs(&self) -> Result<Vec<UnfinishedSync>> {
        // Every search asks: one indexed query that usually finds nothing, not a listing.
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.name, r.sync_state,
                        CASE WHEN r.sync_state = 'syncing'
                             THEN (SELECT count(*) FROM files f WHERE f.repo_id = r.id) ELSE 0 END
                 FROM repositories r
                 WHERE r.last_sync_at_ms IS NULL AND r.sync_state IN ('new', 'queued', 'syncing')
                 ORDER BY r.name",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(UnfinishedSync {
                    name: r.get(0)?,
                    running: RepoState::parse(&r.get::<_, String>(1)?) == RepoState::Syncing,
                    files: r.get::<_, i64>(2)?.max(0) as u64,
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// One repository's row with its file and chunk counts.
    pub fn repository_info(&self, repo_id: i64) -> Result<Option<RepositoryInfo>> {
        Ok(self.list_repositories(true, Some(repo_id))?.pop())
    }

    /// One repository's row without counts, as [`IndexStore::repository_states`] has it.
    pub fn repository_state(&self, repo_id: i64) -> Result<Option<RepositoryInfo>> {
        Ok(self.list_repositories(false, Some(repo_id))?.pop())
    }

    fn list_repositories(&self, counts: bool, only: Option<i64>) -> Result<Vec<RepositoryInfo>> {
        let counts_sql = if counts {
            "(SELECT count(*) FROM files f WHERE f.repo_id = r.id),
             (SELECT coalesce(sum(chunk_count), 0) FROM files f WHERE f.repo_id = r.id),"
        } else {
            "0, 0,"
        };
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(&format!(
                "SELECT r.id, r.path, r.name, r.language, r.last_sync_at_ms, r.last_result, r.last_error,
                        {counts_sql}
                        r.sync_state, r.failures, r.next_retry_at_ms, r.missing_since_ms, r.watch_state,
                        r.size_bytes, r.last_modified_ms, r.auto
                 FROM repositories r WHERE ?1 IS NULL OR r.id = ?1 ORDER BY r.name"
            ))?;
            let rows = stmt.query_map([only], |r| {
                Ok(RepositoryInfo {
                    record: RepositoryRecord {
                        id: r.get(0)?,
                        path: PathBuf::from(r.get::<_, String>(1)?),
                        name: r.get(2)?,
                        language: r.get(3)?,
                    },
                    last_sync: r.get::<_, Option<i64>>(4)?.map(from_ms),
                    last_result: r
                        .get::<_, Option<String>>(5)?
                        .and_then(|s| serde_json::from_str(&s).ok()),
                    last_error: r.get(6)?,
                    files: r.get::<_, i64>(7)? as u64,
                    chunks: r.get::<_, i64>(8)? as u64,
                    sync: SyncState {
                        state: RepoState::parse(&r.get::<_, String>(9)?),
                        failures: r.get(10)?,
                        next_retry_ms: r.get(11)?,
                        missing_since_ms: r.get(12)?,
                        watch: WatchState::parse(&r.get::<_, String>(13)?),
                        size: r.get::<_, Option<i64>>(14)?.map(|s| s.max(0) as u64),
                        last_modified_ms: r.get(15)?,
                        auto: r.get(16)?,
                    },
                })
            })?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }

    /// What the store knows of each file of a repository, by relative path.
    pub fn file_states(&self, repo_id: i64) -> Result<FxHashMap<String, FileState>> {
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT path, size, mtime_ns, hash, indexed_at_ns FROM files WHERE repo_id = ?1",
            )?;
            let rows = stmt.query_map([repo_id], |r| {
                let hash: Vec<u8> = r.get(3)?;
                let mut fixed = [0u8; 32];
                if hash.len() == 32 {
                    fixed.copy_from_slice(&hash);
                }
                Ok((
                    r.get::<_, String>(0)?,
                    FileState {
                        size: r.get::<_, i64>(1)? as u64,
                        mtime_ns: r.get(2)?,
                        hash: fixed,
                        indexed_at_ns: r.get(4)?,
                    },
                ))
            })?;
            Ok(rows.collect::<Result<FxHashMap<_, _>, _>>()?)
        })
    }

    /// Applies `ops` to one repository in a single transaction: all of them or none.
    pub fn write_batch(&self, repo_id: i64, ops: &[FileOp]) -> Result<BatchCounts> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut counts = BatchCounts::default();
            for op in ops {
                apply(&tx, repo_id, op, &mut counts)?;
            }
            tx.commit()?;
            Ok(counts)
        })
    }

    /// Bulk writing (a first index, a big checkout) until the guard is dropped: the log is
    /// copied into the database every 64 MB instead of SQLite's 4 MB (fewer fsyncs: 6% faster
    /// on a 95 MB corpus). Ending it checkpoints, so readers stop consulting the long log (a
    /// search on a just-indexed 527 MB index with 8 MB of log left took 8.8 ms, 6.5 ms after a
    /// checkpoint). Small writes keep SQLite's default: a checkpoint after each would cost them
    /// an fsync (9 -> 20 ms for a one-file edit).
    pub fn bulk_writes(&self) -> BulkWrites<'_> {
        self.set_checkpoint_interval(BULK_CHECKPOINT_BYTES);
        BulkWrites(self)
    }

    fn set_checkpoint_interval(&self, bytes: i64) {
        let set = self.with_writer(|conn| set_checkpoint_bytes(conn, bytes));
        if let Err(e) = set {
            tracing::debug!(%e, "cannot set the checkpoint interval");
        }
    }

    /// Copies the write-ahead log into the database without waiting for anyone (a passive
    /// checkpoint). Best effort: a reader holding an old snapshot leaves the rest for the next.
    pub fn checkpoint(&self) {
        let done = self.with_writer(|conn| {
            Ok(conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
            })?)
        });
        match done {
            Ok((log, copied)) => tracing::debug!(log, copied, "checkpoint"),
            Err(e) => tracing::debug!(%e, "checkpoint skipped"),
        }
    }

    /// Records the outcome of a sync: the result JSON, and the error (cleared on success).
    pub fn record_sync(
        &self,
        repo_id: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        self.with_writer(|conn| {
            match result {
                Some(result) => conn.execute(
                    "UPDATE repositories SET last_sync_at_ms = ?1, last_result = ?2, last_error = ?3 WHERE id = ?4",
                    params![now_ns() / 1_000_000, result.to_string(), error, repo_id],
                )?,
                None => conn.execute(
                    "UPDATE repositories SET last_error = ?1 WHERE id = ?2",
                    params![error, repo_id],
                )?,
            };
            Ok(())
        })
    }

    /// Replaces a repository's auto-sync bookkeeping.
    pub fn set_sync_state(&self, repo_id: i64, s: &SyncState) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute(
                "UPDATE repositories SET sync_state = ?1, failures = ?2, next_retry_at_ms = ?3,
                        missing_since_ms = ?4, watch_state = ?5, size_bytes = ?6,
                        last_modified_ms = ?7, auto = ?8
                 WHERE id = ?9",
                params![
                    s.state.as_str(),
                    s.failures,
                    s.next_retry_ms,
                    s.missing_since_ms,
                    s.watch.as_str(),
                    s.size.map(|v| v as i64),
                    s.last_modified_ms,
                    s.auto,
                    repo_id
                ],
            )?;
            Ok(())
        })
    }

    /// Sets the main language of a repository.
    pub fn set_repository_language(&self, repo_id: i64, language: Option<&str>) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute(
                "UPDATE repositories SET language = ?1 WHERE id = ?2",
                params![language, repo_id],
            )?;
            Ok(())
        })
    }

    /// Removes a repository and everything indexed for it.
    pub fn remove_repository(&self, repo_id: i64) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute("DELETE FROM repositories WHERE id = ?1", [repo_id])?;
            Ok(())
        })
    }

    /// A persisted state value (auto-sync state, configuration overrides).
    pub fn state(&self, key: &str) -> Result<Option<String>> {
        self.with_reader(|conn| {
            Ok(conn
                .query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                    r.get(0)
                })
                .optional()?)
        })
    }

    /// Stores a shared state value (see [`IndexStore::state`]).
    pub fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }
}

fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn path_text(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| StoreError::Path {
            path: path.display().to_string(),
            reason: "the path is not UTF-8".into(),
        })
}

fn repository_where(
    conn: &Connection,
    clause: &str,
    value: &str,
) -> Result<Option<RepositoryRecord>> {
    let sql = format!("SELECT id, path, name, language FROM repositories WHERE {clause}");
    Ok(conn
        .query_row(&sql, [value], |r| {
            Ok(RepositoryRecord {
                id: r.get(0)?,
                path: PathBuf::from(r.get::<_, String>(1)?),
                name: r.get(2)?,
                language: r.get(3)?,
            })
        })
        .optional()?)
}

fn name_taken(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM repositories WHERE name = ?1", [name], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

fn unique_name(conn: &Connection, preferred: &str) -> Result<String> {
    let base = if preferred.is_empty() {
        "repository"
    } else {
        preferred
    };
    if !name_taken(conn, base)? {
        return Ok(base.to_string());
    }
    for n in 2.. {
        let candidate = format!("{base}-{n}");
        if !name_taken(conn, &candidate)? {
            return Ok(candidate);
        }
    }
    unreachable!("an unbounded range always yields a free name")
}

/// Kinds are a closed set of static names; map a stored one back to its `&'static str`.
pub(crate) fn intern_kind(kind: &str) -> &'static str {
    use crate::SymbolKind::*;
    [
        Function, Method, Class, Struct, Interface, Trait, Enum, Impl, Module, Type, Macro,
    ]
    .into_iter()
    .map(|k| k.name())
    .find(|k| *k == kind)
    .unwrap_or("block")
}

#[cfg(test)]
mod tests;
