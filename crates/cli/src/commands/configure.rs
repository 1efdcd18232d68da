//! `codeintel auto-sync-config`: edit the env file in place, then apply to running servers.

use crate::cli::AutoSyncConfigArgs;
use crate::config::{self, AutoSyncSettings, Config, Overrides, Sources};
use crate::output;
use crate::{envfile, UsageError};
use codeintel_index::IndexStore;
use codeintel_sync::{AutoSyncManager, ConfigUpdate};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

/// The env-file changes the flags ask for, as `(KEY, value)`.
fn changes(args: &AutoSyncConfigArgs) -> Result<Vec<(&'static str, String)>, UsageError> {
    let mut out = Vec::new();
    if !args.paths.is_empty() {
        let process: HashMap<String, String> = std::env::vars().collect();
        let missing: Vec<&String> = args
            .paths
            .iter()
            .filter(|p| !config::expand_tilde(p, &process).is_dir())
            .collect();
        if !missing.is_empty() {
            let list = missing
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            if args.force {
                eprintln!("warning: storing paths that do not exist (yet): {list}");
            } else {
                return Err(UsageError(format!(
                    "no such folder: {list} (pass --force to store it anyway)"
                )));
            }
        }
        out.push(("AUTO_SYNC_PATHS", args.paths.join(",")));
    }
    if !args.excludes.is_empty() {
        out.push(("AUTO_SYNC_EXCLUDE", args.excludes.join(",")));
    }
    let numbers = [
        ("AUTO_SYNC_SCAN_INTERVAL", args.scan_interval),
        ("AUTO_SYNC_INTERVAL", args.sync_interval),
        ("AUTO_SYNC_MAX_CONCURRENT", args.max_concurrent),
    ];
    for (key, value) in numbers {
        if let Some(v) = value {
            out.push((key, v.to_string()));
        }
    }
    if let Some(langs) = &args.priority_languages {
        out.push(("AUTO_SYNC_PRIORITY_LANGUAGES", langs.clone()));
    }
    if let Some(size) = &args.size_threshold {
        out.push(("AUTO_SYNC_SIZE_THRESHOLD", size.clone()));
    }
    if args.enabled || args.disabled {
        out.push(("AUTO_SYNC_ENABLED", args.enabled.to_string()));
    }
    if args.auto_watch || args.no_auto_watch {
        out.push(("AUTO_SYNC_AUTO_WATCH", args.auto_watch.to_string()));
    }
    Ok(out)
}

pub fn run(
    config: &Config,
    overrides: &Overrides,
    args: AutoSyncConfigArgs,
) -> anyhow::Result<ExitCode> {
    let changes = changes(&args)?;
    if !changes.is_empty() {
        // Validate the file as it will be, before writing anything.
        let mut file = envfile::read(&config.env_file)?;
        for (key, value) in &changes {
            file.insert(key.to_string(), value.clone());
        }
        let process: HashMap<String, String> = std::env::vars()
            .filter(|(k, _)| !k.starts_with("AUTO_SYNC_"))
            .collect();
        Config::resolve(
            overrides,
            config.env_file.clone(),
            &Sources { process, file },
        )
        .map_err(|e| UsageError(e.to_string()))?;
        let edits: Vec<(&str, Option<String>)> =
            changes.iter().map(|(k, v)| (*k, Some(v.clone()))).collect();
        envfile::update(&config.env_file, &edits)?;
        for (key, _) in &changes {
            if std::env::var_os(key).is_some() {
                eprintln!("warning: {key} is also set in the environment, which takes precedence over the env file");
            }
        }
        eprintln!("updated {}", config.env_file.display());
    }
    let effective = Config::load(overrides)?;
    if !changes.is_empty() {
        apply_to_servers(&effective, &changes)?;
    }
    let status = describe(&effective.auto_sync);
    if args.json {
        output::print_json(&status)?;
    } else {
        output::write_stdout(&format!(
            "env file: {}\n{}",
            effective.env_file.display(),
            serde_json::to_string_pretty(&status)?
        ))?;
        println!();
    }
    Ok(ExitCode::SUCCESS)
}

/// Stores the changed settings as auto-sync overrides in the index, which every running server
/// reads within a second (stdio and HTTP servers alike).
fn apply_to_servers(config: &Config, changed: &[(&'static str, String)]) -> anyhow::Result<()> {
    let path = IndexStore::default_path(&config.data_dir);
    let Some(store) = IndexStore::open_existing(&path)? else {
        return Ok(());
    };
    let s = &config.auto_sync;
    let has = |key: &str| changed.iter().any(|(k, _)| *k == key);
    let secs = |d: std::time::Duration| Some(d.as_secs() as i64);
    let update = ConfigUpdate {
        enabled: has("AUTO_SYNC_ENABLED").then_some(s.enabled),
        scan_paths: has("AUTO_SYNC_PATHS")
            .then(|| s.paths.iter().map(|p| p.display().to_string()).collect()),
        exclude_patterns: has("AUTO_SYNC_EXCLUDE").then(|| s.exclude.clone()),
        scan_interval: has("AUTO_SYNC_SCAN_INTERVAL")
            .then(|| secs(s.scan_interval))
            .flatten(),
        sync_interval: has("AUTO_SYNC_INTERVAL")
            .then(|| secs(s.sync_interval))
            .flatten(),
        max_concurrent: has("AUTO_SYNC_MAX_CONCURRENT").then_some(s.max_concurrent as i64),
        priority_languages: has("AUTO_SYNC_PRIORITY_LANGUAGES").then(|| {
            s.priority_languages
                .iter()
                .map(|l| l.name().to_string())
                .collect()
        }),
        size_threshold: has("AUTO_SYNC_SIZE_THRESHOLD").then_some(s.size_threshold as i64),
        auto_watch: has("AUTO_SYNC_AUTO_WATCH").then_some(s.auto_watch),
    };
    let manager = AutoSyncManager::new(Arc::new(store), config.data_dir.clone(), s.clone())?;
    manager.configure(&update)?;
    if let Some(pid) = manager.status()?.syncer_pid {
        eprintln!("applied to the running auto-sync process (pid {pid})");
    } else {
        eprintln!("note: no server is running; the settings apply when one starts");
    }
    Ok(())
}

fn describe(s: &AutoSyncSettings) -> serde_json::Value {
    serde_json::json!({
        "enabled": s.enabled,
        "scan_paths": s.paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "exclude_patterns": s.exclude,
        "scan_interval": s.scan_interval.as_secs(),
        "sync_interval": s.sync_interval.as_secs(),
        "max_concurrent": s.max_concurrent,
        "priority_languages": s.priority_languages.iter().map(|l| l.name()).collect::<Vec<_>>(),
        "size_threshold": s.size_threshold,
        "auto_watch": s.auto_watch,
        "on_startup": s.on_startup,
    })
}
