//! Semantic search: chunk embeddings in the store, computed after the lexical index (search
//! works at once; vectors fill in), nearest neighbours by a brute-force scan, and hybrid
//! ranking by reciprocal-rank fusion with the lexical results.
//!
//! A chunk's vector is keyed by the chunk: a changed chunk is a new row, so its old vector goes
//! with it; vectors of another model are never compared and are replaced on the next pass.

use crate::embed::{EmbedError, Embedder};
use crate::store::{IndexStore, Result, StoreError};
use crate::text;
use rusqlite::params;

/// Characters of a chunk given to the embedder: the symbol, signature and doc comment at its
/// start carry its meaning, and the cost of a BERT pass grows with its length (on 2 cores
/// all-MiniLM-L6-v2 embedded ~16 chunks/s at 1,200 characters).
const EMBED_CHARS: usize = 600;

/// Progress of an embedding pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedProgress {
    pub done: u64,
    pub total: u64,
}

/// What the embedder sees of a chunk: its symbol as words (the model's vocabulary is English
/// words, not `parse_config`), its path, then its text.
pub fn embedding_text(symbol: Option<&str>, path: &str, content: &str) -> String {
    let mut text = String::new();
    if let Some(symbol) = symbol {
        text.push_str(&text::query_terms(symbol).join(" "));
        text.push_str(": ");
    }
    text.push_str(&text::query_terms(path).join(" "));
    text.push('\n');
    let budget = EMBED_CHARS.saturating_sub(text.len());
    let cut = content
        .char_indices()
        .map(|(i, _)| i)
        .take_while(|i| *i <= budget)
        .last()
        .unwrap_or(0);
    text.push_str(if content.len() <= budget {
        content
    } else {
        &content[..cut]
    });
    text
}

fn to_blob(vector: &[f32]) -> Vec<u8> {
    vector.iter().flat_map(|v| v.to_le_bytes()).collect()
}

#[cfg(test)]
fn from_blob(blob: &[u8]) -> Vec<f32> {
    blob.chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

impl IndexStore {
    /// Chunks (of one repository, or all) without a vector of `model`.
    pub fn chunks_to_embed(&self, model: &str, repo_id: Option<i64>) -> Result<u64> {
        self.with_reader(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id
                 LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = ?1
                 WHERE e.chunk_id IS NULL AND (?2 IS NULL OR f.repo_id = ?2)",
                params![model, repo_id],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// Chunks with a vector of `model` (of one repository, or all).
    pub fn embedded_chunks(&self, model: Option<&str>, repo_id: Option<i64>) -> Result<u64> {
        self.with_reader(|conn| {
            Ok(conn.query_row(
                "SELECT count(*) FROM embeddings e JOIN chunks c ON c.id = e.chunk_id
                 JOIN files f ON f.id = c.file_id
                 WHERE (?1 IS NULL OR e.model = ?1) AND (?2 IS NULL OR f.repo_id = ?2)",
                params![model, repo_id],
                |r| r.get::<_, i64>(0),
            )? as u64)
        })
    }

    /// Embeds every chunk (of one repository, or all) that has no vector of the embedder's
    /// model, `batch` chunks per transaction, until none is left or `cancel` is set. Resumable:
    /// what was committed stays.
    pub fn embed_pending(
        &self,
        embedder: &dyn Embedder,
        repo_id: Option<i64>,
        batch: usize,
        cancel: &std::sync::atomic::AtomicBool,
        progress: &dyn Fn(EmbedProgress),
    ) -> Result<u64> {
        let model = embedder.model_id().to_string();
        let total = self.chunks_to_embed(&model, repo_id)?;
        let mut done = 0;
        loop {
            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                break;
            }
            let pending: Vec<(i64, String)> = self.with_reader(|conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT c.id, c.symbol, f.path, c.content FROM chunks c
                     JOIN files f ON f.id = c.file_id
                     LEFT JOIN embeddings e ON e.chunk_id = c.id AND e.model = ?1
                     WHERE e.chunk_id IS NULL AND (?2 IS NULL OR f.repo_id = ?2)
                     ORDER BY c.id LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![model, repo_id, batch.max(1) as i64], |r| {
                    let symbol: Option<String> = r.get(1)?;
                    let path: String = r.get(2)?;
                    let content: String = r.get(3)?;
                    Ok((
                        r.get(0)?,
                        embedding_text(symbol.as_deref(), &path, &content),
                    ))
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            })?;
            if pending.is_empty() {
                break;
            }
            let texts: Vec<&str> = pending.iter().map(|(_, t)| t.as_str()).collect();
            let vectors = embedder.embed(&texts).map_err(embed_error)?;
            self.store_vectors(&model, pending.iter().map(|(id, _)| *id).zip(vectors))?;
            done += pending.len() as u64;
            progress(EmbedProgress {
                done,
                total: total.max(done),
            });
        }
        Ok(done)
    }

    fn store_vectors(
        &self,
        model: &str,
        rows: impl Iterator<Item = (i64, Vec<f32>)>,
    ) -> Result<()> {
        self.with_writer(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            {
                // A chunk deleted meanwhile (a sync ran) is skipped by the join, not an error.
                let mut insert = tx.prepare_cached(
                    "INSERT INTO embeddings (chunk_id, model, vector)
                     SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM chunks WHERE id = ?1)
                     ON CONFLICT(chunk_id) DO UPDATE SET model = excluded.model, vector = excluded.vector",
                )?;
                for (id, vector) in rows {
                    insert.execute(params![id, model, to_blob(&vector)])?;
                }
            }
            tx.commit()?;
            Ok(())
        })
    }
}

fn embed_error(e: EmbedError) -> StoreError {
    StoreError::Invalid(format!("embedding failed: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedding_text_spells_out_identifiers_and_stays_bounded() {
        let t = embedding_text(
            Some("parseConfig"),
            "src/config_loader.rs",
            "fn parseConfig() {}",
        );
        assert!(t.starts_with("parse config: src config loader rs\n"), "{t}");
        let long = "é".repeat(5000);
        assert!(embedding_text(None, "a.py", &long).len() <= EMBED_CHARS + 2);
        let v = vec![0.5f32, -1.25, 3.0];
        assert_eq!(from_blob(&to_blob(&v)), v);
    }
}
