//! Search filters shared by the lexical scans and the vector search: repository, language
//! (names, extensions, aliases) and path (a folder, or a glob).

use crate::store::{Result, StoreError};
use globset::GlobMatcher;

/// What a `path` filter means. A glob (`src/**/*.rs`, `*.py`) matches paths relative to the
/// repository root; a plain path (`email/mime`, `/email/mime`, `email/mime/`) is a folder or
/// file and means everything under it: assistants give folders far more often than globs.
pub enum PathFilter {
    /// Everything under this folder (or this file).
    Under(String),
    /// Paths the glob matches.
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

    /// Whether `path` (relative to the repository root) passes.
    pub fn is_match(&self, path: &str) -> bool {
        match self {
            PathFilter::Under(folder) => path
                .strip_prefix(folder.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')),
            PathFilter::Glob(glob) => glob.is_match(path),
        }
    }
}

/// Filters shared by every mode: plain data each backend turns into its own query.
pub struct Filters {
    /// Only this repository.
    pub repo_id: Option<i64>,
    /// Only files of this language (a canonical name).
    pub language: Option<&'static str>,
    /// Only paths this matches; backends check it with [`Filters::path_ok`].
    pub path: Option<PathFilter>,
}

impl Filters {
    /// Filters on `repo_id`, a `language` (name, extension or alias) and a `path` (folder or
    /// glob); each `None` is no filter.
    pub(crate) fn new(
        repo_id: Option<i64>,
        language: Option<&str>,
        path: Option<&str>,
    ) -> Result<Self> {
        let language = language
            .map(|l| crate::lang::resolve_language(l).map_err(StoreError::BadQuery))
            .transpose()?;
        let path = path.map(PathFilter::new).transpose()?;
        Ok(Filters {
            repo_id,
            language,
            path,
        })
    }

    /// Whether a relative path passes the path filter.
    pub fn path_ok(&self, path: &str) -> bool {
        self.path.as_ref().is_none_or(|g| g.is_match(path))
    }

    /// Whether nothing is filtered.
    pub fn is_empty(&self) -> bool {
        self.repo_id.is_none() && self.language.is_none() && self.path.is_none()
    }
}
