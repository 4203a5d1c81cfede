-- the latest events
SELECT "EventTime", "WatchID", "URL" FROM hits ORDER BY "EventTime" DESC, "WatchID" DESC LIMIT 10;
