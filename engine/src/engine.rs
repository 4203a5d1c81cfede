//! The `Engine`: one DataFusion session over the catalog, and the operations the CLI and server
//! share (run SQL, register, refresh, drop, describe).

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::cache::cache_manager::{CacheManager, CacheManagerConfig};
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParser, Statement};
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use futures::TryStreamExt;
use strata_catalog::{Catalog, Progress, RegisterReport, SnapshotId, TableMeta, TableSummary};

use crate::config::EngineConfig;
use crate::error::{Error, Result};
use crate::provider::{CATALOG_NAME, DEFAULT_SCHEMA, SnapshotCatalog};
use crate::requests::{RequestCounter, RequestCounts};
use crate::scan_exec::{CatalogScanExec, ScanSummary};
use crate::storage::Stores;

/// Strata's query engine: the catalog, the object stores and a DataFusion session.
pub struct Engine {
    catalog: Arc<Catalog>,
    stores: Arc<Stores>,
    ctx: SessionContext,
}

/// Split `schema.table` (default schema `main`).
pub fn split_table_name(name: &str) -> Result<(String, String)> {
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => (DEFAULT_SCHEMA.to_string(), name.to_string()),
    };
    if table.is_empty() || schema.is_empty() || table.contains('.') {
        return Err(Error::Invalid(format!(
            "invalid table name '{name}': use NAME or SCHEMA.NAME"
        )));
    }
    Ok((schema, table))
}

impl Engine {
    /// Open the catalog (creating it on first use) and set up the session.
    pub fn open(config: &EngineConfig) -> Result<Self> {
        let stores = Arc::new(Stores::new(config.storage.clone()));
        stores.validate()?;
        if let Some(path) = &config.data_path {
            // A data path on a store that is not configured is refused before it is recorded.
            stores.resolve(path)?;
        }
        let catalog = Arc::new(Catalog::open(&config.catalog, config.data_path.as_deref())?);
        let mut session = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG_NAME, DEFAULT_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_batch_size(config.batch_size);
        if let Some(n) = config.target_partitions {
            session = session.with_target_partitions(n);
        }
        {
            let parquet = &mut session.options_mut().execution.parquet;
            parquet.pushdown_filters = config.parquet_pushdown_filters;
            // With pushdown on, evaluate the cheapest and most selective filters first.
            parquet.reorder_filters = config.parquet_pushdown_filters;
        }
        for (key, value) in &config.datafusion {
            session.options_mut().set(key, value)?;
        }
        let runtime = RuntimeEnvBuilder::new()
            .with_metadata_cache_limit(config.metadata_cache_bytes)
            .with_object_store_registry(stores.registry(Arc::new(RequestCounter::default())))
            .build_arc()?;
        let ctx = SessionContext::new_with_config_rt(session, runtime);
        Ok(Engine {
            catalog,
            stores,
            ctx,
        })
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// A session for a sequence of statements (settings made with `SET` last for the session).
    pub fn session(&self) -> QuerySession {
        QuerySession {
            ctx: SessionContext::new_with_state(self.ctx.state()),
            catalog: Arc::clone(&self.catalog),
            stores: Arc::clone(&self.stores),
        }
    }

    /// Register the Parquet files under `location` as table `name` (`[schema.]table`).
    pub async fn register_table(
        &self,
        name: &str,
        location: &str,
        progress: &dyn Progress,
    ) -> Result<(RegisterReport, RequestCounts)> {
        let (schema, table) = split_table_name(name)?;
        let counter = Arc::new(RequestCounter::default());
        let location = self.stores.location(location, &counter)?;
        let report = self
            .catalog
            .register(&schema, &table, &location, progress)
            .await?;
        Ok((report, counter.snapshot()))
    }

    /// Pick up new files, forget deleted ones and re-read rewritten ones under a registered
    /// table's location.
    pub async fn refresh_table(
        &self,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<(RegisterReport, RequestCounts)> {
        let meta = self.table(name)?;
        let Some(location) = meta.location.clone() else {
            return Err(strata_catalog::Error::NotRegistered {
                table: name.to_string(),
            }
            .into());
        };
        let counter = Arc::new(RequestCounter::default());
        let location = self.stores.location(&location, &counter)?;
        let report = self.catalog.refresh(&meta, &location, progress).await?;
        Ok((report, counter.snapshot()))
    }

    /// Drop table `name`; its files are left in place.
    pub fn drop_table(&self, name: &str) -> Result<SnapshotId> {
        let (schema, table) = split_table_name(name)?;
        Ok(self.catalog.drop_table(&schema, &table)?)
    }

    /// The table `name` at the current snapshot.
    pub fn table(&self, name: &str) -> Result<TableMeta> {
        let (schema, table) = split_table_name(name)?;
        let snapshot = self.catalog.current_snapshot()?;
        Ok(self.catalog.require_table(snapshot, &schema, &table)?)
    }

    /// Totals of a table.
    pub fn table_summary(&self, meta: &TableMeta) -> Result<TableSummary> {
        Ok(self.catalog.table_summary(meta)?)
    }
}

/// A sequence of statements sharing settings; each statement reads one snapshot.
pub struct QuerySession {
    ctx: SessionContext,
    catalog: Arc<Catalog>,
    stores: Arc<Stores>,
}

/// Statistics of one executed statement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueryStats {
    /// Files the scans read.
    pub files_scanned: usize,
    /// Files skipped thanks to catalog statistics and partition values.
    pub files_pruned: usize,
    /// Live files of the scanned tables.
    pub files_total: usize,
    /// Rows returned.
    pub rows: usize,
    /// Object-store requests of this statement, by kind, with the bytes they read (footers
    /// and column chunks).
    pub requests: RequestCounts,
    pub elapsed_ms: u128,
    /// The snapshot the statement read.
    pub snapshot: SnapshotId,
}

/// A statement that is running: its result stream and, once drained, its statistics.
pub struct RunningStatement {
    pub schema: SchemaRef,
    pub stream: SendableRecordBatchStream,
    plan: Arc<dyn ExecutionPlan>,
    started: Instant,
    snapshot: SnapshotId,
    counter: Arc<RequestCounter>,
}

impl RunningStatement {
    /// Statistics of the statement; call after the stream is drained. `rows` is what the caller
    /// counted.
    pub fn stats(&self, rows: usize) -> QueryStats {
        let mut stats = QueryStats {
            rows,
            elapsed_ms: self.started.elapsed().as_millis(),
            snapshot: self.snapshot,
            requests: self.counter.snapshot(),
            ..Default::default()
        };
        accumulate(&self.plan, &mut stats);
        stats
    }
}

fn accumulate(plan: &Arc<dyn ExecutionPlan>, stats: &mut QueryStats) {
    if let Some(scan) = plan.downcast_ref::<CatalogScanExec>() {
        let ScanSummary {
            total_files, files, ..
        } = scan.summary();
        stats.files_scanned += files;
        stats.files_total += total_files;
        stats.files_pruned += total_files - files;
    }
    for child in plan.children() {
        accumulate(child, stats);
    }
}

/// A cache configuration that reuses `caches` (footers, statistics, listings) as they are.
fn shared_caches(caches: &CacheManager) -> CacheManagerConfig {
    CacheManagerConfig::default()
        .with_file_statistics_cache(caches.get_file_statistic_cache())
        .with_file_statistics_cache_limit(caches.get_file_statistic_cache_limit())
        .with_list_files_cache(caches.get_list_files_cache())
        .with_list_files_cache_limit(caches.get_list_files_cache_limit())
        .with_list_files_cache_ttl(caches.get_list_files_cache_ttl())
        .with_file_metadata_cache(Some(caches.get_file_metadata_cache()))
        .with_metadata_cache_limit(caches.get_metadata_cache_limit())
}

/// The scans of a planned statement, for EXPLAIN-like reports.
pub fn scan_summaries(plan: &Arc<dyn ExecutionPlan>) -> Vec<ScanSummary> {
    let mut out = Vec::new();
    fn walk(plan: &Arc<dyn ExecutionPlan>, out: &mut Vec<ScanSummary>) {
        if let Some(scan) = plan.downcast_ref::<CatalogScanExec>() {
            out.push(scan.summary().clone());
        }
        for child in plan.children() {
            walk(child, out);
        }
    }
    walk(plan, &mut out);
    out
}

impl QuerySession {
    /// Split SQL text into statements (semicolons inside strings and comments are respected).
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        let state = self.ctx.state();
        let dialect_name = state.config().options().sql_parser.dialect;
        let dialect = dialect_from_str(dialect_name)
            .ok_or_else(|| Error::Invalid(format!("unknown SQL dialect '{dialect_name}'")))?;
        Ok(DFParser::parse_sql_with_dialect(sql, dialect.as_ref())?
            .into_iter()
            .collect())
    }

    /// Plan and start one statement at the current snapshot.
    pub async fn run(&self, statement: Statement) -> Result<RunningStatement> {
        let started = Instant::now();
        let snapshot = self.catalog.current_snapshot()?;
        self.ctx.register_catalog(
            CATALOG_NAME,
            Arc::new(SnapshotCatalog::new(
                Arc::clone(&self.catalog),
                Arc::clone(&self.stores),
                snapshot,
            )),
        );
        // The statement runs in its own runtime, sharing the engine's memory pool, disk manager
        // and caches, whose stores count into this statement's request counter.
        let counter = Arc::new(RequestCounter::default());
        let base = self.ctx.runtime_env();
        let mut runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(Arc::clone(&base.memory_pool))
            .with_cache_manager(shared_caches(&base.cache_manager))
            .with_object_store_registry(self.stores.registry(Arc::clone(&counter)));
        runtime.disk_manager = Some(Arc::clone(&base.disk_manager));
        // Scans find the counter in the session config, to report storage problems to it.
        let state = self.ctx.state();
        let config = state.config().clone().with_extension(Arc::clone(&counter));
        let ctx = SessionContext::new_with_state(
            SessionStateBuilder::new_from_existing(state)
                .with_config(config)
                .with_runtime_env(runtime.build_arc()?)
                .build(),
        );
        let state = ctx.state();
        let plan = state.statement_to_plan(statement).await?;
        let frame = ctx.execute_logical_plan(plan).await?;
        let physical = frame.create_physical_plan().await?;
        let stream = execute_stream(Arc::clone(&physical), ctx.task_ctx())?;
        // A storage failure reaches the stream flattened into text by the Parquet reader;
        // report the explained failure the statement's stores recorded instead.
        let stream: SendableRecordBatchStream = {
            let counter = Arc::clone(&counter);
            Box::pin(RecordBatchStreamAdapter::new(
                stream.schema(),
                stream.map_err(move |e| match counter.problem() {
                    Some(problem) => DataFusionError::External(Box::new(problem)),
                    None => e,
                }),
            ))
        };
        Ok(RunningStatement {
            schema: physical.schema(),
            stream,
            plan: physical,
            started,
            snapshot,
            counter,
        })
    }

    /// Run every statement of `sql` in order and collect the results of each.
    pub async fn run_all(
        &self,
        sql: &str,
    ) -> Result<Vec<(SchemaRef, Vec<arrow::array::RecordBatch>, QueryStats)>> {
        let mut out = Vec::new();
        for statement in self.parse(sql)? {
            let mut running = self.run(statement).await?;
            let batches: Vec<_> = (&mut running.stream).try_collect().await?;
            let rows = batches.iter().map(|b| b.num_rows()).sum();
            let stats = running.stats(rows);
            out.push((running.schema.clone(), batches, stats));
        }
        Ok(out)
    }
}
