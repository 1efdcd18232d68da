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
            "find_symbol",
            "get_auto_sync_status",
            "get_file",
            "get_repository_status",
            "index_repository",
            "list_repositories",
            "pause_auto_sync",
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
    let data = sb.root().join("data");
    let _ = std::fs::remove_file(data.join("server.json"));
    let mut child = sb
        .cmd()
        .env("AUTO_SYNC_PATHS", sb.tree())
        .args(["serve", "--http", "127.0.0.1:0"])
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
    assert_eq!(client.list_all_tools().await.unwrap().len(), 11);
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
    sb.write("interop/b.py", "def helper_b():\n    pass\n");
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
