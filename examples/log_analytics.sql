-- What a log team runs every day, over `strata gen requests` data (table `requests`).
--   strata gen requests --rows 1000000 --days 7 --out lake/requests
--   strata table register requests --location lake/requests
--   strata query -f examples/log_analytics.sql
-- Written in DuckDB's dialect: the same file runs on DuckDB over the same Parquet files
-- (add parentheses around `->>` there: DuckDB binds it more loosely than `=`).

-- Error rate per service per hour, in UTC.
SELECT service,
       time_bucket(INTERVAL '1 hour', ts) AS hour,
       count(*) AS requests,
       count_if(status >= 500) AS errors,
       round(100.0 * count_if(status >= 500) / count(*), 2) AS error_pct
FROM requests
WHERE dt = DATE '2026-03-02'
GROUP BY service, hour
ORDER BY error_pct DESC, service, hour
LIMIT 20;

-- Latency percentiles per endpoint (exact p95, approximate p99).
SELECT service, endpoint,
       quantile_cont(latency_ms, 0.95) AS p95_ms,
       approx_quantile(latency_ms, 0.99) AS p99_ms,
       count(*) AS requests
FROM requests
GROUP BY service, endpoint
HAVING count(*) > 100
ORDER BY p95_ms DESC
LIMIT 20;

-- Trace lookup: every request of one trace, across days (an on-call engineer's first query).
SELECT ts, service, endpoint, status, latency_ms, message
FROM requests
WHERE trace_id = (SELECT min(trace_id) FROM requests WHERE dt = DATE '2026-03-02')
ORDER BY ts;

-- Sessions per user: a gap of 30 minutes starts a new session.
WITH marked AS (
    SELECT user_id, ts,
           CASE WHEN lag(ts) OVER (PARTITION BY user_id ORDER BY ts) IS NULL
                  OR ts - lag(ts) OVER (PARTITION BY user_id ORDER BY ts) > INTERVAL '30 minutes'
                THEN 1 ELSE 0 END AS starts_session
    FROM requests
    WHERE user_id IS NOT NULL
)
SELECT user_id, sum(starts_session) AS sessions, count(*) AS requests
FROM marked
GROUP BY user_id
ORDER BY sessions DESC, user_id
LIMIT 20;

-- JSON attributes: which clients and versions see cache misses.
SELECT attributes->>'client' AS client,
       attributes->>'$.version' AS version,
       count(*) AS misses
FROM requests
WHERE attributes->>'cache' = 'miss'
GROUP BY client, version
ORDER BY misses DESC
LIMIT 10;

-- Fields pulled out of the message text with a regular expression.
SELECT regexp_extract(message, '-> ([0-9]{3})', 1) AS logged_status,
       arg_max(endpoint, latency_ms) AS slowest_endpoint,
       max(latency_ms) AS slowest_ms,
       count(*) AS requests
FROM requests
GROUP BY logged_status
ORDER BY logged_status;
