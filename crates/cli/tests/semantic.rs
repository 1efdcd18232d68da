//! Semantic and hybrid search through the real binary with the real all-MiniLM-L6-v2 model
//! (installed by scripts/setup-model.sh, which scripts/test.sh runs).

mod common;

use common::{hit_paths, json, stderr, wait_for, Sandbox};
use serde_json::Value;
use std::process::Output;

fn model_dir() -> String {
    std::env::var("CODEINTEL_EMBED_MODEL_DIR").unwrap_or_else(|_| {
        panic!("CODEINTEL_EMBED_MODEL_DIR is not set: run the suite with `bash scripts/test.sh`, which installs the model")
    })
}

fn run(sb: &Sandbox, env: &[(&str, &str)], args: &[&str]) -> Output {
    let model = model_dir();
    let mut all = vec![
        ("CODEINTEL_EMBED_MODEL_DIR", model.as_str()),
        ("CODEINTEL_EMBED_PROVIDER", "auto"),
    ];
    all.extend_from_slice(env);
    sb.run_with(&all, args)
}

#[test]
fn meaning_finds_code_that_shares_no_words_with_the_query() {
    let sb = Sandbox::new();
    sb.meaning_tree();
    let repo = sb.tree().join("app");
    let out = run(&sb, &[], &["index", "--json", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let result = json(&out);
    assert_eq!(result["chunks_embedded"], result["chunks_new"]);

    let query = "resend an upload when the connection dropped";
    let semantic = hit_paths(&run(
        &sb,
        &[],
        &["search", "--json", "--mode", "semantic", query],
    ));
    assert_eq!(semantic[0], "net.py", "{semantic:?}");
    // Without --mode, hybrid is the default once embeddings exist.
    let default = hit_paths(&run(&sb, &[], &["search", "--json", query]));
    assert_eq!(default[0], "net.py", "{default:?}");
    let hybrid = hit_paths(&run(
        &sb,
        &[],
        &["search", "--json", "--mode", "hybrid", "tax on a price"],
    ));
    assert_eq!(hybrid[0], "tax.py");

    let repos = json(&run(&sb, &[], &["repos", "--json"]));
    assert_eq!(repos[0]["embedded_chunks"], repos[0]["chunks"]);

    // An edit re-embeds only what changed.
    sb.write(
        "app/menu.py",
        "def render_sidebar(items):\n    \"\"\"Draw the side panel.\"\"\"\n    return items\n",
    );
    let out = run(&sb, &[], &["index", "--json", repo.to_str().unwrap()]);
    let again: Value = json(&out);
    assert_eq!(again["files_updated"], 1);
    assert_eq!(again["chunks_embedded"], again["chunks_new"]);
}

#[test]
fn embeddings_off_or_broken_keep_lexical_search_working() {
    let sb = Sandbox::new();
    sb.meaning_tree();
    let repo = sb.tree().join("app");
    let none = [("CODEINTEL_EMBED_PROVIDER", "none")];
    let out = run(&sb, &none, &["index", "--json", repo.to_str().unwrap()]);
    assert_eq!(json(&out)["chunks_embedded"], 0);
    assert_eq!(
        hit_paths(&run(&sb, &none, &["search", "--json", "compute tax"]))[0],
        "tax.py"
    );
    let out = run(&sb, &none, &["search", "--mode", "semantic", "tax"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("embedding model"), "{}", stderr(&out));

    let broken = sb.root().join("broken-model");
    std::fs::create_dir_all(&broken).unwrap();
    std::fs::write(broken.join("config.json"), "{}").unwrap();
    let env = [
        ("CODEINTEL_EMBED_PROVIDER", "local"),
        ("CODEINTEL_EMBED_MODEL_DIR", broken.to_str().unwrap()),
    ];
    let out = run(&sb, &env, &["index", repo.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken-model"), "{}", stderr(&out));
    assert_eq!(
        hit_paths(&run(
            &sb,
            &none,
            &["search", "--json", "--mode", "lexical", "render menu"]
        ))[0],
        "menu.py"
    );

    let out = run(&sb, &[("CODEINTEL_EMBED_PROVIDER", "openai")], &["repos"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("CODEINTEL_EMBED_PROVIDER"));
}

#[test]
fn the_daemon_embeds_in_the_background_after_the_lexical_index() {
    let sb = Sandbox::new();
    sb.meaning_tree();
    sb.mkdir("app/.git");
    let model = model_dir();
    let _daemon = sb.start_daemon(&[
        ("CODEINTEL_EMBED_MODEL_DIR", model.as_str()),
        ("CODEINTEL_EMBED_PROVIDER", "auto"),
    ]);
    let status = wait_for(&sb, 120, "every chunk embedded", |status| {
        let e = &status["embeddings"];
        e["embedded"].as_u64().unwrap_or(0) >= 3 && e["pending"] == 0
    });
    assert!(status["embeddings"]["model"]
        .as_str()
        .unwrap()
        .starts_with("local:"));
    let semantic = hit_paths(&run(
        &sb,
        &[],
        &[
            "search",
            "--json",
            "--mode",
            "semantic",
            "resend an upload when the connection dropped",
        ],
    ));
    assert_eq!(semantic[0], "net.py");
}

#[test]
fn a_default_search_does_not_load_a_model_whose_vectors_the_index_lacks() {
    let sb = Sandbox::new();
    sb.meaning_tree();
    let repo = sb.tree().join("app");
    // Readable metadata, unloadable weights: loading would fail with a note on stderr.
    let model = sb.root().join("models/unloadable");
    std::fs::create_dir_all(&model).unwrap();
    std::fs::write(model.join("config.json"), r#"{"hidden_size": 384}"#).unwrap();
    std::fs::write(model.join("model.safetensors"), "not weights").unwrap();
    let env = [("CODEINTEL_EMBED_MODEL_DIR", model.to_str().unwrap())];
    let out = run(&sb, &env, &["index", "--no-embed", repo.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(&sb, &env, &["search", "--json", "compute tax"]);
    assert_eq!(hit_paths(&out)[0], "tax.py");
    assert!(
        !stderr(&out).contains("embeddings unavailable"),
        "the model was loaded: {}",
        stderr(&out)
    );
    // Asked for by name, the model is loaded (and fails).
    let out = run(&sb, &env, &["search", "--mode", "semantic", "tax"]);
    assert_ne!(out.status.code(), Some(0));
}
