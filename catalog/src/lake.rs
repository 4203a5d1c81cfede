//! Opening and creating a catalog database.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, TryLockError};

use crate::db::{Conn, Postgres, params};
use crate::ddl;
use crate::error::{BUSY_TIMEOUT, Error, Result};

/// Connections one process keeps to the catalog database at most. Each call takes a free one,
/// so concurrent queries read in parallel and a write waiting for a lock holds up no reader;
/// writers still exclude each other in the database (`BEGIN IMMEDIATE` on SQLite, a lock on
/// `ducklake_snapshot` on PostgreSQL), as they do across processes.
/// Connections a catalog keeps at most unless told otherwise ([`Catalog::with_max_connections`]).
pub const DEFAULT_CONNECTIONS: usize = 4;

/// The DuckLake specification version Strata reads and writes.
pub const DUCKLAKE_VERSION: &str = "1.0";

/// Where the catalog's metadata lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogUrl {
    /// A SQLite database file: `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL database: `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?…]`, or the
    /// same as key-value pairs after `postgres:` (`postgres:host=… dbname=…`, DuckDB's form).
    Postgres(String),
}

impl CatalogUrl {
    /// Parse `sqlite:PATH` (also `sqlite://PATH`), `postgres://…` or `postgres:KEY=VALUE …`.
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
            return Ok(CatalogUrl::Postgres(url.to_string()));
        }
        if let Some(rest) = url
            .strip_prefix("postgres:")
            .or_else(|| url.strip_prefix("postgresql:"))
        {
            if !rest.contains('=') {
                return Err(invalid(
                    "expected postgres://USER@HOST/DATABASE or postgres:host=… dbname=…",
                ));
            }
            return Ok(CatalogUrl::Postgres(rest.to_string()));
        }
        Err(invalid("unknown catalog kind"))
    }

    /// The connection target without any password, for messages.
    fn redacted(&self) -> String {
        match self {
            CatalogUrl::Sqlite(p) => p.display().to_string(),
            CatalogUrl::Postgres(conn) => redact_password(conn),
        }
    }
}

/// `conn` with its password (in a URL's user info or a `password=` pair) replaced by `***`.
fn redact_password(conn: &str) -> String {
    if let Ok(mut url) = url::Url::parse(conn)
        && url.password().is_some()
    {
        let _ = url.set_password(Some("***"));
        return url.to_string();
    }
    conn.split_whitespace()
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
            _ => pair.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

impl std::fmt::Display for CatalogUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CatalogUrl::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            CatalogUrl::Postgres(c) if c.contains("://") => f.write_str(&redact_password(c)),
            CatalogUrl::Postgres(c) => write!(f, "postgres:{}", redact_password(c)),
        }
    }
}

/// A DuckLake catalog: the metadata of every schema, table, data file and snapshot.
///
/// All methods are synchronous and short. Each call uses one connection of a small pool
/// (opened on demand; the first stays open), guarded by a mutex while the call runs.
#[derive(Debug)]
pub struct Catalog {
    pool: Vec<Mutex<Option<Conn>>>,
    next: AtomicUsize,
    url: CatalogUrl,
    data_path: String,
    /// Tables as read at committed snapshots (see [`Catalog::table`]).
    pub(crate) tables: Mutex<std::collections::HashMap<TableKey, crate::model::TableMeta>>,
}

/// A table at a snapshot: (snapshot, schema, name).
pub(crate) type TableKey = (crate::model::SnapshotId, String, String);

/// How many tables [`Catalog::table`] keeps (all are forgotten when it is full).
pub(crate) const TABLES_KEPT: usize = 1024;

impl Catalog {
    /// Open the catalog at `url`, creating it if it does not exist.
    ///
    /// `data_path` (a directory or URL) is recorded when the catalog is created; the default
    /// for SQLite is `<catalog file>.files/` beside the database, and a PostgreSQL catalog
    /// needs one. Opening an existing catalog with a different data path is an error.
    pub fn open(url: &str, data_path: Option<&str>) -> Result<Self> {
        let url = CatalogUrl::parse(url)?;
        if let CatalogUrl::Sqlite(path) = &url
            && !path.exists()
            && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|source| Error::Io {
                context: format!(
                    "cannot create directory '{}' for the catalog",
                    parent.display()
                ),
                source,
            })?;
        }
        let conn = connect(&url)?;
        let default_data_path = match &url {
            CatalogUrl::Sqlite(path) => Some(format!("{}.files", path.display())),
            CatalogUrl::Postgres(_) => None,
        };
        let name = url.redacted();
        let has_metadata = conn.table_exists("ducklake_metadata")?;
        let recorded = if has_metadata {
            Self::check_version(&conn, &name)?;
            conn.query_opt(
                "SELECT value FROM ducklake_metadata WHERE key = 'data_path' AND scope IS NULL",
                params![],
                |r| r.get::<String>(0),
            )?
            .ok_or_else(|| Error::NotACatalog {
                path: name.clone(),
                reason: "no data_path is recorded".into(),
            })?
        } else {
            if conn.table_count()? > 0 {
                return Err(Error::NotACatalog {
                    path: name,
                    reason: "the database has other tables and no ducklake_metadata".into(),
                });
            }
            let data_path = data_path
                .map(str::to_string)
                .or(default_data_path)
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "catalog {url} is empty: creating a PostgreSQL catalog needs a data path (--data-path DIR or URL)"
                    ))
                })?;
            let data_path = normalize_data_path(&data_path)?;
            Self::initialize(&conn, &data_path)?;
            data_path
        };
        if let Some(requested) = data_path
            && has_metadata
        {
            let requested = normalize_data_path(requested)?;
            if requested != recorded {
                return Err(Error::Usage(format!(
                    "catalog {url} keeps its data under '{recorded}', not '{requested}'; omit --data-path or use another catalog"
                )));
            }
        }
        if conn.is_postgres() {
            // Several servers may open the catalog at once; the advisory lock keeps their
            // `CREATE … IF NOT EXISTS` from racing (the batch is one implicit transaction).
            conn.execute_batch(&format!(
                "SELECT pg_advisory_xact_lock(7355608); {}",
                ddl::CREATE_INDEXES
            ))?;
        } else {
            conn.execute_batch(ddl::CREATE_INDEXES)?;
        }
        let mut pool = vec![Mutex::new(Some(conn))];
        pool.extend((1..DEFAULT_CONNECTIONS).map(|_| Mutex::new(None)));
        Ok(Catalog {
            pool,
            next: AtomicUsize::new(0),
            url,
            data_path: recorded,
            tables: Mutex::new(std::collections::HashMap::new()),
        })
    }

    fn check_version(conn: &Conn, name: &str) -> Result<()> {
        let version: Option<String> = conn.query_opt(
            "SELECT value FROM ducklake_metadata WHERE key = 'version' AND scope IS NULL",
            params![],
            |r| r.get(0),
        )?;
        match version.as_deref() {
            Some(DUCKLAKE_VERSION) => Ok(()),
            Some(other) => Err(Error::NotACatalog {
                path: name.to_string(),
                reason: format!(
                    "it is DuckLake version {other}; Strata reads version {DUCKLAKE_VERSION} (migrate it with DuckDB 1.5 first)"
                ),
            }),
            None => Err(Error::NotACatalog {
                path: name.to_string(),
                reason: "no version is recorded".into(),
            }),
        }
    }

    fn initialize(conn: &Conn, data_path: &str) -> Result<()> {
        let tx = conn.transaction(false)?;
        if tx.is_postgres() {
            // Two processes creating the same catalog: the second waits, then finds the
            // tables and fails on them instead of interleaving.
            tx.execute_batch("SELECT pg_advisory_xact_lock(7355608)")?;
            tx.execute_batch(ddl::CREATE_TABLES_POSTGRES)?;
        } else {
            tx.execute_batch(ddl::CREATE_TABLES)?;
        }
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
            params![crate::db::now()],
        )?;
        tx.execute(
            "INSERT INTO ducklake_snapshot_changes VALUES (0, 'created_schema:\"main\"', 'strata', NULL, NULL)",
            params![],
        )?;
        tx.execute(
            "INSERT INTO ducklake_schema VALUES (0, ?1, 0, NULL, 'main', 'main/', TRUE)",
            params![uuid::Uuid::new_v4().to_string()],
        )?;
        tx.commit()
    }

    /// Where the catalog lives.
    pub fn url(&self) -> &CatalogUrl {
        &self.url
    }

    /// The data path recorded in the catalog, ending in `/`.
    pub fn data_path(&self) -> &str {
        &self.data_path
    }

    /// Keep up to `n` connections (at least one) instead of [`DEFAULT_CONNECTIONS`].
    pub fn with_max_connections(mut self, n: usize) -> Self {
        self.pool.resize_with(n.max(1), || Mutex::new(None));
        self
    }

    /// A connection for one call: a free open one, else a new one while the pool has room,
    /// else the first, once it is free.
    pub(crate) fn conn(&self) -> ConnGuard<'_> {
        // A poisoned lock only means another thread panicked mid-call; the transaction it had
        // open was rolled back when its guard dropped, so the connection is still usable.
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let n = self.pool.len();
        for i in 0..n {
            if let Some(guard) = try_lock(&self.pool[(start + i) % n])
                && guard.is_some()
            {
                return ConnGuard(guard);
            }
        }
        for slot in &self.pool[1..] {
            if let Some(mut guard) = try_lock(slot)
                && guard.is_none()
            {
                // If the database refuses another connection, wait for the first one instead.
                if let Ok(conn) = connect(&self.url) {
                    *guard = Some(conn);
                    return ConnGuard(guard);
                }
                break;
            }
        }
        ConnGuard(self.pool[0].lock().unwrap_or_else(|e| e.into_inner()))
    }
}

/// The slot's lock if it is free now.
fn try_lock(slot: &Mutex<Option<Conn>>) -> Option<MutexGuard<'_, Option<Conn>>> {
    match slot.try_lock() {
        Ok(guard) => Some(guard),
        Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// One pooled connection, held for the duration of a catalog call.
pub(crate) struct ConnGuard<'a>(MutexGuard<'a, Option<Conn>>);

impl std::ops::Deref for ConnGuard<'_> {
    type Target = Conn;

    fn deref(&self) -> &Conn {
        self.0
            .as_ref()
            .expect("a pooled connection is opened before it is handed out")
    }
}

/// Open one connection to the catalog database.
fn connect(url: &CatalogUrl) -> Result<Conn> {
    match url {
        CatalogUrl::Sqlite(path) => {
            let conn = rusqlite::Connection::open(path)?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            Ok(Conn::Sqlite(conn))
        }
        CatalogUrl::Postgres(target) => {
            Postgres::connect(target)
                .map(Conn::Postgres)
                .map_err(|e| match e {
                    Error::Postgres(reason) => {
                        Error::Postgres(format!("cannot open catalog {}: {reason}", url.redacted()))
                    }
                    other => other,
                })
        }
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
                .map_err(|source| Error::Io {
                    context: "cannot read the current directory".into(),
                    source,
                })?
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
        assert_eq!(
            CatalogUrl::parse("postgres://u:secret@h:5432/db").unwrap(),
            CatalogUrl::Postgres("postgres://u:secret@h:5432/db".into())
        );
        assert_eq!(
            CatalogUrl::parse("postgres:host=/tmp dbname=lake password=pw")
                .unwrap()
                .to_string(),
            "postgres:host=/tmp dbname=lake password=***"
        );
        assert!(
            !CatalogUrl::parse("postgres://u:secret@h/db")
                .unwrap()
                .to_string()
                .contains("secret")
        );
        assert!(CatalogUrl::parse("postgres:lake").is_err());
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
        rusqlite::Connection::open(&p)
            .unwrap()
            .execute_batch("CREATE TABLE x(a)")
            .unwrap();
        let err = Catalog::open(&format!("sqlite:{}", p.display()), None).unwrap_err();
        assert!(matches!(err, Error::NotACatalog { .. }), "{err}");
    }
}
