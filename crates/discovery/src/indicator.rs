//! Repository indicators: the files and folders whose presence marks a directory as a project.

use std::fmt;

/// One kind of repository marker. The serialized form is the file or folder name it stands for
/// (`README.*` and `*.sln` keep the actual file name in [`Indicator::Named`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Indicator {
    /// `.git` (folder, or file for worktrees and submodules).
    Git,
    /// `.hg`.
    Mercurial,
    /// `.svn`.
    Svn,
    /// A build, project or docs file or folder, by its actual name.
    Named(String),
}

impl Indicator {
    /// Classifies a directory entry by name. `is_dir` matters for names that only count as one
    /// kind (`.vscode` is a folder, `Makefile` a file).
    pub fn classify(name: &str, is_dir: bool) -> Option<Indicator> {
        match name {
            ".git" => return Some(Indicator::Git),
            ".hg" if is_dir => return Some(Indicator::Mercurial),
            ".svn" if is_dir => return Some(Indicator::Svn),
            ".vscode" | ".idea" if is_dir => return Some(Indicator::Named(name.to_string())),
            _ => {}
        }
        if is_dir {
            return None;
        }
        let is_named = matches!(
            name,
            "package.json"
                | "pom.xml"
                | "build.gradle"
                | "Cargo.toml"
                | "go.mod"
                | "requirements.txt"
                | "Gemfile"
                | "composer.json"
                | ".project"
                | "Makefile"
                | "README"
        ) || name.starts_with("README.")
            || (name.ends_with(".sln") && name.len() > 4);
        is_named.then(|| Indicator::Named(name.to_string()))
    }

    /// The indicator as it appears in a repository (`.git`, `package.json`, ...).
    pub fn as_str(&self) -> &str {
        match self {
            Indicator::Git => ".git",
            Indicator::Mercurial => ".hg",
            Indicator::Svn => ".svn",
            Indicator::Named(name) => name,
        }
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_by_name_and_type() {
        assert_eq!(Indicator::classify(".git", false), Some(Indicator::Git));
        assert_eq!(Indicator::classify(".git", true), Some(Indicator::Git));
        assert_eq!(Indicator::classify(".hg", true), Some(Indicator::Mercurial));
        assert_eq!(Indicator::classify(".hg", false), None);
        assert_eq!(
            Indicator::classify("README.rst", false),
            Some(Indicator::Named("README.rst".into()))
        );
        assert_eq!(
            Indicator::classify("App.sln", false),
            Some(Indicator::Named("App.sln".into()))
        );
        assert_eq!(Indicator::classify("Makefile", true), None);
        assert_eq!(Indicator::classify("READMEX", false), None);
        assert_eq!(Indicator::classify("main.py", false), None);
    }
}
