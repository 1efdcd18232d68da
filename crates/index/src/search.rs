//! Search over the store: lexical (BM25 over identifier-aware terms, symbol names boosted),
//! exact substring and regular expression.
//!
//! A lexical query matches chunks holding any of its terms; those holding all of them come
//! first. Queries are reduced to alphanumeric terms before they reach FTS5, so no query text
//! can be FTS syntax (`"`, `*`, `NEAR`, `-`) or reach SQLite unescaped.

use crate::store::{IndexStore, Result, StoreError};
use crate::text;
use globset::GlobMatcher;
use rusqlite::{params_from_iter, types::Value, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::HashSet;

/// How a query is matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SearchMode {
    #[default]
    Lexical,
    Semantic,
    Hybrid,
    Exact,
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
    pub query: String,
    /// Repository name (or path).
    pub repository: Option<String>,
    pub language: Option<String>,
    /// Glob over the path relative to the repository root (`src/**/*.rs`).
    pub path_glob: Option<String>,
    pub limit: usize,
    pub mode: SearchMode,
}

/// One result, as the search contract names its fields.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SearchHit {
    pub repository: String,
    pub path: String,
    pub start_line: u32,
    pub end_line: u32,
    pub language: String,
    pub symbol: Option<String>,
    pub kind: Option<String>,
    pub score: f64,
    /// The matched lines with their numbers (`  42: text`).
    pub snippet: String,
    /// The best matching line.
    pub line: u32,
    /// The chunk's id in the store (to fuse rankings; not part of the output).
    #[serde(skip)]
    pub chunk_id: i64,
}

const MAX_REGEX_SIZE: usize = 1 << 20;
const SNIPPET_LINE_CHARS: usize = 200;

/// A row read back for a candidate chunk.
struct Row {
    repository: String,
    path: String,
    language: String,
    start_line: u32,
    end_line: u32,
    symbol: Option<String>,
    kind: Option<String>,
    content: String,
    file_id: i64,
    id: i64,
    rank: f64,
}

const ROW_COLUMNS: &str =
    "r.name, f.path, f.language, c.start_line, c.end_line, c.symbol, c.kind, c.content, c.file_id, c.id";

fn read_row(r: &rusqlite::Row, rank: f64) -> rusqlite::Result<Row> {
    Ok(Row {
        repository: r.get(0)?,
        path: r.get(1)?,
        language: r.get(2)?,
        start_line: r.get(3)?,
        end_line: r.get(4)?,
        symbol: r.get(5)?,
        kind: r.get(6)?,
        content: r.get(7)?,
        file_id: r.get(8)?,
        id: r.get(9)?,
        rank,
    })
}

/// Filters shared by every mode, as SQL over `r` (repositories) and `f` (files).
struct Filters {
    clause: String,
    values: Vec<Value>,
    glob: Option<GlobMatcher>,
}

impl Filters {
    fn new(req: &SearchRequest, repo_id: Option<i64>) -> Result<Self> {
        let mut clause = String::new();
        let mut values = Vec::new();
        if let Some(id) = repo_id {
            clause.push_str(" AND f.repo_id = ?");
            values.push(Value::Integer(id));
        }
        if let Some(lang) = &req.language {
            clause.push_str(" AND f.language = ?");
            values.push(Value::Text(lang.to_ascii_lowercase()));
        }
        let glob = match &req.path_glob {
            Some(pattern) => Some(
                globset::GlobBuilder::new(pattern)
                    .literal_separator(false)
                    .build()
                    .map_err(|e| {
                        StoreError::Invalid(format!("invalid path glob `{pattern}`: {}", e.kind()))
                    })?
                    .compile_matcher(),
            ),
            None => None,
        };
        Ok(Filters {
            clause,
            values,
            glob,
        })
    }

    fn path_ok(&self, path: &str) -> bool {
        self.glob.as_ref().is_none_or(|g| g.is_match(path))
    }
}

impl IndexStore {
    /// The id of the repository a filter names (name or path); an unknown one is an error.
    fn repository_filter(&self, repository: Option<&str>) -> Result<Option<i64>> {
        let Some(name) = repository else {
            return Ok(None);
        };
        match self.find_repository(name)? {
            Some(rec) => Ok(Some(rec.id)),
            None => Err(StoreError::Invalid(format!(
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
        embedder: Option<&dyn crate::embed::Embedder>,
    ) -> Result<Vec<SearchHit>> {
        let limit = req.limit.clamp(1, 1000);
        let repo_id = self.repository_filter(req.repository.as_deref())?;
        let filters = Filters::new(req, repo_id)?;
        self.with_reader(|conn| match req.mode {
            SearchMode::Lexical => lexical(conn, req, &filters, limit),
            SearchMode::Exact => {
                if req.query.is_empty() {
                    return Err(StoreError::Invalid("empty query".into()));
                }
                let query = req.query.clone();
                let prefilter = exact_prefilter(&query);
                scan(conn, &filters, prefilter.as_deref(), limit, |line| line.contains(query.as_str()))
            }
            SearchMode::Regex => {
                let re = regex::RegexBuilder::new(&req.query)
                    .size_limit(MAX_REGEX_SIZE)
                    .build()
                    .map_err(|e| StoreError::Invalid(format!("invalid regular expression: {}", one_line(&e.to_string()))))?;
                scan(conn, &filters, None, limit, |line| re.is_match(line))
            }
            SearchMode::Semantic | SearchMode::Hybrid => {
                let embedder = embedder.ok_or_else(|| {
                    StoreError::Invalid(
                        "semantic search needs an embedding model: install one (scripts/setup-model.sh) or use --mode lexical".into(),
                    )
                })?;
                let model = embedder.model_id();
                if !has_vectors(conn, model)? {
                    return Err(StoreError::Invalid(format!(
                        "no chunk has an embedding of model {model} yet: run `codeintel index` (or let the server embed in the background), or use --mode lexical"
                    )));
                }
                let query = embedder
                    .embed(&[req.query.as_str()])
                    .map_err(|e| StoreError::Invalid(format!("cannot embed the query: {e}")))?
                    .pop()
                    .unwrap_or_default();
                let terms = text::search_terms(&req.query);
                // Fuse the two top-`limit` lists: on the docstring eval (300 queries) fusing
                // deeper lists (3 * limit + 20) scored MRR@10 0.372, the top-10 lists 0.382.
                let fetch = limit;
                let nearest = semantic(conn, &filters, model, &query, &terms, fetch)?;
                if req.mode == SearchMode::Semantic {
                    return Ok(nearest.into_iter().take(limit).collect());
                }
                let lexical_hits = if terms.is_empty() {
                    Vec::new()
                } else {
                    lexical(conn, req, &filters, fetch)?
                };
                Ok(fuse(lexical_hits, nearest, limit))
            }
        })
    }

    /// The mode a search without one uses: hybrid where the embedder's vectors exist, else
    /// lexical.
    pub fn default_search_mode(&self, embedder: Option<&dyn crate::embed::Embedder>) -> SearchMode {
        match embedder {
            Some(e) if self.has_embeddings(e.model_id()).unwrap_or(false) => SearchMode::Hybrid,
            _ => SearchMode::Lexical,
        }
    }

    /// Whether any chunk has a vector of `model`.
    pub fn has_embeddings(&self, model: &str) -> Result<bool> {
        self.with_reader(|conn| has_vectors(conn, model))
    }
}

fn has_vectors(conn: &Connection, model: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM embeddings WHERE model = ?1)",
        [model],
        |r| r.get(0),
    )?)
}

/// Weights of the two rankings in hybrid search. Peers found keyword evidence worth more for
/// code, but with reciprocal-rank fusion a 0.7/0.3 split left semantic-only hits unable to
/// reach the top 10 behind any lexical hit (a semantic first is worth a lexical 81st); on the
/// docstring eval (bench/eval.sh, small run) equal weights scored MRR@10 0.504 against 0.457.
const LEXICAL_WEIGHT: f64 = 1.0;
const SEMANTIC_WEIGHT: f64 = 1.0;
/// The usual reciprocal-rank-fusion constant.
const RRF_K: f64 = 60.0;

/// Reciprocal-rank fusion of two rankings, at the chunk level.
fn fuse(lexical: Vec<SearchHit>, semantic: Vec<SearchHit>, limit: usize) -> Vec<SearchHit> {
    let mut fused: std::collections::HashMap<i64, (f64, SearchHit)> =
        std::collections::HashMap::new();
    for (weight, hits) in [(LEXICAL_WEIGHT, lexical), (SEMANTIC_WEIGHT, semantic)] {
        for (rank, hit) in hits.into_iter().enumerate() {
            let add = weight / (RRF_K + rank as f64 + 1.0);
            fused
                .entry(hit.chunk_id)
                .and_modify(|(score, _)| *score += add)
                .or_insert((add, hit));
        }
    }
    let mut out: Vec<(f64, SearchHit)> = fused.into_values().collect();
    out.sort_by(|a, b| {
        b.0.total_cmp(&a.0)
            .then_with(|| a.1.chunk_id.cmp(&b.1.chunk_id))
    });
    out.into_iter()
        .take(limit)
        .map(|(score, mut hit)| {
            hit.score = (score * 1e6).round() / 1e6;
            hit
        })
        .collect()
}

/// The `limit` chunks whose vectors are nearest the query's, by a scan of the stored vectors.
fn semantic(
    conn: &Connection,
    filters: &Filters,
    model: &str,
    query: &[f32],
    terms: &[String],
    limit: usize,
) -> Result<Vec<SearchHit>> {
    use std::cmp::Reverse;
    let sql = format!(
        "SELECT e.chunk_id, e.vector, f.path FROM embeddings e
         JOIN chunks c ON c.id = e.chunk_id
         JOIN files f ON f.id = c.file_id
         JOIN repositories r ON r.id = f.repo_id
         WHERE e.model = ?{}",
        filters.clause
    );
    let mut values = vec![Value::Text(model.to_string())];
    values.extend(filters.values.iter().cloned());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    // A min-heap of the best `limit` (similarity, id) pairs.
    let mut best: std::collections::BinaryHeap<Reverse<(OrderedF32, i64)>> =
        std::collections::BinaryHeap::new();
    while let Some(r) = rows.next()? {
        let path: String = r.get(2)?;
        if !filters.path_ok(&path) {
            continue;
        }
        let blob = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let score: f32 = blob
            .chunks_exact(4)
            .zip(query)
            .map(|(b, q)| f32::from_le_bytes([b[0], b[1], b[2], b[3]]) * q)
            .sum();
        best.push(Reverse((OrderedF32(score), r.get(0)?)));
        if best.len() > limit {
            best.pop();
        }
    }
    let mut ranked: Vec<(f32, i64)> = best.into_iter().map(|Reverse((s, id))| (s.0, id)).collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut hits = Vec::with_capacity(ranked.len());
    for (score, id) in ranked {
        let sql = format!(
            "SELECT {ROW_COLUMNS} FROM chunks c JOIN files f ON f.id = c.file_id
             JOIN repositories r ON r.id = f.repo_id WHERE c.id = ?1"
        );
        let row = conn
            .prepare_cached(&sql)?
            .query_row([id], |r| read_row(r, 0.0))
            .optional()?;
        if let Some(row) = row {
            let (line, snippet) = snippet_for_terms(&row.content, row.start_line, terms);
            hits.push(hit(conn, row, f64::from(score), line, snippet)?);
        }
    }
    Ok(hits)
}

/// An `f32` with a total order, for the heap.
#[derive(Debug, Clone, Copy, PartialEq)]
struct OrderedF32(f32);

impl Eq for OrderedF32 {}

impl PartialOrd for OrderedF32 {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedF32 {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

fn lexical(
    conn: &Connection,
    req: &SearchRequest,
    filters: &Filters,
    limit: usize,
) -> Result<Vec<SearchHit>> {
    let terms = text::search_terms(&req.query);
    if terms.is_empty() {
        return Err(StoreError::Invalid(
            "the query has no words to search for; use --mode exact or --mode regex for punctuation".into(),
        ));
    }
    let quoted: Vec<String> = terms.iter().map(|t| format!("\"{t}\"")).collect();
    let mut seen = HashSet::new();
    let all_terms = fts_candidates(conn, &quoted.join(" "), filters, limit, &mut seen)?;
    let mut hits = rank(conn, all_terms, &terms, limit)?;
    if hits.len() < limit && terms.len() > 1 {
        let any_term = fts_candidates(
            conn,
            &quoted.join(" OR "),
            filters,
            limit - hits.len(),
            &mut seen,
        )?;
        hits.extend(rank(conn, any_term, &terms, limit - hits.len())?);
    }
    Ok(hits)
}

/// Scores candidates (BM25, boosted when the chunk's symbol is the query or holds all its
/// terms) and keeps the best `limit`.
fn rank(
    conn: &Connection,
    rows: Vec<Row>,
    terms: &[String],
    limit: usize,
) -> Result<Vec<SearchHit>> {
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
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored
        .into_iter()
        .take(limit)
        .map(|(score, row)| {
            let (line, snippet) = snippet_for_terms(&row.content, row.start_line, terms);
            hit(conn, row, score, line, snippet)
        })
        .collect()
}

/// Matching chunks, best BM25 first, re-ranked within the group by the symbol boost.
fn fts_candidates(
    conn: &Connection,
    expr: &str,
    filters: &Filters,
    limit: usize,
    seen: &mut HashSet<i64>,
) -> Result<Vec<Row>> {
    // Fetch more than asked for, so the symbol boost can reorder within the candidates and the
    // path glob can drop some.
    let fetch = if filters.glob.is_some() {
        i64::MAX
    } else {
        (limit * 4 + 20) as i64
    };
    let sql = format!(
        "SELECT {ROW_COLUMNS}, c.id, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank
         FROM chunks_fts
         JOIN chunks c ON c.id = chunks_fts.rowid
         JOIN files f ON f.id = c.file_id
         JOIN repositories r ON r.id = f.repo_id
         WHERE chunks_fts MATCH ?{}
         ORDER BY rank LIMIT ?",
        filters.clause
    );
    let mut values = vec![Value::Text(expr.to_string())];
    values.extend(filters.values.iter().cloned());
    values.push(Value::Integer(fetch));
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(10)?;
        let rank: f64 = r.get(11)?;
        let row = read_row(r, rank)?;
        if !filters.path_ok(&row.path) || !seen.insert(id) {
            continue;
        }
        out.push(row);
        if out.len() >= limit * 4 + 20 {
            break;
        }
    }
    Ok(out)
}

/// FTS words that every chunk containing `literal` must hold: the words strictly inside it
/// (its first and last words may be cut off mid-word).
fn exact_prefilter(literal: &str) -> Option<String> {
    let words: Vec<&str> = text::words(literal).collect();
    let starts_mid = literal.chars().next().is_some_and(|c| c.is_alphanumeric());
    let ends_mid = literal.chars().last().is_some_and(|c| c.is_alphanumeric());
    let lo = usize::from(starts_mid);
    let hi = words.len().saturating_sub(usize::from(ends_mid));
    let inner: Vec<String> = words
        .get(lo..hi)?
        .iter()
        .map(|w| format!("\"{}\"", w.to_lowercase()))
        .collect();
    (!inner.is_empty()).then(|| inner.join(" "))
}

/// Line-by-line matching over chunks (narrowed by an FTS expression when one is known), in
/// repository and path order.
fn scan(
    conn: &Connection,
    filters: &Filters,
    fts: Option<&str>,
    limit: usize,
    matches: impl Fn(&str) -> bool,
) -> Result<Vec<SearchHit>> {
    let (from, mut values) = match fts {
        Some(expr) => (
            "chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid".to_string(),
            vec![Value::Text(expr.to_string())],
        ),
        None => ("chunks c".to_string(), Vec::new()),
    };
    let where_fts = if fts.is_some() {
        "chunks_fts MATCH ?"
    } else {
        "1"
    };
    let sql = format!(
        "SELECT {ROW_COLUMNS} FROM {from}
         JOIN files f ON f.id = c.file_id
         JOIN repositories r ON r.id = f.repo_id
         WHERE {where_fts}{}
         ORDER BY r.name, f.path, c.start_line",
        filters.clause
    );
    values.extend(filters.values.iter().cloned());
    let mut stmt = conn.prepare_cached(&sql)?;
    let mut rows = stmt.query(params_from_iter(values))?;
    let mut hits = Vec::new();
    while let Some(r) = rows.next()? {
        let row = read_row(r, 0.0)?;
        if !filters.path_ok(&row.path) {
            continue;
        }
        let matching: Vec<u32> = row
            .content
            .lines()
            .enumerate()
            .filter(|(_, l)| matches(l))
            .map(|(i, _)| row.start_line + i as u32)
            .collect();
        let Some(&first) = matching.first() else {
            continue;
        };
        let snippet = render_snippet(&row.content, row.start_line, first, &matching);
        hits.push(hit(conn, row, matching.len() as f64, first, snippet)?);
        if hits.len() >= limit {
            break;
        }
    }
    Ok(hits)
}

/// The innermost definition around `line` that starts inside the chunk: a hit on a method of a
/// small class (kept whole as one chunk) names the method, not the class.
fn innermost_symbol(conn: &Connection, row: &Row, line: u32) -> Result<Option<(String, String)>> {
    let mut stmt = conn.prepare_cached(
        "SELECT name, kind FROM symbols
         WHERE file_id = ?1 AND start_line <= ?2 AND end_line >= ?2 AND start_line >= ?3
         ORDER BY start_line DESC, end_line ASC LIMIT 1",
    )?;
    Ok(stmt
        .query_row(rusqlite::params![row.file_id, line, row.start_line], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

fn hit(
    conn: &Connection,
    mut row: Row,
    score: f64,
    line: u32,
    snippet: String,
) -> Result<SearchHit> {
    if let Some((name, kind)) = innermost_symbol(conn, &row, line)? {
        row.symbol = Some(name);
        row.kind = Some(kind);
    }
    Ok(SearchHit {
        repository: row.repository,
        path: row.path,
        start_line: row.start_line,
        end_line: row.end_line,
        language: row.language,
        symbol: row.symbol,
        kind: row.kind,
        score: (score * 1000.0).round() / 1000.0,
        snippet,
        line,
        chunk_id: row.id,
    })
}

/// The line holding the most query terms, with a little context.
fn snippet_for_terms(content: &str, start_line: u32, terms: &[String]) -> (u32, String) {
    let mut best = (0usize, 0usize);
    let mut matching = Vec::new();
    for (i, line) in content.lines().enumerate() {
        let lower = line.to_lowercase();
        let n = terms.iter().filter(|t| lower.contains(t.as_str())).count();
        if n > 0 {
            matching.push(start_line + i as u32);
        }
        if n > best.1 {
            best = (i, n);
        }
    }
    let line = start_line + best.0 as u32;
    (line, render_snippet(content, start_line, line, &matching))
}

/// `line` with one line before and two after, numbered; matching lines marked with `>`.
fn render_snippet(content: &str, start_line: u32, line: u32, matching: &[u32]) -> String {
    let first = line.saturating_sub(1).max(start_line);
    let last = line + 2;
    let mut out = String::new();
    for (i, text) in content.lines().enumerate() {
        let n = start_line + i as u32;
        if n < first {
            continue;
        }
        if n > last {
            break;
        }
        let marker = if matching.contains(&n) { '>' } else { ' ' };
        let text: String = text.chars().take(SNIPPET_LINE_CHARS).collect();
        out.push_str(&format!("{marker}{n:>5}: {text}\n"));
    }
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_prefilter_uses_only_whole_words() {
        assert_eq!(exact_prefilter("onfig.parse(x"), Some("\"parse\"".into()));
        assert_eq!(exact_prefilter("foo"), None);
        assert_eq!(exact_prefilter("->"), None);
        assert_eq!(exact_prefilter(" foo.bar "), Some("\"foo\" \"bar\"".into()));
    }

    #[test]
    fn snippets_are_numbered_and_marked() {
        let content = "a\nb parse\nc\nd\ne\n";
        let (line, snip) = snippet_for_terms(content, 10, &["parse".to_string()]);
        assert_eq!(line, 11);
        assert_eq!(snip, "    10: a\n>   11: b parse\n    12: c\n    13: d");
    }
}

/// A definition found by [`IndexStore::find_symbols`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SymbolHit {
    pub repository: String,
    pub path: String,
    pub name: String,
    pub kind: String,
    pub language: String,
    pub start_line: u32,
    pub end_line: u32,
}

impl IndexStore {
    /// Definitions named `name` (case-insensitive), then those whose name starts with it, then
    /// those containing it; optionally of one kind and in one repository.
    pub fn find_symbols(
        &self,
        name: &str,
        kind: Option<&str>,
        repository: Option<&str>,
        limit: usize,
    ) -> Result<Vec<SymbolHit>> {
        let name = name.trim();
        if name.is_empty() {
            return Err(StoreError::Invalid("empty symbol name".into()));
        }
        let repo_id = self.repository_filter(repository)?;
        let escaped = name
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        self.with_reader(|conn| {
            let mut stmt = conn.prepare_cached(
                "SELECT r.name, f.path, s.name, s.kind, f.language, s.start_line, s.end_line,
                        CASE WHEN s.name = ?1 COLLATE NOCASE THEN 0
                             WHEN s.name LIKE ?2 || '%' ESCAPE '\\' THEN 1 ELSE 2 END AS tier
                 FROM symbols s
                 JOIN files f ON f.id = s.file_id
                 JOIN repositories r ON r.id = f.repo_id
                 WHERE s.name LIKE '%' || ?2 || '%' ESCAPE '\\'
                   AND (?3 IS NULL OR s.kind = ?3)
                   AND (?4 IS NULL OR f.repo_id = ?4)
                 ORDER BY tier, length(s.name), r.name, f.path, s.start_line
                 LIMIT ?5",
            )?;
            let rows = stmt.query_map(
                rusqlite::params![name, escaped, kind, repo_id, limit.clamp(1, 1000) as i64],
                |r| {
                    Ok(SymbolHit {
                        repository: r.get(0)?,
                        path: r.get(1)?,
                        name: r.get(2)?,
                        kind: r.get(3)?,
                        language: r.get(4)?,
                        start_line: r.get(5)?,
                        end_line: r.get(6)?,
                    })
                },
            )?;
            Ok(rows.collect::<Result<Vec<_>, _>>()?)
        })
    }
}
