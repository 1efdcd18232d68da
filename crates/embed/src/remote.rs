//! Remote embedders: an OpenAI-compatible `/v1/embeddings` endpoint or Ollama's `/api/embed`.
//!
//! Requests are batched ([`DEFAULT_BATCH`] texts at most), each bounded by a connect and a total
//! timeout, and retried with backoff on connection errors, 429 and 5xx (never on another 4xx).
//! The dimension is learned from one probe request in [`RemoteEmbedder::connect`], so a wrong
//! URL, model or key fails when the embedder is built, not in the middle of an indexing pass.
//! Vectors are L2-normalised here (not every server does). The API key is sent as a bearer
//! token and never logged or shown in errors.
//!
//! The client is blocking: call [`Embedder::embed`] from a plain thread or a blocking task
//! (`tokio::task::spawn_blocking`), never directly on an async executor.

use crate::{EmbedError, Embedder};
use reqwest::blocking::{Client, Response};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

/// Texts per request at most.
pub const DEFAULT_BATCH: usize = 64;
/// Longest `Retry-After` honoured; a longer one falls back to the usual backoff.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// Characters of a response body quoted in an error.
const BODY_EXCERPT: usize = 200;

/// The kind of remote endpoint, which fixes the request and response shapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteProvider {
    /// OpenAI or any server speaking its `/v1/embeddings` API (vLLM, LM Studio, llama.cpp...).
    OpenAi,
    /// Ollama's `/api/embed`.
    Ollama,
}

impl RemoteProvider {
    /// The name used in configuration and in model ids.
    pub fn name(self) -> &'static str {
        match self {
            RemoteProvider::OpenAi => "openai",
            RemoteProvider::Ollama => "ollama",
        }
    }

    /// Where the provider listens when no URL is configured.
    pub fn default_url(self) -> &'static str {
        match self {
            RemoteProvider::OpenAi => "https://api.openai.com",
            RemoteProvider::Ollama => "http://localhost:11434",
        }
    }

    /// The embeddings endpoint under `base`. For OpenAI the base may be given with or without
    /// its trailing `/v1`; a full endpoint URL is taken as it is.
    pub fn endpoint(self, base: &str) -> String {
        let base = base.trim().trim_end_matches('/');
        match self {
            RemoteProvider::OpenAi if base.ends_with("/embeddings") => base.to_string(),
            RemoteProvider::OpenAi if base.ends_with("/v1") => format!("{base}/embeddings"),
            RemoteProvider::OpenAi => format!("{base}/v1/embeddings"),
            RemoteProvider::Ollama if base.ends_with("/api/embed") => base.to_string(),
            RemoteProvider::Ollama if base.ends_with("/api") => format!("{base}/embed"),
            RemoteProvider::Ollama => format!("{base}/api/embed"),
        }
    }
}

impl std::fmt::Display for RemoteProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for RemoteProvider {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(RemoteProvider::OpenAi),
            "ollama" => Ok(RemoteProvider::Ollama),
            other => Err(format!(
                "unknown remote provider `{other}` (openai or ollama)"
            )),
        }
    }
}

/// How to reach a remote embedder, with the defaults of [`RemoteSettings::new`].
#[derive(Clone)]
pub struct RemoteSettings {
    /// Which API the server speaks.
    pub provider: RemoteProvider,
    /// The server's base URL; `None` means the provider's default.
    pub url: Option<String>,
    /// The model name the server knows (`text-embedding-3-small`, `nomic-embed-text`...).
    pub model: String,
    /// Sent as `Authorization: Bearer ...` when set.
    pub api_key: Option<String>,
    /// Texts per request at most.
    pub batch_size: usize,
    /// How long connecting may take.
    pub connect_timeout: Duration,
    /// Whole request, body included.
    pub timeout: Duration,
    /// The wait before each retry: as many retries as entries.
    pub retry_delays: Vec<Duration>,
}

impl std::fmt::Debug for RemoteSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteSettings")
            .field("provider", &self.provider)
            .field("url", &self.url)
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("batch_size", &self.batch_size)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("retry_delays", &self.retry_delays)
            .finish()
    }
}

impl RemoteSettings {
    /// Settings for `model` at the provider's default URL: batches of 64, connect timeout 5 s,
    /// 60 s per request, three retries after 0.5 s, 1 s and 2 s.
    pub fn new(provider: RemoteProvider, model: impl Into<String>) -> Self {
        RemoteSettings {
            provider,
            url: None,
            model: model.into(),
            api_key: None,
            batch_size: DEFAULT_BATCH,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            retry_delays: vec![
                Duration::from_millis(500),
                Duration::from_secs(1),
                Duration::from_secs(2),
            ],
        }
    }

    /// The embeddings endpoint these settings post to.
    pub fn endpoint(&self) -> String {
        let base = self
            .url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(self.provider.default_url());
        self.provider.endpoint(base)
    }
}

/// An embedder behind an HTTP API.
pub struct RemoteEmbedder {
    client: Client,
    settings: RemoteSettings,
    endpoint: String,
    dimension: usize,
    id: String,
}

impl std::fmt::Debug for RemoteEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteEmbedder")
            .field("id", &self.id)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

/// One failed attempt, and whether another one may succeed.
struct Failure {
    message: String,
    retry: bool,
    retry_after: Option<Duration>,
}

impl RemoteEmbedder {
    /// Builds the client and sends one probe text to learn the dimension; fails with a one-line
    /// error naming the endpoint when the server cannot be reached or refuses the request.
    pub fn connect(settings: RemoteSettings) -> Result<Self, EmbedError> {
        if settings.model.trim().is_empty() {
            return Err(EmbedError::Remote(format!(
                "{} embeddings: no model given",
                settings.provider
            )));
        }
        let endpoint = settings.endpoint();
        let client = Client::builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("codeintel/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                EmbedError::Remote(format!(
                    "{} embeddings at {endpoint}: cannot build an HTTP client: {}",
                    settings.provider,
                    error_text(&e)
                ))
            })?;
        let mut embedder = RemoteEmbedder {
            client,
            endpoint,
            dimension: 0,
            id: String::new(),
            settings,
        };
        let probe = embedder.request(&["dimension probe"], None)?;
        let dimension = probe.first().map(Vec::len).unwrap_or(0);
        if dimension == 0 {
            return Err(embedder.error("the server returned an empty vector"));
        }
        embedder.dimension = dimension;
        embedder.id = format!(
            "{}:{}:{dimension}",
            embedder.settings.provider,
            embedder.settings.model.trim()
        );
        tracing::info!(
            endpoint = %embedder.endpoint,
            model = %embedder.id,
            "remote embedder ready"
        );
        Ok(embedder)
    }

    /// The URL requests go to.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    fn error(&self, message: impl std::fmt::Display) -> EmbedError {
        EmbedError::Remote(format!(
            "{} embeddings at {}: {message}",
            self.settings.provider, self.endpoint
        ))
    }

    /// Embeds one batch, retrying what may pass on a second try. `dimension` is the expected
    /// length of every vector (`None` while probing).
    fn request(
        &self,
        texts: &[&str],
        dimension: Option<usize>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        // OpenAI refuses empty strings; a blank carries the same (lack of) meaning.
        let input: Vec<&str> = texts
            .iter()
            .map(|t| if t.is_empty() { " " } else { *t })
            .collect();
        let body = json!({ "model": self.settings.model.trim(), "input": input }).to_string();
        let attempts = self.settings.retry_delays.len() + 1;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let failure = match self.send(&body) {
                Ok(response) => match self.read(response) {
                    Ok(value) => return self.parse(&value, texts.len(), dimension),
                    Err(failure) => failure,
                },
                Err(failure) => failure,
            };
            let Some(delay) = self.settings.retry_delays.get(attempt - 1).copied() else {
                let tries = if attempt > 1 {
                    format!(" (after {attempt} attempts)")
                } else {
                    String::new()
                };
                return Err(self.error(format!("{}{tries}", failure.message)));
            };
            if !failure.retry {
                return Err(self.error(failure.message));
            }
            let delay = match failure.retry_after {
                Some(after) if after <= MAX_RETRY_AFTER => after.max(delay),
                _ => delay,
            };
            // Info, not a warning: a one-shot command reports only the final error; services
            // (which log at info) show the retries.
            tracing::info!(
                endpoint = %self.endpoint,
                attempt,
                attempts,
                "embedding request failed ({}); retrying in {delay:?}",
                failure.message
            );
            std::thread::sleep(delay);
        }
    }

    fn send(&self, body: &str) -> Result<Response, Failure> {
        let mut request = self
            .client
            .post(&self.endpoint)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        if let Some(key) = self.settings.api_key.as_deref().filter(|k| !k.is_empty()) {
            request = request.bearer_auth(key);
        }
        request.send().map_err(|e| Failure {
            // Connection-level trouble may pass; a request that timed out as a whole would
            // likely time out again, and a request that cannot be built never succeeds.
            retry: e.is_connect() || !(e.is_timeout() || e.is_builder()),
            message: error_text(&e),
            retry_after: None,
        })
    }

    /// The JSON body of a successful response, or why there is none.
    fn read(&self, response: Response) -> Result<Value, Failure> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = response.text().map_err(|e| Failure {
            message: format!("HTTP {status}, body unreadable: {}", error_text(&e)),
            retry: !e.is_timeout(),
            retry_after: None,
        })?;
        if !status.is_success() {
            let excerpt = self.excerpt(&text);
            return Err(Failure {
                message: if excerpt.is_empty() {
                    format!("HTTP {status}")
                } else {
                    format!("HTTP {status}: {excerpt}")
                },
                retry: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
                retry_after,
            });
        }
        serde_json::from_str(&text).map_err(|e| Failure {
            message: format!("response is not JSON ({e}): {}", self.excerpt(&text)),
            retry: false,
            retry_after: None,
        })
    }

    /// The start of a response body on one line, with the API key masked should it be echoed.
    fn excerpt(&self, text: &str) -> String {
        let mut line = text.split_whitespace().collect::<Vec<_>>().join(" ");
        if let Some(key) = self.settings.api_key.as_deref().filter(|k| k.len() >= 4) {
            line = line.replace(key, "<redacted>");
        }
        match line.char_indices().nth(BODY_EXCERPT) {
            Some((cut, _)) => format!("{}...", &line[..cut]),
            None => line,
        }
    }

    /// The vectors of a response, in input order, checked and normalised.
    fn parse(
        &self,
        value: &Value,
        expected: usize,
        dimension: Option<usize>,
    ) -> Result<Vec<Vec<f32>>, EmbedError> {
        let vectors: Vec<Vec<f32>> = match self.settings.provider {
            RemoteProvider::OpenAi => {
                let data = value["data"]
                    .as_array()
                    .ok_or_else(|| self.error("response has no `data` array"))?;
                let mut rows: Vec<(usize, Vec<f32>)> = Vec::with_capacity(data.len());
                for (position, item) in data.iter().enumerate() {
                    let index = match item.get("index") {
                        None => position,
                        Some(i) => i
                            .as_u64()
                            .map(|i| i as usize)
                            .ok_or_else(|| self.error("response item has an invalid `index`"))?,
                    };
                    rows.push((index, self.numbers(&item["embedding"])?));
                }
                rows.sort_by_key(|(index, _)| *index);
                if rows.iter().enumerate().any(|(i, (index, _))| i != *index)
                    && rows.len() == expected
                {
                    return Err(self.error(format!(
                        "response indices are not 0..{expected} (each input once)"
                    )));
                }
                rows.into_iter().map(|(_, v)| v).collect()
            }
            RemoteProvider::Ollama => value["embeddings"]
                .as_array()
                .ok_or_else(|| self.error("response has no `embeddings` array"))?
                .iter()
                .map(|v| self.numbers(v))
                .collect::<Result<_, _>>()?,
        };
        if vectors.len() != expected {
            return Err(self.error(format!(
                "sent {expected} texts, got {} vectors",
                vectors.len()
            )));
        }
        let dimension = dimension.or_else(|| vectors.first().map(Vec::len));
        let mut out = Vec::with_capacity(vectors.len());
        for mut vector in vectors {
            if Some(vector.len()) != dimension {
                return Err(self.error(format!(
                    "got a vector of dimension {}, expected {}",
                    vector.len(),
                    dimension.unwrap_or(0)
                )));
            }
            normalise(&mut vector);
            out.push(vector);
        }
        Ok(out)
    }

    fn numbers(&self, value: &Value) -> Result<Vec<f32>, EmbedError> {
        value
            .as_array()
            .ok_or_else(|| self.error("response vector is not an array of numbers"))?
            .iter()
            .map(|x| {
                x.as_f64()
                    .map(|x| x as f32)
                    .filter(|x| x.is_finite())
                    .ok_or_else(|| self.error("response vector holds a value that is not a number"))
            })
            .collect()
    }
}

/// Scales `vector` to unit length (a zero vector stays zero).
fn normalise(vector: &mut [f32]) {
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        vector.iter_mut().for_each(|x| *x /= norm);
    }
}

/// A reqwest error as one short line: the deepest cause says what went wrong (connection
/// refused, DNS failure, timed out), the URL is added by the caller.
pub(crate) fn error_text(e: &reqwest::Error) -> String {
    let mut causes = Vec::new();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        causes.push(cause.to_string());
        source = cause.source();
    }
    let detail = causes.last().cloned();
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else if e.is_body() || e.is_decode() {
        "cannot read the response"
    } else {
        "request failed"
    };
    match detail {
        Some(detail) if !detail.is_empty() && detail != kind => format!("{kind}: {detail}"),
        _ => kind.to_string(),
    }
}

impl Embedder for RemoteEmbedder {
    fn model_id(&self) -> &str {
        &self.id
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn preferred_batch(&self) -> usize {
        self.settings.batch_size.max(1)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.settings.batch_size.max(1)) {
            tracing::debug!(endpoint = %self.endpoint, texts = batch.len(), "embedding request");
            out.extend(self.request(batch, Some(self.dimension))?);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A request the fake server received.
    #[derive(Debug, Clone)]
    struct Seen {
        path: String,
        headers: Vec<(String, String)>,
        body: Value,
    }

    impl Seen {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }

        fn inputs(&self) -> usize {
            self.body["input"].as_array().map_or(0, Vec::len)
        }
    }

    /// (status, extra headers, body)
    type Reply = (u16, Vec<(&'static str, String)>, String);

    /// An HTTP/1.1 server on 127.0.0.1 answering every request with `answer(request number,
    /// request)`; returns its base URL and the requests it saw.
    fn serve(
        answer: impl Fn(usize, &Seen) -> Reply + Send + 'static,
    ) -> (String, Arc<Mutex<Vec<Seen>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.is_empty() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        headers.push((k.trim().to_string(), v.trim().to_string()));
                    }
                }
                let length = headers
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request = Seen {
                    path,
                    headers,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                };
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(request.clone());
                    log.len()
                };
                let (status, extra, body) = answer(n, &request);
                let mut response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (k, v) in extra {
                    response.push_str(&format!("{k}: {v}\r\n"));
                }
                response.push_str("\r\n");
                response.push_str(&body);
                let _ = stream.write_all(response.as_bytes());
            }
        });
        (url, seen)
    }

    /// A vector of `dim` values for input `i` (not unit length: the embedder normalises).
    fn vector(i: usize, dim: usize) -> Vec<f32> {
        (0..dim).map(|d| ((i + d) % 5) as f32 + 1.0).collect()
    }

    fn openai_reply(request: &Seen, dim: usize) -> Reply {
        let n = request.inputs();
        // Out of order on purpose: the client sorts by index.
        let data: Vec<Value> = (0..n)
            .rev()
            .map(|i| json!({ "object": "embedding", "index": i, "embedding": vector(i, dim) }))
            .collect();
        (
            200,
            vec![],
            json!({ "object": "list", "data": data }).to_string(),
        )
    }

    fn ollama_reply(request: &Seen, dim: usize) -> Reply {
        let vectors: Vec<Vec<f32>> = (0..request.inputs()).map(|i| vector(i, dim)).collect();
        (200, vec![], json!({ "embeddings": vectors }).to_string())
    }

    fn settings(provider: RemoteProvider, url: &str) -> RemoteSettings {
        RemoteSettings {
            url: Some(url.to_string()),
            retry_delays: vec![Duration::from_millis(10); 3],
            ..RemoteSettings::new(provider, "test-model")
        }
    }

    fn unit(v: &[f32]) -> bool {
        (v.iter().map(|x| x * x).sum::<f32>().sqrt() - 1.0).abs() < 1e-5
    }

    #[test]
    fn endpoints_accept_a_base_with_or_without_v1() {
        let e = |p: RemoteProvider, u: &str| p.endpoint(u);
        use RemoteProvider::*;
        assert_eq!(
            e(OpenAi, "https://api.openai.com"),
            "https://api.openai.com/v1/embeddings"
        );
        assert_eq!(e(OpenAi, "http://h:1/v1/"), "http://h:1/v1/embeddings");
        assert_eq!(
            e(OpenAi, "http://h:1/v1/embeddings"),
            "http://h:1/v1/embeddings"
        );
        assert_eq!(
            e(Ollama, "http://localhost:11434/"),
            "http://localhost:11434/api/embed"
        );
        assert_eq!(
            RemoteSettings::new(Ollama, "m").endpoint(),
            "http://localhost:11434/api/embed"
        );
        assert_eq!("OpenAI".parse::<RemoteProvider>(), Ok(OpenAi));
        assert!("local".parse::<RemoteProvider>().is_err());
    }

    #[test]
    fn openai_vectors_come_in_input_order_normalised_with_the_bearer_key() {
        let (url, seen) = serve(|_, r| openai_reply(r, 8));
        let mut s = settings(RemoteProvider::OpenAi, &format!("{url}/v1"));
        s.api_key = Some("sk-secret-key".into());
        let e = RemoteEmbedder::connect(s).unwrap();
        assert_eq!(e.dimension(), 8);
        assert_eq!(e.model_id(), "openai:test-model:8");
        let out = e.embed(&["a", "b", "c"]).unwrap();
        assert_eq!(out.len(), 3);
        for (i, v) in out.iter().enumerate() {
            assert!(unit(v));
            let mut want = vector(i, 8);
            normalise(&mut want);
            assert_eq!(v, &want, "vector {i} out of order");
        }
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 2, "probe + one batch");
        let last = &seen[1];
        assert_eq!(last.path, "/v1/embeddings");
        assert_eq!(last.header("authorization"), Some("Bearer sk-secret-key"));
        assert_eq!(last.body["model"], "test-model");
        assert_eq!(last.body["input"], json!(["a", "b", "c"]));
        assert!(!format!("{e:?}").contains("secret"));
    }

    #[test]
    fn no_key_no_authorization_header() {
        let (url, seen) = serve(|_, r| openai_reply(r, 4));
        RemoteEmbedder::connect(settings(RemoteProvider::OpenAi, &url)).unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen[0].path, "/v1/embeddings");
        assert_eq!(seen[0].header("authorization"), None);
    }

    #[test]
    fn ollama_responses_parse() {
        let (url, seen) = serve(|_, r| ollama_reply(r, 5));
        let e = RemoteEmbedder::connect(settings(RemoteProvider::Ollama, &url)).unwrap();
        assert_eq!(e.model_id(), "ollama:test-model:5");
        let out = e.embed(&["x", "y"]).unwrap();
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(|v| v.len() == 5 && unit(v)));
        let seen = seen.lock().unwrap();
        assert_eq!(seen[1].path, "/api/embed");
        assert_eq!(seen[1].body["input"], json!(["x", "y"]));
        assert_eq!(seen[1].body["model"], "test-model");
    }

    #[test]
    fn texts_are_sent_in_batches_of_at_most_64() {
        let (url, seen) = serve(|_, r| openai_reply(r, 4));
        let e = RemoteEmbedder::connect(settings(RemoteProvider::OpenAi, &url)).unwrap();
        let texts: Vec<String> = (0..150).map(|i| format!("text {i}")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let out = e.embed(&refs).unwrap();
        assert_eq!(out.len(), 150);
        let seen = seen.lock().unwrap();
        let sizes: Vec<usize> = seen[1..].iter().map(Seen::inputs).collect();
        assert_eq!(sizes, [64, 64, 22]);
        assert_eq!(seen[3].body["input"][0], "text 128");
        assert!(e.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_503_is_retried_then_succeeds() {
        // Request 1 is the probe; request 2 fails with 503 (asking for a short wait), 3 passes.
        let (url, seen) = serve(|n, r| match n {
            2 => (503, vec![("retry-after", "0".into())], "busy".into()),
            _ => ollama_reply(r, 3),
        });
        let e = RemoteEmbedder::connect(settings(RemoteProvider::Ollama, &url)).unwrap();
        assert_eq!(e.embed(&["a"]).unwrap().len(), 1);
        assert_eq!(seen.lock().unwrap().len(), 3);
    }

    #[test]
    fn a_401_is_not_retried_and_says_why() {
        let (url, seen) = serve(|_, _| {
            (
                401,
                vec![],
                r#"{"error": {"message": "Incorrect API key provided: sk-wrong-key"}}"#.into(),
            )
        });
        let mut s = settings(RemoteProvider::OpenAi, &url);
        s.api_key = Some("sk-wrong-key".into());
        let err = RemoteEmbedder::connect(s).unwrap_err().to_string();
        assert_eq!(seen.lock().unwrap().len(), 1, "no retry on 401");
        assert!(err.contains(&format!("{url}/v1/embeddings")), "{err}");
        assert!(
            err.contains("401") && err.contains("Incorrect API key"),
            "{err}"
        );
        assert!(!err.contains("sk-wrong-key"), "the key leaked: {err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn persistent_5xx_gives_up_after_the_retries() {
        let (url, seen) = serve(|_, _| (500, vec![], "boom".into()));
        let err = RemoteEmbedder::connect(settings(RemoteProvider::Ollama, &url))
            .unwrap_err()
            .to_string();
        assert_eq!(seen.lock().unwrap().len(), 4);
        assert!(
            err.contains("500") && err.contains("boom") && err.contains("4 attempts"),
            "{err}"
        );
    }

    #[test]
    fn wrong_dimension_or_count_is_an_error() {
        // The probe learns 4; later answers have 3 values, or one vector too few.
        let (url, _) = serve(|n, r| match n {
            1 => ollama_reply(r, 4),
            2 => ollama_reply(r, 3),
            _ => (
                200,
                vec![],
                json!({ "embeddings": [vector(0, 4)] }).to_string(),
            ),
        });
        let e = RemoteEmbedder::connect(settings(RemoteProvider::Ollama, &url)).unwrap();
        let err = e.embed(&["a"]).unwrap_err().to_string();
        assert!(err.contains("dimension 3, expected 4"), "{err}");
        let err = e.embed(&["a", "b"]).unwrap_err().to_string();
        assert!(err.contains("sent 2 texts, got 1 vectors"), "{err}");
    }

    #[test]
    fn malformed_responses_are_errors() {
        let (url, _) = serve(|n, r| match n {
            1 => openai_reply(r, 2),
            2 => (200, vec![], "not json".into()),
            3 => (
                200,
                vec![],
                r#"{"data": [{"index": 0, "embedding": ["x"]}]}"#.into(),
            ),
            _ => (
                200,
                vec![],
                r#"{"data": [{"index": 1, "embedding": [1, 2]}]}"#.into(),
            ),
        });
        let e = RemoteEmbedder::connect(settings(RemoteProvider::OpenAi, &url)).unwrap();
        assert!(e
            .embed(&["a"])
            .unwrap_err()
            .to_string()
            .contains("not JSON"));
        assert!(e
            .embed(&["a"])
            .unwrap_err()
            .to_string()
            .contains("not a number"));
        assert!(e.embed(&["a"]).unwrap_err().to_string().contains("indices"));
    }

    #[test]
    fn an_unreachable_server_is_a_clear_error() {
        // A port that was just free: nothing listens there.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let err = RemoteEmbedder::connect(settings(RemoteProvider::OpenAi, &url))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("{url}/v1/embeddings")), "{err}");
        assert!(err.contains("cannot connect"), "{err}");
        assert!(err.contains("after 4 attempts"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }
}
