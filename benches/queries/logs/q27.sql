-- ClickBench query 26 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "SearchPhrase" FROM hits WHERE "SearchPhrase" <> '' ORDER BY "EventTime", "SearchPhrase" LIMIT 10;
