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
