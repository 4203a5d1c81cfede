//! `strata`: the command-line interface. Parses flags once, opens the engine, dispatches, and
//! turns any error into one line on stderr and a non-zero exit code.

mod args;
mod demo;
mod generate;
mod output;
mod progress;
mod query;
mod shell;
mod tables;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use strata_engine::{Engine, EngineConfig};

use crate::args::{Cli, Command};

/// Errors print on one line, so scripts can grep them.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> Result<()> {
    let default_catalog = EngineConfig::default().catalog;
    let Cli {
        catalog,
        data_path,
        command,
    } = cli;
    let open = |default: &str| -> Result<Engine> {
        let config = EngineConfig {
            catalog: catalog.clone().unwrap_or_else(|| default.to_string()),
            data_path: data_path.clone(),
            ..EngineConfig::default()
        };
        Ok(Engine::open(&config)?)
    };
    match command {
        Command::Gen(args) => {
            let started = std::time::Instant::now();
            let files = generate::generate(&args)?;
            println!(
                "wrote {} rows in {} files under {} ({:.1}s)",
                args.rows,
                files.len(),
                args.out.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Demo(args) => {
            demo::generate_if_absent(&args)?;
            demo::run(&open(&demo::default_catalog(&args.dir))?, &args).await
        }
        Command::Table(command) => tables::run(&open(&default_catalog)?, command).await,
        Command::Query(args) => query::run(&open(&default_catalog)?, args).await,
        Command::Shell(_) => shell::run(&open(&default_catalog)?).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&format!("{e:#}")));
            ExitCode::FAILURE
        }
    }
}
