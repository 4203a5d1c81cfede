-- ClickBench query 24 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "SearchPhrase" FROM hits WHERE "SearchPhrase" <> '' ORDER BY "EventTime" LIMIT 10;
