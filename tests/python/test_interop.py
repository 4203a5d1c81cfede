"""DuckDB as the oracle: Strata's answers equal DuckDB's over the same files, DuckDB reads
Strata's catalog, and Strata reads a DuckLake catalog that DuckDB wrote."""

import re

import pytest

from conftest import FIXTURES, catalog_query, duck_attach, same_rows, strata, strata_rows

QUERIES = [
    "SELECT dt, service, count(*), count(latency_ms), sum(bytes) FROM applogs GROUP BY dt, service",
    "SELECT service, status, count(*) FROM applogs WHERE dt BETWEEN DATE '2026-03-05' AND DATE '2026-03-06' GROUP BY service, status",
    "SELECT message, count(*) FROM applogs GROUP BY message",
    "SELECT ts, service, status, latency_ms, message, bytes, dt FROM applogs WHERE latency_ms > 250 OR message IS NULL",
    "SELECT year, month, city, count(*), sum(fare), avg(rating) FROM rides GROUP BY year, month, city",
    "SELECT trip_id, city, fare, rating, pickup_at, year, month FROM rides WHERE year = 2025 AND fare > 10",
    # Answered from the catalog: partition filters applied per file, groups of partition
    # columns from per-file statistics, a time filter every kept file passes.
    "SELECT dt, count(*), count(message), min(ts), max(ts), min(status) FROM applogs WHERE dt >= DATE '2026-03-05' GROUP BY dt",
    "SELECT year, count(*), min(month), max(rating) FROM rides WHERE month <> '12' OR year IS NULL GROUP BY year",
    "SELECT count(*), max(bytes) FROM applogs WHERE ts >= TIMESTAMP '2026-03-05 00:00:00'",
]


def register_fixtures(catalog):
    for name in ["applogs", "rides"]:
        strata("table", "register", name, "--location", str(FIXTURES / name), catalog=catalog)


def duck_views(duck):
    duck.execute(
        f"CREATE VIEW applogs AS SELECT * FROM read_parquet('{FIXTURES}/applogs/*/*.parquet', hive_partitioning = true)"
    )
    duck.execute(
        f"CREATE VIEW rides AS SELECT * FROM read_parquet('{FIXTURES}/rides/*/*/*.parquet', hive_partitioning = true)"
    )


@pytest.mark.parametrize("sql", QUERIES)
def test_strata_matches_duckdb_on_fixtures(sql, duck, tmp_path):
    catalog = f"sqlite:{tmp_path}/strata.db"
    register_fixtures(catalog)
    duck_views(duck)
    same_rows(strata_rows(sql, catalog, tmp_path), duck.execute(sql).fetchall())


def test_duckdb_reads_strata_catalog(duck, tmp_path, catalog):
    register_fixtures(catalog)
    duck_views(duck)
    duck_attach(duck, catalog)
    for table in ["applogs", "rides"]:
        via_catalog = duck.execute(f"SELECT * FROM lake.{table}").fetchall()
        direct = duck.execute(f"SELECT * FROM {table}").fetchall()
        same_rows(via_catalog, direct)
    # Partition filters work through the catalog too.
    assert duck.execute("SELECT count(*) FROM lake.applogs WHERE dt = DATE '2026-03-05'").fetchone()[0] == 50
    cols = [r[0] for r in duck.execute("DESCRIBE lake.rides").fetchall()]
    assert cols == ["trip_id", "city", "fare", "rating", "pickup_at", "month", "year"]


def test_strata_reads_duckdb_catalog(duck, tmp_path, catalog):
    data = catalog.data
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (DATA_PATH '{data}/', DATA_INLINING_ROW_LIMIT 0)")
    duck.execute(
        "CREATE TABLE lake.events (id INTEGER, name VARCHAR, ts TIMESTAMP, d DATE, amount DECIMAL(10,2), score DOUBLE, ok BOOLEAN)"
    )
    duck.execute(
        """INSERT INTO lake.events SELECT i, 'név ' || (i % 7), TIMESTAMP '2026-03-01' + INTERVAL (i) MINUTE,
           DATE '2026-03-01' + (i % 5)::INTEGER, (i * 1.25)::DECIMAL(10,2), CASE WHEN i % 9 = 0 THEN NULL ELSE i / 3.0 END, i % 2 = 0
           FROM range(1000) t(i)"""
    )
    duck.execute("INSERT INTO lake.events VALUES (5000, NULL, NULL, NULL, NULL, NULL, NULL)")
    duck.execute("CREATE TABLE lake.sales (day DATE, region VARCHAR, amount BIGINT)")
    duck.execute("ALTER TABLE lake.sales SET PARTITIONED BY (year(day), month(day))")
    duck.execute(
        """INSERT INTO lake.sales SELECT DATE '2025-11-20' + (i % 90)::INTEGER, ['eu', 'us', 'apac'][1 + i % 3], i
           FROM range(3000) t(i)"""
    )
    duck.execute("DETACH lake")
    listing = strata("table", "list", catalog=catalog).stdout
    assert "main.events" in listing and "main.sales" in listing

    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (READ_ONLY)")
    for sql in [
        "SELECT * FROM {p}events",
        "SELECT d, count(*), sum(amount), avg(score), count(name) FROM {p}events GROUP BY d",
        "SELECT region, count(*), sum(amount) FROM {p}sales WHERE day >= DATE '2026-01-01' GROUP BY region",
        "SELECT day, region, amount FROM {p}sales WHERE day = DATE '2025-12-24'",
    ]:
        same_rows(
            strata_rows(sql.format(p=""), catalog, tmp_path),
            duck.execute(sql.format(p="lake.")).fetchall(),
        )
    # Pruning works on DuckDB's statistics too: one day out of 90.
    proc = strata(
        "query",
        "SELECT count(*) FROM sales WHERE day = DATE '2025-12-24'",
        "--stats",
        "json",
        catalog=catalog,
    )
    assert '"files_scanned":1' in proc.stderr, proc.stderr


def test_strata_reads_rows_duckdb_inlined(duck, tmp_path, catalog):
    """DuckDB keeps small inserts in the catalog database (data inlining, on by default).
    Strata reads them with the Parquet files: every type, deletes of inlined rows, an older
    schema version after ALTER TABLE, and time travel, all compared with DuckDB."""
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (DATA_PATH '{catalog.data}/')")
    duck.execute(
        "CREATE TABLE lake.small (id INTEGER, name VARCHAR, ts TIMESTAMP, d DATE, x DOUBLE, ok BOOLEAN, amount DECIMAL(10,2), big BIGINT)"
    )
    duck.execute(
        "INSERT INTO lake.small VALUES (1, 'a', TIMESTAMP '2026-03-01 10:00:00.123456', DATE '2026-03-01', 1.5, true, 1.25, 9000000000),"
        " (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL), (3, 'c''s', TIMESTAMP '2026-03-02 00:00:00', DATE '2026-03-02', -0.25, false, -2.50, -1)"
    )
    before_delete = duck.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]
    duck.execute("DELETE FROM lake.small WHERE id = 2")
    # A large insert goes to a Parquet file; the table then has both.
    duck.execute(
        "INSERT INTO lake.small SELECT i, 'p' || i, TIMESTAMP '2026-03-05' + INTERVAL (i) SECOND, DATE '2026-03-05', i / 4, i % 2 = 0, i, i FROM range(100, 5100) t(i)"
    )
    # A small delete from the Parquet file is kept inline too (no delete file).
    duck.execute("DELETE FROM lake.small WHERE id IN (100, 101, 4099)")
    duck.execute("ALTER TABLE lake.small ADD COLUMN note VARCHAR")
    duck.execute("INSERT INTO lake.small (id, name, note) VALUES (4, 'after alter', 'noted')")
    inlined = duck.execute("SELECT count(*) FROM lake.small WHERE id < 100").fetchone()[0]
    duck.execute("DETACH lake")
    # The small inserts really are inlined: in two schema versions, one row since deleted.
    names = [r[0] for r in catalog_query(catalog, "SELECT table_name FROM ducklake_inlined_data_tables")]
    stored = sum(catalog_query(catalog, f'SELECT count(*) FROM "{n}"')[0][0] for n in names)
    inline_deletes = catalog_query(catalog, "SELECT count(*) FROM ducklake_inlined_delete_1")[0][0]
    delete_files = catalog_query(catalog, "SELECT count(*) FROM ducklake_delete_file")[0][0]
    assert len(names) == 2 and stored == 4 and inlined == 3, (names, stored, inlined)
    assert inline_deletes == 3 and delete_files == 0, (inline_deletes, delete_files)
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (READ_ONLY)")
    for sql in [
        "SELECT count(*) FROM {p}small",
        "SELECT * FROM {p}small WHERE id < 100 OR id IN (99, 100, 101, 102, 4098, 4099, 4100)",
        "SELECT count(*), count(name), count(note), sum(amount), sum(big), min(ts), max(d) FROM {p}small",
        "SELECT ok, count(*), sum(x) FROM {p}small GROUP BY ok",
        "SELECT d, count(*), count(name), min(id), max(id) FROM {p}small GROUP BY d",
        "SELECT count(*), min(id) FROM {p}small WHERE id >= 100",
        "SELECT id, name FROM {p}small WHERE name LIKE '%s' OR note IS NOT NULL",
    ]:
        same_rows(
            strata_rows(sql.format(p=""), catalog, tmp_path),
            duck.execute(sql.format(p="lake.")).fetchall(),
        )
    assert strata_rows(
        f"SELECT count(*) FROM table_at('small', {before_delete}) WHERE id < 100", catalog, tmp_path
    ) == [(3,)]
    duck.execute("DETACH lake")
    # Inlined rows are matched to columns by name, so Strata will not rename or drop columns
    # under them (it would misplace them); adding one is fine.
    proc = strata("query", "ALTER TABLE small RENAME COLUMN name TO label", catalog=catalog, check=False)
    assert proc.returncode != 0 and "ducklake_flush_inlined_data" in proc.stderr, proc.stderr
    strata("query", "ALTER TABLE small ADD COLUMN extra INT", catalog=catalog)
    assert strata_rows("SELECT count(*), count(extra) FROM small", catalog, tmp_path) == [(5000 - 3 + 3, 0)]


def test_strata_applies_duckdb_delete_files(duck, tmp_path, catalog):
    """Rows DuckDB deleted (delete files) are skipped: answers equal DuckDB's after one and after
    two deletes on the same files, on a partitioned table, in counts answered from statistics,
    and as of a snapshot before the deletes."""
    data = catalog.data
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (DATA_PATH '{data}/', DATA_INLINING_ROW_LIMIT 0)")
    duck.execute("CREATE TABLE lake.orders (id BIGINT, day DATE, region VARCHAR, amount DOUBLE, note VARCHAR)")
    duck.execute("ALTER TABLE lake.orders SET PARTITIONED BY (region)")
    duck.execute(
        """INSERT INTO lake.orders SELECT i, DATE '2026-03-01' + (i % 20)::INTEGER, ['eu', 'us', 'apac'][1 + i % 3],
           i * 0.5, CASE WHEN i % 11 = 0 THEN NULL ELSE 'n' || i END FROM range(30000) t(i)"""
    )
    duck.execute("INSERT INTO lake.orders SELECT i, DATE '2026-04-01', 'eu', 1.0, NULL FROM range(30000, 31000) t(i)")
    before = duck.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]
    duck.execute("DELETE FROM lake.orders WHERE id % 7 = 0 OR note IS NULL AND region = 'us'")
    after_first = duck.execute("SELECT max(snapshot_id) FROM ducklake_snapshots('lake')").fetchone()[0]
    first_count = duck.execute("SELECT count(*) FROM lake.orders").fetchone()[0]
    duck.execute("DETACH lake")
    queries = [
        "SELECT count(*) FROM {p}orders",
        "SELECT count(note), count(*), sum(amount), min(id), max(id) FROM {p}orders",
        "SELECT region, day, count(*), sum(amount) FROM {p}orders GROUP BY region, day",
        "SELECT id, region, note FROM {p}orders WHERE id BETWEEN 13990 AND 14030",
        "SELECT count(*) FROM {p}orders WHERE region = 'eu' AND day = DATE '2026-04-01'",
        "SELECT region, count(*), count(note), min(id), max(id), min(day) FROM {p}orders GROUP BY region",
        "SELECT day, count(*), max(id) FROM {p}orders WHERE day >= DATE '2026-03-15' GROUP BY day",
        "SELECT count(*), min(id), max(id) FROM {p}orders WHERE id >= 0 AND id < 30000",
        # late materialization (a LIKE searching text; a filter under a top-N) with deletes
        "SELECT id, region, note FROM {p}orders WHERE note LIKE '%999%'",
        "SELECT id, note, amount FROM {p}orders WHERE region = 'eu' ORDER BY id DESC LIMIT 7",
    ]

    def check():
        duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (READ_ONLY)")
        for sql in queries:
            same_rows(
                strata_rows(sql.format(p=""), catalog, tmp_path),
                duck.execute(sql.format(p="lake.")).fetchall(),
            )
        duck.execute("DETACH lake")

    check()
    # A second delete on the same files replaces their delete files with cumulative ones.
    duck.execute(f"ATTACH 'ducklake:{catalog.duck_target}' AS lake (DATA_PATH '{data}/', DATA_INLINING_ROW_LIMIT 0)")
    duck.execute("DELETE FROM lake.orders WHERE id % 5 = 0")
    expected = duck.execute("SELECT count(*) FROM lake.orders").fetchone()[0]
    duck.execute("DETACH lake")
    assert expected == len([i for i in range(31000) if i % 7 and i % 5 and not (i < 30000 and i % 11 == 0 and i % 3 == 1)])
    check()
    # As of the snapshot before the deletes, every row is there; between the two deletes, the
    # second one's rows (in the same, now partial, delete files) are not yet deleted.
    assert strata_rows(f"SELECT count(*) FROM table_at('orders', {before})", catalog, tmp_path) == [(31000,)]
    assert first_count > expected
    for sql in ["SELECT count(*) FROM table_at('orders', {s})", "SELECT count(*) FROM table_at('orders', {s}) WHERE id >= 0"]:
        assert strata_rows(sql.format(s=after_first), catalog, tmp_path) == [(first_count,)]
    # Strata compacts DuckDB's table: the merged file leaves the deleted rows out, the delete
    # files end with the files they belonged to, and both engines still agree.
    out = strata("compact", "orders", catalog=catalog)
    assert "eu" in out.stdout or "1 partition" in out.stdout, out.stdout
    check()
    live_deletes = catalog_query(catalog, "SELECT count(*) FROM ducklake_delete_file WHERE end_snapshot IS NULL")[0][0]
    assert live_deletes == 2, live_deletes  # us and apac; both eu files were merged
    assert strata_rows("SELECT count(*) FROM orders", catalog, tmp_path) == [(expected,)]


def test_row_groups_no_dictionary_value_passes_are_skipped(duck, tmp_path):
    """A filter of a dictionary-encoded string column skips the row groups where no value of
    the chunk's dictionary passes it (`row_groups_pruned_dictionary` in EXPLAIN ANALYZE), in
    files DuckDB wrote (no page encoding statistics) and files Strata wrote (with them, read by
    field id); answers equal DuckDB's, null rows included, and a chunk DuckDB could not
    dictionary-encode is read as before."""
    src = tmp_path / "src"
    src.mkdir()
    # Six row groups of 10,240 rows: each has seven zones of its own, and 'aaa' and 'zzz'
    # (so that no row group's min/max rules anything out); `kind` is null in the third, and
    # `note` (mostly distinct) is plain-encoded.
    duck.execute(
        f"""COPY (SELECT i AS id,
                  CASE i % 10240 WHEN 0 THEN 'aaa' WHEN 10239 THEN 'zzz'
                       ELSE 'zone-' || (i // 10240) || '-' || (i % 7) END AS zone,
                  CASE WHEN i // 10240 = 2 THEN NULL ELSE 'k' || (i % 3) END AS kind,
                  'note ' || i AS note, i % 100 AS n
             FROM range(61440) t(i) ORDER BY i)
           TO '{src}/part.parquet' (FORMAT parquet, ROW_GROUP_SIZE 10240)"""
    )
    catalog = f"sqlite:{tmp_path}/strata.db"
    strata("table", "register", "zones", "--location", str(src), catalog=catalog)
    # The same rows written by Strata (parquet-rs: page encoding statistics, field ids), a
    # file (of one row group) per `grp`.
    strata(
        "query",
        "CREATE TABLE zones_w (id BIGINT, zone VARCHAR, kind VARCHAR, note VARCHAR, n BIGINT, grp BIGINT) PARTITIONED BY (grp)",
        catalog=catalog,
    )
    strata("query", "INSERT INTO zones_w SELECT *, id // 10240 FROM zones", catalog=catalog)
    duck.execute(f"CREATE VIEW zones AS SELECT * FROM read_parquet('{src}/part.parquet')")
    duck.execute("CREATE VIEW zones_w AS SELECT * FROM zones")
    cases = [
        # (filter, row groups a dictionary (or bloom filter) rules out in DuckDB's file, in
        # Strata's files)
        ("zone LIKE '%nothing%'", 6, 6),
        ("zone LIKE '%-3-%'", 5, 5),
        ("zone = 'zone-4-6'", 5, 5),
        ("zone IN ('zone-1-0', 'zone-5-2')", 4, 4),
        ("zone LIKE 'zone-%' AND zone NOT LIKE '%-0-%'", 0, 0),
        # Null counts leave the all-null row group out before any dictionary is read: the
        # scan's statistics in DuckDB's file, the catalog's in Strata's; so do `id` ranges.
        ("kind = 'k1' AND zone LIKE '%-1-%'", 4, 4),
        ("id < 10240 AND zone LIKE '%-3-%'", 1, 1),
        # A filter on a column at another place in the scan's projection than in the table.
        ("n >= 50 AND zone LIKE '%-3-%'", 5, 5),
        ("coalesce(kind, 'none') = 'none'", 5, 5),
        # DuckDB left `note` plain-encoded (mostly distinct); parquet-rs dictionary-encodes it.
        ("note LIKE '%nothing%'", 0, 6),
    ]
    for n, table in enumerate(["zones", "zones_w"]):
        for where, *ruled_out in cases:
            sql = f"SELECT count(*), min(id), max(id), count(kind) FROM {table} WHERE {where}"
            same_rows(strata_rows(sql, catalog, tmp_path), duck.execute(sql).fetchall())
            rows = f"SELECT id, zone, kind FROM {table} WHERE {where} ORDER BY id LIMIT 5"
            same_rows(strata_rows(rows, catalog, tmp_path), duck.execute(rows).fetchall(), ordered=True)
            plan = strata("query", f"EXPLAIN ANALYZE {sql}", "--format", "csv", catalog=catalog).stdout
            # Equalities are left to a chunk's bloom filter when it has one (DuckDB writes
            # them): row groups ruled out by either.
            pruned = sum(int(p) for p in re.findall(r"row_groups_pruned_dictionary=(\d+)", plan))
            for total, matched in re.findall(r"row_groups_pruned_bloom_filter=(\d+) total → (\d+) matched", plan):
                pruned += int(total) - int(matched)
            assert pruned == ruled_out[n], (table, where, plan)
        # Null rows: where the filter is true on null, the row group with nulls stays.
        sql = f"SELECT count(*), min(id) FROM {table} WHERE kind IS NULL OR kind = 'none'"
        same_rows(strata_rows(sql, catalog, tmp_path), duck.execute(sql).fetchall())
    # Off, nothing is ruled out and the answers stay.
    off = {"STRATA_ENGINE_DICTIONARY_PRUNING": "false"}
    sql = "SELECT count(*) FROM zones WHERE zone LIKE '%-3-%'"
    assert strata_rows(sql, catalog, tmp_path, env=off) == [(10238,)]
    plan = strata("query", f"EXPLAIN ANALYZE {sql}", "--format", "csv", catalog=catalog, env=off).stdout
    assert "row_groups_pruned_dictionary" not in plan


def test_registered_nested_columns_read_as_in_duckdb(duck, tmp_path, catalog):
    """Files with list, struct and map columns (as pyarrow, Spark or DuckDB write them) register
    with their nested columns (a catalog row per child, as DuckDB's own tables have, and a
    name mapping DuckDB follows): Strata's answers over them equal DuckDB's over the files, and
    DuckDB attached to the catalog reads the same values. A column of a type Strata cannot
    read (here a list of durations) is left out with a warning naming it; the rest registers."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    src = tmp_path / "nested"
    src.mkdir()
    n = 2000
    pq.write_table(
        pa.table(
            {
                "id": pa.array(range(n), type=pa.int64()),
                "tags": pa.array([[["a", "b", "c"][j % 3] for j in range(i % 4)] for i in range(n)], type=pa.list_(pa.string())),
                "attrs": pa.array([None if i % 17 == 0 else {"k": f"k{i % 4}", "v": i % 9} for i in range(n)]),
                "service": pa.array([["api", "web", None][i % 3] for i in range(n)]),
                "labels": pa.array([[("env", ["prod", "dev"][i % 2]), ("zone", str(i % 5))] for i in range(n)], type=pa.map_(pa.string(), pa.string())),
                "waits": pa.array([[i] for i in range(n)], type=pa.list_(pa.duration("s"))),
                "ms": pa.array([i * 0.5 for i in range(n)]),
            }
        ),
        src / "part-0.parquet",
        row_group_size=500,
    )
    out = strata("table", "register", "events", "--location", str(src), catalog=catalog)
    assert "column 'waits' is left out of events" in out.stderr + out.stdout, out.stderr
    for column in ["tags", "attrs", "labels"]:
        assert f"'{column}' is left out" not in out.stderr + out.stdout
    duck.execute(f"CREATE VIEW events AS SELECT * EXCLUDE (waits) FROM read_parquet('{src}/*.parquet')")
    for sql in [
        "SELECT id, tags, attrs, service, ms FROM events",
        "SELECT service, count(*), sum(id), max(ms) FROM events GROUP BY service",
        "SELECT attrs.k, sum(attrs.v), count(*) FROM events GROUP BY 1",
        "SELECT labels['env'] AS env, labels['zone'] AS zone, count(*) FROM events GROUP BY ALL",
        "SELECT tags[1] AS first, count(*) FROM events WHERE list_contains(tags, 'b') GROUP BY 1",
        "SELECT t, count(*) FROM (SELECT unnest(tags) AS t FROM events) GROUP BY t",
        "SELECT count(*), count(attrs), count(tags) FROM events WHERE attrs.v > 4",
    ]:
        same_rows(strata_rows(sql, catalog, tmp_path), duck.execute(sql).fetchall())
    failed = strata("query", "SELECT waits FROM events", catalog=catalog, check=False)
    assert failed.returncode != 0 and "waits" in failed.stderr
    duck_attach(duck, catalog)
    via_catalog = duck.execute("SELECT id, tags, attrs, labels, service FROM lake.events").fetchall()
    direct = duck.execute("SELECT id, tags, attrs, labels, service FROM events").fetchall()
    assert sorted(via_catalog, key=repr) == sorted(direct, key=repr)
    duck.execute("DETACH lake")
    # A later file whose list holds another type is refused by the refresh, naming both types
    # (read as the first file's type, its values would be cast).
    pq.write_table(
        pa.table({"id": pa.array([n], type=pa.int64()), "tags": pa.array([[1.5]], type=pa.list_(pa.float64()))}),
        src / "part-1.parquet",
    )
    refused = strata("table", "refresh", "events", catalog=catalog, check=False)
    assert refused.returncode != 0 and "list(element varchar)" in refused.stderr and "list(element float64)" in refused.stderr, refused.stderr
    (src / "part-1.parquet").unlink()
    # A table DuckDB made with nested columns reads in Strata; dropping a nested column there
    # ends its children too, so DuckDB still opens the catalog.
    duck_attach(duck, catalog, options="DATA_INLINING_ROW_LIMIT 0")
    duck.execute("CREATE TABLE lake.made (a INTEGER, s STRUCT(x INTEGER, y VARCHAR[]), z VARCHAR)")
    duck.execute("INSERT INTO lake.made VALUES (1, {'x': 7, 'y': ['p', 'q']}, 'one'), (2, NULL, 'two')")
    duck.execute("DETACH lake")
    same_rows(strata_rows("SELECT a, s.x, s.y[2], z FROM made", catalog, tmp_path), [(1, 7, "q", "one"), (2, None, None, "two")])
    strata("query", "ALTER TABLE made DROP COLUMN s", catalog=catalog)
    duck_attach(duck, catalog)
    assert sorted(duck.execute("SELECT * FROM lake.made").fetchall()) == [(1, "one"), (2, "two")]
    assert duck.execute("SELECT count(*) FROM lake.events").fetchall() == [(n,)]
