//! `codeintel index`, `search` and `repos` through the real binary on real trees.

mod common;

use common::{json, stderr, Sandbox};
use serde_json::Value;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

fn index(sb: &Sandbox, path: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["index", "--json", path.to_str().expect("utf-8 path")];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert!(out.status.success(), "index failed: {}", stderr(&out));
    json(&out)
}

fn search(sb: &Sandbox, query: &str, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["search", "--json", query];
    args.extend_from_slice(extra);
    let out = sb.run(&args);
    assert!(
        out.status.success(),
        "search {query:?} failed: {}",
        stderr(&out)
    );
    json(&out).as_array().expect("array").clone()
}

fn paths(hits: &[Value]) -> Vec<String> {
    hits.iter()
        .map(|h| h["path"].as_str().unwrap().to_string())
        .collect()
}

fn counts(v: &Value) -> [u64; 6] {
    [
        "files_added",
        "files_updated",
        "files_deleted",
        "files_renamed",
        "files_skipped",
        "files_failed",
    ]
    .map(|k| {
        v[k].as_u64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    })
}

#[test]
fn full_sync_then_edit_add_delete_rename() {
    let sb = Sandbox::new();
    sb.write("app/README.md", "# App\nThe billing service.\n");
    sb.write(
        "app/src/billing.py",
        "def compute_invoice_total(items):\n    return sum(i.price for i in items)\n",
    );
    sb.write(
        "app/src/shipping.py",
        "def schedule_courier_pickup(order):\n    return order.id\n",
    );
    sb.write(
        "app/src/old_name.py",
        "def legacy_rounding_helper(x):\n    return round(x, 2)\n",
    );
    sb.write(
        "app/src/obsolete.py",
        "def remove_me_entirely():\n    pass\n",
    );
    let repo = sb.tree().join("app");

    let first = index(&sb, &repo, &[]);
    assert_eq!(first["repository"], "app");
    assert_eq!(first["files_processed"], 5);
    assert_eq!(counts(&first), [5, 0, 0, 0, 0, 0]);
    assert_eq!(first["success_rate"], 100.0);
    assert!(first["chunks_new"].as_u64().unwrap() >= 5);
    for key in ["chunks_deleted", "duration_ms"] {
        assert!(first[key].is_u64(), "{key}");
    }

    // Nothing changed: nothing is reprocessed.
    let again = index(&sb, &repo, &[]);
    assert_eq!(counts(&again), [0, 0, 0, 0, 0, 0]);
    assert_eq!(again["chunks_new"], 0);

    sb.write("app/src/billing.py", "def compute_invoice_total(items, discount):\n    return apply_discount_rate(items, discount)\n");
    sb.write(
        "app/src/refunds.py",
        "def issue_partial_refund(payment):\n    return payment\n",
    );
    fs::remove_file(repo.join("src/obsolete.py")).unwrap();
    fs::rename(repo.join("src/old_name.py"), repo.join("src/rounding.py")).unwrap();

    let second = index(&sb, &repo, &[]);
    assert_eq!(counts(&second), [1, 1, 1, 1, 0, 0], "{second}");
    assert_eq!(second["files_processed"], 5);

    assert_eq!(
        paths(&search(&sb, "apply discount rate", &[])),
        ["src/billing.py"]
    );
    assert!(search(&sb, "remove_me_entirely", &[]).is_empty());
    assert_eq!(
        paths(&search(&sb, "issuePartialRefund", &[])),
        ["src/refunds.py"]
    );
    assert_eq!(
        paths(&search(&sb, "legacy_rounding_helper", &[])),
        ["src/rounding.py"]
    );
    // The path is searchable too, under its new name only.
    assert!(paths(&search(&sb, "old_name", &[])).is_empty());

    let full = index(&sb, &repo, &["--full"]);
    assert_eq!(full["files_processed"], 5);
    assert_eq!(
        counts(&full)[..4],
        [0, 0, 0, 0],
        "full reread of unchanged content: {full}"
    );
}

#[test]
fn identifier_styles_and_symbol_boost() {
    let sb = Sandbox::new();
    sb.write(
        "r/a.js",
        "function parseConfig(text) { return JSON.parse(text); }\n",
    );
    sb.write("r/b.py", "def parse_config(text):\n    return text\n");
    sb.write(
        "r/c.go",
        "package c\n\nfunc ParseConfig(text string) string { return text }\n",
    );
    sb.write(
        "r/d.md",
        "We parse the config file at startup, then never parse it again.\n",
    );
    index(&sb, &sb.tree().join("r"), &[]);
    for query in ["parse config", "parseConfig", "parse_config", "ParseConfig"] {
        let hits = search(&sb, query, &[]);
        let top3: Vec<String> = paths(&hits).into_iter().take(3).collect();
        let mut sorted = top3.clone();
        sorted.sort();
        assert_eq!(
            sorted,
            ["a.js", "b.py", "c.go"],
            "{query}: definitions first, got {top3:?}"
        );
        assert_eq!(hits.len(), 4, "{query}");
        for h in &hits[..3] {
            assert_eq!(h["kind"], "function");
        }
    }
    let hit = &search(&sb, "parse_config", &[])[0];
    for key in [
        "repository",
        "path",
        "start_line",
        "end_line",
        "language",
        "symbol",
        "kind",
        "score",
        "snippet",
    ] {
        assert!(hit.get(key).is_some(), "{key} missing in {hit}");
    }
}

#[test]
fn any_term_matches_but_all_terms_rank_first() {
    let sb = Sandbox::new();
    sb.write(
        "r/one.py",
        "def retry_upload(client):\n    # retry failed uploads with backoff\n    pass\n",
    );
    sb.write("r/two.py", "def upload_file(client):\n    pass\n");
    sb.write("r/three.py", "def backoff_delay(n):\n    return 2 ** n\n");
    index(&sb, &sb.tree().join("r"), &[]);
    let hits = paths(&search(&sb, "where do we retry failed uploads", &[]));
    assert_eq!(hits[0], "one.py");
    assert!(hits.contains(&"two.py".to_string()), "{hits:?}");
}

#[test]
fn every_language_finds_its_symbols() {
    let sb = Sandbox::new();
    let files = [
        (
            "m.py",
            "class LedgerArchive:\n    def export_quarterly_ledger(self):\n        pass\n",
            "export_quarterly_ledger",
            "python",
        ),
        (
            "m.js",
            "function renderSidebarWidget(props) { return props; }\n",
            "renderSidebarWidget",
            "javascript",
        ),
        (
            "m.ts",
            "export interface TelemetryEnvelope { id: string }\n",
            "TelemetryEnvelope",
            "typescript",
        ),
        (
            "m.tsx",
            "export const CheckoutBanner = () => <div/>;\n",
            "CheckoutBanner",
            "typescript",
        ),
        (
            "M.java",
            "class Warehouse {\n    void restockShelfInventory() {}\n}\n",
            "restockShelfInventory",
            "java",
        ),
        (
            "m.go",
            "package m\n\nfunc NegotiateTlsSession() error { return nil }\n",
            "NegotiateTlsSession",
            "go",
        ),
        (
            "m.rs",
            "pub fn compact_segment_files() {}\n",
            "compact_segment_files",
            "rust",
        ),
        (
            "m.rb",
            "class Mailer\n  def deliver_weekly_digest\n  end\nend\n",
            "deliver_weekly_digest",
            "ruby",
        ),
        (
            "m.php",
            "<?php\nfunction sanitize_comment_markup($s) { return $s; }\n",
            "sanitize_comment_markup",
            "php",
        ),
        (
            "M.cs",
            "class Bank {\n    public void ReconcileNightlyBatch() {}\n}\n",
            "ReconcileNightlyBatch",
            "csharp",
        ),
        (
            "m.cpp",
            "int RasterizeVectorGlyph(int g) { return g; }\n",
            "RasterizeVectorGlyph",
            "cpp",
        ),
        (
            "m.c",
            "static int checksum_eeprom_block(int b) { return b; }\n",
            "checksum_eeprom_block",
            "c",
        ),
    ];
    for (name, src, _, _) in files {
        sb.write(&format!("poly/{name}"), src);
    }
    index(&sb, &sb.tree().join("poly"), &[]);
    for (name, _, symbol, language) in files {
        // Asked for as loose words, the way a person types it.
        let words = codeintel_index::text::query_terms(symbol).join(" ");
        let hits = search(&sb, &words, &[]);
        assert!(!hits.is_empty(), "{name}: nothing for {words:?}");
        assert_eq!(hits[0]["symbol"], symbol, "{name}: {hits:?}");
        assert_eq!(hits[0]["path"], name);
        assert_eq!(hits[0]["language"], language);
        let only = search(&sb, &words, &["--lang", language]);
        assert!(only.iter().all(|h| h["language"] == language));
    }
}

#[test]
fn filters_and_exact_and_regex_modes() {
    let sb = Sandbox::new();
    sb.write(
        "one/src/lib.rs",
        "fn main() {\n    let v = opts.unwrap_or(0);\n    x->y;\n}\n",
    );
    sb.write(
        "one/tests/t.rs",
        "fn test_unwrap_or() { opts.unwrap_or(1); }\n",
    );
    sb.write("two/app.py", "def unwrap_or(value):\n    return value\n");
    index(&sb, &sb.tree().join("one"), &[]);
    index(&sb, &sb.tree().join("two"), &[]);

    let all = search(&sb, "unwrap_or", &[]);
    assert_eq!(all.len(), 3);
    let repo_only = search(&sb, "unwrap_or", &["--repo", "two"]);
    assert_eq!(paths(&repo_only), ["app.py"]);
    let glob = search(&sb, "unwrap_or", &["--path", "src/**"]);
    assert_eq!(paths(&glob), ["src/lib.rs"]);

    let exact = search(&sb, ".unwrap_or(0)", &["--mode", "exact"]);
    assert_eq!(paths(&exact), ["src/lib.rs"]);
    assert_eq!(exact[0]["line"], 2);
    let arrow = search(&sb, "->", &["--mode", "exact"]);
    assert_eq!(paths(&arrow), ["src/lib.rs"]);
    assert_eq!(arrow[0]["line"], 3);
    let re = search(&sb, r"unwrap_or\(\d\)", &["--mode", "regex"]);
    let mut got = paths(&re);
    got.sort();
    assert_eq!(got, ["src/lib.rs", "tests/t.rs"]);

    let bad = sb.run(&["search", "--mode", "regex", "(unclosed"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("invalid regular expression"),
        "{}",
        stderr(&bad)
    );
    let unknown = sb.run(&["search", "x", "--repo", "nope"]);
    assert_eq!(unknown.status.code(), Some(2));
}

#[test]
fn hostile_queries_never_leak_sqlite_errors() {
    let sb = Sandbox::new();
    sb.write("r/a.py", "def near_miss(): pass\n");
    index(&sb, &sb.tree().join("r"), &[]);
    for q in [
        "\"near",
        "near*",
        "NEAR(a b)",
        "-near",
        "a AND",
        "OR",
        "near:miss",
        "{near}",
        "^near",
        "near'",
    ] {
        let out = sb.run(&["search", "--json", q]);
        let err = stderr(&out);
        assert!(out.status.success(), "{q:?}: {err}");
        assert!(
            !err.to_lowercase().contains("fts5") && !err.contains("syntax error"),
            "{q:?}: {err}"
        );
        json(&out);
    }
    for q in ["", "   ", "***", "-- \"\" ()"] {
        let out = sb.run(&["search", q]);
        assert_eq!(out.status.code(), Some(2), "{q:?}");
        let err = stderr(&out);
        assert!(
            err.starts_with("error: ") && !err.to_lowercase().contains("fts5"),
            "{q:?}: {err}"
        );
    }
}

#[test]
fn skipped_files_are_never_stored() {
    let sb = Sandbox::new();
    sb.write("r/main.py", "def visible_function(): pass\n");
    sb.write("r/.gitignore", "generated/\n*.log.py\n");
    sb.write("r/generated/out.py", "def ignored_by_gitignore(): pass\n");
    sb.write("r/debug.log.py", "def ignored_by_glob(): pass\n");
    sb.write("r/.ignore", "private/\n");
    sb.write("r/private/p.py", "def ignored_by_dot_ignore(): pass\n");
    sb.write(
        "r/node_modules/dep/index.js",
        "function excluded_by_default() {}\n",
    );
    sb.write(
        "r/config/credentials.json",
        "{\"token\": \"hunter2secretvalue\"}\n",
    );
    sb.write("r/config/secrets.yaml", "password: hunter2secretvalue\n");
    sb.write("r/.env", "API_KEY=hunter2secretvalue\n");
    sb.write("r/.ssh/notes.md", "hunter2secretvalue\n");
    fs::write(
        sb.tree().join("r/blob.py"),
        b"def binary_file():\x00\x01\x02 pass\n",
    )
    .unwrap();
    let big = format!("# big\n{}", "x = 'hugefilemarker'\n".repeat(60_000));
    sb.write("r/huge.py", &big);
    fs::write(
        sb.tree().join("r/latin1.py"),
        b"# caf\xe9\ndef latin_one_function(): pass\n",
    )
    .unwrap();

    let result = index(&sb, &sb.tree().join("r"), &[]);
    assert_eq!(result["files_added"], 2, "{result}");
    assert_eq!(result["files_skipped"], 4, "{result}");
    for q in [
        "ignored_by_gitignore",
        "ignored_by_glob",
        "ignored_by_dot_ignore",
        "excluded_by_default",
        "hunter2secretvalue",
        "binary_file",
        "hugefilemarker",
    ] {
        assert!(
            search(&sb, q, &["--mode", "exact"]).is_empty(),
            "{q} was indexed"
        );
    }
    assert_eq!(
        paths(&search(&sb, "visible_function", &["--mode", "exact"])),
        ["main.py"]
    );
    assert_eq!(
        paths(&search(&sb, "latin_one_function", &[]))[0],
        "latin1.py"
    );
    // Nothing secret reached the store file either (the embedded store's: one file to read).
    if sb.postgres_store().is_none() {
        let db = fs::read(sb.root().join("data/index.db")).unwrap();
        assert!(!db.windows(18).any(|w| w == b"hunter2secretvalue"));
    }
}

#[test]
fn index_leaves_no_write_ahead_log_behind() {
    // The embedded store's own file.
    if common::postgres_backend() {
        return;
    }
    // A log left behind is read back in full by every later one-shot search.
    let sb = Sandbox::new();
    for i in 0..20 {
        sb.write(
            &format!("repo/m{i}.py"),
            &format!("def handler_{i}(event):\n    return event + {i}\n"),
        );
    }
    index(&sb, &sb.tree().join("repo"), &[]);
    let data = sb.root().join("data");
    let log = fs::metadata(data.join("index.db-wal")).map_or(0, |m| m.len());
    assert_eq!(log, 0, "the index command left {log} bytes of log");
    assert!(fs::metadata(data.join("index.db")).unwrap().len() > 16 * 1024);
    assert_eq!(paths(&search(&sb, "handler_7", &[]))[0], "m7.py");
}

#[test]
fn repos_lists_counts_and_survives_a_deleted_repository() {
    let sb = Sandbox::new();
    sb.code_files("gone", "py", 3, 40);
    sb.code_files("kept", "rs", 2, 40);
    index(&sb, &sb.tree().join("gone"), &[]);
    index(&sb, &sb.tree().join("kept"), &["--name", "keeper"]);
    fs::remove_dir_all(sb.tree().join("gone")).unwrap();
    let out = sb.run(&["index", sb.tree().join("gone").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    let out = sb.run(&["repos", "--json"]);
    assert!(out.status.success());
    let repos = json(&out);
    let list = repos.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let gone = list
        .iter()
        .find(|r| r["name"] == "gone")
        .expect("gone listed");
    assert_eq!(gone["files"], 3);
    assert_eq!(gone["language"], "python");
    assert!(gone["chunks"].as_u64().unwrap() >= 3);
    assert_eq!(gone["embedded_chunks"], 0);
    assert!(gone["last_sync"].as_str().unwrap().ends_with('Z'));
    let keeper = list
        .iter()
        .find(|r| r["name"] == "keeper")
        .expect("renamed by --name");
    assert_eq!(keeper["files"], 2);
    assert_eq!(keeper["language"], "rust");
}

#[test]
fn a_foreign_database_is_not_overwritten_without_force() {
    // The embedded store's own file.
    if common::postgres_backend() {
        return;
    }
    let sb = Sandbox::new();
    sb.code_files("r", "py", 3, 40);
    let data = sb.root().join("data");
    fs::create_dir_all(&data).unwrap();
    let db = data.join("index.db");
    let garbage = b"this is not a database, it is a shopping list\n".repeat(200);
    fs::write(&db, &garbage).unwrap();

    for args in [vec!["index", "r"], vec!["search", "x"], vec!["repos"]] {
        let mut cmd = sb.cmd();
        cmd.current_dir(sb.tree());
        let out = cmd.args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            stderr(&out).contains("is not a codeintel index"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert_eq!(fs::read(&db).unwrap(), garbage, "{args:?} changed the file");
    }

    let out = sb.run(&[
        "index",
        "--force",
        "--json",
        sb.tree().join("r").to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let aside: Vec<_> = fs::read_dir(&data)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with("index.db.broken-")
        })
        .collect();
    assert_eq!(aside.len(), 1);
    assert_eq!(fs::read(aside[0].path()).unwrap(), garbage);
}

#[test]
fn another_programs_sqlite_file_is_refused() {
    // The embedded store's own file.
    if common::postgres_backend() {
        return;
    }
    let sb = Sandbox::new();
    let data = sb.root().join("data");
    fs::create_dir_all(&data).unwrap();
    let db = data.join("index.db");
    let made = std::process::Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table notes(x)'); c.commit()"])
        .arg(&db)
        .status();
    if !made.map(|s| s.success()).unwrap_or(false) {
        eprintln!("python3 with sqlite3 not available; skipping");
        return;
    }
    let before = fs::read(&db).unwrap();
    let out = sb.run(&["repos"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("not a codeintel index"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read(&db).unwrap(), before);
}

/// Makes a repository big enough that indexing takes a while even on a fast machine.
fn big_repo(sb: &Sandbox, dir: &str, files: usize) {
    for i in 0..files {
        let mut src = String::new();
        for j in 0..12 {
            src.push_str(&format!(
                "def handler_{i}_{j}(request, session):\n    \"\"\"Handles request kind {j} for module {i}.\"\"\"\n    value = session.lookup(request.key_{j})\n    return value * {j} + {i}\n\n"
            ));
        }
        sb.write(&format!("{dir}/pkg{}/mod_{i}.py", i % 40), &src);
    }
}

fn repo_summary(sb: &Sandbox) -> (u64, u64) {
    let out = sb.run(&["repos", "--json"]);
    let list = json(&out);
    let r = &list[0];
    (
        r["files"].as_u64().unwrap_or(0),
        r["chunks"].as_u64().unwrap_or(0),
    )
}

#[test]
fn kill_during_indexing_then_rerun_equals_a_clean_run() {
    let sb = Sandbox::new();
    big_repo(&sb, "big", 3000);
    let repo = sb.tree().join("big");

    let mut child = sb
        .cmd()
        .args(["index", repo.to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches are committed, then kill -9 in the middle of the run.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "indexing finished before it could be killed"
        );
        let started = sb.postgres_store().is_some() || sb.root().join("data/index.db").exists();
        let (files, _) = if started { repo_summary(&sb) } else { (0, 0) };
        if files > 0 {
            assert!(files < 3000, "already complete");
            break;
        }
        assert!(Instant::now() < deadline, "no batch committed in time");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let rerun = index(&sb, &repo, &[]);
    assert_eq!(rerun["files_failed"], 0);
    let resumed = repo_summary(&sb);

    let clean = Sandbox::new();
    big_repo(&clean, "big", 3000);
    index(&clean, &clean.tree().join("big"), &[]);
    assert_eq!(resumed, repo_summary(&clean));
    assert_eq!(resumed.0, 3000);
    for q in ["handler_1234_7", "module 2999", "session lookup"] {
        let a: Vec<_> = search(&sb, q, &["--limit", "20"])
            .iter()
            .map(|h| (h["path"].clone(), h["start_line"].clone()))
            .collect();
        let b: Vec<_> = search(&clean, q, &["--limit", "20"])
            .iter()
            .map(|h| (h["path"].clone(), h["start_line"].clone()))
            .collect();
        assert_eq!(a, b, "{q}");
    }
}
