//! The newcomer's path and the control commands: env-file editing, configuration precedence,
//! the auto-sync commands with and without a running server, and a server that misbehaves.

mod common;

use common::{json, stderr, stdout, Sandbox};
use serde_json::Value;
use std::fs;
use std::io::{Read, Write};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

fn env_path(sb: &Sandbox) -> std::path::PathBuf {
    sb.root().join("codeintel.env")
}

#[test]
fn auto_sync_config_edits_the_env_file_in_place() {
    let sb = Sandbox::new();
    let a = sb.mkdir("a");
    let b = sb.mkdir("b with space");
    let original = "# codeintel settings\n\nAUTO_SYNC_PATHS=/old/place   # where my code is\nMY_OWN_VARIABLE=untouched\n\n# interval\nAUTO_SYNC_SCAN_INTERVAL=999\nAUTO_SYNC_PATHS=/duplicate\nexport OTHER='kept'\n";
    fs::write(env_path(&sb), original).unwrap();
    let out = sb.run(&[
        "auto-sync-config",
        "--json",
        "-p",
        a.to_str().unwrap(),
        "--path",
        b.to_str().unwrap(),
        "-e",
        "vendor",
        "--scan-interval",
        "60",
        "--disabled",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = format!(
        "# codeintel settings\n\nAUTO_SYNC_PATHS=\"{},{}\"\nMY_OWN_VARIABLE=untouched\n\n# interval\nAUTO_SYNC_SCAN_INTERVAL=60\nexport OTHER='kept'\nAUTO_SYNC_EXCLUDE=vendor\nAUTO_SYNC_ENABLED=false\n",
        a.display(),
        b.display()
    );
    assert_eq!(fs::read_to_string(env_path(&sb)).unwrap(), expected);
    let shown = json(&out);
    assert_eq!(shown["scan_interval"], 60);
    assert_eq!(shown["enabled"], false);
    assert_eq!(shown["scan_paths"][1], b.to_str().unwrap());
    assert_eq!(shown["exclude_patterns"], serde_json::json!(["vendor"]));

    // Invalid values and missing folders change nothing.
    let before = fs::read(env_path(&sb)).unwrap();
    for args in [
        vec!["auto-sync-config", "--scan-interval", "0"],
        vec!["auto-sync-config", "--max-concurrent", "0"],
        vec!["auto-sync-config", "--scan-interval", "-5"],
        vec!["auto-sync-config", "--priority-languages", "python,cobol"],
        vec!["auto-sync-config", "--size-threshold", "lots"],
        vec!["auto-sync-config", "-p", "/no/such/folder"],
        vec!["auto-sync-config", "--enabled", "--disabled"],
        vec!["auto-sync-config", "--bogus-flag"],
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains("error"), "{args:?}");
        assert_eq!(
            fs::read(env_path(&sb)).unwrap(),
            before,
            "{args:?} changed the file"
        );
    }
    let out = sb.run(&["auto-sync-config", "--force", "-p", "/no/such/folder"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("do not exist"));
    assert!(fs::read_to_string(env_path(&sb))
        .unwrap()
        .contains("AUTO_SYNC_PATHS=/no/such/folder\n"));
}

#[test]
fn a_broken_env_file_is_reported_with_its_line_and_never_rewritten() {
    let sb = Sandbox::new();
    let broken = "AUTO_SYNC_PATHS=/x\nthis line is not an assignment\n";
    fs::write(env_path(&sb), broken).unwrap();
    let out = sb.run(&["auto-sync-config", "--scan-interval", "30"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("codeintel.env:2:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(fs::read_to_string(env_path(&sb)).unwrap(), broken);
}

#[test]
fn a_missing_env_file_and_folder_are_created() {
    let sb = Sandbox::new();
    let nested = sb.root().join("conf/deeper/codeintel.env");
    let out = sb
        .cmd()
        .env("CODEINTEL_ENV_FILE", &nested)
        .args(["auto-sync-config", "--max-concurrent", "5"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(&nested).unwrap(),
        "AUTO_SYNC_MAX_CONCURRENT=5\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            fs::metadata(&nested).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
}

#[test]
fn precedence_is_flag_then_environment_then_file_then_default() {
    let sb = Sandbox::new();
    let show = |env: &[(&str, &str)]| -> Value {
        let mut cmd = sb.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.args(["auto-sync-config", "--json"]).output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        json(&out)
    };
    assert_eq!(show(&[])["scan_interval"], 3600, "default");
    fs::write(env_path(&sb), "AUTO_SYNC_SCAN_INTERVAL=60\n").unwrap();
    assert_eq!(show(&[])["scan_interval"], 60, "file over default");
    assert_eq!(
        show(&[("AUTO_SYNC_SCAN_INTERVAL", "120")])["scan_interval"],
        120,
        "environment over file"
    );

    // Flags over everything: --data-dir over CODEINTEL_DATA_DIR over the env file, seen by
    // where `index.db` is made (the embedded store's file: nothing to see on PostgreSQL).
    if common::postgres_backend() {
        return;
    }
    sb.code_files("r", "py", 3, 30);
    let flagged = sb.root().join("flag-data");
    let out = sb
        .cmd()
        .args([
            "--data-dir",
            flagged.to_str().unwrap(),
            "index",
            sb.tree().join("r").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(flagged.join("index.db").exists());
    assert!(!sb.root().join("data/index.db").exists());
    let from_file = sb.root().join("file-data");
    fs::write(
        env_path(&sb),
        format!("CODEINTEL_DATA_DIR={}\n", from_file.display()),
    )
    .unwrap();
    let out = sb
        .cmd()
        .env_remove("CODEINTEL_DATA_DIR")
        .args(["index", sb.tree().join("r").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        from_file.join("index.db").exists(),
        "env file's data dir used when the environment has none"
    );
    // And the flag beats the environment for the env file itself.
    let other_env = sb.root().join("other.env");
    fs::write(&other_env, "AUTO_SYNC_SCAN_INTERVAL=7\n").unwrap();
    let out = sb
        .cmd()
        .args([
            "--env-file",
            other_env.to_str().unwrap(),
            "auto-sync-config",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(json(&out)["scan_interval"], 7);
}

fn start_server(sb: &Sandbox) -> (Child, u32) {
    let child = sb
        .cmd()
        .env("AUTO_SYNC_PATHS", sb.tree())
        .args(["serve", "--http", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !fs::read_to_string(sb.root().join("data/server.json"))
        .map(|t| t.contains(&format!("\"pid\": {pid}")))
        .unwrap_or(false)
    {
        assert!(Instant::now() < deadline, "server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, pid)
}

#[test]
fn control_commands_with_and_without_a_server() {
    let sb = Sandbox::new();
    sb.mkdir("repo/.git");
    sb.code_files("repo", "py", 3, 40);

    // Without a server: they act on the stored state and say so on stderr.
    for cmd in ["auto-sync-status", "auto-sync-pause", "auto-sync-resume"] {
        let out = sb
            .cmd()
            .env("AUTO_SYNC_PATHS", sb.tree())
            .args([cmd, "--json"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{cmd}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("no server is running"),
            "{cmd}: {}",
            stderr(&out)
        );
        json(&out);
    }
    let out = sb
        .cmd()
        .env("AUTO_SYNC_PATHS", sb.tree())
        .args(["auto-sync-scan", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("no server is running"));
    let out = sb.run(&["search", "--json", "--mode", "exact", "# 1"]);
    assert_eq!(
        json(&out).as_array().unwrap().len(),
        1,
        "the foreground scan indexed the repository"
    );

    // With a server: through MCP over HTTP, and --json is the tool's result.
    let (mut server, pid) = start_server(&sb);
    let out = sb.run(&["auto-sync-status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("no server"), "{}", stderr(&out));
    let status = json(&out);
    for key in [
        "enabled",
        "running",
        "last_scan",
        "queued_repos",
        "active_syncs",
        "synced_repos",
        "config",
        "paused",
        "repositories",
        "metrics",
    ] {
        assert!(status.get(key).is_some(), "{key} missing");
    }
    assert_eq!(status["syncer_pid"], pid);
    let out = sb.run(&["auto-sync-pause", "--json"]);
    assert_eq!(json(&out)["paused"], true);
    assert_eq!(
        json(&sb.run(&["auto-sync-status", "--json"]))["paused"],
        true
    );
    let out = sb.run(&["auto-sync-resume", "--json"]);
    assert_eq!(json(&out)["paused"], false);
    let counts = json(&sb.run(&["auto-sync-scan", "--json"]));
    for key in ["queued", "active", "synced"] {
        assert!(counts[key].is_u64(), "{key}");
    }
    let human = stdout(&sb.run(&["auto-sync-status"]));
    assert!(human.contains(&format!("running (pid {pid})")), "{human}");

    // auto-sync-config tells the running server.
    let out = sb.run(&["auto-sync-config", "--max-concurrent", "4"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!("pid {pid}")),
        "{}",
        stderr(&out)
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while json(&sb.run(&["auto-sync-status", "--json"]))["config"]["max_concurrent"] != 4 {
        assert!(
            Instant::now() < deadline,
            "server did not apply max_concurrent"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = server.kill();
    let _ = server.wait();
}

/// A fake server that answers every connection with `reply` (or never, when `None`).
fn fake_server(reply: Option<&'static str>) -> (std::net::SocketAddr, std::thread::JoinHandle<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        listener.set_nonblocking(false).unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut held = Vec::new();
        while Instant::now() < deadline {
            let Ok((mut stream, _)) = listener.accept() else {
                break;
            };
            let mut buf = [0u8; 4096];
            let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = stream.read(&mut buf);
            match reply {
                Some(text) => {
                    let _ = stream.write_all(text.as_bytes());
                }
                None => held.push(stream),
            }
            if held.len() > 3 {
                break;
            }
        }
    });
    (addr, handle)
}

#[test]
fn a_server_that_answers_garbage_or_nothing_is_a_clear_failure() {
    let sb = Sandbox::new();
    fs::create_dir_all(sb.root().join("data")).unwrap();
    let me = std::process::id();
    for (reply, expect) in [
        (Some("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot json!"), "not MCP"),
        (None, "did not answer"),
    ] {
        let (addr, _server) = fake_server(reply);
        fs::write(
            sb.root().join("data/server.json"),
            format!("{{\"url\": \"http://{addr}/mcp\", \"pid\": {me}}}"),
        )
        .unwrap();
        let started = Instant::now();
        let out = sb.cmd().env("CODEINTEL_SERVER_TIMEOUT_MS", "1500").args(["auto-sync-status"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.starts_with("error: ") && err.contains(expect), "{err}");
        assert!(started.elapsed() < Duration::from_secs(15));
    }
}

#[test]
fn help_version_and_completions() {
    let sb = Sandbox::new();
    let out = sb.run(&["--version"]);
    assert!(stdout(&out).starts_with("codeintel "), "{}", stdout(&out));
    let help = stdout(&sb.run(&["--help"]));
    assert!(
        help.contains("Exit codes: 0 success, 1 runtime failure, 2 usage"),
        "{help}"
    );
    for cmd in [
        "discover",
        "index",
        "search",
        "repos",
        "serve",
        "daemon",
        "auto-sync-config",
        "auto-sync-status",
        "auto-sync-scan",
        "auto-sync-pause",
        "auto-sync-resume",
        "completions",
    ] {
        let text = stdout(&sb.run(&[cmd, "--help"]));
        assert!(text.contains("Example"), "{cmd} --help has no examples");
    }
    for shell in ["bash", "zsh", "fish"] {
        let out = sb.run(&["completions", shell]);
        assert!(out.status.success());
        assert!(stdout(&out).contains("auto-sync-config"), "{shell}");
    }
    assert_eq!(sb.run(&["completions", "tcsh"]).status.code(), Some(2));
    assert_eq!(sb.run(&["no-such-command"]).status.code(), Some(2));
}
