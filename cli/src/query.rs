//! `strata query`: run SQL, write results, report statistics.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Read, Write};

use anyhow::{Context, Result, bail};
use futures::StreamExt;
use strata_engine::Engine;

use crate::args::{Format, QueryArgs, StatsFormat};
use crate::output::{ResultWriter, plain_batch, plain_schema};

/// Read the SQL of `strata query` from its argument, a file, or stdin.
fn read_sql(args: &QueryArgs) -> Result<String> {
    if let Some(sql) = &args.sql {
        return Ok(sql.clone());
    }
    let from_stdin = match &args.file {
        Some(path) if path.as_os_str() != "-" => {
            return std::fs::read_to_string(path)
                .with_context(|| format!("cannot read SQL file '{}'", path.display()));
        }
        _ => true,
    };
    if from_stdin && std::io::stdin().is_terminal() && args.file.is_none() {
        bail!("no SQL given: pass it as an argument, with -f FILE, or on stdin");
    }
    let mut sql = String::new();
    std::io::stdin()
        .read_to_string(&mut sql)
        .context("cannot read SQL from stdin")?;
    Ok(sql)
}

/// `strata query --server …`: the same output, computed by a Strata server.
pub async fn run_remote(args: QueryArgs) -> Result<()> {
    let sql = read_sql(&args)?;
    // The server parses each statement with Strata's own front end: only split here.
    let statements = strata_engine::split_statements(&sql)?;
    if statements.is_empty() {
        bail!("no SQL statement found in the input");
    }
    let mut remote = crate::remote::Remote::connect(&args.remote).await?;
    let count = statements.len();
    for (i, sql) in statements.iter().enumerate() {
        let started = std::time::Instant::now();
        let (schema, batches) = remote.query(sql).await?;
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        let last = i + 1 == count;
        let binary = matches!(args.format, Format::Parquet | Format::Arrow);
        if last || !binary {
            let out: Box<dyn Write + Send> = match &args.output {
                Some(path) => Box::new(BufWriter::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .write(true)
                        // Parquet and Arrow files hold the last result only: replace.
                        .truncate(i == 0 || binary)
                        .append(i > 0 && !binary)
                        .open(path)
                        .with_context(|| {
                            format!("cannot create output file '{}'", path.display())
                        })?,
                )),
                None => Box::new(BufWriter::new(std::io::stdout())),
            };
            let schema = plain_schema(&schema);
            let mut writer = ResultWriter::new(args.format, out, schema.clone())?;
            for batch in &batches {
                writer.write(&plain_batch(batch, &schema)?)?;
            }
            writer.finish()?;
        }
        if let Some(StatsFormat::Json) = args.stats {
            let json = serde_json::json!({
                "statement": i + 1,
                "rows": rows,
                "elapsed_ms": started.elapsed().as_millis() as u64,
                "elapsed_us": started.elapsed().as_micros() as u64,
                "server": args.remote.server,
            });
            eprintln!("{json}");
        }
    }
    Ok(())
}

pub async fn run(engine: &Engine, args: QueryArgs) -> Result<()> {
    let sql = read_sql(&args)?;
    let session = engine.session();
    let statements = session.parse(&sql)?;
    if statements.is_empty() {
        bail!("no SQL statement found in the input");
    }
    let binary = matches!(args.format, Format::Parquet | Format::Arrow);
    if binary && args.output.is_none() && std::io::stdout().is_terminal() {
        bail!(
            "--format {:?} writes binary data: add --output FILE or redirect stdout",
            args.format
        );
    }
    let out: Box<dyn Write + Send> = match &args.output {
        Some(path) => {
            Box::new(BufWriter::new(File::create(path).with_context(|| {
                format!("cannot create output file '{}'", path.display())
            })?))
        }
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let mut out = Some(out);
    let count = statements.len();
    for (i, statement) in statements.into_iter().enumerate() {
        let last = i + 1 == count;
        let mut running = session.run(statement).await?;
        let schema = plain_schema(&running.schema);
        // Binary formats hold one result set: the last statement's.
        let mut writer = if !binary || last {
            let sink = out.take().context("output already closed")?;
            Some(ResultWriter::new(args.format, sink, schema.clone())?)
        } else {
            None
        };
        let mut rows = 0;
        while let Some(batch) = running.stream.next().await {
            let batch = batch.map_err(strata_engine::Error::from)?;
            rows += batch.num_rows();
            if let Some(w) = writer.as_mut() {
                w.write(&plain_batch(&batch, &schema)?)?;
            }
        }
        if let Some(w) = writer {
            w.finish()?;
            if !last && !binary {
                out = Some(match &args.output {
                    Some(path) => Box::new(BufWriter::new(
                        std::fs::OpenOptions::new()
                            .append(true)
                            .open(path)
                            .with_context(|| format!("cannot reopen '{}'", path.display()))?,
                    )),
                    None => Box::new(BufWriter::new(std::io::stdout())),
                });
            }
        }
        let stats = running.stats(rows);
        if let Some(StatsFormat::Json) = args.stats {
            // One line per statement: the numbers are that statement's own.
            let json = serde_json::json!({
                "statement": i + 1,
                "files_scanned": stats.files_scanned,
                "files_pruned": stats.files_pruned,
                "files_total": stats.files_total,
                "rows": stats.rows,
                "bytes_read": stats.requests.bytes_read,
                "requests": stats.requests,
                "elapsed_ms": stats.elapsed_ms as u64,
                "elapsed_us": stats.elapsed_us as u64,
                "snapshot": stats.snapshot,
            });
            eprintln!("{json}");
        }
    }
    Ok(())
}
