//! What `EXPLAIN INSERT …` shows for a catalog table: the plan of the rows to insert under a
//! sink that names Strata's writer. Strata runs a write through its own write job
//! (`write_job.rs`: Parquet files of the table's target size, one catalog commit), never
//! through this plan; without it, DataFusion's planner answered `EXPLAIN INSERT` with
//! "Insert into not implemented for this table".

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::datasource::sink::DataSink;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType};

/// The sink of an explained `INSERT`.
#[derive(Debug)]
pub(crate) struct StrataWriter {
    table: String,
    schema: SchemaRef,
}

impl StrataWriter {
    pub(crate) fn new(table: String, schema: SchemaRef) -> Self {
        StrataWriter { table, schema }
    }
}

impl DisplayAs for StrataWriter {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "StrataWriter: table={} (Parquet files of its target_file_size, one catalog commit)",
            self.table
        )
    }
}

#[async_trait]
impl DataSink for StrataWriter {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(
        &self,
        _data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        Err(DataFusionError::NotImplemented(format!(
            "INSERT INTO {} runs through Strata's writer, not this plan",
            self.table
        )))
    }
}
