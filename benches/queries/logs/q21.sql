-- ClickBench query 20 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT COUNT(*) FROM hits WHERE "URL" LIKE '%google%';
