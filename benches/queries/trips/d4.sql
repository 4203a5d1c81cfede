-- dashboard: borough-to-borough flows with average duration in minutes
SELECT pickup_boroname, dropoff_boroname, count(*) AS trips, round(avg(date_part('epoch', dropoff_datetime) - date_part('epoch', pickup_datetime)) / 60, 2) AS avg_minutes FROM trips GROUP BY 1, 2 ORDER BY trips DESC, 1, 2;
