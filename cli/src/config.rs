//! `strata.toml`, `STRATA_*` variables and flags, merged into the engine's and the server's
//! configuration.
//!
//! The file's sections are the library configuration structs themselves
//! ([`ExecutionConfig`], [`StorageConfig`], [`Limits`], [`ServerConfig`], [`AuthConfig`]):
//! they derive `Deserialize` with `deny_unknown_fields`, and their doc comments are the
//! settings' documentation. Every setting's `STRATA_*` variable is derived from its path
//! (`storage.max_retries` → `STRATA_STORAGE_MAX_RETRIES`) by walking the structs' schema, so a
//! new field is a new setting, variable and documentation line at once (see
//! [`settings`], `strata config show --defaults`, `docs/settings.md`).
//!
//! Precedence: the file, then the environment, then command-line flags. Unknown keys in the
//! file are errors; unknown `STRATA_*` variables are reported as warnings.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use strata_engine::{
    CacheConfig, EngineConfig, ExecutionConfig, Limits, StorageConfig, StoreConfig,
};
use strata_flight::{AuthConfig, ServerConfig, TokenEntry, UserEntry};

/// The whole of `strata.toml`. Every key is optional; absent keys keep their defaults.
#[derive(Debug, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Catalog URL: `sqlite:PATH` or `postgres://…` (flag `--catalog`). Default:
    /// `sqlite:strata.db` (`strata demo`: the demo's own catalog).
    pub catalog: Option<String>,
    /// Where new data files go, a directory or a URL (flag `--data-path`); recorded when the
    /// catalog is created. Default: `<catalog file>.files/` beside the catalog database.
    pub data_path: Option<String>,
    /// `[engine]`: how queries run.
    pub engine: ExecutionConfig,
    /// `[storage]`: how object stores are reached.
    pub storage: StorageConfig,
    /// `[limits]`: what any statement may use, embedded or served.
    pub limits: Limits,
    /// `[cache]`: what the process keeps between queries.
    pub cache: CacheConfig,
    /// `[stores."s3://bucket"]`: settings of one bucket or container, the keys `object_store`
    /// knows for its cloud (for S3 `endpoint`, `region`, `access_key_id`,
    /// `secret_access_key`, `allow_http`, …).
    #[schemars(with = "BTreeMap<String, BTreeMap<String, String>>")]
    pub stores: BTreeMap<String, StoreOptions>,
    /// `[server]`: `strata serve`.
    pub server: ServerConfig,
    /// `[auth]`: token signing.
    pub auth: AuthConfig,
    /// `[[users]]` entries, as `strata user add` prints them.
    pub users: Vec<UserEntry>,
    /// `[[tokens]]` entries, as `strata token create` prints them.
    pub tokens: Vec<TokenEntry>,
}

/// The keys of one `[stores."url"]` section, as text.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct StoreOptions(
    #[serde(with = "strata_engine::serde_units::text_map")] pub BTreeMap<String, String>,
);

/// `STRATA_*` variables that are not settings: the `--config` flag's, and test hooks.
const NOT_SETTINGS: &[&str] = &["STRATA_CONFIG", "STRATA_CRASH_AT", "STRATA_SLT_COMPLETE"];

/// Variables of older releases, still read, with a warning naming the new one.
const RENAMED: &[(&str, &str)] = &[
    ("STRATA_TARGET_PARTITIONS", "engine.target_partitions"),
    ("STRATA_BATCH_SIZE", "engine.batch_size"),
    ("STRATA_METADATA_CACHE", "engine.metadata_cache"),
    (
        "STRATA_PARQUET_PUSHDOWN_FILTERS",
        "engine.parquet_pushdown_filters",
    ),
    ("STRATA_LISTEN", "server.listen"),
    ("STRATA_QUERY_LOG", "server.query_log"),
];

/// Keys that older files kept under `[server.limits]` and that moved to `[limits]`.
const MOVED_TO_LIMITS: &[&str] = &["memory", "query_memory", "spill_dir", "spill_max"];

/// What a value of a setting is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Number,
    Boolean,
    Size,
    Duration,
    /// A table of keys (`[stores."url"]`, `[engine.datafusion]`) or a list of entries
    /// (`[[users]]`): set in the file only.
    Table,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Text => "text",
            Kind::Integer => "integer",
            Kind::Number => "number",
            Kind::Boolean => "true/false",
            Kind::Size => "size",
            Kind::Duration => "duration",
            Kind::Table => "table",
        }
    }
}

/// One setting of `strata.toml`, as its struct declares it.
#[derive(Debug, Clone)]
pub struct Setting {
    /// Its path in the file, e.g. `storage.max_retries`.
    pub key: String,
    pub kind: Kind,
    /// The field's doc comment.
    pub doc: String,
}

impl Setting {
    /// Its `STRATA_*` variable: the path in capitals, dots as underscores. Tables and lists
    /// have none.
    pub fn env(&self) -> Option<String> {
        (self.kind != Kind::Table).then(|| format!("STRATA_{}", env_tail(&self.key)))
    }
}

fn env_tail(key: &str) -> String {
    key.replace('.', "_").to_ascii_uppercase()
}

/// Every setting, in the order of the structs' fields, read from their schema.
pub fn settings() -> Vec<Setting> {
    let schema = serde_json::to_value(schemars::schema_for!(Settings)).unwrap_or(Json::Null);
    let mut out = Vec::new();
    walk(&schema, &schema, "", &mut out);
    out
}

fn walk(root: &Json, schema: &Json, prefix: &str, out: &mut Vec<Setting>) {
    let Some(properties) = schema.get("properties").and_then(Json::as_object) else {
        return;
    };
    for (name, property) in properties {
        let key = format!("{prefix}{name}");
        let target = resolve(root, property);
        if target.get("properties").is_some() {
            walk(root, target, &format!("{key}."), out);
            continue;
        }
        let doc = property
            .get("description")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        out.push(Setting {
            key,
            kind: kind_of(target),
            doc,
        });
    }
}

/// The schema a `$ref` points to, else the schema itself.
fn resolve<'a>(root: &'a Json, schema: &'a Json) -> &'a Json {
    match schema.get("$ref").and_then(Json::as_str) {
        Some(r) => r
            .strip_prefix("#/$defs/")
            .and_then(|name| root.get("$defs")?.get(name))
            .unwrap_or(schema),
        None => schema,
    }
}

fn kind_of(schema: &Json) -> Kind {
    match schema.get("format").and_then(Json::as_str) {
        Some("size") => return Kind::Size,
        Some("duration") => return Kind::Duration,
        _ => {}
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => vec![],
    };
    match types.into_iter().find(|t| *t != "null") {
        Some("integer") => Kind::Integer,
        Some("number") => Kind::Number,
        Some("boolean") => Kind::Boolean,
        Some("object" | "array") => Kind::Table,
        _ => Kind::Text,
    }
}

/// The file at `path` (or `./strata.toml` when present) with the `STRATA_*` variables of `env`
/// applied, and the warnings to print.
pub fn read(path: Option<&Path>, env: &[(String, String)]) -> Result<(Settings, Vec<String>)> {
    let mut warnings = Vec::new();
    let (mut tree, source) = read_file(path)?;
    move_old_server_limits(&mut tree, &mut warnings);
    let known = settings();
    for (name, text) in env {
        if !name.starts_with("STRATA_")
            || name.starts_with("STRATA_TEST_")
            || NOT_SETTINGS.contains(&name.as_str())
        {
            continue;
        }
        let renamed = RENAMED.iter().find(|(old, _)| old == name);
        let setting = match renamed {
            Some((_, key)) => known.iter().find(|s| s.key == *key),
            None => known.iter().find(|s| s.env().as_deref() == Some(name)),
        };
        let Some(setting) = setting else {
            warnings.push(format!(
                "ignoring unknown environment variable {name} (`strata config show --defaults` lists them all)"
            ));
            continue;
        };
        if let Some((old, key)) = renamed {
            warnings.push(format!(
                "{old} is now STRATA_{}; the old name still works",
                env_tail(key)
            ));
        }
        let value = env_value(setting, text)
            .with_context(|| format!("environment variable {name}='{text}'"))?;
        set(&mut tree, &setting.key, value);
    }
    let settings: Settings =
        serde_path_to_error::deserialize(toml::Value::Table(tree)).map_err(|e| {
            let at = e.path().to_string();
            let at = if at == "." {
                String::new()
            } else {
                format!("{at}: ")
            };
            anyhow!("invalid configuration{source}: {at}{}", e.inner())
        })?;
    Ok((settings, warnings))
}

/// An environment variable's text as the value its setting takes.
fn env_value(setting: &Setting, text: &str) -> Result<toml::Value> {
    let t = text.trim();
    Ok(match setting.kind {
        Kind::Integer => toml::Value::Integer(t.parse().map_err(|e| anyhow!("{e}"))?),
        Kind::Number => toml::Value::Float(t.parse().map_err(|e| anyhow!("{e}"))?),
        Kind::Boolean => toml::Value::Boolean(t.parse().map_err(|e| anyhow!("{e}"))?),
        Kind::Size => {
            strata_engine::parse_size(t)?;
            toml::Value::String(t.to_string())
        }
        Kind::Duration => {
            strata_engine::parse_duration(t)?;
            toml::Value::String(t.to_string())
        }
        Kind::Text => toml::Value::String(text.to_string()),
        Kind::Table => bail!("{} is set in the file only", setting.key),
    })
}

/// Put `value` at the dotted `key` of `tree`, creating sections on the way.
fn set(tree: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts: Vec<&str> = key.split('.').collect();
    let Some(last) = parts.pop() else { return };
    let mut table = tree;
    for part in parts {
        let entry = table
            .entry(part.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let Some(next) = entry.as_table_mut() else {
            return;
        };
        table = next;
    }
    table.insert(last.to_string(), value);
}

/// `memory`, `query_memory`, `spill_dir` and `spill_max` under `[server.limits]` (older files)
/// apply as if they were under `[limits]`, unless `[limits]` sets them too.
fn move_old_server_limits(tree: &mut toml::Table, warnings: &mut Vec<String>) {
    let Some(old) = tree
        .get_mut("server")
        .and_then(|s| s.get_mut("limits"))
        .and_then(toml::Value::as_table_mut)
    else {
        return;
    };
    let moved: Vec<(String, toml::Value)> = MOVED_TO_LIMITS
        .iter()
        .filter_map(|k| old.remove(*k).map(|v| (k.to_string(), v)))
        .collect();
    if moved.is_empty() {
        return;
    }
    warnings.push(
        "[server.limits] memory, query_memory, spill_dir and spill_max moved to [limits]; they still apply here".into(),
    );
    for (k, v) in moved {
        let key = format!("limits.{k}");
        let present = tree.get("limits").and_then(|l| l.get(&k)).is_some();
        if !present {
            set(tree, &key, v);
        }
    }
}

impl Settings {
    /// The engine's configuration, with the flags `catalog` and `data_path` applied and the
    /// cloud variables of `env`.
    pub fn engine_config(
        &self,
        env: &[(String, String)],
        catalog: Option<String>,
        data_path: Option<String>,
        default_catalog: &str,
    ) -> EngineConfig {
        let mut storage = self.storage.clone();
        storage.environment = strata_engine::cloud_environment(env.iter().cloned());
        storage.stores = self
            .stores
            .iter()
            .map(|(url, options)| StoreConfig {
                url: url.clone(),
                options: options.0.clone(),
            })
            .collect();
        EngineConfig {
            catalog: catalog
                .or_else(|| self.catalog.clone())
                .unwrap_or_else(|| default_catalog.to_string()),
            data_path: data_path.or_else(|| self.data_path.clone()),
            execution: self.engine.clone(),
            storage,
            limits: self.limits.clone(),
            cache: self.cache.clone(),
        }
    }

    /// The server's configuration: `[server]` with `[auth]`, `[[users]]` and `[[tokens]]`.
    pub fn server_config(&self) -> Result<ServerConfig> {
        let mut server = self.server.clone();
        server.auth = AuthConfig {
            users: self.users.clone(),
            tokens: self
                .tokens
                .iter()
                .map(|t| TokenEntry {
                    sha256: t.sha256.to_ascii_lowercase(),
                    ..t.clone()
                })
                .collect(),
            ..self.auth.clone()
        };
        server.validate().map_err(|e| anyhow!(e))?;
        Ok(server)
    }
}

/// Build the engine configuration from the file at `path` (or `./strata.toml` when present),
/// the environment `env`, and the flags `catalog` / `data_path`.
pub fn load(
    path: Option<&Path>,
    env: &[(String, String)],
    catalog: Option<String>,
    data_path: Option<String>,
    default_catalog: &str,
) -> Result<(EngineConfig, Vec<String>)> {
    let (settings, warnings) = read(path, env)?;
    Ok((
        settings.engine_config(env, catalog, data_path, default_catalog),
        warnings,
    ))
}

/// The engine and server configurations of `strata serve`: the server runs many queries at
/// once, so unless configured a query gets a quarter of the memory limit.
pub fn load_serve(
    path: Option<&Path>,
    env: &[(String, String)],
    catalog: Option<String>,
    data_path: Option<String>,
    default_catalog: &str,
) -> Result<(EngineConfig, ServerConfig, Vec<String>)> {
    let (settings, warnings) = read(path, env)?;
    let mut engine = settings.engine_config(env, catalog, data_path, default_catalog);
    if engine.limits.query_memory.is_none() {
        engine.limits.query_memory = Some(engine.limits.memory_bytes() / 4);
    }
    Ok((engine, settings.server_config()?, warnings))
}

/// The server's configuration from the same file and environment as [`load`].
pub fn load_server(path: Option<&Path>, env: &[(String, String)]) -> Result<ServerConfig> {
    read(path, env)?.0.server_config()
}

/// The file at `path`, else `./strata.toml` when present, else nothing; with the words that
/// name it in errors.
fn read_file(path: Option<&Path>) -> Result<(toml::Table, String)> {
    let path = match path {
        Some(p) => p.to_path_buf(),
        None => {
            let default = PathBuf::from("strata.toml");
            if !default.is_file() {
                return Ok((toml::Table::new(), String::new()));
            }
            default
        }
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the configuration file '{}'", path.display()))?;
    let tree = text.parse::<toml::Table>().map_err(|e| {
        anyhow!(
            "invalid configuration file '{}': {}",
            path.display(),
            e.to_string().trim()
        )
    })?;
    Ok((tree, format!(" in '{}'", path.display())))
}

/// `strata config show`: every setting with its value (the defaults, or what the file and the
/// environment make of them), its variable and its documentation, as a commented
/// `strata.toml`; or, with `markdown`, as the table of `docs/settings.md`. Secrets are never
/// printed.
pub fn show(config: &Settings, markdown: bool) -> String {
    let values = serde_json::to_value(config).unwrap_or(Json::Null);
    let value_at = |key: &str| {
        key.split('.')
            .try_fold(&values, |v, part| v.get(part))
            .filter(|v| !v.is_null())
    };
    let mut out = String::new();
    if markdown {
        out.push_str("| key | env | kind | default | |\n|---|---|---|---|---|\n");
        for s in settings_list() {
            let value = match (s.kind, value_at(&s.key)) {
                (Kind::Table, _) | (_, None) => String::new(),
                (_, Some(v)) => format!("`{}`", plain(v)),
            };
            let env = s.env().map(|e| format!("`{e}`")).unwrap_or_default();
            out.push_str(&format!(
                "| `{}` | {env} | {} | {value} | {} |\n",
                s.key,
                s.kind.name(),
                s.doc.replace('|', "\\|")
            ));
        }
        return out;
    }
    // Keys outside any section first, then one block per section.
    let mut list: Vec<(String, String, Setting)> = settings()
        .into_iter()
        .map(|s| {
            let (table, name) = match s.key.rsplit_once('.') {
                Some((t, n)) => (t.to_string(), n.to_string()),
                None => (String::new(), s.key.clone()),
            };
            (table, name, s)
        })
        .collect();
    list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut section = String::new();
    for (table, name, s) in list {
        if table != section {
            out.push_str(&format!("\n[{table}]\n"));
            section = table;
        }
        out.push('\n');
        out.push_str(&wrap(&s.doc));
        match (s.kind, s.env()) {
            (Kind::Table, _) => {
                // Tables and lists are sections of their own: shown, never set here.
                let header = match name.as_str() {
                    "users" | "tokens" => format!("[[{name}]]"),
                    "stores" => "[stores.\"s3://bucket\"]".to_string(),
                    _ => format!("[{}]", s.key),
                };
                out.push_str(&format!("# {header}\n"));
                continue;
            }
            (kind, Some(env)) => out.push_str(&format!("# ({}, env {env})\n", kind.name())),
            (_, None) => {}
        }
        match value_at(&s.key) {
            Some(v) => out.push_str(&format!("{name} = {}\n", toml_text(v))),
            None => out.push_str(&format!("# {name} =\n")),
        }
    }
    out.trim_start().to_string()
}

/// Every setting but the lists of entries whose keys are their own (`[[users]]`,
/// `[[tokens]]`), and with `stores` shown as the section it is.
fn settings_list() -> Vec<Setting> {
    settings()
        .into_iter()
        .map(|mut s| {
            if s.key == "stores" {
                s.key = "stores.\"URL\"".into();
            }
            if s.key == "engine.datafusion" {
                s.key = "engine.datafusion.\"KEY\"".into();
            }
            s
        })
        .collect()
}

fn wrap(doc: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("#");
    for word in doc.split_whitespace() {
        if line.len() + word.len() > 95 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("#");
        }
        line.push(' ');
        line.push_str(word);
    }
    if line.len() > 1 {
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// A value as it is written in the docs.
fn plain(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A value as TOML text (JSON's strings, numbers and booleans are TOML's too).
fn toml_text(v: &Json) -> String {
    v.to_string()
}

/// `docs/settings.md`: the intro and the table, generated from the structs.
pub fn settings_document() -> String {
    format!(
        "# Settings\n\n\
         Generated from the configuration structs' doc comments by \
         `strata config show --defaults --markdown`; do not edit by hand (a test fails when it is \
         out of date). Every key goes in `strata.toml` at its path (`storage.max_retries` is \
         `max_retries` under `[storage]`); the variable beside it overrides the file, and flags \
         override both. Sizes are bytes or a number with `KB`/`MB`/`GB`/`TB` (powers of 1000) or \
         `KiB`/`MiB`/`GiB`/`TiB` (powers of 1024); durations are seconds or a number with `ms`, \
         `s`, `m`, `h`, `d` or `w`. An empty default is explained in the description.\n\n{}",
        show(&Settings::default(), true)
    )
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

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
[engine.datafusion]
"datafusion.execution.parquet.bloom_filter_on_read" = false
[storage]
max_retries = 2
retry_timeout = "10s"
connect_timeout = 3
[limits]
max_statements = 50
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
                ("STRATA_LIMITS_MAX_VALUE_BYTES", "1MB"),
                ("STRATA_ENGINE_PARQUET_PUSHDOWN_FILTERS", "true"),
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
        assert_eq!(c.execution.metadata_cache, 64 << 20);
        assert!(c.execution.parquet_pushdown_filters);
        assert_eq!(
            c.execution.datafusion["datafusion.execution.parquet.bloom_filter_on_read"],
            "false"
        );
        assert_eq!(c.storage.max_retries, 7);
        assert_eq!(c.storage.retry_timeout, Duration::from_secs(10));
        assert_eq!(c.storage.connect_timeout, Duration::from_secs(3));
        assert_eq!(c.limits.max_statements, 50);
        assert_eq!(c.limits.max_value_bytes, 1_000_000);
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
        let text = format!("{err:#}");
        assert!(
            text.contains("storage") && text.contains("max_retrys"),
            "{text}"
        );
        std::fs::write(&path, "[storage]\nretry_timeout = \"soon\"\n").unwrap();
        let err = load(Some(&path), &[], None, None, "sqlite:x.db").unwrap_err();
        let text = format!("{err:#}");
        assert!(
            text.contains("storage.retry_timeout") && text.contains("invalid duration 'soon'"),
            "{text}"
        );
        std::fs::write(&path, "[server]\ntable_type = \"VIEW\"\n").unwrap();
        let err = load_server(Some(&path), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("table_type"), "{err:#}");
        std::fs::write(
            &path,
            "[[users]]\nname = \"a\"\nrole = \"boss\"\npassword_hash = \"x\"\n",
        )
        .unwrap();
        let err = load_server(Some(&path), &[]).unwrap_err();
        assert!(format!("{err:#}").contains("boss"), "{err:#}");
        for (name, value) in [
            ("STRATA_STORAGE_MAX_RETRIES", "many"),
            ("STRATA_LIMITS_MEMORY", "lots"),
            ("STRATA_SERVER_SHUTDOWN_GRACE", "soon"),
        ] {
            let err = load(None, &env(&[(name, value)]), None, None, "sqlite:x.db").unwrap_err();
            assert!(format!("{err:#}").contains(name), "{err:#}");
        }
    }

    #[test]
    fn every_setting_has_a_variable_from_its_path_and_a_documentation() {
        let all = settings();
        let env = |key: &str| {
            all.iter()
                .find(|s| s.key == key)
                .unwrap_or_else(|| panic!("{key} missing"))
                .env()
        };
        assert_eq!(env("catalog").as_deref(), Some("STRATA_CATALOG"));
        assert_eq!(
            env("storage.max_retries").as_deref(),
            Some("STRATA_STORAGE_MAX_RETRIES")
        );
        assert_eq!(
            env("server.limits.query_timeout").as_deref(),
            Some("STRATA_SERVER_LIMITS_QUERY_TIMEOUT")
        );
        assert_eq!(env("auth.secret").as_deref(), Some("STRATA_AUTH_SECRET"));
        assert_eq!(env("stores"), None);
        for s in &all {
            assert!(!s.doc.is_empty(), "{} has no doc comment", s.key);
        }
        let kinds = |key: &str| all.iter().find(|s| s.key == key).map(|s| s.kind);
        assert_eq!(kinds("limits.memory"), Some(Kind::Size));
        assert_eq!(kinds("server.keepalive_interval"), Some(Kind::Duration));
        assert_eq!(kinds("engine.target_partitions"), Some(Kind::Integer));
        assert_eq!(kinds("server.allow_insecure"), Some(Kind::Boolean));
    }

    #[test]
    fn every_variable_sets_its_setting() {
        // Each setting's variable, given a value of its kind, reaches the configuration.
        for s in settings() {
            let Some(name) = s.env() else { continue };
            let value = match s.kind {
                Kind::Integer => "3",
                Kind::Number => "1.5",
                Kind::Boolean => "true",
                Kind::Size => "3MiB",
                Kind::Duration => "3s",
                Kind::Text if s.key == "server.table_type" => "BASE TABLE",
                Kind::Text => "x",
                Kind::Table => continue,
            };
            let (settings, warnings) = read(None, &env(&[(&name, value)])).unwrap();
            assert!(warnings.is_empty(), "{name}: {warnings:?}");
            let json = serde_json::to_value(&settings).unwrap();
            let got = s.key.split('.').try_fold(&json, |v, p| v.get(p));
            if s.key == "auth.secret" {
                assert_eq!(settings.auth.secret.as_deref(), Some("x"));
                continue;
            }
            let got = got.unwrap_or_else(|| panic!("{name}: {} absent", s.key));
            assert_eq!(plain(got), value, "{name}");
        }
    }

    #[test]
    fn old_variables_and_old_server_limits_still_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(
            &path,
            "[server.limits]\nmemory = \"2GiB\"\nmax_queued = 3\n",
        )
        .unwrap();
        let (engine, server, warnings) = load_serve(
            Some(&path),
            &env(&[
                ("STRATA_LISTEN", "127.0.0.1:7"),
                ("STRATA_TARGET_PARTITIONS", "3"),
            ]),
            None,
            None,
            "sqlite:x.db",
        )
        .unwrap();
        assert_eq!(engine.limits.memory, Some(2 << 30));
        assert_eq!(engine.limits.query_memory, Some(512 << 20));
        assert_eq!(engine.execution.target_partitions, Some(3));
        assert_eq!(server.listen, "127.0.0.1:7");
        assert_eq!(server.limits.max_queued, 3);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("STRATA_SERVER_LISTEN")));
    }

    #[test]
    fn the_settings_document_is_generated_from_the_structs() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/settings.md");
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        let generated = settings_document();
        if std::env::var_os("STRATA_WRITE_SETTINGS_DOC").is_some() {
            std::fs::write(&path, &generated).unwrap();
        } else {
            assert!(
                current == generated,
                "docs/settings.md is out of date: run `STRATA_WRITE_SETTINGS_DOC=1 cargo test -p strata-cli settings_document`"
            );
        }
    }

    #[test]
    fn the_defaults_read_back_as_the_defaults() {
        // `strata config show --defaults` is a valid strata.toml that changes nothing.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strata.toml");
        std::fs::write(&path, show(&Settings::default(), false)).unwrap();
        let (settings, warnings) = read(Some(&path), &[]).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            serde_json::to_value(&settings).unwrap(),
            serde_json::to_value(Settings::default()).unwrap()
        );
    }
}
