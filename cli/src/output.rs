//! Writing query results in the formats of `--format`.

use std::io::Write;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::util::display::FormatOptions;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::args::Format;

/// View types become plain types: every writer and every reader of our output understands them.
fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        other => other.clone(),
    }
}

pub fn plain_schema(schema: &Schema) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), plain_type(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
    ))
}

pub fn plain_batch(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                arrow::compute::cast(c, f.data_type()).context("converting result column")
            }
        })
        .collect::<Result<_>>()?;
    Ok(RecordBatch::try_new(Arc::clone(schema), columns)?)
}

/// A streaming writer of one result set.
pub enum ResultWriter<W: Write + Send> {
    Table {
        out: W,
        schema: SchemaRef,
        batches: Vec<RecordBatch>,
    },
    Csv(arrow::csv::Writer<W>),
    Json(arrow::json::ArrayWriter<W>),
    Ndjson(arrow::json::LineDelimitedWriter<W>),
    Parquet(ArrowWriter<W>),
    Arrow(arrow::ipc::writer::FileWriter<W>),
}

impl<W: Write + Send> ResultWriter<W> {
    pub fn new(format: Format, out: W, schema: SchemaRef) -> Result<Self> {
        Ok(match format {
            Format::Table => ResultWriter::Table {
                out,
                schema,
                batches: Vec::new(),
            },
            Format::Csv => ResultWriter::Csv(
                arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_timestamp_format("%Y-%m-%d %H:%M:%S%.f".into())
                    .with_timestamp_tz_format("%Y-%m-%d %H:%M:%S%.f%:z".into())
                    .build(out),
            ),
            Format::Json => ResultWriter::Json(arrow::json::ArrayWriter::new(out)),
            Format::Ndjson => ResultWriter::Ndjson(arrow::json::LineDelimitedWriter::new(out)),
            Format::Parquet => {
                let props = WriterProperties::builder()
                    .set_compression(Compression::ZSTD(ZstdLevel::default()))
                    .build();
                ResultWriter::Parquet(ArrowWriter::try_new(out, schema, Some(props))?)
            }
            Format::Arrow => {
                ResultWriter::Arrow(arrow::ipc::writer::FileWriter::try_new(out, &schema)?)
            }
        })
    }

    pub fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            ResultWriter::Table { batches, .. } => batches.push(batch.clone()),
            ResultWriter::Csv(w) => w.write(batch)?,
            ResultWriter::Json(w) => w.write(batch)?,
            ResultWriter::Ndjson(w) => w.write(batch)?,
            ResultWriter::Parquet(w) => w.write(batch)?,
            ResultWriter::Arrow(w) => w.write(batch)?,
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        match self {
            ResultWriter::Table {
                mut out,
                schema,
                batches,
            } => {
                if schema.fields().is_empty() {
                    return Ok(());
                }
                let table = if batches.is_empty() {
                    arrow::util::pretty::pretty_format_batches_with_schema(schema, &[])?.to_string()
                } else {
                    let options = FormatOptions::new().with_null("NULL");
                    arrow::util::pretty::pretty_format_batches_with_options(&batches, &options)?
                        .to_string()
                };
                writeln!(out, "{table}")?;
                out.flush()?;
            }
            ResultWriter::Csv(w) => {
                let mut out = w.into_inner();
                out.flush()?;
            }
            ResultWriter::Json(mut w) => {
                w.finish()?;
                let mut out = w.into_inner();
                writeln!(out)?;
                out.flush()?;
            }
            ResultWriter::Ndjson(mut w) => {
                w.finish()?;
                w.into_inner().flush()?;
            }
            ResultWriter::Parquet(w) => {
                w.close()?;
            }
            ResultWriter::Arrow(mut w) => {
                w.finish()?;
            }
        }
        Ok(())
    }
}
