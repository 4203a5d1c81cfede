//! Server configuration: one plain struct per concern, each field documenting its default.
//! The CLI fills these from `strata.toml`, `STRATA_*` variables and flags.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// How `strata serve` listens, authenticates and limits.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on. Default: `127.0.0.1:50051`.
    pub listen: String,
    /// Listen on a non-loopback address without authentication. Default: false (refused).
    pub allow_insecure: bool,
    /// TLS certificate and key; none means plain gRPC. Default: none.
    pub tls: Option<TlsConfig>,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    /// Table type reported by GetTables and GetTableTypes: `TABLE` (ODBC, Power BI) or
    /// `BASE TABLE` (JDBC, Grafana). Default: `TABLE`.
    pub table_type: String,
    /// A query that has produced no rows for this long sends an empty batch, so proxies keep
    /// the stream open. Default: 5 s.
    pub keepalive_interval: Duration,
    /// On SIGTERM or Ctrl-C, running queries get this long to finish before they are
    /// cancelled. Default: 30 s.
    pub shutdown_grace: Duration,
    /// Where the query log goes: `stderr` or a file path (appended). Default: `stderr`.
    pub query_log: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:50051".into(),
            allow_insecure: false,
            tls: None,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            table_type: "TABLE".into(),
            keepalive_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
            query_log: "stderr".into(),
        }
    }
}

/// TLS files (PEM).
#[derive(Debug, Clone)]
pub struct TlsConfig {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// CA bundle that client certificates must chain to (mTLS). Default: none (no client
    /// certificates asked for).
    pub client_ca: Option<PathBuf>,
}

/// Users, API tokens and the token signing secret.
#[derive(Clone, Default)]
pub struct AuthConfig {
    /// Users who log in with a password (Basic → Bearer). Default: none.
    pub users: Vec<UserEntry>,
    /// Static API tokens for CI jobs, stored as SHA-256 hashes. Default: none.
    pub tokens: Vec<TokenEntry>,
    /// Secret that signs bearer tokens and tickets; replicas that share it accept each other's
    /// tokens. Default: a random secret per process.
    pub secret: Option<String>,
    /// Lifetime of a bearer token issued at login. Default: 12 h.
    pub token_ttl: Option<Duration>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field(
                "users",
                &self.users.iter().map(|u| &u.name).collect::<Vec<_>>(),
            )
            .field(
                "tokens",
                &self.tokens.iter().map(|t| &t.name).collect::<Vec<_>>(),
            )
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .field("token_ttl", &self.token_ttl)
            .finish()
    }
}

impl AuthConfig {
    /// Whether any credential is configured (otherwise the server is open, on loopback only).
    pub fn enabled(&self) -> bool {
        !self.users.is_empty() || !self.tokens.is_empty()
    }
}

/// A user: name, role and argon2 password hash (PHC string).
#[derive(Debug, Clone)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A static API token: its SHA-256 (hex) and the role it grants.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}

/// Resource limits of the server (memory and spill limits are the engine's, `[limits]`).
/// Every limit names itself in the error it causes.
#[derive(Debug, Clone)]
pub struct LimitsConfig {
    /// Longest a query may run, queueing excluded. Default: 5 min.
    pub query_timeout: Duration,
    /// Queries that run at once. Default: twice the CPU cores.
    pub max_running: usize,
    /// Queries that may wait for a slot; beyond it requests fail at once with
    /// `RESOURCE_EXHAUSTED`. Default: 64.
    pub max_queued: usize,
    /// Bytes of Arrow data one result may send. Default: 2 GiB.
    pub max_result_bytes: u64,
    /// Largest gRPC message a client may send, and largest set of parameters it may bind
    /// to one statement. Default: 64 MiB.
    pub max_request_bytes: usize,
    /// A client that takes no data of a running result for this long is disconnected and its
    /// query cancelled, so a stalled reader cannot hold a query slot. Default: 60 s.
    pub slow_reader_timeout: Duration,
    /// Connections open at once; further clients wait to be accepted. Default: 1024.
    pub max_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        LimitsConfig {
            query_timeout: Duration::from_secs(300),
            max_running: cores * 2,
            max_queued: 64,
            max_result_bytes: 2 << 30,
            max_request_bytes: 64 << 20,
            slow_reader_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

/// What a caller may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Read: queries, EXPLAIN, SHOW, DESCRIBE and metadata calls.
    Reader,
    /// Read, and change catalog tables (register, drop).
    Writer,
    /// Anything the server allows at all.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s.to_ascii_lowercase().as_str() {
            "reader" => Some(Role::Reader),
            "writer" => Some(Role::Writer),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Reader => "reader",
            Role::Writer => "writer",
            Role::Admin => "admin",
        }
    }
}
