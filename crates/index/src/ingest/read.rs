//! Reading one file: bytes (capped), hash, and chunks when the content changed; a file with the
//! content of one that vanished is a rename.

use super::walk::Walked;
use super::{Change, Outcome, BINARY_SNIFF};
use crate::chunk::{chunk_file, FileReferences, REFS_VERSION};
use crate::store::{self, FileOp, FileStamp, FileState};
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::Mutex;

/// Reads, hashes and (when the content changed) chunks one file of the repository at `root`.
pub(super) fn read_file(
    root: &Path,
    w: &Walked,
    known: Option<&FileState>,
    gone: &Mutex<HashMap<[u8; 32], Vec<String>>>,
    max_size: u64,
    keep_content: bool,
) -> Outcome {
    let indexed_at_ns = store::now_ns();
    let path = w.path(root);
    let bytes = match read_capped(&path, max_size) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return Outcome::Skipped,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Outcome::Vanished,
        Err(e) => {
            tracing::debug!(path = %path.display(), %e, "cannot read file");
            return Outcome::Failed;
        }
    };
    if bytes[..bytes.len().min(BINARY_SNIFF)].contains(&0) {
        return Outcome::Skipped;
    }
    let hash = *blake3::hash(&bytes).as_bytes();
    // The stat the walk saw may be older than what was read: keep the one matching the content.
    let stamp = FileStamp {
        size: bytes.len() as u64,
        mtime_ns: fresh_mtime(&path).unwrap_or(w.mtime_ns),
        indexed_at_ns,
    };
    if let Some(state) = known {
        if state.hash == hash && state.refs_version != REFS_VERSION {
            // Indexed by an older extraction: only the references are found again.
            let text = String::from_utf8_lossy(&bytes);
            let file_name = w.rel.rsplit('/').next().unwrap_or(&w.rel);
            let references = FileReferences::new(&chunk_file(w.kind, file_name, &text).references);
            return Outcome::Op(
                FileOp::References {
                    path: w.rel.to_string(),
                    stamp,
                    references,
                },
                Change::Unchanged,
            );
        }
        if state.hash == hash {
            return Outcome::Op(
                FileOp::Touch {
                    path: w.rel.to_string(),
                    stamp,
                },
                Change::Unchanged,
            );
        }
    } else if let Some(from) = take_gone(gone, &hash) {
        return Outcome::Op(
            FileOp::Rename {
                from,
                to: w.rel.to_string(),
                stamp,
            },
            Change::Renamed,
        );
    }
    let text = String::from_utf8_lossy(&bytes);
    let file_name = w.rel.rsplit('/').next().unwrap_or(&w.rel);
    let chunked = chunk_file(w.kind, file_name, &text);
    let op = FileOp::Upsert {
        path: w.rel.to_string(),
        language: w.kind.language_name(),
        stamp,
        hash,
        chunks: chunked.chunks,
        symbols: chunked.symbols,
        references: FileReferences::new(&chunked.references),
        content: keep_content.then(|| store::contents::deflate(&bytes)),
    };
    Outcome::Op(
        op,
        if known.is_some() {
            Change::Updated
        } else {
            Change::Added
        },
    )
}

fn take_gone(gone: &Mutex<HashMap<[u8; 32], Vec<String>>>, hash: &[u8; 32]) -> Option<String> {
    let mut gone = gone.lock().unwrap_or_else(|e| e.into_inner());
    let paths = gone.get_mut(hash)?;
    let from = paths.pop();
    if paths.is_empty() {
        gone.remove(hash);
    }
    from
}

fn fresh_mtime(path: &Path) -> Option<i64> {
    std::fs::metadata(path)
        .ok()?
        .modified()
        .ok()
        .map(store::to_ns)
}

/// The file's bytes, or `None` when it grew past `max` since the walk.
fn read_capped(path: &Path, max: u64) -> std::io::Result<Option<Vec<u8>>> {
    let file = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= max).then_some(bytes))
}
