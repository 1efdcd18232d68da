//! The code languages codeintel knows, and how a file name maps to one.

use std::fmt;
use std::str::FromStr;

/// A programming language whose files count as code.
///
/// The order of the variants is the tie-break order of the discovery contract: when two languages
/// have the same number of files in a repository, the one listed first wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Language {
    /// `.py`, `.pyi`
    Python,
    /// `.js`, `.jsx`, `.mjs`, `.cjs`
    JavaScript,
    /// `.ts`, `.tsx`, `.mts`, `.cts`
    TypeScript,
    /// `.java`
    Java,
    /// `.go`
    Go,
    /// `.rs`
    Rust,
    /// `.rb`
    Ruby,
    /// `.php`
    Php,
    /// `.cs`
    CSharp,
    /// `.cpp`, `.cc`, `.cxx`, `.hpp`, `.hh`, `.hxx`, `.h`
    Cpp,
    /// `.c`
    C,
}

impl Language {
    /// Every language, in tie-break order.
    pub const ALL: [Language; 11] = [
        Language::Python,
        Language::JavaScript,
        Language::TypeScript,
        Language::Java,
        Language::Go,
        Language::Rust,
        Language::Ruby,
        Language::Php,
        Language::CSharp,
        Language::Cpp,
        Language::C,
    ];

    /// The lowercase name used in configuration, JSON and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::TypeScript => "typescript",
            Language::Java => "java",
            Language::Go => "go",
            Language::Rust => "rust",
            Language::Ruby => "ruby",
            Language::Php => "php",
            Language::CSharp => "csharp",
            Language::Cpp => "cpp",
            Language::C => "c",
        }
    }

    /// Position in [`Language::ALL`], handy as an array index.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The language of a code file, judged by its extension (case-sensitive, as on disk:
    /// `.C` is not C).
    pub fn from_extension(ext: &str) -> Option<Language> {
        Some(match ext {
            "py" | "pyi" => Language::Python,
            "js" | "jsx" | "mjs" | "cjs" => Language::JavaScript,
            "ts" | "tsx" | "mts" | "cts" => Language::TypeScript,
            "java" => Language::Java,
            "go" => Language::Go,
            "rs" => Language::Rust,
            "rb" => Language::Ruby,
            "php" => Language::Php,
            "cs" => Language::CSharp,
            "cpp" | "cc" | "cxx" | "hpp" | "hh" | "hxx" | "h" => Language::Cpp,
            "c" => Language::C,
            _ => return None,
        })
    }

    /// The language of a file name such as `main.rs`, if it is a code file.
    pub fn from_file_name(name: &str) -> Option<Language> {
        let (_, ext) = name.rsplit_once('.')?;
        Language::from_extension(ext)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Error for a language name that codeintel does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown language `{0}` (known: python, javascript, typescript, java, go, rust, ruby, php, csharp, cpp, c)")]
pub struct UnknownLanguage(pub String);

impl FromStr for Language {
    type Err = UnknownLanguage;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let alias = match lower.as_str() {
            "js" => "javascript",
            "ts" => "typescript",
            "py" => "python",
            "c++" => "cpp",
            "c#" | "cs" => "csharp",
            "rs" => "rust",
            "rb" => "ruby",
            other => other,
        };
        Language::ALL
            .into_iter()
            .find(|l| l.name() == alias)
            .ok_or_else(|| UnknownLanguage(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_map_to_languages() {
        assert_eq!(Language::from_file_name("a.pyi"), Some(Language::Python));
        assert_eq!(
            Language::from_file_name("x.test.mts"),
            Some(Language::TypeScript)
        );
        assert_eq!(Language::from_file_name("x.h"), Some(Language::Cpp));
        assert_eq!(Language::from_file_name("x.c"), Some(Language::C));
        assert_eq!(Language::from_file_name("Cargo.toml"), None);
        assert_eq!(Language::from_file_name("package.json"), None);
        assert_eq!(Language::from_file_name("Makefile"), None);
    }

    #[test]
    fn names_round_trip_and_order_is_tie_break_order() {
        for (i, l) in Language::ALL.into_iter().enumerate() {
            assert_eq!(l.index(), i);
            assert_eq!(l.name().parse::<Language>(), Ok(l));
        }
        assert_eq!("C++".parse::<Language>(), Ok(Language::Cpp));
        assert!("cobol".parse::<Language>().is_err());
    }
}
