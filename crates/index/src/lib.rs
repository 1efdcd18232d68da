//! The index: chunking (tree-sitter), symbols, the [`IndexStore`] (SQLite), the incremental
//! [`RepositorySync`], and search.
//!
//! Data flows one way: a sync walks a repository, chunks what changed in parallel and hands
//! batches to the store's single writer; searches read the store through their own connections
//! and never wait for a sync (SQLite WAL).

pub mod chunk;
pub use codeintel_embed as embed;
mod grammar;
pub mod lang;

pub use chunk::{chunk_file, Chunk, ChunkedFile, Symbol};
pub use grammar::SymbolKind;
mod search;
pub mod semantic;
mod store;
mod sync;
pub mod text;

pub use search::{SearchHit, SearchMode, SearchRequest, SymbolHit};
pub use store::{
    BulkWrites, FileOp, FileStamp, FileState, IndexStore, RepoState, RepositoryInfo,
    RepositoryLock, RepositoryRecord, StoreError, SyncState, UnfinishedSync, WatchState,
    SCHEMA_VERSION,
};
pub use sync::{
    RepositorySync, SyncError, SyncOptions, SyncProgress, SyncResult, DEFAULT_MAX_FILE_SIZE,
};
