//! Streamable HTTP transport at `/mcp`, with the safety the MCP specification asks of local
//! servers: loopback only unless allowed (then a bearer token is required), `Origin` and
//! `Host` checked against DNS rebinding, a request body limit, and the address (and token)
//! written to `server.json` in the data directory (mode 0600) for the CLI. The status page,
//! its API and `/metrics` ([`crate::web`]) sit behind the same guard.

use crate::CodeIntel;
use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::{StreamableHttpServerConfig, StreamableHttpService};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Where `serve --http` listens when no address is given.
pub const DEFAULT_HTTP_ADDR: &str = "127.0.0.1:7437";
/// Largest request body accepted (JSON-RPC messages are small).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// How to serve over HTTP.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// The address to listen on (port 0 picks a free one).
    pub addr: SocketAddr,
    /// Required as `Authorization: Bearer <token>` on every request when set.
    pub token: Option<String>,
    /// Permit a non-loopback bind (needs a token).
    pub allow_remote: bool,
}

impl HttpOptions {
    /// A non-loopback address needs `allow_remote` and a token.
    pub fn validate(&self) -> Result<(), String> {
        let remote_ok = self.allow_remote && self.token.is_some();
        if self.addr.ip().is_loopback() || remote_ok {
            Ok(())
        } else {
            Err(format!(
                "refusing to listen on {} (not loopback): pass --allow-remote and a token (--token or CODEINTEL_HTTP_TOKEN)",
                self.addr
            ))
        }
    }
}

/// What `server.json` holds, for the CLI to find a running server.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ServerFile {
    /// The MCP endpoint, `http://ADDR/mcp`.
    pub url: String,
    /// The server's process id (a file whose process is gone is stale).
    pub pid: u32,
    /// The bearer token the server requires, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl ServerFile {
    /// Where the file lives in `data_dir`.
    pub fn path_in(data_dir: &Path) -> PathBuf {
        data_dir.join("server.json")
    }

    /// The file in `data_dir`, if there is a readable one.
    pub fn read(data_dir: &Path) -> Option<ServerFile> {
        let text = std::fs::read_to_string(Self::path_in(data_dir)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Writes the file atomically with mode 0600 (it may hold a token).
    fn write(&self, data_dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(data_dir)?;
        let tmp = data_dir.join(format!(".server.json.{}", std::process::id()));
        {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&tmp)?;
            std::io::Write::write_all(&mut file, serde_json::to_string_pretty(self)?.as_bytes())?;
        }
        std::fs::rename(&tmp, Self::path_in(data_dir))
    }

    /// Removes the file if it is still this process's.
    fn remove_if_mine(data_dir: &Path) {
        if ServerFile::read(data_dir).is_some_and(|f| f.pid == std::process::id()) {
            let _ = std::fs::remove_file(Self::path_in(data_dir));
        }
    }
}

/// Whether an `Origin` header value names a loopback host.
fn loopback_origin(origin: &str) -> bool {
    if origin == "null" {
        return false;
    }
    let rest = origin.split_once("://").map_or(origin, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']')
            .next()
            .map(|h| format!("[{h}]"))
            .unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or("").to_string()
    };
    matches!(
        host.to_ascii_lowercase().as_str(),
        "localhost" | "127.0.0.1" | "[::1]"
    )
}

fn reject(status: StatusCode, message: &str) -> Response {
    (status, message.to_string()).into_response()
}

/// What the guard checks.
struct GuardRules {
    token: Option<String>,
    /// On a loopback bind the `Host` must name a loopback host, as rmcp checks for `/mcp`: a
    /// page on a rebound DNS name reaches the port but names its own host. A remote bind's
    /// names are not known here; the token guards it.
    check_host: bool,
}

/// `%XX` escapes decoded (a token in the page's address).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = || std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok();
        match (bytes[i], hex().and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The token a request carries: the bearer header, or, for the page itself only (a browser
/// cannot add a header to the address it opens), `?token=` on `GET /`. The page then sends
/// the header on its own requests, so nothing that changes state accepts a token from a URL.
fn given_token(request: &Request) -> Option<String> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = header {
        return Some(token.to_string());
    }
    if request.method() != axum::http::Method::GET || request.uri().path() != "/" {
        return None;
    }
    request.uri().query()?.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == "token").then(|| percent_decode(value))
    })
}

async fn guard(rules: Arc<GuardRules>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let ok = origin.to_str().map(loopback_origin).unwrap_or(false);
        if !ok {
            return reject(StatusCode::FORBIDDEN, "origin not allowed");
        }
    }
    if rules.check_host {
        if let Some(host) = request.headers().get(header::HOST) {
            if !host.to_str().map(loopback_origin).unwrap_or(false) {
                return reject(StatusCode::FORBIDDEN, "host not allowed");
            }
        }
    }
    if let Some(expected) = rules.token.as_deref() {
        if given_token(&request).as_deref() != Some(expected) {
            return reject(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
        }
    }
    next.run(request).await
}

/// The status page's address for a server's `/mcp` URL, with the token (for the browser,
/// which cannot send a header) when one is set.
pub fn page_url(mcp_url: &str, token: Option<&str>) -> String {
    let base = mcp_url.strip_suffix("/mcp").unwrap_or(mcp_url);
    match token {
        Some(token) => {
            let mut escaped = String::new();
            for b in token.bytes() {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    escaped.push(b as char);
                } else {
                    escaped.push_str(&format!("%{b:02X}"));
                }
            }
            format!("{base}/?token={escaped}")
        }
        None => format!("{base}/"),
    }
}

/// Serves MCP over streamable HTTP at `/mcp` until `shutdown` is cancelled.
pub async fn serve_http(
    server: CodeIntel,
    options: HttpOptions,
    data_dir: &Path,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    options.validate().map_err(anyhow::Error::msg)?;
    let remote = !options.addr.ip().is_loopback();
    let listener = tokio::net::TcpListener::bind(options.addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", options.addr))?;
    let local = listener.local_addr()?;
    // A response leaves in several writes; with Nagle's algorithm the last one waits for the
    // client's delayed ACK (~40 ms for Node clients, which do not answer at once).
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%e, "cannot set TCP_NODELAY on an accepted connection");
        }
    });
    let mut config = StreamableHttpServerConfig::default();
    config.cancellation_token = shutdown.child_token();
    config.max_request_body_bytes = MAX_BODY_BYTES;
    // Stateless: every request stands alone, so a restarted server keeps answering the clients
    // of the old one (with sessions they got "Session not found" until reconnected). Nothing
    // here needs a session: progress of a call goes out on that call's own response stream.
    config.legacy_session_mode = false;
    config.json_response = true;
    if remote {
        // Host names of a remote deployment are not known here; the token guards it.
        config.allowed_hosts = Vec::new();
    }
    let pages = crate::web::routes(server.clone(), data_dir.to_path_buf());
    let service = StreamableHttpService::new(
        move || Ok(server.clone()),
        Arc::new(NeverSessionManager::default()),
        config,
    );
    let rules = Arc::new(GuardRules {
        token: options.token.clone(),
        check_host: !remote,
    });
    let router = axum::Router::new()
        .nest_service("/mcp", service)
        .merge(pages)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let rules = rules.clone();
            async move { guard(rules, req, next).await }
        }));
    let url = format!("http://{local}/mcp");
    ServerFile {
        url: url.clone(),
        pid: std::process::id(),
        token: options.token.clone(),
    }
    .write(data_dir)
    .map_err(|e| {
        anyhow::anyhow!(
            "cannot write {}: {e}",
            ServerFile::path_in(data_dir).display()
        )
    })?;
    tracing::info!(%url, "MCP server listening");
    eprintln!("codeintel MCP server at {url}");
    eprintln!("codeintel status page at {}", page_url(&url, None));
    let stop = shutdown.clone();
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    ServerFile::remove_if_mine(data_dir);
    Ok(served?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_origins_pass() {
        for ok in [
            "http://localhost:3000",
            "http://127.0.0.1",
            "https://[::1]:8080",
            "http://LOCALHOST",
        ] {
            assert!(loopback_origin(ok), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "http://localhost.evil.example",
            "null",
            "http://127.0.0.2",
            "http://[::2]",
        ] {
            assert!(!loopback_origin(bad), "{bad}");
        }
        for host in ["127.0.0.1:7437", "localhost", "[::1]:80"] {
            assert!(loopback_origin(host), "{host}");
        }
        assert!(!loopback_origin("evil.example:7437"));
    }

    #[test]
    fn page_urls_carry_an_escaped_token_that_decodes_back() {
        assert_eq!(
            page_url("http://127.0.0.1:7437/mcp", None),
            "http://127.0.0.1:7437/"
        );
        let url = page_url("http://127.0.0.1:1/mcp", Some("a b&c=d/é"));
        assert_eq!(url, "http://127.0.0.1:1/?token=a%20b%26c%3Dd%2F%C3%A9");
        let query = url.split_once("token=").map(|(_, q)| q).unwrap_or_default();
        assert_eq!(percent_decode(query), "a b&c=d/é");
    }
}
