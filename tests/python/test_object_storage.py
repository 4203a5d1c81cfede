"""Lakes on local disk and object storage: the same registration and queries on each, against real
emulators (moto for S3, fake-gcs-server for GCS, Azurite for Azure), with request accounting,
clear errors and retries through a fault-injecting proxy."""

import json
import re
import time
import uuid

import pytest

from conftest import FIXTURES, same_rows, strata, strata_rows
from stores import GCS, S3, Azure, FaultProxy, Local, free_port, upload_tree
from test_interop import QUERIES, duck_views

KINDS = {"local": Local, "s3": S3, "gcs": GCS, "azure": Azure}
FIXTURE_FILES = {
    name: sorted(p for p in (FIXTURES / name).rglob("*.parquet")) for name in ["applogs", "rides"]
}


@pytest.fixture(scope="session")
def servers(tmp_path_factory):
    """Emulators, each started the first time a test needs it and stopped at the end."""
    started = {}
    log_dir = tmp_path_factory.mktemp("stores")

    def get(kind):
        if kind not in started:
            started[kind] = KINDS[kind](log_dir)
        return started[kind]

    yield get
    for server in started.values():
        server.stop()


class Lake:
    """The fixture tables uploaded to a fresh bucket, and a catalog to register them in."""

    def __init__(self, store, tmp_path):
        self.store = store
        self.bucket = f"lake-{uuid.uuid4().hex[:10]}"
        self.catalog = f"sqlite:{tmp_path}/strata.db"
        self.tmp_path = tmp_path
        store.make_bucket(self.bucket)
        for name in ["applogs", "rides"]:
            upload_tree(FIXTURES / name, lambda key, data, name=name: store.put(self.bucket, f"{name}/{key}", data))

    def url(self, prefix=""):
        if self.store.scheme is None:
            return self.store.url(self.bucket, prefix)
        return f"{self.store.scheme}://{self.bucket}/{prefix}"

    def env(self, **extra):
        return {**self.store.env(), **extra}

    def strata(self, *args, check=True, env=None):
        return strata(*args, catalog=self.catalog, check=check, env=self.env() if env is None else env)

    def register(self, *names):
        for name in names or ["applogs", "rides"]:
            self.strata("table", "register", name, "--location", self.url(name))

    def stats(self, sql, env=None):
        """Run `sql` (one or more statements) and return the per-statement stats. The result
        cache is bypassed: these tests count what repeated queries read from storage."""
        proc = self.strata("query", sql, "--format", "csv", "--stats", "json", "--no-result-cache", env=env)
        return [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]


@pytest.fixture(params=list(KINDS))
def lake(request, servers, tmp_path):
    return Lake(servers(request.param), tmp_path)


@pytest.fixture
def s3_lake(servers, tmp_path):
    return Lake(servers("s3"), tmp_path)


def test_queries_match_duckdb(lake, duck, tmp_path):
    lake.register()
    listed = lake.strata("table", "list").stdout
    assert lake.url("applogs") in listed, listed
    duck_views(duck)
    for sql in QUERIES:
        same_rows(strata_rows(sql, lake.catalog, tmp_path, env=lake.env()), duck.execute(sql).fetchall())


def test_registration_reads_each_footer_once(lake):
    out = lake.strata("table", "register", "applogs", "--location", lake.url("applogs")).stdout
    files = len(FIXTURE_FILES["applogs"])
    assert f"{files} files added" in out, out
    # One listing, one ranged read per footer (these footers fit in the first 64 KiB), no HEAD.
    assert f"requests: 1 listings, {files} GETs" in out, out
    assert "0 HEADs" in out, out
    # A refresh with nothing new lists once and reads nothing.
    out = lake.strata("table", "refresh", "applogs").stdout
    assert "nothing to refresh (1 listings, 0 GETs" in out, out


def test_queries_make_no_list_or_head_and_reuse_footers(lake):
    lake.register("applogs")
    selective = "SELECT service, count(*), sum(bytes) FROM applogs WHERE dt = DATE '2026-03-05' GROUP BY service"
    first, second = lake.stats(f"{selective}; {selective}")
    for s in (first, second):
        assert s["requests"]["list"] == 0, s
        assert s["requests"]["head"] == 0, s
        assert s["files_scanned"] == 2 and s["files_pruned"] == 4, s
    # The first run reads each footer once (one ranged GET, its size from the catalog) and the
    # column chunks; the second reads only column chunks, the footers coming from the cache.
    assert first["requests"]["get"] == first["requests"]["ranged_get"], first
    # The column chunks come from the data cache the second time, on object storage and on
    # local disk alike: no request at all, every range a hit, as many as the first run missed.
    assert first["requests"]["cache_misses"] > 0 and first["requests"]["cache_hits"] == 0, first
    assert second["requests"]["get"] == 0, second
    assert second["requests"]["cache_hits"] == first["requests"]["cache_misses"], (first, second)
    assert second["requests"]["cache_hit_bytes"] > 0 and second["bytes_read"] == 0, second
    # EXPLAIN ANALYZE shows the scan's hits and misses.
    plan = lake.strata("query", f"{selective}; EXPLAIN ANALYZE {selective}", "--format", "csv", "--no-result-cache").stdout
    hits = re.search(r"data_cache_hits=(\d+)", plan)
    assert hits and int(hits.group(1)) == first["requests"]["cache_misses"], plan
    assert "data_cache_misses=0" in plan, plan
    # With the data cache off the second run reads only column chunks, the footers coming
    # from the metadata cache.
    off = lake.env(STRATA_CACHE_DATA="0")
    first, second = lake.stats(f"{selective}; {selective}", env=off)
    assert second["requests"]["cache_hits"] == 0 and second["requests"]["cache_misses"] == 0, second
    assert second["requests"]["get"] == first["requests"]["get"] - first["files_scanned"], (first, second)
    assert second["requests"]["get"] > 0, second
    assert second["bytes_read"] < first["bytes_read"], (first, second)

    # On object storage a scan keeps more files in flight than there are cores (latency, not
    # CPU, bounds it): all six files get their own stream even with two target partitions.
    plan = lake.strata(
        "query", "EXPLAIN SELECT sum(bytes) FROM applogs", "--format", "csv",
        env=lake.env(STRATA_ENGINE_TARGET_PARTITIONS="2"),
    ).stdout
    if lake.store.scheme is not None:
        assert "file_groups={6 groups" in plan, plan

    (full,) = lake.stats("SELECT * FROM applogs")
    assert full["requests"]["list"] == 0 and full["requests"]["head"] == 0, full
    assert full["files_scanned"] == 6, full
    assert full["requests"]["get"] >= 6 and full["bytes_read"] > 0, full


def test_footers_are_read_when_a_statement_runs_and_never_for_explain(lake, duck, tmp_path):
    """On object storage every scan's first footers are read as soon as the statement starts
    executing (a join's probe side would otherwise wait for its build side before asking);
    plans that do not run, and counts the catalog answers, read nothing."""
    lake.register("applogs")
    join = (
        "SELECT a.service, count(*) AS n FROM applogs a JOIN "
        "(SELECT service, max(bytes) AS m FROM applogs WHERE dt = DATE '2026-03-05' GROUP BY service) b "
        "ON a.service = b.service AND a.bytes = b.m GROUP BY a.service ORDER BY a.service"
    )
    explain, counted = lake.stats(f"EXPLAIN {join}; SELECT count(*) FROM applogs")
    assert explain["requests"]["get"] == 0, explain
    assert counted["requests"]["get"] == 0 and counted["files_scanned"] == 0, counted
    first, second = lake.stats(f"{join}; {join}")
    assert first["requests"]["get"] > 0, first
    # Every footer and range read once: the repeat reads nothing from storage.
    assert second["requests"]["get"] == 0 and second["requests"]["cache_hits"] > 0, second
    duck_views(duck)
    same_rows(strata_rows(join, lake.catalog, tmp_path, env=lake.env()), duck.execute(join).fetchall())


def test_page_index_comes_with_the_footer_and_is_cached(lake, tmp_path):
    # Files written by `strata gen` have page indexes, which a filter on a stored column uses.
    out = tmp_path / "gen"
    strata("gen", "requests", "--rows", "40000", "--days", "2", "--files-per-day", "2", "--out", str(out))
    upload_tree(out, lambda key, data: lake.store.put(lake.bucket, f"requests/{key}", data))
    lake.strata("table", "register", "requests", "--location", lake.url("requests"))
    sql = "SELECT count(*), sum(bytes) FROM requests WHERE latency_ms > 900"
    # Late materialization (off by default) makes the reads below one per column.
    # The data cache off: what is counted is the footer and page index caching.
    env = lake.env(STRATA_ENGINE_PARQUET_PUSHDOWN_FILTERS="true", STRATA_CACHE_DATA="0")
    first, second = lake.stats(f"{sql}; {sql}", env=env)
    assert first["files_scanned"] == 4, first
    for s in (first, second):
        assert s["requests"]["list"] == 0 and s["requests"]["head"] == 0, s
    # Each file has one row group; with late materialization its filter column `latency_ms` is
    # read first and `bytes` then, so its data takes two ranged GETs. First touch adds one GET
    # per file for the footer and the page index together; after that both come from the cache.
    # (DataFusion alone reads the page index separately and uncached: a GET per file, every run.)
    assert second["requests"]["get"] == 8, (first["requests"], second["requests"])
    assert first["requests"]["get"] == 12, (first["requests"], second["requests"])
    if lake.store.scheme is not None:
        # With the data cache (the default), the second run's ranges, selected by the page
        # index, all come from memory.
        first, second = lake.stats(f"{sql}; {sql}", env=lake.env(STRATA_ENGINE_PARQUET_PUSHDOWN_FILTERS="true"))
        assert first["requests"]["get"] == 12 and first["requests"]["cache_misses"] > 0, first
        assert second["requests"]["get"] == 0, second
        assert second["requests"]["cache_hits"] == first["requests"]["cache_misses"], (first, second)


def test_data_path_on_object_storage(lake, duck):
    data_path = lake.url("data/")
    lake.strata("--data-path", data_path, "table", "list")
    db = lake.catalog.removeprefix("sqlite:")
    duck.execute(f"ATTACH '{db}' AS meta (TYPE sqlite, READ_ONLY)")
    recorded = duck.execute("SELECT value FROM meta.ducklake_metadata WHERE key = 'data_path'").fetchone()[0]
    assert recorded == data_path


def test_unconfigured_store_is_refused(s3_lake):
    # No AWS_* variables and no [stores] section: the bucket is not reached at all.
    proc = s3_lake.strata("table", "register", "applogs", "--location", s3_lake.url("applogs"), check=False, env={})
    assert proc.returncode == 1
    assert f"no S3 store is configured for s3://{s3_lake.bucket}" in proc.stderr, proc.stderr
    assert "AWS_ACCESS_KEY_ID" in proc.stderr, proc.stderr
    proc = s3_lake.strata("--data-path", "gs://elsewhere/lake/", "table", "list", check=False)
    assert "no GCS store is configured for gs://elsewhere" in proc.stderr, proc.stderr
    proc = s3_lake.strata("table", "register", "t", "--location", "hdfs://nn/x", check=False)
    assert "unsupported scheme 'hdfs://'" in proc.stderr, proc.stderr


def test_config_file_configures_a_bucket(s3_lake, tmp_path):
    config = tmp_path / "strata.toml"
    config.write_text(
        f"""
[storage]
max_retries = 2

[stores."s3://{s3_lake.bucket}"]
endpoint = "{s3_lake.store.endpoint}"
access_key_id = "testing"
secret_access_key = "file-secret-value"
region = "us-east-1"
"""
    )
    out = s3_lake.strata("--config", str(config), "table", "register", "applogs", "--location", s3_lake.url("applogs"), env={})
    assert "6 files added" in out.stdout, out.stdout
    # A misspelt setting is reported, naming it; the secret is never echoed.
    config.write_text(config.read_text().replace("access_key_id", "acess_key_id"))
    proc = s3_lake.strata("--config", str(config), "table", "list", check=False, env={})
    assert proc.returncode == 1
    assert "unknown setting 'acess_key_id'" in proc.stderr, proc.stderr
    assert "file-secret-value" not in proc.stderr + proc.stdout


def test_missing_bucket_and_bad_endpoint(s3_lake):
    proc = s3_lake.strata("table", "register", "t", "--location", "s3://no-such-bucket/x/", check=False)
    assert proc.returncode == 1
    assert "s3://no-such-bucket" in proc.stderr and "does not exist" in proc.stderr, proc.stderr
    # Said once: the CLI does not repeat causes that the message already contains.
    assert proc.stderr.count("the bucket or container does not exist") == 1, proc.stderr

    closed = f"http://127.0.0.1:{free_port()}"
    env = s3_lake.env(AWS_ENDPOINT_URL=closed, STRATA_STORAGE_RETRY_TIMEOUT="1s", AWS_SECRET_ACCESS_KEY="do-not-print-me")
    started = time.time()
    proc = s3_lake.strata("table", "register", "applogs", "--location", s3_lake.url("applogs"), check=False, env=env)
    assert proc.returncode == 1
    assert time.time() - started < 20
    assert "cannot reach the store" in proc.stderr and "AWS_ENDPOINT_URL" in proc.stderr, proc.stderr
    assert "do-not-print-me" not in proc.stderr


def test_wrong_credentials_on_azure(servers, tmp_path):
    lake = Lake(servers("azure"), tmp_path)
    wrong = lake.env(AZURE_STORAGE_ACCOUNT_NAME="devstoreaccount1", AZURE_STORAGE_ACCOUNT_KEY="d3Jvbmcta2V5LXRoYXQtaXMtYmFzZTY0")
    proc = lake.strata("table", "register", "applogs", "--location", lake.url("applogs"), check=False, env=wrong)
    assert proc.returncode == 1
    assert lake.url("applogs") in proc.stderr, proc.stderr
    assert "credentials" in proc.stderr, proc.stderr
    assert "d3Jvbmcta2V5" not in proc.stderr


def test_deleted_or_rewritten_file_is_named_and_refresh_fixes_it(lake):
    lake.register("applogs")
    victim = FIXTURE_FILES["applogs"][0].relative_to(FIXTURES).as_posix()
    lake.store.delete(lake.bucket, victim)
    # (count(*) alone is answered from the catalog and reads no file.)
    proc = lake.strata("query", "SELECT sum(status) FROM applogs", check=False)
    assert proc.returncode == 1
    assert lake.url(victim) in proc.stderr, proc.stderr
    assert "strata table refresh" in proc.stderr, proc.stderr
    out = lake.strata("table", "refresh", "applogs").stdout
    assert "1 files removed" in out, out
    assert lake.strata("query", "SELECT count(*) FROM applogs", "--format", "csv").stdout.split() == ["count(*)", "125"]

    # A file rewritten in place (another size) is refused until a refresh registers it again.
    target = "applogs/dt=2026-03-06/part-0.parquet"
    lake.store.put(lake.bucket, target, (FIXTURES / "applogs/dt=2026-03-04/part-1.parquet").read_bytes())
    proc = lake.strata("query", "SELECT sum(bytes) FROM applogs", check=False)
    assert proc.returncode == 1
    assert lake.url(target) in proc.stderr, proc.stderr
    assert "changed since it was registered" in proc.stderr and "strata table refresh" in proc.stderr, proc.stderr
    out = lake.strata("table", "refresh", "applogs").stdout
    assert "1 files added" in out and "1 files removed" in out, out
    out = lake.strata("query", "SELECT count(*) FROM applogs WHERE dt = DATE '2026-03-06'", "--format", "csv").stdout
    assert out.split() == ["count(*)", "50"], out


# Queries here that must reach the store filter on a string column: a bare count(*) is answered
# from the catalog and reads nothing.


def test_retries_through_503s_and_fails_when_the_store_stays_down(s3_lake):
    s3_lake.register("applogs")
    proxy = FaultProxy(s3_lake.store.port)
    try:
        env = s3_lake.env(AWS_ENDPOINT_URL=proxy.endpoint, STRATA_STORAGE_BACKOFF_INITIAL="20ms")
        proxy.fail_next(4)
        out = s3_lake.strata("query", "SELECT count(*) FROM applogs WHERE service <> ''", "--format", "csv", env=env).stdout
        assert out.split() == ["count(*)", "150"], out
        assert proxy.failed == 4 and proxy.forwarded > 0

        proxy.down()
        env["STRATA_STORAGE_RETRY_TIMEOUT"] = "2s"
        started = time.time()
        proc = s3_lake.strata("query", "SELECT count(*) FROM applogs WHERE service <> ''", check=False, env=env)
        elapsed = time.time() - started
        assert proc.returncode == 1
        assert elapsed < 20, elapsed
        assert "kept failing after retries" in proc.stderr, proc.stderr
        assert s3_lake.url("applogs") in proc.stderr, proc.stderr
    finally:
        proxy.stop()


@pytest.mark.parametrize("how", ["reset", "truncate"])
def test_reset_connections_and_cut_bodies_are_retried_or_named(s3_lake, how):
    """A store that resets connections or cuts answers short mid-scan: the query gives the
    right answer after retries, or fails naming the object; never a wrong answer."""
    s3_lake.register("applogs")
    sql = "SELECT count(*), sum(status), count(DISTINCT service) FROM applogs"
    right = s3_lake.strata("query", sql, "--format", "csv").stdout
    proxy = FaultProxy(s3_lake.store.port)
    try:
        env = s3_lake.env(AWS_ENDPOINT_URL=proxy.endpoint, STRATA_STORAGE_BACKOFF_INITIAL="20ms")
        for n in [1, 3]:
            proxy.fail_next(n, how)
            proc = s3_lake.strata("query", sql, "--format", "csv", check=False, env=env)
            if proc.returncode == 0:
                assert proc.stdout == right
            else:
                assert s3_lake.url("applogs") in proc.stderr, proc.stderr
            assert proxy.failed >= n
        proxy.down(how)
        env["STRATA_STORAGE_RETRY_TIMEOUT"] = "2s"
        started = time.time()
        proc = s3_lake.strata("query", sql, check=False, env=env)
        assert proc.returncode == 1 and time.time() - started < 30
        assert s3_lake.url("applogs") in proc.stderr, proc.stderr
        if how == "truncate":
            # Said as what it is: the answers broke off (not "the request failed").
            assert "broke off" in proc.stderr, proc.stderr
    finally:
        proxy.stop()


def test_a_blackholed_store_fails_within_the_limits(s3_lake, tmp_path):
    """Requests that are never answered: the CLI gives up after the request timeout and its
    retries; the server ends the query at its time limit and keeps serving."""
    from conftest import Server
    import adbc_driver_flightsql.dbapi as flight
    import adbc_driver_manager

    s3_lake.register("applogs", "rides")
    proxy = FaultProxy(s3_lake.store.port)
    try:
        proxy.down("blackhole")
        env = s3_lake.env(
            AWS_ENDPOINT_URL=proxy.endpoint,
            STRATA_STORAGE_REQUEST_TIMEOUT="2s",
            STRATA_STORAGE_RETRY_TIMEOUT="3s",
            STRATA_STORAGE_BACKOFF_INITIAL="20ms",
        )
        started = time.time()
        proc = s3_lake.strata("query", "SELECT count(*) FROM applogs WHERE service <> ''", check=False, env=env)
        assert proc.returncode == 1 and time.time() - started < 30, proc.stderr
        assert s3_lake.url("applogs") in proc.stderr, proc.stderr

        config = tmp_path / "server.toml"
        config.write_text('[server.limits]\nquery_timeout = "4s"\n')
        server_env = s3_lake.env(AWS_ENDPOINT_URL=proxy.endpoint)
        server = Server(s3_lake.catalog, config, tmp_path, env=server_env)
        try:
            with flight.connect(server.url) as conn, conn.cursor() as cur:
                started = time.time()
                with pytest.raises(adbc_driver_manager.Error) as err:
                    cur.execute("SELECT count(*) FROM applogs WHERE service <> ''")
                    cur.fetchall()
                assert time.time() - started < 15
                assert "limits.query_timeout" in str(err.value), err.value
                # The store comes back: the same server answers.
                proxy.up()
                cur.execute("SELECT count(*) FROM applogs WHERE service <> ''")
                assert cur.fetchone()[0] == 150
            assert server.proc.poll() is None
        finally:
            server.stop()
    finally:
        proxy.stop()


def test_a_server_answers_repeated_queries_from_the_data_cache(s3_lake, tmp_path):
    """Two dashboard clients asking the same question: the first reads column chunks from the
    bucket, the second is served from the server's data cache with no request at all, and
    the query log says so (the result cache, which would answer without reading at all, is off
    here: test_result_cache.py covers it)."""
    from conftest import Server
    import adbc_driver_flightsql.dbapi as flight

    s3_lake.register("applogs")
    sql = "SELECT service, count(*), sum(bytes) FROM applogs WHERE status >= 500 GROUP BY service ORDER BY service"
    config = tmp_path / "server.toml"
    config.write_text('[cache]\ndata = "64MiB"\nresults = 0\n')
    server = Server(s3_lake.catalog, config, tmp_path, env=s3_lake.env())
    try:
        answers = []
        for _ in range(2):
            with flight.connect(server.url) as conn, conn.cursor() as cur:
                cur.execute(sql)
                answers.append(cur.fetchall())
        assert answers[0] == answers[1] and answers[0], answers
        deadline = time.time() + 10
        while time.time() < deadline:
            entries = [e for e in server.log() if e.get("statement") == sql and e["outcome"] == "ok"]
            if len(entries) >= 2:
                break
            time.sleep(0.1)
        first, second = entries[:2]
        assert first["requests"] > 0 and first["cache_hits"] == 0, first
        assert second["requests"] == 0 and second["cache_hits"] > 0, second
        assert second["cache_hit_bytes"] > 0, second
    finally:
        server.stop()


def test_the_disk_tier_serves_ranges_after_a_restart(s3_lake, tmp_path):
    """With `cache.disk_path` set, ranges read from the bucket are kept on local disk too: a
    fresh process (empty memory) takes them from there and requests only the footers; a
    damaged range file is never served (it is read from the bucket again); a disk path that
    cannot be a directory is refused naming the setting."""
    s3_lake.register("applogs")
    sql = "SELECT service, count(*), sum(bytes) FROM applogs WHERE status >= 500 GROUP BY service ORDER BY service"
    disk = tmp_path / "disk-tier"
    env = s3_lake.env(STRATA_CACHE_DISK_PATH=str(disk))
    answer = s3_lake.strata("query", sql, "--format", "csv", "--no-result-cache", env=s3_lake.env()).stdout

    def run():
        proc = s3_lake.strata("query", sql, "--format", "csv", "--stats", "json", "--no-result-cache", env=env)
        stats = [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]
        return proc.stdout, stats[0]

    rows, first = run()
    assert rows == answer
    assert first["requests"]["cache_misses"] > 0 and first["requests"]["disk_cache_hits"] == 0, first
    kept = sorted(disk.glob("*.range"))
    assert len(kept) == first["requests"]["cache_misses"], (len(kept), first)

    rows, second = run()
    assert rows == answer
    assert second["requests"]["disk_cache_hits"] == first["requests"]["cache_misses"], second
    assert second["requests"]["cache_misses"] == 0, second
    # Only the footers (one GET each, with their page indexes) went to the bucket.
    assert second["requests"]["get"] == second["files_scanned"] < first["requests"]["get"], (first, second)

    for path in kept:
        path.write_bytes(b"damaged")
    rows, third = run()
    assert rows == answer
    assert third["requests"]["disk_cache_hits"] == 0, third
    assert third["requests"]["cache_misses"] == first["requests"]["cache_misses"], third

    not_a_directory = tmp_path / "file"
    not_a_directory.write_text("x")
    proc = s3_lake.strata(
        "query", sql, check=False, env=s3_lake.env(STRATA_CACHE_DISK_PATH=str(not_a_directory / "tier"))
    )
    assert proc.returncode != 0 and "cache.disk_path" in proc.stderr, proc.stderr


def test_a_large_file_on_object_storage_is_read_in_pieces(s3_lake, duck, tmp_path):
    """A table of one large file (TPC-H's shape): on object storage its row groups are read by
    several partitions at once, each a byte range of the file, and the answers are DuckDB's."""
    out = tmp_path / "gen"
    strata("gen", "requests", "--rows", "600000", "--days", "1", "--files-per-day", "1", "--out", str(out))
    upload_tree(out, lambda key, data: s3_lake.store.put(s3_lake.bucket, f"big/{key}", data))
    s3_lake.strata("table", "register", "big", "--location", s3_lake.url("big"))
    plan = s3_lake.strata("query", "EXPLAIN SELECT sum(bytes) FROM big", "--format", "csv").stdout
    pieces = re.findall(r"part-000\.parquet:(\d+)\.\.(\d+)", plan)
    assert len(pieces) >= 4, plan
    assert sorted(int(a) for a, _ in pieces)[0] == 0, pieces
    files = str(out / "**" / "*.parquet")
    duck.execute(f"CREATE VIEW big AS SELECT * FROM read_parquet('{files}', hive_partitioning=true)")
    for sql in [
        "SELECT count(*), sum(bytes), min(ts), max(ts), count(DISTINCT service) FROM big",
        "SELECT service, count(*), sum(latency_ms), max(status) FROM big GROUP BY service",
        "SELECT status, count(*) FROM big WHERE latency_ms > 500 GROUP BY status",
        "SELECT count(*) FROM big WHERE dt = DATE '2026-03-01'",
    ]:
        same_rows(strata_rows(sql, s3_lake.catalog, tmp_path, env=s3_lake.env()), duck.execute(sql).fetchall())
    # One footer read however many pieces: five row groups' chunks plus one footer GET.
    (stats,) = s3_lake.stats("SELECT sum(bytes) FROM big", env=s3_lake.env(STRATA_CACHE_DATA="0"))
    assert stats["requests"]["get"] <= 6, stats


def test_the_sorts_of_a_scan_in_many_pieces_share_their_memory(s3_lake, duck, tmp_path):
    """On object storage a scan is planned for more partitions than the cores (a large file is
    read in pieces, up to `scan_concurrency` at once). An ORDER BY sorts as many partitions as
    there are cores (a round-robin repartition between scan and sort), and the merge memory
    each sort reserves up front is shared by all of them, so a sorted read runs under a small
    memory limit. (Each sort used to reserve a core's share, and the query failed asking for
    more than the limit before it had sorted a row; then, with a sort per piece, the sorts'
    merges of their spill files took the memory the final merge needed on a busy machine.)"""
    out = tmp_path / "gen"
    strata("gen", "requests", "--rows", "600000", "--days", "1", "--files-per-day", "1", "--out", str(out))
    upload_tree(out, lambda key, data: s3_lake.store.put(s3_lake.bucket, f"big/{key}", data))
    s3_lake.strata("table", "register", "big", "--location", s3_lake.url("big"))
    # 600,000 rows sorted in 32 MiB (spilling) on two partitions' worth of reservations: the
    # old ones asked 8 MiB a piece.
    env = s3_lake.env(STRATA_LIMITS_MEMORY="32MiB", STRATA_CACHE_DATA="0", STRATA_ENGINE_TARGET_PARTITIONS="2")
    sql = "SELECT ts, service, status FROM big ORDER BY ts, service, status"
    plan = s3_lake.strata("query", "EXPLAIN " + sql, "--format", "csv", env=env).stdout
    assert re.search(r"SortExec: .*preserve_partitioning=\[true\]", plan), plan
    assert "RepartitionExec: partitioning=RoundRobinBatch(2)" in plan, plan
    assert len(re.findall(r"part-000\.parquet:\d+\.\.\d+", plan)) >= 4, plan
    files = str(out / "**" / "*.parquet")
    duck.execute(f"CREATE VIEW big AS SELECT * FROM read_parquet('{files}', hive_partitioning=true)")
    got = strata_rows(sql, s3_lake.catalog, tmp_path, env=env)
    want = duck.execute(sql).fetchall()
    assert len(want) == 600000 and got == want, (len(got), len(want))
    # A write into a partitioned, sorted table sorts what it reads the same way.
    s3_lake.strata(
        "query",
        "CREATE TABLE big_sorted (ts TIMESTAMP, service VARCHAR, status INT) PARTITIONED BY (service) WITH (sort_by = 'ts');"
        " INSERT INTO big_sorted SELECT ts, service, status FROM big",
        env=env,
    )
    check = "SELECT service, count(*), min(ts), max(ts), sum(status) FROM {} GROUP BY service ORDER BY service"
    got = strata_rows(check.format("big_sorted"), s3_lake.catalog, tmp_path, env=env)
    assert got == duck.execute(check.format("big")).fetchall()
