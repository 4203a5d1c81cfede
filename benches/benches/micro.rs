//! Micro-benchmarks of Strata's hot paths, with criterion (`cargo bench -p strata-benches`):
//!
//! - `plan/*`: planning a query (SQL to a physical plan, no data read) over a catalog table of
//!   100,000 files, with a time filter that keeps 100 of them and with none;
//! - `prune/*`: the catalog's candidate-file query alone, for the same two cases;
//! - `footer/*`: decoding the footer of a 105-column Parquet file, and turning it into the
//!   per-column statistics the catalog records.

use std::hint::black_box;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::ParquetMetaDataReader;
use strata_catalog::{Bound, ColumnRange, ColumnStats, FileQuery, NewFile, TableMeta};
use strata_engine::{Engine, EngineConfig};

const FILES: usize = 100_000;

/// A lake whose table `logs(ts, host, status, bytes)` has `FILES` files, file `i` holding the
/// minute `2026-01-01 00:00 + i minutes` (statistics only: planning never opens a file).
fn lake(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, Engine, TableMeta) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let engine = Engine::open(&EngineConfig {
        catalog: format!("sqlite:{}", dir.path().join("strata.db").display()),
        ..EngineConfig::default()
    })
    .expect("open engine");
    rt.block_on(
        engine
            .session()
            .run_all("CREATE TABLE logs (ts TIMESTAMP, host VARCHAR, status INT, bytes BIGINT)"),
    )
    .expect("create table");
    let meta = engine.lake().table("logs").expect("table");
    let base = chrono::NaiveDate::from_ymd_opt(2026, 1, 1)
        .expect("date")
        .and_hms_opt(0, 0, 0)
        .expect("time");
    let files: Vec<NewFile> = (0..FILES)
        .map(|i| {
            let start = base + chrono::Duration::minutes(i as i64);
            let end = start + chrono::Duration::seconds(59);
            let stat = |id: i64, min: String, max: String| ColumnStats {
                column_id: id,
                min: Some(min),
                max: Some(max),
                null_count: Some(0),
                value_count: Some(1000),
                size_bytes: Some(4000),
            };
            NewFile {
                path: format!("{}f{i:06}.parquet", meta.path),
                record_count: 1000,
                file_size: 50_000,
                footer_size: 900,
                metadata_bytes: 1200,
                partition_values: Vec::new(),
                stats: vec![
                    stat(1, start.to_string(), end.to_string()),
                    stat(2, "host-000".into(), "host-999".into()),
                    stat(3, "200".into(), "503".into()),
                    stat(4, "0".into(), "1000000".into()),
                ],
            }
        })
        .collect();
    engine
        .catalog()
        .append(&meta, &files, "bench", "100k files")
        .expect("append files");
    let meta = engine.lake().table("logs").expect("table");
    (dir, engine, meta)
}

/// Plan `sql` to a started (never polled) stream: parsing, logical and physical planning,
/// catalog reads and pruning.
async fn plan(engine: &Engine, sql: &str) {
    let session = engine.session();
    let statement = session
        .parse(sql)
        .expect("parse")
        .pop()
        .expect("a statement");
    let running = session
        .prepare(statement)
        .await
        .expect("prepare")
        .execute(None)
        .await
        .expect("plan");
    black_box(running);
}

fn planning(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (_dir, engine, meta) = lake(&rt);
    // 100 of the 100,000 files: 100 minutes on day 10.
    let selective = "SELECT host, count(*) FROM logs WHERE ts >= TIMESTAMP '2026-01-10 00:00:00' AND ts < TIMESTAMP '2026-01-10 01:40:00' GROUP BY host";
    let all = "SELECT host, sum(bytes) FROM logs GROUP BY host";
    let mut group = c.benchmark_group("plan");
    group.sample_size(10);
    group.bench_function("100k_files/time_filter_100", |b| {
        b.iter(|| rt.block_on(plan(&engine, selective)))
    });
    group.bench_function("100k_files/no_filter", |b| {
        b.iter(|| rt.block_on(plan(&engine, all)))
    });
    group.finish();

    let mut group = c.benchmark_group("prune");
    group.sample_size(10);
    let range = FileQuery {
        ranges: vec![ColumnRange {
            column_id: 1,
            bounds: vec![
                Bound::Lower {
                    value: "2026-01-10 00:00:00".into(),
                    strict: false,
                },
                Bound::Upper {
                    value: "2026-01-10 01:40:00".into(),
                    strict: true,
                },
            ],
        }],
        stats_columns: Some(vec![1]),
    };
    let candidates = engine
        .catalog()
        .candidate_files(&meta, &range)
        .expect("candidates");
    assert_eq!(candidates.total_files, FILES);
    assert_eq!(
        candidates.files.len(),
        100,
        "the time range keeps 100 files"
    );
    group.bench_function("catalog_candidates/100k_files/time_filter_100", |b| {
        b.iter(|| black_box(engine.catalog().candidate_files(&meta, &range)))
    });
    let everything = FileQuery {
        ranges: Vec::new(),
        stats_columns: Some(vec![1]),
    };
    group.bench_function("catalog_candidates/100k_files/no_filter", |b| {
        b.iter(|| black_box(engine.catalog().candidate_files(&meta, &everything)))
    });
    group.finish();
}

/// A Parquet file of 105 columns (half integers, half strings), 3 row groups of 10,000 rows,
/// with statistics and page indexes as Strata writes them.
fn wide_file() -> Bytes {
    let fields: Vec<Field> = (0..105)
        .map(|i| {
            let t = if i % 2 == 0 {
                DataType::Int64
            } else {
                DataType::Utf8
            };
            Field::new(format!("c{i:03}"), t, true)
        })
        .collect();
    let schema = Arc::new(Schema::new(fields));
    let mut out = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut out, schema.clone(), None).expect("writer");
    for g in 0..3i64 {
        let columns: Vec<ArrayRef> = (0..105)
            .map(|i| -> ArrayRef {
                if i % 2 == 0 {
                    Arc::new(Int64Array::from_iter_values(
                        (0..10_000).map(|r| g * 10_000 + r * i as i64),
                    ))
                } else {
                    Arc::new(StringArray::from_iter_values(
                        (0..10_000).map(|r| format!("value-{}", (r * 7 + i as i64) % 5000)),
                    ))
                }
            })
            .collect();
        writer
            .write(&RecordBatch::try_new(schema.clone(), columns).expect("batch"))
            .expect("write");
        writer.flush().expect("row group");
    }
    writer.close().expect("close");
    Bytes::from(out)
}

fn footers(c: &mut Criterion) {
    let file = wide_file();
    let len = file.len();
    let footer_len =
        u32::from_le_bytes(file[len - 8..len - 4].try_into().expect("4 bytes")) as usize;
    let footer = file.slice(len - 8 - footer_len..len - 8);
    let mut group = c.benchmark_group("footer");
    group.bench_function("decode/105_columns_3_row_groups", |b| {
        b.iter(|| black_box(ParquetMetaDataReader::decode_metadata(&footer).expect("decode")))
    });
    let metadata = ParquetMetaDataReader::decode_metadata(&footer).expect("decode");
    group.bench_function("catalog_stats/105_columns_3_row_groups", |b| {
        b.iter(|| {
            black_box(
                strata_catalog::footer_stats(&metadata, footer_len as i64, len as u64)
                    .expect("stats"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, planning, footers);
criterion_main!(benches);
