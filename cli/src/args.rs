//! Command-line arguments, parsed once into plain values.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Strata: fast SQL over Parquet lakes, planned from a DuckLake catalog.
#[derive(Debug, Parser)]
#[command(name = "strata", version, about, propagate_version = true)]
pub struct Cli {
    /// Configuration file [env: STRATA_CONFIG] [default: ./strata.toml when present]
    #[arg(long, global = true, env = "STRATA_CONFIG", hide_env = true)]
    pub config: Option<PathBuf>,
    /// Catalog URL [env: STRATA_CATALOG] [default: sqlite:strata.db]
    #[arg(long, global = true, env = "STRATA_CATALOG", hide_env = true)]
    pub catalog: Option<String>,
    /// Where new data files go (directory or URL); recorded when the catalog is created
    /// [env: STRATA_DATA_PATH]
    #[arg(long, global = true, env = "STRATA_DATA_PATH", hide_env = true)]
    pub data_path: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, refresh, list, describe and drop tables
    #[command(subcommand)]
    Table(TableCommand),
    /// Run SQL and print the results
    Query(QueryArgs),
    /// Interactive SQL shell
    Shell(ShellArgs),
    /// Generate deterministic sample data (Hive-partitioned Parquet)
    Gen(GenArgs),
    /// Generate and register a sample lake, then run example analytics queries
    Demo(DemoArgs),
}

#[derive(Debug, Subcommand)]
pub enum TableCommand {
    /// Register the Parquet files under a location as a table (files stay where they are)
    Register {
        /// Table name: NAME or SCHEMA.NAME
        name: String,
        /// Directory (or URL) holding the Parquet files; `key=value` directories become columns
        #[arg(long)]
        location: String,
    },
    /// Pick up files added under the table's location, and forget files that disappeared
    Refresh { name: String },
    /// List tables
    List,
    /// Show a table's columns, partitioning, files, rows, bytes and snapshot
    Describe { name: String },
    /// Drop a table (its files are not deleted)
    Drop { name: String },
}

/// Output formats of query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Csv,
    Json,
    Ndjson,
    Parquet,
    Arrow,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsFormat {
    Json,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL to run; several statements run in order. Read from stdin when absent.
    pub sql: Option<String>,
    /// Read SQL from a file (`-` for stdin)
    #[arg(short = 'f', long = "file", conflicts_with = "sql")]
    pub file: Option<PathBuf>,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Write results to this file instead of stdout
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print execution statistics to stderr after the results
    #[arg(long, value_enum)]
    pub stats: Option<StatsFormat>,
}

#[derive(Debug, Args)]
pub struct ShellArgs {}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Dataset {
    /// Service request logs
    Requests,
    /// Ride-hailing trips
    Trips,
}

#[derive(Debug, Args)]
pub struct GenArgs {
    /// Which data set
    #[arg(value_enum)]
    pub dataset: Dataset,
    /// Total rows
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Days of data, one `dt=YYYY-MM-DD` partition each, starting 2026-03-01
    #[arg(long, default_value_t = 7)]
    pub days: u32,
    /// Parquet files per day
    #[arg(long, default_value_t = 2)]
    pub files_per_day: u32,
    /// Seed of the generator: the same seed gives the same bytes
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output directory
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory of the sample lake (and of its catalog, unless --catalog is given)
    #[arg(long, default_value = "strata-demo")]
    pub dir: PathBuf,
    /// Rows of request logs to generate
    #[arg(long, default_value_t = 3_000_000)]
    pub requests: u64,
    /// Rows of trips to generate
    #[arg(long, default_value_t = 1_000_000)]
    pub trips: u64,
}
