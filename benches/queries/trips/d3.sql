-- dashboard: busiest pickup neighbourhoods in the first quarter of 2014
SELECT pickup_ntaname, count(*) AS trips, round(avg(trip_distance), 3) AS avg_distance FROM trips WHERE pickup_datetime >= TIMESTAMP '2014-01-01 00:00:00' AND pickup_datetime < TIMESTAMP '2014-04-01 00:00:00' GROUP BY 1 ORDER BY trips DESC, pickup_ntaname LIMIT 10;
