//! The `Engine`: one DataFusion session over the catalog, and the operations the CLI and server
//! share (run SQL, register, refresh, drop, describe).

use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::SchemaRef;
use datafusion::common::TableReference;
use datafusion::error::DataFusionError;
use datafusion::execution::cache::cache_manager::{CacheManager, CacheManagerConfig};
use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::MemoryPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::{SessionState, SessionStateBuilder};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DdlStatement, LogicalPlan, Statement as LogicalStatement, WriteOp};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::pushdown_sort::PushdownSort;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement};
use datafusion::sql::sqlparser::ast::Statement as SqlStatement;
use datafusion::sql::sqlparser::dialect::dialect_from_str;
use datafusion::sql::sqlparser::parser::ParserError;
use futures::TryStreamExt;
use strata_catalog::{Catalog, Progress, SnapshotId};

use crate::commands::{catalog_command, number_placeholders};
use crate::config::EngineConfig;
use crate::error::{Error, Result};
use crate::lake::{Lake, split_table_name};
use crate::limits::Limits;
use crate::memory::QueryMemoryPool;
use crate::provider::{CATALOG_NAME, DEFAULT_SCHEMA, SnapshotCatalog};
use crate::requests::RequestCounter;
use crate::statement::{PreparedStatement, QueryStats, RunningStatement, Work};
use crate::storage::Stores;
use crate::time_travel::TableAt;
use crate::write_job::{
    CreateOptions, WriteJob, check_writable, new_table, rewrite_partitioned_by, take_create_options,
};

/// Most catalog connections one process may keep (each is a database session).
const MAX_CATALOG_CONNECTIONS: usize = 1024;

/// Strata's query engine: a [`Lake`] (catalog, stores, the base DataFusion session) that
/// hands out [`QuerySession`]s.
pub struct Engine {
    pub(crate) lake: Lake,
    pub(crate) query_memory_limit: Option<usize>,
}

impl Engine {
    /// Open the catalog (creating it on first use) and set up the session.
    pub fn open(config: &EngineConfig) -> Result<Self> {
        // The data cache takes at most a quarter of the engine's memory: queries keep the rest.
        let data_cache = config
            .cache
            .data
            .min(config.limits.memory_bytes() as u64 / 4);
        let versions = Arc::new(crate::table_versions::TableVersions::default());
        let file_index = crate::file_index::FileIndex::new(
            config
                .cache
                .files
                .min(config.limits.memory_bytes() as u64 / 8),
            Arc::clone(&versions),
        );
        let stores = Arc::new(
            Stores::new(config.storage.clone())
                .with_data_cache(data_cache, disk_tier(&config.cache)?)
                .with_file_index(file_index.clone()),
        );
        stores.validate()?;
        if let Some(path) = &config.data_path {
            // A data path on a store that is not configured is refused before it is recorded.
            stores.resolve(path)?;
        }
        let connections = config.execution.catalog_connections;
        if !(1..=MAX_CATALOG_CONNECTIONS).contains(&connections) {
            return Err(Error::Usage(format!(
                "engine.catalog_connections is {connections}: use 1 to {MAX_CATALOG_CONNECTIONS}"
            )));
        }
        let catalog = Arc::new(
            Catalog::open(&config.catalog, config.data_path.as_deref())?
                .with_max_connections(connections),
        );
        let mut session = SessionConfig::new()
            .with_information_schema(true)
            .with_default_catalog_and_schema(CATALOG_NAME, DEFAULT_SCHEMA)
            .with_create_default_catalog_and_schema(false)
            .with_batch_size(config.execution.batch_size);
        if let Some(n) = config.execution.target_partitions {
            session = session.with_target_partitions(n);
        }
        {
            let parquet = &mut session.options_mut().execution.parquet;
            parquet.pushdown_filters = config.execution.parquet_pushdown_filters;
            // With pushdown on, evaluate the cheapest and most selective filters first.
            parquet.reorder_filters = config.execution.parquet_pushdown_filters;
        }
        // DataFusion 55 pushes the running min/max of an aggregate down to the scan as a
        // dynamic filter; over a path-derived (partition) column inside an expression it skips
        // files it must read (`SELECT min(payment), max(coalesce(dt, DATE '2026-03-03'))`
        // answered an earlier day, found by the fuzzer against DuckDB). Off until fixed
        // upstream; `[datafusion]` in strata.toml can turn it back on.
        session
            .options_mut()
            .optimizer
            .enable_aggregate_dynamic_filter_pushdown = false;
        // NULLs sort last in both directions, as in DuckDB and Trino (DataFusion follows
        // PostgreSQL: first when descending), so `ORDER BY latency DESC LIMIT 10` gives the ten
        // slowest, not ten NULLs. `[engine.datafusion]` in strata.toml or `SET` can set it back
        // (`nulls_max`).
        session.options_mut().sql_parser.default_null_ordering = "nulls_last".into();
        let memory = config.limits.memory_bytes();
        let query_memory = config.limits.query_memory;
        // A sort that spills first merges its in-memory runs, and the merge needs about as
        // much memory again as the runs hold, from what it reserved up front
        // (`sort_spill_reservation_bytes`, 10 MB by default). Under a limit of more than
        // about twice that per partition the merge outgrows its reservation and the query
        // fails instead of spilling. Reserve half of each partition's share: then every
        // sort can spill, whatever the limit.
        let partitions = session.options().execution.target_partitions.max(1);
        session.options_mut().execution.sort_spill_reservation_bytes =
            (query_memory.unwrap_or(memory) / (2 * partitions)).max(1 << 20);
        for (key, value) in &config.execution.datafusion {
            session.options_mut().set(key, value)?;
        }
        let mut disk =
            DiskManagerBuilder::default().with_max_temp_directory_size(config.limits.spill_max);
        if let Some(dir) = &config.limits.spill_dir {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                context: format!("cannot create spill directory {}", dir.display()),
                source,
            })?;
            disk = disk.with_mode(DiskManagerMode::Directories(vec![dir.clone()]));
        }
        // One budget: what the caches hold counts against `limits.memory` too, and they give
        // way before a query has to spill or fail. The footer cache (DataFusion's, bounded by
        // `engine.metadata_cache`, at most an eighth of the budget) is set aside from it.
        let footers = config.execution.metadata_cache.min(memory / 8);
        let results = crate::result_cache::ResultCache::new(
            config.cache.results.min(memory as u64 / 8),
            versions,
        );
        let caches: Vec<Arc<dyn crate::memory::Yielding>> = stores
            .data_cache()
            .map(|c| c as Arc<dyn crate::memory::Yielding>)
            .into_iter()
            .chain(
                results
                    .clone()
                    .map(|c| c as Arc<dyn crate::memory::Yielding>),
            )
            .chain(file_index.map(|c| c as Arc<dyn crate::memory::Yielding>))
            .collect();
        let runtime = RuntimeEnvBuilder::new()
            .with_metadata_cache_limit(footers)
            .with_disk_manager_builder(disk)
            .with_object_store_registry(stores.registry(Arc::new(RequestCounter::default())))
            .with_memory_pool(Arc::new(crate::memory::EnginePool::new(
                memory - footers,
                caches,
            )));
        let ctx = SessionContext::new_with_config_rt(session, runtime.build_arc()?);
        crate::functions::register(&ctx, &config.limits);
        ctx.add_optimizer_rule(Arc::new(crate::chains::BalanceChains));
        ctx.add_optimizer_rule(Arc::new(crate::date_comparisons::DatesAgainstTimestamps));
        ctx.add_analyzer_rule(Arc::new(crate::date_comparisons::DatesAgainstTimestamps));
        // Strata's own physical rules: dropping filters the statistics prove and answering
        // groups from statistics run first, while each filter and partial aggregate still sits
        // directly on its scan, and so does choosing late materialization for scans looking
        // for a needle, then wrapping costly string filters to run once per distinct value
        // (before DataFusion moves filters into those scans); a top-N's sort request goes through filters to the scan after
        // DataFusion's sort push-down; predicates are balanced, and aggregates grouping by
        // strings wrapped to group by numbers, last (the wrapper hides the aggregate from
        // DataFusion's rules).
        let state = ctx.state();
        let first: [Arc<dyn PhysicalOptimizerRule + Send + Sync>; 4] = [
            Arc::new(crate::catalog_answers::DropFiltersTheStatisticsProve),
            Arc::new(crate::catalog_answers::AnswerGroupsFromStatistics),
            Arc::new(crate::late_materialization::LateMaterialization {
                enabled: config.execution.late_materialization,
            }),
            Arc::new(crate::repeated_strings::MemoizeStringFilters {
                enabled: config.execution.memoize_string_filters,
            }),
        ];
        let last: Arc<dyn PhysicalOptimizerRule + Send + Sync> =
            Arc::new(crate::chains::BalancePredicates);
        let through_filters: Arc<dyn PhysicalOptimizerRule + Send + Sync> =
            Arc::new(crate::sort_through_filter::SortThroughFilter);
        let mut rules: Vec<_> = first.into_iter().collect();
        for rule in state.physical_optimizers().iter() {
            rules.push(Arc::clone(rule));
            // Right after DataFusion's sort push-down, before its dynamic filters are wired
            // and the plan is checked.
            if rule.name() == PushdownSort::new().name() {
                rules.push(Arc::clone(&through_filters));
            }
        }
        rules.push(last);
        rules.push(Arc::new(crate::sorts_per_core::SortsPerCore));
        rules.push(Arc::new(crate::interned_keys::InternGroupKeys {
            enabled: config.execution.intern_group_keys,
        }));
        rules.push(Arc::new(crate::dictionary_pruning::DictionaryPruning {
            enabled: config.execution.dictionary_pruning,
        }));
        // `EXTRACT` is planned by Strata's `date_part` (registered above under its name).
        let date_part = state
            .scalar_functions()
            .get("date_part")
            .cloned()
            .unwrap_or_else(crate::date_part::date_part);
        let planners = std::iter::once(crate::date_part::extract_planner(date_part))
            .chain(crate::functions::planners())
            .chain(state.expr_planners().iter().cloned())
            .collect();
        let mut state = SessionStateBuilder::new_from_existing(state)
            .with_physical_optimizer_rules(rules)
            .with_expr_planners(planners)
            .build();
        crate::functions::register_rewrites(&mut state)?;
        let ctx = SessionContext::new_with_state(state);
        Ok(Engine {
            lake: Lake {
                catalog,
                stores,
                ctx,
                target_file_size: config.execution.target_file_size,
                limits: config.limits.clone(),
                results,
                cluster: None,
            },
            query_memory_limit: query_memory,
        })
    }

    /// Run queries that read enough on a cluster (`strata serve --scheduler`).
    pub fn with_cluster(mut self, cluster: Arc<dyn crate::cluster::ClusterRunner>) -> Self {
        self.lake.cluster = Some(cluster);
        self
    }

    /// The catalog, the stores and the defaults every statement runs with.
    pub fn lake(&self) -> &Lake {
        &self.lake
    }

    /// The limits every statement is checked against.
    pub fn limits(&self) -> &Limits {
        &self.lake.limits
    }

    /// The codec that turns this engine's physical plans into bytes another process (a
    /// cluster's executor) can run, and back (docs/cluster-design.md).
    pub fn codec(&self) -> Arc<dyn datafusion_proto::physical_plan::PhysicalExtensionCodec> {
        Arc::new(crate::codec::StrataCodec::new(Arc::clone(
            &self.lake.stores,
        )))
    }

    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.lake.catalog
    }

    /// A session for a sequence of statements (settings made with `SET` last for the session).
    pub fn session(&self) -> QuerySession {
        QuerySession {
            lake: Lake {
                ctx: self.lake.context(),
                ..self.lake.clone()
            },
            query_memory_limit: self.query_memory_limit,
            progress: Arc::new(()),
            result_cache: ResultCacheChoice {
                enabled: true,
                scope: String::new(),
            },
        }
    }

    /// Bytes of memory reserved by running queries, and spill bytes on disk.
    pub fn resources_in_use(&self) -> (usize, u64) {
        let runtime = self.lake.ctx.runtime_env();
        (
            runtime.memory_pool.reserved(),
            runtime.disk_manager.used_disk_space(),
        )
    }
}

/// A sequence of statements sharing settings; each statement reads one snapshot.
pub struct QuerySession {
    /// The lake, with this session's own DataFusion context (its `SET`s).
    lake: Lake,
    query_memory_limit: Option<usize>,
    /// Where `CALL register`/`refresh` report the footers they read (the CLI's progress bar).
    progress: Arc<dyn Progress>,
    /// Whether queries use the result cache, and the scope their entries are kept under.
    result_cache: ResultCacheChoice,
}

/// A session's use of the result cache.
#[derive(Debug, Clone)]
pub(crate) struct ResultCacheChoice {
    pub(crate) enabled: bool,
    pub(crate) scope: String,
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

impl QuerySession {
    /// Split SQL text into statements (semicolons inside strings and comments are respected).
    /// Every entry point parses here, so the statement limits apply to every door.
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        self.lake.limits.check_text(sql)?;
        let state = self.lake.ctx.state();
        let dialect_name = state.config().options().sql_parser.dialect;
        let dialect = dialect_from_str(dialect_name)
            .ok_or_else(|| Error::Usage(format!("unknown SQL dialect '{dialect_name}'")))?;
        let sql = rewrite_partitioned_by(sql);
        let depth = self.lake.limits.max_expression_depth;
        let statements: Vec<Statement> = DFParserBuilder::new(sql.as_str())
            .with_dialect(dialect.as_ref())
            .with_recursion_limit(depth)
            .build()
            .and_then(|mut parser| parser.parse_statements())
            .map_err(|e| match e.find_root() {
                DataFusionError::SQL(e, _)
                    if matches!(**e, ParserError::RecursionLimitExceeded) =>
                {
                    Error::LimitExceeded {
                        setting: "limits.max_expression_depth",
                        message: format!("the SQL nests more than {depth} levels deep"),
                    }
                }
                _ => Error::from(e),
            })?
            .into_iter()
            .collect();
        self.lake.limits.check_statements(&statements)?;
        let mut statements = statements;
        for statement in &mut statements {
            crate::chains::balance_chains(statement);
            crate::introspection::distinguish_calls(statement);
            crate::introspection::show_functions(statement);
            crate::functions::duckdb_spellings(statement);
        }
        Ok(statements)
    }

    /// Use the result cache for this session's queries or not, and keep its entries under
    /// `scope` (the server passes the caller's role, so entries are shared within a role).
    pub fn set_result_cache(&mut self, enabled: bool, scope: &str) {
        self.result_cache = ResultCacheChoice {
            enabled,
            scope: scope.to_string(),
        };
    }

    /// Report the footers `CALL register`/`refresh` read to `progress`.
    pub fn set_progress(&mut self, progress: Arc<dyn Progress>) {
        self.progress = progress;
    }

    /// Make `schema` the schema unqualified table names resolve to.
    pub fn set_default_schema(&self, schema: &str) {
        self.lake
            .ctx
            .state_ref()
            .write()
            .config_mut()
            .options_mut()
            .catalog
            .default_schema = schema.to_string();
    }

    /// The schema unqualified table names resolve to.
    pub fn default_schema(&self) -> String {
        self.lake
            .ctx
            .state()
            .config()
            .options()
            .catalog
            .default_schema
            .clone()
    }

    /// Plan one statement at the current snapshot without running it.
    pub async fn prepare(&self, mut statement: Statement) -> Result<PreparedStatement> {
        let started = Instant::now();
        let snapshot = self.lake.catalog.current_snapshot()?;
        self.lake.ctx.register_catalog(
            CATALOG_NAME,
            Arc::new(SnapshotCatalog::new(
                Arc::clone(&self.lake.catalog),
                Arc::clone(&self.lake.stores),
                snapshot,
            )),
        );
        // The statement runs in its own runtime, sharing the engine's memory pool, disk manager
        // and caches, whose stores count into this statement's request counter.
        let counter = Arc::new(RequestCounter::default());
        let base = self.lake.ctx.runtime_env();
        let pool: Arc<dyn MemoryPool> = Arc::new(QueryMemoryPool::new(
            Arc::clone(&base.memory_pool),
            self.query_memory_limit.unwrap_or(usize::MAX),
        ));
        let mut runtime = RuntimeEnvBuilder::new()
            .with_memory_pool(pool)
            .with_cache_manager(shared_caches(&base.cache_manager))
            .with_object_store_registry(self.lake.stores.registry(Arc::clone(&counter)));
        runtime.disk_manager = Some(Arc::clone(&base.disk_manager));
        let runtime = runtime.build_arc()?;
        // Planned on this state, owned (a `SessionContext` hands out copies of its state).
        // Scans find the counter in the session config, to count their requests into it and
        // report storage problems to it.
        let mut state = self.lake.ctx.state();
        state.config_mut().set_extension(Arc::clone(&counter));
        crate::introspection::register(&mut state, &self.lake.catalog, snapshot);
        state.register_udtf(
            "table_at",
            Arc::new(TableAt {
                catalog: Arc::clone(&self.lake.catalog),
                stores: Arc::clone(&self.lake.stores),
            }),
        );
        let work = match catalog_command(&statement)? {
            Some(command) => Work::Command(command),
            None => {
                number_placeholders(&mut statement);
                let create_options = match &mut statement {
                    Statement::Statement(s) => match s.as_mut() {
                        SqlStatement::CreateTable(create) if !create.external => {
                            Some(take_create_options(create)?)
                        }
                        _ => None,
                    },
                    _ => None,
                };
                let plan = crate::functions::plan_statement(&state, statement).await?;
                match self.write_job(&plan, create_options, snapshot)? {
                    Some(job) => Work::Write(Box::new(job)),
                    None => {
                        // `SET` changes this session's settings for the statements that follow.
                        if let LogicalPlan::Statement(
                            LogicalStatement::SetVariable(_) | LogicalStatement::ResetVariable(_),
                        ) = &plan
                        {
                            self.lake.ctx.execute_logical_plan(plan.clone()).await?;
                        }
                        let (plan, schema, analyzed) = analyze(&state, plan);
                        Work::Plan(plan, schema, analyzed)
                    }
                }
            }
        };
        // A query runs on the statement's runtime through its task context; anything else
        // (writes, DDL, procedures, EXPLAIN) DataFusion may run through the session, so the
        // session gets the runtime (rebuilding the state registers every function again, a
        // fifth of a small query's planning, which queries skip).
        let (ctx, runtime) = match &work {
            Work::Plan(plan, _, _) if is_query(plan) => {
                (SessionContext::new_with_state(state), Some(runtime))
            }
            _ => (
                SessionContext::new_with_state(
                    SessionStateBuilder::new_from_existing(state)
                        .with_runtime_env(runtime)
                        .build(),
                ),
                None,
            ),
        };
        Ok(PreparedStatement {
            lake: Lake {
                ctx,
                ..self.lake.clone()
            },
            work,
            started,
            snapshot,
            counter,
            runtime,
            progress: Arc::clone(&self.progress),
            result_cache: self.result_cache.clone(),
        })
    }

    /// The write a planned statement stands for, if it is one.
    fn write_job(
        &self,
        plan: &LogicalPlan,
        create_options: Option<CreateOptions>,
        snapshot: SnapshotId,
    ) -> Result<Option<WriteJob>> {
        match plan {
            LogicalPlan::Ddl(DdlStatement::CreateMemoryTable(create)) => {
                if create.or_replace {
                    return Err(Error::Unsupported(
                        "CREATE OR REPLACE TABLE is not supported yet: DROP TABLE first".into(),
                    ));
                }
                if create.temporary {
                    return Err(Error::Unsupported(
                        "temporary tables are not supported".into(),
                    ));
                }
                let name = reference_name(&create.name)?;
                let table = new_table(
                    &name,
                    create.input.schema().as_arrow(),
                    create_options.unwrap_or_default(),
                )?;
                let input = match create.input.as_ref() {
                    LogicalPlan::EmptyRelation(e) if !e.produce_one_row => None,
                    other => Some(other.clone()),
                };
                Ok(Some(WriteJob::Create {
                    table,
                    if_not_exists: create.if_not_exists,
                    input,
                }))
            }
            LogicalPlan::Dml(dml) => match &dml.op {
                WriteOp::Insert(InsertOp::Append) => {
                    let name = reference_name(&dml.table_name)?;
                    let (schema, table) = split_table_name(&name)?;
                    let meta = self.lake.catalog.require_table(snapshot, &schema, &table)?;
                    check_writable(&meta)?;
                    Ok(Some(WriteJob::Insert {
                        meta,
                        input: dml.input.as_ref().clone(),
                    }))
                }
                WriteOp::Insert(op) => Err(Error::Unsupported(format!(
                    "INSERT {op} is not supported yet; use INSERT INTO"
                ))),
                other => Err(Error::Unsupported(format!(
                    "{other} is not supported yet: Strata appends with INSERT INTO and drops old data by partition (retention)"
                ))),
            },
            _ => Ok(None),
        }
    }

    /// Plan and start one statement at the current snapshot.
    pub async fn run(&self, statement: Statement) -> Result<RunningStatement> {
        self.prepare(statement).await?.execute(None).await
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

/// The data cache's disk tier, when `cache.disk_path` is set (and the memory tier is on).
pub(crate) fn disk_tier(
    config: &crate::config::CacheConfig,
) -> Result<Option<Arc<crate::disk_cache::DiskTier>>> {
    let Some(dir) = config
        .disk_path
        .as_ref()
        .filter(|_| config.data > 0 && config.disk > 0)
    else {
        return Ok(None);
    };
    crate::disk_cache::DiskTier::open(dir, config.disk).map_err(|source| Error::Io {
        context: format!(
            "cannot use {} as the data cache's disk tier (cache.disk_path)",
            dir.display()
        ),
        source,
    })
}

/// The schema a plan's result will have. The planner's schema is taken before type coercion:
/// `CASE WHEN … THEN int_col ELSE bigint_col END` says `Int32` there and `Int64` once coerced,
/// and a client told `Int32` would get big values as NULLs. The analyzer settles the types; a
/// plan it cannot analyze yet (parameters without types) keeps the planner's schema.
/// A query plan after DataFusion's analyzer (type coercion and the like), with its result
/// schema — what clients are told before it runs — and whether it was analyzed. Analyzing
/// now rather than when it runs analyzes it once ([`crate::statement`] optimizes an analyzed
/// query without analyzing it again). Not analyzed: statements DataFusion runs its own way,
/// plans with placeholders (their parameters are bound before analysis, which types them),
/// and plans the analyzer refuses (they fail with DataFusion's own error when run).
fn analyze(state: &SessionState, plan: LogicalPlan) -> (LogicalPlan, SchemaRef, bool) {
    let as_is = |plan: LogicalPlan| {
        let schema = Arc::new(plan.schema().as_arrow().clone());
        (plan, schema, false)
    };
    let analyzed =
        state
            .analyzer()
            .execute_and_check(plan.clone(), state.config_options(), |_, _| {});
    let Ok(analyzed) = analyzed else {
        return as_is(plan);
    };
    let schema = Arc::new(analyzed.schema().as_arrow().clone());
    let placeholders = plan.get_parameter_types().map_or(true, |p| !p.is_empty());
    if !is_query(&plan) || placeholders {
        return (plan, schema, false);
    }
    (analyzed, schema, true)
}

/// Whether a plan only reads (no DDL, DML, COPY, `SET` or EXPLAIN, which DataFusion runs or
/// optimizes its own way).
pub(crate) fn is_query(plan: &LogicalPlan) -> bool {
    !matches!(
        plan,
        LogicalPlan::Ddl(_)
            | LogicalPlan::Dml(_)
            | LogicalPlan::Copy(_)
            | LogicalPlan::Statement(_)
            | LogicalPlan::Explain(_)
            | LogicalPlan::Analyze(_)
            | LogicalPlan::DescribeTable(_)
    )
}

/// `schema.table` of a table reference in the `strata` catalog.
fn reference_name(reference: &TableReference) -> Result<String> {
    if let Some(catalog) = reference.catalog()
        && catalog != CATALOG_NAME
    {
        return Err(Error::NotFound(format!(
            "catalog '{catalog}' does not exist; tables live in catalog '{CATALOG_NAME}'"
        )));
    }
    Ok(match reference.schema() {
        Some(schema) => format!("{schema}.{}", reference.table()),
        None => reference.table().to_string(),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use arrow::array::RecordBatch;
    use datafusion::common::{ParamValues, ScalarValue};

    use super::*;
    use crate::EngineConfig;

    /// The configuration of an engine on a new SQLite catalog in `dir`.
    pub(crate) fn config(dir: &std::path::Path) -> EngineConfig {
        EngineConfig {
            catalog: format!("sqlite:{}", dir.join("catalog.db").display()),
            data_path: Some(dir.join("data").display().to_string()),
            ..EngineConfig::default()
        }
    }

    /// An engine on a new SQLite catalog in `dir` (for the tests of the crate).
    pub(crate) fn open(dir: &std::path::Path) -> Engine {
        Engine::open(&config(dir)).unwrap()
    }

    pub(crate) async fn run(engine: &Engine, sql: &str) {
        engine.session().run_all(sql).await.unwrap();
    }

    /// The last statement's rows, every column as text.
    pub(crate) async fn rows(engine: &Engine, sql: &str) -> Vec<Vec<String>> {
        let results = engine.session().run_all(sql).await.unwrap();
        let (_, batches, _) = results.last().unwrap();
        text_rows(batches)
    }

    pub(crate) fn text_rows(batches: &[RecordBatch]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for batch in batches {
            for row in 0..batch.num_rows() {
                out.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| arrow::util::display::array_value_to_string(c, row).unwrap())
                        .collect(),
                );
            }
        }
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_table_kept_per_snapshot_never_hides_a_later_change() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let catalog = Arc::clone(engine.catalog());
        run(
            &engine,
            "CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (1)",
        )
        .await;
        let before = catalog.current_snapshot().unwrap();
        assert_eq!(rows(&engine, "SELECT * FROM t").await, [["1"]]);
        run(
            &engine,
            "ALTER TABLE t ADD COLUMN m VARCHAR; INSERT INTO t VALUES (2, 'x')",
        )
        .await;
        assert_eq!(
            rows(&engine, "SELECT n, m FROM t ORDER BY n").await,
            [["1", ""], ["2", "x"]]
        );
        // The table as it was stays as it was.
        let old = catalog.table(before, "main", "t").unwrap().unwrap();
        assert_eq!(old.columns.len(), 1);
        let now = catalog.current_snapshot().unwrap();
        let new = catalog.table(now, "main", "t").unwrap().unwrap();
        assert_eq!(new.columns.len(), 2);
        run(&engine, "ALTER TABLE t DROP COLUMN m").await;
        assert_eq!(
            rows(&engine, "SELECT * FROM t ORDER BY n").await,
            [["1"], ["2"]]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_query_runs_within_its_own_memory_limit() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.limits.query_memory = Some(256 << 10);
        let engine = Engine::open(&config).unwrap();
        run(
            &engine,
            "CREATE TABLE t AS SELECT value AS n, repeat(CAST(value AS VARCHAR), 20) AS s \
                 FROM generate_series(1, 200000)",
        )
        .await;
        // Queries are planned on the engine's state and run on the statement's runtime: its
        // memory pool is the one that refuses.
        let error = engine
            .session()
            .run_all("SELECT s, count(DISTINCT n) FROM t GROUP BY s ORDER BY 2 DESC LIMIT 3")
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("limits.query_memory"), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queries_analyzed_when_prepared_answer_as_datafusion_does() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        run(
            &engine,
            "CREATE TABLE t (n BIGINT, s VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
        )
        .await;
        // Type coercion (text against a number, integer against a decimal) happens once,
        // when the statement is prepared.
        assert_eq!(
            rows(&engine, "SELECT n + 1.5, s || n FROM t WHERE n = '2'").await,
            [["3.5", "b2"]]
        );
        // A placeholder is typed when its parameter is bound, whatever integer type it has.
        let session = engine.session();
        let statement = session
            .parse("SELECT s FROM t WHERE n > $1")
            .unwrap()
            .remove(0);
        let prepared = session.prepare(statement).await.unwrap();
        let params = ParamValues::List(vec![ScalarValue::Int32(Some(1)).into()]);
        let mut running = prepared.execute(Some(params)).await.unwrap();
        let batches: Vec<RecordBatch> = (&mut running.stream).try_collect().await.unwrap();
        assert_eq!(text_rows(&batches), [["b"]]);
        // EXPLAIN still shows the plan DataFusion optimizes.
        let plan = rows(&engine, "EXPLAIN SELECT count(*) FROM t WHERE n > 1").await;
        assert!(plan.iter().any(|r| r[0] == "physical_plan"), "{plan:?}");
    }
}
