//! Definitions by name: exact names first, then prefixes, then substrings.

use crate::chunk::SymbolKind;
use crate::store::{IndexStore, Result, StoreError};
use serde::Serialize;

/// A definition found by [`IndexStore::find_symbols`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolHit {
    /// The repository's name.
    pub repository: String,
    /// Relative to the repository root.
    pub path: String,
    /// The defined name.
    pub name: String,
    /// What it is (`function`, `class`, ...).
    pub kind: String,
    /// The file's language.
    pub language: String,
    /// 1-based first line.
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
}

impl IndexStore {
    /// Definitions named `name` (case-insensitive), then those whose name starts with it, then
    /// those containing it; optionally of one kind and in one repository.
    pub fn find_symbols(
        &self,
        name: &str,
        kind: Option<&str>,
        repository: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SymbolHit>> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::BadQuery("empty symbol name".into()));
        }
        let repo_id = self.repository_filter(repository)?;
        let kind = kind
            .map(|k| SymbolKind::parse_alias(k).map(SymbolKind::name))
            .transpose()
            .map_err(StoreError::BadQuery)?;
        let escaped = name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.name, f.path, s.name, s.kind, f.language, s.start_line, s.end_line,
                        CASE WHEN s.name = ?1 COLLATE NOCASE THEN 0
                             WHEN s.name LIKE ?2 || '%' ESCAPE '\\' THEN 1 ELSE 2 END AS tier
                 FROM symbols s
                 JOIN files f ON f.id = s.file_id
                 JOIN repositories r ON r.id = f.repo_id
                 WHERE s.name LIKE '%' || ?2 || '%' ESCAPE '\\'
                   AND (?3 IS NULL OR s.kind = ?3)
                   AND (?4 IS NULL OR f.repo_id = ?4)
                 ORDER BY tier, length(s.name), r.name, f.path, s.start_line
                 LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                rusqlite::params![name, escaped, kind, repo_id, limit.clamp(1, 1000) as i64],
                |r| {
                    Ok(SymbolHit {
                        repository: r.get(0)?,
                        path: r.get(1)?,
                        name: r.get(2)?,
                        kind: r.get(3)?,
                        language: r.get(4)?,
                        start_line: r.get(5)?,
                        end_line: r.get(6)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
