//! What cluster mode needs of the engine (docs/cluster-design.md): the hook a server's queries
//! go to a cluster through, and the runtime of the processes that run plans without a catalog
//! (Ballista's scheduler and executors).

use std::path::Path;
use std::sync::Arc;

use datafusion::execution::SessionState;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion_proto::physical_plan::PhysicalExtensionCodec;

use crate::config::EngineConfig;
use crate::error::Result;
use crate::limits::Limits;
use crate::requests::RequestCounter;
use crate::storage::Stores;

/// Runs plans on a cluster. The engine hands it every query whose scans read at least
/// [`min_scan_bytes`](ClusterRunner::min_scan_bytes); writes, commands, `EXPLAIN ANALYZE` and
/// answers at hand stay local.
pub trait ClusterRunner: Send + Sync + std::fmt::Debug {
    /// Queries reading fewer bytes run locally (0: every query that reads files).
    fn min_scan_bytes(&self) -> u64;

    /// Run `plan` there, encoded with `codec`. The stream submits it when first polled;
    /// dropping the stream cancels the job.
    fn execute(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        codec: Arc<dyn PhysicalExtensionCodec>,
    ) -> datafusion::error::Result<SendableRecordBatchStream>;
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
    pub fn new(config: &EngineConfig) -> Result<Self> {
        let data_cache = config
            .cache
            .data
            .min(config.limits.memory_bytes() as u64 / 4);
        let stores = Arc::new(
            Stores::new(config.storage.clone())
                .with_data_cache(data_cache, crate::engine::disk_tier(&config.cache)?),
        );
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
