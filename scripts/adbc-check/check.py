"""Time queries on a warm Strata server through ADBC against DuckDB on the same files.

A quick check in the manner of the engine-speed issue's hidden one (not the benchmark runner,
which remains the record): every answer is compared with DuckDB's, and each engine's best of
five warm runs is printed with the ratio. The server should run with the result cache off
(`STRATA_CACHE_RESULTS=0`) to measure the engine.

    python check.py --port 50999 --table events --files '/data/events/*/*.parquet' --queries events.sql [--only c8,c18]
"""

import argparse
import re
import statistics
import time

import adbc_driver_flightsql.dbapi as flightsql
import duckdb


def normalized(rows):
    return [
        tuple(round(v, 6) if isinstance(v, float) else v if isinstance(v, (int, str, type(None))) else str(v) for v in row)
        for row in rows
    ]


def best(run, times=5):
    elapsed, result = [], None
    for _ in range(times):
        start = time.perf_counter()
        result = run()
        elapsed.append(time.perf_counter() - start)
    return min(elapsed), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--table", required=True)
    parser.add_argument("--files", required=True, help="glob of the table's Parquet files (Hive partitions)")
    parser.add_argument("--queries", required=True, help="file of '-- name' headers, each followed by one statement")
    parser.add_argument("--only", help="comma-separated query names")
    args = parser.parse_args()
    text = open(args.queries).read()
    queries = [(m.group(1), m.group(2).strip()) for m in re.finditer(r"-- (\w+)\n(.*?);", text, re.S)]
    only = set(args.only.split(",")) if args.only else None
    duck = duckdb.connect()
    duck.execute("SET threads = 2")
    duck.execute(f"CREATE VIEW {args.table} AS SELECT * FROM read_parquet('{args.files}', hive_partitioning = true)")
    strata = flightsql.connect(f"grpc://127.0.0.1:{args.port}")
    ratios, wrong = [], []
    for name, sql in queries:
        if only and name not in only:
            continue

        def on_strata():
            cursor = strata.cursor()
            cursor.execute(sql)
            rows = cursor.fetchall()
            cursor.close()
            return rows

        on_strata()  # warm
        strata_s, strata_rows = best(on_strata)
        duck.execute(sql).fetchall()
        duck_s, duck_rows = best(lambda: duck.execute(sql).fetchall())
        if "ORDER BY" in sql.upper():
            same = normalized(strata_rows) == normalized(duck_rows)
        else:
            same = sorted(normalized(strata_rows), key=repr) == sorted(normalized(duck_rows), key=repr)
        if not same:
            wrong.append(name)
        ratios.append(strata_s / duck_s)
        print(f"{name:5} strata {strata_s * 1000:8.1f} ms  duckdb {duck_s * 1000:8.1f} ms  ratio {strata_s / duck_s:5.2f}  {'OK' if same else 'WRONG ANSWER'}")
    print(f"geomean strata / duckdb: {statistics.geometric_mean(ratios):.2f} over {len(ratios)} queries")
    if wrong:
        raise SystemExit(f"answers differ from DuckDB's: {', '.join(wrong)}")


if __name__ == "__main__":
    main()
