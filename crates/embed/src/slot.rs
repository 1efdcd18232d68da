//! [`EmbedderSlot`]: the embedder of a long-running service, which may arrive after the start.
//!
//! A remote provider that is down when a server or daemon starts (Ollama started after the
//! daemon at login, a server restarting) must not leave the service lexical-only until someone
//! restarts it. The slot starts empty with a way to connect; the service's background worker
//! calls [`EmbedderSlot::connect`] now and then, and every reader sees the embedder from then
//! on. Readers never wait for a connection attempt: [`EmbedderSlot::get`] only looks.

use crate::{EmbedError, Embedder};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How long after a failed attempt a provider is tried again.
pub const RETRY_INTERVAL: Duration = Duration::from_secs(20);

type Connect = Box<dyn Fn() -> Result<Arc<dyn Embedder>, EmbedError> + Send + Sync>;

/// An embedder, none, or none yet (see the module docs).
pub struct EmbedderSlot {
    current: RwLock<Option<Arc<dyn Embedder>>>,
    /// How to get the embedder while `current` is empty; `None` when there is nothing to retry
    /// (embeddings off, or a local model that failed to load).
    connect: Option<Connect>,
    retry_interval: Duration,
    last_attempt: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for EmbedderSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbedderSlot")
            .field("model", &self.get().map(|e| e.model_id().to_string()))
            .field("can_connect", &self.connect.is_some())
            .finish()
    }
}

impl EmbedderSlot {
    /// A slot that holds `embedder` (or nothing) for good.
    pub fn fixed(embedder: Option<Arc<dyn Embedder>>) -> Self {
        EmbedderSlot {
            current: RwLock::new(embedder),
            connect: None,
            retry_interval: RETRY_INTERVAL,
            last_attempt: Mutex::new(None),
        }
    }

    /// An empty slot that [`connect`](Self::connect) fills by calling `connect`, at most once
    /// per [`RETRY_INTERVAL`].
    pub fn reconnecting(
        connect: impl Fn() -> Result<Arc<dyn Embedder>, EmbedError> + Send + Sync + 'static,
    ) -> Self {
        EmbedderSlot {
            current: RwLock::new(None),
            connect: Some(Box::new(connect)),
            retry_interval: RETRY_INTERVAL,
            last_attempt: Mutex::new(None),
        }
    }

    /// The same slot, retrying at most once per `interval`.
    pub fn with_retry_interval(mut self, interval: Duration) -> Self {
        self.retry_interval = interval;
        self
    }

    /// The embedder, if there is one now.
    pub fn get(&self) -> Option<Arc<dyn Embedder>> {
        self.current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether [`connect`](Self::connect) may still produce an embedder.
    pub fn may_connect(&self) -> bool {
        self.connect.is_some() && self.get().is_none()
    }

    /// Fills an empty slot with `embedder` now (a model that just finished installing), whatever
    /// the retry interval says; a slot that holds one keeps it.
    pub fn fill(&self, embedder: Arc<dyn Embedder>) -> Arc<dyn Embedder> {
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        current.get_or_insert(embedder).clone()
    }

    /// The embedder, connecting first when the slot is empty and can be filled and the last
    /// attempt is at least the retry interval ago: blocks for as long as the attempt takes.
    /// `Ok(None)` when there is nothing to connect to, or it is too early to try again.
    pub fn connect(&self) -> Result<Option<Arc<dyn Embedder>>, EmbedError> {
        if let Some(embedder) = self.get() {
            return Ok(Some(embedder));
        }
        let Some(connect) = &self.connect else {
            return Ok(None);
        };
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            if last.is_some_and(|t| now.duration_since(t) < self.retry_interval) {
                return Ok(None);
            }
            *last = Some(now);
        }
        let embedder = connect()?;
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        // Another caller may have connected meanwhile: keep the first embedder.
        Ok(Some(current.get_or_insert(embedder).clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fixed;

    impl Embedder for Fixed {
        fn model_id(&self) -> &str {
            "fixed"
        }
        fn dimension(&self) -> usize {
            2
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
            Ok(texts.iter().map(|_| vec![1.0, 0.0]).collect())
        }
    }

    #[test]
    fn an_empty_slot_fills_once_the_provider_answers() {
        let attempts = Arc::new(AtomicUsize::new(0));
        let counted = attempts.clone();
        let slot = EmbedderSlot::reconnecting(move || {
            if counted.fetch_add(1, Ordering::SeqCst) == 0 {
                Err(EmbedError::Remote(
                    "http://127.0.0.1:9: connection refused".into(),
                ))
            } else {
                Ok(Arc::new(Fixed) as Arc<dyn Embedder>)
            }
        })
        .with_retry_interval(Duration::from_millis(50));
        assert!(slot.get().is_none() && slot.may_connect());
        assert!(slot.connect().is_err());
        assert!(slot.get().is_none() && slot.may_connect());
        // Too early to try again: no attempt.
        assert!(slot.connect().expect("not due").is_none());
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
        std::thread::sleep(Duration::from_millis(60));
        let connected = slot
            .connect()
            .expect("second attempt")
            .expect("an embedder");
        assert_eq!(connected.model_id(), "fixed");
        assert_eq!(
            slot.get().map(|e| e.model_id().to_string()),
            Some("fixed".into())
        );
        assert!(!slot.may_connect());
        // Connected: no further attempts.
        slot.connect().expect("connected");
        assert_eq!(attempts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_fixed_slot_never_connects() {
        let empty = EmbedderSlot::fixed(None);
        assert!(!empty.may_connect());
        assert!(empty.connect().expect("nothing to do").is_none());
        let full = EmbedderSlot::fixed(Some(Arc::new(Fixed)));
        assert_eq!(full.get().map(|e| e.dimension()), Some(2));
    }
}
