//! Rows deleted by DuckDB: a data file with a live delete file is read with a row selection that
//! skips the deleted positions (DataFusion splits it into row groups when it opens the file), so
//! no deleted row is decoded, filtered or counted.

use std::sync::Arc;

use arrow::array::{Array, Int64Array};
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use strata_catalog::{DataFile, DeleteFile};

use crate::error::{Error, Result};
use crate::storage::Stores;

/// The column of a partial delete file that tags each deletion with its snapshot.
const SNAPSHOT_COLUMN: &str = "_ducklake_internal_snapshot_id";

/// The positions (from 0, sorted, distinct) a delete file deletes at the snapshot read.
pub(crate) async fn deleted_positions(stores: &Stores, delete: &DeleteFile) -> Result<Vec<u64>> {
    let unreadable = |reason: String| {
        Error::Invalid(format!(
            "cannot read delete file '{}': {reason}",
            delete.path
        ))
    };
    let resolved = stores.resolve(&delete.path)?;
    let bytes = resolved
        .store
        .get(&resolved.path)
        .await
        .map_err(|e| unreadable(e.to_string()))?
        .bytes()
        .await
        .map_err(|e| unreadable(e.to_string()))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)
        .map_err(|e| unreadable(e.to_string()))?
        .build()
        .map_err(|e| unreadable(e.to_string()))?;
    let mut positions = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| unreadable(e.to_string()))?;
        let int64 = |name: &str| {
            batch
                .column_by_name(name)
                .and_then(|c| c.as_any().downcast_ref::<Int64Array>())
                .cloned()
        };
        let column = int64("pos").ok_or_else(|| unreadable("no BIGINT column 'pos'".into()))?;
        // In a partial file each row names the snapshot of its deletion.
        let snapshots = if delete.partial {
            Some(int64(SNAPSHOT_COLUMN).ok_or_else(|| {
                unreadable(format!("a partial delete file without '{SNAPSHOT_COLUMN}'"))
            })?)
        } else {
            None
        };
        for i in 0..column.len() {
            let applies = snapshots
                .as_ref()
                .is_none_or(|s| s.is_valid(i) && s.value(i) <= delete.snapshot);
            if applies && column.is_valid(i) && column.value(i) >= 0 {
                positions.push(column.value(i) as u64);
            }
        }
    }
    positions.sort_unstable();
    positions.dedup();
    Ok(positions)
}

/// A selection of the `rows` rows of a file that skips `deleted` (sorted, distinct).
pub(crate) fn without(rows: u64, deleted: &[u64]) -> ParquetRowSelection {
    let mut selectors = Vec::with_capacity(deleted.len() * 2 + 1);
    let mut next = 0u64;
    for &p in deleted.iter().filter(|&&p| p < rows) {
        if p > next {
            selectors.push(RowSelector::select((p - next) as usize));
            selectors.push(RowSelector::skip(1));
        } else if let Some(last) = selectors.last_mut().filter(|s| s.skip) {
            // Adjacent deleted rows make one run.
            last.row_count += 1;
        } else {
            selectors.push(RowSelector::skip(1));
        }
        next = p + 1;
    }
    if rows > next {
        selectors.push(RowSelector::select((rows - next) as usize));
    }
    ParquetRowSelection::new(RowSelection::from(selectors))
}

/// Attach to `scan` the selection skipping the rows deleted from `file`, by its delete file
/// and by deletes DuckDB kept inline in the catalog.
pub(crate) async fn apply(
    stores: &Arc<Stores>,
    scan: datafusion::datasource::listing::PartitionedFile,
    file: &DataFile,
) -> Result<datafusion::datasource::listing::PartitionedFile> {
    let mut deleted = match &file.deletes {
        Some(delete) => deleted_positions(stores, delete).await?,
        None => Vec::new(),
    };
    deleted.extend(
        file.inlined_deletes
            .iter()
            .filter(|&&p| p >= 0)
            .map(|&p| p as u64),
    );
    deleted.sort_unstable();
    deleted.dedup();
    Ok(scan.with_extension(without(file.record_count.max(0) as u64, &deleted)))
}

#[cfg(test)]
mod tests {
    use super::without;
    use parquet::arrow::arrow_reader::RowSelector;

    #[test]
    fn selection_skips_exactly_the_deleted_rows() {
        let s = without(10, &[0, 3, 4, 9, 12]);
        let selectors: Vec<RowSelector> = s.selection().clone().into();
        assert_eq!(
            selectors,
            vec![
                RowSelector::skip(1),
                RowSelector::select(2),
                RowSelector::skip(2),
                RowSelector::select(4),
                RowSelector::skip(1),
            ]
        );
        assert_eq!(s.selection().row_count(), 6);
        assert_eq!(without(3, &[]).selection().row_count(), 3);
    }
}
