//! Engine configuration: one plain struct, each field documenting its default.

pub use crate::storage::StorageConfig;

/// How the engine opens the catalog and runs queries.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Catalog URL. Default: `sqlite:strata.db`.
    pub catalog: String,
    /// Where new data files go; recorded when the catalog is created.
    /// Default: `<catalog file>.files/` beside the catalog database.
    pub data_path: Option<String>,
    /// Parallelism of scans and operators. Default: the number of CPU cores.
    pub target_partitions: Option<usize>,
    /// Rows per Arrow batch. Default: 8192 (DataFusion's default, a good fit for the CPU cache).
    pub batch_size: usize,
    /// Bytes of decoded Parquet footers and page indexes kept in memory, so repeated queries
    /// never re-read footers. Default: 256 MiB (about 10,000 footers of wide tables).
    pub metadata_cache_bytes: usize,
    /// Evaluate filters while decoding Parquet (late materialization): columns not in the filter
    /// are decoded only for matching rows. Default: true, which helps selective log queries.
    pub parquet_pushdown_filters: bool,
    /// Further DataFusion settings as `datafusion.*` keys. Default: none.
    pub datafusion: Vec<(String, String)>,
    /// Object stores: per-bucket settings, timeouts and retries.
    pub storage: StorageConfig,
    /// Memory all running queries may reserve together (`limits.memory`); operators that can
    /// spill (sorts, aggregations, joins) spill to disk at the limit. Default: half the
    /// machine's memory.
    pub memory_limit: Option<usize>,
    /// Memory one statement may reserve (`limits.query_memory`). Default: all of
    /// `memory_limit` (the server defaults to a quarter of it).
    pub query_memory_limit: Option<usize>,
    /// Where spill files go (`limits.spill_dir`). Default: the system's temporary directory.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Bytes of spill files all queries may keep at once (`limits.spill_max`). Default: 20 GiB.
    pub spill_max_bytes: u64,
    /// Size at which a written data file is closed and the next begun, unless the table sets
    /// `target_file_size`. Default: 256 MiB, good for object storage.
    pub target_file_size: u64,
    /// Limits on statements (text, count, depth) and on values functions build.
    pub limits: crate::limits::StatementLimits,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            catalog: "sqlite:strata.db".into(),
            data_path: None,
            target_partitions: None,
            batch_size: 8192,
            metadata_cache_bytes: 256 * 1024 * 1024,
            parquet_pushdown_filters: true,
            datafusion: Vec::new(),
            storage: StorageConfig::default(),
            memory_limit: Some(physical_memory().map_or(4 << 30, |m| m / 2)),
            query_memory_limit: None,
            spill_dir: None,
            spill_max_bytes: 20 << 30,
            target_file_size: crate::table_writer::DEFAULT_TARGET_FILE_SIZE,
            limits: crate::limits::StatementLimits::default(),
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
