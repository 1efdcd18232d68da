//! Writing a batch of file operations: a file's chunks and symbols replaced together, renames
//! moved without re-chunking, deletions; each changed file logged for the lexical index
//! (`lexical`), in the same transaction.

use super::{intern_kind, BatchCounts, FileOp, Result};
use crate::chunk::{Chunk, Symbol, REFS_VERSION};
use rusqlite::{params, Connection, OptionalExtension};

/// Names a chunk's lexical document holds at most: a line of generated code can hold thousands
/// of definitions, and every chunk cut from that line would otherwise list them all.
const MAX_CHUNK_SYMBOL_NAMES: usize = 64;

/// The names a chunk defines: its own symbol and the symbols that start inside it (`symbols`
/// is in line order, as the chunker gives it).
pub(crate) fn chunk_symbol_names(chunk: &Chunk, symbols: &[Symbol]) -> String {
    let mut names: Vec<&str> = chunk.symbol.iter().map(String::as_str).collect();
    let first = symbols.partition_point(|s| s.start_line < chunk.start_line);
    for s in symbols[first..]
        .iter()
        .take_while(|s| s.start_line <= chunk.end_line)
    {
        if names.len() >= MAX_CHUNK_SYMBOL_NAMES {
            break;
        }
        if !names.contains(&s.name.as_str()) {
            names.push(&s.name);
        }
    }
    names.join(" ")
}

fn file_id(tx: &Connection, repo_id: i64, path: &str) -> Result<Option<i64>> {
    Ok(tx
        .prepare_cached("SELECT id FROM files WHERE repo_id = ?1 AND path = ?2")?
        .query_row(params![repo_id, path], |r| r.get(0))
        .optional()?)
}

/// Marks a file's chunks (or path) changed, for the lexical index.
fn log_file(tx: &Connection, file_id: i64) -> Result<()> {
    tx.prepare_cached("INSERT INTO lexical_log (file_id) VALUES (?1)")?
        .execute([file_id])?;
    Ok(())
}

/// Deletes a file's chunks and symbols (logging it).
fn delete_file_rows(tx: &Connection, file_id: i64, counts: &mut BatchCounts) -> Result<()> {
    log_file(tx, file_id)?;
    let n = tx
        .prepare_cached("DELETE FROM chunks WHERE file_id = ?1")?
        .execute([file_id])?;
    counts.chunks_deleted += n as u64;
    tx.prepare_cached("DELETE FROM symbols WHERE file_id = ?1")?
        .execute([file_id])?;
    super::refs::delete(tx, file_id)
}

fn insert_chunks(
    tx: &Connection,
    file_id: i64,
    chunks: &[Chunk],
    symbols: &[Symbol],
) -> Result<u64> {
    let mut insert_chunk = tx.prepare_cached(
        "INSERT INTO chunks (file_id, start_line, end_line, symbol, kind, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for chunk in chunks {
        insert_chunk.execute(params![
            file_id,
            chunk.start_line,
            chunk.end_line,
            chunk.symbol,
            chunk.kind,
            chunk.content
        ])?;
    }
    let mut insert_symbol = tx.prepare_cached(
        "INSERT INTO symbols (file_id, name, kind, start_line, end_line) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for s in symbols {
        insert_symbol.execute(params![file_id, s.name, s.kind, s.start_line, s.end_line])?;
    }
    Ok(chunks.len() as u64)
}

pub(super) fn apply(
    tx: &Connection,
    repo_id: i64,
    op: &FileOp,
    counts: &mut BatchCounts,
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
            content: _,
        } => {
            let id = match file_id(tx, repo_id, path)? {
                Some(id) => {
                    delete_file_rows(tx, id, counts)?;
                    tx.prepare_cached(
                        "UPDATE files SET language = ?1, size = ?2, mtime_ns = ?3, hash = ?4, indexed_at_ns = ?5, chunk_count = ?6, refs_version = ?7 WHERE id = ?8",
                    )?
                    .execute(params![language, stamp.size as i64, stamp.mtime_ns, &hash[..], stamp.indexed_at_ns, chunks.len() as i64, REFS_VERSION, id])?;
                    id
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO files (repo_id, path, language, size, mtime_ns, hash, indexed_at_ns, chunk_count, refs_version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    )?
                    .execute(params![repo_id, path, language, stamp.size as i64, stamp.mtime_ns, &hash[..], stamp.indexed_at_ns, chunks.len() as i64, REFS_VERSION])?;
                    let id = tx.last_insert_rowid();
                    log_file(tx, id)?;
                    id
                }
            };
            counts.chunks_new += insert_chunks(tx, id, chunks, symbols)?;
            super::refs::insert(tx, id, references)?;
        }
        FileOp::References {
            path,
            stamp,
            references,
        } => {
            let Some(id) = file_id(tx, repo_id, path)? else {
                return Ok(());
            };
            super::refs::delete(tx, id)?;
            super::refs::insert(tx, id, references)?;
            tx.prepare_cached("UPDATE files SET size = ?1, mtime_ns = ?2, indexed_at_ns = ?3, refs_version = ?4 WHERE id = ?5")?
                .execute(params![stamp.size as i64, stamp.mtime_ns, stamp.indexed_at_ns, REFS_VERSION, id])?;
        }
        FileOp::Touch { path, stamp } => {
            tx.prepare_cached("UPDATE files SET size = ?1, mtime_ns = ?2, indexed_at_ns = ?3 WHERE repo_id = ?4 AND path = ?5")?
                .execute(params![stamp.size as i64, stamp.mtime_ns, stamp.indexed_at_ns, repo_id, path])?;
        }
        FileOp::Rename { from, to, stamp } => {
            let Some(id) = file_id(tx, repo_id, from)? else {
                return Ok(());
            };
            if let Some(existing) = file_id(tx, repo_id, to)? {
                delete_file_rows(tx, existing, counts)?;
                tx.execute("DELETE FROM files WHERE id = ?1", [existing])?;
            }
            tx.prepare_cached("UPDATE files SET path = ?1, size = ?2, mtime_ns = ?3, indexed_at_ns = ?4 WHERE id = ?5")?
                .execute(params![to, stamp.size as i64, stamp.mtime_ns, stamp.indexed_at_ns, id])?;
            // The path is part of the lexical documents; the chunks (and their vectors) stay.
            log_file(tx, id)?;
        }
        FileOp::Delete { path } => {
            if let Some(id) = file_id(tx, repo_id, path)? {
                delete_file_rows(tx, id, counts)?;
                tx.prepare_cached("DELETE FROM files WHERE id = ?1")?
                    .execute([id])?;
            }
        }
    }
    Ok(())
}

/// A file's chunks with their ids, as stored.
pub(super) type StoredChunks = Vec<(i64, Chunk)>;

/// A file's chunks and symbols, as stored.
pub(super) fn stored_chunks(tx: &Connection, file_id: i64) -> Result<(StoredChunks, Vec<Symbol>)> {
    let mut stmt = tx.prepare_cached("SELECT id, start_line, end_line, symbol, kind, content FROM chunks WHERE file_id = ?1 ORDER BY id")?;
    let chunks = stmt
        .query_map([file_id], |r| {
            Ok((
                r.get(0)?,
                Chunk {
                    start_line: r.get(1)?,
                    end_line: r.get(2)?,
                    symbol: r.get(3)?,
                    kind: r.get::<_, Option<String>>(4)?.map(|k| intern_kind(&k)),
                    content: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = tx.prepare_cached(
        "SELECT name, kind, start_line, end_line FROM symbols WHERE file_id = ?1 ORDER BY id",
    )?;
    let symbols = stmt
        .query_map([file_id], |r| {
            Ok(Symbol {
                name: r.get(0)?,
                kind: intern_kind(&r.get::<_, String>(1)?),
                start_line: r.get(2)?,
                end_line: r.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok((chunks, symbols))
}
