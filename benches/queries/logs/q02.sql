-- ClickBench query 1 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT COUNT(*) FROM hits WHERE "AdvEngineID" <> 0;
