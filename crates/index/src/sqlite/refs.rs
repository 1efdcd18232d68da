//! References as the embedded index stores them: one row per name per file, whose `sites`
//! blob holds every use of that name in the file (`chunk::FileReferences`'s encoding). A row
//! per use cost 61 bytes each (two indexes over 2.3M rows on the bench corpus: +59% of the
//! store); uses of one name in one file share their key, and most sites fit in five bytes.

use super::{intern_kind, Result};
use crate::chunk::{decode_sites as decode, FileReferences, Reference, Symbol};
use crate::store::{DefinitionRow, FileInfo, FileSites};
use rusqlite::{params, Connection, OptionalExtension};

/// Adds a file's references to the store: a row per name, and its imports.
pub(super) fn insert(tx: &Connection, file_id: i64, references: &FileReferences) -> Result<()> {
    let mut insert =
        tx.prepare_cached("INSERT INTO refs (name, file_id, sites) VALUES (?1, ?2, ?3)")?;
    for (name, sites) in &references.names {
        insert.execute(params![name, file_id, sites])?;
    }
    let mut import = tx.prepare_cached(
        "INSERT OR IGNORE INTO imports (file_id, local, name, module) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (local, name, module) in &references.imports {
        import.execute(params![file_id, local, name, module])?;
    }
    Ok(())
}

/// The imports of a file that bind `local` (the name the file uses).
pub(super) fn imports_binding(
    conn: &Connection,
    file_id: i64,
    local: &str,
) -> Result<Vec<Reference>> {
    let mut stmt =
        conn.prepare_cached("SELECT name, module FROM imports WHERE file_id = ?1 AND local = ?2")?;
    let rows = stmt.query_map(params![file_id, local], |r| {
        Ok(Reference::import_binding(r.get(0)?, local, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Deletes a file's references.
pub(super) fn delete(tx: &Connection, file_id: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM refs WHERE file_id = ?1")?
        .execute([file_id])?;
    tx.prepare_cached("DELETE FROM imports WHERE file_id = ?1")?
        .execute([file_id])?;
    Ok(())
}

/// Columns of [`FileInfo`], for the queries below (files `f`, repositories `r`).
const FILE_COLUMNS: &str = "f.id, f.repo_id, r.name, f.path, f.language";

fn file_info(r: &rusqlite::Row, at: usize) -> rusqlite::Result<FileInfo> {
    Ok(FileInfo {
        id: r.get(at)?,
        repo_id: r.get(at + 1)?,
        repository: r.get(at + 2)?,
        path: r.get(at + 3)?,
        language: r.get(at + 4)?,
    })
}

/// The uses of `name`, by file, in repository and path order.
pub(super) fn named(conn: &Connection, name: &str, repo_id: Option<i64>) -> Result<Vec<FileSites>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT x.sites, {FILE_COLUMNS} FROM refs x
         JOIN files f ON f.id = x.file_id JOIN repositories r ON r.id = f.repo_id
         WHERE x.name = ?1 AND (?2 IS NULL OR f.repo_id = ?2)
         ORDER BY r.name, f.path"
    ))?;
    let rows = stmt.query_map(params![name, repo_id], |r| {
        let blob: Vec<u8> = r.get(0)?;
        Ok(FileSites {
            file: file_info(r, 1)?,
            sites: decode(name, &blob),
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// Every use of a name in a file, in file order.
pub(super) fn in_file(conn: &Connection, file_id: i64) -> Result<Vec<Reference>> {
    let mut stmt = conn.prepare_cached("SELECT name, sites FROM refs WHERE file_id = ?1")?;
    let mut sites = Vec::new();
    let mut rows = stmt.query([file_id])?;
    while let Some(r) = rows.next()? {
        let name: String = r.get(0)?;
        let blob: Vec<u8> = r.get(1)?;
        sites.extend(decode(&name, &blob));
    }
    sites.sort_by_key(|s| (s.line, s.column));
    Ok(sites)
}

/// Definitions named exactly `name`, with their files.
pub(super) fn definitions_named(conn: &Connection, name: &str) -> Result<Vec<DefinitionRow>> {
    // `symbols_by_name` is NOCASE: the index narrows, the `=` keeps the exact case.
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT s.name, s.kind, s.start_line, s.end_line, {FILE_COLUMNS} FROM symbols s
         JOIN files f ON f.id = s.file_id JOIN repositories r ON r.id = f.repo_id
         WHERE s.name = ?1 COLLATE NOCASE AND s.name = ?1
         ORDER BY r.name, f.path, s.start_line"
    ))?;
    let rows = stmt.query_map([name], |r| {
        Ok(DefinitionRow {
            symbol: Symbol {
                name: r.get(0)?,
                kind: intern_kind(&r.get::<_, String>(1)?),
                start_line: r.get(2)?,
                end_line: r.get(3)?,
            },
            file: file_info(r, 4)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// A file's definitions, in line order (longest first on a tie).
pub(super) fn file_symbols(conn: &Connection, file_id: i64) -> Result<Vec<Symbol>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, kind, start_line, end_line FROM symbols WHERE file_id = ?1
         ORDER BY start_line, end_line DESC",
    )?;
    let rows = stmt.query_map([file_id], |r| {
        Ok(Symbol {
            name: r.get(0)?,
            kind: intern_kind(&r.get::<_, String>(1)?),
            start_line: r.get(2)?,
            end_line: r.get(3)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One line of a file, cut from the chunk holding it.
pub(super) fn line_text(conn: &Connection, file_id: i64, line: u32) -> Result<Option<String>> {
    let row: Option<(String, u32)> = conn
        .prepare_cached(
            "SELECT content, start_line FROM chunks
             WHERE file_id = ?1 AND start_line <= ?2 AND end_line >= ?2 LIMIT 1",
        )?
        .query_row(params![file_id, line], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(row.and_then(|(content, start)| {
        content
            .lines()
            .nth((line - start) as usize)
            .map(str::to_string)
    }))
}
