#!/usr/bin/env bash
# Installs what the status page's browser test needs: Debian's headless-capable `chromium`
# (with apt, when absent) and `playwright-core` from npm (pinned by crates/cli/tests/status_page/package.json
# and package-lock.json) in a folder kept outside the clone, like scripts/setup-node.sh does.
# playwright-core drives the system Chromium over the DevTools protocol and downloads no
# browser of its own. Prints "CHROMIUM_BINARY NODE_FOLDER" on the last line.
set -euo pipefail
src="$(cd "$(dirname "$0")/../crates/cli/tests/status_page" && pwd)"
dir="${CODEINTEL_TEST_BROWSER:-$HOME/.cache/codeintel/browser}"
chromium="${CODEINTEL_TEST_CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then
  command -v apt-get >/dev/null || { echo "setup-chromium: $chromium is missing and apt-get is not available" >&2; exit 1; }
  as_root=()
  [ "$(id -u)" -eq 0 ] || as_root=(sudo)
  "${as_root[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium >&2
fi
[ -x "$chromium" ] || { echo "setup-chromium: $chromium did not install" >&2; exit 1; }
command -v node >/dev/null || { echo "setup-chromium: node is not installed (apt-get install nodejs npm)" >&2; exit 1; }
mkdir -p "$dir"
stamp="$dir/.installed"
want="$(cat "$src/package.json" "$src/package-lock.json" 2>/dev/null | sha256sum | cut -d' ' -f1) $(node --version)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] \
  || [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
  cp "$src/package.json" "$dir/package.json"
  if [ -f "$src/package-lock.json" ]; then
    cp "$src/package-lock.json" "$dir/package-lock.json"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >&2
  else
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --no-audit --no-fund --loglevel=error) >&2
  fi
  echo "$want" > "$stamp"
fi
node -e 'require(process.argv[1] + "/node_modules/playwright-core/package.json")' "$dir" \
  || { echo "setup-chromium: playwright-core did not install in $dir" >&2; exit 1; }
echo "$chromium $dir"
