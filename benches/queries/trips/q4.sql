-- 1.1 billion taxi rides, query 4. Engines disagree on CAST(double AS INT) (DuckDB rounds,
-- DataFusion truncates), so the distance bucket spells truncation out: trunc() then CAST.
SELECT passenger_count, extract(year from pickup_datetime) AS pickup_year, cast(trunc(trip_distance) as int) AS distance, count(*) AS the_count FROM trips GROUP BY passenger_count, pickup_year, distance ORDER BY pickup_year, the_count desc;
