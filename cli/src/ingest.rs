//! `strata ingest TABLE INPUTS…`: load CSV, NDJSON or Parquet files into a table, with a
//! progress line (rows and bytes per second) and a report of rejected lines.

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use arrow::array::AsArray;
use arrow::datatypes::Int64Type;
use futures::TryStreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use strata_engine::{
    CreateOptions, Engine, IngestOptions, IngestProgress, IngestReport, InputFormat, OnError,
    StorageConfig, Stores, infer_input_schema, parse_partitioning, read_inputs, split_table_name,
};

use crate::args::{IngestArgs, IngestFormat, OnErrorArg};
use crate::connection::quote;
use crate::remote::Remote;
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

/// The options `args` ask for.
fn options(args: &IngestArgs) -> Result<IngestOptions> {
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
    Ok(IngestOptions {
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
    })
}

/// A spinner on a terminal, and when the ingest started.
fn progress() -> (Option<ProgressBar>, Arc<Bar>) {
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
    (bar, progress)
}

/// Load the files into the local lake.
pub async fn run(engine: &Engine, args: IngestArgs) -> Result<()> {
    let options = options(&args)?;
    let (bar, progress) = progress();
    let started = progress.1;
    let result = engine
        .lake()
        .ingest(&args.table, &args.inputs, options, progress)
        .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print_report(&args, &result?, started)
}

/// Read the files here and send them to the server as a Flight SQL bulk ingest (what ADBC's
/// `adbc_ingest` does): the server writes them in one commit.
pub async fn run_remote(
    remote: &mut Remote,
    storage: &StorageConfig,
    max_value_bytes: usize,
    args: IngestArgs,
) -> Result<()> {
    if args.partitioned_by.is_some() || args.sort_by.is_some() {
        anyhow::bail!(
            "with --server, --partitioned-by and --sort-by are not sent: create the table first (CREATE TABLE … PARTITIONED BY (…) WITH (sort_by = '…')), then ingest into it"
        );
    }
    let options = options(&args)?;
    let stores = Stores::new(storage.clone());
    stores.validate()?;
    let table = identifier(&args.table);
    // The table's columns, as the server reads them; without the table, `--create` infers them.
    let (schema_name, table_name) = split_table_name(&args.table)?;
    let (_, found, _) = remote
        .run(&format!(
            "SELECT count(*) FROM strata_tables() WHERE table_schema = {} AND table_name = {}",
            quote(&schema_name),
            quote(&table_name)
        ))
        .await?;
    let found: Vec<_> = found.try_collect().await?;
    let exists = found
        .first()
        .and_then(|b| b.column(0).as_primitive_opt::<Int64Type>())
        .is_some_and(|c| c.value(0) > 0);
    let existing = if exists {
        let (schema, _, _) = remote
            .run(&format!("SELECT * FROM {table} LIMIT 0"))
            .await?;
        Some(schema)
    } else if args.create {
        None
    } else {
        anyhow::bail!(
            "table '{}' does not exist; create it with CREATE TABLE, or pass --create to infer its columns from the first file",
            args.table
        );
    };
    let create = existing.is_none();
    let target = match existing {
        Some(schema) => schema,
        None => {
            Arc::new(infer_input_schema(&stores, &args.inputs, &options, max_value_bytes).await?)
        }
    };
    let (bar, progress) = progress();
    let started = progress.1;
    let result = async {
        let (stream, tally) = read_inputs(
            &stores,
            &args.inputs,
            &options,
            max_value_bytes,
            target,
            progress,
        )
        .await?;
        let rows = remote.ingest(&args.table, create, stream).await?;
        // The snapshot the ingest committed: the table's newest.
        let (_, batches, _) = remote
            .run(&format!(
                "SELECT max(snapshot_id) FROM strata_history({})",
                quote(&args.table)
            ))
            .await?;
        let batches: Vec<_> = batches.try_collect().await?;
        let snapshot = batches.first().and_then(|b| {
            b.column(0)
                .as_primitive_opt::<Int64Type>()
                .map(|c| c.value(0))
        });
        anyhow::Ok(tally.report(rows.max(0) as u64, create, snapshot))
    }
    .await;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    print_report(&args, &result?, started)
}

/// `schema.table` as a quoted SQL identifier.
fn identifier(name: &str) -> String {
    name.split('.')
        .map(|part| format!("\"{}\"", part.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(".")
}

/// Print the rejected lines, write `--rejects`, and say what was loaded.
fn print_report(args: &IngestArgs, report: &IngestReport, started: Instant) -> Result<()> {
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
