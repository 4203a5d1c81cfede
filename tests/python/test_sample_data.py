"""Analytics over the generated sample data: Strata's answers equal DuckDB's over the same files."""

import pytest

from conftest import same_rows, strata, strata_rows

QUERIES = [
    # error rate per service per hour
    """SELECT service, date_trunc('hour', ts) AS hour, count(*) AS n,
              sum(CASE WHEN status >= 500 THEN 1 ELSE 0 END) AS errors
       FROM requests WHERE dt = DATE '2026-03-02' GROUP BY service, hour""",
    "SELECT region, level, count(*), count(user_id), min(latency_ms), max(latency_ms) FROM requests GROUP BY region, level",
    "SELECT endpoint, method, status, count(*) FROM requests WHERE service = 'payments' AND status >= 500 GROUP BY endpoint, method, status",
    "SELECT dt, count(DISTINCT user_id) FROM requests GROUP BY dt",
    "SELECT user_id, count(*) AS n FROM requests WHERE user_id IS NOT NULL GROUP BY user_id ORDER BY n DESC, user_id LIMIT 20",
    "SELECT * FROM requests WHERE trace_id LIKE 'ff%' AND dt = DATE '2026-03-03'",
    # trips
    "SELECT city, count(*), sum(fare), sum(tip), avg(distance_km), count(rating) FROM trips WHERE status = 'completed' GROUP BY city",
    "SELECT dt, payment, count(*), sum(fare + coalesce(tip, 0)) FROM trips GROUP BY dt, payment",
    "SELECT status, count(*), count(dropoff_at), min(pickup_at), max(pickup_at) FROM trips GROUP BY status",
    "SELECT rating, count(*) FROM trips GROUP BY rating",
    """SELECT t.city, r.service, count(*) FROM trips t JOIN requests r ON t.dt = r.dt AND t.trip_id % 1000 = r.bytes % 1000
       WHERE t.dt = DATE '2026-03-01' GROUP BY t.city, r.service""",
]


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("sample")
    catalog = f"sqlite:{root}/strata.db"
    strata("gen", "requests", "--rows", "120000", "--days", "4", "--out", str(root / "requests"))
    strata("gen", "trips", "--rows", "60000", "--days", "4", "--out", str(root / "trips"))
    for name in ["requests", "trips"]:
        strata("table", "register", name, "--location", str(root / name), catalog=catalog)
    return root, catalog


@pytest.mark.parametrize("sql", QUERIES)
def test_sample_queries_match_duckdb(sql, lake, duck, tmp_path):
    root, catalog = lake
    for name in ["requests", "trips"]:
        duck.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/{name}/*/*.parquet', hive_partitioning = true)"
        )
    same_rows(strata_rows(sql, catalog, tmp_path), duck.execute(sql).fetchall())


def test_one_day_scans_one_days_files(lake):
    _, catalog = lake
    proc = strata(
        "query", "SELECT sum(bytes) FROM requests WHERE dt = DATE '2026-03-02'", "--stats", "json", catalog=catalog
    )
    assert '"files_scanned":2' in proc.stderr and '"files_total":8' in proc.stderr, proc.stderr
