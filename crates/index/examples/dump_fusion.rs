// TEMPORARY experiment: dump lexical/semantic candidates with both signals. Not committed.
use codeintel_index::embed::{Embedder, LocalEmbedder};
use codeintel_index::{IndexStore, SearchMode, SearchRequest};
use std::collections::HashMap;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let db = &args[1];
    let model = LocalEmbedder::load(std::path::Path::new(&args[2])).unwrap();
    let queries: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&args[3]).unwrap()).unwrap();
    let depth: usize = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(100);
    let store = IndexStore::open_read_only(std::path::Path::new(db))
        .unwrap()
        .unwrap();
    let conn = rusqlite::Connection::open(db).unwrap();
    for q in queries.as_array().unwrap() {
        let text = q["query"].as_str().unwrap();
        let mut req = SearchRequest {
            query: text.into(),
            limit: depth,
            mode: SearchMode::Lexical,
            ..Default::default()
        };
        let lex = store.search(&req).unwrap_or_default();
        req.mode = SearchMode::Semantic;
        let sem = store.search_with(&req, Some(&model)).unwrap();
        let qv = model.embed(&[text]).unwrap().pop().unwrap();
        let mut cands: HashMap<i64, serde_json::Value> = HashMap::new();
        for (i, h) in lex.iter().enumerate() {
            cands.insert(h.chunk_id, serde_json::json!({"id": h.chunk_id, "repo": h.repository, "path": h.path, "start_line": h.start_line, "end_line": h.end_line, "lex": h.score, "lex_rank": i + 1, "symbol": h.symbol, "kind": h.kind}));
        }
        for (i, h) in sem.iter().enumerate() {
            let e = cands.entry(h.chunk_id).or_insert(serde_json::json!({"id": h.chunk_id, "repo": h.repository, "path": h.path, "start_line": h.start_line, "end_line": h.end_line, "symbol": h.symbol, "kind": h.kind}));
            e["sem_rank"] = serde_json::json!(i + 1);
        }
        for (id, e) in cands.iter_mut() {
            let mut stmt = conn.prepare_cached("SELECT v.vector FROM embeddings e JOIN vectors v ON v.id = e.id WHERE e.chunk_id = ?1").unwrap();
            let blobs: Vec<Vec<u8>> = stmt
                .query_map([id], |r| r.get(0))
                .unwrap()
                .flatten()
                .collect();
            let cos = blobs
                .iter()
                .map(|blob| {
                    let scale = f32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]);
                    blob[4..]
                        .iter()
                        .zip(&qv)
                        .map(|(b, q)| f32::from(*b as i8) * q)
                        .sum::<f32>()
                        * scale
                })
                .fold(-1.0f32, f32::max);
            e["cos"] = serde_json::json!(cos);
            let content: String = conn
                .query_row("SELECT content FROM chunks WHERE id = ?1", [id], |r| {
                    r.get(0)
                })
                .unwrap_or_default();
            e["bytes"] = serde_json::json!(content.len());
        }
        println!(
            "{}",
            serde_json::json!({"id": q["id"], "cands": cands.into_values().collect::<Vec<_>>()})
        );
    }
}
