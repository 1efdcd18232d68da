//! Shared helpers for integration tests: build real trees in temp dirs and run the real binary
//! with an isolated environment (its own data dir and env file, never the developer's).

#![allow(dead_code)]

pub mod provider;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_codeintel"))
}

/// Whether this run puts every sandbox's index on PostgreSQL.
pub fn postgres_backend() -> bool {
    std::env::var("CODEINTEL_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

/// A new database for the sandbox at `dir` on the test cluster, as a URL.
fn sandbox_database(dir: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let admin = std::env::var("CODEINTEL_TEST_POSTGRES_URL").expect(
        "CODEINTEL_TEST_BACKEND=postgres needs CODEINTEL_TEST_POSTGRES_URL (scripts/test.sh)",
    );
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut hasher);
    fresh_database(&admin, &format!("sandbox_{:016x}", hasher.finish()))
}

/// A fresh database `name` (dropped first if it is there) on the test cluster whose
/// superuser URL is `admin`, as a URL without a password.
pub fn fresh_database(admin: &str, name: &str) -> String {
    // On a thread of its own: the synchronous client cannot run inside an async test.
    let at = admin.to_string();
    let sql = [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ];
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&at, postgres::NoTls).expect("test cluster");
        for sql in sql {
            client.batch_execute(&sql).expect("create the database");
        }
    })
    .join()
    .expect("the test cluster answered");
    // postgresql://user@/postgres?host=DIR → postgresql://user@/NAME?host=DIR
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let (server, _) = base.rsplit_once('/').expect("a database in the URL");
    format!("{server}/{name}?{query}")
}

/// A temp directory holding a scan tree (`tree/`), a data dir and a home, plus helpers.
///
/// Its commands use the embedded store, or with `CODEINTEL_TEST_BACKEND=postgres` a fresh
/// database of its own on the test cluster (`CODEINTEL_TEST_POSTGRES_URL`): `scripts/test.sh`
/// runs the integration suites once per backend with the same assertions.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    /// `CODEINTEL_STORE` for its commands, when not the embedded store.
    store: Option<String>,
}

impl Sandbox {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir_all(dir.path().join("tree")).expect("tree dir");
        fs::create_dir_all(dir.path().join("home")).expect("home dir");
        let store = postgres_backend().then(|| sandbox_database(dir.path()));
        Sandbox { dir, store }
    }

    /// The PostgreSQL store of this sandbox's commands, if they use one.
    pub fn postgres_store(&self) -> Option<&str> {
        self.store.as_deref()
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// The scan tree, canonical (temp dirs may sit behind a symlink, e.g. on macOS).
    pub fn tree(&self) -> PathBuf {
        fs::canonicalize(self.dir.path().join("tree")).expect("canonical tree")
    }

    /// Writes `content` to `rel` under the tree, creating parent folders.
    pub fn write(&self, rel: &str, content: &str) -> PathBuf {
        let path = self.tree().join(rel);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, content).expect("write");
        path
    }

    pub fn mkdir(&self, rel: &str) -> PathBuf {
        let path = self.tree().join(rel);
        fs::create_dir_all(&path).expect("mkdir");
        path
    }

    /// Writes `n` code files `m0.EXT..` of `bytes` bytes each into `dir` under the tree.
    pub fn code_files(&self, dir: &str, ext: &str, n: usize, bytes: usize) {
        for i in 0..n {
            let mut body = format!("# {i}\n");
            body.push_str(&"x".repeat(bytes.saturating_sub(body.len())));
            body.truncate(bytes);
            self.write(&format!("{dir}/m{i}.{ext}"), &body);
        }
    }

    /// A command for the binary with a clean, isolated environment.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::new(bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.root().join("home"))
            .env("CODEINTEL_DATA_DIR", self.root().join("data"))
            .env("CODEINTEL_ENV_FILE", self.root().join("codeintel.env"))
            // No test downloads the embedding model; those that embed say which provider.
            .env("CODEINTEL_EMBED_PROVIDER", "none")
            .current_dir(self.root());
        if let Some(url) = &self.store {
            cmd.env("CODEINTEL_STORE", url);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run codeintel")
    }

    /// Runs the binary with extra environment variables.
    pub fn run_with(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let mut cmd = self.cmd();
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.args(args).output().expect("run codeintel")
    }

    /// Starts `codeintel daemon` with a fast-cycling auto-sync over the sandbox tree (`extra`
    /// added to its environment); its log goes to `daemon.log`, shown when a wait times out.
    pub fn start_daemon(&self, extra: &[(&str, &str)]) -> Daemon {
        self.start_daemon_logged(extra, &self.root().join("daemon.log"))
    }

    /// [`Sandbox::start_daemon`] with its log in `log`.
    pub fn start_daemon_logged(&self, extra: &[(&str, &str)], log: &Path) -> Daemon {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut cmd = self.cmd();
        cmd.env("AUTO_SYNC_PATHS", self.tree())
            .env("AUTO_SYNC_SCAN_INTERVAL", "1")
            .env("AUTO_SYNC_INTERVAL", "1");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let child = cmd
            .args(["daemon", "-v"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn daemon");
        Daemon(child)
    }

    /// Three small Python files that share no words with the queries that mean them
    /// ("storage network failed", "value added tax on the price", "navigation bar").
    pub fn meaning_tree(&self) {
        self.write(
            "app/net.py",
            "def push_blob_again(blob):\n    \"\"\"Send the object to storage once more after the network failed.\"\"\"\n    return client.put(blob)\n",
        );
        self.write(
            "app/tax.py",
            "def compute_tax(amount):\n    \"\"\"Add value-added tax to a price.\"\"\"\n    return amount * 1.2\n",
        );
        self.write(
            "app/menu.py",
            "def render_menu(items):\n    \"\"\"Draw the navigation bar at the top of the page.\"\"\"\n    return ''.join(items)\n",
        );
    }
}

/// The `path` of each hit of a successful `search --json`.
pub fn hit_paths(out: &Output) -> Vec<String> {
    assert!(out.status.success(), "{}", stderr(out));
    json(out)
        .as_array()
        .expect("an array of hits")
        .iter()
        .map(|h| h["path"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parses stdout as JSON, failing the test with stderr shown when it is not.
pub fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

/// A daemon process, killed when dropped.
pub struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Daemon {
    pub fn pid(&self) -> u32 {
        self.0.id()
    }

    /// SIGKILL (kill -9), waited for.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, then wait for a graceful exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.0.try_wait().expect("wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "daemon did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `auto-sync-status --json`, which must succeed.
pub fn status(sb: &Sandbox) -> serde_json::Value {
    let out = sb.run(&["auto-sync-status", "--json"]);
    assert!(out.status.success(), "status failed: {}", stderr(&out));
    json(&out)
}

/// Polls `check` on the status until it holds or `secs` pass.
pub fn wait_for(
    sb: &Sandbox,
    secs: u64,
    what: &str,
    check: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let s = status(sb);
        if check(&s) {
            return s;
        }
        if Instant::now() >= deadline {
            let log = fs::read_to_string(sb.root().join("daemon.log")).unwrap_or_default();
            panic!("timed out waiting for {what}; status: {s:#}\ndaemon log:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
