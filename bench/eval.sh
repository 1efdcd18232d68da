#!/usr/bin/env bash
# Retrieval eval: docstring -> function on the CPython standard library of this machine.
# Copies the stdlib into bench/out/eval/corpus/<package> folders, strips the docstrings of
# QUERIES functions, indexes every folder (lexical, then embeddings), asks each docstring's first
# sentence in lexical, semantic and hybrid mode and scores MRR@10 / recall@10 beside a plain
# BM25-over-functions baseline. Everything lands in bench/out/eval (recreated on every run).
# Usage: [MAX_FILES=N] [QUERIES=300] [SEED=1] [EXTRA_SRC=DIR:...] [CODEINTEL_BIN=...] bench/eval.sh
#   full: bench/eval.sh  (every eligible stdlib file: 670 files, ~13k chunks; embedding runs at
#         ~21 chunks/s on 2 cores, so ~11 minutes)
#   >= 50k chunks: the stdlib alone is too small; add real code from a site-packages, e.g.
#         EXTRA_SRC=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])') \
#         MAX_FILES=4500 bench/eval.sh   (here: ~54k chunks, ~45 minutes of embedding)
#   small: MAX_FILES=60 QUERIES=40 bench/eval.sh   (about a minute)
#   SEARCH_ONLY=1 (same other settings as the previous run): keep its corpus and index, only
#         search again (after a ranking change that does not touch chunks or vectors)
. "$(dirname "$0")/common.sh"
bin=${CODEINTEL_BIN:-$CODEINTEL}
[ -x "$bin" ] || { echo "no codeintel binary at $bin (build it: cargo build --release -p codeintel-cli, or set CODEINTEL_BIN)" >&2; exit 2; }
model=$(bash "$REPO_DIR/scripts/setup-model.sh" | tail -1)
echo "machine: $(machine)"
echo "binary: $bin ($("$bin" --version))"
echo "model: $model"
python3 "$BENCH_DIR/eval_retrieval.py" --bin "$bin" --model-dir "$model" \
  --out "$BENCH_DIR/out/eval" --max-files "${MAX_FILES:-0}" --queries "${QUERIES:-300}" \
  --seed "${SEED:-1}" --extra-src "${EXTRA_SRC:-}" ${SEARCH_ONLY:+--search-only}
