-- ClickBench query 8 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "RegionID", COUNT(DISTINCT "UserID") AS u FROM hits GROUP BY "RegionID" ORDER BY u DESC LIMIT 10;
