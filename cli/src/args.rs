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
    #[command(flatten)]
    pub remote: RemoteArgs,
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
    Shell,
    /// Generate deterministic sample data (Hive-partitioned Parquet)
    Gen(GenArgs),
    /// Generate and register a sample lake, run example analytics queries, then serve it
    Demo(DemoArgs),
    /// Load CSV, NDJSON or Parquet files (local or on object storage) into a table
    Ingest(IngestArgs),
    /// Merge small files per partition into files of the target size
    Compact(CompactArgs),
    /// List or expire snapshots
    #[command(subcommand)]
    Snapshots(SnapshotsCommand),
    /// Delete files no snapshot references (expired or left by failed writes)
    Gc(GcArgs),
    /// Serve the catalog's tables over Arrow Flight SQL
    Serve(ServeArgs),
    /// Run a cluster scheduler (Apache DataFusion Ballista) for `strata serve --scheduler`
    Scheduler(SchedulerArgs),
    /// Run a cluster executor: runs tasks the scheduler hands out, reading files with this
    /// process's own storage settings
    Executor(ExecutorArgs),
    /// Print a `[[users]]` entry (with an argon2 password hash) for the configuration file
    #[command(subcommand)]
    User(UserCommand),
    /// Create a static API token for CI jobs and print its `[[tokens]]` entry
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show the configuration: every setting, its value, its variable and what it does
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the configuration as a commented strata.toml: what the file, the `STRATA_*`
    /// variables and the flags make of it (secrets are never printed)
    Show(ConfigShowArgs),
}

#[derive(Debug, Args)]
pub struct ConfigShowArgs {
    /// The defaults, ignoring the file and the environment
    #[arg(long)]
    pub defaults: bool,
    /// A Markdown table (key, variable, kind, value, description), as in docs/settings.md
    #[arg(long)]
    pub markdown: bool,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: STRATA_SERVER_LISTEN] [default: 127.0.0.1:50051]
    #[arg(long)]
    pub listen: Option<String>,
    /// Allow listening on a non-loopback address without any configured user or token
    #[arg(long)]
    pub insecure: bool,
    /// Apply the retention of every table with a `retention` property at start-up and then
    /// this often (e.g. 1h, 30m); `off` disables it
    #[arg(long, default_value = "1h")]
    pub retention_every: String,
    /// Stop when the process that started this one ends (for drivers such as `strata-bench`,
    /// so a killed driver leaves no server behind)
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
    /// Run queries that read at least --cluster-min-scan bytes on this cluster scheduler
    /// (http://host:port, https:// with cluster TLS; `strata scheduler`); smaller queries,
    /// writes and commands run here
    #[arg(long)]
    pub scheduler: Option<String>,
    /// Bytes of files a query reads at least to run on the cluster (e.g. 1GiB; 0: every
    /// query that reads files)
    #[arg(long, default_value = "1GiB")]
    pub cluster_min_scan: String,
    /// Files on this machine's file system are at the same paths on every executor (a shared
    /// mount, or a cluster on one machine); without it, queries reading them run here
    #[arg(long)]
    pub cluster_local_files: bool,
    /// When the scheduler cannot be reached: `local` runs the query on this server, `fail`
    /// fails it with an error naming the scheduler
    #[arg(long, default_value = "local")]
    pub cluster_fallback: strata_cluster::Fallback,
    /// Partitions (tasks a stage) to plan queries for the cluster with: the executors'
    /// `--vcores` in all [default: this server's `[engine] target_partitions`, its cores]
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    pub cluster_partitions: Option<u16>,
    #[command(flatten)]
    pub cluster_tls: ClusterTlsArgs,
}

/// Mutual TLS between a cluster's server, scheduler and executors: each presents a certificate
/// the deployment's CA signed, and accepts only peers that do.
#[derive(Debug, Args, Default)]
pub struct ClusterTlsArgs {
    /// This process's certificate for the cluster (PEM, signed by --cluster-tls-ca)
    #[arg(long, env = "STRATA_CLUSTER_TLS_CERT")]
    pub cluster_tls_cert: Option<PathBuf>,
    /// Its private key (PEM)
    #[arg(long, env = "STRATA_CLUSTER_TLS_KEY")]
    pub cluster_tls_key: Option<PathBuf>,
    /// The certificate authority every cluster role's certificate is signed by (PEM)
    #[arg(long, env = "STRATA_CLUSTER_TLS_CA")]
    pub cluster_tls_ca: Option<PathBuf>,
    /// A name (DNS subject alternative name) every role's certificate carries, checked instead
    /// of the host connected to [default: the host]
    #[arg(long, env = "STRATA_CLUSTER_TLS_DOMAIN")]
    pub cluster_tls_domain: Option<String>,
}

impl ClusterTlsArgs {
    /// The loaded certificates, or none without the flags.
    pub fn load(&self) -> anyhow::Result<Option<strata_cluster::ClusterTls>> {
        let files = strata_cluster::ClusterTlsFiles::from_flags(
            self.cluster_tls_cert.clone(),
            self.cluster_tls_key.clone(),
            self.cluster_tls_ca.clone(),
            self.cluster_tls_domain.clone(),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        files
            .map(|files| files.load().map_err(|e| anyhow::anyhow!("{e}")))
            .transpose()
    }
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Address to listen on (gRPC, for servers and executors)
    #[arg(long, default_value = "127.0.0.1:50060")]
    pub listen: String,
    /// Host executors and servers reach this scheduler at [default: the listen address]
    #[arg(long)]
    pub external_host: Option<String>,
    /// An executor silent for this long is lost; its tasks run again elsewhere (at least 15s)
    #[arg(long, default_value = "30s")]
    pub executor_timeout: String,
    /// Listen on a non-loopback address without cluster TLS (peers not authenticated)
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub cluster_tls: ClusterTlsArgs,
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
}

#[derive(Debug, Args)]
pub struct ExecutorArgs {
    /// The scheduler, as http://host:port (https:// with cluster TLS)
    #[arg(long)]
    pub scheduler: String,
    /// Address to serve results and shuffle data on (Arrow Flight)
    #[arg(long, default_value = "127.0.0.1:50061")]
    pub listen: String,
    /// Host the scheduler, servers and other executors reach this executor at [default: the
    /// listen address]
    #[arg(long)]
    pub external_host: Option<String>,
    /// Directory for shuffle files and spills
    #[arg(long)]
    pub work_dir: PathBuf,
    /// Tasks to run at once [default: the cores]
    #[arg(long)]
    pub vcores: Option<usize>,
    /// Listen on a non-loopback address without cluster TLS (peers not authenticated)
    #[arg(long)]
    pub insecure: bool,
    #[command(flatten)]
    pub cluster_tls: ClusterTlsArgs,
    #[arg(long, hide = true)]
    pub exit_with_parent: bool,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Hash a password (read from stdin, or from --password-env) and print the entry
    Add {
        name: String,
        /// reader, writer or admin
        #[arg(long)]
        role: String,
        /// Read the password from this environment variable instead of stdin
        #[arg(long)]
        password_env: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Generate a random token; only its hash goes into the configuration file
    Create {
        name: String,
        /// reader, writer or admin
        #[arg(long)]
        role: String,
    },
}

/// Where the lake commands, `query` and `shell` send SQL: the local catalog, or a Strata
/// server. Global: `strata --server URL table list` and `strata table list --server URL` are
/// the same.
#[derive(Debug, Args, Clone, Default)]
pub struct RemoteArgs {
    /// Run on a Strata server instead of the local catalog: grpc://HOST:PORT or
    /// grpc+tls://HOST:PORT (for query, shell, table, compact, snapshots and gc)
    #[arg(long, global = true)]
    pub server: Option<String>,
    /// User name to log in with (the password comes from --password-env)
    #[arg(long, global = true, requires = "server")]
    pub user: Option<String>,
    /// Environment variable holding the password
    #[arg(long, global = true, requires = "user")]
    pub password_env: Option<String>,
    /// Environment variable holding a bearer or API token
    #[arg(long, global = true, requires = "server", conflicts_with = "user")]
    pub token_env: Option<String>,
    /// CA certificate (PEM) to verify a grpc+tls:// server with
    #[arg(long, global = true, requires = "server")]
    pub tls_ca: Option<PathBuf>,
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
    /// List the snapshots that changed a table: time, author, what changed
    History { name: String },
    /// Remove whole partitions older than the table's `retention` property (metadata only)
    Retention {
        /// Table name; omit with --all
        #[arg(required_unless_present = "all")]
        name: Option<String>,
        /// Every table that has a retention property
        #[arg(long, conflicts_with = "name")]
        all: bool,
        /// Say what would be removed, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    /// Table name: NAME or SCHEMA.NAME
    pub table: String,
    /// Only files that may hold rows matching this SQL predicate, e.g. "ts >= '2026-03-01'"
    #[arg(long = "where")]
    pub filter: Option<String>,
    /// Say what would be compacted, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum SnapshotsCommand {
    /// List the catalog's snapshots: id, time, author, operation, what changed
    List,
    /// Forget snapshots older than a duration (the newest is always kept); files only they
    /// reference are scheduled for `strata gc`
    Expire {
        /// e.g. 7d, 12h, '30 days'
        #[arg(long)]
        older_than: String,
        /// Say what would be expired, change nothing
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct GcArgs {
    /// Keep unreferenced files younger than this (a write may still be uploading them, a
    /// long query may still read them), e.g. 1h, 0s
    #[arg(long, default_value = "1h")]
    pub grace: String,
    /// List what would be deleted, delete nothing
    #[arg(long)]
    pub dry_run: bool,
}

/// Input formats of `strata ingest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum IngestFormat {
    Csv,
    Ndjson,
    Parquet,
}

/// What `strata ingest` does with a line it cannot read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnErrorArg {
    /// Load nothing
    Fail,
    /// Skip the line and load the rest
    Skip,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Table to load into: NAME or SCHEMA.NAME
    pub table: String,
    /// Files, directories' glob patterns or URLs (`logs/*.ndjson.gz`, `s3://bucket/day=*/*.csv`)
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Input format [default: from each file's extension: .csv/.tsv, .json/.ndjson/.jsonl,
    /// .parquet, each optionally .gz]
    #[arg(long, value_enum)]
    pub format: Option<IngestFormat>,
    /// What to do with a line that cannot be read or converted
    #[arg(long, value_enum, default_value_t = OnErrorArg::Fail)]
    pub on_error: OnErrorArg,
    /// With --on-error skip: fail (loading nothing) when more lines than this are rejected
    #[arg(long, default_value_t = 1000)]
    pub max_errors: u64,
    /// Create the table if it does not exist, with columns inferred from the first file
    #[arg(long)]
    pub create: bool,
    /// With --create: partition keys, e.g. 'day(ts)' or 'day(ts), region'
    #[arg(long)]
    pub partitioned_by: Option<String>,
    /// With --create: the column files are sorted by (e.g. the event time)
    #[arg(long)]
    pub sort_by: Option<String>,
    /// Write every rejected line as JSON (file, line, reason) to this file
    #[arg(long)]
    pub rejects: Option<PathBuf>,
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
    /// Data-quality checks: exit non-zero (after printing the rows) when any statement
    /// returns rows — write each check as a query for the rows that break it
    #[arg(long)]
    pub fail_if_rows: bool,
    /// Run without the result cache (`[cache] results`): not answered from it, not stored in
    /// it — embedded, or asking the server with `--server`
    #[arg(long)]
    pub no_result_cache: bool,
}

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
    /// Exit after the example queries instead of serving the lake over Flight SQL
    #[arg(long)]
    pub no_serve: bool,
}
