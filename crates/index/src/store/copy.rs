//! Copying a whole index from one store into another, empty one (`codeintel migrate-store`):
//! a person's embedded index seeds a team's PostgreSQL one, or the other way. Everything a
//! sync wrote is copied as it is (no file is parsed again): repositories and their auto-sync
//! state, files with their stamps, chunks, definitions, references and imports, packages,
//! and the shared state (configuration overrides, metrics). Vectors are not: the destination
//! embeds the chunks again in the background. File contents go along where the destination
//! keeps them (PostgreSQL): from the source store when it has them, else from the file on
//! disk when it is still the one indexed.

use super::contents::deflate;
use super::{ChunkRow, FileOp, FileStamp, IndexStore, Result, StoreError};
use crate::chunk::Chunk;
use crate::filters::Filters;
use rustc_hash::FxHashMap;

/// State keys that belong to one store's own machinery, not to the index.
const LOCAL_KEYS: &[&str] = &[crate::sqlite::BINDING_KEY, crate::sqlite::GENERATION_KEY];
/// Files written per transaction.
const FILES_PER_BATCH: usize = 200;

/// What a copy wrote.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CopyCounts {
    /// Repositories copied.
    pub repositories: u64,
    /// Files copied.
    pub files: u64,
    /// Chunks copied.
    pub chunks: u64,
    /// Files whose contents the destination keeps but neither the source nor the disk had.
    pub contents_missing: u64,
}

/// Copies every repository of `from` into `to`, which must hold none; `progress` hears each
/// repository's name as it starts.
pub fn copy_index(
    from: &IndexStore,
    to: &IndexStore,
    progress: &mut dyn FnMut(&str),
) -> Result<CopyCounts> {
    let existing = to.repositories()?;
    if !existing.is_empty() {
        return Err(StoreError::BadQuery(format!(
            "{} already holds {} repositories: migrate-store copies into an empty index",
            to.path().display(),
            existing.len()
        )));
    }
    let mut counts = CopyCounts::default();
    for info in from.repositories()? {
        progress(&info.record.name);
        copy_repository(from, to, &info, &mut counts)?;
    }
    let snapshot = from.read()?;
    for (key, value) in snapshot.states("")? {
        if !LOCAL_KEYS.contains(&key.as_str()) {
            to.set_state(&key, &value)?;
        }
    }
    Ok(counts)
}

fn copy_repository(
    from: &IndexStore,
    to: &IndexStore,
    info: &crate::RepositoryInfo,
    counts: &mut CopyCounts,
) -> Result<()> {
    let source = &info.record;
    let target =
        to.ensure_repository(&source.path, &source.name, source.language.as_deref(), true)?;
    let _one_at_a_time = to.lock_repository(target.id)?;
    let snapshot = from.read()?;
    let mut chunks = chunks_by_path(&*snapshot, source.id)?;
    let mut files: Vec<_> = snapshot.file_states(source.id)?.into_iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let _bulk = to.bulk_writes();
    for batch in files.chunks(FILES_PER_BATCH) {
        let mut ops = Vec::with_capacity(batch.len());
        for (path, state) in batch {
            let rows = chunks.remove(path).unwrap_or_default();
            let file_id = rows.first().map(|r| r.file_id);
            let (symbols, references) = match file_id {
                Some(id) => (snapshot.file_symbols(id)?, snapshot.file_references(id)?),
                None => Default::default(),
            };
            let content = match to.keeps_contents() {
                true => {
                    let found = file_content(&*snapshot, info, path, &state.hash)?;
                    counts.contents_missing += u64::from(found.is_none());
                    found
                }
                false => None,
            };
            counts.chunks += rows.len() as u64;
            ops.push(FileOp::Upsert {
                path: path.clone(),
                language: crate::lang::resolve_language(&state.language)
                    .map_err(StoreError::BadQuery)?,
                stamp: FileStamp {
                    size: state.size,
                    mtime_ns: state.mtime_ns,
                    indexed_at_ns: state.indexed_at_ns,
                },
                hash: state.hash,
                chunks: rows.into_iter().map(chunk_of).collect(),
                symbols,
                references,
                content,
            });
        }
        to.write_batch(target.id, &ops)?;
        counts.files += ops.len() as u64;
    }
    to.set_packages(target.id, &snapshot.packages(source.id)?)?;
    if info.last_result.is_some() || info.last_error.is_some() {
        to.record_sync(
            target.id,
            info.last_result.as_ref(),
            info.last_error.as_deref(),
        )?;
    }
    to.set_sync_state(target.id, &info.sync)?;
    counts.repositories += 1;
    Ok(())
}

/// A repository's chunks, by file path, in line order.
fn chunks_by_path(
    snapshot: &dyn super::Snapshot,
    repo_id: i64,
) -> Result<FxHashMap<String, Vec<ChunkRow>>> {
    let filters = Filters {
        repo_id: Some(repo_id),
        language: None,
        path: None,
    };
    let mut by_path: FxHashMap<String, Vec<ChunkRow>> = FxHashMap::default();
    snapshot.scan_chunks(&filters, None, &mut |row| {
        by_path.entry(row.path.clone()).or_default().push(row);
        Ok(true)
    })?;
    Ok(by_path)
}

fn chunk_of(row: ChunkRow) -> Chunk {
    Chunk {
        start_line: row.start_line,
        end_line: row.end_line,
        symbol: row.symbol,
        kind: row.kind.as_deref().map(crate::sqlite::intern_kind),
        content: row.content,
    }
}

/// The file's deflated content: the source store's, else the file on disk if it still has
/// the indexed hash.
fn file_content(
    snapshot: &dyn super::Snapshot,
    info: &crate::RepositoryInfo,
    path: &str,
    hash: &[u8; 32],
) -> Result<Option<Vec<u8>>> {
    if let Some(stored) = snapshot.file_content(info.record.id, path)? {
        return Ok(Some(stored));
    }
    let Ok(bytes) = std::fs::read(info.record.path.join(path)) else {
        return Ok(None);
    };
    Ok((blake3::hash(&bytes).as_bytes() == hash).then(|| deflate(&bytes)))
}
