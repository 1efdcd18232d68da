//! Search filters shared by the lexical scans and the vector search: repository, language
//! (names, extensions, aliases) and path (a folder, or a glob), as SQL over `r` (repositories)
//! and `f` (files) plus a path check for what SQL cannot say.

use crate::store::{Result, StoreError};
use globset::GlobMatcher;
use rusqlite::types::Value;

/// What a `path` filter means. A glob (`src/**/*.rs`, `*.py`) matches paths relative to the
/// repository root; a plain path (`email/mime`, `/email/mime`, `email/mime/`) is a folder or
/// file and means everything under it: assistants give folders far more often than globs.
pub(crate) enum PathFilter {
    Under(String),
    Glob(GlobMatcher),
}

impl PathFilter {
    fn new(pattern: &str) -> Result<Self> {
        let trimmed = pattern
            .trim()
            .trim_start_matches("./")
            .trim_start_matches('/');
        if trimmed.is_empty() {
            return Err(StoreError::BadQuery(format!(
                "path filter `{pattern}` is empty: give a folder or a glob"
            )));
        }
        if !trimmed.contains(['*', '?', '[', '{']) {
            return Ok(PathFilter::Under(trimmed.trim_end_matches('/').to_string()));
        }
        globset::GlobBuilder::new(trimmed)
            .literal_separator(false)
            .build()
            .map(|g| PathFilter::Glob(g.compile_matcher()))
            .map_err(|e| {
                StoreError::BadQuery(format!("invalid path glob `{pattern}`: {}", e.kind()))
            })
    }

    fn is_match(&self, path: &str) -> bool {
        match self {
            PathFilter::Under(folder) => path
                .strip_prefix(folder.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            PathFilter::Glob(glob) => glob.is_match(path),
        }
    }
}

/// Filters shared by every mode, as SQL over `r` (repositories) and `f` (files).
pub(crate) struct Filters {
    pub(crate) clause: String,
    pub(crate) values: Vec<Value>,
    pub(crate) glob: Option<PathFilter>,
}

impl Filters {
    /// Filters on `repo_id`, a `language` (name, extension or alias) and a `path` (folder or
    /// glob); each `None` is no filter.
    pub(crate) fn new(
        repo_id: Option<i64>,
        language: Option<&str>,
        path: Option<&str>,
    ) -> Result<Self> {
        let mut clause = String::new();
        let mut values = Vec::new();
        if let Some(id) = repo_id {
            clause.push_str(" AND f.repo_id = ?");
            values.push(Value::Integer(id));
        }
        if let Some(lang) = language {
            let lang = crate::lang::resolve_language(lang).map_err(StoreError::BadQuery)?;
            clause.push_str(" AND f.language = ?");
            values.push(Value::Text(lang.to_string()));
        }
        let glob = path.map(PathFilter::new).transpose()?;
        Ok(Filters {
            clause,
            values,
            glob,
        })
    }

    pub(crate) fn path_ok(&self, path: &str) -> bool {
        self.glob.as_ref().is_none_or(|g| g.is_match(path))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.clause.is_empty() && self.glob.is_none()
    }
}
