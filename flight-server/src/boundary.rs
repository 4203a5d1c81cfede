//! The boundary between the network and query work.
//!
//! Every RPC runs as a task on the *query threads*, a runtime of their own (one thread a core,
//! stacks sized for the deepest statement the engine accepts), while the network side — tonic,
//! connections, timers — keeps the process's main runtime. Planning is synchronous CPU work
//! that cannot be interrupted (DataFusion 55 plans a few hundred nested function calls in
//! seconds); here it can only occupy query threads, never the threads that accept requests
//! and enforce deadlines. Each call is awaited with the query time limit (plus a margin for the
//! call's own, more precise limit): past it, the client gets `DEADLINE_EXCEEDED` at once and
//! the task is aborted at its next await point. A dropped call aborts its task too.
//!
//! A panic in a call, or in any message of a response stream, becomes an `INTERNAL` error for
//! that one request (and a query-log line with `outcome: "error"`), never a dead connection or
//! process.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::{Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::querylog::{Entry, QueryLog};

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// How much longer than the query time limit a call may take before the boundary answers for
/// it: the call's own limit fires first whenever its threads are free to notice.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

/// A Flight service whose calls run on the query threads, answer by their deadline, and cannot
/// take the server down by panicking.
pub struct PanicBoundary<S> {
    inner: Arc<S>,
    log: QueryLog,
    threads: Arc<QueryThreads>,
    query_timeout: Duration,
}

impl<S> PanicBoundary<S> {
    pub fn new(
        inner: S,
        log: QueryLog,
        threads: Arc<QueryThreads>,
        query_timeout: Duration,
    ) -> Self {
        PanicBoundary {
            inner: Arc::new(inner),
            log,
            threads,
            query_timeout,
        }
    }
}

/// The runtime that runs query work, apart from the one that serves the network.
pub struct QueryThreads {
    runtime: Option<tokio::runtime::Runtime>,
}

impl QueryThreads {
    /// One worker a core, each with [`strata_engine::QUERY_THREAD_STACK`] of stack.
    pub fn start() -> std::io::Result<Arc<Self>> {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(cores)
            .thread_name("strata-query")
            .thread_stack_size(strata_engine::QUERY_THREAD_STACK)
            .enable_all()
            .build()?;
        Ok(Arc::new(QueryThreads {
            runtime: Some(runtime),
        }))
    }

    /// Run `fut` on the query threads; dropping the handle aborts it.
    pub fn spawn<F>(&self, fut: F) -> AbortOnDrop<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let runtime = self
            .runtime
            .as_ref()
            .expect("the query threads run until dropped");
        AbortOnDrop(runtime.spawn(fut))
    }
}

impl Drop for QueryThreads {
    fn drop(&mut self) {
        // Dropped from async code at shutdown: do not wait for the threads there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A task's handle that aborts the task when dropped (a client that went away).
pub struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Future for AbortOnDrop<T> {
    type Output = Result<T, tokio::task::JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx)
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The text of a panic payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string())
}

/// The status a client receives for a panic, and the query-log line the server writes.
fn internal(log: &QueryLog, request: &str, payload: &(dyn Any + Send)) -> Status {
    let message = format!(
        "internal error while serving {request}: {} (this is a bug in Strata; the server keeps running)",
        panic_message(payload)
    );
    let mut entry = Entry::new("", "", request);
    entry.outcome = "error".into();
    entry.error = Some(message.clone());
    log.record(&entry);
    Status::internal(message)
}

impl<S: FlightService> PanicBoundary<S> {
    /// Run one call on the query threads and wait for it until its deadline.
    async fn call<T, F>(
        &self,
        request: &'static str,
        call: impl FnOnce(Arc<S>) -> F,
    ) -> Result<Response<T>, Status>
    where
        F: Future<Output = Result<Response<T>, Status>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.threads.spawn(call(Arc::clone(&self.inner)));
        match tokio::time::timeout(self.query_timeout + DEADLINE_MARGIN, task).await {
            Ok(Ok(result)) => result,
            Ok(Err(e)) if e.is_panic() => {
                Err(internal(&self.log, request, e.into_panic().as_ref()))
            }
            Ok(Err(_)) => Err(Status::cancelled(format!(
                "{request} was cancelled: the server is shutting down"
            ))),
            Err(_) => {
                let message = format!(
                    "the query ran longer than the limit of {} s (limits.query_timeout); it was still being planned, which cannot be interrupted: simplify the statement",
                    self.query_timeout.as_secs_f64()
                );
                let mut entry = Entry::new("", "", request);
                entry.outcome = "timed_out".into();
                entry.error = Some(message.clone());
                self.log.record(&entry);
                Err(Status::deadline_exceeded(message))
            }
        }
    }

    /// A call whose response is a stream: the call and each message are guarded.
    async fn call_stream<T: Send + 'static, St, F>(
        &self,
        request: &'static str,
        call: impl FnOnce(Arc<S>) -> F,
    ) -> Result<Response<Boxed<T>>, Status>
    where
        St: Stream<Item = Result<T, Status>> + Send + 'static,
        F: Future<Output = Result<Response<St>, Status>> + Send + 'static,
    {
        let response = self.call(request, call).await?;
        let log = self.log.clone();
        Ok(response.map(|stream| {
            let guarded = AssertUnwindSafe(stream)
                .catch_unwind()
                .map(move |item| match item {
                    Ok(item) => item,
                    Err(payload) => Err(internal(&log, request, payload.as_ref())),
                });
            Box::pin(guarded) as Boxed<T>
        }))
    }
}

#[tonic::async_trait]
impl<S: FlightService> FlightService for PanicBoundary<S> {
    type HandshakeStream = Boxed<HandshakeResponse>;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = Boxed<FlightData>;
    type DoPutStream = Boxed<PutResult>;
    type DoExchangeStream = Boxed<FlightData>;
    type DoActionStream = Boxed<arrow_flight::Result>;
    type ListActionsStream = Boxed<ActionType>;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        self.call_stream(
            "handshake",
            move |s| async move { s.handshake(request).await },
        )
        .await
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        self.call_stream("list_flights", move |s| async move {
            s.list_flights(request).await
        })
        .await
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.call("get_flight_info", move |s| async move {
            s.get_flight_info(request).await
        })
        .await
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        self.call("poll_flight_info", move |s| async move {
            s.poll_flight_info(request).await
        })
        .await
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        self.call(
            "get_schema",
            move |s| async move { s.get_schema(request).await },
        )
        .await
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        self.call_stream("do_get", move |s| async move { s.do_get(request).await })
            .await
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        self.call_stream("do_put", move |s| async move { s.do_put(request).await })
            .await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.call_stream("do_exchange", move |s| async move {
            s.do_exchange(request).await
        })
        .await
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        self.call_stream(
            "do_action",
            move |s| async move { s.do_action(request).await },
        )
        .await
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        self.call_stream("list_actions", move |s| async move {
            s.list_actions(request).await
        })
        .await
    }
}
