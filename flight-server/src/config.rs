//! Server configuration: `[server]`, `[server.limits]`, `[auth]`, `[[users]]` and `[[tokens]]`
//! of `strata.toml`. As in the engine's configuration, a field's doc comment documents its
//! setting and its path names its `STRATA_*` variable (`server.listen` → `STRATA_SERVER_LISTEN`).

use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strata_engine::serde_units::{self, DurationText, Size};

/// `[server]`: how `strata serve` listens, authenticates and limits.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: String,
    /// Listen on a non-loopback address without authentication (otherwise refused).
    pub allow_insecure: bool,
    /// TLS certificate (PEM); with `tls_key`, the server speaks TLS. Default: plain gRPC.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), with `tls_cert`.
    pub tls_key: Option<PathBuf>,
    /// CA bundle that client certificates must chain to (mTLS). Default: no client
    /// certificates asked for.
    pub tls_client_ca: Option<PathBuf>,
    /// Users, tokens and the token secret: the `[auth]`, `[[users]]` and `[[tokens]]` sections.
    #[serde(skip)]
    pub auth: AuthConfig,
    /// `[server.limits]`: what the server lets clients use.
    pub limits: LimitsConfig,
    /// Table type reported by GetTables and GetTableTypes: `TABLE` (ODBC, Power BI) or
    /// `BASE TABLE` (JDBC, Grafana).
    pub table_type: String,
    /// A query that has produced no rows for this long sends an empty batch, so proxies keep
    /// the stream open.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub keepalive_interval: Duration,
    /// On SIGTERM or Ctrl-C, running queries get this long to finish before they are
    /// cancelled.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub shutdown_grace: Duration,
    /// Where the query log goes: `stderr` or a file path (appended).
    pub query_log: String,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:50051".into(),
            allow_insecure: false,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            auth: AuthConfig::default(),
            limits: LimitsConfig::default(),
            table_type: "TABLE".into(),
            keepalive_interval: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(30),
            query_log: "stderr".into(),
        }
    }
}

impl ServerConfig {
    /// Settings that are wrong together or out of their range, named as in `strata.toml`.
    pub fn validate(&self) -> Result<(), String> {
        if self.table_type != "TABLE" && self.table_type != "BASE TABLE" {
            return Err(format!(
                "[server] table_type: use \"TABLE\" or \"BASE TABLE\", not \"{}\"",
                self.table_type
            ));
        }
        if self.tls_cert.is_some() != self.tls_key.is_some()
            || (self.tls_client_ca.is_some() && self.tls_cert.is_none())
        {
            return Err(
                "[server] TLS needs both tls_cert and tls_key (tls_client_ca is optional)".into(),
            );
        }
        Ok(())
    }
}

/// `[auth]`: users, API tokens and the token signing secret.
#[derive(Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Users who log in with a password (Basic → Bearer), from `[[users]]`.
    #[serde(skip)]
    pub users: Vec<UserEntry>,
    /// Static API tokens for CI jobs, stored as SHA-256 hashes, from `[[tokens]]`.
    #[serde(skip)]
    pub tokens: Vec<TokenEntry>,
    /// Secret that signs bearer tokens and tickets; replicas that share it accept each other's
    /// tokens. Better set in the environment than in the file. Default: a random secret per
    /// process.
    #[serde(skip_serializing)]
    pub secret: Option<String>,
    /// Lifetime of a bearer token issued at login. Default: 12 h.
    #[serde(with = "serde_units::opt_duration")]
    #[schemars(with = "Option<DurationText>")]
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

/// A `[[users]]` entry: name, role and argon2 password hash (PHC string), as `strata user add`
/// prints it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub role: Role,
    pub password_hash: String,
}

/// A `[[tokens]]` entry: the token's SHA-256 (hex) and the role it grants, as `strata token
/// create` prints it.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenEntry {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}

/// `[server.limits]`: what the server lets clients use (memory and spill are the engine's
/// `[limits]`). Every limit names itself in the error it causes.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Longest a query may run, queueing excluded.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub query_timeout: Duration,
    /// Queries that run at once. Default: twice the CPU cores.
    pub max_running: Option<usize>,
    /// Queries that may wait for a slot; beyond it requests fail at once with
    /// `RESOURCE_EXHAUSTED`.
    pub max_queued: usize,
    /// A query whose scans read at least this much (the sizes of the files left after
    /// pruning) is heavy: heavy queries hold at most half of `max_running` and wait apart, so a
    /// few big scans never keep dashboards waiting for a slot.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub heavy_query_bytes: u64,
    /// Arrow data one result may send.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub max_result_bytes: u64,
    /// Largest gRPC message a client may send, and largest set of parameters it may bind to
    /// one statement.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub max_request_bytes: usize,
    /// A client that takes no data of a running result for this long is disconnected and its
    /// query cancelled, so a stalled reader cannot hold a query slot.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub slow_reader_timeout: Duration,
    /// Connections open at once; further clients wait to be accepted.
    pub max_connections: usize,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            query_timeout: Duration::from_secs(300),
            max_running: None,
            max_queued: 64,
            heavy_query_bytes: 1 << 30,
            max_result_bytes: 2 << 30,
            max_request_bytes: 64 << 20,
            slow_reader_timeout: Duration::from_secs(60),
            max_connections: 1024,
        }
    }
}

impl LimitsConfig {
    /// `max_running`, or its default: twice the CPU cores.
    pub fn running(&self) -> usize {
        self.max_running
            .unwrap_or_else(|| 2 * std::thread::available_parallelism().map_or(2, |n| n.get()))
    }
}

/// What a caller may do.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
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
