use super::schema::{BULK_CHECKPOINT_BYTES, DEFAULT_CHECKPOINT_BYTES, PAGE_SIZE};
use super::*;
use crate::store::tests::{stamp, upsert};
use crate::store::IndexStore;
use crate::vectors::tests::{embed_all, store_with, BagOfWords};
use codeintel_embed::Embedder;

crate::store::tests::storage_suite!(
    |dir: &Path| IndexStore::open(&dir.join("index.db"), false).unwrap()
);

fn sqlite(dir: &Path) -> SqliteStorage {
    SqliteStorage::open(&dir.join("index.db"), false).unwrap()
}

/// Documents in the lexical index, once the log is applied (it always is, in one process).
fn fts_rows(store: &SqliteStorage) -> i64 {
    assert_eq!(
        store.query_i64("SELECT count(*) FROM lexical_log").unwrap(),
        0
    );
    store.lexical.num_docs().unwrap() as i64
}

fn lexical_hits(store: &IndexStore, query: &str) -> usize {
    let req = crate::SearchRequest {
        query: query.into(),
        mode: crate::SearchMode::Lexical,
        limit: 10,
        ..crate::SearchRequest::default()
    };
    store.search(&req).unwrap().len()
}

/// A new index at `path` with one repository `r` holding `a.py` of `text`, closed again.
fn index_one_file(path: &Path, text: &str) {
    let store = IndexStore::open(path, false).unwrap();
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    store.write_batch(repo.id, &[upsert("a.py", text)]).unwrap();
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
    let store = SqliteStorage::open(&path, false).unwrap();
    let repos = store.read().unwrap().repositories(true, None).unwrap();
    assert_eq!(repos.len(), 1);
    assert_eq!((repos[0].files, repos[0].chunks), (1, 1));
    let version = store.query_i64("PRAGMA user_version").unwrap();
    assert_eq!(version, i64::from(SCHEMA_VERSION));
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
fn replacing_renaming_and_deleting_keep_the_lexical_index_in_step() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
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
    let states = store.read().unwrap().file_states(repo.id).unwrap();
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
    let leftovers = store
        .query_i64("SELECT (SELECT count(*) FROM files) + (SELECT count(*) FROM chunks) + (SELECT count(*) FROM symbols)")
        .unwrap();
    assert_eq!(leftovers, 0);
}

fn pragma(store: &SqliteStorage, name: &str) -> i64 {
    store.writer_pragma(name).unwrap()
}

#[test]
fn bulk_writes_end_with_the_default_checkpoint_interval() {
    let dir = tempfile::tempdir().unwrap();
    let store = sqlite(dir.path());
    let pages = |bytes: i64| bytes / PAGE_SIZE;
    assert_eq!(pragma(&store, "page_size"), PAGE_SIZE);
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        pages(DEFAULT_CHECKPOINT_BYTES)
    );
    store.begin_bulk();
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        pages(BULK_CHECKPOINT_BYTES)
    );
    store.end_bulk();
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
    let store = SqliteStorage::open(&path, false).unwrap();
    assert_eq!(pragma(&store, "page_size"), 4096);
    assert_eq!(
        pragma(&store, "wal_autocheckpoint"),
        DEFAULT_CHECKPOINT_BYTES / 4096
    );
}

#[test]
fn vectors_of_schema_3_are_dropped_and_recomputed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    drop(store_with(&path, &[("f", "x")]));
    {
        // Turn the file back into a version-3 index holding one old-style vector.
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE vectors; DROP TABLE embeddings; DROP TABLE embedding_models;
             CREATE TABLE embeddings (chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id)
                 ON DELETE CASCADE, model TEXT NOT NULL, vector BLOB NOT NULL);
             INSERT INTO embeddings SELECT id, 'test:bag-of-words', x'00' FROM chunks;
             PRAGMA user_version = 3;",
        )
        .unwrap();
        conn.execute_batch(UNDO_6).unwrap();
    }
    let store = IndexStore::open(&path, false).unwrap();
    let model = BagOfWords { dimension: 64 };
    assert_eq!(store.embedded_chunks(None, None).unwrap(), 0);
    assert_eq!(store.chunks_to_embed(model.model_id(), None).unwrap(), 1);
    assert_eq!(embed_all(&store, &model).unwrap(), 1);
    assert_eq!(
        store.embedded_chunks(Some(model.model_id()), None).unwrap(),
        1
    );
}

#[test]
fn rows_left_in_the_log_by_a_dead_process_are_applied_by_the_next_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    let store = IndexStore::open(&path, false).unwrap();
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    store
        .write_batch(repo.id, &[upsert("a.py", "first words")])
        .unwrap();
    // Another process holds the lexical writer and dies before applying what follows.
    let holder = crate::lexical::LexicalIndex::open_existing(&lexical::folder(&path))
        .unwrap()
        .unwrap();
    let writer = holder.try_writer().unwrap().unwrap();
    store
        .write_batch(repo.id, &[upsert("b.py", "second words")])
        .unwrap();
    assert_eq!(lexical_hits(&store, "second"), 0, "left to the holder");
    drop(store);
    // A read-only open cannot repair it while the writer is held: it shows the last commit.
    let reader = IndexStore::open_read_only(&path).unwrap().unwrap();
    assert_eq!(lexical_hits(&reader, "words"), 1);
    drop(reader);
    drop(writer);
    // With no holder left, even a read-only open repairs it (through a full open).
    let reader = IndexStore::open_read_only(&path).unwrap().unwrap();
    assert_eq!(lexical_hits(&reader, "words"), 2);
    assert_eq!(lexical_hits(&reader, "second"), 1);
}

#[test]
fn a_lexical_index_left_from_another_database_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    index_one_file(&path, "stale words");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let store = IndexStore::open(&path, false).unwrap();
    assert_eq!(lexical_hits(&store, "stale"), 0);
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    store
        .write_batch(repo.id, &[upsert("b.py", "fresh words")])
        .unwrap();
    assert_eq!(lexical_hits(&store, "words"), 1);
}

/// Takes schema 6 back out of an index (to make one of an older version).
const UNDO_6: &str =
    "DROP TABLE refs; DROP TABLE imports; DROP TABLE packages; ALTER TABLE files DROP COLUMN refs_version;";

#[test]
fn an_index_of_schema_4_gets_its_lexical_index_from_its_chunks() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    drop(store_with(&path, &[("f", "migrated words")]));
    std::fs::remove_dir_all(lexical::folder(&path)).unwrap();
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute_batch(&format!(
            "DROP TABLE lexical_log; {UNDO_6} PRAGMA user_version = 4;"
        ))
        .unwrap();
    let store = IndexStore::open_read_only(&path).unwrap().unwrap();
    assert_eq!(lexical_hits(&store, "migrated"), 1);
}

#[test]
fn a_rename_keeps_chunks_and_their_vectors_and_moves_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    let (store, repo) = store_with(&path, &[("f", "renamed body")]);
    let model = BagOfWords { dimension: 64 };
    assert_eq!(embed_all(&store, &model).unwrap(), 1);
    assert_eq!(lexical_hits(&store, "fresh place"), 0);
    store
        .write_batch(
            repo,
            &[FileOp::Rename {
                from: "a.py".into(),
                to: "fresh_place.py".into(),
                stamp: stamp(),
            }],
        )
        .unwrap();
    assert_eq!(
        embed_all(&store, &model).unwrap(),
        0,
        "nothing to embed again"
    );
    assert_eq!(
        lexical_hits(&store, "fresh place"),
        1,
        "path words are found"
    );
    assert_eq!(lexical_hits(&store, "renamed"), 1);
}

#[test]
fn a_one_shot_reader_maps_the_whole_database_and_a_server_reader_does_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("index.db");
    index_one_file(&path, "mapped words");
    let mapped = |conn: &Connection| -> i64 {
        conn.query_row("PRAGMA mmap_size", [], |r| r.get(0))
            .unwrap()
    };
    let one_shot = SqliteStorage::open_read_only(&path).unwrap().unwrap();
    let readers = one_shot.readers.lock().unwrap();
    // Not clamped to SQLite's default limit of 2 GB: the build raises it.
    assert_eq!(mapped(&readers[0]), super::ONE_SHOT_MMAP_BYTES);
    drop(readers);
    assert_eq!(mapped(&super::reader_connection(&path).unwrap()), 0);
    let store = IndexStore::with_storage(one_shot);
    assert_eq!(lexical_hits(&store, "mapped"), 1);
}
