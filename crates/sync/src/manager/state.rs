//! The state auto-sync shares between processes through the store: the one place that knows
//! the keys of the `state` table and how each value is written. Every process reads the same
//! truth from here (pause, last scan, scan requests, configuration overrides, metrics, what the
//! syncer runs with, removed repositories, the model download), whichever one syncs.

use super::Result;
use crate::activity::Activity;
use crate::config::ConfigUpdate;
use crate::status::{Metrics, StatusConfig};
use codeintel_index::IndexStore;

const PAUSED: &str = "autosync.paused";
const LAST_SCAN: &str = "autosync.last_scan_ms";
const OVERRIDES: &str = "autosync.overrides";
const SCAN_REQUEST: &str = "autosync.scan_requested_ms";
const METRICS: &str = "autosync.metrics";
/// The embedding model of the syncer (empty when none), for other processes' status.
const EMBED_MODEL: &str = "autosync.embed_model";
/// Why the syncer's embeddings fail (empty when they do not).
const EMBED_ERROR: &str = "autosync.embed_error";
/// The configuration the syncer runs with (`{enabled, config}`), for other processes' status.
const EFFECTIVE: &str = "autosync.effective";
/// Paths of repositories removed by a person: scans leave them out until they are indexed
/// again by hand (a JSON array of paths).
const REMOVED: &str = "autosync.removed";
/// How the download of the local model is going (`downloading 37%`, `installed`, or why it
/// failed).
const MODEL_INSTALL: &str = "autosync.model_install";
/// What the syncer is doing now and its error log ([`crate::Activity`]).
const ACTIVITY: &str = "autosync.activity";

/// The key of a value each indexer keeps for itself (`autosync.metrics@host:/data/dir`):
/// several indexers share one PostgreSQL store, and one key would hold the last writer's.
fn worker_key(key: &str, worker: &str) -> String {
    format!("{key}@{worker}")
}

/// Typed access to the shared state in `store`.
#[derive(Clone, Copy)]
pub(crate) struct StoredState<'s> {
    store: &'s IndexStore,
}

impl<'s> StoredState<'s> {
    pub(crate) fn new(store: &'s IndexStore) -> Self {
        StoredState { store }
    }

    fn json<T: serde::de::DeserializeOwned + Default>(&self, key: &str) -> Result<T> {
        Ok(self
            .store
            .state(key)?
            .and_then(|v| serde_json::from_str(&v).ok())
            .unwrap_or_default())
    }

    fn set_json(&self, key: &str, value: &impl serde::Serialize) -> Result<()> {
        let text = serde_json::to_string(value).unwrap_or_default();
        Ok(self.store.set_state(key, &text)?)
    }

    fn non_empty(&self, key: &str) -> Option<String> {
        self.store
            .state(key)
            .ok()
            .flatten()
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn paused(&self) -> bool {
        matches!(self.store.state(PAUSED), Ok(Some(v)) if v == "true")
    }

    pub(crate) fn set_paused(&self, paused: bool) -> Result<()> {
        Ok(self
            .store
            .set_state(PAUSED, if paused { "true" } else { "false" })?)
    }

    pub(crate) fn last_scan_ms(&self) -> Result<Option<i64>> {
        Ok(self.store.state(LAST_SCAN)?.and_then(|v| v.parse().ok()))
    }

    pub(crate) fn set_last_scan_ms(&self, ms: i64) -> Result<()> {
        Ok(self.store.set_state(LAST_SCAN, &ms.to_string())?)
    }

    /// The stored request's token, compared to the last one seen to notice a new request.
    pub(crate) fn scan_request(&self) -> Option<String> {
        self.store.state(SCAN_REQUEST).ok().flatten()
    }

    pub(crate) fn request_scan(&self, now_ms: i64) -> Result<()> {
        Ok(self.store.set_state(SCAN_REQUEST, &now_ms.to_string())?)
    }

    /// The stored overrides as written, compared to the last seen to notice a change.
    pub(crate) fn overrides_text(&self) -> Option<String> {
        self.store.state(OVERRIDES).ok().flatten()
    }

    pub(crate) fn overrides(&self) -> Result<ConfigUpdate> {
        self.json(OVERRIDES)
    }

    pub(crate) fn set_overrides(&self, overrides: &ConfigUpdate) -> Result<()> {
        self.set_json(OVERRIDES, overrides)
    }

    /// The metrics `worker` saved (before workers had keys of their own: the one key's).
    pub(crate) fn metrics(&self, worker: &str) -> Result<Metrics> {
        self.own(METRICS, worker)
    }

    pub(crate) fn set_metrics(&self, worker: &str, metrics: &Metrics) -> Result<()> {
        self.set_json(&worker_key(METRICS, worker), metrics)
    }

    /// Every indexer's metrics, by worker.
    pub(crate) fn all_metrics(&self) -> Result<Vec<(String, Metrics)>> {
        self.per_worker(METRICS)
    }

    /// `key`'s value of `worker`, else of the key without workers (written by a version
    /// before them).
    fn own<T: serde::de::DeserializeOwned + Default>(&self, key: &str, worker: &str) -> Result<T> {
        match self.store.state(&worker_key(key, worker))? {
            Some(v) => Ok(serde_json::from_str(&v).unwrap_or_default()),
            None => self.json(key),
        }
    }

    /// `key`'s values of every worker (else the key's one value, as the worker "").
    fn per_worker<T: serde::de::DeserializeOwned>(&self, key: &str) -> Result<Vec<(String, T)>> {
        let prefix = worker_key(key, "");
        let mut values: Vec<(String, T)> = self
            .store
            .states_with_prefix(&prefix)?
            .into_iter()
            .filter_map(|(k, v)| {
                let value = serde_json::from_str(&v).ok()?;
                Some((k[prefix.len()..].to_string(), value))
            })
            .collect();
        if values.is_empty() {
            if let Some(value) = self
                .store
                .state(key)?
                .and_then(|v| serde_json::from_str(&v).ok())
            {
                values.push((String::new(), value));
            }
        }
        Ok(values)
    }

    /// What the syncer published of its configuration.
    pub(crate) fn published_config(&self) -> Option<(bool, StatusConfig)> {
        let value: serde_json::Value =
            serde_json::from_str(&self.store.state(EFFECTIVE).ok().flatten()?).ok()?;
        let enabled = value.get("enabled")?.as_bool()?;
        let config = serde_json::from_value(value.get("config")?.clone()).ok()?;
        Some((enabled, config))
    }

    pub(crate) fn publish_config(&self, enabled: bool, config: &StatusConfig) -> Result<()> {
        self.set_json(
            EFFECTIVE,
            &serde_json::json!({ "enabled": enabled, "config": config }),
        )
    }

    pub(crate) fn embed_model(&self) -> Option<String> {
        self.non_empty(EMBED_MODEL)
    }

    pub(crate) fn set_embed_model(&self, model: Option<&str>) -> Result<()> {
        Ok(self.store.set_state(EMBED_MODEL, model.unwrap_or(""))?)
    }

    pub(crate) fn embed_error(&self) -> Option<String> {
        self.non_empty(EMBED_ERROR)
    }

    pub(crate) fn set_embed_error(&self, error: Option<&str>) -> Result<()> {
        Ok(self.store.set_state(EMBED_ERROR, error.unwrap_or(""))?)
    }

    pub(crate) fn removed(&self) -> Result<Vec<String>> {
        self.json(REMOVED)
    }

    pub(crate) fn set_removed(&self, paths: &[String]) -> Result<()> {
        self.set_json(REMOVED, &paths)
    }

    /// The activity `worker` published last (its error log outlives it).
    pub(crate) fn activity(&self, worker: &str) -> Result<Activity> {
        self.own(ACTIVITY, worker)
    }

    /// Every indexer's activity, by worker.
    pub(crate) fn activities(&self) -> Result<Vec<(String, Activity)>> {
        self.per_worker(ACTIVITY)
    }

    /// Writes `worker`'s activity as `text` (already serialized: the caller compares it with
    /// the last one written, and writes only a change or a heartbeat).
    pub(crate) fn set_activity_text(&self, worker: &str, text: &str) -> Result<()> {
        Ok(self.store.set_state(&worker_key(ACTIVITY, worker), text)?)
    }

    pub(crate) fn model_install(&self) -> Result<Option<String>> {
        Ok(self.store.state(MODEL_INSTALL)?.filter(|s| !s.is_empty()))
    }

    pub(crate) fn set_model_install(&self, state: &str) -> Result<()> {
        Ok(self.store.set_state(MODEL_INSTALL, state)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_missing_ones_read_as_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let store = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
        let state = StoredState::new(&store);
        assert!(!state.paused());
        assert_eq!(state.last_scan_ms().unwrap(), None);
        assert!(state.removed().unwrap().is_empty());
        assert_eq!(state.metrics("w").unwrap(), Metrics::default());
        assert_eq!(state.embed_error(), None);
        state.set_paused(true).unwrap();
        state.set_last_scan_ms(42).unwrap();
        state.set_removed(&["/a".into()]).unwrap();
        state.set_embed_error(Some("down")).unwrap();
        state.set_model_install("installed").unwrap();
        let metrics = Metrics {
            scans: 3,
            ..Metrics::default()
        };
        state.set_metrics("w", &metrics).unwrap();
        assert!(state.paused());
        assert_eq!(state.last_scan_ms().unwrap(), Some(42));
        assert_eq!(state.removed().unwrap(), ["/a"]);
        assert_eq!(state.embed_error().as_deref(), Some("down"));
        assert_eq!(state.model_install().unwrap().as_deref(), Some("installed"));
        assert_eq!(state.metrics("w").unwrap(), metrics);
        assert_eq!(state.all_metrics().unwrap(), [("w".to_string(), metrics)]);
        state.set_embed_error(None).unwrap();
        assert_eq!(state.embed_error(), None, "cleared reads as none");
    }
}
