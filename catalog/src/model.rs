//! Plain data read from or written to the catalog.

use arrow::datatypes::DataType;

/// A snapshot id: every change to the catalog creates a new one.
pub type SnapshotId = i64;

/// A schema (namespace of tables).
#[derive(Debug, Clone, PartialEq)]
pub struct SchemaEntry {
    pub schema_id: i64,
    pub name: String,
}

/// How a partition column's value is derived from a table column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    Identity,
    Year,
    Month,
    Day,
    Hour,
}

impl Transform {
    /// The DuckLake name of the transform.
    pub fn as_str(self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Year => "year",
            Transform::Month => "month",
            Transform::Day => "day",
            Transform::Hour => "hour",
        }
    }

    /// Parse a DuckLake transform name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "identity" => Transform::Identity,
            "year" => Transform::Year,
            "month" => Transform::Month,
            "day" => Transform::Day,
            "hour" => Transform::Hour,
            _ => return None,
        })
    }
}

/// One top-level column of a table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Stable id: survives renames, never reused within a table.
    pub column_id: i64,
    pub name: String,
    /// DuckLake type name, e.g. `int64` or `decimal(10,2)`.
    pub type_name: String,
    pub data_type: DataType,
    pub nullable: bool,
    /// The value comes from the file's partition values, not from the file (Hive layout).
    pub from_path: bool,
}

/// One key of a table's partitioning.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionField {
    pub key_index: i64,
    pub column_id: i64,
    pub transform: Transform,
}

/// A table at one snapshot: its columns, partitioning and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct TableMeta {
    pub table_id: i64,
    pub schema: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub partition: Vec<PartitionField>,
    /// The location the table was registered from, for tables registered in place.
    pub location: Option<String>,
    /// The table path, resolved against the data path: where new files of the table go.
    pub path: String,
    /// The snapshot the table was read at.
    pub snapshot: SnapshotId,
    /// Table properties (`sort_by`, `retention`, `target_file_size`), kept as DuckLake tags.
    pub properties: Vec<(String, String)>,
}

impl TableMeta {
    /// The column with this id.
    pub fn column(&self, column_id: i64) -> Option<&Column> {
        self.columns.iter().find(|c| c.column_id == column_id)
    }

    /// The value of a table property.
    pub fn property(&self, key: &str) -> Option<&str> {
        self.properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }

    /// The column with this name (case-sensitive first, then case-insensitive).
    pub fn column_by_name(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name).or_else(|| {
            self.columns
                .iter()
                .find(|c| c.name.eq_ignore_ascii_case(name))
        })
    }
}

/// Statistics of one column in one data file, encoded as DuckLake stores them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ColumnStats {
    pub column_id: i64,
    pub min: Option<String>,
    pub max: Option<String>,
    pub null_count: Option<i64>,
    pub value_count: Option<i64>,
    pub size_bytes: Option<i64>,
}

/// A live data file of a table, as the planner needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataFile {
    pub data_file_id: i64,
    /// Absolute path or URL of the file.
    pub path: String,
    pub record_count: i64,
    pub file_size: i64,
    pub footer_size: Option<i64>,
    /// Bytes of metadata (page index and footer) at the end of the file, when Strata
    /// registered it.
    pub metadata_bytes: Option<i64>,
    /// Partition values by partition key index, as stored (`None` for a NULL partition).
    pub partition_values: Vec<(i64, Option<String>)>,
    /// Statistics of the requested columns.
    pub stats: Vec<ColumnStats>,
    /// The file's live delete file (written by DuckDB's `DELETE`), if rows of it were deleted.
    pub deletes: Option<DeleteFile>,
    /// Positions of rows DuckDB deleted without a delete file (kept inline in the catalog
    /// database, `ducklake_inlined_delete_<table id>`), at the snapshot read.
    pub inlined_deletes: Vec<i64>,
}

/// A DuckLake delete file: a Parquet file whose `pos` column lists the positions (from 0) of
/// the deleted rows of one data file, all deletions up to its snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct DeleteFile {
    /// Absolute path or URL.
    pub path: String,
    pub file_size: i64,
    /// Rows it deletes at the snapshot read (`None` when not known without reading it).
    pub delete_count: Option<i64>,
    /// A file of deletions from several snapshots, each row tagged in the column
    /// `_ducklake_internal_snapshot_id`: only rows tagged at or before `snapshot` apply.
    pub partial: bool,
    /// The snapshot the table is read at.
    pub snapshot: SnapshotId,
}

impl DataFile {
    /// The statistics of one column, if recorded.
    pub fn column_stats(&self, column_id: i64) -> Option<&ColumnStats> {
        self.stats.iter().find(|s| s.column_id == column_id)
    }
}

/// A bound on a column, used to pre-filter files in the catalog database.
#[derive(Debug, Clone, PartialEq)]
pub enum Bound {
    /// column >= value (or > value when `strict`).
    Lower { value: String, strict: bool },
    /// column <= value (or < value when `strict`).
    Upper { value: String, strict: bool },
}

/// Bounds on one column, all of which a row must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnRange {
    pub column_id: i64,
    pub bounds: Vec<Bound>,
}

/// What a scan asks of the catalog.
#[derive(Debug, Clone, Default)]
pub struct FileQuery {
    /// Only files whose statistics may satisfy every range.
    pub ranges: Vec<ColumnRange>,
    /// Load statistics for these columns only (`None`: all columns).
    pub stats_columns: Option<Vec<i64>>,
}

/// The candidate files of a table and how many it has in all.
#[derive(Debug, Clone)]
pub struct FileSet {
    pub total_files: usize,
    pub files: Vec<DataFile>,
}

/// Totals of a table at a snapshot.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TableSummary {
    pub files: i64,
    pub rows: i64,
    pub bytes: i64,
}

/// A table as listed by `strata table list`.
#[derive(Debug, Clone, PartialEq)]
pub struct TableListing {
    pub schema: String,
    pub name: String,
    pub location: Option<String>,
    pub summary: TableSummary,
}

/// One snapshot in a table's history.
#[derive(Debug, Clone, PartialEq)]
pub struct HistoryEntry {
    pub snapshot: SnapshotId,
    pub time: String,
    pub author: Option<String>,
    pub message: Option<String>,
    /// DuckLake's change list, e.g. `inserted_into_table:3`.
    pub changes: String,
}
