//! `strata-engine`: Strata's query engine.
//!
//! An [`Engine`] owns a DataFusion session in which the DuckLake catalog appears as catalog
//! `strata` (unqualified names resolve to `strata.main`). Catalog tables are served by
//! [`CatalogTable`], which plans scans from the catalog — candidate files pre-filtered in SQL,
//! pruned again with DataFusion's `PruningPredicate`, with per-file statistics and footer sizes
//! — so queries never list directories or re-read footers. It sits between `strata-catalog`
//! and the server and CLI crates.

mod catalog_answers;
mod chains;
mod cluster;
mod codec;
mod commands;
mod config;
mod data_cache;
mod date_comparisons;
mod date_part;
mod deletes;
mod dictionary_pruning;
mod disk_cache;
mod engine;
mod error;
mod field_ids;
mod file_groups;
mod file_index;
mod function_args;
mod functions;
mod ingest;
mod interned_keys;
mod introspection;
mod lake;
mod late_materialization;
mod limits;
mod maintenance;
mod memory;
mod parquet_reader;
mod procedures;
mod provider;
mod pruning;
mod repeated_strings;
mod requests;
mod result_cache;
mod scan_exec;
mod sort_through_filter;
mod sorts_per_core;
mod statement;
mod statements;
mod storage;
mod table;
mod table_versions;
mod table_writer;
mod time_travel;
mod units;
mod write_job;

pub use cluster::{ClusterRunner, Submitted, WorkerRuntime};
pub use codec::StrataCodec;
pub use commands::{CatalogCommand, Maintenance, catalog_command, table_name};
pub use config::{CacheConfig, EngineConfig, ExecutionConfig, physical_memory};
pub use engine::{Engine, QuerySession};
pub use error::{Error, Result};
pub use functions::function_reference;
pub use ingest::{
    IngestOptions, IngestProgress, IngestReport, IngestTally, InputFormat, OnError, Rejected,
    StreamTarget, infer_input_schema, parse_timestamp, read_inputs,
};
pub use lake::{Lake, split_table_name};
pub use limits::{Limits, QUERY_THREAD_STACK, expression_depth};
pub use maintenance::{CompactOptions, CompactReport, GcFile, GcReport, RetentionReport};
pub use procedures::{
    compact_lines, expire_line, gc_lines, human_bytes, procedure_schema, register_lines,
    retention_line,
};
pub use provider::{CATALOG_NAME, DEFAULT_SCHEMA};
pub use requests::{RequestCounter, RequestCounts, StorageProblem, full_message};
pub use result_cache::CacheUse;
pub use scan_exec::{CatalogScanExec, ScanSummary};
pub use statement::{PreparedStatement, QueryStats, RunningStatement, scan_summaries};
pub use statements::split_statements;
pub use storage::{StorageConfig, StoreConfig, Stores, cloud_environment};
pub use strata_catalog::{ExpireReport, Progress};
pub use table::CatalogTable;
pub use table_writer::{DEFAULT_TARGET_FILE_SIZE, TableWriter, WriteLayout, Written, discard};
pub use units::{format_duration, format_size, parse_age, parse_duration, parse_size, serde_units};
pub use write_job::{CreateOptions, TABLE_PROPERTIES, default_bloom_filter, parse_partitioning};

/// Re-exported so that callers use the same versions.
pub use datafusion;
