-- ClickBench query 33 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "URL", COUNT(*) AS c FROM hits GROUP BY "URL" ORDER BY c DESC LIMIT 10;
