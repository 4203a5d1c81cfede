"""Strata from Python with ADBC (the Arrow-native Flight SQL driver).

    pip install adbc-driver-flightsql pyarrow pandas
    strata serve                      # or: strata demo (sample lake, then serves it)
    python examples/python/adbc_client.py grpc://127.0.0.1:50051 [user password]

Runs a query with parameters, reads the result as Arrow and pandas, and bulk-ingests a
DataFrame into a new table (a writer's role is needed when the server has users).
"""

import sys

import adbc_driver_flightsql.dbapi as flightsql
import pandas as pd
import pyarrow as pa


def main(url, user=None, password=None):
    kwargs = {"db_kwargs": {"username": user, "password": password}} if user else {}
    with flightsql.connect(url, **kwargs) as conn, conn.cursor() as cur:
        # Parameters are bound by the server (`?` placeholders), never pasted into the SQL.
        cur.execute(
            """SELECT service, count(*) AS requests, count_if(status >= ?) AS errors,
                      quantile_cont(latency_ms, 0.95) AS p95_ms
               FROM requests WHERE service = ? GROUP BY service""",
            parameters=(500, "payments"),
        )
        table = cur.fetch_arrow_table()
        print(table.to_pandas())

        # A DataFrame in, as a new table of the lake (Parquet files + a catalog commit).
        frame = pd.DataFrame(
            {
                "ts": pd.date_range("2026-03-01", periods=1000, freq="min"),
                "host": [f"web-{i % 4}" for i in range(1000)],
                "cpu": [round((i * 37 % 100) / 100, 2) for i in range(1000)],
            }
        )
        rows = cur.adbc_ingest("host_metrics", pa.Table.from_pandas(frame, preserve_index=False), mode="create_append")
        print(f"ingested {rows} rows")
        cur.execute("SELECT host, count(*) AS samples, avg(cpu) AS avg_cpu FROM host_metrics GROUP BY host ORDER BY host")
        print(cur.fetch_df())


if __name__ == "__main__":
    main(*sys.argv[1:])
