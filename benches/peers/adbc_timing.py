"""Per-query latency of a Strata server through ADBC, as a dashboard sees it.

    python benches/peers/adbc_timing.py grpc://127.0.0.1:50051 queries.sql [runs]

Each statement of `queries.sql` (separated by ";" at the end of a line) runs `runs` times
(default 6) on one connection: `cursor.execute` then `fetch_arrow_table`. Prints the best and
the median of the runs after the first, in milliseconds. A quick A/B tool for planning and
protocol overhead; the benchmark runner remains the source of record for engine speed.
"""

import statistics
import sys
import time

import adbc_driver_flightsql.dbapi as flight


def main() -> None:
    uri, path = sys.argv[1], sys.argv[2]
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    statements = [s.strip() for s in open(path).read().split(";\n") if s.strip()]
    with flight.connect(uri) as conn, conn.cursor() as cur:
        for sql in statements:
            times = []
            for _ in range(runs):
                started = time.perf_counter()
                cur.execute(sql)
                cur.fetch_arrow_table()
                times.append(time.perf_counter() - started)
            warm = times[1:] or times
            print(f"{min(warm) * 1000:8.2f} ms best  {statistics.median(warm) * 1000:8.2f} ms median  {sql[:90]}")


if __name__ == "__main__":
    main()
