//! Runs every `tests/slt/*.slt` file against a fresh engine with the fixtures registered, on
//! SQLite, (when `scripts/test.sh` started one) PostgreSQL, and in cluster mode: a scheduler
//! and two executors in this process, every query that reads files sent to them
//! (`--cluster-min-scan 0`, no fallback to local execution). Column types are checked: `I`
//! integers, `R` floating point and decimals, `T` everything else.
//!
//! `STRATA_SLT_COMPLETE=1 cargo test -p strata-cli --test integration sqllogictest` rewrites
//! the files with the results the engine gives (on SQLite): write the statements, complete,
//! then check every result by hand (or against DuckDB) before committing.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::Array;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use sqllogictest::{DBOutput, DefaultColumnType};
use strata_engine::{Engine, EngineConfig, QuerySession};

use crate::common::{Lake, fixtures};

struct StrataDb {
    session: QuerySession,
    /// Statements that ran on the cluster.
    on_cluster: Arc<AtomicUsize>,
    // Keeps the engine (and its catalog) alive while the session runs.
    _engine: Engine,
}

#[derive(Debug)]
struct SltError(String);

impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SltError {}

#[async_trait]
impl sqllogictest::AsyncDB for StrataDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let results = self
            .session
            .run_all(sql)
            .await
            .map_err(|e| SltError(e.to_string()))?;
        let cluster = results.iter().filter(|(_, _, stats)| stats.cluster).count();
        self.on_cluster.fetch_add(cluster, Ordering::Relaxed);
        let Some((schema, batches, _)) = results.into_iter().last() else {
            return Ok(DBOutput::StatementComplete(0));
        };
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let options = FormatOptions::new().with_null("NULL");
        let mut rows = Vec::new();
        for batch in &batches {
            let formatters: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| ArrayFormatter::try_new(c.as_ref() as &dyn Array, &options))
                .collect::<Result<_, _>>()
                .map_err(|e| SltError(e.to_string()))?;
            for row in 0..batch.num_rows() {
                rows.push(
                    formatters
                        .iter()
                        .map(|f| {
                            let s = f.value(row).to_string();
                            if s.is_empty() {
                                "(empty)".to_string()
                            } else {
                                s
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: schema
                .fields()
                .iter()
                .map(|f| column_type(f.data_type()))
                .collect(),
            rows,
        })
    }

    async fn shutdown(&mut self) {}
}

/// The sqllogictest type letter of an Arrow type.
fn column_type(t: &arrow::datatypes::DataType) -> DefaultColumnType {
    use arrow::datatypes::DataType::*;
    match t {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 => {
            DefaultColumnType::Integer
        }
        Float16 | Float32 | Float64 | Decimal32(..) | Decimal64(..) | Decimal128(..)
        | Decimal256(..) => DefaultColumnType::FloatingPoint,
        Dictionary(_, value) => column_type(value),
        _ => DefaultColumnType::Text,
    }
}

/// A fresh PostgreSQL database on the server `STRATA_TEST_POSTGRES` names
/// (`postgres://USER@HOST:PORT`, set by `scripts/test.sh`), as a catalog URL.
async fn postgres_catalog(base: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let name = format!(
        "slt_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    );
    let admin = format!("{base}/postgres");
    let statement = format!("CREATE DATABASE {name}");
    tokio::task::spawn_blocking(move || {
        let mut client = postgres::Client::connect(&admin, postgres::NoTls)
            .unwrap_or_else(|e| panic!("STRATA_TEST_POSTGRES={admin}: {e}"));
        client.batch_execute(&statement).expect("create database");
    })
    .await
    .expect("create database task");
    format!("{base}/{name}")
}

/// Where a file's statements run.
#[derive(Clone, Copy)]
enum Mode<'a> {
    Sqlite,
    /// On a PostgreSQL catalog, on the server at this URL.
    Postgres(&'a str),
    /// On a SQLite catalog, queries on this cluster.
    Cluster(&'a Cluster),
}

impl Mode<'_> {
    fn name(&self) -> &'static str {
        match self {
            Mode::Sqlite => "SQLite",
            Mode::Postgres(_) => "PostgreSQL",
            Mode::Cluster(_) => "the cluster",
        }
    }
}

/// A scheduler and two executors (one task slot each) running in this process.
struct Cluster {
    client: strata_cluster::ClusterClient,
    _work: tempfile::TempDir,
}

fn free_address() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

async fn wait_listening(address: SocketAddr, what: &str) {
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(address).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the {what} did not listen on {address} within 30 s");
}

async fn start_cluster() -> Cluster {
    let work = tempfile::tempdir().expect("work directory");
    let scheduler = free_address();
    tokio::spawn(async move {
        let options = strata_cluster::SchedulerOptions {
            listen: scheduler,
            external_host: None,
            executor_timeout_seconds: 15,
            insecure: false,
            tls: None,
        };
        if let Err(e) = strata_cluster::run_scheduler(&EngineConfig::default(), options).await {
            panic!("the scheduler stopped: {e}");
        }
    });
    wait_listening(scheduler, "scheduler").await;
    for n in 0..2 {
        let listen = free_address();
        let options = strata_cluster::ExecutorOptions {
            scheduler_host: scheduler.ip().to_string(),
            scheduler_port: scheduler.port(),
            listen,
            external_host: None,
            work_dir: work.path().join(format!("executor-{n}")),
            vcores: Some(1),
            insecure: false,
            tls: None,
        };
        tokio::spawn(async move {
            if let Err(e) = strata_cluster::run_executor(&EngineConfig::default(), options).await {
                panic!("executor {n} stopped: {e}");
            }
        });
        wait_listening(listen, "executor").await;
    }
    let client = strata_cluster::ClusterClient::new(
        &format!("http://{scheduler}"),
        0,
        true,
        strata_cluster::Fallback::Fail,
        None,
    )
    .expect("cluster client");
    Cluster {
        client,
        _work: work,
    }
}

/// Run one file; returns how many statements ran on the cluster.
async fn run_file(path: &Path, mode: Mode<'_>) -> usize {
    let lake = Lake::new();
    let (catalog, data_path) = match mode {
        Mode::Sqlite | Mode::Cluster(_) => (lake.catalog(), None),
        Mode::Postgres(base) => (
            postgres_catalog(base).await,
            Some(lake.path().join("data").display().to_string()),
        ),
    };
    let cluster = match mode {
        Mode::Cluster(cluster) => Some(Arc::new(cluster.client.clone())),
        _ => None,
    };
    let on_cluster = Arc::new(AtomicUsize::new(0));
    let engine = Engine::open(&EngineConfig {
        catalog: catalog.clone(),
        data_path: data_path.clone(),
        ..EngineConfig::default()
    })
    .expect("open engine");
    for name in ["applogs", "rides"] {
        engine
            .lake()
            .register_table(name, fixtures().join(name).to_str().expect("path"), &())
            .await
            .expect("register fixture");
    }
    drop(engine);
    let counter = Arc::clone(&on_cluster);
    let mut runner = sqllogictest::Runner::new(move || {
        let catalog = catalog.clone();
        let data_path = data_path.clone();
        let cluster = cluster.clone();
        let on_cluster = Arc::clone(&counter);
        async move {
            let mut engine = Engine::open(&EngineConfig {
                catalog,
                data_path,
                execution: strata_engine::ExecutionConfig {
                    target_partitions: Some(2),
                    ..Default::default()
                },
                ..EngineConfig::default()
            })
            .map_err(|e| SltError(e.to_string()))?;
            if let Some(cluster) = cluster {
                engine = engine.with_cluster(cluster);
            }
            Ok(StrataDb {
                session: engine.session(),
                on_cluster,
                _engine: engine,
            })
        }
    });
    if matches!(mode, Mode::Sqlite) && std::env::var_os("STRATA_SLT_COMPLETE").is_some() {
        runner
            .update_test_file(
                path,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::strict_column_validator,
            )
            .await
            .unwrap_or_else(|e| panic!("completing {}: {e}", path.display()));
        drop(lake);
        return 0;
    }
    runner.with_column_validator(sqllogictest::strict_column_validator);
    runner
        .run_file_async(path)
        .await
        .unwrap_or_else(|e| panic!("{} on {}: {e}", path.display(), mode.name()));
    drop(lake);
    on_cluster.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqllogictest_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/slt");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/slt exists")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", dir.display());
    // Every file runs on a SQLite catalog and, when the test script started a PostgreSQL
    // server, on a PostgreSQL catalog too.
    let postgres = std::env::var("STRATA_TEST_POSTGRES").ok();
    if postgres.is_none() {
        eprintln!("STRATA_TEST_POSTGRES is not set: .slt files run on SQLite only");
    }
    let cluster = start_cluster().await;
    let mut on_cluster = Vec::new();
    for file in &files {
        run_file(file, Mode::Sqlite).await;
        if let Some(base) = &postgres {
            run_file(file, Mode::Postgres(base)).await;
        }
        let name = file.file_name().expect("file name").to_string_lossy();
        on_cluster.push(format!(
            "{name}: {}",
            run_file(file, Mode::Cluster(&cluster)).await
        ));
    }
    eprintln!(
        "statements that ran on the cluster: {}",
        on_cluster.join(", ")
    );
    // Queries over files (the fixtures' and the writes') really went to the executors.
    assert!(
        on_cluster
            .iter()
            .filter(|line| !line.ends_with(": 0"))
            .count()
            >= 3,
        "too few files ran queries on the cluster: {on_cluster:?}"
    );
}
