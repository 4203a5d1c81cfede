//! Listening: address checks, TLS, and graceful shutdown.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arrow_flight::flight_service_server::FlightServiceServer;
use strata_engine::Engine;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Certificate, Identity, Server, ServerTlsConfig};

use crate::boundary::{PanicBoundary, QueryThreads};
use crate::config::ServerConfig;
use crate::error::{Error, Result};
use crate::service::StrataFlightSql;

/// A bound listener, ready to serve.
pub struct Listening {
    incoming: TcpIncoming,
    /// The address actually bound (port 0 picks a free port).
    pub addr: SocketAddr,
    config: ServerConfig,
    engine: Arc<Engine>,
}

/// Bind the configured address, refusing an open (unauthenticated) server anywhere but
/// loopback unless `allow_insecure` is set.
pub async fn bind(engine: Arc<Engine>, config: ServerConfig) -> Result<Listening> {
    config.validate().map_err(Error::InvalidArgument)?;
    let addr = tokio::net::lookup_host(&config.listen)
        .await
        .map_err(|e| {
            Error::InvalidArgument(format!(
                "cannot resolve listen address '{}': {e}",
                config.listen
            ))
        })?
        .next()
        .ok_or_else(|| {
            Error::InvalidArgument(format!(
                "listen address '{}' resolves to nothing",
                config.listen
            ))
        })?;
    if !config.auth.enabled() && !addr.ip().is_loopback() && !config.allow_insecure {
        return Err(Error::InvalidArgument(format!(
            "refusing to listen on {addr} without authentication: add users or tokens to the configuration (`strata user add`), listen on 127.0.0.1, or pass --insecure"
        )));
    }
    let incoming = TcpIncoming::bind(addr)
        .map_err(|e| Error::InvalidArgument(format!("cannot listen on {addr}: {e}")))?
        .with_nodelay(Some(true));
    let addr = incoming
        .local_addr()
        .map_err(|e| Error::Internal(e.to_string()))?;
    Ok(Listening {
        incoming,
        addr,
        config,
        engine,
    })
}

impl Listening {
    /// Serve until `shutdown` completes; then stop accepting, give running queries the grace
    /// period to finish, cancel the rest, and return.
    pub async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<()> {
        let Listening {
            incoming,
            config,
            engine,
            ..
        } = self;
        let grace = config.shutdown_grace;
        let service = StrataFlightSql::new(engine, config.clone())?;
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(Duration::from_secs(30)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)));
        if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
            let read = |p: &std::path::Path| {
                std::fs::read(p).map_err(|e| {
                    Error::InvalidArgument(format!("cannot read TLS file {}: {e}", p.display()))
                })
            };
            let mut tls_config =
                ServerTlsConfig::new().identity(Identity::from_pem(read(cert)?, read(key)?));
            if let Some(ca) = &config.tls_client_ca {
                tls_config = tls_config.client_ca_root(Certificate::from_pem(read(ca)?));
            }
            builder = builder
                .tls_config(tls_config)
                .map_err(|e| Error::InvalidArgument(format!("invalid TLS configuration: {e}")))?;
        }
        let threads = QueryThreads::start()
            .map_err(|e| Error::Internal(format!("cannot start the query threads: {e}")))?;
        let canceller = service.clone();
        let log = service.query_log();
        let signal = async move {
            shutdown.await;
            tokio::spawn(async move {
                tokio::time::sleep(grace).await;
                canceller.cancel_all();
            });
        };
        builder
            .add_service(
                FlightServiceServer::new(PanicBoundary::new(
                    service,
                    log,
                    threads,
                    config.limits.query_timeout,
                ))
                .max_decoding_message_size(config.limits.max_request_bytes),
            )
            .serve_with_incoming_shutdown(
                crate::connections::limit(incoming, config.limits.max_connections),
                signal,
            )
            .await
            .map_err(|e| Error::Internal(format!("the server failed: {e}")))
    }
}
