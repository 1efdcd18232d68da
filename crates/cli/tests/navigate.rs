//! `codeintel refs`, `callers` and `callees` through the real binary: answers, bad input, and
//! the graph after edits, renames and deletions are synced.

mod common;

use common::{json, stderr, Sandbox};
use serde_json::Value;

fn index(sb: &Sandbox) {
    let root = sb.tree().join("shop");
    let out = sb.run(&["index", "--json", root.to_str().unwrap()]);
    assert!(out.status.success(), "index failed: {}", stderr(&out));
}

fn refs(sb: &Sandbox, args: &[&str]) -> Vec<(String, u64, String, String)> {
    let mut all = vec!["refs", "--json"];
    all.extend_from_slice(args);
    let out = sb.run(&all);
    assert!(out.status.success(), "refs {args:?}: {}", stderr(&out));
    let mut sites: Vec<(String, u64, String, String)> = json(&out)
        .as_array()
        .expect("array of sites")
        .iter()
        .map(|s| {
            (
                s["path"].as_str().unwrap().to_string(),
                s["line"].as_u64().unwrap(),
                s["kind"].as_str().unwrap().to_string(),
                s["confidence"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    sites.sort();
    sites
}

fn graph(sb: &Sandbox, command: &str, args: &[&str]) -> Value {
    let mut all = vec![command, "--json"];
    all.extend_from_slice(args);
    let out = sb.run(&all);
    assert!(out.status.success(), "{command} {args:?}: {}", stderr(&out));
    json(&out)
}

fn names(node: &Value) -> Vec<String> {
    node["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["symbol"].as_str().unwrap().to_string())
        .collect()
}

fn site(path: &str, line: u64, kind: &str, confidence: &str) -> (String, u64, String, String) {
    (path.into(), line, kind.into(), confidence.into())
}

const PRICES: &str = "\
def tax(amount):
    return amount * 0.2


def total(items):
    return sum(items) + tax(sum(items))
";

const ORDERS: &str = "\
from shop.prices import total as order_total
# total(items) in a comment


def checkout(items):
    print(\"total(items) in a string\")
    return order_total(items)
";

#[test]
fn references_and_call_graphs_follow_edits_renames_and_deletions() {
    let sb = Sandbox::new();
    sb.mkdir("shop/.git");
    sb.write("shop/shop/prices.py", PRICES);
    sb.write("shop/shop/orders.py", ORDERS);
    index(&sb);

    assert_eq!(
        refs(&sb, &["total"]),
        vec![
            site("shop/orders.py", 1, "import", "exact"),
            site("shop/orders.py", 7, "call", "exact"),
        ]
    );
    let callers = graph(&sb, "callers", &["tax", "--depth", "2"]);
    assert_eq!(callers["symbol"], "tax");
    assert_eq!(names(&callers), ["total"]);
    assert_eq!(names(&callers["calls"][0]), ["checkout"]);
    let callees = graph(&sb, "callees", &["checkout"]);
    assert_eq!(names(&callees), ["total"], "print is defined nowhere");
    // Text output: a table of sites, a tree of calls.
    let out = sb.run(&["refs", "total"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("shop/shop/orders.py:7") && text.contains("exact"),
        "{text}"
    );
    let out = sb.run(&["callers", "tax", "--depth", "2"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("function tax") && text.contains("    function checkout"),
        "{text}"
    );

    // Edit: checkout calls tax directly instead.
    sb.write(
        "shop/shop/orders.py",
        "from shop.prices import tax\n\n\ndef checkout(items):\n    return tax(1)\n",
    );
    index(&sb);
    assert!(refs(&sb, &["total"]).is_empty());
    let callers = graph(&sb, "callers", &["tax"]);
    assert_eq!(
        names(&callers),
        ["checkout", "total"],
        "both exact: by path"
    );

    // Rename the callee's file: the import no longer resolves to it (it now names a module
    // that is gone), so the call is not an exact use any more.
    std::fs::rename(
        sb.tree().join("shop/shop/prices.py"),
        sb.tree().join("shop/shop/rates.py"),
    )
    .unwrap();
    index(&sb);
    assert_eq!(
        refs(&sb, &["tax"]),
        vec![site("shop/rates.py", 6, "call", "exact")]
    );

    // Delete the definition: nothing resolves to it, no stale edge remains.
    std::fs::remove_file(sb.tree().join("shop/shop/rates.py")).unwrap();
    index(&sb);
    assert!(refs(&sb, &["tax"]).is_empty());
    let out = sb.run(&["callers", "tax", "--json"]);
    assert!(out.status.success());
    assert_eq!(json(&out)["calls"], serde_json::json!([]));
    assert!(stderr(&out).contains("no definition named"));
}

#[test]
fn bad_navigation_input_is_a_one_line_error() {
    let sb = Sandbox::new();
    sb.mkdir("shop/.git");
    sb.write("shop/shop/prices.py", PRICES);
    index(&sb);
    // Refused by the argument parser (its error adds a usage hint).
    for (args, expect) in [
        (vec!["refs", "tax", "--limit", "0"], "--limit"),
        (vec!["callers", "tax", "--depth", "9"], "--depth"),
        (vec!["refs", "tax", "--line", "3"], "--path"),
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.starts_with("error:") && err.contains(expect),
            "{args:?}: {err}"
        );
    }
    for (args, expect) in [
        (
            vec!["refs", "tax", "--kind", "calls"],
            "unknown reference kind",
        ),
        (
            vec![
                "refs",
                "tax",
                "--repo",
                "shop",
                "--path",
                "shop/prices.py",
                "--line",
                "4",
            ],
            "no definition named `tax` at",
        ),
        (
            vec!["refs", "tax", "--path", "/elsewhere/x.py"],
            "not inside an indexed repository",
        ),
        (
            vec!["refs", "tax", "--repo", "nope"],
            "no indexed repository",
        ),
    ] {
        let out = sb.run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{args:?}: {err}");
    }
    // An unknown name is an empty answer with a note, not an error.
    let out = sb.run(&["refs", "no_such_name", "--json"]);
    assert!(out.status.success());
    assert_eq!(json(&out), serde_json::json!([]));
    assert!(stderr(&out).contains("no definition named"));
}
