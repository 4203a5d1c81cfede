-- ClickBench query 4 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT COUNT(DISTINCT "UserID") FROM hits;
