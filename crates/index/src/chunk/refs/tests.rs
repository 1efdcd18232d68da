use super::*;
use crate::chunk::chunk_file;
use crate::lang::FileKind;
use codeintel_discovery::Language;

/// (name, kind, line, qualifier) of every reference in `src`.
fn refs(lang: Language, file: &str, src: &str) -> Vec<(String, &'static str, u32, String)> {
    chunk_file(FileKind::Code(lang), file, src)
        .references
        .into_iter()
        .map(|r| {
            (
                r.name,
                r.kind.name(),
                r.line,
                r.qualifier.unwrap_or_default(),
            )
        })
        .collect()
}

fn has(
    found: &[(String, &str, u32, String)],
    name: &str,
    kind: &str,
    line: u32,
    qual: &str,
) -> bool {
    found
        .iter()
        .any(|(n, k, l, q)| n == name && *k == kind && *l == line && q == qual)
}

fn names<'a>(found: &'a [(String, &str, u32, String)]) -> Vec<&'a str> {
    found.iter().map(|f| f.0.as_str()).collect()
}

/// Panics unless tree-sitter's query cursor, fed to the same collector, finds `refs`.
pub(super) fn same_as_tree_sitter(root: Node, query: &RefQuery, text: &str, refs: &[Reference]) {
    use tree_sitter::{QueryCursor, StreamingIterator};
    let roles: Vec<Role> = query
        .oracle
        .capture_names()
        .iter()
        .map(|n| Role::of(n))
        .collect();
    let mut found = Collector::new(text.as_bytes());
    let mut cursor = QueryCursor::new();
    let mut matches = cursor.matches(&query.oracle, root, text.as_bytes());
    while let Some(m) = matches.next() {
        found.add(&roles, m.captures.iter().map(|c| (c.index, c.node)));
    }
    let want = found.finish();
    if want != refs {
        let only = |a: &[Reference], b: &[Reference]| -> Vec<String> {
            a.iter()
                .filter(|r| !b.contains(r))
                .map(|r| format!("{r:?}"))
                .collect()
        };
        panic!(
            "the pattern walk and tree-sitter disagree\nonly tree-sitter: {:#?}\nonly the walk: {:#?}",
            only(&want, refs),
            only(refs, &want)
        );
    }
}

/// Real code through both matchers (every other extraction in the tests is checked too).
#[test]
fn the_pattern_walk_finds_what_tree_sitter_finds_in_real_rust() {
    for (name, src) in [
        ("refs.rs", include_str!("../refs.rs")),
        ("pattern.rs", include_str!("pattern.rs")),
        ("mod.rs", include_str!("../../navigate/mod.rs")),
        ("resolve.rs", include_str!("../../navigate/resolve.rs")),
    ] {
        assert!(!refs(Language::Rust, name, src).is_empty(), "{name}");
    }
}

#[test]
fn every_language_query_compiles() {
    use crate::chunk::grammar::{spec, GrammarKey};
    for lang in Language::ALL {
        for plain_ts in [false, true] {
            let key = GrammarKey { lang, plain_ts };
            let (language, _, _) = spec(key);
            let source = query_source(lang, !plain_ts);
            if let Err(e) = RefQuery::new(&language, &source) {
                panic!("{} (plain_ts {plain_ts}): {e}", lang.name());
            }
        }
    }
}

#[test]
fn python_calls_types_imports_and_values_but_not_comments_strings_or_locals() {
    let src = "\
from app.store import save as persist, load
import os.path
# save(x) in a comment
class Cache(Base):
    def get(self, key: Key) -> Item:
        value = self.fetch(key)
        persist(value)
        print(\"load(x) in a string\")
        return helper
";
    let found = refs(Language::Python, "a.py", src);
    assert!(has(&found, "save", "import", 1, ""), "{found:?}");
    assert!(has(&found, "load", "import", 1, ""), "{found:?}");
    assert!(has(&found, "path", "import", 2, ""), "{found:?}");
    assert!(has(&found, "Base", "type", 4, ""), "{found:?}");
    assert!(has(&found, "Key", "type", 5, ""), "{found:?}");
    assert!(has(&found, "Item", "type", 5, ""), "{found:?}");
    assert!(has(&found, "fetch", "call", 6, "self"), "{found:?}");
    assert!(has(&found, "persist", "call", 7, ""), "{found:?}");
    assert!(has(&found, "helper", "reference", 9, ""), "{found:?}");
    let n = names(&found);
    for absent in ["key", "value", "get", "Cache", "self"] {
        assert!(!n.contains(&absent), "{absent} in {found:?}");
    }
    // The call in the comment (line 3) and the one in the string (line 8) are not uses.
    assert_eq!(
        found.iter().filter(|f| f.0 == "save").count(),
        1,
        "{found:?}"
    );
    assert_eq!(
        found.iter().filter(|f| f.0 == "load").count(),
        1,
        "{found:?}"
    );
    let chunked = chunk_file(FileKind::Code(Language::Python), "a.py", src);
    let save = chunked
        .references
        .iter()
        .find(|r| r.name == "save")
        .unwrap();
    assert_eq!(save.module.as_deref(), Some("app.store"));
    assert_eq!(save.alias.as_deref(), Some("persist"));
}
