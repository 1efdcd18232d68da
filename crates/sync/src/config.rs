//! The auto-sync configuration: validated values, and partial updates from `configure`.

use codeintel_discovery::Language;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// A configuration value that cannot be used, naming the setting and the value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {setting}={value:?}: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub value: String,
    pub reason: String,
}

impl ConfigError {
    pub fn new(setting: &str, value: impl ToString, reason: &str) -> Self {
        ConfigError {
            setting: setting.to_string(),
            value: value.to_string(),
            reason: reason.to_string(),
        }
    }
}

/// Everything the manager needs to know, validated. Built once by the caller, changed only
/// through [`AutoSyncConfig::apply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoSyncConfig {
    pub enabled: bool,
    pub paths: Vec<PathBuf>,
    /// Excludes added to the built-in ones.
    pub exclude: Vec<String>,
    pub scan_interval: Duration,
    /// How often a synced repository is re-checked when no watcher covers it.
    pub sync_interval: Duration,
    pub max_concurrent: usize,
    pub priority_languages: Vec<Language>,
    /// Repositories larger than this (bytes of code) are synced after all others.
    pub size_threshold: u64,
    pub auto_watch: bool,
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_patterns: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scan_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority_languages: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_threshold: Option<i64>,
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
