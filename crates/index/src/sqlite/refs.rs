//! References as the embedded index stores them: one row per name per file, whose `sites`
//! blob holds every use of that name in the file. A row per use cost 61 bytes each (two
//! indexes over 2.3M rows on the bench corpus: +59% of the store); uses of one name in one
//! file share their key, and most sites fit in five bytes.
//!
//! A site is: line delta (varint, from the previous site of the row), column (varint), kind
//! (one byte), then qualifier, module and alias as a varint length (0: none, else length + 1)
//! and the bytes.

use super::Result;
use crate::chunk::{RefKind, Reference};
use rusqlite::{params, Connection};

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
    Ok(())
}

/// Deletes a file's references.
pub(super) fn delete(tx: &Connection, file_id: i64) -> Result<()> {
    tx.prepare_cached("DELETE FROM refs WHERE file_id = ?1")?
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
