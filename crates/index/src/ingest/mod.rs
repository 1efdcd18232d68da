//! RepositorySync: brings one repository's index up to date with its files.
//!
//! A pipeline with bounded memory: a parallel walk collects paths and stat facts only (honouring
//! `.gitignore`/`.ignore` in every repository, git or not, and the excludes); files whose
//! (size, mtime) changed, or whose mtime is too close to their last read to trust, are read,
//! hashed and chunked in parallel, a batch at a time; each batch is committed by the single
//! writer in one transaction. A kill at any moment leaves the last committed batch; the next
//! run sees the remaining files as changed and completes the work.
//!
//! - [`walk`]: which files a sync looks at; [`read`]: reading and chunking one file;
//! - [`gate`]: the byte gate that bounds memory between the parsers and the writer.

mod gate;
mod read;
mod walk;

use codeintel_discovery::manifest;
use gate::ByteGate;
use read::read_file;
use walk::{stat_paths, walk, Scope, Walked};

use crate::lang::FileKind;
use crate::store::{self, FileOp, FileState, IndexStore, RepositoryRecord};
use codeintel_discovery::{Excludes, Language};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Files larger than this are skipped unless configured otherwise.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 1 << 20;
/// Bytes of source read per committed batch: bounds memory, and keeps transactions large
/// enough that FTS segment merging does not dominate.
const BATCH_BYTES: u64 = 8 << 20;
/// Bytes of source read but not yet taken by the writer, at most. The writer holds a batch while
/// it commits (up to [`BATCH_BYTES`]): the parsers read ahead meanwhile instead of waiting (with
/// 64 files in flight they idled a third of the time on a 95 MB corpus: 7.1 s, 6.0 s with a
/// gate). Two batches are enough for that (one copy of the bench corpus: 22.1-22.2 s against
/// 22.5-23.2 s with four), and a parsed file holds about twice its bytes: with four, the
/// outcomes waiting for a writer slowed by a large index took the last minutes of a 20-copy
/// index from ~180 MB to ~215 MB of heap (195 with two).
const BYTES_IN_FLIGHT: u64 = 2 * BATCH_BYTES;
/// Files a parser takes at a time (see `produce`).
const FILES_PER_TASK: usize = 8;
/// Files to read from which a sync writes in bulk (see `IndexStore::bulk_writes`).
const BULK_FILES: usize = 1000;
/// Bytes sniffed for a NUL to call a file binary.
pub(super) const BINARY_SNIFF: usize = 8192;
/// A file whose mtime is within this of its last read may have changed since without a
/// visible mtime change (coarse timestamps), so it is hashed instead of trusted.
const MTIME_SLACK_NS: i64 = 2_000_000_000;

/// The files a sync of the repository at `root` (canonical) reads, as its walk finds them,
/// with what they are indexed as: for tools that measure the pipeline against its parts (the
/// parse floor of `bench/index.sh`).
pub fn indexable_files(
    root: &std::path::Path,
    options: &SyncOptions,
) -> Vec<(std::path::PathBuf, crate::lang::FileKind)> {
    walk::walk(root, root, options)
        .0
        .into_iter()
        .map(|w| (w.path(root), w.kind))
        .collect()
}

/// How to sync. Built once and passed down.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    /// Files larger than this are skipped.
    pub max_file_size: u64,
    /// Exclude patterns (the discovery ones: components, globs, relative paths).
    pub excludes: Excludes,
    /// Files read and chunked per committed batch.
    pub batch_size: usize,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            excludes: Excludes::new(&codeintel_discovery::DEFAULT_EXCLUDES).unwrap_or_default(),
            batch_size: 512,
        }
    }
}

impl SyncOptions {
    /// The default options with the built-in excludes plus `extra` patterns.
    pub fn with_extra_excludes(
        extra: &[String],
    ) -> Result<Self, codeintel_discovery::ExcludeError> {
        let patterns = codeintel_discovery::DiscoveryOptions::default()
            .with_extra_excludes(extra.iter().cloned())
            .excludes;
        Ok(SyncOptions {
            excludes: Excludes::new(&patterns)?,
            ..SyncOptions::default()
        })
    }
}

/// The outcome of one sync, as the index contract names its fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncResult {
    /// The repository's name.
    pub repository: String,
    /// Indexable files examined (unchanged ones included).
    pub files_processed: u64,
    /// New files indexed.
    pub files_added: u64,
    /// Changed files re-indexed.
    pub files_updated: u64,
    /// Files gone from the repository, dropped from the index.
    pub files_deleted: u64,
    /// Left out: binary, over the size limit, secrets.
    pub files_skipped: u64,
    /// Files moved without re-chunking (same content, new path).
    pub files_renamed: u64,
    /// Could not be read.
    pub files_failed: u64,
    /// Chunks written.
    pub chunks_new: u64,
    /// Chunks dropped.
    pub chunks_deleted: u64,
    /// Percent of processed files that did not fail.
    pub success_rate: f64,
    /// How long the sync took.
    pub duration_ms: u64,
}

/// Progress of a running sync, for bars and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncProgress {
    /// The walk found this many indexable files, of which `to_read` need reading.
    Walked {
        /// Indexable files found.
        files: u64,
        /// Of which need reading.
        to_read: u64,
    },
    /// `done` of `to_read` files read and chunked, not all committed yet: sent between
    /// commits, at most every [`PROGRESS_INTERVAL`], so a batch of large files still shows
    /// movement.
    Read {
        /// Files read and chunked.
        done: u64,
        /// Files to read in all.
        to_read: u64,
    },
    /// `done` of `to_read` files read and committed.
    Committed {
        /// Files read and committed.
        done: u64,
        /// Files to read in all.
        to_read: u64,
    },
}

/// How often progress is reported between commits.
pub const PROGRESS_INTERVAL: std::time::Duration = std::time::Duration::from_millis(500);

/// Errors that stop a sync.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The repository's folder is gone.
    #[error("{0}: repository folder does not exist")]
    Missing(String),
    /// The path is a file, not a folder.
    #[error("{0}: not a directory")]
    NotADirectory(String),
    /// The cancel flag was set; what was committed stays.
    #[error("sync cancelled")]
    Cancelled,
    /// Another sync of the repository runs (this process or another indexer), and this one
    /// was asked not to wait for it.
    #[error("{0}: another sync of this repository is running")]
    Busy(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

/// One sync job over one repository.
pub struct RepositorySync<'a> {
    store: &'a IndexStore,
    options: &'a SyncOptions,
    progress: Option<&'a (dyn Fn(SyncProgress) + Sync)>,
    cancel: Option<&'a AtomicBool>,
    /// Give up ([`SyncError::Busy`]) instead of waiting when the repository is being synced.
    skip_if_busy: bool,
}

/// What reading a file produced. Nearly every outcome is an `Op`, moved once through the
/// writer's channel: boxing it would only add an allocation per file.
#[allow(clippy::large_enum_variant)]
pub(super) enum Outcome {
    Op(FileOp, Change),
    Skipped,
    Failed,
    Vanished,
}

/// Why the parsers stopped early.
enum Stop {
    Cancelled,
    WriterGone,
}

/// What the writer saw and committed.
#[derive(Default)]
struct Written {
    added: u64,
    updated: u64,
    renamed: u64,
    deleted: u64,
    failed: u64,
    skipped: u64,
    /// Skipped or vanished: not counted as processed after all.
    dropped: u64,
    chunks_new: u64,
    chunks_deleted: u64,
}

impl Written {
    /// Counts one file's outcome and queues its operation.
    fn record(&mut self, outcome: Outcome, rel: &str, was_known: bool, ops: &mut Vec<FileOp>) {
        match outcome {
            Outcome::Op(op, change) => {
                match change {
                    Change::Added => self.added += 1,
                    Change::Updated => self.updated += 1,
                    Change::Renamed => self.renamed += 1,
                    Change::Unchanged => {}
                }
                ops.push(op);
            }
            Outcome::Failed => self.failed += 1,
            Outcome::Skipped | Outcome::Vanished => {
                if matches!(outcome, Outcome::Skipped) {
                    self.skipped += 1;
                }
                self.dropped += 1;
                if was_known {
                    ops.push(FileOp::Delete { path: rel.into() });
                    self.deleted += 1;
                }
            }
        }
    }

    fn add_to(&self, result: &mut SyncResult) {
        result.files_added += self.added;
        result.files_updated += self.updated;
        result.files_renamed += self.renamed;
        result.files_deleted += self.deleted;
        result.files_failed += self.failed;
        result.files_skipped += self.skipped;
        result.files_processed -= self.dropped;
        result.chunks_new += self.chunks_new;
        result.chunks_deleted += self.chunks_deleted;
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    Added,
    Updated,
    Unchanged,
    Renamed,
}

impl<'a> RepositorySync<'a> {
    /// A sync into `store` with `options`.
    pub fn new(store: &'a IndexStore, options: &'a SyncOptions) -> Self {
        RepositorySync {
            store,
            options,
            progress: None,
            cancel: None,
            skip_if_busy: false,
        }
    }

    /// Ends at once with [`SyncError::Busy`] when another sync of the repository runs: a
    /// worker with other repositories to sync does not wait for another worker's.
    pub fn skip_if_busy(mut self) -> Self {
        self.skip_if_busy = true;
        self
    }

    /// Reports progress to `progress`.
    pub fn with_progress(mut self, progress: &'a (dyn Fn(SyncProgress) + Sync)) -> Self {
        self.progress = Some(progress);
        self
    }

    /// A flag checked between batches; when set, the sync stops after the batch in flight.
    pub fn with_cancel(mut self, cancel: &'a AtomicBool) -> Self {
        self.cancel = Some(cancel);
        self
    }

    /// Syncs the repository at `path` under `name` (default: the folder name). `incremental`
    /// false rereads every file.
    pub fn run(
        &self,
        path: &Path,
        name: Option<&str>,
        incremental: bool,
    ) -> Result<SyncResult, SyncError> {
        self.run_scoped(path, name, incremental, &Scope::All)
    }

    /// Syncs only `paths` (relative to the repository root; files or folders, existing or
    /// deleted) of an already indexed repository: what a file watcher reports.
    pub fn run_paths(&self, path: &Path, paths: &[String]) -> Result<SyncResult, SyncError> {
        self.run_scoped(path, None, true, &Scope::Paths(paths.to_vec()))
    }

    fn run_scoped(
        &self,
        path: &Path,
        name: Option<&str>,
        incremental: bool,
        scope: &Scope,
    ) -> Result<SyncResult, SyncError> {
        let started = Instant::now();
        let root = canonical_repo(path)?;
        let default_name = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "repository".into());
        let repo = self.store.ensure_repository(
            &root,
            name.unwrap_or(&default_name),
            None,
            name.is_some(),
        )?;
        // Another sync of this repository (another process, another client) finishes first.
        let _one_at_a_time = if self.skip_if_busy {
            self.store
                .try_lock_repository(repo.id)?
                .ok_or_else(|| SyncError::Busy(repo.name.clone()))?
        } else {
            self.store.lock_repository(repo.id)?
        };
        let outcome = self.sync_files(&repo, &root, incremental, scope);
        let mut result = match outcome {
            Ok(result) => result,
            Err(e) => {
                let _ = self.store.record_sync(repo.id, None, Some(&e.to_string()));
                return Err(e);
            }
        };
        result.duration_ms = started.elapsed().as_millis() as u64;
        let json = serde_json::to_value(&result).ok();
        self.store.record_sync(repo.id, json.as_ref(), None)?;
        Ok(result)
    }

    fn sync_files(
        &self,
        repo: &RepositoryRecord,
        root: &Path,
        incremental: bool,
        scope: &Scope,
    ) -> Result<SyncResult, SyncError> {
        let mut result = SyncResult {
            repository: repo.name.clone(),
            ..SyncResult::default()
        };
        // Load what the store knows while the walk runs: both take a while on big repositories.
        let (known, (walked, skipped)) = std::thread::scope(|threads| {
            let known = threads.spawn(|| self.store.file_states(repo.id));
            let walked = match scope {
                Scope::All => walk(root, root, self.options),
                Scope::Paths(paths) => stat_paths(root, paths, self.options),
            };
            (known.join(), walked)
        });
        let known =
            known.unwrap_or_else(|_| Err(store::StoreError::Panicked("the file state loader")))?;
        result.files_skipped = skipped;
        let language = main_language(&walked);
        if matches!(scope, Scope::All) && repo.language.as_deref() != language {
            self.store.set_repository_language(repo.id, language)?;
        }
        // Files the store has that the walk did not find: deleted, unless a new file turns out
        // to be one of them under another name. The walk is in path order: looked up by
        // halving, with no set of its paths beside it.
        let walked_has = |path: &str| walked.binary_search_by(|w| (*w.rel).cmp(path)).is_ok();
        let mut gone: HashMap<[u8; 32], Vec<String>> = HashMap::new();
        for (path, state) in &known {
            if scope.covers(path) && !walked_has(path) {
                gone.entry(state.hash).or_default().push(path.clone());
            }
        }
        let gone = Mutex::new(gone);
        let to_read: Vec<&Walked> = walked
            .iter()
            .filter(|w| !incremental || known.get(&*w.rel).is_none_or(|s| !unchanged(s, w)))
            .collect();
        result.files_processed = walked.len() as u64;
        let total = to_read.len() as u64;
        self.report(SyncProgress::Walked {
            files: walked.len() as u64,
            to_read: total,
        });

        // Read and chunk files on the rayon pool and stream each outcome to one writer thread,
        // which commits them in batches: parsing and SQLite overlap, and no core idles behind
        // the largest file of a batch (as with one parallel loop per batch). The byte gate
        // holds the parsers back when the writer falls behind, so memory stays bounded.
        let _bulk = (to_read.len() >= BULK_FILES).then(|| self.store.bulk_writes());
        let (sender, receiver) = std::sync::mpsc::channel();
        let gate = ByteGate::new(BYTES_IN_FLIGHT);
        let written = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                let _close = gate.closer();
                self.commit_all(repo.id, receiver, &known, &gate, total)
            });
            let produced = self.produce(root, &to_read, &known, &gone, &gate, sender);
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(store::StoreError::Panicked("the index writer")));
            // A failed writer stops the parsers: its error is the one to report.
            written
                .map_err(SyncError::from)
                .and_then(|w| produced.map(|()| w))
        })?;
        written.add_to(&mut result);

        self.update_packages(repo, root, scope, &walked, &known)?;

        let deletions: Vec<FileOp> = gone
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_values()
            .flatten()
            .map(|path| FileOp::Delete { path })
            .collect();
        result.files_deleted += deletions.len() as u64;
        for batch in deletions.chunks(1000) {
            let counts = self.store.write_batch(repo.id, batch)?;
            result.chunks_deleted += counts.chunks_deleted;
        }
        result.success_rate = if result.files_processed == 0 {
            100.0
        } else {
            let ok = result.files_processed - result.files_failed;
            (ok as f64 * 1000.0 / result.files_processed as f64).round() / 10.0
        };
        Ok(result)
    }

    /// Reads and chunks `to_read` in parallel, sending each outcome to the writer; stops early
    /// when cancelled or when the writer has failed.
    fn produce<'w>(
        &self,
        root: &Path,
        to_read: &[&'w Walked],
        known: &FxHashMap<String, FileState>,
        gone: &Mutex<HashMap<[u8; 32], Vec<String>>>,
        gate: &ByteGate,
        sender: std::sync::mpsc::Sender<(&'w Walked, Outcome)>,
    ) -> Result<(), SyncError> {
        let keep_content = self.store.keeps_contents();
        // Small pieces: rayon otherwise hands each worker long runs of files and one worker
        // was left parsing the last run alone for 1.5 s of a 17 s index (nothing to steal).
        let stopped = to_read
            .par_iter()
            .with_max_len(FILES_PER_TASK)
            .try_for_each_with(sender, |sender, w| {
                if self.cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                    return Err(Stop::Cancelled);
                }
                gate.acquire(w.size);
                let outcome = read_file(
                    root,
                    w,
                    known.get(&*w.rel),
                    gone,
                    self.options.max_file_size,
                    keep_content,
                );
                sender.send((*w, outcome)).map_err(|_| Stop::WriterGone)
            });
        match stopped {
            Err(Stop::Cancelled) => Err(SyncError::Cancelled),
            _ => Ok(()),
        }
    }

    /// Tallies the outcomes and commits their operations, `batch_size` files or about
    /// [`BATCH_BYTES`] per transaction, reporting progress.
    fn commit_all(
        &self,
        repo_id: i64,
        receiver: std::sync::mpsc::Receiver<(&Walked, Outcome)>,
        known: &FxHashMap<String, FileState>,
        gate: &ByteGate,
        to_read: u64,
    ) -> Result<Written, store::StoreError> {
        let mut written = Written::default();
        let mut ops = Vec::new();
        let (mut files, mut bytes, mut done) = (0u64, 0u64, 0u64);
        let max_files = self.options.batch_size.max(1) as u64;
        let mut receiver = receiver.into_iter().peekable();
        let mut last_report = std::time::Instant::now();
        while let Some((w, outcome)) = receiver.next() {
            gate.release(w.size);
            written.record(outcome, &w.rel, known.contains_key(&*w.rel), &mut ops);
            files += 1;
            bytes += w.size;
            if last_report.elapsed() >= PROGRESS_INTERVAL {
                last_report = std::time::Instant::now();
                self.report(SyncProgress::Read {
                    done: done + files,
                    to_read,
                });
            }
            if files >= max_files || bytes >= BATCH_BYTES || receiver.peek().is_none() {
                let counts = self.store.write_batch(repo_id, &ops)?;
                written.chunks_new += counts.chunks_new;
                written.chunks_deleted += counts.chunks_deleted;
                done += files;
                (files, bytes) = (0, 0);
                ops.clear();
                self.report(SyncProgress::Committed { done, to_read });
                last_report = std::time::Instant::now();
            }
        }
        Ok(written)
    }

    fn report(&self, progress: SyncProgress) {
        if let Some(report) = self.progress {
            report(progress);
        }
    }
}

/// The code language with the most files (ties to the one listed first), as discovery judges.
fn main_language(walked: &[Walked]) -> Option<&'static str> {
    let mut counts = [0u64; Language::ALL.len()];
    for w in walked {
        if let FileKind::Code(lang) = w.kind {
            counts[lang.index()] += 1;
        }
    }
    Language::ALL
        .into_iter()
        .rev()
        .filter(|l| counts[l.index()] > 0)
        .max_by_key(|l| counts[l.index()])
        .map(Language::name)
}

fn canonical_repo(path: &Path) -> Result<PathBuf, SyncError> {
    let shown = path.display().to_string();
    let root = std::fs::canonicalize(path).map_err(|_| SyncError::Missing(shown.clone()))?;
    if !root.is_dir() {
        return Err(SyncError::NotADirectory(shown));
    }
    Ok(root)
}

/// Folders whose manifests describe fixtures and examples, not the repository.
const NOT_THE_REPOSITORY: &[&str] = &[
    "test",
    "tests",
    "testdata",
    "fixtures",
    "examples",
    "__tests__",
];

/// A manifest path (relative) that speaks for the repository.
fn repository_manifest(rel: &str) -> bool {
    let mut parts = rel.rsplit('/');
    let name = parts.next().unwrap_or(rel);
    manifest::is_manifest(name) && !parts.any(|dir| NOT_THE_REPOSITORY.contains(&dir))
}

impl RepositorySync<'_> {
    /// Reads the repository's manifests again when the sync may have changed one: every full
    /// walk, and a watcher's sync that names one.
    fn update_packages(
        &self,
        repo: &RepositoryRecord,
        root: &Path,
        scope: &Scope,
        walked: &[Walked],
        known: &FxHashMap<String, FileState>,
    ) -> Result<(), SyncError> {
        let paths: Vec<&str> = match scope {
            Scope::All => walked
                .iter()
                .map(|w| &*w.rel)
                .filter(|r| repository_manifest(r))
                .collect(),
            Scope::Paths(changed) if changed.iter().any(|p| repository_manifest(p)) => known
                .keys()
                .map(String::as_str)
                .chain(changed.iter().map(String::as_str))
                .filter(|r| repository_manifest(r))
                .collect(),
            Scope::Paths(_) => return Ok(()),
        };
        let mut packages = manifest::Packages::default();
        for rel in paths {
            let name = rel.rsplit('/').next().unwrap_or(rel);
            // A manifest is small; one that cannot be read now is read at the next sync.
            if let Ok(text) = std::fs::read_to_string(root.join(rel)) {
                packages.merge(manifest::read(name, &text));
            }
        }
        self.store.set_packages(repo.id, &packages)?;
        Ok(())
    }
}

/// Whether the stat facts say the file is as last indexed. A file modified within the slack
/// of its last read could have changed again in the same timestamp tick, so it is not trusted.
fn unchanged(state: &FileState, w: &Walked) -> bool {
    state.size == w.size
        && state.refs_version == crate::chunk::REFS_VERSION
        && state.mtime_ns == w.mtime_ns
        && w.mtime_ns < state.indexed_at_ns - MTIME_SLACK_NS
}
