//! A sentence-transformers model's own settings, read from its folder: how token vectors
//! become one vector, which prompts go before queries and documents, and how many tokens a
//! text may have. [`ModelSettings::read`] reads them; [`crate::LocalEmbedder`] applies them.
//!
//! Files and what is taken from each (every one optional; an absent file means the default,
//! which is all-MiniLM-L6-v2's behaviour):
//! - `modules.json`: the pipeline. Only `Transformer` (the model in the folder itself) →
//!   `Pooling` → optionally `Normalize` is run; any other module (a `Dense` projection, a
//!   `LayerNorm`, a custom module) or another order is refused with [`EmbedError::Model`]
//!   naming the module, because skipping it would give plausible but wrong vectors. The
//!   `Pooling` module's `path` says where its config lives (usually `1_Pooling`).
//! - `<pooling path>/config.json`: `pooling_mode_cls_token` → [`Pooling::Cls`] (the first
//!   token's hidden state), `pooling_mode_mean_tokens` → [`Pooling::Mean`] (mean over real,
//!   unpadded tokens; also the default). Any other mode (max, mean_sqrt_len, weightedmean,
//!   lasttoken) or a combination of modes (which sentence-transformers concatenates) is refused.
//!   `include_prompt: false` (prompt tokens left out of the mean) is refused when a prompt
//!   would be pooled with mean pooling.
//! - `config_sentence_transformers.json`: `prompts` and `default_prompt_name`, resolved as
//!   sentence-transformers' `encode_query`/`encode_document` do: the query prompt is
//!   `prompts.query`; the document prompt is the first of `prompts.document`,
//!   `prompts.passage`, `prompts.corpus`; either falls back to the prompt named by
//!   `default_prompt_name`, else none. Other prompt names (e.g. `classification`) are not used.
//!   A prompt is prepended to the text as is (`"query: " + text`), as sentence-transformers
//!   does, and counts against the token limit.
//! - `sentence_bert_config.json`: `max_seq_length` (default [`crate::MAX_TOKENS`], 256),
//!   capped by `max_position_embeddings` of `config.json` (the model has no position beyond).
//!   The model's `tokenizer.json` padding and truncation are always replaced by these.
//!
//! Normalisation: a model without a `Normalize` module emits vectors of any length, but the
//! [`crate::Embedder`] contract promises unit vectors (the store keeps sign bits and int8
//! values and ranks by dot product), so every vector is L2-normalised regardless; for such a
//! model search ranks by cosine similarity, which is what sentence-transformers' default
//! similarity computes too. [`ModelSettings::normalized_by_model`] records what the model
//! itself does; it does not change the output, and so is not part of the model id.

use crate::{model_error, EmbedError};
use serde_json::{Map, Value};
use std::path::Path;

/// How the token vectors of a text become one vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pooling {
    /// The mean of the real (unpadded) tokens' hidden states.
    Mean,
    /// The hidden state of the first token (`[CLS]`).
    Cls,
}

/// The settings of one model folder that shape its vectors (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSettings {
    /// How token vectors become one vector.
    pub pooling: Pooling,
    /// Put before every query ([`crate::Embedder::embed_query`]); empty for none.
    pub query_prompt: String,
    /// Put before every document ([`crate::Embedder::embed`]); empty for none.
    pub document_prompt: String,
    /// Tokens per text at most, special tokens and prompt included.
    pub max_tokens: usize,
    /// Whether the model's own pipeline ends in a `Normalize` module (assumed when there is no
    /// `modules.json`). Informational: the embedder's output is unit length either way.
    pub normalized_by_model: bool,
}

impl Default for ModelSettings {
    /// all-MiniLM-L6-v2's settings, and what a folder without sentence-transformers files gets.
    fn default() -> Self {
        ModelSettings {
            pooling: Pooling::Mean,
            query_prompt: String::new(),
            document_prompt: String::new(),
            max_tokens: crate::MAX_TOKENS,
            normalized_by_model: true,
        }
    }
}

const MODULE_PREFIX: &str = "sentence_transformers.";

impl ModelSettings {
    /// Reads the settings of the model in `dir` (its `config.json` for the position limit, and
    /// the sentence-transformers files); an unsupported pipeline is an [`EmbedError::Model`].
    pub fn read(dir: &Path) -> Result<Self, EmbedError> {
        let config = read_json(dir, "config.json")?
            .ok_or_else(|| model_error(dir, "config.json is missing"))?;
        Self::from_dir(dir, &config)
    }

    /// [`read`](Self::read) with `config.json` already parsed.
    pub(crate) fn from_dir(dir: &Path, config: &Value) -> Result<Self, EmbedError> {
        let mut settings = ModelSettings::default();
        let pooling_config = match read_json(dir, "modules.json")? {
            Some(modules) => {
                let pipeline = pipeline(dir, &modules)?;
                settings.normalized_by_model = pipeline.normalize;
                format!("{}/config.json", pipeline.pooling_path)
            }
            None => "1_Pooling/config.json".to_string(),
        };
        if let Some(st) = read_json(dir, "config_sentence_transformers.json")? {
            let (query, document) = prompts(dir, &st)?;
            settings.query_prompt = query;
            settings.document_prompt = document;
        }
        if let Some(pooling) = read_json(dir, &pooling_config)? {
            settings.pooling = pooling_mode(dir, &pooling_config, &pooling)?;
            let include_prompt = pooling["include_prompt"].as_bool().unwrap_or(true);
            let has_prompt =
                !settings.query_prompt.is_empty() || !settings.document_prompt.is_empty();
            if !include_prompt && has_prompt && settings.pooling == Pooling::Mean {
                return Err(model_error(
                    dir,
                    format!(
                        "{pooling_config}: include_prompt false (prompt tokens left out of the \
                         mean) is not supported"
                    ),
                ));
            }
        }
        if let Some(sbert) = read_json(dir, "sentence_bert_config.json")? {
            match &sbert["max_seq_length"] {
                Value::Null => {}
                value => match value.as_u64() {
                    Some(n) if n > 0 => settings.max_tokens = n as usize,
                    _ => {
                        return Err(model_error(
                            dir,
                            format!(
                                "sentence_bert_config.json: max_seq_length {value} is not a \
                                 positive integer"
                            ),
                        ))
                    }
                },
            }
        }
        // Positions beyond the embedding table would make the model fail on long texts.
        if let Some(positions) = config["max_position_embeddings"].as_u64() {
            settings.max_tokens = settings.max_tokens.min(positions.max(1) as usize);
        }
        Ok(settings)
    }

    /// What sets these vectors apart from those of the same weights with the default settings:
    /// empty for the defaults (so the ids of existing installs stay as they were), else
    /// `:cls`, `:max<N>` and `:p<hash of the prompts>` as they apply.
    pub(crate) fn id_suffix(&self) -> String {
        use sha2::Digest;
        let mut suffix = String::new();
        if self.pooling == Pooling::Cls {
            suffix.push_str(":cls");
        }
        if self.max_tokens != crate::MAX_TOKENS {
            suffix.push_str(&format!(":max{}", self.max_tokens));
        }
        if !self.query_prompt.is_empty() || !self.document_prompt.is_empty() {
            // Prompts can be long sentences: a hash keeps the id short and still changes
            // with any edit. The separator keeps ("ab", "c") apart from ("a", "bc").
            let mut hasher = sha2::Sha256::new();
            hasher.update(self.query_prompt.as_bytes());
            hasher.update([0u8]);
            hasher.update(self.document_prompt.as_bytes());
            let hash = hasher.finalize();
            suffix.push_str(":p");
            for byte in &hash[..6] {
                suffix.push_str(&format!("{byte:02x}"));
            }
        }
        suffix
    }
}

/// Parses `dir/name`; `None` when the file does not exist.
fn read_json(dir: &Path, name: &str) -> Result<Option<Value>, EmbedError> {
    let text = match std::fs::read_to_string(dir.join(name)) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(model_error(dir, format!("{name}: {e}"))),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| model_error(dir, format!("{name}: {e}")))
}

struct Pipeline {
    pooling_path: String,
    normalize: bool,
}

/// Checks that `modules.json` describes Transformer → Pooling → (Normalize), the only
/// pipeline the local embedder runs.
fn pipeline(dir: &Path, modules: &Value) -> Result<Pipeline, EmbedError> {
    let refuse = |reason: String| model_error(dir, format!("modules.json: {reason}"));
    let list = modules
        .as_array()
        .ok_or_else(|| refuse("not a list of modules".into()))?;
    let mut kinds = Vec::with_capacity(list.len());
    for module in list {
        let kind = module["type"]
            .as_str()
            .ok_or_else(|| refuse(format!("module without a type: {module}")))?;
        let path = module["path"].as_str().unwrap_or("");
        // The module's class name, wherever a sentence-transformers version keeps it.
        let short = kind
            .strip_prefix(MODULE_PREFIX)
            .and_then(|rest| rest.rsplit('.').next())
            .unwrap_or("");
        match short {
            "Transformer" | "Pooling" | "Normalize" => kinds.push((short, path)),
            _ => {
                return Err(refuse(format!(
                    "module {kind} (path {path:?}) is not supported: the local embedder runs \
                     Transformer, Pooling and Normalize only, and leaving a module out would give \
                     wrong vectors"
                )))
            }
        }
    }
    let order: Vec<&str> = kinds.iter().map(|(k, _)| *k).collect();
    let normalize = match order.as_slice() {
        ["Transformer", "Pooling"] => false,
        ["Transformer", "Pooling", "Normalize"] => true,
        _ => {
            return Err(refuse(format!(
                "pipeline {} is not supported: expected Transformer, Pooling and optionally \
                 Normalize, in that order",
                if order.is_empty() {
                    "(empty)".to_string()
                } else {
                    order.join(" → ")
                }
            )))
        }
    };
    let transformer_path = kinds[0].1.trim_matches('/');
    if !transformer_path.is_empty() && transformer_path != "." {
        return Err(refuse(format!(
            "the Transformer module lives in {transformer_path:?}: the local embedder reads the \
             model (config.json, model.safetensors, tokenizer.json) from the folder itself"
        )));
    }
    let pooling_path = kinds[1].1.trim_matches('/');
    if pooling_path.split('/').any(|part| part == "..") || Path::new(pooling_path).is_absolute() {
        return Err(refuse(format!(
            "the Pooling module's path {pooling_path:?} leaves the model folder"
        )));
    }
    Ok(Pipeline {
        pooling_path: if pooling_path.is_empty() {
            ".".to_string()
        } else {
            pooling_path.to_string()
        },
        normalize,
    })
}

/// The pooling of a sentence-transformers `Pooling` config, or why it is not supported.
fn pooling_mode(dir: &Path, file: &str, config: &Value) -> Result<Pooling, EmbedError> {
    let refuse = |reason: String| model_error(dir, format!("{file}: {reason}"));
    // The constructor's string form, in case a hand-written config uses it.
    if let Some(mode) = config["pooling_mode"].as_str() {
        return match mode {
            "cls" => Ok(Pooling::Cls),
            "mean" => Ok(Pooling::Mean),
            other => Err(refuse(format!(
                "pooling mode {other:?} is not supported (the local embedder implements cls and \
                 mean)"
            ))),
        };
    }
    let empty = Map::new();
    let modes: Vec<&str> = config
        .as_object()
        .unwrap_or(&empty)
        .iter()
        .filter(|(key, value)| key.starts_with("pooling_mode_") && value.as_bool() == Some(true))
        .map(|(key, _)| key.as_str())
        .collect();
    match modes.as_slice() {
        [] => Err(refuse("no pooling mode is set".into())),
        ["pooling_mode_mean_tokens"] => Ok(Pooling::Mean),
        ["pooling_mode_cls_token"] => Ok(Pooling::Cls),
        [mode] => Err(refuse(format!(
            "pooling mode {mode} is not supported (the local embedder implements \
             pooling_mode_cls_token and pooling_mode_mean_tokens)"
        ))),
        several => Err(refuse(format!(
            "several pooling modes at once ({}: their vectors concatenated) are not supported",
            several.join(" + ")
        ))),
    }
}

/// The query and document prompts of `config_sentence_transformers.json` (see the module docs).
fn prompts(dir: &Path, config: &Value) -> Result<(String, String), EmbedError> {
    let file = "config_sentence_transformers.json";
    let refuse = |reason: String| model_error(dir, format!("{file}: {reason}"));
    let empty = Map::new();
    let prompts = match &config["prompts"] {
        Value::Null => &empty,
        Value::Object(map) => map,
        other => return Err(refuse(format!("prompts is not an object: {other}"))),
    };
    let prompt = |name: &str| -> Result<Option<String>, EmbedError> {
        match prompts.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Err(refuse(format!("prompt {name:?} is not a string: {other}"))),
        }
    };
    let default = match &config["default_prompt_name"] {
        Value::Null => None,
        Value::String(name) => match prompt(name)? {
            Some(text) => Some(text),
            None => {
                return Err(refuse(format!(
                    "default_prompt_name {name:?} names no prompt in prompts"
                )))
            }
        },
        other => {
            return Err(refuse(format!(
                "default_prompt_name is not a string: {other}"
            )))
        }
    };
    let query = prompt("query")?;
    let mut document = None;
    for name in ["document", "passage", "corpus"] {
        if let Some(text) = prompt(name)? {
            document = Some(text);
            break;
        }
    }
    Ok((
        query.or_else(|| default.clone()).unwrap_or_default(),
        document.or(default).unwrap_or_default(),
    ))
}
