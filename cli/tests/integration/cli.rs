//! The `strata` binary as users run it: formats, exit codes, stdin, stats, registration.

use crate::common::{Lake, fixtures};

fn stats_json(stderr: &[u8]) -> serde_json::Value {
    let text = String::from_utf8_lossy(stderr);
    let line = text
        .lines()
        .rev()
        .find(|l| l.starts_with('{'))
        .unwrap_or_else(|| panic!("no stats JSON in stderr: {text}"));
    serde_json::from_str(line).expect("stats are JSON")
}

/// Run `sql` with `--stats json --format csv`, require success: the CSV and the statistics.
fn csv_and_stats(lake: &Lake, sql: &str) -> (String, serde_json::Value) {
    let out = lake.run(&["query", sql, "--stats", "json", "--format", "csv"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).to_string(),
        stats_json(&out.stderr),
    )
}

#[test]
fn formats() {
    let lake = Lake::new().with_fixtures();
    let sql = "SELECT dt, count(*) AS n FROM applogs GROUP BY dt ORDER BY dt";
    let csv = lake.ok(&["query", sql, "--format", "csv"]);
    assert_eq!(csv, "dt,n\n2026-03-04,50\n2026-03-05,50\n2026-03-06,50\n");
    let json = lake.ok(&["query", sql, "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json array");
    assert_eq!(v[0]["dt"], "2026-03-04");
    assert_eq!(v[2]["n"], 50);
    let ndjson = lake.ok(&["query", sql, "--format", "ndjson"]);
    assert_eq!(ndjson.lines().count(), 3);
    let table = lake.ok(&["query", sql]);
    assert!(table.contains("| 2026-03-05 | 50 |"), "{table}");

    for format in ["parquet", "arrow"] {
        let out = lake.path().join(format!("out.{format}"));
        lake.ok(&[
            "query",
            sql,
            "--format",
            format,
            "--output",
            out.to_str().unwrap(),
        ]);
        let bytes = std::fs::read(&out).unwrap();
        let magic: &[u8] = if format == "parquet" {
            b"PAR1"
        } else {
            b"ARROW1"
        };
        assert!(bytes.starts_with(magic), "{format} output has no magic");
    }
    let out = lake.path().join("out.parquet");
    let file = std::fs::File::open(out).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let rows: usize = reader.map(|b| b.unwrap().num_rows()).sum();
    assert_eq!(rows, 3);
}

#[test]
fn stdin_files_and_several_statements() {
    let lake = Lake::new().with_fixtures();
    let out = lake.run(
        &["query", "--format", "csv"],
        Some("SELECT 1 AS a; SELECT count(*) AS n FROM rides;"),
    );
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a\n1\nn\n120\n");
    let file = lake.path().join("job.sql");
    std::fs::write(
        &file,
        "-- a comment; with a semicolon\nSELECT 'x;y' AS s;\n",
    )
    .unwrap();
    let out = lake.ok(&["query", "-f", file.to_str().unwrap(), "--format", "csv"]);
    assert_eq!(out, "s\nx;y\n");
}

#[test]
fn errors_exit_non_zero_with_one_line() {
    let lake = Lake::new().with_fixtures();
    for (args, needle) in [
        (
            vec!["query", "SELECT * FROM missing_table"],
            "missing_table",
        ),
        (vec!["query", "SELEC 1"], "SELEC"),
        (vec!["table", "describe", "missing_table"], "does not exist"),
        (
            vec!["table", "register", "x", "--location", "/no/such/dir"],
            "/no/such/dir",
        ),
        (
            vec![
                "table",
                "register",
                "applogs",
                "--location",
                fixtures().join("applogs").to_str().unwrap(),
            ],
            "already exists",
        ),
    ] {
        let out = lake.run(&args, None);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("error: "), "{err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}

#[test]
fn aggregates_the_catalog_knows_read_no_file() {
    let lake = Lake::new();
    lake.ok(&[
        "query",
        "CREATE TABLE t (id BIGINT, ts TIMESTAMP, name VARCHAR, x DOUBLE)",
    ]);
    lake.ok(&[
        "query",
        "INSERT INTO t VALUES (5, TIMESTAMP '2026-03-04 10:00:00', 'kiwi', 1.5), (-3, NULL, NULL, NULL)",
    ]);
    lake.ok(&[
        "query",
        "INSERT INTO t VALUES (42, TIMESTAMP '2026-03-06 23:59:59.999999', 'apple', -2.5)",
    ]);
    let run = |sql: &str| csv_and_stats(&lake, sql);
    // Row and null counts, and bounds of integers and timestamps: from the catalog.
    let (csv, stats) = run(
        "SELECT count(*) AS n, count(ts) AS c, min(id) AS lo, max(id) AS hi, max(ts) AS last FROM t",
    );
    assert_eq!(
        csv,
        "n,c,lo,hi,last\n3,2,-3,42,2026-03-06 23:59:59.999999\n"
    );
    assert_eq!(stats["requests"]["get"], 0, "{stats}");
    assert_eq!(stats["requests"]["ranged_get"], 0, "{stats}");
    let explain = lake.ok(&["query", "EXPLAIN SELECT count(*), max(id) FROM t"]);
    assert!(explain.contains("PlaceholderRowExec"), "{explain}");
    // String and float bounds are estimates: the files are read.
    let (csv, stats) = run("SELECT max(name) AS s, min(x) AS x FROM t");
    assert_eq!(csv, "s,x\nkiwi,-2.5\n");
    assert!(
        stats["requests"]["ranged_get"].as_u64() > Some(0),
        "{stats}"
    );
}

#[test]
fn an_impossible_catalog_pool_is_refused_with_its_key() {
    let lake = Lake::new();
    std::fs::write(
        lake.path().join("strata.toml"),
        "[engine]\ncatalog_connections = 1000000000000\n",
    )
    .expect("write strata.toml");
    let out = lake.run(&["query", "SELECT 1"], None);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("engine.catalog_connections") && err.contains("1 to 1024"),
        "{err}"
    );
}

#[test]
fn one_day_query_scans_only_that_day() {
    let lake = Lake::new().with_fixtures();
    let run = |sql: &str| csv_and_stats(&lake, sql);
    // A filter on partition columns keeps or drops whole files, so it is applied exactly by
    // the scan and the day's count is the catalog's row count: nothing is read.
    let (csv, stats) = run("SELECT count(*) FROM applogs WHERE dt = DATE '2026-03-05'");
    assert_eq!(csv, "count(*)\n50\n");
    assert_eq!(stats["requests"]["ranged_get"], 0, "{stats}");
    assert_eq!(stats["rows"], 1);
    assert!(stats["elapsed_ms"].is_u64());
    // What has to be read is read from that day's two files only.
    let (_, stats) = run("SELECT max(message) FROM applogs WHERE dt = DATE '2026-03-05'");
    assert_eq!(stats["files_scanned"], 2, "{stats}");
    assert_eq!(stats["files_pruned"], 4, "{stats}");
    assert!(stats["bytes_read"].as_u64() > Some(0), "{stats}");

    // A filter on a stored column prunes by min/max statistics.
    let out = lake.run(
        &[
            "query",
            "SELECT sum(bytes) FROM applogs WHERE ts >= TIMESTAMP '2026-03-06 00:00:00'",
            "--stats",
            "json",
        ],
        None,
    );
    let stats = stats_json(&out.stderr);
    assert_eq!(stats["files_scanned"], 2, "{stats}");
    assert!(stats["bytes_read"].as_u64().unwrap() > 0, "{stats}");

    let explain = lake.ok(&[
        "query",
        "EXPLAIN SELECT max(fare) FROM rides WHERE year = 2026",
    ]);
    assert!(explain.contains("files=2 of 6"), "{explain}");
    // The partition filter is applied by the scan (exactly), not by a filter above it.
    assert!(!explain.contains("FilterExec"), "{explain}");
}

/// `GROUP BY` partition columns with count/min/max over a partition range: every file is one
/// group's share, answered from its statistics. The same question asked so that the files
/// must be read gives the same answer.
#[test]
fn groups_of_partition_columns_are_answered_from_statistics() {
    let lake = Lake::new().with_fixtures();
    let run = |sql: &str| csv_and_stats(&lake, sql);
    let queries = [
        "SELECT dt, count(*) AS n, count(latency_ms) AS c, min(ts) AS lo, max(ts) AS hi, \
         min(status) AS s FROM applogs WHERE {filter} GROUP BY dt ORDER BY dt",
        "SELECT year, month, count(*) AS n FROM rides WHERE {filter} GROUP BY month, year \
         ORDER BY year, month",
        "SELECT count(*) AS n, year FROM rides WHERE {filter} GROUP BY year ORDER BY year",
    ];
    let partition_filter = [
        "dt BETWEEN DATE '2026-03-05' AND DATE '2026-03-09'",
        "year = 2026 OR month = '12'",
        "year >= 2025",
    ];
    // Also true of every row, but it reads a stored column, so the files are read.
    let read_filter = "coalesce(length(service), 0) >= 0";
    let read_filter_rides = "coalesce(fare, 0) > -1";
    for (i, (query, filter)) in queries.iter().zip(partition_filter).enumerate() {
        let (answered, stats) = run(&query.replace("{filter}", filter));
        assert_eq!(stats["requests"]["ranged_get"], 0, "{query}: {stats}");
        assert!(
            stats["files_answered"].as_u64() >= Some(2),
            "{query}: {stats}"
        );
        let forced = format!(
            "({filter}) AND {}",
            if i == 0 {
                read_filter
            } else {
                read_filter_rides
            }
        );
        let (read, stats) = run(&query.replace("{filter}", &forced));
        assert!(
            stats["requests"]["ranged_get"].as_u64() > Some(0),
            "{stats}"
        );
        assert_eq!(answered, read, "{query}");
        assert!(answered.lines().count() >= 3, "{answered}");
    }
    let explain = lake.ok(&[
        "query",
        "EXPLAIN SELECT dt, count(*) FROM applogs WHERE dt > DATE '2026-03-04' GROUP BY dt",
    ]);
    assert!(explain.contains("answered from statistics 4"), "{explain}");
    // A filter on a stored column, a volatile one, or an aggregate that needs the values:
    // the files are read.
    for sql in [
        "SELECT dt, count(*) FROM applogs WHERE status >= 500 GROUP BY dt",
        "SELECT dt, count(*) FROM applogs WHERE dt > DATE '2026-03-04' AND random() < 2 GROUP BY dt",
        "SELECT dt, sum(status) FROM applogs GROUP BY dt",
        "SELECT dt, count(DISTINCT service) FROM applogs GROUP BY dt",
        "SELECT dt, max(message) FROM applogs GROUP BY dt",
    ] {
        let (_, stats) = run(sql);
        assert!(
            stats["requests"]["ranged_get"].as_u64() > Some(0),
            "{sql}: {stats}"
        );
        assert_eq!(stats["files_answered"], 0, "{sql}: {stats}");
    }
}

/// Identifier columns (`*_id`) get Parquet bloom filters by default, other columns when the
/// table names them (`WITH (bloom_filter = '…')`); a lookup of a value that is within a row
/// group's min/max but not in it skips the row group without reading its pages.
#[test]
fn identifier_columns_get_bloom_filters_that_skip_row_groups() {
    let lake = Lake::new();
    lake.ok(&[
        "query",
        "CREATE TABLE ev (trace_id VARCHAR, user_id BIGINT, message VARCHAR, n BIGINT)",
    ]);
    lake.ok(&[
        "query",
        "CREATE TABLE named (trace_id VARCHAR, user_id BIGINT, message VARCHAR, n BIGINT) \
         WITH (bloom_filter = 'message')",
    ]);
    for table in ["ev", "named"] {
        lake.ok(&[
            "query",
            &format!(
                "INSERT INTO {table} SELECT 'trace-' || value AS a, value AS b, 'message ' || value AS c, value AS d \
                 FROM generate_series(1, 20000)"
            ),
        ]);
    }
    let err = lake.run(
        &[
            "query",
            "CREATE TABLE bad (a INT) WITH (bloom_filter = 'a, nope')",
        ],
        None,
    );
    let text = String::from_utf8_lossy(&err.stderr);
    assert!(!err.status.success() && text.contains("'nope'"), "{text}");

    // Which columns of each table's file carry a bloom filter.
    let found: Vec<(String, String)> = parquet_files(lake.path())
        .into_iter()
        .map(|p| (p.to_string_lossy().to_string(), bloom_columns(&p)))
        .collect();
    let of = |table: &str| {
        found
            .iter()
            .find(|(p, _)| p.contains(&format!("/{table}/")))
            .map(|(_, w)| w.clone())
            .unwrap_or_else(|| panic!("no file of {table} in {found:?}"))
    };
    assert_eq!(of("ev"), "trace_id,user_id");
    assert_eq!(of("named"), "message");

    let bytes_read = |sql: &str| {
        let (csv, stats) = csv_and_stats(&lake, sql);
        (csv, stats["bytes_read"].as_u64().expect("bytes_read"))
    };
    // 'trace-1000x' sorts between 'trace-1000' and 'trace-1001': min/max keep the row group.
    let lookup = "SELECT count(*) AS n, max(message) AS m FROM {t} WHERE trace_id = '{v}'";
    let ask = |t: &str, v: &str| bytes_read(&lookup.replace("{t}", t).replace("{v}", v));
    let (absent, with_bloom) = ask("ev", "trace-1000x");
    let (absent_too, without) = ask("named", "trace-1000x");
    assert_eq!(absent, "n,m\n0,\n");
    assert_eq!(absent, absent_too);
    assert!(
        with_bloom < without,
        "bloom filter {with_bloom} vs none {without}"
    );
    let (present, _) = ask("ev", "trace-1000");
    assert_eq!(present, "n,m\n1,message 1000\n");
    let (present_too, _) = ask("named", "trace-1000");
    assert_eq!(present, present_too);

    // Compaction writes them too.
    lake.ok(&[
        "query",
        "INSERT INTO ev SELECT 'trace-' || value AS a, value AS b, 'm' AS c, value AS d \
         FROM generate_series(20001, 20100)",
    ]);
    let before = parquet_files(lake.path());
    lake.ok(&["compact", "ev"]);
    let written: Vec<_> = parquet_files(lake.path())
        .into_iter()
        .filter(|p| !before.contains(p))
        .collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert_eq!(bloom_columns(&written[0]), "trace_id,user_id");
    let (found, _) = ask("ev", "trace-20050");
    assert_eq!(found, "n,m\n1,m\n");
}

/// Every Parquet file under `root`, sorted.
fn parquet_files(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read lake dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "parquet") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The columns of a Parquet file's first row group that carry a bloom filter, comma-separated.
fn bloom_columns(path: &std::path::Path) -> String {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    let file = std::fs::File::open(path).expect("open parquet");
    let reader = SerializedFileReader::new(file).expect("parquet footer");
    let row_group = reader.metadata().row_group(0);
    row_group
        .columns()
        .iter()
        .filter(|c| c.bloom_filter_offset().is_some())
        .map(|c| c.column_path().string())
        .collect::<Vec<_>>()
        .join(",")
}

/// A filter every row of every file passes, by the files' exact bounds, is dropped: a day's
/// count on a table partitioned by `day(ts)` is the catalog's row count. A filter that cuts
/// through a file, or reads a column with NULLs, still reads.
#[test]
fn filters_the_statistics_prove_are_dropped() {
    let lake = Lake::new();
    lake.ok(&[
        "query",
        "CREATE TABLE ev (ts TIMESTAMP, n BIGINT, k BIGINT) PARTITIONED BY (day(ts))",
    ]);
    lake.ok(&[
        "query",
        "INSERT INTO ev SELECT to_timestamp(1772582400 + value * 3600) AS ts, \
         value AS n, CASE WHEN value % 7 = 0 THEN NULL ELSE value END AS k \
         FROM generate_series(0, 71)",
    ]);
    let day = "ts >= TIMESTAMP '2026-03-05 00:00:00' AND ts < TIMESTAMP '2026-03-06 00:00:00'";
    let (csv, stats) = csv_and_stats(&lake, &format!("SELECT count(*) AS c FROM ev WHERE {day}"));
    assert_eq!(csv, "c\n24\n");
    assert_eq!(stats["requests"]["ranged_get"], 0, "{stats}");
    let (csv, stats) = csv_and_stats(
        &lake,
        &format!("SELECT count(*) AS c, min(n) AS lo, max(n) AS hi FROM ev WHERE {day} OR n < 0"),
    );
    assert_eq!(csv, "c,lo,hi\n24,24,47\n");
    assert_eq!(stats["requests"]["ranged_get"], 0, "{stats}");
    // Cuts through the day's file: read, and right.
    let (csv, stats) = csv_and_stats(
        &lake,
        "SELECT count(*) AS c FROM ev WHERE ts >= TIMESTAMP '2026-03-05 12:00:00'",
    );
    assert_eq!(csv, "c\n36\n");
    assert!(
        stats["requests"]["ranged_get"].as_u64() > Some(0),
        "{stats}"
    );
    // `k` has NULLs, which the filter drops: read, and right.
    let (csv, stats) = csv_and_stats(&lake, "SELECT count(*) AS c FROM ev WHERE k >= 0");
    assert_eq!(csv, "c\n61\n");
    assert!(
        stats["requests"]["ranged_get"].as_u64() > Some(0),
        "{stats}"
    );
    let explain = lake.ok(&[
        "query",
        &format!("EXPLAIN SELECT count(*) FROM ev WHERE {day}"),
    ]);
    assert!(explain.contains("PlaceholderRowExec"), "{explain}");
}

/// Catalog answers stay exact at the edges: an empty file in a partition of its own adds no
/// group and does not widen `min`/`max`; a filter through a cast is evaluated on the rows.
#[test]
fn catalog_answers_ignore_empty_files_and_casts() {
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let lake = Lake::new();
    let copy = lake.path().join("logs");
    for day in ["2026-03-04", "2026-03-05"] {
        let d = copy.join(format!("dt={day}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(
            fixtures().join(format!("applogs/dt={day}/part-0.parquet")),
            d.join("part-0.parquet"),
        )
        .unwrap();
    }
    let schema = ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(copy.join("dt=2026-03-04/part-0.parquet")).unwrap(),
    )
    .unwrap()
    .schema()
    .clone();
    let empty = copy.join("dt=2026-01-01");
    std::fs::create_dir_all(&empty).unwrap();
    let file = std::fs::File::create(empty.join("part-0.parquet")).unwrap();
    ArrowWriter::try_new(file, schema, None)
        .unwrap()
        .close()
        .unwrap();
    lake.ok(&[
        "table",
        "register",
        "logs",
        "--location",
        copy.to_str().unwrap(),
    ]);
    let (csv, _) = csv_and_stats(&lake, "SELECT min(dt) AS lo, count(*) AS n FROM logs");
    assert_eq!(csv, "lo,n\n2026-03-04,50\n");
    let (csv, _) = csv_and_stats(
        &lake,
        "SELECT min(dt) AS lo FROM logs WHERE dt < DATE '2026-03-05'",
    );
    assert_eq!(csv, "lo\n2026-03-04\n");
    let (csv, _) = csv_and_stats(
        &lake,
        "SELECT dt, count(*) AS n FROM logs GROUP BY dt ORDER BY dt",
    );
    assert_eq!(csv, "dt,n\n2026-03-04,25\n2026-03-05,25\n");

    lake.ok(&["query", "CREATE TABLE t (x BIGINT)"]);
    lake.ok(&["query", "INSERT INTO t VALUES (-1), (0), (1)"]);
    let (csv, _) = csv_and_stats(
        &lake,
        "SELECT count(*) AS n FROM t WHERE CAST(x AS BOOLEAN) >= true",
    );
    assert_eq!(csv, "n\n2\n");
}

#[test]
fn refresh_picks_up_new_and_removed_files() {
    let lake = Lake::new();
    let src = fixtures().join("applogs");
    let copy = lake.path().join("applogs");
    for day in ["2026-03-04", "2026-03-05"] {
        let d = copy.join(format!("dt={day}"));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::copy(
            src.join(format!("dt={day}/part-0.parquet")),
            d.join("part-0.parquet"),
        )
        .unwrap();
    }
    lake.ok(&[
        "table",
        "register",
        "logs",
        "--location",
        copy.to_str().unwrap(),
    ]);
    let count =
        |lake: &Lake| lake.ok(&["query", "SELECT count(*) AS n FROM logs", "--format", "csv"]);
    assert_eq!(count(&lake), "n\n50\n");

    let unchanged = lake.ok(&["table", "refresh", "logs"]);
    assert!(unchanged.contains("up to date"), "{unchanged}");

    let d = copy.join("dt=2026-03-06");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::copy(
        src.join("dt=2026-03-06/part-1.parquet"),
        d.join("part-1.parquet"),
    )
    .unwrap();
    std::fs::remove_file(copy.join("dt=2026-03-04/part-0.parquet")).unwrap();
    let report = lake.ok(&["table", "refresh", "logs"]);
    assert!(
        report.contains("1 files added") && report.contains("1 files removed"),
        "{report}"
    );
    assert_eq!(count(&lake), "n\n50\n");
    let days = lake.ok(&[
        "query",
        "SELECT DISTINCT dt FROM logs ORDER BY dt",
        "--format",
        "csv",
    ]);
    assert_eq!(days, "dt\n2026-03-05\n2026-03-06\n");
    let again = lake.ok(&["table", "refresh", "logs"]);
    assert!(again.contains("up to date"), "{again}");

    let describe = lake.ok(&["table", "describe", "logs"]);
    assert!(describe.contains("files     2"), "{describe}");
    assert!(describe.contains("partitioned by  dt"), "{describe}");

    lake.ok(&["table", "drop", "logs"]);
    let list = lake.ok(&["table", "list"]);
    assert!(list.contains("no tables"), "{list}");
    // Registered files are never deleted.
    assert!(copy.join("dt=2026-03-05/part-0.parquet").exists());
}

#[test]
fn corrupt_parquet_is_reported_by_name() {
    let lake = Lake::new();
    let dir = lake.path().join("bad/dt=2026-01-01");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("broken.parquet"), b"this is not parquet at all").unwrap();
    let out = lake.run(
        &[
            "table",
            "register",
            "bad",
            "--location",
            lake.path().join("bad").to_str().unwrap(),
        ],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.parquet"), "{err}");
    // Nothing was registered.
    assert!(lake.ok(&["table", "list"]).contains("no tables"));
}

#[test]
fn generators_are_deterministic() {
    let lake = Lake::new();
    let generate = |out: &str| {
        lake.ok(&[
            "gen", "trips", "--rows", "3000", "--days", "3", "--out", out,
        ])
    };
    generate("a");
    generate("b");
    let a = std::fs::read(lake.path().join("a/dt=2026-03-02/part-001.parquet")).unwrap();
    let b = std::fs::read(lake.path().join("b/dt=2026-03-02/part-001.parquet")).unwrap();
    assert_eq!(a, b);
    lake.ok(&["table", "register", "trips", "--location", "a"]);
    let n = lake.ok(&[
        "query",
        "SELECT count(*) AS n, count(DISTINCT dt) AS d FROM trips",
        "--format",
        "csv",
    ]);
    assert_eq!(n, "n,d\n3000,3\n");
}

#[test]
fn shell_runs_statements_and_dot_commands() {
    let lake = Lake::new().with_fixtures();
    let out = lake.run(
        &["shell"],
        Some(".tables\nSELECT count(*) AS n\n  FROM rides;\n.describe applogs\n.mode csv\nSELECT 2 AS two;\n.nope\n.quit\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("main.rides"), "{stdout}");
    assert!(stdout.contains("| 120 |"), "multi-line statement: {stdout}");
    assert!(stdout.contains("partitioned by  dt"), "{stdout}");
    assert!(stdout.contains("two\n2\n"), "csv mode: {stdout}");
    assert!(stdout.contains("1 row in"), "timing: {stdout}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown command '.nope'"), "{stderr}");
}

#[test]
fn explain_insert_shows_the_rows_to_insert_under_stratas_writer_and_writes_nothing() {
    let lake = Lake::new();
    lake.ok(&["query", "CREATE TABLE t (a INT, b VARCHAR)"]);
    lake.ok(&["query", "INSERT INTO t VALUES (1, 'x'), (2, 'y')"]);
    let insert = "INSERT INTO t SELECT a + 10, b FROM t WHERE a > 1";
    let plan = lake.ok(&["query", &format!("EXPLAIN {insert}")]);
    assert!(
        plan.contains("StrataWriter: table=main.t")
            && plan.contains("CatalogScanExec: table=main.t"),
        "{plan}"
    );
    assert!(!plan.contains("physical_plan_error"), "{plan}");
    // EXPLAIN ANALYZE would run the plan: it says the write goes another way, and writes nothing.
    let out = lake.run(&["query", &format!("EXPLAIN ANALYZE {insert}")], None);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("runs through Strata's writer"), "{stderr}");
    let (csv, _) = csv_and_stats(&lake, "SELECT count(*) AS c FROM t");
    assert_eq!(csv, "c\n2\n");
    lake.ok(&["query", insert]);
    let (csv, _) = csv_and_stats(&lake, "SELECT count(*) AS c FROM t");
    assert_eq!(csv, "c\n3\n");
}
