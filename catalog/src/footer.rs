//! Reading a Parquet footer from object storage and turning it into DuckLake statistics.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, make_comparator};
use arrow::compute::SortOptions;
use arrow::datatypes::Schema;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use parquet::arrow::parquet_to_arrow_schema;
use parquet::file::metadata::{FooterTail, ParquetMetaData, ParquetMetaDataReader};

use crate::error::{Error, Result};
use crate::model::ColumnStats;
use crate::types::encode_value;

/// Bytes fetched from the end of a file in the first request: most footers fit, so one ranged
/// GET usually reads the whole footer.
const FOOTER_PREFETCH: u64 = 64 * 1024;

/// What registration needs from one Parquet file.
#[derive(Debug, Clone)]
pub struct Footer {
    /// The Arrow schema of the columns stored in the file.
    pub schema: Arc<Schema>,
    pub num_rows: i64,
    /// Length of the Thrift-encoded metadata, without the 8-byte tail.
    pub footer_size: i64,
    /// Bytes from the start of the page index (or of the footer, without a page index) to the
    /// end of the file.
    pub metadata_bytes: i64,
    /// Statistics by column name (`column_id` is 0 until the column is known).
    pub stats: HashMap<String, ColumnStats>,
}

/// Read and decode the footer of the Parquet file `path` of `size` bytes.
pub async fn read_footer(
    store: &dyn ObjectStore,
    path: &Path,
    size: u64,
    display: &str,
) -> Result<Footer> {
    let corrupt = |reason: String| Error::Parquet {
        path: display.to_string(),
        reason,
    };
    if size < 12 {
        return Err(corrupt(format!(
            "the file is {size} bytes, too small to be Parquet"
        )));
    }
    let fetch = FOOTER_PREFETCH.min(size);
    let tail = store
        .get_range(path, size - fetch..size)
        .await
        .map_err(|source| Error::Storage {
            location: display.to_string(),
            source,
        })?;
    let last8: &[u8; 8] = tail[tail.len() - 8..]
        .try_into()
        .map_err(|_| corrupt("short read".into()))?;
    let footer = FooterTail::try_new(last8)
        .map_err(|e| corrupt(format!("{e} (is it really a Parquet file?)")))?;
    if footer.is_encrypted_footer() {
        return Err(corrupt("the footer is encrypted".into()));
    }
    let len = footer.metadata_length() as u64;
    if len + 8 > size {
        return Err(corrupt(format!(
            "the footer claims {len} bytes but the file has only {size}"
        )));
    }
    let metadata = if len + 8 <= fetch {
        let start = (fetch - 8 - len) as usize;
        ParquetMetaDataReader::decode_metadata(&tail[start..tail.len() - 8])
    } else {
        let buf = store
            .get_range(path, size - 8 - len..size - 8)
            .await
            .map_err(|source| Error::Storage {
                location: display.to_string(),
                source,
            })?;
        ParquetMetaDataReader::decode_metadata(&buf)
    }
    .map_err(|e| corrupt(e.to_string()))?;
    footer_stats(&metadata, len as i64, size).map_err(|e| match e {
        Error::Parquet { reason, .. } => corrupt(reason),
        other => other,
    })
}

/// Bytes from the start of the page index (or of the footer, without one) to the end of the
/// file: the page index lies just before the footer.
fn metadata_bytes(metadata: &ParquetMetaData, footer_size: i64, size: u64) -> i64 {
    let page_index_start = metadata
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns())
        .flat_map(|c| [c.column_index_offset(), c.offset_index_offset()])
        .flatten()
        .filter(|&offset| offset >= 0 && (offset as u64) < size)
        .min();
    match page_index_start {
        Some(start) => size as i64 - start,
        None => footer_size + 8,
    }
}

/// Statistics of every top-level column of a decoded footer, of a file of `size` bytes.
pub fn footer_stats(metadata: &ParquetMetaData, footer_size: i64, size: u64) -> Result<Footer> {
    let file = metadata.file_metadata();
    let bad = |reason: String| Error::Parquet {
        path: String::new(),
        reason,
    };
    let schema = parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
        .map_err(|e| bad(e.to_string()))?;
    let num_rows = file.num_rows();
    let row_groups = metadata.row_groups();
    let mut stats = HashMap::new();
    for field in schema.fields() {
        let name = field.name();
        // A writer that left a null count out has not said there are none: unknown, not 0
        // (an exact 0 lets a count or a filter be answered without reading).
        let converter = StatisticsConverter::try_new(name, &schema, file.schema_descr())
            .map_err(|e| bad(e.to_string()))?
            .with_missing_null_counts_as_zero(false);
        let size_bytes = converter.parquet_column_index().map(|leaf| {
            row_groups
                .iter()
                .map(|rg| rg.column(leaf).compressed_size())
                .sum::<i64>()
        });
        let nulls = converter.row_group_null_counts(row_groups.iter()).ok();
        let null_count = nulls.as_ref().and_then(|n| {
            (n.null_count() == 0).then(|| n.values().iter().map(|v| *v as i64).sum::<i64>())
        });
        let rows_per_group: Vec<i64> = row_groups.iter().map(|rg| rg.num_rows()).collect();
        // A row group whose min is missing but which has values makes the file's bound unknown.
        let all_null_group = |i: usize| {
            nulls
                .as_ref()
                .is_some_and(|n| !n.is_null(i) && n.value(i) as i64 == rows_per_group[i])
        };
        let (min, max) = match (
            converter.row_group_mins(row_groups.iter()),
            converter.row_group_maxes(row_groups.iter()),
        ) {
            (Ok(mins), Ok(maxes)) if converter.parquet_column_index().is_some() => (
                extreme(&mins, &all_null_group, false),
                extreme(&maxes, &all_null_group, true),
            ),
            _ => (None, None),
        };
        stats.insert(
            name.clone(),
            ColumnStats {
                column_id: 0,
                min,
                max,
                null_count,
                value_count: null_count.map(|n| num_rows - n),
                size_bytes,
            },
        );
    }
    Ok(Footer {
        schema: Arc::new(schema),
        num_rows,
        footer_size,
        metadata_bytes: metadata_bytes(metadata, footer_size, size),
        stats,
    })
}

/// The smallest (or largest) value of per-row-group bounds, encoded; `None` when some row group
/// with values has no bound.
fn extreme(
    values: &ArrayRef,
    all_null_group: &dyn Fn(usize) -> bool,
    largest: bool,
) -> Option<String> {
    let cmp = make_comparator(values.as_ref(), values.as_ref(), SortOptions::default()).ok()?;
    let mut best: Option<usize> = None;
    for i in 0..values.len() {
        if values.is_null(i) {
            if all_null_group(i) {
                continue;
            }
            return None;
        }
        if let Some(b) = best {
            let ord = cmp(i, b);
            if (largest && ord.is_gt()) || (!largest && ord.is_lt()) {
                best = Some(i);
            }
        } else {
            best = Some(i);
        }
    }
    encode_value(values, best?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::{DataType, Field};
    use object_store::PutPayload;
    use object_store::memory::InMemory;
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    #[tokio::test]
    async fn reads_statistics_across_row_groups() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("n", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from(vec![Some(5), None, Some(-3), Some(40)])),
                Arc::new(StringArray::from(vec![
                    Some("b"),
                    Some("a"),
                    None,
                    Some("ü"),
                ])),
            ],
        )
        .unwrap();
        let mut buf = Vec::new();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2))
            .build();
        let mut w = ArrowWriter::try_new(&mut buf, schema, Some(props)).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let store = InMemory::new();
        let path = Path::from("x.parquet");
        let size = buf.len() as u64;
        store.put(&path, PutPayload::from(buf)).await.unwrap();
        let f = read_footer(&store, &path, size, "x.parquet").await.unwrap();
        assert_eq!(f.num_rows, 4);
        let n = &f.stats["n"];
        assert_eq!(
            (n.min.as_deref(), n.max.as_deref()),
            (Some("-3"), Some("40"))
        );
        assert_eq!((n.null_count, n.value_count), (Some(1), Some(3)));
        let s = &f.stats["s"];
        assert_eq!((s.min.as_deref(), s.max.as_deref()), (Some("a"), Some("ü")));
        assert!(f.footer_size > 0);
        // The writer wrote a page index before the footer; its bytes are counted too.
        assert!(
            f.metadata_bytes > f.footer_size + 8 && f.metadata_bytes < size as i64,
            "{} of {size}",
            f.metadata_bytes
        );
    }

    #[tokio::test]
    async fn rejects_non_parquet() {
        let store = InMemory::new();
        let path = Path::from("x.parquet");
        store
            .put(&path, PutPayload::from(vec![b'x'; 100]))
            .await
            .unwrap();
        let err = read_footer(&store, &path, 100, "x.parquet")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("x.parquet"), "{err}");
    }
}
