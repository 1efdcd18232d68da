//! The auto-sync configuration: every setting defined once ([`SETTINGS`]), validated values,
//! and partial updates from `configure`.
//!
//! Each [`Setting`] row holds a setting's environment variable, its key (in
//! `configure_auto_sync`, the stored overrides and the status), its default, its help text, the
//! kind of value it takes (which is how its text is parsed and validated) and its
//! `auto-sync-config` flag. The environment, the CLI flags, the MCP schema and the status are
//! all read against that table, so a setting means and accepts the same everywhere.

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

/// The kind of value a setting takes: how its text is parsed and validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// true/false, 1/0, yes/no or on/off.
    Bool,
    /// Folders, comma-separated.
    Paths,
    /// Exclude patterns (names, globs, relative paths), comma-separated; each must compile.
    Patterns,
    /// A whole number from `min` to `max`, in `unit` (`""` for a plain count).
    Number {
        /// What is counted, as in "a whole number of seconds" (`""` for a plain count).
        unit: &'static str,
        /// The smallest value accepted.
        min: u64,
        /// The largest value accepted (`u64::MAX` for no upper bound).
        max: u64,
    },
    /// A byte size: a number of bytes, or a number with a unit (`100MB`).
    Size,
    /// Language names, comma-separated, in order.
    Languages,
}

/// How `codeintel auto-sync-config` sets a setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flag {
    /// It has no flag.
    None,
    /// `--long VALUE` (or `-short VALUE`), the value as the env file holds it. Folder and
    /// pattern flags are repeatable; their values are joined with commas.
    Value {
        /// The long name, without `--`.
        long: &'static str,
        /// The short name, if any.
        short: Option<char>,
        /// The placeholder in the help (`N`, `LIST`).
        value_name: &'static str,
    },
    /// A pair of switches: `--on` sets it to true, `--off` to false; they conflict.
    Switch {
        /// The switch that turns it on, without `--`.
        on: &'static str,
        /// Its help.
        on_help: &'static str,
        /// The switch that turns it off, without `--`.
        off: &'static str,
        /// Its help.
        off_help: &'static str,
    },
}

/// Where a setting can be changed and shown besides the environment and the env file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only the environment and the env file.
    EnvOnly,
    /// Also a [`ConfigUpdate`] field and a key of the status's `config` object.
    Config,
    /// Also a [`ConfigUpdate`] field; the status shows it at the top level.
    TopLevel,
}

/// One auto-sync setting: every name it goes by, its default, what it means and which values
/// it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable (and env file key).
    pub env: &'static str,
    /// The name in `configure_auto_sync`, the stored overrides and the status.
    pub key: &'static str,
    /// The default, as written in an env file.
    pub default: &'static str,
    /// What it is, without a final period: the flag's help and the MCP schema's description,
    /// both with the accepted range (or how lists are given) added.
    pub help: &'static str,
    /// The values it accepts.
    pub kind: Kind,
    /// Its `auto-sync-config` flag.
    pub flag: Flag,
    /// Where else it appears.
    pub scope: Scope,
}

impl Setting {
    /// `AUTO_SYNC_ENABLED`.
    pub const ENABLED: Setting = Setting {
        env: "AUTO_SYNC_ENABLED",
        key: "enabled",
        default: "true",
        help: "Scan and sync on a schedule (manual scans work either way)",
        kind: Kind::Bool,
        flag: Flag::Switch {
            on: "enabled",
            on_help: "Turn auto-sync on",
            off: "disabled",
            off_help: "Turn auto-sync off (manual scans still work)",
        },
        scope: Scope::TopLevel,
    };
    /// `AUTO_SYNC_PATHS`.
    pub const PATHS: Setting = Setting {
        env: "AUTO_SYNC_PATHS",
        key: "scan_paths",
        default: "",
        help: "Folders to scan for repositories",
        kind: Kind::Paths,
        flag: Flag::Value {
            long: "path",
            short: Some('p'),
            value_name: "P",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_EXCLUDE`.
    pub const EXCLUDE: Setting = Setting {
        env: "AUTO_SYNC_EXCLUDE",
        key: "exclude_patterns",
        default: "",
        help: "Folder names, globs or relative paths to skip, besides the built-in excludes",
        kind: Kind::Patterns,
        flag: Flag::Value {
            long: "exclude",
            short: Some('e'),
            value_name: "P",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_SCAN_INTERVAL`.
    pub const SCAN_INTERVAL: Setting = Setting {
        env: "AUTO_SYNC_SCAN_INTERVAL",
        key: "scan_interval",
        default: "3600",
        help: "Seconds between discovery scans",
        kind: Kind::Number {
            unit: "seconds",
            min: 1,
            max: u64::MAX,
        },
        flag: Flag::Value {
            long: "scan-interval",
            short: None,
            value_name: "N",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_INTERVAL`.
    pub const SYNC_INTERVAL: Setting = Setting {
        env: "AUTO_SYNC_INTERVAL",
        key: "sync_interval",
        default: "300",
        help: "Seconds between re-checks of repositories no watcher covers",
        kind: Kind::Number {
            unit: "seconds",
            min: 1,
            max: u64::MAX,
        },
        flag: Flag::Value {
            long: "sync-interval",
            short: None,
            value_name: "N",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_MAX_CONCURRENT`.
    pub const MAX_CONCURRENT: Setting = Setting {
        env: "AUTO_SYNC_MAX_CONCURRENT",
        key: "max_concurrent",
        default: "3",
        help: "Repositories synced at once",
        kind: Kind::Number {
            unit: "",
            min: 1,
            max: 64,
        },
        flag: Flag::Value {
            long: "max-concurrent",
            short: None,
            value_name: "N",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_PRIORITY_LANGUAGES`.
    pub const PRIORITY_LANGUAGES: Setting = Setting {
        env: "AUTO_SYNC_PRIORITY_LANGUAGES",
        key: "priority_languages",
        default: "python,javascript,typescript",
        help: "Languages whose repositories are synced first, in order",
        kind: Kind::Languages,
        flag: Flag::Value {
            long: "priority-languages",
            short: None,
            value_name: "LIST",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_SIZE_THRESHOLD`.
    pub const SIZE_THRESHOLD: Setting = Setting {
        env: "AUTO_SYNC_SIZE_THRESHOLD",
        key: "size_threshold",
        default: "104857600",
        help: "Repositories larger than this sync last",
        kind: Kind::Size,
        flag: Flag::Value {
            long: "size-threshold",
            short: None,
            value_name: "SIZE",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_AUTO_WATCH`.
    pub const AUTO_WATCH: Setting = Setting {
        env: "AUTO_SYNC_AUTO_WATCH",
        key: "auto_watch",
        default: "true",
        help: "Watch synced repositories for changes",
        kind: Kind::Bool,
        flag: Flag::Switch {
            on: "auto-watch",
            on_help: "Watch synced repositories for changes",
            off: "no-auto-watch",
            off_help: "Do not watch; re-check periodically instead",
        },
        scope: Scope::Config,
    };
    /// `AUTO_SYNC_ON_STARTUP`.
    pub const ON_STARTUP: Setting = Setting {
        env: "AUTO_SYNC_ON_STARTUP",
        key: "on_startup",
        default: "true",
        help: "Scan and sync when the service starts",
        kind: Kind::Bool,
        flag: Flag::None,
        scope: Scope::EnvOnly,
    };

    /// The setting named `key` (its `configure` and status name).
    pub fn by_key(key: &str) -> Option<&'static Setting> {
        SETTINGS.iter().find(|s| s.key == key)
    }

    /// Whether `configure` can change it (it is a [`ConfigUpdate`] field).
    pub fn configurable(&self) -> bool {
        self.scope != Scope::EnvOnly
    }

    /// Checks `text`, written as in an env file, and says why it cannot be used.
    pub fn check(&self, text: &str) -> Result<(), String> {
        match self.kind {
            Kind::Bool => self.bool(text).map(drop),
            Kind::Paths => Ok(()),
            Kind::Patterns => self.patterns(split_list(text).collect()).map(drop),
            Kind::Number { .. } => self.number(text).map(drop),
            Kind::Size => self.size(text).map(drop),
            Kind::Languages => self.languages(split_list(text)).map(drop),
        }
    }

    /// A boolean setting's value.
    pub fn bool(&self, text: &str) -> Result<bool, String> {
        parse_bool(text).map_err(String::from)
    }

    /// A number setting's value from its text, within the setting's range.
    pub fn number(&self, text: &str) -> Result<u64, String> {
        self.bounded(text.trim().parse::<u64>().ok())
    }

    /// A number setting's value from a JSON integer, within the setting's range.
    pub fn number_from(&self, value: i64) -> Result<u64, String> {
        self.bounded(u64::try_from(value).ok())
    }

    fn bounded(&self, value: Option<u64>) -> Result<u64, String> {
        let Kind::Number { unit, min, max } = self.kind else {
            return Err(format!("{} is not a number", self.key));
        };
        match value {
            Some(n) if (min..=max).contains(&n) => Ok(n),
            _ => {
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" of {unit}")
                };
                let range = if max == u64::MAX {
                    format!(", at least {min}")
                } else {
                    format!(" from {min} to {max}")
                };
                Err(format!("expected a whole number{unit}{range}"))
            }
        }
    }

    /// A size setting's value in bytes, from its text.
    pub fn size(&self, text: &str) -> Result<u64, String> {
        parse_size(text).map_err(String::from)
    }

    /// A size setting's value from a JSON integer.
    pub fn size_from(&self, value: i64) -> Result<u64, String> {
        u64::try_from(value).map_err(|_| "expected a size in bytes, at least 0".to_string())
    }

    /// Exclude patterns, checked to compile.
    pub fn patterns(&self, patterns: Vec<&str>) -> Result<Vec<String>, String> {
        codeintel_discovery::Excludes::new(&patterns).map_err(|e| e.to_string())?;
        Ok(patterns.into_iter().map(str::to_string).collect())
    }

    /// Language names, each once, in order.
    pub fn languages<'a>(
        &self,
        names: impl IntoIterator<Item = &'a str>,
    ) -> Result<Vec<Language>, String> {
        let mut out = Vec::new();
        for name in names {
            let lang = name.parse::<Language>().map_err(|e| e.to_string())?;
            if !out.contains(&lang) {
                out.push(lang);
            }
        }
        Ok(out)
    }

    /// The accepted range of a number setting, as the help says it (`at least 1`, `1 to 64`).
    pub fn range(&self) -> Option<String> {
        match self.kind {
            Kind::Number { min, max, .. } if max == u64::MAX => Some(format!("at least {min}")),
            Kind::Number { min, max, .. } => Some(format!("{min} to {max}")),
            _ => None,
        }
    }

    /// The help of its `auto-sync-config` value flag.
    pub fn flag_help(&self) -> String {
        let note = match self.kind {
            Kind::Paths | Kind::Patterns => Some(format!("repeatable; replaces {}", self.env)),
            Kind::Number { .. } => self.range(),
            Kind::Size => Some("bytes, or 100MB".into()),
            Kind::Languages => Some("comma-separated: python,go,...".into()),
            Kind::Bool => None,
        };
        with_note(self.help, note)
    }

    /// Its description in the `configure_auto_sync` input schema.
    pub fn description(&self) -> String {
        let note = match self.kind {
            Kind::Paths => Some("absolute paths; replaces the current list".into()),
            Kind::Patterns | Kind::Languages => Some("replaces the current list".into()),
            Kind::Number { .. } => self.range(),
            Kind::Size => Some("bytes".into()),
            Kind::Bool => None,
        };
        format!("{}.", with_note(self.help, note))
    }
}

fn with_note(text: &str, note: Option<String>) -> String {
    match note {
        Some(note) => format!("{text} ({note})"),
        None => text.to_string(),
    }
}

/// Every auto-sync setting, in the order `auto-sync-config` lists their flags (and appends
/// them to an env file): the one list the environment, the env file, the flags, the MCP schema,
/// the overrides and the status are read against.
pub const SETTINGS: [Setting; 10] = [
    Setting::PATHS,
    Setting::EXCLUDE,
    Setting::SCAN_INTERVAL,
    Setting::SYNC_INTERVAL,
    Setting::MAX_CONCURRENT,
    Setting::PRIORITY_LANGUAGES,
    Setting::SIZE_THRESHOLD,
    Setting::ENABLED,
    Setting::AUTO_WATCH,
    Setting::ON_STARTUP,
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

impl AutoSyncConfig {
    /// The configuration that `value` (an environment variable's value by its name, `None`
    /// when unset) gives, each setting at its default when unset; `path` turns a scan path as
    /// written (`~/x`) into a path. Errors name the variable and its value.
    pub fn from_variables(
        value: impl Fn(&str) -> Option<String>,
        path: impl Fn(&str) -> PathBuf,
    ) -> Result<AutoSyncConfig, ConfigError> {
        let text = |s: &Setting| value(s.env).unwrap_or_else(|| s.default.to_string());
        let read = |s: &Setting, parse: &dyn Fn(&Setting, &str) -> Result<u64, String>| {
            let text = text(s);
            parse(s, &text).map_err(|reason| ConfigError::new(s.env, &text, &reason))
        };
        let flag = |s: &Setting| {
            let text = text(s);
            s.bool(&text)
                .map_err(|reason| ConfigError::new(s.env, &text, &reason))
        };
        let seconds = |s: &Setting| read(s, &Setting::number).map(Duration::from_secs);
        let exclude = text(&Setting::EXCLUDE);
        let languages = text(&Setting::PRIORITY_LANGUAGES);
        Ok(AutoSyncConfig {
            enabled: flag(&Setting::ENABLED)?,
            paths: split_list(&text(&Setting::PATHS)).map(&path).collect(),
            exclude: Setting::EXCLUDE
                .patterns(split_list(&exclude).collect())
                .map_err(|reason| ConfigError::new(Setting::EXCLUDE.env, &exclude, &reason))?,
            scan_interval: seconds(&Setting::SCAN_INTERVAL)?,
            sync_interval: seconds(&Setting::SYNC_INTERVAL)?,
            max_concurrent: read(&Setting::MAX_CONCURRENT, &Setting::number)? as usize,
            priority_languages: Setting::PRIORITY_LANGUAGES
                .languages(split_list(&languages))
                .map_err(|reason| {
                    ConfigError::new(Setting::PRIORITY_LANGUAGES.env, &languages, &reason)
                })?,
            size_threshold: read(&Setting::SIZE_THRESHOLD, &Setting::size)?,
            auto_watch: flag(&Setting::AUTO_WATCH)?,
            on_startup: flag(&Setting::ON_STARTUP)?,
        })
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
    /// Every setting at the default [`SETTINGS`] gives it.
    fn default() -> Self {
        AutoSyncConfig::from_variables(|_: &str| None, |p: &str| PathBuf::from(p))
            .expect("the settings table's defaults are valid")
    }
}

/// A partial change, as `configure_auto_sync` receives it. Persisted (as overrides over the
/// env-file configuration) so a restart keeps it. Its fields are the keys of the
/// [configurable](Setting::configurable) settings of [`SETTINGS`] (a test checks it); their
/// values are validated by the same [`Setting`] parsers as the environment's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigUpdate {
    /// See [`Setting::ENABLED`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Absolute folders; replaces the list. See [`Setting::PATHS`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_paths: Option<Vec<String>>,
    /// Extra excludes; replaces the list. See [`Setting::EXCLUDE`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_patterns: Option<Vec<String>>,
    /// Seconds. See [`Setting::SCAN_INTERVAL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_interval: Option<i64>,
    /// Seconds. See [`Setting::SYNC_INTERVAL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<i64>,
    /// See [`Setting::MAX_CONCURRENT`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<i64>,
    /// Language names, in order. See [`Setting::PRIORITY_LANGUAGES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_languages: Option<Vec<String>>,
    /// Bytes. See [`Setting::SIZE_THRESHOLD`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_threshold: Option<i64>,
    /// See [`Setting::AUTO_WATCH`].
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

    /// Sets `setting`'s field to its value in `config` (nothing for a setting `configure`
    /// cannot change).
    pub fn set_from(&mut self, setting: &Setting, config: &AutoSyncConfig) {
        let secs = |d: Duration| i64::try_from(d.as_secs()).ok();
        match setting.key {
            "enabled" => self.enabled = Some(config.enabled),
            "scan_paths" => {
                self.scan_paths = Some(
                    config
                        .paths
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect(),
                )
            }
            "exclude_patterns" => self.exclude_patterns = Some(config.exclude.clone()),
            "scan_interval" => self.scan_interval = secs(config.scan_interval),
            "sync_interval" => self.sync_interval = secs(config.sync_interval),
            "max_concurrent" => self.max_concurrent = Some(config.max_concurrent as i64),
            "priority_languages" => {
                self.priority_languages = Some(
                    config
                        .priority_languages
                        .iter()
                        .map(|l| l.name().to_string())
                        .collect(),
                )
            }
            "size_threshold" => self.size_threshold = Some(config.size_threshold as i64),
            "auto_watch" => self.auto_watch = Some(config.auto_watch),
            _ => {}
        }
    }
}

impl AutoSyncConfig {
    /// This configuration with `update` applied, or the first invalid value (named by its
    /// key). Values are checked by the same [`Setting`] parsers as the environment's. Scan
    /// paths must be absolute (`~` is expanded by the caller) and are not required to exist
    /// yet.
    pub fn apply(&self, update: &ConfigUpdate) -> Result<AutoSyncConfig, ConfigError> {
        fn check<T, V: ToString>(
            setting: &Setting,
            value: V,
            parse: impl FnOnce(&V) -> Result<T, String>,
        ) -> Result<T, ConfigError> {
            parse(&value).map_err(|reason| ConfigError::new(setting.key, value, &reason))
        }
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
                            Setting::PATHS.key,
                            p,
                            "must be an absolute path",
                        ))
                    }
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(patterns) = &update.exclude_patterns {
            let s = &Setting::EXCLUDE;
            next.exclude = check(s, patterns.join(","), |_| {
                s.patterns(patterns.iter().map(String::as_str).collect())
            })?;
        }
        let seconds = |s: &Setting, v: i64| check(s, v, |v| s.number_from(*v));
        if let Some(v) = update.scan_interval {
            next.scan_interval = Duration::from_secs(seconds(&Setting::SCAN_INTERVAL, v)?);
        }
        if let Some(v) = update.sync_interval {
            next.sync_interval = Duration::from_secs(seconds(&Setting::SYNC_INTERVAL, v)?);
        }
        if let Some(v) = update.max_concurrent {
            let s = &Setting::MAX_CONCURRENT;
            next.max_concurrent = check(s, v, |v| s.number_from(*v))? as usize;
        }
        if let Some(v) = update.size_threshold {
            let s = &Setting::SIZE_THRESHOLD;
            next.size_threshold = check(s, v, |v| s.size_from(*v))?;
        }
        if let Some(langs) = &update.priority_languages {
            let s = &Setting::PRIORITY_LANGUAGES;
            next.priority_languages = check(s, langs.join(","), |_| {
                s.languages(langs.iter().map(String::as_str))
            })?;
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
    fn the_table_is_consistent() {
        let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
        let mut envs: Vec<&str> = SETTINGS.iter().map(|s| s.env).collect();
        let mut flags: Vec<&str> = SETTINGS
            .iter()
            .flat_map(|s| match s.flag {
                Flag::None => vec![],
                Flag::Value { long, .. } => vec![long],
                Flag::Switch { on, off, .. } => vec![on, off],
            })
            .collect();
        for list in [&mut keys, &mut envs, &mut flags] {
            let n = list.len();
            list.sort_unstable();
            list.dedup();
            assert_eq!(list.len(), n, "duplicate names: {list:?}");
        }
        for s in &SETTINGS {
            assert!(s.env.starts_with("AUTO_SYNC_"), "{}", s.env);
            assert_eq!(Setting::by_key(s.key), Some(s));
            assert_eq!(s.check(s.default), Ok(()), "{}'s default", s.env);
            assert!(!s.help.is_empty() && !s.help.ends_with('.'), "{}", s.key);
            assert!(s.description().ends_with('.'), "{}", s.key);
            if let Flag::Switch { .. } = s.flag {
                assert_eq!(s.kind, Kind::Bool, "{}", s.key);
            }
        }
    }

    #[test]
    fn the_defaults_are_the_designs() {
        assert_eq!(
            AutoSyncConfig::default(),
            AutoSyncConfig {
                enabled: true,
                paths: Vec::new(),
                exclude: Vec::new(),
                scan_interval: Duration::from_secs(3600),
                sync_interval: Duration::from_secs(300),
                max_concurrent: 3,
                priority_languages: vec![
                    Language::Python,
                    Language::JavaScript,
                    Language::TypeScript
                ],
                size_threshold: 104_857_600,
                auto_watch: true,
                on_startup: true,
            }
        );
    }

    #[test]
    fn bounds_are_the_same_for_the_environment_and_configure() {
        let env = |var: &'static str, value: &'static str| {
            AutoSyncConfig::from_variables(
                move |v: &str| (v == var).then(|| value.to_string()),
                |p: &str| PathBuf::from(p),
            )
        };
        assert_eq!(
            env("AUTO_SYNC_MAX_CONCURRENT", "64")
                .unwrap()
                .max_concurrent,
            64
        );
        let base = AutoSyncConfig::default();
        for (text, n) in [("0", 0), ("65", 65), ("-1", -1)] {
            let from_env = env("AUTO_SYNC_MAX_CONCURRENT", text).unwrap_err();
            let from_configure = base
                .apply(&ConfigUpdate {
                    max_concurrent: Some(n),
                    ..Default::default()
                })
                .unwrap_err();
            assert_eq!(from_env.reason, "expected a whole number from 1 to 64");
            assert_eq!(from_env.reason, from_configure.reason);
            assert_eq!(from_configure.setting, "max_concurrent");
        }
        let from_env = env("AUTO_SYNC_SCAN_INTERVAL", "0").unwrap_err();
        assert_eq!(
            from_env.reason,
            "expected a whole number of seconds, at least 1"
        );
        let from_configure = base
            .apply(&ConfigUpdate {
                scan_interval: Some(0),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(from_env.reason, from_configure.reason);
        let from_env = env("AUTO_SYNC_EXCLUDE", "ok,a[").unwrap_err();
        assert_eq!(from_env.setting, "AUTO_SYNC_EXCLUDE");
        assert!(from_env.reason.contains("a["), "{from_env}");
        assert_eq!(Setting::MAX_CONCURRENT.range().unwrap(), "1 to 64");
        assert_eq!(Setting::SCAN_INTERVAL.range().unwrap(), "at least 1");
    }

    #[test]
    fn set_from_fills_exactly_the_settings_field() {
        let config = AutoSyncConfig::default();
        for s in &SETTINGS {
            let mut update = ConfigUpdate::default();
            update.set_from(s, &config);
            let json = serde_json::to_value(&update).unwrap();
            let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
            if s.configurable() {
                assert_eq!(keys, [s.key], "{}", s.key);
                assert_eq!(config.apply(&update).unwrap(), config, "{}", s.key);
            } else {
                assert!(keys.is_empty(), "{}", s.key);
            }
        }
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
