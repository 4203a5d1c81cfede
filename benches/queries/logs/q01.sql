-- ClickBench query 0 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT COUNT(*) FROM hits;
