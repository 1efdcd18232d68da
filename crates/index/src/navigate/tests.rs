//! Navigation over real trees: files written to a temp dir, indexed by the real sync, asked
//! through the store's API.

use super::*;
use crate::{RepositorySync, SyncOptions};

pub(crate) struct Indexed {
    /// Holds the trees and the index.
    pub _dir: tempfile::TempDir,
    pub store: IndexStore,
}

/// Repositories (name, files) written under a temp dir and indexed.
pub(crate) fn index(repos: &[(&str, &[(&str, &str)])]) -> Indexed {
    let dir = tempfile::tempdir().unwrap();
    let store = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
    for (name, files) in repos {
        let root = dir.path().join(name);
        write(&root, files);
        sync(&store, &root, name);
    }
    Indexed { _dir: dir, store }
}

pub(crate) fn write(root: &Path, files: &[(&str, &str)]) {
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
}

pub(crate) fn sync(store: &IndexStore, root: &Path, name: &str) {
    RepositorySync::new(store, &SyncOptions::default())
        .run(root, Some(name), true)
        .unwrap();
}

type Site = (String, u32, &'static str, &'static str);

/// (path, line, kind, confidence) of every use of `name`, sorted.
fn uses(store: &IndexStore, name: &str) -> Vec<Site> {
    let q = DefinitionQuery {
        name,
        ..DefinitionQuery::default()
    };
    let mut found: Vec<Site> = store
        .find_references(&q, None, MAX_LIMIT)
        .unwrap()
        .references
        .into_iter()
        .map(|r| (r.path, r.line, r.kind, r.confidence.name()))
        .collect();
    found.sort();
    found
}

fn site(path: &str, line: u32, kind: &'static str, confidence: &'static str) -> Site {
    (path.to_string(), line, kind, confidence)
}

const PY_STORE: &str = "\
class Store:
    def save(self, item):
        self.validate(item)
        return item

    def validate(self, item):
        return True


class Cache:
    def save(self, item):
        return item


def make_store():
    return Store()
";

const PY_CLI: &str = "\
from app.store import Store, make_store as build
# Store().save() in a comment


def main():
    s = build()
    s.save(1)
    Store.save(s, 2)
    print(\"s.save(3) in a string\")
    return Store
";

#[test]
fn python_references_by_scope_and_imports() {
    let t = index(&[("py", &[("app/store.py", PY_STORE), ("app/cli.py", PY_CLI)])]);
    assert_eq!(
        uses(&t.store, "Store.save"),
        vec![
            site("app/cli.py", 7, "call", "name"),
            site("app/cli.py", 8, "call", "exact")
        ]
    );
    assert_eq!(
        uses(&t.store, "make_store"),
        vec![
            site("app/cli.py", 1, "import", "exact"),
            site("app/cli.py", 6, "call", "exact")
        ]
    );
    assert_eq!(
        uses(&t.store, "Store.validate"),
        vec![site("app/store.py", 3, "call", "exact")]
    );
    assert_eq!(
        uses(&t.store, "Store"),
        vec![
            site("app/cli.py", 1, "import", "exact"),
            site("app/cli.py", 8, "reference", "exact"),
            site("app/cli.py", 10, "reference", "exact"),
            site("app/store.py", 16, "call", "exact"),
        ]
    );
    // `Cache.save` is used by name only, never by the explicit `Store.save`.
    assert_eq!(
        uses(&t.store, "Cache.save"),
        vec![site("app/cli.py", 7, "call", "name")]
    );
}

#[test]
fn unknown_names_bad_ranges_and_lines_without_a_definition() {
    let t = index(&[("py", &[("app/store.py", PY_STORE), ("app/cli.py", PY_CLI)])]);
    let q = |name| DefinitionQuery {
        name,
        ..DefinitionQuery::default()
    };
    let none = t.store.find_references(&q("print"), None, 10).unwrap();
    assert!(
        none.references.is_empty() && none.note.is_some(),
        "{none:?}"
    );
    assert!(t.store.find_references(&q("Store"), None, 0).is_err());
    assert!(t.store.find_references(&q("Store"), None, 1001).is_err());
    assert!(t
        .store
        .call_graph(&q("Store"), Direction::Callers, 6, 10)
        .is_err());
    let at = DefinitionQuery {
        name: "save",
        repository: Some("py"),
        path: Some("app/store.py"),
        line: Some(14),
    };
    assert!(t.store.find_references(&at, None, 10).is_err());
    // The one at line 11 (Cache.save) is picked by its place.
    let at = DefinitionQuery {
        line: Some(11),
        ..at
    };
    let cache = t.store.find_references(&at, None, 10).unwrap();
    assert_eq!(cache.total, 1);
    assert_eq!(cache.references[0].symbol.as_deref(), Some("main"));
    assert_eq!(cache.references[0].snippet, "s.save(1)");
    // A cut list says how many there were.
    let cut = t.store.find_references(&q("Store"), None, 2).unwrap();
    assert_eq!((cut.references.len(), cut.total), (2, 4));
    assert!(cut.note.unwrap().contains("4 references"));
}

#[test]
fn call_graphs_go_both_ways_and_cut_cycles() {
    let src = "\
def a():
    b()


def b():
    c()
    a()


def c():
    len([])
";
    let t = index(&[("g", &[("m.py", src)])]);
    let q = DefinitionQuery {
        name: "b",
        ..DefinitionQuery::default()
    };
    let callees = t
        .store
        .call_graph(&q, Direction::Callees, 3, 100)
        .unwrap()
        .unwrap();
    let names: Vec<&str> = callees
        .root
        .calls
        .iter()
        .map(|n| n.symbol.as_str())
        .collect();
    assert_eq!(names, ["c", "a"], "len is defined nowhere: left out");
    let a = &callees.root.calls[1];
    assert_eq!(a.calls.len(), 1);
    assert!(a.calls[0].cycle && a.calls[0].symbol == "b" && a.calls[0].calls.is_empty());
    let callers = t
        .store
        .call_graph(&q, Direction::Callers, 1, 100)
        .unwrap()
        .unwrap();
    let names: Vec<(&str, &[u32])> = callers
        .root
        .calls
        .iter()
        .map(|n| (n.symbol.as_str(), n.sites.as_slice()))
        .collect();
    assert_eq!(names, [("a", &[2u32][..])]);
    assert_eq!(callers.root.calls[0].confidence, Some(Confidence::Exact));
}

#[test]
fn uses_resolve_into_the_repositories_a_manifest_names() {
    let t = index(&[
        (
            "core",
            &[
                ("pyproject.toml", "[project]\nname = \"acme-core\"\n"),
                ("acme_core/store.py", "def save(item):\n    return item\n"),
                ("package.json", r#"{"name": "@acme/core"}"#),
                (
                    "src/index.ts",
                    "export function render(x: number) {\n  return x;\n}\n",
                ),
            ],
        ),
        (
            "app",
            &[
                ("requirements.txt", "acme_core>=1\n"),
                (
                    "app/main.py",
                    "from acme_core.store import save\n\n\ndef run():\n    save(1)\n",
                ),
                (
                    "package.json",
                    r#"{"name": "app", "dependencies": {"@acme/core": "1"}}"#,
                ),
                (
                    "src/main.ts",
                    "import { render } from '@acme/core';\nrender(1);\n",
                ),
            ],
        ),
        // Uses the same names without depending on core: none of it is core's.
        (
            "other",
            &[("o/main.py", "from acme_core.store import save\n\nsave(2)\n")],
        ),
    ]);
    let repos = t.store.repositories().unwrap();
    let links = crate::RepositoryLinks::new(&repos, &t.store.dependencies().unwrap());
    let id = |name: &str| {
        repos
            .iter()
            .find(|r| r.record.name == name)
            .unwrap()
            .record
            .id
    };
    assert_eq!(links.depends_on(id("app")), ["core"]);
    assert_eq!(links.used_by(id("core")), ["app"]);
    assert!(links.depends_on(id("other")).is_empty());
    assert_eq!(
        uses(&t.store, "save"),
        vec![
            site("app/main.py", 1, "import", "exact"),
            site("app/main.py", 5, "call", "exact")
        ]
    );
    assert_eq!(
        uses(&t.store, "render"),
        vec![
            site("src/main.ts", 1, "import", "likely"),
            site("src/main.ts", 2, "call", "likely")
        ]
    );
}
