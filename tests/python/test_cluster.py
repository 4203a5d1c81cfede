"""Cluster mode: a real loopback cluster of `strata scheduler` and two `strata executor`
processes, and a `strata serve --scheduler` whose queries run there; answers compared with the
same queries run embedded."""

import os
import subprocess
import threading
import time

import adbc_driver_flightsql.dbapi as flight
import pytest
from stores import S3, FaultProxy
from test_object_storage import Lake

from conftest import (
    Server,
    _free_port,
    catalog_query,
    clean_environment,
    duck_attach,
    make_catalog,
    same_rows,
    sample_lake,
    strata,
    strata_bin,
    strata_rows,
)


class Role:
    """A `strata scheduler` or `strata executor` process."""

    def __init__(self, *args, env=None):
        self.lines = []
        self.proc = subprocess.Popen(
            [strata_bin(), *args, "--exit-with-parent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            env={**clean_environment(), **(env or {})},
        )
        threading.Thread(target=self._drain, daemon=True).start()

    def _drain(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    root = tmp_path_factory.mktemp("cluster")
    catalog = sample_lake(root, rows=20000, days=3)
    port = _free_port()
    scheduler = Role("scheduler", "--listen", f"127.0.0.1:{port}", "--executor-timeout", "15s")
    roles = [scheduler]
    time.sleep(1)
    for n in range(2):
        roles.append(
            Role(
                "executor",
                "--scheduler", f"http://127.0.0.1:{port}",
                "--listen", f"127.0.0.1:{_free_port()}",
                "--work-dir", str(root / f"executor-{n}"),
                "--vcores", "2",
            )
        )
    time.sleep(2)
    for role in roles:
        assert role.proc.poll() is None, "".join(role.lines)
    server = Server(
        catalog,
        root / "open.toml",
        root,
        extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files"),
    )
    yield root, catalog, server, roles
    server.stop()
    for role in roles:
        role.stop()


QUERIES = [
    "SELECT count(*) FROM requests WHERE status >= 500",
    "SELECT service, count(*) AS n, round(avg(latency_ms), 3) AS l FROM requests GROUP BY service ORDER BY service",
    "SELECT endpoint, count(*) AS n FROM requests WHERE message LIKE '%e%' GROUP BY endpoint ORDER BY n DESC, endpoint LIMIT 5",
    "SELECT r.service, count(*) FROM requests r JOIN (SELECT DISTINCT service FROM requests WHERE status = 200) s "
    "ON r.service = s.service GROUP BY r.service ORDER BY 1",
    "SELECT city, payment, round(sum(fare), 2) FROM trips WHERE status = 'completed' GROUP BY city, payment ORDER BY 1, 2",
    # JSON operators (Strata's functions, decoded by name on the executors).
    "SELECT attributes->>'cache' AS cache, count(*) FROM requests GROUP BY 1 ORDER BY 1 NULLS LAST",
    # DuckDB's arithmetic, casts and len: round_even, strata_timestamp_text and len decoded on
    # the executors.
    "SELECT CAST(latency_ms / 50 AS BIGINT) * 50 AS b, sum(bytes) / count(*) AS avg_bytes FROM requests GROUP BY 1 ORDER BY 1",
    "SELECT left(CAST(ts AS VARCHAR), 13) AS h, len(string_split(endpoint, '/')) AS parts, count(*) FROM requests GROUP BY 1, 2 ORDER BY 1, 2",
    # An uncorrelated scalar subquery cannot be cut into stages: it runs on the server.
    "SELECT service, count(*) FROM requests WHERE latency_ms > (SELECT avg(latency_ms) FROM requests) "
    "GROUP BY service ORDER BY 1",
]


def test_queries_run_on_the_cluster_with_the_answers_of_one_node(cluster):
    root, catalog, server, roles = cluster
    with flight.connect(server.url) as conn, conn.cursor() as cur:
        for sql in QUERIES:
            cur.execute(sql)
            served = [tuple(r) for r in cur.fetchall()]
            local = strata_rows(sql, catalog, root)
            assert served, sql
            same_rows(served, local, ordered="ORDER BY" in sql)
    # The query log says where each ran: the scalar subquery's plan stayed on the server. (A
    # statement is logged once its stream has ended, a moment after the client has its rows.)
    def logged():
        return {e["statement"]: e.get("cluster", False) for e in server.log() if e["request"] == "statement"}

    deadline = time.time() + 10
    while time.time() < deadline and not all(sql in logged() for sql in QUERIES):
        time.sleep(0.1)
    logged = logged()
    assert all(logged[sql] for sql in QUERIES[:-1]), logged
    assert logged[QUERIES[-1]] is False, logged
    # Both executors ran tasks: their work directories hold the jobs' stage outputs
    # (<job>/<stage>/<partition>/data-*.arrow). Which executor polls first is a race, so a
    # few more jobs (other literals: not answered from the result cache) may be needed.
    def idle():
        return [n for n in range(2) if not list((root / f"executor-{n}").glob("*/*/*/*.arrow"))]

    with flight.connect(server.url) as conn, conn.cursor() as cur:
        for status in range(200, 210):
            if not idle():
                break
            cur.execute(f"SELECT service, count(*) FROM requests WHERE status >= {status} GROUP BY service")
            cur.fetchall()
    assert not idle(), f"executors {idle()} ran no task"


def test_explain_says_where_a_statement_would_run_and_why(cluster):
    root, catalog, server, roles = cluster
    port = roles[0].proc.args[roles[0].proc.args.index("--listen") + 1].split(":")[1]

    def placement(cur, sql):
        cur.execute(f"EXPLAIN {sql}")
        rows = [tuple(r) for r in cur.fetchall()]
        assert any(r[0].startswith("physical_plan") for r in rows), rows
        return [r[1] for r in rows if r[0] == "cluster"]

    with flight.connect(server.url) as conn, conn.cursor() as cur:
        [line] = placement(cur, QUERIES[1])
        assert line.startswith(f"runs on the cluster (scheduler http://127.0.0.1:{port}): its scans read "), line
        assert " KiB, at least --cluster-min-scan 0; if the scheduler cannot be reached it runs on this server" in line, line
        [line] = placement(cur, QUERIES[-1])
        assert line == "runs on this server: it has an uncorrelated scalar subquery", line
        [line] = placement(cur, "INSERT INTO requests SELECT * FROM requests LIMIT 1")
        assert line == "runs on this server: writes and commands run here", line
        [line] = placement(cur, "SELECT 1")
        assert line == "runs on this server: it reads no files", line
        # A statement that cannot be planned: EXPLAIN still answers, and says so.
        [line] = placement(cur, "SELECT * FROM requests WHERE status = $1")
        assert line.startswith("cannot tell: ") and "$1" in line, line
        # The plan shown is the one the cluster is sent: planned without dynamic filters (a
        # join's runtime filter cannot cross stages), where the server's own plan has one.
        join = QUERIES[3]
        [line] = placement(cur, join)
        assert line.startswith("runs on the cluster"), line
        cur.execute(f"EXPLAIN {join}")
        shown = "\n".join(r[1] for r in cur.fetchall() if r[0] == "physical_plan")
        assert "HashJoinExec" in shown and "DynamicFilter" not in shown, shown
        local = strata("query", f"EXPLAIN {join}", catalog=catalog, cwd=root).stdout
        assert "DynamicFilter" in local, local
        # One-document formats stay one document.
        cur.execute(f"EXPLAIN FORMAT graphviz {QUERIES[1]}")
        assert not [r for r in cur.fetchall() if r[0] == "cluster"]
        # EXPLAIN only explains: nothing was written.
        cur.execute("SELECT count(*) FROM requests")
        assert cur.fetchall()[0][0] == 20000


def test_a_scheduler_that_cannot_be_reached_fails_the_query_or_it_runs_here(tmp_path):
    """--cluster-fallback fail: the query fails, naming the scheduler; the default (local):
    the server answers it itself, and its query log says so."""
    catalog = sample_lake(tmp_path, rows=1000, days=1)
    port = _free_port()  # nothing listens there
    sql = "SELECT count(*) FROM requests WHERE status >= 500"
    expected = strata_rows(sql, catalog, tmp_path)[0][0]
    for fallback in ("fail", "local"):
        server = Server(
            catalog,
            tmp_path / "open.toml",
            tmp_path,
            extra_args=(
                "--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files",
                "--cluster-fallback", fallback,
            ),
        )
        try:
            with flight.connect(server.url) as conn, conn.cursor() as cur:
                if fallback == "fail":
                    with pytest.raises(Exception) as error:
                        cur.execute(sql)
                        cur.fetchall()
                    assert f"127.0.0.1:{port}" in str(error.value) and "cannot be reached" in str(error.value)
                else:
                    cur.execute(sql)
                    assert cur.fetchall()[0][0] == expected
                # Small enough to stay local: answered from the catalog, no scan.
                cur.execute("SELECT count(*) FROM requests")
                assert cur.fetchall()[0][0] == 1000
            if fallback == "local":
                deadline = time.time() + 10
                while time.time() < deadline and len([e for e in server.log() if e["request"] == "statement"]) < 2:
                    time.sleep(0.1)
                ran = [(e["statement"], e["outcome"], e.get("cluster", False)) for e in server.log() if e["request"] == "statement"]
                assert (sql, "ok", False) in ran, ran
        finally:
            server.stop()
        assert server.proc.returncode in (0, -15)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def small_cluster(tmp_path, config_text, executors=2):
    """A scheduler, one-core executors and a server sending every query there, over a lake of
    16 one-day files (a task each: `target_partitions = 16`)."""
    catalog = sample_lake(tmp_path, rows=60000, days=16)
    roles, server = start_cluster(tmp_path, catalog, config_text, executors)
    return catalog, roles, server


def start_cluster(tmp_path, catalog, config_text, executors=2):
    """A scheduler, one-core executors and a server on `catalog` sending every query that reads
    files there; returns the roles (scheduler first) and the server."""
    port = _free_port()
    roles = [Role("scheduler", "--listen", f"127.0.0.1:{port}", "--executor-timeout", "15s")]
    time.sleep(1)
    for n in range(executors):
        roles.append(
            Role(
                "executor", "--scheduler", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{_free_port()}",
                "--work-dir", str(tmp_path / f"executor-{n}"), "--vcores", "1",
            )
        )
    config = tmp_path / "cluster.toml"
    # No result cache: every run of a query is a job.
    config.write_text(config_text + '\n[engine]\ntarget_partitions = 16\nbatch_size = 1024\n\n[cache]\nresults = "0"\n')
    server = Server(
        catalog, config, tmp_path,
        extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files"),
    )
    time.sleep(2)
    return roles, server


# Costly per row, and not a filter of one string column (which would run once per distinct
# value): a job of 16 tasks of about two seconds each
# (debug build).
SLOW = (
    "SELECT status, count(*) FROM requests "
    "WHERE md5(repeat(message || CAST(latency_ms AS VARCHAR), 4000)) < '8' GROUP BY status ORDER BY status"
)


def test_a_query_that_times_out_cancels_its_cluster_job(tmp_path):
    """A cluster job whose query ended on the server (here its timeout; a client that went away
    is the same) is cancelled on the scheduler: the executors run none of its remaining tasks
    and go idle, and run the next query at once."""
    catalog, roles, server = small_cluster(tmp_path, '[server.limits]\nquery_timeout = "3s"\n')
    executors = [r.proc.pid for r in roles[1:]]
    try:
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            start = time.time()
            idle = sum(cpu_seconds(pid) for pid in executors)
            with pytest.raises(Exception) as error:
                cur.execute(SLOW)
                cur.fetchall()
            assert "3s" in str(error.value) or "timeout" in str(error.value).lower(), error.value
            assert time.time() - start < 10
            # It ran on the cluster (not here, as a fallback would).
            assert sum(cpu_seconds(pid) for pid in executors) - idle > 2
            # The tasks running when the job was cancelled end; no other starts.
            time.sleep(4)
            before = sum(cpu_seconds(pid) for pid in executors)
            time.sleep(2)
            used = sum(cpu_seconds(pid) for pid in executors) - before
            assert used < 0.2, f"the executors kept working {used:.2f}s of CPU in 2s for a cancelled job"
            sql = "SELECT count(*) FROM requests WHERE status >= 500"
            cur.execute(sql)
            assert cur.fetchall() == [strata_rows(sql, catalog, tmp_path)[0]]
    finally:
        server.stop()
        for role in roles:
            role.stop()


def test_an_executor_killed_mid_query_costs_time_not_the_answer(tmp_path):
    """One of two executors is killed (SIGKILL) while a job runs: the scheduler notices it
    lost (`--executor-timeout`), runs its tasks again on the other, and the query returns the
    answer of one node."""
    catalog, roles, server = small_cluster(tmp_path, '[server.limits]\nquery_timeout = "120s"\n')
    # The oracle: the same query in one embedded process, with the same settings.
    expected = strata_rows(SLOW, catalog, tmp_path, env={"STRATA_CONFIG": str(tmp_path / "cluster.toml")})
    assert len(expected) > 1
    try:
        outcome = {}

        def run():
            try:
                with flight.connect(server.url) as conn, conn.cursor() as cur:
                    cur.execute(SLOW)
                    outcome["rows"] = [tuple(r) for r in cur.fetchall()]
            except Exception as e:  # noqa: BLE001 - reported below
                outcome["error"] = e

        client = threading.Thread(target=run)
        client.start()
        time.sleep(2)
        assert not outcome, outcome
        roles[1].proc.kill()
        client.join(timeout=110)
        assert "rows" in outcome, outcome
        same_rows(outcome["rows"], expected, ordered=True)
        deadline = time.time() + 10
        while time.time() < deadline and not [e for e in server.log() if e["request"] == "statement"]:
            time.sleep(0.1)
        assert [e.get("cluster") for e in server.log() if e["request"] == "statement"] == [True]
    finally:
        server.stop()
        for role in roles:
            role.stop()


def test_a_task_whose_store_reads_fail_runs_again_and_the_answer_is_right(tmp_path):
    """Executors read S3 through a proxy that answers 503 to some requests (or cuts answers
    short), with the store's own retries off: a task whose read fails ends with an IO error, which Ballista retries (on
    this or another executor), so the query returns the answer of one node. Without that the
    first failed read failed the job. A store that stays down fails the query, naming it."""
    (tmp_path / "s3").mkdir()
    store = S3(tmp_path / "s3")
    proxy = None
    roles, server = [], None
    try:
        lake = Lake(store, tmp_path)
        lake.register("applogs")
        sql = "SELECT service, count(*), sum(bytes) FROM applogs WHERE service <> '' GROUP BY service ORDER BY service"
        expected = strata_rows(sql, lake.catalog, tmp_path, env=lake.env())
        assert len(expected) > 1
        proxy = FaultProxy(store.port)
        # No retries in the store client: each failed request fails its task at once.
        through_proxy = lake.env(
            AWS_ENDPOINT_URL=proxy.endpoint, STRATA_STORAGE_MAX_RETRIES="0", STRATA_STORAGE_RETRY_TIMEOUT="2s"
        )
        port = _free_port()
        # The scheduler decodes plans too: it builds the stores they name.
        roles.append(Role("scheduler", "--listen", f"127.0.0.1:{port}", "--executor-timeout", "15s", env=lake.env()))
        time.sleep(1)
        for n in range(2):
            roles.append(
                Role(
                    "executor", "--scheduler", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{_free_port()}",
                    "--work-dir", str(tmp_path / f"executor-{n}"), "--vcores", "1",
                    env=through_proxy,
                )
            )
        config = tmp_path / "cluster.toml"
        config.write_text('[server.limits]\nquery_timeout = "60s"\n\n[engine]\ntarget_partitions = 4\n\n[cache]\nresults = "0"\n')
        server = Server(
            lake.catalog, config, tmp_path,
            extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-fallback", "fail"),
            env=lake.env(),
        )
        time.sleep(2)
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            cur.execute(sql)
            assert [tuple(r) for r in cur.fetchall()] == expected
            assert proxy.failed == 0 and proxy.forwarded > 0
            # The executors' caches now hold the footers and what this query read: the next
            # query reads another column's chunks, and has no filter (a failed read of a bloom
            # filter or page index is ignored: the row group is kept), so every request it makes
            # must succeed for its task to.
            sql = "SELECT service, count(*), sum(CAST(latency_ms * 1000 AS BIGINT)) FROM applogs GROUP BY service ORDER BY service"
            expected = strata_rows(sql, lake.catalog, tmp_path, env=lake.env())
            proxy.fail_next(2)
            cur.execute(sql)
            assert [tuple(r) for r in cur.fetchall()] == expected
            assert proxy.failed == 2
            # An answer cut short mid-body (read after the request returned) is retried too.
            sql = "SELECT service, count(*), sum(length(message)) FROM applogs GROUP BY service ORDER BY service"
            expected = strata_rows(sql, lake.catalog, tmp_path, env=lake.env())
            proxy.fail_next(2, "truncate")
            cur.execute(sql)
            assert [tuple(r) for r in cur.fetchall()] == expected
            assert proxy.failed == 4
            proxy.down()
            with pytest.raises(Exception) as error:
                cur.execute("SELECT count(*), sum(status) FROM applogs")
                cur.fetchall()
            assert "kept failing" in str(error.value) and lake.url("applogs") in str(error.value), error.value
        statements = [e for e in server.log() if e["request"] == "statement"]
        assert statements and all(e.get("cluster") for e in statements), statements
        # A task's share of a scan's files is not taken for a broken plan (DataFusion warned
        # of each task's scan: "Declared output partitioning has 4 partitions, but …").
        for role in roles:
            assert not [line for line in role.lines if "Declared output partitioning" in line], role.lines[-5:]
    finally:
        if server:
            server.stop()
        for role in roles:
            role.stop()
        if proxy:
            proxy.stop()
        store.stop()


def test_bad_cluster_flags_are_refused(tmp_path):
    proc = strata("serve", "--scheduler", "grpc://x:1", check=False, catalog=f"sqlite:{tmp_path}/c.db")
    assert proc.returncode != 0 and "http://host:port" in proc.stderr
    proc = strata("executor", "--scheduler", "nowhere", "--work-dir", str(tmp_path), check=False)
    assert proc.returncode != 0 and "http://host:port" in proc.stderr
    # Without mutual TLS peers are not authenticated: loopback only, unless told the network is
    # private.
    proc = strata("scheduler", "--listen", f"0.0.0.0:{_free_port()}", check=False)
    assert proc.returncode != 0 and "--insecure" in proc.stderr and "--cluster-tls-cert" in proc.stderr
    # TLS needs all three files, each holding what it should; with it the scheduler is https://.
    proc = strata("scheduler", "--cluster-tls-cert", str(tmp_path / "c.pem"), check=False)
    assert proc.returncode != 0 and "--cluster-tls-key, --cluster-tls-ca missing" in proc.stderr
    (tmp_path / "c.pem").write_text("not a certificate")
    flags = ("--cluster-tls-cert", str(tmp_path / "c.pem"), "--cluster-tls-key", str(tmp_path / "c.pem"),
             "--cluster-tls-ca", str(tmp_path / "none.pem"))
    proc = strata("scheduler", *flags, check=False)
    assert proc.returncode != 0 and "c.pem: not a PEM CERTIFICATE" in proc.stderr, proc.stderr
    tls = make_certificates(tmp_path / "tls", "strata")
    proc = strata("executor", "--scheduler", "http://127.0.0.1:1", "--work-dir", str(tmp_path), *tls, check=False)
    assert proc.returncode != 0 and "https://host:port (with cluster TLS)" in proc.stderr, proc.stderr
    proc = strata("executor", "--scheduler", "https://127.0.0.1:1", "--work-dir", str(tmp_path), check=False)
    assert proc.returncode != 0 and "https:// with --cluster-tls-cert" in proc.stderr, proc.stderr
    # A key that does not parse is refused at start, naming the files.
    (tmp_path / "bad.key").write_text("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    proc = strata("scheduler", *tls[:2], "--cluster-tls-key", str(tmp_path / "bad.key"), *tls[4:], check=False)
    assert proc.returncode != 0 and "bad.key" in proc.stderr, proc.stderr
    proc = strata("scheduler", "--listen", f"127.0.0.1:{_free_port()}", "--executor-timeout", "2s", check=False)
    assert proc.returncode != 0 and "at least 15s" in proc.stderr
    proc = strata("serve", "--scheduler", "http://127.0.0.1:1", "--cluster-partitions", "0", check=False)
    assert proc.returncode != 0 and "--cluster-partitions" in proc.stderr


def test_local_files_stay_local_unless_the_executors_share_them(cluster):
    root, catalog, _, roles = cluster
    port = roles[0].proc.args[roles[0].proc.args.index("--listen") + 1].split(":")[1]
    before = sorted((root / "executor-0").glob("*/*/*/*.arrow")) + sorted((root / "executor-1").glob("*/*/*/*.arrow"))
    server = Server(catalog, root / "open.toml", root, extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0"))
    try:
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            cur.execute(QUERIES[1])
            same_rows([tuple(r) for r in cur.fetchall()], strata_rows(QUERIES[1], catalog, root), ordered=True)
        deadline = time.time() + 10
        while time.time() < deadline and not [e for e in server.log() if e["request"] == "statement"]:
            time.sleep(0.1)
        assert [e.get("cluster", False) for e in server.log() if e["request"] == "statement"] == [False]
    finally:
        server.stop()
    after = sorted((root / "executor-0").glob("*/*/*/*.arrow")) + sorted((root / "executor-1").glob("*/*/*/*.arrow"))
    assert after == before, "a query over local files ran on the cluster"


def test_a_plan_calling_a_function_the_session_configured_stays_on_the_server(cluster):
    """Executors decode functions from their own registry: a plan calling one the session
    configured differently (`to_timestamp` under a time zone, whose values carry the zone) runs
    on the server, with the answer of one node; the session's other plans still go to the
    cluster (with its settings as the job's)."""
    root, catalog, _, roles = cluster
    port = roles[0].proc.args[roles[0].proc.args.index("--listen") + 1].split(":")[1]
    config = root / "tz.toml"
    config.write_text('[engine.datafusion]\n"datafusion.execution.time_zone" = "+05:00"\n')
    configured = (
        "SELECT service, min(to_timestamp(status)) AS t, count(*) AS n FROM requests "
        "GROUP BY service ORDER BY service"
    )
    plain = QUERIES[1]
    server = Server(
        catalog,
        config,
        root,
        extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files"),
    )
    try:
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            for sql in (configured, plain):
                cur.execute(sql)
                served = [tuple(r) for r in cur.fetchall()]
                local = strata_rows(sql, catalog, root, env={"STRATA_CONFIG": str(config)})
                assert served, sql
                same_rows(served, local, ordered=True)
                if sql == configured:
                    assert served[0][1].tzinfo is not None, served[:1]

        def where():
            return {e["statement"]: e.get("cluster", False) for e in server.log() if e["request"] == "statement"}

        deadline = time.time() + 10
        while time.time() < deadline and len(where()) < 2:
            time.sleep(0.1)
        assert where() == {configured: False, plain: True}, where()
    finally:
        server.stop()


def test_duckdb_deletes_inlined_rows_and_an_evolved_schema_read_the_same_on_the_cluster(tmp_path, duck, monkeypatch, request):
    """A lake DuckDB wrote: a partitioned table over several files, a column renamed and one
    added (files of two schema versions: columns matched by field id), delete files, deletes
    kept in the catalog, and rows inlined in the catalog (one of them deleted). Queried through
    ADBC on a cluster-mode server, every answer equals DuckDB's, and the statements ran on the
    cluster."""
    catalog = make_catalog("sqlite", tmp_path, monkeypatch, request)
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (DATA_PATH '{catalog.data}/', DATA_INLINING_ROW_LIMIT 10)")
    duck.execute("CREATE TABLE lake.orders (id BIGINT, day DATE, region VARCHAR, amount DOUBLE, note VARCHAR)")
    duck.execute("ALTER TABLE lake.orders SET PARTITIONED BY (region)")
    duck.execute(
        """INSERT INTO lake.orders SELECT i, DATE '2026-03-01' + (i % 20)::INTEGER, ['eu', 'us', 'apac'][1 + i % 3],
           i * 0.5, CASE WHEN i % 11 = 0 THEN NULL ELSE 'n' || i END FROM range(30000) t(i)"""
    )
    duck.execute("ALTER TABLE lake.orders RENAME COLUMN note TO remark")
    duck.execute("ALTER TABLE lake.orders ADD COLUMN qty INTEGER")
    duck.execute(
        "INSERT INTO lake.orders SELECT i, DATE '2026-04-01', ['eu', 'us'][1 + i % 2], 1.0, 'late ' || i, i % 9 FROM range(30000, 33000) t(i)"
    )
    duck.execute("DELETE FROM lake.orders WHERE id % 7 = 0 OR remark IS NULL AND region = 'us'")
    duck.execute("DELETE FROM lake.orders WHERE id IN (1, 2, 30001)")
    duck.execute("INSERT INTO lake.orders VALUES (90001, DATE '2026-05-01', 'eu', 7.5, 'inlined', 3), (90002, DATE '2026-05-02', 'apac', 8.5, NULL, NULL), (90003, DATE '2026-05-02', 'us', 9.5, 'gone', 1)")
    duck.execute("DELETE FROM lake.orders WHERE id = 90003")
    duck.execute("DETACH lake")
    inlined = [r[0] for r in catalog_query(catalog, "SELECT table_name FROM ducklake_inlined_data_tables")]
    delete_files = catalog_query(catalog, "SELECT count(*) FROM ducklake_delete_file")[0][0]
    assert inlined and delete_files > 0, (inlined, delete_files)
    queries = [
        "SELECT count(*), count(remark), count(qty), sum(amount), min(id), max(id) FROM {p}orders WHERE id >= 0",
        "SELECT region, day, count(*), sum(amount), sum(qty) FROM {p}orders GROUP BY region, day ORDER BY region, day",
        "SELECT id, region, remark, qty FROM {p}orders WHERE id BETWEEN 13990 AND 14030 OR id > 32990 ORDER BY id",
        "SELECT remark, qty FROM {p}orders WHERE remark LIKE '%99%' OR remark = 'inlined' ORDER BY remark",
        "SELECT o.region, count(*) FROM {p}orders o JOIN (SELECT DISTINCT region FROM {p}orders WHERE qty = 3) q "
        "ON o.region = q.region GROUP BY o.region ORDER BY 1",
    ]
    # Ballista 55 runs a null-aware anti join once per partition of its subquery (each task
    # keeping rows another's part removes): such plans stay on the server.
    here = ["SELECT count(*), sum(amount) FROM {p}orders WHERE id NOT IN (SELECT id + 1 FROM {p}orders WHERE qty = 3)"]
    roles, server = start_cluster(tmp_path, catalog, '[server.limits]\nquery_timeout = "60s"\n')
    try:
        duck_attach(duck, catalog)
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            for sql in queries + here:
                cur.execute(sql.format(p=""))
                served = [tuple(r) for r in cur.fetchall()]
                same_rows(served, duck.execute(sql.format(p="lake.")).fetchall(), ordered="ORDER BY" in sql)
            # Kept there by that rule, not another.
            cur.execute("EXPLAIN " + here[0].format(p=""))
            assert [r[1] for r in cur.fetchall() if r[0] == "cluster"] == [
                "runs on this server: it has a NOT IN subquery (a null-aware anti join)"
            ]
        deadline = time.time() + 10
        while time.time() < deadline and len([e for e in server.log() if e["request"] == "statement"]) < len(queries + here):
            time.sleep(0.1)
        ran = {e["statement"]: e.get("cluster", False) for e in server.log() if e["request"] == "statement"}
        assert all(ran.get(sql.format(p="")) for sql in queries), ran
        assert [ran.get(sql.format(p="")) for sql in here] == [False] * len(here), ran
    finally:
        server.stop()
        for role in roles:
            role.stop()


def make_certificates(directory, name):
    """A certificate authority and one certificate it signed, for the name `strata-cluster`
    only (every role presents the same one, as deploy/k8s does: roles are checked against that
    name, not the address connected to), with openssl; returns the flags that name them."""
    directory.mkdir()

    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} CA",
            "-keyout", "ca.key", "-out", "ca.pem")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name} role", "-keyout", "role.key",
            "-out", "role.csr")
    (directory / "san.ext").write_text("subjectAltName=DNS:strata-cluster\n")
    openssl("x509", "-req", "-in", "role.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.ext", "-out", "role.pem")
    return (
        "--cluster-tls-cert", str(directory / "role.pem"),
        "--cluster-tls-key", str(directory / "role.key"),
        "--cluster-tls-ca", str(directory / "ca.pem"),
    )


def test_a_cluster_with_mutual_tls_answers_and_refuses_peers_without_its_certificates(tmp_path):
    """With --cluster-tls-* every connection between server, scheduler and executors is TLS and
    each end must present a certificate the deployment's CA signed: the cluster answers as one
    node does (shuffle fetches between executors and result fetches included); a server without
    certificates, or with certificates of another CA, cannot submit a plan; an executor's
    Flight service (results, shuffle files) refuses a client without a certificate."""
    import pyarrow.flight as pa_flight

    tls = make_certificates(tmp_path / "tls", "strata")
    rogue = make_certificates(tmp_path / "rogue", "rogue")
    # The name every role's certificate carries, from the environment as deploy/k8s sets it.
    domain = {"STRATA_CLUSTER_TLS_DOMAIN": "strata-cluster"}
    catalog = sample_lake(tmp_path, rows=20000, days=4)
    port = _free_port()
    roles = [Role("scheduler", "--listen", f"127.0.0.1:{port}", "--executor-timeout", "15s", *tls, env=domain)]
    time.sleep(1)
    flight_ports = []
    for n in range(2):
        flight_ports.append(_free_port())
        roles.append(
            Role(
                "executor", "--scheduler", f"https://127.0.0.1:{port}", "--listen", f"127.0.0.1:{flight_ports[-1]}",
                "--work-dir", str(tmp_path / f"executor-{n}"), "--vcores", "1", *tls, env=domain,
            )
        )
    config = tmp_path / "cluster.toml"
    config.write_text('[engine]\ntarget_partitions = 4\n\n[cache]\nresults = "0"\n')
    cluster_args = ("--cluster-min-scan", "0", "--cluster-local-files", "--cluster-fallback", "fail")
    servers = []
    try:
        server = Server(
            catalog, config, tmp_path, extra_args=("--scheduler", f"https://127.0.0.1:{port}", *cluster_args, *tls), env=domain
        )
        servers.append(server)
        time.sleep(2)
        for role in roles:
            assert role.proc.poll() is None, "".join(role.lines)
        # A join and a grouping: stages whose tasks read each other's shuffle files.
        queries = [
            "SELECT service, count(*) AS n, round(avg(latency_ms), 3) FROM requests GROUP BY service ORDER BY service",
            "SELECT r.service, count(*) FROM requests r JOIN (SELECT DISTINCT service FROM requests WHERE status = 200) s "
            "ON r.service = s.service GROUP BY r.service ORDER BY 1",
        ]
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            for sql in queries:
                cur.execute(sql)
                same_rows([tuple(r) for r in cur.fetchall()], strata_rows(sql, catalog, tmp_path), ordered=True)
        deadline = time.time() + 10
        while time.time() < deadline and len([e for e in server.log() if e["request"] == "statement"]) < 2:
            time.sleep(0.1)
        assert [e.get("cluster") for e in server.log() if e["request"] == "statement"] == [True, True]

        # Servers whose query fails, naming the scheduler and what to fix. The scheduler refuses
        # a server without a certificate (plain gRPC) and one presenting another CA's (trusting
        # the deployment's). A server that cannot verify the scheduler — it trusts another CA,
        # or the scheduler has no TLS — fails the query even under --cluster-fallback local:
        # that is a configuration to fix, not an outage to run the query through locally.
        plain_port = _free_port()
        roles.append(Role("scheduler", "--listen", f"127.0.0.1:{plain_port}", "--executor-timeout", "15s"))
        time.sleep(1)
        local = ("--cluster-min-scan", "0", "--cluster-local-files", "--cluster-fallback", "local")
        refused = "--cluster-tls-cert"
        unverified = "TLS with the scheduler failed"
        for name, url, args, env, expected in (
            ("plain", f"http://127.0.0.1:{port}", cluster_args, {}, refused),
            ("rogue", f"https://127.0.0.1:{port}", (*cluster_args, *rogue[:4], *tls[4:]), domain, refused),
            ("another CA", f"https://127.0.0.1:{port}", (*local, *tls[:4], "--cluster-tls-ca", rogue[5]), domain, unverified),
            ("no TLS there", f"https://127.0.0.1:{plain_port}", (*local, *tls), domain, unverified),
        ):
            misconfigured = Server(catalog, config, tmp_path, extra_args=("--scheduler", url, *args), env=env)
            servers.append(misconfigured)
            with flight.connect(misconfigured.url) as conn, conn.cursor() as cur:
                with pytest.raises(Exception) as error:
                    cur.execute(queries[0])
                    cur.fetchall()
                message = str(error.value)
                assert url.split("//")[1] in message and expected in message, (name, message)

        # An executor's Flight service: without a client certificate the TLS handshake fails;
        # with the deployment's, the call reaches Ballista's service (which lists nothing).
        ca = (tmp_path / "tls" / "ca.pem").read_bytes()
        anonymous = pa_flight.connect(
            f"grpc+tls://127.0.0.1:{flight_ports[0]}", tls_root_certs=ca, override_hostname="strata-cluster"
        )
        with pytest.raises(pa_flight.FlightUnavailableError, match="failed to connect"):
            list(anonymous.list_flights())
        member = pa_flight.connect(
            f"grpc+tls://127.0.0.1:{flight_ports[0]}", tls_root_certs=ca, override_hostname="strata-cluster",
            cert_chain=(tmp_path / "tls" / "role.pem").read_bytes(),
            private_key=(tmp_path / "tls" / "role.key").read_bytes(),
        )
        with pytest.raises(NotImplementedError, match="list_flights"):
            list(member.list_flights())
    finally:
        for server in servers:
            server.stop()
        for role in roles:
            role.stop()


def test_cluster_partitions_cut_stages_for_the_clusters_task_slots(tmp_path):
    """`--cluster-partitions N` plans a query for the cluster with N partitions, not the
    server's `target_partitions` (here 8): no stage has more than N tasks, where the server's
    own count gives the scan stage one task a file (six days, six files)."""
    catalog = sample_lake(tmp_path, rows=20000, days=6)
    port = _free_port()
    roles = [Role("scheduler", "--listen", f"127.0.0.1:{port}", "--executor-timeout", "15s")]
    time.sleep(1)
    for n in range(2):
        roles.append(
            Role(
                "executor", "--scheduler", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{_free_port()}",
                "--work-dir", str(tmp_path / f"executor-{n}"), "--vcores", "2", env={"STRATA_CLUSTER_LOG": "info"},
            )
        )
    config = tmp_path / "cluster.toml"
    config.write_text('[engine]\ntarget_partitions = 8\n\n[cache]\nresults = "0"\n')
    sql = "SELECT service, count(*) FROM requests GROUP BY service ORDER BY 1"
    expected = strata_rows(sql, catalog, tmp_path)
    tasks = {}
    try:
        time.sleep(2)
        for partitions in (None, "3"):
            extra = ("--cluster-partitions", partitions) if partitions else ()
            server = Server(
                catalog, config, tmp_path,
                extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files", *extra),
            )
            try:
                for role in roles:
                    role.lines.clear()
                with flight.connect(server.url) as conn, conn.cursor() as cur:
                    cur.execute(sql)
                    same_rows([tuple(r) for r in cur.fetchall()], expected, ordered=True)
            finally:
                server.stop()
            # "Received task: [TID <job>/<stage>.<attempt>/<partition>.<attempt>]", per stage.
            per_stage = {}
            for line in (line for role in roles[1:] for line in role.lines if "Received task: [TID " in line):
                _, stage, partition = line.split("[TID ", 1)[1].rstrip("]\n").split("/")
                per_stage.setdefault(stage.split(".")[0], set()).add(partition.split(".")[0])
            tasks[partitions] = {stage: len(p) for stage, p in per_stage.items()}
    finally:
        for role in roles:
            role.stop()
    assert max(tasks[None].values()) == 6, tasks
    assert 1 < max(tasks["3"].values()) <= 3, tasks
