//! The MCP server through real clients: rmcp over stdio (a child process) and streamable HTTP,
//! the official Python SDK, and concurrent HTTP clients while a sync runs.

mod common;

use common::{provider, Sandbox};
use rmcp::model::{CallToolRequestParams, CallToolResult};
use rmcp::service::RunningService;
use rmcp::transport::{ConfigureCommandExt, StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

type Client = RunningService<RoleClient, ()>;

fn tree_with_repo(sb: &Sandbox) {
    sb.mkdir("proj/.git");
    sb.write(
        "proj/src/billing.py",
        "def compute_invoice_total(items):\n    \"\"\"Sum the invoice.\"\"\"\n    return sum(items)\n",
    );
    sb.write(
        "proj/src/shipping.py",
        "class Courier:\n    def schedule_pickup(self):\n        pass\n",
    );
    sb.write("proj/src/__init__.py", "\"\"\"The proj package.\"\"\"\n");
    sb.write("proj/README.md", "# proj\nBilling and shipping.\n");
    sb.write("outside.txt", "not in any repository\n");
    sb.mkdir("loose");
    sb.write("loose/only.py", "def lonely_function():\n    pass\n");
}

fn server_env(sb: &Sandbox, cmd: &mut tokio::process::Command) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", sb.root().join("home"))
        .env("CODEINTEL_DATA_DIR", sb.root().join("data"))
        .env("CODEINTEL_ENV_FILE", sb.root().join("codeintel.env"))
        .env("AUTO_SYNC_PATHS", sb.tree())
        .env("AUTO_SYNC_SCAN_INTERVAL", "1")
        .env("AUTO_SYNC_INTERVAL", "1")
        .env("CODEINTEL_EMBED_PROVIDER", "none")
        .stderr(Stdio::null());
}

async fn stdio_client(sb: &Sandbox) -> Client {
    stdio_client_with(sb, &[]).await
}

async fn stdio_client_with(sb: &Sandbox, extra: &[(&str, &str)]) -> Client {
    let cmd = tokio::process::Command::new(common::bin()).configure(|c| {
        c.arg("serve");
        server_env(sb, c);
        c.envs(extra.iter().copied());
    });
    ().serve(TokioChildProcess::new(cmd).expect("spawn server"))
        .await
        .expect("handshake")
}

async fn call(client: &Client, tool: &str, args: Value) -> CallToolResult {
    let args = args.as_object().cloned().unwrap_or_default();
    client
        .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
        .await
        .unwrap_or_else(|e| panic!("{tool}: transport error {e}"))
}

/// The structured result of a successful call.
async fn ok(client: &Client, tool: &str, args: Value) -> Value {
    let result = call(client, tool, args.clone()).await;
    assert_ne!(
        result.is_error,
        Some(true),
        "{tool} {args} failed: {result:?}"
    );
    let value = result
        .structured_content
        .clone()
        .expect("structured content");
    // The text content carries the same JSON.
    let text = result.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default();
    assert_eq!(
        serde_json::from_str::<Value>(&text).ok(),
        Some(value.clone())
    );
    value
}

/// The error message of a call that must fail as a tool error.
async fn err(client: &Client, tool: &str, args: Value) -> String {
    let result = call(client, tool, args.clone()).await;
    assert_eq!(
        result.is_error,
        Some(true),
        "{tool} {args} should fail: {result:?}"
    );
    result.content[0]
        .as_text()
        .map(|t| t.text.clone())
        .unwrap_or_default()
}

async fn wait_indexed(client: &Client, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let found = ok(client, "search_code", json!({ "query": query })).await;
        if found["count"].as_u64().unwrap_or(0) > 0 {
            return found;
        }
        assert!(Instant::now() < deadline, "{query} never indexed");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stdio_tools_with_good_and_bad_arguments() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let client = stdio_client(&sb).await;
    let tools = client.list_all_tools().await.expect("list tools");
    let mut names: Vec<String> = tools.iter().map(|t| t.name.to_string()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "configure_auto_sync",
            "find_references",
            "find_symbol",
            "get_auto_sync_status",
            "get_call_graph",
            "get_file",
            "get_repository_status",
            "index_repository",
            "list_repositories",
            "pause_auto_sync",
            "remove_repository",
            "resume_auto_sync",
            "search_code",
            "trigger_repository_scan"
        ]
    );
    for tool in &tools {
        assert!(
            tool.description.as_ref().is_some_and(|d| d.len() > 20),
            "{}",
            tool.name
        );
        assert_eq!(
            tool.input_schema.get("type"),
            Some(&json!("object")),
            "{}",
            tool.name
        );
    }
    let search_schema = &tools
        .iter()
        .find(|t| t.name == "search_code")
        .unwrap()
        .input_schema;
    assert_eq!(search_schema["required"], json!(["query"]));

    // search_code, against what the store holds.
    let found = wait_indexed(&client, "invoice total").await;
    let top = &found["results"][0];
    assert_eq!(top["symbol"], "compute_invoice_total");
    assert_eq!(top["path"], "src/billing.py");
    assert_eq!(top["repository"], "proj");
    assert_eq!(
        ok(
            &client,
            "search_code",
            json!({"query": "sum(items)", "mode": "exact"})
        )
        .await["count"],
        1
    );
    let limited = ok(&client, "search_code", json!({"query": "def", "limit": 1})).await;
    assert_eq!(limited["results"].as_array().unwrap().len(), 1);
    for bad in [
        json!({"query": ""}),
        json!({"query": "x", "limit": 0}),
        json!({"query": "x", "limit": -3}),
        json!({"query": "x", "limit": 100000}),
        json!({"query": "x", "mode": "telepathy"}),
        json!({"query": "x", "repository": "nope"}),
        json!({"query": "(", "mode": "regex"}),
        json!({"query": "x", "path": "a[b"}),
    ] {
        err(&client, "search_code", bad).await;
    }
    // Navigation: an unknown name is an empty answer with a note; bad arguments are errors.
    let unknown = ok(&client, "find_references", json!({"name": "no_such_name"})).await;
    assert_eq!(
        (unknown["total"].clone(), unknown["note"].is_string()),
        (json!(0), true)
    );
    let graph = ok(
        &client,
        "get_call_graph",
        json!({"name": "no_such_name", "direction": "callers"}),
    )
    .await;
    assert_eq!(graph["calls"], json!([]));
    for (tool, bad) in [
        (
            "find_references",
            json!({"name": "compute_invoice_total", "limit": 0}),
        ),
        (
            "find_references",
            json!({"name": "compute_invoice_total", "limit": 1001}),
        ),
        (
            "find_references",
            json!({"name": "compute_invoice_total", "kind": "calls"}),
        ),
        (
            "find_references",
            json!({"name": "compute_invoice_total", "line": 1}),
        ),
        ("find_references", json!({"name": ""})),
        (
            "find_references",
            json!({"name": "compute_invoice_total", "repository": "proj", "path": "src/billing.py", "line": 9}),
        ),
        (
            "find_references",
            json!({"name": "x", "path": "/etc/passwd"}),
        ),
        (
            "get_call_graph",
            json!({"name": "compute_invoice_total", "direction": "up"}),
        ),
        (
            "get_call_graph",
            json!({"name": "compute_invoice_total", "direction": "callers", "depth": 6}),
        ),
    ] {
        err(&client, tool, bad).await;
    }
    // Missing and wrongly typed arguments are errors too, and the server keeps serving.
    for bad in [
        json!({}),
        json!({"query": 5}),
        json!({"query": "x", "limit": "ten"}),
    ] {
        let result = client
            .call_tool(
                CallToolRequestParams::new("search_code")
                    .with_arguments(bad.as_object().cloned().unwrap()),
            )
            .await;
        assert!(result.is_err() || result.unwrap().is_error == Some(true));
    }
    assert!(client
        .call_tool(CallToolRequestParams::new("no_such_tool"))
        .await
        .is_err());

    // find_symbol.
    let sym = ok(&client, "find_symbol", json!({"name": "schedule_pickup"})).await;
    assert_eq!(sym["results"][0]["kind"], "method");
    assert_eq!(sym["results"][0]["path"], "src/shipping.py");
    assert_eq!(
        ok(
            &client,
            "find_symbol",
            json!({"name": "Courier", "kind": "function"})
        )
        .await["count"],
        0
    );
    err(&client, "find_symbol", json!({"name": "  "})).await;

    // get_file: inside repositories only, after resolving `..` and symlinks.
    let page = ok(
        &client,
        "get_file",
        json!({"path": "src/billing.py", "repository": "proj", "start_line": 2, "end_line": 3}),
    )
    .await;
    assert_eq!(
        page["content"],
        "    \"\"\"Sum the invoice.\"\"\"\n    return sum(items)\n"
    );
    assert_eq!(
        (
            page["start_line"].clone(),
            page["end_line"].clone(),
            page["total_lines"].clone()
        ),
        (json!(2), json!(3), json!(3))
    );
    let abs = sb.tree().join("proj/README.md");
    assert!(
        ok(&client, "get_file", json!({"path": abs})).await["content"]
            .as_str()
            .unwrap()
            .starts_with("# proj")
    );
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        sb.tree().join("outside.txt"),
        sb.tree().join("proj/escape.txt"),
    )
    .unwrap();
    for bad in [
        json!({"path": "../outside.txt", "repository": "proj"}),
        json!({"path": "../../../../../../etc/passwd", "repository": "proj"}),
        json!({"path": "/etc/passwd"}),
        json!({"path": "escape.txt", "repository": "proj"}),
        json!({"path": "src/missing.py", "repository": "proj"}),
        json!({"path": "src/billing.py"}),
        json!({"path": "src/billing.py", "repository": "proj", "start_line": 0}),
        json!({"path": "src/billing.py", "repository": "proj", "start_line": 3, "end_line": 1}),
    ] {
        let message = err(&client, "get_file", bad.clone()).await;
        assert!(
            !message.contains("not in any repository"),
            "{bad}: leaked content: {message}"
        );
    }

    // Repositories and status.
    let repos = ok(&client, "list_repositories", json!({})).await;
    assert_eq!(repos["count"], 1);
    let before = repos.clone();
    let status = ok(
        &client,
        "get_repository_status",
        json!({"repository": "proj"}),
    )
    .await;
    assert_eq!(status["name"], "proj");
    assert_eq!(status["files"], 4);
    err(
        &client,
        "get_repository_status",
        json!({"repository": "ghost"}),
    )
    .await;

    // index_repository: a folder below min_files, inside the scan path.
    let loose = sb.tree().join("loose");
    let result = ok(
        &client,
        "index_repository",
        json!({"path": loose, "name": "loose-one"}),
    )
    .await;
    assert_eq!(result["files_added"], 1);
    assert_eq!(
        ok(
            &client,
            "search_code",
            json!({"query": "lonely_function", "repository": "loose-one"})
        )
        .await["count"],
        1
    );
    for bad in [
        json!({"path": "/etc"}),
        json!({"path": sb.root().join("nope")}),
        json!({"path": "relative/dir"}),
        json!({"path": sb.tree().join("outside.txt")}),
    ] {
        err(&client, "index_repository", bad).await;
    }

    // configure_auto_sync validates, persists and reports.
    let configured = ok(
        &client,
        "configure_auto_sync",
        json!({"max_concurrent": 2, "priority_languages": ["rust", "go"]}),
    )
    .await;
    assert_eq!(configured["config"]["max_concurrent"], 2);
    assert_eq!(
        configured["config"]["priority_languages"],
        json!(["rust", "go"])
    );
    for bad in [
        json!({"scan_paths": [sb.root().join("does-not-exist")]}),
        json!({"scan_paths": ["relative"]}),
        json!({"scan_interval": 0}),
        json!({"max_concurrent": -1}),
        json!({"priority_languages": ["cobol"]}),
        json!({}),
    ] {
        err(&client, "configure_auto_sync", bad).await;
    }
    let status = ok(&client, "get_auto_sync_status", json!({})).await;
    assert_eq!(status["config"]["max_concurrent"], 2);
    assert_eq!(
        status["config"]["scan_interval"], 1,
        "a failed configure must not change anything"
    );

    // Control tools.
    assert_eq!(
        ok(&client, "pause_auto_sync", json!({})).await["paused"],
        true
    );
    assert_eq!(
        ok(&client, "get_auto_sync_status", json!({})).await["paused"],
        true
    );
    assert_eq!(
        ok(&client, "resume_auto_sync", json!({})).await["paused"],
        false
    );
    let counts = ok(&client, "trigger_repository_scan", json!({})).await;
    for key in ["queued", "active", "synced"] {
        assert!(counts[key].is_u64(), "{key} in {counts}");
    }
    // None of the failed calls changed the store.
    let after = ok(&client, "list_repositories", json!({})).await;
    assert_eq!(after["count"], 2, "proj and the indexed loose folder");
    assert!(after["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["name"] == before["repositories"][0]["name"]));
    client.cancel().await.ok();
}

/// A `codeintel serve --http` process, killed on drop.
struct HttpServer {
    child: Child,
    url: String,
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_http(sb: &Sandbox, extra: &[&str]) -> HttpServer {
    start_http_at(sb, "127.0.0.1:0", extra)
}

fn start_http_at(sb: &Sandbox, addr: &str, extra: &[&str]) -> HttpServer {
    let data = sb.root().join("data");
    let _ = std::fs::remove_file(data.join("server.json"));
    let mut child = sb
        .cmd()
        .env("AUTO_SYNC_PATHS", sb.tree())
        .args(["serve", "--http", addr])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn http server");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(data.join("server.json")) {
            let info: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if info["pid"] == child.id() {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(data.join("server.json"))
                        .unwrap()
                        .permissions()
                        .mode();
                    assert_eq!(mode & 0o777, 0o600, "server.json must be private");
                }
                return HttpServer {
                    url: info["url"].as_str().unwrap().to_string(),
                    child,
                };
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "http server exited");
        assert!(Instant::now() < deadline, "no server.json");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A raw HTTP POST to the server, for checks a client library would not let us make.
fn raw_post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    let rest = url.trim_start_matches("http://");
    let (authority, path) = rest.split_once('/').unwrap();
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "POST /{path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_transport_guards_and_tools() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let server = start_http(&sb, &[]);

    assert_eq!(
        raw_post(
            &server.url,
            &[("Origin", "http://evil.example")],
            INIT.as_bytes()
        ),
        403
    );
    assert_eq!(
        raw_post(
            &server.url,
            &[("Origin", "http://localhost:3000")],
            INIT.as_bytes()
        ),
        200
    );
    assert_eq!(raw_post(&server.url, &[], INIT.as_bytes()), 200);
    let huge = vec![b' '; 2 << 20];
    assert_eq!(raw_post(&server.url, &[], &huge), 413);
    let malformed = raw_post(&server.url, &[], b"{not json");
    assert!(
        (400..500).contains(&malformed),
        "malformed JSON-RPC answered {malformed}"
    );

    let client =
        ().serve(StreamableHttpClientTransport::from_uri(server.url.clone()))
            .await
            .expect("http handshake");
    assert_eq!(client.list_all_tools().await.unwrap().len(), 14);
    let found = wait_indexed(&client, "compute_invoice_total").await;
    assert_eq!(found["results"][0]["path"], "src/billing.py");
    err(&client, "get_file", json!({"path": "/etc/passwd"})).await;
    client.cancel().await.ok();
    drop(server);

    // With a token, every request must carry it.
    let server = start_http(&sb, &["--token", "s3cret-token"]);
    let info: Value =
        serde_json::from_str(&std::fs::read_to_string(sb.root().join("data/server.json")).unwrap())
            .unwrap();
    assert_eq!(info["token"], "s3cret-token");
    assert_eq!(raw_post(&server.url, &[], INIT.as_bytes()), 401);
    assert_eq!(
        raw_post(
            &server.url,
            &[("Authorization", "Bearer wrong")],
            INIT.as_bytes()
        ),
        401
    );
    assert_eq!(
        raw_post(
            &server.url,
            &[("Authorization", "Bearer s3cret-token")],
            INIT.as_bytes()
        ),
        200
    );
}

#[test]
fn a_remote_bind_needs_allow_remote_and_a_token() {
    let sb = Sandbox::new();
    for args in [
        vec!["serve", "--http", "0.0.0.0:0"],
        vec!["serve", "--http", "0.0.0.0:0", "--allow-remote"],
        vec!["serve", "--http", "0.0.0.0:0", "--token", "t"],
        vec!["serve", "--http", "not-an-address"],
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(common::stderr(&out).starts_with("error: "), "{args:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_http_clients_search_while_a_sync_runs() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    // A repository big enough that its sync is still running while the clients search.
    for i in 0..1500 {
        let body: String = (0..8)
            .map(|j| format!("def big_fn_{i}_{j}(x):\n    return x * {j}\n\n"))
            .collect();
        sb.write(&format!("big/mod{}/f{i}.py", i % 30), &body);
    }
    sb.mkdir("big/.git");
    let server = start_http(&sb, &[]);
    let client =
        ().serve(StreamableHttpClientTransport::from_uri(server.url.clone()))
            .await
            .unwrap();
    wait_indexed(&client, "compute_invoice_total").await;
    client.cancel().await.ok();

    let mut tasks = Vec::new();
    for c in 0..20 {
        let url = server.url.clone();
        tasks.push(tokio::spawn(async move {
            let client =
                ().serve(StreamableHttpClientTransport::from_uri(url))
                    .await
                    .expect("handshake");
            for i in 0..100 {
                let query = if i % 2 == 0 {
                    "compute invoice total".to_string()
                } else {
                    format!("big_fn_{}_{}", c * 50 + i, i % 8)
                };
                let result =
                    call(&client, "search_code", json!({"query": query, "limit": 5})).await;
                assert_ne!(
                    result.is_error,
                    Some(true),
                    "client {c} call {i}: {result:?}"
                );
            }
            client.cancel().await.ok();
        }));
    }
    for task in tasks {
        task.await.expect("client task");
    }
}

#[test]
fn official_python_sdk_interoperates_over_both_transports() {
    let Some(python) = std::env::var_os("CODEINTEL_TEST_PYTHON") else {
        panic!("CODEINTEL_TEST_PYTHON is not set: run the suite with `bash scripts/test.sh`, which installs the Python MCP SDK");
    };
    let sb = Sandbox::new();
    sb.mkdir("interop/.git");
    sb.write(
        "interop/a.py",
        "def interop_marker_function():\n    return 42\n",
    );
    // b.py uses the marker: an import and a call, for find_references and get_call_graph.
    sb.write(
        "interop/b.py",
        "from a import interop_marker_function\n\n\ndef helper_b():\n    return interop_marker_function()\n",
    );
    sb.write("interop/c.py", "def helper_c():\n    pass\n");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/mcp_interop.py");
    let out = Command::new(python)
        .arg(script)
        .arg(common::bin())
        .arg(sb.tree())
        .arg(sb.root().join("data"))
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "python client failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("stdio: ok") && stdout.contains("http: ok"),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_code_picks_up_an_embedding_provider_that_comes_up_later() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let url = provider::dead_url();
    let env = provider::provider_env("openai", &url);
    let client = stdio_client_with(&sb, &env).await;
    // Provider down: lexical search works, semantic search says why it cannot.
    wait_indexed(&client, "compute_invoice_total").await;
    let error = err(
        &client,
        "search_code",
        json!({ "query": "invoice", "mode": "semantic" }),
    )
    .await;
    assert!(error.contains(&url), "{error}");

    // The provider comes up where it was configured; the server retries it on its own.
    let addr = url.trim_start_matches("http://");
    let listener = std::net::TcpListener::bind(addr).expect("rebind the provider's port");
    let _provider = provider::fake_provider_on(listener, false);
    let deadline = Instant::now() + Duration::from_secs(90);
    let args = json!({ "query": "invoice total", "mode": "semantic" });
    let found = loop {
        let result = call(&client, "search_code", args.clone()).await;
        if result.is_error != Some(true) {
            break result.structured_content.expect("structured content");
        }
        assert!(Instant::now() < deadline, "semantic search never came back");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(found["results"][0]["path"], "src/billing.py", "{found:#}");
    client.cancel().await.expect("close");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_http_server_keeps_answering_its_clients() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let first = start_http(&sb, &[]);
    let addr = first
        .url
        .trim_start_matches("http://")
        .trim_end_matches("/mcp")
        .to_string();
    let client =
        ().serve(StreamableHttpClientTransport::from_uri(first.url.clone()))
            .await
            .expect("http handshake");
    wait_indexed(&client, "compute_invoice_total").await;
    drop(first);
    let _second = start_http_at(&sb, &addr, &[]);
    // The same client, no new handshake: a stateless server has no session to lose.
    let found = ok(
        &client,
        "search_code",
        json!({"query": "compute_invoice_total"}),
    )
    .await;
    assert_eq!(found["results"][0]["path"], "src/billing.py");
    client.cancel().await.ok();
}

/// Every tool says what it is and whether it changes anything, declares the shape of its
/// result, and takes optional arguments as plain optional properties.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tools_carry_titles_annotations_and_output_schemas() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let client = stdio_client(&sb).await;
    let tools = client.list_all_tools().await.expect("list tools");
    let read_only = [
        "search_code",
        "find_symbol",
        "get_file",
        "list_repositories",
        "get_repository_status",
        "get_auto_sync_status",
        "find_references",
        "get_call_graph",
    ];
    for tool in &tools {
        let name = tool.name.as_ref();
        assert!(tool.title.as_ref().is_some_and(|t| !t.is_empty()), "{name}");
        let notes = tool.annotations.as_ref().expect("annotations");
        assert_eq!(
            notes.read_only_hint,
            Some(read_only.contains(&name)),
            "{name}"
        );
        assert_eq!(
            notes.destructive_hint.unwrap_or(false),
            name == "remove_repository",
            "{name}"
        );
        let output = tool.output_schema.as_ref().expect("output schema");
        assert_eq!(output.get("type"), Some(&json!("object")), "{name}");
        let input = serde_json::to_string(&tool.input_schema).unwrap();
        assert!(!input.contains("null"), "{name}: {input}");
    }
    client.cancel().await.ok();
}

/// What an assistant gives is understood or refused with the valid choices, never answered
/// with a silent empty result; answers stay small enough to read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aliases_folders_pages_and_caps() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    // Many chunks that all match one word, for the size cap.
    for i in 0..60 {
        let body: String = (0..12)
            .map(|j| {
                format!(
                    "def ledger_entry_{i}_{j}(x):\n    \"\"\"ledger {}\"\"\"\n    return x\n\n",
                    "words ".repeat(30)
                )
            })
            .collect();
        sb.write(&format!("proj/src/ledger/l{i}.py"), &body);
    }
    let long_line = format!("DATA = \"{}\"\n", "abcdéfgh".repeat(6000));
    let data_file = sb.write("proj/src/data.py", &format!("x = 1\n{long_line}y = 2\n"));
    let client = stdio_client(&sb).await;
    wait_indexed(&client, "compute_invoice_total").await;
    wait_indexed(&client, "ledger_entry_59_11").await;

    // Languages by alias, an unknown one refused with the list.
    for lang in ["py", "Python", "python3"] {
        let found = ok(
            &client,
            "search_code",
            json!({"query": "compute_invoice_total", "language": lang}),
        )
        .await;
        assert_eq!(found["count"], 1, "{lang}");
    }
    let message = err(
        &client,
        "search_code",
        json!({"query": "x", "language": "klingon"}),
    )
    .await;
    assert!(
        message.contains("python") && message.contains("rust"),
        "{message}"
    );
    // A folder as the path filter, however it is written.
    for path in ["src", "/src", "src/", "src/billing.py"] {
        let found = ok(
            &client,
            "search_code",
            json!({"query": "compute_invoice_total", "path": path}),
        )
        .await;
        assert_eq!(found["count"], 1, "{path}");
    }
    let none = ok(
        &client,
        "search_code",
        json!({"query": "compute_invoice_total", "path": "sr"}),
    )
    .await;
    assert_eq!(none["count"], 0, "a folder prefix is not a folder");
    // Kinds in any case and by alias.
    for kind in ["def", "Function", "fn"] {
        let found = ok(
            &client,
            "find_symbol",
            json!({"name": "compute_invoice_total", "kind": kind}),
        )
        .await;
        assert_eq!(found["count"], 1, "{kind}");
    }
    let class = ok(
        &client,
        "find_symbol",
        json!({"name": "Courier", "kind": "Class"}),
    )
    .await;
    assert_eq!(class["results"][0]["kind"], "class");
    let message = err(
        &client,
        "find_symbol",
        json!({"name": "x", "kind": "gizmo"}),
    )
    .await;
    assert!(
        message.contains("function") && message.contains("class"),
        "{message}"
    );

    // A big answer is capped, with a note saying what was cut.
    let big = call(
        &client,
        "search_code",
        json!({"query": "ledger words", "limit": 100}),
    )
    .await;
    let text = big.content[0].as_text().unwrap().text.clone();
    assert!(text.len() <= 21_000, "{} characters", text.len());
    let big: Value = serde_json::from_str(&text).unwrap();
    assert!(
        big["note"].as_str().unwrap_or("").contains("capped"),
        "{big}"
    );
    assert!(big["count"].as_u64().unwrap() >= 10);

    // A line longer than a page is read in pieces, always forward, and nothing is lost.
    let path = data_file.to_str().unwrap();
    let mut at = (1u64, 1u64);
    let mut content = String::new();
    for page in 0.. {
        assert!(page < 50, "get_file does not move forward");
        let got = ok(
            &client,
            "get_file",
            json!({"path": path, "start_line": at.0, "start_column": at.1}),
        )
        .await;
        assert!(got["content"].as_str().unwrap().len() <= 21_000 * 2);
        content.push_str(got["content"].as_str().unwrap());
        match got.get("next") {
            Some(next) => {
                let next = (
                    next["start_line"].as_u64().unwrap(),
                    next["start_column"].as_u64().unwrap(),
                );
                assert!(next > at, "{next:?} after {at:?}");
                at = next;
            }
            None => break,
        }
    }
    assert_eq!(content, std::fs::read_to_string(&data_file).unwrap());
    client.cancel().await.ok();
}

/// A subfolder of an indexed repository is that repository; removing one drops it and keeps
/// auto-sync from bringing it back, until it is indexed by hand.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overlapping_folders_and_removed_repositories() {
    let sb = Sandbox::new();
    tree_with_repo(&sb);
    let client = stdio_client(&sb).await;
    wait_indexed(&client, "compute_invoice_total").await;
    let sub = sb.tree().join("proj/src");
    let synced = ok(
        &client,
        "index_repository",
        json!({"path": sub.to_str().unwrap()}),
    )
    .await;
    assert_eq!(synced["repository"], "proj");
    assert!(
        synced["note"].as_str().unwrap().contains("inside"),
        "{synced}"
    );
    let listed = ok(&client, "list_repositories", json!({})).await;
    assert_eq!(listed["count"], 1, "{listed}");
    let found = ok(
        &client,
        "search_code",
        json!({"query": "compute_invoice_total"}),
    )
    .await;
    assert_eq!(found["count"], 1, "no hit twice: {found}");

    let removed = ok(&client, "remove_repository", json!({"repository": "proj"})).await;
    assert_eq!(removed["repository"], "proj");
    assert!(removed["files"].as_u64().unwrap() >= 3, "{removed}");
    let gone = ok(
        &client,
        "search_code",
        json!({"query": "compute_invoice_total"}),
    )
    .await;
    assert_eq!(gone["count"], 0);
    ok(&client, "trigger_repository_scan", json!({})).await;
    // Scans run every second here: give a few the chance to bring it back.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let status = ok(&client, "get_auto_sync_status", json!({})).await;
    assert!(
        status["repositories"].as_array().unwrap().is_empty(),
        "{status:#}"
    );
    let proj = sb.tree().join("proj");
    assert_eq!(
        status["config"]["removed_repositories"],
        json!([proj.to_str().unwrap()])
    );
    err(&client, "remove_repository", json!({"repository": "proj"})).await;
    // Indexing it by hand brings it back, and scans keep it.
    ok(
        &client,
        "index_repository",
        json!({"path": proj.to_str().unwrap()}),
    )
    .await;
    wait_indexed(&client, "compute_invoice_total").await;
    let status = ok(&client, "get_auto_sync_status", json!({})).await;
    assert_eq!(status["config"]["removed_repositories"], json!([]));
    client.cancel().await.ok();
}

/// Every progress notification of `index_repository` leaves before its result, read off the
/// wire of a stdio server (no client library in between to reorder them), and progress grows
/// with each one.
#[test]
fn progress_notifications_precede_the_result_on_the_wire() {
    use std::io::{BufRead, BufReader};
    let sb = Sandbox::new();
    sb.mkdir("big/.git");
    for i in 0..1500 {
        sb.write(
            &format!("big/pkg{}/m{i}.py", i % 15),
            &format!("def function_{i}(x):\n    return x + {i}\n"),
        );
    }
    let mut server = sb
        .cmd()
        .env("AUTO_SYNC_ENABLED", "false")
        .args(["serve"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let mut stdin = server.stdin.take().unwrap();
    let mut lines = BufReader::new(server.stdout.take().unwrap()).lines();
    let mut send = |v: Value| writeln!(stdin, "{v}").expect("write");
    send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "wire", "version": "1"}}}),
    );
    let reply: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(reply["id"], 1, "{reply}");
    send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let path = sb.tree().join("big");
    for (id, full) in [(2, false), (3, true)] {
        send(
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {
            "name": "index_repository",
            "arguments": {"path": path.to_str().unwrap(), "full": full},
            "_meta": {"progressToken": format!("t{id}")}}}),
        );
        let mut seen = Vec::new();
        loop {
            let line = lines.next().expect("a message").expect("read");
            let msg: Value = serde_json::from_str(&line).unwrap();
            if msg["method"] == "notifications/progress" {
                assert_eq!(
                    msg["params"]["progressToken"],
                    format!("t{id}"),
                    "progress for a call that already answered: {msg}"
                );
                seen.push(msg["params"]["progress"].as_f64().unwrap());
            } else if msg["id"] == id {
                assert_ne!(msg["result"]["isError"], true, "{msg}");
                break;
            }
        }
        assert!(!seen.is_empty(), "no progress for call {id}");
        assert!(
            seen.windows(2).all(|w| w[0] < w[1]),
            "progress must grow: {seen:?}"
        );
        assert_eq!(seen.last(), Some(&1500.0), "{seen:?}");
    }
    // Nothing arrives for a finished call: the next message answers a new request.
    send(json!({"jsonrpc": "2.0", "id": 9, "method": "tools/list"}));
    let next: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(next["id"], 9, "{next}");
    drop(stdin);
    let _ = server.kill();
    let _ = server.wait();
}
