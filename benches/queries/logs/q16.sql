-- ClickBench query 15 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "UserID", COUNT(*) FROM hits GROUP BY "UserID" ORDER BY COUNT(*) DESC LIMIT 10;
