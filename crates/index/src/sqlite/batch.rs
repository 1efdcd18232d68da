//! Writing a batch of file operations: a file's chunks, symbols and full-text rows replaced
//! together, renames moved without re-chunking, deletions.

use super::{intern_kind, BatchCounts, FileOp, Result};
use crate::chunk::{Chunk, Symbol};
use crate::text;
use rusqlite::{params, Connection, OptionalExtension};

/// The FTS columns of a chunk: symbol names (with humps), body (with humps), path words.
fn fts_row(chunk_symbols: &str, content: &str, path: &str) -> (String, String, String) {
    let symbols = format!("{chunk_symbols} {}", text::hump_terms(chunk_symbols));
    let body = format!("{content}\n{}", text::hump_terms(content));
    let path = format!("{path} {}", text::hump_terms(path));
    (symbols, body, path)
}

/// Names a chunk's symbols column holds at most: a line of generated code can hold thousands
/// of definitions, and every chunk cut from that line would otherwise list them all.
const MAX_CHUNK_SYMBOL_NAMES: usize = 64;

/// The names a chunk defines: its own symbol and the symbols that start inside it (`symbols`
/// is in line order, as the chunker gives it).
fn chunk_symbol_names(chunk: &Chunk, symbols: &[Symbol]) -> String {
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

fn delete_file_rows(tx: &Connection, file_id: i64, counts: &mut BatchCounts) -> Result<()> {
    let n = tx
        .prepare_cached("DELETE FROM chunks WHERE file_id = ?1")?
        .execute([file_id])?;
    counts.chunks_deleted += n as u64;
    tx.prepare_cached("DELETE FROM symbols WHERE file_id = ?1")?
        .execute([file_id])?;
    Ok(())
}

fn insert_chunks(
    tx: &Connection,
    file_id: i64,
    path: &str,
    chunks: &[Chunk],
    symbols: &[Symbol],
) -> Result<u64> {
    let mut insert_chunk = tx.prepare_cached(
        "INSERT INTO chunks (file_id, start_line, end_line, symbol, kind, content) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    let mut insert_fts = tx.prepare_cached(
        "INSERT INTO chunks_fts (rowid, symbols, body, path) VALUES (?1, ?2, ?3, ?4)",
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
        let id = tx.last_insert_rowid();
        let (s, b, p) = fts_row(&chunk_symbol_names(chunk, symbols), &chunk.content, path);
        insert_fts.execute(params![id, s, b, p])?;
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
        } => {
            let id = match file_id(tx, repo_id, path)? {
                Some(id) => {
                    delete_file_rows(tx, id, counts)?;
                    tx.prepare_cached(
                        "UPDATE files SET language = ?1, size = ?2, mtime_ns = ?3, hash = ?4, indexed_at_ns = ?5, chunk_count = ?6 WHERE id = ?7",
                    )?
                    .execute(params![language, stamp.size as i64, stamp.mtime_ns, &hash[..], stamp.indexed_at_ns, chunks.len() as i64, id])?;
                    id
                }
                None => {
                    tx.prepare_cached(
                        "INSERT INTO files (repo_id, path, language, size, mtime_ns, hash, indexed_at_ns, chunk_count) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                    )?
                    .execute(params![repo_id, path, language, stamp.size as i64, stamp.mtime_ns, &hash[..], stamp.indexed_at_ns, chunks.len() as i64])?;
                    tx.last_insert_rowid()
                }
            };
            counts.chunks_new += insert_chunks(tx, id, path, chunks, symbols)?;
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
            // The path is part of the full-text row: rewrite the rows of this file's chunks.
            let (chunks, symbols) = stored_chunks(tx, id)?;
            delete_file_rows(tx, id, counts)?;
            counts.chunks_deleted -= chunks.len() as u64;
            insert_chunks(tx, id, to, &chunks, &symbols)?;
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

fn stored_chunks(tx: &Connection, file_id: i64) -> Result<(Vec<Chunk>, Vec<Symbol>)> {
    let mut stmt = tx.prepare_cached("SELECT start_line, end_line, symbol, kind, content FROM chunks WHERE file_id = ?1 ORDER BY id")?;
    let chunks = stmt
        .query_map([file_id], |r| {
            Ok(Chunk {
                start_line: r.get(0)?,
                end_line: r.get(1)?,
                symbol: r.get(2)?,
                kind: r.get::<_, Option<String>>(3)?.map(|k| intern_kind(&k)),
                content: r.get(4)?,
            })
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
