//! `strata table …`: register, refresh, list, describe, history, retention, drop. Each is a
//! statement sent through the [`Connection`] — `CALL register/refresh/retention`, the
//! `strata_tables()`, `strata_columns()` and `strata_history()` table functions, `DROP TABLE` —
//! so they print the same embedded and with `--server`.

use std::sync::Arc;

use anyhow::{Result, bail};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType};

use crate::args::TableCommand;
use crate::connection::{Connection, quote};
use crate::progress::FooterProgress;

pub use strata_engine::human_bytes as bytes;

/// Print each line a procedure said.
/// A text cell (`None` for NULL); columns of other types are cast.
fn text(batch: &RecordBatch, column: &str, row: usize) -> Option<String> {
    let array = batch.column_by_name(column)?;
    if array.is_null(row) {
        return None;
    }
    let array = arrow::compute::cast(array, &arrow::datatypes::DataType::Utf8).ok()?;
    Some(array.as_string::<i32>().value(row).to_string())
}

fn number(batch: &RecordBatch, column: &str, row: usize) -> i64 {
    batch
        .column_by_name(column)
        .and_then(|a| arrow::compute::cast(a, &arrow::datatypes::DataType::Int64).ok())
        .map(|a| a.as_primitive::<Int64Type>().value(row))
        .unwrap_or_default()
}

fn flag(batch: &RecordBatch, column: &str, row: usize) -> bool {
    batch
        .column_by_name(column)
        .and_then(|a| a.as_boolean_opt().map(|b| b.value(row)))
        .unwrap_or_default()
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` (UTC) of a timestamp cell.
fn time(batch: &RecordBatch, column: &str, row: usize) -> String {
    batch
        .column_by_name(column)
        .and_then(|a| {
            arrow::compute::cast(
                a,
                &arrow::datatypes::DataType::Timestamp(
                    arrow::datatypes::TimeUnit::Microsecond,
                    None,
                ),
            )
            .ok()
        })
        .filter(|a| !a.is_null(row))
        .and_then(|a| {
            chrono::DateTime::from_timestamp_micros(
                a.as_primitive::<TimestampMicrosecondType>().value(row),
            )
        })
        .map(|t| t.format("%Y-%m-%d %H:%M:%S%.6f").to_string())
        .unwrap_or_else(|| "-".into())
}

/// Every row of `batches`, as (batch, row) pairs.
fn rows(batches: &[RecordBatch]) -> impl Iterator<Item = (&RecordBatch, usize)> {
    batches
        .iter()
        .flat_map(|b| (0..b.num_rows()).map(move |r| (b, r)))
}

/// `(schema, name)` of a table name as the CLI takes it (`NAME` or `SCHEMA.NAME`).
fn split_name(name: &str) -> (String, String) {
    match name.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => (strata_engine::DEFAULT_SCHEMA.to_string(), name.to_string()),
    }
}

pub async fn run(conn: &mut Connection, command: TableCommand) -> Result<()> {
    match command {
        TableCommand::Register { name, location } => {
            let progress = Arc::new(FooterProgress::new("registering"));
            conn.set_progress(progress.clone());
            let result = conn
                .lines(&format!(
                    "CALL register({}, {})",
                    quote(&name),
                    quote(&location)
                ))
                .await;
            progress.finish();
            result?.iter().for_each(|line| println!("{line}"));
        }
        TableCommand::Refresh { name } => {
            let progress = Arc::new(FooterProgress::new("refreshing"));
            conn.set_progress(progress.clone());
            let result = conn.lines(&format!("CALL refresh({})", quote(&name))).await;
            progress.finish();
            result?.iter().for_each(|line| println!("{line}"));
        }
        TableCommand::List => {
            let batches = conn
                .collect(
                    "SELECT table_schema, table_name, files, rows, bytes, location FROM strata_tables() ORDER BY table_schema, table_name",
                )
                .await?;
            if batches.iter().all(|b| b.num_rows() == 0) {
                println!(
                    "no tables (register one with `strata table register NAME --location DIR`)"
                );
            }
            for (b, r) in rows(&batches) {
                println!(
                    "{}.{}\t{} files\t{} rows\t{}\t{}",
                    text(b, "table_schema", r).unwrap_or_default(),
                    text(b, "table_name", r).unwrap_or_default(),
                    number(b, "files", r),
                    number(b, "rows", r),
                    bytes(number(b, "bytes", r)),
                    text(b, "location", r).unwrap_or_else(|| "(owned)".into())
                );
            }
        }
        TableCommand::Describe { name } => describe(conn, &name).await?,
        TableCommand::History { name } => {
            let batches = conn
                .collect(&format!(
                    "SELECT snapshot_id, snapshot_time, author, message, changes FROM strata_history({}) ORDER BY snapshot_id",
                    quote(&name)
                ))
                .await?;
            println!(
                "{:<9} {:<27} {:<10} {:<14} changes",
                "snapshot", "time (UTC)", "author", "operation"
            );
            for (b, r) in rows(&batches) {
                println!(
                    "{:<9} {:<27} {:<10} {:<14} {}",
                    number(b, "snapshot_id", r),
                    time(b, "snapshot_time", r),
                    text(b, "author", r).unwrap_or_else(|| "-".into()),
                    text(b, "message", r).unwrap_or_else(|| "-".into()),
                    text(b, "changes", r).unwrap_or_default()
                );
            }
        }
        TableCommand::Retention { name, all, dry_run } => {
            crate::maintain::retention(conn, name.as_deref(), all, dry_run).await?;
        }
        TableCommand::Drop { name } => {
            conn.collect(&format!("DROP TABLE {}", sql_name(&name)))
                .await?;
            println!("dropped {name}; its files were left in place");
        }
    }
    Ok(())
}

/// A table name as a SQL identifier: `"schema"."name"`.
fn sql_name(name: &str) -> String {
    let ident = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    match name.split_once('.') {
        Some((s, t)) => format!("{}.{}", ident(s), ident(t)),
        None => ident(name),
    }
}

async fn describe(conn: &mut Connection, name: &str) -> Result<()> {
    // strata_columns('name') fails with a clear message when the table does not exist.
    let columns = conn
        .collect(&format!(
            "SELECT column_id, column_name, data_type, is_nullable, from_path FROM strata_columns({}) ORDER BY column_id",
            quote(name)
        ))
        .await?;
    let (schema, table) = split_name(name);
    let info = conn
        .collect(&format!(
            "SELECT * FROM strata_tables() WHERE table_schema = {} AND table_name = {}",
            quote(&schema),
            quote(&table)
        ))
        .await?;
    let Some((b, r)) = rows(&info).next() else {
        bail!("table '{schema}.{table}' does not exist");
    };
    println!("table     {schema}.{table}");
    println!("snapshot  {}", number(b, "snapshot", r));
    println!(
        "location  {}",
        text(b, "location", r).unwrap_or_else(|| "(owned by Strata)".into())
    );
    println!("files     {}", number(b, "files", r));
    println!("rows      {}", number(b, "rows", r));
    let size = number(b, "bytes", r);
    println!("bytes     {size} ({})", bytes(size));
    println!(
        "partitioned by  {}",
        text(b, "partitioned_by", r).unwrap_or_else(|| "(none)".into())
    );
    // Properties arrive as a JSON object of text values.
    let properties: serde_json::Map<String, serde_json::Value> = text(b, "properties", r)
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default();
    for (key, value) in &properties {
        println!("{key:<9} {}", value.as_str().unwrap_or_default());
    }
    println!("columns:");
    for (b, r) in rows(&columns) {
        println!(
            "  {:<4} {:<24} {:<16} {}{}",
            number(b, "column_id", r),
            text(b, "column_name", r).unwrap_or_default(),
            text(b, "data_type", r).unwrap_or_default(),
            if flag(b, "is_nullable", r) {
                "NULL"
            } else {
                "NOT NULL"
            },
            if flag(b, "from_path", r) {
                "  (from path)"
            } else {
                ""
            }
        );
    }
    Ok(())
}
