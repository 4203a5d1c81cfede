#!/usr/bin/env bash
# Apache Superset on Strata in a real browser (tests/superset/test_superset.py): installs
# Superset 6.1.0 with Strata's engine spec in its own virtual environment under ~/.cache (reused
# by later runs), Debian's Chromium and Playwright (driving that Chromium; no browser is
# downloaded), builds strata, and runs the test. scripts/test.sh runs it at its end; run it
# alone to check the Superset integration (about 40 s once installed).
# The dashboard screenshot is kept in $STRATA_ARTIFACTS (default ~/.cache/strata-superset/artifacts).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}"
VENV="${STRATA_TEST_VENV:-$ROOT/.venv}"
SUPERSET_VENV="${STRATA_SUPERSET_VENV:-$HOME/.cache/strata-superset/venv}"
export STRATA_SUPERSET_VENV="$SUPERSET_VENV"

echo "== superset ($SUPERSET_VENV)"
if [ ! -x "$SUPERSET_VENV/bin/python" ]; then
  python3 -m venv "$SUPERSET_VENV"
fi
"$SUPERSET_VENV/bin/pip" install --quiet --disable-pip-version-check -r integrations/superset/requirements.txt
"$SUPERSET_VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./integrations/superset

echo "== chromium (Debian's) and playwright"
if [ ! -x "${STRATA_CHROMIUM:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
  else
    DEBIAN_FRONTEND=noninteractive sudo apt-get install -y -q chromium >/dev/null
  fi
fi
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
"$VENV/bin/pip" install --quiet --disable-pip-version-check playwright==1.65.2 requests

echo "== build"
cargo build -p strata-cli
export STRATA_TEST_BIN="$CARGO_TARGET_DIR/debug/strata"

echo "== superset test"
"$VENV/bin/python" -m pytest -q tests/superset
