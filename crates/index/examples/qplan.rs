// TEMPORARY experiment. Not committed.
fn main() {
    let c = rusqlite::Connection::open_with_flags(
        std::env::args().nth(1).unwrap(),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .unwrap();
    let variants = [
        ("with content", "SELECT r.name, f.path, c.id, c.content, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id JOIN repositories r ON r.id = f.repo_id WHERE chunks_fts MATCH ?1 ORDER BY rank, r.name, f.path, c.start_line LIMIT 60"),
        ("no content", "SELECT r.name, f.path, c.id, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id JOIN repositories r ON r.id = f.repo_id WHERE chunks_fts MATCH ?1 ORDER BY rank, r.name, f.path, c.start_line LIMIT 60"),
        ("fts only", "SELECT rowid, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT 60"),
        ("fts nolimit", "SELECT rowid, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank"),
        ("fts bigLimit", "SELECT rowid, bm25(chunks_fts, 8.0, 1.0, 2.0) AS rank FROM chunks_fts WHERE chunks_fts MATCH ?1 ORDER BY rank LIMIT 100000"),
        ("count", "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1"),
    ];
    for (name, sql) in variants {
        for q in [
            "\"http\" \"request\" \"header\"",
            "\"parse\" \"config\"",
            "\"error\" \"handling\"",
            "\"unit\" \"test\"",
        ] {
            let t = std::time::Instant::now();
            let mut n = 0;
            for _ in 0..5 {
                let mut st = c.prepare(sql).unwrap();
                n = st
                    .query_map([q], |r| r.get::<_, i64>(0).or(Ok(0)))
                    .unwrap()
                    .count();
            }
            let cnt: i64 = c
                .query_row(
                    "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ?1",
                    [q],
                    |r| r.get(0),
                )
                .unwrap();
            println!(
                "{:<13} {:<32} n={} matches={} {:.2} ms",
                name,
                q,
                n,
                cnt,
                t.elapsed().as_secs_f64() * 200.0
            );
        }
    }
}
