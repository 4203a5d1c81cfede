//! Writing a table's data files: a stream of batches becomes zstd Parquet files with statistics,
//! page indexes and Parquet field ids (the column ids, as DuckDB writes them), split by partition
//! into Hive-style directories under the table path and rolled at a target size. Each file is
//! uploaded in parts as it is written; nothing is visible until the caller commits the returned
//! files to the catalog.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{cast, take_record_batch};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef, TimeUnit};
use arrow::row::{RowConverter, SortField};
use bytes::Bytes;
use chrono::{DateTime, Datelike, Timelike};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use futures::future::BoxFuture;
use object_store::buffered::BufWriter;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::AsyncArrowWriter;
use parquet::arrow::PARQUET_FIELD_ID_META_KEY;
use parquet::arrow::async_writer::AsyncFileWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::FooterTail;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use strata_catalog::types::encode_value;
use strata_catalog::{ColumnStats, NewFile, Transform, footer_stats};

use crate::error::{Error, Result};
use crate::storage::Stores;

/// Default size at which a data file is closed and the next one started.
pub const DEFAULT_TARGET_FILE_SIZE: u64 = 256 * 1024 * 1024;
/// Rows per row group: small enough to bound the writer's memory on wide tables and to let
/// statistics prune within a file, large enough for efficient scans.
const ROW_GROUP_ROWS: usize = 256 * 1024;

/// False-positive rate of the bloom filters the writer adds.
const BLOOM_FILTER_FPP: f64 = 0.01;
/// Partitions with a file open at once; beyond it the least recently used file is closed.
const MAX_OPEN_FILES: usize = 32;

/// The columns and partitioning a writer produces.
#[derive(Debug, Clone)]
pub struct WriteLayout {
    /// Column names, DuckLake column ids and Arrow types, in table order.
    pub columns: Vec<(String, i64, DataType, bool)>,
    /// Partition keys: index into `columns`, transform.
    pub partition: Vec<(usize, Transform)>,
    /// Directory the table's files go under (absolute path or URL, ending in `/`).
    pub table_path: String,
    pub target_file_size: u64,
    /// Columns whose row groups get a Parquet bloom filter (the `bloom_filter` property).
    pub bloom_filter: Vec<String>,
}

impl WriteLayout {
    fn schema(&self) -> SchemaRef {
        Arc::new(Schema::new(
            self.columns
                .iter()
                .map(|(name, id, data_type, nullable)| {
                    Field::new(name, data_type.clone(), *nullable).with_metadata(HashMap::from([(
                        PARQUET_FIELD_ID_META_KEY.to_string(),
                        id.to_string(),
                    )]))
                })
                .collect::<Vec<_>>(),
        ))
    }
}

/// What a write produced.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub files: Vec<NewFile>,
    pub rows: u64,
    pub bytes: u64,
}

/// Keeps the last 8 bytes written, which hold the footer length, and counts bytes.
struct Sink {
    inner: BufWriter,
    tail: Vec<u8>,
    bytes: u64,
}

impl AsyncFileWriter for Sink {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, parquet::errors::Result<()>> {
        self.bytes += bs.len() as u64;
        self.tail
            .extend_from_slice(&bs[bs.len().saturating_sub(8)..]);
        let excess = self.tail.len().saturating_sub(8);
        self.tail.drain(..excess);
        AsyncFileWriter::write(&mut self.inner, bs)
    }

    fn complete(&mut self) -> BoxFuture<'_, parquet::errors::Result<()>> {
        AsyncFileWriter::complete(&mut self.inner)
    }
}

/// DuckLake partition values by partition key index.
type PartitionValues = Vec<(i64, Option<String>)>;

struct OpenFile {
    writer: AsyncArrowWriter<Sink>,
    path: String,
    partition_values: Vec<(i64, Option<String>)>,
    rows: u64,
    last_used: u64,
}

/// Writes batches into the files of one table.
pub struct TableWriter {
    layout: WriteLayout,
    schema: SchemaRef,
    store: Arc<dyn ObjectStore>,
    /// Object path of the table directory and how to spell absolute paths.
    prefix: Path,
    root: String,
    props: WriterProperties,
    open: HashMap<Vec<u8>, OpenFile>,
    tick: u64,
    written: Written,
}

impl TableWriter {
    pub fn new(stores: &Stores, layout: WriteLayout) -> Result<Self> {
        let resolved = stores.resolve(&layout.table_path)?;
        let mut props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_statistics_enabled(EnabledStatistics::Page)
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_created_by(concat!("Strata ", env!("CARGO_PKG_VERSION")).to_string());
        // Sized for a row group of distinct values at 1% false positives, then folded down by
        // the writer to what the values it saw need (a small file gets a small filter).
        for column in &layout.bloom_filter {
            let path = ColumnPath::from(column.as_str());
            props = props
                .set_column_bloom_filter_enabled(path.clone(), true)
                .set_column_bloom_filter_fpp(path.clone(), BLOOM_FILTER_FPP)
                .set_column_bloom_filter_max_ndv(path, ROW_GROUP_ROWS as u64);
        }
        let props = props.build();
        Ok(TableWriter {
            schema: layout.schema(),
            layout,
            store: resolved.store,
            prefix: resolved.path,
            root: resolved.root,
            props,
            open: HashMap::new(),
            tick: 0,
            written: Written::default(),
        })
    }

    /// Write every batch of `stream`, then close all files.
    /// On failure the files written so far are deleted.
    pub async fn write_stream(mut self, mut stream: SendableRecordBatchStream) -> Result<Written> {
        let mut failure = None;
        let mut first = true;
        while let Some(batch) = stream.next().await {
            if std::mem::take(&mut first) {
                strata_catalog::crash_point("before_upload");
            }
            if let Err(e) = async { self.write(&batch?).await }.await {
                failure = Some(e);
                break;
            }
        }
        match failure {
            None => self.finish().await,
            Some(e) => {
                let store = Arc::clone(&self.store);
                let root = self.root.clone();
                let written = std::mem::take(&mut self.written);
                // Open files were never completed, so they were never created.
                drop(self);
                delete_files(&store, &root, &written.files).await;
                Err(e)
            }
        }
    }

    /// Write one batch (its columns in table order, of types castable to the table's).
    pub async fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let batch = self.conform(batch)?;
        if self.layout.partition.is_empty() {
            return self
                .write_to(Vec::new(), &batch, Vec::new(), String::new())
                .await;
        }
        let keys = self.partition_keys(&batch)?;
        let converter = RowConverter::new(
            keys.iter()
                .map(|k| SortField::new(k.data_type().clone()))
                .collect(),
        )?;
        let rows = converter.convert_columns(&keys)?;
        let mut groups: HashMap<&[u8], Vec<u32>> = HashMap::new();
        let mut order: Vec<&[u8]> = Vec::new();
        for i in 0..batch.num_rows() {
            let key = rows.row(i).data();
            groups
                .entry(key)
                .or_insert_with(|| {
                    order.push(key);
                    Vec::new()
                })
                .push(i as u32);
        }
        for key in order {
            let indices = UInt32Array::from(groups.remove(key).unwrap_or_default());
            let first = indices.value(0) as usize;
            let (dir, values) = self.partition_of(&batch, first)?;
            let part = take_record_batch(&batch, &indices)?;
            self.write_to(key.to_vec(), &part, values, dir).await?;
        }
        Ok(())
    }

    /// Cast the batch to the table's types and attach the table schema (with field ids).
    fn conform(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        if batch.num_columns() != self.schema.fields().len() {
            return Err(Error::Refused(format!(
                "the data has {} columns but the table has {}",
                batch.num_columns(),
                self.schema.fields().len()
            )));
        }
        let columns = batch
            .columns()
            .iter()
            .zip(self.schema.fields())
            .map(|(array, field)| {
                if !field.is_nullable() && array.null_count() > 0 {
                    return Err(Error::Refused(format!(
                        "column '{}' is NOT NULL but the data has NULLs in it",
                        field.name()
                    )));
                }
                if array.data_type() == field.data_type() {
                    Ok(Arc::clone(array))
                } else {
                    cast(array, field.data_type())
                        .map_err(|e| Error::Refused(format!("column '{}': {e}", field.name())))
                }
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(RecordBatch::try_new(Arc::clone(&self.schema), columns)?)
    }

    /// One array per partition key whose equal values mean the same file directory.
    fn partition_keys(&self, batch: &RecordBatch) -> Result<Vec<ArrayRef>> {
        self.layout
            .partition
            .iter()
            .map(|(index, transform)| {
                let column = batch.column(*index);
                match transform {
                    Transform::Identity => Ok(Arc::clone(column)),
                    Transform::Year | Transform::Month | Transform::Day | Transform::Hour => {
                        let micros = to_utc_micros(column)?;
                        let unit: i64 = match transform {
                            Transform::Hour => 3_600_000_000,
                            _ => 86_400_000_000,
                        };
                        // Whole days (hours) since the epoch; year and month group days, which
                        // is finer than needed but never mixes two partitions in a file.
                        let buckets: arrow::array::Int64Array =
                            micros.unary(|v| v.div_euclid(unit));
                        let keyed: ArrayRef = match transform {
                            Transform::Year | Transform::Month => {
                                Arc::new(buckets.unary::<_, Int64Type>(|d| {
                                    let date = day_to_date(d);
                                    if *transform == Transform::Year {
                                        date.year() as i64
                                    } else {
                                        date.year() as i64 * 12 + date.month0() as i64
                                    }
                                }))
                            }
                            _ => Arc::new(buckets),
                        };
                        Ok(keyed)
                    }
                }
            })
            .collect()
    }

    /// The directory (`day=2026-03-04/region=eu/`) and the DuckLake partition values of row
    /// `row`. Temporal values are stored as DuckDB stores them (day of month, month of year,
    /// hour of day); directories spell the whole date so that each day gets its own.
    fn partition_of(&self, batch: &RecordBatch, row: usize) -> Result<(String, PartitionValues)> {
        let mut dir = String::new();
        let mut values = Vec::new();
        for (key_index, (index, transform)) in self.layout.partition.iter().enumerate() {
            let column = batch.column(*index);
            let name = &self.layout.columns[*index].0;
            let (segment_key, text, value) = if *transform == Transform::Identity {
                let value = encode_value(column, row);
                (name.clone(), value.clone(), value)
            } else if column.is_null(row) {
                (transform.as_str().to_string(), None, None)
            } else {
                let micros = to_utc_micros(&column.slice(row, 1))?.value(0);
                let time = DateTime::from_timestamp_micros(micros)
                    .ok_or_else(|| {
                        Error::Refused(format!("column '{name}': timestamp out of range"))
                    })?
                    .naive_utc();
                let (text, value) = match transform {
                    Transform::Year => (time.format("%Y").to_string(), time.year().to_string()),
                    Transform::Month => {
                        (time.format("%Y-%m").to_string(), time.month().to_string())
                    }
                    Transform::Day => (time.format("%Y-%m-%d").to_string(), time.day().to_string()),
                    _ => (
                        time.format("%Y-%m-%d-%H").to_string(),
                        time.hour().to_string(),
                    ),
                };
                (transform.as_str().to_string(), Some(text), Some(value))
            };
            dir.push_str(&hive_escape(&segment_key));
            dir.push('=');
            match text {
                Some(t) => dir.push_str(&hive_escape(&t)),
                None => dir.push_str("__HIVE_DEFAULT_PARTITION__"),
            }
            dir.push('/');
            values.push((key_index as i64, value));
        }
        Ok((dir, values))
    }

    async fn write_to(
        &mut self,
        key: Vec<u8>,
        batch: &RecordBatch,
        values: Vec<(i64, Option<String>)>,
        dir: String,
    ) -> Result<()> {
        self.tick += 1;
        if !self.open.contains_key(&key) {
            if self.open.len() >= MAX_OPEN_FILES
                && let Some(oldest) = self
                    .open
                    .iter()
                    .min_by_key(|(_, f)| f.last_used)
                    .map(|(k, _)| k.clone())
                && let Some(file) = self.open.remove(&oldest)
            {
                self.close(file).await?;
            }
            let name = format!("{dir}strata-{}.parquet", uuid::Uuid::now_v7());
            let path = Path::parse(format!("{}/{name}", self.prefix))
                .map_err(|e| Error::Internal(format!("invalid file path '{name}': {e}")))?;
            let absolute = format!("{}{}", self.root, path);
            let sink = Sink {
                inner: BufWriter::new(Arc::clone(&self.store), path),
                tail: Vec::new(),
                bytes: 0,
            };
            let writer = AsyncArrowWriter::try_new(
                sink,
                Arc::clone(&self.schema),
                Some(self.props.clone()),
            )?;
            self.open.insert(
                key.clone(),
                OpenFile {
                    writer,
                    path: absolute,
                    partition_values: values,
                    rows: 0,
                    last_used: 0,
                },
            );
        }
        let tick = self.tick;
        let target = self.layout.target_file_size;
        let full = {
            let Some(file) = self.open.get_mut(&key) else {
                return Ok(());
            };
            file.writer.write(batch).await?;
            file.rows += batch.num_rows() as u64;
            file.last_used = tick;
            (file.writer.bytes_written() + file.writer.in_progress_size()) as u64 >= target
        };
        if full && let Some(file) = self.open.remove(&key) {
            self.close(file).await?;
        }
        Ok(())
    }

    async fn close(&mut self, mut file: OpenFile) -> Result<()> {
        file.writer.flush().await?;
        strata_catalog::crash_point("mid_upload");
        let data_end = file.writer.bytes_written() as u64;
        let metadata = file.writer.finish().await?;
        let sink = file.writer.into_inner();
        let size = sink.bytes;
        let tail: [u8; 8] = sink
            .tail
            .as_slice()
            .try_into()
            .map_err(|_| Error::Storage(format!("short Parquet file {}", file.path)))?;
        let footer_size = FooterTail::try_new(&tail)?.metadata_length() as i64;
        let footer = footer_stats(&metadata, footer_size, size)?;
        let stats = self
            .layout
            .columns
            .iter()
            .map(|(name, id, _, _)| match footer.stats.get(name) {
                Some(s) => ColumnStats {
                    column_id: *id,
                    ..s.clone()
                },
                None => ColumnStats {
                    column_id: *id,
                    ..Default::default()
                },
            })
            .collect();
        self.written.rows += file.rows;
        self.written.bytes += size;
        self.written.files.push(NewFile {
            path: file.path,
            record_count: footer.num_rows,
            file_size: size as i64,
            footer_size,
            metadata_bytes: (size - data_end) as i64,
            partition_values: file.partition_values,
            stats,
        });
        Ok(())
    }

    /// Close every open file and return what was written.
    pub async fn finish(mut self) -> Result<Written> {
        let mut open: Vec<OpenFile> = self.open.drain().map(|(_, f)| f).collect();
        open.sort_by(|a, b| a.path.cmp(&b.path));
        for file in open {
            self.close(file).await?;
        }
        Ok(self.written)
    }
}

/// Delete written files whose commit failed. Best effort: `strata gc` removes whatever is left.
pub async fn discard(stores: &Stores, files: &[NewFile]) {
    for file in files {
        if let Ok(resolved) = stores.resolve(&file.path) {
            let _ = resolved.store.delete(&resolved.path).await;
        }
    }
}

async fn delete_files(store: &Arc<dyn ObjectStore>, root: &str, files: &[NewFile]) {
    for file in files {
        if let Some(rel) = file.path.strip_prefix(root)
            && let Ok(path) = Path::parse(rel)
        {
            let _ = store.delete(&path).await;
        }
    }
}

/// Microseconds since the epoch (UTC) of a date or timestamp column.
fn to_utc_micros(array: &ArrayRef) -> Result<arrow::array::Int64Array> {
    let target = DataType::Timestamp(TimeUnit::Microsecond, None);
    let as_ts = match array.data_type() {
        DataType::Timestamp(_, Some(_)) => {
            let utc = cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            )?;
            cast(&utc, &DataType::Int64)?
        }
        DataType::Timestamp(_, None) | DataType::Date32 | DataType::Date64 => {
            cast(&cast(array, &target)?, &DataType::Int64)?
        }
        other => {
            return Err(Error::Usage(format!(
                "year/month/day/hour partitioning needs a date or timestamp column, not {other}"
            )));
        }
    };
    Ok(as_ts.as_primitive::<Int64Type>().clone())
}

fn day_to_date(days: i64) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_signed(chrono::Duration::days(days)))
        .unwrap_or_default()
}

/// Escape a Hive path value as Hive does (`/`, `=`, `%` and control characters).
fn hive_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c.is_control() || matches!(c, '/' | '=' | '%' | '\\' | ':' | '#' | '?' | '"' | '\'') {
            for b in c.to_string().bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_hive_values() {
        assert_eq!(hive_escape("eu-west"), "eu-west");
        assert_eq!(hive_escape("a/b=c"), "a%2Fb%3Dc");
    }

    #[test]
    fn converts_days_to_dates() {
        assert_eq!(day_to_date(0).to_string(), "1970-01-01");
        assert_eq!(day_to_date(20516).to_string(), "2026-03-04");
        assert_eq!(day_to_date(-1).to_string(), "1969-12-31");
    }
}
