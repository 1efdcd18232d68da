//! Which backend holds the index: `CODEINTEL_STORE` or `--store`, unset or `sqlite` for the
//! embedded file in the data directory, a `postgres://` or `postgresql://` URL (libpq style)
//! for PostgreSQL. A password in a URL is never shown: [`StoreLocation::redacted`] is what
//! messages, logs and status print.

use std::fmt;

/// Where the index is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// `<data dir>/index.db`.
    Sqlite,
    /// A PostgreSQL database.
    Postgres(PostgresUrl),
}

/// A PostgreSQL connection URL, kept whole for connecting and shown only redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct PostgresUrl(String);

impl PostgresUrl {
    /// The URL as given, password included: for connecting only.
    pub fn secret(&self) -> &str {
        &self.0
    }

    /// The URL with its password (in the authority or a `password=` parameter) replaced by
    /// `***`.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl StoreLocation {
    /// Reads a `--store` or `CODEINTEL_STORE` value; anything but `sqlite` (or empty) and a
    /// PostgreSQL URL is a one-line error.
    pub fn parse(value: &str) -> Result<StoreLocation, String> {
        let value = value.trim();
        if value.is_empty() || value.eq_ignore_ascii_case("sqlite") {
            return Ok(StoreLocation::Sqlite);
        }
        let scheme = value.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => {
                value
                    .parse::<postgres::Config>()
                    .map_err(|e| format!("not a PostgreSQL URL: {e}"))?;
                Ok(StoreLocation::Postgres(PostgresUrl(value.to_string())))
            }
            _ => Err("unknown store: use `sqlite` or a postgres:// (postgresql://) URL".into()),
        }
    }

    /// What to show for it: `sqlite`, or the URL without its password.
    pub fn redacted(&self) -> String {
        match self {
            StoreLocation::Sqlite => "sqlite".into(),
            StoreLocation::Postgres(url) => url.redacted(),
        }
    }
}

/// `scheme://user:secret@host/db?password=secret` → `scheme://user:***@host/db?password=***`:
/// how a store value (valid or not) may be shown.
pub fn redact(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let (authority_end, _) = rest
        .char_indices()
        .find(|(_, c)| matches!(c, '/' | '?'))
        .unwrap_or((rest.len(), ' '));
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => authority.to_string(),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    if scheme.is_empty() {
        format!("{authority}{tail}")
    } else {
        format!("{scheme}://{authority}{tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_is_the_default_and_urls_are_postgres() {
        assert_eq!(StoreLocation::parse("").unwrap(), StoreLocation::Sqlite);
        assert_eq!(
            StoreLocation::parse("SQLite").unwrap(),
            StoreLocation::Sqlite
        );
        for url in ["postgres://u@h/db", "postgresql://u@/db?host=/tmp/x"] {
            assert!(matches!(
                StoreLocation::parse(url).unwrap(),
                StoreLocation::Postgres(_)
            ));
        }
        let e = StoreLocation::parse("mysql://u:pw@h/db").unwrap_err();
        assert!(e.contains("unknown store") && !e.contains("pw"), "{e}");
        assert_eq!(redact("mysql://u:pw@h/db"), "mysql://u:***@h/db");
    }

    #[test]
    fn passwords_never_show() {
        let loc = StoreLocation::parse(
            "postgres://ci:s3cret@db.example:5432/idx?sslmode=require&password=s3cret",
        )
        .unwrap();
        let shown = loc.redacted();
        assert_eq!(
            shown,
            "postgres://ci:***@db.example:5432/idx?sslmode=require&password=***"
        );
        assert!(!format!("{loc:?}").contains("s3cret"));
        let bad = StoreLocation::parse("postgres://ci:s3cret@h:notaport/db").unwrap_err();
        assert!(!bad.contains("s3cret"), "{bad}");
    }
}
