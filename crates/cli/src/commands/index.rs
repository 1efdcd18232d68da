//! `codeintel index PATH`: index one repository, incrementally unless `--full`.

use super::open_store;
use crate::cli::IndexArgs;
use crate::config::Config;
use crate::output;
use crate::UsageError;
use anyhow::Context;
use codeintel_index::{SyncError, SyncProgress};
use codeintel_sync::{SyncNow, SyncNowError};
use std::process::ExitCode;

pub fn run(config: &Config, args: IndexArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(config, args.force)?;
    let sync =
        SyncNow::new(&store, &config.auto_sync.exclude).map_err(|e| UsageError(e.to_string()))?;
    let bar = progress_bar(args.json);
    let report = |p: SyncProgress| match p {
        SyncProgress::Walked { files, to_read } => {
            bar.set_length(to_read);
            bar.set_message(format!("{files} files, {to_read} to read"));
        }
        SyncProgress::Read { done, .. } | SyncProgress::Committed { done, .. } => {
            bar.set_position(done)
        }
    };
    let synced =
        sync.with_progress(&report)
            .run_requested(&args.path, args.name.as_deref(), args.full);
    bar.finish_and_clear();
    let synced = synced.map_err(|e| match e {
        SyncNowError::Sync(SyncError::Missing(_) | SyncError::NotADirectory(_))
        | SyncNowError::Excludes(_) => UsageError(e.to_string()).into(),
        other => anyhow::Error::from(other),
    })?;
    if let Some(note) = &synced.note {
        eprintln!("note: {note}");
    }
    let result = synced.result;
    let embedded = if args.no_embed {
        0
    } else {
        super::model::install_for_index(config, args.json);
        embed(config, &store, &result.repository, args.json)?
    };
    if args.json {
        let mut value = serde_json::to_value(&result)?;
        value["chunks_embedded"] = serde_json::json!(embedded);
        if let Some(note) = &synced.note {
            value["note"] = serde_json::json!(note);
        }
        output::print_json(&value)?;
    } else {
        println!(
            "{}: {} files ({} added, {} updated, {} renamed, {} deleted, {} skipped, {} failed), \
             {} chunks new, {} deleted, {:.1}% ok, {} ms",
            result.repository,
            result.files_processed,
            result.files_added,
            result.files_updated,
            result.files_renamed,
            result.files_deleted,
            result.files_skipped,
            result.files_failed,
            result.chunks_new,
            result.chunks_deleted,
            result.success_rate,
            result.duration_ms
        );
        if embedded > 0 {
            println!("{}: {embedded} chunks embedded", result.repository);
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The second phase: embeddings for the repository's chunks that have none of the model's yet
/// (none when no model is installed or `CODEINTEL_EMBED_PROVIDER=none`).
fn embed(
    config: &Config,
    store: &codeintel_index::IndexStore,
    repository: &str,
    json: bool,
) -> anyhow::Result<u64> {
    let context = || format!("{repository}: lexical index committed; embeddings not computed");
    let Some(embedder) = super::embedder(config).with_context(context)? else {
        return Ok(0);
    };
    let repo_id = store.find_repository(repository)?.map(|r| r.id);
    let bar = progress_bar(json);
    bar.set_message("embedding");
    let report = |p: codeintel_index::vectors::EmbedProgress| {
        bar.set_length(p.total);
        bar.set_position(p.done);
    };
    let cancel = std::sync::atomic::AtomicBool::new(false);
    let done = store.embed_pending(embedder.as_ref(), repo_id, &cancel, &report);
    bar.finish_and_clear();
    done.with_context(context)
}

/// A bar on stderr when it is a terminal; hidden when piped or with `--json`.
fn progress_bar(json: bool) -> indicatif::ProgressBar {
    output::progress_bar("{spinner} [{bar:30}] {pos}/{len} {msg} ({eta})", json)
}
