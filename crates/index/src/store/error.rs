//! The store's errors: each keeps what it is about (the path, the source) and says what to do.

use crate::sqlite::SCHEMA_VERSION;

/// Errors from the store, each with a message fit for a person.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The index file is another program's (or not SQLite at all): left untouched.
    #[error("{path} is not a codeintel index ({reason}); it was left untouched: `codeintel index --force PATH` moves it aside and starts a new index")]
    Foreign {
        /// The file.
        path: String,
        /// What it is instead.
        reason: String,
    },
    /// The index was written by a newer codeintel.
    #[error("{path} was written by a newer codeintel (schema {found}, this one knows {SCHEMA_VERSION}); upgrade codeintel")]
    TooNew {
        /// The file.
        path: String,
        /// Its schema version.
        found: i32,
    },
    /// The data directory could not be created.
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The backend's database failed (the source is the backend's own error).
    #[error("index database error: {0}")]
    Database(Box<dyn std::error::Error + Send + Sync>),
    /// A query, filter or name that cannot be used as given: the caller's input.
    #[error("{0}")]
    BadQuery(String),
    /// Something the request names that the index does not hold (a repository).
    #[error("{0}")]
    NotFound(String),
    /// The request needs what is not there yet (an embedding model, vectors).
    #[error("{0}")]
    Unavailable(String),
    /// The embedder failed, or answered vectors that do not fit.
    #[error("embedding failed: {0}")]
    Embedder(#[from] codeintel_embed::EmbedError),
    /// The embedder's vectors do not fit (count or dimension).
    #[error("embedding failed: {0}")]
    EmbedderAnswer(String),
    /// A worker thread of the store (the index writer, a loader) panicked.
    #[error("{0} panicked")]
    Panicked(&'static str),
    /// A write on an index opened read-only.
    #[error("the index was opened read-only")]
    ReadOnly,
    /// The database server cannot be reached now (down, restarting, the network): what was
    /// committed stays, and the same request may work in a moment.
    #[error("{0}")]
    Disconnected(String),
    /// A path that cannot be used.
    #[error("{path}: {reason}")]
    Path {
        /// The path.
        path: String,
        /// What went wrong with it.
        reason: String,
    },
}

impl StoreError {
    /// Whether the failure is the database being away for now, worth retrying soon.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Disconnected(_))
    }

    /// Whether the error is the caller's input (a usage error), not a failure of the index.
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            StoreError::BadQuery(_) | StoreError::NotFound(_) | StoreError::Unavailable(_)
        )
    }
}
