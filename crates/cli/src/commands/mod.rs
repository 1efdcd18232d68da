//! One module per subcommand. Each loads what it needs from the shared [`Config`].

mod autosync;
mod configure;
mod discover;
mod index;
mod migrate;
mod model;
mod navigate;
mod repos;
mod search;
mod serve;

use crate::cli::{Cli, Command, ModelAction};
use crate::config::{Config, Overrides};
use codeintel_embed::{
    Embedder, EmbedderSlot, LocalEmbedder, RemoteEmbedder, RemoteProvider, RemoteSettings,
};
use codeintel_index::navigate::Direction;
use codeintel_index::{IndexStore, StoreError};
use std::process::ExitCode;
use std::sync::Arc;

/// Opens the index in the data directory, creating it if needed.
pub fn open_store(config: &Config, force: bool) -> anyhow::Result<IndexStore> {
    Ok(IndexStore::open_at(&config.store, &config.data_dir, force)?)
}

/// Opens the index for reading; `None` (with a note on stderr) when nothing is indexed yet.
pub fn open_existing_store(config: &Config) -> anyhow::Result<Option<IndexStore>> {
    let store = IndexStore::open_read_only_at(&config.store, &config.data_dir)?;
    if store.is_none() {
        eprintln!(
            "note: nothing is indexed yet in {}; run `codeintel index PATH` first",
            config.data_dir.display()
        );
    }
    Ok(store)
}

/// The embedder the configuration asks for: `None` when embeddings are off, or when no model
/// is installed and none was asked for explicitly. A remote provider is probed here (one
/// request), so a wrong URL, model or key is an error now.
pub fn embedder(config: &Config) -> anyhow::Result<Option<Arc<dyn Embedder>>> {
    use crate::config::EmbedProvider;
    let dir = &config.embed.model_dir;
    match config.embed.provider {
        EmbedProvider::None => Ok(None),
        EmbedProvider::Auto if !dir.join("config.json").is_file() => Ok(None),
        EmbedProvider::Auto | EmbedProvider::Local => Ok(Some(Arc::new(LocalEmbedder::load(dir)?))),
        EmbedProvider::Remote(provider) => Ok(Some(Arc::new(RemoteEmbedder::connect(
            remote_settings(config, provider),
        )?))),
    }
}

fn remote_settings(config: &Config, provider: RemoteProvider) -> RemoteSettings {
    let mut settings =
        RemoteSettings::new(provider, config.embed.model.clone().unwrap_or_default());
    settings.url = config.embed.url.clone();
    settings.api_key = config.embed.api_key.as_ref().map(|k| k.0.clone());
    settings
}

/// Whether a search without `--mode` may need the model. A local model whose vectors this
/// index does not hold would only be loaded to be set aside (the search is lexical then), so
/// it is not loaded at all; other providers are asked.
pub fn default_search_wants_model(config: &Config, store: &IndexStore) -> bool {
    use crate::config::EmbedProvider;
    match config.embed.provider {
        EmbedProvider::None => false,
        EmbedProvider::Auto | EmbedProvider::Local => {
            match LocalEmbedder::model_id_in(&config.embed.model_dir) {
                Ok(id) => store.has_embeddings(&id).unwrap_or(true),
                // Unreadable: loading reports why (or, for `Auto`, finds no model).
                Err(_) => true,
            }
        }
        EmbedProvider::Remote(_) => true,
    }
}

/// What the configured model is called before it is loaded, for status when it cannot be.
fn configured_model(config: &Config) -> String {
    use crate::config::EmbedProvider;
    match config.embed.provider {
        EmbedProvider::Remote(provider) => format!(
            "{provider}:{}",
            config.embed.model.as_deref().unwrap_or_default()
        ),
        _ => format!("local:{}", config.embed.model_dir.display()),
    }
}

/// The embedder of a long-running service, and why there is none when the configured one
/// failed.
pub struct ServiceEmbedder {
    pub embedder: Arc<EmbedderSlot>,
    /// The configured model and the error that kept it from loading.
    pub unavailable: Option<(String, String)>,
    /// The default model, to fetch in the background: it is not installed yet.
    install: Option<model::ModelInstall>,
}

impl ServiceEmbedder {
    /// Tells `manager` (and so the status) why embeddings are off, when they failed, and starts
    /// fetching the model when it is not installed yet.
    pub fn report_to(&self, manager: &Arc<codeintel_sync::AutoSyncManager>) {
        if let Some((model, error)) = &self.unavailable {
            manager.set_embedding_unavailable(model, error);
        }
        if let Some(wanted) = &self.install {
            model::start_background_install(wanted.clone(), self.embedder.clone(), manager.clone());
        }
    }
}

/// The embedder for long-running services, shared between the server and the manager. A
/// model that fails to load is reported and the service runs lexical-only; the error shows in
/// the auto-sync status. A remote provider that cannot be reached is retried by the manager's
/// background worker, and semantic search starts working when it answers. A default model that
/// is not installed is fetched in the background (see [`model`]).
pub fn shared_embedder(config: &Config) -> ServiceEmbedder {
    use crate::config::EmbedProvider;
    if let Some(wanted) = model::wanted(config) {
        return ServiceEmbedder {
            embedder: Arc::new(model::pending_slot(&wanted.dir)),
            unavailable: Some((
                configured_model(config),
                "the embedding model is not installed yet; fetching it".into(),
            )),
            install: Some(wanted),
        };
    }
    match embedder(config) {
        Ok(embedder) => ServiceEmbedder {
            embedder: Arc::new(EmbedderSlot::fixed(embedder)),
            unavailable: None,
            install: None,
        },
        Err(e) => {
            tracing::warn!("embeddings off, lexical search only: {e:#}");
            let slot = match config.embed.provider {
                EmbedProvider::Remote(provider) => {
                    let settings = remote_settings(config, provider);
                    EmbedderSlot::reconnecting(move || {
                        let embedder = RemoteEmbedder::connect(settings.clone())?;
                        Ok(Arc::new(embedder) as Arc<dyn Embedder>)
                    })
                }
                _ => EmbedderSlot::fixed(None),
            };
            ServiceEmbedder {
                embedder: Arc::new(slot),
                unavailable: Some((configured_model(config), format!("{e:#}"))),
                install: None,
            }
        }
    }
}

/// Bad input reported by the index (an invalid query or filter, an unknown repository, a mode
/// the index cannot serve yet) is a usage error; a failure of the index or the embedder is not.
pub fn usage_if_invalid(err: StoreError) -> anyhow::Error {
    if err.is_bad_input() {
        crate::UsageError(err.to_string()).into()
    } else {
        err.into()
    }
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let overrides = Overrides {
        env_file: cli.env_file,
        data_dir: cli.data_dir,
        store: cli.store,
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
        Command::Refs(args) => navigate::refs(&config, args),
        Command::Callers(args) => navigate::graph(&config, args, Direction::Callers),
        Command::Callees(args) => navigate::graph(&config, args, Direction::Callees),
        Command::Remove(args) => autosync::remove(&config, args),
        Command::MigrateStore(args) => migrate::run(&config, args),
        Command::Model {
            action: ModelAction::Install(args),
        } => model::run(&config, args),
        Command::Serve(args) => serve::run(&config, args),
        Command::AutoSyncConfig(args) => configure::run(&config, &overrides_for_reload, args),
        Command::Completions { shell } => {
            let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "codeintel", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Daemon => autosync::daemon(&config),
        Command::Status(args) if args.open => autosync::open_page(&config, args.json),
        Command::Status(args) => {
            autosync::status(&config, crate::cli::JsonArgs { json: args.json })
        }
        Command::AutoSyncStatus(args) => autosync::status(&config, args),
        Command::AutoSyncScan(args) => autosync::scan(&config, args),
        Command::AutoSyncPause(args) => autosync::pause(&config, args, true),
        Command::AutoSyncResume(args) => autosync::pause(&config, args, false),
    }
}
