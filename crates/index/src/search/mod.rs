//! Search over the store: lexical (BM25 over identifier-aware terms, symbol names boosted),
//! exact substring and regular expression.
//!
//! A lexical query matches chunks holding any of its terms; those holding all of them come
//! first. Queries reach the backend only as alphanumeric terms (`text::search_terms`).
//! Ranking, ties, snippets and hybrid fusion are here, the same for every backend; the
//! candidates come from the store's [`Snapshot`].

mod prefilter;
mod snippet;
mod symbols;

pub use symbols::SymbolHit;

use crate::filters::Filters;
use crate::store::{ChunkRow as Row, IndexStore, Result, Snapshot, StoreError};
use crate::text;
use crate::vectors as semantic;
use prefilter::{exact_prefilter, regex_prefilter};
use serde::Serialize;
use snippet::{first_term_at, matching_lines, render_snippet, snippet_for_terms};
use std::collections::{HashMap, HashSet};

/// How a query is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    /// BM25 over identifier-aware terms.
    #[default]
    Lexical,
    /// By meaning: the nearest vectors.
    Semantic,
    /// Lexical and semantic candidates ranked together.
    Hybrid,
    /// A literal substring.
    Exact,
    /// A regular expression.
    Regex,
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "lexical" => SearchMode::Lexical,
            "semantic" => SearchMode::Semantic,
            "hybrid" => SearchMode::Hybrid,
            "exact" => SearchMode::Exact,
            "regex" => SearchMode::Regex,
            _ => {
                return Err(format!(
                    "unknown search mode `{s}` (lexical, semantic, hybrid, exact, regex)"
                ))
            }
        })
    }
}

/// A search, with its filters.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    /// Words, a literal or a pattern, as `mode` reads it.
    pub query: String,
    /// Repository name (or path).
    pub repository: Option<String>,
    /// A language name, extension or alias.
    pub language: Option<String>,
    /// Glob over the path relative to the repository root (`src/**/*.rs`).
    pub path_glob: Option<String>,
    /// Most hits to return.
    pub limit: usize,
    /// How the query is matched.
    pub mode: SearchMode,
}

/// One result, as the search contract names its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    /// The repository's name.
    pub repository: String,
    /// Relative to the repository root.
    pub path: String,
    /// The chunk's first line (1-based).
    pub start_line: u32,
    /// The chunk's last line.
    pub end_line: u32,
    /// The file's language.
    pub language: String,
    /// The innermost definition around `line`, if any.
    pub symbol: Option<String>,
    /// That definition's kind.
    pub kind: Option<String>,
    /// Higher is better; comparable within one search.
    pub score: f64,
    /// The matched lines with their numbers (`  42: text`).
    pub snippet: String,
    /// The best matching line.
    pub line: u32,
    /// The chunk's id in the store (to fuse rankings; not part of the output).
    #[serde(skip)]
    pub chunk_id: i64,
    /// Its file's id in the store (to name the innermost definition; not part of the output).
    #[serde(skip)]
    pub file_id: i64,
}

const MAX_REGEX_SIZE: usize = 1 << 20;

/// Rows in repository, path and line order: how ties are broken, so results never depend on
/// row ids (that is, on the order files were written).
fn by_place(a: &Row, b: &Row) -> std::cmp::Ordering {
    (&a.repository, &a.path, a.start_line).cmp(&(&b.repository, &b.path, b.start_line))
}

impl IndexStore {
    /// The id of the repository a filter names (name or path); an unknown one is an error.
    fn repository_filter(&self, repository: Option<&str>) -> Result<Option<i64>> {
        let Some(name) = repository else {
            return Ok(None);
        };
        match self.find_repository(name)? {
            Some(rec) => Ok(Some(rec.id)),
            None => Err(StoreError::NotFound(format!(
                "no indexed repository named `{name}`"
            ))),
        }
    }

    /// Runs a lexical, exact or regex search (semantic and hybrid need an embedder: see
    /// [`IndexStore::search_with`]).
    pub fn search(&self, req: &SearchRequest) -> Result<Vec<SearchHit>> {
        self.search_with(req, None)
    }

    /// Runs a search; `embedder` embeds the query for semantic and hybrid modes.
    pub fn search_with(
        &self,
        req: &SearchRequest,
        embedder: Option<&dyn codeintel_embed::Embedder>,
    ) -> Result<Vec<SearchHit>> {
        let limit = req.limit.clamp(1, 1000);
        let repo_id = self.repository_filter(req.repository.as_deref())?;
        let filters = Filters::new(repo_id, req.language.as_deref(), req.path_glob.as_deref())?;
        let snapshot = self.read()?;
        let conn = snapshot.as_ref();
        let mut hits = self.hits_of_mode(conn, req, &filters, limit, embedder)?;
        name_innermost(conn, &mut hits)?;
        Ok(hits)
    }

    /// The hits of the request's mode, each named by its chunk's definition so far.
    fn hits_of_mode(
        &self,
        conn: &dyn Snapshot,
        req: &SearchRequest,
        filters: &Filters,
        limit: usize,
        embedder: Option<&dyn codeintel_embed::Embedder>,
    ) -> Result<Vec<SearchHit>> {
        match req.mode {
            SearchMode::Lexical => lexical(conn, req, filters, limit),
            SearchMode::Exact => {
                if req.query.is_empty() {
                    return Err(StoreError::BadQuery("empty query".into()));
                }
                let query = req.query.clone();
                let prefilter = exact_prefilter(&query);
                scan(conn, filters, prefilter.as_deref(), limit, |line| {
                    line.find(query.as_str())
                })
            }
            SearchMode::Regex => {
                let re = regex::RegexBuilder::new(&req.query)
                    .size_limit(MAX_REGEX_SIZE)
                    .build()
                    .map_err(|e| {
                        StoreError::BadQuery(format!(
                            "invalid regular expression: {}",
                            one_line(&e.to_string())
                        ))
                    })?;
                let prefilter = regex_prefilter(&req.query);
                scan(conn, filters, prefilter.as_deref(), limit, |line| {
                    re.find(line).map(|m| m.start())
                })
            }
            SearchMode::Semantic | SearchMode::Hybrid => {
                let embedder = embedder.ok_or_else(|| {
                    StoreError::Unavailable(
                        "semantic search needs an embedding model, and none is configured or installed (`codeintel model install` fetches one); search in lexical mode meanwhile".into(),
                    )
                })?;
                let model = embedder.model_id();
                let Some(model_id) = conn.model_with_vectors(model)? else {
                    return Err(StoreError::Unavailable(format!(
                        "no chunk has an embedding of model {model} yet: run `codeintel index` (or let the server embed in the background), or search in lexical mode"
                    )));
                };
                // Queries get the model's query prompt (e5's `query: `, bge's instruction).
                let query = embedder
                    .embed_query(&req.query)
                    .map_err(StoreError::Embedder)?;
                let terms = text::search_terms(&req.query);
                let nearest =
                    semantic::nearest(conn, &self.vectors, filters, model_id, &query, limit)?;
                if req.mode == SearchMode::Semantic {
                    let scored = nearest.iter().map(|n| (n, f64::from(n.similarity)));
                    return nearest_hits(conn, scored, &terms);
                }
                let lexical_hits = if terms.is_empty() {
                    Vec::new()
                } else {
                    lexical(conn, req, filters, limit * 2 + 10)?
                };
                hybrid(conn, lexical_hits, nearest, model_id, &query, &terms, limit)
            }
        }
    }

    /// The mode a search without one uses: hybrid where the embedder's vectors exist, else
    /// lexical.
    pub fn default_search_mode(
        &self,
        embedder: Option<&dyn codeintel_embed::Embedder>,
    ) -> SearchMode {
        match embedder {
            Some(e) if self.has_embeddings(e.model_id()).unwrap_or(false) => SearchMode::Hybrid,
            _ => SearchMode::Lexical,
        }
    }

    /// Whether any chunk has a vector of `model`.
    pub fn has_embeddings(&self, model: &str) -> Result<bool> {
        Ok(self.read()?.model_with_vectors(model)?.is_some())
    }
}

/// Weight of the lexical score (BM25 with symbol boosts, divided by the best one) against the
/// cosine similarity in hybrid ranking. A score fusion rather than reciprocal-rank fusion,
/// because a rank forgets how far apart two candidates are: on the docstring eval
/// (bench/eval.sh, 300 queries, per-definition vectors) RRF of the two lists scored MRR@10
/// 0.418-0.427, 0.7 x cosine + 0.3 x lexical 0.446 (0.2: 0.443, 0.4: 0.434, 0.5: 0.423;
/// z-score normalisation or a symbol-name feature did no better). Tuned on that eval: a
/// different weight may suit other queries, which is why the value is written down here.
const LEXICAL_WEIGHT: f32 = 0.3;

/// Hybrid ranking of lexical and semantic candidates by a weighted sum of the normalised
/// lexical score and the cosine similarity. A lexical candidate's similarity is computed from
/// its vectors; a chunk with none yet (embedding runs behind the lexical index) gets the
/// median similarity of the others, so fresh code is neither buried nor favoured.
fn hybrid(
    conn: &dyn Snapshot,
    lexical: Vec<SearchHit>,
    nearest: Vec<semantic::Nearest>,
    model_id: i64,
    query: &[f32],
    terms: &[String],
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let best_lexical = lexical.iter().map(|h| h.score).fold(0.0, f64::max);
    let mut similarity: HashMap<i64, semantic::Nearest> =
        nearest.iter().map(|n| (n.chunk_id, *n)).collect();
    for hit in &lexical {
        if let std::collections::hash_map::Entry::Vacant(slot) = similarity.entry(hit.chunk_id) {
            if let Some(n) = semantic::chunk_similarity(conn, model_id, query, hit.chunk_id)? {
                slot.insert(n);
            }
        }
    }
    let mut known: Vec<f32> = similarity.values().map(|n| n.similarity).collect();
    known.sort_by(f32::total_cmp);
    let median = known.get(known.len() / 2).copied().unwrap_or(0.0);
    let fused = |chunk_id: i64, lexical_score: f64| -> f64 {
        let cosine = similarity.get(&chunk_id).map_or(median, |n| n.similarity);
        let lexical_part = if best_lexical > 0.0 {
            (lexical_score / best_lexical) as f32
        } else {
            0.0
        };
        f64::from((1.0 - LEXICAL_WEIGHT) * cosine + LEXICAL_WEIGHT * lexical_part)
    };
    enum Candidate {
        Lexical(SearchHit),
        Semantic(semantic::Nearest),
    }
    let mut seen = HashSet::new();
    let mut ranked: Vec<(f64, Candidate)> = Vec::new();
    for hit in lexical {
        seen.insert(hit.chunk_id);
        ranked.push((fused(hit.chunk_id, hit.score), Candidate::Lexical(hit)));
    }
    for n in nearest {
        if seen.insert(n.chunk_id) {
            ranked.push((fused(n.chunk_id, 0.0), Candidate::Semantic(n)));
        }
    }
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(limit);
    let mut out = Vec::with_capacity(ranked.len());
    for (score, candidate) in ranked {
        match candidate {
            Candidate::Lexical(mut hit) => {
                hit.score = round_score(score);
                out.push(hit);
            }
            Candidate::Semantic(n) => {
                out.extend(nearest_hits(conn, [(&n, score)].into_iter(), terms)?);
            }
        }
    }
    Ok(out)
}

fn round_score(score: f64) -> f64 {
    (score * 1000.0).round() / 1000.0
}

/// Hits for chunks found by their vectors, the snippet at the best unit's first line.
fn nearest_hits<'a>(
    conn: &dyn Snapshot,
    scored: impl Iterator<Item = (&'a semantic::Nearest, f64)>,
    terms: &[String],
) -> Result<Vec<SearchHit>> {
    let mut hits = Vec::new();
    for (n, score) in scored {
        let Some(row) = conn.chunk(n.chunk_id, 0.0)? else {
            continue;
        };
        let matching = matching_lines(&row.content, row.start_line, terms);
        let snippet = render_snippet(&row.content, row.start_line, n.line, &matching, |l| {
            first_term_at(l, terms)
        });
        hits.push(hit(row, score, n.line, snippet));
    }
    Ok(hits)
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn lexical(
    conn: &dyn Snapshot,
    req: &SearchRequest,
    filters: &Filters,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let terms = text::search_terms(&req.query);
    if terms.is_empty() {
        return Err(StoreError::BadQuery(
            "the query has no words to search for; search in exact or regex mode for punctuation"
                .into(),
        ));
    }
    let mut seen = HashSet::new();
    let all_terms = candidates(conn, &terms, true, filters, limit, &mut seen)?;
    let mut hits = rank(all_terms, &terms, limit)?;
    if hits.len() < limit && terms.len() > 1 {
        let any_term = candidates(conn, &terms, false, filters, limit - hits.len(), &mut seen)?;
        hits.extend(rank(any_term, &terms, limit - hits.len())?);
    }
    Ok(hits)
}

/// Scores candidates (BM25, boosted when the chunk's symbol is the query or holds all its
/// terms) and keeps the best `limit`.
fn rank(rows: Vec<Row>, terms: &[String], limit: usize) -> Result<Vec<SearchHit>> {
    let normalized_query: String = terms.concat();
    let mut scored: Vec<(f64, Row)> = rows
        .into_iter()
        .map(|row| {
            let mut score = -row.rank;
            if let Some(symbol) = &row.symbol {
                let sym = text::query_terms(symbol).concat();
                if sym == normalized_query {
                    score *= 2.0;
                } else if terms.iter().all(|t| sym.contains(t.as_str())) {
                    score *= 1.3;
                }
            }
            (score, row)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| by_place(&a.1, &b.1)));
    scored
        .into_iter()
        .take(limit)
        .map(|(score, row)| {
            let (line, snippet) = snippet_for_terms(&row.content, row.start_line, terms);
            Ok(hit(row, score, line, snippet))
        })
        .collect()
}

/// Matching chunks, best BM25 first (ties by place), at least `limit * 4 + 20` of them when
/// there are (more than asked for, so the symbol boost can reorder within the candidates)
/// plus any tied with the last one, so the cut never depends on row ids.
fn candidates(
    conn: &dyn Snapshot,
    terms: &[String],
    all: bool,
    filters: &Filters,
    limit: usize,
    seen: &mut HashSet<i64>,
) -> Result<Vec<Row>> {
    let want = limit * 4 + 20;
    let chosen = conn.lexical_candidates(terms, all, filters, want, seen)?;
    let mut out = conn.chunks(&chosen)?;
    out.sort_by(|a, b| a.rank.total_cmp(&b.rank).then_with(|| by_place(a, b)));
    out.truncate(want);
    seen.extend(out.iter().map(|row| row.id));
    Ok(out)
}

/// Line-by-line matching over chunks (narrowed to those holding `words` when known), in
/// repository and path order.
fn scan(
    conn: &dyn Snapshot,
    filters: &Filters,
    words: Option<&[String]>,
    limit: usize,
    matches: impl Fn(&str) -> Option<usize>,
) -> Result<Vec<SearchHit>> {
    let mut hits = Vec::new();
    conn.scan_chunks(filters, words, &mut |row| {
        let matching: Vec<u32> = row
            .content
            .lines()
            .enumerate()
            .filter(|(_, l)| matches(l).is_some())
            .map(|(i, _)| row.start_line + i as u32)
            .collect();
        let Some(&first) = matching.first() else {
            return Ok(true);
        };
        let snippet = render_snippet(&row.content, row.start_line, first, &matching, &matches);
        hits.push(hit(row, matching.len() as f64, first, snippet));
        Ok(hits.len() < limit)
    })?;
    Ok(hits)
}

/// Names each hit by the innermost definition around its line that starts inside the chunk:
/// a hit on a method of a small class (kept whole as one chunk) names the method, not the
/// class. One lookup for all the hits.
fn name_innermost(conn: &dyn Snapshot, hits: &mut [SearchHit]) -> Result<()> {
    let places: Vec<(i64, u32, u32)> = hits
        .iter()
        .map(|h| (h.file_id, h.line, h.start_line))
        .collect();
    for (hit, found) in hits.iter_mut().zip(conn.innermost_symbols(&places)?) {
        if let Some((name, kind)) = found {
            hit.symbol = Some(name);
            hit.kind = Some(kind);
        }
    }
    Ok(())
}

fn hit(row: Row, score: f64, line: u32, snippet: String) -> SearchHit {
    SearchHit {
        repository: row.repository,
        path: row.path,
        start_line: row.start_line,
        end_line: row.end_line,
        language: row.language,
        symbol: row.symbol,
        kind: row.kind,
        score: round_score(score),
        snippet,
        line,
        chunk_id: row.id,
        file_id: row.file_id,
    }
}

#[cfg(test)]
mod tests {
    use super::snippet::*;

    #[test]
    fn long_lines_are_shown_around_the_match() {
        let line = format!("{}needle{}", "a = 1; ".repeat(100), "b = 2; ".repeat(100));
        let (_, snip) = snippet_for_terms(&line, 1, &["needle".to_string()]);
        assert!(snip.contains("needle"), "{snip}");
        assert!(snip.contains('…'));
        assert!(snip.chars().count() < SNIPPET_LINE_CHARS + 20, "{snip}");
        assert_eq!(clip_line("short", Some(3)), "short");
    }

    #[test]
    fn snippets_are_numbered_and_marked() {
        let content = "a\nb parse\nc\nd\ne\n";
        let (line, snip) = snippet_for_terms(content, 10, &["parse".to_string()]);
        assert_eq!(line, 11);
        assert_eq!(snip, "    10: a\n>   11: b parse\n    12: c\n    13: d");
    }
}
