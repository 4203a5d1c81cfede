//! `strata shell`: an interactive SQL shell with history, multi-line statements ending in `;`,
//! dot-commands and timing.

use std::time::Instant;

use anyhow::Result;
use futures::StreamExt;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;
use strata_engine::Engine;

use crate::args::{Format, TableCommand};
use crate::output::{ResultWriter, plain_batch, plain_schema};

const HELP: &str = "\
.tables              list tables
.describe NAME       columns, partitioning, files and rows of a table
.timing on|off       show elapsed time after each statement (default on)
.mode FORMAT         table, csv, json or ndjson
.help                this text
.quit                leave (also Ctrl-D)
SQL statements end with ';' and may span lines.";

fn history_path() -> Option<std::path::PathBuf> {
    std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".strata_history"))
}

pub async fn run(engine: &Engine) -> Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    println!(
        "Strata {} — type .help for help, .quit to leave",
        env!("CARGO_PKG_VERSION")
    );
    let session = engine.session();
    let mut timing = true;
    let mut mode = Format::Table;
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "strata> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && trimmed.starts_with('.') {
            let _ = editor.add_history_entry(trimmed);
            let mut words = trimmed.split_whitespace();
            let command = words.next().unwrap_or_default();
            let arg = words.next();
            let result = match (command, arg) {
                (".quit" | ".exit", _) => break,
                (".help", _) => {
                    println!("{HELP}");
                    Ok(())
                }
                (".tables", _) => crate::tables::run(engine, TableCommand::List).await,
                (".describe" | ".schema", Some(name)) => {
                    crate::tables::run(engine, TableCommand::Describe { name: name.into() }).await
                }
                (".timing", Some(v)) => {
                    timing = v == "on";
                    Ok(())
                }
                (".mode", Some(m)) => {
                    let chosen = match m {
                        "table" => Some(Format::Table),
                        "csv" => Some(Format::Csv),
                        "json" => Some(Format::Json),
                        "ndjson" => Some(Format::Ndjson),
                        _ => None,
                    };
                    match chosen {
                        Some(f) => {
                            mode = f;
                            Ok(())
                        }
                        None => Err(anyhow::anyhow!(
                            "unknown mode '{m}': table, csv, json or ndjson"
                        )),
                    }
                }
                _ => Err(anyhow::anyhow!("unknown command '{trimmed}'; type .help")),
            };
            if let Err(e) = result {
                eprintln!("error: {}", crate::one_line(&crate::error_message(&e)));
            }
            continue;
        }
        if trimmed.is_empty() && buffer.is_empty() {
            continue;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        if let Err(e) = run_sql(&session, &sql, mode, timing).await {
            eprintln!("error: {}", crate::one_line(&crate::error_message(&e)));
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

async fn run_sql(
    session: &strata_engine::QuerySession,
    sql: &str,
    mode: Format,
    timing: bool,
) -> Result<()> {
    for statement in session.parse(sql)? {
        let started = Instant::now();
        let mut running = session.run(statement).await?;
        let schema = plain_schema(&running.schema);
        let mut writer = ResultWriter::new(mode, std::io::stdout(), schema.clone())?;
        let mut rows = 0;
        while let Some(batch) = running.stream.next().await {
            let batch = batch.map_err(strata_engine::Error::from)?;
            rows += batch.num_rows();
            writer.write(&plain_batch(&batch, &schema)?)?;
        }
        writer.finish()?;
        if timing {
            let stats = running.stats(rows);
            println!(
                "{rows} row{} in {:.3}s ({} of {} files scanned)",
                if rows == 1 { "" } else { "s" },
                started.elapsed().as_secs_f64(),
                stats.files_scanned,
                stats.files_total
            );
        }
    }
    Ok(())
}

/// `strata shell --server …`: the same prompt, with SQL run by a Strata server.
pub async fn run_remote(args: &crate::args::RemoteArgs) -> Result<()> {
    let mut remote = crate::remote::Remote::connect(args).await?;
    let mut editor = DefaultEditor::new()?;
    println!(
        "Strata {} — connected to {}; SQL ends with ';', .quit to leave",
        env!("CARGO_PKG_VERSION"),
        args.server.as_deref().unwrap_or_default()
    );
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() {
            "strata> "
        } else {
            "   ...> "
        };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        let trimmed = line.trim();
        if buffer.is_empty() && (trimmed == ".quit" || trimmed == ".exit") {
            break;
        }
        buffer.push_str(&line);
        buffer.push('\n');
        if !trimmed.ends_with(';') {
            continue;
        }
        let sql = std::mem::take(&mut buffer);
        let _ = editor.add_history_entry(sql.trim());
        let statements = match strata_engine::split_statements(&sql) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                continue;
            }
        };
        // One request a statement, as the embedded shell runs them; the first error stops.
        for statement in statements {
            let started = Instant::now();
            match remote.query(&statement).await {
                Ok((schema, batches)) => {
                    let schema = plain_schema(&schema);
                    let mut writer =
                        ResultWriter::new(Format::Table, std::io::stdout(), schema.clone())?;
                    let mut rows = 0;
                    for batch in &batches {
                        rows += batch.num_rows();
                        writer.write(&plain_batch(batch, &schema)?)?;
                    }
                    writer.finish()?;
                    println!("{rows} rows in {:.3}s", started.elapsed().as_secs_f64());
                }
                Err(e) => {
                    eprintln!("error: {}", crate::one_line(&crate::error_message(&e)));
                    break;
                }
            }
        }
    }
    Ok(())
}
