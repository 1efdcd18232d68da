//! `codeintel search QUERY`: lexical, exact or regex search over the index.

use super::{open_existing_store, usage_if_invalid};
use crate::cli::SearchArgs;
use crate::config::Config;
use crate::output;
use crate::UsageError;
use codeintel_index::{SearchHit, SearchMode, SearchRequest};
use std::process::ExitCode;

pub fn run(config: &Config, args: SearchArgs) -> anyhow::Result<ExitCode> {
    if args.query.trim().is_empty() {
        return Err(UsageError(
            "empty query: give words, a literal or a pattern to search for".into(),
        )
        .into());
    }
    let Some(store) = open_existing_store(config)? else {
        return finish(&[], args.json);
    };
    // The model loads only when the search needs it: hybrid by default where embeddings exist.
    let needs_model = !matches!(
        args.mode,
        Some(SearchMode::Lexical | SearchMode::Exact | SearchMode::Regex)
    );
    let model = match (needs_model, args.mode) {
        (false, _) => None,
        // Asked for by name: without the model the search cannot run.
        (true, Some(_)) => super::embedder(config)?,
        (true, None) if !super::default_search_wants_model(config, &store) => None,
        // The default mode: an unavailable model leaves lexical search.
        (true, None) => super::embedder(config).unwrap_or_else(|e| {
            eprintln!("note: embeddings unavailable, searching lexically: {e:#}");
            None
        }),
    };
    let embedder = model.as_deref();
    let mode = args
        .mode
        .unwrap_or_else(|| store.default_search_mode(embedder));
    let request = SearchRequest {
        query: args.query,
        repository: args.repo,
        language: args.lang,
        path_glob: args.path,
        limit: usize::from(args.limit),
        mode,
    };
    let hits = store
        .search_with(&request, embedder)
        .map_err(usage_if_invalid)?;
    // An empty (or short) result while a first sync runs does not mean "not in the code".
    if let Some(note) = store
        .unfinished_first_syncs()
        .ok()
        .and_then(|u| codeintel_server::unfinished_note(&u))
    {
        eprintln!("note: {note}");
    }
    finish(&hits, args.json)
}

fn finish(hits: &[SearchHit], json: bool) -> anyhow::Result<ExitCode> {
    if json {
        output::print_json(&hits)?;
    } else {
        print_hits(hits)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn print_hits(hits: &[SearchHit]) -> anyhow::Result<()> {
    let mut text = String::new();
    for h in hits {
        let symbol = match (&h.symbol, &h.kind) {
            (Some(s), Some(k)) => format!("  {k} {s}"),
            (Some(s), None) => format!("  {s}"),
            _ => String::new(),
        };
        text.push_str(&format!(
            "{}/{}:{}-{}{}  (score {})\n{}\n\n",
            h.repository, h.path, h.start_line, h.end_line, symbol, h.score, h.snippet
        ));
    }
    if hits.is_empty() {
        eprintln!("no results");
    }
    output::write_stdout(&text)
}
