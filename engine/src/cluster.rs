//! What cluster mode needs of the engine (docs/cluster-design.md): the hook a server's queries
//! go to a cluster through, and the runtime of the processes that run plans without a catalog
//! (Ballista's scheduler and executors).

use std::path::Path;
use std::sync::{Arc, OnceLock};

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::logical_expr::ScalarUDF;
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::physical_plan::{AsExecutionPlan, PhysicalExtensionCodec};
use datafusion_proto::protobuf::PhysicalPlanNode;

use crate::config::EngineConfig;
use crate::error::Result;
use crate::limits::Limits;
use crate::requests::RequestCounter;
use crate::scan_exec::CatalogScanExec;
use crate::statement::scan_summaries;
use crate::storage::Stores;

/// Where a query's plan runs, and why.
pub(crate) enum Placement {
    /// On the cluster; its scans read this many bytes.
    Cluster(u64),
    /// On this server, for this reason.
    Local(String),
}

/// Whether a query's plan goes to the cluster: it reads files, at least `min_scan_bytes` of
/// them, none on this machine's file system unless the executors share it; it is not an
/// `EXPLAIN ANALYZE` (whose figures are this process's); it has no uncorrelated scalar
/// subquery (whose value its expressions read from the plan node, which a stage boundary
/// separates them from); it calls no function this session configured differently from an
/// executor's default (`to_timestamp` under `datafusion.execution.time_zone`: executors decode
/// functions from their own registry, built once at start); and it encodes (every node has a
/// wire form).
pub(crate) fn placement(
    plan: &Arc<dyn ExecutionPlan>,
    cluster: &dyn ClusterRunner,
    codec: &Arc<dyn PhysicalExtensionCodec>,
) -> Placement {
    use crate::units::format_size;
    let scans = scan_summaries(plan);
    let bytes = scans.iter().map(|s| s.bytes).sum::<u64>();
    if plan
        .downcast_ref::<datafusion::physical_plan::analyze::AnalyzeExec>()
        .is_some()
    {
        return Placement::Local("EXPLAIN ANALYZE measures this process".into());
    }
    if !scans.iter().any(|s| s.files > 0) {
        return Placement::Local("it reads no files".into());
    }
    if bytes < cluster.min_scan_bytes() {
        return Placement::Local(format!(
            "its scans read {} (less than --cluster-min-scan {})",
            crate::procedures::human_bytes(bytes as i64),
            format_size(cluster.min_scan_bytes())
        ));
    }
    let mut local = None;
    let _ = plan.apply(|node| {
        if node
            .downcast_ref::<datafusion::physical_plan::scalar_subquery::ScalarSubqueryExec>()
            .is_some()
        {
            local = Some("it has an uncorrelated scalar subquery".to_string());
        }
        // `x NOT IN (subquery)`: the join must see the whole subquery in one task, and
        // Ballista 55 runs it once per partition of it (every task then keeps the rows the
        // others' part of the subquery would have removed: TPC-H q16 counted twice).
        if node
            .downcast_ref::<datafusion::physical_plan::joins::HashJoinExec>()
            .is_some_and(|join| join.null_aware)
        {
            local = Some("it has a NOT IN subquery (a null-aware anti join)".to_string());
        }
        if let Some(scan) = node.downcast_ref::<CatalogScanExec>()
            && let Some(source) = scan
                .input()
                .downcast_ref::<datafusion::datasource::source::DataSourceExec>()
            && let Some(config) = source
                .data_source()
                .downcast_ref::<datafusion::datasource::physical_plan::FileScanConfig>(
            )
            && config.object_store_url == Stores::local_url()
            && !cluster.local_files_shared()
        {
            local = Some(
                "it reads files on this machine's disk (--cluster-local-files: the executors \
                 see the same paths)"
                    .to_string(),
            );
        }
        let _ = node.apply_expressions(&mut |expr| {
            if let Some(name) = configured_function(expr) {
                local = Some(format!(
                    "it calls {name}, which this session configured differently from the \
                     executors' default"
                ));
            }
            Ok(if local.is_some() {
                TreeNodeRecursion::Stop
            } else {
                TreeNodeRecursion::Continue
            })
        });
        Ok(if local.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    if let Some(reason) = local {
        return Placement::Local(reason);
    }
    match PhysicalPlanNode::try_from_physical_plan(Arc::clone(plan), codec.as_ref()) {
        Ok(_) => Placement::Cluster(bytes),
        Err(e) => Placement::Local(format!("its plan has no wire form ({e})")),
    }
}

/// What `EXPLAIN` says of where the plan runs (its `cluster` row).
pub(crate) fn explain_placement(placement: &Placement, cluster: &dyn ClusterRunner) -> String {
    match placement {
        Placement::Cluster(bytes) => format!(
            "runs on the cluster (scheduler {}): its scans read {}, at least --cluster-min-scan \
             {}; if the scheduler cannot be reached it {}",
            cluster.scheduler(),
            crate::procedures::human_bytes(*bytes as i64),
            crate::units::format_size(cluster.min_scan_bytes()),
            if cluster.falls_back_to_local() {
                "runs on this server"
            } else {
                "fails"
            }
        ),
        Placement::Local(reason) => format!("runs on this server: {reason}"),
    }
}

/// Whether `expr` calls a function that reads the session's configuration (DataFusion's
/// `to_timestamp*`, `now`, … and Strata's aliases of them) as an instance other than the one an
/// executor started with the default configuration decodes under its name (`to_timestamp` under
/// a session time zone: its return type carries the zone). Filters Strata wraps to run once per
/// distinct value are looked into.
fn configured_function(expr: &Arc<dyn PhysicalExpr>) -> Option<String> {
    static DEFAULTS: OnceLock<std::collections::HashMap<String, Arc<ScalarUDF>>> = OnceLock::new();
    let defaults = DEFAULTS.get_or_init(|| {
        let options = datafusion::common::config::ConfigOptions::default();
        let reads_config: std::collections::HashSet<String> =
            (datafusion::functions::all_default_functions().iter())
                .filter(|f| f.inner().with_updated_config(&options).is_some())
                .map(|f| f.name().to_string())
                .collect();
        let ctx = SessionContext::new();
        crate::functions::register(&ctx, &Limits::default());
        let functions = ctx.state().scalar_functions().clone();
        functions
            .into_iter()
            .filter(|(_, f)| reads_config.contains(f.name()))
            .collect()
    });
    let mut configured = None;
    let _ = expr.apply(|e| {
        if let Some(call) = e.downcast_ref::<ScalarFunctionExpr>()
            && defaults
                .get(call.fun().name())
                .is_some_and(|d| d.as_ref() != call.fun())
        {
            configured = Some(call.fun().name().to_string());
        }
        if let Some(wrapped) = e.downcast_ref::<crate::repeated_strings::RepeatedStrings>()
            && configured.is_none()
        {
            configured = configured_function(&wrapped.unwrapped());
        }
        Ok(if configured.is_some() {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    configured
}

/// Runs plans on a cluster. The engine hands it every query whose scans read at least
/// [`min_scan_bytes`](ClusterRunner::min_scan_bytes); writes, commands, `EXPLAIN ANALYZE`,
/// answers at hand and plans the cluster cannot run (see [`placement`]) stay local.
pub trait ClusterRunner: Send + Sync + std::fmt::Debug {
    /// Queries reading fewer bytes run locally (0: every query that reads files).
    fn min_scan_bytes(&self) -> u64;

    /// Whether files on the local file system are at the same paths on every executor (a
    /// shared mount, or a cluster on one machine); if not, plans reading them stay local.
    fn local_files_shared(&self) -> bool;

    /// The scheduler, as `EXPLAIN` names it.
    fn scheduler(&self) -> &str;

    /// Whether a query whose scheduler cannot be reached runs on this server instead (else
    /// it fails, naming the scheduler).
    fn falls_back_to_local(&self) -> bool;

    /// Partitions (tasks a stage) to plan a query for the cluster with, instead of this
    /// server's `target_partitions`: the executors' task slots in all.
    fn target_partitions(&self) -> Option<usize> {
        None
    }

    /// Submit `plan` there, encoded with `codec`, with the session's settings `config` (the
    /// executors' tasks run with them: `[engine.datafusion]`, the time zone functions read).
    /// Dropping the returned stream before the job ended cancels the job.
    fn submit(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        codec: Arc<dyn PhysicalExtensionCodec>,
        config: SessionConfig,
    ) -> futures::future::BoxFuture<'static, datafusion::error::Result<Submitted>>;
}

/// What became of a plan sent to the cluster.
pub enum Submitted {
    /// The job was accepted; its results, as the executors deliver them.
    Running(SendableRecordBatchStream),
    /// The scheduler cannot be reached (nothing was submitted): why.
    Unreachable(String),
}

/// What a process that runs plans without the catalog (a cluster's scheduler or executor)
/// builds from `strata.toml`: the stores (its own credentials), the data cache, Strata's
/// functions and codec.
#[derive(Debug, Clone)]
pub struct WorkerRuntime {
    stores: Arc<Stores>,
    limits: Limits,
}

impl WorkerRuntime {
    /// An executor's: the stores with the data cache `[cache]` configures.
    pub fn new(config: &EngineConfig) -> Result<Self> {
        let data_cache = config
            .cache
            .data
            .min(config.limits.memory_bytes() as u64 / 4);
        Self::with_stores(
            config,
            Stores::new(config.storage.clone())
                .with_data_cache(data_cache, crate::engine::disk_tier(&config.cache)?),
        )
    }

    /// A scheduler's: it decodes plans but reads no data, so it keeps no cache (and leaves
    /// the disk tier's directory to an executor or server on the same machine).
    pub fn without_caches(config: &EngineConfig) -> Result<Self> {
        Self::with_stores(config, Stores::new(config.storage.clone()))
    }

    fn with_stores(config: &EngineConfig, stores: Stores) -> Result<Self> {
        let stores = Arc::new(stores);
        stores.validate()?;
        Ok(WorkerRuntime {
            stores,
            limits: config.limits.clone(),
        })
    }

    /// Strata's codec in front of `inner` (the cluster engine's own).
    pub fn codec(&self, inner: Arc<dyn PhysicalExtensionCodec>) -> Arc<dyn PhysicalExtensionCodec> {
        Arc::new(crate::codec::StrataCodec::with_inner(
            Arc::clone(&self.stores),
            inner,
        ))
    }

    /// A runtime reading through this process's stores, spilling under `work_dir`.
    pub fn runtime_env(
        &self,
        work_dir: Option<&Path>,
    ) -> datafusion::error::Result<Arc<RuntimeEnv>> {
        let mut builder = RuntimeEnvBuilder::new()
            .with_object_store_registry(self.stores.registry(Arc::new(RequestCounter::default())));
        if let Some(dir) = work_dir {
            builder = builder.with_temp_file_path(dir);
        }
        builder.build_arc()
    }

    /// A session state with Strata's functions, on `runtime`.
    pub fn session_state(&self, config: SessionConfig, runtime: Arc<RuntimeEnv>) -> SessionState {
        let ctx = SessionContext::new_with_config_rt(config, runtime);
        crate::functions::register(&ctx, &self.limits);
        ctx.state()
    }
}
