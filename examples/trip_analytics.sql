-- What a ride-hailing team runs every day, over `strata gen trips` data (table `trips`).
--   strata gen trips --rows 1000000 --days 7 --out lake/trips
--   strata table register trips --location lake/trips
--   strata query -f examples/trip_analytics.sql
-- Spatial functions follow DuckDB spatial (ST_Distance_Sphere takes points as (lat, lon)),
-- H3 functions DuckDB's H3 extension.

-- Trips per city and hour of the day.
SELECT city, time_bucket(INTERVAL '1 hour', pickup_at) AS hour, count(*) AS trips
FROM trips
GROUP BY city, hour
ORDER BY trips DESC, city, hour
LIMIT 20;

-- Revenue per day (fares and tips of completed trips).
SELECT dt, count(*) AS trips, sum(fare) AS fares, sum(coalesce(tip, 0)) AS tips
FROM trips
WHERE status = 'completed'
GROUP BY dt
ORDER BY dt;

-- H3 heatmap: pickups per resolution-7 cell, with the cell's centre for a map.
SELECT h3_latlng_to_cell(pickup_lat, pickup_lon, 7) AS cell,
       h3_cell_to_lat(h3_latlng_to_cell(pickup_lat, pickup_lon, 7)) AS lat,
       h3_cell_to_lng(h3_latlng_to_cell(pickup_lat, pickup_lon, 7)) AS lng,
       count(*) AS pickups
FROM trips
GROUP BY cell, lat, lng
ORDER BY pickups DESC, cell
LIMIT 20;

-- Airport-zone trips: pickups inside each airport's polygon.
WITH zones(zone, wkt) AS (VALUES
    ('CDG', 'POLYGON((2.50 48.98, 2.62 48.98, 2.62 49.03, 2.50 49.03, 2.50 48.98))'),
    ('SFO', 'POLYGON((-122.40 37.60, -122.36 37.60, -122.36 37.64, -122.40 37.64, -122.40 37.60))'),
    ('central Paris', 'POLYGON((2.30 48.84, 2.38 48.84, 2.38 48.88, 2.30 48.88, 2.30 48.84))'))
SELECT z.zone, count(*) AS pickups, avg(t.fare) AS avg_fare
FROM trips t
JOIN zones z ON ST_Contains(ST_GeomFromText(z.wkt), ST_Point(t.pickup_lon, t.pickup_lat))
GROUP BY z.zone
ORDER BY pickups DESC;

-- Distance against fare: the straight-line distance in km bands, and what each band pays.
SELECT floor(ST_Distance_Sphere(ST_Point(pickup_lat, pickup_lon), ST_Point(dropoff_lat, dropoff_lon)) / 1000) AS km,
       count(*) AS trips,
       avg(fare) AS avg_fare,
       avg(fare) / nullif(avg(distance_km), 0) AS fare_per_route_km
FROM trips
WHERE status = 'completed'
GROUP BY km
ORDER BY km;
