"""The result cache: repeated queries are answered from memory until a table they read changes —
by this server, by another Strata process, or by DuckDB writing the same catalog — and a change
to one table leaves the entries of the others alone."""

import json
import time

import adbc_driver_flightsql.dbapi as flight
import pytest

from conftest import Server, strata

Q_T = "SELECT count(*) AS n, sum(x) AS s FROM t"
Q_U = "SELECT count(*) AS n, max(name) AS m FROM u"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("result-cache")
    path = root / "strata.db"
    catalog = f"sqlite:{path}"
    strata(
        "query",
        """CREATE TABLE t AS SELECT v AS x FROM generate_series(1, 1000) g(v);
           CREATE TABLE u AS SELECT v AS id, 'n' || v AS name FROM generate_series(1, 50) g(v)""",
        catalog=catalog,
    )
    (root / "open.toml").write_text("")
    return root, catalog, path


@pytest.fixture(scope="module")
def server(lake):
    root, catalog, _ = lake
    s = Server(catalog, root / "open.toml", root)
    yield s
    s.stop()


def _stats(proc):
    return [json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")]


def test_embedded_repeats_are_hits_and_nondeterministic_queries_never(lake):
    _, catalog, _ = lake
    proc = strata("query", f"{Q_T}; {Q_T}; SELECT x FROM t WHERE x < 3 ORDER BY x; {Q_T}", "--stats", "json", "--format", "csv", catalog=catalog)
    stats = _stats(proc)
    assert [s["result_cache"] for s in stats] == ["miss", "hit", "miss", "hit"], stats
    assert proc.stdout.count("1000,500500") == 3, proc.stdout
    # A hit reads nothing.
    assert stats[1]["files_scanned"] == 0 and stats[1]["requests"]["get"] == 0
    proc = strata(
        "query",
        "SELECT now(), count(*) FROM t; SELECT now(), count(*) FROM t; SELECT random() FROM u LIMIT 1; "
        "SELECT random() FROM u LIMIT 1; SELECT * FROM strata_tables(); SELECT * FROM strata_tables(); "
        "SELECT count(*) FROM information_schema.tables; SELECT count(*) FROM information_schema.tables",
        "--stats", "json", "--format", "csv",
        catalog=catalog,
    )
    assert {s["result_cache"] for s in _stats(proc)} == {"uncacheable"}, proc.stderr
    proc = strata("query", f"{Q_T}; {Q_T}", "--stats", "json", "--no-result-cache", catalog=catalog)
    assert [s["result_cache"] for s in _stats(proc)] == ["bypassed", "bypassed"]
    # Parameters and literals are part of the key.
    proc = strata("query", "SELECT count(*) FROM t WHERE x < 10; SELECT count(*) FROM t WHERE x < 20", "--stats", "json", "--format", "csv", catalog=catalog)
    assert [s["result_cache"] for s in _stats(proc)] == ["miss", "miss"] and proc.stdout.split() == ["count(*)", "9", "count(*)", "19"]


def _ask(server, sql, headers=None):
    kwargs = {}
    if headers:
        kwargs["db_kwargs"] = {f"adbc.flight.sql.rpc.call_header.{k}": v for k, v in headers.items()}
    with flight.connect(server.url, **kwargs) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def _uses(server, sql, count):
    """How the last `count` runs of `sql` met the result cache, from the query log."""
    deadline = time.time() + 10
    while time.time() < deadline:
        entries = [e for e in server.log() if e.get("statement") == sql and e["request"] == "statement"]
        if len(entries) >= count:
            return [e.get("result_cache") for e in entries[-count:]]
        time.sleep(0.1)
    raise AssertionError(f"{sql} not logged {count} times: {server.log()[-5:]}")


def test_server_invalidates_exactly_the_changed_tables_whoever_commits(lake, server, duck):
    _, catalog, path = lake
    assert _ask(server, Q_T) == _ask(server, Q_T) == [(1000, 500500)]
    assert _ask(server, Q_U) == _ask(server, Q_U) == [(50, "n9")]
    assert _uses(server, Q_T, 2) == ["miss", "hit"] and _uses(server, Q_U, 2) == ["miss", "hit"]

    # A write through the server invalidates t's entries, not u's.
    _ask(server, "INSERT INTO t VALUES (5000)")
    assert _ask(server, Q_T) == [(1001, 505500)]
    assert _ask(server, Q_U) == [(50, "n9")]
    assert _uses(server, Q_T, 1) == ["miss"] and _uses(server, Q_U, 1) == ["hit"]

    # A commit by another Strata process on the same catalog.
    strata("query", "INSERT INTO t VALUES (7)", catalog=catalog)
    assert _ask(server, Q_T) == [(1002, 505507)]
    assert _uses(server, Q_T, 1) == ["miss"]
    assert _ask(server, Q_T) == [(1002, 505507)] and _uses(server, Q_T, 1) == ["hit"]

    # DuckDB writing the same catalog.
    duck.execute(f"ATTACH 'ducklake:sqlite:{path}' AS lake")
    duck.execute("INSERT INTO lake.u VALUES (51, 'zz')")
    duck.execute("DETACH lake")
    assert _ask(server, Q_U) == [(51, "zz")]
    assert _uses(server, Q_U, 1) == ["miss"]
    assert _ask(server, Q_T) == [(1002, 505507)] and _uses(server, Q_T, 1) == ["hit"]

    # Bypassed on request: the ADBC header, and the CLI's flag against the server.
    assert _ask(server, Q_T, {"x-strata-result-cache": "off"}) == [(1002, 505507)]
    assert _uses(server, Q_T, 1) == ["bypassed"]
    proc = strata("query", "--server", server.url, "--no-result-cache", "--stats", "json", Q_U)
    assert [s["result_cache"] for s in _stats(proc)] == ["bypassed"], proc.stderr
    proc = strata("query", "--server", server.url, "--stats", "json", Q_U)
    assert [s["result_cache"] for s in _stats(proc)] == ["hit"], proc.stderr

    # Expiring snapshots forgets the changes versions are read from: a write to t, then one to
    # u, then an expiry that keeps only the last snapshot leaves t with no recorded change; its
    # fresh answer is served (not cached), never the entry from before the write.
    assert _ask(server, Q_T) == [(1002, 505507)] and _uses(server, Q_T, 1) == ["hit"]
    strata("query", "INSERT INTO t VALUES (3)", catalog=catalog)
    strata("query", "INSERT INTO u VALUES (52, 'a')", catalog=catalog)
    strata("query", "CALL expire_snapshots('0s')", catalog=catalog)
    assert _ask(server, Q_T) == [(1003, 505510)]
    assert _uses(server, Q_T, 1) == ["uncacheable"]
    assert _ask(server, Q_U) == [(52, "zz")] and _uses(server, Q_U, 1) == ["miss"]


def test_server_plans_see_every_commit_with_the_result_cache_off(lake, server, duck):
    """The file index (each table's files and statistics, kept per table version) never serves
    a plan another snapshot's files: with the result cache bypassed, every answer of a running
    server equals DuckDB's on the same catalog, across DuckDB's deletes, inserts and merges,
    Strata's compaction, and snapshot expiry."""
    _, catalog, path = lake
    off = {"x-strata-result-cache": "off"}
    q = "SELECT count(*), sum(x), min(x), max(x) FROM w WHERE x > 10"
    strata(
        "query",
        "CREATE TABLE w AS SELECT v AS x FROM generate_series(1, 100) g(v); INSERT INTO w VALUES (500), (600)",
        catalog=catalog,
    )

    def in_duckdb(sql, read_only=True):
        duck.execute(f"ATTACH 'ducklake:sqlite:{path}' AS lake" + (" (READ_ONLY)" if read_only else ""))
        try:
            return duck.execute(sql).fetchall()
        finally:
            duck.execute("DETACH lake")

    # Unfiltered, the scan of every file is what the index keeps (with its delete selections).
    everything = "SELECT count(*), sum(x), max(x) FROM w "

    def same():
        for sql in (q, everything):
            want = [tuple(int(v) for v in row) for row in in_duckdb(sql.replace(" w ", " lake.w "))]
            # Twice: the second plan is the one the index serves.
            assert _ask(server, sql, off) == want, sql
            assert _ask(server, sql, off) == want, sql

    same()
    for change in (
        "DELETE FROM lake.w WHERE x = 600",
        "INSERT INTO lake.w VALUES (7000)",
        "DELETE FROM lake.w WHERE x < 50",
        "CALL ducklake_merge_adjacent_files('lake')",
    ):
        in_duckdb(change, read_only=False)
        same()
    strata("query", "INSERT INTO w VALUES (9000); CALL compact('w')", catalog=catalog)
    same()
    strata("query", "INSERT INTO w VALUES (11); CALL expire_snapshots('0s')", catalog=catalog)
    same()

    # DuckDB expires the snapshot of w's last change alone: the log no longer says when w last
    # changed, and the files from before that change must not come back.
    strata("query", "INSERT INTO w VALUES (12)", catalog=catalog)
    same()
    (last,) = in_duckdb("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")[0]
    strata("query", "INSERT INTO u VALUES (99, 'x')", catalog=catalog)
    in_duckdb(f"CALL ducklake_expire_snapshots('lake', versions => [{last}])", read_only=False)
    same()

    # Rows DuckDB inlined, then flushed into a file dated back to their snapshot: the current
    # snapshot and the one before the flush both read them once.
    in_duckdb("INSERT INTO lake.w VALUES (13), (14)", read_only=False)
    same()
    (before,) = in_duckdb("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")[0]
    in_duckdb("CALL ducklake_flush_inlined_data('lake')", read_only=False)
    same()
    then = f"SELECT count(*), sum(x) FROM table_at('w', {before}) WHERE x > 10"
    want = [tuple(int(v) for v in row) for row in in_duckdb(f"SELECT count(*), sum(x) FROM lake.w AT (VERSION => {before}) WHERE x > 10")]
    assert _ask(server, then, off) == want
    assert _uses(server, q, 1) == ["bypassed"]


def test_hive_files_duckdb_added_keep_their_partition_values_whatever_was_planned_before(tmp_path, duck):
    """Files DuckDB added with `hive_partitioning => true` have a path-derived column and no
    partition key: its values come from the files' statistics. A scan of every file that the
    file index built for a query not reading that column must not serve one that does."""
    for day, values in (("2026-01-01", "range(3)"), ("2026-01-02", "range(10, 12)")):
        (tmp_path / "data" / f"day={day}").mkdir(parents=True)
        duck.execute(f"COPY (SELECT range AS v FROM {values}) TO '{tmp_path}/data/day={day}/f.parquet'")
    duck.execute(f"ATTACH 'ducklake:sqlite:{tmp_path}/cat.db' AS lake (DATA_PATH '{tmp_path}/lake/')")
    duck.execute("CREATE TABLE lake.t (v BIGINT, day DATE)")
    duck.execute(f"CALL ducklake_add_data_files('lake', 't', '{tmp_path}/data/*/*.parquet', hive_partitioning => true)")
    per_day = "SELECT day, count(*), sum(v) FROM t GROUP BY day ORDER BY day"
    want = duck.execute(per_day.replace(" t ", " lake.t ")).fetchall()
    duck.execute("DETACH lake")
    assert [str(d) for d, _, _ in want] == ["2026-01-01", "2026-01-02"]
    proc = strata(
        "query", f"SELECT sum(v) FROM t; {per_day}; SELECT max(day) FROM t", "--format", "csv", "--no-result-cache",
        catalog=f"sqlite:{tmp_path}/cat.db",
    )
    lines = proc.stdout.split()
    assert lines[lines.index("day,count(*),sum(t.v)") + 1 :][:2] == [f"{d},{n},{s}" for d, n, s in want], proc.stdout
    assert lines[-1] == "2026-01-02", proc.stdout
