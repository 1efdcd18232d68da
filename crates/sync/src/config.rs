//! The auto-sync configuration: validated values, and partial updates from `configure`.

use codeintel_discovery::Language;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// A configuration value that cannot be used, naming the setting and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting}={value:?}: {reason}")]
pub struct ConfigError {
    /// The setting (a variable such as `AUTO_SYNC_SCAN_INTERVAL`, or a `configure` key).
    pub setting: String,
    /// The value as given.
    pub value: String,
    /// Why it cannot be used.
    pub reason: String,
}

impl ConfigError {
    /// An error about `setting`'s `value`.
    pub fn new(setting: &str, value: impl ToString, reason: &str) -> Self {
        ConfigError {
            setting: setting.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// One auto-sync setting as people and programs name it: its environment variable (and env
/// file key), its name in `configure_auto_sync`, the stored overrides and the status, and its
/// default as written in the env file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable (and env file key).
    pub env: &'static str,
    /// The name in `configure_auto_sync`, the stored overrides and the status.
    pub key: &'static str,
    /// The default, as written in an env file.
    pub default: &'static str,
}

/// Every auto-sync setting, in the order `.env.example` documents them: the one list the
/// environment, the env file and the overrides are read against.
pub const SETTINGS: [Setting; 10] = [
    Setting {
        env: "AUTO_SYNC_ENABLED",
        key: "enabled",
        default: "true",
    },
    Setting {
        env: "AUTO_SYNC_PATHS",
        key: "scan_paths",
        default: "",
    },
    Setting {
        env: "AUTO_SYNC_EXCLUDE",
        key: "exclude_patterns",
        default: "",
    },
    Setting {
        env: "AUTO_SYNC_SCAN_INTERVAL",
        key: "scan_interval",
        default: "3600",
    },
    Setting {
        env: "AUTO_SYNC_INTERVAL",
        key: "sync_interval",
        default: "300",
    },
    Setting {
        env: "AUTO_SYNC_MAX_CONCURRENT",
        key: "max_concurrent",
        default: "3",
    },
    Setting {
        env: "AUTO_SYNC_PRIORITY_LANGUAGES",
        key: "priority_languages",
        default: "python,javascript,typescript",
    },
    Setting {
        env: "AUTO_SYNC_SIZE_THRESHOLD",
        key: "size_threshold",
        default: "104857600",
    },
    Setting {
        env: "AUTO_SYNC_AUTO_WATCH",
        key: "auto_watch",
        default: "true",
    },
    Setting {
        env: "AUTO_SYNC_ON_STARTUP",
        key: "on_startup",
        default: "true",
    },
];

/// Comma-separated items, trimmed, empty ones dropped.
pub fn split_list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Accepts true/false, 1/0, yes/no and on/off, in any case.
pub fn parse_bool(text: &str) -> Result<bool, &'static str> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err("expected true/false, 1/0 or yes/no"),
    }
}

/// A whole number, at least 1 (intervals in seconds, concurrency).
pub fn parse_at_least_one(text: &str) -> Result<u64, &'static str> {
    match text.trim().parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number, at least 1"),
    }
}

/// A whole number of seconds, at least 1.
pub fn parse_seconds(text: &str) -> Result<u64, &'static str> {
    parse_at_least_one(text).map_err(|_| "expected a whole number of seconds, at least 1")
}

/// A byte size: a plain number of bytes, or a number with a unit. Units are binary, as the
/// default `104857600` = `100MB` shows: K/KB/KiB = 1024, M/MB/MiB = 1024², G, T likewise.
pub fn parse_size(text: &str) -> Result<u64, &'static str> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err("unknown size unit (use B, KB, MB, GB or TB)"),
    };
    let bad = "expected a size such as 104857600 or 100MB";
    if number.is_empty() {
        return Err(bad);
    }
    if let Ok(n) = number.parse::<u64>() {
        return n.checked_mul(multiplier).ok_or(bad);
    }
    let n: f64 = number.parse().map_err(|_| bad)?;
    let bytes = n * multiplier as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad);
    }
    Ok(bytes.round() as u64)
}

/// Language names, comma-separated, each once, in order.
pub fn parse_languages(text: &str) -> Result<Vec<Language>, String> {
    let mut out = Vec::new();
    for name in split_list(text) {
        let lang = name.parse::<Language>().map_err(|e| e.to_string())?;
        if !out.contains(&lang) {
            out.push(lang);
        }
    }
    Ok(out)
}

impl AutoSyncConfig {
    /// The configuration that `value` (an environment variable's value by its name, `None`
    /// when unset) gives, each setting at its default when unset; `path` turns a scan path as
    /// written (`~/x`) into a path. Errors name the variable and its value.
    pub fn from_variables(
        value: impl Fn(&str) -> Option<String>,
        path: impl Fn(&str) -> PathBuf,
    ) -> Result<AutoSyncConfig, ConfigError> {
        let get = |setting: &Setting| -> (String, &'static str) {
            (
                value(setting.env).unwrap_or_else(|| setting.default.to_string()),
                setting.env,
            )
        };
        let [enabled, paths, exclude, scan, sync, concurrent, languages, size, watch, startup] =
            &SETTINGS;
        let check = |(text, env): (String, &str),
                     parse: &dyn Fn(&str) -> Result<u64, &'static str>| {
            parse(&text).map_err(|reason| ConfigError::new(env, &text, reason))
        };
        let flag = |(text, env): (String, &str)| {
            parse_bool(&text).map_err(|reason| ConfigError::new(env, &text, reason))
        };
        let seconds = |v| check(v, &parse_seconds).map(Duration::from_secs);
        let (lang_text, lang_env) = get(languages);
        let config = AutoSyncConfig {
            enabled: flag(get(enabled))?,
            paths: split_list(&get(paths).0).map(&path).collect(),
            exclude: split_list(&get(exclude).0).map(str::to_string).collect(),
            scan_interval: seconds(get(scan))?,
            sync_interval: seconds(get(sync))?,
            max_concurrent: check(get(concurrent), &parse_at_least_one)? as usize,
            priority_languages: parse_languages(&lang_text)
                .map_err(|reason| ConfigError::new(lang_env, &lang_text, &reason))?,
            size_threshold: check(get(size), &parse_size)?,
            auto_watch: flag(get(watch))?,
            on_startup: flag(get(startup))?,
        };
        Ok(config)
    }
}

/// Everything the manager needs to know, validated. Built once by the caller, changed only
/// through [`AutoSyncConfig::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSyncConfig {
    /// Scan and sync on a schedule (manual scans work either way).
    pub enabled: bool,
    /// Folders scanned for repositories.
    pub paths: Vec<PathBuf>,
    /// Excludes added to the built-in ones.
    pub exclude: Vec<String>,
    /// Time between discovery scans.
    pub scan_interval: Duration,
    /// How often a synced repository is re-checked when no watcher covers it.
    pub sync_interval: Duration,
    /// Repositories synced at once.
    pub max_concurrent: usize,
    /// Languages whose repositories are synced first, in order.
    pub priority_languages: Vec<Language>,
    /// Repositories larger than this (bytes of code) are synced after all others.
    pub size_threshold: u64,
    /// Watch synced repositories for changes.
    pub auto_watch: bool,
    /// Scan and sync when the service starts.
    pub on_startup: bool,
}

impl Default for AutoSyncConfig {
    fn default() -> Self {
        AutoSyncConfig {
            enabled: true,
            paths: Vec::new(),
            exclude: Vec::new(),
            scan_interval: Duration::from_secs(3600),
            sync_interval: Duration::from_secs(300),
            max_concurrent: 3,
            priority_languages: vec![Language::Python, Language::JavaScript, Language::TypeScript],
            size_threshold: 104_857_600,
            auto_watch: true,
            on_startup: true,
        }
    }
}

/// A partial change, as `configure_auto_sync` receives it. Persisted (as overrides over the
/// env-file configuration) so a restart keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigUpdate {
    /// See [`AutoSyncConfig::enabled`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Absolute folders; replaces the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_paths: Option<Vec<String>>,
    /// Extra excludes; replaces the list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_patterns: Option<Vec<String>>,
    /// Seconds, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_interval: Option<i64>,
    /// Seconds, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<i64>,
    /// 1 to 64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<i64>,
    /// Language names, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_languages: Option<Vec<String>>,
    /// Bytes, at least 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_threshold: Option<i64>,
    /// See [`AutoSyncConfig::auto_watch`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_watch: Option<bool>,
}

impl ConfigUpdate {
    /// `other`'s fields over this one's.
    pub fn merged(mut self, other: &ConfigUpdate) -> ConfigUpdate {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f.clone(); } )* };
        }
        take!(
            enabled,
            scan_paths,
            exclude_patterns,
            scan_interval,
            sync_interval,
            max_concurrent,
            priority_languages,
            size_threshold,
            auto_watch
        );
        self
    }

    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        *self == ConfigUpdate::default()
    }
}

fn at_least_one(setting: &str, value: i64) -> Result<u64, ConfigError> {
    u64::try_from(value)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ConfigError::new(setting, value, "must be at least 1"))
}

impl AutoSyncConfig {
    /// This configuration with `update` applied, or the first invalid value. Scan paths must be
    /// absolute (`~` is expanded by the caller) and are not required to exist yet.
    pub fn apply(&self, update: &ConfigUpdate) -> Result<AutoSyncConfig, ConfigError> {
        let mut next = self.clone();
        if let Some(enabled) = update.enabled {
            next.enabled = enabled;
        }
        if let Some(paths) = &update.scan_paths {
            next.paths = paths
                .iter()
                .map(|p| {
                    let path = PathBuf::from(p.trim());
                    if path.is_absolute() {
                        Ok(path)
                    } else {
                        Err(ConfigError::new(
                            "scan_paths",
                            p,
                            "must be an absolute path",
                        ))
                    }
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(patterns) = &update.exclude_patterns {
            codeintel_discovery::Excludes::new(patterns)
                .map_err(|e| ConfigError::new("exclude_patterns", &e.pattern, &e.reason))?;
            next.exclude = patterns.clone();
        }
        if let Some(v) = update.scan_interval {
            next.scan_interval = Duration::from_secs(at_least_one("scan_interval", v)?);
        }
        if let Some(v) = update.sync_interval {
            next.sync_interval = Duration::from_secs(at_least_one("sync_interval", v)?);
        }
        if let Some(v) = update.max_concurrent {
            let n = at_least_one("max_concurrent", v)?;
            if n > 64 {
                return Err(ConfigError::new("max_concurrent", v, "must be at most 64"));
            }
            next.max_concurrent = n as usize;
        }
        if let Some(v) = update.size_threshold {
            next.size_threshold = at_least_one("size_threshold", v)?;
        }
        if let Some(langs) = &update.priority_languages {
            next.priority_languages = langs
                .iter()
                .map(|l| {
                    l.parse::<Language>()
                        .map_err(|e| ConfigError::new("priority_languages", l, &e.to_string()))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(w) = update.auto_watch {
            next.auto_watch = w;
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_variables_give_the_defaults_and_errors_name_the_variable() {
        let none =
            AutoSyncConfig::from_variables(|_: &str| None, |p: &str| PathBuf::from(p)).unwrap();
        assert_eq!(none, AutoSyncConfig::default());
        let set = |var: &'static str, value: &'static str| {
            move |v: &str| (v == var).then(|| value.to_string())
        };
        let c =
            AutoSyncConfig::from_variables(set("AUTO_SYNC_SIZE_THRESHOLD", "2MB"), |p: &str| {
                PathBuf::from(p)
            })
            .unwrap();
        assert_eq!(c.size_threshold, 2 << 20);
        for (var, value) in [
            ("AUTO_SYNC_SCAN_INTERVAL", "0"),
            ("AUTO_SYNC_MAX_CONCURRENT", "-1"),
            ("AUTO_SYNC_ENABLED", "perhaps"),
            ("AUTO_SYNC_PRIORITY_LANGUAGES", "python,cobol"),
        ] {
            let err = AutoSyncConfig::from_variables(set(var, value), |p: &str| PathBuf::from(p))
                .unwrap_err();
            assert_eq!((err.setting.as_str(), err.value.as_str()), (var, value));
        }
    }

    #[test]
    fn the_settings_table_names_every_configurable_setting() {
        let all = ConfigUpdate {
            enabled: Some(true),
            scan_paths: Some(vec![]),
            exclude_patterns: Some(vec![]),
            scan_interval: Some(1),
            sync_interval: Some(1),
            max_concurrent: Some(1),
            priority_languages: Some(vec![]),
            size_threshold: Some(1),
            auto_watch: Some(true),
        };
        let json = serde_json::to_value(&all).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        let mut table: Vec<&str> = SETTINGS
            .iter()
            .map(|s| s.key)
            .filter(|k| *k != "on_startup")
            .collect();
        table.sort_unstable();
        assert_eq!(
            keys, table,
            "configure's fields and the settings table differ"
        );
        assert!(SETTINGS.iter().all(|s| s.env.starts_with("AUTO_SYNC_")));
    }

    #[test]
    fn updates_validate_and_merge() {
        let base = AutoSyncConfig::default();
        let update = ConfigUpdate {
            scan_paths: Some(vec!["/srv/code".into()]),
            max_concurrent: Some(5),
            priority_languages: Some(vec!["go".into(), "rust".into()]),
            ..ConfigUpdate::default()
        };
        let next = base.apply(&update).unwrap();
        assert_eq!(next.paths, [PathBuf::from("/srv/code")]);
        assert_eq!(next.max_concurrent, 5);
        assert_eq!(next.priority_languages, [Language::Go, Language::Rust]);
        assert_eq!(next.scan_interval, base.scan_interval);

        for bad in [
            ConfigUpdate {
                scan_interval: Some(0),
                ..Default::default()
            },
            ConfigUpdate {
                max_concurrent: Some(-3),
                ..Default::default()
            },
            ConfigUpdate {
                max_concurrent: Some(1_000_000),
                ..Default::default()
            },
            ConfigUpdate {
                scan_paths: Some(vec!["relative/dir".into()]),
                ..Default::default()
            },
            ConfigUpdate {
                priority_languages: Some(vec!["cobol".into()]),
                ..Default::default()
            },
            ConfigUpdate {
                exclude_patterns: Some(vec!["a[".into()]),
                ..Default::default()
            },
        ] {
            assert!(base.apply(&bad).is_err(), "{bad:?}");
        }
        let merged = update.merged(&ConfigUpdate {
            max_concurrent: Some(2),
            ..Default::default()
        });
        assert_eq!(merged.max_concurrent, Some(2));
        assert!(merged.scan_paths.is_some());
    }
}
