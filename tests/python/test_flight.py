"""The Flight SQL server with real clients: ADBC (Go driver) and flightsql-dbapi (SQLAlchemy).

Each server is a real `strata serve` process on a free port; DuckDB over the same files is the
oracle for answers.
"""

import base64
import json
import os
import re
import subprocess
import threading
import time

import adbc_driver_flightsql
import adbc_driver_flightsql.dbapi as flight
import adbc_driver_manager
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import Server, duck_attach, make_catalog, same_rows, strata, strata_bin, user_entry

READER_PW = "reader-pass-1"
WRITER_PW = "writer-pass-2"
CI_TOKEN_VAR = "STRATA_TEST_CI_TOKEN"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("flight")
    catalog = f"sqlite:{root}/strata.db"
    strata("gen", "requests", "--rows", "60000", "--days", "3", "--out", str(root / "requests"))
    strata("gen", "trips", "--rows", "30000", "--days", "3", "--out", str(root / "trips"))
    for name in ["requests", "trips"]:
        strata("table", "register", name, "--location", str(root / name), catalog=catalog)
    token = strata("token", "create", "ci", "--role", "writer")
    ci_token = re.search(r"strata_[0-9a-f]+", token.stderr).group(0)
    config = root / "strata.toml"
    config.write_text(
        "\n".join(
            [
                "[auth]",
                'secret = "test-secret-shared-by-replicas"',
                "[server]",
                'keepalive_interval = "1s"',
                "[server.limits]",
                'query_timeout = "20s"',
                "max_running = 2",
                "max_queued = 1",
                user_entry("ana", "reader", READER_PW),
                user_entry("wes", "writer", WRITER_PW),
                token.stdout,
            ]
        )
    )
    open_config = root / "open.toml"
    open_config.write_text("")
    return root, catalog, config, open_config, ci_token


@pytest.fixture(scope="module")
def server(lake):
    root, catalog, config, _, _ = lake
    s = Server(catalog, config, root)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def open_server(lake):
    root, catalog, _, open_config, _ = lake
    s = Server(catalog, open_config, root)
    yield s
    s.stop()


def connect(server, user="ana", password=READER_PW):
    kwargs = {}
    if user:
        kwargs["db_kwargs"] = {"username": user, "password": password}
    return flight.connect(server.url, **kwargs)


def duck_views(duck, root):
    for name in ["requests", "trips"]:
        duck.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{root}/{name}/*/*.parquet', hive_partitioning = true)"
        )


QUERIES = [
    "SELECT service, count(*), sum(bytes), max(latency_ms) FROM requests GROUP BY service",
    "SELECT dt, status, count(*) FROM requests WHERE status >= 500 GROUP BY dt, status",
    "SELECT city, count(*), sum(fare), avg(distance_km) FROM trips WHERE status = 'completed' GROUP BY city",
    "SELECT * FROM requests WHERE trace_id LIKE 'ab%' ORDER BY ts LIMIT 50",
]


@pytest.mark.parametrize("sql", QUERIES)
def test_adbc_queries_match_duckdb(sql, lake, server, duck):
    root = lake[0]
    duck_views(duck, root)
    with connect(server) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    # View types are cast to plain types on the wire.
    for field in table.schema:
        assert field.type not in (pa.string_view(), pa.binary_view()), table.schema
    same_rows([tuple(r.values()) for r in table.to_pylist()], duck.execute(sql).fetchall())


def test_a_ticket_runs_the_query_planned_for_it(server):
    """GetFlightInfo plans the query and DoGet runs that plan (at the snapshot it was planned
    at); a ticket redeemed again, or after the kept plan is gone, is planned anew."""
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_sql_query("CREATE TABLE ticket_rows (n BIGINT)")
        cur.adbc_statement.execute_update()
        cur.adbc_statement.set_sql_query("INSERT INTO ticket_rows VALUES (1), (2)")
        assert cur.adbc_statement.execute_update() == 2
        partitions, _ = cur.adbc_execute_partitions("SELECT count(*) AS c, sum(n) AS s FROM ticket_rows")
        assert len(partitions) == 1
        # A commit between the plan and its run: the ticket answers at the planned snapshot.
        cur.adbc_statement.set_sql_query("INSERT INTO ticket_rows VALUES (3)")
        assert cur.adbc_statement.execute_update() == 1
        cur.adbc_read_partition(partitions[0])
        assert cur.fetchall() == [(2, 3)]
        # Redeemed again, the ticket is planned again, at the current snapshot.
        cur.adbc_read_partition(partitions[0])
        assert cur.fetchall() == [(3, 6)]
    # Tickets are bound to the user they were issued to.
    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error, match="issued to another user"):
            cur.adbc_read_partition(partitions[0])
            cur.fetchall()


def test_adbc_metadata(server):
    with connect(server) as conn:
        objects = conn.adbc_get_objects(depth="columns").read_all().to_pylist()
        assert [c["catalog_name"] for c in objects] == ["strata"]
        schemas = objects[0]["catalog_db_schemas"]
        tables = {t["table_name"]: t for s in schemas for t in s["db_schema_tables"]}
        assert {"requests", "trips"} <= set(tables)
        columns = [c["column_name"] for c in tables["trips"]["table_columns"]]
        assert "fare" in columns and "city" in columns
        schema = conn.adbc_get_table_schema("requests", db_schema_filter="main")
        assert schema.field("service").type == pa.string()
        assert pa.types.is_timestamp(schema.field("ts").type)
        assert conn.adbc_get_table_types() == ["TABLE"]
        info = conn.adbc_get_info()
        assert info["vendor_name"] == "Strata"


def test_adbc_prepared_statement_with_parameters(lake, server, duck):
    duck_views(duck, lake[0])
    sql = "SELECT count(*) FROM requests WHERE service = ? AND status >= ?"
    with connect(server) as conn, conn.cursor() as cur:
        for service, status in [("payments", 500), ("search", 200)]:
            cur.execute(sql, parameters=(service, status))
            got = cur.fetchall()
            want = duck.execute(sql, [service, status]).fetchall()
            assert got == want and got[0][0] > 0, (got, want)


def test_reader_may_not_write_or_escape(server, lake):
    forbidden = [
        "DROP TABLE trips",
        f"CREATE EXTERNAL TABLE stolen STORED AS PARQUET LOCATION '{lake[0]}/requests'",
        "SET datafusion.execution.target_partitions = 1000",
        "COPY (SELECT 1) TO '/tmp/strata-escape.parquet'",
        "CREATE VIEW v AS SELECT 1",
    ]
    with connect(server) as conn:
        for sql in forbidden:
            for how in ("query", "update", "prepared"):
                with conn.cursor() as cur:
                    with pytest.raises(adbc_driver_manager.Error) as err:
                        if how == "query":
                            cur.execute(sql)
                            cur.fetchall()
                        elif how == "update":
                            cur.adbc_statement.set_sql_query(sql)
                            cur.adbc_statement.execute_update()
                        else:
                            cur.adbc_prepare(sql)
                    text = str(err.value)
                    assert "PermissionDenied" in text and ("may not" in text or "not allowed" in text or "local disk" in text), (sql, how, text)
        # Reading local files through SQL finds nothing to read.
        with conn.cursor() as cur, pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("SELECT * FROM '/etc/passwd'")
            cur.fetchall()
        assert "not found" in str(err.value).lower(), err.value
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM trips")
            assert cur.fetchone()[0] == 30000


def test_writer_runs_ddl_but_not_on_local_files(server, lake, tmp_path):
    root = lake[0]
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_statement.set_sql_query(
                f"CREATE EXTERNAL TABLE local_copy STORED AS PARQUET LOCATION '{root}/trips'"
            )
            cur.adbc_statement.execute_update()
        assert "local disk" in str(err.value), err.value
        # DDL really executes: the table disappears from the catalog.
        strata("table", "register", "scratch", "--location", str(root / "trips"), catalog=lake[1])
        cur.adbc_statement.set_sql_query("DROP TABLE scratch")
        cur.adbc_statement.execute_update()
        with pytest.raises(adbc_driver_manager.Error):
            cur.execute("SELECT count(*) FROM scratch")
            cur.fetchall()
        cur.execute("SELECT 1 AS one")
        assert cur.fetchall() == [(1,)]


def test_a_prepared_statement_answers_at_its_execution_not_its_preparation(server, lake):
    """CreatePreparedStatement plans the query, and its first execution runs that plan only if
    nothing committed in between: a commit by this server or by another process (the CLI on
    the same catalog) between preparing and executing is seen, and a later execution of the
    same handle is planned again. (ADBC's cursor prepares each new SQL text once.)"""
    sql = "SELECT count(*) AS c, sum(n) AS s FROM prepared_rows"
    with connect(server, "wes", WRITER_PW) as conn:
        with conn.cursor() as cur:
            cur.adbc_statement.set_sql_query("CREATE TABLE prepared_rows (n BIGINT)")
            cur.adbc_statement.execute_update()
            cur.adbc_statement.set_sql_query("INSERT INTO prepared_rows VALUES (1), (2)")
            assert cur.adbc_statement.execute_update() == 2
        # Prepared and executed at once (ADBC's execute): the plan made first runs.
        with conn.cursor() as cur:
            cur.execute(sql)
            assert cur.fetchall() == [(2, 3)]

        def commit_through_the_server():
            with conn.cursor() as other:
                other.adbc_statement.set_sql_query("INSERT INTO prepared_rows VALUES (3)")
                assert other.adbc_statement.execute_update() == 1

        def commit_by_another_process():
            strata("query", "INSERT INTO prepared_rows VALUES (4)", catalog=lake[1])

        for commit, want in [(commit_through_the_server, (3, 6)), (commit_by_another_process, (4, 10))]:
            with conn.cursor() as cur:
                cur.adbc_prepare(sql)
                commit()
                cur.execute(sql)
                assert cur.fetchall() == [want], commit.__name__
        # The same handle executed again, after another commit, is planned again.
        with conn.cursor() as cur:
            cur.execute(sql)
            assert cur.fetchall() == [(4, 10)]
            strata("query", "INSERT INTO prepared_rows VALUES (5)", catalog=lake[1])
            cur.execute(sql)
            assert cur.fetchall() == [(5, 15)]


def test_writer_creates_and_inserts(server):
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_sql_query(
            "CREATE TABLE flight_events (ts TIMESTAMP, kind VARCHAR, n BIGINT) PARTITIONED BY (day(ts))"
        )
        cur.adbc_statement.execute_update()
        cur.adbc_statement.set_sql_query(
            "INSERT INTO flight_events VALUES (TIMESTAMP '2026-03-04 10:00:00', 'a', 1), (TIMESTAMP '2026-03-05 10:00:00', 'b', 2)"
        )
        assert cur.adbc_statement.execute_update() == 2
        # A prepared INSERT with parameters; through the query path a write runs when its
        # result (the row count) is fetched.
        cur.execute("INSERT INTO flight_events VALUES (TIMESTAMP '2026-03-06 10:00:00', ?, ?)", ("c", 3))
        assert cur.fetchall() == [(1,)]
        cur.execute(
            "CREATE TABLE flight_kinds AS SELECT kind, sum(n) AS total FROM flight_events GROUP BY kind"
        )
        assert cur.fetchall() == [(3,)]
        cur.execute("SELECT kind, total FROM flight_kinds ORDER BY kind")
        assert cur.fetchall() == [("a", 1), ("b", 2), ("c", 3)]
    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_statement.set_sql_query("INSERT INTO flight_events VALUES (NULL, 'd', 4)")
            cur.adbc_statement.execute_update()
        assert "PermissionDenied" in str(err.value), err.value
        cur.execute("SELECT count(*) FROM flight_events")
        assert cur.fetchone()[0] == 3


def test_writer_alters_table(server):
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_sql_query(
            "CREATE TABLE flight_alter (ts TIMESTAMP, kind VARCHAR, n INT) PARTITIONED BY (day(ts))"
        )
        cur.adbc_statement.execute_update()
        cur.adbc_statement.set_sql_query(
            "INSERT INTO flight_alter VALUES (TIMESTAMP '2026-03-04 10:00:00', 'a', 1)"
        )
        cur.adbc_statement.execute_update()
        for sql in [
            "ALTER TABLE flight_alter ADD COLUMN region VARCHAR",
            "ALTER TABLE flight_alter RENAME COLUMN n TO amount",
            "ALTER TABLE flight_alter ALTER COLUMN amount TYPE BIGINT",
        ]:
            cur.adbc_statement.set_sql_query(sql)
            cur.adbc_statement.execute_update()
        cur.adbc_statement.set_sql_query(
            "INSERT INTO flight_alter VALUES (TIMESTAMP '2026-03-05 10:00:00', 'b', 9000000000, 'eu')"
        )
        cur.adbc_statement.execute_update()
        cur.execute("SELECT kind, amount, region FROM flight_alter ORDER BY kind")
        assert cur.fetchall() == [("a", 1, None), ("b", 9000000000, "eu")]
        # The schema clients see follows the change.
        schema = conn.adbc_get_table_schema("flight_alter", db_schema_filter="main")
        assert schema.names == ["ts", "kind", "amount", "region"]
        assert schema.field("amount").type == pa.int64()
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_statement.set_sql_query("ALTER TABLE flight_alter ALTER COLUMN amount TYPE INT")
            cur.adbc_statement.execute_update()
        assert "only widening" in str(err.value), err.value
    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_statement.set_sql_query("ALTER TABLE flight_alter DROP COLUMN region")
            cur.adbc_statement.execute_update()
        assert "PermissionDenied" in str(err.value), err.value


def test_adbc_bulk_ingest(server, lake, tmp_path, duck):
    n = 50_000
    data = pa.table(
        {
            "ts": pa.array([1_772_600_000_000_000 + i * 1_000_000 for i in range(n)], pa.timestamp("us")),
            "host": pa.array([f"h{i % 7}" for i in range(n)]),
            "bytes": pa.array(range(n), pa.int64()),
        }
    )
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        # Create from the data's schema, then append (columns matched by name, in any order).
        assert cur.adbc_ingest("ingested", data, mode="create") == n
        assert cur.adbc_ingest("ingested", data.select(["bytes", "host", "ts"]).slice(0, 1000), mode="append") == 1000
        assert cur.adbc_ingest("ingested", data.slice(0, 10), mode="create_append") == 10
        cur.execute("SELECT count(*), sum(bytes), count(DISTINCT host) FROM ingested")
        assert cur.fetchone() == (n + 1010, sum(range(n)) + sum(range(1000)) + sum(range(10)), 7)
        # Bad input fails with the reason and commits nothing.
        for table, payload, mode, message in [
            ("ingested", data.slice(0, 5), "create", "already exists"),
            ("missing", data.slice(0, 5), "append", "does not exist"),
            ("ingested", data.slice(0, 5).append_column("extra", pa.array([1] * 5)), "append", "extra"),
            ("ingested", data.slice(0, 5), "replace", "replace"),
            ("requests", data.slice(0, 5), "append", "registered in place"),
        ]:
            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.adbc_ingest(table, payload, mode=mode)
            assert message in str(err.value), (table, mode, err.value)
        cur.execute("SELECT count(*) FROM ingested")
        assert cur.fetchone() == (n + 1010,)
    # Readers may not ingest.
    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.adbc_ingest("ingested", data.slice(0, 5), mode="append")
        assert "PermissionDenied" in str(err.value) or "may not" in str(err.value), err.value
    # DuckDB reads the ingested table from the catalog.
    root, catalog, _, _, _ = lake
    duck.execute(f"ATTACH 'ducklake:sqlite:{catalog.removeprefix('sqlite:')}' AS lake (READ_ONLY)")
    assert duck.execute("SELECT count(*), sum(bytes) FROM lake.ingested").fetchone() == (
        n + 1010,
        sum(range(n)) + sum(range(1000)) + sum(range(10)),
    )


def test_maintenance_procedures_over_flight(server):
    with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_sql_query(
            "CREATE TABLE flight_small (ts TIMESTAMP, n BIGINT) PARTITIONED BY (day(ts))"
        )
        cur.adbc_statement.execute_update()
        for i in range(3):
            cur.adbc_statement.set_sql_query(
                f"INSERT INTO flight_small VALUES (TIMESTAMP '2026-03-04 10:00:0{i}', {i})"
            )
            cur.adbc_statement.execute_update()
        cur.execute("CALL compact('flight_small', dry_run => true)")
        (line,) = cur.fetchone()
        assert line.startswith("flight_small: would merge 3 files (3 rows"), line
        cur.execute("CALL compact('flight_small')")
        lines = [r[0] for r in cur.fetchall()]
        assert lines[0].startswith("flight_small: merged 3 files"), lines
        cur.execute("SELECT count(*), sum(n) FROM flight_small")
        assert cur.fetchone() == (3, 3)
        cur.execute("CALL compact('flight_small')")
        assert cur.fetchall() == [("flight_small: nothing to compact (no partition has two or more small files)",)]
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("CALL retention('flight_small')")
            cur.fetchall()
        assert "no retention property" in str(err.value), err.value
        # Expiry and gc destroy history and files: admins only.
        for sql in ["CALL gc('0s')", "CALL expire_snapshots('0s')"]:
            with pytest.raises(adbc_driver_manager.Error) as err:
                cur.execute(sql)
                cur.fetchall()
            assert "PermissionDenied" in str(err.value), (sql, err.value)
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("CALL vacuum('flight_small')")
            cur.fetchall()
        assert "unknown procedure 'vacuum'" in str(err.value), err.value
    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as err:
            cur.execute("CALL compact('flight_small')")
            cur.fetchall()
        assert "PermissionDenied" in str(err.value), err.value


def test_authentication(server, lake):
    with pytest.raises(adbc_driver_manager.Error) as err:
        with connect(server, "ana", "wrong") as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    assert "wrong user name or password" in str(err.value) or "Unauthenticated" in str(err.value), err.value
    with pytest.raises(adbc_driver_manager.Error):
        with connect(server, None) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    # A static API token, as the bearer token and as "password is a token".
    ci_token = lake[4]
    with flight.connect(server.url, db_kwargs={adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {ci_token}"}) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM requests")
        assert cur.fetchone()[0] == 60000
    with connect(server, "ci", ci_token) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
    forged = "st1." + base64.urlsafe_b64encode(b'{"u":"wes","r":"admin","s":"x","exp":99999999999}' + b"\0" * 32).decode().rstrip("=")
    with pytest.raises(adbc_driver_manager.Error) as err:
        with flight.connect(server.url, db_kwargs={adbc_driver_flightsql.DatabaseOptions.AUTHORIZATION_HEADER.value: f"Bearer {forged}"}) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchall()
    assert "invalid bearer token" in str(err.value), err.value
    denied = [e for e in server.log() if e.get("outcome") == "denied"]
    assert denied, "denied requests are logged"


def test_query_log_and_cancellation_on_disconnect(server):
    heavy = "SELECT count(*) FROM requests a JOIN requests b ON a.status = b.status WHERE length(a.service) + length(b.service) < 0"
    conn = connect(server)
    cur = conn.cursor()
    started = time.time()

    def run():
        try:
            cur.execute(heavy)
            cur.fetchall()
        except Exception:  # noqa: BLE001 - the connection is closed under it
            pass

    t = threading.Thread(target=run, daemon=True)
    t.start()
    time.sleep(1.5)
    conn.close()
    deadline = time.time() + 15
    while time.time() < deadline:
        ends = [e for e in server.log() if e.get("statement") == heavy and e["request"] == "statement"]
        if ends:
            break
        time.sleep(0.2)
    assert ends, "the dropped query was logged"
    assert ends[-1]["outcome"] in ("cancelled", "error"), ends[-1]
    assert time.time() - started < 15
    ok = [e for e in server.log() if e.get("outcome") == "ok" and e["request"] == "statement"]
    assert ok and all(k in ok[0] for k in ("user", "client", "duration_ms", "rows", "bytes", "files_scanned"))
    assert any(e["files_scanned"] > 0 for e in ok)


def test_timeouts_and_queue_overflow(lake):
    root, catalog, config, _, _ = lake
    tight = root / "tight.toml"
    tight.write_text(
        config.read_text().replace('query_timeout = "20s"', 'query_timeout = "1s"').replace(
            "max_running = 2", "max_running = 1"
        ).replace("max_queued = 1", "max_queued = 0")
    )
    s = Server(catalog, tight, root)
    try:
        slow = "SELECT count(*) FROM requests a JOIN requests b ON a.status = b.status WHERE length(a.service) + length(b.service) < 0"
        errors = []

        def run():
            with connect(s) as conn, conn.cursor() as cur:
                try:
                    cur.execute(slow)
                    cur.fetchall()
                except adbc_driver_manager.Error as e:
                    errors.append(str(e))

        t = threading.Thread(target=run)
        t.start()
        # While the slow query holds the one slot (until its 1 s timeout), another is refused at
        # once. Asked until refused, for the slow one may take a moment to reach its slot.
        refusal = None
        with connect(s) as conn, conn.cursor() as cur:
            for _ in range(20):
                time.sleep(0.1)
                try:
                    cur.execute("SELECT count(*) FROM trips")
                    cur.fetchall()
                except adbc_driver_manager.Error as e:
                    refusal = str(e)
                    break
        assert refusal and "server busy" in refusal and "max_queued" in refusal, refusal
        t.join(30)
        assert errors and "query_timeout" in errors[0], errors
    finally:
        s.stop()


def test_open_server_and_keepalive(open_server):
    # No users configured: loopback only, no credentials needed.
    with flight.connect(open_server.url) as conn, conn.cursor() as cur:
        # A query silent for longer than the keep-alive interval still returns its answer.
        cur.execute(
            "SELECT count(*) FROM requests a JOIN requests b ON a.status = b.status WHERE a.service = 'payments' AND b.service = 'search' AND length(a.endpoint) + length(b.endpoint) < 0"
        )
        assert cur.fetchall() == [(0,)]


def test_refuses_open_server_off_loopback(lake):
    root, catalog, _, open_config, _ = lake
    proc = strata("--config", str(open_config), "serve", "--listen", "0.0.0.0:0", catalog=catalog, check=False)
    assert proc.returncode != 0
    assert "without authentication" in proc.stderr, proc.stderr


def test_sqlalchemy_inspection(server):
    from sqlalchemy import create_engine, inspect, text

    host, port = server.url.removeprefix("grpc://").split(":")
    engine = create_engine(
        f"datafusion://ana:{READER_PW}@{host}:{port}?insecure=True"
    )
    inspector = inspect(engine)
    assert {"requests", "trips"} <= set(inspector.get_table_names())
    columns = {c["name"] for c in inspector.get_columns("trips")}
    assert {"trip_id", "city", "fare", "dt"} <= columns
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM trips")).scalar() == 30000


def test_cli_remote_query(server, lake):
    proc = strata(
        "query",
        "--server",
        server.url,
        "--user",
        "ana",
        "--password-env",
        "PW",
        "--format",
        "csv",
        "SELECT count(*) AS n FROM trips",
        env={"PW": READER_PW},
    )
    assert proc.stdout.strip().splitlines() == ["n", "30000"], proc.stdout
    proc = strata(
        "query", "--server", server.url, "--token-env", "TOKEN", "SELECT nope FROM trips",
        env={"TOKEN": lake[4]}, check=False,
    )
    assert proc.returncode != 0 and "nope" in proc.stderr, proc.stderr
    proc = strata("query", "--server", server.url, "SELECT 1", check=False)
    assert proc.returncode != 0 and "authentication required" in proc.stderr, proc.stderr


def test_cli_remote_uses_stratas_front_end(server, tmp_path):
    """`strata query --server` and `strata shell --server` send each statement on its own, and
    the server (not the client) parses it: what works embedded works remotely."""
    remote = ["--server", server.url, "--user", "wes", "--password-env", "PW"]
    env = {"PW": WRITER_PW}
    proc = strata(
        "query", *remote,
        "CREATE TABLE remote_days (ts TIMESTAMP, n BIGINT) PARTITIONED BY (day(ts)); "
        "INSERT INTO remote_days VALUES (TIMESTAMP '2026-01-01 10:00:00', 1), (TIMESTAMP '2026-01-02 10:00:00', 2)",
        env=env,
    )
    out = tmp_path / "two.parquet"
    # Two statements into one Parquet file: the file holds the last result, written afresh.
    for _ in range(2):
        strata("query", *remote, "--format", "parquet", "--output", str(out),
               "SELECT 1 AS a; SELECT n FROM remote_days ORDER BY n", env=env)
    assert pq.read_table(out).to_pylist() == [{"n": 1}, {"n": 2}]
    shell = subprocess.run(
        [strata_bin(), "shell", *remote],
        input="SELECT 41 + 1 AS answer; SELECT count(*) AS days FROM remote_days;\nSELECT nope FROM remote_days;\n",
        capture_output=True, text=True, env={**os.environ, **env}, timeout=60,
    )
    assert "42" in shell.stdout and "2" in shell.stdout, shell.stdout + shell.stderr
    errors = [line for line in shell.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "nope" in errors[0], shell.stderr
    assert errors[0].count("No field named") == 1, shell.stderr


def test_graceful_shutdown(lake):
    root, catalog, config, _, _ = lake
    s = Server(catalog, config, root)
    with connect(s) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM trips")
        assert cur.fetchone()[0] == 30000
    assert s.stop() == 0


def test_servers_share_a_postgresql_catalog(tmp_path, duck, monkeypatch, request):
    """Two `strata serve` processes on one PostgreSQL catalog: what a writer commits through
    one is read through the other, their concurrent inserts all land, and DuckDB reads the
    catalog they share."""
    catalog = make_catalog("postgres", tmp_path, monkeypatch, request)
    config = tmp_path / "strata.toml"
    config.write_text(
        "\n".join(["[auth]", 'secret = "shared-by-both-servers"', user_entry("wes", "writer", WRITER_PW)])
    )
    first, second = Server(catalog, config, tmp_path), Server(catalog, config, tmp_path)
    try:
        with connect(first, "wes", WRITER_PW) as conn, conn.cursor() as cur:
            cur.adbc_statement.set_sql_query(
                "CREATE TABLE shared (ts TIMESTAMP, server VARCHAR, n BIGINT) PARTITIONED BY (day(ts))"
            )
            cur.adbc_statement.execute_update()

        def insert(server, name):
            with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
                for i in range(10):
                    cur.adbc_statement.set_sql_query(
                        f"INSERT INTO shared VALUES (TIMESTAMP '2026-03-0{1 + i % 3} 10:00:00', '{name}', {i})"
                    )
                    assert cur.adbc_statement.execute_update() == 1

        threads = [threading.Thread(target=insert, args=(s, n)) for s, n in ((first, "a"), (second, "b"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for server in (first, second):
            with connect(server, "wes", WRITER_PW) as conn, conn.cursor() as cur:
                cur.execute("SELECT server, count(*), sum(n) FROM shared GROUP BY server ORDER BY server")
                assert cur.fetchall() == [("a", 10, 45), ("b", 10, 45)]
    finally:
        first.stop()
        second.stop()
    duck_attach(duck, catalog)
    assert duck.execute("SELECT count(*), count(DISTINCT server) FROM lake.shared").fetchone() == (20, 2)
