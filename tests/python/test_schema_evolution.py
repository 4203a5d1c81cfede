"""Schema evolution: ALTER TABLE ADD/DROP/RENAME COLUMN and widening type changes. Files written
before a change are read by column id (renamed columns keep their data, dropped ones stay
dropped even when a new column takes the name, added ones read as NULL). DuckDB reads the same
catalog afterwards and must give the same answers; bad changes fail with a clear message and
change nothing; concurrent changes either both apply or the second names the real conflict."""

import subprocess
import threading

from conftest import same_rows, strata, strata_bin, strata_rows
from test_writes import attach


def history_len(catalog):
    out = strata("table", "history", "events", catalog=catalog).stdout
    return len(out.strip().splitlines()) - 1


def make_events(catalog):
    strata(
        "query",
        "CREATE TABLE events (ts TIMESTAMP NOT NULL, kind VARCHAR, status INT, bytes BIGINT) "
        "PARTITIONED BY (day(ts)) WITH (sort_by = 'ts')",
        catalog=catalog,
    )
    strata(
        "query",
        "INSERT INTO events VALUES "
        "(TIMESTAMP '2026-03-01 10:00:00', 'a', 200, 10), "
        "(TIMESTAMP '2026-03-01 11:00:00', 'b', 404, 20), "
        "(TIMESTAMP '2026-03-02 10:00:00', 'c', 500, 30)",
        catalog=catalog,
    )


def both(duck, catalog, tmp_path, sql):
    """The rows of `sql` from Strata and from DuckDB (over the same catalog), checked equal."""
    ours = strata_rows(sql.format(t="events"), catalog, tmp_path)
    theirs = duck.execute(sql.format(t="lake.events")).fetchall()
    same_rows(ours, theirs)
    return ours


def test_add_rename_drop_and_widen_read_old_files_by_id(tmp_path, duck, catalog):
    make_events(catalog)

    # ADD COLUMN: old files read NULL, new rows carry values.
    strata("query", "ALTER TABLE events ADD COLUMN region VARCHAR", catalog=catalog)
    strata(
        "query",
        "INSERT INTO events VALUES (TIMESTAMP '2026-03-02 12:00:00', 'd', 200, 40, 'eu')",
        catalog=catalog,
    )
    rows = strata_rows("SELECT kind, region FROM events ORDER BY kind", catalog, tmp_path)
    assert rows == [("a", None), ("b", None), ("c", None), ("d", "eu")]
    assert strata_rows("SELECT kind FROM events WHERE region = 'eu'", catalog, tmp_path) == [("d",)]

    # RENAME COLUMN: the old files' values follow the column id, filters and stats included.
    strata("query", "ALTER TABLE events RENAME COLUMN status TO code", catalog=catalog)
    rows = strata_rows("SELECT kind, code FROM events WHERE code >= 404 ORDER BY kind", catalog, tmp_path)
    assert rows == [("b", 404), ("c", 500)]
    err = strata("query", "SELECT status FROM events", catalog=catalog, check=False)
    assert err.returncode != 0 and "status" in err.stderr

    # DROP COLUMN, then ADD a column of the same name: the old data does not come back.
    strata("query", "ALTER TABLE events DROP COLUMN bytes", catalog=catalog)
    strata("query", "ALTER TABLE events ADD COLUMN bytes VARCHAR", catalog=catalog)
    strata(
        "query",
        "INSERT INTO events VALUES (TIMESTAMP '2026-03-03 09:00:00', 'e', 201, 'us', 'big')",
        catalog=catalog,
    )
    rows = strata_rows("SELECT kind, bytes FROM events ORDER BY kind", catalog, tmp_path)
    assert rows == [("a", None), ("b", None), ("c", None), ("d", None), ("e", "big")]

    # Widening: INT to BIGINT; old files are cast, new values beyond INT fit.
    strata("query", "ALTER TABLE events ALTER COLUMN code TYPE BIGINT", catalog=catalog)
    strata(
        "query",
        "INSERT INTO events VALUES (TIMESTAMP '2026-03-03 10:00:00', 'f', 5000000000, 'us', NULL)",
        catalog=catalog,
    )
    assert strata_rows("SELECT sum(code), count(*) FROM events", catalog, tmp_path) == [
        (200 + 404 + 500 + 200 + 201 + 5000000000, 6)
    ]

    # The columns as they are now, in order.
    described = strata("query", "DESCRIBE events", "--format", "csv", catalog=catalog).stdout
    names = [line.split(",")[0] for line in described.strip().splitlines()[1:]]
    assert names == ["ts", "kind", "code", "region", "bytes"]

    # DuckDB reads the altered catalog and agrees on every column of every file.
    attach(duck, catalog)
    both(duck, catalog, tmp_path, "SELECT ts, kind, code, region, bytes FROM {t}")
    both(duck, catalog, tmp_path, "SELECT region, count(*), sum(code) FROM {t} GROUP BY region")
    both(duck, catalog, tmp_path, "SELECT kind FROM {t} WHERE code BETWEEN 400 AND 600")

    # Time travel: before the rename, the table had `status` and `bytes` as integers.
    history = strata("table", "history", "events", catalog=catalog).stdout
    assert history.count("alter table") == 5, history
    first = strata_rows(
        "SELECT kind, status, bytes FROM table_at('events', 2) ORDER BY kind", catalog, tmp_path
    )
    assert first == [("a", 200, 10), ("b", 404, 20), ("c", 500, 30)]


def test_bad_alterations_fail_clearly_and_change_nothing(tmp_path, catalog):
    make_events(catalog)
    before = history_len(catalog)
    cases = [
        ("ALTER TABLE events ALTER COLUMN bytes TYPE INT", "only widening"),
        ("ALTER TABLE events ALTER COLUMN kind TYPE BIGINT", "only widening"),
        ("ALTER TABLE events DROP COLUMN ts", "partition key"),
        ("ALTER TABLE events RENAME COLUMN kind TO status", "already"),
        ("ALTER TABLE events ADD COLUMN kind VARCHAR", "already exists"),
        ("ALTER TABLE events DROP COLUMN nope", "does not exist"),
        ("ALTER TABLE events ADD COLUMN x NOTATYPE", "x"),
        ("ALTER TABLE missing ADD COLUMN x INT", "does not exist"),
        ("ALTER TABLE events RENAME TO other", "not supported"),
        # Two changes in one statement: the second is bad, so neither applies.
        ("ALTER TABLE events ADD COLUMN ok INT, DROP COLUMN nope", "does not exist"),
    ]
    for sql, message in cases:
        proc = strata("query", sql, catalog=catalog, check=False)
        assert proc.returncode != 0, sql
        assert message in proc.stderr, (sql, proc.stderr)
    assert history_len(catalog) == before
    described = strata("query", "DESCRIBE events", "--format", "csv", catalog=catalog).stdout
    assert [l.split(",")[0] for l in described.strip().splitlines()[1:]] == ["ts", "kind", "status", "bytes"]
    # IF [NOT] EXISTS make the missing or present column a no-op.
    strata("query", "ALTER TABLE events ADD COLUMN IF NOT EXISTS kind VARCHAR", catalog=catalog)
    strata("query", "ALTER TABLE events DROP COLUMN IF EXISTS nope", catalog=catalog)
    strata("query", "ALTER TABLE IF EXISTS missing ADD COLUMN x INT", catalog=catalog)

    # A table registered in place follows its files: it cannot be altered.
    strata("gen", "requests", "--rows", "1000", "--days", "1", "--out", str(tmp_path / "req"))
    strata("table", "register", "req", "--location", str(tmp_path / "req"), catalog=catalog)
    proc = strata("query", "ALTER TABLE req ADD COLUMN x INT", catalog=catalog, check=False)
    assert proc.returncode != 0 and "registered in place" in proc.stderr


def run_alter(catalog, sql):
    return subprocess.run(
        [strata_bin(), "--catalog", catalog, "query", sql], capture_output=True, text=True
    )


def test_concurrent_alterations(tmp_path, catalog):
    make_events(catalog)
    # Different columns added at once by separate processes: every one applies.
    results = [None] * 6
    threads = [
        threading.Thread(
            target=lambda i=i: results.__setitem__(i, run_alter(catalog, f"ALTER TABLE events ADD COLUMN c{i} INT"))
        )
        for i in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r.returncode == 0 for r in results), [r.stderr for r in results]
    described = strata("query", "DESCRIBE events", "--format", "csv", catalog=catalog).stdout
    names = {l.split(",")[0] for l in described.strip().splitlines()[1:]}
    assert {f"c{i}" for i in range(6)} <= names

    # The same rename twice at once: one applies, the other names the conflict.
    results = [None] * 2
    threads = [
        threading.Thread(
            target=lambda i=i: results.__setitem__(
                i, run_alter(catalog, f"ALTER TABLE events RENAME COLUMN kind TO kind_{i}")
            )
        )
        for i in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ok = [r for r in results if r.returncode == 0]
    failed = [r for r in results if r.returncode != 0]
    assert len(ok) == 1 and len(failed) == 1, [r.stderr for r in results]
    assert "column 'kind' does not exist" in failed[0].stderr, failed[0].stderr
    rows = strata_rows("SELECT * FROM events ORDER BY ts", catalog, tmp_path)
    assert [r[1] for r in rows] == ["a", "b", "c"]
