-- ClickBench query 2 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT SUM("AdvEngineID"), COUNT(*), AVG("ResolutionWidth") FROM hits;
