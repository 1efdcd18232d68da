//! Definitions by name: exact names first, then prefixes, then substrings.

use crate::chunk::SymbolKind;
use crate::store::{IndexStore, Result, StoreError, SymbolQuery};
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
        self.read()?.symbols(&SymbolQuery {
            name,
            kind,
            repo_id,
            limit: limit.clamp(1, 1000),
        })
    }
}
