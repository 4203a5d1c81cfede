//! Time travel: the `table_at('name', snapshot)` and `table_at('name', TIMESTAMP '…')` table
//! function, which reads a table as it was at a snapshot or a time.

use std::sync::Arc;

use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::ScalarValue;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::Expr;
use strata_catalog::{Catalog, TableMeta};

use crate::error::{Error, Result};
use crate::function_args::{
    default_schema, literal, normalize_time, table_name_arg, timestamp_micros,
};
use crate::storage::Stores;
use crate::table::CatalogTable;

/// `table_at('name', snapshot)` or `table_at('name', TIMESTAMP '…')`: a table as it was.
#[derive(Debug)]
pub(crate) struct TableAt {
    pub catalog: Arc<Catalog>,
    pub stores: Arc<Stores>,
}

impl TableAt {
    fn resolve(&self, args: &[Expr], default_schema: &str) -> Result<TableMeta> {
        let usage = || {
            Error::Usage(
                "use table_at('table', SNAPSHOT_ID) or table_at('table', TIMESTAMP 'YYYY-MM-DD HH:MM:SS')".into(),
            )
        };
        let [name, at] = args else {
            return Err(usage());
        };
        let (schema, table) = table_name_arg(name, default_schema).ok_or_else(usage)?;
        let name = format!("{schema}.{table}");
        let snapshot = match literal(at).ok_or_else(usage)? {
            ScalarValue::Int64(Some(n)) => n,
            ScalarValue::Int32(Some(n)) => n as i64,
            ScalarValue::UInt64(Some(n)) => n as i64,
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                self.catalog.snapshot_at(&normalize_time(&s)?)?
            }
            other => match timestamp_micros(&other) {
                Some(micros) => {
                    let time = chrono::DateTime::from_timestamp_micros(micros).ok_or_else(usage)?;
                    self.catalog
                        .snapshot_at(&time.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())?
                }
                None => return Err(usage()),
            },
        };
        if !self.catalog.has_snapshot(snapshot)? {
            return Err(Error::NotFound(format!(
                "snapshot {snapshot} does not exist (it may have been expired); see `strata table history {name}`"
            )));
        }
        Ok(self.catalog.require_table(snapshot, &schema, &table)?)
    }
}

impl TableFunctionImpl for TableAt {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        let meta = self
            .resolve(args.exprs(), &default_schema(&args))
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        Ok(Arc::new(CatalogTable::new(
            Arc::clone(&self.catalog),
            Arc::clone(&self.stores),
            meta,
        )))
    }
}
