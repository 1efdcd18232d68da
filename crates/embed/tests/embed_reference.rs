//! The local embedder against reference output of all-MiniLM-L6-v2 (token ids and vectors
//! computed by the model's own pipeline; see tests/fixtures/minilm-reference.json and
//! shared/data/README.md). The model is installed by scripts/setup-model.sh, which
//! scripts/test.sh runs and exports as CODEINTEL_EMBED_MODEL_DIR.

use codeintel_embed::{cosine, Embedder, LocalEmbedder};
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    match std::env::var_os("CODEINTEL_EMBED_MODEL_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => panic!(
            "CODEINTEL_EMBED_MODEL_DIR is not set: run the suite with `bash scripts/test.sh`, which installs the model"
        ),
    }
}

#[test]
fn matches_the_reference_ids_and_vectors() {
    let reference: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/minilm-reference.json")).unwrap();
    let embedder = LocalEmbedder::load(&model_dir()).expect("load model");
    assert_eq!(embedder.dimension(), 384);
    // The id known without loading the weights is the loaded model's.
    assert_eq!(
        LocalEmbedder::model_id_in(&model_dir()).expect("model id"),
        embedder.model_id()
    );
    let texts: Vec<&str> = reference["texts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for (text, ids) in texts.iter().zip(reference["ids"].as_array().unwrap()) {
        let want: Vec<u32> = ids
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(embedder.token_ids(text).unwrap(), want, "{text}");
    }
    // One batch: padding to the longest text must not change the shorter ones' vectors.
    let got = embedder.embed(&texts).unwrap();
    for ((text, vector), want) in texts
        .iter()
        .zip(&got)
        .zip(reference["embeddings"].as_array().unwrap())
    {
        let want: Vec<f32> = want
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let similarity = cosine(vector, &want);
        assert!(similarity > 0.99, "{text}: cosine {similarity}");
        let norm: f32 = vector.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-4);
    }
    // Meaning, not words: a paraphrase is closer than an unrelated sentence.
    let v = embedder
        .embed(&[
            "retry failed uploads with backoff",
            "upload again after an error, waiting longer each time",
            "the cat sat on the mat",
        ])
        .unwrap();
    assert!(cosine(&v[0], &v[1]) > cosine(&v[0], &v[2]) + 0.1);
}

#[test]
fn a_broken_model_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = LocalEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("config.json is missing"), "{err}");
    std::fs::write(dir.path().join("config.json"), "{not json").unwrap();
    let err = LocalEmbedder::load(dir.path()).unwrap_err().to_string();
    assert!(err.contains("config.json"), "{err}");
}
