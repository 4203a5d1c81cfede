//! Mutual TLS between a cluster's roles (docs/cluster-design.md §6): every connection between a
//! server, the scheduler and the executors — plans submitted, tasks polled, shuffle data and
//! results fetched — is TLS, and each end presents a certificate signed by the deployment's
//! certificate authority. A process without one cannot submit a plan, poll for tasks (which
//! carry rows inlined in the catalog) or read shuffle files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ballista_core::extension::EndpointOverrideFn;
use ballista_core::utils::{GrpcClientConfig, create_grpc_client_endpoint};
use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity, ServerTlsConfig};

use crate::BoxError;

/// Where a role's certificate, its key and the deployment's certificate authority are
/// (`--cluster-tls-cert`, `--cluster-tls-key`, `--cluster-tls-ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterTlsFiles {
    /// This process's certificate (PEM), signed by `ca`.
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The certificate authority every role's certificate is signed by (PEM).
    pub ca: PathBuf,
    /// The name every role's certificate carries (a DNS subject alternative name), checked
    /// instead of the host connected to: executors are reached at addresses a certificate
    /// cannot list in advance (pod IPs).
    pub domain: Option<String>,
}

impl ClusterTlsFiles {
    /// All three files, or none (no TLS); a partial set names what is missing.
    pub fn from_flags(
        cert: Option<PathBuf>,
        key: Option<PathBuf>,
        ca: Option<PathBuf>,
        domain: Option<String>,
    ) -> Result<Option<Self>, BoxError> {
        match (cert, key, ca) {
            (None, None, None) => {
                if domain.is_some() {
                    return Err("--cluster-tls-domain needs --cluster-tls-cert, \
                                --cluster-tls-key and --cluster-tls-ca"
                        .into());
                }
                Ok(None)
            }
            (Some(cert), Some(key), Some(ca)) => Ok(Some(ClusterTlsFiles {
                cert,
                key,
                ca,
                domain,
            })),
            (cert, key, ca) => {
                let missing: Vec<_> = [
                    ("--cluster-tls-cert", cert.is_none()),
                    ("--cluster-tls-key", key.is_none()),
                    ("--cluster-tls-ca", ca.is_none()),
                ]
                .into_iter()
                .filter(|(_, missing)| *missing)
                .map(|(flag, _)| flag)
                .collect();
                Err(format!(
                    "cluster TLS needs a certificate, its key and the CA: {} missing",
                    missing.join(", ")
                )
                .into())
            }
        }
    }

    /// Read the files, checking each holds what it should.
    pub fn load(&self) -> Result<ClusterTls, BoxError> {
        let cert = read_pem(&self.cert, "--cluster-tls-cert", "CERTIFICATE")?;
        let key = read_pem(&self.key, "--cluster-tls-key", "PRIVATE KEY")?;
        let ca = read_pem(&self.ca, "--cluster-tls-ca", "CERTIFICATE")?;
        let tls = ClusterTls(Arc::new(Loaded {
            identity: Identity::from_pem(cert, key),
            ca: Certificate::from_pem(ca),
            domain: self.domain.clone(),
        }));
        // tonic parses them when a server or endpoint takes them: here, at start, rather than
        // at the first connection.
        let files = || {
            format!(
                "--cluster-tls-cert {}, --cluster-tls-key {}, --cluster-tls-ca {}",
                self.cert.display(),
                self.key.display(),
                self.ca.display()
            )
        };
        tonic::transport::Server::builder()
            .tls_config(tls.server())
            .map_err(|e| format!("{}: {}", files(), strata_engine::full_message(&e)))?;
        Endpoint::from_static("https://strata-cluster")
            .tls_config(tls.client())
            .map_err(|e| format!("{}: {}", files(), strata_engine::full_message(&e)))?;
        Ok(tls)
    }
}

fn read_pem(path: &Path, flag: &str, label: &str) -> Result<Vec<u8>, BoxError> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("{flag} {}: cannot read it: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&bytes);
    if !text.contains("-----BEGIN ") || !text.contains(label) {
        return Err(format!("{flag} {}: not a PEM {label}", path.display()).into());
    }
    Ok(bytes)
}

/// A role's loaded certificate, key and CA.
#[derive(Clone)]
pub struct ClusterTls(Arc<Loaded>);

struct Loaded {
    identity: Identity,
    ca: Certificate,
    domain: Option<String>,
}

impl std::fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTls")
            .field("domain", &self.0.domain)
            .finish_non_exhaustive()
    }
}

impl ClusterTls {
    /// A listening role: presents its certificate and requires one the CA signed.
    pub(crate) fn server(&self) -> ServerTlsConfig {
        ServerTlsConfig::new()
            .identity(self.0.identity.clone())
            .client_ca_root(self.0.ca.clone())
    }

    /// A connecting role: checks the peer's certificate against the CA and presents its own.
    pub(crate) fn client(&self) -> ClientTlsConfig {
        let config = ClientTlsConfig::new()
            .ca_certificate(self.0.ca.clone())
            .identity(self.0.identity.clone());
        match &self.0.domain {
            Some(domain) => config.domain_name(domain.clone()),
            None => config,
        }
    }

    /// Turns Ballista's endpoints (an executor's connection to the scheduler, which Ballista
    /// always builds as `http://`, and every Flight fetch of shuffle data or results) into TLS
    /// ones.
    pub(crate) fn endpoint_override(&self) -> EndpointOverrideFn {
        let tls = self.clone();
        Arc::new(move |endpoint: Endpoint| tls.secure(endpoint))
    }

    /// `endpoint` over TLS; an `http://` one is rebuilt as `https://` with Ballista's client
    /// settings (tonic has no way to change an endpoint's URI).
    pub(crate) fn secure(&self, endpoint: Endpoint) -> Result<Endpoint, BoxError> {
        let endpoint = match endpoint.uri().scheme_str() {
            Some("https") => endpoint,
            _ => {
                let uri = endpoint.uri();
                let authority = uri
                    .authority()
                    .ok_or_else(|| format!("{uri}: no host and port"))?;
                create_grpc_client_endpoint(
                    format!("https://{authority}"),
                    Some(&GrpcClientConfig::default()),
                )?
            }
        };
        Ok(endpoint.tls_config(self.client())?)
    }
}
