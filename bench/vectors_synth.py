#!/usr/bin/env python3
"""Grows an existing codeintel index to N embedded units of one model with synthetic rows, to
time semantic search at scale without embedding a million real chunks.

Usage: vectors_synth.py DB --units N --model-name NAME [--repo-path DIR] [--batch UNITS]

Adds one repository `synthetic` (its folder is never created: the rows exist only in the index,
so never sync or index that repository) holding files of 100 chunks; chunk i is the one line
`def synthetic_<i>(): pass` with one symbol, one full-text row (written the way
crates/index/src/store.rs `insert_chunks`/`fts_row` writes them) and one unit: random sign bits
(48 bytes) and a random int8 vector with a small scale, so real chunks still rank above them.
Units already in the index (real or synthetic) count towards N; nothing is ever deleted.
Bumps the state key `vectors.generation` so a running server reloads its snapshot.

Needs SQLite >= 3.43 for the `contentless_delete` full-text table: uses the `pysqlite3`
module (pip package pysqlite3-binary) when the interpreter's sqlite3 is older.
"""
import argparse, os, struct, sys, time

try:
    import sqlite3
    if sqlite3.sqlite_version_info < (3, 43, 0):
        raise ImportError
except ImportError:
    try:
        import pysqlite3 as sqlite3  # type: ignore
    except ImportError:
        sys.exit(f"vectors_synth: SQLite {sqlite3.sqlite_version} cannot write the index's "
                 "full-text table (needs >= 3.43): pip install pysqlite3-binary")

SCHEMA_VERSION = 4
DIM = 384
CHUNKS_PER_FILE = 100
SCALE = struct.pack("<f", 1 / 127 / 20)


def camel_parts(ident):
    """Port of text::camel_parts: splits at case humps and letter/digit boundaries."""
    parts, start = [], 0
    for i in range(1, len(ident)):
        c, prev = ident[i], ident[i - 1]
        next_lower = i + 1 < len(ident) and ident[i + 1].islower()
        if ((prev.islower() and c.isupper()) or (prev.isupper() and c.isupper() and next_lower)
                or (prev.isalpha() and c.isnumeric()) or (prev.isnumeric() and c.isalpha())):
            parts.append(ident[start:i])
            start = i
    if start == 0:
        return []
    parts.append(ident[start:])
    return parts


def hump_terms(text):
    """Port of text::hump_terms."""
    out = []
    word = []
    for ch in text + " ":
        if ch.isalnum():
            word.append(ch)
        elif word:
            out.extend(p + " " for p in camel_parts("".join(word)))
            word = []
    return "".join(out)


def fts_row(symbols, content, path):
    """Port of store::fts_row."""
    return (f"{symbols} {hump_terms(symbols)}", f"{content}\n{hump_terms(content)}",
            f"{path} {hump_terms(path)}")


def scalar(conn, sql, args=()):
    return conn.execute(sql, args).fetchone()[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db")
    ap.add_argument("--units", type=int, required=True, help="units of the model wanted in all")
    ap.add_argument("--model-name", required=True, help="embedding_models.name of the real units")
    ap.add_argument("--repo-path", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                         "out", "vectors", "synthetic"))
    ap.add_argument("--batch", type=int, default=20000, help="units per transaction")
    args = ap.parse_args()

    conn = sqlite3.connect(args.db, timeout=60, isolation_level=None)
    version = scalar(conn, "PRAGMA user_version")
    if version != SCHEMA_VERSION:
        sys.exit(f"vectors_synth: {args.db} has schema {version}, this script writes {SCHEMA_VERSION}")
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = ON")

    conn.execute("INSERT INTO embedding_models (name) VALUES (?) ON CONFLICT(name) DO NOTHING",
                 (args.model_name,))
    model_id = scalar(conn, "SELECT id FROM embedding_models WHERE name = ?", (args.model_name,))
    have = scalar(conn, "SELECT count(*) FROM embeddings WHERE model_id = ?", (model_id,))
    want = args.units - have
    if want <= 0:
        print(f"{args.db}: {have} units of {args.model_name} already (wanted {args.units})")
        return

    now_ms = int(time.time() * 1000)
    repo_path = os.path.abspath(args.repo_path)
    row = conn.execute("SELECT id FROM repositories WHERE name = 'synthetic'").fetchone()
    if row:
        repo_id = row[0]
    else:
        conn.execute("INSERT INTO repositories (path, name, language, created_at_ms, last_sync_at_ms)"
                     " VALUES (?, 'synthetic', 'python', ?, ?)", (repo_path, now_ms, now_ms))
        repo_id = scalar(conn, "SELECT id FROM repositories WHERE name = 'synthetic'")
    # Synthetic chunks so far: their count names the next function and its file.
    next_i = scalar(conn, "SELECT count(*) FROM chunks c JOIN files f ON f.id = c.file_id"
                          " WHERE f.repo_id = ?", (repo_id,))
    next_file = scalar(conn, "SELECT count(*) FROM files WHERE repo_id = ?", (repo_id,))
    file_id = scalar(conn, "SELECT coalesce(max(id), 0) FROM files") + 1
    chunk_id = scalar(conn, "SELECT coalesce(max(id), 0) FROM chunks") + 1
    # Unit ids only grow (a server's snapshot reads the units above the largest id it has):
    # past the AUTOINCREMENT sequence too, which remembers deleted units.
    unit_id = scalar(conn, "SELECT coalesce(max(id), 0) FROM embeddings") + 1
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        unit_id = max(unit_id, scalar(conn, "SELECT coalesce(max(seq), 0) FROM sqlite_sequence"
                                            " WHERE name = 'embeddings'") + 1)

    t0 = time.perf_counter()
    done = 0
    while done < want:
        n = min(args.batch, want - done)
        files, chunks, fts, symbols, units, vectors = [], [], [], [], [], []
        bits = os.urandom(48 * n)
        ints = os.urandom(DIM * n)
        k = 0
        while k < n:
            # Each batch starts a new file: a partial last file stays partial.
            per_file = min(CHUNKS_PER_FILE, n - k)
            path = f"mod_{next_file:06d}.py"
            ns = time.time_ns()
            size = 0
            for j in range(per_file):
                name = f"synthetic_{next_i}"
                content = f"def {name}(): pass"
                size += len(content) + 1
                line = j + 1
                chunks.append((chunk_id, file_id, line, line, name, "function", content))
                fts.append((chunk_id, *fts_row(name, content, path)))
                symbols.append((file_id, name, "function", line, line))
                units.append((unit_id, chunk_id, model_id, line, bits[48 * k:48 * (k + 1)]))
                vectors.append((unit_id, SCALE + ints[DIM * k:DIM * (k + 1)]))
                next_i += 1
                chunk_id += 1
                unit_id += 1
                k += 1
            files.append((file_id, repo_id, path, "python", size, ns, os.urandom(32), ns, per_file))
            file_id += 1
            next_file += 1
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO files (id, repo_id, path, language, size, mtime_ns, hash,"
                         " indexed_at_ns, chunk_count) VALUES (?,?,?,?,?,?,?,?,?)", files)
        conn.executemany("INSERT INTO chunks (id, file_id, start_line, end_line, symbol, kind,"
                         " content) VALUES (?,?,?,?,?,?,?)", chunks)
        conn.executemany("INSERT INTO chunks_fts (rowid, symbols, body, path) VALUES (?,?,?,?)", fts)
        conn.executemany("INSERT INTO symbols (file_id, name, kind, start_line, end_line)"
                         " VALUES (?,?,?,?,?)", symbols)
        conn.executemany("INSERT INTO embeddings (id, chunk_id, model_id, line, bits)"
                         " VALUES (?,?,?,?,?)", units)
        conn.executemany("INSERT INTO vectors (id, vector) VALUES (?,?)", vectors)
        conn.execute("COMMIT")
        done += n
        rate = done / (time.perf_counter() - t0)
        print(f"\r  {have + done}/{args.units} units ({rate:,.0f}/s)", end="", file=sys.stderr)
    print(file=sys.stderr)
    conn.execute("INSERT INTO state (key, value) VALUES ('vectors.generation', '1') "
                 "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1")
    conn.execute("UPDATE repositories SET last_sync_at_ms = ? WHERE id = ?", (now_ms, repo_id))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    total = scalar(conn, "SELECT count(*) FROM embeddings WHERE model_id = ?", (model_id,))
    conn.close()
    print(f"{args.db}: added {want} synthetic units in {time.perf_counter() - t0:.1f} s, "
          f"{total} units of {args.model_name}")


if __name__ == "__main__":
    main()
