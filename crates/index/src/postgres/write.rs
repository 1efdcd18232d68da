//! Writing a batch of file operations in one transaction: a file's chunks, their postings,
//! symbols and references replaced together; renames re-index only the postings (the path is
//! part of each chunk's lexical document); and the repository's BM25 statistics moved by the
//! batch's difference.

use super::Result;
use crate::chunk::{Chunk, FileReferences, Symbol, REFS_VERSION};
use crate::lexical::{doc_terms, LexicalDoc};
use crate::sqlite::{chunk_symbol_names, intern_kind, GENERATION_KEY};
use crate::store::{BatchCounts, FileOp, StoredUnit};
use postgres::Transaction;

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

/// Deletes a file's chunks (their postings and vectors cascade), symbols and references.
fn delete_file_rows(
    tx: &mut Transaction<'_>,
    file_id: i64,
    counts: &mut BatchCounts,
    delta: &mut Delta,
) -> Result<()> {
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
    let insert = tx.prepare(
        "INSERT INTO chunks (file_id, repo_id, language, start_line, end_line, symbol, kind,
                             content, terms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )?;
    let mut postings = Postings::default();
    for chunk in chunks {
        let names = chunk_symbol_names(chunk, symbols);
        let (terms, length) = doc_terms(&LexicalDoc {
            chunk_id: 0,
            file_id: file.id,
            repo_id: file.repo_id,
            language: file.language,
            symbols: &names,
            content: &chunk.content,
            path: file.path,
        });
        let row = tx.query_one(
            &insert,
            &[
                &file.id,
                &file.repo_id,
                &file.language,
                &i64::from(chunk.start_line),
                &i64::from(chunk.end_line),
                &chunk.symbol,
                &chunk.kind,
                &chunk.content,
                &length,
            ],
        )?;
        postings.add(row.get(0), terms);
        delta.docs += 1;
        delta.terms += length;
    }
    postings.write(tx)?;
    let insert = tx.prepare(
        "INSERT INTO symbols (file_id, name, kind, start_line, end_line)
         VALUES ($1, $2, $3, $4, $5)",
    )?;
    for s in symbols {
        tx.execute(
            &insert,
            &[
                &file.id,
                &s.name,
                &s.kind,
                &i64::from(s.start_line),
                &i64::from(s.end_line),
            ],
        )?;
    }
    Ok(chunks.len() as u64)
}

/// Postings gathered for one statement (three arrays unnested server-side: one round trip
/// per file, not one per term).
#[derive(Default)]
struct Postings {
    terms: Vec<String>,
    chunks: Vec<i64>,
    freqs: Vec<i64>,
}

impl Postings {
    fn add(&mut self, chunk_id: i64, terms: Vec<(String, i64)>) {
        for (term, tf) in terms {
            self.terms.push(term);
            self.chunks.push(chunk_id);
            self.freqs.push(tf);
        }
    }

    fn write(self, tx: &mut Transaction<'_>) -> Result<()> {
        if self.terms.is_empty() {
            return Ok(());
        }
        tx.execute(
            "INSERT INTO postings (term, chunk_id, tf)
             SELECT * FROM unnest($1::TEXT[], $2::BIGINT[], $3::BIGINT[])",
            &[&self.terms, &self.chunks, &self.freqs],
        )?;
        Ok(())
    }
}

/// A renamed file's chunks get new postings (their documents hold the path).
fn reindex_postings(
    tx: &mut Transaction<'_>,
    file: &FilePlace<'_>,
    delta: &mut Delta,
) -> Result<()> {
    let rows = tx.query(
        "SELECT id, start_line, end_line, symbol, kind, content, terms FROM chunks
         WHERE file_id = $1 ORDER BY id",
        &[&file.id],
    )?;
    let symbols = file_symbols(tx, file.id)?;
    tx.execute(
        "DELETE FROM postings WHERE chunk_id IN (SELECT id FROM chunks WHERE file_id = $1)",
        &[&file.id],
    )?;
    let mut postings = Postings::default();
    for row in rows {
        let chunk = Chunk {
            start_line: row.get::<_, i64>(1) as u32,
            end_line: row.get::<_, i64>(2) as u32,
            symbol: row.get(3),
            kind: row.get::<_, Option<String>>(4).map(|k| intern_kind(&k)),
            content: row.get(5),
        };
        let names = chunk_symbol_names(&chunk, &symbols);
        let (terms, length) = doc_terms(&LexicalDoc {
            chunk_id: row.get(0),
            file_id: file.id,
            repo_id: file.repo_id,
            language: file.language,
            symbols: &names,
            content: &chunk.content,
            path: file.path,
        });
        let id: i64 = row.get(0);
        tx.execute(
            "UPDATE chunks SET terms = $1 WHERE id = $2",
            &[&length, &id],
        )?;
        delta.terms += length - row.get::<_, i64>(6);
        postings.add(id, terms);
    }
    postings.write(tx)
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
        } => {
            let (size, chunk_count) = (stamp.size as i64, chunks.len() as i64);
            let id = match file_id(tx, repo_id, path)? {
                Some(id) => {
                    delete_file_rows(tx, id, counts, delta)?;
                    tx.execute(
                        "UPDATE files SET language = $1, size = $2, mtime_ns = $3, hash = $4,
                                indexed_at_ns = $5, chunk_count = $6, refs_version = $7
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
                        ],
                    )?;
                    id
                }
                None => tx
                    .query_one(
                        "INSERT INTO files (repo_id, path, language, size, mtime_ns, hash,
                                            indexed_at_ns, chunk_count, refs_version)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
            reindex_postings(tx, &place, delta)?;
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
