//! The suite every backend passes, through [`IndexStore`] alone. A backend runs it with one
//! line in its own tests: `crate::store::tests::storage_suite!(|dir: &Path| open it in dir);`
//! (the opener may be called twice on one folder: reopening must find the data).

use super::*;
use crate::chunk::{Chunk, Symbol};
use crate::{SearchMode, SearchRequest};
use std::path::Path;

/// One `#[test]` per suite function below, over the backend `open` opens.
macro_rules! storage_suite {
    ($open:expr) => {
        mod storage_suite {
            use super::*;
            use crate::store::tests as suite;
            use std::path::Path;

            fn open(dir: &Path) -> crate::store::IndexStore {
                let open: fn(&Path) -> crate::store::IndexStore = $open;
                open(dir)
            }

            #[test]
            fn reopening_keeps_the_data() {
                suite::reopening_keeps_the_data(open);
            }
            #[test]
            fn names_are_unique_and_paths_are_identity() {
                suite::names_are_unique_and_paths_are_identity(open);
            }
            #[test]
            fn replacing_renaming_and_deleting_change_what_is_found() {
                suite::replacing_renaming_and_deleting_change_what_is_found(open);
            }
            #[test]
            fn scans_report_in_repository_path_and_line_order() {
                suite::scans_report_in_repository_path_and_line_order(open);
            }
            #[test]
            fn scans_keep_their_order_across_pages() {
                suite::scans_keep_their_order_across_pages(open);
            }
            #[test]
            fn regexes_report_every_match_through_their_prefilter() {
                suite::regexes_report_every_match_through_their_prefilter(open);
            }
            #[test]
            fn ties_at_the_cut_are_settled_by_place() {
                suite::ties_at_the_cut_are_settled_by_place(open);
            }
            #[test]
            fn a_batch_of_many_files_keeps_each_files_rows_apart() {
                suite::a_batch_of_many_files_keeps_each_files_rows_apart(open);
            }
            #[test]
            fn chunks_waiting_for_vectors_carry_the_definitions_inside_them() {
                suite::chunks_waiting_for_vectors_carry_the_definitions_inside_them(open);
            }
            #[test]
            fn state_values_round_trip() {
                suite::state_values_round_trip(open);
            }
            #[test]
            fn sync_state_round_trips() {
                suite::sync_state_round_trips(open);
            }
            #[test]
            fn one_sync_of_a_repository_at_a_time() {
                suite::one_sync_of_a_repository_at_a_time(open);
            }
            #[test]
            fn a_busy_repository_is_reported_not_waited_for() {
                suite::a_busy_repository_is_reported_not_waited_for(open);
            }
        }
    };
}
pub(crate) use storage_suite;

type Open = fn(&Path) -> IndexStore;

pub(crate) fn stamp() -> FileStamp {
    FileStamp {
        size: 10,
        mtime_ns: 1,
        indexed_at_ns: 2,
    }
}

/// A Python file of one chunk that defines `f`.
pub(crate) fn upsert(path: &str, body: &str) -> FileOp {
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
        references: Default::default(),
        content: None,
    }
}

fn found(store: &IndexStore, query: &str, mode: SearchMode) -> Vec<String> {
    let mut paths: Vec<String> = store
        .search(&SearchRequest {
            query: query.into(),
            limit: 100,
            mode,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|h| h.path)
        .collect();
    paths.sort();
    paths
}

/// A batch larger than any group a backend writes at once, with a path written twice and a
/// deletion between the writes, then every file replaced, then most deleted: each file is
/// found by its own words only, and the counts add up.
pub(crate) fn a_batch_of_many_files_keeps_each_files_rows_apart(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r/many"), "many", None, false)
        .unwrap();
    // One word per file and prefix, letters only (the lexical terms split at digits).
    let word = |prefix: &str, i: usize| {
        let letter = |n: usize| char::from(b'a' + n as u8);
        format!("{prefix}{}{}", letter(i / 26), letter(i % 26))
    };
    let file = |i: usize, prefix: &str| {
        upsert(&format!("m{i}.py"), &format!("common {}", word(prefix, i)))
    };
    let mut ops: Vec<FileOp> = (0..100).map(|i| file(i, "first")).collect();
    ops.push(file(3, "again"));
    ops.push(FileOp::Delete {
        path: "m5.py".into(),
    });
    ops.extend((100..150).map(|i| file(i, "first")));
    let counts = store.write_batch(repo.id, &ops).unwrap();
    assert_eq!((counts.chunks_new, counts.chunks_deleted), (151, 2));
    for (prefix, i, expected) in [
        ("first", 7, vec!["m7.py"]),
        ("first", 120, vec!["m120.py"]),
        ("first", 3, vec![]),
        ("again", 3, vec!["m3.py"]),
        ("first", 5, vec![]),
    ] {
        let query = word(prefix, i);
        assert_eq!(
            found(&store, &query, SearchMode::Lexical),
            expected,
            "{query}"
        );
    }
    let every: Vec<FileOp> = (0..150).map(|i| file(i, "second")).collect();
    let counts = store.write_batch(repo.id, &every).unwrap();
    assert_eq!((counts.chunks_new, counts.chunks_deleted), (150, 149));
    let lexical = |prefix: &str, i: usize| found(&store, &word(prefix, i), SearchMode::Lexical);
    assert_eq!(lexical("second", 5), ["m5.py"]);
    assert_eq!(lexical("second", 140), ["m140.py"]);
    assert!(lexical("first", 7).is_empty());
    assert!(lexical("again", 3).is_empty());
    // Every file's chunk holds the word: the exact scan reports each chunk there is.
    let files_left = || {
        store
            .search(&SearchRequest {
                query: "common".into(),
                limit: 1000,
                mode: SearchMode::Exact,
                ..Default::default()
            })
            .unwrap()
            .len()
    };
    assert_eq!(files_left(), 150);

    // Deletions in a run, with a path named twice and one that is not there.
    let mut gone: Vec<FileOp> = (0..140)
        .chain([7, 1000])
        .map(|i| FileOp::Delete {
            path: format!("m{i}.py"),
        })
        .collect();
    gone.insert(70, file(70, "third"));
    let counts = store.write_batch(repo.id, &gone).unwrap();
    assert_eq!((counts.chunks_new, counts.chunks_deleted), (1, 141));
    assert!(lexical("second", 7).is_empty());
    assert!(
        lexical("third", 70).is_empty(),
        "deleted after it was written"
    );
    assert_eq!(lexical("second", 145), ["m145.py"]);
    assert_eq!(files_left(), 10);
}

pub(crate) fn chunks_waiting_for_vectors_carry_the_definitions_inside_them(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r/defs"), "defs", None, false)
        .unwrap();
    let chunk = |start_line, end_line, content: &str| Chunk {
        start_line,
        end_line,
        symbol: None,
        kind: None,
        content: content.into(),
    };
    let symbol = |name: &str, start_line, end_line| Symbol {
        name: name.into(),
        kind: "function",
        start_line,
        end_line,
    };
    let mut two = upsert("two.py", "two chunks");
    if let FileOp::Upsert {
        chunks, symbols, ..
    } = &mut two
    {
        *chunks = vec![chunk(1, 5, "def a(): b()"), chunk(6, 9, "def c(): pass")];
        *symbols = vec![symbol("a", 1, 2), symbol("b", 3, 5), symbol("c", 6, 9)];
    }
    store
        .write_batch(repo.id, &[upsert("one.py", "def f(): pass"), two])
        .unwrap();
    let pending = store
        .read()
        .unwrap()
        .pending_chunks(None, None, 10)
        .unwrap();
    type Definitions<'a> = Vec<(&'a str, u32, u32)>;
    let seen: Vec<(&str, u32, Definitions)> = pending
        .iter()
        .map(|p| {
            let defs = p.definitions.iter();
            let defs = defs.map(|d| (d.name.as_str(), d.start_line, d.end_line));
            (p.path.as_str(), p.start_line, defs.collect())
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("one.py", 1, vec![("f", 1, 1)]),
            ("two.py", 1, vec![("a", 1, 2), ("b", 3, 5)]),
            ("two.py", 6, vec![("c", 6, 9)]),
        ]
    );
}

pub(crate) fn reopening_keeps_the_data(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = open(dir.path());
        let repo = store
            .ensure_repository(Path::new("/r/a"), "a", None, false)
            .unwrap();
        store
            .write_batch(repo.id, &[upsert("x.py", "body one")])
            .unwrap();
    }
    let store = open(dir.path());
    let repos = store.repositories().unwrap();
    assert_eq!(repos.len(), 1);
    assert_eq!((repos[0].files, repos[0].chunks), (1, 1));
    assert_eq!(found(&store, "one", SearchMode::Lexical), ["x.py"]);
}

pub(crate) fn names_are_unique_and_paths_are_identity(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
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
    // A repository no sync has finished for is new (never "synced" with nothing in it), and
    // its first recorded result makes it synced.
    assert_eq!(one.sync.state, RepoState::New);
    store.record_sync(b.id, None, Some("failed")).unwrap();
    assert_eq!(
        store.repository_state(b.id).unwrap().unwrap().sync.state,
        RepoState::New
    );
    store
        .record_sync(b.id, Some(&serde_json::json!({})), None)
        .unwrap();
    assert_eq!(
        store.repository_state(b.id).unwrap().unwrap().sync.state,
        RepoState::Synced
    );
    // Renaming to a taken name keeps the old one.
    let b2 = store
        .ensure_repository(Path::new("/y/app"), "app", None, true)
        .unwrap();
    assert_eq!(b2.name, "app-2");
    assert_eq!(store.find_repository("app-2").unwrap(), Some(b2));
    assert_eq!(store.find_repository("/x/app").unwrap(), Some(a));
}

pub(crate) fn replacing_renaming_and_deleting_change_what_is_found(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
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
    assert_eq!(found(&store, "body", SearchMode::Lexical), ["a.py", "b.py"]);
    let c = store
        .write_batch(repo.id, &[upsert("a.py", "body gamma")])
        .unwrap();
    assert_eq!((c.chunks_new, c.chunks_deleted), (1, 1));
    assert!(found(&store, "alpha", SearchMode::Lexical).is_empty());
    assert_eq!(found(&store, "gamma", SearchMode::Exact), ["a.py"]);
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
    assert_eq!(found(&store, "beta", SearchMode::Lexical), ["c.py"]);
    let c = store
        .write_batch(
            repo.id,
            &[FileOp::Delete {
                path: "a.py".into(),
            }],
        )
        .unwrap();
    assert_eq!(c.chunks_deleted, 1);
    assert_eq!(found(&store, "body", SearchMode::Regex), ["c.py"]);
    store.remove_repository(repo.id).unwrap();
    assert!(found(&store, "body", SearchMode::Lexical).is_empty());
    assert!(store.repositories().unwrap().is_empty());
}

/// A file of `chunks` one-line chunks, the n-th on line n + 1.
fn lines_file(path: &str, chunks: &[&str]) -> FileOp {
    FileOp::Upsert {
        path: path.into(),
        language: "python",
        stamp: stamp(),
        hash: *blake3::hash(chunks.concat().as_bytes()).as_bytes(),
        chunks: chunks
            .iter()
            .enumerate()
            .map(|(i, text)| Chunk {
                start_line: i as u32 + 1,
                end_line: i as u32 + 1,
                symbol: None,
                kind: None,
                content: (*text).into(),
            })
            .collect(),
        symbols: Vec::new(),
        references: Default::default(),
        content: None,
    }
}

pub(crate) fn scans_report_in_repository_path_and_line_order(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    // Written in the reverse of the order results come in.
    let zed = store
        .ensure_repository(Path::new("/r/zed"), "zed", None, false)
        .unwrap();
    let app = store
        .ensure_repository(Path::new("/r/app"), "app", None, false)
        .unwrap();
    for repo in [zed.id, app.id] {
        store
            .write_batch(repo, &[lines_file("z.py", &["x = needle", "needle()"])])
            .unwrap();
        store
            .write_batch(repo, &[lines_file("a.py", &["needle = 1"])])
            .unwrap();
    }
    for mode in [SearchMode::Exact, SearchMode::Regex] {
        let hits = store
            .search(&SearchRequest {
                query: "needle".into(),
                limit: 3,
                mode,
                ..Default::default()
            })
            .unwrap();
        let places: Vec<(&str, &str, u32)> = hits
            .iter()
            .map(|h| (h.repository.as_str(), h.path.as_str(), h.line))
            .collect();
        assert_eq!(
            places,
            [("app", "a.py", 1), ("app", "z.py", 1), ("app", "z.py", 2)],
            "{mode:?}"
        );
    }
}

/// Scans longer than a backend's page (PostgreSQL reads 512 chunks at a time) report every
/// match in place order, narrowed by a whole word (exact) or not narrowed at all (regex).
pub(crate) fn scans_keep_their_order_across_pages(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r/app"), "app", None, false)
        .unwrap();
    let needles = [0, 517, 1198, 1199];
    // Written in reverse, three chunks a file, 1,200 files.
    let files: Vec<FileOp> = (0..1200)
        .rev()
        .map(|i| {
            let middle = if needles.contains(&i) {
                "x = needle7 + 1"
            } else {
                "y = 2"
            };
            lines_file(&format!("f{i:04}.py"), &["a = 1", middle, "b = 3"])
        })
        .collect();
    store.write_batch(repo.id, &files).unwrap();
    let expected: Vec<String> = needles.iter().map(|i| format!("f{i:04}.py")).collect();
    for (mode, query) in [
        (SearchMode::Exact, "= needle7 +"),
        (SearchMode::Regex, r"needle\d"),
    ] {
        let hits = store
            .search(&SearchRequest {
                query: query.into(),
                limit: 10,
                mode,
                ..Default::default()
            })
            .unwrap();
        let places: Vec<(String, u32)> = hits.iter().map(|h| (h.path.clone(), h.line)).collect();
        let want: Vec<(String, u32)> = expected.iter().map(|p| (p.clone(), 2)).collect();
        assert_eq!(places, want, "{mode:?}");
    }
}

/// Regex searches narrowed by the words their literals require find what a scan of every
/// line finds: words cut off at a literal's ends, inside identifiers, in other cases.
pub(crate) fn regexes_report_every_match_through_their_prefilter(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r/app"), "app", None, false)
        .unwrap();
    let lines = [
        "conn.set_timeout(5)",
        "fn read_timeout(x: u32) {}",
        "fn read_timeouts(x: u32) {}",
        "fn readTimeout(x) {}",
        "websocket.settimeout(3)",
        "socket.settimeout(3)",
        "sock.SetTimeout(3)",
        "f.open(p).read(n)",
        "f.reopen(p).reader(n)",
        "nothing to see here",
        "x = socket.settimeout",
    ];
    for (i, line) in lines.iter().enumerate() {
        let path = format!("f{i}.py");
        store
            .write_batch(repo.id, &[lines_file(&path, &[line])])
            .unwrap();
    }
    for pattern in [
        r"fn \w+_timeout\(",
        r"_timeout",
        r"socket\.settimeout",
        r"\.open\(.*\.read\(",
        r"(read|set)_?[Tt]imeouts?\(",
        r"(?i)settimeout",
        r"\.(re)?open\(",
        r"^socket\.settimeout\(",
        r"\s+socket\.settimeout$",
        r"(?m)^sock\.SetTimeout\(\d\)$",
        r"[ .]settimeout[ (]",
        r"\bsocket\.settimeout",
    ] {
        let re = regex::Regex::new(pattern).unwrap();
        let mut expected: Vec<String> = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| re.is_match(l))
            .map(|(i, _)| format!("f{i}.py"))
            .collect();
        expected.sort();
        assert!(!expected.is_empty(), "{pattern} matches something");
        assert_eq!(
            found(&store, pattern, SearchMode::Regex),
            expected,
            "{pattern}"
        );
    }
    // A word too long to be indexed narrows nothing: the literal is still found.
    let long = "a".repeat(150);
    store
        .write_batch(
            repo.id,
            &[lines_file("long.py", &[&format!("v = {long}.y")])],
        )
        .unwrap();
    assert_eq!(
        found(&store, &format!(" {long}."), SearchMode::Exact),
        ["long.py"]
    );
    assert_eq!(
        found(&store, &format!(r"\s{long}\."), SearchMode::Regex),
        ["long.py"]
    );
}

pub(crate) fn ties_at_the_cut_are_settled_by_place(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    // Copies of one file score the same: more of them than the candidates a search reads,
    // written last-first, and one better chunk.
    let copies: Vec<FileOp> = (0..120)
        .rev()
        .map(|i| lines_file(&format!("copy{i:03}.py"), &["retry the upload"]))
        .collect();
    store.write_batch(repo.id, &copies).unwrap();
    store
        .write_batch(
            repo.id,
            &[lines_file("best.py", &["retry upload retry upload"])],
        )
        .unwrap();
    for limit in [1, 3, 50] {
        let hits = store
            .search(&SearchRequest {
                query: "retry upload".into(),
                limit,
                ..Default::default()
            })
            .unwrap();
        let paths: Vec<&str> = hits.iter().map(|h| h.path.as_str()).collect();
        let mut want = vec!["best.py".to_string()];
        want.extend((0..limit - 1).map(|i| format!("copy{i:03}.py")));
        assert_eq!(paths, want, "limit {limit}");
    }
}

pub(crate) fn state_values_round_trip(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    assert_eq!(store.state("paused").unwrap(), None);
    store.set_state("paused", "true").unwrap();
    store.set_state("paused", "false").unwrap();
    assert_eq!(store.state("paused").unwrap().as_deref(), Some("false"));
    // Per-worker values are found by their key's prefix, and only those.
    for key in ["m@b", "m", "m@a", "mz", "l", "m@", "n@a"] {
        store.set_state(key, &format!("v-{key}")).unwrap();
    }
    let found = store.states_with_prefix("m@").unwrap();
    let want: Vec<(String, String)> = ["m@", "m@a", "m@b"]
        .iter()
        .map(|k| (k.to_string(), format!("v-{k}")))
        .collect();
    assert_eq!(found, want);
    assert!(store.states_with_prefix("q").unwrap().is_empty());
    let every = store.states_with_prefix("").unwrap();
    for key in ["paused", "m@b", "m", "m@a", "mz", "l", "m@", "n@a"] {
        assert!(every.iter().any(|(k, _)| k == key), "{key} in {every:?}");
    }
}

pub(crate) fn sync_state_round_trips(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let repo = store
        .ensure_repository(Path::new("/r"), "r", None, false)
        .unwrap();
    let state = SyncState {
        state: RepoState::Failed,
        failures: 2,
        next_retry_ms: Some(5),
        missing_since_ms: None,
        watch: WatchState::Polling,
        size: Some(1234),
        last_modified_ms: Some(9),
        auto: true,
    };
    store.set_sync_state(repo.id, &state).unwrap();
    store
        .record_sync(repo.id, None, Some("disk on fire"))
        .unwrap();
    let info = store.repository_state(repo.id).unwrap().unwrap();
    assert_eq!(info.sync, state);
    assert_eq!(info.last_error.as_deref(), Some("disk on fire"));
    assert_eq!(info.last_sync, None);
    let unfinished = store.unfinished_first_syncs().unwrap();
    assert!(unfinished.is_empty(), "a failed repository is not waiting");
    let result = serde_json::json!({"files": 1});
    store.record_sync(repo.id, Some(&result), None).unwrap();
    let info = store.repository_state(repo.id).unwrap().unwrap();
    assert_eq!((info.last_result, info.last_error), (Some(result), None));
    assert!(info.last_sync.is_some());
}

pub(crate) fn one_sync_of_a_repository_at_a_time(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(dir.path()));
    let first = store.lock_repository(7).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = {
        let store = store.clone();
        std::thread::spawn(move || {
            let _second = store.lock_repository(7).unwrap();
            let _ = tx.send(());
        })
    };
    // Another repository is not held up.
    drop(store.lock_repository(8).unwrap());
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

pub(crate) fn a_busy_repository_is_reported_not_waited_for(open: Open) {
    let dir = tempfile::tempdir().unwrap();
    let store = std::sync::Arc::new(open(dir.path()));
    let repo = store
        .ensure_repository(Path::new("/busy"), "busy", None, false)
        .unwrap();
    let other = store
        .ensure_repository(Path::new("/free"), "free", None, false)
        .unwrap();
    let first = store.lock_repository(repo.id).unwrap();
    // From another thread too (another sync in this process).
    let busy = {
        let store = store.clone();
        std::thread::spawn(move || store.try_lock_repository(repo.id).unwrap().is_none())
    };
    assert!(busy.join().unwrap(), "a held repository is busy");
    assert!(store.try_lock_repository(repo.id).unwrap().is_none());
    let free = store.try_lock_repository(other.id).unwrap();
    assert!(free.is_some(), "another repository is not held up");
    drop(first);
    let again = store.try_lock_repository(repo.id).unwrap();
    assert!(again.is_some(), "free once the first sync is done");
    // And a held try-lock blocks a waiting lock like any other.
    assert!(store.try_lock_repository(repo.id).unwrap().is_none());
    drop(again);
    drop(store.lock_repository(repo.id).unwrap());
}
