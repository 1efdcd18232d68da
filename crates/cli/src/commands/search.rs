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
    let request = SearchRequest {
        query: args.query,
        repository: args.repo,
        language: args.lang,
        path_glob: args.path,
        limit: usize::from(args.limit),
        mode: args.mode.unwrap_or(SearchMode::Lexical),
    };
    let hits = match open_existing_store(config)? {
        Some(store) => store.search(&request).map_err(usage_if_invalid)?,
        None => Vec::new(),
    };
    if args.json {
        output::print_json(&hits)?;
    } else {
        print_hits(&hits)?;
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
