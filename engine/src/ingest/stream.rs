//! Writing a stream of Arrow record batches into a catalog table — what ADBC bulk ingest
//! (Flight SQL `CommandStatementIngest`) sends. The stream becomes the input of the same write
//! as `INSERT INTO … SELECT` (or `CREATE TABLE … AS`): streamed through the writer with bounded
//! memory, one commit, nothing visible if it fails.

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::{Column, ScalarValue};
use datafusion::datasource::provider_as_source;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, cast, lit};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use strata_catalog::TableMeta;

use crate::error::{Error, Result};
use crate::lake::{Lake, split_table_name};
use crate::write_job::{CreateOptions, WriteJob, check_writable, new_table, run_write};

/// What to do about the target table of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamTarget {
    /// Append to an existing table; fail if there is none.
    Append,
    /// Create the table from the stream's schema; fail if it exists.
    Create,
    /// Create the table if it does not exist, else append.
    CreateOrAppend,
}

/// A stream that can be executed once, as the one partition of a streaming table.
pub(super) struct OneShot {
    pub(super) schema: SchemaRef,
    pub(super) stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl fmt::Debug for OneShot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OneShot").finish_non_exhaustive()
    }
}

impl PartitionStream for OneShot {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                futures::stream::once(async {
                    Err(DataFusionError::Execution(
                        "the ingested stream was already consumed".into(),
                    ))
                }),
            ))
        })
    }
}

/// Project `input` onto `meta`'s columns in table order, matching names case-insensitively:
/// missing columns become NULL, every column is cast to the table's type, and a column the
/// table does not have is an error.
fn conform(input: LogicalPlan, meta: &TableMeta) -> Result<LogicalPlan> {
    let fields = input.schema().fields().clone();
    if let Some(extra) = fields.iter().find(|f| {
        !meta
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(f.name()))
    }) {
        return Err(Error::Refused(format!(
            "the ingested data has a column '{}' that table '{}.{}' does not have (columns: {})",
            extra.name(),
            meta.schema,
            meta.name,
            meta.columns
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let exprs: Vec<Expr> = meta
        .columns
        .iter()
        .map(|c| {
            let source = fields
                .iter()
                .find(|f| f.name().eq_ignore_ascii_case(&c.name))
                .map(|f| Expr::Column(Column::new_unqualified(f.name())))
                .unwrap_or_else(|| lit(ScalarValue::Null));
            cast(source, c.data_type.clone()).alias(&c.name)
        })
        .collect();
    Ok(LogicalPlanBuilder::from(input).project(exprs)?.build()?)
}

impl Lake {
    /// Write `stream` into table `name` (`schema.table` or `table`) in one commit; returns the
    /// rows written.
    pub async fn ingest_stream(
        &self,
        name: &str,
        target: StreamTarget,
        stream: SendableRecordBatchStream,
    ) -> Result<u64> {
        let schema = stream.schema();
        let source = StreamingTable::try_new(
            Arc::clone(&schema),
            vec![Arc::new(OneShot {
                schema: Arc::clone(&schema),
                stream: Mutex::new(Some(stream)),
            })],
        )?;
        let input = LogicalPlanBuilder::scan("ingest", provider_as_source(Arc::new(source)), None)?
            .build()?;
        let (schema_name, table) = split_table_name(name)?;
        let catalog = self.catalog();
        let existing = catalog.table(catalog.current_snapshot()?, &schema_name, &table)?;
        let job = match (existing, target) {
            (Some(_), StreamTarget::Create) => {
                return Err(strata_catalog::Error::TableExists {
                    schema: schema_name,
                    table,
                }
                .into());
            }
            (None, StreamTarget::Append) => {
                return Err(strata_catalog::Error::TableNotFound {
                    schema: schema_name,
                    table,
                }
                .into());
            }
            (None, _) => WriteJob::Create {
                table: new_table(name, &schema, CreateOptions::default())?,
                if_not_exists: false,
                input: Some(input),
            },
            (Some(meta), _) => {
                check_writable(&meta)?;
                let input = conform(input, &meta)?;
                WriteJob::Insert { meta, input }
            }
        };
        let ctx = self.context();
        let (rows, _) = run_write(
            &ctx,
            catalog,
            &self.stores(),
            job,
            Some(self.target_file_size),
        )
        .await?;
        Ok(rows)
    }
}
