//! Semantic search: chunk embeddings in the store, computed after the lexical index (search
//! works at once; vectors fill in), nearest neighbours in two passes, and the pieces hybrid
//! ranking needs.
//!
//! A chunk is embedded as *units*: one per definition that starts in it (a class merged with
//! its small methods is found by each of them; on the docstring eval 139 of 300 answers sat in
//! a chunk named after another definition), plus the chunk as a whole when no definition starts
//! at its top. A vector is stored twice, quantized: its sign bits (dimension / 8 bytes, in
//! `embeddings`) for a first pass by Hamming distance over every unit, and int8 with a scale
//! (in `vectors`) to rescore the best candidates; the chunk's similarity is its best unit's.
//! Vectors belong to their chunk: a changed chunk is a new row and its old vectors go with it;
//! vectors of another model are never compared and are replaced on the next pass.

use crate::filters::Filters;
use crate::store::{IndexStore, Result, Snapshot, StoreError, StoredUnit};
use crate::text;
use codeintel_embed::{EmbedError, Embedder};
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};

/// Characters of a unit given to the embedder: the symbol, signature and doc comment at its
/// start carry its meaning, and the cost of a BERT pass grows with its length (on 2 cores
/// all-MiniLM-L6-v2 embedded ~16 chunks/s at 1,200 characters).
const EMBED_CHARS: usize = 600;
/// Units per chunk at most (a chunk is a few KB: more definitions than this are one-liners).
const MAX_UNITS: usize = 24;
/// A definition starting this close to the chunk's top stands for the top.
const LEAD_LINES: u32 = 3;
/// Comment or decorator lines above a definition that belong to its unit.
const MAX_DOC_LINES: usize = 8;
/// Chunks embedded and committed together: enough texts to sort into batches of similar
/// length, few enough that a cancel or a crash loses seconds of work, not minutes.
const CHUNKS_PER_PASS: usize = 32;
/// Units rescored per wanted result after the Hamming pass (several units share a chunk, and
/// sign bits only approximate the angle).
const CANDIDATES_PER_RESULT: usize = 20;
const MIN_CANDIDATES: usize = 200;

/// Progress of an embedding pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmbedProgress {
    /// Chunks embedded so far.
    pub done: u64,
    /// Chunks to embed in this pass.
    pub total: u64,
}

/// What the embedder sees of a unit: its symbol as words (the model's vocabulary is English
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

pub use crate::store::Definition;

/// The texts a chunk is embedded as, each with the line it starts at (see the module docs).
/// `definitions` are the file's definitions starting inside the chunk, in line order.
pub fn embedding_units(
    symbol: Option<&str>,
    path: &str,
    content: &str,
    start_line: u32,
    definitions: &[Definition],
) -> Vec<(u32, String)> {
    let lines: Vec<&str> = content.split_inclusive('\n').collect();
    let last = start_line + lines.len().saturating_sub(1) as u32;
    let inside: Vec<&Definition> = definitions
        .iter()
        .filter(|d| d.start_line >= start_line && d.start_line <= last)
        .collect();
    let mut units = Vec::new();
    if !inside
        .iter()
        .any(|d| d.start_line <= start_line + LEAD_LINES)
    {
        units.push((start_line, embedding_text(symbol, path, content)));
    }
    for d in inside {
        if units.len() >= MAX_UNITS {
            break;
        }
        let from = (d.start_line - start_line) as usize;
        let to = (d.end_line.clamp(d.start_line, last) - start_line) as usize;
        let doc = lines[..from]
            .iter()
            .rev()
            .take(MAX_DOC_LINES)
            .take_while(|l| is_doc_line(l))
            .count();
        let body = lines[from - doc..=to].concat();
        units.push((d.start_line, embedding_text(Some(&d.name), path, &body)));
    }
    units
}

/// Comment and decorator lines, in the syntax of the indexed languages.
fn is_doc_line(line: &str) -> bool {
    let t = line.trim_start();
    ["#", "//", "/*", "*", "@", "\"\"\"", "'''"]
        .iter()
        .any(|p| t.starts_with(p))
}

/// Sign bits of a vector, packed little-endian.
fn sign_bits(vector: &[f32]) -> Vec<u8> {
    let mut bits = vec![0u8; vector.len().div_ceil(8)];
    for (i, x) in vector.iter().enumerate() {
        if *x > 0.0 {
            bits[i / 8] |= 1 << (i % 8);
        }
    }
    bits
}

/// A vector as an `f32` scale followed by one `i8` per dimension.
fn quantize(vector: &[f32]) -> Vec<u8> {
    let max = vector.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / 127.0 } else { 1.0 };
    let mut out = Vec::with_capacity(4 + vector.len());
    out.extend_from_slice(&scale.to_le_bytes());
    out.extend(
        vector
            .iter()
            .map(|x| (x / scale).round().clamp(-127.0, 127.0) as i8 as u8),
    );
    out
}

/// Dot product of a quantized vector with the query; `None` when the dimensions differ.
fn dot_quantized(blob: &[u8], query: &[f32]) -> Option<f32> {
    if blob.len() != 4 + query.len() {
        return None;
    }
    let scale = f32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
    let dot: f32 = blob[4..]
        .iter()
        .zip(query)
        .map(|(b, q)| f32::from(*b as i8) * q)
        .sum();
    Some(dot * scale)
}

fn hamming(a: &[u8], b: &[u8]) -> u32 {
    let words = |s: &[u8]| -> u64 {
        let mut w = [0u8; 8];
        w[..s.len()].copy_from_slice(s);
        u64::from_le_bytes(w)
    };
    a.chunks(8)
        .zip(b.chunks(8))
        .map(|(x, y)| (words(x) ^ words(y)).count_ones())
        .sum()
}

/// A chunk near the query: its best unit's similarity and first line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Nearest {
    pub chunk_id: i64,
    pub similarity: f32,
    pub line: u32,
}

/// Every unit's sign bits of one model, in memory, so the first pass reads ~56 bytes per unit
/// from RAM instead of scanning a table (1M units: 56 MB). When an embedding commit moves the
/// generation, only units newer than the snapshot are read (ids only grow: the table is
/// AUTOINCREMENT), so searching while vectors fill in does not reread them all; units deleted
/// since (their chunk changed) are skipped at rescoring, and once they crowd the candidates the
/// snapshot is rebuilt.
#[derive(Clone)]
struct BitsSnapshot {
    model_id: i64,
    generation: i64,
    width: usize,
    max_id: i64,
    ids: Vec<i64>,
    bits: Vec<u8>,
}

impl BitsSnapshot {
    fn new(model_id: i64, width: usize) -> Self {
        BitsSnapshot {
            model_id,
            generation: -1,
            width,
            max_id: 0,
            ids: Vec::new(),
            bits: Vec::new(),
        }
    }

    /// Reads the units newer than the snapshot.
    fn catch_up(&mut self, conn: &dyn Snapshot, generation: i64) -> Result<()> {
        let (width, mut max_id) = (self.width, self.max_id);
        let (ids, bits) = (&mut self.ids, &mut self.bits);
        conn.units_after(self.model_id, self.max_id, &mut |id, unit| {
            if unit.len() == width {
                ids.push(id);
                bits.extend_from_slice(unit);
            }
            max_id = max_id.max(id);
        })?;
        self.max_id = max_id;
        self.generation = generation;
        Ok(())
    }
}

/// Share of rescored candidates found deleted above which the snapshot is rebuilt.
const MAX_STALE_SHARE: f64 = 0.2;

/// The store's cache of [`BitsSnapshot`]s (one model at a time).
#[derive(Default)]
pub(crate) struct VectorCache(Mutex<Option<Arc<BitsSnapshot>>>);

impl VectorCache {
    fn snapshot(
        &self,
        conn: &dyn Snapshot,
        model_id: i64,
        width: usize,
    ) -> Result<Arc<BitsSnapshot>> {
        let generation = conn.vector_generation()?;
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let mut snapshot = match slot.take() {
            Some(s) if s.model_id == model_id && s.width == width => s,
            _ => Arc::new(BitsSnapshot::new(model_id, width)),
        };
        if snapshot.generation != generation {
            // Copies only when a search still holds the old one.
            Arc::make_mut(&mut snapshot).catch_up(conn, generation)?;
        }
        *slot = Some(snapshot.clone());
        Ok(snapshot)
    }

    /// Drops the snapshot when too many of its candidates were deleted units.
    fn note_stale(&self, stale: usize, candidates: usize) {
        if candidates > 0 && stale as f64 > MAX_STALE_SHARE * candidates as f64 {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
    }
}

/// The best `capacity` (distance, unit id) pairs seen.
struct Candidates {
    capacity: usize,
    heap: BinaryHeap<(u32, i64)>,
}

impl Candidates {
    fn new(capacity: usize) -> Self {
        Candidates {
            capacity,
            heap: BinaryHeap::with_capacity(capacity + 1),
        }
    }

    fn offer(&mut self, distance: u32, id: i64) {
        if self.heap.len() < self.capacity {
            self.heap.push((distance, id));
        } else if self.heap.peek().is_some_and(|(d, _)| distance < *d) {
            self.heap.pop();
            self.heap.push((distance, id));
        }
    }
}

/// The `limit` chunks nearest the query: every unit's sign bits ranked by Hamming distance
/// (from the cache, or a table scan when filters narrow the search), the best candidates
/// rescored with their int8 vectors.
pub(crate) fn nearest(
    conn: &dyn Snapshot,
    cache: &VectorCache,
    filters: &Filters,
    model_id: i64,
    query: &[f32],
    limit: usize,
) -> Result<Vec<Nearest>> {
    let query_bits = sign_bits(query);
    let mut best = Candidates::new((limit * CANDIDATES_PER_RESULT).max(MIN_CANDIDATES));
    if filters.is_empty() {
        let snapshot = cache.snapshot(conn, model_id, query_bits.len())?;
        for (i, bits) in snapshot
            .bits
            .chunks_exact(snapshot.width.max(1))
            .enumerate()
        {
            best.offer(hamming(bits, &query_bits), snapshot.ids[i]);
        }
    } else {
        // The first pass over the units that pass the filters, read from the store.
        conn.units_filtered(model_id, filters, &mut |id, bits| {
            if bits.len() == query_bits.len() {
                best.offer(hamming(bits, &query_bits), id);
            }
        })?;
    }
    let mut by_chunk: HashMap<i64, Nearest> = HashMap::new();
    let (candidates, mut stale) = (best.heap.len(), 0);
    for (_, id) in best.heap {
        let Some((chunk_id, line, vector)) = conn.unit_vector(id)? else {
            stale += 1;
            continue;
        };
        let Some(similarity) = dot_quantized(&vector, query) else {
            continue;
        };
        keep_best(
            &mut by_chunk,
            Nearest {
                chunk_id,
                similarity,
                line,
            },
        );
    }
    if filters.is_empty() {
        cache.note_stale(stale, candidates);
    }
    let mut ranked: Vec<Nearest> = by_chunk.into_values().collect();
    ranked.sort_by(|a, b| {
        b.similarity
            .total_cmp(&a.similarity)
            .then(a.chunk_id.cmp(&b.chunk_id))
    });
    ranked.truncate(limit);
    Ok(ranked)
}

fn keep_best(by_chunk: &mut HashMap<i64, Nearest>, candidate: Nearest) {
    by_chunk
        .entry(candidate.chunk_id)
        .and_modify(|n| {
            if candidate.similarity > n.similarity {
                *n = candidate;
            }
        })
        .or_insert(candidate);
}

/// The similarity of one chunk (its best unit) to the query, if it has vectors of the model.
pub(crate) fn chunk_similarity(
    conn: &dyn Snapshot,
    model_id: i64,
    query: &[f32],
    chunk_id: i64,
) -> Result<Option<Nearest>> {
    let mut best: Option<Nearest> = None;
    conn.chunk_vectors(model_id, chunk_id, &mut |line, blob| {
        if let Some(similarity) = dot_quantized(blob, query) {
            if best.is_none_or(|b| similarity > b.similarity) {
                best = Some(Nearest {
                    chunk_id,
                    similarity,
                    line,
                });
            }
        }
    })?;
    Ok(best)
}

/// A chunk's units: (first line, text to embed).
type ChunkUnits = (i64, Vec<(u32, String)>);
/// A chunk's unit vectors: (first line, vector).
type ChunkVectors = (i64, Vec<(u32, Vec<f32>)>);

impl IndexStore {
    /// Chunks (of one repository, or all) without vectors of `model`.
    pub fn chunks_to_embed(&self, model: &str, repo_id: Option<i64>) -> Result<u64> {
        let snapshot = self.read()?;
        snapshot.count_to_embed(snapshot.model_key(model)?, repo_id)
    }

    /// Chunks with vectors of `model` (of any model when `None`), of one repository or all.
    pub fn embedded_chunks(&self, model: Option<&str>, repo_id: Option<i64>) -> Result<u64> {
        let snapshot = self.read()?;
        let model_id = match model {
            Some(name) => match snapshot.model_key(name)? {
                Some(id) => Some(id),
                None => return Ok(0),
            },
            None => None,
        };
        snapshot.count_embedded(model_id, repo_id)
    }

    /// Embeds every chunk (of one repository, or all) that has no vectors of the embedder's
    /// model, [`CHUNKS_PER_PASS`] chunks per transaction, until none is left or `cancel` is set.
    /// Resumable: what was committed stays.
    pub fn embed_pending(
        &self,
        embedder: &dyn Embedder,
        repo_id: Option<i64>,
        cancel: &std::sync::atomic::AtomicBool,
        progress: &dyn Fn(EmbedProgress),
    ) -> Result<u64> {
        let model = embedder.model_id().to_string();
        let total = self.chunks_to_embed(&model, repo_id)?;
        let mut done = 0;
        while !cancel.load(std::sync::atomic::Ordering::Relaxed) {
            let pending = self.pending_units(&model, repo_id, CHUNKS_PER_PASS)?;
            if pending.is_empty() {
                break;
            }
            let texts: Vec<&str> = pending
                .iter()
                .flat_map(|(_, units)| units.iter().map(|(_, t)| t.as_str()))
                .collect();
            let mut vectors = embed_by_length(embedder, &texts)?.into_iter();
            let rows: Vec<ChunkVectors> = pending
                .iter()
                .map(|(id, units)| {
                    let vs = units
                        .iter()
                        .map(|(line, _)| (*line, vectors.next().unwrap_or_default()))
                        .collect();
                    (*id, vs)
                })
                .collect();
            self.store_vectors(&model, rows)?;
            done += pending.len() as u64;
            progress(EmbedProgress {
                done,
                total: total.max(done),
            });
        }
        if done >= 1000 {
            self.checkpoint();
        }
        Ok(done)
    }

    /// The next chunks without vectors of `model`, each with its units' texts.
    fn pending_units(
        &self,
        model: &str,
        repo_id: Option<i64>,
        batch: usize,
    ) -> Result<Vec<ChunkUnits>> {
        let snapshot = self.read()?;
        let model_id = snapshot.model_key(model)?;
        let chunks = snapshot.pending_chunks(model_id, repo_id, batch)?;
        Ok(chunks
            .into_iter()
            .map(|c| {
                let units = embedding_units(
                    c.symbol.as_deref(),
                    &c.path,
                    &c.content,
                    c.start_line,
                    &c.definitions,
                );
                (c.id, units)
            })
            .collect())
    }

    /// Replaces the vectors of each chunk (a chunk deleted meanwhile by a sync is skipped),
    /// each stored quantised twice (see the module docs).
    fn store_vectors(&self, model: &str, rows: Vec<ChunkVectors>) -> Result<()> {
        let stored: Vec<(i64, Vec<StoredUnit>)> = rows
            .into_iter()
            .map(|(chunk_id, units)| {
                let units = units
                    .iter()
                    .map(|(line, v)| StoredUnit {
                        line: *line,
                        bits: sign_bits(v),
                        vector: quantize(v),
                    })
                    .collect();
                (chunk_id, units)
            })
            .collect();
        self.storage().store_vectors(model, &stored)
    }
}

/// Embeds `texts` in groups of similar length, [`Embedder::preferred_batch`] texts per call (a
/// BERT batch is padded to its longest text, so mixing a one-line unit with a 600-character one
/// wastes most of the pass); the vectors come back in the order of `texts`.
fn embed_by_length(embedder: &dyn Embedder, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| texts[i].len());
    let mut vectors = vec![Vec::new(); texts.len()];
    for group in order.chunks(embedder.preferred_batch().max(1)) {
        let batch: Vec<&str> = group.iter().map(|&i| texts[i]).collect();
        let got = embedder.embed(&batch).map_err(embed_error)?;
        check_vectors(&got, batch.len(), embedder.dimension())?;
        for (&i, vector) in group.iter().zip(got) {
            vectors[i] = vector;
        }
    }
    Ok(vectors)
}

/// A provider that answers with the wrong number of vectors or the wrong dimension is an
/// error, never a silent mix of dimensions in the store.
fn check_vectors(vectors: &[Vec<f32>], texts: usize, dimension: usize) -> Result<()> {
    if vectors.len() != texts {
        return Err(StoreError::EmbedderAnswer(format!(
            "the model returned {} vectors for {texts} texts",
            vectors.len()
        )));
    }
    if let Some(v) = vectors.iter().find(|v| v.len() != dimension) {
        return Err(StoreError::EmbedderAnswer(format!(
            "the model returned a vector of dimension {}, expected {dimension}",
            v.len()
        )));
    }
    Ok(())
}

fn embed_error(e: EmbedError) -> StoreError {
    StoreError::Embedder(e)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn def(name: &str, start_line: u32, end_line: u32) -> Definition {
        Definition {
            name: name.into(),
            start_line,
            end_line,
        }
    }

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
    }

    #[test]
    fn each_definition_in_a_merged_chunk_is_a_unit_with_its_doc_comment() {
        let content = "class Queue:\n    def put(self, x):\n        self.items.append(x)\n\n    # Remove and return the first item.\n    def get(self):\n        return self.items.pop(0)\n";
        let defs = [def("Queue", 10, 16), def("put", 11, 12), def("get", 15, 16)];
        let units = embedding_units(Some("Queue"), "q.py", content, 10, &defs);
        let lines: Vec<u32> = units.iter().map(|u| u.0).collect();
        assert_eq!(lines, [10, 11, 15]);
        assert!(
            units[2].1.starts_with("get: q py\n    # Remove and return"),
            "{}",
            units[2].1
        );
        assert!(!units[2].1.contains("append"), "{}", units[2].1);
        assert!(units[1].1.contains("append") && !units[1].1.contains("pop"));
    }

    #[test]
    fn a_chunk_without_a_definition_at_its_top_is_a_unit_too() {
        let content = "import os\nimport sys\nX = 1\nY = 2\n\ndef main():\n    pass\n";
        let units = embedding_units(None, "m.py", content, 1, &[def("main", 6, 7)]);
        assert_eq!(units.len(), 2);
        assert_eq!(units[0].0, 1);
        assert!(units[0].1.contains("import os"));
        let window = embedding_units(None, "README.md", "# Title\ntext\n", 41, &[]);
        assert_eq!(window.len(), 1);
        assert_eq!(window[0].0, 41);
    }

    #[test]
    fn quantized_vectors_keep_their_similarities() {
        let a: Vec<f32> = (0..384)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 300.0)
            .collect();
        let b: Vec<f32> = (0..384)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) / 250.0)
            .collect();
        let exact: f32 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        let approx = dot_quantized(&quantize(&a), &b).unwrap_or(f32::NAN);
        assert!(
            (exact - approx).abs() < 0.01 * exact.abs().max(1.0),
            "{exact} vs {approx}"
        );
        assert_eq!(dot_quantized(&quantize(&a[..100]), &b), None);
        assert_eq!(hamming(&sign_bits(&a), &sign_bits(&a)), 0);
        let negated: Vec<f32> = a.iter().map(|x| -x).collect();
        let nonzero = a.iter().filter(|x| **x != 0.0).count() as u32;
        assert_eq!(hamming(&sign_bits(&a), &sign_bits(&negated)), nonzero);
    }

    /// Words hashed into 64 dimensions: texts sharing words point the same way.
    pub(crate) struct BagOfWords {
        pub(crate) dimension: usize,
    }

    impl Embedder for BagOfWords {
        fn model_id(&self) -> &str {
            "test:bag-of-words"
        }
        fn dimension(&self) -> usize {
            64
        }
        fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
            Ok(texts
                .iter()
                .map(|t| {
                    let mut v = vec![0f32; self.dimension];
                    for w in crate::text::query_terms(t) {
                        let h = blake3::hash(w.as_bytes()).as_bytes()[0] as usize;
                        v[h % self.dimension] += 1.0;
                    }
                    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-6);
                    v.iter().map(|x| x / norm).collect()
                })
                .collect())
        }
    }

    pub(crate) fn python_file(path: &str, functions: &[(&str, &str)]) -> crate::store::FileOp {
        let mut content = String::new();
        let mut symbols = Vec::new();
        for (i, (name, body)) in functions.iter().enumerate() {
            let line = (i * 2 + 1) as u32;
            content.push_str(&format!("def {name}():\n    {body}\n"));
            symbols.push(crate::chunk::Symbol {
                name: (*name).into(),
                kind: "function",
                start_line: line,
                end_line: line + 1,
            });
        }
        crate::store::FileOp::Upsert {
            path: path.into(),
            language: "python",
            stamp: crate::store::FileStamp {
                size: content.len() as u64,
                mtime_ns: 1,
                indexed_at_ns: 2,
            },
            hash: *blake3::hash(content.as_bytes()).as_bytes(),
            chunks: vec![crate::chunk::Chunk {
                start_line: 1,
                end_line: (functions.len() * 2) as u32,
                symbol: Some(functions[0].0.into()),
                kind: Some("function"),
                content,
            }],
            symbols,
            references: Default::default(),
            content: None,
        }
    }

    fn semantic_paths(
        store: &IndexStore,
        query: &str,
        path_glob: Option<&str>,
    ) -> Vec<(String, u32)> {
        let req = crate::SearchRequest {
            query: query.into(),
            limit: 5,
            mode: crate::SearchMode::Semantic,
            path_glob: path_glob.map(str::to_string),
            ..Default::default()
        };
        store
            .search_with(&req, Some(&BagOfWords { dimension: 64 }))
            .unwrap()
            .into_iter()
            .map(|h| (h.path, h.line))
            .collect()
    }

    /// A new store at `path` holding repository `a` with one file, `a.py`, of `functions`.
    pub(crate) fn store_with(
        path: &std::path::Path,
        functions: &[(&str, &str)],
    ) -> (IndexStore, i64) {
        let store = IndexStore::open(path, false).unwrap();
        let repo = store
            .ensure_repository(std::path::Path::new("/r/a"), "a", None, false)
            .unwrap();
        store
            .write_batch(repo.id, &[python_file("a.py", functions)])
            .unwrap();
        (store, repo.id)
    }

    pub(crate) fn embed_all(store: &IndexStore, embedder: &dyn Embedder) -> Result<u64> {
        let cancel = std::sync::atomic::AtomicBool::new(false);
        store.embed_pending(embedder, None, &cancel, &|_| {})
    }

    #[test]
    fn units_are_searched_and_replaced_when_their_chunk_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
        let repo = store
            .ensure_repository(std::path::Path::new("/r/a"), "a", None, false)
            .unwrap();
        store
            .write_batch(
                repo.id,
                &[
                    python_file(
                        "queue.py",
                        &[("put", "append item tail"), ("get", "remove item head")],
                    ),
                    python_file("net.py", &[("connect", "open socket port host")]),
                ],
            )
            .unwrap();
        let model = BagOfWords { dimension: 64 };
        assert_eq!(embed_all(&store, &model).unwrap(), 2);
        assert_eq!(
            store.embedded_chunks(Some(model.model_id()), None).unwrap(),
            2
        );
        assert_eq!(store.chunks_to_embed(model.model_id(), None).unwrap(), 0);
        // The second definition of the merged chunk is found at its own line.
        assert_eq!(
            semantic_paths(&store, "remove head", None)[0],
            ("queue.py".into(), 3)
        );
        assert_eq!(
            semantic_paths(&store, "socket host", None)[0],
            ("net.py".into(), 1)
        );
        // A filtered search reads the tables instead of the cached first pass.
        let only_queue = semantic_paths(&store, "socket host", Some("queue*"));
        assert!(
            only_queue.iter().all(|(p, _)| p == "queue.py"),
            "{only_queue:?}"
        );

        // The file changes: its old vectors go with the old chunk, the cache is refreshed.
        store
            .write_batch(
                repo.id,
                &[python_file(
                    "net.py",
                    &[("listen", "accept client backlog")],
                )],
            )
            .unwrap();
        assert_eq!(store.chunks_to_embed(model.model_id(), None).unwrap(), 1);
        assert_eq!(embed_all(&store, &model).unwrap(), 1);
        assert_eq!(
            semantic_paths(&store, "accept client backlog", None)[0].0,
            "net.py"
        );
        let stale = semantic_paths(&store, "socket host", None);
        assert!(stale.len() == 2, "one hit per live chunk: {stale:?}");
    }

    #[test]
    fn a_model_answering_with_the_wrong_dimension_stores_nothing() {
        struct Wrong;
        impl Embedder for Wrong {
            fn model_id(&self) -> &str {
                "test:wrong"
            }
            fn dimension(&self) -> usize {
                64
            }
            fn embed(&self, texts: &[&str]) -> std::result::Result<Vec<Vec<f32>>, EmbedError> {
                Ok(texts.iter().map(|_| vec![0.5; 32]).collect())
            }
        }
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = store_with(&dir.path().join("index.db"), &[("f", "x")]);
        let err = embed_all(&store, &Wrong).unwrap_err().to_string();
        assert!(err.contains("dimension 32, expected 64"), "{err}");
        assert_eq!(store.embedded_chunks(None, None).unwrap(), 0);
        assert_eq!(store.chunks_to_embed("test:wrong", None).unwrap(), 1);
    }

    #[test]
    fn the_snapshot_reads_only_new_units_and_is_rebuilt_when_stale() {
        let dir = tempfile::tempdir().unwrap();
        let (store, repo) = store_with(&dir.path().join("index.db"), &[("alpha", "one two")]);
        let model = BagOfWords { dimension: 64 };
        let cached = |store: &IndexStore| {
            let slot = store.vectors.0.lock().unwrap();
            slot.as_ref()
                .map(|s| (s.ids.clone(), s.max_id))
                .unwrap_or_default()
        };
        embed_all(&store, &model).unwrap();
        semantic_paths(&store, "one", None);
        let (first, _) = cached(&store);
        assert_eq!(first.len(), 1);

        // A new file: its unit is appended after the ones already held.
        store
            .write_batch(repo, &[python_file("b.py", &[("beta", "three four")])])
            .unwrap();
        embed_all(&store, &model).unwrap();
        assert_eq!(semantic_paths(&store, "three four", None)[0].0, "b.py");
        let (second, max_id) = cached(&store);
        assert_eq!(second.len(), 2);
        assert_eq!(second[0], first[0]);
        assert_eq!(max_id, second[1]);

        // a.py changes: its old unit is stale; half the candidates deleted -> rebuilt.
        store
            .write_batch(repo, &[python_file("a.py", &[("gamma", "five six")])])
            .unwrap();
        embed_all(&store, &model).unwrap();
        assert_eq!(semantic_paths(&store, "five six", None)[0].0, "a.py");
        semantic_paths(&store, "five six", None);
        let (rebuilt, _) = cached(&store);
        assert_eq!(rebuilt.len(), 2, "{rebuilt:?}");
        assert!(!rebuilt.contains(&first[0]));
    }
}
