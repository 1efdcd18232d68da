//! Reading: one repeatable-read, read-only transaction per snapshot, on a pooled connection.
//! Rows are read in pages (keyset order), never streamed, so a visitor may ask the snapshot
//! for more while a scan goes on.

use super::{blocking, postings, Pooled, Result};
use crate::chunk::{decode_sites, FileReferences, Reference, Symbol};
use crate::filters::Filters;
use crate::lexical::{query_terms, TopWithTies};
use crate::sqlite::{intern_kind, GENERATION_KEY};
use crate::store::{
    from_ms, ChunkRow, Definition, DefinitionRow, FileInfo, FileSites, FileState, PendingChunk,
    RepoState, RepositoryInfo, RepositoryRecord, Snapshot, SymbolQuery, SyncState, UnfinishedSync,
    WatchState,
};
use crate::SymbolHit;
use codeintel_discovery::manifest::Packages;
use postgres::types::ToSql;
use postgres::{GenericClient, Row};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::collections::HashSet;
use std::path::PathBuf;

/// Chunks read per page of a scan.
const SCAN_PAGE: i64 = 512;

/// Which rows of [`PgSnapshot::term_postings`] the filters let through. Applied here, not in
/// the statement: document frequencies count every row, and a plain read through the key
/// takes the server a fifth of the time a window over the rows did.
struct PostingFilter<'a> {
    filters: &'a Filters,
    files: Option<rustc_hash::FxHashSet<i64>>,
}

impl<'a> PostingFilter<'a> {
    fn new(filters: &'a Filters, files: Option<Vec<i64>>) -> Self {
        PostingFilter {
            filters,
            files: files.map(|f| f.into_iter().collect()),
        }
    }

    fn lets_through(&self, row: &Row) -> bool {
        self.filters
            .repo_id
            .is_none_or(|id| row.get::<_, i64>(2) == id)
            && self
                .filters
                .language
                .is_none_or(|l| row.get::<_, &str>(3) == l)
            && self
                .files
                .as_ref()
                .is_none_or(|f| f.contains(&row.get::<_, i64>(4)))
    }
}

/// A postings row's term, as its place in the query's `count` terms.
fn term_place(row: &Row, count: usize) -> Option<usize> {
    let place = usize::try_from(row.get::<_, Option<i32>>(0)?).ok()?;
    (1..=count).contains(&place).then(|| place - 1)
}

/// BM25's parameters, tantivy's (the embedded engine's).
const K1: f64 = 1.2;
const B: f64 = 0.75;

pub(super) struct PgSnapshot {
    conn: RefCell<Pooled>,
}

impl PgSnapshot {
    pub(super) fn begin(mut conn: Pooled) -> Result<Self> {
        conn.batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")?;
        Ok(PgSnapshot {
            conn: RefCell::new(conn),
        })
    }

    fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let mut conn = self.conn.borrow_mut();
        Ok(blocking(|| conn.query(sql, params))?)
    }

    fn query_opt(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let mut conn = self.conn.borrow_mut();
        Ok(blocking(|| conn.query_opt(sql, params))?)
    }

    /// The files a path filter lets through (with the other filters), when there is one.
    fn files_passing(&self, filters: &Filters) -> Result<Option<Vec<i64>>> {
        if filters.path.is_none() {
            return Ok(None);
        }
        let rows = self.query(
            "SELECT f.id, f.path FROM files f
             WHERE ($1::BIGINT IS NULL OR f.repo_id = $1) AND ($2::TEXT IS NULL OR f.language = $2)",
            &[&filters.repo_id, &filters.language],
        )?;
        Ok(Some(
            rows.iter()
                .filter(|r| filters.path_ok(r.get(1)))
                .map(|r| r.get(0))
                .collect(),
        ))
    }

    /// The postings rows of `terms` (a plain read through the key): the term's place in
    /// `terms`, the row's chunk count, repository, language, file and lists.
    fn term_postings(&self, terms: &[String]) -> Result<Vec<Row>> {
        self.query(
            "SELECT array_position($1::TEXT[], p.term), p.n, p.repo_id, p.language, p.file_id, p.lists
             FROM lex_postings p WHERE p.term = ANY($1::TEXT[])",
            &[&terms],
        )
    }

    /// BM25's corpus statistics: documents, and their average length in terms.
    fn corpus_stats(&self) -> Result<(f64, f64)> {
        let rows = self.query(
            "SELECT greatest(sum(lexical_docs), 1)::FLOAT8,
                    greatest(sum(lexical_terms)::FLOAT8 / greatest(sum(lexical_docs), 1), 1)
             FROM repositories",
            &[],
        )?;
        Ok(rows.first().map_or((1.0, 1.0), |r| (r.get(0), r.get(1))))
    }

    /// Visits the chunks `ids` in repository, path and line order: the order is read once
    /// (keys only), then the rows a page at a time. Paged by key as [`Self::scan`] pages, each
    /// page sorted every candidate again with its content (600 ms a page for 18k candidates).
    fn scan_ids(&self, ids: &[i64], visit: &mut dyn FnMut(ChunkRow) -> Result<bool>) -> Result<()> {
        let order: Vec<(i64, f64)> = self
            .query(
                "SELECT c.id FROM chunks c
                 JOIN files f ON f.id = c.file_id JOIN repositories r ON r.id = f.repo_id
                 WHERE c.id = ANY($1) ORDER BY r.name, f.path, c.start_line, c.id",
                &[&ids],
            )?
            .iter()
            .map(|r| (r.get(0), 0.0))
            .collect();
        for page in order.chunks(SCAN_PAGE as usize) {
            let mut rows: FxHashMap<i64, ChunkRow> =
                self.chunks(page)?.into_iter().map(|r| (r.id, r)).collect();
            for (id, _) in page {
                if let Some(row) = rows.remove(id) {
                    if !visit(row)? {
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }

    /// Visits the chunks the filters let through, in repository, path and line order: the
    /// files' order is read once, then their chunks a page of files at a time. (Paged by a
    /// key over the chunks instead, each page sorted every chunk again: quadratic in the
    /// corpus, 250 ms a page at one copy.)
    fn scan(
        &self,
        filters: &Filters,
        visit: &mut dyn FnMut(ChunkRow) -> Result<bool>,
    ) -> Result<()> {
        let files = self.query(
            "SELECT f.id, f.path, f.chunk_count FROM files f JOIN repositories r ON r.id = f.repo_id
             WHERE ($1::BIGINT IS NULL OR f.repo_id = $1) AND ($2::TEXT IS NULL OR f.language = $2)
             ORDER BY r.name, f.path",
            &[&filters.repo_id, &filters.language],
        )?;
        let mut page: Vec<i64> = Vec::new();
        let mut chunks = 0;
        for (i, r) in files.iter().enumerate() {
            if filters.path_ok(r.get(1)) {
                page.push(r.get(0));
                chunks += r.get::<_, i64>(2);
            }
            let last = i + 1 == files.len();
            if (chunks >= SCAN_PAGE || last) && !page.is_empty() {
                if !self.visit_files(&page, visit)? {
                    return Ok(());
                }
                page.clear();
                chunks = 0;
            }
        }
        Ok(())
    }

    /// Visits the chunks of `files` in that order, each file's by line; false when the
    /// visitor stopped.
    fn visit_files(
        &self,
        files: &[i64],
        visit: &mut dyn FnMut(ChunkRow) -> Result<bool>,
    ) -> Result<bool> {
        let place: FxHashMap<i64, usize> = files.iter().enumerate().map(|(i, &f)| (f, i)).collect();
        let mut rows: Vec<ChunkRow> = self
            .query(
                &format!(
                    "SELECT {ROW_COLUMNS} FROM chunks c
                     JOIN files f ON f.id = c.file_id JOIN repositories r ON r.id = f.repo_id
                     WHERE c.file_id = ANY($1)"
                ),
                &[&files],
            )?
            .iter()
            .map(|r| read_row(r, 0.0))
            .collect();
        rows.sort_by_key(|r| (place.get(&r.file_id).copied(), r.start_line, r.id));
        for row in rows {
            if !visit(row)? {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

impl Drop for PgSnapshot {
    fn drop(&mut self) {
        // Back to the pool outside any transaction.
        let conn = self.conn.get_mut();
        if let Err(e) = blocking(|| conn.batch_execute("COMMIT")) {
            tracing::debug!(%e, "a snapshot could not end its transaction");
        }
    }
}

const ROW_COLUMNS: &str =
    "r.name, f.path, f.language, c.start_line, c.end_line, c.symbol, c.kind, c.content, c.file_id, c.id";

fn read_row(r: &Row, rank: f64) -> ChunkRow {
    ChunkRow {
        repository: r.get(0),
        path: r.get(1),
        language: r.get(2),
        start_line: r.get::<_, i64>(3) as u32,
        end_line: r.get::<_, i64>(4) as u32,
        symbol: r.get(5),
        kind: r.get(6),
        content: r.get(7),
        file_id: r.get(8),
        id: r.get(9),
        rank,
    }
}

pub(super) fn repository_where(
    client: &mut impl GenericClient,
    clause: &str,
    value: &str,
) -> Result<Option<RepositoryRecord>> {
    let sql = format!("SELECT id, path, name, language FROM repositories WHERE {clause}");
    Ok(client
        .query_opt(&sql, &[&value])?
        .map(|r| RepositoryRecord {
            id: r.get(0),
            path: PathBuf::from(r.get::<_, String>(1)),
            name: r.get(2),
            language: r.get(3),
        }))
}

const FILE_COLUMNS: &str = "f.id, f.repo_id, r.name, f.path, f.language";

fn file_info(r: &Row, at: usize) -> FileInfo {
    FileInfo {
        id: r.get(at),
        repo_id: r.get(at + 1),
        repository: r.get(at + 2),
        path: r.get(at + 3),
        language: r.get(at + 4),
    }
}

fn symbol(r: &Row, at: usize) -> Symbol {
    Symbol {
        name: r.get(at),
        kind: intern_kind(&r.get::<_, String>(at + 1)),
        start_line: r.get::<_, i64>(at + 2) as u32,
        end_line: r.get::<_, i64>(at + 3) as u32,
    }
}

impl Snapshot for PgSnapshot {
    fn repository_named(&self, name: &str) -> Result<Option<RepositoryRecord>> {
        let mut conn = self.conn.borrow_mut();
        blocking(|| repository_where(&mut **conn, "name = $1", name))
    }

    fn repository_at(&self, path: &str) -> Result<Option<RepositoryRecord>> {
        let mut conn = self.conn.borrow_mut();
        blocking(|| repository_where(&mut **conn, "path = $1", path))
    }

    fn repositories(&self, counts: bool, only: Option<i64>) -> Result<Vec<RepositoryInfo>> {
        let counts_sql = if counts {
            "(SELECT count(*) FROM files f WHERE f.repo_id = r.id),
             (SELECT coalesce(sum(chunk_count), 0)::BIGINT FROM files f WHERE f.repo_id = r.id),"
        } else {
            "0::BIGINT, 0::BIGINT,"
        };
        let rows = self.query(
            &format!(
                "SELECT r.id, r.path, r.name, r.language, r.last_sync_at_ms, r.last_result,
                        r.last_error, {counts_sql}
                        r.sync_state, r.failures, r.next_retry_at_ms, r.missing_since_ms,
                        r.watch_state, r.size_bytes, r.last_modified_ms, r.auto
                 FROM repositories r WHERE $1::BIGINT IS NULL OR r.id = $1 ORDER BY r.name"
            ),
            &[&only],
        )?;
        Ok(rows
            .iter()
            .map(|r| RepositoryInfo {
                record: RepositoryRecord {
                    id: r.get(0),
                    path: PathBuf::from(r.get::<_, String>(1)),
                    name: r.get(2),
                    language: r.get(3),
                },
                last_sync: r.get::<_, Option<i64>>(4).map(from_ms),
                last_result: r
                    .get::<_, Option<String>>(5)
                    .and_then(|s| serde_json::from_str(&s).ok()),
                last_error: r.get(6),
                files: r.get::<_, i64>(7) as u64,
                chunks: r.get::<_, i64>(8) as u64,
                sync: SyncState {
                    state: RepoState::parse(r.get(9)),
                    failures: r.get::<_, i64>(10).clamp(0, i64::from(u32::MAX)) as u32,
                    next_retry_ms: r.get(11),
                    missing_since_ms: r.get(12),
                    watch: WatchState::parse(r.get(13)),
                    size: r.get::<_, Option<i64>>(14).map(|s| s.max(0) as u64),
                    last_modified_ms: r.get(15),
                    auto: r.get(16),
                },
            })
            .collect())
    }

    fn unfinished_first_syncs(&self) -> Result<Vec<UnfinishedSync>> {
        let rows = self.query(
            "SELECT r.name, r.sync_state,
                    CASE WHEN r.sync_state = 'syncing'
                         THEN (SELECT count(*) FROM files f WHERE f.repo_id = r.id) ELSE 0 END
             FROM repositories r
             WHERE r.last_sync_at_ms IS NULL AND r.sync_state IN ('new', 'queued', 'syncing')
             ORDER BY r.name",
            &[],
        )?;
        Ok(rows
            .iter()
            .map(|r| UnfinishedSync {
                name: r.get(0),
                running: RepoState::parse(r.get(1)) == RepoState::Syncing,
                files: r.get::<_, i64>(2).max(0) as u64,
            })
            .collect())
    }

    fn file_states(&self, repo_id: i64) -> Result<FxHashMap<String, FileState>> {
        let rows = self.query(
            "SELECT path, size, mtime_ns, hash, indexed_at_ns, refs_version, language FROM files
             WHERE repo_id = $1",
            &[&repo_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| {
                let hash: &[u8] = r.get(3);
                let mut fixed = [0u8; 32];
                if hash.len() == 32 {
                    fixed.copy_from_slice(hash);
                }
                (
                    r.get::<_, String>(0),
                    FileState {
                        language: r.get(6),
                        size: r.get::<_, i64>(1) as u64,
                        mtime_ns: r.get(2),
                        hash: fixed,
                        indexed_at_ns: r.get(4),
                        refs_version: r.get(5),
                    },
                )
            })
            .collect())
    }

    fn state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .query_opt("SELECT value FROM state WHERE key = $1", &[&key])?
            .map(|r| r.get(0)))
    }

    fn packages(&self, repo_id: i64) -> Result<Packages> {
        let mut packages = Packages::default();
        for r in self.query(
            "SELECT requires, name FROM packages WHERE repo_id = $1",
            &[&repo_id],
        )? {
            match r.get::<_, bool>(0) {
                true => packages.requires.insert(r.get(1)),
                false => packages.provides.insert(r.get(1)),
            };
        }
        Ok(packages)
    }

    fn file_references(&self, file_id: i64) -> Result<FileReferences> {
        let names = self
            .query(
                "SELECT name, sites FROM refs WHERE file_id = $1 ORDER BY name",
                &[&file_id],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let imports = self
            .query(
                "SELECT local, name, module FROM imports WHERE file_id = $1 ORDER BY local, name",
                &[&file_id],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1), r.get(2)))
            .collect();
        Ok(FileReferences { names, imports })
    }

    fn states(&self, prefix: &str) -> Result<Vec<(String, String)>> {
        // Not a range of the key: the database's collation need not keep a prefix together.
        Ok(self
            .query(
                "SELECT key, value FROM state WHERE starts_with(key, $1) ORDER BY key",
                &[&prefix],
            )?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect())
    }

    fn chunks(&self, ranked: &[(i64, f64)]) -> Result<Vec<ChunkRow>> {
        let ids: Vec<i64> = ranked.iter().map(|(id, _)| *id).collect();
        let rank: FxHashMap<i64, f64> = ranked.iter().copied().collect();
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = f.repo_id WHERE c.id = ANY($1)"
        );
        Ok(self
            .query(&sql, &[&ids])?
            .iter()
            .map(|r| {
                let id: i64 = r.get(9);
                read_row(r, rank.get(&id).copied().unwrap_or_default())
            })
            .collect())
    }

    fn chunk(&self, chunk_id: i64, rank: f64) -> Result<Option<ChunkRow>> {
        Ok(self.chunks(&[(chunk_id, rank)])?.pop())
    }

    /// BM25 over the postings of the query's terms (read through the key: document
    /// frequencies are their chunk counts, over every repository as on SQLite), with the
    /// embedded engine's terms, idf (Robertson/Sparck Jones, floored near zero) and
    /// parameters; every chunk as good as the last one kept. The filters apply to the
    /// postings' own columns, after the frequencies were counted; the lists are scored here.
    fn lexical_candidates(
        &self,
        words: &[String],
        all: bool,
        filters: &Filters,
        want: usize,
        skip: &HashSet<i64>,
    ) -> Result<Vec<(i64, f64)>> {
        let terms = query_terms(words);
        if terms.is_empty() || want == 0 {
            return Ok(Vec::new());
        }
        let rows = self.term_postings(&terms)?;
        let mut df = vec![0f64; terms.len()];
        for r in &rows {
            if let Some(i) = term_place(r, terms.len()) {
                df[i] += f64::from(r.get::<_, i32>(1));
            }
        }
        let (n, avgdl) = self.corpus_stats()?;
        let idf: Vec<f64> = df
            .iter()
            .map(|df| ((n - df + 0.5) / (df + 0.5)).ln().max(1e-6))
            .collect();
        let passing = PostingFilter::new(filters, self.files_passing(filters)?);
        let need = if all { terms.len() } else { 1 };
        let mut chunks: FxHashMap<i64, (f64, usize)> = FxHashMap::default();
        for r in rows.iter().filter(|r| passing.lets_through(r)) {
            let Some(i) = term_place(r, terms.len()) else {
                continue;
            };
            for p in postings::decode(r.get(5)) {
                if skip.contains(&p.chunk_id) {
                    continue;
                }
                let (tf, dl) = (f64::from(p.tf), f64::from(p.dl));
                let score = idf[i] * tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * dl / avgdl));
                let entry = chunks.entry(p.chunk_id).or_default();
                entry.0 += score;
                entry.1 += 1;
            }
        }
        let mut best = TopWithTies::new(want);
        for (id, (score, terms)) in chunks {
            if terms >= need {
                best.offer(score, id);
            }
        }
        Ok(best
            .finish()
            .into_iter()
            .map(|(id, score)| (id, -score))
            .collect())
    }

    fn scan_chunks(
        &self,
        filters: &Filters,
        words: Option<&[String]>,
        visit: &mut dyn FnMut(ChunkRow) -> Result<bool>,
    ) -> Result<()> {
        let Some(words) = words else {
            return self.scan(filters, visit);
        };
        let terms = query_terms(words);
        if terms.is_empty() {
            return Ok(());
        }
        // Chunks holding every term: listed once under each term's postings.
        let passing = PostingFilter::new(filters, self.files_passing(filters)?);
        let mut held: FxHashMap<i64, usize> = FxHashMap::default();
        for r in self.term_postings(&terms)? {
            if !passing.lets_through(&r) {
                continue;
            }
            for p in postings::decode(r.get(5)) {
                *held.entry(p.chunk_id).or_default() += 1;
            }
        }
        let ids: Vec<i64> = held
            .into_iter()
            .filter(|&(_, n)| n == terms.len())
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        self.scan_ids(&ids, visit)
    }

    fn innermost_symbol(
        &self,
        file_id: i64,
        line: u32,
        from_line: u32,
    ) -> Result<Option<(String, String)>> {
        Ok(self
            .innermost_symbols(&[(file_id, line, from_line)])?
            .pop()
            .flatten())
    }

    fn innermost_symbols(
        &self,
        places: &[(i64, u32, u32)],
    ) -> Result<Vec<Option<(String, String)>>> {
        let column =
            |f: fn(&(i64, u32, u32)) -> i64| -> Vec<i64> { places.iter().map(f).collect() };
        let (files, lines, froms) = (
            column(|p| p.0),
            column(|p| i64::from(p.1)),
            column(|p| i64::from(p.2)),
        );
        let mut found = vec![None; places.len()];
        for r in self.query(
            "SELECT u.i, s.name, s.kind
             FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) WITH ORDINALITY
                  AS u(file_id, line, from_line, i)
             CROSS JOIN LATERAL (
                SELECT name, kind FROM symbols
                WHERE file_id = u.file_id AND start_line <= u.line AND end_line >= u.line
                  AND start_line >= u.from_line
                ORDER BY start_line DESC, end_line ASC LIMIT 1) s",
            &[&files, &lines, &froms],
        )? {
            let i = r.get::<_, i64>(0) as usize - 1;
            if let Some(slot) = found.get_mut(i) {
                *slot = Some((r.get(1), r.get(2)));
            }
        }
        Ok(found)
    }

    fn symbols(&self, q: &SymbolQuery<'_>) -> Result<Vec<SymbolHit>> {
        let escaped = q
            .name
            .to_lowercase()
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        let rows = self.query(
            "SELECT r.name, f.path, s.name, s.kind, f.language, s.start_line, s.end_line,
                    CASE WHEN lower(s.name) = lower($1) THEN 0
                         WHEN lower(s.name) LIKE $2 || '%' THEN 1 ELSE 2 END AS tier
             FROM symbols s
             JOIN files f ON f.id = s.file_id
             JOIN repositories r ON r.id = f.repo_id
             WHERE lower(s.name) LIKE '%' || $2 || '%'
               AND ($3::TEXT IS NULL OR s.kind = $3)
               AND ($4::BIGINT IS NULL OR f.repo_id = $4)
             ORDER BY tier, length(s.name), r.name, f.path, s.start_line
             LIMIT $5",
            &[&q.name, &escaped, &q.kind, &q.repo_id, &(q.limit as i64)],
        )?;
        Ok(rows
            .iter()
            .map(|r| SymbolHit {
                repository: r.get(0),
                path: r.get(1),
                name: r.get(2),
                kind: r.get(3),
                language: r.get(4),
                start_line: r.get::<_, i64>(5) as u32,
                end_line: r.get::<_, i64>(6) as u32,
            })
            .collect())
    }

    fn dependencies(&self) -> Result<Vec<(i64, i64)>> {
        let rows = self.query(
            "SELECT DISTINCT r.repo_id, p.repo_id FROM packages r
             JOIN packages p ON p.name = r.name AND NOT p.requires
             WHERE r.requires AND p.repo_id != r.repo_id",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    fn references_named(&self, name: &str, repo_id: Option<i64>) -> Result<Vec<FileSites>> {
        let rows = self.query(
            &format!(
                "SELECT x.sites, {FILE_COLUMNS} FROM refs x
                 JOIN files f ON f.id = x.file_id JOIN repositories r ON r.id = f.repo_id
                 WHERE x.name = $1 AND ($2::BIGINT IS NULL OR f.repo_id = $2)
                 ORDER BY r.name, f.path"
            ),
            &[&name, &repo_id],
        )?;
        Ok(rows
            .iter()
            .map(|r| FileSites {
                file: file_info(r, 1),
                sites: decode_sites(name, r.get(0)),
            })
            .collect())
    }

    fn references_in_file(&self, file_id: i64) -> Result<Vec<Reference>> {
        let rows = self.query(
            "SELECT name, sites FROM refs WHERE file_id = $1",
            &[&file_id],
        )?;
        let mut sites: Vec<Reference> = rows
            .iter()
            .flat_map(|r| decode_sites(r.get(0), r.get(1)))
            .collect();
        sites.sort_by_key(|s| (s.line, s.column));
        Ok(sites)
    }

    fn imports_binding(&self, file_id: i64, local: &str) -> Result<Vec<Reference>> {
        let rows = self.query(
            "SELECT name, module FROM imports WHERE file_id = $1 AND local = $2",
            &[&file_id, &local],
        )?;
        Ok(rows
            .iter()
            .map(|r| Reference::import_binding(r.get(0), local, r.get(1)))
            .collect())
    }

    fn definitions_named(&self, name: &str) -> Result<Vec<DefinitionRow>> {
        let rows = self.query(
            &format!(
                "SELECT s.name, s.kind, s.start_line, s.end_line, {FILE_COLUMNS} FROM symbols s
                 JOIN files f ON f.id = s.file_id JOIN repositories r ON r.id = f.repo_id
                 WHERE s.name = $1
                 ORDER BY r.name, f.path, s.start_line"
            ),
            &[&name],
        )?;
        Ok(rows
            .iter()
            .map(|r| DefinitionRow {
                symbol: symbol(r, 0),
                file: file_info(r, 4),
            })
            .collect())
    }

    fn file_symbols(&self, file_id: i64) -> Result<Vec<Symbol>> {
        let rows = self.query(
            "SELECT name, kind, start_line, end_line FROM symbols WHERE file_id = $1
             ORDER BY start_line, end_line DESC",
            &[&file_id],
        )?;
        Ok(rows.iter().map(|r| symbol(r, 0)).collect())
    }

    fn line_text(&self, file_id: i64, line: u32) -> Result<Option<String>> {
        let row = self.query_opt(
            "SELECT content, start_line FROM chunks
             WHERE file_id = $1 AND start_line <= $2 AND end_line >= $2 LIMIT 1",
            &[&file_id, &i64::from(line)],
        )?;
        Ok(row.and_then(|r| {
            let (content, start): (String, i64) = (r.get(0), r.get(1));
            content
                .lines()
                .nth((i64::from(line) - start).max(0) as usize)
                .map(str::to_string)
        }))
    }

    fn file_content(&self, repo_id: i64, path: &str) -> Result<Option<Vec<u8>>> {
        let row = self.query_opt(
            "SELECT content FROM files WHERE repo_id = $1 AND path = $2",
            &[&repo_id, &path],
        )?;
        Ok(row.and_then(|r| r.get(0)))
    }

    fn model_key(&self, model: &str) -> Result<Option<i64>> {
        Ok(self
            .query_opt("SELECT id FROM embedding_models WHERE name = $1", &[&model])?
            .map(|r| r.get(0)))
    }

    fn model_with_vectors(&self, model: &str) -> Result<Option<i64>> {
        Ok(self
            .query_opt(
                "SELECT m.id FROM embedding_models m
                 WHERE m.name = $1 AND EXISTS (SELECT 1 FROM embeddings e WHERE e.model_id = m.id)",
                &[&model],
            )?
            .map(|r| r.get(0)))
    }

    fn vector_generation(&self) -> Result<i64> {
        Ok(self
            .query_opt(
                "SELECT value::BIGINT FROM state WHERE key = $1",
                &[&GENERATION_KEY],
            )?
            .map_or(0, |r| r.get(0)))
    }

    fn units_after(
        &self,
        model_id: i64,
        after: i64,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()> {
        let rows = self.query(
            "SELECT id, bits FROM embeddings WHERE model_id = $1 AND id > $2 ORDER BY id",
            &[&model_id, &after],
        )?;
        for r in &rows {
            visit(r.get(0), r.get(1));
        }
        Ok(())
    }

    fn units_filtered(
        &self,
        model_id: i64,
        filters: &Filters,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()> {
        let rows = self.query(
            "SELECT e.id, e.bits, f.path FROM embeddings e
             JOIN chunks c ON c.id = e.chunk_id
             JOIN files f ON f.id = c.file_id
             WHERE e.model_id = $1 AND ($2::BIGINT IS NULL OR c.repo_id = $2)
               AND ($3::TEXT IS NULL OR c.language = $3)",
            &[&model_id, &filters.repo_id, &filters.language],
        )?;
        for r in &rows {
            if filters.path_ok(r.get(2)) {
                visit(r.get(0), r.get(1));
            }
        }
        Ok(())
    }

    fn unit_vector(&self, unit_id: i64) -> Result<Option<(i64, u32, Vec<u8>)>> {
        Ok(self
            .query_opt(
                "SELECT chunk_id, line, vector FROM embeddings WHERE id = $1",
                &[&unit_id],
            )?
            .map(|r| (r.get(0), r.get::<_, i64>(1) as u32, r.get(2))))
    }

    fn chunk_vectors(
        &self,
        model_id: i64,
        chunk_id: i64,
        visit: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<()> {
        let rows = self.query(
            "SELECT line, vector FROM embeddings WHERE chunk_id = $1 AND model_id = $2",
            &[&chunk_id, &model_id],
        )?;
        for r in &rows {
            visit(r.get::<_, i64>(0) as u32, r.get(1));
        }
        Ok(())
    }

    fn count_to_embed(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64> {
        let row = self.query_opt(
            "SELECT count(*) FROM chunks c
             WHERE ($2::BIGINT IS NULL OR c.repo_id = $2) AND NOT EXISTS
               (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id
                  AND e.model_id IS NOT DISTINCT FROM $1::BIGINT)",
            &[&model_id, &repo_id],
        )?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    fn count_embedded(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64> {
        let row = self.query_opt(
            "SELECT count(DISTINCT e.chunk_id) FROM embeddings e
             JOIN chunks c ON c.id = e.chunk_id
             WHERE ($1::BIGINT IS NULL OR e.model_id = $1) AND ($2::BIGINT IS NULL OR c.repo_id = $2)",
            &[&model_id, &repo_id],
        )?;
        Ok(row.map_or(0, |r| r.get::<_, i64>(0) as u64))
    }

    fn pending_chunks(
        &self,
        model_id: Option<i64>,
        repo_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PendingChunk>> {
        let rows = self.query(
            "SELECT c.id, c.file_id, c.symbol, f.path, c.content, c.start_line, c.end_line
             FROM chunks c JOIN files f ON f.id = c.file_id
             WHERE ($2::BIGINT IS NULL OR c.repo_id = $2) AND NOT EXISTS
               (SELECT 1 FROM embeddings e WHERE e.chunk_id = c.id
                  AND e.model_id IS NOT DISTINCT FROM $1::BIGINT)
             ORDER BY c.id LIMIT $3",
            &[&model_id, &repo_id, &(limit as i64)],
        )?;
        // Every chunk's definitions in one more query (was one per chunk).
        let column = |i: usize| -> Vec<i64> { rows.iter().map(|r| r.get::<_, i64>(i)).collect() };
        let mut definitions: Vec<Vec<Definition>> = vec![Vec::new(); rows.len()];
        for d in self.query(
            "SELECT u.n, s.name, s.start_line, s.end_line
             FROM unnest($1::BIGINT[], $2::BIGINT[], $3::BIGINT[]) WITH ORDINALITY
                  AS u(file_id, start_line, end_line, n)
             JOIN symbols s ON s.file_id = u.file_id
                  AND s.start_line BETWEEN u.start_line AND u.end_line
             ORDER BY u.n, s.start_line, s.end_line DESC",
            &[&column(1), &column(5), &column(6)],
        )? {
            let slot = usize::try_from(d.get::<_, i64>(0) - 1).ok();
            if let Some(list) = slot.and_then(|i| definitions.get_mut(i)) {
                list.push(Definition {
                    name: d.get(1),
                    start_line: d.get::<_, i64>(2) as u32,
                    end_line: d.get::<_, i64>(3) as u32,
                });
            }
        }
        let out = rows
            .iter()
            .zip(definitions)
            .map(|(r, definitions)| PendingChunk {
                id: r.get(0),
                symbol: r.get(2),
                path: r.get(3),
                content: r.get(4),
                start_line: r.get::<_, i64>(5) as u32,
                definitions,
            })
            .collect();
        Ok(out)
    }
}
