//! Writing a batch of file operations in one transaction: a file's chunks with their
//! postings, symbols and references replaced together; renames re-index only the terms (the
//! path is part of each chunk's lexical document); and the repository's BM25 statistics moved
//! by the batch's difference.

use super::Result;
use crate::chunk::{Chunk, FileReferences, Symbol, REFS_VERSION};
use crate::lexical::{doc_terms, LexicalDoc};
use crate::sqlite::{chunk_symbol_names, intern_kind, GENERATION_KEY};
use crate::store::{BatchCounts, FileOp, StoredUnit};
use postgres::Transaction;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Documents and terms a batch added (negative: removed) to its repository's statistics.
#[derive(Default)]
struct Delta {
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
    for op in ops {
        apply(tx, repo_id, op, &mut counts, &mut delta)?;
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

fn file_id(tx: &mut Transaction<'_>, repo_id: i64, path: &str) -> Result<Option<i64>> {
    Ok(tx
        .query_opt(
            "SELECT id FROM files WHERE repo_id = $1 AND path = $2",
            &[&repo_id, &path],
        )?
        .map(|r| r.get(0)))
}

/// Deletes a file's chunks (their vectors cascade), postings, symbols and references.
fn delete_file_rows(
    tx: &mut Transaction<'_>,
    file_id: i64,
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
    delete_postings(tx, file_id)?;
    let row = tx.query_one(
        "WITH gone AS (DELETE FROM chunks WHERE file_id = $1 RETURNING terms)
         SELECT count(*), coalesce(sum(terms), 0)::BIGINT FROM gone",
        &[&file_id],
    )?;
    let (docs, terms): (i64, i64) = (row.get(0), row.get(1));
    counts.chunks_deleted += docs as u64;
    delta.docs -= docs;
    delta.terms -= terms;
    tx.execute("DELETE FROM symbols WHERE file_id = $1", &[&file_id])?;
    delete_references(tx, file_id)
}

/// Deletes a file's postings, found through the key by the terms the file lists.
fn delete_postings(tx: &mut Transaction<'_>, file_id: i64) -> Result<()> {
    tx.execute(
        "DELETE FROM lex_postings
         WHERE term = ANY((SELECT lex_terms FROM files WHERE id = $1)::TEXT[]) AND file_id = $1",
        &[&file_id],
    )?;
    Ok(())
}

/// A file's postings being built: for each term, the chunks holding it with the term's
/// frequency in each and each one's length, space-separated (split into arrays by the
/// server, like the chunks' columns).
#[derive(Default)]
struct FilePostings {
    by_term: BTreeMap<String, [String; 3]>,
}

impl FilePostings {
    fn add(&mut self, chunk_id: i64, length: i64, terms: Vec<(String, i64)>) {
        for (term, tf) in terms {
            let lists = self.by_term.entry(term).or_default();
            for (list, n) in lists.iter_mut().zip([chunk_id, tf, length]) {
                if !list.is_empty() {
                    list.push(' ');
                }
                let _ = write!(list, "{n}");
            }
        }
    }

    /// Writes the postings of `file` (which has none) and the list of its terms.
    fn write(self, tx: &mut Transaction<'_>, file: &FilePlace<'_>) -> Result<()> {
        let terms: Vec<&str> = self.by_term.keys().map(String::as_str).collect();
        let column =
            |i: usize| -> Vec<&str> { self.by_term.values().map(|l| l[i].as_str()).collect() };
        if !terms.is_empty() {
            tx.execute(
                "INSERT INTO lex_postings (term, file_id, repo_id, language, chunk_ids, tfs, dls)
                 SELECT u.term, $1, $2, $3, string_to_array(u.ids, ' ')::BIGINT[],
                        string_to_array(u.tfs, ' ')::INT[], string_to_array(u.dls, ' ')::INT[]
                 FROM unnest($4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[])
                      AS u(term, ids, tfs, dls)",
                &[
                    &file.id,
                    &file.repo_id,
                    &file.language,
                    &terms,
                    &column(0),
                    &column(1),
                    &column(2),
                ],
            )?;
        }
        tx.execute(
            "UPDATE files SET lex_terms = $1 WHERE id = $2",
            &[&terms, &file.id],
        )?;
        Ok(())
    }
}

fn delete_references(tx: &mut Transaction<'_>, file_id: i64) -> Result<()> {
    tx.execute("DELETE FROM refs WHERE file_id = $1", &[&file_id])?;
    tx.execute("DELETE FROM imports WHERE file_id = $1", &[&file_id])?;
    Ok(())
}

/// Where a file's chunks are, for their lexical documents.
struct FilePlace<'a> {
    id: i64,
    repo_id: i64,
    language: &'a str,
    path: &'a str,
}

fn insert_chunks(
    tx: &mut Transaction<'_>,
    file: &FilePlace<'_>,
    chunks: &[Chunk],
    symbols: &[Symbol],
    delta: &mut Delta,
) -> Result<u64> {
    // Ids first, then every row of the file in one statement: a round trip per chunk made
    // indexing into a local server ten times slower than into SQLite.
    let ids: Vec<i64> = tx
        .query(
            "SELECT nextval('chunks_id_seq') FROM generate_series(1, $1::BIGINT)",
            &[&(chunks.len() as i64)],
        )?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut rows = ChunkColumns::default();
    let mut postings = FilePostings::default();
    for (chunk, id) in chunks.iter().zip(&ids) {
        let names = chunk_symbol_names(chunk, symbols);
        let (terms, length) = doc_terms(&LexicalDoc {
            chunk_id: *id,
            file_id: file.id,
            repo_id: file.repo_id,
            language: file.language,
            symbols: &names,
            content: &chunk.content,
            path: file.path,
        });
        rows.push(*id, chunk, length);
        postings.add(*id, length, terms);
        delta.docs += 1;
        delta.terms += length;
    }
    if !ids.is_empty() {
        tx.execute(
            "INSERT INTO chunks (id, file_id, repo_id, language, start_line, end_line, symbol,
                                 kind, content, terms)
             SELECT u.id, $1, $2, $3, u.start_line, u.end_line, u.symbol, u.kind, u.content,
                    u.terms
             FROM unnest($4::BIGINT[], $5::BIGINT[], $6::BIGINT[], $7::TEXT[], $8::TEXT[],
                         $9::TEXT[], $10::BIGINT[])
                  AS u(id, start_line, end_line, symbol, kind, content, terms)",
            &[
                &file.id,
                &file.repo_id,
                &file.language,
                &rows.ids,
                &rows.starts,
                &rows.ends,
                &rows.symbols,
                &rows.kinds,
                &rows.contents,
                &rows.terms,
            ],
        )?;
    }
    postings.write(tx, file)?;
    if !symbols.is_empty() {
        let names: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        let kinds: Vec<&str> = symbols.iter().map(|s| s.kind).collect();
        let starts: Vec<i64> = symbols.iter().map(|s| i64::from(s.start_line)).collect();
        let ends: Vec<i64> = symbols.iter().map(|s| i64::from(s.end_line)).collect();
        tx.execute(
            "INSERT INTO symbols (file_id, name, kind, start_line, end_line)
             SELECT $1, u.name, u.kind, u.start_line, u.end_line
             FROM unnest($2::TEXT[], $3::TEXT[], $4::BIGINT[], $5::BIGINT[])
                  AS u(name, kind, start_line, end_line)",
            &[&file.id, &names, &kinds, &starts, &ends],
        )?;
    }
    Ok(chunks.len() as u64)
}

/// A file's chunks as columns, for one statement.
#[derive(Default)]
struct ChunkColumns<'a> {
    ids: Vec<i64>,
    starts: Vec<i64>,
    ends: Vec<i64>,
    symbols: Vec<Option<&'a str>>,
    kinds: Vec<Option<&'a str>>,
    contents: Vec<&'a str>,
    terms: Vec<i64>,
}

impl<'a> ChunkColumns<'a> {
    fn push(&mut self, id: i64, chunk: &'a Chunk, terms: i64) {
        self.ids.push(id);
        self.starts.push(i64::from(chunk.start_line));
        self.ends.push(i64::from(chunk.end_line));
        self.symbols.push(chunk.symbol.as_deref());
        self.kinds.push(chunk.kind);
        self.contents.push(&chunk.content);
        self.terms.push(terms);
    }
}

/// A renamed file's chunks get new lexical terms (their documents hold the path).
fn reindex_terms(tx: &mut Transaction<'_>, file: &FilePlace<'_>, delta: &mut Delta) -> Result<()> {
    let rows = tx.query(
        "SELECT id, start_line, end_line, symbol, kind, content, terms FROM chunks
         WHERE file_id = $1 ORDER BY id",
        &[&file.id],
    )?;
    let symbols = file_symbols(tx, file.id)?;
    delete_postings(tx, file.id)?;
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
        let names = chunk_symbol_names(&chunk, &symbols);
        let (terms, length) = doc_terms(&LexicalDoc {
            chunk_id: id,
            file_id: file.id,
            repo_id: file.repo_id,
            language: file.language,
            symbols: &names,
            content: &chunk.content,
            path: file.path,
        });
        postings.add(id, length, terms);
        ids.push(id);
        lengths.push(length);
        delta.terms += length - row.get::<_, i64>(6);
    }
    tx.execute(
        "UPDATE chunks SET terms = u.terms FROM unnest($1::BIGINT[], $2::BIGINT[]) AS u(id, terms)
         WHERE chunks.id = u.id",
        &[&ids, &lengths],
    )?;
    postings.write(tx, file)
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

fn insert_references(tx: &mut Transaction<'_>, file_id: i64, refs: &FileReferences) -> Result<()> {
    if !refs.names.is_empty() {
        let names: Vec<&str> = refs.names.iter().map(|(n, _)| n.as_str()).collect();
        let sites: Vec<&[u8]> = refs.names.iter().map(|(_, s)| s.as_slice()).collect();
        tx.execute(
            "INSERT INTO refs (name, file_id, sites)
             SELECT n, $2, s FROM unnest($1::TEXT[], $3::BYTEA[]) AS u(n, s)",
            &[&names, &file_id, &sites],
        )?;
    }
    let insert = tx.prepare(
        "INSERT INTO imports (file_id, local, name, module) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING",
    )?;
    for (local, name, module) in &refs.imports {
        tx.execute(&insert, &[&file_id, local, name, module])?;
    }
    Ok(())
}

fn apply(
    tx: &mut Transaction<'_>,
    repo_id: i64,
    op: &FileOp,
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
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
        } => {
            let (size, chunk_count) = (stamp.size as i64, chunks.len() as i64);
            let id = match file_id(tx, repo_id, path)? {
                Some(id) => {
                    delete_file_rows(tx, id, counts, delta)?;
                    tx.execute(
                        "UPDATE files SET language = $1, size = $2, mtime_ns = $3, hash = $4,
                                indexed_at_ns = $5, chunk_count = $6, refs_version = $7,
                                content = $9
                         WHERE id = $8",
                        &[
                            language,
                            &size,
                            &stamp.mtime_ns,
                            &&hash[..],
                            &stamp.indexed_at_ns,
                            &chunk_count,
                            &REFS_VERSION,
                            &id,
                            content,
                        ],
                    )?;
                    id
                }
                None => tx
                    .query_one(
                        "INSERT INTO files (repo_id, path, language, size, mtime_ns, hash,
                                            indexed_at_ns, chunk_count, refs_version, content)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
                        &[
                            &repo_id,
                            path,
                            language,
                            &size,
                            &stamp.mtime_ns,
                            &&hash[..],
                            &stamp.indexed_at_ns,
                            &chunk_count,
                            &REFS_VERSION,
                            content,
                        ],
                    )?
                    .get(0),
            };
            let place = FilePlace {
                id,
                repo_id,
                language,
                path,
            };
            counts.chunks_new += insert_chunks(tx, &place, chunks, symbols, delta)?;
            insert_references(tx, id, references)?;
        }
        FileOp::References {
            path,
            stamp,
            references,
        } => {
            let Some(id) = file_id(tx, repo_id, path)? else {
                return Ok(());
            };
            delete_references(tx, id)?;
            insert_references(tx, id, references)?;
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
        }
        FileOp::Touch { path, stamp } => {
            tx.execute(
                "UPDATE files SET size = $1, mtime_ns = $2, indexed_at_ns = $3
                 WHERE repo_id = $4 AND path = $5",
                &[
                    &(stamp.size as i64),
                    &stamp.mtime_ns,
                    &stamp.indexed_at_ns,
                    &repo_id,
                    path,
                ],
            )?;
        }
        FileOp::Rename { from, to, stamp } => {
            let Some(id) = file_id(tx, repo_id, from)? else {
                return Ok(());
            };
            if let Some(existing) = file_id(tx, repo_id, to)? {
                delete_file_rows(tx, existing, counts, delta)?;
                tx.execute("DELETE FROM files WHERE id = $1", &[&existing])?;
            }
            let row = tx.query_one(
                "UPDATE files SET path = $1, size = $2, mtime_ns = $3, indexed_at_ns = $4
                 WHERE id = $5 RETURNING language",
                &[
                    to,
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
            reindex_terms(tx, &place, delta)?;
        }
        FileOp::Delete { path } => {
            if let Some(id) = file_id(tx, repo_id, path)? {
                delete_file_rows(tx, id, counts, delta)?;
                tx.execute("DELETE FROM files WHERE id = $1", &[&id])?;
            }
        }
    }
    Ok(())
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
    let exists = tx.prepare("SELECT 1 FROM chunks WHERE id = $1")?;
    let clear = tx.prepare("DELETE FROM embeddings WHERE chunk_id = $1")?;
    let insert = tx.prepare(
        "INSERT INTO embeddings (chunk_id, model_id, line, bits, vector) VALUES ($1, $2, $3, $4, $5)",
    )?;
    for (chunk_id, units) in chunks {
        if tx.query_opt(&exists, &[chunk_id])?.is_none() {
            continue;
        }
        tx.execute(&clear, &[chunk_id])?;
        for u in units {
            tx.execute(
                &insert,
                &[chunk_id, &model_id, &i64::from(u.line), &u.bits, &u.vector],
            )?;
        }
    }
    Ok(())
}
