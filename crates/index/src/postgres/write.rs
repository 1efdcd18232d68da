//! Writing a batch of file operations in one transaction: a file's chunks with their
//! postings, symbols and references replaced together; renames re-index only the terms (the
//! path is part of each chunk's lexical document); and the repository's BM25 statistics moved
//! by the batch's difference.
//!
//! New and changed files are written a run at a time: their rows are gathered for the whole
//! run and sent with one binary `COPY` per table. Written a statement per file and table,
//! a full index into a local server spent more time in statements (about nine per file)
//! than SQLite spent on the whole index.

use super::postings::TermLists;
use super::Result;
use crate::chunk::{Chunk, FileReferences, Symbol, REFS_VERSION};
use crate::lexical::{doc_terms, LexicalDoc};
use crate::sqlite::{chunk_symbol_names, intern_kind, GENERATION_KEY};
use crate::store::{BatchCounts, FileOp, FileStamp, StoredUnit};
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use postgres::Transaction;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::BTreeMap;

/// Documents and terms a batch added (negative: removed) to its repository's statistics.
#[derive(Default)]
pub(super) struct Delta {
    docs: i64,
    terms: i64,
}

pub(super) fn apply_all(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    ops: &[FileOp],
) -> Result<BatchCounts> {
    let mut counts = BatchCounts::default();
    let mut delta = Delta::default();
    let mut rest = ops;
    while let Some(first) = rest.first() {
        let taken = match first {
            FileOp::Upsert { .. } => {
                let run = upsert_run(rest);
                write_upserts(tx, repo_id, &rest[..run], &mut counts, &mut delta)?;
                run
            }
            FileOp::Delete { .. } => {
                let paths = deletion_run(rest);
                delete_paths(tx, repo_id, &paths, &mut counts, &mut delta)?;
                paths.len()
            }
            FileOp::References {
                path,
                stamp,
                references,
            } => {
                write_references(tx, repo_id, path, stamp, references)?;
                1
            }
            FileOp::Touch { path, stamp } => {
                touch(tx, repo_id, path, stamp)?;
                1
            }
            FileOp::Rename { from, to, stamp } => {
                rename(tx, repo_id, (from, to), stamp, &mut counts, &mut delta)?;
                1
            }
        };
        rest = &rest[taken..];
    }
    if delta.docs != 0 || delta.terms != 0 {
        tx.execute(
            "UPDATE repositories SET lexical_docs = lexical_docs + $1,
                    lexical_terms = lexical_terms + $2 WHERE id = $3",
            &[&delta.docs, &delta.terms, &repo_id],
        )?;
    }
    Ok(counts)
}

/// How many operations from the first are upserts of distinct paths: a run whose files'
/// ids can be looked up at once, since nothing else in it moves a file.
fn upsert_run(ops: &[FileOp]) -> usize {
    let mut seen = FxHashSet::default();
    ops.iter()
        .take_while(|op| matches!(op, FileOp::Upsert { path, .. } if seen.insert(path.as_str())))
        .count()
}

/// The paths of the deletions from the first on (a sync's last batches are all deletions of
/// the files it no longer found): deleted together, a statement per table.
fn deletion_run(ops: &[FileOp]) -> Vec<&str> {
    ops.iter()
        .map_while(|op| match op {
            FileOp::Delete { path } => Some(path.as_str()),
            _ => None,
        })
        .collect()
}

/// Files whose rows are copied in together: the rows of the next group are built (the
/// chunks' terms found) while the server takes this group's, so the client's and the
/// server's work overlap instead of adding up.
const FILES_PER_COPY: usize = 64;

/// Writes a run of upserts: the existing files' old rows go first, then the run's rows are
/// built on a thread of their own and copied in a group of files at a time.
fn write_upserts(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    ops: &[FileOp],
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
    let upserts: Vec<Upsert<'_>> = ops.iter().filter_map(Upsert::of).collect();
    let placed = place_upserts(tx, repo_id, &upserts, counts, delta)?;
    std::thread::scope(|scope| {
        let (send, groups) = std::sync::mpsc::sync_channel::<(Rows<'_>, Delta)>(1);
        let builder = scope.spawn(move || {
            for group in placed.chunks(FILES_PER_COPY) {
                let mut rows = Rows::default();
                let mut delta = Delta::default();
                for p in group {
                    rows.add_file(repo_id, p, &mut delta);
                }
                if send.send((rows, delta)).is_err() {
                    break; // the copying side failed: its error is the one to report
                }
            }
        });
        for (rows, group_delta) in groups {
            rows.copy(tx, repo_id)?;
            delta.docs += group_delta.docs;
            delta.terms += group_delta.terms;
        }
        builder
            .join()
            .map_err(|_| super::StoreError::Panicked("the PostgreSQL row builder"))
    })
}

/// An upsert with its file's id and its chunks' ids.
struct Placed<'a> {
    upsert: Upsert<'a>,
    file_id: i64,
    chunk_ids: Vec<i64>,
}

/// Finds which files of the run are there already and deletes all their rows (a file that
/// is there keeps its id: its new row is copied in like a new file's, and nothing refers to
/// files by key), and takes ids for the new files and every chunk (counted as new).
fn place_upserts<'a>(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    upserts: &[Upsert<'a>],
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<Vec<Placed<'a>>> {
    let paths: Vec<&str> = upserts.iter().map(|u| u.path).collect();
    let existing: FxHashMap<String, i64> = tx
        .query(
            "SELECT path, id FROM files WHERE repo_id = $1 AND path = ANY($2)",
            &[&repo_id, &paths],
        )?
        .into_iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let chunk_count: usize = upserts.iter().map(|u| u.chunks.len()).sum();
    counts.chunks_new += chunk_count as u64;
    let mut file_ids = next_ids(tx, "files_id_seq", upserts.len() - existing.len())?.into_iter();
    let mut chunk_ids = next_ids(tx, "chunks_id_seq", chunk_count)?.into_iter();
    let replaced: Vec<i64> = existing.values().copied().collect();
    delete_files(tx, &replaced, counts, delta)?;
    let mut placed = Vec::with_capacity(upserts.len());
    for u in upserts {
        let file_id = match existing.get(u.path) {
            Some(&id) => id,
            None => file_ids.next().ok_or_else(|| short("file"))?,
        };
        let ids: Vec<i64> = chunk_ids.by_ref().take(u.chunks.len()).collect();
        if ids.len() < u.chunks.len() {
            return Err(short("chunk"));
        }
        placed.push(Placed {
            upsert: *u,
            file_id,
            chunk_ids: ids,
        });
    }
    Ok(placed)
}

fn short(what: &str) -> super::StoreError {
    super::StoreError::Database(format!("the database gave fewer {what} ids than asked for").into())
}

/// `n` values of the sequence `name`, in one round trip.
fn next_ids(tx: &mut Transaction<'_>, name: &str, n: usize) -> Result<Vec<i64>> {
    if n == 0 {
        return Ok(Vec::new());
    }
    Ok(tx
        .query(
            "SELECT nextval($1::TEXT::REGCLASS) FROM generate_series(1, $2::BIGINT)",
            &[&name, &(n as i64)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// An upsert's fields, borrowed.
#[derive(Clone, Copy)]
struct Upsert<'a> {
    path: &'a str,
    language: &'static str,
    stamp: &'a FileStamp,
    hash: &'a [u8; 32],
    chunks: &'a [Chunk],
    symbols: &'a [Symbol],
    references: &'a FileReferences,
    content: Option<&'a [u8]>,
}

impl<'a> Upsert<'a> {
    fn of(op: &'a FileOp) -> Option<Self> {
        match op {
            FileOp::Upsert {
                path,
                language,
                stamp,
                hash,
                chunks,
                symbols,
                references,
                content,
            } => Some(Upsert {
                path,
                language,
                stamp,
                hash,
                chunks,
                symbols,
                references,
                content: content.as_deref(),
            }),
            _ => None,
        }
    }
}

/// A file's row, waiting for the copy.
struct FileRow<'a> {
    id: i64,
    upsert: Upsert<'a>,
    lex_terms: Vec<String>,
}

/// One term's postings in one file (a row of `lex_postings`).
struct Posting<'a> {
    term: String,
    file_id: i64,
    language: &'a str,
    lists: TermLists,
}

/// The rows of a run of files, gathered to be copied in, a table at a time.
#[derive(Default)]
struct Rows<'a> {
    files: Vec<FileRow<'a>>,
    chunks: Vec<ChunkRow<'a>>,
    postings: Vec<Posting<'a>>,
    symbols: Vec<(i64, &'a Symbol)>,
    refs: Vec<(i64, &'a str, &'a [u8])>,
    imports: Vec<(i64, &'a str, &'a str, Option<&'a str>)>,
}

struct ChunkRow<'a> {
    id: i64,
    file_id: i64,
    language: &'a str,
    chunk: &'a Chunk,
    terms: i64,
}

impl<'a> Rows<'a> {
    /// Adds every row of a placed upsert.
    fn add_file(&mut self, repo_id: i64, p: &Placed<'a>, delta: &mut Delta) {
        let u = p.upsert;
        let place = FilePlace {
            id: p.file_id,
            repo_id,
            language: u.language,
            path: u.path,
        };
        let lex_terms = self.add_chunks(&place, &p.chunk_ids, u.chunks, u.symbols, delta);
        self.add_symbols(p.file_id, u.symbols);
        self.add_references(p.file_id, u.references);
        self.files.push(FileRow {
            id: p.file_id,
            upsert: u,
            lex_terms,
        });
    }

    /// Adds a file's chunks (with the ids given) and their postings; returns the file's
    /// terms, sorted.
    fn add_chunks(
        &mut self,
        file: &FilePlace<'a>,
        ids: &[i64],
        chunks: &'a [Chunk],
        symbols: &[Symbol],
        delta: &mut Delta,
    ) -> Vec<String> {
        let mut postings = FilePostings::default();
        for (chunk, &id) in chunks.iter().zip(ids) {
            let length = postings.add(file, id, chunk, symbols);
            self.chunks.push(ChunkRow {
                id,
                file_id: file.id,
                language: file.language,
                chunk,
                terms: length,
            });
            delta.docs += 1;
            delta.terms += length;
        }
        postings.into_rows(file, &mut self.postings)
    }

    fn add_symbols(&mut self, file_id: i64, symbols: &'a [Symbol]) {
        self.symbols.extend(symbols.iter().map(|s| (file_id, s)));
    }

    fn add_references(&mut self, file_id: i64, refs: &'a FileReferences) {
        self.refs.extend(
            refs.names
                .iter()
                .map(|(name, sites)| (file_id, name.as_str(), sites.as_slice())),
        );
        // The key is (file, local, name): extraction may list one import twice.
        let mut seen = FxHashSet::default();
        for (local, name, module) in &refs.imports {
            if seen.insert((local.as_str(), name.as_str())) {
                self.imports.push((file_id, local, name, module.as_deref()));
            }
        }
    }

    /// Copies every row in.
    fn copy(mut self, tx: &mut Transaction<'_>, repo_id: i64) -> Result<()> {
        use Type as T;
        // In key order, each posting lands next to the last in the key's index: a third less
        // time on the server than in file order (measured on 124k postings).
        self.postings
            .sort_unstable_by(|a, b| (&a.term, a.file_id).cmp(&(&b.term, b.file_id)));
        copy_rows(
            tx,
            "files (id, repo_id, path, language, size, mtime_ns, hash, indexed_at_ns,
                    chunk_count, refs_version, content, lex_terms)",
            &[
                T::INT8,
                T::INT8,
                T::TEXT,
                T::TEXT,
                T::INT8,
                T::INT8,
                T::BYTEA,
                T::INT8,
                T::INT8,
                T::INT8,
                T::BYTEA,
                T::TEXT_ARRAY,
            ],
            &self.files,
            |f, w| {
                let u = &f.upsert;
                w.write(&[
                    &f.id,
                    &repo_id,
                    &u.path,
                    &u.language,
                    &(u.stamp.size as i64),
                    &u.stamp.mtime_ns,
                    &&u.hash[..],
                    &u.stamp.indexed_at_ns,
                    &(u.chunks.len() as i64),
                    &REFS_VERSION,
                    &u.content,
                    &f.lex_terms,
                ])
            },
        )?;
        copy_rows(
            tx,
            "chunks (id, file_id, repo_id, language, start_line, end_line, symbol, kind,
                     content, terms)",
            &[
                T::INT8,
                T::INT8,
                T::INT8,
                T::TEXT,
                T::INT8,
                T::INT8,
                T::TEXT,
                T::TEXT,
                T::TEXT,
                T::INT8,
            ],
            &self.chunks,
            |c, w| {
                w.write(&[
                    &c.id,
                    &c.file_id,
                    &repo_id,
                    &c.language,
                    &i64::from(c.chunk.start_line),
                    &i64::from(c.chunk.end_line),
                    &c.chunk.symbol,
                    &c.chunk.kind,
                    &c.chunk.content,
                    &c.terms,
                ])
            },
        )?;
        copy_rows(
            tx,
            "lex_postings (term, file_id, repo_id, language, n, lists)",
            &[T::TEXT, T::INT8, T::INT8, T::TEXT, T::INT4, T::BYTEA],
            &self.postings,
            |p, w| {
                w.write(&[
                    &p.term,
                    &p.file_id,
                    &repo_id,
                    &p.language,
                    &p.lists.count(),
                    &p.lists.bytes(),
                ])
            },
        )?;
        copy_rows(
            tx,
            "symbols (file_id, name, kind, start_line, end_line)",
            &[T::INT8, T::TEXT, T::TEXT, T::INT8, T::INT8],
            &self.symbols,
            |(file_id, s), w| {
                w.write(&[
                    file_id,
                    &s.name,
                    &s.kind,
                    &i64::from(s.start_line),
                    &i64::from(s.end_line),
                ])
            },
        )?;
        copy_rows(
            tx,
            "refs (file_id, name, sites)",
            &[T::INT8, T::TEXT, T::BYTEA],
            &self.refs,
            |(file_id, name, sites), w| w.write(&[file_id, name, sites]),
        )?;
        copy_rows(
            tx,
            "imports (file_id, local, name, module)",
            &[T::INT8, T::TEXT, T::TEXT, T::TEXT],
            &self.imports,
            |(file_id, local, name, module), w| w.write(&[file_id, local, name, module]),
        )
    }
}

/// Copies `rows` into `table (columns)` in PostgreSQL's binary format.
fn copy_rows<R>(
    tx: &mut Transaction<'_>,
    table: &str,
    types: &[Type],
    rows: &[R],
    write: impl Fn(&R, &mut BinaryCopyInWriter<'_>) -> std::result::Result<(), postgres::Error>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let sink = tx.copy_in(&format!("COPY {table} FROM STDIN (FORMAT binary)"))?;
    let mut writer = BinaryCopyInWriter::new(sink, types);
    for row in rows {
        write(row, &mut writer)?;
    }
    writer.finish()?;
    Ok(())
}

/// A file's postings being built, by term.
#[derive(Default)]
struct FilePostings {
    by_term: BTreeMap<String, TermLists>,
}

impl FilePostings {
    /// Adds the terms of chunk `id` of `file`; returns the chunk's length in terms.
    fn add(&mut self, file: &FilePlace<'_>, id: i64, chunk: &Chunk, symbols: &[Symbol]) -> i64 {
        let names = chunk_symbol_names(chunk, symbols);
        let (terms, length) = doc_terms(&LexicalDoc {
            chunk_id: id,
            file_id: file.id,
            repo_id: file.repo_id,
            language: file.language,
            symbols: &names,
            content: &chunk.content,
            path: file.path,
        });
        let dl = u32::try_from(length).unwrap_or(u32::MAX);
        for (term, tf) in terms {
            let tf = u32::try_from(tf).unwrap_or(u32::MAX);
            self.by_term.entry(term).or_default().push(id, tf, dl);
        }
        length
    }

    /// Moves the postings into `out`; returns the file's terms, sorted.
    fn into_rows<'a>(self, file: &FilePlace<'a>, out: &mut Vec<Posting<'a>>) -> Vec<String> {
        let mut terms = Vec::with_capacity(self.by_term.len());
        for (term, lists) in self.by_term {
            terms.push(term.clone());
            out.push(Posting {
                term,
                file_id: file.id,
                language: file.language,
                lists,
            });
        }
        terms
    }
}

/// Deletes those of `paths` the repository has.
fn delete_paths(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    paths: &[&str],
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
    let ids = file_ids(tx, repo_id, paths)?;
    delete_files(tx, &ids, counts, delta)
}

/// The ids of those of `paths` the repository has.
fn file_ids(tx: &mut Transaction<'_>, repo_id: i64, paths: &[&str]) -> Result<Vec<i64>> {
    Ok(tx
        .query(
            "SELECT id FROM files WHERE repo_id = $1 AND path = ANY($2)",
            &[&repo_id, &paths],
        )?
        .into_iter()
        .map(|r| r.get(0))
        .collect())
}

fn file_id(tx: &mut Transaction<'_>, repo_id: i64, path: &str) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT id FROM files WHERE repo_id = $1 AND path = $2",
            &[&repo_id, &path],
        )?
        .map(|r| r.get(0)))
}

/// The tables holding a file's rows by `file_id`, besides its chunks (counted as they go,
/// their vectors cascading) and its postings (found by key through the file's term list):
/// every deletion of files goes through [`delete_files`], so a new table is named here once.
const FILE_TABLES: [&str; 3] = ["symbols", "refs", "imports"];
/// The tables of [`FILE_TABLES`] that a file's references fill (replaced on their own).
const REFERENCE_TABLES: [&str; 2] = ["refs", "imports"];

/// Deletes the files `ids` with all their rows, a statement per table whatever their number.
pub(super) fn delete_files(
    tx: &mut Transaction<'_>,
    ids: &[i64],
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    delete_postings(tx, ids)?;
    let row = tx.query_one(
        "WITH gone AS (DELETE FROM chunks WHERE file_id = ANY($1) RETURNING terms)
         SELECT count(*), coalesce(sum(terms), 0)::BIGINT FROM gone",
        &[&ids],
    )?;
    let (docs, terms): (i64, i64) = (row.get(0), row.get(1));
    counts.chunks_deleted += docs as u64;
    delta.docs -= docs;
    delta.terms -= terms;
    delete_from(tx, &FILE_TABLES, ids)?;
    tx.execute("DELETE FROM files WHERE id = ANY($1)", &[&ids])?;
    Ok(())
}

/// Deletes the rows of the files `ids` from each of `tables`.
fn delete_from(tx: &mut Transaction<'_>, tables: &[&str], ids: &[i64]) -> Result<()> {
    for table in tables {
        tx.execute(
            &format!("DELETE FROM {table} WHERE file_id = ANY($1)"),
            &[&ids],
        )?;
    }
    Ok(())
}

/// Deletes the postings of the files `ids`, found through the key by the terms each lists.
fn delete_postings(tx: &mut Transaction<'_>, ids: &[i64]) -> Result<()> {
    tx.execute(
        "DELETE FROM lex_postings p USING files f
         WHERE f.id = ANY($1) AND p.file_id = f.id AND p.term = ANY(f.lex_terms)",
        &[&ids],
    )?;
    Ok(())
}

/// Where a file's chunks are, for their lexical documents.
struct FilePlace<'a> {
    id: i64,
    repo_id: i64,
    language: &'a str,
    path: &'a str,
}

/// A renamed file's chunks get new lexical terms (their documents hold the path).
fn reindex_terms(tx: &mut Transaction<'_>, file: &FilePlace<'_>, delta: &mut Delta) -> Result<()> {
    let rows = tx.query(
        "SELECT id, start_line, end_line, symbol, kind, content, terms FROM chunks
         WHERE file_id = $1 ORDER BY id",
        &[&file.id],
    )?;
    let symbols = file_symbols(tx, file.id)?;
    delete_postings(tx, &[file.id])?;
    let mut postings = FilePostings::default();
    let mut ids = Vec::new();
    let mut lengths = Vec::new();
    for row in rows {
        let id: i64 = row.get(0);
        let chunk = Chunk {
            start_line: row.get::<_, i64>(1) as u32,
            end_line: row.get::<_, i64>(2) as u32,
            symbol: row.get(3),
            kind: row.get::<_, Option<String>>(4).map(|k| intern_kind(&k)),
            content: row.get(5),
        };
        let length = postings.add(file, id, &chunk, &symbols);
        ids.push(id);
        lengths.push(length);
        delta.terms += length - row.get::<_, i64>(6);
    }
    tx.execute(
        "UPDATE chunks SET terms = u.terms FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(id, terms)
         WHERE chunks.id = u.id",
        &[&ids, &lengths],
    )?;
    let mut rows = Rows::default();
    let terms = postings.into_rows(file, &mut rows.postings);
    rows.copy(tx, file.repo_id)?;
    tx.execute(
        "UPDATE files SET lex_terms = $1 WHERE id = $2",
        &[&terms, &file.id],
    )?;
    Ok(())
}

fn file_symbols(tx: &mut Transaction<'_>, file_id: i64) -> Result<Vec<Symbol>> {
    let rows = tx.query(
        "SELECT name, kind, start_line, end_line FROM symbols WHERE file_id = $1
         ORDER BY start_line, id",
        &[&file_id],
    )?;
    Ok(rows
        .into_iter()
        .map(|r| Symbol {
            name: r.get(0),
            kind: intern_kind(&r.get::<_, String>(1)),
            start_line: r.get::<_, i64>(2) as u32,
            end_line: r.get::<_, i64>(3) as u32,
        })
        .collect())
}

/// Same content, references found again: the file's reference rows are replaced.
fn write_references(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    path: &str,
    stamp: &FileStamp,
    references: &FileReferences,
) -> Result<()> {
    let Some(id) = file_id(tx, repo_id, path)? else {
        return Ok(());
    };
    delete_from(tx, &REFERENCE_TABLES, &[id])?;
    let mut rows = Rows::default();
    rows.add_references(id, references);
    rows.copy(tx, repo_id)?;
    tx.execute(
        "UPDATE files SET size = $1, mtime_ns = $2, indexed_at_ns = $3, refs_version = $4
         WHERE id = $5",
        &[
            &(stamp.size as i64),
            &stamp.mtime_ns,
            &stamp.indexed_at_ns,
            &REFS_VERSION,
            &id,
        ],
    )?;
    Ok(())
}

/// Same content, new stat.
fn touch(tx: &mut Transaction<'_>, repo_id: i64, path: &str, stamp: &FileStamp) -> Result<()> {
    tx.execute(
        "UPDATE files SET size = $1, mtime_ns = $2, indexed_at_ns = $3
         WHERE repo_id = $4 AND path = $5",
        &[
            &(stamp.size as i64),
            &stamp.mtime_ns,
            &stamp.indexed_at_ns,
            &repo_id,
            &path,
        ],
    )?;
    Ok(())
}

/// A file moved (`from`, `to`) with its content: it keeps its rows, replacing any file at
/// `to`, and its path terms are found again.
fn rename(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    (from, to): (&str, &str),
    stamp: &FileStamp,
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
    let Some(id) = file_id(tx, repo_id, from)? else {
        return Ok(());
    };
    if let Some(existing) = file_id(tx, repo_id, to)? {
        delete_files(tx, &[existing], counts, delta)?;
    }
    let row = tx.query_one(
        "UPDATE files SET path = $1, size = $2, mtime_ns = $3, indexed_at_ns = $4
         WHERE id = $5 RETURNING language",
        &[
            &to,
            &(stamp.size as i64),
            &stamp.mtime_ns,
            &stamp.indexed_at_ns,
            &id,
        ],
    )?;
    let language: String = row.get(0);
    let place = FilePlace {
        id,
        repo_id,
        language: &language,
        path: to,
    };
    reindex_terms(tx, &place, delta)
}

/// Replaces the vectors of `model` of each chunk still there, and moves the generation on.
pub(super) fn store_vectors(
    tx: &mut Transaction<'_>,
    model: &str,
    chunks: &[(i64, Vec<StoredUnit>)],
) -> Result<()> {
    tx.execute(
        "INSERT INTO embedding_models (name) VALUES ($1) ON CONFLICT (name) DO NOTHING",
        &[&model],
    )?;
    tx.execute(
        "INSERT INTO state (key, value) VALUES ($1, '1')
         ON CONFLICT (key) DO UPDATE SET value = (state.value::BIGINT + 1)::TEXT",
        &[&GENERATION_KEY],
    )?;
    let model_id: i64 = tx
        .query_one("SELECT id FROM embedding_models WHERE name = $1", &[&model])?
        .get(0);
    // Old vectors go (a chunk that is gone has none: they cascade), and the new ones of the
    // chunks still there (a sync may have replaced some while they were embedded) are copied
    // in, in four statements for the whole batch.
    let asked: Vec<i64> = chunks.iter().map(|(id, _)| *id).collect();
    tx.execute("DELETE FROM embeddings WHERE chunk_id = ANY($1)", &[&asked])?;
    let there: FxHashSet<i64> = tx
        .query("SELECT id FROM chunks WHERE id = ANY($1)", &[&asked])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let units: Vec<(i64, &StoredUnit)> = chunks
        .iter()
        .filter(|(id, _)| there.contains(id))
        .flat_map(|(id, units)| units.iter().map(move |u| (*id, u)))
        .collect();
    copy_rows(
        tx,
        "embeddings (chunk_id, model_id, line, bits, vector)",
        &[Type::INT8, Type::INT8, Type::INT8, Type::BYTEA, Type::BYTEA],
        &units,
        |(chunk_id, u), w| w.write(&[chunk_id, &model_id, &i64::from(u.line), &u.bits, &u.vector]),
    )?;
    Ok(())
}
