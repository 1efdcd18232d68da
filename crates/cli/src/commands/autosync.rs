//! `daemon` and the auto-sync control commands. Until the MCP server lands they act on the
//! store directly; a running daemon picks the changes up within a second.

use super::open_store;
use crate::cli::{JsonArgs, RemoveArgs};
use crate::client::{self, ClientError};
use crate::config::Config;
use crate::output;
use codeintel_sync::{AutoSyncManager, Status};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub(super) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub(super) fn manager(config: &Config) -> anyhow::Result<AutoSyncManager> {
    let store = Arc::new(open_store(config, false)?);
    Ok(AutoSyncManager::new(
        store,
        config.data_dir.clone(),
        config.auto_sync.clone(),
    )?)
}

/// Resolves when the process is asked to stop (Ctrl-C or SIGTERM).
pub(super) async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn daemon(config: &Config) -> anyhow::Result<ExitCode> {
    let store = Arc::new(open_store(config, false)?);
    let settings = super::serve::first_run_settings(config);
    let embeddings = super::shared_embedder(config);
    let manager = Arc::new(AutoSyncManager::with_embedder(
        store,
        config.data_dir.clone(),
        settings,
        embeddings.embedder.clone(),
    )?);
    embeddings.report_to(&manager);
    runtime()?.block_on(async {
        manager.start();
        tracing::info!("auto-sync daemon started");
        stop_signal().await;
        tracing::info!("stopping: finishing the current batches");
        manager.stop().await;
    });
    Ok(ExitCode::SUCCESS)
}

/// Runs `tool` on the running HTTP server, or `None` when no server is up (the caller then acts
/// on the store and says so). A server that is up but answers garbage or nothing is an error.
fn via_server(
    config: &Config,
    tool: &str,
    args: serde_json::Value,
) -> anyhow::Result<Option<serde_json::Value>> {
    let Some(server) = client::running_server(&config.data_dir) else {
        return Ok(None);
    };
    match client::call_tool(&server, tool, args) {
        Ok(value) => Ok(Some(value)),
        Err(ClientError::NotRunning(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn no_server_note() {
    eprintln!("note: no server is running; acting on the stored state");
}

pub fn status(config: &Config, args: JsonArgs) -> anyhow::Result<ExitCode> {
    if let Some(value) = via_server(config, "get_auto_sync_status", serde_json::json!({}))? {
        if args.json {
            output::print_json(&value)?;
        } else {
            let status: Status = serde_json::from_value(value)?;
            output::write_stdout(&render_status(&status))?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    no_server_note();
    let status = manager(config)?.status()?;
    if args.json {
        output::print_json(&status)?;
    } else {
        output::write_stdout(&render_status(&status))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `status --open`: the running server's page address on stdout, and a browser opened on it
/// when there is one (never an error when there is none: the address is the result).
pub fn open_page(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let Some(server) = crate::client::running_server(&config.data_dir) else {
        eprintln!(
            "no server is running for {}; start one with `codeintel serve --http` (the page is served beside /mcp)",
            config.data_dir.display()
        );
        return Ok(ExitCode::FAILURE);
    };
    let url = codeintel_server::page_url(&server.url, server.token.as_deref());
    if json {
        output::print_json(&serde_json::json!({ "url": url }))?;
    } else {
        output::write_stdout(&format!("{url}\n"))?;
    }
    open_browser(&url);
    Ok(ExitCode::SUCCESS)
}

/// Starts a browser on `url` when the session has one: `$BROWSER`, else the desktop's opener
/// (on Linux only under a graphical session, so a server over ssh prints the address only).
fn open_browser(url: &str) {
    let opener: Option<(String, Vec<String>)> = if let Some(browser) = std::env::var("BROWSER")
        .ok()
        .filter(|b| !b.trim().is_empty())
    {
        Some((browser, vec![url.to_string()]))
    } else if cfg!(target_os = "macos") {
        Some(("open".into(), vec![url.to_string()]))
    } else if cfg!(windows) {
        Some((
            "cmd".into(),
            vec!["/C".into(), "start".into(), String::new(), url.to_string()],
        ))
    } else if std::env::var_os("DISPLAY").is_some() || std::env::var_os("WAYLAND_DISPLAY").is_some()
    {
        Some(("xdg-open".into(), vec![url.to_string()]))
    } else {
        None
    };
    let Some((program, args)) = opener else {
        eprintln!("note: no browser here; open the address above in one");
        return;
    };
    let spawned = std::process::Command::new(&program)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if let Err(e) = spawned {
        eprintln!("note: cannot start a browser ({program}: {e}); open the address above in one");
    }
}

fn render_status(s: &Status) -> String {
    let running = match (s.syncer_pid, s.paused) {
        (Some(pid), false) => format!("running (pid {pid})"),
        (Some(pid), true) => format!("paused (pid {pid})"),
        (None, _) => "not running".to_string(),
    };
    let mut text = format!(
        "auto-sync: {running}, {}; last scan {}\n\
         queue: {} queued, {} syncing, {} synced; scan every {}s, re-check every {}s, {} at once\n",
        if s.enabled { "enabled" } else { "disabled" },
        s.last_scan.as_deref().unwrap_or("never"),
        s.queued_repos,
        s.active_syncs,
        s.synced_repos,
        s.config.scan_interval,
        s.config.sync_interval,
        s.config.max_concurrent,
    );
    if !s.store.is_empty() {
        text.push_str(&format!("index: {}\n", s.store));
    }
    if let Some(e) = &s.embeddings {
        text.push_str(&format!(
            "embeddings: {}, {} embedded, {} pending",
            e.model, e.embedded, e.pending
        ));
        if let Some(error) = &e.error {
            text.push_str(&format!("; error: {error}"));
        }
        text.push('\n');
    }
    let rows: Vec<Vec<String>> = s
        .repositories
        .iter()
        .map(|r| {
            vec![
                r.name.clone(),
                r.state.clone(),
                r.language.clone().unwrap_or_else(|| "-".into()),
                r.files.to_string(),
                r.last_sync.clone().unwrap_or_else(|| "never".into()),
                r.watch.clone(),
                r.last_error.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    text.push('\n');
    text.push_str(&output::table(
        &[
            "NAME",
            "STATE",
            "LANGUAGE",
            "FILES",
            "LAST SYNC",
            "WATCH",
            "ERROR",
        ],
        &rows,
    ));
    text
}

pub fn pause(config: &Config, args: JsonArgs, pause: bool) -> anyhow::Result<ExitCode> {
    let tool = if pause {
        "pause_auto_sync"
    } else {
        "resume_auto_sync"
    };
    let result = match via_server(config, tool, serde_json::json!({}))? {
        Some(value) => value,
        None => {
            no_server_note();
            let manager = manager(config)?;
            if pause {
                manager.pause()?;
            } else {
                manager.resume()?;
            }
            serde_json::json!({ "paused": manager.status()?.paused })
        }
    };
    if args.json {
        output::print_json(&result)?;
    } else {
        println!("auto-sync {}", if pause { "paused" } else { "resumed" });
    }
    Ok(ExitCode::SUCCESS)
}

/// Drops a repository's index, through a running server when there is one.
pub fn remove(config: &Config, args: RemoveArgs) -> anyhow::Result<ExitCode> {
    let wanted = args.repository.clone();
    // A path may be given as typed (`.`, relative): the store knows it resolved.
    let key = std::fs::canonicalize(&wanted)
        .ok()
        .filter(|_| wanted.contains('/') || wanted == ".")
        .map_or(wanted.clone(), |p| p.display().to_string());
    let arg = serde_json::json!({ "repository": key });
    let value = match via_server(config, "remove_repository", arg)? {
        Some(value) => value,
        None => {
            no_server_note();
            let manager = manager(config)?;
            let removed = manager
                .remove_repository(&key)
                .map_err(|e| crate::UsageError(e.to_string()))?;
            serde_json::to_value(removed)?
        }
    };
    if args.json {
        output::print_json(&value)?;
    } else {
        println!(
            "removed {} ({} files, {} chunks); auto-sync leaves it out until `codeintel index {}`",
            value["repository"].as_str().unwrap_or(&wanted),
            value["files"],
            value["chunks"],
            value["path"].as_str().unwrap_or(&wanted),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// With a syncer running, asks it to scan; without one, scans and syncs here until the queue
/// is empty.
pub fn scan(config: &Config, args: JsonArgs) -> anyhow::Result<ExitCode> {
    if let Some(value) = via_server(config, "trigger_repository_scan", serde_json::json!({}))? {
        let counts: codeintel_sync::ScanCounts = serde_json::from_value(value)?;
        print_counts(&counts, args.json)?;
        return Ok(ExitCode::SUCCESS);
    }
    no_server_note();
    let mut foreground = config.auto_sync.clone();
    foreground.enabled = true;
    foreground.on_startup = true;
    foreground.auto_watch = false;
    let store = Arc::new(open_store(config, false)?);
    let manager = AutoSyncManager::new(store, config.data_dir.clone(), foreground)?;
    // The manual scan works whether auto-sync is enabled, disabled or paused.
    manager.ignore_pause();
    let counts = runtime()?.block_on(async {
        manager.start();
        // Give the lock a moment: if another process holds it, this one only asks.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let mut counts = manager.trigger_scan().await?;
        if manager.is_syncer() {
            eprintln!("scanning and syncing here");
            // A spinner on a terminal (indicatif hides it when stderr is not one), none with --json.
            let bar = indicatif::ProgressBar::new_spinner();
            if args.json {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            loop {
                let s = manager.status()?;
                bar.set_message(format!(
                    "{} queued, {} syncing, {} synced",
                    s.queued_repos, s.active_syncs, s.synced_repos
                ));
                bar.tick();
                if s.queued_repos == 0 && s.active_syncs == 0 {
                    // The counts after the work done here, not those of the moment it was queued.
                    counts = codeintel_sync::ScanCounts {
                        queued: s.queued_repos,
                        active: s.active_syncs,
                        synced: s.synced_repos,
                    };
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            bar.finish_and_clear();
        }
        manager.stop().await;
        anyhow::Ok(counts)
    })?;
    print_counts(&counts, args.json)?;
    Ok(ExitCode::SUCCESS)
}

fn print_counts(counts: &codeintel_sync::ScanCounts, json: bool) -> anyhow::Result<()> {
    if json {
        output::print_json(counts)?;
    } else {
        println!(
            "scan: {} queued, {} syncing, {} synced",
            counts.queued, counts.active, counts.synced
        );
    }
    Ok(())
}
