"""Cluster mode: a real loopback cluster of `strata scheduler` and two `strata executor`
processes, and a `strata serve --scheduler` whose queries run there; answers compared with the
same queries run embedded."""

import subprocess
import threading
import time

import adbc_driver_flightsql.dbapi as flight
import pytest

from conftest import Server, _free_port, clean_environment, same_rows, sample_lake, strata, strata_bin, strata_rows


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
    # (<job>/<stage>/<partition>/data-*.arrow).
    for n in range(2):
        outputs = list((root / f"executor-{n}").glob("*/*/*/*.arrow"))
        assert outputs, f"executor {n} ran no task"


def test_a_query_fails_clearly_when_the_scheduler_is_gone(tmp_path):
    catalog = sample_lake(tmp_path, rows=1000, days=1)
    port = _free_port()  # nothing listens there
    server = Server(
        catalog,
        tmp_path / "open.toml",
        tmp_path,
        extra_args=("--scheduler", f"http://127.0.0.1:{port}", "--cluster-min-scan", "0", "--cluster-local-files"),
    )
    try:
        with flight.connect(server.url) as conn, conn.cursor() as cur:
            with pytest.raises(Exception) as error:
                cur.execute("SELECT count(*) FROM requests WHERE status >= 500")
                cur.fetchall()
            assert f"127.0.0.1:{port}" in str(error.value)
            # Small enough to stay local: answered from the catalog, no scan.
            cur.execute("SELECT count(*) FROM requests")
            assert cur.fetchall()[0][0] == 1000
    finally:
        server.stop()
    assert server.proc.returncode in (0, -15)


def test_bad_cluster_flags_are_refused(tmp_path):
    proc = strata("serve", "--scheduler", "grpc://x:1", check=False, catalog=f"sqlite:{tmp_path}/c.db")
    assert proc.returncode != 0 and "http://host:port" in proc.stderr
    proc = strata("executor", "--scheduler", "nowhere", "--work-dir", str(tmp_path), check=False)
    assert proc.returncode != 0 and "http://host:port" in proc.stderr
    # No authentication between peers yet: loopback only, unless told the network is private.
    proc = strata("scheduler", "--listen", f"0.0.0.0:{_free_port()}", check=False)
    assert proc.returncode != 0 and "--insecure" in proc.stderr
    proc = strata("scheduler", "--listen", f"127.0.0.1:{_free_port()}", "--executor-timeout", "2s", check=False)
    assert proc.returncode != 0 and "at least 15s" in proc.stderr


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
