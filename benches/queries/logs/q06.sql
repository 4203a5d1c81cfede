-- ClickBench query 5 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT COUNT(DISTINCT "SearchPhrase") FROM hits;
