"""Log and trip analytics SQL in DuckDB's dialect: JSON access, regular expressions, time
buckets, percentiles and aggregates, spatial functions, H3 cells.

Every query runs unchanged on Strata (embedded, and over Flight SQL with ADBC) and on DuckDB
(with its json and spatial extensions) over the same generated files, and the answers are
compared. DuckDB's H3 extension is not installable here: H3 answers are compared with the `h3`
Python package (the same C library DuckDB's extension wraps).
"""

import json
import random

import adbc_driver_flightsql.dbapi as flight
import h3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import Server, _extension, same_rows, sample_lake, strata, strata_rows


def _events(root):
    """A table with a JSON column that has everything: nesting, arrays, numbers, nulls,
    missing keys, unicode, and NULL documents."""
    rng = random.Random(7)
    ids, payloads = [], []
    for i in range(3000):
        doc = {
            "http": {"status": rng.choice([200, 200, 201, 404, 500, 503]), "method": rng.choice(["GET", "POST"])},
            "user": {"id": rng.randint(1, 50), "name": rng.choice(["ana", "bo", "zoë", None])},
            "tags": rng.sample(["a", "b", "c", "d", "e"], rng.randint(0, 4)),
            "latency": round(rng.uniform(1, 900), 2),
        }
        if i % 7 == 0:
            del doc["user"]
        if i % 11 == 0:
            doc["debug"] = True
        ids.append(i)
        payloads.append(None if i % 97 == 0 else json.dumps(doc, separators=(",", ":"), ensure_ascii=False))
    (root / "events").mkdir()
    pq.write_table(pa.table({"id": ids, "payload": payloads}), root / "events" / "part-0.parquet")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("functions")
    catalog = sample_lake(root, rows=20000, days=2)
    _events(root)
    strata("table", "register", "events", "--location", str(root / "events"), catalog=catalog)
    return root, catalog


@pytest.fixture
def spatial_duck(duck, lake):
    root, _ = lake
    duck.execute(f"LOAD '{_extension('spatial')}'")
    for name in ["requests", "trips"]:
        duck.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{root}/{name}/*/*.parquet', hive_partitioning = true)"
        )
    duck.execute(f"CREATE VIEW events AS SELECT * FROM read_parquet('{root}/events/*.parquet')")
    return duck


@pytest.fixture(scope="module")
def server(lake):
    root, catalog = lake
    s = Server(catalog, root / "open.toml", root)
    yield s
    s.stop()


PARIS = "POLYGON((2.25 48.81, 2.42 48.81, 2.42 48.90, 2.25 48.90, 2.25 48.81))"

LOG_QUERIES = [
    # JSON attributes, by key and by JSONPath, in GROUP BY and WHERE
    "SELECT attributes->>'client' AS client, attributes->>'$.cache' AS cache, count(*) FROM requests GROUP BY 1, 2",
    "SELECT json_extract_string(attributes, '$.version') AS v, count(*) FROM requests WHERE attributes->>'cache' = 'miss' GROUP BY 1",
    # (DuckDB binds ->> more loosely than IN, AND and IS; Strata binds it as PostgreSQL does, so
    # both spellings work on Strata)
    "SELECT count(*) FROM requests WHERE 'web' = (attributes->>'client') AND (attributes->>'cache') IN ('hit', 'x') AND (attributes->>'nope') IS NULL",
    """SELECT id, payload->>'$.http.status', payload->'$.http', payload->>'$.tags[0]', payload->>'$.tags[-1]',
              payload->'tags'->>1, json_extract(payload, '$.user.id'), json_value(payload, '$.user.name'),
              json_value(payload, '$.http'), json_array_length(payload, '$.tags'), json_type(payload, '$.http.status'),
              json_type(payload, '$.latency'), json_exists(payload, '$.user'), json_keys(payload), json_keys(payload, '$.http'), payload->>'$.user.name',
              json_extract(payload, '/http/method'), json_contains(payload, '"b"'), json_valid(payload)
       FROM events""",
    "SELECT payload->>'$.http.status' AS status, count(*) FROM events WHERE (payload->>'$.http.status')::INTEGER >= 500 GROUP BY 1",
    "SELECT json_extract_string(payload, '$.http.method') AS m, avg((payload->>'latency')::DOUBLE) FROM events GROUP BY 1",
    "SELECT count(*) FROM events WHERE (payload->>'$.debug') = 'true' OR (payload->'$.user') IS NULL",
    # regular expressions
    "SELECT regexp_extract(message, '-> ([0-9]+)', 1) AS status, regexp_extract(endpoint, '/v1/([a-z-]+)/', 1) AS svc, count(*) FROM requests GROUP BY 1, 2",
    "SELECT regexp_extract(message, 'no such text') AS empty, regexp_extract_all(endpoint, '[a-z]+') AS words, count(*) FROM requests GROUP BY 1, 2",
    "SELECT count(*) FROM requests WHERE regexp_matches(endpoint, '/v1/(auth|search)/')",
    # time buckets
    "SELECT service, time_bucket(INTERVAL '15 minutes', ts) AS b, count(*), count_if(status >= 500) FROM requests GROUP BY 1, 2",
    "SELECT time_bucket(INTERVAL '1 week', ts) AS w, time_bucket(INTERVAL '1 day', dt) AS d, count(*) FROM requests GROUP BY 1, 2",
    "SELECT time_bucket(INTERVAL '1 hour', ts, INTERVAL '30 minutes') AS h, date_trunc('hour', ts) AS t, count(*) FROM requests GROUP BY 1, 2",
    "SELECT strftime(ts, '%Y-%m-%d %H:00') AS hour, count(*) FROM requests GROUP BY 1",
    "SELECT min(epoch_ms(ts)), max(epoch(ts)), count(*) FROM requests",
    # percentiles and aggregates
    """SELECT service, quantile_cont(latency_ms, 0.95) AS p95, quantile_cont(latency_ms, 0.99) AS p99, median(latency_ms),
              percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50
       FROM requests GROUP BY 1""",
    "SELECT service, arg_max(trace_id, ts), arg_min(trace_id, ts), max_by(endpoint, ts), min_by(status, ts), count_if(level = 'ERROR') FROM requests GROUP BY 1",
    "SELECT count_if(latency_ms > 100), count_if(user_id IS NULL) FROM requests",
    # as window functions (no rewrite to first_value there: their own accumulators)
    "SELECT DISTINCT service, arg_max(trace_id, ts) OVER (PARTITION BY service), arg_min(status, ts) OVER (PARTITION BY service), count_if(status >= 500) OVER (PARTITION BY service), mode(status) OVER (PARTITION BY service) FROM requests",
    "SELECT string_split(endpoint, '/')[3] AS resource, count(*) FROM requests GROUP BY 1",
    # DuckDB's calendar functions, discrete quantiles, the JSON type in casts
    "SELECT hour(ts) AS h, dayofweek(ts), dayname(ts), monthname(ts), week(ts), count(*) FROM requests GROUP BY ALL",
    "SELECT service, quantile_disc(latency_ms, 0.9), quantile(status, 0.5), percentile_disc(0.99) WITHIN GROUP (ORDER BY bytes) FROM requests GROUP BY 1",
    "SELECT (attributes::JSON)->>'client' AS c, count(*) FROM requests GROUP BY 1",
    "SELECT service, mode(status), first(endpoint ORDER BY ts), last(trace_id ORDER BY ts), if(count(*) > 2500, 'busy', 'quiet') FROM requests GROUP BY service",
    "SELECT service, list(status ORDER BY ts) FROM requests WHERE trace_id LIKE 'ab%' GROUP BY service",
    "SELECT if(status >= 500, 'error', 'ok') AS outcome, if(user_id IS NULL, NULL, 1.5), count(*) FROM requests GROUP BY 1, 2",
    # sessions per user: a gap of 30 minutes starts a new session
    """WITH gaps AS (
         SELECT user_id, ts, CASE WHEN ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) > INTERVAL '30 minutes'
                                  OR lag(ts) OVER (PARTITION BY user_id ORDER BY ts) IS NULL THEN 1 ELSE 0 END AS starts
         FROM requests WHERE user_id IS NOT NULL)
       SELECT user_id, sum(starts) AS sessions FROM gaps GROUP BY user_id ORDER BY sessions DESC, user_id LIMIT 20""",
]

TRIP_QUERIES = [
    "SELECT city, avg(ST_Distance_Sphere(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon))) AS m FROM trips GROUP BY city",
    f"SELECT count(*) FROM trips WHERE ST_Contains(ST_GeomFromText('{PARIS}'), ST_Point(pickup_lon, pickup_lat))",
    f"SELECT count(*) FROM trips WHERE ST_Intersects(ST_Point(dropoff_lon, dropoff_lat), ST_GeomFromText('{PARIS}'))",
    f"SELECT count(*) FROM trips WHERE ST_Within(ST_Point(pickup_lon, pickup_lat), ST_GeomFromText('{PARIS}'))",
    "SELECT trip_id, ST_AsText(ST_Point(pickup_lon, pickup_lat)), ST_X(ST_Point(pickup_lon, pickup_lat)), ST_Y(ST_Point(pickup_lon, pickup_lat)) FROM trips ORDER BY trip_id LIMIT 50",
    "SELECT city, sum(ST_Distance(ST_Point(pickup_lon, pickup_lat), ST_Point(dropoff_lon, dropoff_lat))) FROM trips GROUP BY city",
    "SELECT count(*) FROM trips WHERE ST_DWithin(ST_Point(pickup_lon, pickup_lat), ST_Point(2.35, 48.85), 0.05)",
    "SELECT ST_Area(ST_GeomFromText('POLYGON((0 0, 4 0, 4 3, 0 0))')), ST_AsText(ST_Centroid(ST_MakeEnvelope(0, 0, 10, 4))), ST_AsText(ST_GeomFromWKB(ST_AsWKB(ST_Point(1.5, -2))))",
    # trips per zone: airports as polygons joined to pickups
    """WITH zones(name, wkt) AS (VALUES
           ('CDG', 'POLYGON((2.50 48.98, 2.62 48.98, 2.62 49.03, 2.50 49.03, 2.50 48.98))'),
           ('SFO', 'POLYGON((-122.40 37.60, -122.36 37.60, -122.36 37.64, -122.40 37.64, -122.40 37.60))'),
           ('central Paris', 'POLYGON((2.30 48.84, 2.38 48.84, 2.38 48.88, 2.30 48.88, 2.30 48.84))'))
       SELECT z.name, count(*), avg(t.fare) FROM trips t JOIN zones z ON ST_Contains(ST_GeomFromText(z.wkt), ST_Point(t.pickup_lon, t.pickup_lat))
       GROUP BY z.name""",
    # distance vs fare, revenue per day, trips per city-hour
    """SELECT city, floor(distance_km / 2) AS band, count(*), avg(fare)
       FROM trips WHERE status = 'completed' GROUP BY 1, 2""",
    "SELECT city, time_bucket(INTERVAL '1 hour', pickup_at) AS hour, count(*), sum(fare) FROM trips GROUP BY 1, 2",
    "SELECT city, sum(date_diff('minute', pickup_at, dropoff_at)), sum(date_diff('second', pickup_at, dropoff_at)), sum(date_diff('day', pickup_at, dropoff_at)) FROM trips GROUP BY city",
    "SELECT city, avg(ST_Distance_Spheroid(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon))) FROM trips GROUP BY city",
]


@pytest.mark.parametrize("sql", LOG_QUERIES + TRIP_QUERIES)
def test_duckdb_dialect_queries_match_duckdb(sql, lake, spatial_duck, tmp_path):
    _, catalog = lake
    expected = spatial_duck.execute(sql).fetchall()
    assert expected, "the oracle query returned nothing"
    same_rows(strata_rows(sql, catalog, tmp_path), expected)


H3_SQL = """SELECT trip_id, pickup_lat, pickup_lon,
                   h3_latlng_to_cell(pickup_lat, pickup_lon, 8) AS cell,
                   h3_cell_to_parent(h3_latlng_to_cell(pickup_lat, pickup_lon, 8), 5) AS parent,
                   h3_cell_to_lat(h3_latlng_to_cell(pickup_lat, pickup_lon, 8)) AS lat,
                   h3_cell_to_lng(h3_latlng_to_cell(pickup_lat, pickup_lon, 8)) AS lng,
                   h3_grid_disk(h3_latlng_to_cell(pickup_lat, pickup_lon, 8), 1) AS disk,
                   h3_latlng_to_cell_string(pickup_lat, pickup_lon, 10) AS text,
                   h3_get_resolution(h3_latlng_to_cell(pickup_lat, pickup_lon, 8)) AS res
            FROM trips ORDER BY trip_id LIMIT 400"""


def _check_h3(rows):
    assert len(rows) == 400
    for trip, lat, lon, cell, parent, clat, clng, disk, text, res in rows:
        want = h3.latlng_to_cell(lat, lon, 8)
        assert cell == int(want, 16), (trip, lat, lon)
        assert parent == int(h3.cell_to_parent(want, 5), 16)
        assert (clat, clng) == pytest.approx(h3.cell_to_latlng(want), abs=1e-12)
        assert sorted(disk) == sorted(int(c, 16) for c in h3.grid_disk(want, 1))
        assert text == h3.latlng_to_cell(lat, lon, 10)
        assert res == 8


def test_h3_cells_match_the_h3_library(lake, tmp_path):
    _, catalog = lake
    _check_h3(strata_rows(H3_SQL, catalog, tmp_path))


def test_h3_heatmap_and_cell_forms(lake, tmp_path):
    _, catalog = lake
    rows = strata_rows(
        """SELECT h3_latlng_to_cell(pickup_lat, pickup_lon, 7) AS cell, count(*) AS n
           FROM trips GROUP BY cell ORDER BY n DESC, cell LIMIT 10""",
        catalog,
        tmp_path,
    )
    points = strata_rows("SELECT pickup_lat, pickup_lon FROM trips", catalog, tmp_path)
    counts = {}
    for lat, lon in points:
        c = int(h3.latlng_to_cell(lat, lon, 7), 16)
        counts[c] = counts.get(c, 0) + 1
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    assert rows == expected
    # A cell given signed or as text comes back in the same form.
    cell = h3.latlng_to_cell(48.85, 2.35, 9)
    rows = strata_rows(
        f"""SELECT h3_cell_to_parent(CAST({int(cell, 16)} AS BIGINT), 4), h3_cell_to_parent('{cell}', 4),
                   h3_string_to_h3('{cell}'), h3_h3_to_string({int(cell, 16)}), h3_is_valid_cell(12345),
                   h3_grid_distance('{cell}', '{h3.grid_disk(cell, 2)[-1]}'), h3_cell_to_children('{cell}', 10)""",
        catalog,
        tmp_path,
    )
    parent = h3.cell_to_parent(cell, 4)
    assert rows[0][:6] == (int(parent, 16), parent, int(cell, 16), cell, False, h3.grid_distance(cell, h3.grid_disk(cell, 2)[-1]))
    assert sorted(rows[0][6]) == sorted(h3.cell_to_children(cell, 10))


BAD_INPUT = [
    ("SELECT json_extract('{\"a\": 1', '$.a')", "malformed JSON"),
    ("SELECT payload->>'$.http[*]' FROM events", "wildcards are not supported"),
    ("SELECT ST_GeomFromText('POLYGON((0 0, 1 1')", "invalid well-known text"),
    ("SELECT ST_X(ST_GeomFromText('POLYGON((0 0, 1 0, 1 1, 0 0))'))", "takes points"),
    ("SELECT h3_latlng_to_cell(48.85, 2.35, 16)", "resolution 16 is out of range"),
    ("SELECT h3_latlng_to_cell(acos(2), 2.35, 5)", "not a valid latitude"),
    ("SELECT h3_cell_to_parent(12345, 3)", "not a valid H3 cell"),
    ("SELECT regexp_extract('abc', '(b)', 2)", "group 2 out of range"),
    ("SELECT regexp_extract('abc', '(b')", "invalid regular expression"),
    ("SELECT time_bucket(INTERVAL '1 hour', 42)", "time_bucket buckets dates and timestamps"),
]


@pytest.mark.parametrize("sql,message", BAD_INPUT)
def test_bad_input_is_a_clear_error(sql, message, lake):
    _, catalog = lake
    proc = strata("query", sql, catalog=catalog, check=False)
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr


def test_nulls_in_nulls_out(lake, tmp_path):
    _, catalog = lake
    rows = strata_rows(
        """SELECT json_extract(NULL, '$.a'), NULL::VARCHAR ->> 'a', json_extract('{"a":1}', NULL), json_array_length(NULL),
                  regexp_extract(NULL, 'a'), ST_Point(NULL, 1), ST_AsText(NULL), h3_latlng_to_cell(NULL, 1, 5),
                  time_bucket(INTERVAL '1 hour', NULL::TIMESTAMP), count_if(NULL), arg_max(1, NULL::INT)""",
        catalog,
        tmp_path,
    )
    assert rows == [(None, None, None, None, None, None, None, None, None, 0, None)]


def test_show_functions_lists_stratas_functions(lake):
    _, catalog = lake
    proc = strata("query", "SHOW FUNCTIONS LIKE 'h3_%'", "--format", "csv", catalog=catalog)
    names = [line.split(",")[0] for line in proc.stdout.splitlines()[1:]]
    assert "h3_latlng_to_cell" in names and "h3_grid_disk" in names, proc.stdout
    proc = strata(
        "query",
        "SELECT routine_name, description FROM information_schema.routines WHERE routine_name IN ('json_extract_string', 'st_distance_sphere', 'time_bucket', 'arg_max')",
        "--format",
        "csv",
        catalog=catalog,
    )
    assert len(proc.stdout.splitlines()) == 5 and "metres" in proc.stdout, proc.stdout


def test_over_flight_sql_with_adbc(lake, server, spatial_duck):
    with flight.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute(LOG_QUERIES[3])
        same_rows(cur.fetchall(), spatial_duck.execute(LOG_QUERIES[3]).fetchall())
        cur.execute(H3_SQL)
        table = cur.fetch_arrow_table()
        assert table.schema.field("cell").type == pa.uint64()
        assert table.schema.field("disk").type.value_type == pa.uint64()
        _check_h3([tuple(r.values()) for r in table.to_pylist()])
        cur.execute(
            "SELECT ST_Point(pickup_lon, pickup_lat) AS g, attributes->>'client' AS c FROM trips, requests LIMIT 1"
        )
        table = cur.fetch_arrow_table()
        assert table.schema.field("g").type == pa.binary() and pa.types.is_string(table.schema.field("c").type)
        # WKB, as DuckDB hands geometries to clients
        wkb = table.column("g")[0].as_py()
        assert wkb[:5] == b"\x01\x01\x00\x00\x00"
        with pytest.raises(Exception, match="malformed JSON"):
            cur.execute("SELECT json_extract('{\"a\": ', '$.a')")
            cur.fetchall()
        cur.execute("SELECT count(*) FROM events WHERE payload->>'$.http.status' = '500'")
        expected = spatial_duck.execute("SELECT count(*) FROM events WHERE payload->>'$.http.status' = '500'").fetchall()
        assert cur.fetchall() == expected


# Arithmetic, casts and ordering as DuckDB means them (compared in order, names included):
# `/` of integers or DECIMALs divides as DOUBLEs and `//` as integers; a CAST of a fraction to
# an integer rounds; NULLs sort last descending too; `ORDER BY ALL`; `ORDER BY n` of an
# expression of the group keys; a cast column is named `CAST(x AS T)`.
DIALECT_QUERIES = [
    "SELECT service, sum(bytes) / count(*) AS avg_bytes, 100 * count_if(status >= 500) / count(*) AS err_pct FROM requests GROUP BY 1 ORDER BY 1",
    "SELECT status / 100 AS class, status // 100 AS klass, -status // 7 AS neg, count(*) FROM requests GROUP BY ALL ORDER BY ALL",
    "SELECT trace_id, user_id FROM requests ORDER BY user_id DESC, trace_id LIMIT 12",
    "SELECT trace_id, user_id FROM requests ORDER BY user_id, trace_id LIMIT 12",
    "SELECT trip_id, rating, tip FROM trips ORDER BY rating DESC, tip DESC, trip_id LIMIT 12",
    "SELECT rating, row_number() OVER (ORDER BY rating DESC, trip_id) AS rn FROM trips ORDER BY rn LIMIT 5",
    "SELECT CAST(latency_ms AS INTEGER) AS ms, count(*) FROM requests GROUP BY 1 ORDER BY 1 LIMIT 20",
    "SELECT CAST(latency_ms / 50 AS BIGINT) * 50 AS bucket, count(*) FROM requests GROUP BY 1 ORDER BY 1",
    "SELECT latency_ms, CAST(latency_ms AS BIGINT), TRY_CAST(latency_ms AS BIGINT), latency_ms::BIGINT + 1 AS next FROM requests ORDER BY latency_ms DESC, trace_id LIMIT 5",
    "SELECT city, sum(fare) / count(*) AS avg_fare, sum(tip) / sum(fare) AS tip_share, CAST(avg(fare) AS BIGINT) AS rounded, CAST(fare AS BIGINT) AS f FROM trips GROUP BY city, fare ORDER BY 1, 2 LIMIT 10",
    "SELECT upper(service), count(*) FROM requests GROUP BY service ORDER BY 1 DESC",
    "SELECT service || '/' || method, count(*) FROM requests GROUP BY service, method ORDER BY 1",
    "SELECT service, round_even(avg(latency_ms), 1) FROM requests GROUP BY ALL ORDER BY ALL DESC",
]


def _names(description):
    return [d[0] for d in description]


@pytest.mark.parametrize("sql", DIALECT_QUERIES)
def test_arithmetic_casts_and_ordering_as_in_duckdb(sql, lake, spatial_duck, server, tmp_path):
    _, catalog = lake
    expected = spatial_duck.execute(sql)
    names, want = _names(expected.description), expected.fetchall()
    assert want, "the oracle query returned nothing"
    same_rows(strata_rows(sql, catalog, tmp_path), want, ordered=True)
    with flight.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute(sql)
        same_rows(cur.fetchall(), want, ordered=True)
        if "CAST(" in sql:
            assert [n for n in _names(cur.description) if n.startswith(("CAST(", "TRY_CAST("))] == [
                n for n in names if n.startswith(("CAST(", "TRY_CAST("))
            ]


def test_a_parameter_divides_as_its_literal_would(server):
    # `?` is typed only when bound: `7 / ?` bound to 2 is 3.5, as `7 / 2`; `7 // ?` is 3.
    with flight.connect(server.url) as conn, conn.cursor() as cur:
        cur.execute("SELECT 7 / ?, 7 // ?, ? / 2", parameters=(2, 2, 7))
        assert cur.fetchall() == [(3.5, 3, 3.5)]


def test_fail_if_rows_fails_a_ci_job_on_bad_data(lake, server):
    _, catalog = lake
    check = "SELECT trip_id, fare FROM trips WHERE fare < 0 OR ST_Distance_Sphere(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon)) > 200000"
    for remote in ([], ["--server", server.url]):
        ok = strata("query", *remote, "--fail-if-rows", check, catalog=catalog, check=False)
        assert ok.returncode == 0, ok.stderr
        bad = strata("query", *remote, "--fail-if-rows", "SELECT 1 AS ok WHERE false; SELECT trip_id FROM trips WHERE fare > 40", catalog=catalog, check=False)
        assert bad.returncode != 0, bad.stdout
        assert "check failed (--fail-if-rows): statement 2 returned" in bad.stderr, bad.stderr
        assert "trip_id" in bad.stdout
