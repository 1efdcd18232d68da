//! The env file: `KEY=value` lines with comments, read with line numbers for clear errors.
//!
//! Kept as parsed lines (not just a map) so that `auto-sync-config` can later rewrite values in
//! place while keeping every other line, comment and the order exactly as they were.

use std::collections::HashMap;
use std::path::Path;

/// A syntax error in an env file, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct EnvFileError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

/// One `KEY=value` assignment and where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub line: usize,
    pub key: String,
    pub value: String,
}

/// Parses env-file text. Accepts `KEY=value`, `export KEY=value`, blank lines, `#` comments,
/// single-quoted (literal) and double-quoted (with `\n`, `\"`, `\\` escapes) values, and
/// ` # comments` after unquoted values.
pub fn parse(text: &str, file: &str) -> Result<Vec<Assignment>, EnvFileError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let err = |message: String| EnvFileError {
            file: file.to_string(),
            line,
            message,
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let body = trimmed
            .strip_prefix("export ")
            .unwrap_or(trimmed)
            .trim_start();
        let Some((key, rest)) = body.split_once('=') else {
            return Err(err(format!("expected KEY=value, found `{trimmed}`")));
        };
        let key = key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(format!("invalid variable name `{key}`")));
        }
        let value = parse_value(rest.trim()).map_err(err)?;
        out.push(Assignment {
            line,
            key: key.to_string(),
            value,
        });
    }
    Ok(out)
}

fn parse_value(rest: &str) -> Result<String, String> {
    if let Some(inner) = rest.strip_prefix('\'') {
        let end = inner
            .find('\'')
            .ok_or_else(|| "unterminated single-quoted value".to_string())?;
        return trailing_is_comment(&inner[end + 1..]).map(|_| inner[..end].to_string());
    }
    if let Some(inner) = rest.strip_prefix('"') {
        let mut value = String::new();
        let mut chars = inner.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return trailing_is_comment(&inner[i + 1..]).map(|_| value),
                '\\' => match chars.next().map(|(_, c)| c) {
                    Some('n') => value.push('\n'),
                    Some('t') => value.push('\t'),
                    Some(other) => value.push(other),
                    None => break,
                },
                c => value.push(c),
            }
        }
        return Err("unterminated double-quoted value".to_string());
    }
    let value = match rest.find(" #").or_else(|| rest.find("\t#")) {
        Some(i) => &rest[..i],
        None => rest,
    };
    Ok(value.trim().to_string())
}

fn trailing_is_comment(after: &str) -> Result<(), String> {
    let after = after.trim();
    if after.is_empty() || after.starts_with('#') {
        Ok(())
    } else {
        Err(format!("unexpected text after quoted value: `{after}`"))
    }
}

/// Reads an env file into a map (a later assignment of a key wins, as in a shell). A missing
/// file reads as empty.
pub fn read(path: &Path) -> anyhow::Result<HashMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(HashMap::new()),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot read env file {}: {e}",
                path.display()
            ))
        }
    };
    let assignments = parse(&text, &path.display().to_string())?;
    Ok(assignments.into_iter().map(|a| (a.key, a.value)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_common_forms() {
        let text = "# comment\n\nA=1\nexport B = two words # note\nC='lit # not comment'\nD=\"x\\ny\"\nE=\nA=3\n";
        let got = parse(text, "f").unwrap();
        let pairs: Vec<_> = got
            .iter()
            .map(|a| (a.line, a.key.as_str(), a.value.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                (3, "A", "1"),
                (4, "B", "two words"),
                (5, "C", "lit # not comment"),
                (6, "D", "x\ny"),
                (7, "E", ""),
                (8, "A", "3"),
            ]
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = parse("A=1\nnot an assignment\n", "cfg").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.to_string().starts_with("cfg:2: "), "{err}");
        assert_eq!(parse("X=\"open\n", "f").unwrap_err().line, 1);
        assert_eq!(parse("BAD-KEY=1\n", "f").unwrap_err().line, 1);
        assert_eq!(parse("Q='a' b\n", "f").unwrap_err().line, 1);
    }
}

/// Sets (or, with `None`, removes) keys in the env file at `path`, keeping every other line,
/// comment and the order as they were: a key's first assignment is replaced in place, later
/// ones are dropped, and new keys are appended. The file is written to a temporary file beside
/// it and renamed over it, so a crash never leaves half a file. A file with syntax errors is
/// refused, never rewritten.
pub fn update(path: &Path, changes: &[(&str, Option<String>)]) -> anyhow::Result<()> {
    use anyhow::Context;
    let original = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot read env file {}: {e}",
                path.display()
            ))
        }
    };
    let assignments = parse(&original, &path.display().to_string())?;
    let updated = rewrite(&original, &assignments, changes);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the env file's folder {}", dir.display()))?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".codeintel-env-")
        .tempfile_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, updated.as_bytes())
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    // Keep the file's permissions (it may hold secrets); a new one is private.
    let mode = std::fs::metadata(path).map(|m| m.permissions()).ok();
    #[cfg(unix)]
    let mode = mode.or_else(|| {
        use std::os::unix::fs::PermissionsExt;
        Some(std::fs::Permissions::from_mode(0o600))
    });
    if let Some(mode) = mode {
        let _ = std::fs::set_permissions(tmp.path(), mode);
    }
    tmp.as_file().sync_all().ok();
    tmp.persist(path)
        .map_err(|e| anyhow::anyhow!("cannot replace {}: {}", path.display(), e.error))?;
    Ok(())
}

/// `text` with `changes` applied line by line.
fn rewrite(text: &str, assignments: &[Assignment], changes: &[(&str, Option<String>)]) -> String {
    let mut lines: Vec<Option<String>> = text.lines().map(|l| Some(l.to_string())).collect();
    let mut appended = Vec::new();
    for (key, value) in changes {
        let mut at: Vec<usize> = assignments
            .iter()
            .filter(|a| a.key == *key)
            .map(|a| a.line - 1)
            .collect();
        at.sort_unstable();
        let first = at.first().copied();
        for &i in at.iter().skip(1) {
            lines[i] = None;
        }
        match (first, value) {
            (Some(i), Some(v)) => lines[i] = Some(format!("{key}={}", quote(v))),
            (Some(i), None) => lines[i] = None,
            (None, Some(v)) => appended.push(format!("{key}={}", quote(v))),
            (None, None) => {}
        }
    }
    let mut out: Vec<String> = lines.into_iter().flatten().collect();
    out.extend(appended);
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

/// A value as the parser reads it back: bare when safe, else double-quoted.
fn quote(value: &str) -> String {
    let bare = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./,:~@+=%".contains(c));
    if bare || value.is_empty() {
        return value.to_string();
    }
    let escaped = value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n");
    format!("\"{escaped}\"")
}

#[cfg(test)]
mod update_tests {
    use super::*;

    #[test]
    fn rewrites_in_place_and_keeps_everything_else() {
        let text = "# my settings\nAUTO_SYNC_PATHS=/old # trailing\n\nOTHER=keep me\nAUTO_SYNC_PATHS=/dup\n  # indented comment\n";
        let parsed = parse(text, "f").unwrap();
        let out = rewrite(
            text,
            &parsed,
            &[
                ("AUTO_SYNC_PATHS", Some("/a,/b c".to_string())),
                ("AUTO_SYNC_SCAN_INTERVAL", Some("60".to_string())),
                ("OTHER", Some("keep me".to_string())),
            ],
        );
        assert_eq!(
            out,
            "# my settings\nAUTO_SYNC_PATHS=\"/a,/b c\"\n\nOTHER=\"keep me\"\n  # indented comment\nAUTO_SYNC_SCAN_INTERVAL=60\n"
        );
        let back = parse(&out, "f").unwrap();
        assert_eq!(back[0].value, "/a,/b c");
    }

    #[test]
    fn quoting_round_trips() {
        for v in [
            "plain",
            "/p/with space",
            "a\"b",
            "x#y",
            "back\\slash",
            "~/projects,/srv",
        ] {
            let text = format!("K={}\n", quote(v));
            assert_eq!(parse(&text, "f").unwrap()[0].value, v, "{text}");
        }
    }
}
