//! Prints the references the index finds in files, one line each: `path:line:col kind name
//! [qualifier] [from module] [as alias]`. For checking the reference queries by eye, and for
//! the navigation evaluation (`bench/refs-eval`), which reads `--json` (one object per line).
//!
//! Usage: `cargo run -p codeintel-index --example refs_dump -- [--json] FILE...`

use codeintel_index::{chunk_file, lang::file_kind};

fn main() -> std::process::ExitCode {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        if arg == "--json" {
            json = true;
            continue;
        }
        let name = arg.rsplit('/').next().unwrap_or(&arg);
        let (Some(kind), Ok(bytes)) = (file_kind(name), std::fs::read(&arg)) else {
            eprintln!("{arg}: not a file of a known language");
            return std::process::ExitCode::from(2);
        };
        let text = String::from_utf8_lossy(&bytes);
        for r in chunk_file(kind, name, &text).references {
            if json {
                let line = serde_json::json!({
                    "path": arg, "line": r.line, "column": r.column, "kind": r.kind.name(),
                    "name": r.name, "qualifier": r.qualifier, "module": r.module, "alias": r.alias,
                });
                println!("{line}");
                continue;
            }
            let mut line = format!("{arg}:{}:{} {} {}", r.line, r.column, r.kind.name(), r.name);
            if let Some(q) = r.qualifier {
                line.push_str(&format!(" [{q}]"));
            }
            if let Some(m) = r.module {
                line.push_str(&format!(" from {m}"));
            }
            if let Some(a) = r.alias {
                line.push_str(&format!(" as {a}"));
            }
            println!("{line}");
        }
    }
    std::process::ExitCode::SUCCESS
}
