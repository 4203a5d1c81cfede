-- ClickBench query 6 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT MIN("EventDate"), MAX("EventDate") FROM hits;
