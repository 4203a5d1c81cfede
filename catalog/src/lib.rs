//! `strata-catalog`: Strata's table catalog, following the DuckLake 1.0 specification.
//!
//! Metadata lives as rows in a SQLite database: snapshots, schemas, tables, columns with stable
//! ids, data files with their sizes and footer sizes, per-file column statistics, partition
//! columns and per-file partition values. DuckDB's `ducklake` extension can attach the same
//! database. This crate is the bottom of Strata's dependency chain
//! (`catalog ← engine ← flight-server ← cli`) and knows nothing of DataFusion.
//!
//! Main types: [`Catalog`] (open, read at a snapshot, commit), [`TableMeta`], [`DataFile`],
//! [`FileQuery`] (what a scan asks for), and [`Location`] (where registered files live).

mod alter;
mod commit;
mod db;
mod ddl;
mod error;
mod files;
mod footer;
mod lake;
mod maintenance;
mod model;
mod nested;
mod read;
mod register;
pub mod types;
mod write;

pub use alter::Alteration;
pub use commit::crash_point;
pub use error::{Error, Result};
pub use files::NewFile;
pub use footer::{Footer, footer_stats, read_footer};
pub use lake::{Catalog, CatalogUrl, DEFAULT_CONNECTIONS, DUCKLAKE_VERSION};
pub use maintenance::{ExpireReport, KnownFiles, ScheduledFile};
pub use model::{
    Bound, Column, ColumnRange, ColumnStats, DataFile, DeleteFile, FileQuery, FileSet,
    HistoryEntry, PartitionField, SchemaEntry, SnapshotId, TableListing, TableMeta, TableSummary,
    Transform,
};
pub use register::{Location, Progress, RegisterReport};
pub use write::{NewColumn, NewTable};
