//! Strata's cluster mode on Apache DataFusion Ballista 55 (docs/cluster-design.md).
//!
//! - [`run_scheduler`]: Ballista's scheduler with Strata's codec and functions; it decodes each
//!   submitted plan, cuts it into stages and hands tasks to executors.
//! - [`run_executor`]: a Ballista executor that polls the scheduler for tasks and reads files
//!   through this process's own storage configuration (credentials never travel in plans).
//! - [`ClusterClient`]: what `strata serve --scheduler` hands queries to. The server plans
//!   every query (catalog pruning, statistics, snapshot), then sends the physical plan.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use arrow_flight::flight_service_server::FlightServiceServer;
use ballista_core::config::TaskSchedulingPolicy;
use ballista_core::error::BallistaError;
use ballista_core::extension::SessionConfigExt;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_core::serde::BallistaPhysicalExtensionCodec;
use ballista_core::serde::protobuf::scheduler_grpc_server::SchedulerGrpcServer;
use ballista_core::utils::{GrpcServerConfig, create_grpc_server};
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_executor::flight_service::BallistaFlightService;
use ballista_executor::shutdown::Shutdown;
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::{create_scheduler, start_server};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;
use datafusion_proto::protobuf::{LogicalPlanNode, PhysicalPlanNode};
use futures::future::BoxFuture;
use strata_engine::{ClusterRunner, EngineConfig, Submitted, WorkerRuntime};

mod submit;
mod tls;

pub use tls::{ClusterTls, ClusterTlsFiles};

pub type BoxError = Box<dyn Error + Send + Sync>;

/// Ballista's own messages (warnings and errors; `STRATA_CLUSTER_LOG=info` or `debug` for
/// more) on standard error, prefixed with the role.
struct StderrLog {
    role: &'static str,
}

impl log::Log for StderrLog {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            eprintln!(
                "strata {}: {} {}: {}",
                self.role,
                record.level(),
                record.target(),
                record.args()
            );
        }
    }

    fn flush(&self) {}
}

fn init_log(role: &'static str) {
    let level = match std::env::var("STRATA_CLUSTER_LOG").as_deref() {
        Ok("debug") => log::LevelFilter::Debug,
        Ok("info") => log::LevelFilter::Info,
        Ok("error") => log::LevelFilter::Error,
        _ => log::LevelFilter::Warn,
    };
    if log::set_logger(Box::leak(Box::new(StderrLog { role }))).is_ok() {
        log::set_max_level(level);
    }
}

/// The host others reach a role at: `external`, or the listen address, which must then be a
/// specific one (IPv6 in brackets, as it goes into URLs).
fn advertised(listen: &SocketAddr, external: &Option<String>) -> Result<String, BoxError> {
    if let Some(host) = external {
        return Ok(host.clone());
    }
    match listen.ip() {
        ip if ip.is_unspecified() => Err(format!(
            "--listen {listen}: give --external-host, the address others reach this process at"
        )
        .into()),
        std::net::IpAddr::V6(ip) => Ok(format!("[{ip}]")),
        ip => Ok(ip.to_string()),
    }
}

/// Without mutual TLS the scheduler and executors do not authenticate their peers: they listen
/// on loopback only, unless `insecure` says the network is private.
fn check_exposure(
    listen: &SocketAddr,
    insecure: bool,
    tls: &Option<ClusterTls>,
) -> Result<(), BoxError> {
    if listen.ip().is_loopback() || insecure || tls.is_some() {
        return Ok(());
    }
    Err(format!(
        "--listen {listen}: without --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca \
         the cluster's scheduler and executors do not authenticate their peers (anyone who \
         reaches them can run plans with the executors' credentials); give them, listen on \
         loopback, or pass --insecure on a private network"
    )
    .into())
}

/// Plans and tasks are single gRPC messages: a plan carries every file of its scans.
const MAX_MESSAGE: u32 = 256 << 20;

/// The scheduler's settings (`strata scheduler`).
#[derive(Debug, Clone)]
pub struct SchedulerOptions {
    pub listen: SocketAddr,
    /// The host executors and servers reach this scheduler at (default: the listen address).
    pub external_host: Option<String>,
    /// An executor that has not polled for this long is lost, and its tasks run elsewhere
    /// (at least 15: a busy executor polls every 5 seconds).
    pub executor_timeout_seconds: u64,
    /// Listen on a non-loopback address without authentication.
    pub insecure: bool,
    /// Mutual TLS with servers and executors.
    pub tls: Option<ClusterTls>,
}

/// Run the scheduler until it stops.
pub async fn run_scheduler(
    config: &EngineConfig,
    options: SchedulerOptions,
) -> Result<(), BoxError> {
    init_log("scheduler");
    check_exposure(&options.listen, options.insecure, &options.tls)?;
    if options.executor_timeout_seconds < 15 {
        return Err(
            "--executor-timeout: at least 15s (a busy executor polls every 5 seconds)".into(),
        );
    }
    let worker = WorkerRuntime::without_caches(config)?;
    let runtime = worker.runtime_env(None)?;
    let mut scheduler = SchedulerConfig {
        bind_host: options.listen.ip().to_string(),
        bind_port: options.listen.port(),
        external_host: advertised(&options.listen, &options.external_host)?,
        scheduling_policy: TaskSchedulingPolicy::PullStaged,
        grpc_server_max_decoding_message_size: MAX_MESSAGE,
        grpc_server_max_encoding_message_size: MAX_MESSAGE,
        grpc_client_max_message_size: MAX_MESSAGE,
        executor_timeout_seconds: options.executor_timeout_seconds,
        expire_dead_executor_interval_seconds: options.executor_timeout_seconds / 3,
        // Results are fetched as the client reads them: kept an hour after the job ends.
        finished_job_data_clean_up_interval_seconds: 3600,
        ..SchedulerConfig::default()
    };
    scheduler.override_physical_codec =
        Some(worker.codec(Arc::new(BallistaPhysicalExtensionCodec::default())));
    // Plans are decoded here (stages cut, tasks encoded): with Strata's functions, reading
    // object stores as this process's configuration says.
    scheduler.override_session_builder = Some(Arc::new(move |session: SessionConfig| {
        Ok(worker.session_state(session, Arc::clone(&runtime)))
    }));
    let cluster = BallistaCluster::new_from_config(&scheduler).await?;
    let Some(tls) = &options.tls else {
        start_server(cluster, options.listen, Arc::new(scheduler)).await?;
        return Ok(());
    };
    // Ballista's own server has no TLS: the same scheduler gRPC service on a tonic server
    // that requires a client certificate the deployment's CA signed.
    scheduler.use_tls = true;
    scheduler.override_create_grpc_client_endpoint = Some(tls.endpoint_override());
    let config = Arc::new(scheduler);
    let server = create_scheduler::<LogicalPlanNode, PhysicalPlanNode>(cluster, config).await?;
    tonic::transport::Server::builder()
        .tls_config(tls.server())?
        .add_service(
            SchedulerGrpcServer::new(server)
                .max_decoding_message_size(MAX_MESSAGE as usize)
                .max_encoding_message_size(MAX_MESSAGE as usize),
        )
        .serve(options.listen)
        .await?;
    Ok(())
}

/// An executor's settings (`strata executor`).
#[derive(Debug, Clone)]
pub struct ExecutorOptions {
    /// The scheduler's host and port.
    pub scheduler_host: String,
    pub scheduler_port: u16,
    /// Where the executor serves its results and shuffle files (Arrow Flight).
    pub listen: SocketAddr,
    /// The host the scheduler, servers and other executors reach this one at.
    pub external_host: Option<String>,
    /// Shuffle files and spills.
    pub work_dir: PathBuf,
    /// Tasks run at once (default: the cores).
    pub vcores: Option<usize>,
    /// Listen on a non-loopback address without authentication.
    pub insecure: bool,
    /// Mutual TLS with the scheduler, servers and other executors.
    pub tls: Option<ClusterTls>,
}

/// Run an executor until it stops.
pub async fn run_executor(config: &EngineConfig, options: ExecutorOptions) -> Result<(), BoxError> {
    init_log("executor");
    check_exposure(&options.listen, options.insecure, &options.tls)?;
    std::fs::create_dir_all(&options.work_dir)?;
    let worker = WorkerRuntime::new(config)?;
    let runtime = worker.runtime_env(Some(&options.work_dir))?;
    let state = worker.session_state(SessionConfig::new_with_ballista(), Arc::clone(&runtime));
    let mut executor = ExecutorProcessConfig {
        bind_host: options.listen.ip().to_string(),
        external_host: Some(advertised(&options.listen, &options.external_host)?),
        port: options.listen.port(),
        scheduler_host: options.scheduler_host.clone(),
        scheduler_port: options.scheduler_port,
        scheduler_connect_timeout_seconds: 30,
        vcores: options
            .vcores
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        task_scheduling_policy: TaskSchedulingPolicy::PullStaged,
        work_dir: Some(options.work_dir.display().to_string()),
        // Shuffle files of jobs the scheduler forgot (it restarted) go after a day.
        job_data_ttl_seconds: 24 * 3600,
        job_data_clean_up_interval_seconds: 3600,
        grpc_max_decoding_message_size: MAX_MESSAGE,
        grpc_max_encoding_message_size: MAX_MESSAGE,
        override_function_registry: Some(Arc::new(BallistaFunctionRegistry::from(&state))),
        override_runtime_producer: Some(Arc::new(move |_: &SessionConfig| {
            Ok(Arc::clone(&runtime))
        })),
        override_physical_codec: Some(
            worker.codec(Arc::new(BallistaPhysicalExtensionCodec::default())),
        ),
        ..ExecutorProcessConfig::default()
    };
    // Why the Flight service stopped, if it did (Ballista then ends the executor as if asked).
    let flight_stopped = Arc::new(std::sync::Mutex::new(None::<String>));
    if let Some(tls) = &options.tls {
        // The scheduler connection, and every shuffle fetch from another executor (tasks run
        // with this configuration, the job's settings on top, which say TLS too).
        let endpoint = tls.endpoint_override();
        executor.override_create_grpc_client_endpoint = Some(Arc::clone(&endpoint));
        executor.override_config_producer = Some(Arc::new(move || {
            SessionConfig::new_with_ballista()
                .with_ballista_use_tls(true)
                .with_ballista_override_create_grpc_client_endpoint(Arc::clone(&endpoint))
        }));
        let tls = tls.clone();
        let stopped = Arc::clone(&flight_stopped);
        executor.override_arrow_flight_service = Some(Arc::new(
            move |work_dir, address, mut shutdown: Shutdown, grpc: GrpcServerConfig| {
                let server = tls.server();
                let stopped = Arc::clone(&stopped);
                tokio::spawn(async move {
                    // Ballista logs its services' ends at info only: say why it stopped.
                    let served = async {
                        create_grpc_server(&grpc)
                            .tls_config(server)?
                            .add_service(
                                FlightServiceServer::new(BallistaFlightService::new(work_dir))
                                    .max_decoding_message_size(MAX_MESSAGE as usize)
                                    .max_encoding_message_size(MAX_MESSAGE as usize),
                            )
                            .serve_with_shutdown(address, shutdown.recv())
                            .await
                    };
                    served.await.map_err(|e| {
                        let message = format!(
                            "the Flight service on {address} stopped: {}",
                            strata_engine::full_message(&e)
                        );
                        log::error!("{message}");
                        *stopped.lock().unwrap_or_else(|p| p.into_inner()) = Some(message);
                        BallistaError::TonicError(e)
                    })
                })
            },
        ));
    }
    start_executor_process(Arc::new(executor)).await?;
    match flight_stopped
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        Some(message) => Err(message.into()),
        None => Ok(()),
    }
}

/// The host and port of `--scheduler URL`: `http://host:port`, or `https://host:port` with
/// cluster TLS.
pub fn scheduler_address(url: &str, tls: bool) -> Result<(String, u16), BoxError> {
    let scheme = if tls { "https://" } else { "http://" };
    let url = url.trim_end_matches('/');
    url.strip_prefix(scheme)
        .and_then(submit::host_port)
        .ok_or_else(|| {
            let tls = if tls {
                "with cluster TLS"
            } else {
                "without cluster TLS; https:// with --cluster-tls-cert, --cluster-tls-key and \
                 --cluster-tls-ca"
            };
            format!("--scheduler {url}: give the scheduler as {scheme}host:port ({tls})").into()
        })
}

/// Sends a server's queries to a scheduler.
#[derive(Debug, Clone)]
pub struct ClusterClient {
    /// `http://host:port`.
    scheduler: String,
    min_scan_bytes: u64,
    local_files_shared: bool,
    fallback: Fallback,
    tls: Option<ClusterTls>,
    target_partitions: Option<usize>,
}

/// What a server does with a query for the cluster when the scheduler cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fallback {
    /// Run it on the server.
    Local,
    /// Fail it, naming the scheduler.
    Fail,
}

impl std::str::FromStr for Fallback {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "local" => Ok(Fallback::Local),
            "fail" => Ok(Fallback::Fail),
            other => Err(format!("{other:?}: local or fail")),
        }
    }
}

impl ClusterClient {
    /// `local_files_shared`: files on this machine's file system are at the same paths on
    /// every executor. With `tls`, the scheduler is `https://host:port`.
    pub fn new(
        scheduler: &str,
        min_scan_bytes: u64,
        local_files_shared: bool,
        fallback: Fallback,
        tls: Option<ClusterTls>,
    ) -> Result<Self, BoxError> {
        let scheduler = scheduler.trim_end_matches('/').to_string();
        scheduler_address(&scheduler, tls.is_some())?;
        Ok(ClusterClient {
            scheduler,
            min_scan_bytes,
            local_files_shared,
            fallback,
            tls,
            target_partitions: None,
        })
    }

    /// Plan queries for the cluster with `partitions` partitions (tasks a stage; the
    /// executors' task slots in all) instead of the server's `target_partitions`.
    pub fn with_target_partitions(mut self, partitions: usize) -> Self {
        self.target_partitions = Some(partitions);
        self
    }
}

impl ClusterRunner for ClusterClient {
    fn min_scan_bytes(&self) -> u64 {
        self.min_scan_bytes
    }

    fn local_files_shared(&self) -> bool {
        self.local_files_shared
    }

    fn scheduler(&self) -> &str {
        &self.scheduler
    }

    fn falls_back_to_local(&self) -> bool {
        self.fallback == Fallback::Local
    }

    fn target_partitions(&self) -> Option<usize> {
        self.target_partitions
    }

    fn submit(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        codec: Arc<dyn PhysicalExtensionCodec>,
        config: SessionConfig,
    ) -> BoxFuture<'static, datafusion::error::Result<Submitted>> {
        let scheduler = self.scheduler.clone();
        let tls = self.tls.clone();
        Box::pin(async move {
            // Plans carry every file of their scans, and results come back in one message a
            // batch: the client's limit is the cluster's. The job's tasks fetch shuffle data
            // over TLS when the cluster has it.
            let mut session = config
                .upgrade_for_ballista()
                .with_ballista_grpc_client_max_message_size(MAX_MESSAGE as usize)
                .with_ballista_use_tls(tls.is_some());
            // A task runs some of a scan's file groups: each partition reads its own, as
            // DataFusion asks of Ballista (no work taken from sibling partitions at run time;
            // the planner's declared grouping, which also prevented it, is dropped when a plan
            // is decoded, engine/src/codec.rs).
            session
                .options_mut()
                .execution
                .enable_file_stream_work_stealing = false;
            submit::submit(
                &scheduler,
                plan,
                codec.as_ref(),
                session,
                MAX_MESSAGE as usize,
                tls,
            )
            .await
        })
    }
}
