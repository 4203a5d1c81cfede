//! The [`Lake`]: what a statement's executors work against — the catalog, the object stores,
//! a DataFusion session and the defaults (file size, limits). Writes, catalog commands,
//! procedures, maintenance and ingest take a `&Lake`, never the [`crate::Engine`], so the
//! pipeline runs one way: engine → statement → executors → lake.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::prelude::SessionContext;
use strata_catalog::{Catalog, Progress, RegisterReport, SnapshotId, TableMeta, TableSummary};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::provider::DEFAULT_SCHEMA;
use crate::requests::{RequestCounter, RequestCounts};
use crate::storage::Stores;

/// The catalog, the stores, a session and the defaults a statement runs with.
#[derive(Clone)]
pub struct Lake {
    pub(crate) catalog: Arc<Catalog>,
    pub(crate) stores: Arc<Stores>,
    /// The engine's session, or a statement's own (its snapshot, its request counter).
    pub(crate) ctx: SessionContext,
    /// Size at which written files roll over, unless a table sets its own.
    pub(crate) target_file_size: u64,
    pub(crate) limits: Limits,
    /// The result cache (`[cache] results`), shared by every session of the engine.
    pub(crate) results: Option<Arc<crate::result_cache::ResultCache>>,
    /// Where queries that read enough run, in cluster mode.
    pub(crate) cluster: Option<Arc<dyn crate::cluster::ClusterRunner>>,
}

/// Split `schema.table` (default schema `main`).
pub fn split_table_name(name: &str) -> Result<(String, String)> {
    let (schema, table) = match name.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => (DEFAULT_SCHEMA.to_string(), name.to_string()),
    };
    if table.is_empty() || schema.is_empty() || table.contains('.') {
        return Err(Error::Usage(format!(
            "invalid table name '{name}': use NAME or SCHEMA.NAME"
        )));
    }
    Ok((schema, table))
}

impl Lake {
    /// The catalog.
    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    /// The object stores.
    pub(crate) fn stores(&self) -> Arc<Stores> {
        Arc::clone(&self.stores)
    }

    /// The limits every statement is checked against.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// A fresh DataFusion context with this lake's settings, for work a procedure or an
    /// ingest plans on its own.
    pub(crate) fn context(&self) -> SessionContext {
        SessionContext::new_with_state(self.ctx.state())
    }

    /// Register the Parquet files under `location` as table `name` (`[schema.]table`).
    pub async fn register_table(
        &self,
        name: &str,
        location: &str,
        progress: &dyn Progress,
    ) -> Result<(RegisterReport, RequestCounts)> {
        let (schema, table) = split_table_name(name)?;
        let counter = Arc::new(RequestCounter::default());
        let location = self.stores.location(location, &counter)?;
        let report = self
            .catalog
            .register(&schema, &table, &location, progress)
            .await?;
        Ok((report, counter.snapshot()))
    }

    /// Pick up new files, forget deleted ones and re-read rewritten ones under a registered
    /// table's location.
    pub async fn refresh_table(
        &self,
        name: &str,
        progress: &dyn Progress,
    ) -> Result<(RegisterReport, RequestCounts)> {
        let meta = self.table(name)?;
        let Some(location) = meta.location.clone() else {
            return Err(strata_catalog::Error::NotRegistered {
                table: name.to_string(),
            }
            .into());
        };
        let counter = Arc::new(RequestCounter::default());
        let location = self.stores.location(&location, &counter)?;
        let report = self.catalog.refresh(&meta, &location, progress).await?;
        Ok((report, counter.snapshot()))
    }

    /// Drop table `name`; its files are left in place.
    pub fn drop_table(&self, name: &str) -> Result<SnapshotId> {
        let (schema, table) = split_table_name(name)?;
        Ok(self.catalog.drop_table(&schema, &table)?)
    }

    /// The table `name` at the current snapshot.
    pub fn table(&self, name: &str) -> Result<TableMeta> {
        let (schema, table) = split_table_name(name)?;
        let snapshot = self.catalog.current_snapshot()?;
        Ok(self.catalog.require_table(snapshot, &schema, &table)?)
    }

    /// The Arrow schema a table presents to queries.
    pub fn table_schema(&self, meta: TableMeta) -> SchemaRef {
        use datafusion::catalog::TableProvider;
        crate::table::CatalogTable::new(Arc::clone(&self.catalog), Arc::clone(&self.stores), meta)
            .schema()
    }

    /// Totals of a table.
    pub fn table_summary(&self, meta: &TableMeta) -> Result<TableSummary> {
        Ok(self.catalog.table_summary(meta)?)
    }
}
