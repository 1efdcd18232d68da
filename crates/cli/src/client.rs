//! Talking to a running `codeintel serve --http` through MCP, for the control commands.
//! `server.json` in the data directory says where it is.

use codeintel_server::ServerFile;
use rmcp::model::CallToolRequestParams;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::ServiceExt;
use serde_json::Value;
use std::path::Path;
use std::time::Duration;

/// How long a server has to answer before the command gives up.
fn timeout() -> Duration {
    std::env::var("CODEINTEL_SERVER_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(Duration::from_millis)
        .unwrap_or(Duration::from_secs(10))
}

/// Why a call to the server failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Nothing listens there (a stale `server.json`): act without a server.
    #[error("no server at {0}")]
    NotRunning(String),
    #[error("the server at {url} did not answer within {secs} s")]
    Timeout { url: String, secs: u64 },
    #[error("the server at {url} answered something that is not MCP: {detail}")]
    Garbage { url: String, detail: String },
    #[error("the server refused: {0}")]
    Tool(String),
}

/// The server `server.json` names, if its process is alive.
pub fn running_server(data_dir: &Path) -> Option<ServerFile> {
    let file = ServerFile::read(data_dir)?;
    let alive = if cfg!(target_os = "linux") {
        Path::new(&format!("/proc/{}", file.pid)).exists()
    } else {
        true
    };
    alive.then_some(file)
}

fn reachable(url: &str) -> bool {
    let authority = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    authority
        .parse::<std::net::SocketAddr>()
        .map(|addr| std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok())
        .unwrap_or(false)
}

/// Calls one tool and returns its structured result.
pub fn call_tool(server: &ServerFile, tool: &str, args: Value) -> Result<Value, ClientError> {
    if !reachable(&server.url) {
        return Err(ClientError::NotRunning(server.url.clone()));
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Garbage {
            url: server.url.clone(),
            detail: e.to_string(),
        })?;
    let limit = timeout();
    let url = server.url.clone();
    let garbage = |detail: String| ClientError::Garbage {
        url: url.clone(),
        detail,
    };
    runtime.block_on(async {
        let work = async {
            let mut config = StreamableHttpClientTransportConfig::with_uri(server.url.clone());
            if let Some(token) = &server.token {
                config = config.auth_header(token.clone());
            }
            let transport =
                StreamableHttpClientTransport::with_client(reqwest::Client::new(), config);
            let client = ().serve(transport).await.map_err(|e| garbage(e.to_string()))?;
            let args = args.as_object().cloned().unwrap_or_default();
            let result = client
                .call_tool(CallToolRequestParams::new(tool.to_string()).with_arguments(args))
                .await
                .map_err(|e| garbage(e.to_string()));
            let _ = client.cancel().await;
            let result = result?;
            if result.is_error == Some(true) {
                // A tool error's message is its text content.
                let message = result
                    .content
                    .first()
                    .and_then(|c| c.as_text())
                    .map_or_else(|| "tool error".to_string(), |t| t.text.clone());
                return Err(ClientError::Tool(message));
            }
            result
                .structured_content
                .clone()
                .ok_or_else(|| garbage("no structured content".into()))
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => Err(ClientError::Timeout {
                url: server.url.clone(),
                secs: limit.as_secs().max(1),
            }),
        }
    })
}
