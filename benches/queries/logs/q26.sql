-- ClickBench query 25 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "SearchPhrase" FROM hits WHERE "SearchPhrase" <> '' ORDER BY "SearchPhrase" LIMIT 10;
