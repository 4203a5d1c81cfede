//! The CLI as a Flight SQL client: `strata query --server grpc://HOST:PORT`.

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow_flight::sql::client::FlightSqlServiceClient;
use futures::TryStreamExt;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::args::RemoteArgs;

/// A logged-in connection to a Strata server.
pub struct Remote {
    client: FlightSqlServiceClient<Channel>,
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
        let mut client = FlightSqlServiceClient::new(channel);
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
        Ok(Remote { client })
    }

    /// Run one statement and collect its result.
    pub async fn query(&mut self, sql: &str) -> Result<(SchemaRef, Vec<RecordBatch>)> {
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
        let mut batches = Vec::new();
        for endpoint in info.endpoint {
            let ticket = endpoint.ticket.context("endpoint without a ticket")?;
            let stream = self
                .client
                .do_get(ticket)
                .await
                .map_err(|e| anyhow::anyhow!("{}", status_message(&e)))?;
            let mut got: Vec<RecordBatch> = stream
                .try_collect()
                .await
                .map_err(|e| anyhow::anyhow!("{}", status_message(&e)))?;
            batches.append(&mut got);
        }
        Ok((schema, batches))
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
