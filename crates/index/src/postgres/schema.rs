//! The PostgreSQL schema: migrations applied forward under an advisory lock, so processes on
//! any machine starting at once never race; the version is kept in `codeintel_schema`.
//! Only core features and the `pg_trgm` contrib module (on every managed service).

use super::Result;
use postgres::Client;

/// Bumped with each migration in [`MIGRATIONS`].
pub const SCHEMA_VERSION: i32 = 6;

/// The advisory lock key of migrations (`CIDX`).
const MIGRATION_LOCK: i64 = 0x4349_4458;

pub(super) const MIGRATIONS: &[&str] = &[
    // 1: the whole index. Lines and counts are BIGINT throughout (one Rust type for all).
    // `chunks` carries its repository and language for filters without joins; the lexical
    // index was in it too (until 4): `lex_terms` (the chunk's distinct terms, as the embedded
    // engine makes them) under a GIN index, `lex_tfs` their frequencies, `terms` its length
    // (BM25's document length). A table of postings (a row per term per chunk, two B-trees)
    // made indexing 5x slower than SQLite; GIN's pending list takes a chunk's terms in one
    // write (but a search then tests every candidate's arrays: see 4).
    // Per-repository sums of documents and terms keep BM25's corpus statistics without a
    // count over the whole table, and without one row every indexer would update. Exact and
    // regex searches are narrowed by their words' terms, as on SQLite (no trigram index
    // over contents: it cost 7x the index time).
    r#"
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
    CREATE TABLE repositories (
        id BIGSERIAL PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL UNIQUE,
        language TEXT,
        created_at_ms BIGINT NOT NULL,
        last_sync_at_ms BIGINT,
        last_result TEXT,
        last_error TEXT,
        sync_state TEXT NOT NULL DEFAULT 'synced',
        failures BIGINT NOT NULL DEFAULT 0,
        next_retry_at_ms BIGINT,
        missing_since_ms BIGINT,
        watch_state TEXT NOT NULL DEFAULT 'off',
        size_bytes BIGINT,
        last_modified_ms BIGINT,
        auto BOOLEAN NOT NULL DEFAULT false,
        lexical_docs BIGINT NOT NULL DEFAULT 0,
        lexical_terms BIGINT NOT NULL DEFAULT 0
    );
    CREATE TABLE files (
        id BIGSERIAL PRIMARY KEY,
        repo_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        path TEXT NOT NULL,
        language TEXT NOT NULL,
        size BIGINT NOT NULL,
        mtime_ns BIGINT NOT NULL,
        hash BYTEA NOT NULL,
        indexed_at_ns BIGINT NOT NULL,
        chunk_count BIGINT NOT NULL,
        refs_version BIGINT NOT NULL DEFAULT 0,
        UNIQUE (repo_id, path)
    );
    CREATE TABLE chunks (
        id BIGSERIAL PRIMARY KEY,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        repo_id BIGINT NOT NULL,
        language TEXT NOT NULL,
        start_line BIGINT NOT NULL,
        end_line BIGINT NOT NULL,
        symbol TEXT,
        kind TEXT,
        content TEXT NOT NULL,
        terms BIGINT NOT NULL,
        lex_terms TEXT[] NOT NULL,
        lex_tfs BIGINT[] NOT NULL
    );
    CREATE INDEX chunks_by_file ON chunks (file_id, start_line);
    CREATE INDEX chunks_by_term ON chunks USING gin (lex_terms);
    CREATE TABLE symbols (
        id BIGSERIAL PRIMARY KEY,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        start_line BIGINT NOT NULL,
        end_line BIGINT NOT NULL
    );
    CREATE INDEX symbols_by_name ON symbols (name);
    CREATE INDEX symbols_by_trigram ON symbols USING gin (lower(name) gin_trgm_ops);
    CREATE INDEX symbols_by_file ON symbols (file_id);
    CREATE TABLE state (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );
    CREATE TABLE embedding_models (
        id BIGSERIAL PRIMARY KEY,
        name TEXT NOT NULL UNIQUE
    );
    CREATE TABLE embeddings (
        id BIGSERIAL PRIMARY KEY,
        chunk_id BIGINT NOT NULL REFERENCES chunks(id) ON DELETE CASCADE,
        model_id BIGINT NOT NULL REFERENCES embedding_models(id),
        line BIGINT NOT NULL,
        bits BYTEA NOT NULL,
        vector BYTEA NOT NULL
    );
    CREATE INDEX embeddings_by_chunk ON embeddings (chunk_id, model_id);
    CREATE INDEX embeddings_by_model ON embeddings (model_id, id);
    CREATE TABLE refs (
        name TEXT NOT NULL,
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        sites BYTEA NOT NULL,
        PRIMARY KEY (name, file_id)
    );
    CREATE INDEX refs_by_file ON refs (file_id);
    CREATE TABLE imports (
        file_id BIGINT NOT NULL REFERENCES files(id) ON DELETE CASCADE,
        local TEXT NOT NULL,
        name TEXT NOT NULL,
        module TEXT,
        PRIMARY KEY (file_id, local, name)
    );
    CREATE TABLE packages (
        repo_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
        requires BOOLEAN NOT NULL,
        name TEXT NOT NULL,
        PRIMARY KEY (repo_id, requires, name)
    );
    CREATE INDEX packages_by_name ON packages (name, requires);
    "#,
    // 2: repository leases (one sync of a repository at a time among all indexers). No
    // foreign key: a lease outliving its repository's removal only expires.
    r#"
    CREATE TABLE repository_leases (
        repo_id BIGINT PRIMARY KEY,
        holder TEXT NOT NULL,
        expires_at TIMESTAMPTZ NOT NULL
    );
    "#,
    // 3: file contents (deflated), so a server without the files answers `get_file`.
    r#"
    ALTER TABLE files ADD COLUMN content BYTEA;
    "#,
    // 4: the lexical index as postings, one row per term per file: the file's chunks holding
    // the term, with each one's frequency and length, and the filters' columns. A search
    // reads only its terms' rows through the primary key (document frequencies too) instead
    // of testing every chunk's term array (5x faster on the benchmark corpus); a row per
    // file rather than per chunk keeps the rows 2.5x fewer than chunk postings, whose
    // writes made indexing 5x slower than SQLite. `files.lex_terms` says which rows a file
    // has, so they are deleted through the key too (no second index to write).
    r#"
    CREATE TABLE lex_postings (
        term TEXT COLLATE "C" NOT NULL,
        file_id BIGINT NOT NULL,
        repo_id BIGINT NOT NULL,
        language TEXT NOT NULL,
        chunk_ids BIGINT[] NOT NULL,
        tfs INT[] NOT NULL,
        dls INT[] NOT NULL,
        PRIMARY KEY (term, file_id)
    );
    ALTER TABLE files ADD COLUMN lex_terms TEXT[] NOT NULL DEFAULT '{}';
    INSERT INTO lex_postings (term, file_id, repo_id, language, chunk_ids, tfs, dls)
        SELECT t.term, c.file_id, c.repo_id, c.language, array_agg(c.id ORDER BY c.id),
               array_agg(t.tf ORDER BY c.id), array_agg(c.terms ORDER BY c.id)
        FROM chunks c CROSS JOIN LATERAL unnest(c.lex_terms, c.lex_tfs) AS t(term, tf)
        GROUP BY t.term, c.file_id, c.repo_id, c.language;
    UPDATE files f SET lex_terms = p.terms
        FROM (SELECT file_id, array_agg(term ORDER BY term) AS terms FROM lex_postings
              GROUP BY file_id) p
        WHERE p.file_id = f.id;
    DROP INDEX chunks_by_term;
    ALTER TABLE chunks DROP COLUMN lex_terms, DROP COLUMN lex_tfs;
    "#,
    // A file's rows are written and deleted with it, in one transaction, by the only code that
    // writes them; the foreign keys from them to `files` checked every row once more (a fifth
    // of the server's time in a full index). A repository's removal deletes them explicitly.
    r#"
    ALTER TABLE chunks DROP CONSTRAINT IF EXISTS chunks_file_id_fkey;
    ALTER TABLE symbols DROP CONSTRAINT IF EXISTS symbols_file_id_fkey;
    ALTER TABLE refs DROP CONSTRAINT IF EXISTS refs_file_id_fkey;
    ALTER TABLE imports DROP CONSTRAINT IF EXISTS imports_file_id_fkey;
    "#,
    // 6: a posting's three arrays become one `BYTEA` of varints (`postings.rs` says how) with
    // its chunk count beside it: the server no longer decodes every array element of every
    // row copied in, and the rows are half the size. Searches score on the client. The
    // conversion encodes in SQL (a temporary function: values here stay far below 2^56).
    r#"
    CREATE FUNCTION pg_temp.varint(v BIGINT) RETURNS BYTEA LANGUAGE sql IMMUTABLE AS $$
        SELECT string_agg(set_byte('\x00'::BYTEA, 0,
                   (((v >> (7 * i)) & 127) | CASE WHEN (v >> (7 * (i + 1))) > 0 THEN 128 ELSE 0 END)::INT),
                   ''::BYTEA ORDER BY i)
        FROM generate_series(0, 8) AS i WHERE i = 0 OR (v >> (7 * i)) > 0
    $$;
    CREATE TABLE lex_postings_6 (
        term TEXT COLLATE "C" NOT NULL,
        file_id BIGINT NOT NULL,
        repo_id BIGINT NOT NULL,
        language TEXT NOT NULL,
        n INT NOT NULL,
        lists BYTEA NOT NULL
    );
    INSERT INTO lex_postings_6 (term, file_id, repo_id, language, n, lists)
        SELECT p.term, p.file_id, p.repo_id, p.language, cardinality(p.chunk_ids),
               coalesce((SELECT string_agg(
                                    pg_temp.varint(CASE WHEN x.d >= 0 THEN 2 * x.d ELSE -2 * x.d - 1 END)
                                    || pg_temp.varint(x.tf) || pg_temp.varint(x.dl), ''::BYTEA ORDER BY x.o)
                         FROM (SELECT u.o, u.tf, u.dl, u.c - coalesce(lag(u.c) OVER (ORDER BY u.o), 0) AS d
                               FROM unnest(p.chunk_ids, p.tfs, p.dls) WITH ORDINALITY AS u(c, tf, dl, o)) AS x),
                        ''::BYTEA)
        FROM lex_postings p;
    DROP TABLE lex_postings;
    ALTER TABLE lex_postings_6 RENAME TO lex_postings;
    ALTER TABLE lex_postings ADD PRIMARY KEY (term, file_id);
    "#,
];

/// Brings the schema to [`SCHEMA_VERSION`]: a database of a newer one is an error. A schema
/// already current is only read (a read-only role opens it too).
pub(super) fn migrate(client: &mut Client) -> Result<i32> {
    let found = client.query_opt("SELECT version FROM codeintel_schema", &[]);
    if let Ok(Some(row)) = found {
        let current: i32 = row.get(0);
        if current >= SCHEMA_VERSION {
            return Ok(current);
        }
    }
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS codeintel_schema (version INT NOT NULL)")?;
    let current: i32 = match tx.query_opt("SELECT version FROM codeintel_schema", &[])? {
        Some(row) => row.get(0),
        None => {
            tx.execute("INSERT INTO codeintel_schema (version) VALUES (0)", &[])?;
            0
        }
    };
    if current > SCHEMA_VERSION {
        return Ok(current);
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        tracing::info!(version = i + 1, "migrating the PostgreSQL index schema");
        tx.batch_execute(sql)?;
    }
    tx.execute(
        "UPDATE codeintel_schema SET version = $1",
        &[&SCHEMA_VERSION],
    )?;
    tx.commit()?;
    Ok(SCHEMA_VERSION)
}
