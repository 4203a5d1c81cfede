"""Lake maintenance: compaction while another process appends, retention, snapshot expiry and
gc (checked by inspecting the files left on disk), concurrent writers, and writers killed with
SIGKILL — with DuckDB reading the catalog afterwards as the oracle."""

import csv
import datetime
import io
import random
import re
import signal
import subprocess
import time
import uuid

import adbc_driver_flightsql.dbapi as flight_sql

from conftest import catalog_query, clean_environment, duck_attach, make_catalog, strata, strata_bin, strata_rows

CREATE = (
    "CREATE TABLE events (ts TIMESTAMP NOT NULL, level VARCHAR, n BIGINT) "
    "PARTITIONED BY (day(ts)) WITH (sort_by = 'ts', retention = '30 days')"
)


def attach(duck, catalog):
    duck_attach(duck, catalog)


def live_files(catalog, table="events"):
    return catalog_query(
        catalog,
        "SELECT count(*) FROM ducklake_data_file f JOIN ducklake_table t USING (table_id) "
        f"WHERE t.table_name = '{table}' AND t.end_snapshot IS NULL AND f.end_snapshot IS NULL",
    )[0][0]


def insert_script(path, start, count, day_of):
    """`count` INSERT statements, each one commit of 20 rows on one day."""
    lines = []
    for i in range(start, start + count):
        day = day_of(i)
        values = ", ".join(
            f"(TIMESTAMP '{day} {(i * 7 + k) % 24:02d}:{k:02d}:00', '{['info', 'warn', 'error'][k % 3]}', {i * 100 + k})"
            for k in range(20)
        )
        lines.append(f"INSERT INTO events VALUES {values};")
    path.write_text("\n".join(lines))
    return path


def spawn(*args, catalog, env=None):
    env = {**clean_environment(), "STRATA_CATALOG": catalog, **(env or {})}
    return subprocess.Popen(
        [strata_bin(), *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_compaction_while_another_process_appends(tmp_path, duck, catalog):
    strata("query", CREATE.replace(", retention = '30 days'", ""), catalog=catalog)
    days = ["2026-03-01", "2026-03-02", "2026-03-03"]
    strata("query", "-f", str(insert_script(tmp_path / "a.sql", 0, 150, lambda i: days[i % 3])), catalog=catalog)
    assert live_files(catalog) == 150
    # Another writer appends 60 more commits while the compaction runs.
    appender = spawn("query", "-f", str(insert_script(tmp_path / "b.sql", 150, 60, lambda i: days[i % 3])), catalog=catalog)
    time.sleep(0.3)
    dry = strata("compact", "events", "--dry-run", catalog=catalog)
    assert "would merge" in dry.stdout
    out = strata("compact", "events", catalog=catalog)
    assert "merged" in out.stdout and "in 3 partitions" in out.stdout, out.stdout
    _, err = appender.communicate(timeout=300)
    assert appender.returncode == 0, err

    total = 210 * 20
    expected = sum(i * 100 + k for i in range(210) for k in range(20))
    assert strata_rows("SELECT count(*), sum(n) FROM events", catalog, tmp_path) == [(total, expected)]
    attach(duck, catalog)
    assert duck.execute("SELECT count(*), sum(n) FROM lake.events").fetchone() == (total, expected)
    per_day = duck.execute("SELECT CAST(ts AS DATE)::VARCHAR, count(*) FROM lake.events GROUP BY 1 ORDER BY 1").fetchall()
    assert per_day == [(d, 70 * 20) for d in days]
    # Compacting again merges what the appender added meanwhile: one file per day is left.
    strata("compact", "events", catalog=catalog)
    assert live_files(catalog) == 3
    history = strata("table", "history", "events", catalog=catalog).stdout
    assert "compact" in history
    # Compacted files are sorted by time, so a time filter prunes row groups and files.
    assert strata_rows(
        "SELECT count(*) FROM events WHERE ts >= TIMESTAMP '2026-03-03 00:00:00'", catalog, tmp_path
    ) == [(70 * 20,)]
    # --where limits compaction to the files that may match: only the third day's are merged.
    strata("query", "-f", str(insert_script(tmp_path / "c.sql", 210, 6, lambda i: days[i % 3])), catalog=catalog)
    assert live_files(catalog) == 9
    out = strata("compact", "events", "--where", "ts >= TIMESTAMP '2026-03-03 00:00:00'", catalog=catalog)
    assert "merged 3 files" in out.stdout and "in 1 partitions" in out.stdout, out.stdout
    assert live_files(catalog) == 7
    total += 6 * 20
    expected += sum(i * 100 + k for i in range(210, 216) for k in range(20))
    assert strata_rows("SELECT count(*), sum(n) FROM events", catalog, tmp_path) == [(total, expected)]
    # A bad predicate is a clear error and changes nothing.
    bad = strata("compact", "events", "--where", "nope > 1", catalog=catalog, check=False)
    assert bad.returncode == 1 and "--where" in bad.stderr and "nope" in bad.stderr
    assert live_files(catalog) == 7


def test_retention_expiry_and_gc_leave_only_live_files(tmp_path, duck, catalog):
    strata("query", CREATE, catalog=catalog)
    today = datetime.date.today()
    old = [today - datetime.timedelta(days=d) for d in (60, 45)]
    recent = [today - datetime.timedelta(days=d) for d in (1, 0)]
    all_days = [str(d) for d in old + recent]
    strata("query", "-f", str(insert_script(tmp_path / "a.sql", 0, 8, lambda i: all_days[i % 4])), catalog=catalog)
    table_dir = catalog.files / "main" / "events"

    def parquet_files():
        return sorted(p.relative_to(table_dir).as_posix() for p in table_dir.rglob("*.parquet"))

    before = parquet_files()
    assert len(before) == 8
    dry = strata("table", "retention", "events", "--dry-run", catalog=catalog)
    assert "would remove 2 partitions (4 files, 80 rows)" in dry.stdout, dry.stdout
    out = strata("table", "retention", "events", catalog=catalog)
    assert "removed 2 partitions (4 files, 80 rows)" in out.stdout, out.stdout
    assert strata_rows("SELECT count(*) FROM events", catalog, tmp_path) == [(80,)]
    attach(duck, catalog)
    assert duck.execute("SELECT count(*), min(ts)::DATE FROM lake.events").fetchone() == (80, recent[0])
    duck.execute("DETACH lake")
    # Metadata only: the files are still there, and time travel still sees the old rows.
    assert parquet_files() == before
    history = strata("table", "history", "events", catalog=catalog).stdout
    retention_snapshot = int([l for l in history.splitlines() if "retention" in l][0].split()[0])
    assert strata_rows(f"SELECT count(*) FROM table_at('events', {retention_snapshot - 1})", catalog, tmp_path) == [(160,)]

    # A stray file a killed writer left, and a file that is not Strata's.
    stray = table_dir / f"day={recent[0]}" / f"strata-{uuid.uuid4()}.parquet"
    stray.write_bytes(b"PAR1 partial upload")
    foreign = table_dir / "README.parquet"
    foreign.write_bytes(b"not ours")

    # Nothing is deleted while snapshots still reference the files, and nothing young.
    held = strata("gc", "--dry-run", catalog=catalog)
    assert "would delete 0 files" in held.stdout and "1 unreferenced files are younger" in held.stdout, held.stdout
    expire = strata("snapshots", "expire", "--older-than", "0s", catalog=catalog)
    assert "4 files scheduled for deletion" in expire.stdout, expire.stdout
    gone = strata("query", f"SELECT count(*) FROM table_at('events', {retention_snapshot - 1})", catalog=catalog, check=False)
    assert gone.returncode == 1 and "snapshot" in gone.stderr
    preview = strata("gc", "--grace", "0s", "--dry-run", catalog=catalog)
    assert "would delete 5 files" in preview.stdout, preview.stdout
    assert parquet_files() == sorted(before + [stray.relative_to(table_dir).as_posix(), "README.parquet"])
    done = strata("gc", "--grace", "0s", catalog=catalog)
    assert "deleted 5 files" in done.stdout, done.stdout
    left = parquet_files()
    assert "README.parquet" in left
    assert not any(str(d) in f for d in old for f in left)
    assert len([f for f in left if f.startswith("day=")]) == 4
    assert strata_rows("SELECT count(*) FROM events", catalog, tmp_path) == [(80,)]
    attach(duck, catalog)
    assert duck.execute("SELECT count(*) FROM lake.events").fetchone() == (80,)
    # A second run finds nothing.
    assert "deleted 0 files" in strata("gc", "--grace", "0s", catalog=catalog).stdout


def test_gc_never_deletes_registered_files(tmp_path, catalog):
    strata("gen", "trips", "--rows", "2000", "--days", "2", "--out", str(tmp_path / "trips"))
    files = sorted((tmp_path / "trips").rglob("*.parquet"))
    strata("table", "register", "trips", "--location", str(tmp_path / "trips"), catalog=catalog)
    strata("table", "drop", "trips", catalog=catalog)
    expire = strata("snapshots", "expire", "--older-than", "0s", catalog=catalog)
    assert "0 files scheduled" in expire.stdout and f"{len(files)} registered files forgotten" in expire.stdout
    strata("gc", "--grace", "0s", catalog=catalog)
    assert sorted((tmp_path / "trips").rglob("*.parquet")) == files
    # Registered tables are not Strata's to compact or expire by retention.
    strata("table", "register", "trips", "--location", str(tmp_path / "trips"), catalog=catalog)
    refused = strata("compact", "trips", catalog=catalog, check=False)
    assert refused.returncode == 1 and "registered" in refused.stderr


def test_concurrent_writers_lose_nothing(tmp_path, duck, catalog):
    """Four writer processes append at once while a fifth is killed in the middle of its
    commit (rows inserted, transaction open): nothing of the killed one is seen, nothing of the
    others is lost, ids stay unique and snapshots gapless, and DuckDB reads the result."""
    strata("query", CREATE, catalog=catalog)
    today = str(datetime.date.today())
    writers = [
        spawn("query", "-f", str(insert_script(tmp_path / f"w{w}.sql", w * 25, 25, lambda i: today)), catalog=catalog)
        for w in range(4)
    ]
    killed = spawn(
        "query", "-f", str(insert_script(tmp_path / "killed.sql", 1000, 5, lambda i: today)),
        catalog=catalog, env={"STRATA_CRASH_AT": "during_commit"},
    )
    _, err = killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGABRT and "during_commit" in err, (killed.returncode, err)
    for w in writers:
        _, err = w.communicate(timeout=300)
        assert w.returncode == 0, err
    expected = sum(i * 100 + k for i in range(100) for k in range(20))
    attach(duck, catalog)
    assert duck.execute("SELECT count(*), sum(n), count(DISTINCT n) FROM lake.events").fetchone() == (2000, expected, 2000)
    assert strata_rows("SELECT count(*), sum(n) FROM events", catalog, tmp_path) == [(2000, expected)]
    ids = [r[0] for r in catalog_query(catalog, "SELECT data_file_id FROM ducklake_data_file")]
    snapshots = [r[0] for r in catalog_query(catalog, "SELECT snapshot_id FROM ducklake_snapshot ORDER BY 1")]
    assert len(ids) == len(set(ids)) == 100
    assert snapshots == list(range(len(snapshots)))
    # The catalog still takes writes after the kill (no lock left behind).
    strata("query", "-f", str(insert_script(tmp_path / "after.sql", 2000, 1, lambda i: today)), catalog=catalog)
    assert live_files(catalog) == 101


def test_killed_writer_leaves_a_consistent_catalog(tmp_path, duck, catalog):
    strata("query", "CREATE TABLE kept AS SELECT value AS n FROM range(1000)", catalog=catalog)
    rng = random.Random(7)
    for attempt in range(3):
        writer = spawn(
            "query",
            f"CREATE TABLE big{attempt} WITH (target_file_size = '1MB') AS "
            "SELECT value AS n, random() AS r FROM range(3000000)",
            catalog=catalog,
        )
        time.sleep(rng.uniform(0.2, 2.0))
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        # Whatever point it died at, the table is either absent or complete.
        tables = strata("table", "list", catalog=catalog).stdout
        if f"big{attempt}" in tables:
            assert strata_rows(f"SELECT count(*) FROM big{attempt}", catalog, tmp_path) == [(3000000,)]
    assert strata_rows("SELECT count(*), sum(n) FROM kept", catalog, tmp_path) == [(1000, sum(range(1000)))]
    attach(duck, catalog)
    assert duck.execute("SELECT count(*) FROM lake.kept").fetchone() == (1000,)
    duck.execute("DETACH lake")
    # gc removes what the killed writers uploaded and never committed.
    strata("gc", "--grace", "0s", catalog=catalog)
    committed = catalog_query(catalog, "SELECT count(*) FROM ducklake_data_file")[0][0]
    on_disk = list((catalog.files).rglob("strata-*.parquet"))
    assert len(on_disk) == committed


def test_procedures_in_sql_match_the_cli(tmp_path, catalog):
    """`CALL retention/expire_snapshots/gc/compact(…)` do what the CLI commands do, and say so
    in the same words (one `result` row a line)."""
    strata("query", CREATE, catalog=catalog)
    old, today = str(datetime.date.today() - datetime.timedelta(days=90)), str(datetime.date.today())
    strata("query", "-f", str(insert_script(tmp_path / "a.sql", 0, 4, lambda i: [old, today][i % 2])), catalog=catalog)

    def call(sql):
        out = strata("query", sql, "--format", "csv", catalog=catalog).stdout
        return [row[0] for row in csv.reader(io.StringIO(out))]

    preview = call("CALL retention('events', dry_run => true)")
    assert preview[0] == "result" and "would remove 1 partitions (2 files, 40 rows)" in preview[1], preview
    done = call("CALL retention('events')")
    assert "removed 1 partitions (2 files, 40 rows)" in done[1], done
    assert strata_rows("SELECT count(*) FROM events", catalog, tmp_path) == [(40,)]
    compacted = call("CALL compact('events')")
    assert "merged 2 files" in compacted[1], compacted
    expired = call("CALL expire_snapshots('0s')")
    assert expired[1].startswith("expired ") and "scheduled for deletion" in expired[1], expired
    dry = call("CALL gc('0s', dry_run => true)")
    assert dry[-1].startswith("would delete 4 files"), dry
    assert strata("gc", "--grace", "0s", "--dry-run", catalog=catalog).stdout.strip().splitlines() == dry[1:]
    gone = call("CALL gc('0s')")
    assert gone[-1].startswith("deleted 4 files"), gone
    assert len(list((catalog.files).rglob("*.parquet"))) == live_files(catalog) == 1
    bad = strata("query", "CALL compact()", catalog=catalog, check=False)
    assert bad.returncode != 0 and "needs a table name" in bad.stderr, bad.stderr


CRASH_POINTS = ["before_upload", "mid_upload", "before_commit", "during_commit"]


def test_writer_crashes_at_named_points(tmp_path, duck, catalog):
    """A writer aborted at each named point of a write (STRATA_CRASH_AT; no destructors run,
    as with kill -9) leaves the table as it was, a catalog DuckDB reads, and only files that gc
    removes — the staged part of an unfinished upload included."""
    files = catalog.files
    strata("query", "CREATE TABLE t (n BIGINT, r DOUBLE)", catalog=catalog)
    strata("query", "INSERT INTO t SELECT value, random() FROM range(1000)", catalog=catalog)
    big = "SELECT value AS n, random() AS r FROM range(2000000)"
    runs = [(p, f"INSERT INTO t {big}") for p in CRASH_POINTS]
    runs += [(p, f"CREATE TABLE c_{p} AS {big}") for p in ("before_commit", "during_commit")]
    for point, sql in runs:
        before = set(files.rglob("*"))
        proc = strata("query", sql, catalog=catalog, check=False, env={"STRATA_CRASH_AT": point})
        assert proc.returncode == -signal.SIGABRT, (point, proc.returncode, proc.stderr)
        assert f"STRATA_CRASH_AT={point}" in proc.stderr
        left = {f for f in set(files.rglob("*")) - before if f.is_file()}
        staged = [f for f in left if "#" in f.name]
        complete = [f for f in left if f.name.endswith(".parquet")]
        # Each point is a different moment of the write, seen in what it left behind.
        if point == "before_upload":
            assert not left, left
        elif point == "mid_upload":
            assert staged and not complete, left
        else:
            assert complete and not staged, left
        # Nothing of the write is visible; the catalog still takes writes.
        assert strata_rows("SELECT count(*) FROM t", catalog, tmp_path) == [(1000,)], point
        assert f"c_{point}" not in strata("table", "list", catalog=catalog).stdout
    strata("query", "INSERT INTO t SELECT value, 1.0 FROM range(5)", catalog=catalog)
    attach(duck, catalog)
    assert duck.execute("SELECT count(*) FROM lake.t").fetchone() == (1005,)
    assert not [r for r in duck.execute("SHOW ALL TABLES").fetchall() if r[2].startswith("c_")]
    duck.execute("DETACH lake")
    out = strata("gc", "--grace", "0s", catalog=catalog).stdout
    assert "unfinished upload" in out, out
    committed = catalog_query(catalog, "SELECT count(*) FROM ducklake_data_file")[0][0]
    remaining = [f for f in files.rglob("*") if f.is_file()]
    assert len(remaining) == committed == 2, remaining
    assert strata_rows("SELECT count(*) FROM t", catalog, tmp_path) == [(1005,)]


def test_server_applies_retention_on_its_own(tmp_path, catalog):
    strata("query", CREATE, catalog=catalog)
    days = [str(datetime.date.today() - datetime.timedelta(days=d)) for d in (90, 0)]
    strata("query", "-f", str(insert_script(tmp_path / "a.sql", 0, 2, lambda i: days[i])), catalog=catalog)
    config = tmp_path / "strata.toml"
    config.write_text("")
    server = spawn("--config", str(config), "serve", "--listen", "127.0.0.1:0", catalog=catalog)
    try:
        deadline = time.time() + 60
        line = ""
        while time.time() < deadline and "retention" not in line:
            line = server.stderr.readline()
        assert "strata: retention: main.events: lost 1 partitions (1 files, 20 rows)" in line, line
    finally:
        server.kill()
        server.wait()
    assert strata_rows("SELECT count(*) FROM events", catalog, tmp_path) == [(20,)]


def test_postgresql_catalog_bad_input_and_a_restart(tmp_path, postgres_server, monkeypatch, request):
    """A PostgreSQL catalog that cannot be used says why (without echoing a password); a server
    keeps working across a PostgreSQL restart."""
    port = postgres_server.port
    closed = strata("table", "list", catalog="postgres://strata:hunter2@127.0.0.1:1/lake", check=False)
    assert closed.returncode == 1 and "Connection refused" in closed.stderr, closed.stderr
    assert "hunter2" not in closed.stderr and "***" in closed.stderr
    missing = strata("table", "list", catalog=f"postgres://postgres@127.0.0.1:{port}/nosuch", check=False)
    assert missing.returncode == 1 and 'database "nosuch" does not exist' in missing.stderr, missing.stderr
    bad = strata("table", "list", catalog="postgres:nonsense", check=False)
    assert bad.returncode == 1 and "invalid catalog URL" in bad.stderr, bad.stderr
    empty = postgres_server.create_database()
    no_data = strata("table", "list", catalog=f"postgres://postgres@127.0.0.1:{port}/{empty}", check=False)
    assert no_data.returncode == 1 and "needs a data path" in no_data.stderr, no_data.stderr
    postgres_server.sql("CREATE TABLE accounts (id INT)", db=empty)
    foreign = strata(
        "table", "list", "--data-path", str(tmp_path / "d"),
        catalog=f"postgres://postgres@127.0.0.1:{port}/{empty}", check=False,
    )
    assert foreign.returncode == 1 and "no ducklake_metadata" in foreign.stderr, foreign.stderr
    assert postgres_server.sql("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", db=empty).strip() == "1"

    catalog = make_catalog("postgres", tmp_path, monkeypatch, request)
    strata("query", CREATE, catalog=catalog)
    config = tmp_path / "open.toml"
    config.write_text("")
    server = spawn("--config", str(config), "serve", "--listen", "127.0.0.1:0", catalog=catalog)
    try:
        url = "grpc://" + re.search(r"grpc://([\d.]+:\d+)", server.stdout.readline()).group(1)

        def count():
            with flight_sql.connect(url) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM events")
                return cur.fetchone()[0]

        assert count() == 0
        postgres_server.restart()
        # The server's catalog connection died with the restart; the next statement reconnects.
        assert count() == 0
        strata("query", "-f", str(insert_script(tmp_path / "a.sql", 0, 2, lambda i: str(datetime.date.today()))), catalog=catalog)
        assert count() == 40
    finally:
        server.terminate()
        server.wait(timeout=30)
