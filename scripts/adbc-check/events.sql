-- c1
SELECT count(*) FROM events;
-- c2
SELECT count(*) FROM events WHERE day = DATE '2026-05-05';
-- c3
SELECT day, count(*) AS n FROM events WHERE day BETWEEN DATE '2026-05-03' AND DATE '2026-05-04' GROUP BY day ORDER BY day;
-- c4
SELECT count(*) FROM events WHERE message LIKE '%timeout%';
-- c5
SELECT service, count(*) AS n FROM events WHERE message ILIKE '%connection reset%' GROUP BY service ORDER BY n DESC, service;
-- c6
WITH e AS (SELECT trace_id, service FROM events WHERE level = 'ERROR') SELECT a.service AS s1, b.service AS s2, count(*) AS n FROM e a JOIN e b ON a.trace_id = b.trace_id AND a.service < b.service GROUP BY 1, 2 ORDER BY n DESC, s1, s2 LIMIT 10;
-- c7
SELECT ts, service, message FROM events ORDER BY ts DESC LIMIT 10;
-- c8
SELECT ts, service, level, message FROM events WHERE trace_id = 'c4ca4238a0b923820dcc509a6f75849b' ORDER BY ts, service;
-- c9
SELECT date_trunc('hour', ts) AS h, count(*) AS n, count(*) FILTER (WHERE status >= 500) AS errs FROM events WHERE day = DATE '2026-05-07' GROUP BY h ORDER BY h;
-- c10
SELECT day, count(DISTINCT user_id) AS users FROM events GROUP BY day ORDER BY day;
-- c11
SELECT service, avg(latency_ms) AS avg_ms, max(latency_ms) AS max_ms, count(*) AS n FROM events GROUP BY service ORDER BY service;
-- c12
SELECT path, count(*) AS n FROM events WHERE status >= 500 GROUP BY path ORDER BY n DESC, path LIMIT 10;
-- c13
SELECT count(*) FROM events WHERE regexp_matches(message, 'user [0-9]+ failed');
-- c14
SELECT level, count(*) AS n FROM events WHERE ts >= TIMESTAMP '2026-05-06 10:00:00' AND ts < TIMESTAMP '2026-05-06 12:00:00' GROUP BY level ORDER BY level;
-- c15
SELECT user_id, count(*) AS n FROM events WHERE level = 'ERROR' GROUP BY user_id ORDER BY n DESC, user_id LIMIT 10;
-- c16
SELECT min(ts), max(ts), min(latency_ms), max(latency_ms) FROM events WHERE day >= DATE '2026-05-10';
-- c17
SELECT service, median(latency_ms) AS p50 FROM events WHERE day = DATE '2026-05-02' GROUP BY service ORDER BY service;
-- c18
SELECT * FROM events WHERE message LIKE '%host-7' ORDER BY ts LIMIT 5;
-- c19
SELECT count(DISTINCT trace_id) FROM events WHERE day = DATE '2026-05-08';
-- c20
SELECT day, level, count(*) AS n FROM events GROUP BY ALL ORDER BY day, level;
-- c21
SELECT ts, path, status FROM events WHERE status >= 500 ORDER BY ts DESC LIMIT 10;
-- c22
SELECT * FROM events WHERE level = 'ERROR' AND service = 'billing' ORDER BY ts DESC LIMIT 20;
-- c23
SELECT ts, message FROM events WHERE trace_id IN ('c4ca4238a0b923820dcc509a6f75849b', 'eccbc87e4b5ce2fe28308fd9f2a7baf3') ORDER BY ts;
-- c24
SELECT service, count(*) AS n FROM events WHERE path = '/v1/items/42' GROUP BY service ORDER BY service;
