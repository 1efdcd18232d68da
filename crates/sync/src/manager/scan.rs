//! The scan: discovery over the scan paths, and what it means for the repositories the store
//! knows. New ones are recorded (and queued by the scheduler), known ones re-checked, vanished
//! ones marked missing and dropped after the grace period; repositories a person removed are
//! left out until they are indexed by hand again.

use super::shared::{now_ms, Shared};
use super::state::StoredState;
use super::{policy, Result};
use codeintel_discovery::{Discovery, DiscoveryOptions};
use codeintel_index::{IndexStore, RepositoryInfo};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// Discovery and its bookkeeping, on a blocking thread. Returns the repositories found.
pub(super) fn scan_blocking(shared: &Shared) -> Result<Vec<RepositoryInfo>> {
    let config = shared.config();
    let options = DiscoveryOptions::default().with_extra_excludes(config.exclude.clone());
    let discovery = Discovery::new(options)?;
    let report = discovery.run(&config.paths);
    for error in &report.errors {
        tracing::warn!(%error, "scan path skipped");
    }
    let now = now_ms();
    let mut found_ids = HashSet::new();
    let removed = shared.stored().removed()?;
    for repo in &report.repositories {
        if removed.contains(&repo.path.display().to_string()) {
            continue;
        }
        let record = shared.store.ensure_repository(
            &repo.path,
            &repo.name,
            Some(repo.language.name()),
            false,
        )?;
        found_ids.insert(record.id);
        let known = shared.store.repository_state(record.id)?;
        let mut state = known.map(|k| k.sync).unwrap_or_default();
        let last_modified = repo
            .last_modified
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_millis() as i64);
        policy::found(&mut state, repo.size, last_modified);
        shared.store.set_sync_state(record.id, &state)?;
    }
    let scan_roots: Vec<PathBuf> = config
        .paths
        .iter()
        .filter_map(|p| std::fs::canonicalize(p).ok().or_else(|| Some(p.clone())))
        .collect();
    for info in &shared.store.repository_states()? {
        let under_scan = scan_roots
            .iter()
            .any(|root| info.record.path.starts_with(root));
        if !info.sync.auto || found_ids.contains(&info.record.id) || !under_scan {
            continue;
        }
        if policy::missing_expired(info.sync.missing_since_ms.unwrap_or(now), now) {
            tracing::info!(repository = %info.record.name, "removing the index of a repository missing for the grace period");
            shared.store.remove_repository(info.record.id)?;
            continue;
        }
        let mut state = info.sync.clone();
        policy::vanished(&mut state, now);
        shared.store.set_sync_state(info.record.id, &state)?;
    }
    shared.stored().set_last_scan_ms(now)?;
    shared.metrics(|m| {
        m.scans += 1;
        m.repos_found = report.repositories.len() as u64;
    });
    let found: Vec<RepositoryInfo> = shared
        .store
        .repository_states()?
        .into_iter()
        .filter(|r| found_ids.contains(&r.record.id))
        .collect();
    Ok(found)
}

/// Records `path` as removed by a person: scans leave it out from now on.
pub(super) fn record_removal(store: &IndexStore, path: &str) -> Result<()> {
    let stored = StoredState::new(store);
    let mut removed = stored.removed()?;
    if !removed.iter().any(|p| p == path) {
        removed.push(path.to_string());
        stored.set_removed(&removed)?;
    }
    Ok(())
}

/// Lets scans find `path` (canonical) again after a removal: a person indexed it by hand.
/// Returns whether it had been removed.
pub fn forget_removal(store: &IndexStore, path: &Path) -> Result<bool> {
    let stored = StoredState::new(store);
    let mut removed = stored.removed()?;
    let path = path.display().to_string();
    let before = removed.len();
    removed.retain(|p| *p != path);
    if removed.len() == before {
        return Ok(false);
    }
    stored.set_removed(&removed)?;
    Ok(true)
}
