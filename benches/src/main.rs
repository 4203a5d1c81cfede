//! `strata-bench`: generates the benchmark data sets, runs the query suites on Strata and its
//! peers (DuckDB, datafusion-cli) over the same files, checks that their answers agree, and
//! writes Markdown and CSV reports of times and ratios under `benches/results/`.
//!
//! Method (ClickBench's): for each query, every engine in turn (engines interleaved query by
//! query) runs the query in a fresh process (or a freshly started server): the first run is
//! the cold run, the best of the next `--hot-runs` is the hot time. A result that differs from
//! the reference engine's is reported as a wrong answer, not a time.

mod cluster;
mod columns;
mod engines;
mod flight;
mod fuzz;
mod load;
mod logs;
mod report;
mod results;
mod rng;
mod s3;
mod server;
mod trips;

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "strata-bench", about = "Strata's benchmark runner")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Generate a suite's data (deterministic, in parallel)
    Gen(GenArgs),
    /// Run a suite's queries on every engine and write the report
    Run(RunArgs),
    /// Tiny data, every suite, every available engine: checks the runner and the answers
    Smoke(SmokeArgs),
    /// Many concurrent Flight SQL clients against `strata serve`: throughput, latency,
    /// errors and the server's memory over time
    Load(load::LoadArgs),
    /// SQLsmith-style fuzzing of `strata serve`, with DuckDB as a differential oracle; or
    /// `--replay` the regression cases it kept
    Fuzz(fuzz::FuzzArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Suite {
    /// ClickBench's 43 queries over a generated 105-column `hits` table
    Logs,
    /// The four "1.1 billion taxi rides" queries and trip-dashboard queries
    Trips,
    /// The 22 TPC-H queries over `tpchgen-cli` Parquet
    Tpch,
}

impl Suite {
    pub fn name(self) -> &'static str {
        match self {
            Suite::Logs => "logs",
            Suite::Trips => "trips",
            Suite::Tpch => "tpch",
        }
    }

    /// Table names; each table's files are in the directory of that name under the data
    /// directory.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Suite::Logs => &["hits"],
            Suite::Trips => &["trips"],
            Suite::Tpch => &[
                "customer", "lineitem", "nation", "orders", "part", "partsupp", "region",
                "supplier",
            ],
        }
    }

    /// Hive partition key of the generated files, if partitioned.
    pub fn partition_key(self) -> Option<&'static str> {
        match self {
            Suite::Logs => Some("day"),
            Suite::Trips => Some("month"),
            Suite::Tpch => None,
        }
    }
}

/// Where the engines read the files from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Storage {
    /// The data directory on local disk
    Local,
    /// A moto S3 emulator, through a proxy adding `--latency-ms` to every request
    S3,
}

impl Storage {
    pub fn name(self) -> &'static str {
        match self {
            Storage::Local => "local",
            Storage::S3 => "s3",
        }
    }
}

#[derive(Debug, Args)]
struct GenArgs {
    #[arg(value_enum)]
    suite: Suite,
    /// 1.0 = 10 M hits, 20 M trips, or TPC-H scale factor 1
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Data directory [default: benches/data/<suite>-<scale>]
    #[arg(long)]
    data: Option<PathBuf>,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Python environment whose bin/ holds tpchgen-cli (for tpch)
    #[arg(long)]
    python: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct RunArgs {
    #[arg(value_enum)]
    pub suite: Suite,
    #[arg(long, default_value_t = 1.0)]
    pub scale: f64,
    /// Data directory [default: benches/data/<suite>-<scale>]; generated when missing
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Engines to run, in this order: strata, strata-flight, duckdb, datafusion-cli; also
    /// strata-disk (Strata with the disk tier, warmed by an untimed run in another process, so
    /// its cold run is a restart with a warm disk tier; meant for --storage s3) and
    /// strata-cluster (with --executors) [default: strata,strata-flight,duckdb,datafusion-cli;
    /// with --executors: strata-flight,strata-cluster,duckdb]
    #[arg(long, value_delimiter = ',')]
    pub engines: Option<Vec<String>>,
    /// Cluster mode: run the strata-cluster engine, a loopback cluster of a `strata scheduler`
    /// and this many `strata executor`s behind a `strata serve --scheduler` that sends every
    /// query there, started afresh for each query; the report (`<suite>-<storage>-cluster`)
    /// compares it with one server (strata-flight) and says what each executor did
    #[arg(long, default_value_t = 0)]
    pub executors: usize,
    /// With --executors: task slots of each executor (`--vcores`); the cluster's server plans
    /// for executors × this many partitions [default: the cores divided among the executors]
    #[arg(long)]
    pub executor_vcores: Option<usize>,
    /// Hot runs after the cold one; the best counts
    #[arg(long, default_value_t = 3)]
    pub hot_runs: usize,
    /// Where the files are read from: local disk, or an S3 emulator they are uploaded to
    #[arg(long, value_enum, default_value = "local")]
    pub storage: Storage,
    /// With `--storage s3`: delay added to every request, in milliseconds (models the
    /// first-byte latency of cloud object storage)
    #[arg(long, default_value_t = 30)]
    pub latency_ms: u64,
    /// Drop the OS page cache before every cold run (needs root), so cold runs read from disk
    #[arg(long)]
    pub drop_caches: bool,
    /// Only these queries (file stems, e.g. q01,q29)
    #[arg(long, value_delimiter = ',')]
    pub queries: Vec<String>,
    /// Where reports go
    #[arg(long, default_value = "benches/results")]
    pub results: PathBuf,
    /// The strata binary [default: target/release/strata under $CARGO_TARGET_DIR or ./target]
    #[arg(long)]
    pub strata: Option<PathBuf>,
    /// Python with the duckdb and pyarrow packages [default: .venv/bin/python, else python3]
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// datafusion-cli [default: on PATH]; skipped when absent
    #[arg(long)]
    pub datafusion_cli: Option<PathBuf>,
}

impl RunArgs {
    /// The engines to run, in order.
    pub fn engines(&self) -> Vec<String> {
        let default: &[&str] = if self.executors > 0 {
            &["strata-flight", "strata-cluster", "duckdb"]
        } else {
            &["strata", "strata-flight", "duckdb", "datafusion-cli"]
        };
        self.engines
            .clone()
            .unwrap_or_else(|| default.iter().map(|e| e.to_string()).collect())
    }

    /// The cluster engine's layout (with `--executors`).
    pub fn cluster(&self) -> Option<cluster::Shape> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        (self.executors > 0).then(|| cluster::Shape {
            executors: self.executors,
            vcores: self
                .executor_vcores
                .unwrap_or((cores / self.executors).max(1)),
        })
    }
}

#[derive(Debug, Args)]
struct SmokeArgs {
    #[arg(long)]
    strata: Option<PathBuf>,
    #[arg(long)]
    python: Option<PathBuf>,
    /// Where the tiny data and reports go [default: a new temporary directory]
    #[arg(long)]
    dir: Option<PathBuf>,
}

pub fn default_data(suite: Suite, scale: f64) -> PathBuf {
    PathBuf::from(format!("benches/data/{}-{scale}", suite.name()))
}

/// `tpchgen-cli` beside `python` (a virtual environment's), else on PATH.
pub fn tpchgen(python: Option<&std::path::Path>) -> PathBuf {
    python
        .and_then(|p| p.parent())
        .map(|bin| bin.join("tpchgen-cli"))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from("tpchgen-cli"))
}

/// What the generators write, bumped when that changes so that data generated before is
/// generated again (kept in `data/.strata-bench-data`; TPC-H's data is tpchgen-cli's).
const DATA_VERSION: &str = "3: bloom filters on 64-bit and string identifier columns";
const DATA_MARKER: &str = ".strata-bench-data";

/// Whether `data` holds `suite`'s tables as the generators now write them.
fn data_is_current(suite: Suite, data: &std::path::Path) -> bool {
    suite.tables().iter().all(|t| data.join(t).exists())
        && (suite == Suite::Tpch
            || std::fs::read_to_string(data.join(DATA_MARKER)).is_ok_and(|v| v == DATA_VERSION))
}

/// Generate `suite` at `scale` into `data` (each table's files go to `data/<table>/`).
fn generate(
    suite: Suite,
    scale: f64,
    data: &std::path::Path,
    seed: u64,
    python: Option<&std::path::Path>,
) -> Result<()> {
    if scale <= 0.0 {
        bail!("--scale must be positive");
    }
    for table in suite.tables() {
        let dir = data.join(table);
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let out = data.join(suite.tables()[0]);
    let started = std::time::Instant::now();
    let (rows, files) = match suite {
        Suite::Logs => {
            let rows = (10_000_000.0 * scale) as u64;
            // 31 days of July 2013; about 40 k rows per file, at least one file a day.
            let per_day = ((rows / 31 / 40_000) as u32).clamp(1, 64);
            (rows, logs::generate(&out, rows, 31, per_day, seed)?)
        }
        Suite::Trips => {
            let rows = (20_000_000.0 * scale) as u64;
            let per_month = ((rows / 36 / 250_000) as u32).clamp(1, 32);
            (rows, trips::generate(&out, rows, per_month, seed)?)
        }
        Suite::Tpch => {
            // tpchgen-cli is deterministic; its data does not depend on a seed.
            let parts = (scale * 4.0).ceil().max(1.0) as u32;
            let program = tpchgen(python);
            let status = std::process::Command::new(&program)
                .args(["parquet", "--scale-factor", &scale.to_string(), "--parts", &parts.to_string(), "--output-dir"])
                .arg(data)
                .status()
                .map_err(|e| anyhow::anyhow!("cannot run {} ({e}); install it with `pip install tpchgen-cli` (scripts/test.sh puts it in .venv)", program.display()))?;
            if !status.success() {
                bail!("tpchgen-cli failed ({status})");
            }
            (0, parts as usize * suite.tables().len())
        }
    };
    if suite != Suite::Tpch {
        std::fs::write(data.join(DATA_MARKER), DATA_VERSION)?;
    }
    let what = if suite == Suite::Tpch {
        format!("TPC-H at scale factor {scale}")
    } else {
        format!("{rows} rows of {}", suite.tables()[0])
    };
    eprintln!(
        "generated {what} in {files} files under {} ({:.1}s)",
        data.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Gen(args) => {
            let data = args
                .data
                .unwrap_or_else(|| default_data(args.suite, args.scale));
            generate(
                args.suite,
                args.scale,
                &data,
                args.seed,
                args.python.as_deref(),
            )
        }
        Command::Run(args) => {
            let data = args
                .data
                .clone()
                .unwrap_or_else(|| default_data(args.suite, args.scale));
            if !data_is_current(args.suite, &data) {
                generate(args.suite, args.scale, &data, 42, args.python.as_deref())?;
            }
            let outcome = report::run_suite(&args, &data)?;
            if outcome.failures > 0 {
                bail!("{} queries gave wrong answers or failed", outcome.failures);
            }
            Ok(())
        }
        Command::Load(args) => load::run(args),
        Command::Fuzz(args) => fuzz::run(args),
        Command::Smoke(args) => {
            let dir = match args.dir {
                Some(d) => d,
                None => {
                    std::env::temp_dir().join(format!("strata-bench-smoke-{}", std::process::id()))
                }
            };
            let mut failures = 0;
            // Every suite on local disk, and the trips suite on the S3 emulator too, once more
            // on a cluster of two executors.
            let runs = [
                (Suite::Logs, Storage::Local, 0),
                (Suite::Trips, Storage::Local, 0),
                (Suite::Trips, Storage::S3, 0),
                (Suite::Tpch, Storage::Local, 0),
                (Suite::Trips, Storage::S3, 2),
            ];
            for (suite, storage, executors) in runs {
                let data = dir.join("data").join(suite.name());
                let scale = if suite == Suite::Tpch { 0.01 } else { 0.002 };
                if !data_is_current(suite, &data) {
                    generate(suite, scale, &data, 42, args.python.as_deref())?;
                }
                let run = RunArgs {
                    suite,
                    scale,
                    data: Some(data.clone()),
                    // On the emulator, a restart with a warm disk tier too.
                    engines: (executors == 0).then(|| {
                        [
                            "strata",
                            "strata-flight",
                            "strata-disk",
                            "duckdb",
                            "datafusion-cli",
                        ]
                        .into_iter()
                        .filter(|e| *e != "strata-disk" || storage == Storage::S3)
                        .map(String::from)
                        .collect()
                    }),
                    executors,
                    executor_vcores: None,
                    hot_runs: 1,
                    storage,
                    latency_ms: 5,
                    drop_caches: false,
                    queries: Vec::new(),
                    results: dir.join("results"),
                    strata: args.strata.clone(),
                    python: args.python.clone(),
                    datafusion_cli: None,
                };
                let outcome = report::run_suite(&run, &data)?;
                failures += outcome.failures;
                if executors > 0 && outcome.cluster_tasks == 0 {
                    bail!("the cluster's executors ran no task: its queries ran on the server");
                }
            }
            if failures > 0 {
                bail!(
                    "{failures} queries gave wrong answers or failed (reports under {})",
                    dir.join("results").display()
                );
            }
            eprintln!(
                "smoke: every query agreed across engines (reports under {})",
                dir.join("results").display()
            );
            Ok(())
        }
    }
}
