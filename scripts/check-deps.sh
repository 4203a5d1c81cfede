#!/usr/bin/env bash
# The crate dependency direction holds: catalog ← engine ← flight-server ← cli. No library crate uses clap.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
deps() { cargo tree -p "$1" -e normal --depth 1 --prefix none 2>/dev/null | tail -n +2 | awk '{print $1}'; }
check() { # crate, forbidden dependency
  if deps "$1" | grep -qx "$2"; then echo "dependency direction violated: $1 depends on $2"; fail=1; fi
}
check strata-catalog strata-engine
check strata-catalog strata-cli
check strata-catalog datafusion
check strata-engine strata-cli
check strata-engine strata-flight
check strata-catalog strata-flight
check strata-flight strata-cli
check strata-flight clap
check strata-catalog clap
check strata-engine clap
check strata-engine strata-cluster
check strata-engine ballista-core
check strata-cluster strata-flight
check strata-cluster strata-cli
check strata-cluster clap
check strata-flight strata-cluster
[ "$fail" = 0 ] && echo "dependency direction ok: catalog <- engine <- flight-server <- cli"
exit "$fail"
