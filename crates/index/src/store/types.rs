//! The plain data the store takes and gives back: repositories, their auto-sync state, files
//! and the changes applied to them, chunk rows for search.

use crate::chunk::{Chunk, FileReferences, Reference, Symbol};
use std::path::PathBuf;
use std::time::SystemTime;

/// A repository row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepositoryRecord {
    /// The store's id.
    pub id: i64,
    /// Its folder (canonical): the identity.
    pub path: PathBuf,
    /// Its name, unique in the store.
    pub name: String,
    /// Its main language, once known.
    pub language: Option<String>,
}

/// A repository with its counts and last sync, for listings.
#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryInfo {
    /// The repository.
    pub record: RepositoryRecord,
    /// Files indexed (0 from the listings that skip counting).
    pub files: u64,
    /// Chunks indexed (likewise).
    pub chunks: u64,
    /// When it last synced.
    pub last_sync: Option<SystemTime>,
    /// The last sync's result, as JSON.
    pub last_result: Option<serde_json::Value>,
    /// The last sync's error, if it failed.
    pub last_error: Option<String>,
    /// Auto-sync's bookkeeping.
    pub sync: SyncState,
}

/// A repository whose first sync has not finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnfinishedSync {
    /// The repository's name.
    pub name: String,
    /// Syncing now (else queued).
    pub running: bool,
    /// Files indexed so far.
    pub files: u64,
}

/// Where a repository is in auto-sync's cycle. Stored (and shown) as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RepoState {
    /// Found, never synced yet.
    #[default]
    New,
    /// Waiting for a sync.
    Queued,
    /// A sync runs.
    Syncing,
    /// Up to date as of its last sync.
    Synced,
    /// The last sync failed; retried with backoff.
    Failed,
    /// Its folder is gone; the index is kept for a grace period.
    Missing,
}

impl RepoState {
    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            RepoState::New => "new",
            RepoState::Queued => "queued",
            RepoState::Syncing => "syncing",
            RepoState::Synced => "synced",
            RepoState::Failed => "failed",
            RepoState::Missing => "missing",
        }
    }

    /// The state a stored name means; an unknown name (a newer program's) reads as `new`, so
    /// the repository is synced again rather than forgotten.
    pub fn parse(name: &str) -> RepoState {
        match name {
            "queued" => RepoState::Queued,
            "syncing" => RepoState::Syncing,
            "synced" => RepoState::Synced,
            "failed" => RepoState::Failed,
            "missing" => RepoState::Missing,
            _ => RepoState::New,
        }
    }
}

/// Whether changes to a repository reach the index through a file watcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WatchState {
    /// Not watched.
    #[default]
    Off,
    /// Watched: changes are synced within about a second.
    Watching,
    /// The OS watch limit was reached: re-checked every sync interval instead.
    Polling,
}

impl WatchState {
    /// The stored (and shown) name.
    pub fn as_str(self) -> &'static str {
        match self {
            WatchState::Off => "off",
            WatchState::Watching => "watching",
            WatchState::Polling => "polling",
        }
    }

    /// An unknown stored name reads as `off` (the repository is watched again if it should be).
    pub fn parse(name: &str) -> WatchState {
        match name {
            "watching" => WatchState::Watching,
            "polling" => WatchState::Polling,
            _ => WatchState::Off,
        }
    }
}

/// Auto-sync bookkeeping of one repository. Kept in the store, not in a process's memory, so
/// every process reports the truth and a restart resumes where the last one stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct SyncState {
    /// Where it is in the cycle.
    pub state: RepoState,
    /// Failed syncs in a row.
    pub failures: u32,
    /// When a failed sync is retried (ms since the epoch).
    pub next_retry_ms: Option<i64>,
    /// Since when its folder is gone (ms since the epoch).
    pub missing_since_ms: Option<i64>,
    /// Whether a watcher covers it.
    pub watch: WatchState,
    /// Code bytes and newest modification, as discovery last saw them.
    pub size: Option<u64>,
    /// Newest modification of its code files (ms since the epoch).
    pub last_modified_ms: Option<i64>,
    /// Found by auto-sync's discovery (not only indexed by hand).
    pub auto: bool,
}

/// What the store knows of one file, to decide whether it changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileState {
    /// Its language name.
    pub language: String,
    /// Bytes, when indexed.
    pub size: u64,
    /// Modification time (ns since the epoch), when indexed.
    pub mtime_ns: i64,
    /// blake3 of the content.
    pub hash: [u8; 32],
    /// When it was read (ns since the epoch).
    pub indexed_at_ns: i64,
    /// Which extraction found its references ([`crate::chunk::REFS_VERSION`] when current).
    pub refs_version: i64,
}

/// Stat facts of a file on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    /// Bytes.
    pub size: u64,
    /// Modification time (ns since the epoch).
    pub mtime_ns: i64,
    /// When the content was read (for the same-second mtime rule).
    pub indexed_at_ns: i64,
}

/// One change to apply in a batch.
#[derive(Debug, Clone)]
pub enum FileOp {
    /// New or changed content.
    Upsert {
        /// Relative to the repository root.
        path: String,
        /// Its language name.
        language: &'static str,
        /// Its stat facts.
        stamp: FileStamp,
        /// blake3 of the content.
        hash: [u8; 32],
        /// Its chunks.
        chunks: Vec<Chunk>,
        /// Its definitions.
        symbols: Vec<Symbol>,
        /// Its uses of names.
        references: FileReferences,
        /// The file's bytes, deflated, for a store that keeps contents
        /// ([`crate::Storage::keeps_contents`]): `get_file` then works where the files are not.
        content: Option<Vec<u8>>,
    },
    /// Same content, references found again (by a newer extraction).
    References {
        /// Relative to the repository root.
        path: String,
        /// Its stat facts.
        stamp: FileStamp,
        /// Its uses of names.
        references: FileReferences,
    },
    /// Same content, new stat (touched, or copied back).
    Touch {
        /// Relative to the repository root.
        path: String,
        /// Its new stat facts.
        stamp: FileStamp,
    },
    /// Same content under a new path.
    Rename {
        /// The old path.
        from: String,
        /// The new path.
        to: String,
        /// Its stat facts.
        stamp: FileStamp,
    },
    /// A file gone from the repository.
    Delete {
        /// Relative to the repository root.
        path: String,
    },
}

/// Rows changed by a batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BatchCounts {
    /// Chunks written.
    pub chunks_new: u64,
    /// Chunks removed.
    pub chunks_deleted: u64,
}

/// Held while one sync of a repository runs ([`crate::IndexStore::lock_repository`]): whatever
/// the backend holds (a file lock, a lease), released when dropped.
pub struct RepositoryLock {
    pub(crate) _held: Option<Box<dyn Send>>,
}

impl RepositoryLock {
    /// A lock over `held` (`None`: the sync runs unguarded, where no lock can be made).
    pub fn new(held: Option<Box<dyn Send>>) -> Self {
        RepositoryLock { _held: held }
    }
}

impl std::fmt::Debug for RepositoryLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RepositoryLock")
            .field("held", &self._held.is_some())
            .finish()
    }
}

/// One chunk as search reads it back, with where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct ChunkRow {
    /// The chunk's id.
    pub id: i64,
    /// Its file's id.
    pub file_id: i64,
    /// The repository's name.
    pub repository: String,
    /// The file, relative to the repository root.
    pub path: String,
    /// The file's language.
    pub language: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
    /// The definition the chunk is, if any.
    pub symbol: Option<String>,
    /// That definition's kind.
    pub kind: Option<String>,
    /// The text.
    pub content: String,
    /// The lexical rank it was found with (lower is better; 0 when not ranked).
    pub rank: f64,
}

/// A definition inside a chunk, for its embedding units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// The defined name.
    pub name: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line, inclusive.
    pub end_line: u32,
}

/// A chunk waiting for its vectors, with the definitions that start inside it.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingChunk {
    /// The chunk's id.
    pub id: i64,
    /// The definition the chunk is, if any.
    pub symbol: Option<String>,
    /// The file, relative to the repository root.
    pub path: String,
    /// The text.
    pub content: String,
    /// First line (1-based).
    pub start_line: u32,
    /// The definitions starting inside it, by first line (longest first on a tie).
    pub definitions: Vec<Definition>,
}

/// One embedding unit's vector as stored: its first line, sign bits (the first pass) and
/// int8 vector (the rescoring).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredUnit {
    /// The unit's first line.
    pub line: u32,
    /// One bit per dimension.
    pub bits: Vec<u8>,
    /// The quantised vector.
    pub vector: Vec<u8>,
}

/// A definition search: exact names first, then prefixes, then substrings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SymbolQuery<'a> {
    /// The name (or part of it), case-insensitive.
    pub name: &'a str,
    /// Only definitions of this kind (a canonical kind name).
    pub kind: Option<&'static str>,
    /// Only in this repository.
    pub repo_id: Option<i64>,
    /// Most rows.
    pub limit: usize,
}

/// A file as code navigation shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    /// The file's id.
    pub id: i64,
    /// Its repository's id.
    pub repo_id: i64,
    /// Its repository's name.
    pub repository: String,
    /// Relative to the repository root.
    pub path: String,
    /// Its language name.
    pub language: String,
}

/// The uses of one name in one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSites {
    /// The file.
    pub file: FileInfo,
    /// The uses, in file order.
    pub sites: Vec<Reference>,
}

/// A definition with its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionRow {
    /// The file.
    pub file: FileInfo,
    /// The definition.
    pub symbol: Symbol,
}

/// Which repositories depend on which, by name: what listings show as `depends_on` and
/// `used_by`.
#[derive(Debug, Clone, Default)]
pub struct RepositoryLinks {
    names: rustc_hash::FxHashMap<i64, String>,
    pairs: Vec<(i64, i64)>,
}

impl RepositoryLinks {
    /// The links among `repos`, from (dependent, dependency) pairs.
    pub fn new(repos: &[RepositoryInfo], pairs: &[(i64, i64)]) -> Self {
        RepositoryLinks {
            names: repos
                .iter()
                .map(|r| (r.record.id, r.record.name.clone()))
                .collect(),
            pairs: pairs.to_vec(),
        }
    }

    fn names(&self, ids: impl Iterator<Item = i64>) -> Vec<String> {
        let mut names: Vec<String> = ids.filter_map(|id| self.names.get(&id).cloned()).collect();
        names.sort();
        names.dedup();
        names
    }

    /// The repositories `repo_id` depends on.
    pub fn depends_on(&self, repo_id: i64) -> Vec<String> {
        self.names(self.pairs.iter().filter(|p| p.0 == repo_id).map(|p| p.1))
    }

    /// The repositories that depend on `repo_id`.
    pub fn used_by(&self, repo_id: i64) -> Vec<String> {
        self.names(self.pairs.iter().filter(|p| p.1 == repo_id).map(|p| p.0))
    }
}
