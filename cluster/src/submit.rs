//! A server's side of a cluster job: submit the physical plan to the scheduler, follow the
//! job, then stream its result partitions from the executors that hold them.
//!
//! Ballista's `execute_physical_plan` does the same but keeps the job id to itself, so a job
//! whose client went away ran to its end; here the job is cancelled when its stream is dropped
//! before the job ended (client gone, query timeout, server shutting down). A scheduler that
//! cannot be reached at all is told apart from a job that failed, so the server can run the
//! query itself instead ([`Submitted::Unreachable`]).

use std::sync::Arc;
use std::time::Duration;

use ballista_core::client::BallistaClient;
use ballista_core::config::BallistaConfig;
use ballista_core::extension::{BallistaConfigGrpcEndpoint, SessionConfigExt};
use ballista_core::serde::protobuf::execute_query_params::Query;
use ballista_core::serde::protobuf::get_job_status_result::FlightProxy;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::serde::protobuf::{
    CancelJobParams, ExecuteQueryParams, GetJobStatusParams, KeyValuePair, PartitionLocation,
    execute_query_result, job_status,
};
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use datafusion::error::{DataFusionError, Result};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{ExecutionPlan, SendableRecordBatchStream};
use datafusion::prelude::SessionConfig;
use datafusion_proto::physical_plan::{AsExecutionPlan, PhysicalExtensionCodec};
use datafusion_proto::protobuf::PhysicalPlanNode;
use futures::{StreamExt, TryStreamExt};
use strata_engine::Submitted;
use tonic::transport::Channel;

use crate::ClusterTls;

type Scheduler = SchedulerGrpcClient<Channel>;

fn failed(scheduler: &str, what: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(format!("on the cluster (scheduler {scheduler}): {what}"))
}

/// Submit `plan` to the scheduler at `url` (`http://host:port`) and, once the job is
/// accepted, return its result stream.
pub(crate) async fn submit(
    url: &str,
    plan: Arc<dyn ExecutionPlan>,
    codec: &dyn PhysicalExtensionCodec,
    session: SessionConfig,
    max_message: usize,
    tls: Option<ClusterTls>,
) -> Result<Submitted> {
    let schema = plan.schema();
    let mut message = Vec::new();
    PhysicalPlanNode::try_from_physical_plan(plan, codec)?
        .try_encode(&mut message)
        .map_err(|e| failed(url, format!("encoding the plan: {e}")))?;
    // Ballista sends every entry as the job's settings; the tasks run with them.
    let settings = (session.options().entries().into_iter())
        .map(|entry| KeyValuePair {
            key: entry.key,
            value: entry.value,
        })
        .collect();
    let ballista: BallistaConfig = session.ballista_config();
    let grpc = GrpcClientConfig::from(&ballista);
    // A scheduler host that drops packets is told unreachable after 5 s, not Ballista's 20.
    let mut endpoint =
        create_grpc_client_endpoint(url.to_string(), Some(&grpc)).map_err(|e| failed(url, e))?;
    if let Some(tls) = &tls {
        endpoint = tls.secure(endpoint).map_err(|e| failed(url, e))?;
    }
    let endpoint = endpoint.connect_timeout(Duration::from_secs(5));
    let channel = match endpoint.connect().await {
        Ok(channel) => channel,
        Err(e) => return not_connected(url, &e, tls.is_some()),
    };
    let scheduler = Scheduler::new(channel)
        .max_encoding_message_size(max_message)
        .max_decoding_message_size(max_message);
    let mut request = tonic::Request::new(ExecuteQueryParams {
        query: Some(Query::PhysicalPlan(message)),
        settings,
        session_id: uuid::Uuid::new_v4().to_string(),
        operation_id: uuid::Uuid::now_v7().to_string(),
    });
    ballista_core::version::insert_version_header(request.metadata_mut());
    // The submission runs on its own: if this query is dropped while it is under way (client
    // gone, timeout), the job it created is still cancelled.
    let (reply, accepted) = tokio::sync::oneshot::channel();
    let submitting = scheduler.clone();
    let submitted_to = url.to_string();
    tokio::spawn(async move {
        let mut scheduler = submitting;
        let response = scheduler.execute_query(request).await;
        if let Err(Ok(response)) = reply.send(response)
            && let Some(execute_query_result::Result::Success(success)) =
                response.into_inner().result
        {
            cancel(scheduler, submitted_to, success.job_id).await;
        }
    });
    let response = accepted
        .await
        .map_err(|_| failed(url, "the submission was lost"))?;
    let response = match response {
        Ok(response) => response,
        Err(status) if status.code() == tonic::Code::Unavailable => {
            return not_connected(url, &status, tls.is_some());
        }
        Err(status) => {
            // A connection the scheduler ended ("transport error" alone says nothing): with
            // cluster TLS there, a plain one, or one whose certificate its CA did not sign.
            let why = match std::error::Error::source(&status) {
                Some(source) if tls.is_some() => format!(
                    "the connection failed ({}); is this server's certificate \
                     (--cluster-tls-cert) signed by the CA the scheduler trusts?",
                    strata_engine::full_message(source)
                ),
                Some(source) => format!(
                    "the connection failed ({}); if the scheduler has cluster TLS, give it as \
                     https:// with --cluster-tls-cert, --cluster-tls-key and --cluster-tls-ca",
                    strata_engine::full_message(source)
                ),
                None => status.message().to_string(),
            };
            return Err(failed(url, why));
        }
    };
    // A scheduler of another major version refuses the job (and says so in its failure); one
    // older than 55 sends no version and runs it.
    let version = ballista_core::version::check_compatibility(
        Some(ballista_core::BALLISTA_VERSION),
        ballista_core::version::version_from_metadata(response.metadata()),
    );
    let job_id = match response.into_inner().result {
        Some(execute_query_result::Result::Success(success)) => success.job_id,
        Some(execute_query_result::Result::Failure(failure)) => {
            version.map_err(|e| failed(url, e))?;
            return Err(failed(url, format!("the job was refused: {failure:?}")));
        }
        None => return Err(failed(url, "the scheduler answered nothing")),
    };
    let job = Job {
        scheduler,
        url: url.to_string(),
        id: job_id,
        ended: false,
    };
    if let Err(e) = version {
        // Dropping `job` cancels it.
        return Err(failed(url, e));
    }
    let stream = futures::stream::once(follow(job, grpc, tls)).try_flatten();
    Ok(Submitted::Running(Box::pin(RecordBatchStreamAdapter::new(
        schema, stream,
    ))))
}

/// A connection to the scheduler that did not open: unreachable (the server may run the query
/// itself), unless TLS failed — a scheduler whose certificate this server's CA did not sign or
/// that has another name, or one without TLS — which is a configuration to fix, not an outage
/// to ride out: the query fails, saying so.
fn not_connected(url: &str, error: &dyn std::error::Error, tls: bool) -> Result<Submitted> {
    let message = strata_engine::full_message(error);
    let lower = message.to_lowercase();
    if tls
        && ["certificate", "tls", "handshake", "corrupt message"]
            .iter()
            .any(|sign| lower.contains(sign))
    {
        return Err(failed(
            url,
            format!(
                "TLS with the scheduler failed ({message}); check --cluster-tls-ca (the CA that \
                 signed the scheduler's certificate), --cluster-tls-domain (a name in it) and \
                 that the scheduler runs with cluster TLS"
            ),
        ));
    }
    Ok(Submitted::Unreachable(unreachable(url, error)))
}

fn unreachable(url: &str, error: &dyn std::error::Error) -> String {
    format!(
        "the cluster's scheduler at {url} cannot be reached ({})",
        strata_engine::full_message(error)
    )
}

/// A submitted job; dropped before it ended (its stream dropped while the job runs), it is
/// cancelled on the scheduler.
struct Job {
    scheduler: Scheduler,
    url: String,
    id: String,
    ended: bool,
}

impl Drop for Job {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        runtime.spawn(cancel(
            self.scheduler.clone(),
            std::mem::take(&mut self.url),
            std::mem::take(&mut self.id),
        ));
    }
}

/// Cancel a job, and again while the scheduler still reports it queued or running: a job
/// the scheduler is still planning has nothing to cancel yet, and starts once planned (for at
/// most a minute).
async fn cancel(mut scheduler: Scheduler, url: String, job_id: String) {
    for _ in 0..120 {
        if let Err(e) = scheduler
            .cancel_job(CancelJobParams {
                job_id: job_id.clone(),
            })
            .await
        {
            log::warn!("cancelling job {job_id} on the scheduler at {url}: {e}");
            return;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let status = scheduler
            .get_job_status(GetJobStatusParams {
                job_id: job_id.clone(),
            })
            .await;
        match status.map(|s| s.into_inner().status.and_then(|s| s.status)) {
            Ok(Some(job_status::Status::Queued(_)) | Some(job_status::Status::Running(_))) => {}
            _ => return,
        }
    }
    log::warn!("job {job_id} on the scheduler at {url} still runs a minute after its cancel");
}

/// Follow the job until it ends, then stream its result partitions.
async fn follow(
    mut job: Job,
    grpc: GrpcClientConfig,
    tls: Option<ClusterTls>,
) -> Result<impl futures::Stream<Item = Result<datafusion::arrow::array::RecordBatch>>> {
    // Short jobs end in tens of milliseconds: ask often at first, then every 50 ms.
    let mut wait = Duration::from_millis(5);
    let mut known = false;
    let submitted = std::time::Instant::now();
    let (mut locations, proxy) = loop {
        let status = job
            .scheduler
            .get_job_status(GetJobStatusParams {
                job_id: job.id.clone(),
            })
            .await
            .map_err(|e| {
                failed(
                    &job.url,
                    format!("following job {}: {}", job.id, e.message()),
                )
            })?
            .into_inner();
        match status.status.and_then(|s| s.status) {
            Some(job_status::Status::Successful(done)) => {
                break (done.partition_location, status.flight_proxy);
            }
            Some(job_status::Status::Failed(failure)) => {
                job.ended = true;
                return Err(failed(
                    &job.url,
                    format!("job {} failed: {}", job.id, failure.error),
                ));
            }
            // A scheduler that restarted forgets its jobs: it knows nothing of this one.
            None if known || submitted.elapsed() > Duration::from_secs(60) => {
                job.ended = true;
                return Err(failed(
                    &job.url,
                    format!("the scheduler no longer knows job {} (restarted?)", job.id),
                ));
            }
            status => {
                known |= status.is_some();
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(Duration::from_millis(50));
            }
        }
    };
    job.ended = true;
    // The scheduler lists them as their tasks ended; the plan's output is in partition order.
    locations.sort_by_key(|l| l.partition_id.as_ref().map(|p| p.partition_id));
    let url = job.url.clone();
    let tls = tls.map(|tls| Arc::new(BallistaConfigGrpcEndpoint::new(tls.endpoint_override())));
    let fetches = locations.into_iter().map(move |location| {
        let fetch = fetch(
            location,
            url.clone(),
            proxy.clone(),
            grpc.clone(),
            tls.clone(),
        );
        futures::stream::once(fetch).try_flatten()
    });
    Ok(futures::stream::iter(fetches).flatten())
}

/// One result partition, from the executor that holds it (or the proxy the scheduler names).
async fn fetch(
    location: PartitionLocation,
    url: String,
    proxy: Option<FlightProxy>,
    grpc: GrpcClientConfig,
    tls: Option<Arc<BallistaConfigGrpcEndpoint>>,
) -> Result<SendableRecordBatchStream> {
    let layout = location.layout();
    let (Some(executor), Some(partition)) = (location.executor_meta, location.partition_id) else {
        return Err(failed(&url, "a result partition without its executor"));
    };
    let (host, port) = match &proxy {
        Some(FlightProxy::External(address)) => host_port(&format!("http://{address}"))
            .ok_or_else(|| failed(&url, format!("the flight proxy {address:?}")))?,
        Some(FlightProxy::Local(true)) => {
            host_port(&url).ok_or_else(|| failed(&url, "the scheduler's address"))?
        }
        Some(FlightProxy::Local(false)) | None => (executor.host.clone(), executor.port as u16),
    };
    let fetching = |e: ballista_core::error::BallistaError| {
        failed(
            &url,
            format!("fetching results from executor {host}:{port}: {e}"),
        )
    };
    let mut client = BallistaClient::try_new(
        &host,
        port,
        grpc.max_message_size,
        tls.is_some(),
        tls,
        grpc.io_retries_times,
        grpc.io_retry_wait_time_ms,
        0,
        0,
    )
    .await
    .map_err(fetching)?;
    client
        .fetch_partition_proxied(
            &executor.id,
            &partition.into(),
            location.file_id,
            layout,
            &executor.host,
            executor.port as u16,
            true,
        )
        .await
        .map_err(fetching)
}

/// `host:port` of a URL (or of `host:port` itself).
pub(crate) fn host_port(url: &str) -> Option<(String, u16)> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let rest = rest.trim_end_matches('/');
    let (host, port) = rest.rsplit_once(':')?;
    Some((host.to_string(), port.parse().ok()?))
}
