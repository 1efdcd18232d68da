//! The backend suite on a private PostgreSQL (`scripts/test.sh` starts one and names it in
//! `CODEINTEL_TEST_POSTGRES_URL`): a database per test, named after its folder.

use super::*;
use crate::store::{IndexStore, StoreLocation};
use std::path::Path;

/// The test cluster's URL with `dbname` as its database.
fn database_url(admin: &str, dbname: &str) -> String {
    let (base, query) = admin.split_once('?').unwrap_or((admin, ""));
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map_or(0, |s| s + 2) => &base[..i],
        _ => base,
    };
    if query.is_empty() {
        format!("{base}/{dbname}")
    } else {
        format!("{base}/{dbname}?{query}")
    }
}

fn admin_url() -> String {
    std::env::var("CODEINTEL_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("CODEINTEL_TEST_POSTGRES_URL is not set: run the suite with `bash scripts/test.sh`, which starts a private PostgreSQL")
    })
}

/// A database of its own for the test folder `dir` (made once; reopening finds it).
pub(crate) fn test_database(dir: &Path) -> PostgresUrl {
    let admin = admin_url();
    let name = format!(
        "t_{}",
        &blake3::hash(dir.to_string_lossy().as_bytes()).to_hex()[..24]
    );
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("the test PostgreSQL at {admin}: {e}"));
    let exists = client
        .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
        .unwrap()
        .is_some();
    if !exists {
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
    }
    match StoreLocation::parse(&database_url(&admin, &name)).unwrap() {
        StoreLocation::Postgres(url) => url,
        StoreLocation::Sqlite => unreachable!("a postgresql:// URL"),
    }
}

fn open_postgres(dir: &Path) -> IndexStore {
    IndexStore::with_storage(PostgresStorage::open(&test_database(dir)).unwrap())
}

crate::store::tests::storage_suite!(open_postgres);

#[test]
fn urls_name_the_database_and_keep_their_parameters() {
    assert_eq!(
        database_url("postgresql://ci@/postgres?host=/tmp/pg", "t_1"),
        "postgresql://ci@/t_1?host=/tmp/pg"
    );
    assert_eq!(
        database_url("postgres://ci:pw@db:5432", "t_1"),
        "postgres://ci:pw@db:5432/t_1"
    );
}

#[test]
fn two_processes_migrating_at_once_agree_on_one_schema() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let opened: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || PostgresStorage::open(&url).map(|_| ()))
        })
        .collect();
    for t in opened {
        t.join().unwrap().unwrap();
    }
    let mut client = postgres::Client::connect(url.secret(), postgres::NoTls).unwrap();
    let version: i32 = client
        .query_one("SELECT version FROM codeintel_schema", &[])
        .unwrap()
        .get(0);
    assert_eq!(version, SCHEMA_VERSION);
    let rows = client
        .query_one("SELECT count(*) FROM codeintel_schema", &[])
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(rows, 1);
}

#[test]
fn the_location_shown_has_no_password() {
    let dir = tempfile::tempdir().unwrap();
    let url = test_database(dir.path());
    let with_password = format!(
        "{}{}password=hunter2",
        url.secret(),
        if url.secret().contains('?') { "&" } else { "?" }
    );
    let StoreLocation::Postgres(url) = StoreLocation::parse(&with_password).unwrap() else {
        unreachable!()
    };
    // Trust authentication ignores the password: the store opens, and never shows it.
    let store = PostgresStorage::open(&url).unwrap();
    let shown = store.location().display().to_string();
    assert!(
        !shown.contains("hunter2") && shown.contains("password=***"),
        "{shown}"
    );
}
