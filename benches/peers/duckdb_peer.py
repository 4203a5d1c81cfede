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
con.execute(open(setup).read())
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
