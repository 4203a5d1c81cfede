"""DuckDB as a benchmark peer: run one query several times in this (fresh) process over the
same Parquet files, print the per-run times as JSON, and write the last result as Parquet.

usage: duckdb_peer.py SETUP_SQL_FILE QUERY_FILE RUNS RESULT_PARQUET"""

import json
import sys
import time

import duckdb
import pyarrow.parquet as pq

setup, query_file, runs, result = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
con = duckdb.connect()
setup_sql = open(setup).read()
if "s3://" in setup_sql:
    # No network to download extensions: load httpfs from its pip package.
    import pathlib

    import duckdb_extension_httpfs

    base = pathlib.Path(duckdb_extension_httpfs.__file__).parent
    con.execute(f"LOAD '{next(base.rglob('httpfs.duckdb_extension'))}'")
con.execute(setup_sql)
# Dialect: DuckDB's octet_length takes BLOBs; strlen is its byte length of a VARCHAR.
query = open(query_file).read().replace("octet_length(", "strlen(")
times = []
table = None
for _ in range(runs):
    started = time.perf_counter()
    table = con.execute(query).fetch_arrow_table()
    times.append(time.perf_counter() - started)
pq.write_table(table, result)
print(json.dumps({"times": times, "version": duckdb.__version__}))
