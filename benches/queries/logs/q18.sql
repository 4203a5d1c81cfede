-- ClickBench query 17 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "UserID", "SearchPhrase", COUNT(*) FROM hits GROUP BY "UserID", "SearchPhrase" LIMIT 10;
