-- ClickBench query 3 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT AVG("UserID") FROM hits;
