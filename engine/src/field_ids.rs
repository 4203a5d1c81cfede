//! Reading files written before a schema change: a file's columns are matched to the table's by
//! DuckLake column id (the Parquet field id Strata and DuckDB write), not by name. A renamed
//! column keeps its data, a dropped column's data is ignored even if a new column takes its
//! name, an added column reads as NULL, and a widened column is cast.
//!
//! DataFusion adapts each file's scan expressions to the file's own schema by name. This
//! factory hands DataFusion's adapter a copy of the file schema with every field renamed to its
//! column's current name (or to a name no column has, for dropped columns), then spells the
//! rewritten column references with the file's real names again, so that statistics pruning
//! and row filters, which look columns up by name, find them.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapterFactory, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;

/// Adapts scans of one table's files by column id.
#[derive(Debug)]
pub struct FieldIdAdapterFactory {
    /// The current name of every live column, by column id.
    names: HashMap<i64, String>,
}

impl FieldIdAdapterFactory {
    pub fn new(names: HashMap<i64, String>) -> Self {
        FieldIdAdapterFactory { names }
    }

    /// `physical` with each field named as the table names its column id now, if any differs.
    fn renamed(&self, physical: &Schema) -> Option<Schema> {
        let mut changed = false;
        let fields: Vec<Field> = physical
            .fields()
            .iter()
            .map(|f| {
                let id = f
                    .metadata()
                    .get(PARQUET_FIELD_ID_META_KEY)
                    .and_then(|v| v.parse::<i64>().ok());
                let name = match id {
                    None => return f.as_ref().clone(),
                    Some(id) => match self.names.get(&id) {
                        Some(name) => name.clone(),
                        // Dropped since the file was written: a name no column can have.
                        None => format!("__strata_dropped_column_{id}"),
                    },
                };
                if name != *f.name() {
                    changed = true;
                }
                f.as_ref().clone().with_name(name)
            })
            .collect();
        changed.then(|| Schema::new_with_metadata(fields, physical.metadata().clone()))
    }
}

impl PhysicalExprAdapterFactory for FieldIdAdapterFactory {
    fn create(
        &self,
        logical_file_schema: SchemaRef,
        physical_file_schema: SchemaRef,
    ) -> Result<Arc<dyn PhysicalExprAdapter>> {
        match self.renamed(&physical_file_schema) {
            None => {
                DefaultPhysicalExprAdapterFactory.create(logical_file_schema, physical_file_schema)
            }
            Some(renamed) => Ok(Arc::new(FieldIdAdapter {
                inner: DefaultPhysicalExprAdapterFactory
                    .create(logical_file_schema, Arc::new(renamed))?,
                physical: physical_file_schema,
            })),
        }
    }
}

#[derive(Debug)]
struct FieldIdAdapter {
    /// DataFusion's adapter, against the renamed file schema.
    inner: Arc<dyn PhysicalExprAdapter>,
    /// The file's schema as read.
    physical: SchemaRef,
}

impl PhysicalExprAdapter for FieldIdAdapter {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
        self.inner
            .rewrite(expr)?
            .transform(|e| {
                if let Some(column) = e.downcast_ref::<Column>()
                    && let Some(field) = self.physical.fields().get(column.index())
                    && field.name() != column.name()
                {
                    return Ok(Transformed::yes(
                        Arc::new(Column::new(field.name(), column.index())) as _,
                    ));
                }
                Ok(Transformed::no(e))
            })
            .data()
    }
}
