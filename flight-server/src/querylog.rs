//! The query log: one JSON line per request, with who asked, what, how long it took, what it
//! returned and how it ended.

use std::io::Write;
use std::sync::{Arc, Mutex};

use serde::Serialize;

use crate::auth::sha256_hex;

/// One request, as logged.
#[derive(Debug, Default, Serialize)]
pub struct Entry {
    pub ts: String,
    pub user: String,
    pub client: String,
    /// The RPC or command: `statement`, `prepared`, `update`, `get_tables`, …
    pub request: String,
    /// The statement, up to 4,000 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<String>,
    /// SHA-256 of the whole statement (first 16 hex digits), to group repeated queries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_id: Option<String>,
    pub duration_ms: u128,
    pub rows: u64,
    pub bytes: u64,
    pub files_scanned: usize,
    /// Object-store requests the statement made.
    pub requests: u64,
    /// Byte ranges of data files served from the data cache (`cache.data`), and their bytes.
    pub cache_hits: u64,
    pub cache_hit_bytes: u64,
    /// Of `cache_hits`, those the data cache's disk tier (`cache.disk_path`) served.
    #[serde(skip_serializing_if = "is_zero")]
    pub disk_cache_hits: u64,
    /// How the statement met the result cache (`cache.results`): `hit`, `miss`,
    /// `uncacheable` or `bypassed`; absent when the cache is off or for other requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_cache: Option<String>,
    /// Whether the statement ran on the cluster (`strata serve --scheduler`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cluster: bool,
    /// `ok`, `error`, `denied`, `cancelled` or `timed_out`.
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Entry {
    pub fn new(user: &str, client: &str, request: &str) -> Self {
        Entry {
            ts: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            user: user.into(),
            client: client.into(),
            request: request.into(),
            outcome: "ok".into(),
            ..Entry::default()
        }
    }

    pub fn statement(mut self, sql: &str) -> Self {
        self.statement = Some(sql.chars().take(4000).collect());
        self.statement_hash = Some(sha256_hex(sql.as_bytes())[..16].to_string());
        self
    }
}

/// Where entries go (clones share the sink).
#[derive(Clone)]
pub struct QueryLog {
    sink: Arc<Mutex<Box<dyn Write + Send>>>,
}

impl QueryLog {
    /// `stderr`, `off`, or a file path (appended).
    pub fn open(target: &str) -> std::io::Result<Self> {
        let sink: Box<dyn Write + Send> = match target {
            "stderr" => Box::new(std::io::stderr()),
            "off" => Box::new(std::io::sink()),
            path => Box::new(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)?,
            ),
        };
        Ok(QueryLog {
            sink: Arc::new(Mutex::new(sink)),
        })
    }

    pub fn record(&self, entry: &Entry) {
        if let Ok(line) = serde_json::to_string(entry)
            && let Ok(mut sink) = self.sink.lock()
        {
            // A full disk must not fail the query; the line is lost instead.
            let _ = writeln!(sink, "{line}");
            let _ = sink.flush();
        }
    }
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}
