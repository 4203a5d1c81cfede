//! `strata`: the command-line interface. Parses flags once, opens the engine, dispatches, and
//! turns any error into one line on stderr and a non-zero exit code.

mod args;
mod config;
mod connection;
mod demo;
mod generate;
mod ingest;
mod maintain;
mod output;
mod progress;
mod query;
mod remote;
mod serve;
mod shell;
mod tables;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;
use std::sync::Arc;

use strata_engine::{Engine, EngineConfig};

use crate::args::{Cli, Command};

/// jemalloc, built with its arenas on transparent huge pages (`thp:always`, set in
/// `.cargo/config.toml`; `_RJEM_MALLOC_CONF` in the environment overrides it at start). The
/// kernel's default `madvise` mode gives huge pages only to memory that asks: aggregations and
/// joins that grow large hash tables then fault in a 2 MiB page instead of 512 small ones (logs
/// q33, 10 M groups, about 1.2 → 0.7 s hot; docs/performance.md). Its own metadata stays on
/// small pages (`metadata_thp:always` made a fresh process's first statement slower).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Errors print on one line, so scripts can grep them.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

async fn run(cli: Cli) -> Result<()> {
    let default_catalog = EngineConfig::default().catalog;
    let Cli {
        config,
        catalog,
        data_path,
        remote,
        command,
    } = cli;
    let env: Vec<(String, String)> = std::env::vars().collect();
    let engine_config = |default: &str| -> Result<EngineConfig> {
        let (config, warnings) = config::load(
            config.as_deref(),
            &env,
            catalog.clone(),
            data_path.clone(),
            default,
        )?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok(config)
    };
    let open = |default: &str| -> Result<Engine> { Ok(Engine::open(&engine_config(default)?)?) };
    // What `serve` and the cluster roles read: `strata.toml`, the environment and the flags.
    let serve_config = || -> Result<(EngineConfig, strata_flight::ServerConfig)> {
        let (engine_config, server, warnings) = config::load_serve(
            config.as_deref(),
            &env,
            catalog.clone(),
            data_path.clone(),
            &default_catalog,
        )?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok((engine_config, server))
    };
    if remote.server.is_some() {
        let local = match &command {
            Command::Gen(_) => Some("gen"),
            Command::Demo(_) => Some("demo"),
            Command::Serve(_) => Some("serve"),
            Command::Scheduler(_) => Some("scheduler"),
            Command::Executor(_) => Some("executor"),
            Command::User(_) => Some("user"),
            Command::Token(_) => Some("token"),
            Command::Config(_) => Some("config"),
            _ => None,
        };
        if let Some(name) = local {
            anyhow::bail!("`strata {name}` runs on this machine and does not take --server");
        }
    }
    // The lake commands, `query` and `shell` run through one connection: the local catalog,
    // or the server given with --server.
    let connect = async || connection::Connection::open(&remote, || open(&default_catalog)).await;
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
            let engine = open(&demo::default_catalog(&args.dir))?;
            demo::run(&engine, &args).await?;
            if args.no_serve {
                return Ok(());
            }
            let server = config::load_server(config.as_deref(), &env)?;
            println!();
            serve::serve(
                engine,
                server,
                &args::ServeArgs {
                    listen: None,
                    insecure: false,
                    retention_every: "1h".into(),
                    exit_with_parent: false,
                    scheduler: None,
                    cluster_min_scan: "1GiB".into(),
                    cluster_local_files: false,
                    cluster_fallback: strata_cluster::Fallback::Local,
                    cluster_tls: Default::default(),
                    cluster_partitions: None,
                },
            )
            .await
        }
        Command::Serve(args) => {
            let (engine_config, server) = serve_config()?;
            let mut engine = Engine::open(&engine_config)?;
            if args.scheduler.is_none()
                && (args.cluster_partitions.is_some()
                    || args.cluster_tls.cluster_tls_cert.is_some())
            {
                eprintln!(
                    "warning: --cluster-partitions and --cluster-tls-* apply to a server with \
                     --scheduler: ignored"
                );
            }
            if let Some(scheduler) = &args.scheduler {
                let min = strata_engine::parse_size(&args.cluster_min_scan)
                    .map_err(|e| anyhow::anyhow!("--cluster-min-scan: {e}"))?;
                let client = strata_cluster::ClusterClient::new(
                    scheduler,
                    min,
                    args.cluster_local_files,
                    args.cluster_fallback,
                    args.cluster_tls.load()?,
                )
                .map_err(|e| anyhow::anyhow!("{e}"))?;
                let client = match args.cluster_partitions {
                    Some(n) => client.with_target_partitions(n.into()),
                    None => client,
                };
                engine = engine.with_cluster(Arc::new(client));
            }
            serve::serve(engine, server, &args).await
        }
        Command::Scheduler(args) => {
            let (engine_config, _) = serve_config()?;
            serve::cluster_role(args.exit_with_parent, async move {
                let options = strata_cluster::SchedulerOptions {
                    listen: serve::socket_address(&args.listen)?,
                    external_host: args.external_host.clone(),
                    executor_timeout_seconds: strata_engine::parse_duration(&args.executor_timeout)
                        .map_err(|e| anyhow::anyhow!("--executor-timeout: {e}"))?
                        .as_secs(),
                    insecure: args.insecure,
                    tls: args.cluster_tls.load()?,
                };
                eprintln!("strata scheduler: listening on {}", options.listen);
                strata_cluster::run_scheduler(&engine_config, options)
                    .await
                    .map_err(|e| anyhow::anyhow!("the scheduler stopped: {e}"))
            })
            .await
        }
        Command::Executor(args) => {
            let (engine_config, _) = serve_config()?;
            serve::cluster_role(args.exit_with_parent, async move {
                let tls = args.cluster_tls.load()?;
                let (host, port) =
                    strata_cluster::scheduler_address(&args.scheduler, tls.is_some())
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                let options = strata_cluster::ExecutorOptions {
                    scheduler_host: host,
                    scheduler_port: port,
                    listen: serve::socket_address(&args.listen)?,
                    external_host: args.external_host.clone(),
                    work_dir: args.work_dir.clone(),
                    vcores: args.vcores,
                    insecure: args.insecure,
                    tls,
                };
                eprintln!("strata executor: serving on {}", options.listen);
                strata_cluster::run_executor(&engine_config, options)
                    .await
                    .map_err(|e| anyhow::anyhow!("the executor stopped: {e}"))
            })
            .await
        }
        Command::User(command) => serve::user(command),
        Command::Token(command) => serve::token(command),
        Command::Config(args::ConfigCommand::Show(args)) => {
            let settings = if args.defaults {
                config::Settings::default()
            } else {
                let (mut settings, warnings) = config::read(config.as_deref(), &env)?;
                for w in warnings {
                    eprintln!("warning: {w}");
                }
                settings.catalog = catalog.or(settings.catalog);
                settings.data_path = data_path.or(settings.data_path);
                settings
            };
            if args.markdown && args.defaults {
                print!("{}", config::settings_document());
            } else {
                print!("{}", config::show(&settings, args.markdown));
            }
            Ok(())
        }
        Command::Ingest(args) if remote.server.is_some() => {
            // The files are read here (with this machine's store settings) and sent to the
            // server, which writes them.
            let config = engine_config(&default_catalog)?;
            let mut server = remote::Remote::connect(&remote).await?;
            let max_value_bytes = config.limits.max_value_bytes;
            ingest::run_remote(&mut server, &config.storage, max_value_bytes, args).await
        }
        Command::Ingest(args) => ingest::run(&open(&default_catalog)?, args).await,
        Command::Table(command) => tables::run(&mut connect().await?, command).await,
        Command::Compact(args) => maintain::compact(&mut connect().await?, args).await,
        Command::Snapshots(command) => maintain::snapshots(&mut connect().await?, command).await,
        Command::Gc(args) => maintain::gc(&mut connect().await?, args).await,
        Command::Query(args) => query::run(&mut connect().await?, args).await,
        Command::Shell => shell::run(&mut connect().await?).await,
    }
}

/// The error and its causes, skipping causes whose text the message already contains (many
/// errors print their source as part of their own message). The engine's and the catalog's
/// errors are complete sentences, so the chain ends at the first of them.
pub fn error_message(e: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        if cause.is::<strata_engine::Error>() || cause.is::<strata_catalog::Error>() {
            break;
        }
    }
    message
}

/// A panic is a bug, but it still ends as one line and an exit code, not an abort.
fn panicked(payload: Box<dyn std::any::Any + Send>) -> anyhow::Error {
    anyhow::anyhow!(
        "internal error: {} (this is a bug in Strata)",
        strata_flight::panic_message(payload.as_ref())
    )
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Query work (parsing, planning, running) happens on the runtime's threads, whose stacks
    // are sized for the deepest expression the engine accepts (`limits.max_expression_depth`);
    // the main thread only waits. A query sent to a server only waits for it: one thread does
    // it all, with no hand-off between threads on every message (the CLI's time per
    // statement includes them).
    let client_only = cli.remote.server.is_some() && matches!(cli.command, Command::Query(_));
    let outcome = if client_only {
        std::thread::Builder::new()
            .name("strata-client".into())
            .stack_size(strata_engine::QUERY_THREAD_STACK)
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .thread_stack_size(strata_engine::QUERY_THREAD_STACK)
                    .build()
                    .map_err(|e| anyhow::anyhow!("cannot start the runtime: {e}"))?
                    .block_on(run(cli))
            })
            .map_err(|e| anyhow::anyhow!("cannot start the client thread: {e}"))
            .and_then(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|payload| Err(panicked(payload)))
            })
    } else {
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(strata_engine::QUERY_THREAD_STACK)
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: cannot start the runtime: {e}");
                return ExitCode::FAILURE;
            }
        };
        match runtime.block_on(runtime.spawn(run(cli))) {
            Ok(outcome) => outcome,
            // A panic is a bug, but it still ends as one line and an exit code, not an abort.
            Err(e) => Err(match e.try_into_panic() {
                Ok(payload) => panicked(payload),
                Err(e) => anyhow::anyhow!("internal error: {e} (this is a bug in Strata)"),
            }),
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stdout (e.g. `| head`) is not an error worth reporting.
            if e.chain().any(|c| {
                c.downcast_ref::<std::io::Error>()
                    .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::SUCCESS;
            }
            eprintln!("error: {}", one_line(&error_message(&e)));
            ExitCode::FAILURE
        }
    }
}
