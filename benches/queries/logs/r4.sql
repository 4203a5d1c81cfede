-- dashboard tile: events of one day
SELECT count(*) FROM hits WHERE day = '2013-07-15';
