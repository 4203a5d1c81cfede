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
    /// Memory all running queries may reserve together; operators that can spill (sorts,
    /// aggregations, joins) spill to disk at the limit. Default: unbounded (the CLI); the
    /// server sets one.
    pub memory_limit: Option<usize>,
    /// Memory one statement may reserve. Default: no cap beyond `memory_limit`.
    pub query_memory_limit: Option<usize>,
    /// Where spill files go. Default: the system's temporary directory.
    pub spill_dir: Option<std::path::PathBuf>,
    /// Bytes of spill files all queries may keep at once. Default: 100 GiB.
    pub spill_max_bytes: u64,
    /// Size at which a written data file is closed and the next begun, unless the table sets
    /// `target_file_size`. Default: 256 MiB, good for object storage.
    pub target_file_size: u64,
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
            memory_limit: None,
            query_memory_limit: None,
            spill_dir: None,
            spill_max_bytes: 100 * 1024 * 1024 * 1024,
            target_file_size: crate::write::DEFAULT_TARGET_FILE_SIZE,
        }
    }
}
