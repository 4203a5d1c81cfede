"""12 M log events over 12 days, written by DuckDB as one Parquet file a day (Hive `day=` directories)."""
import duckdb, os, shutil
import sys
out = sys.argv[1] if len(sys.argv) > 1 else "lake/events"
shutil.rmtree(out, ignore_errors=True)
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
con = duckdb.connect()
con.execute("SET threads=2")
con.execute("""
CREATE TABLE ev AS
SELECT
  TIMESTAMP '2026-05-01' + to_microseconds((i * 86400 // 1000000 * 1000000 + (i * 86400 % 1000000))::BIGINT) AS ts,
  CAST(TIMESTAMP '2026-05-01' + to_microseconds((i * 86400 // 1000000 * 1000000 + (i * 86400 % 1000000))::BIGINT) AS DATE) AS day,
  ['api','auth','billing','search','cart','checkout','gateway','notify','profile','media'][1 + (hash(i) % 10)::INT] AS service,
  CASE WHEN hash(i*7) % 100 < 2 THEN 'ERROR' WHEN hash(i*7) % 100 < 10 THEN 'WARN' WHEN hash(i*7) % 100 < 30 THEN 'DEBUG' ELSE 'INFO' END AS level,
  CASE WHEN hash(i*3) % 100 < 3 THEN 500 + (hash(i) % 4)::INT WHEN hash(i*3) % 100 < 8 THEN 404 ELSE 200 END AS status,
  (hash(i*11) % 100000) / 100.0 AS latency_ms,
  (hash(i*13) % 500000)::BIGINT AS user_id,
  md5(CAST(i // 3 AS VARCHAR)) AS trace_id,
  '/v1/' || ['items','users','orders','search','login','pay'][1 + (hash(i*17) % 6)::INT] || '/' || (hash(i*19) % 1000)::VARCHAR AS path,
  CASE WHEN hash(i*23) % 1000 < 5 THEN 'upstream timeout after ' || (hash(i) % 5000)::VARCHAR || ' ms talking to ' || ['db','cache','queue'][1 + (hash(i*29) % 3)::INT]
       WHEN hash(i*23) % 1000 < 12 THEN 'Connection reset by peer while reading response from host-' || (hash(i) % 50)::VARCHAR
       WHEN hash(i*23) % 1000 < 40 THEN 'user ' || (hash(i*13) % 500000)::VARCHAR || ' failed login attempt from 10.0.' || (hash(i) % 255)::VARCHAR || '.' || (hash(i*2) % 255)::VARCHAR
       ELSE 'request handled in ' || (hash(i*11) % 100000 / 100)::VARCHAR || ' ms for path /v1/resource/' || (hash(i*31) % 10000)::VARCHAR END AS message
FROM range(12000000) t(i)
""")
con.execute(f"COPY (SELECT * FROM ev ORDER BY ts) TO '{out}' (FORMAT parquet, PARTITION_BY (day), ROW_GROUP_SIZE 122880)")
print(con.execute("select count(*), min(ts), max(ts) from ev").fetchall())
