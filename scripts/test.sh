#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the tests need (a Python virtual
# environment with DuckDB and its DuckLake extension, pinned), builds, and runs the Rust and
# Python tests. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}"
VENV="${STRATA_TEST_VENV:-$ROOT/.venv}"

echo "== python test environment ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt

echo "== build"
cargo build --workspace --all-targets

echo "== rust tests"
cargo test --workspace

echo "== python tests (DuckDB as the oracle)"
export STRATA_BIN="$CARGO_TARGET_DIR/debug/strata"
"$VENV/bin/python" -m pytest -q tests/python
