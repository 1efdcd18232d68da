use super::*;

fn symbols(lang: Language, name: &str, src: &str) -> Vec<(String, &'static str)> {
    chunk_file(FileKind::Code(lang), name, src)
        .symbols
        .into_iter()
        .map(|s| (s.name, s.kind))
        .collect()
}

fn has(syms: &[(String, &'static str)], name: &str, kind: &str) -> bool {
    syms.iter().any(|(n, k)| n == name && *k == kind)
}

#[test]
fn symbols_in_every_language() {
    type Case<'a> = (Language, &'a str, &'a str, &'a [(&'a str, &'a str)]);
    let cases: &[Case] = &[
        (
            Language::Python,
            "a.py",
            "import os\n\n@cache\ndef load_config(path):\n    return path\n\nclass Store:\n    def get(self, k):\n        return k\n",
            &[("load_config", "function"), ("Store", "class"), ("get", "method")],
        ),
        (
            Language::JavaScript,
            "a.js",
            "export function parseArgs(a) { return a }\nconst helper = (x) => x * 2;\nclass Widget { render() { return 1 } }\n",
            &[("parseArgs", "function"), ("helper", "function"), ("Widget", "class"), ("render", "method")],
        ),
        (
            Language::TypeScript,
            "a.ts",
            "export interface Options { a: number }\ntype Id = string;\nenum Color { Red }\nexport class Service { run(): void {} }\nfunction cast(x: unknown) { return <number>x; }\n",
            &[("Options", "interface"), ("Id", "type"), ("Color", "enum"), ("Service", "class"), ("run", "method"), ("cast", "function")],
        ),
        (
            Language::TypeScript,
            "a.tsx",
            "export const App = () => <div>hi</div>;\n",
            &[("App", "function")],
        ),
        (
            Language::Java,
            "A.java",
            "package x;\npublic class Account {\n  public Account() {}\n  void deposit(int n) {}\n}\ninterface Ledger {}\n",
            &[("Account", "class"), ("deposit", "method"), ("Ledger", "interface")],
        ),
        (
            Language::Go,
            "a.go",
            "package main\n\ntype Server struct{ port int }\ntype Handler interface{ Serve() }\nfunc (s *Server) Start() error { return nil }\nfunc main() {}\n",
            &[("Server", "struct"), ("Handler", "interface"), ("Start", "method"), ("main", "function")],
        ),
        (
            Language::Rust,
            "a.rs",
            "pub struct Index { n: u32 }\nimpl Index { pub fn open() -> Self { Index { n: 0 } } }\ntrait Store { fn get(&self); }\nfn main() {}\nmacro_rules! m { () => {} }\n",
            &[("Index", "struct"), ("Index", "impl"), ("open", "method"), ("Store", "trait"), ("get", "method"), ("main", "function"), ("m", "macro")],
        ),
        (
            Language::Ruby,
            "a.rb",
            "module Billing\n  class Invoice\n    def total\n      1\n    end\n  end\nend\n",
            &[("Billing", "module"), ("Invoice", "class"), ("total", "method")],
        ),
        (
            Language::Php,
            "a.php",
            "<?php\nfunction render_page($x) { return $x; }\nclass Cart { public function addItem($i) {} }\n",
            &[("render_page", "function"), ("Cart", "class"), ("addItem", "method")],
        ),
        (
            Language::CSharp,
            "a.cs",
            "namespace Shop { public class Order { public Order() {} public void Ship() {} } interface IRepo {} }\n",
            &[("Order", "class"), ("Ship", "method"), ("IRepo", "interface")],
        ),
        (
            Language::Cpp,
            "a.cpp",
            "namespace net {\nclass Socket { public: void close(); };\nint Socket::send(int n) { return n; }\ntemplate <typename T> T max_of(T a, T b) { return a > b ? a : b; }\n}\n",
            &[("Socket", "class"), ("Socket::send", "function"), ("max_of", "function")],
        ),
        (
            Language::C,
            "a.c",
            "#include <stdio.h>\nstruct point { int x; };\nstatic int *make_buffer(int n) { return 0; }\nint main(void) { return 0; }\n",
            &[("point", "struct"), ("make_buffer", "function"), ("main", "function")],
        ),
    ];
    for (lang, file, src, want) in cases {
        let got = symbols(*lang, file, src);
        for (name, kind) in *want {
            assert!(
                has(&got, name, kind),
                "{lang}: missing {kind} {name} in {got:?}"
            );
        }
    }
}

/// A function body long enough to be a chunk of its own.
fn body(n: usize) -> String {
    (0..n)
        .map(|i| format!("    let value_{i} = compute_something_long({i});\n"))
        .collect()
}

#[test]
fn one_chunk_per_definition_with_leading_comments() {
    let src = format!(
        "use std::io;\n\n/// Opens the index.\n/// Twice.\nfn open() {{\n{}}}\n\n// plain\nfn close() {{\n{}}}\n",
        body(8),
        body(8)
    );
    let c = chunk_file(FileKind::Code(Language::Rust), "a.rs", &src);
    let chunks: Vec<_> = c
        .chunks
        .iter()
        .map(|c| (c.start_line, c.end_line, c.symbol.as_deref()))
        .collect();
    assert_eq!(
        chunks,
        [(1, 1, None), (3, 14, Some("open")), (16, 26, Some("close"))]
    );
    assert!(c.chunks[1].content.starts_with("/// Opens the index."));
}

#[test]
fn small_definitions_merge_but_keep_their_symbols() {
    let mut src = String::new();
    for i in 0..40 {
        src.push_str(&format!("/// Doc {i}.\npub type Alias{i} = u{i};\n"));
    }
    let c = chunk_file(FileKind::Code(Language::Rust), "a.rs", &src);
    assert!(c.chunks.len() <= 2, "{}", c.chunks.len());
    assert_eq!(c.symbols.len(), 40);
    let one = chunk_file(
        FileKind::Code(Language::Rust),
        "b.rs",
        "use x;\n/// Tiny.\nfn tiny() {}\n",
    );
    assert_eq!(one.chunks.len(), 1);
    assert_eq!(one.chunks[0].symbol.as_deref(), Some("tiny"));
}

#[test]
fn large_definitions_split_at_children_within_the_bound() {
    let mut src = String::from("class Big:\n");
    for i in 0..30 {
        src.push_str(&format!("    def method_{i}(self, value):\n"));
        for j in 0..8 {
            src.push_str(&format!(
                "        value = value + {j} * len(str(value)) + {i}\n"
            ));
        }
        src.push_str("        return value\n\n");
    }
    let c = chunk_file(FileKind::Code(Language::Python), "big.py", &src);
    assert!(c.chunks.len() >= 30, "{}", c.chunks.len());
    for chunk in &c.chunks {
        assert!(
            chunk.content.len() <= MAX_CHUNK_BYTES,
            "{}",
            chunk.content.len()
        );
    }
    assert!(c
        .chunks
        .iter()
        .any(|ch| ch.symbol.as_deref() == Some("method_17")));
    // Chunks cover the methods in order and never overlap.
    for pair in c.chunks.windows(2) {
        assert!(
            pair[0].end_line < pair[1].start_line,
            "{:?}",
            (pair[0].end_line, pair[1].start_line)
        );
    }
}

#[test]
fn small_neighbours_merge() {
    let mut src = String::new();
    for i in 0..30 {
        src.push_str(&format!("import mod{i}\n"));
    }
    let c = chunk_file(FileKind::Code(Language::Python), "a.py", &src);
    assert_eq!(c.chunks.len(), 1);
    assert_eq!((c.chunks[0].start_line, c.chunks[0].end_line), (1, 30));
}

#[test]
fn text_is_cut_in_line_windows() {
    let src: String = (1..=100).map(|i| format!("line {i}\n")).collect();
    let c = chunk_file(FileKind::Text("markdown"), "README.md", &src);
    let spans: Vec<_> = c
        .chunks
        .iter()
        .map(|c| (c.start_line, c.end_line))
        .collect();
    assert_eq!(spans, [(1, 40), (41, 80), (81, 100)]);
    assert!(c.symbols.is_empty());
}

#[test]
fn broken_code_still_chunks() {
    let c = chunk_file(
        FileKind::Code(Language::Python),
        "a.py",
        "def ok():\n    pass\n\ndef broken(:\n  ???\n",
    );
    assert!(c.symbols.iter().any(|s| s.name == "ok"));
    assert!(!c.chunks.is_empty());
    let c = chunk_file(FileKind::Code(Language::Rust), "a.rs", "");
    assert!(c.chunks.is_empty());
}

fn looks_minified(text: &str) -> bool {
    LineIndex::new(text).minified(text)
}

/// A minified bundle: one line of many small functions.
fn minified_js(bytes: usize) -> String {
    let mut s = String::new();
    let mut i = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            "function f{i}(a){{return a*{i}+g(a)}};var v{i}=f{i}(1);"
        ));
        i += 1;
    }
    s
}

#[test]
fn minified_files_are_text_windows_that_cover_every_byte() {
    let src = minified_js(300_000);
    assert!(looks_minified(&src));
    let out = chunk_file(FileKind::Code(Language::JavaScript), "app.min.js", &src);
    assert!(out.symbols.is_empty(), "a minified file is not parsed");
    assert!(out
        .chunks
        .iter()
        .all(|c| c.content.len() <= MAX_CHUNK_BYTES));
    assert!(out
        .chunks
        .iter()
        .all(|c| c.start_line == 1 && c.end_line == 1));
    let joined: String = out.chunks.iter().map(|c| c.content.as_str()).collect();
    assert_eq!(
        joined, src,
        "the pieces are the line, in order, nothing lost"
    );
    // Pieces end after punctuation, not inside identifiers.
    let first = &out.chunks[0].content;
    assert!(
        !first.ends_with(|c: char| c.is_ascii_alphanumeric()),
        "{first}"
    );
}

#[test]
fn a_long_line_in_an_ordinary_file_is_cut_into_pieces() {
    let table = format!("TABLE = [{}]\n", "12345, ".repeat(2000));
    let src = format!(
        "def load(path):\n    return open(path).read()\n\n{table}{}",
        "x = 1\n".repeat(400)
    );
    assert!(!looks_minified(&src));
    let out = chunk_file(FileKind::Code(Language::Python), "gen.py", &src);
    assert!(out
        .chunks
        .iter()
        .all(|c| c.content.len() <= MAX_CHUNK_BYTES + 8));
    assert!(has(
        &symbols(Language::Python, "gen.py", &src),
        "load",
        "function"
    ));
    let on_table: Vec<_> = out.chunks.iter().filter(|c| c.start_line == 4).collect();
    assert!(on_table.len() >= 5, "{} pieces", on_table.len());
}

#[test]
fn multibyte_long_lines_are_cut_on_character_boundaries() {
    let src = "é".repeat(10_000);
    let out = chunk_file(FileKind::Text("text"), "a.txt", &src);
    assert!(out.chunks.len() >= 8);
    let joined: String = out.chunks.iter().map(|c| c.content.as_str()).collect();
    assert_eq!(joined, src);
}
