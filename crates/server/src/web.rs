//! The status page and its JSON API, and `/metrics`, beside `/mcp` on the HTTP server (and
//! behind the same guard: Host and Origin checks, the token when one is set).
//!
//! - `GET /`: the page (one inline HTML file, no external assets);
//! - `GET /api/status`: the `get_auto_sync_status` tool's JSON; `GET /api/page`: what the page
//!   polls (the full status, the syncer's activity, resource use);
//! - `POST /api/pause`, `/api/resume`, `/api/scan`, `/api/search`: the page's buttons and
//!   search box, through the same MCP tools as any client. State changes only by POST, and
//!   only with a `Content-Type: application/json` body: a cross-site form cannot send one
//!   (it would need a CORS preflight, which is never granted), so these are CSRF-safe;
//! - `GET /metrics`: Prometheus text exposition ([`crate::metrics`]).

use crate::metrics::Snapshot;
use crate::resources::Resources;
use crate::CodeIntel;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The page: HTML, CSS and script in one file, compiled in.
const PAGE: &str = include_str!("status_page.html");

/// How long per-repository embedding counts are reused: counting a repository's vectors is a
/// query each, too many to repeat on every poll of a page over a thousand repositories.
const EMBEDDED_TTL: Duration = Duration::from_secs(5);

/// Per-repository embedded chunks of one model, and when they were counted.
type EmbeddedCounts = Option<(Instant, String, Arc<BTreeMap<String, u64>>)>;

/// What the handlers share.
#[derive(Clone)]
struct Web {
    server: CodeIntel,
    data_dir: Arc<PathBuf>,
    embedded: Arc<Mutex<EmbeddedCounts>>,
}

/// The routes of the page, its API and `/metrics`.
pub(crate) fn routes(server: CodeIntel, data_dir: PathBuf) -> Router {
    let web = Web {
        server,
        data_dir: Arc::new(data_dir),
        embedded: Arc::default(),
    };
    Router::new()
        .route("/", get(page))
        .route("/metrics", get(metrics))
        .route("/api/status", get(api_status))
        .route("/api/page", get(api_page))
        .route(
            "/api/pause",
            post(|w, h, b| tool(w, h, b, "pause_auto_sync")),
        )
        .route(
            "/api/resume",
            post(|w, h, b| tool(w, h, b, "resume_auto_sync")),
        )
        .route(
            "/api/scan",
            post(|w, h, b| tool(w, h, b, "trigger_repository_scan")),
        )
        .route("/api/search", post(|w, h, b| tool(w, h, b, "search_code")))
        .with_state(web)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    no_store(response)
}

fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

fn failure(status: StatusCode, message: impl Into<String>) -> Response {
    json_response(status, &json!({ "error": message.into() }))
}

async fn page() -> Response {
    let mut response = (StatusCode::OK, PAGE).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Nothing but the page itself loads (it works offline), and no other site may frame it
    // (its buttons change state: no clickjacking).
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
             connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; \
             frame-ancestors 'none'",
        ),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    no_store(response)
}

/// Runs store reads on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Response> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        failure(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("task failed: {e}"),
        )
    })
}

/// What the page (`full`: with every repository and its counts) and `/metrics` show, read
/// once.
fn snapshot(web: &Web, full: bool) -> anyhow::Result<Snapshot> {
    let manager = &web.server.manager;
    let read = if full {
        manager.status().and_then(|s| Ok((s, manager.activity()?)))
    } else {
        manager.summary()
    };
    let (status, activity) = read.map_err(|e| anyhow::anyhow!("cannot read the status: {e}"))?;
    let resources = Resources::read(
        &web.data_dir,
        status.syncer_pid,
        web.server.store.size_bytes(),
    );
    Ok(Snapshot {
        status,
        activity,
        resources,
    })
}

async fn metrics(State(web): State<Web>) -> Response {
    let telemetry = web.server.telemetry.clone();
    let rendered = blocking(move || {
        let snap = snapshot(&web, false)?;
        telemetry
            .render(snap)
            .map_err(|e| anyhow::anyhow!("cannot encode the metrics: {e}"))
    })
    .await;
    match rendered {
        Ok(Ok(text)) => {
            let mut response = (StatusCode::OK, text).into_response();
            response.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
                ),
            );
            no_store(response)
        }
        Ok(Err(e)) => {
            tracing::warn!("/metrics: {e:#}");
            failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}"))
        }
        Err(response) => response,
    }
}

async fn api_status(State(web): State<Web>) -> Response {
    match web
        .server
        .call_for_page("get_auto_sync_status", json!({}))
        .await
    {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e),
    }
}

/// Embedded chunks per repository name for `model`, counted at most every [`EMBEDDED_TTL`].
fn embedded_counts(web: &Web, model: &str) -> Arc<BTreeMap<String, u64>> {
    let mut cache = web.embedded.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, m, counts)) = cache.as_ref() {
        if m == model && at.elapsed() < EMBEDDED_TTL {
            return counts.clone();
        }
    }
    let store = &web.server.store;
    let mut counts = BTreeMap::new();
    match store.repositories() {
        Ok(repos) => {
            for r in repos {
                match store.embedded_chunks(Some(model), Some(r.record.id)) {
                    Ok(n) => {
                        counts.insert(r.record.name, n);
                    }
                    Err(e) => tracing::debug!(%e, "cannot count a repository's vectors"),
                }
            }
        }
        Err(e) => tracing::debug!(%e, "cannot list repositories for the page"),
    }
    let counts = Arc::new(counts);
    *cache = Some((Instant::now(), model.to_string(), counts.clone()));
    counts
}

/// `?since=V`: the page holds the repository list of states version V; while the syncer's
/// version is still V the answer leaves the list out (`repositories_unchanged`), so an open
/// page over many repositories costs little while nothing changes.
async fn api_page(State(web): State<Web>, uri: axum::http::Uri) -> Response {
    let since: Option<u64> = uri.query().and_then(|q| {
        q.split('&')
            .find_map(|p| p.strip_prefix("since="))
            .and_then(|v| v.parse().ok())
    });
    let read = blocking(move || {
        let version = web
            .server
            .manager
            .activity()
            .map_err(|e| anyhow::anyhow!("cannot read the auto-sync activity: {e}"))?
            .states_version;
        let unchanged = version > 0 && since == Some(version);
        let snap = snapshot(&web, !unchanged)?;
        let embedded = match &snap.status.embeddings {
            Some(e) if !unchanged => embedded_counts(&web, &e.model),
            _ => Arc::default(),
        };
        Ok::<_, anyhow::Error>((snap, embedded, unchanged, version))
    })
    .await;
    match read {
        Ok(Ok((snap, embedded, unchanged, version))) => json_response(
            StatusCode::OK,
            &json!({
                "status": snap.status,
                "activity": snap.activity,
                "resources": snap.resources,
                "embedded": *embedded,
                "repositories_unchanged": unchanged,
                "repositories_version": version,
                "now": humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            }),
        ),
        Ok(Err(e)) => failure(StatusCode::INTERNAL_SERVER_ERROR, format!("{e:#}")),
        Err(response) => response,
    }
}

/// Whether the request says its body is JSON (`application/json`, parameters allowed).
fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"))
}

/// A page action: a POST with a JSON object body, answered by the MCP tool of that name.
async fn tool(
    State(web): State<Web>,
    headers: HeaderMap,
    body: Bytes,
    name: &'static str,
) -> Response {
    if !is_json(&headers) {
        return failure(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send a JSON body with Content-Type: application/json",
        );
    }
    let args: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return failure(StatusCode::BAD_REQUEST, "the body must be a JSON object"),
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                format!("the body is not JSON: {e}"),
            )
        }
    };
    match web.server.call_for_page(name, args).await {
        Ok(value) => json_response(StatusCode::OK, &value),
        Err(e) => failure(StatusCode::BAD_REQUEST, e),
    }
}
