//! The floor of indexing: read and parse, with the index's own tree-sitter grammars on every
//! core, the files `codeintel index ROOT` would index, and do nothing else (no chunking, no
//! terms, no store). `bench/index.sh` reports the full index beside it.
//!
//! Usage: `cargo run --release -p codeintel-index --example parse_floor -- ROOT`; prints one
//! JSON line: files, bytes, files parsed, seconds.

use codeintel_index::{indexable_files, parse_only, SyncOptions};
use rayon::prelude::*;
use std::time::Instant;

fn main() -> std::process::ExitCode {
    let Some(root) = std::env::args_os().nth(1) else {
        eprintln!("usage: parse_floor ROOT");
        return std::process::ExitCode::from(2);
    };
    let root = match std::fs::canonicalize(&root) {
        Ok(root) => root,
        Err(e) => {
            eprintln!("{}: {e}", root.to_string_lossy());
            return std::process::ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let files = indexable_files(&root, &SyncOptions::default());
    // Small pieces, as the index's pipeline hands them out: one worker never holds a long run.
    let (bytes, parsed) = files
        .par_iter()
        .with_max_len(4)
        .map(|(path, kind)| {
            let Ok(bytes) = std::fs::read(path) else {
                return (0, 0);
            };
            let text = String::from_utf8_lossy(&bytes);
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (
                bytes.len() as u64,
                u64::from(parse_only(*kind, name, &text)),
            )
        })
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "{{\"files\": {}, \"bytes\": {bytes}, \"parsed\": {parsed}, \"seconds\": {:.3}}}",
        files.len(),
        started.elapsed().as_secs_f64()
    );
    std::process::ExitCode::SUCCESS
}
