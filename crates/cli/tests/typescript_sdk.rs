//! The MCP server through the official TypeScript SDK (`@modelcontextprotocol/sdk`), over stdio
//! and streamable HTTP: tests/node/mcp_interop.mjs does the talking, this builds its tree and
//! judges its exit. The SDK is installed by scripts/setup-node.sh (run by scripts/test.sh).

mod common;

use common::Sandbox;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The whole client run, servers included, is killed after this.
const LIMIT: Duration = Duration::from_secs(60);

#[test]
fn official_typescript_sdk_interoperates_over_both_transports() {
    let Some(sdk) = std::env::var_os("CODEINTEL_TEST_NODE_DIR") else {
        panic!("CODEINTEL_TEST_NODE_DIR is not set: run the suite with `bash scripts/test.sh`, which installs the TypeScript MCP SDK (scripts/setup-node.sh)");
    };
    let sb = Sandbox::new();
    sb.mkdir("interop/.git");
    sb.write(
        "interop/a.py",
        "def interop_marker_function():\n    return 42\n",
    );
    // b.py uses the marker: an import and a call, for find_references and get_call_graph.
    sb.write(
        "interop/b.py",
        "from a import interop_marker_function\n\n\ndef helper_b():\n    return interop_marker_function()\n",
    );
    sb.write("interop/c.py", "def helper_c():\n    pass\n");
    // More than a page of get_file (2000 lines), for paging by `next`.
    let long: String = (0..2500).map(|i| format!("value_{i} = {i}\n")).collect();
    sb.write("interop/long.py", &long);
    // A few hundred files, so that index_repository sends progress while it works.
    for i in 0..300 {
        sb.write(
            &format!("interop/many/m{i}.py"),
            &format!("def many_function_{i}():\n    return {i}\n"),
        );
    }

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/node/mcp_interop.mjs");
    let mut child = Command::new("node")
        .arg(script)
        .arg(common::bin())
        .arg(sb.tree())
        .arg(sb.root().join("data"))
        .arg(&sdk)
        .env("CODEINTEL_INTEROP_TIMEOUT", "50")
        .current_dir(sb.root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run node (scripts/test.sh needs Node 18+ on PATH)");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let stdout = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let stderr = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = stdout.join().expect("stdout reader");
    let stderr = stderr.join().expect("stderr reader");
    let Some(status) = status else {
        panic!("the TypeScript client did not finish within {LIMIT:?}:\n{stdout}\n{stderr}");
    };
    // Shown with --nocapture: the SDK version and any note the client made.
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        status.success(),
        "TypeScript client failed ({status}):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.lines().any(|l| l.starts_with("stdio: ok"))
            && stdout.lines().any(|l| l.starts_with("http: ok")),
        "{stdout}\n{stderr}"
    );
}
