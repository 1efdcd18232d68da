//! The status page, its JSON API and `/metrics` of a real `codeintel serve --http` over a real
//! tree: in headless Chromium (scripts/setup-chromium.sh), through the Prometheus client's
//! own text parser (scripts/setup-python.sh), and the refusals (foreign Origin and Host, a
//! missing token, state changes by GET or without a JSON body).

mod common;

use common::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `codeintel serve --http` process, killed on drop.
struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(sb: &Sandbox, extra: &[&str]) -> Server {
    start_with(sb, extra, &[])
}

fn start_with(sb: &Sandbox, extra: &[&str], env: &[(&str, &str)]) -> Server {
    let data = sb.root().join("data");
    let _ = std::fs::remove_file(data.join("server.json"));
    let log = std::fs::File::create(sb.root().join("serve.log")).expect("log file");
    let mut cmd = sb.cmd();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .env("AUTO_SYNC_PATHS", sb.tree())
        .args(["serve", "--http", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("spawn codeintel serve --http");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(text) = std::fs::read_to_string(data.join("server.json")) {
            let info: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if info["pid"] == child.id() {
                let url = info["url"].as_str().expect("url").to_string();
                let base = url.trim_end_matches("/mcp").to_string();
                return Server { child, base };
            }
        }
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        assert!(Instant::now() < deadline, "no server.json");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// One HTTP/1.1 request, raw (a client library would add or fix headers the tests set on
/// purpose). Returns the status code and the body.
fn request(
    base: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String) {
    let authority = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(authority).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut text = format!("{method} {path} HTTP/1.1\r\nConnection: close\r\n");
    if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
        text.push_str(&format!("Host: {authority}\r\n"));
    }
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    stream.write_all(text.as_bytes()).expect("send");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).expect("read");
    let raw = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = raw.split_once("\r\n\r\n").expect("a response head");
    let code = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("a status code");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        unchunk(rest)
    } else {
        rest.to_string()
    };
    (code, body)
}

fn unchunk(mut rest: &str) -> String {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

fn get_json(base: &str, path: &str, headers: &[(&str, &str)]) -> Value {
    let (code, body) = request(base, "GET", path, headers, "");
    assert_eq!(code, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path} is not JSON ({e}): {body}"))
}

fn wait_synced(sb: &Sandbox, server: &Server, names: &[&str], headers: &[(&str, &str)]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let status = get_json(&server.base, "/api/status", headers);
        let synced = |name: &str| {
            status["repositories"].as_array().is_some_and(|r| {
                r.iter()
                    .any(|r| r["name"] == name && r["state"] == "synced")
            })
        };
        if names.iter().all(|n| synced(n)) && status["active_syncs"] == 0 {
            return status;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(sb.root().join("serve.log")).unwrap_or_default();
            panic!("repositories not synced: {status:#}\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Two small repositories; `app` defines a function the search must find.
fn tree(sb: &Sandbox) {
    sb.mkdir("app/.git");
    sb.write(
        "app/config.py",
        "def load_status_page_settings(path):\n    \"\"\"Read the settings.\"\"\"\n    return open(path).read()\n",
    );
    sb.code_files("app", "py", 3, 200);
    sb.write("lib/package.json", "{\"name\": \"lib\"}\n");
    sb.code_files("lib", "js", 4, 200);
}

fn env_dir(var: &str, setup: &str) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!("{var} is not set: run the suite with `bash scripts/test.sh`, which installs it ({setup})"),
    }
}

#[test]
fn the_page_shows_repositories_searches_and_pauses_in_a_real_browser() {
    let chromium = env_dir("CODEINTEL_TEST_CHROMIUM", "scripts/setup-chromium.sh");
    let browser_dir = env_dir("CODEINTEL_TEST_BROWSER_DIR", "scripts/setup-chromium.sh");
    let sb = Sandbox::new();
    tree(&sb);
    let server = start(&sb, &[]);
    wait_synced(&sb, &server, &["app", "lib"], &[]);
    let shots = sb.root().join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status_page/status_page.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(format!("{}/", server.base))
        .arg(&shots)
        .arg("load status page settings")
        .arg("app,lib")
        .env("CODEINTEL_TEST_CHROMIUM", &chromium)
        .env("CODEINTEL_TEST_BROWSER_DIR", &browser_dir)
        .output()
        .expect("run node");
    assert!(
        out.status.success(),
        "browser check failed:\n{}\n{}",
        stderr(&out),
        std::fs::read_to_string(sb.root().join("serve.log")).unwrap_or_default()
    );
    let report: Value = serde_json::from_str(stdout(&out).trim()).expect("the script's JSON");
    assert_eq!(report["repos"]["app"], "synced", "{report}");
    assert_eq!(report["repos"]["lib"], "synced", "{report}");
    let hit = report["hit"].as_str().unwrap_or_default();
    assert!(
        hit.starts_with("app/config.py:1-3") && hit.contains("load_status_page_settings"),
        "the first hit is not the function: {hit}"
    );
    assert_eq!(report["state"], "paused");
    assert!(
        report["overflow_px"].as_i64().is_some_and(|px| px <= 0),
        "the page scrolls sideways at phone width: {report}"
    );
    for shot in report["screenshots"].as_array().unwrap() {
        let bytes = std::fs::read(shot.as_str().unwrap()).expect("screenshot");
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 5_000,
            "not a real screenshot"
        );
    }
    // The button went through the store: the API and the CLI (through the server) agree.
    assert_eq!(get_json(&server.base, "/api/status", &[])["paused"], true);
    assert_eq!(status(&sb)["paused"], true);
}

/// `name{labels}` in the parsed exposition.
fn sample(parsed: &Value, family: &str, labels: &[(&str, &str)]) -> f64 {
    let samples = parsed[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family} in /metrics"));
    samples
        .iter()
        .find(|s| {
            let wanted_name = match parsed[family]["type"].as_str() {
                Some("counter") => format!("{family}_total"),
                _ => family.to_string(),
            };
            (s[0] == wanted_name.as_str() || s[0] == family)
                && labels.iter().all(|(k, v)| s[1][*k] == *v)
        })
        .and_then(|s| s[2].as_f64())
        .unwrap_or_else(|| panic!("no sample {family}{labels:?}: {}", parsed[family]))
}

fn histogram_count(parsed: &Value, family: &str, labels: &[(&str, &str)]) -> f64 {
    parsed[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no family {family}"))
        .iter()
        .find(|s| {
            s[0] == format!("{family}_count").as_str() && labels.iter().all(|(k, v)| s[1][*k] == *v)
        })
        .and_then(|s| s[2].as_f64())
        .unwrap_or_else(|| panic!("no {family}_count{labels:?}"))
}

#[test]
fn metrics_parse_as_prometheus_text_and_match_the_status() {
    let python = env_dir("CODEINTEL_TEST_PYTHON", "scripts/setup-python.sh");
    let sb = Sandbox::new();
    tree(&sb);
    let server = start(&sb, &[]);
    wait_synced(&sb, &server, &["app", "lib"], &[]);
    let (code, body) = request(
        &server.base,
        "POST",
        "/api/search",
        &[("Content-Type", "application/json")],
        r#"{"query": "load status page settings", "mode": "lexical"}"#,
    );
    assert_eq!(code, 200, "{body}");
    let found: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(found["results"][0]["path"], "config.py", "{found}");

    // The syncer publishes its counters a tick after it saves a state, so /metrics may lag
    // /api/status for a moment: read both until the finished syncs agree.
    let deadline = Instant::now() + Duration::from_secs(15);
    let (status, parsed) = loop {
        let (status, parsed) = read_metrics_and_status(&server, Path::new(&python));
        let agree = sample(&parsed, "codeintel_syncs", &[("result", "succeeded")])
            == status["metrics"]["syncs_succeeded"]
                .as_f64()
                .unwrap_or(-1.0);
        if agree || Instant::now() > deadline {
            break (status, parsed);
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    for name in parsed.as_object().unwrap().keys() {
        assert!(name.starts_with("codeintel_"), "{name} lacks the prefix");
    }
    let m = &status["metrics"];
    let n = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
    let repos = status["repositories"].as_array().unwrap();
    for state in ["synced", "queued", "syncing", "failed"] {
        let count = repos.iter().filter(|r| r["state"] == state).count() as f64;
        assert_eq!(
            sample(&parsed, "codeintel_repositories", &[("state", state)]),
            count,
            "{state}"
        );
    }
    assert_eq!(
        sample(&parsed, "codeintel_repositories", &[("state", "synced")]),
        2.0
    );
    assert_eq!(
        sample(&parsed, "codeintel_queue_depth", &[]),
        n(&status["queued_repos"])
    );
    assert_eq!(
        sample(&parsed, "codeintel_active_syncs", &[]),
        n(&status["active_syncs"])
    );
    assert_eq!(
        sample(&parsed, "codeintel_syncs", &[("result", "succeeded")]),
        n(&m["syncs_succeeded"])
    );
    assert_eq!(
        sample(&parsed, "codeintel_syncs", &[("result", "failed")]),
        n(&m["syncs_failed"])
    );
    assert_eq!(
        sample(&parsed, "codeintel_files_indexed", &[]),
        n(&m["files_indexed"])
    );
    assert_eq!(
        sample(&parsed, "codeintel_chunks_indexed", &[]),
        n(&m["chunks_indexed"])
    );
    assert_eq!(sample(&parsed, "codeintel_scans", &[]), n(&m["scans"]));
    assert_eq!(
        sample(&parsed, "codeintel_watcher_events", &[]),
        n(&m["watcher_events"])
    );
    let files: f64 = repos.iter().map(|r| n(&r["files"])).sum();
    assert!(files >= 9.0, "{status}");
    let errors: f64 = parsed["codeintel_errors"]["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s[0] == "codeintel_errors_total")
        .map(|s| n(&s[2]))
        .sum();
    assert_eq!(errors, n(&m["errors"]));
    assert_eq!(
        parsed["codeintel_sync_duration_seconds"]["type"],
        "histogram"
    );
    assert_eq!(
        histogram_count(&parsed, "codeintel_sync_duration_seconds", &[]),
        n(&m["syncs_succeeded"])
    );
    assert_eq!(
        histogram_count(
            &parsed,
            "codeintel_search_duration_seconds",
            &[("mode", "lexical")]
        ),
        1.0,
        "the page's search is timed"
    );
    assert!(sample(&parsed, "codeintel_process_resident_memory_bytes", &[]) > 1e6);
    assert!(sample(&parsed, "codeintel_process_cpu_seconds", &[]) > 0.0);
    assert!(sample(&parsed, "codeintel_index_size_bytes", &[]) > 0.0);
    let watched = repos.iter().filter(|r| r["watch"] == "watching").count() as f64;
    assert_eq!(
        sample(&parsed, "codeintel_watched_repositories", &[]),
        watched
    );
    if watched > 0.0 && Path::new("/proc/self/fdinfo").exists() {
        assert!(sample(&parsed, "codeintel_inotify_watches", &[]) >= watched);
    }
    assert_eq!(sample(&parsed, "codeintel_auto_sync_paused", &[]), 0.0);
}

#[test]
fn foreign_origins_missing_tokens_and_state_changing_gets_are_refused() {
    let sb = Sandbox::new();
    tree(&sb);
    let token = "s3cret/token";
    let server = start(&sb, &["--token", token]);
    let bearer = format!("Bearer {token}");
    let auth: &[(&str, &str)] = &[("Authorization", &bearer)];
    wait_synced(&sb, &server, &["app", "lib"], auth);
    let base = &server.base;
    let code = |method: &str, path: &str, headers: &[(&str, &str)], body: &str| {
        request(base, method, path, headers, body).0
    };
    let json_auth = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let paused = || get_json(base, "/api/status", auth)["paused"].clone();

    // No token, or a wrong one: nothing, not even the page.
    for path in ["/", "/metrics", "/api/status", "/api/page"] {
        assert_eq!(code("GET", path, &[], ""), 401, "{path}");
        assert_eq!(
            code("GET", path, &[("Authorization", "Bearer nope")], ""),
            401,
            "{path}"
        );
        assert_eq!(code("GET", path, auth, ""), 200, "{path}");
    }
    // The page's address carries the token (a browser cannot send the header)...
    assert_eq!(code("GET", "/?token=s3cret%2Ftoken", &[], ""), 200);
    assert_eq!(code("GET", "/?token=wrong", &[], ""), 401);
    // ... which nothing else accepts.
    assert_eq!(
        code("GET", "/api/status?token=s3cret%2Ftoken", &[], ""),
        401
    );
    assert_eq!(
        code(
            "POST",
            "/api/pause?token=s3cret%2Ftoken",
            &[("Content-Type", "application/json")],
            "{}"
        ),
        401
    );
    // A foreign Origin or Host (DNS rebinding) is refused whatever the token.
    let foreign = [
        ("Authorization", bearer.as_str()),
        ("Origin", "http://evil.example"),
    ];
    let rebound = [
        ("Authorization", bearer.as_str()),
        ("Host", "evil.example:7437"),
    ];
    for path in ["/", "/metrics", "/api/status"] {
        assert_eq!(code("GET", path, &foreign, ""), 403, "{path}");
        assert_eq!(code("GET", path, &rebound, ""), 403, "{path}");
    }
    let foreign_post = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("Origin", "http://evil.example"),
    ];
    assert_eq!(code("POST", "/api/pause", &foreign_post, "{}"), 403);
    // State changes never by GET, and only with a JSON body (a cross-site form cannot send one).
    for path in ["/api/pause", "/api/resume", "/api/scan", "/api/search"] {
        assert_eq!(code("GET", path, auth, ""), 405, "{path}");
    }
    let form = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/x-www-form-urlencoded"),
    ];
    assert_eq!(code("POST", "/api/pause", &form, "a=b"), 415);
    assert_eq!(
        code("POST", "/api/pause", auth, "{}"),
        415,
        "no Content-Type"
    );
    assert_eq!(code("POST", "/api/pause", &json_auth, "not json"), 400);
    assert_eq!(paused(), false, "a refused request paused auto-sync");
    // The real thing works, from the page's origin too.
    let same_origin = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
        ("Origin", base.as_str()),
    ];
    assert_eq!(code("POST", "/api/pause", &same_origin, "{}"), 200);
    assert_eq!(paused(), true);
    assert_eq!(code("POST", "/api/resume", &json_auth, "{}"), 200);
    assert_eq!(paused(), false);

    // `status --open` prints the page's address with the token, and that address works
    // (no browser here: no DISPLAY in the test's environment, and that is not an error).
    let out = sb.run(&["status", "--open"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let url = stdout(&out).trim().to_string();
    assert_eq!(url, format!("{base}/?token=s3cret%2Ftoken"));
    let path = url.trim_start_matches(base.as_str());
    assert_eq!(code("GET", path, &[], ""), 200);
    let json = sb.run(&["status", "--open", "--json"]);
    assert_eq!(common::json(&json)["url"], url.as_str());
    drop(server);
    let out = sb.run(&["status", "--open"]);
    assert_eq!(out.status.code(), Some(1), "no server: {}", stderr(&out));
    assert!(
        stderr(&out).contains("codeintel serve --http"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn running_syncs_show_their_progress_and_the_queue_its_order() {
    let sb = Sandbox::new();
    sb.mkdir("big/.git");
    sb.code_files("big/src", "py", 4000, 300);
    sb.mkdir("small1/.git");
    sb.code_files("small1", "go", 3, 100);
    sb.mkdir("small2/.git");
    sb.code_files("small2", "rs", 3, 100);
    // One sync at a time, python first: the big one runs while the others wait, held after
    // its first batch (a fast store ended it between two publishes of the activity).
    let server = start_with(
        &sb,
        &[],
        &[
            ("AUTO_SYNC_MAX_CONCURRENT", "1"),
            ("CODEINTEL_TEST_HOLD_SYNC", "big"),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let (mut progress, mut queue) = (None, None);
    while progress.is_none() || queue.is_none() {
        let page = get_json(&server.base, "/api/page", &[]);
        let a = &page["activity"];
        if let Some(sync) = a["syncing"].as_array().and_then(|s| s.first()) {
            let (done, total) = (
                sync["done"].as_u64().unwrap(),
                sync["total"].as_u64().unwrap(),
            );
            if sync["name"] == "big" && total == 4000 && done > 0 && done < total {
                progress = Some(done);
            }
        }
        if a["queue_len"] == 2 && a["syncing"][0]["name"] == "big" {
            queue = Some(a["queue"].clone());
        }
        if page["status"]["repositories"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["name"] == "big" && r["state"] == "synced")
        }) {
            break;
        }
        assert!(Instant::now() < deadline, "no progress seen: {page:#}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        progress.is_some(),
        "the big sync finished before any progress was published"
    );
    let queue = queue.expect("the queue while big synced");
    let mut names: Vec<&str> = queue
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["small1", "small2"], "{queue}");
    // Done: nothing runs, nothing waits.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let a = get_json(&server.base, "/api/page", &[])["activity"].clone();
        if a["syncing"].as_array().is_some_and(|s| s.is_empty()) && a["queue_len"] == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "still busy: {a:#}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn failed_syncs_are_listed_with_their_time_and_counted_by_kind() {
    let sb = Sandbox::new();
    tree(&sb);
    let server = start_with(&sb, &[], &[("CODEINTEL_TEST_FAIL_REPOS", "lib")]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let page = loop {
        let page = get_json(&server.base, "/api/page", &[]);
        let failed = page["status"]["repositories"].as_array().is_some_and(|r| {
            r.iter()
                .any(|r| r["name"] == "lib" && r["state"] == "failed")
        });
        if failed && !page["activity"]["errors"].as_array().unwrap().is_empty() {
            break page;
        }
        assert!(Instant::now() < deadline, "lib did not fail: {page:#}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let error = &page["activity"]["errors"][0];
    assert_eq!(error["kind"], "sync", "{error}");
    assert_eq!(error["repository"], "lib", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("injected failure"),
        "{error}"
    );
    assert!(error["time"].as_str().unwrap().ends_with('Z'), "{error}");
    let (_, text) = request(&server.base, "GET", "/metrics", &[], "");
    let value = |line_start: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(line_start))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no `{line_start}` in\n{text}"))
    };
    assert!(value("codeintel_errors_total{kind=\"sync\"}") >= 1.0);
    assert_eq!(value("codeintel_repositories{state=\"failed\"}"), 1.0);
    assert!(value("codeintel_syncs_total{result=\"failed\"}") >= 1.0);
}

/// `/api/status` and `/metrics` as the Prometheus parser reads it, one after the other.
fn read_metrics_and_status(server: &Server, python: &Path) -> (Value, Value) {
    let (code, text) = request(&server.base, "GET", "/metrics", &[], "");
    assert_eq!(code, 200, "{text}");
    let status = get_json(&server.base, "/api/status", &[]);
    let mut parser = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status_page/parse_metrics.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    parser
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = parser.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser refused /metrics: {}\n{text}",
        stderr(&out)
    );
    let parsed: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    (status, parsed)
}
