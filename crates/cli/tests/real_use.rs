//! What a new user and real repositories hit, through the real binary: minified bundles and huge
//! lines, a paused foreground scan, folders inside repositories, removing a repository, and
//! filters given the way people write them.

mod common;

use common::{json, stderr, stdout, Sandbox};
use serde_json::Value;
use std::path::Path;
use std::process::{Child, Output, Stdio};
use std::time::{Duration, Instant};

/// Waits for `child` to exit within `secs`; kills it and fails past that.
fn finish_within(mut child: Child, secs: u64, what: &str) -> Output {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not finish within {secs} s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().expect("output")
}

fn search(sb: &Sandbox, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["search", "--json"];
    all.extend_from_slice(args);
    let out = sb.run(&all);
    assert!(out.status.success(), "search {args:?}: {}", stderr(&out));
    json(&out).as_array().expect("array").clone()
}

/// A minified bundle: one line of many small functions, `bytes` long.
fn bundle(bytes: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "function f{i}(a){{return a*{i}+g(a)}};var v{i}=f{i}(1);"
        ));
        i += 1;
    }
    s
}

fn small_repo(sb: &Sandbox, name: &str, marker: &str) -> std::path::PathBuf {
    sb.mkdir(&format!("{name}/.git"));
    sb.write(
        &format!("{name}/src/main.py"),
        &format!("def {marker}():\n    return 1\n"),
    );
    sb.write(&format!("{name}/src/util.py"), "def util():\n    pass\n");
    sb.write(&format!("{name}/src/extra.py"), "def extra():\n    pass\n");
    sb.tree().join(name)
}

/// Cost must stay linear in bytes whatever the line lengths: a 1 MiB one-line bundle used to
/// take minutes (every chunk of the line listed every definition on it). The deadline is
/// generous; the bench measures the speed.
#[test]
fn a_one_mebibyte_one_line_bundle_is_indexed_as_text_within_a_deadline() {
    let sb = Sandbox::new();
    let min = bundle((1 << 20) - 64);
    sb.write("web/public/app.min.js", &min);
    sb.write("web/src/app.js", "export function start() { return 1 }\n");
    let child = sb
        .cmd()
        .args(["index", "--json", "--no-embed"])
        .arg(sb.tree().join("web"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn index");
    let out = finish_within(child, 60, "indexing a 1 MiB one-line file");
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["files_added"], 2, "{result}");
    assert!(result["chunks_new"].as_u64().unwrap() > 400, "{result}");
    // A name from the middle of the line is found, and the snippet shows it.
    let hits = search(&sb, &["f12345", "--mode", "exact"]);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert!(hits[0]["snippet"].as_str().unwrap().contains("f12345"));
    assert!(hits[0]["snippet"].as_str().unwrap().len() < 1000);
}

/// The manual scan works whether auto-sync is enabled, disabled or paused; in the foreground it
/// scans, syncs and exits, and prints the counts after its work.
#[test]
fn a_paused_foreground_scan_syncs_and_reports_the_counts_after() {
    let sb = Sandbox::new();
    small_repo(&sb, "alpha", "alphamark");
    let out = sb.run(&["auto-sync-pause"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let tree = sb.tree();
    let child = sb
        .cmd()
        .env("AUTO_SYNC_PATHS", &tree)
        .args(["auto-sync-scan", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn scan");
    let out = finish_within(child, 60, "a foreground scan while paused");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        json(&out),
        serde_json::json!({"queued": 0, "active": 0, "synced": 1})
    );
    assert_eq!(search(&sb, &["alphamark"]).len(), 1);
    // The pause itself is left as it was.
    let status = sb.run(&["auto-sync-status", "--json"]);
    assert_eq!(json(&status)["paused"], true);
}

#[test]
fn a_folder_inside_an_indexed_repository_syncs_that_repository() {
    let sb = Sandbox::new();
    let repo = small_repo(&sb, "alpha", "alphamark");
    let out = sb.run(&["index", "--json", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let sub = repo.join("src");
    let out = sb.run(&["index", "--json", sub.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["repository"], "alpha");
    assert!(
        result["note"].as_str().unwrap().contains("inside"),
        "{result}"
    );
    assert!(stderr(&out).contains("synced that repository instead"));
    let repos = json(&sb.run(&["repos", "--json"]));
    assert_eq!(repos.as_array().unwrap().len(), 1, "{repos}");
    assert_eq!(search(&sb, &["alphamark"]).len(), 1, "no hit twice");
}

#[test]
fn remove_drops_a_repository_and_scans_leave_it_out_until_indexed_again() {
    let sb = Sandbox::new();
    let alpha = small_repo(&sb, "alpha", "alphamark");
    small_repo(&sb, "beta", "betamark");
    let tree = sb.tree();
    let tree = tree.to_str().unwrap();
    let scan = |sb: &Sandbox| {
        let out = sb.run_with(&[("AUTO_SYNC_PATHS", tree)], &["auto-sync-scan", "--json"]);
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };
    assert_eq!(scan(&sb)["synced"], 2);
    let out = sb.run(&["remove", "alpha", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let removed = json(&out);
    assert_eq!(removed["repository"], "alpha");
    assert_eq!(removed["files"], 3);
    assert!(search(&sb, &["alphamark"]).is_empty());
    assert_eq!(search(&sb, &["betamark"]).len(), 1);

    assert_eq!(scan(&sb)["synced"], 1, "a scan does not bring it back");
    assert!(search(&sb, &["alphamark"]).is_empty());
    let status = json(&sb.run_with(
        &[("AUTO_SYNC_PATHS", tree)],
        &["auto-sync-status", "--json"],
    ));
    assert_eq!(
        status["config"]["removed_repositories"],
        serde_json::json!([alpha.to_str().unwrap()])
    );

    let missing = sb.run(&["remove", "nope"]);
    assert_eq!(missing.status.code(), Some(2), "{}", stderr(&missing));
    assert!(stderr(&missing).contains("nope"));

    let out = sb.run(&["index", alpha.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(scan(&sb)["synced"], 2, "indexed by hand, scans keep it");
    assert_eq!(search(&sb, &["alphamark"]).len(), 1);
    let text = stdout(&sb.run(&["remove", alpha.to_str().unwrap()]));
    assert!(text.contains("removed alpha"), "{text}");
}

#[test]
fn filters_take_aliases_and_folders() {
    let sb = Sandbox::new();
    let repo = small_repo(&sb, "alpha", "alphamark");
    sb.write("alpha/srcx/other.py", "def alphamark_two():\n    pass\n");
    let out = sb.run(&["index", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    for lang in ["py", "PYTHON", "python3"] {
        assert_eq!(
            search(&sb, &["alphamark", "--lang", lang]).len(),
            2,
            "{lang}"
        );
    }
    let bad = sb.run(&["search", "alphamark", "--lang", "klingon"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("python"), "{}", stderr(&bad));
    for path in ["src", "/src", "src/", "./src"] {
        let hits = search(&sb, &["alphamark", "--path", path]);
        let paths: Vec<&str> = hits.iter().map(|h| h["path"].as_str().unwrap()).collect();
        assert_eq!(paths, ["src/main.py"], "{path}");
    }
    assert_eq!(
        search(&sb, &["alphamark", "--path", "**/other.py"]).len(),
        1
    );
    assert!(Path::new(&repo).is_dir());
}
