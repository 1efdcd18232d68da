//! Version-control details of a repository directory: its kind and the name its first remote gives.
//!
//! Reads `.git/config` directly (a `.git` file of a worktree or submodule is followed to its
//! gitdir, and a worktree's `commondir` to the shared config): running `git` per repository would
//! cost a process spawn each, and a full git library is far more than this needs.

use std::fs;
use std::path::{Path, PathBuf};

/// Resolves the git directory of `repo`, following a `.git` file's `gitdir:` line.
fn git_dir(repo: &Path) -> Option<PathBuf> {
    let dot_git = repo.join(".git");
    let meta = fs::symlink_metadata(&dot_git).ok()?;
    if meta.is_dir() {
        return Some(dot_git);
    }
    let text = fs::read_to_string(&dot_git).ok()?;
    let target = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("gitdir:"))?
        .trim();
    Some(repo.join(target))
}

/// The URL of the first remote in `config` text that has one (`[remote "x"]` then `url = ...`).
pub fn first_remote_url(config: &str) -> Option<String> {
    let mut in_remote = false;
    for line in config.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            let header = line.trim_start_matches('[').trim_end_matches(']').trim();
            in_remote = header
                .split_whitespace()
                .next()
                .is_some_and(|section| section.eq_ignore_ascii_case("remote"));
            continue;
        }
        if !in_remote {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim().eq_ignore_ascii_case("url") {
            let value = value.trim().trim_matches('"').trim();
            if !value.is_empty() {
                return Some(value.to_string());
            }
        }
    }
    None
}

/// The repository name a remote URL gives: its last path part without `.git`.
///
/// Handles `https://host/org/name.git`, `ssh://git@host/org/name`, scp-like `git@host:org/name.git`,
/// `git@host:name.git` and local paths (`/srv/git/name.git`, `../name`).
pub fn name_from_remote_url(url: &str) -> Option<String> {
    let trimmed = url.trim().trim_end_matches(['/', '\\']);
    let last = trimmed.rsplit(['/', '\\', ':']).next()?;
    let name = last.strip_suffix(".git").unwrap_or(last);
    (!name.is_empty() && name != "." && name != "..").then(|| name.to_string())
}

/// The name from the first git remote of the repository at `repo`, if it has one.
pub fn remote_name(repo: &Path) -> Option<String> {
    let dir = git_dir(repo)?;
    let from = |d: &Path| {
        fs::read_to_string(d.join("config"))
            .ok()
            .and_then(|c| first_remote_url(&c))
    };
    let url = from(&dir).or_else(|| {
        // A linked worktree keeps its remotes in the main repository's config.
        let common = fs::read_to_string(dir.join("commondir")).ok()?;
        from(&dir.join(common.trim()))
    })?;
    name_from_remote_url(&url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_url_forms() {
        let cases = [
            ("https://github.com/org/widget.git", "widget"),
            ("https://github.com/org/widget", "widget"),
            ("https://github.com/org/widget/", "widget"),
            ("git@github.com:org/gadget.git", "gadget"),
            ("git@host:solo.git", "solo"),
            ("ssh://git@host:2222/org/thing.git", "thing"),
            ("/srv/git/local-one.git", "local-one"),
            ("../sibling", "sibling"),
            ("file:///tmp/x/fileproto.git", "fileproto"),
        ];
        for (url, want) in cases {
            assert_eq!(name_from_remote_url(url).as_deref(), Some(want), "{url}");
        }
        assert_eq!(name_from_remote_url(""), None);
        assert_eq!(name_from_remote_url("git@host:"), None);
    }

    #[test]
    fn first_remote_wins_and_other_sections_are_ignored() {
        let config = r#"
[core]
	url = not-this
[branch "main"]
	remote = origin
[remote "upstream"]
	fetch = +refs/heads/*:refs/remotes/upstream/*
	url = "https://example.com/org/first.git"
[remote "origin"]
	url = git@example.com:me/second.git
"#;
        assert_eq!(
            first_remote_url(config).as_deref(),
            Some("https://example.com/org/first.git")
        );
        assert_eq!(first_remote_url("[core]\nbare = false\n"), None);
    }
}
