//! `strata ingest`: load CSV, NDJSON and Parquet files (local or on object storage, with glob
//! patterns, optionally gzip-compressed) into a catalog table.
//!
//! Text inputs are parsed line by line into the table's types: each value is read as text and
//! converted with Arrow's casts, timestamps with a parser that knows the common log formats. A
//! line that cannot be converted is rejected with its file, line number and reason; with
//! `OnError::Skip` the others are loaded (up to `max_errors` rejections), with `OnError::Fail`
//! nothing is. The parsed batches stream through the same writer as `INSERT`, so the files are
//! sorted, partitioned and committed in one snapshot.

use std::io::{BufRead, BufReader, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, RecordBatch, StringArray, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::error::DataFusionError;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchReceiverStreamBuilder;
use datafusion::physical_plan::streaming::PartitionStream;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::ObjectStoreExt;
use strata_catalog::{NewTable, SnapshotId, TableMeta};

use crate::error::{Error, Result};
use crate::lake::{Lake, split_table_name};
use crate::storage::{Resolved, Stores};
use crate::write_job::{CreateOptions, WriteJob, check_writable, new_table, run_write};

/// Rows parsed before they are converted and sent on as one batch.
const BATCH_ROWS: usize = 8192;
/// Lines read to infer the columns of a new table.
const INFER_ROWS: usize = 1000;

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

/// One input file.
#[derive(Debug, Clone)]
struct Input {
    display: String,
    resolved: Resolved,
    format: InputFormat,
    gzip: bool,
    /// Longest line read (`limits.max_value_bytes`).
    max_line: usize,
}

impl Input {
    /// This file cannot be read as its format.
    fn error(&self, message: impl std::fmt::Display) -> Error {
        Error::Input {
            file: self.display.clone(),
            message: message.to_string(),
        }
    }
}

fn format_of(name: &str) -> Option<(InputFormat, bool)> {
    let lower = name.to_ascii_lowercase();
    let (base, gzip) = match lower.strip_suffix(".gz") {
        Some(b) => (b.to_string(), true),
        None => (lower, false),
    };
    let format = if base.ends_with(".csv") || base.ends_with(".tsv") {
        InputFormat::Csv
    } else if base.ends_with(".json") || base.ends_with(".ndjson") || base.ends_with(".jsonl") {
        InputFormat::Ndjson
    } else if base.ends_with(".parquet") {
        InputFormat::Parquet
    } else {
        return None;
    };
    Some((format, gzip))
}

/// Expand `inputs` (paths, URLs, glob patterns) into files.
async fn expand(
    stores: &Stores,
    inputs: &[String],
    format: Option<InputFormat>,
    max_line: usize,
) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for input in inputs {
        let wildcard = input.find(['*', '?', '[']);
        let matched: Vec<(String, Resolved)> = match wildcard {
            None => {
                let resolved = stores.resolve(input)?;
                vec![(input.clone(), resolved)]
            }
            Some(at) => {
                let dir_end = input[..at].rfind('/').map(|i| i + 1).unwrap_or(0);
                let base = stores.resolve(if dir_end == 0 { "." } else { &input[..dir_end] })?;
                let full_pattern = format!(
                    "{}{}",
                    if base.path.as_ref().is_empty() {
                        String::new()
                    } else {
                        format!("{}/", base.path)
                    },
                    &input[dir_end..]
                );
                let pattern = glob::Pattern::new(&full_pattern)
                    .map_err(|e| Error::Usage(format!("invalid pattern '{input}': {e}")))?;
                let mut listing = base.store.list(Some(&base.path));
                let mut found = Vec::new();
                while let Some(meta) = listing.next().await {
                    let meta = meta.map_err(|e| Error::Location {
                        location: input.clone(),
                        reason: e.to_string(),
                    })?;
                    if pattern.matches(meta.location.as_ref()) {
                        let display = format!("{}{}", base.root, meta.location);
                        found.push((
                            display,
                            Resolved {
                                path: meta.location,
                                ..base.clone()
                            },
                        ));
                    }
                }
                found.sort_by(|a, b| a.0.cmp(&b.0));
                if found.is_empty() {
                    return Err(Error::NotFound(format!("no files match '{input}'")));
                }
                found
            }
        };
        for (display, resolved) in matched {
            let (detected, gzip) = match format_of(&display) {
                Some((f, gz)) => (Some(f), gz),
                None => (None, display.to_ascii_lowercase().ends_with(".gz")),
            };
            let format = format.or(detected).ok_or_else(|| {
                Error::Usage(format!(
                    "cannot tell the format of '{display}' from its name; pass --format csv|ndjson|parquet"
                ))
            })?;
            out.push(Input {
                display,
                resolved,
                format,
                gzip,
                max_line,
            });
        }
    }
    Ok(out)
}

/// A blocking reader over an object's byte stream, for parsers that want `Read`.
struct BlockingRead {
    runtime: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    buf: Bytes,
    bytes: Arc<AtomicU64>,
}

impl Read for BlockingRead {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.buf.is_empty() {
            match self.runtime.block_on(self.stream.next()) {
                None => return Ok(0),
                Some(Ok(b)) => {
                    self.bytes.fetch_add(b.len() as u64, Ordering::Relaxed);
                    self.buf = b;
                }
                Some(Err(e)) => return Err(std::io::Error::other(e)),
            }
        }
        let n = out.len().min(self.buf.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.buf = self.buf.slice(n..);
        Ok(n)
    }
}

/// Open an input for reading; decode it (which reads) only on a blocking thread.
async fn open(input: &Input, bytes: &Arc<AtomicU64>) -> Result<BlockingRead> {
    let result = input
        .resolved
        .store
        .get(&input.resolved.path)
        .await
        .map_err(|e| Error::Location {
            location: input.display.clone(),
            reason: e.to_string(),
        })?;
    let reader = BlockingRead {
        runtime: tokio::runtime::Handle::current(),
        stream: result.into_stream(),
        buf: Bytes::new(),
        bytes: Arc::clone(bytes),
    };
    Ok(reader)
}

/// The decompressed, buffered text of an opened input, with no line longer than `max_line`
/// bytes. Call on a blocking thread.
fn decoded(reader: BlockingRead, gzip: bool, max_line: usize) -> Box<dyn BufRead + Send> {
    if gzip {
        let inner = BufReader::new(flate2::read::MultiGzDecoder::new(reader));
        Box::new(LineGuard::new(inner, max_line))
    } else {
        Box::new(LineGuard::new(
            BufReader::with_capacity(1 << 20, reader),
            max_line,
        ))
    }
}

/// A reader that refuses lines longer than `max` bytes: such a line fails once (naming the
/// limit) and the rest of it is skipped unread into memory, so one endless line cannot take
/// the memory of the process; the lines after it read normally.
struct LineGuard<R> {
    inner: R,
    max: usize,
    /// Bytes of the current line handed out so far.
    run: usize,
    /// Skipping the rest of a line that was too long.
    skipping: bool,
    /// Length of the slice `fill_buf` last returned, and whether it ends a line.
    last: (usize, bool),
}

impl<R: BufRead> LineGuard<R> {
    fn new(inner: R, max: usize) -> Self {
        LineGuard {
            inner,
            max: max.max(1),
            run: 0,
            skipping: false,
            last: (0, false),
        }
    }
}

impl<R: BufRead> Read for LineGuard<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = {
            let buf = self.fill_buf()?;
            let n = buf.len().min(out.len());
            out[..n].copy_from_slice(&buf[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for LineGuard<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        while self.skipping {
            let buf = self.inner.fill_buf()?;
            if buf.is_empty() {
                self.skipping = false;
                break;
            }
            match buf.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.inner.consume(i + 1);
                    self.skipping = false;
                    self.run = 0;
                }
                None => {
                    let n = buf.len();
                    self.inner.consume(n);
                }
            }
        }
        let room = self.max.saturating_sub(self.run);
        let buf = self.inner.fill_buf()?;
        if buf.is_empty() {
            self.last = (0, false);
            return Ok(buf);
        }
        // Hand out at most the rest of the current line, and no more of it than allowed.
        match buf
            .iter()
            .take(room.saturating_add(1))
            .position(|&b| b == b'\n')
        {
            Some(i) => {
                self.last = (i + 1, true);
                Ok(&buf[..i + 1])
            }
            None if room == 0 => {
                self.skipping = true;
                self.run = 0;
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "the line is longer than {} bytes (limits.max_value_bytes); the rest of it was skipped",
                        self.max
                    ),
                ))
            }
            None => {
                let n = buf.len().min(room);
                self.last = (n, false);
                Ok(&buf[..n])
            }
        }
    }

    fn consume(&mut self, amt: usize) {
        if amt > 0 && amt == self.last.0 && self.last.1 {
            self.run = 0;
        } else {
            self.run += amt;
        }
        self.last = (0, false);
        self.inner.consume(amt);
    }
}

/// Text records of one file: values by column name for NDJSON, by header position for CSV.
enum Records {
    Csv {
        reader: csv::Reader<Box<dyn BufRead + Send>>,
        header: Vec<String>,
    },
    Ndjson {
        lines: std::io::Lines<Box<dyn BufRead + Send>>,
        line: u64,
    },
}

/// One parsed record: its line number and the text of each column it has.
type Record = (u64, Vec<(String, Option<String>)>);

impl Records {
    fn new(format: InputFormat, reader: Box<dyn BufRead + Send>, display: &str) -> Result<Self> {
        Ok(match format {
            InputFormat::Csv => {
                let delimiter = if display.to_ascii_lowercase().contains(".tsv") {
                    b'\t'
                } else {
                    b','
                };
                let mut reader = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_reader(reader);
                let header = reader
                    .headers()
                    .map_err(|e| Error::Input {
                        file: display.to_string(),
                        message: format!("cannot read the header: {e}"),
                    })?
                    .iter()
                    .map(|h| h.trim().to_string())
                    .collect();
                Records::Csv { reader, header }
            }
            InputFormat::Ndjson => Records::Ndjson {
                lines: reader.lines(),
                line: 0,
            },
            InputFormat::Parquet => unreachable!("Parquet is not read as text"),
        })
    }

    /// The next record, or a line that could not be parsed at all.
    fn next(&mut self) -> Option<std::result::Result<Record, (u64, String)>> {
        match self {
            Records::Csv { reader, header } => {
                let mut record = csv::StringRecord::new();
                match reader.read_record(&mut record) {
                    Ok(false) => None,
                    Ok(true) => {
                        let line = record.position().map(|p| p.line()).unwrap_or(0);
                        if record.len() != header.len() {
                            return Some(Err((
                                line,
                                format!(
                                    "has {} fields but the header has {}",
                                    record.len(),
                                    header.len()
                                ),
                            )));
                        }
                        let values = header
                            .iter()
                            .zip(record.iter())
                            .map(|(h, v)| (h.clone(), (!v.is_empty()).then(|| v.to_string())))
                            .collect();
                        Some(Ok((line, values)))
                    }
                    Err(e) => {
                        let line = e.position().map(|p| p.line()).unwrap_or(0);
                        Some(Err((line, e.to_string())))
                    }
                }
            }
            Records::Ndjson { lines, line } => loop {
                *line += 1;
                let text = match lines.next()? {
                    Ok(t) => t,
                    Err(e) => return Some(Err((*line, format!("cannot read the line: {e}")))),
                };
                if text.trim().is_empty() {
                    continue;
                }
                let value: serde_json::Value = match serde_json::from_str(&text) {
                    Ok(v) => v,
                    Err(e) => return Some(Err((*line, format!("invalid JSON: {e}")))),
                };
                let serde_json::Value::Object(map) = value else {
                    return Some(Err((*line, "not a JSON object".into())));
                };
                let values = map
                    .into_iter()
                    .map(|(k, v)| {
                        let text = match v {
                            serde_json::Value::Null => None,
                            serde_json::Value::String(s) => Some(s),
                            serde_json::Value::Bool(b) => Some(b.to_string()),
                            serde_json::Value::Number(n) => Some(n.to_string()),
                            other => Some(other.to_string()),
                        };
                        (k, text)
                    })
                    .collect();
                return Some(Ok((*line, values)));
            },
        }
    }
}

/// Read `text` as a timestamp in microseconds since the epoch (UTC): ISO 8601 / RFC 3339 with
/// or without offset, RFC 2822, the common log format, `YYYY/MM/DD`, a bare date, and epoch
/// seconds, milliseconds, microseconds or nanoseconds (told apart by magnitude).
pub fn parse_timestamp(text: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    // Epoch numbers; `f64` parsing rejects dates such as 2026-03-04.
    if t.bytes()
        .all(|b| b.is_ascii_digit() || b == b'.' || b == b'-')
        && let Ok(v) = t.parse::<f64>()
    {
        let a = v.abs();
        let micros = if a < 1e11 {
            v * 1e6
        } else if a < 1e14 {
            v * 1e3
        } else if a < 1e17 {
            v
        } else {
            v / 1e3
        };
        return Some(micros as i64);
    }
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.timestamp_micros());
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f %#z",
        "%Y-%m-%dT%H:%M:%S%.f%#z",
        "%d/%b/%Y:%H:%M:%S %z",
    ] {
        if let Ok(dt) = DateTime::parse_from_str(t, f) {
            return Some(dt.timestamp_micros());
        }
    }
    if let Some(stripped) = t.strip_suffix(" UTC").or_else(|| t.strip_suffix('Z')) {
        return parse_timestamp(stripped);
    }
    for f in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M",
        "%Y/%m/%d %H:%M:%S%.f",
        "%d/%b/%Y:%H:%M:%S",
    ] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, f) {
            return Some(dt.and_utc().timestamp_micros());
        }
    }
    if let Ok(dt) = DateTime::parse_from_rfc2822(t) {
        return Some(dt.timestamp_micros());
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d"] {
        if let Ok(d) = NaiveDate::parse_from_str(t, f) {
            return d
                .and_hms_opt(0, 0, 0)
                .map(|dt| dt.and_utc().timestamp_micros());
        }
    }
    None
}

/// Convert one column of text to `field`'s type; returns the array and, per row, whether the
/// value could not be converted.
fn convert(values: &[Option<String>], field: &Field) -> Result<(ArrayRef, Vec<bool>)> {
    let text = StringArray::from_iter(values.iter().map(|v| v.as_deref()));
    let bad_where = |array: &ArrayRef| -> Vec<bool> {
        (0..values.len())
            .map(|i| values[i].is_some() && array.is_null(i))
            .collect()
    };
    let array: ArrayRef = match field.data_type() {
        DataType::Utf8 => Arc::new(text),
        DataType::Timestamp(unit, tz) => {
            let micros: arrow::array::TimestampMicrosecondArray = values
                .iter()
                .map(|v| v.as_deref().and_then(parse_timestamp))
                .collect();
            let micros = match tz {
                Some(tz) => micros.with_timezone(tz.clone()),
                None => micros,
            };
            let array: ArrayRef = Arc::new(micros);
            match unit {
                TimeUnit::Microsecond => array,
                _ => cast_with_options(&array, field.data_type(), &CastOptions::default())?,
            }
        }
        DataType::Date32 => {
            let days: Date32Array = values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .and_then(parse_timestamp)
                        .map(|m| m.div_euclid(86_400_000_000) as i32)
                })
                .collect();
            Arc::new(days)
        }
        DataType::Boolean => {
            let b: BooleanArray = values
                .iter()
                .map(|v| {
                    v.as_deref()
                        .and_then(|s| match s.trim().to_ascii_lowercase().as_str() {
                            "true" | "t" | "1" | "yes" | "y" => Some(true),
                            "false" | "f" | "0" | "no" | "n" => Some(false),
                            _ => None,
                        })
                })
                .collect();
            Arc::new(b)
        }
        other => {
            let trimmed =
                StringArray::from_iter(values.iter().map(|v| v.as_deref().map(str::trim)));
            cast_with_options(
                &(Arc::new(trimmed) as ArrayRef),
                other,
                &CastOptions {
                    safe: true,
                    ..Default::default()
                },
            )?
        }
    };
    let bad = bad_where(&array);
    Ok((array, bad))
}

/// Rows of text waiting to become a batch.
struct Pending {
    lines: Vec<u64>,
    columns: Vec<Vec<Option<String>>>,
}

impl Pending {
    fn new(n: usize) -> Self {
        Pending {
            lines: Vec::with_capacity(BATCH_ROWS),
            columns: (0..n).map(|_| Vec::with_capacity(BATCH_ROWS)).collect(),
        }
    }
}

/// Shared state of one ingest: rejected lines, counts, the failure policy.
struct Tally {
    options: IngestOptions,
    rejected: Mutex<(Vec<Rejected>, u64)>,
    rows: AtomicU64,
    bytes: Arc<AtomicU64>,
    progress: Arc<dyn IngestProgress>,
}

impl Tally {
    /// Record a rejected line; an error when the ingest must stop.
    fn reject(&self, file: &str, line: u64, reason: String) -> Result<()> {
        let mut guard = self.rejected.lock().unwrap_or_else(|e| e.into_inner());
        guard.1 += 1;
        if guard.0.len() < 1000 {
            guard.0.push(Rejected {
                file: file.to_string(),
                line,
                reason: reason.clone(),
            });
        }
        match self.options.on_error {
            OnError::Fail => Err(Error::Input {
                file: format!("{file}:{line}"),
                message: format!(
                    "{reason} (nothing was loaded; use --on-error skip to load the other lines)"
                ),
            }),
            OnError::Skip if guard.1 > self.options.max_errors => Err(Error::Refused(format!(
                "more than {} lines were rejected (the last: {file}:{line}: {reason}); nothing was loaded (raise --max-errors to accept more)",
                self.options.max_errors
            ))),
            OnError::Skip => Ok(()),
        }
    }
}

/// Convert pending rows into a batch of `schema`, rejecting rows that do not convert.
fn flush(
    pending: &mut Pending,
    schema: &SchemaRef,
    file: &str,
    tally: &Tally,
) -> Result<Option<RecordBatch>> {
    if pending.lines.is_empty() {
        return Ok(None);
    }
    let n = pending.lines.len();
    let mut arrays = Vec::with_capacity(schema.fields().len());
    let mut reasons: Vec<Option<String>> = vec![None; n];
    for (field, values) in schema.fields().iter().zip(&pending.columns) {
        let (array, bad) = convert(values, field)?;
        for i in 0..n {
            if reasons[i].is_some() {
                continue;
            }
            if bad[i] {
                reasons[i] = Some(format!(
                    "column '{}': cannot read '{}' as {}",
                    field.name(),
                    values[i].as_deref().unwrap_or_default(),
                    field.data_type()
                ));
            } else if !field.is_nullable() && array.is_null(i) {
                reasons[i] = Some(format!(
                    "column '{}' is NOT NULL but has no value",
                    field.name()
                ));
            }
        }
        arrays.push(array);
    }
    let arrays = if reasons.iter().any(Option::is_some) {
        for (i, reason) in reasons.iter().enumerate() {
            if let Some(reason) = reason {
                tally.reject(file, pending.lines[i], reason.clone())?;
            }
        }
        let keep = BooleanArray::from_iter(reasons.iter().map(|r| Some(r.is_none())));
        arrays
            .iter()
            .map(|a| arrow::compute::filter(a, &keep))
            .collect::<std::result::Result<Vec<_>, _>>()?
    } else {
        arrays
    };
    let batch = RecordBatch::try_new(Arc::clone(schema), arrays)?;
    *pending = Pending::new(schema.fields().len());
    let rows = tally
        .rows
        .fetch_add(batch.num_rows() as u64, Ordering::Relaxed)
        + batch.num_rows() as u64;
    tally
        .progress
        .update(rows, tally.bytes.load(Ordering::Relaxed));
    Ok(Some(batch))
}

/// Parse a text file into batches of `schema`, sending each to `send`.
fn read_text(
    input: &Input,
    reader: Box<dyn BufRead + Send>,
    schema: &SchemaRef,
    tally: &Tally,
    send: &dyn Fn(RecordBatch) -> bool,
) -> Result<()> {
    let mut records = Records::new(input.format, reader, &input.display)?;
    let fields: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let mut pending = Pending::new(fields.len());
    while let Some(record) = records.next() {
        let (line, values) = match record {
            Ok(r) => r,
            Err((line, reason)) => {
                tally.reject(&input.display, line, reason)?;
                continue;
            }
        };
        pending.lines.push(line);
        for (i, name) in fields.iter().enumerate() {
            let value = values
                .iter()
                .find(|(k, _)| k == name)
                .or_else(|| values.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .and_then(|(_, v)| v.clone());
            pending.columns[i].push(value);
        }
        if pending.lines.len() >= BATCH_ROWS
            && let Some(batch) = flush(&mut pending, schema, &input.display, tally)?
            && !send(batch)
        {
            return Ok(());
        }
    }
    if let Some(batch) = flush(&mut pending, schema, &input.display, tally)? {
        send(batch);
    }
    Ok(())
}

/// Read a Parquet file into batches of `schema`: columns by name (missing ones as NULL), cast.
// `ParquetObjectReader` is deprecated in favour of hand-written readers; it still does exactly
// what ingest needs (sequential reads of whole files).
#[allow(deprecated)]
async fn read_parquet(
    input: &Input,
    schema: &SchemaRef,
    tally: &Tally,
    tx: &tokio::sync::mpsc::Sender<datafusion::error::Result<RecordBatch>>,
) -> Result<()> {
    use parquet::arrow::ParquetRecordBatchStreamBuilder;
    use parquet::arrow::async_reader::ParquetObjectReader;
    let meta = input
        .resolved
        .store
        .head(&input.resolved.path)
        .await
        .map_err(|e| Error::Location {
            location: input.display.clone(),
            reason: e.to_string(),
        })?;
    tally.bytes.fetch_add(meta.size, Ordering::Relaxed);
    let reader = ParquetObjectReader::new(
        Arc::clone(&input.resolved.store),
        input.resolved.path.clone(),
    )
    .with_file_size(meta.size);
    let mut stream = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| input.error(e))?
        .build()
        .map_err(|e| input.error(e))?;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| input.error(e))?;
        let columns = schema
            .fields()
            .iter()
            .map(|field| {
                let source = batch
                    .schema()
                    .fields()
                    .iter()
                    .position(|f| f.name() == field.name())
                    .or_else(|| {
                        batch
                            .schema()
                            .fields()
                            .iter()
                            .position(|f| f.name().eq_ignore_ascii_case(field.name()))
                    });
                match source {
                    None => Ok(new_null_array(field.data_type(), batch.num_rows())),
                    Some(i) => cast_with_options(
                        batch.column(i),
                        field.data_type(),
                        &CastOptions {
                            safe: false,
                            ..Default::default()
                        },
                    )
                    .map_err(|e| input.error(format!("column '{}': {e}", field.name()))),
                }
            })
            .collect::<Result<Vec<_>>>()?;
        let out = RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| input.error(e))?;
        let rows = tally
            .rows
            .fetch_add(out.num_rows() as u64, Ordering::Relaxed)
            + out.num_rows() as u64;
        tally
            .progress
            .update(rows, tally.bytes.load(Ordering::Relaxed));
        if tx.send(Ok(out)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Infer the columns of a new table from the first records of `input`.
#[allow(deprecated)]
async fn infer_schema(input: &Input) -> Result<Schema> {
    if input.format == InputFormat::Parquet {
        use parquet::arrow::ParquetRecordBatchStreamBuilder;
        use parquet::arrow::async_reader::ParquetObjectReader;
        let reader = ParquetObjectReader::new(
            Arc::clone(&input.resolved.store),
            input.resolved.path.clone(),
        );
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| input.error(e))?;
        return Ok(builder.schema().as_ref().clone());
    }
    let bytes = Arc::new(AtomicU64::new(0));
    let reader = open(input, &bytes).await?;
    let input = input.clone();
    tokio::task::spawn_blocking(move || {
        let reader = decoded(reader, input.gzip, input.max_line);
        let mut records = Records::new(input.format, reader, &input.display)?;
        let mut names: Vec<String> = Vec::new();
        let mut samples: Vec<Vec<String>> = Vec::new();
        let mut seen = 0;
        while let Some(record) = records.next() {
            let Ok((_, values)) = record else { continue };
            for (k, v) in values {
                let i = match names.iter().position(|n| *n == k) {
                    Some(i) => i,
                    None => {
                        names.push(k);
                        samples.push(Vec::new());
                        names.len() - 1
                    }
                };
                if let Some(v) = v {
                    samples[i].push(v);
                }
            }
            seen += 1;
            if seen >= INFER_ROWS {
                break;
            }
        }
        if names.is_empty() {
            return Err(input.error("it has no readable records to infer columns from"));
        }
        let fields: Vec<Field> = names
            .iter()
            .zip(&samples)
            .map(|(name, values)| Field::new(name, infer_type(values), true))
            .collect();
        Ok(Schema::new(fields))
    })
    .await
    .map_err(|e| Error::Internal(format!("inference failed: {e}")))?
}

/// The narrowest type all `values` read as.
fn infer_type(values: &[String]) -> DataType {
    let all = |f: &dyn Fn(&str) -> bool| !values.is_empty() && values.iter().all(|v| f(v.trim()));
    if all(&|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(&|v| v.parse::<f64>().is_ok()) {
        DataType::Float64
    } else if all(&|v| matches!(v.to_ascii_lowercase().as_str(), "true" | "false")) {
        DataType::Boolean
    } else if all(&|v| chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()) {
        DataType::Date32
    } else if all(&|v| {
        !v.bytes().all(|b| b.is_ascii_digit() || b == b'.') && parse_timestamp(v).is_some()
    }) {
        DataType::Timestamp(TimeUnit::Microsecond, None)
    } else {
        DataType::Utf8
    }
}

/// A one-shot stream partition fed from a channel.
struct ChannelPartition {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl std::fmt::Debug for ChannelPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChannelPartition").finish_non_exhaustive()
    }
}

impl PartitionStream for ChannelPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        match self.stream.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(s) => s,
            None => Box::pin(
                datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                    Arc::clone(&self.schema),
                    futures::stream::once(async {
                        Err(DataFusionError::Execution(
                            "the ingest stream was already read".into(),
                        ))
                    }),
                ),
            ),
        }
    }
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
        let files = expand(
            &stores,
            inputs,
            options.format,
            self.limits().max_value_bytes,
        )
        .await?;
        if files.is_empty() {
            return Err(Error::Usage("no input files".into()));
        }
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
        let tally = Arc::new(Tally {
            options: options.clone(),
            rejected: Mutex::new((Vec::new(), 0)),
            rows: AtomicU64::new(0),
            bytes: Arc::new(AtomicU64::new(0)),
            progress,
        });
        let mut builder = RecordBatchReceiverStreamBuilder::new(Arc::clone(&target), 4);
        let tx = builder.tx();
        {
            let tally = Arc::clone(&tally);
            let target = Arc::clone(&target);
            let files = files.clone();
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
        let stream = builder.build();
        let provider = StreamingTable::try_new(
            Arc::clone(&target),
            vec![Arc::new(ChannelPartition {
                schema: Arc::clone(&target),
                stream: Mutex::new(Some(stream)),
            })],
        )?;
        let ctx = &self.context();
        let input = ctx.read_table(Arc::new(provider))?.into_unoptimized_plan();
        let created = new.is_some();
        let job = match (meta, new) {
            (Some(meta), _) => WriteJob::Insert { meta, input },
            (None, Some(table)) => WriteJob::Create {
                table,
                if_not_exists: false,
                input: Some(input),
            },
            (None, None) => unreachable!("one of the two is set"),
        };
        let (rows, snapshot) =
            run_write(ctx, &catalog, &stores, job, Some(self.target_file_size)).await?;
        let (mut rejected, rejected_total) =
            std::mem::take(&mut *tally.rejected.lock().unwrap_or_else(|e| e.into_inner()));
        rejected.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
        Ok(IngestReport {
            files: files.len(),
            rows,
            bytes_read: tally.bytes.load(Ordering::Relaxed),
            rejected,
            rejected_total,
            created,
            snapshot,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_fail_once_and_are_skipped() {
        use std::io::BufRead;
        let text = format!("short\n{}\nafter\n{}\n", "x".repeat(100), "y".repeat(10));
        let guard =
            super::LineGuard::new(std::io::BufReader::with_capacity(7, text.as_bytes()), 10);
        let lines: Vec<Result<String, String>> = guard
            .lines()
            .map(|l| l.map_err(|e| e.to_string()))
            .collect();
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert_eq!(lines[0].as_deref(), Ok("short"));
        assert!(
            lines[1]
                .as_ref()
                .unwrap_err()
                .contains("limits.max_value_bytes")
        );
        assert_eq!(lines[2].as_deref(), Ok("after"));
        assert_eq!(lines[3].as_deref(), Ok("yyyyyyyyyy"));
    }

    use super::*;

    #[test]
    fn parses_common_timestamp_formats() {
        let t = 1_772_618_400_000_000; // 2026-03-04 10:00:00 UTC
        for text in [
            "2026-03-04 10:00:00",
            "2026-03-04T10:00:00Z",
            "2026-03-04T11:00:00+01:00",
            "2026-03-04 10:00:00.000",
            "2026-03-04 10:00:00 UTC",
            "04/Mar/2026:10:00:00 +0000",
            "Wed, 04 Mar 2026 10:00:00 +0000",
            "1772618400",
            "1772618400000",
            "1772618400000000",
        ] {
            assert_eq!(parse_timestamp(text), Some(t), "{text}");
        }
        assert_eq!(parse_timestamp("2026-03-04"), Some(1_772_582_400_000_000));
        assert_eq!(parse_timestamp("yesterday"), None);
        assert_eq!(parse_timestamp("2026-13-45 10:00:00"), None);
    }

    #[test]
    fn infers_types() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(infer_type(&v(&["1", "-2"])), DataType::Int64);
        assert_eq!(infer_type(&v(&["1", "2.5"])), DataType::Float64);
        assert_eq!(infer_type(&v(&["true", "FALSE"])), DataType::Boolean);
        assert_eq!(infer_type(&v(&["2026-03-04"])), DataType::Date32);
        assert_eq!(
            infer_type(&v(&["2026-03-04T10:00:00Z"])),
            DataType::Timestamp(TimeUnit::Microsecond, None)
        );
        assert_eq!(infer_type(&v(&["GET", "1"])), DataType::Utf8);
    }

    #[test]
    fn rejects_values_that_do_not_convert() {
        let field = Field::new("n", DataType::Int64, true);
        let (array, bad) = convert(&[Some("1".into()), Some("x".into()), None], &field).unwrap();
        assert_eq!(bad, vec![false, true, false]);
        assert_eq!(array.null_count(), 2);
    }
}
