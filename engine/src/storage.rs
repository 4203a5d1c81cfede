//! Resolving locations (local paths, `file://` URLs) to object stores.
//!
//! Every data file path in the catalog is absolute: a local path (`/data/x.parquet`) or a URL
//! (`s3://bucket/x.parquet`). This module maps either to the store registered in DataFusion's
//! runtime and the path inside it.

use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use strata_catalog::Location;

use crate::error::{Error, Result};

/// A store and the path of one object (or prefix) in it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub url: ObjectStoreUrl,
    pub store: Arc<dyn ObjectStore>,
    pub path: Path,
}

/// The object stores Strata may use. Only the local file system for now.
#[derive(Debug, Clone)]
pub struct Stores {
    local: Arc<dyn ObjectStore>,
}

impl Default for Stores {
    fn default() -> Self {
        Stores {
            local: Arc::new(LocalFileSystem::new()),
        }
    }
}

impl Stores {
    /// The URL under which the local file system is registered in DataFusion.
    pub fn local_url() -> ObjectStoreUrl {
        ObjectStoreUrl::local_filesystem()
    }

    /// Every (URL, store) pair to register in the DataFusion runtime.
    pub fn all(&self) -> Vec<(ObjectStoreUrl, Arc<dyn ObjectStore>)> {
        vec![(Self::local_url(), Arc::clone(&self.local))]
    }

    /// Resolve an absolute path or URL of a file.
    pub fn resolve(&self, location: &str) -> Result<Resolved> {
        let local_path = if let Some(rest) = location.strip_prefix("file://") {
            rest.to_string()
        } else if location.contains("://") {
            let scheme = location.split("://").next().unwrap_or_default();
            return Err(Error::Location {
                location: location.to_string(),
                reason: format!(
                    "the '{scheme}' scheme is not configured; only local paths and file:// URLs are supported so far"
                ),
            });
        } else {
            location.to_string()
        };
        let absolute = std::path::Path::new(&local_path);
        let absolute = if absolute.is_absolute() {
            absolute.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::Invalid(format!("cannot read the current directory: {e}")))?
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
        })
    }

    /// Resolve a directory to register: the catalog records it normalised, ending in `/`.
    pub fn location(&self, location: &str) -> Result<Location> {
        let resolved = self.resolve(location)?;
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
        let mut url = local.clone();
        if !url.ends_with('/') {
            url.push('/');
        }
        Ok(Location {
            url,
            store: resolved.store,
            prefix: resolved.path,
            root: "/".into(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_local_paths() {
        let s = Stores::default();
        let r = s.resolve("/tmp/a b/x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/a b/x.parquet");
        let r = s.resolve("/tmp/a/../b/./x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/b/x.parquet");
        let r = s.resolve("file:///tmp/x.parquet").unwrap();
        assert_eq!(r.path.as_ref(), "tmp/x.parquet");
        let err = s.resolve("s3://bucket/x.parquet").unwrap_err();
        assert!(
            err.to_string().contains("'s3' scheme is not configured"),
            "{err}"
        );
    }

    #[test]
    fn refuses_missing_directories() {
        let s = Stores::default();
        let err = s.location("/definitely/not/here").unwrap_err();
        assert!(err.to_string().contains("/definitely/not/here"), "{err}");
    }
}
