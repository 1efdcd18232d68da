//! The MCP tools. Each validates its arguments, does its work through the index or the
//! auto-sync manager (blocking work on the blocking pool), and answers JSON as text content and
//! as structured content. Bad input is a tool error with a clear message; nothing in the store
//! changes on a failed call.

use crate::paths;
use codeintel_index::embed::EmbedderSlot;
use codeintel_index::{
    IndexStore, RepositorySync, SearchMode, SearchRequest, SyncError, SyncOptions, SyncProgress,
};
use codeintel_sync::{AutoSyncManager, ConfigUpdate};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_router, ErrorData, RoleServer};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Results larger than this many characters are cut, with a note: assistants abandon tools
/// that flood them.
pub const MAX_RESULT_CHARS: usize = 60_000;
/// Lines `get_file` returns at most per call.
pub const MAX_FILE_LINES: usize = 2000;
/// Repositories listed in full by status tools before the rest are summarized.
const MAX_LISTED_REPOS: usize = 500;

/// The MCP server: tools over one store and one auto-sync manager.
#[derive(Clone)]
pub struct CodeIntel {
    pub(crate) store: Arc<IndexStore>,
    pub(crate) manager: Arc<AutoSyncManager>,
    /// Embeds queries for semantic and hybrid search, when a model is configured.
    pub(crate) embedder: Arc<EmbedderSlot>,
    pub(crate) tool_router: ToolRouter<Self>,
}

type ToolResult = Result<CallToolResult, ErrorData>;

/// A tool error the model can read and act on.
fn fail(message: impl Into<String>) -> ToolResult {
    let message = message.into();
    Ok(CallToolResult::structured_error(
        json!({ "error": message }),
    ))
}

/// Success with `value` as structured content (an object, as MCP requires).
fn answer(value: Value) -> ToolResult {
    let value = match value {
        Value::Object(_) => value,
        other => json!({ "result": other }),
    };
    Ok(CallToolResult::structured(value))
}

/// Keeps the first items of `items` whose JSON fits in the character budget.
fn capped(items: Vec<Value>, budget: usize) -> (Vec<Value>, bool) {
    let mut used = 0;
    let total = items.len();
    let mut kept = Vec::new();
    for item in items {
        used += item.to_string().len();
        if used > budget && !kept.is_empty() {
            break;
        }
        kept.push(item);
    }
    let cut = kept.len() < total;
    (kept, cut)
}

fn check_limit(limit: Option<i64>, default: usize, max: usize) -> Result<usize, String> {
    match limit {
        None => Ok(default),
        Some(n) if n >= 1 && n as u64 <= max as u64 => Ok(n as usize),
        Some(n) => Err(format!("limit must be between 1 and {max}, got {n}")),
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ErrorData> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ErrorData::internal_error(format!("task failed: {e}"), None))
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct SearchArgs {
    /// What to look for. Lexical mode: words or identifiers (`parse config` also finds
    /// parseConfig and parse_config). Exact: a literal substring. Regex: a regular expression.
    pub query: String,
    /// Only this repository (name from list_repositories, or its path).
    pub repository: Option<String>,
    /// Only this language: python, javascript, typescript, java, go, rust, ruby, php, csharp,
    /// cpp, c, markdown, json, yaml, ...
    pub language: Option<String>,
    /// Only paths (relative to the repository root) matching this glob, e.g. `src/**/*.rs`.
    pub path: Option<String>,
    /// Most results to return, 1 to 100 (default 10).
    pub limit: Option<i64>,
    /// lexical (BM25 over identifier-aware terms), semantic (by meaning), hybrid (both fused;
    /// the default where embeddings exist), exact, or regex.
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct FindSymbolArgs {
    /// Symbol name: exact matches first, then names starting with it, then containing it.
    pub name: String,
    /// Only this kind: function, method, class, struct, interface, trait, enum, impl, module,
    /// type, macro.
    pub kind: Option<String>,
    /// Only this repository (name or path).
    pub repository: Option<String>,
    /// Most results, 1 to 100 (default 20).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct GetFileArgs {
    /// File path: absolute, or relative to `repository`. Only files inside indexed
    /// repositories can be read.
    pub path: String,
    /// First line to return (1-based, default 1).
    pub start_line: Option<i64>,
    /// Last line to return (inclusive; default: start_line + 1999 or the end of the file).
    pub end_line: Option<i64>,
    /// Repository (name or path) that a relative `path` is inside.
    pub repository: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct IndexArgs {
    /// Absolute path of the folder to index (it must be inside a configured scan path or an
    /// indexed repository). Indexed even when it has few files.
    pub path: String,
    /// Name to store it under (default: the folder name).
    pub name: Option<String>,
    /// Reread every file instead of only changed ones.
    pub full: Option<bool>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct RepositoryArgs {
    /// Repository name (from list_repositories) or absolute path.
    pub repository: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct ConfigureArgs {
    /// Folders to scan for repositories (absolute paths; replaces the current list).
    pub scan_paths: Option<Vec<String>>,
    /// Folder names, globs or relative paths to skip, added to the built-in excludes
    /// (replaces the current extra list).
    pub exclude_patterns: Option<Vec<String>>,
    /// Seconds between discovery scans (at least 1).
    pub scan_interval: Option<i64>,
    /// Repositories synced at the same time (1 to 64).
    pub max_concurrent: Option<i64>,
    /// Languages whose repositories are synced first, in order.
    pub priority_languages: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
pub struct NoArgs {}

#[tool_router(vis = "pub(crate)")]
impl CodeIntel {
    pub fn new(
        store: Arc<IndexStore>,
        manager: Arc<AutoSyncManager>,
        embedder: Arc<EmbedderSlot>,
    ) -> Self {
        CodeIntel {
            store,
            manager,
            embedder,
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        description = "Search all indexed code. Use this first to find where something is implemented or used: give words or identifiers (`retry failed upload`, `parseConfig`). Returns matching chunks (functions, classes, text windows) with repository, path, line range, symbol and a numbered snippet, best first. Use mode=exact for a literal string with punctuation, mode=regex for a pattern."
    )]
    async fn search_code(&self, Parameters(args): Parameters<SearchArgs>) -> ToolResult {
        let limit = match check_limit(args.limit, 10, 100) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        if args.query.trim().is_empty() {
            return fail("query is empty: give words, a literal or a pattern");
        }
        let mode = match args
            .mode
            .as_deref()
            .map(str::parse::<SearchMode>)
            .transpose()
        {
            Ok(mode) => mode,
            Err(e) => return fail(e),
        };
        // A provider that was down may be up now (this process may not be the syncer, whose
        // worker retries it): try again in the background, at most once per retry interval.
        // This search does not wait for the attempt (with the provider still down it takes
        // seconds of retries); a later one finds the embedder.
        let may_embed = !matches!(
            mode,
            Some(SearchMode::Lexical | SearchMode::Exact | SearchMode::Regex)
        );
        if may_embed && self.embedder.may_connect() {
            let slot = self.embedder.clone();
            tokio::task::spawn_blocking(move || slot.connect());
        }
        let embedder = self.embedder.get();
        if embedder.is_none() && matches!(mode, Some(SearchMode::Semantic | SearchMode::Hybrid)) {
            let manager = self.manager.clone();
            if let Some(error) = blocking(move || manager.embedding_error()).await? {
                return fail(format!(
                    "semantic search is unavailable ({error}); use mode=lexical"
                ));
            }
        }
        let store = self.store.clone();
        // Embedding the query may wait on a remote provider: on the blocking pool, like the
        // store's work.
        let found = blocking(move || {
            let mode = mode.unwrap_or_else(|| store.default_search_mode(embedder.as_deref()));
            let request = SearchRequest {
                query: args.query,
                repository: args.repository,
                language: args.language,
                path_glob: args.path,
                limit,
                mode,
            };
            store.search_with(&request, embedder.as_deref())
        })
        .await?;
        match found {
            Ok(hits) => {
                let items: Vec<Value> = hits.iter().map(|h| json!(h)).collect();
                let (results, truncated) = capped(items, MAX_RESULT_CHARS);
                let mut out = json!({ "results": results, "count": results.len() });
                if truncated {
                    out["note"] =
                        json!("results were cut to fit; narrow the query or lower the limit");
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "Find where a symbol (function, method, class, struct, interface, trait, enum, type...) is defined, by name. Exact names rank first, then prefixes, then substrings. Returns repository, path, kind and line range; read the code with get_file."
    )]
    async fn find_symbol(&self, Parameters(args): Parameters<FindSymbolArgs>) -> ToolResult {
        let limit = match check_limit(args.limit, 20, 100) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        let store = self.store.clone();
        let found = blocking(move || {
            store.find_symbols(
                &args.name,
                args.kind.as_deref(),
                args.repository.as_deref(),
                limit,
            )
        })
        .await?;
        match found {
            Ok(hits) => answer(json!({ "results": hits, "count": hits.len() })),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "Read lines of a file inside an indexed repository (absolute path, or path relative to `repository`). Returns the text with its line range; long files come in pages of up to 2000 lines (use start_line/end_line)."
    )]
    async fn get_file(&self, Parameters(args): Parameters<GetFileArgs>) -> ToolResult {
        let store = self.store.clone();
        match blocking(move || read_file(&store, &args)).await? {
            Ok(value) => answer(value),
            Err(e) => fail(e),
        }
    }

    #[tool(
        description = "List the indexed repositories with path, language, file and chunk counts, last sync, watch state and last error."
    )]
    async fn list_repositories(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        let manager = self.manager.clone();
        match blocking(move || manager.status()).await? {
            Ok(status) => {
                let total = status.repositories.len();
                let repos: Vec<Value> = status
                    .repositories
                    .into_iter()
                    .take(MAX_LISTED_REPOS)
                    .map(|r| json!(r))
                    .collect();
                let mut out = json!({ "repositories": repos, "count": total });
                if total > MAX_LISTED_REPOS {
                    out["note"] = json!(format!(
                        "showing {MAX_LISTED_REPOS} of {total} repositories"
                    ));
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "State of one repository: sync state, files, chunks, last sync, watch state, last error and retry time."
    )]
    async fn get_repository_status(
        &self,
        Parameters(args): Parameters<RepositoryArgs>,
    ) -> ToolResult {
        let manager = self.manager.clone();
        let store = self.store.clone();
        let wanted = args.repository.clone();
        let result = blocking(move || -> Result<Option<Value>, String> {
            let Some(record) = store.find_repository(&wanted).map_err(|e| e.to_string())? else {
                return Ok(None);
            };
            let status = manager.status().map_err(|e| e.to_string())?;
            Ok(status
                .repositories
                .into_iter()
                .find(|r| r.name == record.name)
                .map(|r| json!(r)))
        })
        .await?;
        match result {
            Ok(Some(value)) => answer(value),
            Ok(None) => fail(format!(
                "no indexed repository named or at `{}`",
                args.repository
            )),
            Err(e) => fail(e),
        }
    }

    #[tool(
        description = "Index (or re-index incrementally) one folder now, even a small one, and wait for it. Sends progress notifications when the client asks for them; can be cancelled. Usually unnecessary: auto-sync keeps repositories under the scan paths fresh."
    )]
    async fn index_repository(
        &self,
        Parameters(args): Parameters<IndexArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        let path = match self.indexable_path(&args.path).await? {
            Ok(path) => path,
            Err(e) => return fail(e),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
        let store = self.store.clone();
        let config = self.manager.config();
        let flag = cancel.clone();
        let name = args.name.clone();
        let full = args.full.unwrap_or(false);
        let mut job = tokio::task::spawn_blocking(move || {
            let options = SyncOptions::with_extra_excludes(&config.exclude).unwrap_or_default();
            let report = move |p: SyncProgress| {
                if let SyncProgress::Committed { done, to_read } = p {
                    let _ = progress_tx.send((done, to_read));
                }
            };
            RepositorySync::new(&store, &options)
                .with_progress(&report)
                .with_cancel(&flag)
                .run(&path, name.as_deref(), !full)
        });
        let token = context.meta.get_progress_token();
        let notify = |done: u64, total: u64| {
            let token = token.clone();
            let peer = context.peer.clone();
            async move {
                if let Some(token) = token {
                    let param = ProgressNotificationParam::new(token, done as f64)
                        .with_total(total as f64)
                        .with_message(format!("{done} of {total} files"));
                    let _ = peer.notify_progress(param).await;
                }
            }
        };
        let outcome = loop {
            tokio::select! {
                biased;
                Some((done, total)) = progress_rx.recv() => notify(done, total).await,
                _ = context.ct.cancelled() => {
                    cancel.store(true, Ordering::SeqCst);
                    let _ = (&mut job).await;
                    return fail("cancelled; what was committed so far stays indexed");
                }
                done = &mut job => break done,
            }
        };
        // Progress reported in the last moments still goes out, before the result.
        while let Ok((done, total)) = progress_rx.try_recv() {
            notify(done, total).await;
        }
        match outcome {
            Ok(Ok(result)) => answer(json!(result)),
            Ok(Err(SyncError::Cancelled)) => fail("cancelled"),
            Ok(Err(e)) => fail(e.to_string()),
            Err(e) => Err(ErrorData::internal_error(
                format!("index task failed: {e}"),
                None,
            )),
        }
    }

    #[tool(
        description = "Change auto-sync settings without a restart (persisted): scan paths, excludes, scan interval, concurrency, priority languages. Returns the resulting configuration."
    )]
    async fn configure_auto_sync(&self, Parameters(args): Parameters<ConfigureArgs>) -> ToolResult {
        if let Some(paths) = &args.scan_paths {
            for p in paths {
                let path = PathBuf::from(p.trim());
                if !path.is_absolute() {
                    return fail(format!("scan path `{p}` must be absolute"));
                }
                if !path.is_dir() {
                    return fail(format!("scan path `{p}` does not exist or is not a folder"));
                }
            }
        }
        let update = ConfigUpdate {
            scan_paths: args.scan_paths,
            exclude_patterns: args.exclude_patterns,
            scan_interval: args.scan_interval,
            max_concurrent: args.max_concurrent,
            priority_languages: args.priority_languages,
            ..ConfigUpdate::default()
        };
        if update.is_empty() {
            return fail("nothing to change: give at least one setting");
        }
        let manager = self.manager.clone();
        match blocking(move || manager.configure(&update)).await? {
            Ok(_) => match self.manager.status() {
                Ok(status) => answer(json!({ "enabled": status.enabled, "config": status.config })),
                Err(e) => fail(e.to_string()),
            },
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "Auto-sync status: enabled, running, paused, last scan, queue counts, configuration, per-repository state and errors, and metrics."
    )]
    async fn get_auto_sync_status(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        let manager = self.manager.clone();
        match blocking(move || manager.status()).await? {
            Ok(mut status) => {
                let total = status.repositories.len();
                status.repositories.truncate(MAX_LISTED_REPOS);
                let mut out = json!(status);
                if total > MAX_LISTED_REPOS {
                    out["note"] = json!(format!(
                        "showing {MAX_LISTED_REPOS} of {total} repositories"
                    ));
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "Scan the configured folders for repositories now and queue what is new or changed (works even when auto-sync is disabled or paused). Returns queued, active and synced counts."
    )]
    async fn trigger_repository_scan(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        match self.manager.trigger_scan().await {
            Ok(counts) => answer(json!(counts)),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        description = "Pause auto-sync: no new syncs start, running ones stop at their next batch. Searching keeps working."
    )]
    async fn pause_auto_sync(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        match self.manager.pause() {
            Ok(()) => answer(json!({ "paused": true })),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(description = "Resume auto-sync with the same queue.")]
    async fn resume_auto_sync(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        match self.manager.resume() {
            Ok(()) => answer(json!({ "paused": false })),
            Err(e) => fail(e.to_string()),
        }
    }
}

impl CodeIntel {
    /// A folder a client may index: inside a configured scan path or an indexed repository.
    async fn indexable_path(&self, raw: &str) -> Result<Result<PathBuf, String>, ErrorData> {
        let raw = raw.to_string();
        let store = self.store.clone();
        let scan_paths = self.manager.config().paths;
        blocking(move || {
            let path = paths::resolve(&raw, None)?;
            if !path.is_dir() {
                return Err(format!("`{raw}` is not a folder"));
            }
            let mut roots: Vec<PathBuf> = scan_paths
                .iter()
                .filter_map(|p| std::fs::canonicalize(p).ok())
                .collect();
            roots.extend(
                store
                    .repositories()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .map(|r| r.record.path),
            );
            if paths::containing(&path, &roots).is_none() {
                return Err(format!(
                    "`{raw}` is outside the configured scan paths and indexed repositories; add its parent with configure_auto_sync first"
                ));
            }
            Ok(path)
        })
        .await
    }
}

/// Reads a page of a file inside an indexed repository.
fn read_file(store: &IndexStore, args: &GetFileArgs) -> Result<Value, String> {
    let base = match &args.repository {
        Some(name) => Some(
            store
                .find_repository(name)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("no indexed repository named or at `{name}`"))?
                .path,
        ),
        None => None,
    };
    let path = paths::resolve(&args.path, base.as_deref())?;
    let repos: Vec<_> = store.repositories().map_err(|e| e.to_string())?;
    let roots: Vec<PathBuf> = repos.iter().map(|r| r.record.path.clone()).collect();
    let root = paths::containing(&path, &roots)
        .ok_or_else(|| format!("`{}` is not inside an indexed repository", args.path))?
        .clone();
    let repo = repos
        .iter()
        .find(|r| r.record.path == root)
        .map(|r| r.record.name.clone())
        .unwrap_or_default();
    if !path.is_file() {
        return Err(format!("`{}` is not a file", args.path));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if codeintel_index::lang::is_secret_file(name) {
        return Err(format!(
            "`{}` looks like a secret; codeintel does not read it",
            args.path
        ));
    }
    let bytes = std::fs::read(&path).map_err(|e| format!("cannot read `{}`: {e}", args.path))?;
    if bytes.len() > 16 << 20 {
        return Err("file is over 16 MiB".into());
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(format!("`{}` is a binary file", args.path));
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text.lines().collect();
    let total = lines.len();
    let start = match args.start_line {
        None => 1,
        Some(n) if n >= 1 => n as usize,
        Some(n) => return Err(format!("start_line must be at least 1, got {n}")),
    };
    let default_end = start.saturating_add(MAX_FILE_LINES - 1);
    let end = match args.end_line {
        None => default_end,
        Some(n) if n >= start as i64 => (n as usize).min(default_end),
        Some(n) => return Err(format!("end_line {n} is before start_line {start}")),
    }
    .min(total);
    let mut content = String::new();
    let mut cut = false;
    for line in lines.iter().take(end).skip(start.saturating_sub(1)) {
        if content.len() + line.len() > MAX_RESULT_CHARS {
            cut = true;
            break;
        }
        content.push_str(line);
        content.push('\n');
    }
    let shown_end = if start > total {
        total
    } else {
        start - 1 + content.lines().count()
    };
    let rel = path
        .strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string();
    let mut out = json!({
        "repository": repo,
        "path": rel,
        "start_line": start.min(total.max(1)),
        "end_line": shown_end,
        "total_lines": total,
        "content": content,
    });
    if cut || shown_end < total.min(args.end_line.map(|e| e.max(0) as usize).unwrap_or(total)) {
        out["note"] = json!(format!(
            "lines {}-{} of {total}; ask for start_line={} to read on",
            start,
            shown_end,
            shown_end + 1
        ));
    }
    Ok(out)
}
