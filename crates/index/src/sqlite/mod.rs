//! The SQLite backend: the whole index in one database file (WAL mode), and every SQL
//! statement of the project.
//!
//! One writer connection (behind a mutex; across processes SQLite's own lock, waited for with
//! a busy timeout) and a small pool of reader connections, each snapshot one read transaction:
//! a search never waits for a sync, which commits in short batches.
//!
//! - `schema`: tables, migrations, connection settings;
//! - `batch`: writing a batch of file changes (chunks, symbols, the lexical log);
//! - `lexical`: the lexical index beside the database, kept in agreement through that log;
//! - `read`: the [`Snapshot`] queries (repositories, search, vectors);
//! - this module: opening, the connections, the other writes.

mod batch;
mod lexical;
pub(crate) use lexical::BINDING_KEY;
mod read;
mod refs;
mod schema;

pub(crate) use batch::chunk_symbol_names;
pub use schema::SCHEMA_VERSION;

use crate::store::{
    now_ns, BatchCounts, FileOp, RepositoryLock, RepositoryRecord, Result, Snapshot, Storage,
    StoreError, StoredUnit, SyncState,
};
use codeintel_discovery::manifest::Packages;
use lexical::Lexical;
use read::{repository_where, SqliteSnapshot};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use schema::{
    configure, migrate, set_checkpoint_bytes, APPLICATION_ID, BULK_CHECKPOINT_BYTES,
    DEFAULT_CHECKPOINT_BYTES,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

/// State key counting embedding commits: a cached first pass older than it is reloaded.
pub(crate) const GENERATION_KEY: &str = "vectors.generation";

/// Reader connections kept open for the next snapshot.
const POOLED_READERS: usize = 8;

/// An index in one SQLite file.
pub struct SqliteStorage {
    path: PathBuf,
    /// `None` when opened read-only.
    writer: Option<Mutex<Connection>>,
    readers: Mutex<Vec<Connection>>,
    lexical: Lexical,
}

impl Drop for SqliteStorage {
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

impl std::fmt::Debug for SqliteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStorage")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStorage {
    /// Opens (creating if needed) the index at `path`. A file that is not a codeintel index is
    /// an error and is left untouched, unless `force`, which moves it aside first.
    pub fn open(path: &Path, force: bool) -> Result<SqliteStorage> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::DataDir {
                path: parent.display().to_string(),
                source,
            })?;
        }
        let writer = match open_retrying(path) {
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
                open_retrying(path)?
            }
            other => other?,
        };
        let lexical = Lexical::open(path, &writer)?;
        Ok(SqliteStorage {
            path: path.to_path_buf(),
            writer: Some(Mutex::new(writer)),
            readers: Mutex::new(Vec::new()),
            lexical,
        })
    }

    /// Opens an existing index for reading only, with one connection and no schema work (the
    /// fast path for a one-shot search). `None` when there is no index yet. An index of an
    /// older schema is migrated through a full open first.
    pub fn open_read_only(path: &Path) -> Result<Option<SqliteStorage>> {
        match Self::try_open_read_only(path) {
            // Another process is creating or migrating it: the full open waits for that.
            Err(e) if is_busy_store(&e) => Self::open(path, false).map(Some),
            other => other,
        }
    }

    fn try_open_read_only(path: &Path) -> Result<Option<SqliteStorage>> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = reader_connection(path)?;
        let header = |sql: &str| -> Result<i32> {
            conn.query_row(sql, [], |r| r.get(0))
                .map_err(|e| foreign(path, e))
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
        let Some(lexical) = Lexical::open_read_only(path, &conn)? else {
            drop(conn);
            return Self::open(path, false).map(Some);
        };
        map_pages(&conn)?;
        Ok(Some(SqliteStorage {
            path: path.to_path_buf(),
            writer: None,
            readers: Mutex::new(vec![conn]),
            lexical,
        }))
    }

    fn with_writer<T>(&self, f: impl FnOnce(&mut Connection) -> Result<T>) -> Result<T> {
        let writer = self.writer.as_ref().ok_or(StoreError::ReadOnly)?;
        let mut conn = writer.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn)
    }

    /// A connection back from a snapshot, kept for the next one.
    fn give_back(&self, conn: Connection) {
        let mut pool = self.readers.lock().unwrap_or_else(|e| e.into_inner());
        if pool.len() < POOLED_READERS {
            pool.push(conn);
        }
    }

    fn set_checkpoint_interval(&self, bytes: i64) {
        let set = self.with_writer(|conn| set_checkpoint_bytes(conn, bytes));
        if let Err(e) = set {
            tracing::debug!(%e, "cannot set the checkpoint interval");
        }
    }

    /// A pragma's value on the writer connection: for tests that look inside.
    #[cfg(test)]
    pub(crate) fn writer_pragma(&self, name: &str) -> Result<i64> {
        self.with_writer(|c| Ok(c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?))
    }

    /// Runs a one-value query on a reader: for tests that look inside.
    #[cfg(test)]
    pub(crate) fn query_i64(&self, sql: &str) -> Result<i64> {
        let snapshot = SqliteSnapshot::begin(self)?;
        Ok(snapshot.conn().query_row(sql, [], |r| r.get(0))?)
    }
}

impl Storage for SqliteStorage {
    fn location(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Box<dyn Snapshot + '_>> {
        Ok(Box::new(SqliteSnapshot::begin(self)?))
    }

    fn ensure_repository(
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
                        tx.execute(
                            "UPDATE repositories SET name = ?1 WHERE id = ?2",
                            params![preferred, rec.id],
                        )?;
                        rec.name = preferred.to_string();
                    }
                    if let Some(lang) = language {
                        tx.execute(
                            "UPDATE repositories SET language = ?1 WHERE id = ?2",
                            params![lang, rec.id],
                        )?;
                        rec.language = Some(lang.to_string());
                    }
                    rec
                }
                None => {
                    let name = unique_name(&tx, preferred)?;
                    tx.execute(
                        "INSERT INTO repositories (path, name, language, created_at_ms, sync_state)
                         VALUES (?1, ?2, ?3, ?4, 'new')",
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

    fn write_batch(&self, repo_id: i64, ops: &[FileOp]) -> Result<BatchCounts> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut counts = BatchCounts::default();
            for op in ops {
                batch::apply(&tx, repo_id, op, &mut counts)?;
            }
            tx.commit()?;
            self.lexical.catch_up(conn)?;
            Ok(counts)
        })
    }

    fn record_sync(
        &self,
        repo_id: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        self.with_writer(|conn| {
            match result {
                Some(result) => conn.execute(
                    "UPDATE repositories SET last_sync_at_ms = ?1, last_result = ?2, last_error = ?3,
                            sync_state = CASE sync_state WHEN 'new' THEN 'synced' ELSE sync_state END
                     WHERE id = ?4",
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

    fn set_sync_state(&self, repo_id: i64, s: &SyncState) -> Result<()> {
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

    fn set_repository_language(&self, repo_id: i64, language: Option<&str>) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute(
                "UPDATE repositories SET language = ?1 WHERE id = ?2",
                params![language, repo_id],
            )?;
            Ok(())
        })
    }

    fn remove_repository(&self, repo_id: i64) -> Result<()> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO lexical_log (file_id) SELECT id FROM files WHERE repo_id = ?1",
                [repo_id],
            )?;
            // References and imports are keyed by file without a cascade (see `refs`).
            for table in ["refs", "imports"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE file_id IN (SELECT id FROM files WHERE repo_id = ?1)"),
                    [repo_id],
                )?;
            }
            tx.execute("DELETE FROM repositories WHERE id = ?1", [repo_id])?;
            tx.commit()?;
            self.lexical.catch_up(conn)
        })
    }

    fn set_packages(&self, repo_id: i64, packages: &Packages) -> Result<()> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM packages WHERE repo_id = ?1", [repo_id])?;
            let mut insert = tx.prepare_cached(
                "INSERT OR IGNORE INTO packages (repo_id, requires, name) VALUES (?1, ?2, ?3)",
            )?;
            for (requires, names) in [(0, &packages.provides), (1, &packages.requires)] {
                for name in names {
                    insert.execute(params![repo_id, requires, name])?;
                }
            }
            drop(insert);
            tx.commit()?;
            Ok(())
        })
    }

    fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.with_writer(|conn| {
            conn.execute(
                "INSERT INTO state (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
            Ok(())
        })
    }

    fn store_vectors(&self, model: &str, chunks: &[(i64, Vec<StoredUnit>)]) -> Result<()> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO embedding_models (name) VALUES (?1) ON CONFLICT(name) DO NOTHING",
                [model],
            )?;
            tx.execute(
                "INSERT INTO state (key, value) VALUES (?1, '1')
                 ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                [GENERATION_KEY],
            )?;
            let model_id: i64 = tx.query_row(
                "SELECT id FROM embedding_models WHERE name = ?1",
                [model],
                |r| r.get(0),
            )?;
            {
                let mut exists = tx.prepare_cached("SELECT 1 FROM chunks WHERE id = ?1")?;
                let mut clear = tx.prepare_cached("DELETE FROM embeddings WHERE chunk_id = ?1")?;
                let mut unit = tx.prepare_cached(
                    "INSERT INTO embeddings (chunk_id, model_id, line, bits) VALUES (?1, ?2, ?3, ?4)",
                )?;
                let mut vector =
                    tx.prepare_cached("INSERT INTO vectors (id, vector) VALUES (?1, ?2)")?;
                for (chunk_id, units) in chunks {
                    if !exists.exists([chunk_id])? {
                        continue;
                    }
                    clear.execute([chunk_id])?;
                    for u in units {
                        unit.execute(params![chunk_id, model_id, u.line, u.bits])?;
                        vector.execute(params![tx.last_insert_rowid(), u.vector])?;
                    }
                }
            }
            tx.commit()?;
            Ok(())
        })
    }

    /// The log is copied into the database every 64 MB instead of SQLite's 4 MB (fewer
    /// fsyncs: 6% faster on a 95 MB corpus).
    /// The lexical writer is kept until the end, committing now and then.
    fn begin_bulk(&self) {
        self.set_checkpoint_interval(BULK_CHECKPOINT_BYTES);
        self.lexical.begin_bulk();
    }

    /// Back to SQLite's default, and a checkpoint, so readers stop consulting the long log (a
    /// search on a just-indexed 527 MB index with 8 MB of log left took 8.8 ms, 6.5 ms after a
    /// checkpoint). Small writes keep the default: a checkpoint after each would cost them an
    /// fsync (9 -> 20 ms for a one-file edit).
    fn end_bulk(&self) {
        if let Err(e) = self.with_writer(|conn| self.lexical.end_bulk(conn)) {
            tracing::warn!(%e, "the lexical index could not be brought up to date (it is at the next write or open)");
        }
        self.set_checkpoint_interval(DEFAULT_CHECKPOINT_BYTES);
        self.checkpoint();
    }

    /// A passive checkpoint, waiting for no one: a reader holding an old snapshot leaves the
    /// rest for the next.
    fn checkpoint(&self) {
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

    /// An OS file lock beside the index, released by the kernel however its holder ends;
    /// where none can be made (a read-only folder) syncs go unguarded, as SQLite still
    /// serializes their writes.
    fn lock_repository(&self, repo_id: i64) -> Result<RepositoryLock> {
        let locked = self.lock_file(repo_id).and_then(|file| {
            file.lock()?;
            Ok(file)
        });
        Ok(RepositoryLock::new(guard(locked, repo_id)))
    }

    fn try_lock_repository(&self, repo_id: i64) -> Result<Option<RepositoryLock>> {
        let locked = self
            .lock_file(repo_id)
            .and_then(|file| match file.try_lock() {
                Ok(()) => Ok(Some(file)),
                Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                Err(std::fs::TryLockError::Error(e)) => Err(e),
            });
        Ok(match locked {
            Ok(None) => None,
            Ok(Some(file)) => Some(RepositoryLock::new(guard(Ok(file), repo_id))),
            Err(e) => Some(RepositoryLock::new(guard(Err(e), repo_id))),
        })
    }
}

impl SqliteStorage {
    fn lock_file(&self, repo_id: i64) -> std::io::Result<std::fs::File> {
        let dir = self.path.parent().unwrap_or(Path::new(".")).join("locks");
        std::fs::create_dir_all(&dir)?;
        std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join(format!("repository-{repo_id}.lock")))
    }
}

/// What a repository lock holds: the locked file, or nothing (unguarded) where none could be
/// made.
fn guard(locked: std::io::Result<std::fs::File>, repo_id: i64) -> Option<Box<dyn Send>> {
    match locked {
        Ok(file) => Some(Box::new(file)),
        Err(e) => {
            tracing::debug!(%e, repo_id, "syncing without a repository lock");
            None
        }
    }
}

fn reader_connection(path: &Path) -> Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(Duration::from_secs(10))?;
    conn.pragma_update(None, "query_only", true)?;
    // `rarray(?)`: a set of ids as one parameter (the chunks the lexical index matched).
    rusqlite::vtab::array::load_module(&conn)?;
    Ok(conn)
}

/// Largest part of a database a one-shot reader maps (SQLite clamps it to its compile-time
/// `SQLITE_MAX_MMAP_SIZE`, raised in `.cargo/config.toml`).
const ONE_SHOT_MMAP_BYTES: i64 = 1 << 40;

/// Reads pages straight from the page cache through a memory map. A one-shot search touches
/// about a hundred pages once: through `read` each is copied into a page buffer the process
/// has to fault in first, which was a fifth of a CLI search on the 8-copy index (issue 16).
/// A long-lived server keeps its own page cache instead (mapped pages would count in its RSS).
fn map_pages(conn: &Connection) -> Result<()> {
    conn.pragma_update(None, "mmap_size", ONE_SHOT_MMAP_BYTES)?;
    Ok(())
}

/// A failure to read the header: busy is worth a retry, anything else means the file is not
/// ours.
fn header_error(path: &Path, e: rusqlite::Error) -> StoreError {
    if is_busy(&e) {
        StoreError::from(e)
    } else {
        foreign(path, e)
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
        match open_checked(path) {
            Err(e) if is_busy_store(&e) && std::time::Instant::now() < deadline => {
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
    let (app_id, version, tables) = header().map_err(|e| header_error(path, e))?;
    if existed && app_id != APPLICATION_ID && (tables > 0 || app_id != 0) {
        return Err(foreign(path, "another program's database"));
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.display().to_string(),
            found: version,
        });
    }
    configure(&conn)?;
    set_checkpoint_bytes(&conn, DEFAULT_CHECKPOINT_BYTES)?;
    // The log file is cut back after a reset (bulk writes grow it; see `begin_bulk`).
    conn.pragma_update(None, "journal_size_limit", 16 << 20)?;
    migrate(&conn, version)?;
    Ok(conn)
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// Whether a store error is SQLite's busy or locked: worth waiting for.
fn is_busy_store(e: &StoreError) -> bool {
    match e {
        StoreError::Database(source) => source.downcast_ref().is_some_and(is_busy),
        _ => false,
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

fn name_taken(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn
        .query_row("SELECT 1 FROM repositories WHERE name = ?1", [name], |_| {
            Ok(())
        })
        .optional()?
        .is_some())
}

fn unique_name(conn: &Connection, preferred: &str) -> Result<String> {
    crate::store::unique_name(preferred, |n| name_taken(conn, n))
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
