//! How Strata reaches object stores: the `[storage]` settings and the `[stores."url"]`
//! sections of `strata.toml`, with secrets redacted when printed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::units::serde_units::{self, DurationText};

/// `[storage]`: how Strata reaches object stores (per-bucket settings come from the
/// `[stores."url"]` sections).
#[derive(Clone, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Per-bucket settings, keyed by `scheme://bucket` (or `abfss://container@account…`),
    /// from the `[stores."url"]` sections.
    #[serde(skip)]
    pub stores: Vec<StoreConfig>,
    /// Read each cloud's usual environment variables (`AWS_*`, `GOOGLE_*`, `AZURE_*`).
    pub use_environment: bool,
    /// Time to establish a connection.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub connect_timeout: Duration,
    /// Time for one request, from sending it until the whole response arrived.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub request_timeout: Duration,
    /// Retries of a failed request (5xx, throttling, dropped connection).
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt: well below the query
    /// timeout, so that a store that stays down fails the query with a clear error.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub retry_timeout: Duration,
    /// First backoff between retries; it grows exponentially with random jitter.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub backoff_initial: Duration,
    /// Longest backoff between retries.
    #[serde(with = "serde_units::duration")]
    #[schemars(with = "DurationText")]
    pub backoff_max: Duration,
    /// Files one scan reads at once from object storage, where requests wait on latency rather
    /// than CPU; local scans use one file per core.
    pub scan_concurrency: usize,
    /// The environment used when `use_environment` is true. Default: the process environment,
    /// read when the configuration is created.
    #[serde(skip)]
    pub environment: Vec<(String, String)>,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            stores: Vec::new(),
            use_environment: true,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(60),
            max_retries: 5,
            retry_timeout: Duration::from_secs(30),
            backoff_initial: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            scan_concurrency: 16,
            environment: cloud_environment(std::env::vars()),
        }
    }
}

impl fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageConfig")
            .field("stores", &self.stores)
            .field("use_environment", &self.use_environment)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("retry_timeout", &self.retry_timeout)
            .field("backoff_initial", &self.backoff_initial)
            .field("backoff_max", &self.backoff_max)
            .field("scan_concurrency", &self.scan_concurrency)
            .field(
                "environment",
                &self
                    .environment
                    .iter()
                    .map(|(k, v)| (k.as_str(), redact(k, v)))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The variables of `vars` that configure a cloud store.
pub fn cloud_environment(vars: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    let mut out: Vec<_> = vars
        .filter(|(k, _)| {
            k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
        })
        .collect();
    out.sort();
    out
}

/// Settings of one bucket or container: the keys `object_store` knows for its cloud (for S3
/// `endpoint`, `region`, `access_key_id`, `secret_access_key`, `session_token`, `allow_http`,
/// `virtual_hosted_style_request`, `skip_signature`, …). Values are never shown in `Debug`
/// output or errors, except for a few that are not secret.
#[derive(Clone, PartialEq)]
pub struct StoreConfig {
    /// `s3://bucket`, `gs://bucket`, `az://container`, `abfss://container@account.dfs.core.windows.net`.
    pub url: String,
    pub options: BTreeMap<String, String>,
}

impl fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreConfig")
            .field("url", &self.url)
            .field(
                "options",
                &self
                    .options
                    .iter()
                    .map(|(k, v)| (k.as_str(), redact(k, v)))
                    .collect::<BTreeMap<_, _>>(),
            )
            .finish()
    }
}

/// Settings whose values may be shown; every other value is shown as `***`.
pub(super) fn redact<'a>(key: &str, value: &'a str) -> &'a str {
    const PUBLIC: &[&str] = &[
        "endpoint",
        "endpoint_url",
        "region",
        "allow_http",
        "virtual_hosted_style_request",
        "skip_signature",
        "use_emulator",
        "account_name",
        "bucket",
        "bucket_name",
        "container_name",
        "application_credentials",
        "service_account",
        "service_account_path",
        "timeout",
        "connect_timeout",
    ];
    let bare = key
        .to_ascii_lowercase()
        .trim_start_matches("aws_")
        .trim_start_matches("google_")
        .trim_start_matches("azure_storage_")
        .trim_start_matches("azure_")
        .to_string();
    if PUBLIC.contains(&bare.as_str()) {
        value
    } else {
        "***"
    }
}
