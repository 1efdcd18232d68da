#!/usr/bin/env bash
# Installs what the MCP interoperability test needs: the official Python MCP SDK (`mcp` from
# PyPI) in a virtualenv kept outside the clone, and the Prometheus client library whose text
# parser reads the status page test's /metrics. Prints the venv's python on the last line.
set -euo pipefail
venv="${CODEINTEL_TEST_VENV:-$HOME/.cache/codeintel/venv}"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if ! "$venv/bin/python" -c "import mcp, prometheus_client" 2>/dev/null; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check "mcp>=1.9" "prometheus_client>=0.20" >&2
fi
echo "$venv/bin/python"
