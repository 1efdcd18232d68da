//! The background embedding worker's passes: connect to the provider when it was unreachable
//! so far, then give vectors to the chunks that have none, until done or cancelled. The
//! scheduler runs a pass only when no sync waits, so embedding never slows the lexical index.

use super::shared::Shared;
use codeintel_embed::{Embedder, EmbedderSlot};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

/// How long after a pass that found nothing to embed the next one may start (a sync with new
/// chunks starts one sooner).
pub(super) const IDLE_RECHECK: Duration = Duration::from_secs(60);

/// Connects if needed and runs one pass; returns how long to wait before the next.
pub(super) fn pass(shared: &Shared, slot: &EmbedderSlot, cancel: &AtomicBool) -> Duration {
    match connect(shared, slot) {
        Some(embedder) => match embed_pending(shared, embedder.as_ref(), cancel) {
            0 => IDLE_RECHECK,
            _ => Duration::from_secs(1),
        },
        None => codeintel_embed::slot::RETRY_INTERVAL,
    }
}

/// The embedder, connecting to the provider first if it was unreachable so far; `None` (and
/// the error in the status) while it still is.
fn connect(shared: &Shared, slot: &EmbedderSlot) -> Option<Arc<dyn Embedder>> {
    if let Some(embedder) = slot.get() {
        return Some(embedder);
    }
    match slot.connect() {
        Ok(embedder) => {
            if let Some(e) = &embedder {
                tracing::info!(model = e.model_id(), "embedding provider reachable");
                shared.set_embed_error(None);
                shared.publish_config();
            }
            embedder
        }
        Err(e) => {
            tracing::debug!(%e, "embedding provider still unreachable");
            shared.set_embed_error(Some(e.to_string()));
            None
        }
    }
}

/// One pass over the chunks without vectors; returns how many got them.
fn embed_pending(shared: &Shared, embedder: &dyn Embedder, cancel: &AtomicBool) -> u64 {
    // Counted as they come (not at the end of the pass), so the embedding throughput on the
    // status page and in /metrics moves while a long pass runs.
    let counted = std::sync::atomic::AtomicU64::new(0);
    let progress = |p: codeintel_index::vectors::EmbedProgress| {
        tracing::debug!(done = p.done, total = p.total, "embedding");
        let before = counted.fetch_max(p.done, std::sync::atomic::Ordering::SeqCst);
        if p.done > before {
            shared.metrics(|m| m.chunks_embedded += p.done - before);
        }
    };
    match shared
        .store
        .embed_pending(embedder, None, cancel, &progress)
    {
        Ok(n) => {
            if n > 0 {
                tracing::info!("embedded {n} chunks");
                let seen = counted.load(std::sync::atomic::Ordering::SeqCst);
                shared.metrics(|m| m.chunks_embedded += n.saturating_sub(seen));
            }
            shared.set_embed_error(None);
            n
        }
        Err(e) => {
            tracing::warn!(%e, "embedding failed; lexical search is unaffected");
            shared.record_error("embedding", None, &e.to_string());
            shared.set_embed_error(Some(e.to_string()));
            0
        }
    }
}
