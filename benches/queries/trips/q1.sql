-- 1.1 billion taxi rides, query 1
SELECT cab_type, count(*) FROM trips GROUP BY cab_type;
