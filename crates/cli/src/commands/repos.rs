//! `codeintel repos`: the indexed repositories with their counts and last sync.

use super::open_existing_store;
use crate::cli::ReposArgs;
use crate::config::Config;
use crate::output;
use codeintel_index::{RepositoryInfo, RepositoryLinks};
use serde::Serialize;
use std::process::ExitCode;

#[derive(Debug, Serialize)]
struct RepoJson {
    path: String,
    name: String,
    language: Option<String>,
    files: u64,
    chunks: u64,
    embedded_chunks: u64,
    last_sync: Option<String>,
    /// No watcher runs outside `serve`; the field is here for the contract.
    watched: bool,
    last_error: Option<String>,
    last_result: Option<serde_json::Value>,
    depends_on: Vec<String>,
    used_by: Vec<String>,
}

fn to_json(info: RepositoryInfo, embedded_chunks: u64, links: &RepositoryLinks) -> RepoJson {
    RepoJson {
        depends_on: links.depends_on(info.record.id),
        used_by: links.used_by(info.record.id),
        path: info.record.path.display().to_string(),
        name: info.record.name,
        language: info.record.language,
        files: info.files,
        chunks: info.chunks,
        embedded_chunks,
        last_sync: info.last_sync.map(output::rfc3339),
        watched: false,
        last_error: info.last_error,
        last_result: info.last_result,
    }
}

pub fn run(config: &Config, args: ReposArgs) -> anyhow::Result<ExitCode> {
    let repos: Vec<RepoJson> = match open_existing_store(config)? {
        Some(store) => {
            let mut out = Vec::new();
            let repos = store.repositories()?;
            let links = RepositoryLinks::new(&repos, &store.dependencies()?);
            for info in repos {
                let embedded = store.embedded_chunks(None, Some(info.record.id))?;
                out.push(to_json(info, embedded, &links));
            }
            out
        }
        None => Vec::new(),
    };
    if args.json {
        output::print_json(&repos)?;
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = repos
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.language.clone().unwrap_or_else(|| "-".into()),
                r.files.to_string(),
                r.chunks.to_string(),
                r.last_sync.clone().unwrap_or_else(|| "never".into()),
                r.last_error.clone().unwrap_or_else(|| "-".into()),
                r.path.clone(),
            ]
        })
        .collect();
    let text = output::table(
        &[
            "NAME",
            "LANGUAGE",
            "FILES",
            "CHUNKS",
            "LAST SYNC",
            "ERROR",
            "PATH",
        ],
        &rows,
    );
    output::write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}
