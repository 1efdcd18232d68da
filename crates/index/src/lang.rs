//! Which files are indexed, and as what: the eleven tree-sitter languages, plain-text formats
//! chunked by line windows, and the secrets that are never read.

use codeintel_discovery::Language;

/// How a file is indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Parsed with tree-sitter.
    Code(Language),
    /// Chunked by line windows; the name is stored as the file's language (`markdown`, ...).
    Text(&'static str),
}

impl FileKind {
    /// The stored language name: a code language's, or the text format's.
    pub fn language_name(self) -> &'static str {
        match self {
            FileKind::Code(lang) => lang.name(),
            FileKind::Text(name) => name,
        }
    }
}

/// The kind of an indexable file, or `None` for files that are not indexed (images, archives,
/// lock files, unknown extensions).
pub fn file_kind(name: &str) -> Option<FileKind> {
    if let Some(lang) = Language::from_file_name(name) {
        return Some(FileKind::Code(lang));
    }
    let text = match name {
        "Makefile" | "makefile" | "GNUmakefile" => "makefile",
        "Dockerfile" | "Containerfile" => "dockerfile",
        "CMakeLists.txt" => "cmake",
        "Gemfile" | "Rakefile" => "ruby",
        // Manifests (read for repository dependencies too).
        "go.mod" => "gomod",
        "README" | "CHANGELOG" | "CONTRIBUTING" | "LICENSE" | "NOTICE" | "AUTHORS" => "text",
        _ => {
            let (_, ext) = name.rsplit_once('.')?;
            text_extension(&ext.to_ascii_lowercase())?
        }
    };
    Some(FileKind::Text(text))
}

fn text_extension(ext: &str) -> Option<&'static str> {
    Some(match ext {
        "md" | "markdown" | "mdx" => "markdown",
        "rst" => "rst",
        "txt" | "text" | "adoc" => "text",
        "json" | "jsonc" | "json5" => "json",
        "yaml" | "yml" => "yaml",
        "toml" => "toml",
        "xml" | "xsd" | "xsl" | "plist" | "csproj" => "xml",
        "gemspec" => "ruby",
        "html" | "htm" => "html",
        "css" | "scss" | "sass" | "less" => "css",
        "sh" | "bash" | "zsh" | "fish" => "shell",
        "sql" => "sql",
        "proto" => "protobuf",
        "graphql" | "gql" => "graphql",
        "ini" | "cfg" | "conf" | "properties" => "config",
        "gradle" | "kts" | "kt" => "kotlin",
        "swift" => "swift",
        "scala" | "sc" => "scala",
        "lua" => "lua",
        "pl" | "pm" => "perl",
        "r" => "r",
        "dart" => "dart",
        "ex" | "exs" => "elixir",
        "erl" | "hrl" => "erlang",
        "hs" => "haskell",
        "ml" | "mli" => "ocaml",
        "clj" | "cljs" | "edn" => "clojure",
        "vue" | "svelte" => "html",
        "tf" | "hcl" => "hcl",
        "cmake" => "cmake",
        "zig" => "zig",
        "nim" => "nim",
        "m" | "mm" => "objc",
        "pyx" | "pxd" => "python",
        "ps1" | "psm1" => "powershell",
        "bat" | "cmd" => "batch",
        _ => return None,
    })
}

/// Secret files: never read, never stored, whatever the scan paths cover.
/// Names of the non-code formats `file_kind` gives, for listing in errors.
const TEXT_LANGUAGES: &[&str] = &[
    "markdown",
    "rst",
    "text",
    "json",
    "yaml",
    "toml",
    "xml",
    "html",
    "css",
    "shell",
    "sql",
    "protobuf",
    "graphql",
    "config",
    "makefile",
    "dockerfile",
    "cmake",
    "kotlin",
    "swift",
];

/// The stored language name a filter means: a language's name in any case, the extension of
/// its files (`py`, `rs`, `tsx`, `md`, `yml`), or a common alias (`c++`, `golang`, `c#`,
/// `node`). An unknown name is an error listing the valid ones, so a filter never silently
/// matches nothing.
pub fn resolve_language(input: &str) -> Result<&'static str, String> {
    let lower = input.trim().to_ascii_lowercase();
    let lower = lower.trim_start_matches('.');
    if let Some(lang) = Language::ALL.iter().find(|l| l.name() == lower) {
        return Ok(lang.name());
    }
    if let Some(name) = TEXT_LANGUAGES.iter().find(|t| **t == lower) {
        return Ok(name);
    }
    let alias = match lower {
        "c++" | "cplusplus" => Some(Language::Cpp.name()),
        "golang" => Some(Language::Go.name()),
        "c#" | "cs" | "dotnet" | "c-sharp" => Some(Language::CSharp.name()),
        "node" | "nodejs" | "js" | "ecmascript" => Some(Language::JavaScript.name()),
        "ts" => Some(Language::TypeScript.name()),
        "python3" | "py3" => Some(Language::Python.name()),
        "bash" | "sh" | "zsh" => Some("shell"),
        _ => None,
    };
    if let Some(name) = alias {
        return Ok(name);
    }
    // A file extension names the language of its files (`py`, `rs`, `hpp`, `yml`).
    if !lower.is_empty() && lower.chars().all(|c| c.is_ascii_alphanumeric()) {
        if let Some(kind) = file_kind(&format!("x.{lower}")) {
            return Ok(kind.language_name());
        }
    }
    let code: Vec<&str> = Language::ALL.iter().map(|l| l.name()).collect();
    Err(format!(
        "unknown language `{input}`: one of {}, or a text format ({})",
        code.join(", "),
        TEXT_LANGUAGES.join(", ")
    ))
}

/// Whether a file name is a secret's (`.env*`, keys, credentials): never read or stored.
pub fn is_secret_file(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with(".env")
        || lower.starts_with("id_rsa")
        || lower.starts_with("id_dsa")
        || lower.starts_with("id_ecdsa")
        || lower.starts_with("id_ed25519")
        || [
            ".pem",
            ".key",
            ".p12",
            ".pfx",
            ".jks",
            ".keystore",
            ".kdbx",
            ".gpg",
            ".asc",
        ]
        .iter()
        .any(|ext| lower.ends_with(ext))
        || matches!(
            lower.as_str(),
            ".netrc"
                | "_netrc"
                | ".npmrc"
                | ".pypirc"
                | ".pgpass"
                | ".htpasswd"
                | ".git-credentials"
                | "credentials"
                | "credentials.json"
                | "credentials.yml"
                | "credentials.yaml"
                | "secrets.json"
                | "secrets.yml"
                | "secrets.yaml"
                | "service-account.json"
                | "known_hosts"
                | "authorized_keys"
        )
}

/// Credential folders: never walked.
pub fn is_secret_dir(name: &str) -> bool {
    matches!(
        name,
        ".ssh" | ".aws" | ".gnupg" | ".gcloud" | ".azure" | ".kube" | ".docker" | ".password-store"
    ) || name == "gcloud" // ~/.config/gcloud
        || name.ends_with(".keychain")
        || name.ends_with(".keychain-db")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(file_kind("a.py"), Some(FileKind::Code(Language::Python)));
        assert_eq!(file_kind("README.md"), Some(FileKind::Text("markdown")));
        assert_eq!(file_kind("Makefile"), Some(FileKind::Text("makefile")));
        assert_eq!(file_kind("logo.png"), None);
        assert_eq!(file_kind("Cargo.lock"), None);
    }

    #[test]
    fn secrets() {
        for s in [
            ".env",
            ".env.local",
            "id_rsa",
            "id_ed25519.pub",
            "server.pem",
            "tls.key",
            ".netrc",
            "credentials",
        ] {
            assert!(is_secret_file(s), "{s}");
        }
        for s in ["env.py", "keys.py", "README.md", "monkey.js"] {
            assert!(!is_secret_file(s), "{s}");
        }
        assert!(is_secret_dir(".ssh") && is_secret_dir(".aws") && !is_secret_dir("src"));
    }

    #[test]
    fn language_filters_take_names_extensions_and_aliases() {
        for (given, want) in [
            ("python", "python"),
            ("Python", "python"),
            ("py", "python"),
            ("js", "javascript"),
            ("jsx", "javascript"),
            ("ts", "typescript"),
            ("tsx", "typescript"),
            ("rs", "rust"),
            ("c++", "cpp"),
            ("hpp", "cpp"),
            ("golang", "go"),
            ("c#", "csharp"),
            ("cs", "csharp"),
            ("c", "c"),
            ("md", "markdown"),
            ("yml", "yaml"),
            ("sh", "shell"),
            (".rb", "ruby"),
        ] {
            assert_eq!(resolve_language(given), Ok(want), "{given}");
        }
        let err = resolve_language("klingon").unwrap_err();
        assert!(err.contains("klingon") && err.contains("python") && err.contains("markdown"));
        assert!(resolve_language("").is_err());
    }
}
