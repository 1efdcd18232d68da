//! `codeintel serve`: the MCP server over stdio or streamable HTTP, with auto-sync behind it.

use super::autosync::{runtime, stop_signal};
use super::open_store;
use crate::cli::ServeArgs;
use crate::config::Config;
use crate::UsageError;
use codeintel_server::{serve_http, serve_stdio, CodeIntel, HttpOptions};
use codeintel_sync::AutoSyncManager;
use std::process::ExitCode;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// With no scan paths configured, a first run indexes the repositories under the current
/// folder (unless that is `/` or the home folder, too broad to guess) and says how to add more.
pub(super) fn first_run_settings(config: &Config) -> codeintel_sync::AutoSyncConfig {
    let mut settings = config.auto_sync.clone();
    if !settings.paths.is_empty() {
        return settings;
    }
    // The folder is still where clients may name repositories; with auto-sync off nothing
    // is indexed, so there is nothing to say.
    let say = |note: String| {
        if settings.enabled {
            eprintln!("{note}");
        }
    };
    let cwd = std::env::current_dir()
        .ok()
        .and_then(|d| std::fs::canonicalize(d).ok());
    let home = std::env::var_os("HOME").and_then(|h| std::fs::canonicalize(h).ok());
    match cwd {
        Some(dir) if dir.parent().is_some() && Some(&dir) != home.as_ref() => {
            say(format!(
                "note: no AUTO_SYNC_PATHS configured; indexing the repositories under {} \
                 (add folders with `codeintel auto-sync-config --path DIR`)",
                dir.display()
            ));
            settings.paths = vec![dir];
        }
        _ => say(
            "note: no AUTO_SYNC_PATHS configured; add folders with `codeintel auto-sync-config --path DIR`"
                .into(),
        ),
    }
    settings
}

pub fn run(config: &Config, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let http = match &args.http {
        Some(addr) => Some(HttpOptions {
            addr: addr.parse().map_err(|_| {
                UsageError(format!(
                    "invalid --http address `{addr}` (expected IP:PORT)"
                ))
            })?,
            token: args.token.clone().filter(|t| !t.is_empty()),
            allow_remote: args.allow_remote,
        }),
        None => None,
    };
    if let Some(options) = &http {
        options.validate().map_err(UsageError)?;
    }
    let store = Arc::new(open_store(config, false)?);
    let embeddings = super::shared_embedder(config);
    let manager = Arc::new(AutoSyncManager::with_embedder(
        store.clone(),
        config.data_dir.clone(),
        first_run_settings(config),
        embeddings.embedder.clone(),
    )?);
    embeddings.report_to(&manager);
    // A read-only role serves what the index holds; auto-sync would only be refused.
    let syncs = store.writable();
    if !syncs {
        eprintln!(
            "note: the index at {} is read-only for this role: serving searches; auto-sync and control tools are off",
            store.path().display()
        );
    }
    let server = CodeIntel::new(store, manager.clone(), embeddings.embedder);
    let data_dir = config.data_dir.clone();
    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        let on_signal = shutdown.clone();
        tokio::spawn(async move {
            stop_signal().await;
            on_signal.cancel();
        });
        let served = match http {
            Some(options) => {
                if syncs {
                    manager.start();
                }
                serve_http(server, options, &data_dir, shutdown).await
            }
            None => {
                serve_stdio(server, shutdown, || {
                    if syncs {
                        manager.start()
                    }
                })
                .await
            }
        };
        manager.stop().await;
        served
    })?;
    Ok(ExitCode::SUCCESS)
}
