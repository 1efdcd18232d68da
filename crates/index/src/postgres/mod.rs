//! The PostgreSQL backend: the whole index in one database that any number of indexers and
//! servers share (PostgreSQL 14+, core features and `pg_trgm` only).
//!
//! A bounded pool of connections; every write is one transaction, every snapshot one
//! repeatable-read, read-only transaction, so a search sees one committed state while
//! indexers commit. The lexical index lives in the database too (postings by term and file,
//! BM25 computed in SQL over the same terms the embedded engine indexes), so every server
//! ranks alike.
//!
//! - `schema`: tables and migrations (under an advisory lock);
//! - `write`: a batch of file changes;
//! - `read`: the [`Snapshot`] queries;
//! - `lease`: repository leases (one sync of a repository at a time, across machines);
//! - this module: connecting, the other writes.

mod lease;
mod postings;
mod read;
mod schema;
mod write;

pub use schema::SCHEMA_VERSION;

use crate::store::{
    now_ns, BatchCounts, FileOp, PostgresUrl, RepositoryLock, RepositoryRecord, Result, Snapshot,
    Storage, StoreError, StoredUnit, SyncState,
};
use codeintel_discovery::manifest::Packages;
use postgres::{Client, GenericClient, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres_rustls::MakeRustlsConnect;

/// Connections with TLS (`sslmode=prefer|require` over TCP) or without (a Unix socket,
/// `sslmode=disable`): tokio-postgres asks the TLS connector for a server name even where it
/// will not use it, and a socket path is none.
enum Pool {
    Plain(r2d2::Pool<PostgresConnectionManager<NoTls>>),
    Tls(r2d2::Pool<PostgresConnectionManager<MakeRustlsConnect>>),
}

/// A connection of the pool, back to it when dropped.
///
/// The pool closes a connection it finds broken as it comes back (a database that
/// restarted), and closing one blocks on the client's own runtime, which panics on a tokio
/// worker thread: so it comes back through [`blocking`]. (A panic there once took the whole
/// auto-sync scheduler down with it after a restart.)
pub(super) struct Pooled(Option<PooledConnection>);

enum PooledConnection {
    Plain(r2d2::PooledConnection<PostgresConnectionManager<NoTls>>),
    Tls(r2d2::PooledConnection<PostgresConnectionManager<MakeRustlsConnect>>),
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let conn = self.0.take();
        blocking(|| drop(conn));
    }
}

impl std::ops::Deref for Pooled {
    type Target = Client;
    fn deref(&self) -> &Client {
        match self.0.as_ref() {
            Some(PooledConnection::Plain(c)) => c,
            Some(PooledConnection::Tls(c)) => c,
            None => unreachable!("a connection is only taken when it is dropped"),
        }
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Client {
        match self.0.as_mut() {
            Some(PooledConnection::Plain(c)) => c,
            Some(PooledConnection::Tls(c)) => c,
            None => unreachable!("a connection is only taken when it is dropped"),
        }
    }
}

/// Connections one process keeps at most: searches and syncs wait for one beyond that.
const MAX_CONNECTIONS: u32 = 8;
/// How long a store call waits for a connection before it fails as `Disconnected`: a database
/// that is away makes each call wait this long, and the auto-sync scheduler calls the store
/// between its jobs, so it is short.
const CONNECTION_WAIT: Duration = Duration::from_secs(5);
/// The advisory lock key serializing new repositories' names (`CIDX` + 1).
const NAMES_LOCK: i64 = 0x4349_4459;

/// An index in a PostgreSQL database.
pub struct PostgresStorage {
    url: PostgresUrl,
    /// The redacted URL, as [`Storage::location`] shows it.
    shown: PathBuf,
    config: postgres::Config,
    /// `None` where connections go without TLS.
    tls: Option<MakeRustlsConnect>,
    /// Taken only by `drop` (closing connections blocks).
    pool: Option<Pool>,
    leases: lease::Leases,
    /// Whether the role may write (see [`Storage::writable`]).
    writable: bool,
}

impl Drop for PostgresStorage {
    fn drop(&mut self) {
        let pool = self.pool.take();
        blocking(|| drop(pool));
    }
}

impl std::fmt::Debug for PostgresStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStorage")
            .field("url", &self.url)
            .finish()
    }
}

impl PostgresStorage {
    /// Connects to the database at `url` and brings its schema up to date.
    pub fn open(url: &PostgresUrl) -> Result<PostgresStorage> {
        let mut config: postgres::Config = url.secret().parse().map_err(|e| {
            StoreError::Unavailable(format!("bad PostgreSQL URL {}: {e}", url.redacted()))
        })?;
        // libpq's variable for a password kept out of the URL (the client library reads no
        // environment of its own).
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os("PGPASSWORD") {
                config.password(password.as_encoded_bytes());
            }
        }
        // A Unix socket is local: TLS over it is neither offered by servers nor possible to
        // verify (a path is no server name), so `prefer` means none there.
        let all_local = config
            .get_hosts()
            .iter()
            .all(|h| matches!(h, postgres::config::Host::Unix(_)));
        let tls = match config.get_ssl_mode() {
            postgres::config::SslMode::Disable => None,
            postgres::config::SslMode::Prefer if all_local => {
                config.ssl_mode(postgres::config::SslMode::Disable);
                None
            }
            _ => Some(tls_connector()),
        };
        // One connection first: an unreachable server or a refused login is its own error at
        // once (the pool would only time out), and the schema is brought up to date on it.
        let mut first = connect(&config, tls.as_ref()).map_err(|e| unreachable_store(url, e))?;
        let found = schema::migrate(&mut first)?;
        // A role that may only read (servers of a team's index) serves searches; the writes
        // it would be refused are refused up front with a clear reason.
        let writable = first
            .query_one("SELECT has_table_privilege('files', 'INSERT')", &[])?
            .get(0);
        drop(first);
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew {
                path: url.redacted(),
                found,
            });
        }
        let pool = match &tls {
            None => pool_builder()
                .build(PostgresConnectionManager::new(config.clone(), NoTls))
                .map(Pool::Plain),
            Some(tls) => pool_builder()
                .build(PostgresConnectionManager::new(config.clone(), tls.clone()))
                .map(Pool::Tls),
        }
        .map_err(|e| unreachable_store(url, e))?;
        let storage = PostgresStorage {
            shown: PathBuf::from(url.redacted()),
            url: url.clone(),
            config,
            tls,
            pool: Some(pool),
            leases: lease::Leases::new(),
            writable,
        };
        Ok(storage)
    }

    fn connection(&self) -> Result<Pooled> {
        // A connection is checked (one round trip) as it leaves the pool.
        blocking(|| match self.pool.as_ref() {
            Some(Pool::Plain(p)) => p.get().map(PooledConnection::Plain),
            Some(Pool::Tls(p)) => p.get().map(PooledConnection::Tls),
            None => unreachable!("the pool is only taken when the storage is dropped"),
        })
        .map(|conn| Pooled(Some(conn)))
        .map_err(|e| unreachable_store(&self.url, e))
    }

    /// Runs `f` in one transaction, committed when it returns `Ok`.
    fn in_transaction<T>(
        &self,
        f: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.connection()?;
        blocking(|| {
            let mut tx = conn.transaction()?;
            let out = f(&mut tx)?;
            tx.commit()?;
            Ok(out)
        })
    }

    fn execute(&self, sql: &str, params: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<()> {
        let mut conn = self.connection()?;
        blocking(|| conn.execute(sql, params))?;
        Ok(())
    }
}

/// Runs `f`, which blocks on the database: the synchronous client drives a runtime of its
/// own, which panics inside a tokio worker thread (an MCP handler calling the store), so
/// there the call first tells tokio that this worker blocks.
pub(super) fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

fn connect(
    config: &postgres::Config,
    tls: Option<&MakeRustlsConnect>,
) -> std::result::Result<Client, postgres::Error> {
    match tls {
        None => config.connect(NoTls),
        Some(tls) => config.connect(tls.clone()),
    }
}

/// A bounded pool: beyond it, searches and syncs wait for a connection, for at most
/// [`CONNECTION_WAIT`].
fn pool_builder<M: r2d2::ManageConnection>() -> r2d2::Builder<M> {
    r2d2::Pool::builder()
        .max_size(MAX_CONNECTIONS)
        .min_idle(Some(1))
        .connection_timeout(CONNECTION_WAIT)
}

/// TLS for `sslmode=prefer|require` (the default roots of this machine); a Unix socket or
/// `sslmode=disable` never uses it.
fn tls_connector() -> MakeRustlsConnect {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for cert in found.certs {
        let _ = roots.add(cert);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("aws-lc-rs supports rustls's safe default protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    MakeRustlsConnect::new(config)
}

/// Said of a store that cannot be connected to; a connection lost mid-statement says
/// "unreachable" too (see `From<postgres::Error>`), so a failed sync reads the same whichever
/// way the database went away.
fn unreachable_store(url: &PostgresUrl, e: impl std::fmt::Display) -> StoreError {
    StoreError::Disconnected(format!(
        "cannot reach the PostgreSQL store {} (unreachable): {e}",
        url.redacted()
    ))
}

impl From<postgres::Error> for StoreError {
    /// A lost connection, or a server shutting down or starting up (SQLSTATE classes 08 and
    /// 57P), is [`StoreError::Disconnected`]: retried soon; the rest are the database's errors,
    /// and so are the client's own (a value it cannot encode is no reason to wait and retry).
    fn from(e: postgres::Error) -> Self {
        let code = e.code().map(|c| c.code().to_string());
        let away = match &code {
            Some(code) => code.starts_with("08") || code.starts_with("57P"),
            None => e.is_closed() || from_the_connection(&e),
        };
        if away {
            StoreError::Disconnected(format!("the PostgreSQL store is unreachable: {e}"))
        } else {
            StoreError::Database(Box::new(e))
        }
    }
}

/// Whether an error without a SQLSTATE came from the connection (its I/O, or connecting)
/// rather than from this side encoding or decoding a value.
fn from_the_connection(e: &postgres::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.is::<std::io::Error>() {
            return true;
        }
        source = s.source();
    }
    // No source: closed, a timeout or an unexpected message, all about the connection.
    std::error::Error::source(e).is_none()
}

impl Storage for PostgresStorage {
    fn location(&self) -> &Path {
        &self.shown
    }

    fn read(&self) -> Result<Box<dyn Snapshot + '_>> {
        let conn = self.connection()?;
        Ok(Box::new(blocking(|| read::PgSnapshot::begin(conn))?))
    }

    fn ensure_repository(
        &self,
        path: &Path,
        preferred: &str,
        language: Option<&str>,
        rename: bool,
    ) -> Result<RepositoryRecord> {
        let path_str = path_text(path)?;
        self.in_transaction(|tx| {
            // Names are unique across every process: one chooses at a time.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&NAMES_LOCK])?;
            let existing = read::repository_where(tx, "path = $1", &path_str)?;
            Ok(match existing {
                Some(mut rec) => {
                    if rename && rec.name != preferred && !name_taken(tx, preferred)? {
                        tx.execute(
                            "UPDATE repositories SET name = $1 WHERE id = $2",
                            &[&preferred, &rec.id],
                        )?;
                        rec.name = preferred.to_string();
                    }
                    if let Some(lang) = language {
                        tx.execute(
                            "UPDATE repositories SET language = $1 WHERE id = $2",
                            &[&lang, &rec.id],
                        )?;
                        rec.language = Some(lang.to_string());
                    }
                    rec
                }
                None => {
                    let name = unique_name(tx, preferred)?;
                    let row = tx.query_one(
                        "INSERT INTO repositories (path, name, language, created_at_ms, sync_state)
                         VALUES ($1, $2, $3, $4, 'new') RETURNING id",
                        &[&path_str, &name, &language, &(now_ns() / 1_000_000)],
                    )?;
                    RepositoryRecord {
                        id: row.get(0),
                        path: path.to_path_buf(),
                        name,
                        language: language.map(str::to_string),
                    }
                }
            })
        })
    }

    fn write_batch(&self, repo_id: i64, ops: &[FileOp]) -> Result<BatchCounts> {
        self.in_transaction(|tx| {
            self.leases.check(tx, repo_id)?;
            // Held shared until the batch commits: a removal of the repository waits for it
            // (and its rows), and a batch after a removal writes nothing.
            let there = tx.query_opt(
                "SELECT 1 FROM repositories WHERE id = $1 FOR KEY SHARE",
                &[&repo_id],
            )?;
            if there.is_none() {
                return Err(StoreError::NotFound(format!(
                    "repository {repo_id} was removed from the index"
                )));
            }
            write::apply_all(tx, repo_id, ops)
        })
    }

    fn record_sync(
        &self,
        repo_id: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()> {
        match result {
            Some(result) => self.execute(
                "UPDATE repositories SET last_sync_at_ms = $1, last_result = $2, last_error = $3,
                        sync_state = CASE sync_state WHEN 'new' THEN 'synced' ELSE sync_state END
                 WHERE id = $4",
                &[
                    &(now_ns() / 1_000_000),
                    &result.to_string(),
                    &error,
                    &repo_id,
                ],
            ),
            None => self.execute(
                "UPDATE repositories SET last_error = $1 WHERE id = $2",
                &[&error, &repo_id],
            ),
        }
    }

    fn set_sync_state(&self, repo_id: i64, s: &SyncState) -> Result<()> {
        self.execute(
            "UPDATE repositories SET sync_state = $1, failures = $2, next_retry_at_ms = $3,
                    missing_since_ms = $4, watch_state = $5, size_bytes = $6,
                    last_modified_ms = $7, auto = $8
             WHERE id = $9",
            &[
                &s.state.as_str(),
                &i64::from(s.failures),
                &s.next_retry_ms,
                &s.missing_since_ms,
                &s.watch.as_str(),
                &s.size.map(|v| v as i64),
                &s.last_modified_ms,
                &s.auto,
                &repo_id,
            ],
        )
    }

    fn set_repository_language(&self, repo_id: i64, language: Option<&str>) -> Result<()> {
        self.execute(
            "UPDATE repositories SET language = $1 WHERE id = $2",
            &[&language, &repo_id],
        )
    }

    fn remove_repository(&self, repo_id: i64) -> Result<()> {
        self.in_transaction(|tx| {
            // First the row, locked: a batch of a sync elsewhere holds it shared until it
            // commits, so every statement below sees that batch's rows, and later batches
            // find the repository gone.
            tx.execute(
                "SELECT 1 FROM repositories WHERE id = $1 FOR UPDATE",
                &[&repo_id],
            )?;
            // Every file with its rows, as a sync deletes them; vectors and packages cascade.
            let ids: Vec<i64> = tx
                .query("SELECT id FROM files WHERE repo_id = $1", &[&repo_id])?
                .into_iter()
                .map(|r| r.get(0))
                .collect();
            write::delete_files(tx, &ids, &mut Default::default(), &mut Default::default())?;
            tx.execute("DELETE FROM repositories WHERE id = $1", &[&repo_id])?;
            Ok(())
        })
    }

    fn set_packages(&self, repo_id: i64, packages: &Packages) -> Result<()> {
        self.in_transaction(|tx| {
            tx.execute("DELETE FROM packages WHERE repo_id = $1", &[&repo_id])?;
            let insert = tx.prepare(
                "INSERT INTO packages (repo_id, requires, name) VALUES ($1, $2, $3)
                 ON CONFLICT DO NOTHING",
            )?;
            for (requires, names) in [(false, &packages.provides), (true, &packages.requires)] {
                for name in names {
                    tx.execute(&insert, &[&repo_id, &requires, name])?;
                }
            }
            Ok(())
        })
    }

    fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.execute(
            "INSERT INTO state (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &value],
        )
    }

    fn store_vectors(&self, model: &str, chunks: &[(i64, Vec<StoredUnit>)]) -> Result<()> {
        self.in_transaction(|tx| write::store_vectors(tx, model, chunks))
    }

    fn begin_bulk(&self) {}

    /// Fresh planner statistics after many writes (a first index changes every table's size
    /// by orders of magnitude), and the terms index's pending list merged: until then every
    /// search reads that list through.
    fn end_bulk(&self) {
        let analyzed = self.connection().and_then(|mut c| {
            blocking(|| {
                c.batch_execute(
                    "SELECT gin_clean_pending_list('chunks_by_term'::regclass); ANALYZE",
                )
            })?;
            Ok(())
        });
        if let Err(e) = analyzed {
            tracing::debug!(%e, "ANALYZE after bulk writes failed");
        }
    }

    fn checkpoint(&self) {}

    /// A lease in the store (see [`lease`]): waits while another indexer's is live.
    fn lock_repository(&self, repo_id: i64) -> Result<RepositoryLock> {
        lease::wait_for(|| self.try_lock_repository(repo_id), repo_id)
    }

    fn keeps_contents(&self) -> bool {
        true
    }

    fn size_bytes(&self) -> Option<u64> {
        let size = self.connection().and_then(|mut conn| {
            blocking(|| conn.query_one("SELECT pg_database_size(current_database())", &[]))
                .map_err(StoreError::from)
        });
        match size {
            Ok(row) => Some(row.get::<_, i64>(0).max(0) as u64),
            Err(e) => {
                tracing::debug!(%e, "cannot read the database's size");
                None
            }
        }
    }

    fn writable(&self) -> bool {
        self.writable
    }

    fn try_lock_repository(&self, repo_id: i64) -> Result<Option<RepositoryLock>> {
        self.leases
            .try_take(repo_id, lease::connector(&self.config, self.tls.as_ref()))
    }
}

fn path_text(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| StoreError::Path {
            path: path.display().to_string(),
            reason: "the path is not UTF-8".into(),
        })
}

fn name_taken(client: &mut impl GenericClient, name: &str) -> Result<bool> {
    Ok(client
        .query_opt("SELECT 1 FROM repositories WHERE name = $1", &[&name])?
        .is_some())
}

fn unique_name(client: &mut impl GenericClient, preferred: &str) -> Result<String> {
    crate::store::unique_name(preferred, |n| name_taken(client, n))
}

#[cfg(test)]
mod tests;
