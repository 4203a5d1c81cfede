//! The CLI as a Flight SQL client: `strata query --server grpc://HOST:PORT`.

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::decode::DecodedPayload;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::args::RemoteArgs;

/// Result rows as they arrive.
pub type BatchStream = BoxStream<'static, Result<RecordBatch>>;

/// Where the statistics the server sends after a statement's rows land.
pub type ServerStats = std::sync::Arc<std::sync::Mutex<Option<strata_engine::QueryStats>>>;

/// A logged-in connection to a Strata server.
pub struct Remote {
    client: FlightSqlServiceClient<Channel>,
    /// For the result streams, which run apart from `client`.
    channel: Channel,
    /// `--no-result-cache`: every call says so to the server.
    no_result_cache: bool,
}

impl Remote {
    pub async fn connect(args: &RemoteArgs) -> Result<Self> {
        let url = args.server.as_deref().context("no --server given")?;
        let (tls, rest) = if let Some(rest) = url.strip_prefix("grpc+tls://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("grpc://") {
            (false, rest)
        } else {
            bail!("invalid --server '{url}': use grpc://HOST:PORT or grpc+tls://HOST:PORT");
        };
        let scheme = if tls { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{rest}"))
            .with_context(|| format!("invalid --server '{url}'"))?
            .connect_timeout(std::time::Duration::from_secs(10));
        if tls {
            let ca = args.tls_ca.as_ref().context(
                "grpc+tls:// needs --tls-ca FILE (the CA that signed the server's certificate)",
            )?;
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        let channel = endpoint
            .connect()
            .await
            .with_context(|| format!("cannot connect to {url}"))?;
        let mut client = FlightSqlServiceClient::new(channel.clone());
        if let Some(user) = &args.user {
            let var = args
                .password_env
                .as_deref()
                .context("--user needs --password-env VAR")?;
            let password = std::env::var(var)
                .with_context(|| format!("environment variable {var} is not set"))?;
            client
                .handshake(user, &password)
                .await
                .map_err(|e| anyhow::anyhow!("login failed: {}", status_message(&e)))?;
        } else if let Some(var) = &args.token_env {
            let token = std::env::var(var)
                .with_context(|| format!("environment variable {var} is not set"))?;
            client.set_token(token);
        }
        // Ask for each statement's statistics (files, bytes, requests) after its rows.
        client.set_header(strata_flight::STATS_HEADER, "json");
        Ok(Remote {
            client,
            channel,
            no_result_cache: false,
        })
    }

    /// Ask the server to run every statement without its result cache (or with it again).
    pub fn set_result_cache(&mut self, enabled: bool) {
        self.no_result_cache = !enabled;
        let value = if enabled { "on" } else { "off" };
        self.client
            .set_header(strata_flight::RESULT_CACHE_HEADER, value);
    }

    /// Start one statement: its schema, its rows as they arrive (endpoint after endpoint), and
    /// the statistics the server sends after the last row.
    pub async fn run(&mut self, sql: &str) -> Result<(SchemaRef, BatchStream, ServerStats)> {
        let info = self
            .client
            .execute(sql.to_string(), None)
            .await
            .map_err(|e| anyhow::anyhow!("{}", status_message(&e)))?;
        let schema: SchemaRef = std::sync::Arc::new(
            info.clone()
                .try_decode_schema()
                .map_err(|e| anyhow::anyhow!("bad schema from server: {e}"))?,
        );
        let stats: ServerStats = Default::default();
        let (channel, token) = (self.channel.clone(), self.client.token().cloned());
        let no_result_cache = self.no_result_cache;
        let reported = std::sync::Arc::clone(&stats);
        let tickets: Vec<_> = info
            .endpoint
            .into_iter()
            .map(|e| e.ticket.context("endpoint without a ticket"))
            .collect::<Result<_>>()?;
        let stream = futures::stream::iter(tickets)
            .then(move |ticket| {
                let mut client = FlightSqlServiceClient::new(channel.clone());
                if let Some(token) = &token {
                    client.set_token(token.clone());
                }
                client.set_header(strata_flight::STATS_HEADER, "json");
                if no_result_cache {
                    client.set_header(strata_flight::RESULT_CACHE_HEADER, "off");
                }
                let reported = std::sync::Arc::clone(&reported);
                async move {
                    let decoder = client
                        .do_get(ticket)
                        .await
                        .map_err(|e| anyhow::anyhow!("{}", status_message(&e)))?
                        .into_inner();
                    Ok::<_, anyhow::Error>(decoder.filter_map(move |data| {
                        let reported = std::sync::Arc::clone(&reported);
                        async move {
                            match data {
                                Err(e) => Some(Err(anyhow::anyhow!("{}", status_message(&e)))),
                                Ok(data) => {
                                    if !data.inner.app_metadata.is_empty()
                                        && let Ok(stats) =
                                            serde_json::from_slice::<strata_engine::QueryStats>(
                                                &data.inner.app_metadata,
                                            )
                                        && let Ok(mut slot) = reported.lock()
                                    {
                                        *slot = Some(stats);
                                    }
                                    match data.payload {
                                        DecodedPayload::RecordBatch(batch)
                                            if batch.num_rows() > 0 =>
                                        {
                                            Some(Ok(batch))
                                        }
                                        _ => None,
                                    }
                                }
                            }
                        }
                    }))
                }
            })
            .try_flatten()
            .boxed();
        Ok((schema, stream, stats))
    }
}

impl Remote {
    /// Send `stream` to the server as a bulk ingest into `table` (`[schema.]table`), creating the
    /// table from the stream's columns when `create`; returns the rows the server wrote.
    pub async fn ingest(
        &mut self,
        table: &str,
        create: bool,
        stream: datafusion::execution::SendableRecordBatchStream,
    ) -> Result<i64> {
        use arrow_flight::sql::{
            CommandStatementIngest, TableDefinitionOptions, TableExistsOption, TableNotExistOption,
        };
        let (schema, name) = match table.split_once('.') {
            Some((schema, name)) => (Some(schema.to_string()), name.to_string()),
            None => (None, table.to_string()),
        };
        let command = CommandStatementIngest {
            table_definition_options: Some(TableDefinitionOptions {
                if_not_exist: if create {
                    TableNotExistOption::Create
                } else {
                    TableNotExistOption::Fail
                } as i32,
                if_exists: TableExistsOption::Append as i32,
            }),
            table: name,
            schema,
            ..Default::default()
        };
        // A stream that fails here (a rejected line, an unreadable file) must not end: the
        // server would take the end for the whole input and commit what it got. It stops
        // instead, and the call is dropped, which cancels it on the server: nothing is written.
        let (failed, failure) = tokio::sync::oneshot::channel();
        let batches = futures::stream::unfold(
            (stream, Some(failed)),
            |(mut stream, mut failed)| async move {
                match stream.next().await? {
                    Ok(batch) => Some((Ok(batch), (stream, failed))),
                    Err(e) => {
                        if let Some(failed) = failed.take() {
                            let _ = failed.send(e);
                        }
                        futures::future::pending().await
                    }
                }
            },
        );
        tokio::select! {
            written = self.client.execute_ingest(command, batches) => {
                written.map_err(|e| anyhow::anyhow!(status_message(&e)))
            }
            Ok(e) = failure => {
                // Nor may the connection close gracefully: once every handle to it is dropped,
                // the client sends GOAWAY(NO_ERROR), and the server's HTTP/2 layer then takes
                // the unfinished request body for a complete one (it did, now and then, and
                // the server committed the rows sent before the bad line). A handle kept until
                // the process ends leaves the kernel to close the connection: the server sees
                // the stream broken and writes nothing.
                std::mem::forget(self.channel.clone());
                Err(strata_engine::Error::from(e).into())
            }
        }
    }
}

/// The server's message without the transport's wrapping.
fn status_message(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    match (text.find("message: \""), text.rfind("\", details")) {
        (Some(a), Some(b)) if a + 10 <= b => {
            text[a + 10..b].replace("\\\"", "\"").replace("\\'", "'")
        }
        _ => text,
    }
}
