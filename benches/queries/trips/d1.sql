-- dashboard: daily trips and revenue per cab type for one month (a time filter that prunes)
SELECT CAST(pickup_datetime AS DATE) AS day, cab_type, count(*) AS trips, round(sum(total_amount), 2) AS revenue FROM trips WHERE pickup_datetime >= TIMESTAMP '2014-06-01 00:00:00' AND pickup_datetime < TIMESTAMP '2014-07-01 00:00:00' GROUP BY 1, 2 ORDER BY 1, 2;
