//! The catalog as DataFusion catalog `strata`, pinned to one snapshot so that every table of a
//! statement is read at the same point in time.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::error::{DataFusionError, Result};
use strata_catalog::{Catalog, SnapshotId};

use crate::storage::Stores;
use crate::table::CatalogTable;

/// Name of the DataFusion catalog that holds Strata's tables.
pub const CATALOG_NAME: &str = "strata";
/// The schema unqualified table names resolve to.
pub const DEFAULT_SCHEMA: &str = "main";

fn external(e: strata_catalog::Error) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// All schemas of the catalog at one snapshot.
#[derive(Debug)]
pub struct SnapshotCatalog {
    catalog: Arc<Catalog>,
    stores: Arc<Stores>,
    snapshot: SnapshotId,
}

impl SnapshotCatalog {
    pub fn new(catalog: Arc<Catalog>, stores: Arc<Stores>, snapshot: SnapshotId) -> Self {
        SnapshotCatalog {
            catalog,
            stores,
            snapshot,
        }
    }
}

impl CatalogProvider for SnapshotCatalog {
    fn schema_names(&self) -> Vec<String> {
        // A failing catalog lists nothing here; the error surfaces when a table is resolved.
        self.catalog
            .list_schemas(self.snapshot)
            .map(|s| s.into_iter().map(|s| s.name).collect())
            .unwrap_or_default()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        // When the catalog cannot list its schemas (its database restarting, say), the schema
        // is handed out all the same, so that resolving a table reports the catalog's error
        // rather than "table not found".
        let known = match self.catalog.list_schemas(self.snapshot) {
            Ok(schemas) => schemas.iter().any(|s| s.name == name),
            Err(_) => true,
        };
        known.then(|| {
            Arc::new(SnapshotSchema {
                catalog: Arc::clone(&self.catalog),
                stores: Arc::clone(&self.stores),
                snapshot: self.snapshot,
                schema: name.to_string(),
            }) as Arc<dyn SchemaProvider>
        })
    }
}

/// One schema of the catalog at one snapshot.
#[derive(Debug)]
pub struct SnapshotSchema {
    catalog: Arc<Catalog>,
    stores: Arc<Stores>,
    snapshot: SnapshotId,
    schema: String,
}

#[async_trait]
impl SchemaProvider for SnapshotSchema {
    fn table_names(&self) -> Vec<String> {
        self.catalog
            .table_names(self.snapshot, &self.schema)
            .unwrap_or_default()
    }

    async fn table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        let meta = self
            .catalog
            .table(self.snapshot, &self.schema, name)
            .map_err(external)?;
        Ok(meta.map(|meta| {
            Arc::new(CatalogTable::new(
                Arc::clone(&self.catalog),
                Arc::clone(&self.stores),
                meta,
            )) as Arc<dyn TableProvider>
        }))
    }

    fn register_table(
        &self,
        name: String,
        _table: Arc<dyn TableProvider>,
    ) -> Result<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "creating table '{name}' with SQL is not supported yet; register existing Parquet files with `strata table register {name} --location DIR`"
        )))
    }

    fn deregister_table(&self, name: &str) -> Result<Option<Arc<dyn TableProvider>>> {
        Err(DataFusionError::NotImplemented(format!(
            "dropping table '{name}' with SQL is not supported yet; use `strata table drop {name}`"
        )))
    }

    fn table_exist(&self, name: &str) -> bool {
        matches!(
            self.catalog.table(self.snapshot, &self.schema, name),
            Ok(Some(_))
        )
    }
}
