//! The index of one store: what a repository's files become and how they are searched.
//!
//! Data flows one way: `ingest` walks a repository, chunks what changed in parallel and hands
//! batches to the store's single writer; `search` and [`vectors`] read the store through their
//! own connections and never wait for a sync (SQLite WAL).
//!
//! - [`chunk`]: a file's text cut into chunks that follow its syntax (tree-sitter grammars) and
//!   its symbols; [`lang`]: which files are indexed and as what; [`text`]: identifier-aware terms;
//! - `store`: the [`IndexStore`] over the storage seam ([`Storage`], [`Snapshot`]): the one
//!   interface to where an index lives, with the data types it passes;
//! - `sqlite`: the SQLite backend ([`SqliteStorage`]), every SQL statement: schema and
//!   migrations, batches, the queries of search and vectors;
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
mod lexical;
pub mod navigate;
mod postgres;
mod search;
mod sqlite;
mod store;
pub mod text;
pub mod vectors;

pub use chunk::{
    chunk_file, parse_only, Chunk, ChunkedFile, RefKind, Reference, Symbol, SymbolKind,
    REFS_VERSION,
};
pub use filters::{Filters, PathFilter};
pub use ingest::{
    indexable_files, RepositorySync, SyncError, SyncOptions, SyncProgress, SyncResult,
    DEFAULT_MAX_FILE_SIZE,
};
pub use search::{SearchHit, SearchMode, SearchRequest, SymbolHit};
pub use sqlite::{SqliteStorage, SCHEMA_VERSION};
pub use store::{
    copy_index, host_name, redact_store, BatchCounts, BulkWrites, ChunkRow, CopyCounts, Definition,
    FileOp, FileStamp, FileState, IndexStore, PendingChunk, PostgresUrl, RepoState, RepositoryInfo,
    RepositoryLinks, RepositoryLock, RepositoryRecord, Snapshot, Storage, StoreError,
    StoreLocation, StoredUnit, SymbolQuery, SyncState, UnfinishedSync, WatchState,
};
