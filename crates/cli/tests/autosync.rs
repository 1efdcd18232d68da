//! Auto-sync through real processes: `codeintel daemon` with short intervals on real trees,
//! observed with `auto-sync-status --json` and `search`.

mod common;

use common::{json, status, stderr, wait_for, Sandbox};
use serde_json::Value;
use std::time::{Duration, Instant};

fn repo<'a>(s: &'a Value, name: &str) -> Option<&'a Value> {
    s["repositories"]
        .as_array()?
        .iter()
        .find(|r| r["name"] == name)
}

fn all_synced(s: &Value, names: &[&str]) -> bool {
    names
        .iter()
        .all(|n| repo(s, n).is_some_and(|r| r["state"] == "synced"))
}

/// Paths of chunks holding `query` literally.
fn search_paths(sb: &Sandbox, query: &str) -> Vec<String> {
    let out = sb.run(&["search", "--json", "--mode", "exact", query]);
    if !out.status.success() {
        eprintln!("search failed: {}", String::from_utf8_lossy(&out.stderr));
        return Vec::new();
    }
    json(&out)
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| h["path"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// A repository of `files` python files.
fn make_repo(sb: &Sandbox, name: &str, ext: &str, files: usize) {
    sb.mkdir(&format!("{name}/.git"));
    for i in 0..files {
        let body: String = (0..20)
            .map(|j| format!("def {name}_fn_{i}_{j}(x):\n    return x + {j}\n\n"))
            .collect();
        sb.write(&format!("{name}/src/m{i}.{ext}"), &body);
    }
}

#[test]
fn startup_syncs_in_priority_order_within_the_concurrency_bound() {
    let sb = Sandbox::new();
    make_repo(&sb, "rusty", "rs", 150);
    make_repo(&sb, "gopher", "go", 150);
    make_repo(&sb, "snake", "py", 150);
    make_repo(&sb, "lizard", "js", 150);
    // Long intervals: only the startup scan runs, so every last_sync is from the first pass.
    let daemon = sb.start_daemon(&[
        ("AUTO_SYNC_MAX_CONCURRENT", "1"),
        ("AUTO_SYNC_PRIORITY_LANGUAGES", "go,python"),
        ("AUTO_SYNC_SCAN_INTERVAL", "3600"),
        ("AUTO_SYNC_INTERVAL", "3600"),
    ]);
    let mut max_active = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    let last = loop {
        let s = status(&sb);
        max_active = max_active.max(s["active_syncs"].as_u64().unwrap());
        if all_synced(&s, &["rusty", "gopher", "snake", "lizard"]) {
            break s;
        }
        assert!(Instant::now() < deadline, "not all synced: {s:#}");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(
        max_active <= 1,
        "saw {max_active} syncs at once with max_concurrent=1"
    );
    let mut order: Vec<(String, String)> = last["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["last_sync"].as_str().unwrap().to_string(),
                r["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    order.sort();
    let names: Vec<&str> = order.iter().map(|(_, n)| n.as_str()).collect();
    // go, then python, then the others (js and rust: same rank, same size class).
    assert_eq!(&names[..2], ["gopher", "snake"], "{order:?}");
    assert_eq!(last["config"]["max_concurrent"], 1);
    assert_eq!(last["running"], true);
    assert_eq!(last["syncer_pid"], daemon.pid());
    assert!(last["metrics"]["syncs_succeeded"].as_u64().unwrap() >= 4);
    let exit = daemon.terminate();
    assert!(exit.success(), "daemon exit: {exit:?}");
    let after = status(&sb);
    assert_eq!(after["running"], false);
}

#[test]
fn new_repositories_edits_and_restarts_are_picked_up() {
    let sb = Sandbox::new();
    make_repo(&sb, "first", "py", 3);
    let daemon = sb.start_daemon(&[]);
    wait_for(&sb, 60, "first synced and watched", |s| {
        repo(s, "first").is_some_and(|r| r["state"] == "synced" && r["watched"] == true)
    });

    // A new repository is found by the next scan (4 files: one is deleted below, and a
    // folder with fewer than 3 code files is no repository).
    make_repo(&sb, "second", "py", 4);
    wait_for(&sb, 30, "second synced", |s| all_synced(s, &["second"]));

    // An edit in a watched repository is searchable within 2 s.
    sb.write(
        "first/src/m0.py",
        "def freshly_edited_marker():\n    return 1\n",
    );
    let edited = Instant::now();
    loop {
        if search_paths(&sb, "freshly_edited_marker") == ["src/m0.py"] {
            break;
        }
        assert!(
            edited.elapsed() < Duration::from_secs(2),
            "edit not searchable within 2 s"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
    assert!(status(&sb)["metrics"]["watcher_events"].as_u64().unwrap() >= 1);

    // Changes made while nothing runs are found after a restart.
    assert!(daemon.terminate().success());
    sb.write("second/src/m1.py", "def changed_while_down():\n    pass\n");
    std::fs::remove_file(sb.tree().join("second/src/m2.py")).unwrap();
    let _daemon = sb.start_daemon(&[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = search_paths(&sb, "changed_while_down") == ["src/m1.py"];
        let gone = search_paths(&sb, "second_fn_2_3").is_empty();
        if found && gone {
            break;
        }
        if Instant::now() >= deadline {
            let log = std::fs::read_to_string(sb.root().join("daemon.log")).unwrap_or_default();
            panic!(
                "offline changes not picked up (found {found}, gone {gone})\n{:#}\n{log}",
                status(&sb)
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pause_stops_new_work_and_resume_continues() {
    let sb = Sandbox::new();
    make_repo(&sb, "one", "py", 3);
    let _daemon = sb.start_daemon(&[]);
    wait_for(&sb, 60, "one synced", |s| all_synced(s, &["one"]));
    let out = sb.run(&["auto-sync-pause"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(status(&sb)["paused"], true);
    std::thread::sleep(Duration::from_millis(1000));
    // While paused, a new repository is discovered but not synced.
    make_repo(&sb, "two", "py", 3);
    std::thread::sleep(Duration::from_secs(3));
    let s = status(&sb);
    assert_eq!(s["paused"], true);
    assert_eq!(s["enabled"], true);
    assert!(
        repo(&s, "two").is_none_or(|r| r["state"] != "synced"),
        "{s:#}"
    );
    assert!(search_paths(&sb, "two_fn_1_1").is_empty());

    let out = sb.run(&["auto-sync-resume"]);
    assert!(out.status.success());
    wait_for(&sb, 30, "two synced after resume", |s| {
        all_synced(s, &["two"]) && s["paused"] == false
    });
    assert_eq!(search_paths(&sb, "two_fn_1_1"), ["src/m1.py"]);
}

#[test]
fn a_failing_repository_shows_its_error_and_is_retried() {
    let sb = Sandbox::new();
    make_repo(&sb, "good", "py", 3);
    make_repo(&sb, "broken", "py", 3);
    let _daemon = sb.start_daemon(&[("CODEINTEL_TEST_FAIL_REPOS", "broken")]);
    let s = wait_for(&sb, 60, "broken failed and good synced", |s| {
        all_synced(s, &["good"]) && repo(s, "broken").is_some_and(|r| r["state"] == "failed")
    });
    let broken = repo(&s, "broken").unwrap();
    assert!(
        broken["last_error"]
            .as_str()
            .unwrap()
            .contains("injected failure"),
        "{broken}"
    );
    assert_eq!(broken["failures"], 1);
    // The retry is scheduled with backoff (5 minutes for the first failure), not hammered.
    let next = broken["next_retry"].as_str().expect("retry scheduled");
    let next = humantime::parse_rfc3339(next).unwrap();
    let wait = next
        .duration_since(std::time::SystemTime::now())
        .unwrap_or_default();
    assert!(
        wait > Duration::from_secs(240) && wait <= Duration::from_secs(300),
        "{wait:?}"
    );
    assert!(s["metrics"]["syncs_failed"].as_u64().unwrap() >= 1);
    // A manual scan retries at once... only when the backoff is over; the failure count stays.
    std::thread::sleep(Duration::from_secs(2));
    let again = status(&sb);
    assert_eq!(
        repo(&again, "broken").unwrap()["failures"],
        1,
        "retried before its backoff"
    );
}

#[test]
fn a_scheduler_that_panics_is_started_again_and_finishes_the_work() {
    let sb = Sandbox::new();
    make_repo(&sb, "first", "py", 3);
    let log = sb.root().join("daemon.log");
    let _daemon = sb.start_daemon_logged(&[("CODEINTEL_TEST_SCHEDULER_PANIC", "first")], &log);
    // The panic came as the first sync ended, before its state was saved: the new scheduler
    // syncs it again from the store's "syncing", and then keeps working (a new repository).
    wait_for(&sb, 60, "first synced after the panic", |s| {
        all_synced(s, &["first"])
    });
    make_repo(&sb, "second", "py", 3);
    wait_for(&sb, 60, "second found and synced", |s| {
        all_synced(s, &["first", "second"])
    });
    let log = std::fs::read_to_string(&log).unwrap();
    assert!(log.contains("injected scheduler panic"), "{log}");
    assert!(log.contains("starting it again"), "{log}");
    let s = status(&sb);
    assert!(s["metrics"]["errors"].as_u64().unwrap() >= 1, "{s}");
}

/// A sync that ends while the store cannot be read keeps its outcome and records it once the
/// store answers again (2 s later): without that the repository stayed "syncing" until a
/// scan happened to sync it again, and here scans are an hour apart.
#[test]
fn an_outcome_the_store_could_not_take_is_recorded_when_it_can() {
    let sb = Sandbox::new();
    make_repo(&sb, "first", "py", 3);
    let log = sb.root().join("daemon.log");
    let _daemon = sb.start_daemon_logged(
        &[
            ("CODEINTEL_TEST_STORE_AWAY_AT_DONE", "first"),
            ("AUTO_SYNC_SCAN_INTERVAL", "3600"),
            ("AUTO_SYNC_INTERVAL", "3600"),
            ("AUTO_SYNC_AUTO_WATCH", "false"),
        ],
        &log,
    );
    let s = wait_for(&sb, 60, "first synced", |s| all_synced(s, &["first"]));
    let first = repo(&s, "first").unwrap();
    assert!(first["last_sync"].is_string(), "{first}");
    assert_eq!(s["metrics"]["syncs_succeeded"], 1, "{s}");
}

#[test]
fn two_processes_never_sync_at_once_and_the_survivor_takes_over() {
    let sb = Sandbox::new();
    make_repo(&sb, "shared", "py", 3);
    let first = sb.start_daemon(&[]);
    let s = wait_for(&sb, 60, "shared synced", |s| all_synced(s, &["shared"]));
    assert_eq!(s["syncer_pid"], first.pid());
    let second = sb.start_daemon(&[]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        status(&sb)["syncer_pid"],
        first.pid(),
        "the second daemon must wait"
    );

    // kill -9 the syncer: the other one takes over within seconds and keeps things fresh.
    let first_pid = first.pid();
    drop(first);
    let s = wait_for(&sb, 15, "takeover", |s| s["syncer_pid"] == second.pid());
    assert_ne!(s["syncer_pid"], first_pid);
    make_repo(&sb, "later", "py", 3);
    wait_for(&sb, 30, "later synced by the survivor", |s| {
        all_synced(s, &["later"])
    });
}

#[test]
fn a_burst_of_changes_becomes_a_few_batched_syncs() {
    let sb = Sandbox::new();
    make_repo(&sb, "burst", "py", 3);
    let _daemon = sb.start_daemon(&[]);
    let before = wait_for(&sb, 60, "burst watched", |s| {
        repo(s, "burst").is_some_and(|r| r["watched"] == true)
    });
    let syncs_before = before["metrics"]["syncs_succeeded"].as_u64().unwrap();
    // Like a `git checkout` of another branch: thousands of files change at once.
    for i in 0..3000 {
        sb.write(
            &format!("burst/gen/f{i}.py"),
            &format!("def burst_marker_{i}():\n    pass\n"),
        );
    }
    let s = wait_for(&sb, 60, "all burst files indexed", |s| {
        repo(s, "burst").is_some_and(|r| r["files"] == 3003)
    });
    let syncs = s["metrics"]["syncs_succeeded"].as_u64().unwrap() - syncs_before;
    // One sync per debounce window at most (the writes here take a while), never one per file.
    assert!(syncs <= 60, "{syncs} syncs for a burst of 3000 files");
    assert_eq!(search_paths(&sb, "burst_marker_2999"), ["gen/f2999.py"]);
}

#[test]
fn a_vanished_repository_is_marked_missing_and_keeps_its_index() {
    let sb = Sandbox::new();
    make_repo(&sb, "stays", "py", 3);
    make_repo(&sb, "leaves", "py", 3);
    let _daemon = sb.start_daemon(&[]);
    wait_for(&sb, 60, "both synced", |s| {
        all_synced(s, &["stays", "leaves"])
    });
    std::fs::rename(sb.tree().join("leaves"), sb.root().join("moved-away")).unwrap();
    let s = wait_for(&sb, 30, "leaves missing", |s| {
        repo(s, "leaves").is_some_and(|r| r["state"] == "missing")
    });
    // (It may be in a periodic re-check right now: queued or syncing, but not missing.)
    assert_ne!(repo(&s, "stays").unwrap()["state"], "missing");
    // Within the grace period the index is kept (the folder may come back).
    assert_eq!(search_paths(&sb, "leaves_fn_1_1"), ["src/m1.py"]);
    std::fs::rename(sb.root().join("moved-away"), sb.tree().join("leaves")).unwrap();
    wait_for(&sb, 30, "leaves back", |s| all_synced(s, &["leaves"]));
}

/// Without `AUTO_SYNC_PATHS` a server indexes the folder it starts in, and says so; with
/// auto-sync off it indexes nothing, and says nothing of it.
#[test]
fn the_first_run_note_is_only_given_when_auto_sync_will_index() {
    let sb = Sandbox::new();
    let on = sb.run(&["serve"]);
    assert!(
        stderr(&on).contains("indexing the repositories under"),
        "{}",
        stderr(&on)
    );
    // (Each ends at once: stdin is closed before an MCP client says anything.)
    let off = sb.run_with(&[("AUTO_SYNC_ENABLED", "false")], &["serve"]);
    assert!(
        !stderr(&off).contains("AUTO_SYNC_PATHS"),
        "{}",
        stderr(&off)
    );
}

/// The daemon runs for days beside the person's work: its resident memory must not be padded
/// with transparent huge pages (a 2 MB page counts whole however little of it is used).
#[cfg(target_os = "linux")]
#[test]
fn a_running_daemon_asks_for_no_transparent_huge_pages() {
    let sb = Sandbox::new();
    make_repo(&sb, "first", "py", 3);
    let daemon = sb.start_daemon(&[]);
    wait_for(&sb, 60, "first synced", |s| all_synced(s, &["first"]));
    let status = std::fs::read_to_string(format!("/proc/{}/status", daemon.pid()))
        .expect("the daemon's /proc status");
    let thp = status
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .expect("this kernel reports THP_enabled (Linux 5.0 or newer)");
    assert_eq!(
        thp.trim(),
        "0",
        "transparent huge pages are on for the daemon"
    );
}
