-- 1.1 billion taxi rides, query 2
SELECT passenger_count, avg(total_amount) FROM trips GROUP BY passenger_count;
