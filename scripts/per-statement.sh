#!/usr/bin/env bash
# Per-statement cost, embedded and over Flight SQL: four small logs queries (three answered
# from the catalog, one latest-N) repeated RUNS times in one `strata query` process, then the
# same through `strata serve`; prints the median and 10th percentile of each statement's
# `elapsed_us` (the first two rounds are left out as warm-up).
#
#   scripts/per-statement.sh [STRATA_BIN] [RUNS]
#
# Uses the logs suite's data at scale 1 (benches/data/logs-1, made by
# `strata-bench run logs --scale 1`), registered into a new catalog under a temp directory.
set -euo pipefail
BIN=${1:-${CARGO_TARGET_DIR:-$HOME/.cache/strata-target}/release/strata}
RUNS=${2:-60}
DATA="$(cd "$(dirname "$0")/.." && pwd)/benches/data/logs-1/hits"
[ -d "$DATA" ] || { echo "no $DATA: run strata-bench run logs --scale 1 first" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT
SERVER=
CATALOG="sqlite:$WORK/strata.db"
"$BIN" --catalog "$CATALOG" table register hits --location "$DATA/" >/dev/null 2>&1
for _ in $(seq "$RUNS"); do
  echo "SELECT count(*) FROM hits;"
  echo "SELECT count(*) FROM hits WHERE day = '2013-07-15';"
  echo "SELECT CAST(day AS DATE) AS d, count(*) AS hits FROM hits WHERE day >= '2013-07-10' AND day <= '2013-07-20' GROUP BY 1 ORDER BY 1;"
  echo "SELECT \"EventTime\", \"WatchID\", \"URL\" FROM hits ORDER BY \"EventTime\" DESC, \"WatchID\" DESC LIMIT 10;"
done > "$WORK/q.sql"
summary() {
  python3 -c '
import sys, json, statistics
names = ["count", "count one day", "count per day", "latest 10"]
times = [json.loads(l)["elapsed_us"] for l in sys.stdin if l.startswith("{")]
for k, name in enumerate(names):
    v = sorted(times[k + 8::4])
    print(f"{sys.argv[1]:9} {name:14} median {statistics.median(v) / 1000:7.2f} ms   p10 {v[len(v) // 10] / 1000:7.2f} ms")
' "$1"
}
ARGS=(--format csv --output /dev/null --stats json --no-result-cache -f "$WORK/q.sql")
"$BIN" --catalog "$CATALOG" query "${ARGS[@]}" 2>&1 >/dev/null | summary embedded
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$BIN" --catalog "$CATALOG" serve --listen "127.0.0.1:$PORT" --retention-every off >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 50); do
  "$BIN" query --server "grpc://127.0.0.1:$PORT" "SELECT 1" >/dev/null 2>&1 && break
  sleep 0.2
done
"$BIN" query --server "grpc://127.0.0.1:$PORT" "${ARGS[@]}" 2>&1 >/dev/null | summary flight
