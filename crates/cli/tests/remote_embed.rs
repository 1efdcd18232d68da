//! Remote embedding providers through the real binary: `CODEINTEL_EMBED_PROVIDER=openai` (and
//! `ollama`) pointed at a fake server in this test process that answers bag-of-words vectors
//! (a query shares direction with the chunks that share its words), and at a port where
//! nothing listens.

mod common;

use common::provider::{dead_url, fake_provider, fake_provider_on, provider_env, DIM};
use common::{hit_paths, json, stderr, wait_for, Sandbox};
use serde_json::Value;
use std::net::TcpListener;

fn tree(sb: &Sandbox) {
    sb.meaning_tree();
    sb.write("app/requirements.txt", "requests\n");
}

#[test]
fn openai_provider_embeds_and_searches() {
    let (url, log) = fake_provider(false);
    let sb = Sandbox::new();
    tree(&sb);
    let base = format!("{url}/v1");
    let env = [
        ("CODEINTEL_EMBED_PROVIDER", "openai"),
        ("CODEINTEL_EMBED_URL", base.as_str()),
        ("CODEINTEL_EMBED_MODEL", "fake-embedder"),
        ("CODEINTEL_EMBED_API_KEY", "sk-test-secret"),
    ];
    let repo = sb.tree().join("app");
    let out = sb.run_with(
        &env,
        &["index", "--json", repo.to_str().unwrap_or_default()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stderr(&out).contains("sk-test-secret"), "{}", stderr(&out));
    let result = json(&out);
    assert!(result["chunks_new"].as_u64().unwrap_or(0) >= 3, "{result}");
    assert_eq!(result["chunks_embedded"], result["chunks_new"]);

    let repos = json(&sb.run_with(&env, &["repos", "--json"]));
    assert_eq!(repos[0]["embedded_chunks"], repos[0]["chunks"], "{repos}");

    let semantic = semantic_hits(&sb, &env, "value added tax on the price");
    assert_eq!(
        semantic.first().map(String::as_str),
        Some("tax.py"),
        "{semantic:?}"
    );
    let hybrid = hit_paths(&sb.run_with(&env, &["search", "--json", "draw the navigation bar"]));
    assert_eq!(
        hybrid.first().map(String::as_str),
        Some("menu.py"),
        "{hybrid:?}"
    );

    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    assert!(log.len() >= 3, "probe, chunks and query: {log:?}");
    for (path, auth, inputs) in log.iter() {
        assert_eq!(path, "/v1/embeddings");
        assert_eq!(auth.as_deref(), Some("Bearer sk-test-secret"));
        assert!((1..=64).contains(inputs), "{inputs} inputs in one request");
    }
}

/// The environment that points codeintel at a provider serving model `fake-embedder`.
/// The paths `search --mode semantic` finds for `query`, best first.
fn semantic_hits(sb: &Sandbox, env: &[(&str, &str)], query: &str) -> Vec<String> {
    hit_paths(&sb.run_with(env, &["search", "--json", "--mode", "semantic", query]))
}

#[test]
fn ollama_provider_embeds_and_searches() {
    let (url, log) = fake_provider(true);
    let sb = Sandbox::new();
    tree(&sb);
    let env = provider_env("ollama", &url);
    let repo = sb.tree().join("app");
    let out = sb.run_with(
        &env,
        &["index", "--json", repo.to_str().unwrap_or_default()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let repos = json(&sb.run_with(&env, &["repos", "--json"]));
    assert_eq!(repos[0]["embedded_chunks"], repos[0]["chunks"], "{repos}");
    let semantic = semantic_hits(&sb, &env, "storage network failed");
    assert_eq!(
        semantic.first().map(String::as_str),
        Some("net.py"),
        "{semantic:?}"
    );
    let log = log.lock().unwrap_or_else(|e| e.into_inner());
    assert!(
        log.iter()
            .all(|(path, auth, _)| path == "/api/embed" && auth.is_none()),
        "{log:?}"
    );
}

#[test]
fn an_unreachable_provider_fails_index_but_keeps_lexical_search() {
    let url = dead_url();
    let sb = Sandbox::new();
    tree(&sb);
    let env = provider_env("openai", &url);
    let repo = sb.tree().join("app");
    let out = sb.run_with(&env, &["index", repo.to_str().unwrap_or_default()]);
    assert!(!out.status.success(), "index must fail");
    let err = stderr(&out);
    let error_lines: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(error_lines.len(), 1, "{err}");
    assert!(error_lines[0].contains(&url), "{err}");
    assert!(error_lines[0].contains("lexical index committed"), "{err}");

    // The lexical index is there: repos lists it, lexical and default searches find code.
    let repos = json(&sb.run_with(&env, &["repos", "--json"]));
    assert!(repos[0]["chunks"].as_u64().unwrap_or(0) >= 3, "{repos}");
    assert_eq!(repos[0]["embedded_chunks"], 0);
    let lexical = hit_paths(&sb.run_with(
        &env,
        &["search", "--json", "--mode", "lexical", "compute_tax"],
    ));
    assert_eq!(lexical.first().map(String::as_str), Some("tax.py"));
    let out = sb.run_with(&env, &["search", "--json", "compute_tax"]);
    assert_eq!(hit_paths(&out).first().map(String::as_str), Some("tax.py"));
    assert!(
        stderr(&out).contains("searching lexically"),
        "{}",
        stderr(&out)
    );

    // Semantic search needs the provider: a clear error naming it.
    let out = sb.run_with(&env, &["search", "--mode", "semantic", "tax"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&url), "{}", stderr(&out));
}

#[test]
fn missing_model_or_bad_provider_is_a_startup_error() {
    let sb = Sandbox::new();
    let out = sb.run_with(&[("CODEINTEL_EMBED_PROVIDER", "ollama")], &["repos"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("CODEINTEL_EMBED_MODEL"),
        "{}",
        stderr(&out)
    );
    let out = sb.run_with(&[("CODEINTEL_EMBED_PROVIDER", "cohere")], &["repos"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("\"cohere\""), "{}", stderr(&out));
}

#[test]
fn the_daemon_embeds_remotely_in_the_background() {
    let (url, _) = fake_provider(true);
    let sb = Sandbox::new();
    tree(&sb);
    let env = provider_env("ollama", &url);
    let _daemon = sb.start_daemon(&env);
    let s = wait_for(&sb, 60, "all chunks embedded", |s| {
        let e = &s["embeddings"];
        e["model"] == format!("ollama:fake-embedder:{DIM}")
            && e["pending"] == 0
            && e["embedded"].as_u64().unwrap_or(0) >= 3
    });
    assert_eq!(s["embeddings"]["error"], Value::Null, "{s:#}");
}

#[test]
fn the_daemon_runs_lexical_only_when_the_provider_is_down() {
    let url = dead_url();
    let sb = Sandbox::new();
    tree(&sb);
    let env = provider_env("openai", &url);
    let _daemon = sb.start_daemon(&env);
    let s = wait_for(&sb, 60, "the repository synced and the error shown", |s| {
        s["synced_repos"] == 1 && s["embeddings"]["error"].is_string()
    });
    let e = &s["embeddings"];
    assert_eq!(e["model"], "openai:fake-embedder", "{s:#}");
    assert!(
        e["error"].as_str().unwrap_or_default().contains(&url),
        "{s:#}"
    );
    let out = sb.run_with(&env, &["auto-sync-status"]);
    assert!(
        common::stdout(&out).contains("embeddings: openai:fake-embedder"),
        "{}",
        common::stdout(&out)
    );
    let hits = hit_paths(&sb.run_with(&[], &["search", "--json", "render_menu"]));
    assert_eq!(hits.first().map(String::as_str), Some("menu.py"));
}

#[test]
fn the_daemon_starts_embedding_when_a_provider_down_at_start_comes_up() {
    let url = dead_url();
    let sb = Sandbox::new();
    tree(&sb);
    let env = provider_env("ollama", &url);
    let _daemon = sb.start_daemon(&env);
    wait_for(&sb, 60, "the repository synced and the error shown", |s| {
        s["synced_repos"] == 1 && s["embeddings"]["error"].is_string()
    });
    // The provider comes up where it was configured, after the daemon started.
    let addr = url.trim_start_matches("http://");
    let (_, log) = fake_provider_on(TcpListener::bind(addr).expect("rebind"), true);
    let s = wait_for(
        &sb,
        90,
        "the provider retried and every chunk embedded",
        |s| {
            let e = &s["embeddings"];
            e["error"].is_null() && e["pending"] == 0 && e["embedded"].as_u64().unwrap_or(0) >= 3
        },
    );
    assert_eq!(
        s["embeddings"]["model"],
        format!("ollama:fake-embedder:{DIM}"),
        "{s:#}"
    );
    assert!(!log.lock().unwrap_or_else(|e| e.into_inner()).is_empty());
    let out = sb.run_with(&env, &["search", "--json", "--mode", "semantic", "menu"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(hit_paths(&out).first().map(String::as_str), Some("menu.py"));
}
