//! The index of one store: what a repository's files become and how they are searched.
//!
//! Data flows one way: `ingest` walks a repository, chunks what changed in parallel and hands
//! batches to the store's single writer; `search` and [`vectors`] read the store through their
//! own connections and never wait for a sync (SQLite WAL).
//!
//! - [`chunk`]: a file's text cut into chunks that follow its syntax (tree-sitter grammars) and
//!   its symbols; [`lang`]: which files are indexed and as what; [`text`]: identifier-aware terms;
//! - `store`: the [`IndexStore`] (SQLite): schema and migrations, repositories, files,
//!   batches, shared state;
//! - `ingest`: [`RepositorySync`], bringing one repository's index up to date (walk, read,
//!   the bounded pipeline);
//! - `search`: lexical, exact and regex search, hybrid ranking, snippets, symbols; the
//!   `filters` they share with [`vectors`]: embedding units, quantised vectors, the
//!   nearest-neighbour search and the background embedding pass.

#![deny(missing_docs)]

pub mod chunk;
mod filters;
mod ingest;
pub mod lang;
mod search;
mod store;
pub mod text;
pub mod vectors;

pub use chunk::{chunk_file, Chunk, ChunkedFile, Symbol, SymbolKind};
pub use ingest::{
    RepositorySync, SyncError, SyncOptions, SyncProgress, SyncResult, DEFAULT_MAX_FILE_SIZE,
};
pub use search::{SearchHit, SearchMode, SearchRequest, SymbolHit};
pub use store::{
    BulkWrites, FileOp, FileStamp, FileState, IndexStore, RepoState, RepositoryInfo,
    RepositoryLock, RepositoryRecord, StoreError, SyncState, UnfinishedSync, WatchState,
    SCHEMA_VERSION,
};
