//! One module per subcommand. Each loads what it needs from the shared [`Config`].

mod autosync;
mod configure;
mod discover;
mod index;
mod repos;
mod search;
mod serve;

use crate::cli::{Cli, Command};
use crate::config::{Config, Overrides};
use codeintel_index::{IndexStore, StoreError};
use std::process::ExitCode;

/// Opens the index in the data directory, creating it if needed.
pub fn open_store(config: &Config, force: bool) -> anyhow::Result<IndexStore> {
    Ok(IndexStore::open(
        &IndexStore::default_path(&config.data_dir),
        force,
    )?)
}

/// Opens the index for reading; `None` (with a note on stderr) when nothing is indexed yet.
pub fn open_existing_store(config: &Config) -> anyhow::Result<Option<IndexStore>> {
    let path = IndexStore::default_path(&config.data_dir);
    let store = IndexStore::open_read_only(&path)?;
    if store.is_none() {
        eprintln!(
            "note: nothing is indexed yet in {}; run `codeintel index PATH` first",
            config.data_dir.display()
        );
    }
    Ok(store)
}

/// The embedder the configuration asks for: `None` when embeddings are off, or when no model
/// is installed and none was asked for explicitly.
pub fn embedder(config: &Config) -> anyhow::Result<Option<codeintel_index::embed::LocalEmbedder>> {
    use crate::config::EmbedProvider;
    let dir = &config.embed.model_dir;
    match config.embed.provider {
        EmbedProvider::None => Ok(None),
        EmbedProvider::Auto if !dir.join("config.json").is_file() => Ok(None),
        EmbedProvider::Auto | EmbedProvider::Local => {
            Ok(Some(codeintel_index::embed::LocalEmbedder::load(dir)?))
        }
    }
}

/// The embedder for long-running services, shared between the server and the manager. A
/// model that fails to load is reported and the service runs lexical-only.
pub fn shared_embedder(
    config: &Config,
) -> anyhow::Result<Option<std::sync::Arc<dyn codeintel_index::embed::Embedder>>> {
    match embedder(config) {
        Ok(Some(e)) => Ok(Some(std::sync::Arc::new(e))),
        Ok(None) => Ok(None),
        Err(e) => {
            tracing::warn!("embeddings off: {e:#}");
            Ok(None)
        }
    }
}

/// Bad input reported by the index (an invalid query or filter) is a usage error.
pub fn usage_if_invalid(err: StoreError) -> anyhow::Error {
    match err {
        StoreError::Invalid(message) => crate::UsageError(message).into(),
        other => other.into(),
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        env_file: cli.env_file,
        data_dir: cli.data_dir,
    };
    let config = Config::load(&overrides)?;
    let overrides_for_reload = overrides.clone();
    tracing::debug!(
        env_file = %config.env_file.display(),
        data_dir = %config.data_dir.display(),
        "configuration loaded"
    );
    match cli.command {
        Command::Discover(args) => discover::run(&config, args),
        Command::Index(args) => index::run(&config, args),
        Command::Search(args) => search::run(&config, args),
        Command::Repos(args) => repos::run(&config, args),
        Command::Serve(args) => serve::run(&config, args),
        Command::AutoSyncConfig(args) => configure::run(&config, &overrides_for_reload, args),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "codeintel", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Daemon => autosync::daemon(&config),
        Command::AutoSyncStatus(args) => autosync::status(&config, args),
        Command::AutoSyncScan(args) => autosync::scan(&config, args),
        Command::AutoSyncPause(args) => autosync::pause(&config, args, true),
        Command::AutoSyncResume(args) => autosync::pause(&config, args, false),
    }
}
