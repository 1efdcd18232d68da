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

/// Per language: two classes with a `save` method, a function used under another name where
/// the language allows it, and mentions in a comment and a string that are not uses.
/// (path, line, kind, confidence)
type Expected = (&'static str, u32, &'static str, &'static str);

struct LanguageCase {
    files: &'static [(&'static str, &'static str)],
    /// (name asked, expected sites)
    asks: &'static [(&'static str, &'static [Expected])],
}

fn check_language(case: &LanguageCase) {
    let t = index(&[("repo", case.files)]);
    for (name, expected) in case.asks {
        let want: Vec<Site> = expected
            .iter()
            .map(|(p, l, k, c)| site(p, *l, k, c))
            .collect();
        assert_eq!(uses(&t.store, name), want, "uses of {name}");
    }
}

#[test]
fn typescript_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/store.ts",
                "export class Store {\n  save(x: number): number {\n    return this.check(x);\n  }\n  check(x: number): number {\n    return x;\n  }\n}\n\nexport class Cache {\n  save(x: number): number {\n    return x;\n  }\n}\n\nexport function makeStore(): Store {\n  return new Store();\n}\n",
            ),
            (
                "src/app.ts",
                "import { Store, makeStore as build } from './store';\n// build() in a comment\n\nexport function main(s: Store): void {\n  const t = build();\n  t.save(1);\n  console.log(\"build() in a string\");\n}\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("src/store.ts", 3, "call", "exact")]),
            ("Store.save", &[("src/app.ts", 6, "call", "name")]),
            ("makeStore", &[("src/app.ts", 1, "import", "exact"), ("src/app.ts", 5, "call", "exact")]),
            (
                "Store",
                &[
                    ("src/app.ts", 1, "import", "exact"),
                    ("src/app.ts", 4, "type", "exact"),
                    ("src/store.ts", 16, "type", "exact"),
                    ("src/store.ts", 17, "call", "exact"),
                ],
            ),
        ],
    });
}

#[test]
fn javascript_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "lib/store.js",
                "export class Store {\n  save(x) {\n    return this.check(x);\n  }\n  check(x) {\n    return x;\n  }\n}\nexport class Cache {\n  save(x) {\n    return x;\n  }\n}\nexport function makeStore() {\n  return new Store();\n}\n",
            ),
            (
                "lib/app.jsx",
                "import { makeStore as build } from './store.js';\n// build() in a comment\nexport function App() {\n  const s = build();\n  s.save(\"build() in a string\");\n  return <Panel store={s} />;\n}\nfunction Panel() {\n  return null;\n}\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("lib/store.js", 3, "call", "exact")]),
            ("makeStore", &[("lib/app.jsx", 1, "import", "exact"), ("lib/app.jsx", 4, "call", "exact")]),
            ("Store", &[("lib/store.js", 15, "call", "exact")]),
            ("Panel", &[("lib/app.jsx", 6, "call", "exact")]),
        ],
    });
}

#[test]
fn rust_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/store.rs",
                "pub struct Store;\n\nimpl Store {\n    pub fn save(&self, x: u32) -> u32 {\n        self.check(x)\n    }\n    fn check(&self, x: u32) -> u32 {\n        x\n    }\n}\n\npub struct Cache;\n\nimpl Cache {\n    pub fn save(&self, x: u32) -> u32 {\n        x\n    }\n}\n\npub fn make_store() -> Store {\n    Store\n}\n",
            ),
            (
                "src/main.rs",
                "use crate::store::{make_store as build, Store};\n// build() in a comment\n\nfn main() {\n    let s: Store = build();\n    s.save(1);\n    Store::save(&s, 2);\n    println!(\"build() in a string\");\n}\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("src/store.rs", 5, "call", "exact")]),
            ("Store::save", &[("src/main.rs", 6, "call", "name"), ("src/main.rs", 7, "call", "exact")]),
            ("Cache::save", &[("src/main.rs", 6, "call", "name")]),
            ("make_store", &[("src/main.rs", 1, "import", "exact"), ("src/main.rs", 5, "call", "exact")]),
        ],
    });
}

#[test]
fn go_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "store/store.go",
                "package store\n\ntype Store struct{}\n\nfunc (s *Store) Save(x int) int {\n\treturn s.check(x)\n}\n\nfunc (s *Store) check(x int) int {\n\treturn x\n}\n\nfunc MakeStore() *Store {\n\treturn &Store{}\n}\n",
            ),
            (
                "cmd/main.go",
                "package main\n\nimport st \"example.com/app/store\"\n\n// st.MakeStore() in a comment\nfunc main() {\n\ts := st.MakeStore()\n\ts.Save(1)\n\tprintln(\"st.MakeStore() in a string\")\n}\n",
            ),
        ],
        asks: &[
            ("MakeStore", &[("cmd/main.go", 7, "call", "exact")]),
            ("Store", &[("store/store.go", 5, "type", "exact"), ("store/store.go", 9, "type", "exact"), ("store/store.go", 13, "type", "exact"), ("store/store.go", 14, "call", "exact")]),
            ("Save", &[("cmd/main.go", 8, "call", "name")]),
        ],
    });
}

#[test]
fn java_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/main/java/app/store/Store.java",
                "package app.store;\n\npublic class Store {\n    public int save(int x) {\n        return check(x);\n    }\n    int check(int x) {\n        return x;\n    }\n    public static Store make() {\n        return new Store();\n    }\n}\n",
            ),
            (
                "src/main/java/app/store/Cache.java",
                "package app.store;\n\npublic class Cache {\n    public int save(int x) {\n        return x;\n    }\n}\n",
            ),
            (
                "src/main/java/app/Main.java",
                "package app;\n\nimport app.store.Store;\n\n// Store.make() in a comment\npublic class Main {\n    public static void main(String[] args) {\n        Store s = Store.make();\n        s.save(1);\n        System.out.println(\"Store.make() in a string\");\n    }\n}\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("src/main/java/app/store/Store.java", 5, "call", "exact")]),
            ("Store.make", &[("src/main/java/app/Main.java", 8, "call", "exact")]),
            ("Cache.save", &[("src/main/java/app/Main.java", 9, "call", "name")]),
        ],
    });
}

#[test]
fn csharp_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "Store/Store.cs",
                "namespace App.Store {\n    public class Store {\n        public int Save(int x) {\n            return Check(x);\n        }\n        int Check(int x) {\n            return x;\n        }\n        public static Store Make() {\n            return new Store();\n        }\n    }\n    public class Cache {\n        public int Save(int x) {\n            return x;\n        }\n    }\n}\n",
            ),
            (
                "Program.cs",
                "using App.Store;\n// Store.Make() in a comment\nclass Program {\n    static void Main() {\n        Store s = Store.Make();\n        s.Save(1);\n        System.Console.WriteLine(\"Store.Make() in a string\");\n    }\n}\n",
            ),
        ],
        asks: &[
            ("Store.Check", &[("Store/Store.cs", 4, "call", "exact")]),
            ("Store.Make", &[("Program.cs", 5, "call", "exact")]),
            ("Cache.Save", &[("Program.cs", 6, "call", "name")]),
            ("Store", &[("Program.cs", 5, "reference", "likely"), ("Program.cs", 5, "type", "likely"), ("Store/Store.cs", 9, "type", "exact"), ("Store/Store.cs", 10, "call", "exact")]),
        ],
    });
}

#[test]
fn php_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/Store.php",
                "<?php\nnamespace App;\n\nclass Store {\n    public function save($x) {\n        return $this->check($x);\n    }\n    private function check($x) {\n        return $x;\n    }\n}\n\nclass Cache {\n    public function save($x) {\n        return $x;\n    }\n}\n\nfunction make_store() {\n    return new Store();\n}\n",
            ),
            (
                "src/main.php",
                "<?php\nuse App\\Store as S;\n// make_store() in a comment\n$s = make_store();\n$s->save(1);\necho \"make_store() in a string\";\n$t = new S();\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("src/Store.php", 6, "call", "exact")]),
            ("make_store", &[("src/main.php", 4, "call", "likely")]),
            ("Cache.save", &[("src/main.php", 5, "call", "name")]),
        ],
    });
}

#[test]
fn ruby_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "lib/store.rb",
                "class Store\n  def save(x)\n    check(x)\n  end\n\n  def check(x)\n    x\n  end\nend\n\nclass Cache\n  def save(x)\n    x\n  end\nend\n\ndef make_store\n  Store.new\nend\n",
            ),
            (
                "bin/main.rb",
                "require_relative '../lib/store'\n# make_store in a comment\ns = make_store\ns.save(1)\nputs \"make_store in a string\"\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("lib/store.rb", 3, "call", "exact")]),
            ("make_store", &[("bin/main.rb", 3, "reference", "likely")]),
            ("Store", &[("lib/store.rb", 18, "call", "exact")]),
            ("Cache.save", &[("bin/main.rb", 4, "call", "name")]),
        ],
    });
}

#[test]
fn c_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/store.c",
                "#include \"store.h\"\n\nstatic int check(int x) {\n    return x;\n}\n\nint store_save(struct store *s, int x) {\n    return check(x);\n}\n",
            ),
            (
                "src/main.c",
                "#include \"store.h\"\n/* store_save(s, 1) in a comment */\nint main(void) {\n    struct store s;\n    store_save(&s, 1);\n    puts(\"store_save() in a string\");\n    return 0;\n}\n",
            ),
        ],
        asks: &[
            ("check", &[("src/store.c", 8, "call", "exact")]),
            ("store_save", &[("src/main.c", 5, "call", "likely")]),
        ],
    });
}

#[test]
fn cpp_references() {
    check_language(&LanguageCase {
        files: &[
            (
                "src/store.cpp",
                "class Store {\npublic:\n  int save(int x) {\n    return check(x);\n  }\n  int check(int x) {\n    return x;\n  }\n};\n\nclass Cache {\npublic:\n  int save(int x) { return x; }\n};\n\nStore* make_store() {\n  return new Store();\n}\n",
            ),
            (
                "src/main.cpp",
                "// make_store() in a comment\nint main() {\n  Store* s = make_store();\n  s->save(1);\n  const char* t = \"make_store() in a string\";\n  return 0;\n}\n",
            ),
        ],
        asks: &[
            ("Store.check", &[("src/store.cpp", 4, "call", "exact")]),
            ("make_store", &[("src/main.cpp", 3, "call", "likely")]),
            ("Cache.save", &[("src/main.cpp", 4, "call", "name")]),
            ("Store", &[("src/main.cpp", 3, "type", "likely"), ("src/store.cpp", 16, "type", "exact"), ("src/store.cpp", 17, "call", "exact")]),
        ],
    });
}

#[test]
fn constructors_nested_functions_and_aliases_keep_their_scopes() {
    let shapes = "\
class Shape:
    def __init__(self, n):
        self.n = n


def outer():
    def helper():
        return 1
    return helper()


def other():
    def helper():
        return 2
    return helper()
";
    let user = "\
from app.shapes import Shape
from app.render import render as render_markup


def f():
    s = Shape(1)
    render = s.n
    render()
    render_markup(2)
";
    let t = index(&[(
        "py",
        &[
            ("app/shapes.py", shapes),
            ("app/use.py", user),
            ("app/render.py", "def render(x):\n    return x\n"),
        ],
    )]);
    let at = |name, line| {
        let q = DefinitionQuery {
            name,
            repository: Some("py"),
            path: Some("app/shapes.py"),
            line: Some(line),
        };
        let mut got: Vec<Site> = t
            .store
            .find_references(&q, None, 100)
            .unwrap()
            .references
            .into_iter()
            .map(|r| (r.path, r.line, r.kind, r.confidence.name()))
            .collect();
        got.sort();
        got
    };
    // A constructor is used where its class is called.
    assert_eq!(
        at("__init__", 2),
        vec![site("app/use.py", 6, "call", "exact")]
    );
    // Each nested `helper` is used only inside its own function.
    assert_eq!(
        at("helper", 7),
        vec![site("app/shapes.py", 9, "call", "exact")]
    );
    assert_eq!(
        at("helper", 13),
        vec![site("app/shapes.py", 15, "call", "exact")]
    );
    // `render` imported as `render_markup`: the local `render` is not it.
    assert_eq!(
        uses(&t.store, "render"),
        vec![
            site("app/use.py", 2, "import", "exact"),
            site("app/use.py", 9, "call", "exact")
        ]
    );
}

#[test]
fn find_symbol_counts_are_the_totals_of_each_definition() {
    let t = index(&[("py", &[("app/store.py", PY_STORE), ("app/cli.py", PY_CLI)])]);
    let hits = t.store.find_symbols("save", None, None, 20).unwrap();
    let hits: Vec<_> = hits.into_iter().filter(|h| h.name == "save").collect();
    assert_eq!(hits.len(), 2);
    let counts = t.store.reference_counts(&hits).unwrap();
    for (h, n) in hits.iter().zip(&counts) {
        let q = DefinitionQuery {
            name: &h.name,
            repository: Some(&h.repository),
            path: Some(&h.path),
            line: Some(h.start_line),
        };
        assert_eq!(
            *n,
            t.store.find_references(&q, None, 100).unwrap().total,
            "{h:?}"
        );
    }
    // Store.save: `s.save(1)` (name) and `Store.save(s, 2)`; Cache.save: `s.save(1)`.
    assert_eq!(counts, [2, 1]);
}

#[test]
fn files_of_an_older_extraction_get_their_references_again_with_chunks_untouched() {
    let t = index(&[("py", &[("app/store.py", PY_STORE), ("app/cli.py", PY_CLI)])]);
    let db = t._dir.path().join("index.db");
    let chunk_ids = |db: &Path| -> Vec<i64> {
        let c = rusqlite::Connection::open(db).unwrap();
        let mut s = c.prepare("SELECT id FROM chunks ORDER BY id").unwrap();
        let ids = s.query_map([], |r| r.get(0)).unwrap();
        ids.collect::<std::result::Result<Vec<i64>, _>>().unwrap()
    };
    let before = chunk_ids(&db);
    let want = uses(&t.store, "make_store");
    assert_eq!(want.len(), 2);
    // As an index of schema 5 looks after its migration: no references, version 0.
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("DELETE FROM refs; DELETE FROM imports; UPDATE files SET refs_version = 0;")
        .unwrap();
    assert!(uses(&t.store, "make_store").is_empty());
    sync(&t.store, &t._dir.path().join("py"), "py");
    assert_eq!(uses(&t.store, "make_store"), want);
    assert_eq!(chunk_ids(&db), before, "chunks (and their vectors) stay");
}
