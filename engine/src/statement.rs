//! One statement between planning and results: a [`PreparedStatement`] planned at one snapshot
//! (a query plan, a write job or a catalog command), its execution — writes, DDL and
//! procedures run to the end before `execute` returns — and the [`RunningStatement`] whose
//! stream and [`QueryStats`] the CLI and the server read.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use arrow::datatypes::{DataType, Field, SchemaRef};
use datafusion::common::ParamValues;
use datafusion::common::format::ExplainFormat;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, execute_stream};
use datafusion::prelude::SessionContext;
use futures::TryStreamExt;
use strata_catalog::{Alteration, Progress, SnapshotId};

use crate::cluster::Submitted;
use crate::commands::{AlterChange, CatalogCommand};
use crate::error::{Error, Result};
use crate::lake::{Lake, split_table_name};
use crate::requests::{RequestCounter, RequestCounts};
use crate::result_cache::{CacheUse, Probe};
use crate::scan_exec::{CatalogScanExec, ScanSummary};
use crate::write_job::{WriteJob, count_batch, count_schema, run_write};

/// A statement planned at one snapshot, not yet running. Its schema is known, so a server can
/// describe the result (and the parameters) before running it.
pub struct PreparedStatement {
    /// The lake, with the statement's own context: its snapshot and its request counter.
    pub(crate) lake: Lake,
    pub(crate) work: Work,
    pub(crate) started: Instant,
    pub(crate) snapshot: SnapshotId,
    pub(crate) counter: Arc<RequestCounter>,
    /// The statement's runtime (its memory pool, its counted stores), when its session's
    /// state does not carry it: a query runs with it through its task context.
    pub(crate) runtime: Option<Arc<datafusion::execution::runtime_env::RuntimeEnv>>,
    pub(crate) progress: Arc<dyn Progress>,
    pub(crate) result_cache: crate::engine::ResultCacheChoice,
}

pub(crate) enum Work {
    /// A query (or another statement DataFusion runs), its result schema after type
    /// coercion (what clients are told before it runs), and whether the plan is analyzed
    /// already (type coercion done: it is only optimized when it runs).
    Plan(LogicalPlan, SchemaRef, bool),
    Command(CatalogCommand),
    /// CREATE TABLE, CREATE TABLE AS, INSERT: returns one row, `count`.
    Write(Box<WriteJob>),
}

impl PreparedStatement {
    /// Schema of the result (empty for catalog statements).
    pub fn schema(&self) -> SchemaRef {
        match &self.work {
            Work::Plan(_, schema, _) => Arc::clone(schema),
            Work::Command(CatalogCommand::Maintain(_)) => crate::procedures::procedure_schema(),
            Work::Command(_) => Arc::new(arrow::datatypes::Schema::empty()),
            Work::Write(_) => count_schema(),
        }
    }

    /// Types of the parameters `$1, $2, …` in order (`Null` where the plan does not tell).
    pub fn parameter_schema(&self) -> Result<SchemaRef> {
        let Work::Plan(plan, _, _) = &self.work else {
            return Ok(Arc::new(arrow::datatypes::Schema::empty()));
        };
        let mut params: Vec<(usize, Option<DataType>)> = plan
            .get_parameter_types()?
            .into_iter()
            .filter_map(|(name, t)| Some((name.strip_prefix('$')?.parse().ok()?, t)))
            .collect();
        params.sort_by_key(|(i, _)| *i);
        Ok(Arc::new(arrow::datatypes::Schema::new(
            params
                .into_iter()
                .map(|(i, t)| Field::new(format!("${i}"), t.unwrap_or(DataType::Null), true))
                .collect::<Vec<_>>(),
        )))
    }

    /// Whether the statement changes the catalog (DDL) rather than returning rows.
    pub fn is_catalog_command(&self) -> bool {
        matches!(self.work, Work::Command(_))
    }

    /// Whether running the statement changes something (a write, DDL, a procedure) rather
    /// than only reading. Such a statement has happened when [`Self::execute`] returns: it
    /// runs to the end there, and its stream only replays the (small) result.
    pub fn has_effects(&self) -> bool {
        match &self.work {
            Work::Write(_) | Work::Command(_) => true,
            Work::Plan(plan, _, _) => matches!(
                plan,
                LogicalPlan::Ddl(_)
                    | LogicalPlan::Dml(_)
                    | LogicalPlan::Copy(_)
                    | LogicalPlan::Statement(_)
            ),
        }
    }

    /// Whether this is a query (no effects, not EXPLAIN) planned at the catalog's current
    /// snapshot: nothing has committed since it was planned, so running it now answers what
    /// planning it again would. A server may then run a plan it made a moment ago for the
    /// same caller (a prepared statement's first execution) instead of planning it twice.
    pub fn is_current_query(&self) -> Result<bool> {
        Ok(self.is_query() && self.lake.catalog.current_snapshot()? == self.snapshot)
    }

    /// Whether this is a query: it only reads, and is not an EXPLAIN or DESCRIBE.
    pub fn is_query(&self) -> bool {
        matches!(&self.work, Work::Plan(plan, _, _) if crate::engine::is_query(plan))
    }

    /// Start the statement, with `params` bound to its placeholders.
    pub async fn execute(self, params: Option<ParamValues>) -> Result<RunningStatement> {
        self.execute_rows(params.into_iter().collect()).await
    }

    /// Start the statement with several rows of parameters. A write writes the rows of every
    /// parameter row in one commit (ADBC's `executemany`); a query binds the first row.
    pub async fn execute_rows(self, rows: Vec<ParamValues>) -> Result<RunningStatement> {
        let PreparedStatement {
            lake,
            work,
            started,
            snapshot,
            counter,
            runtime,
            progress,
            result_cache,
        } = self;
        let (plan, analyzed) = match work {
            Work::Plan(plan, _, analyzed) => (plan, analyzed),
            Work::Write(job) => {
                let job = if rows.is_empty() {
                    *job
                } else {
                    job.bind(rows)?
                };
                let (rows, committed) = run_write(
                    &lake.ctx,
                    &lake.catalog,
                    &lake.stores,
                    job,
                    Some(lake.target_file_size),
                )
                .await?;
                let (schema, batch) = count_batch(rows)?;
                let plan: Arc<dyn ExecutionPlan> = Arc::new(EmptyExec::new(Arc::clone(&schema)));
                return Ok(RunningStatement {
                    schema: Arc::clone(&schema),
                    stream: Box::pin(RecordBatchStreamAdapter::new(
                        schema,
                        futures::stream::once(async move { Ok(batch) }),
                    )),
                    plan,
                    started,
                    // The statement reports the snapshot its write committed.
                    snapshot: committed.unwrap_or(snapshot),
                    counter,
                    result_cache: None,
                    on_cluster: Arc::default(),
                });
            }
            Work::Command(command) => {
                let (schema, batches) = match run_command(&lake, command, progress.as_ref()).await?
                {
                    // A procedure says what it did, a line a row.
                    Some(lines) => (
                        crate::procedures::procedure_schema(),
                        vec![crate::procedures::procedure_batch(lines)?],
                    ),
                    None => (Arc::new(arrow::datatypes::Schema::empty()), Vec::new()),
                };
                return Ok(RunningStatement::answered(
                    schema, batches, started, snapshot, counter, None,
                ));
            }
        };
        let plan = match rows.into_iter().next() {
            Some(params) => plan.with_param_values(params)?,
            None => plan,
        };
        let query = crate::engine::is_query(&plan);
        let (cache_use, pending) = match (&lake.results, result_cache.enabled) {
            (None, _) => (None, None),
            (Some(_), false) => (Some(CacheUse::Bypassed), None),
            (Some(cache), true) => {
                let time_zone = lake
                    .ctx
                    .state()
                    .config_options()
                    .execution
                    .time_zone
                    .clone();
                let probe = cache
                    .probe(
                        &lake.catalog,
                        snapshot,
                        &plan,
                        &result_cache.scope,
                        time_zone.as_deref().unwrap_or(""),
                    )
                    .unwrap_or(Probe::Uncacheable);
                match probe {
                    Probe::Uncacheable => (Some(CacheUse::Uncacheable), None),
                    Probe::Miss(pending) => {
                        (Some(CacheUse::Miss), Some((Arc::clone(cache), pending)))
                    }
                    Probe::Hit(schema, batches) => {
                        return Ok(RunningStatement::answered(
                            schema,
                            batches,
                            started,
                            snapshot,
                            counter,
                            Some(CacheUse::Hit),
                        ));
                    }
                }
            }
        };
        // EXPLAIN on a server with a cluster says where the statement would run.
        // (Not for the one-document formats.)
        let explained = match (&plan, &lake.cluster) {
            (LogicalPlan::Explain(explain), Some(_))
                if matches!(
                    explain.explain_format,
                    ExplainFormat::Indent | ExplainFormat::Tree
                ) =>
            {
                Some(Arc::clone(&explain.plan))
            }
            _ => None,
        };
        // A query a cluster may run is planned again for it (below): keep its logical plan;
        // so is an EXPLAIN of one, to show the plan the cluster would be sent.
        let for_cluster =
            (lake.cluster.is_some() && (query || explained.is_some())).then(|| plan.clone());
        let physical = if analyzed {
            physical_plan(lake.ctx.state(), plan).await?
        } else {
            let frame = lake.ctx.execute_logical_plan(plan).await?;
            frame.create_physical_plan().await?
        };
        // The plan starts when its stream is first polled, not here (DataFusion starts
        // partitions' tasks in `execute`): the server admits a query in between, weighing it
        // by this plan, and nothing of a query waiting for a slot runs.
        let codec = || -> Arc<dyn datafusion_proto::physical_plan::PhysicalExtensionCodec> {
            Arc::new(crate::codec::StrataCodec::new(Arc::clone(&lake.stores)))
        };
        let physical = match (explained, &lake.cluster) {
            (Some(statement), Some(cluster)) => {
                let (line, to_cluster) = if !crate::engine::is_query(&statement) {
                    let line = "runs on this server: writes and commands run here";
                    (line.to_string(), false)
                } else {
                    explain_placement(&lake, &statement, cluster.as_ref(), &codec()).await
                };
                // The plan shown is the one the cluster would be sent (planned for it, below).
                let physical = match (to_cluster, &for_cluster) {
                    (true, Some(explain)) => {
                        let mut state = lake.ctx.state();
                        let options = state.config_mut().options_mut();
                        for_the_cluster(options, cluster.target_partitions());
                        state.create_physical_plan(explain).await?
                    }
                    _ => physical,
                };
                with_explain_row(physical, "cluster", &line, lake.ctx.task_ctx()).await?
            }
            _ => physical,
        };
        let on_cluster = (lake.cluster.as_ref())
            .filter(|_| query)
            .and_then(|cluster| {
                let codec = codec();
                matches!(
                    crate::cluster::placement(&physical, cluster.as_ref(), &codec),
                    crate::cluster::Placement::Cluster(_)
                )
                .then(|| (Arc::clone(cluster), codec, lake.ctx.copied_config()))
            });
        // Planned again without dynamic filters: Ballista cuts the plan into stages, and a
        // join's or a top-N's filter built in one stage cannot reach a scan in another (the
        // scheduler also refuses to swap a join's inputs once it has one, and the job then
        // never ends). The settings the cluster is sent say the same. With the cluster's own
        // partition count, scans and exchanges are cut for its task slots.
        let (physical, on_cluster) = match (on_cluster, for_cluster) {
            (Some((cluster, codec, mut config)), Some(logical)) => {
                let partitions = cluster.target_partitions();
                for_the_cluster(config.options_mut(), partitions);
                let mut state = lake.ctx.state();
                for_the_cluster(state.config_mut().options_mut(), partitions);
                let planned = if analyzed {
                    physical_plan(state, logical).await?
                } else {
                    state.create_physical_plan(&logical).await?
                };
                // Placed by the plan with dynamic filters; the one sent must qualify too. The
                // server's own plan stays what runs here (if the plan sent does not qualify,
                // or the scheduler cannot be reached): planned for this server's partitions
                // and memory, with its dynamic filters.
                let placed = crate::cluster::placement(&planned, cluster.as_ref(), &codec);
                let on_cluster = matches!(placed, crate::cluster::Placement::Cluster(_))
                    .then_some((cluster, codec, config, planned));
                (physical, on_cluster)
            }
            (on_cluster, _) => {
                let sent = on_cluster.map(|(cluster, codec, config)| {
                    (cluster, codec, config, Arc::clone(&physical))
                });
                (physical, sent)
            }
        };
        let ran_on_cluster = Arc::new(AtomicBool::new(false));
        let plan_starts = {
            let physical = Arc::clone(&physical);
            let ran_on_cluster = Arc::clone(&ran_on_cluster);
            let task_ctx = match runtime {
                Some(runtime) => {
                    TaskContext::from(&*lake.ctx.state_ref().read()).with_runtime(runtime)
                }
                None => TaskContext::from(&lake.ctx),
            };
            let task_ctx = Arc::new(crate::memory::share_sort_reservations(&physical, task_ctx));
            futures::stream::once(async move {
                if let Some((cluster, codec, config, sent)) = on_cluster {
                    match cluster.submit(sent, codec, config).await? {
                        Submitted::Running(stream) => {
                            ran_on_cluster.store(true, Ordering::Relaxed);
                            return Ok(stream);
                        }
                        Submitted::Unreachable(why) if cluster.falls_back_to_local() => {
                            eprintln!("strata: {why}; the query runs on this server");
                        }
                        Submitted::Unreachable(why) => {
                            return Err(DataFusionError::Execution(format!(
                                "{why} (the server is set to fail rather than run it here: \
                                 --cluster-fallback fail)"
                            )));
                        }
                    }
                }
                crate::scan_exec::start_prefetch(&physical);
                execute_stream(physical, task_ctx)
            })
            .try_flatten()
        };
        // A storage failure reaches the stream flattened into text by the Parquet reader;
        // report the explained failure the statement's stores recorded instead.
        let stream: SendableRecordBatchStream = {
            let counter = Arc::clone(&counter);
            let stream = plan_starts;
            Box::pin(RecordBatchStreamAdapter::new(
                physical.schema(),
                stream.map_err(move |e| match counter.problem() {
                    Some(problem) => DataFusionError::External(Box::new(problem)),
                    None => e,
                }),
            ))
        };
        let stream = match pending {
            Some((cache, pending)) => cache.collect(pending, stream),
            None => stream,
        };
        Ok(RunningStatement {
            schema: physical.schema(),
            stream,
            plan: physical,
            started,
            snapshot,
            counter,
            result_cache: cache_use,
            on_cluster: ran_on_cluster,
        })
    }
}

/// What `SessionState::create_physical_plan` does, less the analyzer pass that preparing the
/// statement made already.
async fn physical_plan(
    state: datafusion::execution::SessionState,
    plan: LogicalPlan,
) -> Result<Arc<dyn ExecutionPlan>> {
    let optimized = state.optimizer().optimize(plan, &state, |_, _| {})?;
    Ok(state
        .query_planner()
        .create_physical_plan(&optimized, &state)
        .await?)
}

/// EXPLAIN's `cluster` row for a query, and whether it goes there: placed as a run places it
/// (the server's plan, then the plan the cluster would be sent).
async fn explain_placement(
    lake: &Lake,
    statement: &LogicalPlan,
    cluster: &dyn crate::cluster::ClusterRunner,
    codec: &Arc<dyn datafusion_proto::physical_plan::PhysicalExtensionCodec>,
) -> (String, bool) {
    use crate::cluster::{Placement, explain_placement, placement};
    // As DataFusion's own rows do, EXPLAIN reports what it cannot plan.
    let planned = match lake.ctx.state().create_physical_plan(statement).await {
        Ok(planned) => planned,
        Err(e) => return (format!("cannot tell: {e}"), false),
    };
    let placed = placement(&planned, cluster, codec);
    if !matches!(placed, Placement::Cluster(_)) {
        return (explain_placement(&placed, cluster), false);
    }
    let mut state = lake.ctx.state();
    for_the_cluster(
        state.config_mut().options_mut(),
        cluster.target_partitions(),
    );
    match state.create_physical_plan(statement).await {
        Ok(sent) => match placement(&sent, cluster, codec) {
            Placement::Cluster(_) => (explain_placement(&placed, cluster), true),
            local => (explain_placement(&local, cluster), false),
        },
        Err(e) => (format!("cannot tell: {e}"), false),
    }
}

/// Settings to plan a query for the cluster with: every dynamic filter off (as `SET
/// datafusion.optimizer.enable_dynamic_filter_pushdown = false` does), and the cluster's
/// partition count when it has one.
fn for_the_cluster(options: &mut datafusion::config::ConfigOptions, partitions: Option<usize>) {
    if let Some(partitions) = partitions {
        options.execution.target_partitions = partitions;
    }
    let optimizer = &mut options.optimizer;
    optimizer.enable_dynamic_filter_pushdown = false;
    optimizer.enable_join_dynamic_filter_pushdown = false;
    optimizer.enable_topk_dynamic_filter_pushdown = false;
    optimizer.enable_aggregate_dynamic_filter_pushdown = false;
}

/// `EXPLAIN`'s output (`plan_type`, `plan`) with one more row.
async fn with_explain_row(
    explain: Arc<dyn ExecutionPlan>,
    plan_type: &str,
    plan: &str,
    task_ctx: Arc<TaskContext>,
) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = explain.schema();
    let mut batches = datafusion::physical_plan::collect(explain, task_ctx).await?;
    let columns = (schema.fields().iter().zip([plan_type, plan]))
        .map(|(field, text)| {
            let text: arrow::array::ArrayRef =
                Arc::new(arrow::array::StringArray::from(vec![text]));
            arrow::compute::cast(&text, field.data_type())
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    batches.push(arrow::array::RecordBatch::try_new(
        Arc::clone(&schema),
        columns,
    )?);
    Ok(datafusion::datasource::memory::MemorySourceConfig::try_new_exec(&[batches], schema, None)?)
}

/// Carry out a catalog statement; a procedure returns the lines saying what it did.
async fn run_command(
    lake: &Lake,
    command: CatalogCommand,
    progress: &dyn Progress,
) -> Result<Option<Vec<String>>> {
    let catalog = &lake.catalog;
    let ctx = &lake.ctx;
    match command {
        CatalogCommand::Maintain(call) => {
            return Ok(Some(lake.run_procedure(&call, progress).await?));
        }
        CatalogCommand::Register {
            name,
            location,
            if_not_exists,
        } => {
            let (schema, table) = split_table_name(&name)?;
            if if_not_exists
                && catalog
                    .table(catalog.current_snapshot()?, &schema, &table)?
                    .is_some()
            {
                return Ok(None);
            }
            lake.register_table(&name, &location, &()).await?;
        }
        CatalogCommand::Drop { names, if_exists } => {
            for name in names {
                let (schema, table) = split_table_name(&name)?;
                match catalog.drop_table(&schema, &table) {
                    Err(strata_catalog::Error::TableNotFound { .. }) if if_exists => {}
                    other => {
                        other?;
                    }
                }
            }
        }
        CatalogCommand::Alter {
            name,
            if_exists,
            changes,
        } => {
            let (schema, table) = split_table_name(&name)?;
            let changes = resolve_alter_types(ctx, changes).await?;
            match catalog.alter_table(&schema, &table, &changes, "strata") {
                Err(strata_catalog::Error::TableNotFound { .. }) if if_exists => {}
                other => {
                    other?;
                }
            }
        }
    }
    Ok(None)
}

/// `ALTER TABLE` changes with their SQL types turned into DuckLake type names, as DataFusion
/// maps SQL types (so `VARCHAR`, `BIGINT`, `DOUBLE`, `TIMESTAMP`, `DECIMAL(p, s)` mean what
/// they mean in `CREATE TABLE`).
async fn resolve_alter_types(
    ctx: &SessionContext,
    changes: Vec<AlterChange>,
) -> Result<Vec<Alteration>> {
    let mut out = Vec::with_capacity(changes.len());
    for change in changes {
        let ducklake = async |column: &str, sql_type: &str| -> Result<String> {
            let plan = ctx
                .state()
                .create_logical_plan(&format!("SELECT CAST(NULL AS {sql_type}) AS v"))
                .await
                .map_err(|e| {
                    Error::Usage(format!(
                        "column '{column}': unknown type '{sql_type}' ({e})"
                    ))
                })?;
            let data_type = plan.schema().field(0).data_type().clone();
            Ok(strata_catalog::types::ducklake_type(column, &data_type)?)
        };
        out.push(match change {
            AlterChange::AddColumn {
                name,
                sql_type,
                if_not_exists,
            } => Alteration::AddColumn {
                type_name: ducklake(&name, &sql_type).await?,
                name,
                if_not_exists,
            },
            AlterChange::SetType { name, sql_type } => Alteration::SetType {
                type_name: ducklake(&name, &sql_type).await?,
                name,
            },
            AlterChange::DropColumn { name, if_exists } => {
                Alteration::DropColumn { name, if_exists }
            }
            AlterChange::RenameColumn { from, to } => Alteration::RenameColumn { from, to },
        });
    }
    Ok(out)
}

/// Statistics of one executed statement.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct QueryStats {
    /// Files the scans read.
    pub files_scanned: usize,
    /// Files skipped thanks to catalog statistics and partition values.
    pub files_pruned: usize,
    /// Files whose share of a `GROUP BY` answer came from the catalog's statistics, unread.
    #[serde(default)]
    pub files_answered: usize,
    /// Live files of the scanned tables.
    pub files_total: usize,
    /// Rows returned.
    pub rows: usize,
    /// Object-store requests of this statement, by kind, with the bytes they read (footers
    /// and column chunks).
    pub requests: RequestCounts,
    pub elapsed_ms: u128,
    /// The same, in microseconds.
    pub elapsed_us: u128,
    /// The snapshot the statement read.
    pub snapshot: SnapshotId,
    /// How the statement met the result cache: `hit`, `miss`, `uncacheable` or `bypassed`
    /// (absent when the cache is off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_cache: Option<String>,
    /// Whether the plan ran on the cluster (`strata serve --scheduler`); its object-store
    /// requests were then the executors' and are not counted here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cluster: bool,
}

/// A statement that is running: its result stream and, once drained, its statistics.
pub struct RunningStatement {
    pub schema: SchemaRef,
    pub stream: SendableRecordBatchStream,
    pub(crate) plan: Arc<dyn ExecutionPlan>,
    pub(crate) started: Instant,
    pub(crate) snapshot: SnapshotId,
    pub(crate) counter: Arc<RequestCounter>,
    /// How the statement met the result cache; None when the cache is off.
    pub(crate) result_cache: Option<CacheUse>,
    /// Whether the plan runs on the cluster (set once the scheduler accepted the job).
    pub(crate) on_cluster: Arc<AtomicBool>,
}

impl RunningStatement {
    /// A statement whose answer is already at hand (a procedure's lines, a cached result).
    fn answered(
        schema: SchemaRef,
        batches: Vec<arrow::array::RecordBatch>,
        started: Instant,
        snapshot: SnapshotId,
        counter: Arc<RequestCounter>,
        result_cache: Option<CacheUse>,
    ) -> RunningStatement {
        let plan: Arc<dyn ExecutionPlan> = Arc::new(EmptyExec::new(Arc::clone(&schema)));
        RunningStatement {
            schema: Arc::clone(&schema),
            stream: Box::pin(RecordBatchStreamAdapter::new(
                schema,
                futures::stream::iter(batches.into_iter().map(Ok)),
            )),
            plan,
            started,
            snapshot,
            counter,
            result_cache,
            on_cluster: Arc::default(),
        }
    }

    /// Take the result stream out, to drive it elsewhere; statistics stay available.
    pub fn take_stream(mut self) -> (SendableRecordBatchStream, RunningStatement) {
        let empty: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            futures::stream::empty(),
        ));
        let stream = std::mem::replace(&mut self.stream, empty);
        (stream, self)
    }

    /// Statistics of the statement; call after the stream is drained. `rows` is what the caller
    /// counted.
    pub fn stats(&self, rows: usize) -> QueryStats {
        let mut stats = QueryStats {
            rows,
            elapsed_ms: self.started.elapsed().as_millis(),
            elapsed_us: self.started.elapsed().as_micros(),
            snapshot: self.snapshot,
            requests: self.counter.snapshot(),
            result_cache: self.result_cache.map(|c| c.as_str().to_string()),
            cluster: self.on_cluster.load(Ordering::Relaxed),
            ..Default::default()
        };
        accumulate(&self.plan, &mut stats);
        stats
    }
}

impl RunningStatement {
    /// Bytes of the files its scans read at most (0 for an answer at hand): what the server's
    /// admission weighs a query by.
    pub fn bytes_to_read(&self) -> u64 {
        scan_summaries(&self.plan).iter().map(|s| s.bytes).sum()
    }

    /// Files its scans read (each is a part of the plan, held in memory until it is dropped).
    pub fn files_to_read(&self) -> usize {
        scan_summaries(&self.plan).iter().map(|s| s.files).sum()
    }
}

fn accumulate(plan: &Arc<dyn ExecutionPlan>, stats: &mut QueryStats) {
    if let Some(scan) = plan.downcast_ref::<CatalogScanExec>() {
        let ScanSummary {
            total_files,
            files,
            answered,
            ..
        } = scan.summary();
        stats.files_scanned += files;
        stats.files_answered += answered;
        stats.files_total += total_files;
        stats.files_pruned += total_files - files - answered;
    }
    for child in plan.children() {
        accumulate(child, stats);
    }
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

#[cfg(test)]
mod tests {
    use crate::{Engine, EngineConfig};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_statement_is_weighed_by_the_bytes_its_scans_read() {
        let dir = tempfile::tempdir().unwrap();
        let engine = Engine::open(&EngineConfig {
            catalog: format!("sqlite:{}", dir.path().join("catalog.db").display()),
            data_path: Some(dir.path().join("data").display().to_string()),
            ..EngineConfig::default()
        })
        .unwrap();
        let session = engine.session();
        session
            .run_all(
                "CREATE TABLE t (ts TIMESTAMP NOT NULL, n BIGINT) PARTITIONED BY (day(ts)); \
                 INSERT INTO t VALUES (TIMESTAMP '2026-01-01 10:00:00', 1), (TIMESTAMP '2026-01-02 10:00:00', 2)",
            )
            .await
            .unwrap();
        let weigh = async |sql: &str| {
            let statement = session.parse(sql).unwrap().remove(0);
            session.run(statement).await.unwrap().bytes_to_read()
        };
        let all = weigh("SELECT sum(n) FROM t").await;
        let one_day =
            weigh("SELECT sum(n) FROM t WHERE ts < TIMESTAMP '2026-01-02 00:00:00'").await;
        // Answered from the catalog's statistics: nothing to read.
        let counted = weigh("SELECT count(*) FROM t").await;
        assert!(one_day > 0 && one_day < all, "{one_day} of {all}");
        assert_eq!(counted, 0);

        // A started statement reads nothing until its stream is polled (the server admits it
        // in between); then it reads its files.
        let statement = session.parse("SELECT sum(n) FROM t").unwrap().remove(0);
        let mut running = session.run(statement).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        assert_eq!(running.stats(0).requests.get, 0);
        let batches: Vec<_> = futures::TryStreamExt::try_collect(&mut running.stream)
            .await
            .unwrap();
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
        assert!(running.stats(1).requests.get > 0);
    }
}
