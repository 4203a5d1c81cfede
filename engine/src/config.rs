//! Engine configuration. Each section is a struct whose fields are the keys of its section of
//! `strata.toml`; the doc comment on a field is that setting's documentation (`strata config
//! show --defaults` and `docs/settings.md` are generated from it), and the `STRATA_*` variable
//! of a setting is its path (`engine.batch_size` → `STRATA_ENGINE_BATCH_SIZE`).

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::serde_units::{self, Size};

use crate::limits::Limits;
use crate::storage::StorageConfig;

/// How the engine opens the catalog and runs queries: the engine's part of `strata.toml`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Catalog URL. Default: `sqlite:strata.db`.
    pub catalog: String,
    /// Where new data files go; recorded when the catalog is created.
    /// Default: `<catalog file>.files/` beside the catalog database.
    pub data_path: Option<String>,
    /// `[engine]`: how queries run.
    pub execution: ExecutionConfig,
    /// `[storage]` and `[stores."url"]`: how object stores are reached.
    pub storage: StorageConfig,
    /// `[limits]`: what any statement may use.
    pub limits: Limits,
    /// `[cache]`: what the process keeps between queries.
    pub cache: CacheConfig,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            catalog: "sqlite:strata.db".into(),
            data_path: None,
            execution: ExecutionConfig::default(),
            storage: StorageConfig::default(),
            limits: Limits::default(),
            cache: CacheConfig::default(),
        }
    }
}

/// `[engine]`: how queries run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ExecutionConfig {
    /// Parallelism of scans and operators. Default: the number of CPU cores.
    pub target_partitions: Option<usize>,
    /// Rows per Arrow batch (DataFusion's default, a good fit for the CPU cache).
    pub batch_size: usize,
    /// Decoded Parquet footers and page indexes kept in memory, so repeated queries never
    /// re-read footers (256 MiB holds about 10,000 footers of wide tables). At most an eighth
    /// of `limits.memory`, set aside from what queries and the other caches share.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub metadata_cache: usize,
    /// Evaluate filters while decoding Parquet in every scan (late materialization: columns
    /// not in the filter are decoded only for matching rows). Off by default, as in
    /// DataFusion: on for every scan, the benchmark runner measured the logs suite 6% and the
    /// trips suite 9% slower on the geometric mean (docs/performance.md); the scans where it
    /// pays get it anyway (`late_materialization`).
    pub parquet_pushdown_filters: bool,
    /// With `parquet_pushdown_filters` off, still evaluate the filter while decoding in scans
    /// where it pays: a filter looking for a needle (equality with a string of 16 characters
    /// or more, such as a trace id; `LIKE '%…'`) when the scan reads other columns too, and
    /// any filter under a top-N (`ORDER BY … LIMIT n`), whose first matches then let it skip
    /// the files and row groups that cannot make the top N.
    pub late_materialization: bool,
    /// Evaluate a costly filter on one string column (`LIKE '%…'`, `ILIKE`, a regular
    /// expression, a function call) once per distinct value of each batch when the values
    /// repeat, as in category columns a writer dictionary-encoded; batches whose values do not
    /// repeat are evaluated row by row as before.
    pub memoize_string_filters: bool,
    /// Skip the row groups of a Parquet file in which no value of a string column's
    /// dictionary passes a filter of that column (`name LIKE '%Park%'`, `path = '/a'`): the
    /// scan checks each dictionary-encoded chunk's dictionary page when it opens the file.
    pub dictionary_pruning: bool,
    /// Group by string columns through numbers: per partition, when the first batch's string
    /// keys repeat (category columns a writer dictionary-encoded), each distinct string gets a
    /// number and the aggregate hashes numbers instead of strings; partitions whose keys are
    /// mostly distinct (ids, URLs) aggregate as before.
    pub intern_group_keys: bool,
    /// Size at which a written data file is closed and the next begun, unless the table sets
    /// its own `target_file_size` property.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub target_file_size: u64,
    /// Connections to the catalog database this process keeps at most; each catalog call
    /// takes a free one, so concurrent queries do not wait for each other's catalog reads
    /// (SQLite in WAL mode: readers beside the writer; PostgreSQL: one session each).
    pub catalog_connections: usize,
    /// Further DataFusion settings, e.g.
    /// `"datafusion.execution.parquet.bloom_filter_on_read" = false`.
    #[serde(with = "serde_units::text_map")]
    #[schemars(with = "BTreeMap<String, String>")]
    pub datafusion: BTreeMap<String, String>,
}

impl Default for ExecutionConfig {
    fn default() -> Self {
        ExecutionConfig {
            target_partitions: None,
            batch_size: 8192,
            metadata_cache: 256 * 1024 * 1024,
            parquet_pushdown_filters: false,
            late_materialization: true,
            memoize_string_filters: true,
            dictionary_pruning: true,
            intern_group_keys: true,
            target_file_size: crate::table_writer::DEFAULT_TARGET_FILE_SIZE,
            catalog_connections: strata_catalog::DEFAULT_CONNECTIONS,
            datafusion: BTreeMap::new(),
        }
    }
}

/// `[cache]`: what the process keeps between queries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Memory for byte ranges of data files (column chunks), on object storage or local disk,
    /// shared by every query of the process, so that repeated queries do not read them again;
    /// `0` turns it off. At most a quarter of `limits.memory` (queries keep the rest).
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub data: u64,
    /// Memory for the answers of repeated queries, shared by every session of the process: a
    /// query whose tables have not changed since (checked against the catalog, so commits of
    /// other processes count) is answered without running; `0` turns it off. At most an
    /// eighth of `limits.memory`; one answer larger than an eighth of this is not kept. Bypass
    /// it per query with `strata query --no-result-cache` or the Flight SQL header
    /// `x-strata-result-cache: off`.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub results: u64,
    /// Memory for the file lists and column statistics of recently planned tables, kept per
    /// table version (a commit to a table, by any process, gives it a new one), so that
    /// planning over a table of many files prunes in memory instead of querying the catalog
    /// database again; `0` turns it off. At most an eighth of `limits.memory`.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub files: u64,
    /// A directory for the data cache's second tier, on local disk (an NVMe disk on a server):
    /// ranges of object-storage files are written there as they are read, and found there
    /// once memory let them go or after a restart, without a request. Unset: no disk tier.
    /// Needs `data` (the memory tier) on; local files are never copied there.
    pub disk_path: Option<std::path::PathBuf>,
    /// Size of the disk tier; evicting a range deletes its file.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub disk: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            data: 1 << 30,
            results: 256 << 20,
            files: 256 << 20,
            disk_path: None,
            disk: 10 << 30,
        }
    }
}

/// Total memory of the machine, from `/proc/meminfo` where there is one.
pub fn physical_memory() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
