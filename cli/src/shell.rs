//! `strata shell`: an interactive SQL shell with history, multi-line statements ending in `;`,
//! dot-commands and timing.

use crate::args::{Format, TableCommand};
use crate::connection::Connection;
use crate::output::{ResultWriter, plain_batch, plain_schema};
use anyhow::Result;
use futures::StreamExt;
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

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

/// The shell, on the local catalog or (with `--server`) on a server: the same prompt,
/// dot-commands and output either way.
pub async fn run(conn: &mut Connection) -> Result<()> {
    let mut editor = DefaultEditor::new()?;
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    match conn.server() {
        None => println!(
            "Strata {} — type .help for help, .quit to leave",
            env!("CARGO_PKG_VERSION")
        ),
        Some(url) => println!(
            "Strata {} — connected to {url}; type .help for help, .quit to leave",
            env!("CARGO_PKG_VERSION")
        ),
    }
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
                (".tables", _) => crate::tables::run(conn, TableCommand::List).await,
                (".describe" | ".schema", Some(name)) => {
                    crate::tables::run(conn, TableCommand::Describe { name: name.into() }).await
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
        if let Err(e) = run_sql(conn, &sql, mode, timing).await {
            eprintln!("error: {}", crate::one_line(&crate::error_message(&e)));
        }
    }
    if let Some(h) = &history {
        let _ = editor.save_history(h);
    }
    Ok(())
}

/// Run each statement of `sql` in turn; the first error stops the rest.
async fn run_sql(conn: &mut Connection, sql: &str, mode: Format, timing: bool) -> Result<()> {
    for statement in conn.split(sql)? {
        let mut output = conn.run(&statement).await?;
        let schema = plain_schema(&output.schema);
        let mut writer = ResultWriter::new(mode, std::io::stdout(), schema.clone())?;
        let mut rows = 0;
        while let Some(batch) = output.stream.next().await {
            let batch = batch?;
            rows += batch.num_rows();
            writer.write(&plain_batch(&batch, &schema)?)?;
        }
        writer.finish()?;
        if timing {
            println!("{}", output.stats(rows).line());
        }
    }
    Ok(())
}
