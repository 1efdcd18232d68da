#!/usr/bin/env bash
# Runs the whole test suite: unit tests, and integration tests that drive the real binary.
# Anything a test needs beyond the Rust toolchain is installed from here, never by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/codeintel/target}"
cargo test --workspace --locked "$@"
