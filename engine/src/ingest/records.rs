//! Reading an input file into batches of the table's types: CSV and NDJSON records converted
//! value by value (with the reasons a line is rejected), Parquet read as is, and the columns of
//! a new table inferred from the first records.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Date32Array, RecordBatch, StringArray, new_null_array,
};
use arrow::compute::{CastOptions, cast_with_options};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::input::{Input, decoded, open};
use super::{IngestOptions, IngestProgress, InputFormat, OnError, Rejected};
use crate::error::{Error, Result};

/// Rows parsed before they are converted and sent on as one batch.
const BATCH_ROWS: usize = 8192;
/// Lines read to infer the columns of a new table.
const INFER_ROWS: usize = 1000;

/// Text records of one file: values by column name for NDJSON, by header position for CSV.
pub(super) enum Records {
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
pub(super) type Record = (u64, Vec<(String, Option<String>)>);

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
pub(super) fn convert(values: &[Option<String>], field: &Field) -> Result<(ArrayRef, Vec<bool>)> {
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
pub(super) struct Pending {
    pub(super) lines: Vec<u64>,
    pub(super) columns: Vec<Vec<Option<String>>>,
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
pub(super) struct Tally {
    pub(super) options: IngestOptions,
    pub(super) rejected: Mutex<(Vec<Rejected>, u64)>,
    pub(super) rows: AtomicU64,
    pub(super) bytes: Arc<AtomicU64>,
    pub(super) progress: Arc<dyn IngestProgress>,
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
pub(super) fn flush(
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
pub(super) fn read_text(
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
pub(super) async fn read_parquet(
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
pub(super) async fn infer_schema(input: &Input) -> Result<Schema> {
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
pub(super) fn infer_type(values: &[String]) -> DataType {
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

#[cfg(test)]
mod tests {
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
