//! A fake embedding provider for the tests: an OpenAI- or Ollama-shaped server in the test
//! process that answers bag-of-words vectors (a query shares direction with the chunks that
//! share its words), and URLs where nothing listens.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

pub const DIM: usize = 64;

/// A bag-of-words vector: each word of three letters or more adds one to a hashed slot.
pub fn bag_of_words(text: &str) -> Vec<f32> {
    let mut v = vec![0.0f32; DIM];
    for word in text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| w.len() >= 3)
    {
        let hash = word
            .to_ascii_lowercase()
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        v[(hash % DIM as u64) as usize] += 1.0;
    }
    v[0] += 0.01;
    v
}

/// What the fake server saw: (path, authorization header, number of inputs).
pub type Log = Arc<Mutex<Vec<(String, Option<String>, usize)>>>;

/// An OpenAI- or Ollama-shaped embedding server on 127.0.0.1; returns its base URL.
pub fn fake_provider(ollama: bool) -> (String, Log) {
    fake_provider_on(TcpListener::bind("127.0.0.1:0").expect("bind"), ollama)
}

/// The fake server, answering on `listener`.
pub fn fake_provider_on(listener: TcpListener, ollama: bool) -> (String, Log) {
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let log: Log = Arc::default();
    let seen = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let Ok(clone) = stream.try_clone() else {
                continue;
            };
            let mut reader = BufReader::new(clone);
            let mut first = String::new();
            if reader.read_line(&mut first).is_err() {
                continue;
            }
            let path = first.split_whitespace().nth(1).unwrap_or("").to_string();
            let (mut length, mut auth) = (0usize, None);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() || line.trim().is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    match k.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = v.trim().parse().unwrap_or(0),
                        "authorization" => auth = Some(v.trim().to_string()),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let inputs: Vec<String> = request["input"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|t| t.as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((path, auth, inputs.len()));
            let vectors: Vec<Vec<f32>> = inputs.iter().map(|t| bag_of_words(t)).collect();
            let answer = if ollama {
                json!({ "model": request["model"], "embeddings": vectors })
            } else {
                let data: Vec<Value> = vectors
                    .iter()
                    .enumerate()
                    .map(|(i, v)| json!({ "object": "embedding", "index": i, "embedding": v }))
                    .collect();
                json!({ "object": "list", "data": data, "model": request["model"] })
            }
            .to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, log)
}

/// A URL where nothing listens (a port that was free a moment ago).
pub fn dead_url() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    format!("http://127.0.0.1:{port}")
}

/// The environment that points codeintel at a provider (the fake one, or a dead URL).
pub fn provider_env<'a>(provider: &'a str, url: &'a str) -> [(&'static str, &'a str); 3] {
    [
        ("CODEINTEL_EMBED_PROVIDER", provider),
        ("CODEINTEL_EMBED_URL", url),
        ("CODEINTEL_EMBED_MODEL", "fake-embedder"),
    ]
}
