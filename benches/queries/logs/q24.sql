-- ClickBench query 23 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT * FROM hits WHERE "URL" LIKE '%google%' ORDER BY "EventTime" LIMIT 10;
