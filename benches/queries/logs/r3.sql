-- dashboard: events per day over an eleven-day range of partitions
SELECT CAST(day AS DATE) AS d, count(*) AS hits FROM hits WHERE day >= '2013-07-10' AND day <= '2013-07-20' GROUP BY 1 ORDER BY 1;
