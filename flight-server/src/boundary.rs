//! The panic boundary: every RPC, and every message of every response stream, runs inside
//! `catch_unwind`, so a panic anywhere in query work becomes an `INTERNAL` error for that one
//! request (and a query-log line with `outcome: "error"`), never a dead connection or process.

use std::any::Any;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;

use arrow_flight::flight_service_server::FlightService;
use arrow_flight::{
    Action, ActionType, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo,
    HandshakeRequest, HandshakeResponse, PollInfo, PutResult, SchemaResult, Ticket,
};
use futures::{FutureExt, Stream, StreamExt};
use tonic::{Request, Response, Status, Streaming};

use crate::querylog::{Entry, QueryLog};

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// A Flight service whose calls and streams cannot take the server down by panicking.
pub struct PanicBoundary<S> {
    inner: S,
    log: QueryLog,
}

impl<S> PanicBoundary<S> {
    pub fn new(inner: S, log: QueryLog) -> Self {
        PanicBoundary { inner, log }
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

impl<S> PanicBoundary<S> {
    async fn call<T>(
        &self,
        request: &'static str,
        fut: impl Future<Output = Result<Response<T>, Status>>,
    ) -> Result<Response<T>, Status> {
        match AssertUnwindSafe(fut).catch_unwind().await {
            Ok(result) => result,
            Err(payload) => Err(internal(&self.log, request, payload.as_ref())),
        }
    }

    /// A call whose response is a stream: the call and each message are guarded.
    async fn call_stream<T: Send + 'static>(
        &self,
        request: &'static str,
        fut: impl Future<
            Output = Result<
                Response<impl Stream<Item = Result<T, Status>> + Send + 'static>,
                Status,
            >,
        >,
    ) -> Result<Response<Boxed<T>>, Status> {
        let response = self.call(request, fut).await?;
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
        self.call_stream("handshake", self.inner.handshake(request))
            .await
    }

    async fn list_flights(
        &self,
        request: Request<Criteria>,
    ) -> Result<Response<Self::ListFlightsStream>, Status> {
        self.call_stream("list_flights", self.inner.list_flights(request))
            .await
    }

    async fn get_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.call("get_flight_info", self.inner.get_flight_info(request))
            .await
    }

    async fn poll_flight_info(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<PollInfo>, Status> {
        self.call("poll_flight_info", self.inner.poll_flight_info(request))
            .await
    }

    async fn get_schema(
        &self,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<SchemaResult>, Status> {
        self.call("get_schema", self.inner.get_schema(request))
            .await
    }

    async fn do_get(
        &self,
        request: Request<Ticket>,
    ) -> Result<Response<Self::DoGetStream>, Status> {
        self.call_stream("do_get", self.inner.do_get(request)).await
    }

    async fn do_put(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoPutStream>, Status> {
        self.call_stream("do_put", self.inner.do_put(request)).await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.call_stream("do_exchange", self.inner.do_exchange(request))
            .await
    }

    async fn do_action(
        &self,
        request: Request<Action>,
    ) -> Result<Response<Self::DoActionStream>, Status> {
        self.call_stream("do_action", self.inner.do_action(request))
            .await
    }

    async fn list_actions(
        &self,
        request: Request<Empty>,
    ) -> Result<Response<Self::ListActionsStream>, Status> {
        self.call_stream("list_actions", self.inner.list_actions(request))
            .await
    }
}
