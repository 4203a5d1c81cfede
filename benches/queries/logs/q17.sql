-- ClickBench query 16 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "UserID", "SearchPhrase", COUNT(*) FROM hits GROUP BY "UserID", "SearchPhrase" ORDER BY COUNT(*) DESC LIMIT 10;
