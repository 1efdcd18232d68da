#!/usr/bin/env python3
"""Docstring -> function retrieval eval of `codeintel search` on real code (the CPython stdlib).

1. corpus: copies the stdlib's .py files (no tests, idlelib, site-packages, ...) into
   OUT/corpus/<group>/..., one folder per top-level package (top-level modules in groups of 40),
   so the corpus looks like several repositories (--extra-src adds more roots, e.g. a
   site-packages, each top-level package one more folder). Functions whose docstring's first sentence has
   >= 6 words and whose body holds more than the docstring are candidates (first sentence unique
   in the corpus); QUERIES of them are drawn with a seeded random sample. Their docstrings are
   replaced by `pass` plus blank lines (line numbers unchanged; every other docstring stays).
   Query = the first sentence; answer = (repository, path, def line, end line).
2. index: `codeintel index --no-embed` on every folder (lexical), then `codeintel index` again
   (files unchanged, so that run only embeds). Wall times, chunks, throughput, index.db sizes.
3. search: `codeintel search --json --limit 10 --mode M` per query for lexical, semantic, hybrid.
   A hit is correct when repository and path match and its lines overlap the answer function's.
   MRR@10, recall@10, median and p99 latency (each a fresh CLI process: start-up included).
4. baseline: plain BM25 (k1=1.2, b=0.75) over the functions of the stripped corpus.
5. summary (also OUT/summary.json; per-query results in OUT/results.jsonl).

Usage: eval_retrieval.py --bin CODEINTEL --model-dir DIR --out OUT [--max-files N]
                         [--queries N] [--seed S] [--extra-src DIR[:DIR...]]
Only the standard library; everything is written under OUT (removed first).
"""
import argparse, ast, collections, json, math, os, random, re, shutil, sqlite3, statistics
import subprocess, sys, sysconfig, time

SKIP_DIRS = {"test", "tests", "idlelib", "site-packages", "__pycache__", "lib-dynload",
             "pydoc_data"}  # pydoc_data: generated help text, not code
MODULES_PER_GROUP = 40
MODES = ("lexical", "semantic", "hybrid")
MIN_WORDS = 6


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------- corpus


def source_files(root):
    """Relative paths of the eligible .py files under root, sorted."""
    out = []
    for cur, dirs, files in os.walk(root):
        rel_root = os.path.relpath(cur, root)
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("config-")
                         and not d.startswith(".") and not d.endswith((".dist-info", ".egg-info")))
        for f in files:
            if not f.endswith(".py") or f.startswith("_sysconfigdata"):
                continue
            rel = os.path.normpath(os.path.join(rel_root, f))
            if rel.startswith("test_") or "/test_" in rel:  # stray test modules outside test/
                continue
            out.append(rel)
    return sorted(out)


def assign_groups(files):
    """Maps each (root index, relative file) to (group folder, path inside the group): one
    folder per top-level package, top-level modules in groups of MODULES_PER_GROUP. Roots after
    the first (EXTRA_SRC) get an `x<root index>-` prefix, so names never clash."""
    where = {}
    for k in sorted({k for k, _ in files}):
        prefix = f"x{k}-" if k else ""
        top_modules = [f for kk, f in files if kk == k and os.sep not in f]
        for i, f in enumerate(top_modules):
            where[(k, f)] = (f"{prefix}modules-{i // MODULES_PER_GROUP + 1:02d}", f)
        for kk, f in files:
            if kk == k and os.sep in f:
                pkg, rest = f.split(os.sep, 1)
                where[(k, f)] = (prefix + pkg, rest)
    return where


def first_sentence(doc):
    para = doc.strip().split("\n\n")[0]
    text = " ".join(para.split())
    m = re.match(r"(.+?[.!?])(\s|$)", text)
    return m.group(1) if m else text


def docstring_node(fn):
    if fn.body and isinstance(fn.body[0], ast.Expr) and isinstance(fn.body[0].value, ast.Constant) \
            and isinstance(fn.body[0].value.value, str):
        return fn.body[0]
    return None


def functions(tree):
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def strip_docstrings(text, nodes):
    """Replaces each docstring statement by `pass` + blank lines; line numbers stay the same.
    ast column offsets are UTF-8 byte offsets, so the edit works on bytes."""
    lines = text.encode("utf-8").split(b"\n")
    for n in sorted(nodes, key=lambda n: (n.lineno, n.col_offset), reverse=True):
        a, b = n.lineno - 1, n.end_lineno - 1
        head, tail = lines[a][:n.col_offset], lines[b][n.end_col_offset:]
        lines[a:b + 1] = [head + b"pass" + tail] + [b""] * (b - a)
    return b"\n".join(lines).decode("utf-8")


def build_corpus(roots, corpus, max_files, n_queries, seed):
    """roots: the stdlib first, then any extra source roots."""
    files = [(k, f) for k, root in enumerate(roots) for f in source_files(root)]
    total_eligible = len(files)
    if max_files and max_files < len(files):
        files = sorted(random.Random(seed).sample(files, max_files))
    where = assign_groups(files)
    parsed, candidates, unreadable = {}, [], []
    sentence_count = collections.Counter()
    for f in files:
        try:
            with open(os.path.join(roots[f[0]], f[1]), encoding="utf-8") as fh:
                text = fh.read()
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError, ValueError):
            unreadable.append(f)
            continue
        parsed[f] = (text, tree)
        for fn in functions(tree):
            doc = ast.get_docstring(fn)
            if not doc:
                continue
            s = first_sentence(doc)
            sentence_count[s.lower()] += 1
            if len(s.split()) >= MIN_WORDS and len(fn.body) > 1:
                candidates.append((where[f], f, fn.lineno, fn.end_lineno, fn.name, s))
    candidates = [c for c in candidates if sentence_count[c[5].lower()] == 1]
    candidates.sort()
    chosen = random.Random(seed).sample(candidates, min(n_queries, len(candidates)))
    chosen.sort()
    strip = collections.defaultdict(set)
    for _, f, line, *_ in chosen:
        strip[f].add(line)

    funcs = []  # every function of the stripped corpus, for the BM25 baseline
    for f, (text, tree) in parsed.items():
        group, rel = where[f]
        if strip[f]:
            nodes = [docstring_node(fn) for fn in functions(tree) if fn.lineno in strip[f]]
            text = strip_docstrings(text, nodes)
            tree = ast.parse(text)  # must still parse, with the same lines and no such docstring
            check = {fn.lineno: fn for fn in functions(tree)}
            for line in strip[f]:
                assert line in check and docstring_node(check[line]) is None, (f, line)
        dest = os.path.join(corpus, group, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        with open(dest, "w", encoding="utf-8") as fh:
            fh.write(text)
        lines = text.split("\n")
        for fn in functions(tree):
            funcs.append({"repository": group, "path": rel, "start_line": fn.lineno,
                          "end_line": fn.end_lineno,
                          "text": "\n".join(lines[fn.lineno - 1:fn.end_lineno])})
    queries = [{"id": i, "query": s, "repository": g, "path": rel, "function": name,
                "start_line": a, "end_line": b}
               for i, ((g, rel), _, a, b, name, s) in enumerate(chosen)]
    stats = {"roots": roots, "eligible_files": total_eligible, "files": len(parsed),
             "unparsable_files": len(unreadable), "groups": len({where[f][0] for f in parsed}),
             "functions": len(funcs), "candidate_functions": len(candidates),
             "queries": len(queries),
             "source_mb": sum(len(t.encode()) for t, _ in parsed.values()) / 1e6}
    return queries, funcs, stats


# ---------------------------------------------------------------- index


def db_size(data):
    db = os.path.join(data, "index.db")
    if not os.path.exists(db):
        return 0  # the index is elsewhere (CODEINTEL_STORE names a PostgreSQL database)
    c = sqlite3.connect(db)
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    return sum(os.path.getsize(db + s) for s in ("", "-wal", "-shm") if os.path.exists(db + s))


def run_index(binary, folders, env, embed):
    cmd = [binary, "index", "--json"] + ([] if embed else ["--no-embed"])
    t0, results = time.perf_counter(), []
    for folder in folders:
        p = subprocess.run(cmd + [folder], env=env, capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"index failed ({p.returncode}) for {folder}: {p.stderr.strip()}")
        results.append(json.loads(p.stdout))
    return time.perf_counter() - t0, results


def indexed_files(data):
    """{(repository folder name, path)} for every file in the index."""
    sql = "SELECT r.path, f.path FROM files f JOIN repositories r ON r.id = f.repo_id"
    store = os.environ.get("CODEINTEL_STORE", "")
    if store.startswith("postgres"):
        text = subprocess.run(["psql", store, "-tA", "-F", "\t", "-c", sql], check=True,
                              capture_output=True, text=True).stdout
        return {(os.path.basename(r), p) for r, p in
                (line.split("\t", 1) for line in text.splitlines() if line)}
    c = sqlite3.connect(os.path.join(data, "index.db"))
    out = {(os.path.basename(r), p) for r, p in c.execute(sql)}
    c.close()
    return out


# ---------------------------------------------------------------- search + metrics


def overlaps(hit, q):
    return hit["start_line"] <= q["end_line"] and hit["end_line"] >= q["start_line"]


def first_correct_rank(hits, q, repo_of):
    for rank, h in enumerate(hits[:10], 1):
        if repo_of(h) == q["repository"] and h["path"] == q["path"] and overlaps(h, q):
            return rank
    return None


def p99(values):
    s = sorted(values)
    return s[max(0, math.ceil(0.99 * len(s)) - 1)]


def metrics(ranks):
    n = len(ranks)
    return {"mrr10": sum(1 / r for r in ranks if r) / n if n else 0.0,
            "recall10": sum(1 for r in ranks if r) / n if n else 0.0,
            "top1": sum(1 for r in ranks if r == 1) / n if n else 0.0}


def run_search(binary, env, mode, query):
    cmd = [binary, "search", "--json", "--limit", "10", "--mode", mode, "--", query]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    ms = (time.perf_counter() - t0) * 1000
    if p.returncode != 0:
        return ms, None, f"exit {p.returncode}: {p.stderr.strip()[:300]}"
    try:
        return ms, json.loads(p.stdout), None
    except json.JSONDecodeError as e:
        return ms, None, f"bad JSON: {e}: {p.stdout[:200]!r}"


# ---------------------------------------------------------------- BM25 baseline


def tokenize(text):
    """Lowercase alphanumeric words; snake_case and camelCase split into their parts."""
    out = []
    for word in re.findall(r"[A-Za-z0-9]+", text):
        for part in re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+", word):
            out.append(part.lower())
    return out


class BM25:
    def __init__(self, docs, k1=1.2, b=0.75):
        self.k1, self.b = k1, b
        self.postings = collections.defaultdict(list)  # term -> [(doc, tf)]
        self.lengths = []
        for i, d in enumerate(docs):
            toks = tokenize(d)
            self.lengths.append(len(toks))
            for t, tf in collections.Counter(toks).items():
                self.postings[t].append((i, tf))
        self.n = len(docs)
        self.avg = sum(self.lengths) / max(1, self.n)

    def search(self, query, k=10):
        scores = collections.defaultdict(float)
        for t in set(tokenize(query)):
            plist = self.postings.get(t)
            if not plist:
                continue
            idf = math.log(1 + (self.n - len(plist) + 0.5) / (len(plist) + 0.5))
            for doc, tf in plist:
                norm = self.k1 * (1 - self.b + self.b * self.lengths[doc] / self.avg)
                scores[doc] += idf * tf * (self.k1 + 1) / (tf + norm)
        return sorted(scores, key=lambda d: (-scores[d], d))[:k]


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--max-files", type=int, default=0, help="0 = every eligible file")
    ap.add_argument("--extra-src", default="",
                    help="more source roots (`:`-separated, e.g. a site-packages) for a bigger "
                         "corpus; each top-level package becomes one more folder")
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--search-only", action="store_true",
                    help="reuse the corpus and index of the previous run in --out (same "
                         "--max-files/--queries/--seed/--extra-src) and only run the searches: "
                         "for a changed ranking on an unchanged index")
    args = ap.parse_args()
    out = os.path.abspath(args.out)
    corpus, data = os.path.join(out, "corpus"), os.path.join(out, "data")
    previous = None
    if args.search_only:
        with open(os.path.join(out, "summary.json")) as fh:
            previous = json.load(fh)
        # The corpus is rebuilt (deterministic for the same arguments) only to get the queries
        # and the baseline's functions; the index stays.
        corpus = os.path.join(out, "corpus-again")
        shutil.rmtree(corpus, ignore_errors=True)
    else:
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)

    log("== corpus")
    roots = [sysconfig.get_paths()["stdlib"]] + [r for r in args.extra_src.split(":") if r]
    queries, funcs, cstats = build_corpus(roots, corpus, args.max_files, args.queries, args.seed)
    with open(os.path.join(out, "queries.json"), "w") as fh:
        json.dump(queries, fh, indent=1)
    log(f"corpus: {cstats['files']} files ({cstats['source_mb']:.1f} MB) of {', '.join(roots)} in "
        f"{cstats['groups']} folders, {cstats['functions']} functions, "
        f"{cstats['candidate_functions']} candidates, {cstats['queries']} queries")
    if not queries:
        sys.exit("no queries: the corpus is too small")

    env = dict(os.environ, CODEINTEL_DATA_DIR=data, CODEINTEL_ENV_FILE="/dev/null",
               CODEINTEL_EMBED_MODEL_DIR=args.model_dir)
    env.pop("CODEINTEL_EMBED_PROVIDER", None)
    folders = sorted(os.path.join(corpus, g) for g in os.listdir(corpus))

    if previous:
        shutil.rmtree(corpus, ignore_errors=True)
        lex_s, size_lex = previous["lexical_index_s"], previous["index_db_bytes_lexical"]
        emb_s, size_emb = previous["embed_s"], previous["index_db_bytes_embedded"]
        embedded_now = round(previous["embed_chunks_per_s"] * emb_s)
        log("search only: index figures are those of the previous run")
    else:
        log(f"== index: {len(folders)} folders, lexical (--no-embed) then embeddings")
        lex_s, lex_results = run_index(args.bin, folders, env, embed=False)
        size_lex = db_size(data)
        log(f"lexical index: {lex_s:.1f} s, index.db {size_lex / 1e6:.1f} MB")
        emb_s, emb_results = run_index(args.bin, folders, env, embed=True)
        size_emb = db_size(data)
        embedded_now = sum(r.get("chunks_embedded", 0) for r in emb_results)
    log(f"embedding: {emb_s:.1f} s for {embedded_now} chunks, index.db {size_emb / 1e6:.1f} MB")
    rep = subprocess.run([args.bin, "repos", "--json"], env=env, capture_output=True, text=True,
                         check=True)
    repos = json.loads(rep.stdout)
    chunks = sum(r["chunks"] for r in repos)
    embedded = sum(r["embedded_chunks"] for r in repos)
    files_indexed = sum(r["files"] for r in repos)
    name_to_folder = {r["name"]: os.path.basename(r["path"]) for r in repos}
    have = indexed_files(data)
    # codeintel skips some files by design (size limit, default excludes such as `build/`):
    # queries into them are left out of the scores.
    missing = [q for q in queries if (q["repository"], q["path"]) not in have]
    for q in missing:
        log(f"note: query {q['id']} dropped, its answer file is not indexed: "
            f"{q['repository']}/{q['path']}")
    queries = [q for q in queries if (q["repository"], q["path"]) in have]
    if files_indexed != cstats["files"]:
        log(f"note: {cstats['files'] - files_indexed} of {cstats['files']} corpus files not indexed")
    if embedded != chunks:
        log(f"WARNING: {chunks - embedded} of {chunks} chunks have no embedding")

    def repo_of(hit):
        return name_to_folder.get(hit["repository"], hit["repository"])

    log(f"== search: {len(queries)} queries x {len(MODES)} modes")
    for m in MODES:  # warm the page cache (and fail fast when a mode does not work at all)
        _, _, err = run_search(args.bin, env, m, "read a configuration file")
        if err:
            log(f"WARNING: warm-up search in {m} mode failed: {err}")
    ranks = {m: [] for m in MODES}
    lat = {m: [] for m in MODES}
    errors = {m: [] for m in MODES}
    with open(os.path.join(out, "results.jsonl"), "w") as fh:
        for i, q in enumerate(queries):
            row = dict(q)
            for m in MODES:
                ms, hits, err = run_search(args.bin, env, m, q["query"])
                lat[m].append(ms)
                if err:
                    errors[m].append((q["id"], q["query"], err))
                    rank = None
                else:
                    rank = first_correct_rank(hits, q, repo_of)
                ranks[m].append(rank)
                row[m] = {"rank": rank, "ms": round(ms, 1), "error": err,
                          "hits": [[repo_of(h), h["path"], h["start_line"], h["end_line"],
                                    h.get("symbol")] for h in (hits or [])]}
            fh.write(json.dumps(row) + "\n")
            if (i + 1) % 50 == 0:
                log(f"  {i + 1}/{len(queries)} queries")

    # Diagnostics from the recorded top-10 lists: how often semantic alone finds what lexical
    # misses, whether hybrid keeps it, and an equal-weight RRF (k=60) of the two lists.
    sem_only = [i for i in range(len(queries)) if ranks["semantic"][i] and not ranks["lexical"][i]]
    sem_only_kept = sum(1 for i in sem_only if ranks["hybrid"][i])
    rrf_ranks = []
    with open(os.path.join(out, "results.jsonl")) as fh:
        for q, line in zip(queries, fh):
            row, score, hit_of = json.loads(line), collections.defaultdict(float), {}
            for m in ("lexical", "semantic"):
                for r, h in enumerate(row[m]["hits"]):
                    key = tuple(h[:4])
                    score[key] += 1 / (60 + r + 1)
                    hit_of[key] = {"repository": h[0], "path": h[1], "start_line": h[2],
                                   "end_line": h[3]}
            fused = [hit_of[k] for k in sorted(score, key=lambda k: (-score[k], k))]
            rrf_ranks.append(first_correct_rank(fused, q, lambda h: h["repository"]))

    log("== baseline: BM25 over functions")
    t0 = time.perf_counter()
    bm25 = BM25([f["text"] for f in funcs])
    bm_ranks = []
    for q in queries:
        hits = [funcs[d] for d in bm25.search(q["query"])]
        bm_ranks.append(first_correct_rank(hits, q, lambda h: h["repository"]))
    bm_s = time.perf_counter() - t0

    res = {m: dict(metrics(ranks[m]), median_ms=statistics.median(lat[m]), p99_ms=p99(lat[m]),
                   errors=len(errors[m])) for m in MODES}
    res["bm25"] = metrics(bm_ranks)
    res["rrf_equal_top10"] = metrics(rrf_ranks)
    hy = res["hybrid"]["mrr10"]
    ratio = lambda a, b: a / b if b else float("inf")
    summary = {
        "corpus": cstats, "queries": len(queries), "repositories": len(repos),
        "files_indexed": files_indexed, "chunks": chunks, "embedded_chunks": embedded,
        "lexical_index_s": lex_s, "embed_s": emb_s, "total_index_s": lex_s + emb_s,
        "embed_chunks_per_s": embedded_now / emb_s if emb_s else 0.0,
        "index_db_bytes_lexical": size_lex, "index_db_bytes_embedded": size_emb,
        "queries_dropped_not_indexed": len(missing), "results": res,
        "hybrid_vs_lexical": ratio(hy, res["lexical"]["mrr10"]),
        "hybrid_vs_bm25": ratio(hy, res["bm25"]["mrr10"]),
        "semantic_only_found": len(sem_only), "semantic_only_kept_by_hybrid": sem_only_kept,
        "errors": {m: errors[m] for m in MODES},
    }
    with open(os.path.join(out, "summary.json"), "w") as fh:
        json.dump(summary, fh, indent=1)

    for m in MODES:
        for qid, text, err in errors[m][:5]:
            log(f"ERROR {m} query {qid} {text!r}: {err}")
    log("== summary")
    log(f"corpus: {cstats['files']} files ({cstats['source_mb']:.1f} MB; CPython "
        f"{sys.version.split()[0]} stdlib{' + ' + args.extra_src if args.extra_src else ''}), "
        f"{cstats['functions']} functions, "
        f"{len(repos)} repositories, {files_indexed} files indexed, {chunks} chunks "
        f"({embedded} embedded), {len(queries)} queries (of {cstats['candidate_functions']} "
        f"candidate functions)")
    log(f"index: lexical {lex_s:.1f} s, embedding {emb_s:.1f} s, total {lex_s + emb_s:.1f} s; "
        f"embedding {summary['embed_chunks_per_s']:.1f} chunks/s (wall, {len(folders)} index "
        f"processes, model load included)")
    log(f"index.db: {size_lex / 1e6:.1f} MB lexical, {size_emb / 1e6:.1f} MB with embeddings "
        f"(+{(size_emb - size_lex) / 1e6:.1f} MB, {(size_emb - size_lex) / max(1, embedded):.0f} "
        f"bytes/chunk)")
    for m in MODES:
        r = res[m]
        log(f"{m}: MRR@10 {r['mrr10']:.3f} recall@10 {r['recall10']:.3f} top1 {r['top1']:.3f} "
            f"median {r['median_ms']:.1f} ms p99 {r['p99_ms']:.1f} ms errors {r['errors']}")
    b = res["bm25"]
    log(f"bm25 baseline (functions, k1=1.2 b=0.75): MRR@10 {b['mrr10']:.3f} recall@10 "
        f"{b['recall10']:.3f} top1 {b['top1']:.3f} ({bm_s:.1f} s in Python for all queries)")
    log("latency: wall time of one `codeintel search` process per query (start-up included)")
    ok = lambda x: "ok" if x >= 1.3 else "BELOW 1.3x"
    log(f"hybrid/lexical MRR@10: {summary['hybrid_vs_lexical']:.2f}x "
        f"({ok(summary['hybrid_vs_lexical'])}); hybrid/bm25 MRR@10: "
        f"{summary['hybrid_vs_bm25']:.2f}x ({ok(summary['hybrid_vs_bm25'])}) (target >= 1.3x each)")
    e = res["rrf_equal_top10"]
    log(f"diagnostic: {len(sem_only)} answers in the semantic top 10 but not the lexical top 10, "
        f"hybrid keeps {sem_only_kept}; equal-weight RRF (k=60) of the two recorded top-10 lists "
        f"would score MRR@10 {e['mrr10']:.3f} recall@10 {e['recall10']:.3f}")
    if missing:
        log(f"note: {len(missing)} queries dropped (answer file not indexed); scores over "
            f"{len(queries)}")


if __name__ == "__main__":
    main()
