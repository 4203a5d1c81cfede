#!/bin/sh
# A data-quality check for a CI job: each query selects the rows that break a rule;
# `--fail-if-rows` prints them and exits non-zero when there are any, failing the job.
#
#   examples/ci_check.sh                           # against the catalog of strata.toml / STRATA_CATALOG
#   examples/ci_check.sh --server grpc://host:50051 --token-env STRATA_TOKEN
set -eu
strata query "$@" --fail-if-rows "
-- negative or missing fares
SELECT trip_id, fare FROM trips WHERE fare < 0 OR fare IS NULL LIMIT 20;
-- a trip that ends before it starts
SELECT trip_id, pickup_at, dropoff_at FROM trips WHERE dropoff_at < pickup_at LIMIT 20;
-- pickups off the planet
SELECT trip_id, pickup_lat, pickup_lon FROM trips WHERE abs(pickup_lat) > 90 OR abs(pickup_lon) > 180 LIMIT 20;
-- request logs whose JSON attributes do not parse
SELECT ts, service, attributes FROM requests WHERE NOT json_valid(attributes) LIMIT 20;
"
echo "data checks passed"
