//! References as the embedded index stores them: one row per name per file, whose `sites`
//! blob holds every use of that name in the file. A row per use cost 61 bytes each (two
//! indexes over 2.3M rows on the bench corpus: +59% of the store); uses of one name in one
//! file share their key, and most sites fit in five bytes.
//!
//! A site is: line delta (varint, from the previous site of the row), column (varint), kind
//! (one byte), then qualifier, module and alias as a varint length (0: none, else length + 1)
//! and the bytes.

use super::{intern_kind, Result};
use crate::chunk::{RefKind, Reference, Symbol};
use crate::store::{DefinitionRow, FileInfo, FileSites};
use rusqlite::{params, Connection, OptionalExtension};

/// Replaces nothing: adds `references` (of one file) to the store, a row per name.
pub(super) fn insert(tx: &Connection, file_id: i64, references: &[Reference]) -> Result<()> {
    let mut order: Vec<&Reference> = references.iter().collect();
    // Stable: within a name, sites stay in file order (line deltas are never negative).
    order.sort_by(|a, b| a.name.cmp(&b.name));
    let mut insert =
        tx.prepare_cached("INSERT INTO refs (name, file_id, sites) VALUES (?1, ?2, ?3)")?;
    for group in order.chunk_by(|a, b| a.name == b.name) {
        insert.execute(params![group[0].name, file_id, encode(group)])?;
    }
    let mut import = tx.prepare_cached(
        "INSERT OR IGNORE INTO imports (file_id, local, name, module) VALUES (?1, ?2, ?3, ?4)",
    )?;
    for r in references.iter().filter(|r| r.kind == RefKind::Import) {
        let local = r.alias.as_deref().unwrap_or(&r.name);
        import.execute(params![file_id, local, r.name, r.module])?;
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
        let name: String = r.get(0)?;
        Ok(Reference {
            alias: (name != local).then(|| local.to_string()),
            name,
            kind: RefKind::Import,
            line: 0,
            column: 0,
            qualifier: None,
            module: r.get(1)?,
        })
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

/// The sites of one name in one file, in file order.
pub(super) fn encode(sites: &[&Reference]) -> Vec<u8> {
    let mut out = Vec::with_capacity(sites.len() * 6);
    let mut line = 0;
    for r in sites {
        put_varint(&mut out, u64::from(r.line.saturating_sub(line)));
        line = r.line;
        put_varint(&mut out, u64::from(r.column));
        out.push(r.kind.code() as u8);
        for text in [&r.qualifier, &r.module, &r.alias] {
            match text {
                None => out.push(0),
                Some(t) => {
                    put_varint(&mut out, t.len() as u64 + 1);
                    out.extend_from_slice(t.as_bytes());
                }
            }
        }
    }
    out
}

/// The references a row holds; a blob that does not decode (written by a newer program)
/// yields the sites before the damage.
pub(super) fn decode(name: &str, blob: &[u8]) -> Vec<Reference> {
    let mut sites = Vec::new();
    let mut at = 0;
    let mut line = 0u32;
    while at < blob.len() {
        let Some(site) = decode_site(name, blob, &mut at, &mut line) else {
            break;
        };
        sites.push(site);
    }
    sites
}

fn decode_site(name: &str, blob: &[u8], at: &mut usize, line: &mut u32) -> Option<Reference> {
    *line = line.checked_add(u32::try_from(get_varint(blob, at)?).ok()?)?;
    let column = u32::try_from(get_varint(blob, at)?).ok()?;
    let kind = RefKind::from_code(i64::from(*blob.get(*at)?))?;
    *at += 1;
    let mut text = || -> Option<Option<String>> {
        let len = get_varint(blob, at)? as usize;
        if len == 0 {
            return Some(None);
        }
        let bytes = blob.get(*at..*at + len - 1)?;
        *at += len - 1;
        Some(Some(String::from_utf8_lossy(bytes).into_owned()))
    };
    let (qualifier, module, alias) = (text()?, text()?, text()?);
    Some(Reference {
        name: name.to_string(),
        kind,
        line: *line,
        column,
        qualifier,
        module,
        alias,
    })
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

/// The file at `path` of a repository.
pub(super) fn file_at(conn: &Connection, repo_id: i64, path: &str) -> Result<Option<FileInfo>> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {FILE_COLUMNS} FROM files f JOIN repositories r ON r.id = f.repo_id
             WHERE f.repo_id = ?1 AND f.path = ?2"
        ))?
        .query_row(params![repo_id, path], |r| file_info(r, 0))
        .optional()?)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(blob: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let b = *blob.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(line: u32, column: u32, kind: RefKind, qualifier: Option<&str>) -> Reference {
        Reference {
            name: "save".into(),
            kind,
            line,
            column,
            qualifier: qualifier.map(str::to_string),
            module: (kind == RefKind::Import).then(|| "app.store".to_string()),
            alias: (kind == RefKind::Import).then(|| "persist".to_string()),
        }
    }

    #[test]
    fn sites_round_trip_and_damage_keeps_what_came_before() {
        let sites = vec![
            site(1, 18, RefKind::Import, None),
            site(7, 9, RefKind::Call, Some("self")),
            site(7, 30, RefKind::Reference, None),
            site(300_000, 2_000, RefKind::Type, Some("a.b")),
        ];
        let refs: Vec<&Reference> = sites.iter().collect();
        let blob = encode(&refs);
        assert_eq!(decode("save", &blob), sites);
        // Cut in the last site: the first three survive.
        assert_eq!(decode("save", &blob[..blob.len() - 2]), sites[..3]);
        assert!(decode("save", &[]).is_empty());
    }
}
