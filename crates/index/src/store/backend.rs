//! The storage seam: what the rest of codeintel needs from the place an index lives.
//!
//! [`Storage`] is a backend: writes, and [`Storage::read`] for a [`Snapshot`], one consistent
//! view that a search asks everything of. The ranking, snippets, vector quantisation and the
//! indexing pipeline are written once above these traits (in `search`, `vectors`, `ingest`);
//! a backend only stores and finds rows. The SQLite backend (`crate::sqlite`) is the first;
//! another implements both traits and passes the suite in `store::tests`.

use super::types::*;
use super::Result;
use crate::chunk::FileReferences;
use crate::filters::Filters;
use codeintel_discovery::manifest::Packages;
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::path::Path;

/// A backend's writes, and its snapshots for reading.
pub trait Storage: Send + Sync {
    /// Where the index is, for messages and for locks kept beside it (a file; a server-backed
    /// store names its redacted address).
    fn location(&self) -> &Path;

    /// A consistent view for reading: everything asked of it sees the same committed state,
    /// while writers go on.
    fn read(&self) -> Result<Box<dyn Snapshot + '_>>;

    /// The repository at `path`, registering it if new: named `preferred`, made unique with a
    /// `-2`, `-3`... suffix; an existing one is renamed only when `rename` and the name is free.
    fn ensure_repository(
        &self,
        path: &Path,
        preferred: &str,
        language: Option<&str>,
        rename: bool,
    ) -> Result<RepositoryRecord>;

    /// Applies `ops` to one repository atomically: all of them or none.
    fn write_batch(&self, repo_id: i64, ops: &[FileOp]) -> Result<BatchCounts>;

    /// Records a sync's result JSON (when `Some`) and error (cleared when `None`). A result
    /// makes a `new` repository (inserted as one, so that no reader sees a never-synced one
    /// as synced) `synced`; other states are the scheduler's to set.
    fn record_sync(
        &self,
        repo_id: i64,
        result: Option<&serde_json::Value>,
        error: Option<&str>,
    ) -> Result<()>;

    /// Replaces a repository's auto-sync bookkeeping.
    fn set_sync_state(&self, repo_id: i64, state: &SyncState) -> Result<()>;

    /// Sets a repository's main language.
    fn set_repository_language(&self, repo_id: i64, language: Option<&str>) -> Result<()>;

    /// Removes a repository and everything indexed for it.
    fn remove_repository(&self, repo_id: i64) -> Result<()>;

    /// Replaces the packages a repository provides and requires (from its manifests).
    fn set_packages(
        &self,
        repo_id: i64,
        packages: &codeintel_discovery::manifest::Packages,
    ) -> Result<()>;

    /// Stores a shared state value.
    fn set_state(&self, key: &str, value: &str) -> Result<()>;

    /// Replaces the vectors of `model` of each chunk (a chunk deleted meanwhile is skipped),
    /// and moves the vector generation on.
    fn store_vectors(&self, model: &str, chunks: &[(i64, Vec<StoredUnit>)]) -> Result<()>;

    /// Many writes follow (a first index) until [`Storage::end_bulk`]: a hint.
    fn begin_bulk(&self);

    /// The bulk writes are over.
    fn end_bulk(&self);

    /// Makes committed writes cheap to read (a WAL checkpoint): best effort.
    fn checkpoint(&self);

    /// Waits until no other sync of `repo_id` runs (in any process sharing the store) and
    /// holds that until the lock is dropped. An error when the store cannot say whether
    /// another sync runs (its database is away): a sync must then not start.
    fn lock_repository(&self, repo_id: i64) -> Result<RepositoryLock>;

    /// The lock of [`Storage::lock_repository`] if no other sync holds it now; `None` when one
    /// does (a worker then syncs another repository instead of waiting).
    fn try_lock_repository(&self, repo_id: i64) -> Result<Option<RepositoryLock>>;

    /// Bytes the index takes where it is not files in the data directory (a database
    /// server's); `None` for a store whose files are those (their size is measured there).
    fn size_bytes(&self) -> Option<u64> {
        None
    }

    /// Whether file contents are kept in the store (a shared store serves machines that do
    /// not have the files); syncs then send them with each file.
    fn keeps_contents(&self) -> bool {
        false
    }

    /// Whether this process may write (a read-only database role may not: it serves reads,
    /// and syncs and control tools say they need write access).
    fn writable(&self) -> bool {
        true
    }
}

/// One consistent view of the index.
pub trait Snapshot {
    /// The repository with this name.
    fn repository_named(&self, name: &str) -> Result<Option<RepositoryRecord>>;

    /// The repository at this (canonical) path.
    fn repository_at(&self, path: &str) -> Result<Option<RepositoryRecord>>;

    /// Repositories by name (only `only` when given), with file and chunk counts when
    /// `counts` (else 0).
    fn repositories(&self, counts: bool, only: Option<i64>) -> Result<Vec<RepositoryInfo>>;

    /// Repositories whose first sync has not finished, by name.
    fn unfinished_first_syncs(&self) -> Result<Vec<UnfinishedSync>>;

    /// What is known of each file of a repository, by relative path.
    fn file_states(&self, repo_id: i64) -> Result<FxHashMap<String, FileState>>;

    /// A shared state value.
    fn state(&self, key: &str) -> Result<Option<String>>;

    /// The packages a repository provides and requires, as [`Storage::set_packages`] took
    /// them.
    fn packages(&self, repo_id: i64) -> Result<Packages>;

    /// A file's references as stored (names with their encoded sites, and imports).
    fn file_references(&self, file_id: i64) -> Result<FileReferences>;

    /// The shared state values whose key starts with `prefix` (all of them for ""), by key.
    fn states(&self, prefix: &str) -> Result<Vec<(String, String)>>;

    /// One chunk, with `rank` attached; `None` when it is gone.
    fn chunk(&self, chunk_id: i64, rank: f64) -> Result<Option<ChunkRow>>;

    /// The chunks of (id, rank) pairs that are still there, each with its rank, in no
    /// particular order. A backend across a network reads them in one query.
    fn chunks(&self, ranked: &[(i64, f64)]) -> Result<Vec<ChunkRow>> {
        let mut rows = Vec::with_capacity(ranked.len());
        for &(id, rank) in ranked {
            rows.extend(self.chunk(id, rank)?);
        }
        Ok(rows)
    }

    /// Chunks holding every term (`all`) or any of them, passing `filters` and not in `skip`,
    /// best BM25 first as (chunk id, rank: lower is better): at least `want` of them when
    /// there are, and every one tied with the last, so a cut never depends on row order.
    /// Terms are lowercase alphanumeric words, as `text::search_terms` gives them.
    fn lexical_candidates(
        &self,
        terms: &[String],
        all: bool,
        filters: &Filters,
        want: usize,
        skip: &HashSet<i64>,
    ) -> Result<Vec<(i64, f64)>>;

    /// Every chunk passing `filters` (and holding all of `words`, when given: a narrowing the
    /// caller knows is safe), in repository, path and line order, until `visit` says stop
    /// (returns false).
    fn scan_chunks(
        &self,
        filters: &Filters,
        words: Option<&[String]>,
        visit: &mut dyn FnMut(ChunkRow) -> Result<bool>,
    ) -> Result<()>;

    /// The innermost definition (name, kind) of a file around `line` that starts at or after
    /// `from_line`.
    fn innermost_symbol(
        &self,
        file_id: i64,
        line: u32,
        from_line: u32,
    ) -> Result<Option<(String, String)>>;

    /// [`Snapshot::innermost_symbol`] of each (file id, line, from line), in order. A
    /// backend across a network looks them up in one query.
    fn innermost_symbols(
        &self,
        places: &[(i64, u32, u32)],
    ) -> Result<Vec<Option<(String, String)>>> {
        places
            .iter()
            .map(|&(file_id, line, from_line)| self.innermost_symbol(file_id, line, from_line))
            .collect()
    }

    /// Definitions by name, best tier first (exact, prefix, substring), then shorter names,
    /// then by place.
    fn symbols(&self, query: &SymbolQuery<'_>) -> Result<Vec<crate::SymbolHit>>;

    /// Which repositories depend on which, as (dependent, dependency) pairs: the first
    /// requires a package the second provides.
    fn dependencies(&self) -> Result<Vec<(i64, i64)>>;

    /// The uses of `name` (exactly), by file; only in `repo_id` when given.
    fn references_named(&self, name: &str, repo_id: Option<i64>) -> Result<Vec<FileSites>>;

    /// Every use of a name in one file, in file order.
    fn references_in_file(&self, file_id: i64) -> Result<Vec<crate::chunk::Reference>>;

    /// The imports of a file that bind `local` (the name the file uses for them), with
    /// their line unknown (0).
    fn imports_binding(&self, file_id: i64, local: &str) -> Result<Vec<crate::chunk::Reference>>;

    /// Definitions named `name` (exactly, case-sensitive), with their files.
    fn definitions_named(&self, name: &str) -> Result<Vec<DefinitionRow>>;

    /// A file's definitions, in line order.
    fn file_symbols(&self, file_id: i64) -> Result<Vec<crate::chunk::Symbol>>;

    /// The text of one line of a file, from its chunks (without its line break).
    fn line_text(&self, file_id: i64, line: u32) -> Result<Option<String>>;

    /// The store's key of an embedding model, if it has one.
    fn model_key(&self, model: &str) -> Result<Option<i64>>;

    /// The key of `model` if any chunk has its vectors.
    fn model_with_vectors(&self, model: &str) -> Result<Option<i64>>;

    /// Counts vector commits: what a cache of an older generation must catch up on.
    fn vector_generation(&self) -> Result<i64>;

    /// The units of a model with an id above `after`, in id order (ids only grow), as
    /// (unit id, sign bits).
    fn units_after(
        &self,
        model_id: i64,
        after: i64,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()>;

    /// The units of a model whose chunks pass `filters`, as (unit id, sign bits).
    fn units_filtered(
        &self,
        model_id: i64,
        filters: &Filters,
        visit: &mut dyn FnMut(i64, &[u8]),
    ) -> Result<()>;

    /// A unit's chunk, first line and int8 vector; `None` when it is gone.
    fn unit_vector(&self, unit_id: i64) -> Result<Option<(i64, u32, Vec<u8>)>>;

    /// One chunk's units of a model, as (first line, int8 vector).
    fn chunk_vectors(
        &self,
        model_id: i64,
        chunk_id: i64,
        visit: &mut dyn FnMut(u32, &[u8]),
    ) -> Result<()>;

    /// Chunks (of one repository, or all) without vectors of the model `model_id` (every
    /// chunk when the model has no key yet).
    fn count_to_embed(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64>;

    /// Chunks with vectors of `model_id` (of any model when `None`).
    fn count_embedded(&self, model_id: Option<i64>, repo_id: Option<i64>) -> Result<u64>;

    /// The next `limit` chunks without vectors of `model_id`, in id order.
    fn pending_chunks(
        &self,
        model_id: Option<i64>,
        repo_id: Option<i64>,
        limit: usize,
    ) -> Result<Vec<PendingChunk>>;

    /// The deflated content of the file at `path` of repository `repo_id`, where the store
    /// keeps contents; `None` otherwise, or when no such file is indexed.
    fn file_content(&self, repo_id: i64, path: &str) -> Result<Option<Vec<u8>>> {
        let _ = (repo_id, path);
        Ok(None)
    }
}
