-- t1
SELECT month, count(*) AS n FROM trips WHERE month BETWEEN '2014-01' AND '2014-03' GROUP BY month ORDER BY month;
-- t2
SELECT payment_type, round(avg(fare_amount), 4) AS fare, count(*) AS n FROM trips GROUP BY payment_type ORDER BY payment_type;
-- t3
SELECT extract(hour FROM pickup_datetime) AS h, count(*) AS n FROM trips WHERE pickup_datetime >= TIMESTAMP '2014-05-06' AND pickup_datetime < TIMESTAMP '2014-05-07' GROUP BY h ORDER BY h;
-- t4
SELECT pickup_ntaname, count(*) AS n FROM trips WHERE cab_type = 'yellow' GROUP BY pickup_ntaname ORDER BY n DESC, pickup_ntaname LIMIT 10;
-- t5
SELECT passenger_count, round(avg(tip_amount), 4) AS tip, count(*) AS n FROM trips WHERE trip_distance > 10 GROUP BY passenger_count ORDER BY passenger_count;
-- t6
WITH p AS (SELECT pickup_boroname AS b, avg(fare_amount) AS f FROM trips GROUP BY 1), d AS (SELECT dropoff_boroname AS b, avg(fare_amount) AS f FROM trips GROUP BY 1) SELECT p.b, round(p.f, 4) AS pf, round(d.f, 4) AS df FROM p JOIN d ON p.b = d.b ORDER BY p.b;
-- t7
SELECT trip_id, trip_distance, fare_amount FROM trips ORDER BY trip_distance DESC, trip_id LIMIT 10;
-- t8
SELECT trip_id, pickup_datetime, total_amount FROM trips ORDER BY pickup_datetime DESC, trip_id LIMIT 10;
-- t9
SELECT trip_id, pickup_datetime, fare_amount FROM trips WHERE trip_id = 123457;
-- t10
SELECT month, count(DISTINCT pickup_ntaname) AS areas FROM trips GROUP BY month ORDER BY month;
-- t11
SELECT CAST(pickup_datetime AS DATE) AS d, round(sum(total_amount), 2) AS revenue FROM trips WHERE pickup_datetime >= TIMESTAMP '2015-03-01' AND pickup_datetime < TIMESTAMP '2015-03-08' GROUP BY d ORDER BY d;
-- t12
SELECT pickup_boroname, count(*) AS n FROM trips WHERE pickup_ntaname LIKE '%Park%' GROUP BY pickup_boroname ORDER BY pickup_boroname;
-- t13
SELECT count(*) FROM trips WHERE month = '2014-07';
-- t14
SELECT cab_type, min(pickup_datetime), max(pickup_datetime), max(total_amount) FROM trips GROUP BY cab_type ORDER BY cab_type;
-- t15
SELECT * FROM trips WHERE payment_type = 'CSH' AND tip_amount > 50 ORDER BY pickup_datetime DESC LIMIT 5;
