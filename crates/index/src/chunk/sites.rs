//! A file's references in the compact form they travel and are stored in: one entry per
//! name, holding every use of that name in the file as bytes. A use is about 6 bytes this
//! way, against about 150 as a [`Reference`] with its strings: the parsers hand files to the
//! writer in this form, so references add little to the memory a sync holds in flight.
//!
//! A site is: line delta (varint, from the previous site of the name), column (varint), kind
//! (one byte), then qualifier, module and alias as a varint length (0: none, else length + 1)
//! and the bytes.

use super::refs::{RefKind, Reference};

/// The references of one file, by name, with the file's imports beside them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReferences {
    /// (name, its sites encoded), by name.
    pub names: Vec<(String, Vec<u8>)>,
    /// The file's imports, as (local name, imported name, module).
    pub imports: Vec<(String, String, Option<String>)>,
}

impl FileReferences {
    /// The compact form of `references` (in file order, as extraction gives them).
    pub fn new(references: &[Reference]) -> Self {
        let mut order: Vec<&Reference> = references.iter().collect();
        // Stable: within a name, sites stay in file order (line deltas are never negative).
        order.sort_by(|a, b| a.name.cmp(&b.name));
        let names = order
            .chunk_by(|a, b| a.name == b.name)
            .map(|group| (group[0].name.clone(), encode(group)))
            .collect();
        let mut imports: Vec<(String, String, Option<String>)> = references
            .iter()
            .filter(|r| r.kind == RefKind::Import)
            .map(|r| {
                let local = r.alias.clone().unwrap_or_else(|| r.name.clone());
                (local, r.name.clone(), r.module.clone())
            })
            .collect();
        imports.sort();
        imports.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        FileReferences { names, imports }
    }

    /// Every reference, decoded, by name.
    pub fn decoded(&self) -> Vec<Reference> {
        self.names
            .iter()
            .flat_map(|(name, blob)| decode_sites(name, blob))
            .collect()
    }
}

/// The sites of one name in one file, in file order.
fn encode(sites: &[&Reference]) -> Vec<u8> {
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
pub fn decode_sites(name: &str, blob: &[u8]) -> Vec<Reference> {
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

pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

pub(crate) fn get_varint(blob: &[u8], at: &mut usize) -> Option<u64> {
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
        assert_eq!(decode_sites("save", &blob), sites);
        // Cut in the last site: the first three survive.
        assert_eq!(decode_sites("save", &blob[..blob.len() - 2]), sites[..3]);
        assert!(decode_sites("save", &[]).is_empty());
    }

    #[test]
    fn a_file_travels_by_name_with_its_imports() {
        let mut other = site(3, 1, RefKind::Call, None);
        other.name = "load".into();
        let refs = vec![
            site(1, 18, RefKind::Import, None),
            other.clone(),
            site(7, 9, RefKind::Call, Some("self")),
        ];
        let compact = FileReferences::new(&refs);
        let names: Vec<&str> = compact.names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["load", "save"]);
        assert_eq!(
            compact.decoded(),
            vec![other, refs[0].clone(), refs[2].clone()]
        );
        assert_eq!(
            compact.imports,
            [(
                "persist".to_string(),
                "save".to_string(),
                Some("app.store".to_string())
            )]
        );
    }
}
