//! A Flight SQL client for the load driver and the fuzzer: the same protocol path as ADBC
//! (`GetFlightInfo` then `DoGet` for queries, `DoPut` for updates).

use std::time::Duration;

use anyhow::{Context, Result};
use arrow::array::RecordBatch;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use tonic::transport::{Channel, Endpoint};

/// One connection to a server.
pub struct Client {
    inner: FlightSqlServiceClient<Channel>,
}

/// How a request ended, as the server (or the transport) said it.
#[derive(Debug, Clone)]
pub struct Failure {
    /// The gRPC status code (`Unavailable` and the like when the connection broke).
    pub code: tonic::Code,
    pub message: String,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

fn failure(e: arrow_flight::error::FlightError) -> Failure {
    match e {
        arrow_flight::error::FlightError::Tonic(status) => Failure {
            code: status.code(),
            message: status.message().to_string(),
        },
        other => Failure {
            code: tonic::Code::Unknown,
            message: other.to_string(),
        },
    }
}

impl Client {
    /// Connect (and log in with `user` and `password` when given).
    pub async fn connect(url: &str, login: Option<(&str, &str)>) -> Result<Client> {
        let address = url.replacen("grpc://", "http://", 1);
        let channel = Endpoint::from_shared(address)
            .with_context(|| format!("invalid server URL {url}"))?
            .connect_timeout(Duration::from_secs(10))
            .connect()
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let mut inner = FlightSqlServiceClient::new(channel);
        if let Some((user, password)) = login {
            inner
                .handshake(user, password)
                .await
                .map_err(|e| anyhow::anyhow!("login failed: {}", failure(e)))?;
        }
        Ok(Client { inner })
    }

    /// Run a query and collect its result.
    pub async fn query(&mut self, sql: &str) -> Result<Vec<RecordBatch>, Failure> {
        let info = self
            .inner
            .execute(sql.to_string(), None)
            .await
            .map_err(failure)?;
        let mut out = Vec::new();
        for endpoint in info.endpoint {
            let Some(ticket) = endpoint.ticket else {
                continue;
            };
            let stream = self.inner.do_get(ticket).await.map_err(failure)?;
            let mut batches: Vec<RecordBatch> = stream.try_collect().await.map_err(failure)?;
            out.append(&mut batches);
        }
        Ok(out)
    }

    /// Run an update (`CommandStatementUpdate`) and return the rows it changed.
    pub async fn update(&mut self, sql: &str) -> Result<i64, Failure> {
        self.inner
            .execute_update(sql.to_string(), None)
            .await
            .map_err(failure)
    }

    /// List tables with their schemas (`GetTables` with `include_schema`).
    pub async fn tables(&mut self) -> Result<usize, Failure> {
        let request = arrow_flight::sql::CommandGetTables {
            include_schema: true,
            ..Default::default()
        };
        let info = self.inner.get_tables(request).await.map_err(failure)?;
        let mut rows = 0;
        for endpoint in info.endpoint {
            if let Some(ticket) = endpoint.ticket {
                let stream = self.inner.do_get(ticket).await.map_err(failure)?;
                let batches: Vec<RecordBatch> = stream.try_collect().await.map_err(failure)?;
                rows += batches.iter().map(|b| b.num_rows()).sum::<usize>();
            }
        }
        Ok(rows)
    }
}
