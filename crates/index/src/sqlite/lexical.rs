//! The SQLite backend's lexical index: a [`LexicalIndex`] in a folder beside the database,
//! kept in agreement with it through a log.
//!
//! Each write transaction that changes a file's chunks (or path) appends the file's id to
//! `lexical_log` in the same transaction. Afterwards, whoever holds the lexical writer (one
//! process at a time: tantivy's lock) replaces those files' documents with what the database
//! holds now, and commits with the log position it reached as the commit's payload; the log
//! rows up to it are then deleted. So a kill -9 at any point leaves either rows not yet
//! applied (replayed by the next process that opens the index for writing) or rows already
//! applied (replaying a file is idempotent: delete its documents, add its current chunks).
//!
//! A process that finds the writer taken leaves its rows to the holder, which looks at the
//! log again after it lets the writer go: no row waits for a later write. Each write commits,
//! except during a bulk sync: its holder keeps the writer and commits every
//! [`BULK_COMMIT_INTERVAL`] (or [`COMMIT_DOCS`] documents) and at its end. A commit per batch
//! made small segments that tantivy merged again and again: the 8-copy corpus took 229 s to
//! index instead of 106 s with FTS5.
//!
//! A snapshot whose database shows log rows the lexical commit does not cover yet applies
//! them itself when it can take the writer, and otherwise waits a little for the holder
//! (see [`Lexical::searcher_covering`]): a search sees what the database it reads shows.
//!
//! The payload also names the database (a binding set when the log table was created), so a
//! lexical index left from another database is rebuilt rather than trusted.

use super::batch::{chunk_symbol_names, stored_chunks};
use super::Result;
use crate::lexical::{LexicalDoc, LexicalIndex, LexicalSearcher, LexicalWriter};
use crate::store::StoreError;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub(crate) const BINDING_KEY: &str = "lexical.binding";
/// Documents applied at most before a commit, in one long catch-up (a rebuild).
const COMMIT_DOCS: usize = 200_000;
/// Logged files whose documents are deleted together (see `Lexical::apply`).
const FILES_PER_DELETE: usize = 1000;
const BULK_COMMIT_INTERVAL: Duration = Duration::from_secs(10);
/// How long a snapshot waits for another process to commit what its database shows.
const HOLDER_WAIT: Duration = Duration::from_millis(500);

impl From<crate::lexical::Error> for StoreError {
    fn from(e: crate::lexical::Error) -> Self {
        StoreError::Database(Box::new(e))
    }
}

/// Where the lexical index of the database at `db` lives.
pub(super) fn folder(db: &Path) -> std::path::PathBuf {
    db.with_extension("lexical")
}

pub(super) struct Lexical {
    index: LexicalIndex,
    binding: String,
    slot: Mutex<Slot>,
}

#[derive(Default)]
struct Slot {
    writer: Option<LexicalWriter>,
    /// The last log position whose changes the writer holds (committed or not).
    applied: i64,
    bulk: bool,
    /// A bulk write ended: merge the small segments it left before letting the writer go.
    compact: bool,
    last_commit: Option<Instant>,
}

fn binding(conn: &Connection) -> Result<String> {
    conn.query_row(
        "SELECT value FROM state WHERE key = ?1",
        [BINDING_KEY],
        |r| r.get(0),
    )
    .optional()?
    .ok_or_else(|| StoreError::Database("the index has no lexical binding".into()))
}

/// The last log position ever given out (rows are deleted once applied; their numbers are
/// never reused).
pub(super) fn last_logged(conn: &Connection) -> Result<i64> {
    Ok(conn
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'lexical_log'",
            [],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0))
}

impl Lexical {
    /// Opens (creating, or rebuilding when it belongs to no database or another) the lexical
    /// index of a database open for writing, and applies what the log still holds.
    pub(super) fn open(db: &Path, conn: &Connection) -> Result<Lexical> {
        let lexical = Lexical {
            index: LexicalIndex::open(&folder(db))?,
            binding: binding(conn)?,
            slot: Mutex::new(Slot::default()),
        };
        match lexical.committed()? {
            None => {
                lexical.rebuild(conn)?;
                lexical.catch_up(conn)?;
            }
            // Only when rows wait: a process that takes the writer holds up the others (they
            // leave it their rows), and most opens are short ones that only read.
            Some(committed) if last_logged(conn)? > committed => lexical.catch_up(conn)?,
            Some(_) => {}
        }
        Ok(lexical)
    }

    /// Opens the lexical index for reading; `None` when only an open for writing can make it
    /// agree with the database: there is none, it is another database's, or a process died
    /// before applying the log (rows left while no one holds the writer).
    pub(super) fn open_read_only(db: &Path, conn: &Connection) -> Result<Option<Lexical>> {
        let Some(index) = LexicalIndex::open_existing(&folder(db))? else {
            return Ok(None);
        };
        let lexical = Lexical {
            index,
            binding: binding(conn)?,
            slot: Mutex::new(Slot::default()),
        };
        let Some(committed) = lexical.committed()? else {
            return Ok(None);
        };
        if last_logged(conn)? > committed && lexical.index.try_writer()?.is_some() {
            return Ok(None);
        }
        Ok(Some(lexical))
    }

    /// A searcher whose commit covers the log up to `logged` (what the caller's snapshot of
    /// the database shows): at once when it does; else after applying the log with `apply`
    /// (which takes the writer when it can); else after waiting up to [`HOLDER_WAIT`] for the
    /// process that holds the writer. Past that, the last commit.
    pub(super) fn searcher_covering(
        &self,
        logged: i64,
        apply: impl FnOnce() -> Result<()>,
    ) -> Result<LexicalSearcher> {
        if self.committed()?.unwrap_or(0) >= logged {
            return Ok(self.index.searcher()?);
        }
        if let Err(e) = apply() {
            tracing::debug!(%e, "cannot apply the lexical log from a reader");
        }
        let deadline = Instant::now() + HOLDER_WAIT;
        while self.committed()?.unwrap_or(0) < logged && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(self.index.searcher()?)
    }

    /// The log position of the last commit, when it is this database's.
    fn committed(&self) -> Result<Option<i64>> {
        let payload = self.index.committed_payload()?;
        Ok(payload.and_then(|p| {
            let (binding, seq) = p.split_once(' ')?;
            (binding == self.binding).then(|| seq.parse().ok())?
        }))
    }

    /// Starts the index over: every file logged, then every document deleted in a commit that
    /// names this database. A crash between the two leaves a foreign commit: rebuilt again.
    fn rebuild(&self, conn: &Connection) -> Result<()> {
        let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
        let Some(mut writer) = self.index.try_writer()? else {
            // Another process holds the writer: it is rebuilding (it opened the same way).
            return Ok(());
        };
        tracing::info!("building the lexical index from the database");
        conn.execute("INSERT INTO lexical_log (file_id) SELECT id FROM files", [])?;
        writer.delete_all()?;
        writer.commit(&format!("{} 0", self.binding))?;
        slot.writer = Some(writer);
        slot.applied = 0;
        Ok(())
    }

    /// Keeps the writer between writes until [`Lexical::end_bulk`].
    pub(super) fn begin_bulk(&self) {
        self.slot.lock().unwrap_or_else(|e| e.into_inner()).bulk = true;
    }

    pub(super) fn end_bulk(&self, conn: &Connection) -> Result<()> {
        {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            slot.bulk = false;
            slot.compact = slot.writer.is_some();
        }
        self.catch_up(conn)
    }

    /// Applies the log, when this process can take the writer (otherwise its holder will).
    pub(super) fn catch_up(&self, conn: &Connection) -> Result<()> {
        loop {
            let mut slot = self.slot.lock().unwrap_or_else(|e| e.into_inner());
            if slot.writer.is_none() {
                let Some(writer) = self.index.try_writer()? else {
                    return Ok(());
                };
                slot.applied = self.committed()?.unwrap_or(0);
                slot.writer = Some(writer);
            }
            self.apply(conn, &mut slot)?;
            let due = slot
                .last_commit
                .is_none_or(|t| t.elapsed() >= BULK_COMMIT_INTERVAL);
            if slot.bulk && !due {
                return Ok(());
            }
            if slot.writer.as_ref().is_some_and(|w| w.pending() > 0) {
                self.commit(conn, &mut slot)?;
            }
            if slot.bulk {
                return Ok(());
            }
            if let Some(mut writer) = slot.writer.take() {
                if std::mem::take(&mut slot.compact) {
                    writer.merge_small_segments()?;
                }
                writer.finish()?;
            }
            let applied = slot.applied;
            drop(slot);
            // Rows logged by a process that found the writer taken are this one's to apply.
            if last_logged(conn)? <= applied {
                return Ok(());
            }
        }
    }

    /// Replaces the documents of every file logged after `slot.applied` with its chunks now.
    fn apply(&self, conn: &Connection, slot: &mut Slot) -> Result<()> {
        let rows: Vec<(i64, i64)> = conn
            .prepare_cached("SELECT seq, file_id FROM lexical_log WHERE seq > ?1 ORDER BY seq")?
            .query_map([slot.applied], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut done = HashSet::new();
        // A window's files lose their documents in one deletion, then get their chunks; a
        // commit comes only between windows, so each commit holds whole files.
        for window in rows.chunks(FILES_PER_DELETE) {
            let Some(writer) = slot.writer.as_mut() else {
                return Ok(());
            };
            let files: Vec<i64> = window
                .iter()
                .map(|&(_, file_id)| file_id)
                .filter(|&file_id| done.insert(file_id))
                .collect();
            writer.delete_files(&files)?;
            for &file_id in &files {
                add_file(conn, writer, file_id)?;
            }
            slot.applied = window.last().map_or(slot.applied, |&(seq, _)| seq);
            if writer.pending() >= COMMIT_DOCS {
                self.commit(conn, slot)?;
            }
        }
        Ok(())
    }

    fn commit(&self, conn: &Connection, slot: &mut Slot) -> Result<()> {
        let Some(writer) = slot.writer.as_mut() else {
            return Ok(());
        };
        writer.commit(&format!("{} {}", self.binding, slot.applied))?;
        slot.last_commit = Some(Instant::now());
        conn.execute("DELETE FROM lexical_log WHERE seq <= ?1", [slot.applied])?;
        Ok(())
    }

    /// Documents in the last commit: for tests.
    #[cfg(test)]
    pub(super) fn num_docs(&self) -> Result<u64> {
        Ok(self.index.searcher()?.num_docs())
    }
}

/// Adds the current chunks of a file (none when it is gone).
fn add_file(conn: &Connection, writer: &mut LexicalWriter, file_id: i64) -> Result<()> {
    let file: Option<(i64, String, String)> = conn
        .prepare_cached("SELECT repo_id, path, language FROM files WHERE id = ?1")?
        .query_row(params![file_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?;
    let Some((repo_id, path, language)) = file else {
        return Ok(());
    };
    let (chunks, symbols) = stored_chunks(conn, file_id)?;
    for (chunk_id, chunk) in &chunks {
        let names = chunk_symbol_names(chunk, &symbols);
        writer.add(&LexicalDoc {
            chunk_id: *chunk_id,
            file_id,
            repo_id,
            language: &language,
            symbols: &names,
            content: &chunk.content,
            path: &path,
        })?;
    }
    Ok(())
}
