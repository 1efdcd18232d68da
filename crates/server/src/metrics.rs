//! `/metrics`: Prometheus text exposition (format 0.0.4) through `prometheus-client`.
//!
//! Two sources: what this process measures itself (search latency by mode, in a live
//! histogram), and a snapshot of what every process reads from the store (the auto-sync
//! status, the syncer's activity) plus the resources read from `/proc`, encoded as constant
//! metrics on each scrape. Counters come from the syncer's persisted counters, so they survive
//! restarts and agree with `get_auto_sync_status`.

use crate::resources::Resources;
use codeintel_index::SearchMode;
use codeintel_sync::{Activity, Status};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The states a repository can be in, each reported even at zero (a missing series reads as
/// "no data", not as none).
const STATES: [&str; 6] = ["new", "queued", "syncing", "synced", "failed", "missing"];
/// The kinds of errors the syncer counts.
const ERROR_KINDS: [&str; 4] = ["sync", "scan", "embedding", "state"];

type ModeLabel = [(&'static str, &'static str); 1];

/// What this process measures.
#[derive(Debug)]
pub struct Telemetry {
    search: Family<ModeLabel, Histogram, fn() -> Histogram>,
}

impl Default for Telemetry {
    fn default() -> Self {
        fn buckets() -> Histogram {
            // 0.5 ms to ~16 s: a lexical search takes milliseconds, a semantic one over a
            // remote provider seconds.
            Histogram::new(exponential_buckets(0.0005, 2.0, 16))
        }
        Telemetry {
            search: Family::new_with_constructor(buckets),
        }
    }
}

fn mode_name(mode: SearchMode) -> &'static str {
    match mode {
        SearchMode::Lexical => "lexical",
        SearchMode::Semantic => "semantic",
        SearchMode::Hybrid => "hybrid",
        SearchMode::Exact => "exact",
        SearchMode::Regex => "regex",
    }
}

impl Telemetry {
    /// Records one search.
    pub fn observe_search(&self, mode: SearchMode, seconds: f64) {
        self.search
            .get_or_create(&[("mode", mode_name(mode))])
            .observe(seconds);
    }

    /// The exposition text of this process's metrics and `snapshot`.
    pub fn render(&self, snapshot: Snapshot) -> Result<String, std::fmt::Error> {
        let mut registry = Registry::with_prefix("codeintel");
        registry.register(
            "search_duration_seconds",
            "Time to answer a search (search_code and the status page), by mode",
            self.search.clone(),
        );
        registry.register_collector(Box::new(snapshot));
        let mut text = String::new();
        prometheus_client::encoding::prometheus_text::encode(&mut text, &registry)?;
        Ok(text)
    }
}

/// What one scrape reports from the store and `/proc`.
#[derive(Debug)]
pub struct Snapshot {
    /// The auto-sync status (every repository's state; counts are not needed here).
    pub status: Status,
    /// The syncer's activity.
    pub activity: Activity,
    /// Resource use.
    pub resources: Resources,
}

fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: f64) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Gauge)?)
}

/// `name` without `_total`: the encoder appends it to counters.
fn counter<N: prometheus_client::encoding::EncodeCounterValue>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    value: N,
) -> std::fmt::Result {
    let metric = ConstCounter::new(value);
    metric.encode(encoder.encode_descriptor(name, help, None, MetricType::Counter)?)
}

fn labelled(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    label: &str,
    values: &[(&str, u64)],
) -> std::fmt::Result {
    let mut family = encoder.encode_descriptor(name, help, None, kind)?;
    for (value, n) in values {
        let labels = [(label, *value)];
        let sample = family.encode_family(&labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(*n).encode(sample)?,
            _ => ConstGauge::new(*n as i64).encode(sample)?,
        }
    }
    Ok(())
}

impl Collector for Snapshot {
    fn encode(&self, mut e: DescriptorEncoder) -> std::fmt::Result {
        let s = &self.status;
        let m = &s.metrics;
        // The syncer's counts when it published them (the status then lists no repositories).
        let published = &self.activity.repositories_by_state;
        let count = |state: &str| match published.is_empty() {
            false => published.get(state).copied().unwrap_or(0),
            true => s.repositories.iter().filter(|r| r.state == state).count() as u64,
        };
        let states: Vec<(&str, u64)> = STATES.iter().map(|st| (*st, count(st))).collect();
        labelled(
            &mut e,
            "repositories",
            "Indexed repositories by sync state",
            MetricType::Gauge,
            "state",
            &states,
        )?;
        gauge(
            &mut e,
            "queue_depth",
            "Repositories waiting for a sync",
            s.queued_repos as f64,
        )?;
        gauge(
            &mut e,
            "active_syncs",
            "Syncs running now",
            s.active_syncs as f64,
        )?;
        gauge(
            &mut e,
            "auto_sync_enabled",
            "1 when auto-sync is enabled by configuration",
            f64::from(u8::from(s.enabled)),
        )?;
        gauge(
            &mut e,
            "auto_sync_paused",
            "1 when auto-sync is paused",
            f64::from(u8::from(s.paused)),
        )?;
        gauge(
            &mut e,
            "auto_sync_running",
            "1 when a syncer process holds the sync lock",
            f64::from(u8::from(s.running)),
        )?;
        gauge(
            &mut e,
            "repositories_found",
            "Repositories the last scan found",
            m.repos_found as f64,
        )?;
        counter(&mut e, "scans", "Discovery scans run", m.scans)?;
        labelled(
            &mut e,
            "syncs",
            "Finished syncs by result",
            MetricType::Counter,
            "result",
            &[("succeeded", m.syncs_succeeded), ("failed", m.syncs_failed)],
        )?;
        counter(
            &mut e,
            "files_indexed",
            "Files added or updated by syncs",
            m.files_indexed,
        )?;
        counter(
            &mut e,
            "chunks_indexed",
            "Chunks written by syncs",
            m.chunks_indexed,
        )?;
        let h = &self.activity.sync_durations;
        e.encode_descriptor(
            "sync_duration_seconds",
            "Duration of finished syncs",
            None,
            MetricType::Histogram,
        )?
        .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
            h.sum_seconds,
            h.count(),
            &h.buckets(),
            None,
        )?;
        counter(
            &mut e,
            "watcher_events",
            "File events the watcher reported",
            m.watcher_events,
        )?;
        counter(
            &mut e,
            "watcher_batches",
            "Debounced batches the watcher events became",
            m.watcher_batches,
        )?;
        counter(
            &mut e,
            "watch_fallbacks",
            "Repositories re-checked by time because the OS refused a watch",
            m.watch_fallbacks,
        )?;
        let watching = match published.is_empty() {
            false => self.activity.watched_repositories,
            true => s
                .repositories
                .iter()
                .filter(|r| r.watch == "watching")
                .count() as u64,
        };
        gauge(
            &mut e,
            "watched_repositories",
            "Repositories a file watcher covers",
            watching as f64,
        )?;
        counter(
            &mut e,
            "embedding_chunks",
            "Chunks the background worker embedded (rate = throughput)",
            m.chunks_embedded,
        )?;
        if let Some(emb) = &s.embeddings {
            gauge(
                &mut e,
                "embedding_backlog_chunks",
                "Chunks waiting for a vector",
                emb.pending as f64,
            )?;
            gauge(
                &mut e,
                "embedded_chunks",
                "Chunks with a vector of the current model",
                emb.embedded as f64,
            )?;
        }
        let by_kind = &self.activity.errors_by_kind;
        let mut kinds: Vec<(&str, u64)> = ERROR_KINDS
            .iter()
            .map(|k| (*k, by_kind.get(*k).copied().unwrap_or(0)))
            .collect();
        // Errors counted before errors had kinds (or of a kind this build does not know).
        let named: u64 = kinds.iter().map(|(_, n)| n).sum();
        kinds.push(("other", m.errors.saturating_sub(named)));
        labelled(
            &mut e,
            "errors",
            "Errors by kind",
            MetricType::Counter,
            "kind",
            &kinds,
        )?;
        let r = &self.resources;
        if let Some(server) = &r.server {
            counter(
                &mut e,
                "process_cpu_seconds",
                "CPU time (user and system) of this process",
                server.cpu_seconds,
            )?;
            gauge(
                &mut e,
                "process_resident_memory_bytes",
                "Resident memory of this process",
                server.rss_bytes as f64,
            )?;
        }
        if let Some(syncer) = &r.syncer {
            counter(
                &mut e,
                "syncer_cpu_seconds",
                "CPU time of the syncing process (another process)",
                syncer.cpu_seconds,
            )?;
            gauge(
                &mut e,
                "syncer_resident_memory_bytes",
                "Resident memory of the syncing process (another process)",
                syncer.rss_bytes as f64,
            )?;
        }
        gauge(
            &mut e,
            "inotify_watches",
            "inotify watches held by the syncer",
            r.inotify_watches() as f64,
        )?;
        gauge(
            &mut e,
            "index_size_bytes",
            "Bytes of the index files on disk",
            r.index_bytes as f64,
        )?;
        Ok(())
    }
}
