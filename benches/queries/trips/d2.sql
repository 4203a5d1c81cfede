-- dashboard: tip share by hour of day for card payments in 2015
SELECT extract(hour from pickup_datetime) AS hour, round(avg(tip_amount / fare_amount), 4) AS tip_share, count(*) AS trips FROM trips WHERE payment_type = 'CRE' AND fare_amount > 0 AND pickup_datetime >= TIMESTAMP '2015-01-01 00:00:00' GROUP BY 1 ORDER BY 1;
