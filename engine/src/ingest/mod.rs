//! `strata ingest`: load CSV, NDJSON and Parquet files (local or on object storage, with glob
//! patterns, optionally gzip-compressed) into a catalog table.
//!
//! Text inputs are parsed line by line into the table's types: each value is read as text and
//! converted with Arrow's casts, timestamps with a parser that knows the common log formats. A
//! line that cannot be converted is rejected with its file, line number and reason; with
//! `OnError::Skip` the others are loaded (up to `max_errors` rejections), with `OnError::Fail`
//! nothing is. The parsed batches stream through the same writer as `INSERT`, so the files are
//! sorted, partitioned and committed in one snapshot.

mod input;
mod records;
mod stream;

use input::{Input, decoded, expand, open};
pub use records::parse_timestamp;
use records::{Tally, infer_schema, read_parquet, read_text};
use stream::OneShot;
pub use stream::StreamTarget;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::datatypes::{Field, Schema, SchemaRef};
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use strata_catalog::{NewTable, SnapshotId, TableMeta};

use crate::error::{Error, Result};
use crate::lake::{Lake, split_table_name};
use crate::storage::Stores;
use crate::write_job::{CreateOptions, WriteJob, check_writable, new_table, run_write};

/// The format of input files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Csv,
    Ndjson,
    Parquet,
}

/// What to do with a line that cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Load nothing and report the line.
    Fail,
    /// Skip the line, report it, and load the rest.
    Skip,
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// `None`: from each file's extension.
    pub format: Option<InputFormat>,
    pub on_error: OnError,
    /// With `Skip`: fail once more lines than this are rejected.
    pub max_errors: u64,
    /// Create the table, with columns inferred from the first file, if it does not exist.
    pub create: bool,
    /// Partitioning and properties of a table created with `create`.
    pub create_options: CreateOptions,
}

/// A line that was not loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub file: String,
    pub line: u64,
    pub reason: String,
}

/// What an ingest did.
#[derive(Debug, Clone, Default)]
pub struct IngestReport {
    pub files: usize,
    pub rows: u64,
    pub bytes_read: u64,
    /// The first rejected lines (at most 1000) and how many there were in all.
    pub rejected: Vec<Rejected>,
    pub rejected_total: u64,
    pub created: bool,
    pub snapshot: Option<SnapshotId>,
}

/// Reports progress while ingesting.
pub trait IngestProgress: Send + Sync {
    fn update(&self, rows: u64, bytes: u64);
}

impl IngestProgress for () {
    fn update(&self, _: u64, _: u64) {}
}

/// What reading the input files of an ingest counted: files, bytes, rejected lines. The batches
/// go apart from it (see [`read_inputs`]).
pub struct IngestTally {
    files: usize,
    tally: Arc<Tally>,
}

impl IngestTally {
    /// The report of an ingest that wrote `rows` rows from this input.
    pub fn report(&self, rows: u64, created: bool, snapshot: Option<SnapshotId>) -> IngestReport {
        let (mut rejected, rejected_total) = std::mem::take(
            &mut *self
                .tally
                .rejected
                .lock()
                .unwrap_or_else(|e| e.into_inner()),
        );
        rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        IngestReport {
            files: self.files,
            rows,
            bytes_read: self.tally.bytes.load(Ordering::Relaxed),
            rejected,
            rejected_total,
            created,
            snapshot,
        }
    }
}

/// The input files `inputs` name (paths, URLs, glob patterns), checked to exist.
async fn input_files(
    stores: &Stores,
    inputs: &[String],
    options: &IngestOptions,
    max_value_bytes: usize,
) -> Result<Vec<Input>> {
    let files = expand(stores, inputs, options.format, max_value_bytes).await?;
    if files.is_empty() {
        return Err(Error::Usage("no input files".into()));
    }
    Ok(files)
}

/// The columns a new table would get from the first of `inputs`.
pub async fn infer_input_schema(
    stores: &Stores,
    inputs: &[String],
    options: &IngestOptions,
    max_value_bytes: usize,
) -> Result<Schema> {
    let files = input_files(stores, inputs, options, max_value_bytes).await?;
    infer_schema(&files[0]).await
}

/// Start reading `inputs` into batches of `target`'s types. A [`Lake`] writes the stream into a
/// table; `strata ingest --server` sends it to a server as a bulk ingest. An error ends the
/// stream (with `OnError::Fail` the first rejected line; with `Skip`, going past `max_errors`).
pub async fn read_inputs(
    stores: &Stores,
    inputs: &[String],
    options: &IngestOptions,
    max_value_bytes: usize,
    target: SchemaRef,
    progress: Arc<dyn IngestProgress>,
) -> Result<(SendableRecordBatchStream, IngestTally)> {
    let files = input_files(stores, inputs, options, max_value_bytes).await?;
    Ok(read_files(files, options, target, progress))
}

fn read_files(
    files: Vec<Input>,
    options: &IngestOptions,
    target: SchemaRef,
    progress: Arc<dyn IngestProgress>,
) -> (SendableRecordBatchStream, IngestTally) {
    let tally = Arc::new(Tally {
        options: options.clone(),
        rejected: Mutex::new((Vec::new(), 0)),
        rows: AtomicU64::new(0),
        bytes: Arc::new(AtomicU64::new(0)),
        progress,
    });
    let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&target), 4);
    let tx = builder.tx();
    let count = files.len();
    {
        let tally = Arc::clone(&tally);
        builder.spawn(async move {
            for input in &files {
                let result = if input.format == InputFormat::Parquet {
                    read_parquet(input, &target, &tally, &tx).await
                } else {
                    let reader = open(input, &tally.bytes).await;
                    let tx = tx.clone();
                    let tally = Arc::clone(&tally);
                    let target = Arc::clone(&target);
                    let input = input.clone();
                    match reader {
                        Err(e) => Err(e),
                        Ok(reader) => tokio::task::spawn_blocking(move || {
                            let send = |batch| tx.blocking_send(Ok(batch)).is_ok();
                            let reader = decoded(reader, input.gzip, input.max_line);
                            read_text(&input, reader, &target, &tally, &send)
                        })
                        .await
                        .map_err(|e| Error::Internal(format!("reading failed: {e}")))
                        .and_then(|r| r),
                    }
                };
                result.map_err(|e| DataFusionError::External(Box::new(e)))?;
            }
            Ok(())
        });
    }
    (
        builder.build(),
        IngestTally {
            files: count,
            tally,
        },
    )
}

impl Lake {
    /// Load `inputs` into table `name`.
    pub async fn ingest(
        &self,
        name: &str,
        inputs: &[String],
        options: IngestOptions,
        progress: Arc<dyn IngestProgress>,
    ) -> Result<IngestReport> {
        let catalog = Arc::clone(self.catalog());
        let stores = self.stores();
        let files = input_files(&stores, inputs, &options, self.limits().max_value_bytes).await?;
        let (schema_name, table_name) = split_table_name(name)?;
        let snapshot = catalog.current_snapshot()?;
        let existing: Option<TableMeta> = catalog.table(snapshot, &schema_name, &table_name)?;
        let (target, meta, new): (SchemaRef, Option<TableMeta>, Option<NewTable>) = match existing {
            Some(meta) => {
                check_writable(&meta)?;
                (self.table_schema(meta.clone()), Some(meta), None)
            }
            None if options.create => {
                let inferred = infer_schema(&files[0]).await?;
                let table = new_table(name, &inferred, options.create_options.clone())?;
                let fields = table
                    .columns
                    .iter()
                    .map(|c| {
                        Ok(Field::new(
                            &c.name,
                            strata_catalog::types::arrow_type(&c.name, &c.type_name)?,
                            c.nullable,
                        ))
                    })
                    .collect::<Result<Vec<_>>>()?;
                (Arc::new(Schema::new(fields)), None, Some(table))
            }
            None => {
                return Err(Error::NotFound(format!(
                    "table '{name}' does not exist; create it with CREATE TABLE, or pass --create to infer its columns from the first file"
                )));
            }
        };
        let (stream, tally) = read_files(files, &options, Arc::clone(&target), progress);
        let provider = StreamingTable::try_new(
            Arc::clone(&target),
            vec![Arc::new(OneShot {
                schema: Arc::clone(&target),
                stream: Mutex::new(Some(stream)),
            })],
        )?;
        let ctx = &self.context();
        let plan = ctx.read_table(Arc::new(provider))?.into_unoptimized_plan();
        let created = new.is_some();
        let job = match (meta, new) {
            (Some(meta), _) => WriteJob::Insert { meta, input: plan },
            (None, Some(table)) => WriteJob::Create {
                table,
                if_not_exists: false,
                input: Some(plan),
            },
            (None, None) => unreachable!("one of the two is set"),
        };
        let (rows, snapshot) =
            run_write(ctx, &catalog, &stores, job, Some(self.target_file_size)).await?;
        Ok(tally.report(rows, created, snapshot))
    }
}
