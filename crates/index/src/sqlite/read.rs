//! Reading: one read transaction per snapshot, on a pooled connection, and the lexical index's
//! last commit (taken when a query first needs it).

use super::{SqliteStorage, GENERATION_KEY};
use crate::chunk::{FileReferences, Reference, Symbol};
use crate::filters::Filters;
use crate::lexical::{LexicalSearcher, Restriction};
use crate::store::{
    from_ms, ChunkRow, Definition, DefinitionRow, FileSites, FileState, PendingChunk, RepoState,
    RepositoryInfo, RepositoryRecord, Result, Snapshot, SymbolQuery, SyncState, UnfinishedSync,
    WatchState,
};
use crate::SymbolHit;
use codeintel_discovery::manifest::Packages;
use rusqlite::{params, params_from_iter, types::Value, Connection, OptionalExtension};
use rustc_hash::FxHashMap;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::path::PathBuf;
use std::rc::Rc;

/// A reader connection inside one read transaction; back to the pool when dropped.
pub(super) struct SqliteSnapshot<'s> {
    storage: &'s SqliteStorage,
    conn: Option<Connection>,
    lexical: OnceCell<LexicalSearcher>,
}

impl<'s> SqliteSnapshot<'s> {
    /// One read transaction for everything asked of it: a consistent snapshot while a writer
    /// commits, and one lock and log check instead of one per statement.
    pub(super) fn begin(storage: &'s SqliteStorage) -> Result<Self> {
        let pooled = storage
            .readers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop();
        let conn = match pooled {
            Some(conn) => conn,
            None => super::reader_connection(&storage.path)?,
        };
        conn.execute_batch("BEGIN")?;
        Ok(SqliteSnapshot {
            storage,
            conn: Some(conn),
            lexical: OnceCell::new(),
        })
    }

    fn lexical(&self) -> Result<&LexicalSearcher> {
        match self.lexical.get() {
            Some(searcher) => Ok(searcher),
            None => {
                let logged = super::lexical::last_logged(self.conn())?;
                let storage = self.storage;
                let searcher = storage.lexical.searcher_covering(logged, || {
                    storage.with_writer(|conn| storage.lexical.catch_up(conn))
                })?;
                Ok(self.lexical.get_or_init(|| searcher))
            }
        }
    }

    /// The chunks the lexical index finds holding every word, in repository, path and line
    /// order (only their ids are sorted, not their contents).
    fn ordered_matches(&self, filters: &Filters, words: &[String]) -> Result<Vec<i64>> {
        let files = self.files_passing(filters)?;
        let within = restriction(filters, files.as_ref(), None);
        let ids = self.lexical()?.matching(words, &within)?;
        if ids.is_empty() {
            return Ok(ids);
        }
        let ids: Vec<Value> = ids.into_iter().map(Value::Integer).collect();
        let mut stmt = self.conn().prepare_cached(
            "SELECT c.id FROM chunks c
             JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = f.repo_id
             WHERE c.id IN rarray(?1)
             ORDER BY r.name, f.path, c.start_line",
        )?;
        let ordered = stmt
            .query_map([Rc::new(ids)], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(ordered)
    }

    /// The files a path filter lets through (with the other filters), when there is one.
    fn files_passing(&self, filters: &Filters) -> Result<Option<HashSet<i64>>> {
        if filters.path.is_none() {
            return Ok(None);
        }
        let (clause, values) = filter_sql(filters);
        let mut stmt = self
            .conn()
            .prepare_cached(&format!("SELECT f.id, f.path FROM files f WHERE 1{clause}"))?;
        let mut rows = stmt.query(params_from_iter(values))?;
        let mut files = HashSet::new();
        while let Some(r) = rows.next()? {
            if filters.path_ok(r.get_ref(1)?.as_str().unwrap_or("")) {
                files.insert(r.get(0)?);
            }
        }
        Ok(Some(files))
    }

    pub(super) fn conn(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("the connection is only taken when the snapshot is dropped")
    }
}

impl Drop for SqliteSnapshot<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A connection left inside its transaction would pin an old snapshot forever.
        match conn.execute_batch("COMMIT") {
            Ok(()) => self.storage.give_back(conn),
            Err(e) => tracing::debug!(%e, "dropping a reader that could not end its snapshot"),
        }
    }
}

/// The filters as SQL over `r` (repositories) and `f` (files), with their values; a path
/// filter is checked on the rows read.
fn filter_sql(filters: &Filters) -> (String, Vec<Value>) {
    let mut clause = String::new();
    let mut values = Vec::new();
    if let Some(id) = filters.repo_id {
        clause.push_str(" AND f.repo_id = ?");
        values.push(Value::Integer(id));
    }
    if let Some(lang) = filters.language {
        clause.push_str(" AND f.language = ?");
        values.push(Value::Text(lang.to_string()));
    }
    (clause, values)
}

/// The filters as the lexical index takes them (a path filter resolved to `files`).
fn restriction<'a>(
    filters: &'a Filters,
    files: Option<&'a HashSet<i64>>,
    skip: Option<&'a HashSet<i64>>,
) -> Restriction<'a> {
    Restriction {
        repo_id: filters.repo_id,
        language: filters.language,
        files,
        skip,
    }
}

const ROW_COLUMNS: &str =
    "r.name, f.path, f.language, c.start_line, c.end_line, c.symbol, c.kind, c.content, c.file_id, c.id";

fn read_row(r: &rusqlite::Row, rank: f64) -> rusqlite::Result<ChunkRow> {
    Ok(ChunkRow {
        repository: r.get(0)?,
        path: r.get(1)?,
        language: r.get(2)?,
        start_line: r.get(3)?,
        end_line: r.get(4)?,
        symbol: r.get(5)?,
        kind: r.get(6)?,
        content: r.get(7)?,
        file_id: r.get(8)?,
        id: r.get(9)?,
        rank,
    })
}

pub(super) fn repository_where(
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

/// Visits (unit id, bits) of the rows of `stmt`, whose first two columns are those.
fn visit_bits(
    rows: &mut rusqlite::Rows<'_>,
    path_ok: impl Fn(&rusqlite::Row) -> rusqlite::Result<bool>,
    visit: &mut dyn FnMut(i64, &[u8]),
) -> Result<()> {
    while let Some(r) = rows.next()? {
        if !path_ok(r)? {
            continue;
        }
        let bits = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        visit(r.get(0)?, bits);
    }
    Ok(())
}

impl Snapshot for SqliteSnapshot<'_> {
    fn repository_named(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        repository_where(self.conn(), "name = ?1", name)
    }

    fn repository_at(&self, path: &str) -> Result<Option<RepositoryRecord>> {
        repository_where(self.conn(), "path = ?1", path)
    }

    fn repositories(&self, counts: bool, only: Option<i64>) -> Result<Vec<RepositoryInfo>> {
        let counts_sql = if counts {
            "(SELECT count(*) FROM files f WHERE f.repo_id = r.id),
             (SELECT coalesce(sum(chunk_count), 0) FROM files f WHERE f.repo_id = r.id),"
        } else {
            "0, 0,"
        };
        let mut stmt = self.conn().prepare_cached(&format!(
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
    }

    fn unfinished_first_syncs(&self) -> Result<Vec<UnfinishedSync>> {
        // Every search asks: one indexed query that usually finds nothing, not a listing.
        let mut stmt = self.conn().prepare_cached(
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
    }

    fn file_states(&self, repo_id: i64) -> Result<FxHashMap<String, FileState>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT path, size, mtime_ns, hash, indexed_at_ns, refs_version, language FROM files
             WHERE repo_id = ?1",
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
                    language: r.get(6)?,
                    size: r.get::<_, i64>(1)? as u64,
                    mtime_ns: r.get(2)?,
                    hash: fixed,
                    indexed_at_ns: r.get(4)?,
                    refs_version: r.get(5)?,
                },
            ))
        })?;
        Ok(rows.collect::<Result<FxHashMap<_, _>, _>>()?)
    }

    fn state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn()
            .query_row("SELECT value FROM state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn chunk(&self, chunk_id: i64, rank: f64) -> Result<Option<ChunkRow>> {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = f.repo_id WHERE c.id = ?1"
        );
        Ok(self
            .conn()
            .prepare_cached(&sql)?
            .query_row([chunk_id], |r| read_row(r, rank))
            .optional()?)
    }

    /// Ids and ranks from the lexical index alone; a path filter becomes the set of files it
    /// lets through.
    fn lexical_candidates(
        &self,
        terms: &[String],
        all: bool,
        filters: &Filters,
        want: usize,
        skip: &HashSet<i64>,
    ) -> Result<Vec<(i64, f64)>> {
        let files = self.files_passing(filters)?;
        let within = restriction(filters, files.as_ref(), Some(skip));
        // Ranks as FTS5 gave them (lower is better), so the layers above did not change.
        Ok(self
            .lexical()?
            .top(terms, all, &within, want)?
            .into_iter()
            .map(|(id, score)| (id, -f64::from(score)))
            .collect())
    }

    fn scan_chunks(
        &self,
        filters: &Filters,
        words: Option<&[String]>,
        visit: &mut dyn FnMut(ChunkRow) -> Result<bool>,
    ) -> Result<()> {
        if let Some(words) = words {
            for id in self.ordered_matches(filters, words)? {
                let Some(row) = self.chunk(id, 0.0)? else {
                    continue;
                };
                if !visit(row)? {
                    break;
                }
            }
            return Ok(());
        }
        // Every chunk: walked in order through the name and path indexes (CROSS JOIN fixes the
        // join order), sorting only each file's chunks, so the scan streams and stops at the
        // limit. Joined from chunks, SQLite sorted every chunk of the index first, contents
        // included: 10-15 s for any exact query without inner words on a 3.4 GB corpus.
        let (clause, values) = filter_sql(filters);
        let mut stmt = self.conn().prepare_cached(&format!(
            "SELECT {ROW_COLUMNS} FROM repositories r
             CROSS JOIN files f ON f.repo_id = r.id
             CROSS JOIN chunks c ON c.file_id = f.id
             WHERE 1{clause}
             ORDER BY r.name, f.path, c.start_line"
        ))?;
        let mut rows = stmt.query(params_from_iter(values))?;
        while let Some(r) = rows.next()? {
            let row = read_row(r, 0.0)?;
            if !filters.path_ok(&row.path) {
                continue;
            }
            if !visit(row)? {
                break;
            }
        }
        Ok(())
    }

    fn innermost_symbol(
        &self,
        file_id: i64,
        line: u32,
        from_line: u32,
    ) -> Result<Option<(String, String)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT name, kind FROM symbols
             WHERE file_id = ?1 AND start_line <= ?2 AND end_line >= ?2 AND start_line >= ?3
             ORDER BY start_line DESC, end_line ASC LIMIT 1",
        )?;
        Ok(stmt
            .query_row(params![file_id, line, from_line], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?)
    }

    fn symbols(&self, q: &SymbolQuery<'_>) -> Result<Vec<SymbolHit>> {
        let escaped = q
            .name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let mut stmt = self.conn().prepare_cached(
            "SELECT r.name, f.path, s.name, s.kind, f.language, s.start_line, s.end_line,
                    CASE WHEN s.name = ?1 COLLATE NOCASE THEN 0
                         WHEN s.name LIKE ?2 || '%' ESCAPE '\\' THEN 1 ELSE 2 END AS tier
             FROM symbols s
             JOIN files f ON f.id = s.file_id
             JOIN repositories r ON r.id = f.repo_id
             WHERE s.name LIKE '%' || ?2 || '%' ESCAPE '\\'
               AND (?3 IS NULL OR s.kind = ?3)
               AND (?4 IS NULL OR f.repo_id = ?4)
             ORDER BY tier, length(s.name), r.name, f.path, s.start_line
             LIMIT ?5",
        )?;
        let rows = stmt.query_map(
            params![q.name, escaped, q.kind, q.repo_id, q.limit as i64],
            |r| {
                Ok(SymbolHit {
                    repository: r.get(0)?,
                    path: r.get(1)?,
                    name: r.get(2)?,
                    kind: r.get(3)?,
                    language: r.get(4)?,
                    start_line: r.get(5)?,
                    end_line: r.get(6)?,
                })
            },
        )?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn dependencies(&self) -> Result<Vec<(i64, i64)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT DISTINCT r.repo_id, p.repo_id FROM packages r
             JOIN packages p ON p.name = r.name AND p.requires = 0
             WHERE r.requires = 1 AND p.repo_id != r.repo_id",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn packages(&self, repo_id: i64) -> Result<Packages> {
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT requires, name FROM packages WHERE repo_id = ?1")?;
        let mut packages = Packages::default();
        let rows = stmt.query_map([repo_id], |r| Ok((r.get::<_, bool>(0)?, r.get(1)?)))?;
        for row in rows {
            let (requires, name): (bool, String) = row?;
            match requires {
                true => packages.requires.insert(name),
                false => packages.provides.insert(name),
            };
        }
        Ok(packages)
    }

    fn file_references(&self, file_id: i64) -> Result<FileReferences> {
        let conn = self.conn();
        let mut names =
            conn.prepare_cached("SELECT name, sites FROM refs WHERE file_id = ?1 ORDER BY name")?;
        let names = names
            .query_map([file_id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        let mut imports = conn.prepare_cached(
            "SELECT local, name, module FROM imports WHERE file_id = ?1 ORDER BY local, name",
        )?;
        let imports = imports
            .query_map([file_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FileReferences { names, imports })
    }

    fn states(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        // Keys compare bytewise here, so the ones with the prefix are one range of the key.
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT key, value FROM state WHERE key >= ?1 ORDER BY key")?;
        let mut states = Vec::new();
        for row in stmt.query_map([prefix], |r| Ok((r.get::<_, String>(0)?, r.get(1)?)))? {
            let (key, value) = row?;
            if !key.starts_with(prefix) {
                break;
            }
            states.push((key, value));
        }
        Ok(states)
    }

    fn references_named(&self, name: &str, repo_id: Option<i64>) -> Result<Vec<FileSites>> {
        super::refs::named(self.conn(), name, repo_id)
    }

    fn references_in_file(&self, file_id: i64) -> Result<Vec<Reference>> {
        super::refs::in_file(self.conn(), file_id)
    }

    fn imports_binding(&self, file_id: i64, local: &str) -> Result<Vec<Reference>> {
        super::refs::imports_binding(self.conn(), file_id, local)
    }

    fn definitions_named(&self, name: &str) -> Result<Vec<DefinitionRow>> {
        super::refs::definitions_named(self.conn(), name)
    }

    fn file_symbols(&self, file_id: i64) -> Result<Vec<Symbol>> {
        super::refs::file_symbols(self.conn(), file_id)
    }

    fn line_text(&self, file_id: i64, line: u32) -> Result<Option<String>> {
        super::refs::line_text(self.conn(), file_id, line)
    }

    fn model_key(&self, model: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT id FROM embedding_models WHERE name = ?1",
                [model],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn model_with_vectors(&self, model: &str) -> Result<Option<i64>> {
        Ok(self
            .conn()
            .query_row(
                "SELECT m.id FROM embedding_models m
                 WHERE m.name = ?1 AND EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = m.id)",
                [model],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn vector_generation(&self) -> Result<i64> {
        Ok(self
            .conn()
            .query_row(
                "SELECT CAST(value AS INTEGER) FROM state WHERE key = ?1",
                [GENERATION_KEY],
                |r| r.get(0),
            )
            .optional()?
            .unwrap_or(0))
    }

    fn units_after(
        &self,
        model_id: i64,
        after: i64,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT id, bits FROM embeddings WHERE model_id = ?1 AND id > ?2 ORDER BY id",
        )?;
        let mut rows = stmt.query(params![model_id, after])?;
        visit_bits(&mut rows, |_| Ok(true), visit)
    }

    fn units_filtered(
        &self,
        model_id: i64,
        filters: &Filters,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()> {
        let (clause, filter_values) = filter_sql(filters);
        let sql = format!(
            "SELECT e.id, e.bits, f.path FROM embeddings e
             JOIN chunks c ON c.id = e.chunk_id
             JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = f.repo_id
             WHERE e.model_id = ?{clause}"
        );
        let mut values = vec![Value::Integer(model_id)];
        values.extend(filter_values);
        let mut stmt = self.conn().prepare_cached(&sql)?;
        let mut rows = stmt.query(params_from_iter(values))?;
        let path_ok = |r: &rusqlite::Row| -> rusqlite::Result<bool> {
            Ok(filters.path.is_none() || filters.path_ok(r.get_ref(2)?.as_str().unwrap_or("")))
        };
        visit_bits(&mut rows, path_ok, visit)
    }

    fn unit_vector(&self, unit_id: i64) -> Result<Option<(i64, u32, Vec<u8>)>> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT e.chunk_id, e.line, v.vector FROM embeddings e JOIN vectors v ON v.id = e.id
             WHERE e.id = ?1",
        )?;
        Ok(stmt
            .query_row([unit_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?)
    }

    fn chunk_vectors(
        &self,
        model_id: i64,
        chunk_id: i64,
        visit: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<()> {
        let mut stmt = self.conn().prepare_cached(
            "SELECT e.line, v.vector FROM embeddings e JOIN vectors v ON v.id = e.id
             WHERE e.chunk_id = ?1 AND e.model_id = ?2",
        )?;
        let mut rows = stmt.query(params![chunk_id, model_id])?;
        while let Some(r) = rows.next()? {
            let blob = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            visit(r.get(0)?, blob);
        }
        Ok(())
    }

    fn count_to_embed(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id
             WHERE (?2 IS NULL OR f.repo_id = ?2) AND NOT EXISTS
               (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id IS ?1)",
            params![model_id, repo_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn count_embedded(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64> {
        Ok(self.conn().query_row(
            "SELECT count(DISTINCT e.chunk_id) FROM embeddings e
             JOIN chunks c ON c.id = e.chunk_id JOIN files f ON f.id = c.file_id
             WHERE (?1 IS NULL OR e.model_id = ?1) AND (?2 IS NULL OR f.repo_id = ?2)",
            params![model_id, repo_id],
            |r| r.get::<_, i64>(0),
        )? as u64)
    }

    fn pending_chunks(
        &self,
        model_id: Option<i64>,
        repo_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PendingChunk>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT c.id, c.file_id, c.symbol, f.path, c.content, c.start_line, c.end_line
             FROM chunks c JOIN files f ON f.id = c.file_id
             WHERE (?2 IS NULL OR f.repo_id = ?2) AND NOT EXISTS
               (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id AND e.model_id IS ?1)
             ORDER BY c.id LIMIT ?3",
        )?;
        let chunks = stmt
            .query_map(params![model_id, repo_id, limit as i64], |r| {
                Ok((
                    r.get::<_, i64>(1)?,
                    r.get::<_, u32>(6)?,
                    PendingChunk {
                        id: r.get(0)?,
                        symbol: r.get(2)?,
                        path: r.get(3)?,
                        content: r.get(4)?,
                        start_line: r.get(5)?,
                        definitions: Vec::new(),
                    },
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut defs = conn.prepare_cached(
            "SELECT name, start_line, end_line FROM symbols
             WHERE file_id = ?1 AND start_line BETWEEN ?2 AND ?3
             ORDER BY start_line, end_line DESC",
        )?;
        let mut out = Vec::with_capacity(chunks.len());
        for (file_id, end_line, mut chunk) in chunks {
            chunk.definitions = defs
                .query_map(params![file_id, chunk.start_line, end_line], |r| {
                    Ok(Definition {
                        name: r.get(0)?,
                        start_line: r.get(1)?,
                        end_line: r.get(2)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            out.push(chunk);
        }
        Ok(out)
    }
}
