//! `codeintel discover` through the real binary, on real trees built in temp dirs.

mod common;

use common::{json, stderr, Sandbox};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::time::{Duration, SystemTime};

/// Runs `discover --json` and returns the repositories keyed by path relative to the tree.
fn discover(sb: &Sandbox, extra: &[&str]) -> BTreeMap<String, Value> {
    let tree = sb.tree();
    let tree_str = tree.to_str().expect("utf-8 temp path");
    let mut args = vec!["discover", "--json", tree_str];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert!(out.status.success(), "discover failed: {}", stderr(&out));
    let repos = json(&out);
    repos
        .as_array()
        .expect("array")
        .iter()
        .map(|r| {
            let path = r["path"].as_str().expect("path");
            let rel = path
                .strip_prefix(tree_str)
                .expect("path under tree")
                .trim_start_matches('/');
            (rel.to_string(), r.clone())
        })
        .collect()
}

fn keys(repos: &BTreeMap<String, Value>) -> Vec<&str> {
    repos.keys().map(String::as_str).collect()
}

fn git_with_remote(sb: &Sandbox, dir: &str, url: &str) {
    sb.write(
        &format!("{dir}/.git/config"),
        &format!("[core]\n\tbare = false\n[remote \"origin\"]\n\turl = {url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"),
    );
}

#[test]
fn reports_exact_fields_for_a_git_repository() {
    let sb = Sandbox::new();
    git_with_remote(
        &sb,
        "work/alpha",
        "https://github.com/org/alpha-upstream.git",
    );
    sb.write("work/alpha/Cargo.toml", "[package]\n");
    sb.code_files("work/alpha/src", "rs", 3, 100);
    sb.code_files("work/alpha/scripts", "py", 1, 50);
    sb.write("work/alpha/notes.txt", "not code\n");
    let newest = SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000);
    let f = fs::File::options()
        .write(true)
        .open(sb.tree().join("work/alpha/src/m1.rs"))
        .unwrap();
    f.set_modified(newest).unwrap();

    let repos = discover(&sb, &[]);
    assert_eq!(keys(&repos), ["work/alpha"]);
    let r = &repos["work/alpha"];
    assert_eq!(r["name"], "alpha-upstream");
    assert_eq!(r["type"], "git");
    assert_eq!(r["language"], "rust");
    assert_eq!(r["size"], 350);
    assert_eq!(r["file_count"], 4);
    assert_eq!(r["last_modified"], "2027-01-15T08:00:00Z");
    assert_eq!(r["indicators"], serde_json::json!([".git", "Cargo.toml"]));
    assert!(r["path"].as_str().unwrap().starts_with('/'));
}

#[test]
fn names_come_from_every_remote_url_form() {
    let sb = Sandbox::new();
    let forms = [
        ("https", "https://example.com/org/from-https.git"),
        ("ssh", "git@example.com:org/from-ssh.git"),
        ("sshurl", "ssh://git@example.com:2222/org/from-sshurl"),
        ("local", "/srv/git/from-local.git"),
    ];
    for (dir, url) in forms {
        git_with_remote(&sb, dir, url);
        sb.code_files(dir, "py", 3, 10);
    }
    // No remote: the directory name.
    sb.mkdir("plain/.git");
    sb.code_files("plain", "py", 3, 10);

    // A linked worktree: `.git` file -> main repo's worktrees dir, whose commondir has the config.
    git_with_remote(&sb, "main", "git@example.com:org/main-remote.git");
    sb.code_files("main", "go", 3, 10);
    sb.write("main/.git/worktrees/wt/commondir", "../..\n");
    let gitdir = sb.tree().join("main/.git/worktrees/wt");
    sb.write("wt/.git", &format!("gitdir: {}\n", gitdir.display()));
    sb.code_files("wt", "go", 3, 10);

    // A submodule-style `.git` file with a relative gitdir holding its own config.
    sb.write(
        "mods/sub/config",
        "[remote \"origin\"]\n\turl = ../relative-sub.git\n",
    );
    sb.write("submod/.git", "gitdir: ../mods/sub\n");
    sb.code_files("submod", "rb", 3, 10);

    let repos = discover(&sb, &[]);
    let names: BTreeMap<&str, &str> = repos
        .iter()
        .map(|(k, v)| (k.as_str(), v["name"].as_str().unwrap()))
        .collect();
    let expected: BTreeMap<&str, &str> = [
        ("https", "from-https"),
        ("ssh", "from-ssh"),
        ("sshurl", "from-sshurl"),
        ("local", "from-local"),
        ("plain", "plain"),
        ("main", "main-remote"),
        ("wt", "main-remote-2"),
        ("submod", "relative-sub"),
    ]
    .into_iter()
    .collect();
    // `main` and `wt` share a remote name: the larger keeps it, the other gets a suffix; both
    // are the same size here, so path order decides.
    assert_eq!(names, expected);
    for k in ["wt", "submod"] {
        assert_eq!(repos[k]["type"], "git", "{k}");
    }
}

#[test]
fn nested_repositories_belong_to_the_outer_one() {
    let sb = Sandbox::new();
    sb.mkdir("outer/.git");
    sb.code_files("outer", "py", 2, 10);
    sb.write(
        "outer/vendor/inner/.git",
        "gitdir: ../../.git/modules/inner\n",
    );
    sb.code_files("outer/vendor/inner", "py", 3, 10);
    let repos = discover(&sb, &[]);
    assert_eq!(keys(&repos), ["outer"]);
    assert_eq!(repos["outer"]["file_count"], 5);
}

#[test]
fn excludes_match_components_not_substrings() {
    let sb = Sandbox::new();
    sb.write("app/package.json", "{}");
    sb.code_files("app/src", "js", 3, 10);
    sb.code_files("app/node_modules/dep", "js", 50, 10);
    sb.code_files("app/dist", "js", 50, 10);
    sb.write("env/thing/Makefile", "all:\n");
    sb.code_files("env/thing", "c", 5, 10);
    sb.write("environment/climate/requirements.txt", "numpy\n");
    sb.code_files("environment/climate", "py", 4, 10);
    sb.write("myvendor/lib/README.md", "# lib\n");
    sb.code_files("myvendor/lib", "go", 3, 10);
    sb.write("app/src/bundle.min.js", "x");

    let repos = discover(&sb, &[]);
    assert_eq!(keys(&repos), ["app", "environment/climate", "myvendor/lib"]);
    assert_eq!(repos["app"]["file_count"], 4);

    // User excludes add to the defaults: a name, a glob and a relative path.
    let repos = discover(&sb, &["--exclude", "*.min.js", "--exclude", "myvendor/lib"]);
    assert_eq!(keys(&repos), ["app", "environment/climate"]);
    assert_eq!(repos["app"]["file_count"], 3);
}

#[test]
fn min_files_and_max_depth_bound_what_is_reported() {
    let sb = Sandbox::new();
    sb.write("few/README.md", "# few\n");
    sb.code_files("few", "py", 2, 10);
    sb.write("noindicator/x/.keep", "");
    sb.code_files("noindicator/x", "py", 10, 10);
    // Depth 5 is reported whatever the depth of its files; depth 6 is not.
    sb.write("a/b/c/d/at5/Makefile", "all:\n");
    sb.code_files("a/b/c/d/at5/1/2/3/4", "c", 3, 10);
    sb.write("a/b/c/d/e/at6/Makefile", "all:\n");
    sb.code_files("a/b/c/d/e/at6", "c", 3, 10);

    let repos = discover(&sb, &[]);
    assert_eq!(keys(&repos), ["a/b/c/d/at5"]);
    assert_eq!(repos["a/b/c/d/at5"]["file_count"], 3);

    let repos = discover(&sb, &["--min-files", "2", "--max-depth", "6"]);
    assert_eq!(keys(&repos), ["a/b/c/d/at5", "a/b/c/d/e/at6", "few"]);

    let repos = discover(&sb, &["--max-depth", "4"]);
    assert!(repos.is_empty(), "{repos:?}");
}

#[test]
fn kinds_languages_and_size_order() {
    let sb = Sandbox::new();
    sb.mkdir("hg/.hg");
    sb.code_files("hg", "java", 3, 300);
    sb.mkdir("svn/.svn");
    sb.code_files("svn", "php", 3, 200);
    sb.mkdir("ide/.idea");
    // A tie between typescript and go goes to typescript (listed first).
    sb.code_files("ide/a", "go", 2, 10);
    sb.code_files("ide/b", "ts", 2, 10);
    sb.write("sln/App.sln", "");
    sb.code_files("sln", "cs", 3, 100);
    sb.write("hdr/Makefile", "");
    sb.code_files("hdr", "h", 2, 10);
    sb.code_files("hdr/src", "c", 1, 10);

    let out = sb.run(&["discover", "--json", sb.tree().to_str().unwrap()]);
    let list = json(&out);
    let got: Vec<(String, String, String)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_string(),
                r["type"].as_str().unwrap().to_string(),
                r["language"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let want = [
        ("hg", "mercurial", "java"),
        ("svn", "svn", "php"),
        ("sln", "unknown", "csharp"),
        ("ide", "unknown", "typescript"),
        ("hdr", "unknown", "cpp"),
    ];
    let want: Vec<(String, String, String)> = want
        .iter()
        .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn name_collisions_get_a_suffix_largest_first() {
    let sb = Sandbox::new();
    sb.write("one/app/README.md", "");
    sb.code_files("one/app", "py", 3, 10);
    sb.write("two/app/README.md", "");
    sb.code_files("two/app", "py", 3, 500);
    let repos = discover(&sb, &[]);
    assert_eq!(repos["two/app"]["name"], "app");
    assert_eq!(repos["one/app"]["name"], "app-2");
}

#[cfg(unix)]
#[test]
fn hostile_entries_are_skipped_not_fatal() {
    use std::os::unix::ffi::OsStrExt;
    let sb = Sandbox::new();
    let repo = sb.mkdir("repo");
    sb.mkdir("repo/.git");
    sb.code_files("repo", "py", 3, 10);
    std::os::unix::fs::symlink(&repo, repo.join("loop")).unwrap();
    std::os::unix::fs::symlink(sb.tree(), repo.join("up")).unwrap();
    std::os::unix::fs::symlink("missing-target", repo.join("dangling.py")).unwrap();
    let bad = std::ffi::OsStr::from_bytes(b"bad-\xff-name.py");
    fs::write(repo.join(bad), "x").unwrap();
    let bad_dir = repo.join(std::ffi::OsStr::from_bytes(b"dir-\xfe"));
    fs::create_dir(&bad_dir).unwrap();
    fs::write(bad_dir.join("inside.py"), "x").unwrap();
    let _socket = std::os::unix::net::UnixListener::bind(repo.join("sock.py")).unwrap();
    let fifo = std::process::Command::new("mkfifo")
        .arg(repo.join("pipe.py"))
        .status();
    // Credential and other hidden folders are not walked.
    sb.code_files("repo/.ssh", "py", 5, 10);
    let locked = sb.mkdir("repo/locked");
    sb.code_files("repo/locked", "py", 1, 10);
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();

    let repos = discover(&sb, &[]);
    fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(keys(&repos), ["repo"]);
    let count = repos["repo"]["file_count"].as_u64().unwrap();
    // root can read the locked folder; anyone else cannot. Either way nothing else counts.
    assert!(count == 3 || count == 4, "file_count {count}");
    assert!(fifo.is_ok());
}

#[test]
fn a_bad_scan_path_is_reported_and_the_others_still_scanned() {
    let sb = Sandbox::new();
    sb.write("ok/README.md", "");
    sb.code_files("ok", "rb", 3, 10);
    let file = sb.write("file.txt", "x");
    let tree = sb.tree();
    let out = sb.run(&[
        "discover",
        "--json",
        "/definitely/not/here",
        file.to_str().unwrap(),
        tree.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("/definitely/not/here: scan path does not exist"),
        "{err}"
    );
    assert!(
        err.contains("file.txt: scan path is not a directory"),
        "{err}"
    );
    let list = json(&out);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["name"], "ok");
}

#[test]
fn overlapping_scan_paths_report_a_repository_once() {
    let sb = Sandbox::new();
    sb.write("p/r/README.md", "");
    sb.code_files("p/r", "rb", 3, 10);
    let tree = sb.tree();
    let p = tree.join("p");
    let out = sb.run(&[
        "discover",
        "--json",
        tree.to_str().unwrap(),
        p.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
}

#[test]
fn paths_and_excludes_come_from_the_env_file() {
    let sb = Sandbox::new();
    sb.write("a/README.md", "");
    sb.code_files("a", "py", 3, 10);
    sb.write("skipme/README.md", "");
    sb.code_files("skipme", "py", 3, 10);
    let env = sb.root().join("codeintel.env");
    fs::write(
        &env,
        format!(
            "# paths to scan\nAUTO_SYNC_PATHS={}\nAUTO_SYNC_EXCLUDE=skipme\n",
            sb.tree().display()
        ),
    )
    .unwrap();
    let out = sb.run(&["discover", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let list = json(&out);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a"]);

    // The process environment beats the env file.
    let out = sb
        .cmd()
        .args(["discover", "--json"])
        .env("AUTO_SYNC_EXCLUDE", "a")
        .output()
        .unwrap();
    let list = json(&out);
    assert_eq!(list[0]["name"], "skipme");
}

#[test]
fn no_paths_anywhere_explains_how_to_configure() {
    let sb = Sandbox::new();
    let out = sb.run(&["discover"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("AUTO_SYNC_PATHS"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn invalid_configuration_is_a_startup_error_naming_variable_and_value() {
    let sb = Sandbox::new();
    let tree = sb.tree();
    let out = sb
        .cmd()
        .args(["discover", tree.to_str().unwrap()])
        .env("AUTO_SYNC_SIZE_THRESHOLD", "huge")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("AUTO_SYNC_SIZE_THRESHOLD=\"huge\""),
        "{}",
        stderr(&out)
    );

    fs::write(
        sb.root().join("codeintel.env"),
        "AUTO_SYNC_PATHS=/x\nthis is not valid\n",
    )
    .unwrap();
    let out = sb.run(&["discover"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("codeintel.env:2:"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn table_output_on_request_without_json() {
    let sb = Sandbox::new();
    sb.write("tab/README.md", "");
    sb.code_files("tab", "go", 3, 10);
    let out = sb.run(&["discover", sb.tree().to_str().unwrap()]);
    assert!(out.status.success());
    let text = common::stdout(&out);
    assert!(text.starts_with("NAME"), "{text}");
    assert!(text.contains("tab") && text.contains("go"), "{text}");
    assert!(text.contains("1 repositories, 3 code files"), "{text}");
}
