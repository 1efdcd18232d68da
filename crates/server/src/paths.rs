//! Validation of paths that come from clients: after resolving `..` and symlinks, a path must
//! lie inside an indexed repository (to read it) or a configured scan root (to index it).

use std::path::{Path, PathBuf};

/// Resolves `path` (absolute, or relative to `base`) to a canonical path, refusing anything
/// that does not exist.
pub fn resolve(path: &str, base: Option<&Path>) -> Result<PathBuf, String> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err("empty path".into());
    }
    if trimmed.contains('\0') {
        return Err("path contains a NUL byte".into());
    }
    let raw = Path::new(trimmed);
    let joined = match (raw.is_absolute(), base) {
        (true, _) => raw.to_path_buf(),
        (false, Some(base)) => base.join(raw),
        (false, None) => {
            return Err(format!(
                "`{trimmed}` is relative: give an absolute path or a repository"
            ))
        }
    };
    std::fs::canonicalize(&joined).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{trimmed}` does not exist"),
        _ => format!("cannot resolve `{trimmed}`: {e}"),
    })
}

/// The first of `roots` that contains `path` (both canonical).
pub fn containing<'a>(path: &Path, roots: &'a [PathBuf]) -> Option<&'a PathBuf> {
    roots
        .iter()
        .filter(|r| path.starts_with(r))
        .max_by_key(|r| r.as_os_str().len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traversal_and_symlinks_resolve_before_the_check() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        let repo = root.join("repo");
        std::fs::create_dir_all(repo.join("src")).unwrap();
        std::fs::write(repo.join("src/a.py"), "x").unwrap();
        std::fs::write(root.join("secret.txt"), "s").unwrap();
        #[cfg(unix)]
        std::os::unix::fs::symlink(root.join("secret.txt"), repo.join("link.txt")).unwrap();
        let roots = vec![repo.clone()];

        let ok = resolve("src/a.py", Some(&repo)).unwrap();
        assert!(containing(&ok, &roots).is_some());
        let up = resolve("../secret.txt", Some(&repo)).unwrap();
        assert!(containing(&up, &roots).is_none());
        #[cfg(unix)]
        {
            let link = resolve("link.txt", Some(&repo)).unwrap();
            assert!(
                containing(&link, &roots).is_none(),
                "a symlink pointing out stays out"
            );
        }
        assert!(resolve("missing.py", Some(&repo)).is_err());
        assert!(resolve("relative.py", None).is_err());
        assert!(resolve("", Some(&repo)).is_err());
    }
}
