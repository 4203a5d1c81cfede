//! Building Arrow record batches column by column from per-row values, and writing them as
//! zstd Parquet with statistics.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow::array::{
    ArrayBuilder, ArrayRef, Date32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

/// Column types the generators use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ty {
    I16,
    I32,
    I64,
    F64,
    Str,
    /// Microsecond timestamp without time zone.
    Ts,
    Date,
}

impl Ty {
    fn data_type(self) -> DataType {
        match self {
            Ty::I16 => DataType::Int16,
            Ty::I32 => DataType::Int32,
            Ty::I64 => DataType::Int64,
            Ty::F64 => DataType::Float64,
            Ty::Str => DataType::Utf8,
            Ty::Ts => DataType::Timestamp(TimeUnit::Microsecond, None),
            Ty::Date => DataType::Date32,
        }
    }
}

pub fn schema(columns: &[(&str, Ty)]) -> SchemaRef {
    Arc::new(Schema::new(
        columns
            .iter()
            .map(|(name, ty)| Field::new(*name, ty.data_type(), false))
            .collect::<Vec<_>>(),
    ))
}

/// One value of a row.
#[derive(Debug, Clone)]
pub enum V {
    I(i64),
    F(f64),
    S(String),
    /// Microseconds since the epoch.
    Ts(i64),
    /// Days since the epoch.
    Date(i32),
}

enum Builder {
    I16(Int16Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    F64(Float64Builder),
    Str(StringBuilder),
    Ts(TimestampMicrosecondBuilder),
    Date(Date32Builder),
}

/// Rows in, a record batch out.
pub struct Batch {
    schema: SchemaRef,
    builders: Vec<Builder>,
}

impl Batch {
    pub fn new(schema: &SchemaRef, columns: &[(&str, Ty)], rows: usize) -> Self {
        let builders = columns
            .iter()
            .map(|(_, ty)| match ty {
                Ty::I16 => Builder::I16(Int16Builder::with_capacity(rows)),
                Ty::I32 => Builder::I32(Int32Builder::with_capacity(rows)),
                Ty::I64 => Builder::I64(Int64Builder::with_capacity(rows)),
                Ty::F64 => Builder::F64(Float64Builder::with_capacity(rows)),
                Ty::Str => Builder::Str(StringBuilder::with_capacity(rows, rows * 8)),
                Ty::Ts => Builder::Ts(TimestampMicrosecondBuilder::with_capacity(rows)),
                Ty::Date => Builder::Date(Date32Builder::with_capacity(rows)),
            })
            .collect();
        Batch {
            schema: schema.clone(),
            builders,
        }
    }

    /// Append value `v` to column `i`.
    pub fn push(&mut self, i: usize, v: V) {
        match (&mut self.builders[i], v) {
            (Builder::I16(b), V::I(x)) => b.append_value(x as i16),
            (Builder::I32(b), V::I(x)) => b.append_value(x as i32),
            (Builder::I64(b), V::I(x)) => b.append_value(x),
            (Builder::F64(b), V::F(x)) => b.append_value(x),
            (Builder::Str(b), V::S(x)) => b.append_value(x),
            (Builder::Ts(b), V::Ts(x)) => b.append_value(x),
            (Builder::Date(b), V::Date(x)) => b.append_value(x),
            (_, v) => panic!("generator bug: value {v:?} for column {i} of the wrong type"),
        }
    }

    pub fn len(&self) -> usize {
        match &self.builders[0] {
            Builder::I16(b) => b.len(),
            Builder::I32(b) => b.len(),
            Builder::I64(b) => b.len(),
            Builder::F64(b) => b.len(),
            Builder::Str(b) => b.len(),
            Builder::Ts(b) => b.len(),
            Builder::Date(b) => b.len(),
        }
    }

    pub fn finish(&mut self) -> Result<RecordBatch> {
        let arrays: Vec<ArrayRef> = self
            .builders
            .iter_mut()
            .map(|b| -> ArrayRef {
                match b {
                    Builder::I16(b) => Arc::new(b.finish()),
                    Builder::I32(b) => Arc::new(b.finish()),
                    Builder::I64(b) => Arc::new(b.finish()),
                    Builder::F64(b) => Arc::new(b.finish()),
                    Builder::Str(b) => Arc::new(b.finish()),
                    Builder::Ts(b) => Arc::new(b.finish()),
                    Builder::Date(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        Ok(RecordBatch::try_new(self.schema.clone(), arrays)?)
    }
}

/// Rows per generated batch (and per row group: 2 batches).
pub const BATCH_ROWS: usize = 65_536;

/// Whether Strata's writer gives this column a bloom filter by default: an identifier
/// (`…_id`, `…ID`, `…Id`) of 64-bit integer or string type. Mirrors
/// `strata_engine::default_bloom_filter` (a test checks they agree on every generated column)
/// without linking the engine into the runner.
fn wants_bloom_filter(name: &str, data_type: &DataType) -> bool {
    let camel = (name.ends_with("ID") || name.ends_with("Id"))
        && name
            .chars()
            .rev()
            .nth(2)
            .is_some_and(|c| c.is_ascii_lowercase());
    let lower = name.to_ascii_lowercase();
    (lower == "id" || lower.ends_with("_id") || lower.ends_with("_uuid") || camel)
        && matches!(data_type, DataType::Utf8 | DataType::Int64)
}

/// Write `rows` rows, produced by `row(index, batch)`, to the Parquet file `path`.
pub fn write_file(
    path: &Path,
    columns: &[(&str, Ty)],
    rows: usize,
    mut row: impl FnMut(usize, &mut Batch),
) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let schema = schema(columns);
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(1)?))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_max_row_group_row_count(Some(BATCH_ROWS * 2));
    // The bloom filters Strata's writer adds by default (identifier columns such as `UserID`),
    // so that lookups measure what a table Strata wrote would give.
    for field in schema.fields() {
        if wants_bloom_filter(field.name(), field.data_type()) {
            let path = ColumnPath::from(field.name().as_str());
            props = props
                .set_column_bloom_filter_enabled(path.clone(), true)
                .set_column_bloom_filter_fpp(path.clone(), 0.01)
                .set_column_bloom_filter_max_ndv(path, (BATCH_ROWS * 2) as u64);
        }
    }
    let props = props.build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props))?;
    let mut batch = Batch::new(&schema, columns, BATCH_ROWS.min(rows));
    for i in 0..rows {
        row(i, &mut batch);
        if batch.len() == BATCH_ROWS {
            writer.write(&batch.finish()?)?;
        }
    }
    if batch.len() > 0 {
        writer.write(&batch.finish()?)?;
    }
    writer.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bloom_filters_are_the_ones_strata_writes() {
        for columns in [crate::logs::COLUMNS, crate::trips::COLUMNS] {
            for field in schema(columns).fields() {
                assert_eq!(
                    wants_bloom_filter(field.name(), field.data_type()),
                    strata_engine::default_bloom_filter(field.name(), field.data_type()),
                    "{}",
                    field.name()
                );
            }
        }
        let logs = schema(crate::logs::COLUMNS);
        assert!(wants_bloom_filter(
            "UserID",
            logs.field_with_name("UserID").unwrap().data_type()
        ));
    }
}
