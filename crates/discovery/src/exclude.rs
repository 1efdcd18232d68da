//! Exclude patterns, matched against whole path components (never substrings), or against the
//! path below the scan root when the pattern holds a `/`.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::path::Path;

/// An exclude pattern that does not compile.
#[derive(Debug, Clone, thiserror::Error)]
#[error("invalid exclude pattern `{pattern}`: {reason}")]
pub struct ExcludeError {
    /// The pattern as given.
    pub pattern: String,
    /// What is wrong with it (the glob parser's words).
    pub reason: String,
}

/// Compiled exclude patterns.
#[derive(Debug, Clone)]
pub struct Excludes {
    names: GlobSet,
    paths: GlobSet,
}

impl Excludes {
    /// Compiles `patterns` (names, globs, or paths when they hold a `/`); the first invalid
    /// one is the error.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Self, ExcludeError> {
        let mut names = GlobSetBuilder::new();
        let mut paths = GlobSetBuilder::new();
        for raw in patterns {
            let pattern = raw.as_ref().trim().trim_end_matches('/');
            if pattern.is_empty() {
                continue;
            }
            let compile = |p: &str| {
                GlobBuilder::new(p)
                    .literal_separator(true)
                    .build()
                    .map_err(|e| ExcludeError {
                        pattern: raw.as_ref().to_string(),
                        reason: e.kind().to_string(),
                    })
            };
            if pattern.contains('/') {
                let relative = pattern.trim_start_matches("./").trim_start_matches('/');
                paths.add(compile(relative)?);
                // A path pattern also matches where it appears deeper in the tree.
                if !relative.starts_with("**/") {
                    paths.add(compile(&format!("**/{relative}"))?);
                }
            } else {
                names.add(compile(pattern)?);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build().map_err(|e| ExcludeError {
                pattern: patterns
                    .iter()
                    .map(|p| p.as_ref())
                    .collect::<Vec<_>>()
                    .join(","),
                reason: e.to_string(),
            })
        };
        Ok(Excludes {
            names: build(names)?,
            paths: build(paths)?,
        })
    }

    /// Whether an entry named `name`, at `relative` below its scan root, is excluded.
    pub fn is_excluded(&self, name: &str, relative: &Path) -> bool {
        self.is_excluded_at(name, || relative)
    }

    /// [`is_excluded`](Self::is_excluded) for walkers, which see every entry: `relative` is
    /// built only when a pattern needs it (one holding a `/`); most configurations exclude by
    /// name alone, and building every entry's relative path cost more than the match.
    pub fn is_excluded_at<P: AsRef<Path>>(&self, name: &str, relative: impl FnOnce() -> P) -> bool {
        self.names.is_match(name) || (!self.paths.is_empty() && self.paths.is_match(relative()))
    }

    /// Whether any component of `relative` (a path below a root) is excluded, for callers that
    /// check single paths rather than walking (a watcher's events).
    pub fn excludes_path(&self, relative: &Path) -> bool {
        let mut prefix = std::path::PathBuf::new();
        relative.components().any(|c| {
            prefix.push(c);
            let name = c.as_os_str().to_string_lossy();
            self.is_excluded(&name, &prefix)
        })
    }
}

impl Default for Excludes {
    fn default() -> Self {
        Excludes {
            names: GlobSet::empty(),
            paths: GlobSet::empty(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_not_substrings() {
        let ex = Excludes::new(&["env", "node_modules", "*.min.js", "vendor/gen"]).unwrap();
        assert!(ex.is_excluded("env", Path::new("a/env")));
        assert!(!ex.is_excluded("environment", Path::new("environment")));
        assert!(!ex.is_excluded("myenv", Path::new("myenv")));
        assert!(ex.is_excluded("app.min.js", Path::new("x/app.min.js")));
        assert!(ex.is_excluded("gen", Path::new("vendor/gen")));
        assert!(ex.is_excluded("gen", Path::new("repo/vendor/gen")));
        assert!(!ex.is_excluded("gen", Path::new("src/gen")));
        assert!(ex.excludes_path(Path::new("a/node_modules/x/y.js")));
        assert!(!ex.excludes_path(Path::new("environment/x.py")));
    }

    #[test]
    fn bad_glob_is_an_error_naming_it() {
        let err = Excludes::new(&["a[b"]).unwrap_err();
        assert_eq!(err.pattern, "a[b");
    }
}
