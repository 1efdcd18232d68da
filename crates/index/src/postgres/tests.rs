//! The backend suite on a private PostgreSQL (`scripts/test.sh` starts one and names it in
//! `CODEINTEL_TEST_POSTGRES_URL`): a database per test, named after its folder.

use super::*;
use crate::store::{IndexStore, StoreLocation};
use std::path::Path;

/// The test cluster's URL with `dbname` as its database.
fn database_url(admin: &str, dbname: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    if query.is_empty() {
        format!("{base}/{dbname}")
    } else {
        format!("{base}/{dbname}?{query}")
    }
}

fn admin_url() -> String {
    std::env::var("CODEINTEL_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("CODEINTEL_TEST_POSTGRES_URL is not set: run the suite with `bash scripts/test.sh`, which starts a private PostgreSQL")
    })
}

/// A database of its own for the test folder `dir` (made once; reopening finds it).
pub(crate) fn test_database(dir: &Path) -> PostgresUrl {
    let admin = admin_url();
    let name = format!(
        "t_{}",
        &blake3::hash(dir.to_string_lossy().as_bytes()).to_hex()[..24]
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("the test PostgreSQL at {admin}: {e}"));
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }
    match StoreLocation::parse(&database_url(&admin, &name)).unwrap() {
        StoreLocation::Postgres(url) => url,
        StoreLocation::Sqlite => unreachable!("a postgresql:// URL"),
    }
}

fn open_postgres(dir: &Path) -> IndexStore {
    IndexStore::with_storage(PostgresStorage::open(&test_database(dir)).unwrap())
}

crate::store::tests::storage_suite!(open_postgres);

#[test]
fn urls_name_the_database_and_keep_their_parameters() {
    assert_eq!(
        database_url("postgresql://ci@/postgres?host=/tmp/pg", "t_1"),
        "postgresql://ci@/t_1?host=/tmp/pg"
    );
    assert_eq!(
        database_url("postgres://ci:pw@db:5432", "t_1"),
        "postgres://ci:pw@db:5432/t_1"
    );
}

#[test]
fn two_processes_migrating_at_once_agree_on_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStorage::open(&url).map(|_| ()))
        })
        .collect();
    for t in opened {
        t.join().unwrap().unwrap();
    }
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let version: i32 = client
        .query_one("SELECT version FROM codeintel_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
    let rows = client
        .query_one("SELECT count(*) FROM codeintel_schema", &[])
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 1);
}

#[test]
fn the_location_shown_has_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let with_password = format!(
        "{}{}password=hunter2",
        url.secret(),
        if url.secret().contains('?') { "&" } else { "?" }
    );
    let StoreLocation::Postgres(url) = StoreLocation::parse(&with_password).unwrap() else {
        unreachable!()
    };
    // Trust authentication ignores the password: the store opens, and never shows it.
    let store = PostgresStorage::open(&url).unwrap();
    let shown = store.location().display().to_string();
    assert!(
        !shown.contains("hunter2") && shown.contains("password=***"),
        "{shown}"
    );
}

/// A lease of another indexer on `repo_id`, live for `secs` (negative: expired that long ago).
fn foreign_lease(url: &PostgresUrl, repo_id: i64, secs: f64) {
    set_lease(url, repo_id, "elsewhere:1:1#0", secs);
}

/// Writes repository `repo_id`'s lease row as `holder`'s, expiring in `secs`.
fn set_lease(url: &PostgresUrl, repo_id: i64, holder: &str, secs: f64) {
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO repository_leases (repo_id, holder, expires_at)
             VALUES ($1, $2, now() + make_interval(secs => $3))
             ON CONFLICT (repo_id) DO UPDATE SET holder = EXCLUDED.holder,
                 expires_at = EXCLUDED.expires_at",
            &[&repo_id, &holder, &secs],
        )
        .unwrap();
}

fn lease_holder(url: &PostgresUrl, repo_id: i64) -> Option<String> {
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    client
        .query_opt(
            "SELECT holder FROM repository_leases WHERE repo_id = $1",
            &[&repo_id],
        )
        .unwrap()
        .map(|r| r.get(0))
}

#[test]
fn another_indexers_live_lease_holds_the_repository_and_its_writes_an_expired_one_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let store = IndexStore::with_storage(PostgresStorage::open(&url).unwrap());
    let repo = store
        .ensure_repository(Path::new("/leased"), "leased", None, false)
        .unwrap();
    let upsert = crate::store::tests::upsert;

    foreign_lease(&url, repo.id, 60.0);
    assert!(store.try_lock_repository(repo.id).unwrap().is_none());
    let refused = store.write_batch(repo.id, &[upsert("a.py", "alpha body")]);
    let message = refused
        .expect_err("a write under another's live lease")
        .to_string();
    assert!(message.contains("elsewhere:1:1#0"), "{message}");
    assert_eq!(store.repositories().unwrap()[0].files, 0, "nothing written");

    // The other indexer died: its lease ran out, this one takes the repository over.
    foreign_lease(&url, repo.id, -1.0);
    let lock = store
        .try_lock_repository(repo.id)
        .unwrap()
        .expect("an expired lease is taken");
    let ours = lease_holder(&url, repo.id).unwrap();
    assert!(
        ours.contains(&format!(":{}:", std::process::id())),
        "{ours}"
    );
    store
        .write_batch(repo.id, &[upsert("a.py", "alpha body")])
        .unwrap();
    // A second sync of it, in this process or any other, is refused while it is held.
    assert!(store.try_lock_repository(repo.id).unwrap().is_none());
    drop(lock);
    assert_eq!(
        lease_holder(&url, repo.id),
        None,
        "released when the sync ends"
    );
    assert_eq!(store.repositories().unwrap()[0].files, 1);

    // A sync whose lease was taken over (it stalled past the expiry) cannot write.
    let stalled = store.try_lock_repository(repo.id).unwrap().unwrap();
    foreign_lease(&url, repo.id, 60.0);
    let fenced = store.write_batch(repo.id, &[upsert("b.py", "beta body")]);
    assert!(fenced.is_err(), "the stalled sync's batch is refused");
    drop(stalled);
    assert_eq!(
        lease_holder(&url, repo.id).as_deref(),
        Some("elsewhere:1:1#0"),
        "ending the stalled sync leaves the new holder's lease"
    );
    assert_eq!(store.repositories().unwrap()[0].files, 1);
}

#[test]
fn a_lease_this_process_left_behind_is_taken_at_once_by_it_and_by_no_other_indexer() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let store = IndexStore::with_storage(PostgresStorage::open(&url).unwrap());
    let repo = store
        .ensure_repository(Path::new("/left"), "left", None, false)
        .unwrap();
    let lock = store.try_lock_repository(repo.id).unwrap().unwrap();
    let holder = lease_holder(&url, repo.id).unwrap();
    drop(lock);
    // Its sync ended while the database was away: the row could not be deleted.
    set_lease(&url, repo.id, &holder, 60.0);
    let other = IndexStore::with_storage(PostgresStorage::open(&url).unwrap());
    assert!(
        other.try_lock_repository(repo.id).unwrap().is_none(),
        "another indexer waits for the expiry"
    );
    let again = store
        .try_lock_repository(repo.id)
        .unwrap()
        .expect("this process knows no sync of it holds the lease");
    assert_ne!(lease_holder(&url, repo.id).unwrap(), holder);
    assert!(
        store.try_lock_repository(repo.id).unwrap().is_none(),
        "but a live sync's lease is not taken by another sync of this process"
    );
    drop(again);
    assert_eq!(lease_holder(&url, repo.id), None);
}

/// Copies this crate's own sources (real Rust, with the `.scm` queries) under `root`.
fn copy_sources(root: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for entry in walk(&src) {
        let rel = entry.strip_prefix(&src).unwrap();
        let to = root.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, to).unwrap();
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn sync_both(stores: &[&IndexStore], root: &Path) {
    for store in stores {
        crate::RepositorySync::new(store, &crate::SyncOptions::default())
            .run(root, Some("src"), true)
            .unwrap();
    }
}

fn hits(store: &IndexStore, query: &str, mode: crate::SearchMode, limit: usize) -> Vec<String> {
    let req = crate::SearchRequest {
        query: query.into(),
        mode,
        limit,
        ..Default::default()
    };
    store
        .search(&req)
        .unwrap()
        .into_iter()
        .map(|h| format!("{}:{}", h.path, h.start_line))
        .collect()
}

/// What both backends must answer the same (exact and regex report every match in order;
/// symbols, references and call graphs are resolved above the storage seam), and how far
/// their BM25 top tens overlap (the document lengths differ: tantivy quantizes them).
fn compare(sqlite: &IndexStore, pg: &IndexStore) -> f64 {
    let counts = |s: &IndexStore| -> Vec<(String, u64, u64)> {
        s.repositories()
            .unwrap()
            .into_iter()
            .map(|r| (r.record.name, r.files, r.chunks))
            .collect()
    };
    assert_eq!(counts(sqlite), counts(pg));
    use crate::SearchMode::{Exact, Lexical, Regex};
    for (query, mode) in [
        ("fn apply", Exact),
        ("SELECT id FROM", Exact),
        ("Result<Vec<", Exact),
        (r"fn \w+_chunks\(", Regex),
        (r"impl\s+Snapshot\s+for", Regex),
    ] {
        let want = hits(sqlite, query, mode, 200);
        assert!(!want.is_empty(), "{query}");
        assert_eq!(want, hits(pg, query, mode, 200), "{query} ({mode:?})");
    }
    for name in ["apply", "Snapshot", "chunk_file", "Pattern"] {
        let symbols = |s: &IndexStore| s.find_symbols(name, None, None, 30).unwrap();
        assert_eq!(symbols(sqlite), symbols(pg), "symbols {name}");
    }
    for name in [
        "chunk_symbol_names",
        "intern_kind",
        "query_terms",
        "Extraction",
    ] {
        let q = crate::navigate::DefinitionQuery {
            name,
            ..Default::default()
        };
        let uses = |s: &IndexStore| {
            let found = s.find_references(&q, None, 1000).unwrap();
            let sites: Vec<_> = found
                .references
                .into_iter()
                .map(|r| (r.path, r.line, r.kind, r.confidence.name()))
                .collect();
            (sites, found.total)
        };
        let (want, total) = uses(sqlite);
        assert!(total > 0, "references of {name}");
        assert_eq!((want, total), uses(pg), "references of {name}");
        let graph = |s: &IndexStore| {
            s.call_graph(&q, crate::navigate::Direction::Callers, 2, 100)
                .unwrap()
                .map(|g| format!("{:?}", g.root))
        };
        assert_eq!(graph(sqlite), graph(pg), "callers of {name}");
    }
    let queries = [
        "postings bm25 score",
        "advisory lock migration",
        "tree sitter query pattern",
        "repository name unique",
        "reference sites decode",
        "lexical document terms",
    ];
    let mut overlap = 0.0;
    for query in queries {
        let want = hits(sqlite, query, Lexical, 10);
        let got = hits(pg, query, Lexical, 10);
        assert!(!want.is_empty() && !got.is_empty(), "{query}");
        let shared = got.iter().filter(|h| want.contains(h)).count();
        overlap += shared as f64 / want.len().max(got.len()) as f64;
    }
    overlap / queries.len() as f64
}

#[test]
fn a_real_tree_answers_the_same_on_both_backends_before_and_after_edits() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("src");
    copy_sources(&root);
    let sqlite = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
    let pg = open_postgres(dir.path());
    sync_both(&[&sqlite, &pg], &root);
    let first = compare(&sqlite, &pg);
    // An edit, a rename and a deletion, synced incrementally.
    let edited = root.join("lexical/mod.rs");
    let mut text = std::fs::read_to_string(&edited).unwrap();
    text.push_str("\npub fn bm25_postings_probe() -> usize { query_terms(&[]).len() }\n");
    std::fs::write(&edited, text).unwrap();
    std::fs::rename(root.join("text.rs"), root.join("words.rs")).unwrap();
    std::fs::remove_file(root.join("filters.rs")).unwrap();
    sync_both(&[&sqlite, &pg], &root);
    let second = compare(&sqlite, &pg);
    for (store, name) in [(&sqlite, "sqlite"), (&pg, "postgres")] {
        let found = hits(store, "bm25_postings_probe", crate::SearchMode::Lexical, 5);
        assert_eq!(
            found.first().map(|h| h.starts_with("lexical/mod.rs")),
            Some(true),
            "{name}: {found:?}"
        );
        // Only the deleted file defined it (written in two parts: this file is in the tree).
        let deleted = format!("pub fn {}_ok(&self", "path");
        assert!(
            hits(store, &deleted, crate::SearchMode::Exact, 5).is_empty(),
            "{name}"
        );
        let renamed = hits(
            store,
            &format!("pub fn {}_terms(", "hump"),
            crate::SearchMode::Exact,
            5,
        );
        assert_eq!(
            renamed.first().map(|h| h.starts_with("words.rs")),
            Some(true),
            "{name}"
        );
    }
    eprintln!("BM25 top-10 overlap, SQLite (tantivy) and PostgreSQL: {first:.2} / {second:.2}");
    assert!(
        first >= 0.7 && second >= 0.7,
        "BM25 top-10 overlap {first:.2} / {second:.2}"
    );
}

#[test]
fn a_database_that_is_away_is_a_transient_error_a_refused_statement_is_not() {
    let StoreLocation::Postgres(away) =
        StoreLocation::parse("postgresql://ci@/x?host=/nonexistent-dir&connect_timeout=1").unwrap()
    else {
        unreachable!()
    };
    let error = PostgresStorage::open(&away).expect_err("no server there");
    assert!(error.is_transient(), "{error}");
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let refused: StoreError = client
        .batch_execute("SELECT * FROM no_such_table")
        .expect_err("a bad statement")
        .into();
    assert!(!refused.is_transient(), "{refused}");
    // A value the client cannot encode is this side's error, not the database being away.
    let unencodable: StoreError = client
        .query("SELECT $1::INT4", &[&"not a number"])
        .expect_err("a text for an integer")
        .into();
    assert!(!unencodable.is_transient(), "{unencodable}");
}

/// A connection the database closed (a restart) comes back to the pool on a tokio worker (an
/// MCP handler, the auto-sync scheduler): the pool closes it there, which must not panic.
#[test]
fn a_connection_the_database_closed_is_put_away_on_a_tokio_worker_without_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let store = std::sync::Arc::new(IndexStore::with_storage(
        PostgresStorage::open(&url).unwrap(),
    ));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let on_worker = store.clone();
    let outcome = runtime.block_on(async move {
        tokio::spawn(async move {
            let snapshot = on_worker.read().unwrap();
            // Every other backend of this database: the snapshot's and the pool's idle ones.
            tokio::task::block_in_place(|| {
                let mut admin = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
                admin
                    .execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                         WHERE datname = current_database() AND pid <> pg_backend_pid()",
                        &[],
                    )
                    .unwrap();
            });
            drop(snapshot);
            // The pool makes new connections: the store answers again.
            on_worker.repositories().map(|r| r.len())
        })
        .await
    });
    assert_eq!(outcome.expect("no panic on the worker").unwrap(), 0);
}

/// An index written before postings (schema 3: terms in arrays on each chunk) is migrated:
/// the same chunks are found by the same words, and deleting a file deletes its postings.
#[test]
fn a_schema_3_index_is_migrated_to_postings_and_finds_the_same_chunks() {
    use crate::store::FileOp;
    use std::collections::HashSet;
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    client
        .batch_execute("CREATE TABLE codeintel_schema (version INT NOT NULL); INSERT INTO codeintel_schema VALUES (3);")
        .unwrap();
    for sql in &schema::MIGRATIONS[..3] {
        client.batch_execute(sql).unwrap();
    }
    client
        .batch_execute(
            "INSERT INTO repositories (id, path, name, created_at_ms, lexical_docs, lexical_terms)
                 VALUES (1, '/old', 'old', 0, 3, 306);
             INSERT INTO files (id, repo_id, path, language, size, mtime_ns, hash, indexed_at_ns,
                                chunk_count)
                 VALUES (1, 1, 'a.py', 'python', 10, 0, '\\x00', 0, 3);
             INSERT INTO chunks (id, file_id, repo_id, language, start_line, end_line, content,
                                 terms, lex_terms, lex_tfs)
                 VALUES (1, 1, 1, 'python', 1, 2, 'alpha alpha beta', 3, '{alpha,beta}', '{2,1}'),
                        (2, 1, 1, 'python', 3, 4, 'beta gamma gamma', 3, '{beta,gamma}', '{1,2}'),
                        (100000, 1, 1, 'python', 5, 90, 'alpha ...', 300, '{alpha}', '{200}');",
        )
        .unwrap();
    drop(client);
    let store = IndexStore::with_storage(PostgresStorage::open(&url).unwrap());
    let filters = crate::filters::Filters::new(None, None, None).unwrap();
    let found = |words: &[&str], all: bool| -> Vec<i64> {
        let words: Vec<String> = words.iter().map(|w| w.to_string()).collect();
        let snapshot = store.read().unwrap();
        let mut ids: Vec<i64> =
            (snapshot.lexical_candidates(&words, all, &filters, 10, &HashSet::new()))
                .unwrap()
                .into_iter()
                .map(|(id, _)| id)
                .collect();
        ids.sort_unstable();
        ids
    };
    // Schema 6 encodes the lists in SQL: ids, frequencies and lengths of more than 7 bits.
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let row = client
        .query_one(
            "SELECT n, lists FROM lex_postings WHERE term = 'alpha' AND file_id = 1",
            &[],
        )
        .unwrap();
    let decoded: Vec<(i64, u32, u32)> = super::postings::decode(row.get(1))
        .map(|p| (p.chunk_id, p.tf, p.dl))
        .collect();
    assert_eq!(row.get::<_, i32>(0), 2);
    assert_eq!(decoded, [(1, 2, 3), (100000, 200, 300)]);
    drop(client);
    assert_eq!(found(&["alpha"], false), [1, 100000]);
    assert_eq!(found(&["beta"], false), [1, 2]);
    assert_eq!(found(&["alpha", "gamma"], false), [1, 2, 100000]);
    assert_eq!(found(&["alpha", "gamma"], true), Vec::<i64>::new());
    let mut scanned = Vec::new();
    store
        .read()
        .unwrap()
        .scan_chunks(
            &filters,
            Some(&["beta".into(), "gamma".into()]),
            &mut |row| {
                scanned.push(row.id);
                Ok(true)
            },
        )
        .unwrap();
    assert_eq!(scanned, [2]);
    store
        .write_batch(
            1,
            &[FileOp::Delete {
                path: "a.py".into(),
            }],
        )
        .unwrap();
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let left: i64 = client
        .query_one("SELECT count(*) FROM lex_postings", &[])
        .unwrap()
        .get(0);
    assert_eq!(left, 0, "a deleted file's postings go with it");
}

/// Without foreign keys from a file's rows to it, the removal of a repository deletes each
/// table's rows itself: none may be left behind, and a batch of a removed repository (a
/// sync elsewhere that has not heard) writes nothing.
#[test]
fn removing_a_repository_leaves_none_of_its_rows_and_a_later_batch_of_it_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let store = IndexStore::with_storage(PostgresStorage::open(&url).unwrap());
    let file = |path: &str| {
        let mut op = crate::store::tests::upsert(path, "def f(): g()");
        if let FileOp::Upsert { references, .. } = &mut op {
            references.names = vec![("g".into(), vec![1, 2])];
            references.imports = vec![("g".into(), "g".into(), Some("m".into()))];
        }
        op
    };
    let mut ids = Vec::new();
    for name in ["gone", "kept"] {
        let repo = store
            .ensure_repository(Path::new(&format!("/r/{name}")), name, None, false)
            .unwrap();
        store
            .write_batch(repo.id, &[file("a.py"), file("b.py")])
            .unwrap();
        ids.push(repo.id);
    }
    store.remove_repository(ids[0]).unwrap();
    let refused = store.write_batch(ids[0], &[file("c.py")]);
    assert!(refused.is_err(), "a batch of a removed repository");
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let count = |client: &mut postgres::Client, sql: &str| -> i64 {
        client.query_one(sql, &[]).unwrap().get(0)
    };
    assert_eq!(count(&mut client, "SELECT count(*) FROM files"), 2);
    for table in ["chunks", "symbols", "refs", "imports", "lex_postings"] {
        let orphans = count(
            &mut client,
            &format!("SELECT count(*) FROM {table} WHERE file_id NOT IN (SELECT id FROM files)"),
        );
        assert_eq!(orphans, 0, "{table} rows of the removed repository");
        let kept = count(&mut client, &format!("SELECT count(*) FROM {table}"));
        assert!(kept > 0, "{table}: the other repository's rows");
    }
}
