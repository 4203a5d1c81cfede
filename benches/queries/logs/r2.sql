-- on-call lookup: an id that is not there (within every file's min/max; only a bloom filter can skip the files)
SELECT count(*) FROM hits WHERE "WatchID" = 4611686018427387904;
