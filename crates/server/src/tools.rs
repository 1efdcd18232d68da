//! The MCP tools. Each validates its arguments, does its work through the index or the
//! auto-sync manager (blocking work on the blocking pool), and answers JSON as text content and
//! as structured content. Bad input is a tool error with a clear message; nothing in the store
//! changes on a failed call.

use crate::page::{self, PageRequest};
use crate::paths;
use codeintel_embed::EmbedderSlot;
use codeintel_index::{IndexStore, SearchMode, SearchRequest, SyncError, SyncProgress};
use codeintel_sync::{AutoSyncManager, ConfigUpdate, SyncNow, SyncNowError};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{CallToolResult, ContentBlock, ProgressNotificationParam};
use rmcp::service::RequestContext;
use rmcp::{schemars, tool, tool_router, ErrorData, RoleServer};
use serde::Deserialize;
use serde_json::{json, Value};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Characters a tool answer holds at most (about 5k tokens): longer ones are cut, snippets
/// first, with a note saying what was cut and how to get more. Assistants abandon tools that
/// flood them.
pub const MAX_RESULT_CHARS: usize = 20_000;
/// Lines `get_file` returns at most per call.
pub const MAX_FILE_LINES: usize = crate::page::MAX_PAGE_LINES;
/// Repositories listed in full by status tools before the rest are summarized.
const MAX_LISTED_REPOS: usize = 500;
/// Time left between the last progress notification of a call and its result (see
/// `index_repository`).
const PROGRESS_GAP: std::time::Duration = std::time::Duration::from_millis(20);
/// Characters of a snippet line kept when results must be shortened to fit.
const SHORT_SNIPPET_CHARS: usize = 160;

/// The MCP server: tools over one store and one auto-sync manager.
#[derive(Clone)]
pub struct CodeIntel {
    pub(crate) store: Arc<IndexStore>,
    pub(crate) manager: Arc<AutoSyncManager>,
    /// Embeds queries for semantic and hybrid search, when a model is configured.
    pub(crate) embedder: Arc<EmbedderSlot>,
    /// What this process measures for `/metrics` (search latency).
    pub(crate) telemetry: Arc<crate::metrics::Telemetry>,
    pub(crate) tool_router: ToolRouter<Self>,
}

type ToolResult = Result<CallToolResult, ErrorData>;

/// A tool error the model can read and act on: its text is the message (no structured
/// content, which the tool's output schema would constrain).
fn fail(message: impl Into<String>) -> ToolResult {
    Ok(CallToolResult::error(vec![ContentBlock::text(
        message.into(),
    )]))
}

/// The error of a control tool on a store this process may only read.
fn needs_write_access(store: &IndexStore, tool: &str) -> Option<ToolResult> {
    (!store.writable()).then(|| {
        fail(format!(
            "{tool} needs write access to the index, and this server's database role may only read it ({}); searches, get_file and navigation work; run control tools on a server whose role may write",
            store.path().display()
        ))
    })
}

/// Success with `value` as structured content (an object, as MCP requires).
fn answer(value: Value) -> ToolResult {
    let value = match value {
        Value::Object(_) => value,
        other => json!({ "result": other }),
    };
    Ok(CallToolResult::structured(value))
}

/// Search hits as JSON within the character budget: whole when they fit, else with snippets
/// cut to their best line, else the best ones that fit. The note says what was cut.
fn fitted_hits(mut items: Vec<Value>, budget: usize) -> (Vec<Value>, Option<String>) {
    let size = |items: &[Value]| items.iter().map(|i| i.to_string().len()).sum::<usize>();
    if size(&items) <= budget {
        return (items, None);
    }
    for item in &mut items {
        if let Some(snippet) = item["snippet"].as_str() {
            let best = snippet
                .lines()
                .find(|l| l.starts_with('>'))
                .or_else(|| snippet.lines().next())
                .unwrap_or("");
            let short: String = best.chars().take(SHORT_SNIPPET_CHARS).collect();
            item["snippet"] = json!(short);
        }
    }
    let total = items.len();
    let (kept, cut) = capped(items, budget);
    let note = if cut {
        format!(
            "answer capped at {budget} characters: showing {} of {total} results with snippets shortened to their best line; lower limit, narrow the query or filter by repository, path or language, and read code with get_file",
            kept.len()
        )
    } else {
        format!("answer capped at {budget} characters: snippets shortened to their best line; read code with get_file")
    };
    (kept, Some(note))
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

/// Repositories as JSON within `budget` characters (and [`MAX_LISTED_REPOS`]), with a note
/// when some were left out.
fn listed_repositories(repos: Vec<Value>, budget: usize) -> (Vec<Value>, Option<String>) {
    let total = repos.len();
    let (mut kept, _) = capped(repos, budget);
    kept.truncate(MAX_LISTED_REPOS);
    let note = (kept.len() < total).then(|| {
        format!(
            "showing {} of {total} repositories (answer capped at {budget} characters); get_repository_status gives any one of them",
            kept.len()
        )
    });
    (kept, note)
}

/// A note on repositories whose first sync has not finished: their files may be missing from
/// any result, and an empty result must not read as "not in the code".
fn first_syncs(store: &IndexStore) -> Option<String> {
    let unfinished = store.unfinished_first_syncs().ok()?;
    unfinished_note(&unfinished)
}

/// The words of [`first_syncs`], shared with the CLI's note.
pub fn unfinished_note(unfinished: &[codeintel_index::UnfinishedSync]) -> Option<String> {
    let running: Vec<String> = unfinished
        .iter()
        .filter(|u| u.running)
        .map(|u| format!("{} ({} files so far)", u.name, u.files))
        .collect();
    let waiting: Vec<String> = unfinished
        .iter()
        .filter(|u| !u.running)
        .map(|u| u.name.clone())
        .collect();
    let mut parts = Vec::new();
    if !running.is_empty() {
        parts.push(format!(
            "first sync still running for {}: results may be incomplete",
            shortlist(&running)
        ));
    }
    if !waiting.is_empty() {
        parts.push(format!("not indexed yet (queued): {}", shortlist(&waiting)));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The first few names of a list, and how many more.
fn shortlist(names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = names
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
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
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct SearchArgs {
    /// What to look for. Lexical mode: words or identifiers (`parse config` also finds
    /// parseConfig and parse_config). Exact: a literal substring. Regex: a regular expression.
    pub query: String,
    /// Only this repository (name from list_repositories, or its path).
    pub repository: Option<String>,
    /// Only this language: python, javascript, typescript, java, go, rust, ruby, php, csharp,
    /// cpp, c, markdown, json, yaml, ... (file extensions and aliases such as `py`, `ts`,
    /// `c++`, `golang` work too).
    pub language: Option<String>,
    /// Only files under this folder (`src/net`, relative to the repository root) or matching
    /// this glob (`src/**/*.rs`, `*.py`).
    pub path: Option<String>,
    /// Most results to return, 1 to 100 (default 10).
    pub limit: Option<i64>,
    /// lexical (BM25 over identifier-aware terms), semantic (by meaning), hybrid (both fused;
    /// the default where embeddings exist), exact, or regex.
    pub mode: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct FindSymbolArgs {
    /// Symbol name: exact matches first, then names starting with it, then containing it.
    pub name: String,
    /// Only this kind: function, method, class, struct, interface, trait, enum, impl, module,
    /// type, macro (any case; `def`, `fn`, `func` mean function).
    pub kind: Option<String>,
    /// Only this repository (name or path).
    pub repository: Option<String>,
    /// Most results, 1 to 100 (default 20).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct FindReferencesArgs {
    /// The definition's name; may be qualified: `Class.method`, `module.func`,
    /// `Type::method`.
    pub name: String,
    /// Only the definition in this repository (name or path); a relative `path` is inside it.
    pub repository: Option<String>,
    /// The definition's file (relative to `repository`, or absolute): with `line`, picks the
    /// one definition at that place, as find_symbol reports it.
    pub path: Option<String>,
    /// A line of the definition (its first line, as find_symbol reports it), with `path`.
    pub line: Option<i64>,
    /// Only uses of this kind: call, type, import or reference.
    pub kind: Option<String>,
    /// Most sites, 1 to 1000 (default 50).
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct CallGraphArgs {
    /// The definition's name; may be qualified: `Class.method`, `module.func`,
    /// `Type::method`.
    pub name: String,
    /// `callers` (who calls it) or `callees` (what it calls).
    pub direction: String,
    /// Only the definition in this repository (name or path).
    pub repository: Option<String>,
    /// The definition's file (relative to `repository`, or absolute), with `line`.
    pub path: Option<String>,
    /// A line of the definition (its first line, as find_symbol reports it).
    pub line: Option<i64>,
    /// Levels of calls, 1 to 5 (default 1).
    pub depth: Option<i64>,
    /// Most nodes in the tree, 1 to 1000 (default 100).
    pub limit: Option<i64>,
}

/// The definition a navigation tool's arguments name, checked.
fn definition_query<'a>(
    name: &'a str,
    repository: Option<&'a str>,
    path: Option<&'a str>,
    line: Option<i64>,
) -> Result<codeintel_index::navigate::DefinitionQuery<'a>, String> {
    if name.trim().is_empty() {
        return Err("name is empty: give a definition's name".into());
    }
    let line = match line {
        None => None,
        Some(l) if l >= 1 && l <= i64::from(u32::MAX) => Some(l as u32),
        Some(l) => return Err(format!("line must be 1 or more, got {l}")),
    };
    if line.is_some() && path.is_none() {
        return Err("line needs path: give the definition's file too".into());
    }
    Ok(codeintel_index::navigate::DefinitionQuery {
        name,
        repository,
        path,
        line,
    })
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct GetFileArgs {
    /// File path: absolute, or relative to `repository`. Only files inside indexed
    /// repositories can be read.
    pub path: String,
    /// First line to return (1-based, default 1).
    pub start_line: Option<i64>,
    /// Last line to return (inclusive; default: as much as a page holds).
    pub end_line: Option<i64>,
    /// Column of start_line to start at (1-based, in characters; default 1): a line longer
    /// than a page comes in pieces, and a page that stops early says where to go on in `next`.
    pub start_column: Option<i64>,
    /// Repository (name or path) that a relative `path` is inside.
    pub repository: Option<String>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
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
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct RemoveArgs {
    /// Repository name (from list_repositories) or absolute path.
    pub repository: String,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct RepositoryArgs {
    /// Repository name (from list_repositories) or absolute path.
    pub repository: String,
}

// The settings `configure_auto_sync` changes, named by their keys in the sync crate's settings
// table, which also gives each its description and bounds in the schema (`schemas::settings`)
// and validates the values (through `ConfigUpdate`). Doc comments here would end up in the schema.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::settings)]
pub struct ConfigureArgs {
    pub scan_paths: Option<Vec<String>>,
    pub exclude_patterns: Option<Vec<String>>,
    pub scan_interval: Option<i64>,
    pub max_concurrent: Option<i64>,
    pub priority_languages: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[schemars(transform = crate::schemas::plain_optionals)]
pub struct NoArgs {}

#[tool_router(vis = "pub(crate)")]
impl CodeIntel {
    /// The tools over `store`, with `manager` for auto-sync and `embedder` for queries.
    pub fn new(
        store: Arc<IndexStore>,
        manager: Arc<AutoSyncManager>,
        embedder: Arc<EmbedderSlot>,
    ) -> Self {
        CodeIntel {
            store,
            manager,
            embedder,
            telemetry: Arc::default(),
            tool_router: Self::tool_router(),
        }
    }

    #[tool(
        title = "Search code",
        annotations(title = "Search code", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::search_code(),
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
        let started = std::time::Instant::now();
        let (mode, found) = blocking(move || {
            let mode = mode.unwrap_or_else(|| store.default_search_mode(embedder.as_deref()));
            let request = SearchRequest {
                query: args.query,
                repository: args.repository,
                language: args.language,
                path_glob: args.path,
                limit,
                mode,
            };
            (mode, store.search_with(&request, embedder.as_deref()))
        })
        .await?;
        self.telemetry
            .observe_search(mode, started.elapsed().as_secs_f64());
        let hits = match found {
            Ok(hits) => hits,
            Err(e) => return fail(e.to_string()),
        };
        let items: Vec<Value> = hits.iter().map(|h| json!(h)).collect();
        let (results, cut) = fitted_hits(items, MAX_RESULT_CHARS);
        let store = self.store.clone();
        let unfinished = blocking(move || first_syncs(&store)).await?;
        let notes: Vec<String> = cut.into_iter().chain(unfinished).collect();
        let mut out = json!({ "results": results, "count": results.len() });
        if !notes.is_empty() {
            out["note"] = json!(notes.join("; "));
        }
        answer(out)
    }

    #[tool(
        title = "Find a definition",
        annotations(title = "Find a definition", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::find_symbol(),
        description = "Find where a symbol (function, method, class, struct, interface, trait, enum, type...) is defined, by name. Exact names rank first, then prefixes, then substrings. Returns repository, path, kind and line range; read the code with get_file."
    )]
    async fn find_symbol(&self, Parameters(args): Parameters<FindSymbolArgs>) -> ToolResult {
        let limit = match check_limit(args.limit, 20, 100) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        let store = self.store.clone();
        let found = blocking(move || {
            let hits = store.find_symbols(
                &args.name,
                args.kind.as_deref(),
                args.repository.as_deref(),
                limit,
            )?;
            let counts = store.reference_counts(&hits)?;
            Ok::<_, codeintel_index::StoreError>((hits, counts))
        })
        .await?;
        match found {
            Ok((hits, counts)) => {
                let total = hits.len();
                let items: Vec<Value> = hits
                    .iter()
                    .zip(counts)
                    .map(|(h, n)| {
                        let mut v = json!(h);
                        v["references"] = json!(n);
                        v
                    })
                    .collect();
                let (results, cut) = capped(items, MAX_RESULT_CHARS);
                let mut out = json!({ "results": results, "count": results.len() });
                if cut {
                    out["note"] = json!(format!(
                        "answer capped at {MAX_RESULT_CHARS} characters: showing {} of {total}; lower limit or give kind or repository",
                        results.len()
                    ));
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Find references",
        annotations(title = "Find references", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::find_references(),
        description = "Find the places that use a definition (calls, constructor calls, type uses, imports, values), across the indexed repositories, never in comments or strings. Give its name (`save`, `Store.save`, `store::save`), and path + line from find_symbol to pick one of several. Each site has repository, path, line, column, kind, the enclosing definition (`symbol`), a snippet and `confidence`: exact (certain from scope or imports), likely, or name (the name only). Best first; `total` counts them all."
    )]
    async fn find_references(
        &self,
        Parameters(args): Parameters<FindReferencesArgs>,
    ) -> ToolResult {
        let limit = match check_limit(args.limit, 50, codeintel_index::navigate::MAX_LIMIT) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        let kind = match args
            .kind
            .as_deref()
            .map(codeintel_index::RefKind::parse)
            .transpose()
        {
            Ok(k) => k,
            Err(e) => return fail(e),
        };
        let store = self.store.clone();
        let found = blocking(move || {
            let q = definition_query(
                &args.name,
                args.repository.as_deref(),
                args.path.as_deref(),
                args.line,
            )?;
            store
                .find_references(&q, kind, limit)
                .map_err(|e| e.to_string())
        })
        .await?;
        match found {
            Ok(refs) => {
                let items: Vec<Value> = refs.references.iter().map(|r| json!(r)).collect();
                let (sites, cut) = capped(items, MAX_RESULT_CHARS);
                let mut out =
                    json!({ "references": sites, "count": sites.len(), "total": refs.total });
                let notes: Vec<String> = refs
                    .note
                    .into_iter()
                    .chain(cut.then(|| {
                        format!("answer capped at {MAX_RESULT_CHARS} characters: showing {} sites; lower limit or give kind", sites.len())
                    }))
                    .collect();
                if !notes.is_empty() {
                    out["note"] = json!(notes.join("; "));
                }
                answer(out)
            }
            Err(e) => fail(e),
        }
    }

    #[tool(
        title = "Call graph",
        annotations(title = "Call graph", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::get_call_graph(),
        description = "Who calls a definition (direction=callers) or what it calls (direction=callees), as a tree `depth` levels deep (1-5): each node has symbol, kind, repository, path, line, the confidence of the call (exact, likely, name), the lines of the calls (`sites`) and its own `calls`; a definition met again on a path is marked `cycle` and not expanded. Calls to names defined nowhere in the index (library calls) are left out."
    )]
    async fn get_call_graph(&self, Parameters(args): Parameters<CallGraphArgs>) -> ToolResult {
        let limit = match check_limit(args.limit, 100, codeintel_index::navigate::MAX_LIMIT) {
            Ok(l) => l,
            Err(e) => return fail(e),
        };
        let direction = match codeintel_index::navigate::Direction::parse(&args.direction) {
            Ok(d) => d,
            Err(e) => return fail(e),
        };
        let depth = match args.depth {
            None => 1,
            Some(d) if (1..=i64::from(codeintel_index::navigate::MAX_DEPTH)).contains(&d) => {
                d as u8
            }
            Some(d) => return fail(format!("depth must be between 1 and 5, got {d}")),
        };
        let store = self.store.clone();
        let name = args.name.clone();
        let found = blocking(move || {
            let q = definition_query(
                &args.name,
                args.repository.as_deref(),
                args.path.as_deref(),
                args.line,
            )?;
            store
                .call_graph(&q, direction, depth, limit)
                .map_err(|e| e.to_string())
        })
        .await?;
        match found {
            Ok(Some(graph)) => {
                let out = json!(graph);
                if out.to_string().len() > MAX_RESULT_CHARS {
                    return fail(format!(
                        "the call graph is over {MAX_RESULT_CHARS} characters ({} nodes): lower depth or limit",
                        graph.nodes
                    ));
                }
                answer(out)
            }
            // An unknown name is an empty answer, not an error.
            Ok(None) => answer(json!({
                "calls": [], "nodes": 0,
                "note": format!("no definition named `{name}` is indexed (find_symbol finds names)"),
            })),
            Err(e) => fail(e),
        }
    }

    #[tool(
        title = "Read a file",
        annotations(title = "Read a file", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::get_file(),
        description = "Read lines of a file inside an indexed repository (absolute path, or path relative to `repository`). Returns the text with its line range; long files come in pages of up to 2000 lines and 20,000 characters: a page that stops early has `next` {start_line, start_column} to ask for the rest."
    )]
    async fn get_file(&self, Parameters(args): Parameters<GetFileArgs>) -> ToolResult {
        let store = self.store.clone();
        match blocking(move || read_file(&store, &args)).await? {
            Ok(value) => answer(value),
            Err(e) => fail(e),
        }
    }

    #[tool(
        title = "List repositories",
        annotations(title = "List repositories", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::list_repositories(),
        description = "List the indexed repositories with path, language, file and chunk counts, last sync, watch state and last error."
    )]
    async fn list_repositories(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        let manager = self.manager.clone();
        match blocking(move || manager.status()).await? {
            Ok(status) => {
                let total = status.repositories.len();
                let repos: Vec<Value> = status.repositories.iter().map(|r| json!(r)).collect();
                let (repos, note) = listed_repositories(repos, MAX_RESULT_CHARS);
                let mut out = json!({ "repositories": repos, "count": total });
                if let Some(note) = note {
                    out["note"] = json!(note);
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Repository status",
        annotations(title = "Repository status", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::repository_status(),
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
        title = "Index a folder now",
        annotations(title = "Index a folder now", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::index_repository(),
        description = "Index (or re-index incrementally) one folder now, even a small one, and wait for it. Sends progress notifications when the client asks for them; can be cancelled. Usually unnecessary: auto-sync keeps repositories under the scan paths fresh."
    )]
    async fn index_repository(
        &self,
        Parameters(args): Parameters<IndexArgs>,
        context: RequestContext<RoleServer>,
    ) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "index_repository") {
            return refused;
        }
        let path = match self.indexable_path(&args.path).await? {
            Ok(path) => path,
            Err(e) => return fail(e),
        };
        let cancel = Arc::new(AtomicBool::new(false));
        let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<(u64, u64)>();
        let store = self.store.clone();
        let config = self.manager.config();
        let flag = cancel.clone();
        let full = args.full.unwrap_or(false);
        let name = args.name.clone();
        // The same path as every other sync: a folder inside an indexed repository syncs that
        // repository, and a sync of it already running finishes first.
        let mut job = tokio::task::spawn_blocking(move || {
            let report = move |p: SyncProgress| match p {
                SyncProgress::Read { done, to_read }
                | SyncProgress::Committed { done, to_read } => {
                    let _ = progress_tx.send((done, to_read));
                }
                SyncProgress::Walked { .. } => {}
            };
            SyncNow::new(&store, &config.exclude)?
                .with_progress(&report)
                .with_cancel(&flag)
                .run_requested(&path, name.as_deref(), full)
        });
        let token = context.meta.get_progress_token();
        // MCP asks each notification's progress to be larger than the last one's.
        let sent = std::sync::atomic::AtomicU64::new(0);
        let last_sent = std::sync::Mutex::new(None::<std::time::Instant>);
        let notify = |done: u64, total: u64| {
            let token = token.clone();
            let peer = context.peer.clone();
            let fresh = done > sent.fetch_max(done, Ordering::SeqCst);
            let last_sent = &last_sent;
            async move {
                if let Some(token) = token.filter(|_| fresh) {
                    let param = ProgressNotificationParam::new(token, done as f64)
                        .with_total(total as f64)
                        .with_message(format!("{done} of {total} files"));
                    let _ = peer.notify_progress(param).await;
                    *last_sent.lock().unwrap_or_else(|e| e.into_inner()) =
                        Some(std::time::Instant::now());
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
        // The notifications precede the result on the wire, but the TypeScript SDK (1.32)
        // handles a response at once and a notification a step later when both come in one
        // read, and then reports "progress notification for an unknown token"
        // (typescript-sdk#2580). A short gap after the last notification keeps them apart.
        let last = *last_sent.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(gap) = last.and_then(|t| PROGRESS_GAP.checked_sub(t.elapsed())) {
            tokio::time::sleep(gap).await;
        }
        match outcome {
            Ok(Ok(synced)) => {
                let mut out = json!(synced.result);
                if let Some(note) = synced.note {
                    out["note"] = json!(note);
                }
                answer(out)
            }
            Ok(Err(SyncNowError::Sync(SyncError::Cancelled))) => fail("cancelled"),
            Ok(Err(e)) => fail(e.to_string()),
            Err(e) => Err(ErrorData::internal_error(
                format!("index task failed: {e}"),
                None,
            )),
        }
    }

    #[tool(
        title = "Configure auto-sync",
        annotations(title = "Configure auto-sync", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::configure_auto_sync(),
        description = "Change auto-sync settings without a restart (persisted): scan paths, excludes, scan interval, concurrency, priority languages. Returns the resulting configuration."
    )]
    async fn configure_auto_sync(&self, Parameters(args): Parameters<ConfigureArgs>) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "configure_auto_sync") {
            return refused;
        }
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
        title = "Auto-sync status",
        annotations(title = "Auto-sync status", read_only_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::auto_sync_status(),
        description = "Auto-sync status: enabled, running, paused, last scan, queue counts, configuration, per-repository state and errors, and metrics."
    )]
    async fn get_auto_sync_status(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        let manager = self.manager.clone();
        match blocking(move || manager.status()).await? {
            Ok(status) => {
                let mut out = json!(status);
                let repos = match out["repositories"].take() {
                    Value::Array(repos) => repos,
                    _ => Vec::new(),
                };
                // The rest of the status (configuration, metrics) takes its share first.
                let budget = MAX_RESULT_CHARS.saturating_sub(out.to_string().len());
                let (repos, note) = listed_repositories(repos, budget);
                out["repositories"] = json!(repos);
                if let Some(note) = note {
                    out["note"] = json!(note);
                }
                answer(out)
            }
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Scan for repositories now",
        annotations(title = "Scan for repositories now", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::scan_counts(),
        description = "Scan the configured folders for repositories now and queue what is new or changed (works even when auto-sync is disabled or paused). Returns queued, active and synced counts."
    )]
    async fn trigger_repository_scan(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "trigger_repository_scan") {
            return refused;
        }
        match self.manager.trigger_scan().await {
            Ok(counts) => answer(json!(counts)),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Pause auto-sync",
        annotations(title = "Pause auto-sync", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::paused(),
        description = "Pause auto-sync: no new syncs start, running ones stop at their next batch. Searching keeps working."
    )]
    async fn pause_auto_sync(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "pause_auto_sync") {
            return refused;
        }
        match self.manager.pause() {
            Ok(()) => answer(json!({ "paused": true })),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Resume auto-sync",
        annotations(title = "Resume auto-sync", read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::paused(),
        description = "Resume auto-sync with the same queue."
    )]
    async fn resume_auto_sync(&self, Parameters(_): Parameters<NoArgs>) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "resume_auto_sync") {
            return refused;
        }
        match self.manager.resume() {
            Ok(()) => answer(json!({ "paused": false })),
            Err(e) => fail(e.to_string()),
        }
    }

    #[tool(
        title = "Remove a repository",
        annotations(title = "Remove a repository", read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false),
        output_schema = crate::schemas::remove_repository(),
        description = "Drop one repository's index (its files, chunks, symbols and vectors; the files on disk are not touched). Auto-sync leaves it out from then on, even under a scan path, until index_repository is called on its folder. Returns what was removed."
    )]
    async fn remove_repository(&self, Parameters(args): Parameters<RemoveArgs>) -> ToolResult {
        if let Some(refused) = needs_write_access(&self.store, "remove_repository") {
            return refused;
        }
        let manager = self.manager.clone();
        match blocking(move || manager.remove_repository(&args.repository)).await? {
            Ok(removed) => answer(json!(removed)),
            Err(e) => fail(e.to_string()),
        }
    }
}

impl CodeIntel {
    /// Calls one of the tools the status page uses, exactly as an MCP client would: its
    /// structured result, or the tool error's message.
    pub(crate) async fn call_for_page(&self, tool: &str, args: Value) -> Result<Value, String> {
        let no_args = |args: &Value| match args.as_object() {
            Some(o) if o.is_empty() => Ok(Parameters(NoArgs {})),
            _ => Err(format!("{tool} takes no arguments")),
        };
        let result = match tool {
            "get_auto_sync_status" => self.get_auto_sync_status(no_args(&args)?).await,
            "pause_auto_sync" => self.pause_auto_sync(no_args(&args)?).await,
            "resume_auto_sync" => self.resume_auto_sync(no_args(&args)?).await,
            "trigger_repository_scan" => self.trigger_repository_scan(no_args(&args)?).await,
            "search_code" => {
                let args: SearchArgs = serde_json::from_value(args)
                    .map_err(|e| format!("bad search arguments: {e}"))?;
                self.search_code(Parameters(args)).await
            }
            other => return Err(format!("the page does not call `{other}`")),
        };
        let result = result.map_err(|e| e.message.to_string())?;
        if result.is_error == Some(true) {
            let text: Vec<String> = result
                .content
                .iter()
                .filter_map(|c| c.as_text().map(|t| t.text.clone()))
                .collect();
            return Err(text.join("\n"));
        }
        Ok(result.structured_content.unwrap_or(Value::Null))
    }

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

/// Reads a page of a file inside an indexed repository: from disk, or, for a file this
/// machine does not have, from a store that keeps contents (only files it indexed).
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
    let (repo, rel, bytes) = match paths::resolve(&args.path, base.as_deref()) {
        Ok(path) => file_on_disk(store, args, &path)?,
        Err(missing) => file_in_store(store, &args.path, base.as_deref())?.ok_or(missing)?,
    };
    if bytes.len() > 16 << 20 {
        return Err("file is over 16 MiB".into());
    }
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Err(format!("`{}` is a binary file", args.path));
    }
    let text = String::from_utf8_lossy(&bytes);
    let positive = |value: Option<i64>, what: &str| -> Result<Option<usize>, String> {
        match value {
            None => Ok(None),
            Some(n) if n >= 1 => Ok(Some(n as usize)),
            Some(n) => Err(format!("{what} must be at least 1, got {n}")),
        }
    };
    let start = positive(args.start_line, "start_line")?.unwrap_or(1);
    let start_column = positive(args.start_column, "start_column")?.unwrap_or(1);
    let end_line = positive(args.end_line, "end_line")?;
    if let Some(end) = end_line.filter(|&e| e < start) {
        return Err(format!("end_line {end} is before start_line {start}"));
    }
    let request = PageRequest {
        start_line: start,
        start_column,
        end_line,
    };
    let page = page::page(&text, request, MAX_RESULT_CHARS);
    let total = page.total_lines;
    let mut out = json!({
        "repository": repo,
        "path": rel,
        "start_line": start.min(total.max(1)),
        "start_column": start_column,
        "end_line": page.end_line.min(total),
        "total_lines": total,
        "content": page.content,
    });
    if let Some((line, column)) = page.next {
        out["next"] = json!({ "start_line": line, "start_column": column });
        let place = if column > 1 {
            format!("start_line={line}, start_column={column}")
        } else {
            format!("start_line={line}")
        };
        out["note"] = json!(format!(
            "page cut at {MAX_FILE_LINES} lines or {MAX_RESULT_CHARS} characters ({} lines in the file); ask for {place} to read on",
            total
        ));
    }
    Ok(out)
}

/// A file's repository name, path in it and bytes, for `path` (canonical) on this machine.
fn file_on_disk(
    store: &IndexStore,
    args: &GetFileArgs,
    path: &Path,
) -> Result<(String, String, Vec<u8>), String> {
    let repos: Vec<_> = store.repositories().map_err(|e| e.to_string())?;
    let roots: Vec<PathBuf> = repos.iter().map(|r| r.record.path.clone()).collect();
    let root = paths::containing(path, &roots)
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
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read `{}`: {e}", args.path))?;
    let rel = path
        .strip_prefix(&root)
        .unwrap_or(path)
        .display()
        .to_string();
    Ok((repo, rel, bytes))
}

/// The same for a file not on this machine, from a store that keeps contents: `None` unless
/// `path` names, without `.` or `..`, a file the store indexed (nothing else is served).
fn file_in_store(
    store: &IndexStore,
    path: &str,
    base: Option<&Path>,
) -> Result<Option<(String, String, Vec<u8>)>, String> {
    if !store.keeps_contents() {
        return Ok(None);
    }
    let raw = Path::new(path.trim());
    let full = match (raw.is_absolute(), base) {
        (true, _) => raw.to_path_buf(),
        (false, Some(base)) => base.join(raw),
        (false, None) => return Ok(None),
    };
    let plain = full
        .components()
        .all(|c| matches!(c, Component::Normal(_) | Component::RootDir));
    if !plain {
        return Ok(None);
    }
    let repos = store.repositories().map_err(|e| e.to_string())?;
    let roots: Vec<PathBuf> = repos.iter().map(|r| r.record.path.clone()).collect();
    let Some(repo) = paths::containing(&full, &roots)
        .and_then(|root| repos.iter().find(|r| &r.record.path == root))
    else {
        return Ok(None);
    };
    let Some(rel) = full
        .strip_prefix(&repo.record.path)
        .ok()
        .and_then(|rel| rel.to_str())
        .map(|rel| rel.replace(std::path::MAIN_SEPARATOR, "/"))
    else {
        return Ok(None);
    };
    let bytes = store
        .stored_file(repo.record.id, &rel)
        .map_err(|e| e.to_string())?;
    Ok(bytes.map(|b| (repo.record.name.clone(), rel, b)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use codeintel_index::{RepoState, SyncState};

    fn repo(store: &IndexStore, root: &std::path::Path, name: &str, state: RepoState) {
        let path = root.join(name);
        std::fs::create_dir_all(&path).unwrap();
        let record = store.ensure_repository(&path, name, None, false).unwrap();
        let sync = SyncState {
            state,
            ..SyncState::default()
        };
        store.set_sync_state(record.id, &sync).unwrap();
    }

    #[test]
    fn results_say_which_first_syncs_are_unfinished() {
        let dir = tempfile::tempdir().unwrap();
        let store = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
        assert_eq!(first_syncs(&store), None);
        repo(&store, dir.path(), "big", RepoState::Syncing);
        repo(&store, dir.path(), "later", RepoState::Queued);
        let note = first_syncs(&store).unwrap();
        assert!(
            note.contains("first sync still running for big (0 files so far)"),
            "{note}"
        );
        assert!(note.contains("not indexed yet (queued): later"), "{note}");
    }

    #[test]
    fn big_answers_lose_snippet_context_first_then_results() {
        let hit = |i: usize| {
            json!({
                "path": format!("p{i}.py"),
                "snippet": format!(" 1: before\n> 2: match {}\n  3: after", "x".repeat(300)),
            })
        };
        let (kept, note) = fitted_hits((0..10).map(hit).collect(), 100_000);
        assert_eq!((kept.len(), note), (10, None));
        let (kept, note) = fitted_hits((0..10).map(hit).collect(), 2_500);
        assert_eq!(kept.len(), 10, "shortened snippets fit");
        assert!(kept[0]["snippet"]
            .as_str()
            .unwrap()
            .starts_with("> 2: match"));
        assert!(note.unwrap().contains("shortened"));
        let (kept, note) = fitted_hits((0..10).map(hit).collect(), 600);
        assert!(kept.len() < 10 && !kept.is_empty());
        assert!(note
            .unwrap()
            .contains(&format!("showing {} of 10", kept.len())));
    }
}
