//! Object stores: local disk, S3, GCS and Azure, built from configuration only.
//!
//! Every data file path in the catalog is absolute: a local path (`/data/x.parquet`) or a URL
//! (`s3://bucket/x.parquet`). [`Stores`] maps either to a store and the path inside it. A cloud
//! store is built the first time a bucket is used, from its section in `strata.toml` and from the
//! cloud's usual environment variables; a bucket that neither configures is refused rather than
//! reached with whatever ambient credentials the machine has.
//!
//! Every request goes through [`CountingStore`], which counts it by kind (see [`RequestCounter`])
//! and rewrites store errors into messages that name the URL and say what to check.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use datafusion::execution::object_store::{ObjectStoreRegistry, ObjectStoreUrl};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};
use strata_catalog::Location;

mod cloud;
mod config;

use crate::data_cache::DataCache;
use crate::disk_cache::DiskTier;
use crate::error::{Error, Result};
use crate::file_index::FileIndex;
use crate::parquet_reader::FooterReads;
use cloud::{Cloud, service_account_file, settings, unsupported_scheme};
pub use config::{StorageConfig, StoreConfig, cloud_environment};

use crate::requests::{CountingStore, RequestCounter};

/// A store and the path of one object (or prefix) in it.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The URL the store is registered under in DataFusion (`file:///`, `s3://bucket`).
    pub url: ObjectStoreUrl,
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
    /// Prepended to `path` to spell the object's absolute location (`/`, `s3://bucket/`).
    pub root: String,
}

/// A location split into its store key (`s3://bucket`, empty for local) and the path inside.
#[derive(Debug, Clone, PartialEq)]
struct Split {
    scheme: String,
    /// `scheme://authority`, or empty for the local file system.
    key: String,
    path: String,
}

fn split(location: &str) -> Result<Split> {
    let Some((scheme, rest)) = location.split_once("://") else {
        return Ok(Split {
            scheme: "file".into(),
            key: String::new(),
            path: location.to_string(),
        });
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "file" {
        return Ok(Split {
            scheme,
            key: String::new(),
            path: rest.to_string(),
        });
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.is_empty() {
        return Err(Error::Location {
            location: location.to_string(),
            reason: format!("a {scheme}:// URL needs a bucket: {scheme}://BUCKET/PATH"),
        });
    }
    Ok(Split {
        key: format!("{scheme}://{authority}"),
        scheme,
        path: path.to_string(),
    })
}

/// The object stores Strata may use: the local file system, and cloud buckets that the
/// configuration or the environment configures.
pub struct Stores {
    config: StorageConfig,
    local: Arc<dyn ObjectStore>,
    /// Cloud stores built so far, by `scheme://authority`; each keeps its connection pool.
    built: Mutex<HashMap<String, Arc<dyn ObjectStore>>>,
    /// Parquet footer reads in flight, so that concurrent readers of a file read it once.
    footer_reads: Arc<FooterReads>,
    /// Byte ranges of remote data files (`cache.data`), shared by every query.
    data_cache: Option<Arc<DataCache>>,
    /// Tables' live files and statistics by version (`cache.files`), shared by every plan.
    file_index: Option<Arc<FileIndex>>,
}

impl fmt::Debug for Stores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let built: Vec<String> = self
            .built
            .lock()
            .map(|b| b.keys().cloned().collect())
            .unwrap_or_default();
        f.debug_struct("Stores")
            .field("config", &self.config)
            .field("built", &built)
            .finish()
    }
}

impl Stores {
    pub fn new(config: StorageConfig) -> Self {
        Stores {
            config,
            local: Arc::new(LocalFileSystem::new()),
            built: Mutex::new(HashMap::new()),
            footer_reads: Arc::default(),
            data_cache: None,
            file_index: None,
        }
    }

    /// Parquet footer reads in flight, shared by every scan over these stores.
    pub(crate) fn footer_reads(&self) -> Arc<FooterReads> {
        Arc::clone(&self.footer_reads)
    }

    /// These stores with a data cache of `bytes` (none when 0) for the byte ranges of data
    /// files, and `disk` as its second tier for those on object storage.
    pub(crate) fn with_data_cache(mut self, bytes: u64, disk: Option<Arc<DiskTier>>) -> Self {
        self.data_cache = DataCache::new(bytes, disk);
        self
    }

    /// The data cache, when `cache.data` is not 0.
    pub(crate) fn data_cache(&self) -> Option<Arc<DataCache>> {
        self.data_cache.clone()
    }

    /// These stores with an index of tables' files for planning (none: plans ask the
    /// catalog database every time).
    pub(crate) fn with_file_index(mut self, index: Option<Arc<FileIndex>>) -> Self {
        self.file_index = index;
        self
    }

    /// The file index, when `cache.files` is not 0.
    pub(crate) fn file_index(&self) -> Option<Arc<FileIndex>> {
        self.file_index.clone()
    }

    /// What tells the store of `url` (`scheme://authority`) from another of the same name:
    /// its endpoint, region or account, from its section and the environment (no secret).
    /// Ranges kept on the disk tier are named with it, so a restart against another endpoint
    /// (staging and production buckets of the same name) never reads the other's bytes.
    pub(crate) fn identity(&self, url: &str) -> String {
        let telling = |name: &str| {
            let name = name.to_ascii_lowercase();
            ["endpoint", "region", "account", "emulator", "host"]
                .iter()
                .any(|w| name.contains(w))
                && !["secret", "key", "token", "password"]
                    .iter()
                    .any(|w| name.contains(w))
        };
        let key = url.trim_end_matches('/');
        let section = self
            .config
            .stores
            .iter()
            .filter(|s| split(&s.url).map(|s| s.key == key).unwrap_or(false))
            .flat_map(|s| s.options.iter())
            .filter(|(k, _)| telling(k))
            .map(|(k, v)| format!("{k}={v}"));
        let environment = self
            .env()
            .iter()
            .filter(|(k, _)| telling(k))
            .map(|(k, v)| format!("{k}={v}"));
        let mut parts: Vec<String> = section.chain(environment).collect();
        parts.sort();
        format!("{key} [{}]", parts.join(" "))
    }

    /// Check the configuration without connecting anywhere: every store section names a
    /// supported URL and only settings its cloud knows.
    pub fn validate(&self) -> Result<()> {
        for section in &self.config.stores {
            let s = split(&section.url)?;
            let Some(cloud) = Cloud::of_scheme(&s.scheme) else {
                return Err(unsupported_scheme(&section.url, &s.scheme));
            };
            if !s.path.trim_matches('/').is_empty() {
                return Err(Error::Usage(format!(
                    "[stores.\"{}\"]: name a bucket or container only ({}), not a path inside it",
                    section.url, s.key
                )));
            }
            self.build(cloud, &s.key, Some(section))?;
        }
        Ok(())
    }

    /// Files one scan reads at once from object storage.
    pub fn scan_concurrency(&self) -> usize {
        self.config.scan_concurrency.max(1)
    }

    /// The URL under which the local file system is registered in DataFusion.
    pub fn local_url() -> ObjectStoreUrl {
        ObjectStoreUrl::local_filesystem()
    }

    /// The store for `key` (`scheme://authority`, or empty for local disk), built on first use.
    fn store(&self, scheme: &str, key: &str, location: &str) -> Result<Arc<dyn ObjectStore>> {
        if key.is_empty() {
            return Ok(Arc::clone(&self.local));
        }
        let mut built = self.built.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(store) = built.get(key) {
            return Ok(Arc::clone(store));
        }
        let Some(cloud) = Cloud::of_scheme(scheme) else {
            return Err(unsupported_scheme(location, scheme));
        };
        let section = self
            .config
            .stores
            .iter()
            .find(|s| split(&s.url).map(|s| s.key == key).unwrap_or(false));
        let env_ok = self.config.use_environment && cloud.configured_by(&self.config.environment);
        if section.is_none() && !env_ok {
            return Err(Error::Location {
                location: location.to_string(),
                reason: format!(
                    "no {} store is configured for {key}: {}",
                    cloud.name(),
                    cloud.how_to_configure(key)
                ),
            });
        }
        let store = self.build(cloud, key, section)?;
        built.insert(key.to_string(), Arc::clone(&store));
        Ok(store)
    }

    /// Timeouts, and plain HTTP when a setting allows it or the endpoint is spelled `http://`.
    fn client_options(&self, allow_http: Option<bool>, http_endpoint: bool) -> ClientOptions {
        ClientOptions::new()
            .with_connect_timeout(self.config.connect_timeout)
            .with_timeout(self.config.request_timeout)
            .with_allow_http(allow_http.unwrap_or(http_endpoint))
    }

    fn retry(&self) -> RetryConfig {
        RetryConfig {
            backoff: BackoffConfig {
                init_backoff: self.config.backoff_initial,
                max_backoff: self.config.backoff_max,
                base: 2.0,
            },
            max_retries: self.config.max_retries,
            retry_timeout: self.config.retry_timeout,
        }
    }

    fn env(&self) -> &[(String, String)] {
        if self.config.use_environment {
            &self.config.environment
        } else {
            &[]
        }
    }

    /// Build the store of `key` from the environment and then the section's settings.
    fn build(
        &self,
        cloud: Cloud,
        key: &str,
        section: Option<&StoreConfig>,
    ) -> Result<Arc<dyn ObjectStore>> {
        let options = section.map(|s| &s.options);
        let bad = |setting: &str| {
            Error::Usage(format!(
                "unknown setting '{setting}' for the {} store {key} (see the README's storage section for the settings each cloud takes)",
                cloud.name()
            ))
        };
        let failed = |e: object_store::Error| Error::Location {
            location: key.to_string(),
            reason: format!("cannot set up the {} store: {e}", cloud.name()),
        };
        let prefix = match cloud {
            Cloud::S3 => "AWS_",
            Cloud::Gcs => "GOOGLE_",
            Cloud::Azure => "AZURE_",
        };
        let env = self
            .env()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let section = options
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.as_str()));
        let store: Arc<dyn ObjectStore> = match cloud {
            Cloud::S3 => {
                let env = settings::<AmazonS3ConfigKey>(env, None)?;
                let section = settings::<AmazonS3ConfigKey>(section, Some(&bad))?;
                // An endpoint spelled `http://` (MinIO, moto, a proxy) asks for plain HTTP.
                let http_endpoint = env
                    .keys
                    .iter()
                    .chain(&section.keys)
                    .rfind(|(k, _)| matches!(k, AmazonS3ConfigKey::Endpoint))
                    .is_some_and(|(_, v)| v.starts_with("http://"));
                let mut b = AmazonS3Builder::new();
                for (k, v) in env.keys.into_iter().chain(section.keys) {
                    b = b.with_config(k, v);
                }
                let allow_http = section.allow_http.or(env.allow_http);
                Arc::new(
                    b.with_url(key)
                        .with_client_options(self.client_options(allow_http, http_endpoint))
                        .with_retry(self.retry())
                        .build()
                        .map_err(failed)?,
                )
            }
            Cloud::Gcs => {
                let mut b = GoogleCloudStorageBuilder::new();
                let mut http_endpoint = false;
                // A service-account key file may carry a base URL (an emulator's), which
                // object_store reads only from a service account, so pass it as one.
                let mut rest = Vec::new();
                for (k, v) in env {
                    let account = (k == "GOOGLE_APPLICATION_CREDENTIALS")
                        .then(|| service_account_file(v))
                        .flatten();
                    match account {
                        Some(account) => {
                            http_endpoint = account
                                .get("gcs_base_url")
                                .and_then(|u| u.as_str())
                                .is_some_and(|u| u.starts_with("http://"));
                            b = b.with_service_account_path(v);
                        }
                        _ => rest.push((k, v)),
                    }
                }
                let env = rest;
                let env = settings::<GoogleConfigKey>(env.into_iter(), None)?;
                let section = settings::<GoogleConfigKey>(section, Some(&bad))?;
                for (k, v) in env.keys.into_iter().chain(section.keys) {
                    b = b.with_config(k, v);
                }
                let allow_http = section.allow_http.or(env.allow_http);
                Arc::new(
                    b.with_url(key)
                        .with_client_options(self.client_options(allow_http, http_endpoint))
                        .with_retry(self.retry())
                        .build()
                        .map_err(failed)?,
                )
            }
            Cloud::Azure => {
                let env = settings::<AzureConfigKey>(env, None)?;
                let section = settings::<AzureConfigKey>(section, Some(&bad))?;
                let mut b = MicrosoftAzureBuilder::new();
                for (k, v) in env.keys.into_iter().chain(section.keys) {
                    b = b.with_config(k, v);
                }
                let allow_http = section.allow_http.or(env.allow_http);
                Arc::new(
                    b.with_url(key)
                        .with_client_options(self.client_options(allow_http, false))
                        .with_retry(self.retry())
                        .build()
                        .map_err(failed)?,
                )
            }
        };
        Ok(store)
    }

    /// Resolve an absolute path or URL of a file (or prefix).
    pub fn resolve(&self, location: &str) -> Result<Resolved> {
        let s = split(location)?;
        if s.key.is_empty() {
            return self.resolve_local(location, &s.path);
        }
        let store = self.store(&s.scheme, &s.key, location)?;
        let path = Path::parse(&s.path).map_err(|e| Error::Location {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        let url = ObjectStoreUrl::parse(&s.key).map_err(|e| Error::Location {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Resolved {
            url,
            store,
            path,
            root: format!("{}/", s.key),
        })
    }

    fn resolve_local(&self, location: &str, local_path: &str) -> Result<Resolved> {
        let absolute = std::path::Path::new(local_path);
        let absolute = if absolute.is_absolute() {
            absolute.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|source| Error::Io {
                    context: "cannot read the current directory".into(),
                    source,
                })?
                .join(absolute)
        };
        // Lexically drop `.` and `..`, which object store paths do not allow.
        let mut normal = std::path::PathBuf::new();
        for part in absolute.components() {
            match part {
                std::path::Component::ParentDir => {
                    normal.pop();
                }
                std::path::Component::CurDir => {}
                other => normal.push(other),
            }
        }
        let text = normal.to_string_lossy();
        let path = Path::parse(text.trim_start_matches('/')).map_err(|e| Error::Location {
            location: location.to_string(),
            reason: e.to_string(),
        })?;
        Ok(Resolved {
            url: Self::local_url(),
            store: Arc::clone(&self.local),
            path,
            root: "/".into(),
        })
    }

    /// Resolve a directory to register, counting its requests in `counter`. The catalog
    /// records it normalised, ending in `/`.
    pub fn location(&self, location: &str, counter: &Arc<RequestCounter>) -> Result<Location> {
        let resolved = self.resolve(location)?;
        let url = if resolved.root == "/" {
            let local = format!("/{}", resolved.path);
            let meta = std::fs::metadata(&local).map_err(|e| Error::Location {
                location: location.to_string(),
                reason: format!("{e}"),
            })?;
            if !meta.is_dir() {
                return Err(Error::Location {
                    location: location.to_string(),
                    reason: "not a directory; register the directory that holds the Parquet files"
                        .into(),
                });
            }
            local
        } else {
            format!("{}{}", resolved.root, resolved.path)
        };
        let mut url = url;
        if !url.ends_with('/') {
            url.push('/');
        }
        let store = CountingStore::new(
            resolved.store,
            resolved.root.trim_end_matches('/').to_string(),
            Arc::clone(counter),
        );
        Ok(Location {
            url,
            store: Arc::new(store),
            prefix: resolved.path,
            root: resolved.root,
        })
    }

    /// An `ObjectStoreRegistry` for one query: every store it hands out counts into `counter`.
    pub fn registry(self: &Arc<Self>, counter: Arc<RequestCounter>) -> Arc<QueryRegistry> {
        Arc::new(QueryRegistry {
            stores: Arc::clone(self),
            counter,
        })
    }
}

/// DataFusion's view of [`Stores`] for one query: stores are looked up (and built) by URL, and
/// each one counts its requests into the query's counter.
#[derive(Debug)]
pub struct QueryRegistry {
    stores: Arc<Stores>,
    counter: Arc<RequestCounter>,
}

impl ObjectStoreRegistry for QueryRegistry {
    fn register_store(
        &self,
        url: &url::Url,
        _store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        // Stores come from configuration only; a store registered at run time is ignored.
        let _ = url;
        None
    }

    fn get_store(&self, url: &url::Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        let text = url.as_str();
        let s =
            split(text).map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        let key = if s.scheme == "file" {
            String::new()
        } else {
            s.key.clone()
        };
        let store = self
            .stores
            .store(&s.scheme, &key, text)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        Ok(Arc::new(CountingStore::new(
            store,
            key,
            Arc::clone(&self.counter),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn stores(env: &[(&str, &str)], sections: Vec<StoreConfig>) -> Stores {
        Stores::new(StorageConfig {
            stores: sections,
            environment: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..StorageConfig::default()
        })
    }

    #[test]
    fn resolves_local_paths() {
        let s = stores(&[], vec![]);
        let r = s.resolve("/tmp/a b/x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/a b/x.parquet");
        let r = s.resolve("/tmp/a/../b/./x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/b/x.parquet");
        let r = s.resolve("file:///tmp/x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/x.parquet");
        assert_eq!(r.root, "/");
    }

    #[test]
    fn refuses_unconfigured_buckets_and_schemes() {
        let s = stores(&[], vec![]);
        let err = s.resolve("s3://bucket/x.parquet").unwrap_err().to_string();
        assert!(
            err.contains("no S3 store is configured for s3://bucket"),
            "{err}"
        );
        assert!(err.contains("AWS_ACCESS_KEY_ID"), "{err}");
        let err = s.resolve("gs://b/x").unwrap_err().to_string();
        assert!(err.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{err}");
        let err = s.resolve("hdfs://nn/x").unwrap_err().to_string();
        assert!(err.contains("unsupported scheme 'hdfs://'"), "{err}");
        let err = s.resolve("s3:///x").unwrap_err().to_string();
        assert!(err.contains("needs a bucket"), "{err}");
    }

    #[test]
    fn environment_or_section_configures_a_bucket() {
        let s = stores(
            &[
                ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
                ("AWS_SECRET_ACCESS_KEY", "very-secret"),
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
            ],
            vec![],
        );
        let r = s.resolve("s3://logs/2026/x.parquet").unwrap();
        assert_eq!(r.url.as_str(), "s3://logs/");
        assert_eq!(r.path.as_ref(), "2026/x.parquet");
        assert_eq!(r.root, "s3://logs/");

        let section = StoreConfig {
            url: "gs://trips".into(),
            options: [("service_account_key".to_string(), "{}".to_string())].into(),
        };
        let s = stores(&[], vec![section]);
        // The key is not a valid service account, so building fails, naming the store.
        let err = s.resolve("gs://trips/x").unwrap_err().to_string();
        assert!(err.contains("gs://trips"), "{err}");
        // Another bucket of the same cloud is still not configured.
        let err = s.resolve("gs://other/x").unwrap_err().to_string();
        assert!(err.contains("no GCS store is configured"), "{err}");
    }

    #[test]
    fn environment_can_be_ignored() {
        let mut s = stores(&[("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")], vec![]);
        s.config.use_environment = false;
        let err = s.resolve("s3://logs/x").unwrap_err().to_string();
        assert!(err.contains("no S3 store is configured"), "{err}");
    }

    #[test]
    fn unknown_settings_are_reported() {
        let section = StoreConfig {
            url: "s3://logs".into(),
            options: [("acces_key_id".to_string(), "x".to_string())].into(),
        };
        let err = stores(&[], vec![section])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown setting 'acces_key_id'"), "{err}");
        let section = StoreConfig {
            url: "s3://logs/some/prefix".into(),
            options: BTreeMap::new(),
        };
        let err = stores(&[], vec![section])
            .validate()
            .unwrap_err()
            .to_string();
        assert!(err.contains("bucket or container only"), "{err}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let section = StoreConfig {
            url: "s3://logs".into(),
            options: [
                ("secret_access_key".to_string(), "hunter2".to_string()),
                ("region".to_string(), "eu-west-1".to_string()),
            ]
            .into(),
        };
        let s = stores(&[("AWS_SECRET_ACCESS_KEY", "hunter3")], vec![section]);
        let text = format!("{s:?}");
        assert!(
            !text.contains("hunter2") && !text.contains("hunter3"),
            "{text}"
        );
        assert!(text.contains("eu-west-1"), "{text}");
    }

    #[test]
    fn refuses_missing_directories() {
        let s = stores(&[], vec![]);
        let counter = Arc::new(RequestCounter::default());
        let err = s.location("/definitely/not/here", &counter).unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }
}
