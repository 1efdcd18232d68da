#!/usr/bin/env python3
"""Precision and recall of `codeintel refs` against precise language tools (run by refs_eval.sh).

TypeScript: the compiler's language service (`findReferences`, bench/refs_eval_ts.mjs) on rxjs's
shipped src/ tree. Python: jedi's `Script.get_references` (scope=project) on the installed sources
of requests, click, attrs and rich, each indexed as its own repository. Sites are compared as sets
of (repository, path, line); the definition's own site is left out of every set, and so are
references the reference tool finds outside the evaluated tree, in comments (TypeScript JSDoc
`{@link}`), or in `.pyi` stubs (stub declarations, not uses; dropped from all sets).

Needs this interpreter to have jedi (refs_eval.sh runs it from its own venv).
"""

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

HEADLINE_KINDS = ("function", "method", "class")
TS_EXTRA_KINDS = ("interface", "type", "enum")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# codeintel


class Codeintel:
    def __init__(self, binary, data_dir):
        self.bin = binary
        self.env = dict(os.environ)
        self.env.update(
            CODEINTEL_DATA_DIR=data_dir,
            CODEINTEL_ENV_FILE="/dev/null",
            CODEINTEL_EMBED_PROVIDER="none",
        )
        self.env.pop("CODEINTEL_STORE", None)
        self.db_path = os.path.join(data_dir, "index.db")

    def index(self, path, name):
        t = time.monotonic()
        p = subprocess.run(
            [self.bin, "index", "--json", path, "--name", name],
            env=self.env, capture_output=True, text=True,
        )
        dt = time.monotonic() - t
        if p.returncode != 0:
            sys.exit(f"codeintel index {path} failed ({p.returncode}): {p.stderr.strip()}")
        return dt, json.loads(p.stdout)

    def refs(self, d):
        cmd = [self.bin, "refs", d["name"], "--repo", d["repo"], "--path", d["path"],
               "--line", str(d["start_line"]), "--limit", "1000", "--json"]
        t = time.monotonic()
        p = subprocess.run(cmd, env=self.env, capture_output=True, text=True)
        dt = time.monotonic() - t
        if p.returncode != 0:
            return dt, None, (p.returncode, (p.stderr or p.stdout).strip().splitlines()[-1:])
        return dt, json.loads(p.stdout), None


def load_defs(db, repos, language, kinds):
    q = f"""select r.name, f.path, s.name, s.kind, s.start_line, s.end_line
            from symbols s join files f on f.id = s.file_id join repositories r on r.id = f.repo_id
            where r.name in ({",".join("?" * len(repos))}) and f.language = ?
              and s.kind in ({",".join("?" * len(kinds))})
            order by 1, 2, 5, 3"""
    rows = db.execute(q, (*repos, language, *kinds)).fetchall()
    return [dict(repo=r, path=p, name=n, kind=k, start_line=s, end_line=e)
            for r, p, n, k, s, e in rows]


def file_symbols(db, repo, path, cache={}):
    key = (repo, path)
    if key not in cache:
        cache[key] = db.execute(
            """select s.name, s.start_line, s.end_line from symbols s join files f
               on f.id = s.file_id join repositories r on r.id = f.repo_id
               where r.name = ? and f.path = ?""", (repo, path)).fetchall()
    return cache[key]


def sub_kind(db, tree, d):
    """The kind, split further: constructors, functions nested in another definition, Python
    properties (a @property/@cached_property/@x.setter method)."""
    if d["name"] in ("constructor", "__init__"):
        return "constructor"
    if d["kind"] == "function" and any(
            s <= d["start_line"] and d["end_line"] <= e and (s, e) != (d["start_line"], d["end_line"])
            for _, s, e in file_symbols(db, d["repo"], d["path"])):
        return "function (nested in a definition)"
    if d["kind"] == "method":
        ln = d["start_line"] - 1
        while ln >= 1:
            t = (tree.line(d["repo"], d["path"], ln) or "").strip()
            if not t.startswith("@"):
                break
            if re.match(r"@(\w+\.)*(property|cached_property|setter|getter|deleter)\b", t):
                return "method (@property)"
            ln -= 1
    return d["kind"]


def enclosing(db, repo, path, line):
    best = None
    for n, s, e in file_symbols(db, repo, path):
        if s <= line <= e and (best is None or e - s < best[2] - best[1]):
            best = (n, s, e)
    return best[0] if best else None


def extracted_in_file(db, repo, path, name):
    """Whether the index holds any use of `name` in that file (the refs table, keyed by name)."""
    row = db.execute(
        """select 1 from refs x join files f on f.id = x.file_id join repositories r
           on r.id = f.repo_id where r.name = ? and f.path = ? and x.name = ?""",
        (repo, path, name)).fetchone()
    return row is not None


# ---------------------------------------------------------------------------------------------
# Source text, grep baseline, classification


class Tree:
    """The files of one language in the evaluated repositories: lines by (repo, path)."""

    def __init__(self, roots, exts):
        self.roots = roots  # repo -> absolute root
        self.lines = {}
        for repo, root in roots.items():
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if d != "node_modules")
                for fn in sorted(filenames):
                    if fn.endswith(exts) and not fn.endswith(".d.ts"):
                        full = os.path.join(dirpath, fn)
                        rel = os.path.relpath(full, root).replace(os.sep, "/")
                        with open(full, encoding="utf-8", errors="replace") as f:
                            self.lines[(repo, rel)] = f.read().split("\n")
        self._grep = {}

    def line(self, repo, path, line):
        ls = self.lines.get((repo, path))
        return ls[line - 1] if ls and 0 < line <= len(ls) else None

    def grep(self, repo, name):
        """Every line of the repository holding `name` as a whole word."""
        key = (repo, name)
        if key not in self._grep:
            rx = re.compile(r"(?<![\w$])" + re.escape(name) + r"(?![\w$])")
            self._grep[key] = {
                (r, p, i + 1)
                for (r, p), ls in self.lines.items() if r == repo
                for i, t in enumerate(ls) if name in t and rx.search(t)
            }
        return self._grep[key]


STR_RX = re.compile(r"""("(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`)""")


def code_part(text, lang):
    """The line without string literals and trailing comments (rough, one line at a time)."""
    t = STR_RX.sub('""', text)
    if lang == "python":
        t = t.split("#", 1)[0]
        if re.match(r'\s*("""|\'\'\')', text):
            return ""
    else:
        t = t.split("//", 1)[0]
        if re.match(r"\s*(\*|/\*)", text):
            return ""
    return t


def classify(text, name, lang, is_decl_line=False):
    """A coarse pattern label for a disputed site, from its line's text."""
    if text is None:
        return "line not found"
    n = re.escape(name)
    if is_decl_line:
        return "declaration (overload/override/implementation)"
    code = code_part(text, lang)
    if name in ("constructor", "__init__"):
        if re.search(r"\bsuper\b", code):
            return "super() / super().__init__ call"
        if re.search(r"\bnew\s", code) or name == "__init__" and not re.search(r"\.__init__\b", code):
            return "construction (new X() / X())"
        if re.search(r"\.__init__\s*\(", code):
            return "Other.__init__(...) call"
    w = rf"(?<![\w$]){n}(?![\w$])"
    if not re.search(w, code):
        if re.search(w, text):
            return "only in string/comment/docstring"
        return "name not on line"
    s = code.strip()
    if lang == "python":
        if re.match(r"(from\s+\S+\s+)?import\b", s) or re.match(r"\(?\s*[\w, ]+\)?,?$", s) and \
                not re.search(r"[=(]", s):
            if re.match(r"(from|import)\b", s) or s.endswith(","):
                return "import (or import list line)"
        if re.search(rf"\b(def|class)\s+{n}\b", s):
            return "def/class of the same name"
        if re.search(rf"@[\w.]*{n}\b", s):
            return "decorator"
        if re.search(rf"\bself\.{n}\s*\(", s):
            return "attribute call self.name()"
        if re.search(rf"\bsuper\(\)\.{n}\s*\(", s):
            return "attribute call super().name()"
        if re.search(rf"\.{n}\s*\(", s):
            return "attribute call x.name()"
        if re.search(rf"\bself\.{n}\b", s):
            return "attribute access self.name"
        if re.search(rf"\.{n}\b", s):
            return "attribute access x.name"
        if re.search(rf"(?<![\w.]){n}\s*=(?!=)", s) and "(" in s:
            return "keyword argument name="
        if re.search(rf"(?<![\w.]){n}\s*(:[^=]*)?=(?!=)", s):
            return "assignment target"
        if re.search(rf"(->|:)\s*[\w.\[, |\"']*{n}\b", s) or re.search(rf"\[{n}\b", s):
            return "annotation / type use"
        if re.search(rf"(?<![\w.]){n}\s*\(", s):
            return "bare call name()"
        if re.search(rf"\b(isinstance|issubclass)\s*\(.*{n}", s) or re.search(rf"except\b.*{n}", s):
            return "isinstance/except type use"
        if re.search(rf"\bclass\s+\w+\s*\(.*{n}", s):
            return "base class"
        return "bare name (value)"
    # TypeScript
    if re.match(r"(import|export)\b.*\bfrom\b", s) or re.match(r"import\b", s) or \
            re.match(r"export\s*\{", s):
        return "import/export"
    if re.search(rf"\b(function|class|interface|type|enum)\s+{n}\b", s) or \
            re.match(rf"(public|private|protected|static|readonly|async|abstract|override|get|set|declare)\s+.*\b{n}\s*[(<?!:]", s) or \
            re.match(rf"{n}\s*(<.*>)?\(.*\)\s*(:[^=]*)?(\{{|;)$", s) and not re.match(rf"{n}\s*\([^:]*\);$", s):
        return "declaration of the same name"
    if re.match(rf"{n}\??\s*:", s):
        return "property name: (object literal member / property signature)"
    if re.search(rf"\bnew\s+{n}\b", s):
        return "new Name()"
    if re.search(rf"\b(extends|implements)\b[^{{]*\b{n}\b", s):
        return "extends/implements"
    if re.search(rf"\bthis\.{n}\s*(<[^>]*>)?\s*\(", s):
        return "member call this.name()"
    if re.search(rf"\bsuper\.{n}\s*(<[^>]*>)?\s*\(", s):
        return "member call super.name()"
    if re.search(rf"\.{n}\s*(<[^>]*>)?\s*\(", s):
        return "member call x.name()"
    if re.search(rf"\bthis\.{n}\b", s):
        return "member access this.name"
    if re.search(rf"\.{n}\b", s):
        return "member access x.name"
    if re.search(rf"(:|<|\||&|\bas|\bkeyof|\btypeof)\s*{n}\b", s) or re.search(rf"\b{n}\s*(<|\[\])", s):
        return "type position"
    if re.search(rf"(?<![\w$.]){n}\s*\(", s):
        return "bare call name()"
    return "bare name (value)"


# ---------------------------------------------------------------------------------------------
# Reference tools


def ts_reference(defs, root, tsconfig, node_dir, helper, work):
    inp = os.path.join(work, "ts_in.json")
    out = os.path.join(work, "ts_out.json")
    with open(inp, "w") as f:
        json.dump({"root": root, "tsconfig": tsconfig,
                   "defs": [dict(id=i, path=d["path"], name=d["name"], start_line=d["start_line"],
                                 end_line=d["end_line"]) for i, d in enumerate(defs)]}, f)
    t = time.monotonic()
    env = dict(os.environ, NODE_DIR=node_dir)
    subprocess.run(["node", helper, inp, out], env=env, check=True)
    dt = time.monotonic() - t
    with open(out) as f:
        res = json.load(f)
    info = f"typescript {res['typescript']} language service, {res['files']} files, " \
           f"program {res['load_ms'] / 1000:.1f} s, all findReferences {dt:.1f} s"
    per = {}
    for r in res["results"]:
        d = defs[r["id"]]
        if not r["found"]:
            per[r["id"]] = None
            continue
        own = (d["path"], r["line"])
        refs = {}
        comments = 0
        decl = {(d["repo"], p, line) for p, line in r["def_sites"]}
        for p, line, col, in_comment, is_decl in r["refs"]:
            if in_comment:
                comments += 1
            elif is_decl:
                decl.add((d["repo"], p, line))
            else:
                refs.setdefault((d["repo"], p, line), col)
        decl.discard((d["repo"],) + own)
        for k in decl | {(d["repo"],) + own}:
            refs.pop(k, None)
        per[r["id"]] = dict(refs=refs, decl=decl, name_line=r["line"], comments=comments,
                            ms=r.get("ms"))
    return info, per


PY_DEF_RX = r"^\s*(?:async\s+)?(?:def|class)\s+({name})\b"


def jedi_reference(defs, roots, cache_dir, tree):
    import jedi

    jedi.settings.cache_directory = os.path.join(cache_dir, "jedi-cache")
    projects = {repo: jedi.Project(path=root, added_sys_path=[root], smart_sys_path=False)
                for repo, root in roots.items()}
    env = jedi.InterpreterEnvironment()
    scripts = {}
    per = {}
    t0 = time.monotonic()
    times = []
    for i, d in enumerate(defs):
        root = roots[d["repo"]]
        lines = tree.lines.get((d["repo"], d["path"]))
        rx = re.compile(PY_DEF_RX.format(name=re.escape(d["name"])))
        pos = None
        for ln in range(d["start_line"], min(d["end_line"], len(lines)) + 1):
            m = rx.match(lines[ln - 1])
            if m:
                pos = (ln, m.start(1))
                break
        if pos is None:
            per[i] = None
            continue
        key = (d["repo"], d["path"])
        if key not in scripts:
            scripts[key] = jedi.Script(path=os.path.join(root, d["path"]),
                                       project=projects[d["repo"]], environment=env)
        t = time.monotonic()
        try:
            found = scripts[key].get_references(pos[0], pos[1], include_builtins=False,
                                                scope="project")
        except Exception as e:  # jedi has internal errors on odd code; count, don't stop
            log(f"jedi failed on {d['repo']}/{d['path']}:{pos[0]} {d['name']}: {e!r}")
            per[i] = None
            continue
        times.append(time.monotonic() - t)
        refs = {}
        decl = set()
        stubs = 0
        for r in found:
            if r.module_path is None:
                continue
            mp = os.path.realpath(str(r.module_path))
            rel = os.path.relpath(mp, os.path.realpath(root))
            if rel.startswith(".."):
                continue
            rel = rel.replace(os.sep, "/")
            if rel.endswith(".pyi"):
                stubs += 1
                continue
            if (rel, r.line) == (d["path"], pos[0]):
                continue
            key = (d["repo"], rel, r.line)
            # A `def`/`class` statement of the same name (an @overload, a property setter, an
            # override) is a declaration, not a use.
            m = rx.match(tree.line(*key) or "")
            if m and m.start(1) == r.column:
                decl.add(key)
            else:
                refs.setdefault(key, r.column + 1)
        for k in decl:
            refs.pop(k, None)
        per[i] = dict(refs=refs, decl=decl, name_line=pos[0], stubs=stubs)
        if (i + 1) % 100 == 0:
            log(f"  jedi: {i + 1}/{len(defs)} definitions, {time.monotonic() - t0:.0f} s")
    info = f"jedi {jedi.__version__} get_references(scope='project'), " \
           f"{time.monotonic() - t0:.1f} s for all, median {statistics.median(times):.2f} s"
    return info, per


# ---------------------------------------------------------------------------------------------
# Comparison


def ratio(a, b):
    return a / b if b else float("nan")


def fmt(x):
    return "n/a" if x != x else f"{x:.3f}"


class Acc:
    def __init__(self):
        self.defs = self.ref = self.ci = self.tp = 0
        self.ex = self.ex_tp = self.gr = self.gr_tp = 0
        self.by_conf = Counter()
        self.by_conf_tp = Counter()

    def add(self, e):
        R, C, E, G = e["R"], e["C"], e["E"], e["G"]
        self.defs += 1
        self.ref += len(R)
        self.ci += len(C)
        self.tp += len(R & C)
        self.ex += len(E)
        self.ex_tp += len(E & R)
        self.gr += len(G)
        self.gr_tp += len(G & R)
        for site, conf in e["conf"].items():
            self.by_conf[conf] += 1
            self.by_conf_tp[conf] += site in R

    def row(self, label):
        return (f"| {label} | {self.defs} | {self.ref} | {self.ci} | {fmt(ratio(self.tp, self.ci))} "
                f"| {fmt(ratio(self.tp, self.ref))} | {fmt(ratio(self.ex_tp, self.ex))} ({self.ex}) "
                f"| {fmt(ratio(self.gr_tp, self.gr))} | {fmt(ratio(self.gr_tp, self.ref))} |")


HEADER = ("| definitions | n | tool sites | codeintel sites | precision | recall "
          "| exact-only precision (exact sites) | grep precision | grep recall |\n"
          "|---|---|---|---|---|---|---|---|---|")


def stratified(rng, items, n):
    """Up to n items, taking one per pattern in turn (patterns by size), each pattern shuffled."""
    by = defaultdict(list)
    for x in items:
        by[x["cat"]].append(x)
    queues = [rng.sample(v, len(v)) for _, v in sorted(by.items(), key=lambda kv: -len(kv[1]))]
    out = []
    while len(out) < n and any(queues):
        for q in queues:
            if q and len(out) < n:
                out.append(q.pop())
    return out


def evaluate(lang, label, ci, db, tree, defs, ref, targets, seed, n_samples, out):
    """Runs codeintel on every definition with a reference answer; prints the report."""
    evals = []
    latencies = []
    oddities = defaultdict(list)
    pylang = lang == "python"
    for i, d in enumerate(defs):
        r = ref.get(i)
        if r is None:
            oddities["reference tool found no definition there (skipped)"].append(
                f"{d['repo']}/{d['path']}:{d['start_line']} {d['kind']} {d['name']}")
            continue
        dt, sites, err = ci.refs(d)
        latencies.append(dt)
        if sites is None:
            oddities["codeintel refs failed"].append(
                f"{d['repo']}/{d['path']}:{d['start_line']} {d['name']}: exit {err[0]} {err[1]}")
            sites = []
        if len(sites) >= 1000:
            oddities["1000 sites (limit reached)"].append(f"{d['repo']}/{d['path']} {d['name']}")
        C, conf, info = set(), {}, {}
        rank = {"exact": 0, "likely": 1, "name": 2}
        for s in sites:
            path = s["path"]
            if s["repository"] not in tree.roots:
                oddities["site outside the evaluated repositories"].append(json.dumps(s))
                continue
            if path.endswith(".pyi"):
                continue
            key = (s["repository"], path, s["line"])
            C.add(key)
            if key not in conf or rank.get(s["confidence"], 3) < rank.get(conf[key], 3):
                conf[key] = s["confidence"]
                info[key] = s
            text = tree.line(*key)
            last = re.split(r"\.|::", d["name"])[-1]
            if text is None:
                oddities["site line not in file"].append(json.dumps(s))
            else:
                b = text.encode()
                col = s["column"] - 1
                if b[col:col + len(last.encode())] != last.encode() and not (
                        last == "constructor" or last == "__init__"):
                    oddities["column does not point at the name (an import alias?)"].append(
                        f"{path}:{s['line']}:{s['column']} {d['name']}: {text.strip()[:100]}")
            enc = enclosing(db, s["repository"], path, s["line"])
            if (s["symbol"] or None) != enc and not (
                    s["symbol"] and enc and s["symbol"].split(".")[-1] == enc):
                oddities["`symbol` differs from the innermost indexed definition"].append(
                    f"{path}:{s['line']} symbol={s['symbol']!r} innermost={enc!r}: "
                    f"{(text or '').strip()[:80]}")
            if (path, s["line"]) == (d["path"], r["name_line"]) and s["repository"] == d["repo"]:
                oddities["definition's own line reported"].append(
                    f"{path}:{s['line']} {d['name']}: {(text or '').strip()[:80]}")
        on_decl = C & r["decl"]
        C -= on_decl
        conf_all = conf
        conf = {k: c for k, c in conf.items() if k not in on_decl}
        E = {k for k, c in conf.items() if c == "exact"}
        R = set(r["refs"])
        own = (d["repo"], d["path"], r["name_line"])
        G = tree.grep(d["repo"], re.split(r"\.|::", d["name"])[-1]) - {own}
        G = {k for k in G if not k[1].endswith(".pyi")}
        kind = sub_kind(db, tree, d)
        G -= r["decl"]
        evals.append(dict(d=d, r=r, R=R, C=C, E=E, G=G, conf=conf, info=info, kind=kind,
                          decl=len(r["decl"]), on_decl=len(on_decl),
                          on_decl_exact=sum(conf_all[k] == "exact" for k in on_decl)))

    headline = [e for e in evals if e["d"]["kind"] in HEADLINE_KINDS]
    extra = [e for e in evals if e["d"]["kind"] not in HEADLINE_KINDS]
    with_ref = [e for e in headline if e["R"]]

    def acc(es):
        a = Acc()
        for e in es:
            a.add(e)
        return a

    a_all, a_ref = acc(headline), acc(with_ref)
    no_ctor = [e for e in with_ref if e["kind"] != "constructor"]
    p = print
    p(f"\n## {label}\n")
    p(out["tool"])
    p(f"Tree: {out['tree']}")
    p(f"codeintel index: {out['index_s']:.2f} s wall ({out['index_files']} files); "
      f"`codeintel refs` one-shot latency over {len(latencies)} calls: median "
      f"{statistics.median(latencies) * 1000:.0f} ms, p90 "
      f"{sorted(latencies)[int(len(latencies) * 0.9)] * 1000:.0f} ms, max "
      f"{max(latencies) * 1000:.0f} ms")
    p(f"Sample: seeded (seed {seed}) random sample of {out['sampled']} of {out['population']} "
      f"function/method/class definitions, reported over all of them (\"all\") and over those "
      f"the reference tool finds at least one use of (\"with >=1 ref\"). Sites are distinct "
      f"(repository, path, line); micro-averaged over sites.\n")
    p(HEADER)
    p(a_all.row("all sampled"))
    p(a_ref.row("with >=1 ref"))
    p(acc(no_ctor).row("with >=1 ref, without constructor/__init__"))
    if extra:
        p(acc(extra).row("extra: " + "/".join(TS_EXTRA_KINDS) + " (all, not in headline)"))
    p("")
    p(f"Declaration sites left out of every set (overload signatures, overriding or overridden "
      f"members, implementations, same-name def/class statements the tool links): tool "
      f"{sum(e['decl'] for e in headline)} lines; codeintel reported "
      f"{sum(e['on_decl'] for e in headline)} of them as references "
      f"({sum(e['on_decl_exact'] for e in headline)} exact).\n")
    p(f"Targets (with >=1 ref): recall >= {targets[0]}, precision >= {targets[1]}, exact-only "
      f"precision >= 0.90 -> recall {fmt(ratio(a_ref.tp, a_ref.ref))}, precision "
      f"{fmt(ratio(a_ref.tp, a_ref.ci))}, exact {fmt(ratio(a_ref.ex_tp, a_ref.ex))}")
    p("\nPer confidence (all sampled): " + ", ".join(
        f"{c} {a_all.by_conf[c]} sites, precision {fmt(ratio(a_all.by_conf_tp[c], a_all.by_conf[c]))}"
        for c in ("exact", "likely", "name") if a_all.by_conf[c]))
    p("\nPer kind (all sampled):\n")
    p(HEADER.replace("| definitions |", "| kind |"))
    for k in sorted({e["kind"] for e in evals}):
        p(acc([e for e in evals if e["kind"] == k]).row(k))

    # Disagreements over the headline definitions.
    fps, fns = [], []
    for e in headline:
        d = e["d"]
        for key in sorted(e["C"] - e["R"]):
            text = tree.line(*key)
            cat = classify(text, re.split(r"\.|::", d["name"])[-1], lang, key in e["r"]["decl"])
            fps.append(dict(key=key, d=d, text=text, cat=cat, s=e["info"][key]))
        for key in sorted(e["R"] - e["C"]):
            text = tree.line(*key)
            cat = classify(text, re.split(r"\.|::", d["name"])[-1], lang)
            fns.append(dict(key=key, d=d, text=text, cat=cat))
    rng = random.Random(seed)
    for title, items in (("False positives (codeintel reports, tool does not)", fps),
                         ("False negatives (tool finds, codeintel misses)", fns)):
        p(f"\n### {title}: {len(items)} sites\n")
        cats = Counter(x["cat"] for x in items)
        is_fp = items is fps
        p("| pattern (heuristic, from the line text) | sites | share |"
          + (" exact / likely / name |\n|---|---|---|---|" if is_fp else "\n|---|---|---|"))
        for c, n in cats.most_common():
            by = Counter(x["s"]["confidence"] for x in items if x["cat"] == c) if is_fp else None
            p(f"| {c} | {n} | {n / len(items):.0%} |"
              + (f" {by['exact']} / {by['likely']} / {by['name']} |" if is_fp else ""))
        p(f"\nSample (seeded, round-robin over the patterns above, at most {n_samples}):\n")
        for x in stratified(rng, items, n_samples):
            d = x["d"]
            r, path, line = x["key"]
            extra_s = ""
            if "s" in x:
                extra_s = f" [{x['s']['kind']}/{x['s']['confidence']}, symbol={x['s']['symbol']}]"
            else:
                has = extracted_in_file(db, r, path, re.split(r"\.|::", d["name"])[-1])
                extra_s = f" [name {'is' if has else 'NOT'} in the file's extracted refs]"
            p(f"- `{d['kind']} {d['name']}` ({d['repo']}/{d['path']}:{d['start_line']}) -> "
              f"{r}/{path}:{line} *{x['cat']}*{extra_s}\n  `{(x['text'] or '').strip()[:150]}`")
    wrong_exact = [x for x in fps if x["s"]["confidence"] == "exact"]
    p(f"\n### Every `exact` site the tool does not confirm ({len(wrong_exact)}, first 25)\n")
    for x in wrong_exact[:25]:
        d = x["d"]
        r, path, line = x["key"]
        p(f"- `{d['kind']} {d['name']}` ({d['repo']}/{d['path']}:{d['start_line']}) -> "
          f"{r}/{path}:{line} [{x['s']['kind']}, symbol={x['s']['symbol']}] "
          f"`{(x['text'] or '').strip()[:130]}`")
    if oddities:
        p("\n### Oddities in codeintel's answers\n")
        for k, v in oddities.items():
            p(f"- {k}: {len(v)}" + "".join(f"\n  - `{s[:200]}`" for s in v[:5]))
    strip = lambda xs: [dict(site=x["key"], cat=x["cat"], text=x["text"],
                             def_=f"{x['d']['kind']} {x['d']['name']} {x['d']['repo']}/{x['d']['path']}:{x['d']['start_line']}",
                             ci=x.get("s")) for x in xs]
    return dict(all=vars(a_all), with_ref=vars(a_ref), fps=strip(fps), fns=strip(fns),
                latency_median_s=statistics.median(latencies))


# ---------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--cache", required=True, help="where refs_eval.sh put the trees")
    ap.add_argument("--ts-sample", type=int, default=400)
    ap.add_argument("--py-sample", type=int, default=400)
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--samples", type=int, default=10, help="disagreements shown per list")
    ap.add_argument("--lang", choices=["typescript", "python", "both"], default="both")
    ap.add_argument("--json-out")
    args = ap.parse_args()
    bench = os.path.dirname(os.path.abspath(__file__))
    work = tempfile.mkdtemp(prefix="codeintel-refs-eval-")
    data = os.path.join(work, "data")
    os.makedirs(data)
    ci = Codeintel(args.bin, data)
    summary = {}
    t_start = time.monotonic()
    print("# find_references evaluation\n")
    print(f"codeintel: `{args.bin}`; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d')}")
    try:
        if args.lang in ("typescript", "both"):
            node_dir = os.path.join(args.cache, "node")
            root = os.path.join(node_dir, "node_modules", "rxjs", "src")
            with open(os.path.join(node_dir, "node_modules", "rxjs", "package.json")) as f:
                version = json.load(f)["version"]
            dt, res = ci.index(root, "rxjs")
            db = sqlite3.connect(ci.db_path)
            pop = load_defs(db, ["rxjs"], "typescript", HEADLINE_KINDS)
            pop = [d for d in pop if not d["path"].endswith(".d.ts")]
            rng = random.Random(args.seed)
            defs = rng.sample(pop, min(args.ts_sample, len(pop)))
            defs += load_defs(db, ["rxjs"], "typescript", TS_EXTRA_KINDS)
            tree = Tree({"rxjs": root}, (".ts", ".js"))
            log(f"typescript: {len(defs)} definitions")
            info, ref = ts_reference(defs, root, "tsconfig.base.json", node_dir,
                                     os.path.join(bench, "refs_eval_ts.mjs"), work)
            comments = sum(r["comments"] for r in ref.values() if r)
            out = dict(tool=f"Reference: {info}; {comments} JSDoc/comment references dropped.",
                       tree=f"rxjs {version} src/ (npm tarball), {len(tree.lines)} .ts files",
                       index_s=dt, index_files=res.get("files_processed"), sampled=len(
                           [d for d in defs if d["kind"] in HEADLINE_KINDS]), population=len(pop))
            summary["typescript"] = evaluate(
                "typescript", "TypeScript (rxjs, TypeScript language service)", ci, db, tree,
                defs, ref, (0.90, 0.75), args.seed, args.samples, out)
            db.close()
        if args.lang in ("python", "both"):
            dists = ["requests", "click", "attrs", "rich"]
            roots = {n: os.path.join(args.cache, "py", n) for n in dists}
            dt_all, files = 0.0, 0
            for n in dists:
                dt, res = ci.index(roots[n], n)
                dt_all += dt
                files += res.get("files_processed", 0)
            db = sqlite3.connect(ci.db_path)
            pop = load_defs(db, dists, "python", HEADLINE_KINDS)
            pop = [d for d in pop if not d["path"].endswith(".pyi")]
            rng = random.Random(args.seed)
            defs = rng.sample(pop, min(args.py_sample, len(pop)))
            tree = Tree(roots, (".py",))
            log(f"python: {len(defs)} definitions")
            info, ref = jedi_reference(defs, roots, args.cache, tree)
            stubs = sum(r["stubs"] for r in ref.values() if r)
            vers = []
            for n in dists:
                vers += [x[:-len(".dist-info")] for x in os.listdir(roots[n])
                         if x.endswith(".dist-info")]
            out = dict(tool=f"Reference: {info}; {stubs} references in .pyi stubs dropped "
                            f"(stub files are left out of every set).",
                       tree=f"{', '.join(sorted(vers))} (pip --target, one repository each), "
                            f"{len(tree.lines)} .py files",
                       index_s=dt_all, index_files=files, sampled=len(defs), population=len(pop))
            summary["python"] = evaluate(
                "python", "Python (requests, click, attrs, rich; jedi)", ci, db, tree, defs, ref,
                (0.85, 0.50), args.seed, args.samples, out)
            db.close()
        print(f"\nTotal run time: {time.monotonic() - t_start:.0f} s")
        if args.json_out:
            with open(args.json_out, "w") as f:
                json.dump(summary, f, indent=1, default=str)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
