//! The MCP server: codeintel's tools for AI assistants, over stdio or streamable HTTP.
//!
//! Thin over `codeintel-sync` and `codeintel-index`: [`CodeIntel`] holds the store and the
//! auto-sync manager and turns tool calls into their calls. The server answers `initialize`
//! at once; auto-sync is started by the caller after the transport is up, so the handshake
//! never waits for indexing.

#![deny(missing_docs)]

mod http;
mod metrics;
mod page;
mod paths;
mod resources;
mod schemas;
mod tools;
mod web;

pub use http::{page_url, serve_http, HttpOptions, ServerFile, DEFAULT_HTTP_ADDR};
pub use tools::{unfinished_note, CodeIntel, MAX_FILE_LINES, MAX_RESULT_CHARS};

use rmcp::model::{Implementation, ServerCapabilities, ServerConfig};
use rmcp::{tool_handler, ServerHandler, ServiceExt};

const INSTRUCTIONS: &str = "codeintel indexes every code repository under the configured folders and keeps the index fresh. \
Use search_code to find code by words or identifiers, find_symbol to jump to a definition, and get_file to read lines. \
list_repositories and get_auto_sync_status show what is indexed and how fresh it is.";

#[tool_handler(router = self.tool_router)]
impl ServerHandler for CodeIntel {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("codeintel", env!("CARGO_PKG_VERSION")))
            .with_instructions(INSTRUCTIONS)
    }
}

/// Serves MCP over stdin/stdout until the client closes the connection or `shutdown` is
/// cancelled. Nothing but protocol is written to stdout. `after_handshake` runs once the client
/// is initialized (that is where auto-sync starts, so it never delays the handshake).
pub async fn serve_stdio(
    server: CodeIntel,
    shutdown: tokio_util::sync::CancellationToken,
    after_handshake: impl FnOnce(),
) -> anyhow::Result<()> {
    let running = server.serve(rmcp::transport::stdio()).await?;
    after_handshake();
    let cancel = running.cancellation_token();
    tokio::select! {
        done = running.waiting() => { done?; }
        _ = shutdown.cancelled() => cancel.cancel(),
    }
    Ok(())
}
