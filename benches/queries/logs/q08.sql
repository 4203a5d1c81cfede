-- ClickBench query 7 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "AdvEngineID", COUNT(*) FROM hits WHERE "AdvEngineID" <> 0 GROUP BY "AdvEngineID" ORDER BY COUNT(*) DESC;
