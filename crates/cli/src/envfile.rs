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
