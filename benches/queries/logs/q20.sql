-- ClickBench query 19 (DataFusion dialect; EventTime is a real TIMESTAMP here)
SELECT "UserID" FROM hits WHERE "UserID" = 435090932899640449;
