"""DuckDB as the fuzzer's oracle: a long-lived process that reads one JSON request a line
({"sql": ..., "strata": base64 Arrow IPC stream of Strata's result}), runs the same SQL in
DuckDB over the same Parquet files, compares the two results as multisets (numbers to 6
significant digits, NaN equal to NaN) and answers one JSON line:
{"verdict": "same" | "different" | "duckdb_error" | "duckdb_timeout", "detail": "..."}.

usage: duckdb_oracle.py SETUP_SQL_FILE"""

import base64
import datetime
import decimal
import json
import math
import sys
import threading

import duckdb
import pyarrow as pa

con = duckdb.connect()
con.execute(open(sys.argv[1]).read())
TIMEOUT = 20.0


def norm(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, decimal.Decimal, float)):
        f = float(v)
        if math.isnan(f):
            return "NaN"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        if isinstance(v, int) and abs(v) < 2**53:
            return v
        return float(f"{f:.6g}")
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=None).isoformat()
    if isinstance(v, (datetime.date, datetime.time)):
        return v.isoformat()
    if isinstance(v, (list, tuple)):
        return tuple(norm(x) for x in v)
    if isinstance(v, dict):
        return tuple(sorted((k, norm(x)) for k, x in v.items()))
    return v


def rows(table):
    cols = [c.to_pylist() for c in table.columns]
    out = [tuple(norm(c[i]) for c in cols) for i in range(table.num_rows)]
    return sorted(out, key=repr)


def close(a, b):
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        if len(x) != len(y):
            return False
        for u, w in zip(x, y):
            if isinstance(u, float) and isinstance(w, (int, float)) or isinstance(w, float) and isinstance(u, int):
                if not math.isclose(float(u), float(w), rel_tol=1e-5, abs_tol=1e-9):
                    return False
            elif u != w:
                return False
    return True


def run(sql):
    timer = threading.Timer(TIMEOUT, con.interrupt)
    timer.start()
    try:
        return con.execute(sql).to_arrow_table()
    finally:
        timer.cancel()


for line in sys.stdin:
    request = json.loads(line)
    sql = request["sql"]
    strata = pa.ipc.open_stream(base64.b64decode(request["strata"])).read_all()
    try:
        duck = run(sql)
    except duckdb.InterruptException:
        print(json.dumps({"verdict": "duckdb_timeout", "detail": ""}), flush=True)
        continue
    except Exception as e:  # any DuckDB error is an answer, not a failure of the oracle
        print(json.dumps({"verdict": "duckdb_error", "detail": str(e)[:300]}), flush=True)
        continue
    a, b = rows(strata), rows(duck)
    if close(a, b):
        print(json.dumps({"verdict": "same", "detail": f"{len(a)} rows"}), flush=True)
    else:
        only_a = [r for r in a if r not in b][:3]
        only_b = [r for r in b if r not in a][:3]
        detail = f"strata {len(a)} rows, duckdb {len(b)} rows; only strata: {only_a!r}; only duckdb: {only_b!r}"
        print(json.dumps({"verdict": "different", "detail": detail[:600]}), flush=True)
