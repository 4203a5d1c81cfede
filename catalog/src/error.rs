//! Errors of the catalog crate.

use std::time::Duration;

/// How long a statement waits for another process's lock on a SQLite catalog.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Everything that can go wrong in the catalog.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The catalog URL could not be understood.
    #[error(
        "invalid catalog URL '{url}': {reason} (expected sqlite:PATH or postgres://USER@HOST:PORT/DATABASE)"
    )]
    InvalidUrl { url: String, reason: String },
    /// The metadata database failed.
    #[error("catalog database error: {0}")]
    Database(rusqlite::Error),
    /// The metadata database stayed locked by another writer, or could not be reached, for
    /// longer than Strata waits; trying again later may succeed.
    #[error("the catalog database is unavailable: {0}")]
    Unavailable(String),
    /// A catalog query that must return a row returned none.
    #[error("the catalog query returned no row: {0}")]
    NoRow(String),
    /// The PostgreSQL metadata database failed, or could not be reached.
    #[error("catalog database error (PostgreSQL): {0}")]
    Postgres(String),
    /// The database is not a DuckLake catalog, or one of an unsupported version.
    #[error("'{path}' is not a DuckLake 1.0 catalog: {reason}")]
    NotACatalog { path: String, reason: String },
    /// A schema does not exist.
    #[error("schema '{schema}' does not exist")]
    SchemaNotFound { schema: String },
    /// A table does not exist.
    #[error("table '{schema}.{table}' does not exist (see `strata table list`)")]
    TableNotFound { schema: String, table: String },
    /// A table of that name exists already.
    #[error(
        "table '{schema}.{table}' already exists (use `strata table refresh {table}` to pick up new files)"
    )]
    TableExists { schema: String, table: String },
    /// A column type that Strata cannot map.
    #[error("column '{column}' has type '{type_name}', which Strata does not support yet")]
    UnsupportedType { column: String, type_name: String },
    /// A table uses a DuckLake feature that Strata cannot read yet.
    #[error("table '{table}' uses {feature}, which Strata cannot read yet")]
    UnsupportedFeature { table: String, feature: String },
    /// The table was not registered from a location, so it cannot be refreshed.
    #[error(
        "table '{table}' was not registered from a location; only registered tables can be refreshed"
    )]
    NotRegistered { table: String },
    /// Listing or reading object storage failed.
    #[error("cannot read '{location}': {source}")]
    Storage {
        location: String,
        #[source]
        source: object_store::Error,
    },
    /// A Parquet file could not be read.
    #[error("cannot read Parquet footer of '{path}': {reason}")]
    Parquet { path: String, reason: String },
    /// The location holds no Parquet files.
    #[error("no Parquet files found under '{location}'")]
    NoFiles { location: String },
    /// Files under one location disagree about a column.
    #[error("column '{column}' is {first} in '{first_file}' but {second} in '{second_file}'")]
    SchemaConflict {
        column: String,
        first: String,
        first_file: String,
        second: String,
        second_file: String,
    },
    /// Files under one location use different Hive partition keys.
    #[error("'{file}' has partition keys [{found}] but other files have [{expected}]")]
    PartitionMismatch {
        file: String,
        found: String,
        expected: String,
    },
    /// Another writer changed what this commit depends on.
    #[error("write conflict: {0}")]
    Conflict(String),
    /// The request cannot be done as asked (an ALTER that changes nothing, a duplicate
    /// column, another data path than the catalog's); the message says what to do instead.
    #[error("{0}")]
    Usage(String),
    /// A column does not exist.
    #[error("column '{column}' does not exist in table '{table}' (columns: {columns})")]
    ColumnNotFound {
        table: String,
        column: String,
        columns: String,
    },
    /// The table's state does not allow the change (registered in place, inlined rows, a
    /// narrowing type change); the message says why.
    #[error("{0}")]
    Refused(String),
    /// A feature or type Strata does not handle yet.
    #[error("{0}")]
    Unsupported(String),
    /// No snapshot matches a time-travel request.
    #[error("the catalog has no snapshot at or before {0}")]
    NoSnapshotAt(String),
    /// A local file or directory could not be used.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A check inside Strata failed: a bug, reported instead of committing.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// Whether the request was at fault (unknown names, a change the table does not allow),
    /// as opposed to the catalog database or Strata itself.
    pub fn is_user_error(&self) -> bool {
        matches!(
            self,
            Error::InvalidUrl { .. }
                | Error::SchemaNotFound { .. }
                | Error::TableNotFound { .. }
                | Error::TableExists { .. }
                | Error::ColumnNotFound { .. }
                | Error::UnsupportedType { .. }
                | Error::UnsupportedFeature { .. }
                | Error::NotRegistered { .. }
                | Error::NoFiles { .. }
                | Error::SchemaConflict { .. }
                | Error::PartitionMismatch { .. }
                | Error::Usage(_)
                | Error::Refused(_)
                | Error::Unsupported(_)
                | Error::NoSnapshotAt(_)
        )
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
        match e.sqlite_error_code() {
            Some(DatabaseBusy | DatabaseLocked) => Error::Unavailable(format!(
                "another process held its write lock for more than {} s ({e}); try again",
                BUSY_TIMEOUT.as_secs()
            )),
            _ => Error::Database(e),
        }
    }
}

/// Result with the catalog's error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
