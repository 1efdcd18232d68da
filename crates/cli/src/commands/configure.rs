//! `codeintel auto-sync-config`: edit the env file in place, then apply to running servers.

use crate::cli::AutoSyncConfigArgs;
use crate::config::{self, AutoSyncSettings, Config, Overrides, Sources};
use crate::output;
use crate::{envfile, UsageError};
use codeintel_index::IndexStore;
use codeintel_sync::{AutoSyncManager, ConfigUpdate, Setting};
use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;

/// The env-file changes the flags ask for, as `(setting, value)`, after checking that the
/// folders given exist (unless `--force`).
fn changes(args: &AutoSyncConfigArgs) -> Result<Vec<(&'static Setting, String)>, UsageError> {
    if let Some(paths) = args.value(&Setting::PATHS) {
        let process: HashMap<String, String> = std::env::vars().collect();
        let missing: Vec<&str> = paths
            .split(',')
            .filter(|p| !config::expand_tilde(p, &process).is_dir())
            .collect();
        if !missing.is_empty() {
            let list = missing.join(", ");
            if args.force {
                eprintln!("warning: storing paths that do not exist (yet): {list}");
            } else {
                return Err(UsageError(format!(
                    "no such folder: {list} (pass --force to store it anyway)"
                )));
            }
        }
    }
    Ok(args.values.clone())
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
        for (setting, value) in &changes {
            file.insert(setting.env.to_string(), value.clone());
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
        let edits: Vec<(&str, Option<String>)> = changes
            .iter()
            .map(|(s, v)| (s.env, Some(v.clone())))
            .collect();
        envfile::update(&config.env_file, &edits)?;
        for key in changes.iter().map(|(s, _)| s.env) {
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
fn apply_to_servers(config: &Config, changed: &[(&'static Setting, String)]) -> anyhow::Result<()> {
    let Some(store) = IndexStore::open_existing_at(&config.store, &config.data_dir)? else {
        return Ok(());
    };
    let s = &config.auto_sync;
    let mut update = ConfigUpdate::default();
    for (setting, _) in changed {
        update.set_from(setting, s);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_shown_has_every_setting_by_its_key() {
        let shown = describe(&AutoSyncSettings::default());
        let mut keys: Vec<&str> = shown
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut table: Vec<&str> = codeintel_sync::SETTINGS.iter().map(|s| s.key).collect();
        table.sort_unstable();
        assert_eq!(keys, table);
    }
}
