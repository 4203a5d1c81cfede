//! `strata table …`: register, refresh, list, describe, drop.

use anyhow::Result;
use strata_catalog::RegisterReport;
use strata_engine::{Engine, RequestCounts};

use crate::args::TableCommand;
use crate::progress::FooterProgress;

pub use strata_engine::human_bytes as bytes;

fn print_report(
    name: &str,
    verb: &str,
    (r, requests): &(RegisterReport, RequestCounts),
    elapsed: std::time::Duration,
) {
    let requests = format!(
        "{} listings, {} GETs ({}), {} HEADs",
        requests.list,
        requests.get,
        bytes(requests.bytes_read as i64),
        requests.head
    );
    match r.snapshot {
        None => println!("{name}: up to date, nothing to {verb} ({requests})"),
        Some(s) => {
            println!(
                "{name}: {} files added ({} rows, {}), {} files removed, snapshot {s}, {:.2}s",
                r.files_added,
                r.rows_added,
                bytes(r.bytes_added),
                r.files_removed,
                elapsed.as_secs_f64()
            );
            println!("requests: {requests}");
            if !r.partition_keys.is_empty() {
                let keys: Vec<String> = r
                    .partition_keys
                    .iter()
                    .map(|(k, t)| format!("{k} {t}"))
                    .collect();
                println!("partitioned by: {}", keys.join(", "));
            }
            if !r.columns_added.is_empty() {
                println!("new columns: {}", r.columns_added.join(", "));
            }
        }
    }
}

pub async fn run(engine: &Engine, command: TableCommand) -> Result<()> {
    match command {
        TableCommand::Register { name, location } => {
            let started = std::time::Instant::now();
            let progress = FooterProgress::new("registering");
            let report = engine.register_table(&name, &location, &progress).await;
            progress.finish();
            print_report(&name, "register", &report?, started.elapsed());
        }
        TableCommand::Refresh { name } => {
            let started = std::time::Instant::now();
            let progress = FooterProgress::new("refreshing");
            let report = engine.refresh_table(&name, &progress).await;
            progress.finish();
            print_report(&name, "refresh", &report?, started.elapsed());
        }
        TableCommand::List => {
            let snapshot = engine.catalog().current_snapshot()?;
            let tables = engine.catalog().list_tables(snapshot)?;
            if tables.is_empty() {
                println!(
                    "no tables (register one with `strata table register NAME --location DIR`)"
                );
            }
            for t in tables {
                println!(
                    "{}.{}\t{} files\t{} rows\t{}\t{}",
                    t.schema,
                    t.name,
                    t.summary.files,
                    t.summary.rows,
                    bytes(t.summary.bytes),
                    t.location.as_deref().unwrap_or("(owned)")
                );
            }
        }
        TableCommand::Describe { name } => {
            let meta = engine.table(&name)?;
            let summary = engine.table_summary(&meta)?;
            println!("table     {}.{}", meta.schema, meta.name);
            println!("snapshot  {}", meta.snapshot);
            println!(
                "location  {}",
                meta.location.as_deref().unwrap_or("(owned by Strata)")
            );
            println!("files     {}", summary.files);
            println!("rows      {}", summary.rows);
            println!("bytes     {} ({})", summary.bytes, bytes(summary.bytes));
            let partitioning: Vec<String> = meta
                .partition
                .iter()
                .map(|p| {
                    let col = meta
                        .column(p.column_id)
                        .map(|c| c.name.as_str())
                        .unwrap_or("?");
                    match p.transform {
                        strata_catalog::Transform::Identity => col.to_string(),
                        t => format!("{}({col})", t.as_str()),
                    }
                })
                .collect();
            println!(
                "partitioned by  {}",
                if partitioning.is_empty() {
                    "(none)".to_string()
                } else {
                    partitioning.join(", ")
                }
            );
            for (key, value) in &meta.properties {
                println!("{key:<9} {value}");
            }
            println!("columns:");
            for c in &meta.columns {
                println!(
                    "  {:<4} {:<24} {:<16} {}{}",
                    c.column_id,
                    c.name,
                    c.type_name,
                    if c.nullable { "NULL" } else { "NOT NULL" },
                    if c.from_path { "  (from path)" } else { "" }
                );
            }
        }
        TableCommand::History { name } => {
            let meta = engine.table(&name)?;
            println!(
                "{:<9} {:<27} {:<10} {:<14} changes",
                "snapshot", "time (UTC)", "author", "operation"
            );
            for entry in engine.catalog().history(&meta)? {
                println!(
                    "{:<9} {:<27} {:<10} {:<14} {}",
                    entry.snapshot,
                    entry.time.trim_end_matches("+00"),
                    entry.author.as_deref().unwrap_or("-"),
                    entry.message.as_deref().unwrap_or("-"),
                    entry.changes
                );
            }
        }
        TableCommand::Retention { name, all, dry_run } => {
            crate::maintain::retention(engine, name.as_deref(), all, dry_run).await?;
        }
        TableCommand::Drop { name } => {
            let snapshot = engine.drop_table(&name)?;
            println!("dropped {name} at snapshot {snapshot}; its files were left in place");
        }
    }
    Ok(())
}
