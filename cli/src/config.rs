//! `strata.toml`, `STRATA_*` variables and flags, merged into the engine's plain configuration.
//!
//! Precedence: the file, then the environment, then command-line flags. Unknown keys in the
//! file are errors; unknown `STRATA_*` variables are reported as warnings (`STRATA_TEST_*` is
//! reserved for test harnesses).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use strata_engine::{EngineConfig, StoreConfig};

/// The file's layout. Every key is optional; absent keys keep their defaults.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub catalog: Option<String>,
    pub data_path: Option<String>,
    #[serde(default)]
    pub engine: EngineSection,
    #[serde(default)]
    pub storage: StorageSection,
    /// Limits of every statement, embedded or served: memory, spill, statement shape.
    #[serde(default)]
    pub limits: EngineLimitsSection,
    /// Per-bucket settings: `[stores."s3://bucket"]`.
    #[serde(default)]
    pub stores: BTreeMap<String, BTreeMap<String, toml::Value>>,
    /// `strata serve`: listening, TLS, limits.
    #[serde(default)]
    pub server: ServerSection,
    /// Token signing.
    #[serde(default)]
    pub auth: AuthSection,
    /// `[[users]]` entries, as `strata user add` prints them.
    #[serde(default)]
    pub users: Vec<UserSection>,
    /// `[[tokens]]` entries, as `strata token create` prints them.
    #[serde(default)]
    pub tokens: Vec<TokenSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSection {
    pub listen: Option<String>,
    pub allow_insecure: Option<bool>,
    pub table_type: Option<String>,
    pub keepalive_interval: Option<toml::Value>,
    pub shutdown_grace: Option<toml::Value>,
    pub query_log: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub tls_client_ca: Option<PathBuf>,
    #[serde(default)]
    pub limits: LimitsSection,
}

/// `[limits]`: what any statement may use, from the CLI or the server.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineLimitsSection {
    pub memory: Option<toml::Value>,
    pub query_memory: Option<toml::Value>,
    pub spill_dir: Option<PathBuf>,
    pub spill_max: Option<toml::Value>,
    pub max_statement_bytes: Option<toml::Value>,
    pub max_statements: Option<usize>,
    pub max_expression_depth: Option<usize>,
    pub max_call_depth: Option<usize>,
    pub max_subquery_depth: Option<usize>,
    pub max_value_bytes: Option<toml::Value>,
}

/// `[server.limits]`. `memory`, `query_memory`, `spill_dir` and `spill_max` moved to `[limits]`;
/// here they are still read (for `strata serve`) so that existing files keep working.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    pub memory: Option<toml::Value>,
    pub query_memory: Option<toml::Value>,
    pub spill_dir: Option<PathBuf>,
    pub spill_max: Option<toml::Value>,
    pub query_timeout: Option<toml::Value>,
    pub max_running: Option<usize>,
    pub max_queued: Option<usize>,
    pub max_result_bytes: Option<toml::Value>,
    pub max_request_bytes: Option<toml::Value>,
    pub slow_reader_timeout: Option<toml::Value>,
    pub max_connections: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSection {
    /// Signs bearer tokens and tickets; better set with STRATA_AUTH_SECRET.
    pub secret: Option<String>,
    pub token_ttl: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserSection {
    pub name: String,
    pub role: String,
    pub password_hash: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenSection {
    pub name: String,
    pub role: String,
    pub sha256: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineSection {
    pub target_partitions: Option<usize>,
    pub batch_size: Option<usize>,
    /// Bytes, or a size such as "512MiB".
    pub metadata_cache: Option<toml::Value>,
    pub parquet_pushdown_filters: Option<bool>,
    /// Further DataFusion settings, e.g. `"datafusion.execution.parquet.bloom_filter_on_read" = "false"`.
    #[serde(default)]
    pub datafusion: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageSection {
    pub use_environment: Option<bool>,
    /// Durations are strings such as "500ms", "5s", "2m", or numbers of seconds.
    pub connect_timeout: Option<toml::Value>,
    pub request_timeout: Option<toml::Value>,
    pub max_retries: Option<usize>,
    pub retry_timeout: Option<toml::Value>,
    pub backoff_initial: Option<toml::Value>,
    pub backoff_max: Option<toml::Value>,
    pub scan_concurrency: Option<usize>,
}

/// Settings that may come from `STRATA_*` variables, beyond the flags' own.
const ENV_SETTINGS: &[&str] = &[
    "STRATA_CONFIG",
    "STRATA_CATALOG",
    "STRATA_DATA_PATH",
    "STRATA_TARGET_PARTITIONS",
    "STRATA_BATCH_SIZE",
    "STRATA_METADATA_CACHE",
    "STRATA_PARQUET_PUSHDOWN_FILTERS",
    "STRATA_STORAGE_USE_ENVIRONMENT",
    "STRATA_STORAGE_CONNECT_TIMEOUT",
    "STRATA_STORAGE_REQUEST_TIMEOUT",
    "STRATA_STORAGE_MAX_RETRIES",
    "STRATA_STORAGE_RETRY_TIMEOUT",
    "STRATA_STORAGE_BACKOFF_INITIAL",
    "STRATA_STORAGE_BACKOFF_MAX",
    "STRATA_STORAGE_SCAN_CONCURRENCY",
    "STRATA_LISTEN",
    "STRATA_AUTH_SECRET",
    "STRATA_QUERY_LOG",
];

/// Build the engine configuration from the file at `path` (or `./strata.toml` when present),
/// the environment `env`, and the flags `catalog` / `data_path`.
pub fn load(
    path: Option<&Path>,
    env: &[(String, String)],
    catalog: Option<String>,
    data_path: Option<String>,
    default_catalog: &str,
) -> Result<(EngineConfig, Vec<String>)> {
    let mut warnings = Vec::new();
    let file = read_config(path)?;
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    for (k, _) in env {
        if k.starts_with("STRATA_")
            && !k.starts_with("STRATA_TEST_")
            && !ENV_SETTINGS.contains(&k.as_str())
        {
            warnings.push(format!(
                "ignoring unknown environment variable {k} (known: {})",
                ENV_SETTINGS.join(", ")
            ));
        }
    }

    let mut config = EngineConfig {
        catalog: default_catalog.to_string(),
        ..EngineConfig::default()
    };
    config.storage.environment = strata_engine::cloud_environment(env.iter().cloned());
    if let Some(c) = file.catalog {
        config.catalog = c;
    }
    config.data_path = file.data_path;

    let e = &file.engine;
    config.target_partitions = e.target_partitions.or(config.target_partitions);
    if let Some(n) = e.batch_size {
        config.batch_size = n;
    }
    if let Some(v) = &e.metadata_cache {
        config.metadata_cache_bytes = size_value(v).context("[engine] metadata_cache")?;
    }
    if let Some(b) = e.parquet_pushdown_filters {
        config.parquet_pushdown_filters = b;
    }
    for (k, v) in &e.datafusion {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => bail!(
                "[engine.datafusion] {k}: expected a string, a number or true/false, not {}",
                other.type_str()
            ),
        };
        config.datafusion.push((k.clone(), text));
    }

    apply_engine_limits(&mut config, &file.limits, "[limits]")?;

    let s = &file.storage;
    let st = &mut config.storage;
    if let Some(b) = s.use_environment {
        st.use_environment = b;
    }
    let durations: [(&Option<toml::Value>, &mut Duration, &str); 5] = [
        (
            &s.connect_timeout,
            &mut st.connect_timeout,
            "connect_timeout",
        ),
        (
            &s.request_timeout,
            &mut st.request_timeout,
            "request_timeout",
        ),
        (&s.retry_timeout, &mut st.retry_timeout, "retry_timeout"),
        (
            &s.backoff_initial,
            &mut st.backoff_initial,
            "backoff_initial",
        ),
        (&s.backoff_max, &mut st.backoff_max, "backoff_max"),
    ];
    for (value, slot, name) in durations {
        if let Some(v) = value {
            *slot = duration_value(v).with_context(|| format!("[storage] {name}"))?;
        }
    }
    if let Some(n) = s.max_retries {
        st.max_retries = n;
    }
    if let Some(n) = s.scan_concurrency {
        st.scan_concurrency = n;
    }
    for (url, options) in file.stores {
        let mut plain = BTreeMap::new();
        for (k, v) in options {
            let text = match v {
                toml::Value::String(s) => s,
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Integer(i) => i.to_string(),
                other => bail!(
                    "[stores.\"{url}\"] {k}: expected a string, a number or true/false, not {}",
                    other.type_str()
                ),
            };
            plain.insert(k, text);
        }
        st.stores.push(StoreConfig {
            url,
            options: plain,
        });
    }

    // The environment overrides the file.
    if let Some(v) = get("STRATA_CATALOG") {
        config.catalog = v.to_string();
    }
    if let Some(v) = get("STRATA_DATA_PATH") {
        config.data_path = Some(v.to_string());
    }
    if let Some(v) = get("STRATA_TARGET_PARTITIONS") {
        config.target_partitions = Some(parse_env(v, "STRATA_TARGET_PARTITIONS")?);
    }
    if let Some(v) = get("STRATA_BATCH_SIZE") {
        config.batch_size = parse_env(v, "STRATA_BATCH_SIZE")?;
    }
    if let Some(v) = get("STRATA_METADATA_CACHE") {
        config.metadata_cache_bytes =
            parse_size(v).context("environment variable STRATA_METADATA_CACHE")?;
    }
    if let Some(v) = get("STRATA_PARQUET_PUSHDOWN_FILTERS") {
        config.parquet_pushdown_filters = parse_env(v, "STRATA_PARQUET_PUSHDOWN_FILTERS")?;
    }
    let st = &mut config.storage;
    if let Some(v) = get("STRATA_STORAGE_USE_ENVIRONMENT") {
        st.use_environment = parse_env(v, "STRATA_STORAGE_USE_ENVIRONMENT")?;
    }
    if let Some(v) = get("STRATA_STORAGE_MAX_RETRIES") {
        st.max_retries = parse_env(v, "STRATA_STORAGE_MAX_RETRIES")?;
    }
    if let Some(v) = get("STRATA_STORAGE_SCAN_CONCURRENCY") {
        st.scan_concurrency = parse_env(v, "STRATA_STORAGE_SCAN_CONCURRENCY")?;
    }
    let durations: [(&str, &mut Duration); 5] = [
        ("STRATA_STORAGE_CONNECT_TIMEOUT", &mut st.connect_timeout),
        ("STRATA_STORAGE_REQUEST_TIMEOUT", &mut st.request_timeout),
        ("STRATA_STORAGE_RETRY_TIMEOUT", &mut st.retry_timeout),
        ("STRATA_STORAGE_BACKOFF_INITIAL", &mut st.backoff_initial),
        ("STRATA_STORAGE_BACKOFF_MAX", &mut st.backoff_max),
    ];
    for (name, slot) in durations {
        if let Some(v) = get(name) {
            *slot = parse_duration(v).with_context(|| format!("environment variable {name}"))?;
        }
    }

    // Flags override both.
    if let Some(c) = catalog {
        config.catalog = c;
    }
    if let Some(d) = data_path {
        config.data_path = Some(d);
    }
    Ok((config, warnings))
}

/// Memory, spill and statement limits from a `[limits]` section.
fn apply_engine_limits(
    config: &mut EngineConfig,
    l: &EngineLimitsSection,
    section: &str,
) -> Result<()> {
    if let Some(v) = &l.memory {
        config.memory_limit = Some(size_value(v).with_context(|| format!("{section} memory"))?);
    }
    if let Some(v) = &l.query_memory {
        config.query_memory_limit =
            Some(size_value(v).with_context(|| format!("{section} query_memory"))?);
    }
    if let Some(dir) = &l.spill_dir {
        config.spill_dir = Some(dir.clone());
    }
    if let Some(v) = &l.spill_max {
        config.spill_max_bytes =
            size_value(v).with_context(|| format!("{section} spill_max"))? as u64;
    }
    let limits = &mut config.limits;
    if let Some(v) = &l.max_statement_bytes {
        limits.max_statement_bytes =
            size_value(v).with_context(|| format!("{section} max_statement_bytes"))?;
    }
    if let Some(n) = l.max_statements {
        limits.max_statements = n;
    }
    if let Some(n) = l.max_expression_depth {
        limits.max_expression_depth = n;
    }
    if let Some(n) = l.max_call_depth {
        limits.max_call_depth = n;
    }
    if let Some(n) = l.max_subquery_depth {
        limits.max_subquery_depth = n;
    }
    if let Some(v) = &l.max_value_bytes {
        limits.max_value_bytes =
            size_value(v).with_context(|| format!("{section} max_value_bytes"))?;
    }
    Ok(())
}

/// The engine and server configurations of `strata serve`: the server runs many queries at
/// once, so unless configured a query gets a quarter of the memory limit; the memory keys
/// that older files keep under `[server.limits]` still apply.
pub fn load_serve(
    path: Option<&Path>,
    env: &[(String, String)],
    catalog: Option<String>,
    data_path: Option<String>,
    default_catalog: &str,
) -> Result<(EngineConfig, strata_flight::ServerConfig, Vec<String>)> {
    let (mut engine, mut warnings) = load(path, env, catalog, data_path, default_catalog)?;
    let server = load_server(path, env)?;
    let file = read_config(path)?;
    let legacy = &file.server.limits;
    if legacy.memory.is_some()
        || legacy.query_memory.is_some()
        || legacy.spill_dir.is_some()
        || legacy.spill_max.is_some()
    {
        warnings.push(
            "[server.limits] memory, query_memory, spill_dir and spill_max moved to [limits]; they still apply here".into(),
        );
        let moved = EngineLimitsSection {
            memory: legacy.memory.clone(),
            query_memory: legacy.query_memory.clone(),
            spill_dir: legacy.spill_dir.clone(),
            spill_max: legacy.spill_max.clone(),
            ..EngineLimitsSection::default()
        };
        apply_engine_limits(&mut engine, &moved, "[server.limits]")?;
    }
    if engine.query_memory_limit.is_none() {
        engine.query_memory_limit = engine.memory_limit.map(|m| m / 4);
    }
    Ok((engine, server, warnings))
}

fn role(name: &str, what: &str) -> Result<strata_flight::Role> {
    strata_flight::Role::parse(name).ok_or_else(|| {
        anyhow::anyhow!("{what}: unknown role '{name}' (use reader, writer or admin)")
    })
}

/// The server's configuration from the same file and environment as [`load`].
pub fn load_server(
    path: Option<&Path>,
    env: &[(String, String)],
) -> Result<strata_flight::ServerConfig> {
    let file = read_config(path)?;
    let get = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let mut c = strata_flight::ServerConfig::default();
    let s = file.server;
    if let Some(v) = s.listen {
        c.listen = v;
    }
    if let Some(v) = s.allow_insecure {
        c.allow_insecure = v;
    }
    if let Some(v) = s.table_type {
        if v != "TABLE" && v != "BASE TABLE" {
            bail!("[server] table_type: use \"TABLE\" or \"BASE TABLE\", not \"{v}\"");
        }
        c.table_type = v;
    }
    if let Some(v) = &s.keepalive_interval {
        c.keepalive_interval = duration_value(v).context("[server] keepalive_interval")?;
    }
    if let Some(v) = &s.shutdown_grace {
        c.shutdown_grace = duration_value(v).context("[server] shutdown_grace")?;
    }
    if let Some(v) = s.query_log {
        c.query_log = v;
    }
    match (s.tls_cert, s.tls_key) {
        (Some(cert), Some(key)) => {
            c.tls = Some(strata_flight::TlsConfig {
                cert,
                key,
                client_ca: s.tls_client_ca,
            })
        }
        (None, None) if s.tls_client_ca.is_none() => {}
        _ => bail!("[server] TLS needs both tls_cert and tls_key (tls_client_ca is optional)"),
    }
    let l = s.limits;
    let lc = &mut c.limits;
    if let Some(v) = &l.query_timeout {
        lc.query_timeout = duration_value(v).context("[server.limits] query_timeout")?;
    }
    if let Some(v) = l.max_running {
        lc.max_running = v;
    }
    if let Some(v) = l.max_queued {
        lc.max_queued = v;
    }
    if let Some(v) = &l.max_result_bytes {
        lc.max_result_bytes = size_value(v).context("[server.limits] max_result_bytes")? as u64;
    }
    if let Some(v) = &l.max_request_bytes {
        lc.max_request_bytes = size_value(v).context("[server.limits] max_request_bytes")?;
    }
    if let Some(v) = &l.slow_reader_timeout {
        lc.slow_reader_timeout =
            duration_value(v).context("[server.limits] slow_reader_timeout")?;
    }
    if let Some(v) = l.max_connections {
        lc.max_connections = v;
    }
    c.auth.secret = file.auth.secret;
    if let Some(v) = &file.auth.token_ttl {
        c.auth.token_ttl = Some(duration_value(v).context("[auth] token_ttl")?);
    }
    for u in file.users {
        c.auth.users.push(strata_flight::UserEntry {
            role: role(&u.role, &format!("[[users]] {}", u.name))?,
            name: u.name,
            password_hash: u.password_hash,
        });
    }
    for t in file.tokens {
        c.auth.tokens.push(strata_flight::TokenEntry {
            role: role(&t.role, &format!("[[tokens]] {}", t.name))?,
            name: t.name,
            sha256: t.sha256.to_ascii_lowercase(),
        });
    }
    if let Some(v) = get("STRATA_LISTEN") {
        c.listen = v;
    }
    if let Some(v) = get("STRATA_AUTH_SECRET") {
        c.auth.secret = Some(v);
    }
    if let Some(v) = get("STRATA_QUERY_LOG") {
        c.query_log = v;
    }
    Ok(c)
}

/// The file at `path`, else `./strata.toml` when present, else defaults.
fn read_config(path: Option<&Path>) -> Result<FileConfig> {
    match path {
        Some(p) => read_file(p),
        None => {
            let default = PathBuf::from("strata.toml");
            if default.is_file() {
                read_file(&default)
            } else {
                Ok(FileConfig::default())
            }
        }
    }
}

fn read_file(path: &Path) -> Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the configuration file '{}'", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "invalid configuration file '{}': {}",
            path.display(),
            e.to_string().trim()
        )
    })
}

fn parse_env<T: std::str::FromStr>(value: &str, name: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| anyhow::anyhow!("environment variable {name}='{value}': {e}"))
}

fn size_value(v: &toml::Value) -> Result<usize> {
    match v {
        toml::Value::Integer(i) if *i >= 0 => Ok(*i as usize),
        toml::Value::String(s) => parse_size(s),
        other => bail!(
            "expected bytes or a size such as \"512MiB\", not {}",
            other.type_str()
        ),
    }
}

fn duration_value(v: &toml::Value) -> Result<Duration> {
    match v {
        toml::Value::Integer(i) if *i >= 0 => Ok(Duration::from_secs(*i as u64)),
        toml::Value::Float(f) if *f >= 0.0 => Ok(Duration::from_secs_f64(*f)),
        toml::Value::String(s) => parse_duration(s),
        other => bail!(
            "expected a duration such as \"5s\" or \"500ms\", not {}",
            other.type_str()
        ),
    }
}

/// A duration, as everywhere in Strata (see `strata_engine::parse_duration`).
pub fn parse_duration(text: &str) -> Result<Duration> {
    Ok(strata_engine::parse_duration(text)?)
}

/// A size, as everywhere in Strata (see `strata_engine::parse_size`).
pub fn parse_size(text: &str) -> Result<usize> {
    let bytes = strata_engine::parse_size(text)?;
    usize::try_from(bytes).map_err(|_| anyhow::anyhow!("size '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_then_environment_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(
            &path,
            r#"
catalog = "sqlite:file.db"
data_path = "s3://lake/data/"
[engine]
metadata_cache = "64MiB"
[storage]
max_retries = 2
retry_timeout = "10s"
connect_timeout = 3
[stores."s3://lake"]
endpoint = "http://127.0.0.1:9000"
allow_http = true
"#,
        )
        .unwrap();
        let (c, warnings) = load(
            Some(&path),
            &env(&[
                ("STRATA_STORAGE_MAX_RETRIES", "7"),
                ("STRATA_DATA_PATH", "/env/data"),
                ("STRATA_TYPO", "1"),
                ("STRATA_TEST_BIN", "x"),
            ]),
            Some("sqlite:flag.db".into()),
            None,
            "sqlite:strata.db",
        )
        .unwrap();
        assert_eq!(c.catalog, "sqlite:flag.db");
        assert_eq!(c.data_path.as_deref(), Some("/env/data"));
        assert_eq!(c.metadata_cache_bytes, 64 << 20);
        assert_eq!(c.storage.max_retries, 7);
        assert_eq!(c.storage.retry_timeout, Duration::from_secs(10));
        assert_eq!(c.storage.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.storage.stores.len(), 1);
        assert_eq!(c.storage.stores[0].options["allow_http"], "true");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("STRATA_TYPO"));
    }

    #[test]
    fn unknown_keys_and_bad_values_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(&path, "[storage]\nmax_retrys = 2\n").unwrap();
        let err = load(Some(&path), &[], None, None, "sqlite:x.db").unwrap_err();
        assert!(format!("{err:#}").contains("max_retrys"), "{err:#}");
        std::fs::write(&path, "[storage]\nretry_timeout = \"soon\"\n").unwrap();
        let err = load(Some(&path), &[], None, None, "sqlite:x.db").unwrap_err();
        assert!(
            format!("{err:#}").contains("invalid duration 'soon'"),
            "{err:#}"
        );
        let err = load(
            None,
            &env(&[("STRATA_STORAGE_MAX_RETRIES", "many")]),
            None,
            None,
            "sqlite:x.db",
        )
        .unwrap_err();
        assert!(
            format!("{err:#}").contains("STRATA_STORAGE_MAX_RETRIES"),
            "{err:#}"
        );
    }

    #[test]
    fn parses_sizes_and_durations() {
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("1000").unwrap(), 1000);
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_size("lots").is_err());
    }
}
