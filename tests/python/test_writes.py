"""Writing catalog tables: CREATE TABLE (partitioned, sorted), INSERT, CTAS, `strata ingest` of
CSV and NDJSON with malformed lines, time travel and history — checked against DuckDB, which
reads the same catalog and the same input files."""

import gzip
import json
import random

import pytest

from conftest import duck_attach, same_rows, strata, strata_rows
from test_object_storage import Lake, servers  # noqa: F401  (the emulator fixture)

LEVELS = ["debug", "info", "warn", "error"]
PATHS = ["/", "/api/orders", "/api/users", "/login", "/static/app.js"]


def attach(duck, catalog):
    duck_attach(duck, catalog)


def make_logs(n, seed):
    """Deterministic application-log records spread over 5 days."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        day = 1 + rng.randrange(5)
        rows.append(
            {
                "ts": f"2026-03-0{day} {rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}",
                "level": rng.choice(LEVELS),
                "status": rng.choice([200, 200, 200, 201, 404, 500]),
                "latency_ms": round(rng.random() * 500, 3),
                "path": rng.choice(PATHS),
                "request_id": i,
            }
        )
    return rows


CREATE_REQUESTS = (
    "CREATE TABLE requests (ts TIMESTAMP NOT NULL, level VARCHAR, status INT, latency_ms DOUBLE, "
    "path VARCHAR, request_id BIGINT) PARTITIONED BY (day(ts)) WITH (sort_by = 'ts')"
)

ORACLE_QUERIES = [
    "SELECT count(*), count(DISTINCT request_id), sum(status), round(sum(latency_ms), 3) FROM {t}",
    "SELECT CAST(ts AS DATE) AS d, level, count(*), max(latency_ms) FROM {t} GROUP BY 1, 2",
    "SELECT path, status, count(*) FROM {t} WHERE ts >= TIMESTAMP '2026-03-03 00:00:00' GROUP BY 1, 2",
    "SELECT request_id, ts, level FROM {t} WHERE status = 500 AND latency_ms > 400",
]


def test_sql_writes_are_read_back_and_by_duckdb(tmp_path, duck, catalog):
    strata("query", CREATE_REQUESTS, catalog=catalog)
    rows = make_logs(3000, seed=1)
    values = ", ".join(
        f"(TIMESTAMP '{r['ts']}', '{r['level']}', {r['status']}, {r['latency_ms']}, '{r['path']}', {r['request_id']})"
        for r in rows
    )
    sql_file = tmp_path / "insert.sql"
    sql_file.write_text(f"INSERT INTO requests VALUES {values};")
    out = strata("query", "-f", str(sql_file), "--format", "csv", catalog=catalog)
    assert out.stdout.split() == ["count", "3000"]
    strata(
        "query",
        "CREATE TABLE slow AS SELECT path, count(*) AS n, max(latency_ms) AS worst FROM requests "
        "WHERE latency_ms > 250 GROUP BY path",
        catalog=catalog,
    )
    strata("query", "INSERT INTO slow SELECT 'total', count(*), max(latency_ms) FROM requests", catalog=catalog)

    # Files are Hive-style under the data path, one directory per day, sorted by time.
    files = sorted((catalog.files / "main" / "requests").rglob("*.parquet"))
    assert {f.parent.name for f in files} == {f"day=2026-03-0{d}" for d in range(1, 6)}
    import pyarrow.parquet as pq

    for f in files:
        ts = pq.read_table(f).column("ts").to_pylist()
        assert ts == sorted(ts)
        meta = pq.ParquetFile(f).metadata
        assert meta.row_group(0).column(0).compression == "ZSTD"
        assert meta.row_group(0).column(0).statistics.has_min_max

    attach(duck, catalog)
    duck.execute("CREATE TABLE expected AS SELECT * FROM lake.requests")
    assert duck.execute("SELECT count(*) FROM expected").fetchone()[0] == 3000
    for q in ORACLE_QUERIES:
        same_rows(strata_rows(q.format(t="requests"), catalog, tmp_path), duck.execute(q.format(t="lake.requests")).fetchall())
    same_rows(
        strata_rows("SELECT * FROM slow", catalog, tmp_path),
        duck.execute("SELECT * FROM lake.slow").fetchall(),
    )
    # The inserted values are the generated ones.
    expected = [(r["request_id"], r["status"], r["path"]) for r in rows]
    same_rows(strata_rows("SELECT request_id, status, path FROM requests", catalog, tmp_path), expected)
    # A day filter prunes to one file (a count over it is answered from the catalog instead, so
    # the query reads a string column).
    stats = strata(
        "query", "SELECT max(path) FROM requests WHERE ts >= TIMESTAMP '2026-03-05 00:00:00'",
        "--stats", "json", catalog=catalog,
    )
    assert json.loads(stats.stderr.strip().splitlines()[-1])["files_scanned"] == 1


def test_time_travel_and_history(tmp_path, catalog):
    strata("query", "CREATE TABLE t (n BIGINT, s VARCHAR)", catalog=catalog)
    strata("query", "INSERT INTO t VALUES (1, 'a'), (2, 'b')", catalog=catalog)
    strata("query", "INSERT INTO t SELECT n + 10, s FROM t", catalog=catalog)
    history = strata("table", "history", "t", catalog=catalog).stdout.splitlines()
    snapshots = [int(line.split()[0]) for line in history[1:]]
    assert len(snapshots) == 3, history
    assert "create table" in history[1] and "insert" in history[2]
    first_insert = snapshots[1]
    assert strata_rows(f"SELECT count(*) FROM table_at('t', {first_insert})", catalog, tmp_path) == [(2,)]
    assert strata_rows(f"SELECT count(*) FROM table_at('t', {snapshots[0]})", catalog, tmp_path) == [(0,)]
    assert strata_rows("SELECT count(*) FROM t", catalog, tmp_path) == [(4,)]
    now = strata_rows("SELECT CAST(now() + INTERVAL '1 second' AS VARCHAR)", catalog, tmp_path)[0][0]
    assert strata_rows(f"SELECT count(*) FROM table_at('t', TIMESTAMP '{now[:19]}')", catalog, tmp_path) == [(4,)]
    bad = strata("query", "SELECT * FROM table_at('t', 999)", catalog=catalog, check=False)
    assert bad.returncode == 1 and "snapshot 999 does not exist" in bad.stderr


def test_bad_writes_are_refused_and_change_nothing(tmp_path, catalog):
    strata("query", "CREATE TABLE t (n INT NOT NULL, d DATE) PARTITIONED BY (month(d))", catalog=catalog)
    strata("query", "INSERT INTO t VALUES (1, DATE '2026-01-05')", catalog=catalog)
    cases = {
        "INSERT INTO t VALUES (NULL, DATE '2026-01-05')": "NOT NULL",
        "INSERT INTO t VALUES (1, DATE '2026-01-05', 3)": "",
        "INSERT INTO missing VALUES (1)": "missing",
        "CREATE TABLE t (x INT)": "already exists",
        "CREATE TABLE u (x INT) PARTITIONED BY (day(x))": "needs a date or timestamp column",
        "CREATE TABLE u (x INT) WITH (colour = 'blue')": "unknown table property 'colour'",
        "CREATE TABLE u (x INT) WITH (retention = 'soon')": "invalid duration",
        "DELETE FROM t": "not supported yet",
    }
    for sql, message in cases.items():
        proc = strata("query", sql, catalog=catalog, check=False)
        assert proc.returncode == 1, sql
        assert proc.stderr.startswith("error: ") and message in proc.stderr, (sql, proc.stderr)
    assert strata_rows("SELECT count(*) FROM t", catalog, tmp_path) == [(1,)]
    assert len(list((catalog.files).rglob("*.parquet"))) == 1
    # IF NOT EXISTS is quiet.
    strata("query", "CREATE TABLE IF NOT EXISTS t (x INT)", catalog=catalog)


def write_inputs(tmp_path):
    """NDJSON (gzip) and CSV log files with malformed lines; returns the good rows and the
    (file name, line) of every bad line."""
    rows = make_logs(4000, seed=7)
    good, bad = [], []
    ndjson_lines, csv_lines = [], ["ts,level,status,latency_ms,path,request_id"]
    rng = random.Random(3)
    for i, r in enumerate(rows):
        to_json = i % 2 == 0
        kind = rng.randrange(40)
        if to_json:
            line_no = len(ndjson_lines) + 1
            if kind == 0:
                ndjson_lines.append('{"ts": "2026-03-01 00:00:00", "level": ')  # truncated
                bad.append(("a.ndjson.gz", line_no))
                continue
            if kind == 1:
                ndjson_lines.append(json.dumps({**r, "status": "n/a"}))
                bad.append(("a.ndjson.gz", line_no))
                continue
            rec = dict(r)
            if kind == 2:  # another timestamp spelling, still valid
                rec["ts"] = rec["ts"].replace(" ", "T") + "Z"
            ndjson_lines.append(json.dumps(rec))
        else:
            line_no = len(csv_lines) + 1
            if kind == 0:
                csv_lines.append(f"{r['ts']},{r['level']},{r['status']}")  # too few fields
                bad.append(("b.csv", line_no))
                continue
            if kind == 1:
                csv_lines.append(f"not-a-time,{r['level']},{r['status']},{r['latency_ms']},{r['path']},{r['request_id']}")
                bad.append(("b.csv", line_no))
                continue
            csv_lines.append(f"{r['ts']},{r['level']},{r['status']},{r['latency_ms']},{r['path']},{r['request_id']}")
        good.append(r)
    with gzip.open(tmp_path / "in" / "a.ndjson.gz", "wt") as f:
        f.write("\n".join(ndjson_lines) + "\n")
    (tmp_path / "in" / "b.csv").write_text("\n".join(csv_lines) + "\n")
    return good, bad


def test_ingest_with_malformed_lines(tmp_path, duck, catalog):
    (tmp_path / "in").mkdir()
    good, bad = write_inputs(tmp_path)
    strata("query", CREATE_REQUESTS, catalog=catalog)

    # By default a bad line fails the whole ingest, naming the line, and loads nothing.
    failed = strata("ingest", "requests", str(tmp_path / "in" / "*"), catalog=catalog, check=False)
    assert failed.returncode == 1
    first_bad = sorted(bad)[0]
    assert f"{first_bad[0]}:{first_bad[1]}:" in failed.stderr, failed.stderr
    assert strata_rows("SELECT count(*) FROM requests", catalog, tmp_path) == [(0,)]
    # Too many rejected lines also loads nothing.
    capped = strata(
        "ingest", "requests", str(tmp_path / "in" / "*"), "--on-error", "skip", "--max-errors", "3",
        catalog=catalog, check=False,
    )
    assert capped.returncode == 1 and "more than 3 lines were rejected" in capped.stderr
    assert strata_rows("SELECT count(*) FROM requests", catalog, tmp_path) == [(0,)]

    rejects = tmp_path / "rejects.ndjson"
    done = strata(
        "ingest", "requests", str(tmp_path / "in" / "*"), "--on-error", "skip", "--rejects", str(rejects),
        catalog=catalog,
    )
    assert f"{len(good)} rows from 2 files" in done.stdout, done.stdout
    reported = sorted(
        (json.loads(line)["file"].rsplit("/", 1)[-1], json.loads(line)["line"]) for line in rejects.read_text().splitlines()
    )
    assert reported == sorted(bad)

    # The loaded rows are exactly the good ones: compare with DuckDB over the same values.
    duck.execute("CREATE TABLE good (ts TIMESTAMP, level VARCHAR, status INT, latency_ms DOUBLE, path VARCHAR, request_id BIGINT)")
    duck.executemany(
        "INSERT INTO good VALUES (?, ?, ?, ?, ?, ?)",
        [(r["ts"], r["level"], r["status"], r["latency_ms"], r["path"], r["request_id"]) for r in good],
    )
    for q in ORACLE_QUERIES:
        same_rows(strata_rows(q.format(t="requests"), catalog, tmp_path), duck.execute(q.format(t="good")).fetchall())
    # And DuckDB reads what Strata wrote.
    attach(duck, catalog)
    for q in ORACLE_QUERIES:
        same_rows(duck.execute(q.format(t="lake.requests")).fetchall(), duck.execute(q.format(t="good")).fetchall())


def test_ingest_creates_a_table_from_ndjson(tmp_path, catalog):
    (tmp_path / "in").mkdir()
    rows = make_logs(500, seed=11)
    (tmp_path / "in" / "x.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    strata(
        "ingest", "events", str(tmp_path / "in" / "x.jsonl"), "--create", "--partitioned-by", "day(ts)",
        catalog=catalog,
    )
    describe = strata("table", "describe", "events", catalog=catalog).stdout
    assert "partitioned by  day(ts)" in describe
    types = {line.split()[1]: line.split()[2] for line in describe.split("columns:")[1].strip().splitlines()}
    assert types == {
        "ts": "timestamp", "level": "varchar", "status": "int64", "latency_ms": "float64",
        "path": "varchar", "request_id": "int64",
    }
    assert strata_rows("SELECT count(*), sum(request_id) FROM events", catalog, tmp_path) == [(500, sum(range(500)))]
    missing = strata("ingest", "nope", str(tmp_path / "in" / "*.csv"), catalog=catalog, check=False)
    assert missing.returncode == 1 and "no files match" in missing.stderr


@pytest.mark.parametrize("kind", ["s3"])
def test_writes_on_object_storage(servers, kind, tmp_path, duck):  # noqa: F811
    lake = Lake(servers(kind), tmp_path)
    data = lake.url("warehouse/")
    lake.strata("--data-path", data, "query", CREATE_REQUESTS)
    (tmp_path / "in").mkdir()
    rows = make_logs(1000, seed=5)
    (tmp_path / "in" / "x.ndjson").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    lake.strata("ingest", "requests", str(tmp_path / "in" / "x.ndjson"))
    lake.strata("query", "CREATE TABLE per_day AS SELECT CAST(ts AS DATE) AS d, count(*) AS n FROM requests GROUP BY 1")
    keys = lake.store.keys(lake.bucket)
    written = [k for k in keys if k.startswith("warehouse/main/requests/day=2026-03-0")]
    assert len(written) == 5, keys
    same_rows(
        strata_rows("SELECT d, n FROM per_day", lake.catalog, tmp_path, env=lake.env()),
        [(f"2026-03-0{d}", sum(1 for r in rows if r["ts"].startswith(f"2026-03-0{d}"))) for d in range(1, 6)],
    )
    # A second load doubles the files; compaction, expiry and gc leave one file per day.
    lake.strata("ingest", "requests", str(tmp_path / "in" / "x.ndjson"))
    assert len([k for k in lake.store.keys(lake.bucket) if k.startswith("warehouse/main/requests/")]) == 10
    assert "merged 10 files" in lake.strata("compact", "requests").stdout
    lake.strata("snapshots", "expire", "--older-than", "0s")
    assert "deleted 10 files" in lake.strata("gc", "--grace", "0s").stdout
    left = [k for k in lake.store.keys(lake.bucket) if k.startswith("warehouse/main/requests/")]
    assert len(left) == 5 and all(k.split("/")[3].startswith("day=") for k in left), left
    assert strata_rows("SELECT count(*) FROM requests", lake.catalog, tmp_path, env=lake.env()) == [(2000,)]


def test_files_roll_over_at_the_target_size(tmp_path, duck, catalog):
    strata(
        "query",
        "CREATE TABLE big WITH (target_file_size = '1MB') AS SELECT value AS n, random() AS r FROM range(400000)",
        catalog=catalog,
    )
    files = list((catalog.files / "main" / "big").glob("*.parquet"))
    # About 4.7 MiB of incompressible doubles: several files, none much beyond the target.
    assert len(files) >= 4, files
    assert all(f.stat().st_size <= 1.25 * 1024 * 1024 for f in files), [f.stat().st_size for f in files]
    assert strata_rows("SELECT count(*), sum(n) FROM big", catalog, tmp_path) == [(400000, sum(range(400000)))]
    attach(duck, catalog)
    assert duck.execute("SELECT count(*), sum(n) FROM lake.big").fetchone() == (400000, sum(range(400000)))
