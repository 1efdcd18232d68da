//! The CLI on a PostgreSQL store (`--store` / `CODEINTEL_STORE`) against the embedded one:
//! the same tree indexed into both answers the same, before and after edits; a password in
//! the URL never appears in any output; bad store values are one-line errors.
//!
//! `scripts/test.sh` starts a private PostgreSQL and names it in `CODEINTEL_TEST_POSTGRES_URL`.

mod common;

use common::{json, stderr, stdout, Sandbox};
use serde_json::Value;

/// A fresh database on the test cluster, as a URL carrying a password (trust authentication
/// ignores it: it is there to be hidden).
fn database(name: &str) -> String {
    let admin = std::env::var("CODEINTEL_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("CODEINTEL_TEST_POSTGRES_URL is not set: run the suite with `bash scripts/test.sh`, which starts a private PostgreSQL")
    });
    database_on(&admin, name)
}

/// [`database`] on the cluster whose superuser URL is `admin`, with [`PASSWORD`] in the URL.
fn database_on(admin: &str, name: &str) -> String {
    common::fresh_database(admin, name).replacen('@', &format!(":{PASSWORD}@"), 1)
}

const PASSWORD: &str = "pw-never-shown-4711";

const ORDERS: &str = "\
from shop.prices import tax

class Order:
    def total(self, amount):
        return amount + tax(amount)

def checkout(order):
    return order.total(10)
";

const PRICES: &str = "\
def tax(amount):
    return amount * 0.2

def discount(amount):
    return tax(amount) / 2
";

fn run(sb: &Sandbox, store: Option<&str>, args: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = Vec::new();
    if let Some(url) = store {
        all.extend(["--store", url]);
    }
    all.extend_from_slice(args);
    let out = sb.run(&all);
    for text in [stdout(&out), stderr(&out)] {
        assert!(
            !text.contains(PASSWORD),
            "{args:?} showed the password: {text}"
        );
    }
    out
}

/// What must be equal on both stores: the repositories' counts, hits of each search mode,
/// references and callers.
fn answers(sb: &Sandbox, store: Option<&str>) -> Vec<Value> {
    let mut all = Vec::new();
    let repos = json(&run(sb, store, &["repos", "--json"]));
    let counts: Vec<Value> = repos
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::json!([r["name"], r["files"], r["chunks"]]))
        .collect();
    all.push(Value::from(counts));
    for (query, mode) in [
        ("tax amount", "lexical"),
        ("return amount", "exact"),
        (r"def \w+\(", "regex"),
    ] {
        let out = run(sb, store, &["search", "--json", "--mode", mode, query]);
        assert!(out.status.success(), "search {query}: {}", stderr(&out));
        let hits: Vec<Value> = json(&out)
            .as_array()
            .unwrap()
            .iter()
            .map(|h| serde_json::json!([h["path"], h["start_line"]]))
            .collect();
        assert!(!hits.is_empty(), "{mode} {query}");
        all.push(Value::from(hits));
    }
    for args in [
        &["refs", "--json", "tax"][..],
        &["callers", "--json", "tax"][..],
    ] {
        let out = run(sb, store, args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        all.push(json(&out));
    }
    all
}

#[test]
fn a_tree_indexed_into_postgres_answers_as_the_embedded_store_does() {
    let sb = Sandbox::new();
    sb.write("shop/shop/orders.py", ORDERS);
    sb.write("shop/shop/prices.py", PRICES);
    let root = sb.tree().join("shop");
    let root = root.to_str().unwrap();
    let url = database("cli_parity");
    for store in [None, Some(url.as_str())] {
        let out = run(&sb, store, &["index", "--json", root]);
        assert!(out.status.success(), "index ({store:?}): {}", stderr(&out));
    }
    let before = answers(&sb, None);
    assert_eq!(before, answers(&sb, Some(&url)));
    // The same edits, synced incrementally into both.
    sb.write(
        "shop/shop/orders.py",
        &ORDERS.replace("tax(amount)", "amount"),
    );
    std::fs::rename(
        root.to_string() + "/shop/prices.py",
        root.to_string() + "/shop/rates.py",
    )
    .unwrap();
    for store in [None, Some(url.as_str())] {
        let out = run(&sb, store, &["index", "--json", root]);
        assert!(
            out.status.success(),
            "reindex ({store:?}): {}",
            stderr(&out)
        );
    }
    let after = answers(&sb, None);
    assert_ne!(before, after, "the edits changed nothing");
    assert_eq!(after, answers(&sb, Some(&url)));
    // The environment variable names the store as the flag does.
    let out = sb.run_with(&[("CODEINTEL_STORE", &url)], &["repos", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(json(&out).as_array().unwrap().len(), 1);
    // Status names the store, redacted.
    let status = json(&run(&sb, Some(&url), &["status", "--json"]));
    let shown = status["store"].as_str().unwrap_or_default();
    assert!(
        shown.starts_with("postgresql://") && shown.contains(":***@"),
        "{status}"
    );
}

#[test]
fn migrate_store_copies_an_index_into_postgres_and_back_and_each_answers_alike() {
    let sb = Sandbox::new();
    sb.mkdir("shop/.git");
    sb.write("shop/shop/orders.py", ORDERS);
    sb.write("shop/shop/prices.py", PRICES);
    let root = sb.tree().join("shop");
    let root = root.to_str().unwrap();
    let out = run(&sb, None, &["index", "--json", root]);
    assert!(out.status.success(), "{}", stderr(&out));
    let embedded = answers(&sb, None);

    let url = database("migrated");
    let out = run(&sb, None, &["migrate-store", "--to", &url, "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let copied = json(&out);
    assert_eq!(copied["repositories"], 1, "{copied}");
    assert_eq!(copied["files"], 2, "{copied}");
    assert_eq!(copied["contents_missing"], 0, "{copied}");
    assert_eq!(answers(&sb, Some(&url)), embedded);
    // The files' stamps came along: syncing the copy reads nothing again.
    let synced = json(&run(&sb, Some(&url), &["index", "--json", root]));
    assert_eq!(
        (&synced["files_added"], &synced["files_updated"]),
        (&Value::from(0), &Value::from(0)),
        "{synced}"
    );
    // A store that holds an index is not merged into.
    let again = run(&sb, None, &["migrate-store", "--to", &url]);
    assert_eq!(again.status.code(), Some(2), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already holds"),
        "{}",
        stderr(&again)
    );
    let same = run(&sb, Some(&url), &["migrate-store", "--to", &url]);
    assert_eq!(same.status.code(), Some(2), "{}", stderr(&same));

    // And back, into an empty embedded store.
    std::fs::rename(sb.root().join("data"), sb.root().join("data-first")).unwrap();
    let out = run(&sb, Some(&url), &["migrate-store", "--to", "sqlite"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(answers(&sb, None), embedded);
}

#[test]
fn bad_store_values_are_one_line_errors_without_the_password() {
    let sb = Sandbox::new();
    for value in [
        format!("mysql://ci:{PASSWORD}@db/x"),
        format!("postgres://ci:{PASSWORD}@db:notaport/x"),
    ] {
        let out = run(&sb, Some(&value), &["repos"]);
        assert!(!out.status.success(), "{value}");
        let err = stderr(&out);
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(err.contains("--store") && err.contains("***"), "{err}");
    }
    // A server that is not there: a clear error, not a hang.
    let out = run(
        &sb,
        Some(&format!(
            "postgresql://ci:{PASSWORD}@/x?host=/nonexistent-dir&connect_timeout=2"
        )),
        &["repos"],
    );
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("cannot reach the PostgreSQL store"),
        "{}",
        stderr(&out)
    );
}

/// `serve` over a PostgreSQL store, through rmcp over stdio: its auto-sync indexes the tree
/// into the database and the tools answer from it (the server's handlers run on tokio
/// workers, where the synchronous client must step aside to block).
#[tokio::test(flavor = "multi_thread")]
async fn the_mcp_server_indexes_into_and_answers_from_postgres() {
    use rmcp::model::CallToolRequestParams;
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    use rmcp::ServiceExt;
    let sb = Sandbox::new();
    sb.mkdir("shop/.git");
    sb.write("shop/shop/orders.py", ORDERS);
    sb.write("shop/shop/prices.py", PRICES);
    // Discovery takes folders of three code files or more.
    sb.write("shop/shop/__init__.py", "\"\"\"The shop.\"\"\"\n");
    let url = tokio::task::block_in_place(|| database("mcp_server"));
    let cmd = tokio::process::Command::new(common::bin()).configure(|c| {
        c.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", sb.root().join("home"))
            .env("CODEINTEL_DATA_DIR", sb.root().join("data"))
            .env("CODEINTEL_ENV_FILE", sb.root().join("codeintel.env"))
            .env("CODEINTEL_STORE", &url)
            .env("AUTO_SYNC_PATHS", sb.tree())
            .env("AUTO_SYNC_SCAN_INTERVAL", "1")
            .env("CODEINTEL_EMBED_PROVIDER", "none")
            .stderr(std::process::Stdio::null());
    });
    let client =
        ().serve(TokioChildProcess::new(cmd).expect("spawn server"))
            .await
            .expect("handshake");
    let call = |tool: &'static str, args: Value| {
        let client = &client;
        async move {
            let result = client
                .call_tool(
                    CallToolRequestParams::new(tool.to_string())
                        .with_arguments(args.as_object().cloned().unwrap_or_default()),
                )
                .await
                .unwrap_or_else(|e| panic!("{tool}: {e}"));
            assert_ne!(result.is_error, Some(true), "{tool}: {result:?}");
            result.structured_content.expect("structured content")
        }
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let found = loop {
        let found = call("search_code", serde_json::json!({ "query": "discount" })).await;
        if !found["results"].as_array().unwrap().is_empty() {
            break found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "nothing indexed into PostgreSQL in 60 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(found["results"][0]["path"], "shop/prices.py");
    let refs = call("find_references", serde_json::json!({ "name": "tax" })).await;
    let mut sites: Vec<(String, u64)> = refs["references"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_string(),
                r["line"].as_u64().unwrap(),
            )
        })
        .collect();
    sites.sort();
    let want = [
        ("shop/orders.py", 1),
        ("shop/orders.py", 5),
        ("shop/prices.py", 5),
    ];
    assert_eq!(sites, want.map(|(p, l)| (p.to_string(), l)).to_vec());
    let status = call("get_auto_sync_status", serde_json::json!({})).await;
    assert!(!status.to_string().contains(PASSWORD), "{status}");
    client.cancel().await.expect("close");
}

/// The shop repository (orders, prices) under the sandbox tree, indexed with `codeintel index`
/// into a fresh database `name`: its URL and the repository's folder.
fn indexed_shop(sb: &Sandbox, name: &str) -> (String, std::path::PathBuf) {
    sb.mkdir("shop/.git");
    sb.write("shop/shop/orders.py", ORDERS);
    sb.write("shop/shop/prices.py", PRICES);
    let url = database(name);
    let repo = sb.tree().join("shop");
    let out = run(sb, Some(&url), &["index", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    (url, repo)
}

/// An MCP client (rmcp) of `codeintel serve` on `store`, with data dir `data` and `env` added.
async fn serve_on(
    sb: &Sandbox,
    store: &str,
    data: &str,
    env: &[(&str, &std::ffi::OsStr)],
) -> rmcp::service::RunningService<rmcp::RoleClient, ()> {
    use rmcp::transport::{ConfigureCommandExt, TokioChildProcess};
    use rmcp::ServiceExt;
    let cmd = tokio::process::Command::new(common::bin()).configure(|c| {
        c.arg("serve")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", sb.root().join("home"))
            .env("CODEINTEL_DATA_DIR", sb.root().join(data))
            .env("CODEINTEL_ENV_FILE", sb.root().join("codeintel.env"))
            .env("CODEINTEL_STORE", store)
            .env("CODEINTEL_EMBED_PROVIDER", "none")
            .stderr(std::process::Stdio::null());
        for (k, v) in env {
            c.env(k, v);
        }
    });
    ().serve(TokioChildProcess::new(cmd).expect("spawn server"))
        .await
        .expect("handshake")
}

/// Calls `tool` with `args`; the result, error or not.
async fn call(
    client: &rmcp::service::RunningService<rmcp::RoleClient, ()>,
    tool: &str,
    args: Value,
) -> rmcp::model::CallToolResult {
    client
        .call_tool(
            rmcp::model::CallToolRequestParams::new(tool.to_string())
                .with_arguments(args.as_object().cloned().unwrap_or_default()),
        )
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

/// `n` Python files of real functions under `repo/` (a repository: it has `.git`).
fn python_repo(sb: &Sandbox, repo: &str, n: usize) {
    sb.mkdir(&format!("{repo}/.git"));
    for i in 0..n {
        let body: String = (0..12)
            .map(|f| {
                format!(
                    "def {repo}_f{i}_{f}(amount, rate):\n    \"\"\"Part {f} of module {i}.\"\"\"\n    total = amount * rate + {f}\n    return total - {i}\n\n"
                )
            })
            .collect();
        sb.write(&format!("{repo}/pkg/m{i}.py"), &body);
    }
}

/// A daemon indexing the sandbox tree into `url`, with a data dir and a log of its own.
fn pg_daemon(sb: &Sandbox, url: &str, name: &str) -> common::Daemon {
    let log = sb.root().join(format!("{name}.log"));
    let data = sb.root().join(format!("data-{name}"));
    sb.start_daemon_logged(
        &[
            ("CODEINTEL_STORE", url),
            ("CODEINTEL_DATA_DIR", data.to_str().unwrap()),
            ("AUTO_SYNC_MAX_CONCURRENT", "1"),
        ],
        &log,
    )
}

/// One number from `url`; 0 before the first process made the schema.
fn query_i64(url: &str, sql: &str) -> i64 {
    let mut client = postgres::Client::connect(url, postgres::NoTls).expect("test database");
    match client.query_one(sql, &[]) {
        Ok(row) => row.get(0),
        Err(e) if e.code() == Some(&postgres::error::SqlState::UNDEFINED_TABLE) => 0,
        Err(e) => panic!("{sql}: {e}"),
    }
}

/// Polls until every repository of `url` is synced with no lease left, or `secs` pass.
fn wait_all_synced(sb: &Sandbox, url: &str, repos: i64, secs: u64, logs: &[&str]) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        let synced = query_i64(
            url,
            "SELECT count(*) FROM repositories WHERE sync_state = 'synced'",
        );
        let leases = query_i64(url, "SELECT count(*) FROM repository_leases");
        if synced == repos && leases == 0 {
            return;
        }
        if std::time::Instant::now() > deadline {
            let logs: Vec<String> = logs
                .iter()
                .map(|l| {
                    std::fs::read_to_string(sb.root().join(format!("{l}.log"))).unwrap_or_default()
                })
                .collect();
            panic!(
                "{synced} of {repos} synced, {leases} leases after {secs} s:\n{}",
                logs.join("\n----\n")
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Per repository: name, files, chunks, as `repos --json` on `url` reports them.
fn repo_counts(sb: &Sandbox, url: &str) -> Vec<Value> {
    json(&run(sb, Some(url), &["repos", "--json"]))
        .as_array()
        .unwrap()
        .iter()
        .map(|r| serde_json::json!([r["name"], r["files"], r["chunks"]]))
        .collect()
}

/// The same tree indexed by one `codeintel index` per repository into a fresh database.
fn clean_counts(sb: &Sandbox, name: &str, repos: &[&str]) -> Vec<Value> {
    let clean = database(name);
    for repo in repos {
        let path = sb.tree().join(repo);
        let out = run(sb, Some(&clean), &["index", path.to_str().unwrap()]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    repo_counts(sb, &clean)
}

/// Files each daemon's log says it added ("synced NAME: N files (A added, ...").
fn files_added(sb: &Sandbox, name: &str) -> Vec<(String, u64)> {
    let log = std::fs::read_to_string(sb.root().join(format!("{name}.log"))).unwrap_or_default();
    log.lines()
        .filter_map(|l| {
            let rest = &l[l.find("synced ")? + 7..];
            let (repo, rest) = rest.split_once(": ")?;
            let added = rest.split_once(" files (")?.1.split_once(" added")?.0;
            Some((repo.to_string(), added.parse().ok()?))
        })
        .filter(|(_, added)| *added > 0)
        .collect()
}

#[test]
fn two_daemons_on_one_store_split_a_shared_tree_and_index_each_file_once() {
    let sb = Sandbox::new();
    let repos = ["r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"];
    for repo in repos {
        python_repo(&sb, repo, 120);
    }
    let url = database("two_daemons");
    let a = pg_daemon(&sb, &url, "a");
    let b = pg_daemon(&sb, &url, "b");
    wait_all_synced(&sb, &url, repos.len() as i64, 240, &["a", "b"]);
    // A third process (no syncer of its own) reports both indexers' work: each keeps its
    // metrics under its own key, and the status adds them up.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let metrics = loop {
        let status = json(&run(&sb, Some(&url), &["auto-sync-status", "--json"]));
        let metrics = status["metrics"].clone();
        if metrics["files_indexed"] == 120 * repos.len() as u64 {
            break metrics;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the metrics do not add up both indexers' files: {metrics}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    let succeeded = metrics["syncs_succeeded"].as_u64().unwrap_or(0);
    assert!(succeeded >= repos.len() as u64, "{metrics}");
    drop((a, b));

    let (by_a, by_b) = (files_added(&sb, "a"), files_added(&sb, "b"));
    assert!(
        !by_a.is_empty() && !by_b.is_empty(),
        "both workers took repositories: a {by_a:?}, b {by_b:?}"
    );
    // Each repository was indexed by one worker, each file once.
    let mut synced: Vec<&str> = by_a.iter().chain(&by_b).map(|(r, _)| r.as_str()).collect();
    synced.sort();
    assert_eq!(synced, repos, "a {by_a:?}, b {by_b:?}");
    let added: u64 = by_a.iter().chain(&by_b).map(|(_, n)| n).sum();
    assert_eq!(added, 120 * repos.len() as u64);
    for table in ["files", "chunks"] {
        let (count, max) = (
            query_i64(&url, &format!("SELECT count(*) FROM {table}")),
            query_i64(&url, &format!("SELECT coalesce(max(id), 0) FROM {table}")),
        );
        assert_eq!(count, max, "no {table} row was written twice");
    }
    assert_eq!(
        repo_counts(&sb, &url),
        clean_counts(&sb, "two_daemons_clean", &repos)
    );
}

#[test]
fn a_worker_killed_mid_sync_loses_its_lease_and_another_finishes_the_repository() {
    let sb = Sandbox::new();
    python_repo(&sb, "big", 1500);
    let url = database("killed_worker");
    let mut a = pg_daemon(&sb, &url, "a");
    // Kill -9 once the first batches are committed under its lease.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let files = query_i64(&url, "SELECT count(*) FROM files");
        let leased = query_i64(&url, "SELECT count(*) FROM repository_leases");
        if files > 0 && leased == 1 {
            assert!(files < 1500, "the sync finished before it could be killed");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no batch committed in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    a.kill();
    let b = pg_daemon(&sb, &url, "b");
    // The dead worker's lease expires within 30 s; then the other takes the repository.
    wait_all_synced(&sb, &url, 1, 150, &["a", "b"]);
    drop(b);
    assert_eq!(query_i64(&url, "SELECT count(*) FROM files"), 1500);
    let finished = files_added(&sb, "b");
    assert_eq!(finished.len(), 1, "{finished:?}");
    assert!(
        finished[0].1 < 1500,
        "b finished what a began: {finished:?}"
    );
    assert_eq!(
        repo_counts(&sb, &url),
        clean_counts(&sb, "killed_worker_clean", &["big"])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_the_files_serves_get_file_and_search_from_the_store() {
    let sb = Sandbox::new();
    let (url, repo) = tokio::task::block_in_place(|| indexed_shop(&sb, "files_from_store"));
    // The repository's folder goes away: this "machine" no longer has the files.
    std::fs::rename(&repo, sb.root().join("moved")).unwrap();
    let client = serve_on(&sb, &url, "second-data", &[]).await;
    let page = call(
        &client,
        "get_file",
        serde_json::json!({ "repository": "shop", "path": "shop/prices.py" }),
    )
    .await;
    assert_ne!(page.is_error, Some(true), "{page:?}");
    let page = page.structured_content.expect("structured content");
    assert_eq!(page["content"], PRICES, "{page}");
    assert_eq!(page["path"], "shop/prices.py");
    assert_eq!(page["total_lines"], 5);
    // By its absolute path on the indexing machine, a page of it.
    let abs = repo.join("shop/orders.py");
    let part = call(
        &client,
        "get_file",
        serde_json::json!({ "path": abs.to_str().unwrap(), "start_line": 3, "end_line": 4 }),
    )
    .await;
    let part = part.structured_content.expect("structured content");
    assert_eq!(
        part["content"], "class Order:\n    def total(self, amount):\n",
        "{part}"
    );
    // Only indexed files: never a path outside them, nor one climbing out with `..`.
    for path in [
        "shop/missing.py",
        "shop/../../etc/passwd",
        "../shop/shop/prices.py",
    ] {
        let refused = call(
            &client,
            "get_file",
            serde_json::json!({ "repository": "shop", "path": path }),
        )
        .await;
        assert_eq!(refused.is_error, Some(true), "{path}: {refused:?}");
    }
    let found = call(
        &client,
        "search_code",
        serde_json::json!({ "query": "discount" }),
    )
    .await;
    let found = found.structured_content.expect("structured content");
    assert_eq!(found["results"][0]["path"], "shop/prices.py", "{found}");
    client.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_on_a_read_only_role_answers_searches_and_refuses_control_tools_clearly() {
    let sb = Sandbox::new();
    let (url, repo) = tokio::task::block_in_place(|| indexed_shop(&sb, "read_only_role"));
    // A role that may connect and read the index's tables, nothing more.
    let reader = tokio::task::block_in_place(|| {
        let plain = url.replacen(&format!(":{PASSWORD}@"), "@", 1);
        let mut client = postgres::Client::connect(&plain, postgres::NoTls).expect("test db");
        client
            .batch_execute(
                "DO $$ BEGIN CREATE ROLE codeintel_reader LOGIN;
                 EXCEPTION WHEN duplicate_object THEN NULL; END $$;
                 GRANT CONNECT ON DATABASE read_only_role TO codeintel_reader;
                 GRANT USAGE ON SCHEMA public TO codeintel_reader;
                 GRANT SELECT ON ALL TABLES IN SCHEMA public TO codeintel_reader;",
            )
            .expect("reader role");
        let (scheme, rest) = plain.split_once("://").unwrap();
        let (_, host) = rest.split_once('@').unwrap();
        format!("{scheme}://codeintel_reader@{host}")
    });
    let client = serve_on(
        &sb,
        &reader,
        "reader-data",
        &[("AUTO_SYNC_PATHS", sb.tree().as_os_str())],
    )
    .await;
    let found = call(
        &client,
        "search_code",
        serde_json::json!({ "query": "discount" }),
    )
    .await;
    assert_ne!(found.is_error, Some(true), "{found:?}");
    let found = found.structured_content.expect("structured content");
    assert_eq!(found["results"][0]["path"], "shop/prices.py", "{found}");
    let refs = call(
        &client,
        "find_references",
        serde_json::json!({ "name": "tax" }),
    )
    .await;
    assert_ne!(refs.is_error, Some(true), "{refs:?}");
    let page = call(
        &client,
        "get_file",
        serde_json::json!({ "repository": "shop", "path": "shop/prices.py" }),
    )
    .await;
    assert_ne!(page.is_error, Some(true), "{page:?}");
    for (tool, args) in [
        (
            "index_repository",
            serde_json::json!({ "path": repo.to_str().unwrap() }),
        ),
        (
            "remove_repository",
            serde_json::json!({ "repository": "shop" }),
        ),
        ("pause_auto_sync", serde_json::json!({})),
        ("trigger_repository_scan", serde_json::json!({})),
    ] {
        let refused = call(&client, tool, args).await;
        assert_eq!(refused.is_error, Some(true), "{tool}: {refused:?}");
        let text = format!("{:?}", refused.content);
        assert!(text.contains("needs write access"), "{tool}: {text}");
        assert!(!text.contains(PASSWORD), "{text}");
    }
    client.cancel().await.expect("close");
    // Nothing was removed or changed.
    let repos = json(&run(&sb, Some(&url), &["repos", "--json"]));
    assert_eq!(repos[0]["files"], 2, "{repos}");
}

/// A private cluster of one test's own (it is restarted), stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn script() -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/setup-postgres.sh")
    }

    fn control(&self, action: &str) -> String {
        let out = std::process::Command::new("bash")
            .arg(Self::script())
            .arg(action)
            .arg(self.dir.path())
            .output()
            .expect("setup-postgres.sh");
        assert!(out.status.success(), "{action}: {}", stderr(&out));
        stdout(&out)
            .trim()
            .lines()
            .last()
            .unwrap_or_default()
            .to_string()
    }

    fn start() -> (Cluster, String) {
        let cluster = Cluster {
            dir: tempfile::tempdir().expect("cluster dir"),
        };
        let admin = cluster.control("start");
        (cluster, admin)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = std::process::Command::new("bash")
            .arg(Self::script())
            .arg("stop")
            .arg(self.dir.path())
            .output();
    }
}

/// The database stays down well past what the failed sync waits for it (the pool gives up on
/// a connection after 5 s), so the sync's outcome cannot be recorded when it ends: it must be
/// once the database is back, and the sync retried, with no scan to come by and find the
/// repository again (this stalled the daemon once); the lease its sync could not delete must
/// not hold it up either.
#[test]
fn postgresql_restarting_mid_sync_is_retried_and_the_sync_completes() {
    let sb = Sandbox::new();
    python_repo(&sb, "big", 1500);
    let (cluster, admin) = Cluster::start();
    let url = database_on(&admin, "restarted");
    let plain = url.replacen(&format!(":{PASSWORD}@"), "@", 1);
    let log = sb.root().join("a.log");
    let data = sb.root().join("data-a");
    let a = sb.start_daemon_logged(
        &[
            ("CODEINTEL_STORE", &url),
            ("CODEINTEL_DATA_DIR", data.to_str().unwrap()),
            ("AUTO_SYNC_MAX_CONCURRENT", "1"),
            ("AUTO_SYNC_SCAN_INTERVAL", "3600"),
        ],
        &log,
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while query_i64(&plain, "SELECT count(*) FROM files") == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no batch committed in 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    cluster.control("stop");
    std::thread::sleep(std::time::Duration::from_secs(30));
    cluster.control("start");
    let committed = query_i64(&plain, "SELECT count(*) FROM files");
    assert!(committed < 1500, "the sync finished before the restart");
    // Recorded within seconds of the restart, retried 10 s later: done well within 120 s.
    wait_all_synced(&sb, &plain, 1, 120, &["a"]);
    drop(a);
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    // Said as the sync ends, whether its outcome could be recorded then or not (a newer sync
    // may replace it before the database is back), and said alike for a lost connection and
    // for a pool that cannot connect.
    let said = log
        .lines()
        .any(|l| l.contains("sync failed") && l.contains("unreachable"));
    assert!(said, "the failure was seen: {log}");
    assert_eq!(query_i64(&plain, "SELECT count(*) FROM files"), 1500);
    let clean = database_on(&admin, "restarted_clean");
    let path = sb.tree().join("big");
    let out = run(&sb, Some(&clean), &["index", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(repo_counts(&sb, &url), repo_counts(&sb, &clean));
}
