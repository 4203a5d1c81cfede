//! `strata query`: run SQL, write results, report statistics.

use std::io::{BufWriter, IsTerminal, Read, Write};

use crate::args::{Format, QueryArgs, StatsFormat};
use crate::connection::Connection;
use crate::output::{ResultWriter, plain_batch, plain_schema};
use anyhow::{Context, Result, bail};
use futures::StreamExt;

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

/// Where results go: `--output FILE` (replaced by the first statement that writes, appended to
/// by the ones after it) or stdout.
fn sink(args: &QueryArgs, replace: bool) -> Result<Box<dyn Write + Send>> {
    Ok(match &args.output {
        Some(path) => Box::new(BufWriter::new(
            std::fs::OpenOptions::new()
                .create(true)
                .write(true)
                .truncate(replace)
                .append(!replace)
                .open(path)
                .with_context(|| format!("cannot create output file '{}'", path.display()))?,
        )),
        None => Box::new(BufWriter::new(std::io::stdout())),
    })
}

/// `strata query`: run each statement through `conn` (the local catalog, or a server with
/// `--server`: the same output either way) and write its result.
pub async fn run(conn: &mut Connection, args: QueryArgs) -> Result<()> {
    let sql = read_sql(&args)?;
    let statements = conn.split(&sql)?;
    if args.no_result_cache {
        conn.set_result_cache(false);
    }
    let binary = matches!(args.format, Format::Parquet | Format::Arrow);
    if binary && args.output.is_none() && std::io::stdout().is_terminal() {
        bail!(
            "--format {:?} writes binary data: add --output FILE or redirect stdout",
            args.format
        );
    }
    let count = statements.len();
    let mut written = false;
    // Statements (1-based) that returned rows, and how many, for --fail-if-rows.
    let mut failed: Vec<(usize, usize)> = Vec::new();
    for (i, text) in statements.iter().enumerate() {
        let last = i + 1 == count;
        let mut output = conn.run(text).await?;
        let schema = plain_schema(&output.schema);
        // Binary formats hold one result set: the last statement's.
        let mut writer = if !binary || last {
            let out = sink(&args, binary || !written)?;
            written = true;
            Some(ResultWriter::new(args.format, out, schema.clone())?)
        } else {
            None
        };
        let mut rows = 0;
        while let Some(batch) = output.stream.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            if let Some(w) = writer.as_mut() {
                w.write(&plain_batch(&batch, &schema)?)?;
            }
        }
        if let Some(w) = writer {
            w.finish()?;
        }
        if rows > 0 {
            failed.push((i + 1, rows));
        }
        if let Some(StatsFormat::Json) = args.stats {
            // One line per statement: the numbers are that statement's own.
            let mut json = output.stats(rows).json(i + 1);
            if let Some(server) = conn.server() {
                json["server"] = server.into();
            }
            // One write: stderr is unbuffered, and `Value`'s Display writes token by token
            // (160 system calls a statement).
            let line = format!("{json}\n");
            let _ = std::io::Write::write_all(&mut std::io::stderr().lock(), line.as_bytes());
        }
    }
    if args.fail_if_rows && !failed.is_empty() {
        let which: Vec<String> = failed
            .iter()
            .map(|(statement, rows)| format!("statement {statement} returned {rows} row(s)"))
            .collect();
        bail!("check failed (--fail-if-rows): {}", which.join(", "));
    }
    Ok(())
}

/// Run one statement and print its result as a table on stdout.
pub async fn print_table(conn: &mut Connection, sql: &str) -> Result<()> {
    let mut output = conn.run(sql).await?;
    let schema = plain_schema(&output.schema);
    let mut writer = ResultWriter::new(Format::Table, std::io::stdout(), schema.clone())?;
    while let Some(batch) = output.stream.next().await {
        writer.write(&plain_batch(&batch?, &schema)?)?;
    }
    writer.finish()
}
