"""DuckDB as the oracle: Strata's answers equal DuckDB's over the same files, DuckDB reads
Strata's catalog, and Strata reads a DuckLake catalog that DuckDB wrote."""

import pytest

from conftest import FIXTURES, same_rows, strata, strata_rows

QUERIES = [
    "SELECT dt, service, count(*), count(latency_ms), sum(bytes) FROM applogs GROUP BY dt, service",
    "SELECT service, status, count(*) FROM applogs WHERE dt BETWEEN DATE '2026-03-05' AND DATE '2026-03-06' GROUP BY service, status",
    "SELECT message, count(*) FROM applogs GROUP BY message",
    "SELECT ts, service, status, latency_ms, message, bytes, dt FROM applogs WHERE latency_ms > 250 OR message IS NULL",
    "SELECT year, month, city, count(*), sum(fare), avg(rating) FROM rides GROUP BY year, month, city",
    "SELECT trip_id, city, fare, rating, pickup_at, year, month FROM rides WHERE year = 2025 AND fare > 10",
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


def test_duckdb_reads_strata_catalog(duck, tmp_path):
    catalog = f"sqlite:{tmp_path}/strata.db"
    register_fixtures(catalog)
    duck_views(duck)
    duck.execute(f"ATTACH 'ducklake:sqlite:{tmp_path}/strata.db' AS lake (READ_ONLY)")
    for table in ["applogs", "rides"]:
        via_catalog = duck.execute(f"SELECT * FROM lake.{table}").fetchall()
        direct = duck.execute(f"SELECT * FROM {table}").fetchall()
        same_rows(via_catalog, direct)
    # Partition filters work through the catalog too.
    assert duck.execute("SELECT count(*) FROM lake.applogs WHERE dt = DATE '2026-03-05'").fetchone()[0] == 50
    cols = [r[0] for r in duck.execute("DESCRIBE lake.rides").fetchall()]
    assert cols == ["trip_id", "city", "fare", "rating", "pickup_at", "month", "year"]


def test_strata_reads_duckdb_catalog(duck, tmp_path):
    db = tmp_path / "duck.db"
    data = tmp_path / "data"
    duck.execute(f"ATTACH 'ducklake:sqlite:{db}' AS lake (DATA_PATH '{data}/', DATA_INLINING_ROW_LIMIT 0)")
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
    catalog = f"sqlite:{db}"
    listing = strata("table", "list", catalog=catalog).stdout
    assert "main.events" in listing and "main.sales" in listing

    duck.execute(f"ATTACH 'ducklake:sqlite:{db}' AS lake (READ_ONLY)")
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


def test_duckdb_inlined_data_is_refused_not_ignored(duck, tmp_path):
    db = tmp_path / "inline.db"
    duck.execute(f"ATTACH 'ducklake:sqlite:{db}' AS lake (DATA_PATH '{tmp_path}/d/')")
    duck.execute("CREATE TABLE lake.small (x INTEGER)")
    duck.execute("INSERT INTO lake.small VALUES (1), (2)")
    duck.execute("DETACH lake")
    proc = strata("query", "SELECT count(*) FROM small", catalog=f"sqlite:{db}", check=False)
    assert proc.returncode != 0
    assert "inlined" in proc.stderr, proc.stderr
