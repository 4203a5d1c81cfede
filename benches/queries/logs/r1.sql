-- on-call lookup: every event of one rare user (a hidden key: a few dozen rows in 10 M; UserID has a bloom filter)
SELECT "EventTime", "URL" FROM hits WHERE "UserID" = 7183861709912403806 ORDER BY "EventTime", "URL";
