//! Embeddings: text to vectors for semantic search.
//!
//! [`Embedder`] is the interface the store and the sync use: [`Embedder::embed`] for the texts
//! to be found (documents), [`Embedder::embed_query`] for what is searched for; both give
//! unit-length vectors. [`LocalEmbedder`] runs a BERT-family sentence-embedding model
//! (safetensors weights + `tokenizer.json`: all-MiniLM-L6-v2 by default, or bge-small-en-v1.5,
//! gte-small, e5-small-v2, snowflake-arctic-embed...) on the CPU in pure Rust with candle,
//! honouring the model's sentence-transformers settings ([`ModelSettings`]: pooling, query and
//! document prompts, maximum sequence length; see [`settings`] for which files and keys, and
//! why every vector is L2-normalised). Tokens are padded to the longest text of a batch.
//! [`RemoteEmbedder`] asks an OpenAI-compatible or Ollama server instead (see [`remote`]).
//! Services hold theirs in an [`EmbedderSlot`], which a provider unreachable at start fills
//! later. [`install`] downloads and unpacks the default model where [`LocalEmbedder::load`]
//! looks for it.

#![deny(missing_docs)]

pub mod install;
pub mod remote;
pub mod settings;
pub mod slot;
pub use remote::{RemoteEmbedder, RemoteProvider, RemoteSettings};
pub use settings::{ModelSettings, Pooling};
pub use slot::EmbedderSlot;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config as BertConfig};
use std::path::{Path, PathBuf};
use tokenizers::{PaddingDirection, PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

/// Tokens per text at most when the model does not say (all-MiniLM-L6-v2's `max_seq_length`;
/// its shipped `tokenizer.json` says 128, which is overridden).
pub const MAX_TOKENS: usize = 256;

/// Why embedding failed.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// The model folder cannot be used (a file missing or unreadable, a setting refused).
    #[error("model directory {dir}: {reason}")]
    Model {
        /// The model folder.
        dir: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The tokenizer failed on a text.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The forward pass failed.
    #[error("model: {0}")]
    Compute(String),
    /// A remote provider could not be reached, refused the request or answered nonsense; the
    /// message names the endpoint.
    #[error("{0}")]
    Remote(String),
}

/// Turns texts into unit-length vectors of a fixed dimension.
pub trait Embedder: Send + Sync {
    /// Identifies the model (and its weights): vectors of different models never mix.
    fn model_id(&self) -> &str;
    /// Length of every vector.
    fn dimension(&self) -> usize;
    /// Vectors of texts to be found (chunks of code): one per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError>;
    /// The vector of a search query. Models trained with a query prompt (e5, bge,
    /// snowflake-arctic-embed) embed queries differently from documents; by default a query is
    /// embedded like a document.
    fn embed_query(&self, query: &str) -> Result<Vec<f32>, EmbedError> {
        self.embed(&[query])?
            .pop()
            .ok_or_else(|| EmbedError::Compute("no vector for the query".into()))
    }
    /// Texts worth handing to one `embed` call: small for a local model (its activations, and
    /// so memory, grow with the batch), a full request's worth for a remote one (each call
    /// costs a round trip).
    fn preferred_batch(&self) -> usize {
        16
    }
}

/// A sentence-embedding BERT model on the CPU.
pub struct LocalEmbedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
    dimension: usize,
    settings: ModelSettings,
    id: String,
}

impl std::fmt::Debug for LocalEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalEmbedder")
            .field("id", &self.id)
            .finish()
    }
}

/// Names a local model by its folder, dimension, weights' size and, when they are not the
/// defaults, the settings that change its vectors (pooling, token limit, prompts): vectors of
/// another model, of changed weights or of another configuration are never mixed with these.
/// The defaults add nothing, so an all-MiniLM-L6-v2 install keeps the id (and the index its
/// vectors) it had before settings were read.
fn local_model_id(
    dir: &Path,
    dimension: usize,
    weights: &Path,
    settings: &ModelSettings,
) -> String {
    let size = std::fs::metadata(weights).map(|m| m.len()).unwrap_or(0);
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!("local:{name}:{dimension}:{size}{}", settings.id_suffix())
}

/// The model's tokenizer, padding to the longest text of a batch and truncating at
/// `max_tokens` (the shipped all-MiniLM-L6-v2 file says: pad and truncate to 128).
fn load_tokenizer(dir: &Path, path: &Path, max_tokens: usize) -> Result<Tokenizer, EmbedError> {
    let mut tokenizer =
        Tokenizer::from_file(path).map_err(|e| model_error(dir, format!("tokenizer.json: {e}")))?;
    // The file's pad token is kept; the rest is forced: right padding keeps [CLS] first (CLS
    // pooling reads position 0), and padding only to the batch's longest text saves work.
    let base = tokenizer.get_padding().cloned().unwrap_or_default();
    tokenizer.with_padding(Some(PaddingParams {
        strategy: PaddingStrategy::BatchLongest,
        direction: PaddingDirection::Right,
        pad_to_multiple_of: None,
        ..base
    }));
    tokenizer
        .with_truncation(Some(TruncationParams {
            max_length: max_tokens,
            ..TruncationParams::default()
        }))
        .map_err(|e| model_error(dir, format!("tokenizer truncation: {e}")))?;
    Ok(tokenizer)
}

pub(crate) fn model_error(dir: &Path, reason: impl ToString) -> EmbedError {
    EmbedError::Model {
        dir: dir.display().to_string(),
        reason: reason.to_string(),
    }
}

impl LocalEmbedder {
    /// Loads `config.json`, `tokenizer.json` and `model.safetensors` from `dir`, with the
    /// model's sentence-transformers settings ([`ModelSettings::read`]); a model whose
    /// pipeline this embedder does not implement is an [`EmbedError::Model`] saying why.
    pub fn load(dir: &Path) -> Result<Self, EmbedError> {
        let file = |name: &str| -> Result<PathBuf, EmbedError> {
            let path = dir.join(name);
            if path.is_file() {
                Ok(path)
            } else {
                Err(model_error(dir, format!("{name} is missing")))
            }
        };
        let config_text =
            std::fs::read_to_string(file("config.json")?).map_err(|e| model_error(dir, e))?;
        let config_value: serde_json::Value = serde_json::from_str(&config_text)
            .map_err(|e| model_error(dir, format!("config.json: {e}")))?;
        let settings = ModelSettings::from_dir(dir, &config_value)?;
        let config: BertConfig = serde_json::from_value(config_value)
            .map_err(|e| model_error(dir, format!("config.json: {e}")))?;
        let dimension = config.hidden_size;
        let tokenizer_path = file("tokenizer.json")?;
        let weights = file("model.safetensors")?;
        let device = Device::Cpu;
        // The tokenizer (~10 ms of JSON) loads on a second thread while the weights (~35 ms)
        // load here: a one-shot CLI search pays for both before it can embed its query.
        let (tokenizer, model) = std::thread::scope(|scope| {
            let tokenizer =
                scope.spawn(|| load_tokenizer(dir, &tokenizer_path, settings.max_tokens));
            // SAFETY: the weights file is memory-mapped read-only; codeintel never writes it,
            // and a concurrent writer would be a broken installation (caught by the checksum
            // at install).
            let model =
                unsafe { VarBuilder::from_mmaped_safetensors(&[&weights], DType::F32, &device) }
                    .map_err(|e| model_error(dir, format!("model.safetensors: {e}")))
                    .and_then(|vb| {
                        BertModel::load(vb, &config)
                            .map_err(|e| model_error(dir, format!("weights: {e}")))
                    });
            let tokenizer = tokenizer
                .join()
                .unwrap_or_else(|_| Err(model_error(dir, "tokenizer.json: loader panicked")));
            (tokenizer, model)
        });
        let (tokenizer, model) = (tokenizer?, model?);
        Ok(LocalEmbedder {
            model,
            tokenizer,
            device,
            dimension,
            id: local_model_id(dir, dimension, &weights, &settings),
            settings,
        })
    }

    /// The id [`LocalEmbedder::load`] gives the model in `dir`, from its files' metadata
    /// alone: whether an index holds this model's vectors can be known without loading the
    /// weights (tens of milliseconds and ~200 MB for all-MiniLM-L6-v2). Lenient about
    /// `config.json` (only `hidden_size` is needed), strict about the sentence-transformers
    /// settings: a model `load` would refuse has no id.
    pub fn model_id_in(dir: &Path) -> Result<String, EmbedError> {
        let config_text = std::fs::read_to_string(dir.join("config.json"))
            .map_err(|e| model_error(dir, format!("config.json: {e}")))?;
        let config = serde_json::from_str::<serde_json::Value>(&config_text)
            .map_err(|e| model_error(dir, format!("config.json: {e}")))?;
        let dimension = config["hidden_size"]
            .as_u64()
            .ok_or_else(|| model_error(dir, "config.json has no hidden_size"))?
            as usize;
        let settings = ModelSettings::from_dir(dir, &config)?;
        Ok(local_model_id(
            dir,
            dimension,
            &dir.join("model.safetensors"),
            &settings,
        ))
    }

    /// The settings the model was loaded with.
    pub fn settings(&self) -> &ModelSettings {
        &self.settings
    }

    /// The token ids the model sees for `text` embedded as a document (document prompt
    /// included), for checks against a reference.
    pub fn token_ids(&self, text: &str) -> Result<Vec<u32>, EmbedError> {
        let encoding = self
            .tokenizer
            .encode(with_prompt(&self.settings.document_prompt, text), true)
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    fn forward(&self, texts: Vec<String>) -> candle_core::Result<Vec<Vec<f32>>> {
        let encodings = self
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
        let rows = |f: &dyn Fn(&tokenizers::Encoding) -> Vec<u32>| -> candle_core::Result<Tensor> {
            let data: Vec<Tensor> = encodings
                .iter()
                .map(|e| Tensor::new(f(e).as_slice(), &self.device))
                .collect::<candle_core::Result<_>>()?;
            Tensor::stack(&data, 0)
        };
        let ids = rows(&|e| e.get_ids().to_vec())?;
        let mask = rows(&|e| e.get_attention_mask().to_vec())?;
        let type_ids = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &type_ids, Some(&mask))?;
        let pooled = match self.settings.pooling {
            // Padding sits at the end (right padding), so the first token is always [CLS].
            Pooling::Cls => hidden.narrow(1, 0, 1)?.squeeze(1)?,
            Pooling::Mean => {
                let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
                let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
                let counts = mask.sum(1)?.clamp(1e-9, f64::MAX)?;
                summed.broadcast_div(&counts)?
            }
        };
        // Unit length whatever the model's own pipeline does: the trait promises it.
        let norm = pooled
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12, f64::MAX)?;
        pooled.broadcast_div(&norm)?.to_vec2::<f32>()
    }

    fn run(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>, EmbedError> {
        self.forward(texts)
            .map_err(|e| EmbedError::Compute(e.to_string()))
    }
}

impl Embedder for LocalEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        let prompt = &self.settings.document_prompt;
        self.run(texts.iter().map(|t| with_prompt(prompt, t)).collect())
    }

    fn embed_query(&self, query: &str) -> Result<Vec<f32>, EmbedError> {
        self.run(vec![with_prompt(&self.settings.query_prompt, query)])?
            .pop()
            .ok_or_else(|| EmbedError::Compute("no vector for the query".into()))
    }
}

/// `text` as the model is to see it: sentence-transformers prepends a prompt verbatim.
fn with_prompt(prompt: &str, text: &str) -> String {
    let mut full = String::with_capacity(prompt.len() + text.len());
    full.push_str(prompt);
    full.push_str(text);
    full
}

/// Cosine similarity of two vectors (dot product for unit vectors).
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let dot: f32 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let na: f32 = a.iter().map(|x| x * x).sum::<f32>().sqrt();
    let nb: f32 = b.iter().map(|x| x * x).sum::<f32>().sqrt();
    if na == 0.0 || nb == 0.0 {
        0.0
    } else {
        dot / (na * nb)
    }
}
