//! `strata ingest TABLE INPUTS…`: load CSV, NDJSON or Parquet files into a table, with a
//! progress line (rows and bytes per second) and a report of rejected lines.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use strata_engine::{
    CreateOptions, Engine, IngestOptions, IngestProgress, InputFormat, OnError, parse_partitioning,
};

use crate::args::{IngestArgs, IngestFormat, OnErrorArg};
use crate::tables::bytes;

/// Rejected lines printed on stderr; the rest are counted (and all go to `--rejects`).
const PRINTED_REJECTS: usize = 20;

struct Bar(Option<ProgressBar>, Instant);

impl IngestProgress for Bar {
    fn update(&self, rows: u64, read: u64) {
        if let Some(bar) = &self.0 {
            let secs = self.1.elapsed().as_secs_f64().max(0.001);
            bar.set_message(format!(
                "{rows} rows, {} read ({:.0} rows/s, {}/s)",
                bytes(read as i64),
                rows as f64 / secs,
                bytes((read as f64 / secs) as i64)
            ));
        }
    }
}

pub async fn run(engine: &Engine, args: IngestArgs) -> Result<()> {
    let mut create_options = CreateOptions::default();
    if let Some(p) = &args.partitioned_by {
        create_options.partition = parse_partitioning(p)?;
    }
    if let Some(s) = &args.sort_by {
        create_options
            .properties
            .push(("sort_by".to_string(), s.clone()));
    }
    if !args.create && (args.partitioned_by.is_some() || args.sort_by.is_some()) {
        anyhow::bail!("--partitioned-by and --sort-by apply to a table made with --create");
    }
    let options = IngestOptions {
        format: args.format.map(|f| match f {
            IngestFormat::Csv => InputFormat::Csv,
            IngestFormat::Ndjson => InputFormat::Ndjson,
            IngestFormat::Parquet => InputFormat::Parquet,
        }),
        on_error: match args.on_error {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Skip => OnError::Skip,
        },
        max_errors: args.max_errors,
        create: args.create,
        create_options,
    };
    let started = Instant::now();
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(std::time::Duration::from_millis(200));
        bar
    });
    let progress = Arc::new(Bar(bar.clone(), started));
    let result = engine
        .lake()
        .ingest(&args.table, &args.inputs, options, progress)
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let report = result?;
    for r in report.rejected.iter().take(PRINTED_REJECTS) {
        eprintln!("rejected {}:{}: {}", r.file, r.line, r.reason);
    }
    if report.rejected_total as usize > PRINTED_REJECTS {
        eprintln!(
            "… and {} more rejected lines",
            report.rejected_total as usize - PRINTED_REJECTS
        );
    }
    if let Some(path) = &args.rejects {
        let mut out = std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        );
        for r in &report.rejected {
            let line = serde_json::json!({"file": r.file, "line": r.line, "reason": r.reason});
            writeln!(out, "{line}")?;
        }
        out.flush()?;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}{}: {} rows from {} files ({} read) in {:.2}s ({:.0} rows/s), {} lines rejected{}",
        if report.created { "created " } else { "" },
        args.table,
        report.rows,
        report.files,
        bytes(report.bytes_read as i64),
        secs,
        report.rows as f64 / secs.max(0.001),
        report.rejected_total,
        report
            .snapshot
            .map(|s| format!(", snapshot {s}"))
            .unwrap_or_default()
    );
    Ok(())
}
