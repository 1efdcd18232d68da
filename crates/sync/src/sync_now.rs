//! Syncing one repository now: the one way the CLI's `index`, the MCP tool `index_repository`
//! and auto-sync's jobs sync a repository. All of them validate the excludes the same way (an
//! invalid pattern is an error, never silently dropped), and the store's repository lock keeps
//! two syncs of one repository from running at once, whoever started them. A sync asked for by
//! a person ([`SyncNow::run_requested`]) also treats a folder inside an indexed repository as
//! that repository, and welcomes back a repository that had been removed.

use crate::manager::forget_removal;
use codeintel_discovery::ExcludeError;
use codeintel_index::{
    IndexStore, RepositorySync, SyncError, SyncOptions, SyncProgress, SyncResult,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Why a requested sync could not run.
#[derive(Debug, thiserror::Error)]
pub enum SyncNowError {
    /// An exclude pattern that cannot be compiled.
    #[error("invalid exclude pattern: {0}")]
    Excludes(#[from] ExcludeError),
    /// The sync failed.
    #[error(transparent)]
    Sync(#[from] SyncError),
}

/// What a requested sync did.
#[derive(Debug, Clone)]
pub struct SyncedNow {
    /// What the sync did.
    pub result: SyncResult,
    /// The folder synced (canonical): the repository holding the one asked for, if any.
    pub path: PathBuf,
    /// Said when the folder asked for was inside an indexed repository.
    pub note: Option<String>,
}

/// A sync to run now, over `store`, with the configured extra excludes.
pub struct SyncNow<'a> {
    store: &'a IndexStore,
    options: SyncOptions,
    progress: Option<&'a (dyn Fn(SyncProgress) + Sync)>,
    cancel: Option<&'a AtomicBool>,
    skip_if_busy: bool,
}

impl<'a> SyncNow<'a> {
    /// A sync over `store` with the built-in excludes and `excludes`; an invalid pattern is an error.
    pub fn new(store: &'a IndexStore, excludes: &[String]) -> Result<Self, SyncNowError> {
        Ok(SyncNow {
            store,
            options: SyncOptions::with_extra_excludes(excludes)?,
            progress: None,
            cancel: None,
            skip_if_busy: false,
        })
    }

    /// Ends with [`SyncError::Busy`] instead of waiting while another sync of the repository
    /// runs (auto-sync's workers: another worker sharing the store has it).
    pub fn skip_if_busy(mut self) -> Self {
        self.skip_if_busy = true;
        self
    }

    /// Reports progress to `progress`.
    pub fn with_progress(mut self, progress: &'a (dyn Fn(SyncProgress) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// Stops after the batch in flight once `cancel` is set.
    pub fn with_cancel(mut self, cancel: &'a AtomicBool) -> Self {
        self.cancel = Some(cancel);
        self
    }

    fn sync(&self) -> RepositorySync<'_> {
        let mut sync = RepositorySync::new(self.store, &self.options);
        if let Some(progress) = self.progress {
            sync = sync.with_progress(progress);
        }
        if let Some(cancel) = self.cancel {
            sync = sync.with_cancel(cancel);
        }
        if self.skip_if_busy {
            sync = sync.skip_if_busy();
        }
        sync
    }

    /// Syncs the repository at `path` as auto-sync does (incrementally).
    pub fn run(&self, path: &Path, name: Option<&str>) -> Result<SyncResult, SyncError> {
        self.sync().run(path, name, true)
    }

    /// Syncs only `paths` of the repository at `root` (what a watcher saw change).
    pub fn run_paths(&self, root: &Path, paths: &[String]) -> Result<SyncResult, SyncError> {
        self.sync().run_paths(root, paths)
    }

    /// Syncs `path` because a person (or their assistant) asked: `full` rereads every file. A
    /// folder inside an indexed repository syncs that repository (indexing it on its own would
    /// index its files twice); a repository that had been removed is found by scans again.
    pub fn run_requested(
        &self,
        path: &Path,
        name: Option<&str>,
        full: bool,
    ) -> Result<SyncedNow, SyncNowError> {
        let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let outer = self
            .store
            .repository_containing(&canonical)
            .map_err(SyncError::from)?;
        let note = outer.as_ref().map(|repo| {
            format!(
                "{} is inside the indexed repository {}: synced that repository instead",
                path.display(),
                repo.name
            )
        });
        let (target, name) = match &outer {
            Some(repo) => (repo.path.clone(), None),
            None => (path.to_path_buf(), name),
        };
        let result = self.sync().run(&target, name, !full)?;
        let synced = std::fs::canonicalize(&target).unwrap_or(target);
        if let Err(e) = forget_removal(self.store, &synced) {
            tracing::warn!(%e, "cannot clear the removal of an indexed repository");
        }
        Ok(SyncedNow {
            result,
            path: synced,
            note,
        })
    }
}
