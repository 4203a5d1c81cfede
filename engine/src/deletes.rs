//! Rows deleted by DuckDB: a data file with a live delete file is read with a row selection that
//! skips the deleted positions (DataFusion splits it into row groups when it opens the file), so
//! no deleted row is decoded, filtered or counted.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::array::{Array, Int64Array};
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReaderBuilder, RowSelection, RowSelector};
use strata_catalog::{DataFile, DeleteFile};

use crate::error::{Error, Result};
use crate::storage::Stores;

/// The column of a partial delete file that tags each deletion with its snapshot.
const SNAPSHOT_COLUMN: &str = "_ducklake_internal_snapshot_id";

/// Deletions read from a delete file: position, and the snapshot that deleted it (`i64::MIN`
/// for a file that is not partial, whose rows all apply).
type Deletions = Arc<Vec<(u64, i64)>>;

/// Delete files read so far, by path and size. DuckLake never rewrites a delete file (a new
/// delete writes a new one), so repeated queries need not fetch and decode them again.
fn cache() -> &'static Mutex<HashMap<(String, i64), Deletions>> {
    static CACHE: OnceLock<Mutex<HashMap<(String, i64), Deletions>>> = OnceLock::new();
    CACHE.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Delete files kept in the cache at most; beyond that it starts afresh.
const CACHED_FILES: usize = 4096;

/// The positions (from 0, sorted, distinct) a delete file deletes at the snapshot read.
pub(crate) async fn deleted_positions(stores: &Stores, delete: &DeleteFile) -> Result<Vec<u64>> {
    let key = (delete.path.clone(), delete.file_size);
    let cached = cache().lock().ok().and_then(|c| c.get(&key).cloned());
    let deletions = match cached {
        Some(d) => d,
        None => {
            let d = Arc::new(read_deletions(stores, delete).await?);
            if let Ok(mut c) = cache().lock() {
                if c.len() >= CACHED_FILES {
                    c.clear();
                }
                c.insert(key, Arc::clone(&d));
            }
            d
        }
    };
    let mut positions: Vec<u64> = deletions
        .iter()
        .filter(|(_, snapshot)| *snapshot <= delete.snapshot)
        .map(|(p, _)| *p)
        .collect();
    positions.sort_unstable();
    positions.dedup();
    Ok(positions)
}

/// Fetch and decode a delete file.
async fn read_deletions(stores: &Stores, delete: &DeleteFile) -> Result<Vec<(u64, i64)>> {
    let unreadable = |reason: String| {
        Error::Storage(format!(
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
    let mut deletions = Vec::new();
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
            let snapshot = match &snapshots {
                None => i64::MIN,
                Some(s) if s.is_valid(i) => s.value(i),
                // An untagged row of a partial file: never applies.
                Some(_) => i64::MAX,
            };
            if column.is_valid(i) && column.value(i) >= 0 {
                deletions.push((column.value(i) as u64, snapshot));
            }
        }
    }
    Ok(deletions)
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
    use super::{deleted_positions, without};
    use parquet::arrow::arrow_reader::RowSelector;

    #[tokio::test]
    async fn partial_delete_files_apply_as_of_the_snapshot_also_from_the_cache() {
        use arrow::array::{Int64Array, RecordBatch, StringArray};
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ducklake-x-delete.parquet");
        let batch = RecordBatch::try_from_iter([
            (
                "file_path",
                Arc::new(StringArray::from(vec!["f"; 4])) as arrow::array::ArrayRef,
            ),
            ("pos", Arc::new(Int64Array::from(vec![7, 1, 4, 1]))),
            (
                super::SNAPSHOT_COLUMN,
                Arc::new(Int64Array::from(vec![6, 5, 6, 5])),
            ),
        ])
        .unwrap();
        let mut writer = parquet::arrow::ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            None,
        )
        .unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        let stores = crate::storage::Stores::new(Default::default());
        let mut delete = strata_catalog::DeleteFile {
            path: path.display().to_string(),
            file_size: std::fs::metadata(&path).unwrap().len() as i64,
            delete_count: None,
            partial: true,
            snapshot: 5,
        };
        // The second call is answered from the cache, filtered for its own snapshot.
        assert_eq!(deleted_positions(&stores, &delete).await.unwrap(), vec![1]);
        delete.snapshot = 6;
        assert_eq!(
            deleted_positions(&stores, &delete).await.unwrap(),
            vec![1, 4, 7]
        );
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            deleted_positions(&stores, &delete).await.unwrap(),
            vec![1, 4, 7]
        );
    }

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
