use super::schema::PAGE_SIZE;
use super::*;

fn stamp() -> FileStamp {
    FileStamp {
        size: 10,
        mtime_ns: 1,
        indexed_at_ns: 2,
    }
}

fn upsert(path: &str, body: &str) -> FileOp {
    FileOp::Upsert {
        path: path.into(),
        language: "python",
        stamp: stamp(),
        hash: *blake3::hash(body.as_bytes()).as_bytes(),
        chunks: vec![Chunk {
            start_line: 1,
            end_line: 1,
            symbol: Some("f".into()),
            kind: Some("function"),
            content: body.into(),
        }],
        symbols: vec![Symbol {
            name: "f".into(),
            kind: "function",
            start_line: 1,
            end_line: 1,
        }],
    }
}

fn fts_rows(store: &IndexStore) -> i64 {
    store
        .with_reader(|c| {
            Ok(c.query_row(
                "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'body'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
}

#[test]
fn reopening_keeps_data_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    {
        let store = IndexStore::open(&path, false).unwrap();
        let repo = store
            .ensure_repository(Path::new("/r/a"), "a", None, false)
            .unwrap();
        store
            .write_batch(repo.id, &[upsert("x.py", "body one")])
            .unwrap();
    }
    let store = IndexStore::open(&path, false).unwrap();
    let repos = store.repositories().unwrap();
    assert_eq!(repos.len(), 1);
    assert_eq!((repos[0].files, repos[0].chunks), (1, 1));
    let version: i32 = store
        .with_reader(|c| Ok(c.query_row("PRAGMA user_version", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    drop(IndexStore::open(&path, false).unwrap());
    let conn = Connection::open(&path).unwrap();
    conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
        .unwrap();
    drop(conn);
    assert!(matches!(
        IndexStore::open(&path, false),
        Err(StoreError::TooNew { .. })
    ));
}

#[test]
fn names_are_unique_and_paths_are_identity() {
    let dir = tempfile::tempdir().unwrap();
    let store = IndexStore::open(&dir.path().join("i.db"), false).unwrap();
    let a = store
        .ensure_repository(Path::new("/x/app"), "app", None, false)
        .unwrap();
    let b = store
        .ensure_repository(Path::new("/y/app"), "app", None, false)
        .unwrap();
    let a2 = store
        .ensure_repository(Path::new("/x/app"), "app", None, false)
        .unwrap();
    assert_eq!((a.name.as_str(), b.name.as_str()), ("app", "app-2"));
    let one = store.repository_state(b.id).unwrap().expect("row by id");
    assert_eq!(one.record, b);
    assert!(store.repository_state(b.id + 100).unwrap().is_none());
    assert_eq!(a.id, a2.id);
    // Renaming to a taken name keeps the old one.
    let b2 = store
        .ensure_repository(Path::new("/y/app"), "app", None, true)
        .unwrap();
    assert_eq!(b2.name, "app-2");
}

#[test]
fn replacing_renaming_and_deleting_keep_fts_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = IndexStore::open(&dir.path().join("i.db"), false).unwrap();
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    let c = store
        .write_batch(
            repo.id,
            &[upsert("a.py", "body alpha"), upsert("b.py", "body beta")],
        )
        .unwrap();
    assert_eq!((c.chunks_new, c.chunks_deleted), (2, 0));
    assert_eq!(fts_rows(&store), 2);
    let c = store
        .write_batch(repo.id, &[upsert("a.py", "body gamma")])
        .unwrap();
    assert_eq!((c.chunks_new, c.chunks_deleted), (1, 1));
    assert_eq!(fts_rows(&store), 2);
    let c = store
        .write_batch(
            repo.id,
            &[FileOp::Rename {
                from: "b.py".into(),
                to: "c.py".into(),
                stamp: stamp(),
            }],
        )
        .unwrap();
    assert_eq!((c.chunks_new, c.chunks_deleted), (0, 0));
    let states = store.file_states(repo.id).unwrap();
    let mut names: Vec<_> = states.keys().cloned().collect();
    names.sort();
    assert_eq!(names, ["a.py", "c.py"]);
    let c = store
        .write_batch(
            repo.id,
            &[FileOp::Delete {
                path: "a.py".into(),
            }],
        )
        .unwrap();
    assert_eq!(c.chunks_deleted, 1);
    assert_eq!(fts_rows(&store), 1);
    store.remove_repository(repo.id).unwrap();
    assert_eq!(fts_rows(&store), 0);
    let leftovers: i64 = store.with_reader(|c| Ok(c.query_row("SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM chunks) + (SELECT count(*) FROM symbols)", [], |r| r.get(0))?)).unwrap();
    assert_eq!(leftovers, 0);
}

#[test]
fn state_values_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let store = IndexStore::open(&dir.path().join("i.db"), false).unwrap();
    assert_eq!(store.state("paused").unwrap(), None);
    store.set_state("paused", "true").unwrap();
    store.set_state("paused", "false").unwrap();
    assert_eq!(store.state("paused").unwrap().as_deref(), Some("false"));
}

fn pragma(store: &IndexStore, name: &str) -> i64 {
    store
        .with_writer(|c| Ok(c.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))?))
        .unwrap()
}

#[test]
fn bulk_writes_end_with_the_default_checkpoint_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = IndexStore::open(&dir.path().join("index.db"), false).unwrap();
    let pages = |bytes: i64| bytes / PAGE_SIZE;
    assert_eq!(pragma(&store, "page_size"), PAGE_SIZE);
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        pages(DEFAULT_CHECKPOINT_BYTES)
    );
    {
        let _bulk = store.bulk_writes();
        assert_eq!(
            pragma(&store, "wal_autocheckpoint"),
            pages(BULK_CHECKPOINT_BYTES)
        );
    }
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        pages(DEFAULT_CHECKPOINT_BYTES)
    );
}

#[test]
fn an_index_with_small_pages_keeps_them_and_counts_its_interval_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    // An index created before the page size was raised.
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch("PRAGMA page_size = 4096; PRAGMA journal_mode = WAL;")
        .unwrap();
    let store = IndexStore::open(&path, false).unwrap();
    assert_eq!(pragma(&store, "page_size"), 4096);
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        DEFAULT_CHECKPOINT_BYTES / 4096
    );
}

#[test]
fn one_sync_of_a_repository_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(IndexStore::open(&dir.path().join("index.db"), false).unwrap());
    let first = store.lock_repository(7);
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let store = store.clone();
        std::thread::spawn(move || {
            let _second = store.lock_repository(7);
            let _ = tx.send(());
        })
    };
    // Another repository is not held up.
    drop(store.lock_repository(8));
    assert!(
        rx.recv_timeout(std::time::Duration::from_millis(300))
            .is_err(),
        "the second sync waits for the first"
    );
    drop(first);
    rx.recv_timeout(std::time::Duration::from_secs(30))
        .expect("the second sync runs once the first is done");
    waiter.join().unwrap();
}
