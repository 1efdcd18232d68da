//! The lexical engine: chunk text in a tantivy index, ranked by BM25, answered top-k with
//! block-max WAND, so a query skips most of the chunks that hold its terms instead of scoring
//! every one (FTS5 did, and its search time grew with the corpus: issue 16).
//!
//! One document per chunk: its id, file, repository and language, and one text field made of
//! the chunk's defined names, body and path. The names count 6 times (repeating a column
//! multiplies its term frequencies inside BM25's saturation, as FTS5's column weights did,
//! which per-field boosts would not). Repetition also lengthens the document, which FTS5's
//! weights did not: its weights (names 8, path 2) ranked worse here (retrieval evaluation,
//! lexical MRR@10, 150 files / 100 queries: 8/2 0.419, 4/1 0.425, 2/1 0.412; 300 files / 200
//! queries: 4/1 0.390, 6/1 0.394, FTS5 0.399). Terms are
//! words split at `_`, punctuation and case humps (see [`crate::text`]), lowercased, folded to
//! ASCII and stemmed (English), the same for queries.
//!
//! This module knows nothing of where chunks come from: a backend decides what to add and
//! delete and when to commit (the SQLite backend keeps a log of changed files beside its
//! rows; see `sqlite::lexical`). Ties matter here: copies of a file score the same, and which
//! copies make the cut must not depend on the order tantivy keeps documents in, so the top-k
//! keeps every document as good as the last one it returns.

mod stem;

use crate::text;
use std::collections::HashSet;
use std::path::Path;
use std::sync::Mutex;
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::directory::MmapDirectory;
use tantivy::index::SegmentId;
use tantivy::indexer::{LogMergePolicy, MergeCandidate, MergePolicy};
use tantivy::query::{
    BooleanQuery, BoostQuery, ConstScoreQuery, EnableScoring, Occur, Query, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STRING,
};
use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, TextAnalyzer,
};
use tantivy::{
    DocId, Index, IndexReader, IndexWriter, Opstamp, ReloadPolicy, Score, Searcher, SegmentMeta,
    SegmentReader, TantivyDocument, TantivyError, Term,
};

/// Errors of the engine, tantivy's own.
pub type Error = TantivyError;
type Result<T> = std::result::Result<T, Error>;

const TOKENIZER: &str = "code";
/// Longer words are not indexed: base64 and hex blobs of minified and generated files, which
/// nobody searches word by word and which would only grow the term dictionary.
pub(crate) const MAX_TERM_BYTES: usize = 100;
/// How often a chunk's names and path count against its body (see the module's notes).
const SYMBOL_WEIGHT: usize = 6;
const PATH_WEIGHT: usize = 1;
/// Memory the writer buffers before it writes a segment (one indexing thread: the chunker
/// already keeps the cores busy).
const WRITER_BUDGET_BYTES: usize = 48 << 20;
/// Live documents a merge may produce at most. A merge reads its segments through memory
/// maps, which count in the process's RSS: unbounded, the last merges of a first index read
/// nearly the whole index (peak RSS 320 MB on the 8-copy corpus, and growing with it).
const MAX_MERGED_DOCS: u32 = 500_000;
/// Documents tied with the last one of a top-k kept at most, to settle the cut by place.
pub const MAX_TIES: usize = 100_000;

#[derive(Clone, Copy)]
struct Fields {
    chunk: Field,
    file: Field,
    repo: Field,
    language: Field,
    text: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let indexed = NumericOptions::default().set_indexed().set_fast();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        chunk: b.add_u64_field("chunk", NumericOptions::default().set_fast()),
        file: b.add_u64_field("file", indexed.clone()),
        repo: b.add_u64_field("repo", NumericOptions::default().set_indexed()),
        language: b.add_text_field("language", STRING),
        text: b.add_text_field("text", text),
    };
    (b.build(), fields)
}

fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(MAX_TERM_BYTES))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(stem::CachedStemmer)
        .build()
}

/// One chunk as the engine indexes it.
#[derive(Debug, Clone, Copy)]
pub struct LexicalDoc<'a> {
    pub chunk_id: i64,
    pub file_id: i64,
    pub repo_id: i64,
    pub language: &'a str,
    /// The names the chunk defines, space-separated.
    pub symbols: &'a str,
    pub content: &'a str,
    pub path: &'a str,
}

impl LexicalDoc<'_> {
    /// The text field: names, body and path, each with the humps of its mixed-case words
    /// (`parseConfig` is found by `parse`), weighted by repetition.
    fn text(&self) -> String {
        let symbols = format!("{} {}\n", self.symbols, text::hump_terms(self.symbols));
        let path = format!("{} {}\n", self.path, text::hump_terms(self.path));
        let mut out = String::with_capacity(
            symbols.len() * SYMBOL_WEIGHT + self.content.len() * 2 + path.len() * PATH_WEIGHT,
        );
        for _ in 0..SYMBOL_WEIGHT {
            out.push_str(&symbols);
        }
        out.push_str(self.content);
        out.push('\n');
        out.push_str(&text::hump_terms(self.content));
        out.push('\n');
        for _ in 0..PATH_WEIGHT {
            out.push_str(&path);
        }
        out
    }
}

/// A chunk's terms with their frequencies, and its length in terms: the document this engine
/// indexes, for a backend that keeps its own postings (PostgreSQL).
pub fn doc_terms(doc: &LexicalDoc) -> (Vec<(String, i64)>, i64) {
    let mut analyzer = analyzer();
    let text = doc.text();
    let mut stream = analyzer.token_stream(&text);
    let mut counts: rustc_hash::FxHashMap<String, i64> = Default::default();
    let mut length = 0;
    while let Some(token) = stream.next() {
        length += 1;
        *counts.entry(token.text.clone()).or_default() += 1;
    }
    let mut terms: Vec<(String, i64)> = counts.into_iter().collect();
    terms.sort_unstable();
    (terms, length)
}

/// The distinct terms of query words, as [`doc_terms`] makes them.
pub fn query_terms(words: &[String]) -> Vec<String> {
    let mut analyzer = analyzer();
    let mut terms: Vec<String> = Vec::new();
    for word in words {
        let mut stream = analyzer.token_stream(word);
        while let Some(token) = stream.next() {
            if !terms.contains(&token.text) {
                terms.push(token.text.clone());
            }
        }
    }
    terms
}

/// Narrows a query to a repository, a language, a set of files.
#[derive(Debug, Default, Clone, Copy)]
pub struct Restriction<'a> {
    pub repo_id: Option<i64>,
    pub language: Option<&'a str>,
    /// Only these files (a path filter, resolved by the backend).
    pub files: Option<&'a HashSet<i64>>,
    /// Chunks already answered (by an earlier pass of the same search).
    pub skip: Option<&'a HashSet<i64>>,
}

/// A tantivy index in a folder of its own.
pub struct LexicalIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// The opstamp of the commit the reader shows.
    shown: Mutex<Opstamp>,
}

impl std::fmt::Debug for LexicalIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LexicalIndex").finish_non_exhaustive()
    }
}

impl LexicalIndex {
    /// Opens the index in `dir`, creating the folder and an empty index when there is none.
    pub fn open(dir: &Path) -> Result<LexicalIndex> {
        std::fs::create_dir_all(dir)?;
        let (schema, _) = schema();
        let index = Index::open_or_create(MmapDirectory::open(dir)?, schema)?;
        Self::with_index(index)
    }

    /// Opens an existing index; `None` when `dir` holds none.
    pub fn open_existing(dir: &Path) -> Result<Option<LexicalIndex>> {
        if !dir.join("meta.json").exists() {
            return Ok(None);
        }
        Self::with_index(Index::open_in_dir(dir)?).map(Some)
    }

    fn with_index(index: Index) -> Result<LexicalIndex> {
        let (expected, _) = schema();
        if index.schema() != expected {
            return Err(TantivyError::SchemaError(
                "the lexical index was written with another schema".into(),
            ));
        }
        let fields = fields_of(&index.schema())?;
        index.tokenizers().register(TOKENIZER, analyzer());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let shown = index.load_metas()?.opstamp;
        Ok(LexicalIndex {
            index,
            reader,
            fields,
            shown: Mutex::new(shown),
        })
    }

    /// The payload of the last commit (what the backend wrote there: how far it got).
    pub fn committed_payload(&self) -> Result<Option<String>> {
        Ok(self.index.load_metas()?.payload)
    }

    /// The writer, when no one else (this process or another) holds it.
    pub fn try_writer(&self) -> Result<Option<LexicalWriter>> {
        match self
            .index
            .writer_with_num_threads::<TantivyDocument>(1, WRITER_BUDGET_BYTES)
        {
            Ok(writer) => Ok(Some(LexicalWriter {
                writer: {
                    writer.set_merge_policy(Box::new(CappedMerges::default()));
                    writer
                },
                fields: self.fields,
                pending: 0,
            })),
            Err(TantivyError::LockFailure(..)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A searcher over the last commit, whoever made it.
    pub fn searcher(&self) -> Result<LexicalSearcher> {
        let latest = self.index.load_metas()?.opstamp;
        let mut shown = self.shown.lock().unwrap_or_else(|e| e.into_inner());
        if *shown != latest {
            self.reader.reload()?;
            *shown = latest;
        }
        Ok(LexicalSearcher {
            searcher: self.reader.searcher(),
            fields: self.fields,
            analyzer: analyzer(),
        })
    }
}

fn fields_of(schema: &Schema) -> Result<Fields> {
    let f = |name: &str| schema.get_field(name);
    Ok(Fields {
        chunk: f("chunk")?,
        file: f("file")?,
        repo: f("repo")?,
        language: f("language")?,
        text: f("text")?,
    })
}

/// tantivy's log merge policy, with every merge cut to at most [`MAX_MERGED_DOCS`] live
/// documents: memory stays flat with the corpus, at the price of a segment per that many
/// chunks (each adds a few microseconds to a query). A candidate over the cap keeps its
/// smallest segments that fit, rather than being dropped: dropping left the log policy's
/// levels to fill up (twelve segments of 75k documents at 8 copies, each a set of file maps
/// a one-shot search pays for).
#[derive(Debug, Default)]
struct CappedMerges {
    inner: LogMergePolicy,
}

impl MergePolicy for CappedMerges {
    fn compute_merge_candidates(&self, segments: &[SegmentMeta]) -> Vec<MergeCandidate> {
        let live = |id: &SegmentId| {
            segments
                .iter()
                .find(|s| s.id() == *id)
                .map_or(0, SegmentMeta::num_docs)
        };
        self.inner
            .compute_merge_candidates(segments)
            .into_iter()
            .filter_map(|MergeCandidate(mut ids)| {
                ids.sort_by_key(|id| live(id));
                let mut total = 0u32;
                ids.retain(|id| {
                    total = total.saturating_add(live(id));
                    total <= MAX_MERGED_DOCS
                });
                (ids.len() >= 2).then_some(MergeCandidate(ids))
            })
            .collect()
    }
}

/// Adds and deletes; nothing is seen by searchers (or kept through a crash) before
/// [`LexicalWriter::commit`].
pub struct LexicalWriter {
    writer: IndexWriter,
    fields: Fields,
    pending: usize,
}

impl LexicalWriter {
    /// Deletes every chunk of the files `file_ids` (those added before this call) as one
    /// operation. tantivy keeps each deletion's query until the commit, and a term's carries
    /// a scoring cache of ~1 KB: one per file was 9 MB of a bulk index's heap (a heap profile
    /// at 8 copies); a set of terms costs a few bytes a file.
    pub fn delete_files(&mut self, file_ids: &[i64]) -> Result<()> {
        if file_ids.is_empty() {
            return Ok(());
        }
        let terms = file_ids
            .iter()
            .map(|&id| Term::from_field_u64(self.fields.file, id as u64));
        // `delete_query` is hidden in tantivy's docs but public: `delete_term` is built on it.
        self.writer
            .delete_query(Box::new(TermSetQuery::new(terms)))?;
        self.pending += 1;
        Ok(())
    }

    /// Deletes every document: the index starts over.
    pub fn delete_all(&mut self) -> Result<()> {
        self.writer.delete_all_documents()?;
        self.pending += 1;
        Ok(())
    }

    pub fn add(&mut self, doc: &LexicalDoc) -> Result<()> {
        let f = self.fields;
        let mut d = TantivyDocument::new();
        d.add_u64(f.chunk, doc.chunk_id as u64);
        d.add_u64(f.file, doc.file_id as u64);
        d.add_u64(f.repo, doc.repo_id as u64);
        d.add_text(f.language, doc.language);
        d.add_text(f.text, doc.text());
        self.writer.add_document(d)?;
        self.pending += 1;
        Ok(())
    }

    /// Adds and deletes since the last commit.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Makes everything added and deleted so far durable and visible, with `payload` stored
    /// in the same commit.
    pub fn commit(&mut self, payload: &str) -> Result<()> {
        let mut prepared = self.writer.prepare_commit()?;
        prepared.set_payload(payload);
        prepared.commit()?;
        self.pending = 0;
        Ok(())
    }

    /// Merges the smallest segments into one of at most [`MAX_MERGED_DOCS`] documents, waiting
    /// for it: the end of a bulk write leaves a tail of small segments (the merge policy lets
    /// up to seven of each size wait), and each costs a one-shot search its files' maps.
    /// Segments another merge already holds make it a no-op.
    pub fn merge_small_segments(&mut self) -> Result<()> {
        let mut metas = self.writer.index().searchable_segment_metas()?;
        metas.sort_by_key(SegmentMeta::num_docs);
        let (mut ids, mut total) = (Vec::new(), 0u32);
        for meta in metas {
            if total + meta.num_docs() > MAX_MERGED_DOCS {
                break;
            }
            total += meta.num_docs();
            ids.push(meta.id());
        }
        if ids.len() < 2 {
            return Ok(());
        }
        if let Err(e) = self.writer.merge(&ids).wait() {
            tracing::debug!(%e, "the small lexical segments were not merged");
        }
        Ok(())
    }

    /// Lets the merges started by the commits finish, then gives the writer up (dropping it
    /// would cancel them, and every small commit would leave one more segment behind).
    pub fn finish(self) -> Result<()> {
        self.writer.wait_merging_threads()
    }
}

/// One commit of the index, as searched.
pub struct LexicalSearcher {
    searcher: Searcher,
    fields: Fields,
    analyzer: TextAnalyzer,
}

impl LexicalSearcher {
    /// The distinct indexed terms of query words (stemmed; words that index as nothing left
    /// out).
    fn terms(&self, words: &[String]) -> Vec<Term> {
        let mut analyzer = self.analyzer.clone();
        let mut terms = Vec::new();
        for word in words {
            let mut stream = analyzer.token_stream(word);
            while let Some(token) = stream.next() {
                let term = Term::from_field_text(self.fields.text, &token.text);
                if !terms.contains(&term) {
                    terms.push(term);
                }
            }
        }
        terms
    }

    /// A term's query, its weight brought to the idf of Robertson/Sparck Jones that FTS5
    /// uses, `ln((N - n + 0.5) / (n + 0.5))`, near zero for a term in half the chunks or more.
    /// tantivy's `ln(1 + ...)` never falls below ln 2, so the common words of a sentence-like
    /// query (`return`, `value`, `self`) outweighed its rare ones: lexical MRR@10 of the
    /// retrieval evaluation 0.438 with FTS5, 0.413 before this boost.
    fn term_query(&self, term: Term) -> Result<Box<dyn Query>> {
        let docs: u64 = self
            .searcher
            .segment_readers()
            .iter()
            .map(|s| u64::from(s.max_doc()))
            .sum();
        let freq = self.searcher.doc_freq(&term)?.min(docs);
        let x = ((docs - freq) as f64 + 0.5) / (freq as f64 + 0.5);
        let wanted = x.ln().max(1e-6);
        let boost = (wanted / x.ln_1p()) as Score;
        let q = TermQuery::new(term, IndexRecordOption::WithFreqs);
        Ok(Box::new(BoostQuery::new(Box::new(q), boost)))
    }

    fn query(&self, terms: Vec<Term>, all: bool, within: &Restriction) -> Result<Box<dyn Query>> {
        let occur = if all { Occur::Must } else { Occur::Should };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len() + 2);
        for t in terms {
            clauses.push((occur, self.term_query(t)?));
        }
        let no_filter = within.repo_id.is_none() && within.language.is_none();
        if no_filter && clauses.len() == 1 {
            return Ok(clauses.remove(0).1);
        }
        // Filters match without scoring, so they leave BM25 as it is.
        let filter = |term: Term| -> (Occur, Box<dyn Query>) {
            let q = TermQuery::new(term, IndexRecordOption::Basic);
            (
                Occur::Must,
                Box::new(ConstScoreQuery::new(Box::new(q), 0.0)),
            )
        };
        if let Some(repo) = within.repo_id {
            clauses.push(filter(Term::from_field_u64(self.fields.repo, repo as u64)));
        }
        if let Some(language) = within.language {
            clauses.push(filter(Term::from_field_text(
                self.fields.language,
                language,
            )));
        }
        if !all && !no_filter {
            // Must clauses beside should ones make the should ones optional: at least one
            // term still has to match.
            let (terms, filters): (Vec<_>, Vec<_>) =
                clauses.into_iter().partition(|(o, _)| *o == Occur::Should);
            let mut outer: Vec<(Occur, Box<dyn Query>)> = filters;
            outer.push((Occur::Must, Box::new(BooleanQuery::new(terms))));
            return Ok(Box::new(BooleanQuery::new(outer)));
        }
        Ok(Box::new(BooleanQuery::new(clauses)))
    }

    /// The best chunks holding every word (`all`) or any, with their BM25 scores, best first:
    /// at least `want` when there are, and every chunk as good as the last (up to
    /// [`MAX_TIES`] of them).
    pub fn top(
        &self,
        words: &[String],
        all: bool,
        within: &Restriction,
        want: usize,
    ) -> Result<Vec<(i64, f32)>> {
        let terms = self.terms(words);
        if terms.is_empty() || want == 0 {
            return Ok(Vec::new());
        }
        let query = self.query(terms, all, within)?;
        let weight = query.weight(EnableScoring::enabled_from_searcher(&self.searcher))?;
        let mut best = TopWithTies::new(want);
        for segment in self.searcher.segment_readers() {
            let chunks = segment.fast_fields().u64(CHUNK_FIELD)?;
            let files = match within.files {
                Some(_) => Some(segment.fast_fields().u64(FILE_FIELD)?),
                None => None,
            };
            let alive = segment.alive_bitset();
            weight.for_each_pruning(best.threshold(), segment, &mut |doc, score| {
                if alive.is_some_and(|a| a.is_deleted(doc)) {
                    return best.threshold();
                }
                let Some(chunk) = chunks.first(doc) else {
                    return best.threshold();
                };
                if let (Some(only), Some(files)) = (within.files, &files) {
                    if !files.first(doc).is_some_and(|f| only.contains(&(f as i64))) {
                        return best.threshold();
                    }
                }
                if within.skip.is_some_and(|s| s.contains(&(chunk as i64))) {
                    return best.threshold();
                }
                best.offer(score, chunk as i64);
                best.threshold()
            })?;
        }
        Ok(best.finish())
    }

    /// Every chunk holding all of `words` (unordered).
    pub fn matching(&self, words: &[String], within: &Restriction) -> Result<Vec<i64>> {
        let terms = self.terms(words);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let query = self.query(terms, true, within)?;
        let mut ids = self.searcher.search(&query, &ChunkIds)?;
        if let Some(only) = within.files {
            ids.retain(|(_, file)| only.contains(file));
        }
        Ok(ids.into_iter().map(|(chunk, _)| chunk).collect())
    }

    /// Documents in this commit (deleted ones left out).
    #[cfg(test)]
    pub fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }
}

const CHUNK_FIELD: &str = "chunk";
const FILE_FIELD: &str = "file";

/// A score [`TopWithTies`] ranks by: tantivy's `f32`, or the `f64` of the PostgreSQL
/// backend's BM25.
pub(crate) trait RankScore: Copy + PartialOrd {
    const LOWEST: Self;
    fn total_cmp(&self, other: &Self) -> std::cmp::Ordering;
    fn next_down(self) -> Self;
}

impl RankScore for f32 {
    const LOWEST: Self = f32::MIN;
    fn total_cmp(&self, other: &Self) -> std::cmp::Ordering {
        f32::total_cmp(self, other)
    }
    fn next_down(self) -> Self {
        f32::next_down(self)
    }
}

impl RankScore for f64 {
    const LOWEST: Self = f64::MIN;
    fn total_cmp(&self, other: &Self) -> std::cmp::Ordering {
        f64::total_cmp(self, other)
    }
    fn next_down(self) -> Self {
        f64::next_down(self)
    }
}

/// The best scores seen, with every one tied with the `want`-th: a threshold just under the
/// `want`-th best lets the ties through block-max WAND, which only offers scores above it.
pub(crate) struct TopWithTies<S: RankScore = Score> {
    want: usize,
    hits: Vec<(S, i64)>,
    /// Rows kept by the last compaction: the next one waits until there are twice as many,
    /// so many ties do not make every offer a compaction.
    kept: usize,
    threshold: S,
}

impl<S: RankScore> TopWithTies<S> {
    pub(crate) fn new(want: usize) -> Self {
        TopWithTies {
            want,
            hits: Vec::new(),
            kept: want,
            threshold: S::LOWEST,
        }
    }

    fn threshold(&self) -> S {
        self.threshold
    }

    pub(crate) fn offer(&mut self, score: S, chunk: i64) {
        self.hits.push((score, chunk));
        if self.hits.len() >= 2 * self.kept + 64 {
            self.compact();
        }
    }

    /// Keeps the `want` best and those tied with the last of them (at most [`MAX_TIES`]
    /// more); raises the threshold to just under that last score.
    fn compact(&mut self) {
        if self.hits.len() <= self.want {
            return;
        }
        let nth = self.want - 1;
        self.hits
            .select_nth_unstable_by(nth, |a, b| b.0.total_cmp(&a.0));
        let cut = self.hits[nth].0;
        let better = self.hits.iter().filter(|h| h.0 > cut).count();
        let mut room = self.want - better + MAX_TIES;
        self.hits.retain(|h| {
            if h.0 > cut {
                return true;
            }
            let keep = h.0 == cut && room > 0;
            room -= usize::from(keep);
            keep
        });
        self.kept = self.hits.len();
        self.threshold = cut.next_down();
    }

    pub(crate) fn finish(mut self) -> Vec<(i64, S)> {
        self.compact();
        self.hits.sort_by(|a, b| b.0.total_cmp(&a.0));
        self.hits.into_iter().map(|(s, id)| (id, s)).collect()
    }
}

/// Collects (chunk, file) of every matching document.
struct ChunkIds;

impl Collector for ChunkIds {
    type Fruit = Vec<(i64, i64)>;
    type Child = ChunkIdsSegment;

    fn for_segment(&self, _: u32, segment: &SegmentReader) -> tantivy::Result<ChunkIdsSegment> {
        Ok(ChunkIdsSegment {
            chunks: segment.fast_fields().u64(CHUNK_FIELD)?,
            files: segment.fast_fields().u64(FILE_FIELD)?,
            ids: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<(i64, i64)>>) -> tantivy::Result<Vec<(i64, i64)>> {
        Ok(fruits.into_iter().flatten().collect())
    }
}

struct ChunkIdsSegment {
    chunks: tantivy::columnar::Column<u64>,
    files: tantivy::columnar::Column<u64>,
    ids: Vec<(i64, i64)>,
}

impl SegmentCollector for ChunkIdsSegment {
    type Fruit = Vec<(i64, i64)>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let (Some(chunk), Some(file)) = (self.chunks.first(doc), self.files.first(doc)) {
            self.ids.push((chunk as i64, file as i64));
        }
    }

    fn harvest(self) -> Vec<(i64, i64)> {
        self.ids
    }
}

#[cfg(test)]
mod tests;
