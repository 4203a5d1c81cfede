//! Opening and creating a catalog database.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::ddl;
use crate::error::{Error, Result};

/// The DuckLake specification version Strata reads and writes.
pub const DUCKLAKE_VERSION: &str = "1.0";

/// Where the catalog's metadata lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogUrl {
    /// A SQLite database file: `sqlite:PATH`.
    Sqlite(PathBuf),
}

impl CatalogUrl {
    /// Parse `sqlite:PATH` (also `sqlite://PATH`).
    pub fn parse(url: &str) -> Result<Self> {
        let invalid = |reason: &str| Error::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = url.strip_prefix("sqlite:") {
            let path = rest.strip_prefix("//").unwrap_or(rest);
            if path.is_empty() {
                return Err(invalid("the path is empty"));
            }
            return Ok(CatalogUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Err(invalid("PostgreSQL catalogs are not supported yet"));
        }
        Err(invalid("unknown catalog kind"))
    }
}

impl std::fmt::Display for CatalogUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
        }
    }
}

/// A DuckLake catalog: the metadata of every schema, table, data file and snapshot.
///
/// All methods are synchronous and short; the connection is guarded by a mutex.
#[derive(Debug)]
pub struct Catalog {
    conn: Mutex<Connection>,
    url: CatalogUrl,
    data_path: String,
}

impl Catalog {
    /// Open the catalog at `url`, creating it if it does not exist.
    ///
    /// `data_path` (a directory or URL) is recorded when the catalog is created; the default
    /// is `<catalog file>.files/` beside the database. Opening an existing catalog with a
    /// different data path is an error.
    pub fn open(url: &str, data_path: Option<&str>) -> Result<Self> {
        let url = CatalogUrl::parse(url)?;
        let CatalogUrl::Sqlite(path) = &url;
        let exists = path.exists();
        if !exists && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                Error::Invalid(format!(
                    "cannot create directory '{}' for the catalog: {e}",
                    parent.display()
                ))
            })?;
        }
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        let has_metadata: bool = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'ducklake_metadata'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)?;
        let recorded = if has_metadata {
            Self::check_version(&conn, path)?;
            conn.query_row(
                "SELECT value FROM ducklake_metadata WHERE key = 'data_path' AND scope IS NULL",
                [],
                |r| r.get::<_, String>(0),
            )
            .optional()?
            .ok_or_else(|| Error::NotACatalog {
                path: path.display().to_string(),
                reason: "no data_path is recorded".into(),
            })?
        } else {
            let is_empty: i64 =
                conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
            if is_empty > 0 {
                return Err(Error::NotACatalog {
                    path: path.display().to_string(),
                    reason: "the database has other tables and no ducklake_metadata".into(),
                });
            }
            let data_path = normalize_data_path(
                data_path
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("{}.files", path.display()))
                    .as_str(),
            )?;
            Self::initialize(&conn, &data_path)?;
            data_path
        };
        if let Some(requested) = data_path
            && has_metadata
        {
            let requested = normalize_data_path(requested)?;
            if requested != recorded {
                return Err(Error::Invalid(format!(
                    "catalog {url} keeps its data under '{recorded}', not '{requested}'; omit --data-path or use another catalog"
                )));
            }
        }
        conn.execute_batch(ddl::CREATE_INDEXES)?;
        Ok(Catalog {
            conn: Mutex::new(conn),
            url,
            data_path: recorded,
        })
    }

    fn check_version(conn: &Connection, path: &Path) -> Result<()> {
        let version: Option<String> = conn
            .query_row(
                "SELECT value FROM ducklake_metadata WHERE key = 'version' AND scope IS NULL",
                [],
                |r| r.get(0),
            )
            .optional()?;
        match version.as_deref() {
            Some(DUCKLAKE_VERSION) => Ok(()),
            Some(other) => Err(Error::NotACatalog {
                path: path.display().to_string(),
                reason: format!(
                    "it is DuckLake version {other}; Strata reads version {DUCKLAKE_VERSION} (migrate it with DuckDB 1.5 first)"
                ),
            }),
            None => Err(Error::NotACatalog {
                path: path.display().to_string(),
                reason: "no version is recorded".into(),
            }),
        }
    }

    fn initialize(conn: &Connection, data_path: &str) -> Result<()> {
        let tx = conn.unchecked_transaction()?;
        tx.execute_batch(ddl::CREATE_TABLES)?;
        for (key, value) in [
            ("version", DUCKLAKE_VERSION),
            ("created_by", concat!("Strata ", env!("CARGO_PKG_VERSION"))),
            ("data_path", data_path),
            ("encrypted", "false"),
        ] {
            tx.execute(
                "INSERT INTO ducklake_metadata (key, value, scope, scope_id) VALUES (?1, ?2, NULL, NULL)",
                params![key, value],
            )?;
        }
        tx.execute(
            "INSERT INTO ducklake_snapshot VALUES (0, ?1, 0, 1, 0)",
            params![crate::commit::now()],
        )?;
        tx.execute(
            "INSERT INTO ducklake_snapshot_changes VALUES (0, 'created_schema:\"main\"', 'strata', NULL, NULL)",
            [],
        )?;
        tx.execute(
            "INSERT INTO ducklake_schema VALUES (0, ?1, 0, NULL, 'main', 'main/', 1)",
            params![uuid::Uuid::new_v4().to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Where the catalog lives.
    pub fn url(&self) -> &CatalogUrl {
        &self.url
    }

    /// The data path recorded in the catalog, ending in `/`.
    pub fn data_path(&self) -> &str {
        &self.data_path
    }

    pub(crate) fn conn(&self) -> MutexGuard<'_, Connection> {
        // A poisoned lock only means another thread panicked mid-call; SQLite rolled back
        // whatever it had open, so the connection is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Absolute local directory or URL, ending in `/`.
fn normalize_data_path(path: &str) -> Result<String> {
    let mut s = if path.contains("://") {
        path.to_string()
    } else {
        let p = Path::new(path);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()
                .map_err(|e| Error::Invalid(format!("cannot read the current directory: {e}")))?
                .join(p)
        };
        abs.display().to_string()
    };
    if !s.ends_with('/') {
        s.push('/');
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls() {
        assert_eq!(
            CatalogUrl::parse("sqlite:a/b.db").unwrap(),
            CatalogUrl::Sqlite("a/b.db".into())
        );
        assert_eq!(
            CatalogUrl::parse("sqlite:///tmp/x.db").unwrap(),
            CatalogUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(CatalogUrl::parse("mysql://x").is_err());
        assert!(CatalogUrl::parse("sqlite:").is_err());
    }

    #[test]
    fn creates_and_reopens() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}/c.db", dir.path().display());
        let data = dir.path().join("data");
        let c = Catalog::open(&url, Some(data.to_str().unwrap())).unwrap();
        assert_eq!(c.data_path(), format!("{}/", data.display()));
        drop(c);
        let c = Catalog::open(&url, None).unwrap();
        assert_eq!(c.data_path(), format!("{}/", data.display()));
        assert_eq!(c.current_snapshot().unwrap(), 0);
        let err = Catalog::open(&url, Some("/elsewhere")).unwrap_err();
        assert!(err.to_string().contains("keeps its data under"), "{err}");
    }

    #[test]
    fn refuses_foreign_databases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("other.db");
        Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE x(a)")
            .unwrap();
        let err = Catalog::open(&format!("sqlite:{}", p.display()), None).unwrap_err();
        assert!(matches!(err, Error::NotACatalog { .. }), "{err}");
    }
}
