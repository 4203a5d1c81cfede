//! The file index: each table's live files, and the statistics of the columns queries use, kept
//! in memory per table version, so that planning over a table of 100,000 files prunes in memory
//! instead of asking the catalog database again.
//!
//! An entry is keyed by the table and its version — the last snapshot that changed it, from the
//! catalog's snapshot log ([`TableVersions`]) — plus the oldest snapshot of that log. Every
//! commit to a table (an insert, a delete, a compaction, a schema change; by Strata, DuckDB or
//! any other process writing the catalog) gives it a new version, so a plan never sees another
//! snapshot's files; commits to other tables leave the entry in use. Only reads at the catalog's
//! current snapshot are served (time travel reads the catalog database), and a table whose
//! version is unknown (its changes expired) is planned from the catalog database directly, as
//! every table is when the index is off (`cache.files = 0`).
//!
//! Statistics are kept per column, decoded once into the arrays DataFusion's
//! `PruningPredicate` compares: a selective plan over 100,000 files evaluates its filter over
//! those arrays and copies out only the files it keeps. A plan that keeps every file (no filter,
//! or none that prunes) is given the scan the index built over all of them for the table's
//! version and the columns it reads ([`BuiltScan`]: DataFusion's files with their statistics and
//! delete selections, their merged statistics, their grouping), so an unfiltered plan over
//! 100,000 files does not build 100,000 files again. Entries are bounded in bytes (moka,
//! TinyLFU admission) and count against the engine's memory budget.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::{Column as DfColumn, ColumnStatistics, ScalarValue, Statistics};
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::FileGroup;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::execution::object_store::ObjectStoreUrl;
use parquet::arrow::arrow_reader::RowSelector;
use strata_catalog::{Catalog, ColumnStats, DataFile, FileQuery, SnapshotId, TableMeta};

use crate::pruning::{bounds_array, null_counts_array};
use crate::table_versions::TableVersions;

/// What an entry is found by: a table at a version, and what of it the entry holds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    table_id: i64,
    version: SnapshotId,
    oldest: SnapshotId,
    part: Part,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Part {
    /// The table's files.
    Files,
    /// One column's statistics.
    Column(i64),
    /// The scan of every file, built for one shape.
    Scan(ScanShape),
}

/// What a scan built over every file of a table depends on besides the table's version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct ScanShape {
    /// The table-schema columns the files' statistics cover.
    pub(crate) columns: Vec<usize>,
    /// The columns whose catalog statistics the files were given ([`Indexed::column_ids`]): a
    /// path-derived column without a partition key takes its value from them.
    pub(crate) stats: Vec<i64>,
    /// The session's target partitions (how the files are grouped).
    pub(crate) target_partitions: usize,
}

/// The file groups and statistics of a scan of every live file of a table, as DataFusion takes
/// them: what an unfiltered plan over 100,000 files spends most of its time building (a
/// `PartitionedFile` with decoded statistics and its delete selection per file, the merge of
/// their statistics, the grouping), built once per table version.
#[derive(Debug, Clone)]
pub(crate) struct BuiltScan {
    pub(crate) store_url: ObjectStoreUrl,
    pub(crate) groups: Vec<FileGroup>,
    pub(crate) statistics: Statistics,
}

#[derive(Clone)]
enum Entry {
    Files(Arc<TableFiles>),
    Column(Arc<ColumnIndex>),
    Scan(Arc<BuiltScan>),
}

/// A table's live files at one version, by data file id, without statistics.
pub(crate) struct TableFiles {
    /// Which load this is: the column statistics built over it carry it.
    load: u64,
    files: Vec<DataFile>,
    positions: HashMap<i64, usize>,
    row_counts: ArrayRef,
}

/// One column's statistics over a [`TableFiles`], in its order, and decoded for pruning.
pub(crate) struct ColumnIndex {
    /// The [`TableFiles::load`] whose order `stats` follows.
    load: u64,
    column_id: i64,
    stats: Vec<Option<ColumnStats>>,
    min: Option<ArrayRef>,
    max: Option<ArrayRef>,
    null_counts: ArrayRef,
}

/// A table's live files with the statistics of some of its columns, as the index has them.
pub(crate) struct Indexed {
    /// The key of the table's files.
    key: Key,
    files: Arc<TableFiles>,
    columns: Vec<Arc<ColumnIndex>>,
}

impl Indexed {
    /// How many live files the table has.
    pub(crate) fn len(&self) -> usize {
        self.files.files.len()
    }

    /// Data file ids, in the index's order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = i64> + '_ {
        self.files.files.iter().map(|f| f.data_file_id)
    }

    /// File `i` as the catalog would give it for `table` (read at its snapshot), with the
    /// statistics of the indexed columns.
    pub(crate) fn file(&self, i: usize, table: &TableMeta) -> DataFile {
        let mut file = self.files.files[i].clone();
        file.stats = self
            .columns
            .iter()
            .filter_map(|c| c.stats[i].clone())
            .collect();
        // The same delete file at every snapshot of this version; its rows are filtered by
        // the snapshot read, as the catalog sets it.
        if let Some(deletes) = &mut file.deletes {
            deletes.snapshot = table.snapshot;
        }
        file
    }

    /// The indexed columns' statistics of the first `files` files.
    pub(crate) fn sample_stats(&self, files: usize) -> impl Iterator<Item = &ColumnStats> + '_ {
        let files = files.min(self.len());
        (self.columns.iter()).flat_map(move |c| c.stats[..files].iter().flatten())
    }

    /// Every file, as [`Self::file`] gives them.
    pub(crate) fn all_files(&self, table: &TableMeta) -> Vec<DataFile> {
        (0..self.len()).map(|i| self.file(i, table)).collect()
    }

    /// The columns whose statistics the files carry, in order.
    pub(crate) fn column_ids(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self.columns.iter().map(|c| c.column_id).collect();
        ids.sort_unstable();
        ids
    }

    /// The bytes of every file.
    pub(crate) fn bytes(&self) -> u64 {
        (self.files.files.iter())
            .map(|f| f.file_size.max(0) as u64)
            .sum()
    }

    /// The statistics `PruningPredicate` asks for, over every file of the table.
    pub(crate) fn statistics<'a>(&'a self, table: &'a TableMeta) -> IndexedStatistics<'a> {
        IndexedStatistics {
            table,
            indexed: self,
        }
    }

    fn column(&self, table: &TableMeta, name: &str) -> Option<&ColumnIndex> {
        let id = table.column_by_name(name)?.column_id;
        self.columns
            .iter()
            .find(|c| c.column_id == id)
            .map(|c| c.as_ref())
    }
}

pub(crate) struct IndexedStatistics<'a> {
    table: &'a TableMeta,
    indexed: &'a Indexed,
}

impl PruningStatistics for IndexedStatistics<'_> {
    fn min_values(&self, column: &DfColumn) -> Option<ArrayRef> {
        self.indexed.column(self.table, &column.name)?.min.clone()
    }

    fn max_values(&self, column: &DfColumn) -> Option<ArrayRef> {
        self.indexed.column(self.table, &column.name)?.max.clone()
    }

    fn num_containers(&self) -> usize {
        self.indexed.len()
    }

    fn null_counts(&self, column: &DfColumn) -> Option<ArrayRef> {
        Some(Arc::clone(
            &self.indexed.column(self.table, &column.name)?.null_counts,
        ))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        Some(Arc::clone(&self.indexed.files.row_counts))
    }

    fn contained(
        &self,
        _column: &DfColumn,
        _values: &std::collections::HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

/// Tables' live files and column statistics by version, shared by every session of the engine.
pub(crate) struct FileIndex {
    versions: Arc<TableVersions>,
    entries: moka::sync::Cache<Key, Entry>,
    loads: AtomicU64,
}

impl FileIndex {
    /// An index of at most `capacity` bytes; None when `capacity` is 0.
    pub(crate) fn new(capacity: u64, versions: Arc<TableVersions>) -> Option<Arc<FileIndex>> {
        if capacity == 0 {
            return None;
        }
        let entries = moka::sync::Cache::builder()
            .weigher(|_: &Key, entry: &Entry| u32::try_from(entry.bytes()).unwrap_or(u32::MAX))
            .max_capacity(capacity)
            .build();
        Some(Arc::new(FileIndex {
            versions,
            entries,
            loads: AtomicU64::new(0),
        }))
    }

    /// The live files of `table` at its snapshot with the statistics of `columns`, loading
    /// what the index lacks from the catalog (blocking: call it off the async threads). None
    /// when the index cannot answer: the table is read at a snapshot older than the catalog's
    /// current one (time travel, or a statement prepared before a commit: DuckDB's flushes and
    /// merges date new files back, so an older snapshot's files may differ from what the index
    /// loaded for its version), or its version is unknown (changes expired).
    pub(crate) fn lookup(
        &self,
        catalog: &Catalog,
        table: &TableMeta,
        columns: &[i64],
    ) -> Result<Option<Indexed>, Arc<strata_catalog::Error>> {
        if catalog.current_snapshot().map_err(Arc::new)? != table.snapshot {
            return Ok(None);
        }
        let changes = self
            .versions
            .at(catalog, table.snapshot)
            .map_err(Arc::new)?;
        let Some(version) = changes.version(table.table_id, &table.schema, &table.name) else {
            return Ok(None);
        };
        let key = |part| Key {
            table_id: table.table_id,
            version,
            oldest: changes.oldest,
            part,
        };
        // Concurrent plans of a table not yet indexed wait for one load.
        let files = match self.entries.try_get_with(key(Part::Files), || {
            let load = self.loads.fetch_add(1, Ordering::Relaxed);
            load_files(catalog, table, load).map(|f| Entry::Files(Arc::new(f)))
        })? {
            Entry::Files(files) => files,
            _ => unreachable!("a table's key holds its files"),
        };
        let mut indexed = Vec::with_capacity(columns.len());
        let mut missing = Vec::new();
        for &column_id in columns {
            match self.entries.get(&key(Part::Column(column_id))) {
                // Built over this very file list (the list may have been let go and loaded
                // again since).
                Some(Entry::Column(c)) if c.load == files.load => indexed.push(c),
                _ if table.column(column_id).is_some() => missing.push(column_id),
                _ => {}
            }
        }
        if !missing.is_empty() {
            let mut rows: HashMap<i64, Vec<(i64, ColumnStats)>> = HashMap::new();
            for (file, stats) in catalog
                .file_column_stats(table, &missing)
                .map_err(Arc::new)?
            {
                rows.entry(stats.column_id).or_default().push((file, stats));
            }
            for column_id in missing {
                let Some(column) = table.column(column_id) else {
                    continue;
                };
                let built = Arc::new(ColumnIndex::new(
                    &files,
                    column,
                    rows.remove(&column_id).unwrap_or_default(),
                ));
                self.entries.insert(
                    key(Part::Column(column_id)),
                    Entry::Column(Arc::clone(&built)),
                );
                indexed.push(built);
            }
        }
        Ok(Some(Indexed {
            key: key(Part::Files),
            files,
            columns: indexed,
        }))
    }

    /// The scan of every file of `indexed` built for `shape`, if the index keeps one. It is
    /// whole in itself: built over the table's files at this version, which any load of them
    /// gives alike.
    pub(crate) fn built_scan(
        &self,
        indexed: &Indexed,
        shape: &ScanShape,
    ) -> Option<Arc<BuiltScan>> {
        match self.entries.get(&Self::scan_key(indexed, shape)) {
            Some(Entry::Scan(scan)) => Some(scan),
            _ => None,
        }
    }

    /// Keep `scan`, built over every file of `indexed` for `shape`.
    pub(crate) fn keep_scan(&self, indexed: &Indexed, shape: &ScanShape, scan: Arc<BuiltScan>) {
        self.entries
            .insert(Self::scan_key(indexed, shape), Entry::Scan(scan));
    }

    fn scan_key(indexed: &Indexed, shape: &ScanShape) -> Key {
        Key {
            part: Part::Scan(shape.clone()),
            ..indexed.key.clone()
        }
    }
}

/// Every live file of `table` at its snapshot: paths, sizes, partition values and deletes.
fn load_files(
    catalog: &Catalog,
    table: &TableMeta,
    load: u64,
) -> strata_catalog::Result<TableFiles> {
    let set = catalog.candidate_files(
        table,
        &FileQuery {
            ranges: Vec::new(),
            stats_columns: Some(Vec::new()),
        },
    )?;
    let positions = (set.files.iter().enumerate())
        .map(|(i, f)| (f.data_file_id, i))
        .collect();
    let row_counts: UInt64Array = (set.files.iter())
        .map(|f| Some(f.record_count as u64))
        .collect();
    Ok(TableFiles {
        load,
        files: set.files,
        positions,
        row_counts: Arc::new(row_counts),
    })
}

impl ColumnIndex {
    fn new(
        files: &TableFiles,
        column: &strata_catalog::Column,
        rows: Vec<(i64, ColumnStats)>,
    ) -> ColumnIndex {
        let mut stats = vec![None; files.files.len()];
        // Rows of files no longer live (replaced, or deleted from the table) are left out.
        for (id, s) in rows {
            if let Some(&i) = files.positions.get(&id) {
                stats[i] = Some(s);
            }
        }
        let min = bounds_array(stats.iter().map(Option::as_ref), &column.data_type, false);
        let max = bounds_array(stats.iter().map(Option::as_ref), &column.data_type, true);
        let null_counts = null_counts_array(stats.iter().map(Option::as_ref));
        ColumnIndex {
            load: files.load,
            column_id: column.column_id,
            stats,
            min,
            max,
            null_counts,
        }
    }
}

impl Entry {
    /// About what the entry holds in memory.
    fn bytes(&self) -> usize {
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::capacity);
        match self {
            Entry::Files(t) => {
                t.files
                    .iter()
                    .map(|f| {
                        std::mem::size_of::<DataFile>()
                            + f.path.capacity()
                            + f.partition_values
                                .iter()
                                .map(|(_, v)| 16 + text(v))
                                .sum::<usize>()
                            + f.deletes.as_ref().map_or(0, |d| 64 + d.path.capacity())
                            + 8 * f.inlined_deletes.capacity()
                            + 32
                    })
                    .sum::<usize>()
                    + t.row_counts.get_array_memory_size()
                    + t.positions.capacity() * 24
            }
            Entry::Column(c) => {
                c.stats
                    .iter()
                    .map(|s| {
                        std::mem::size_of::<Option<ColumnStats>>()
                            + s.as_ref().map_or(0, |s| text(&s.min) + text(&s.max))
                    })
                    .sum::<usize>()
                    + [&c.min, &c.max]
                        .into_iter()
                        .flatten()
                        .map(|a| a.get_array_memory_size())
                        .sum::<usize>()
                    + c.null_counts.get_array_memory_size()
            }
            Entry::Scan(scan) => {
                let value = |p: &Precision<ScalarValue>| p.get_value().map_or(0, ScalarValue::size);
                (scan.groups.iter())
                    .flat_map(|g| g.iter())
                    .map(|f| {
                        std::mem::size_of::<PartitionedFile>()
                            + f.object_meta.location.as_ref().len()
                            + f.partition_values.iter().map(ScalarValue::size).sum::<usize>()
                            + f.statistics.as_ref().map_or(0, |s| {
                                std::mem::size_of::<Statistics>()
                                    + (s.column_statistics.iter())
                                        .map(|c| {
                                            std::mem::size_of::<ColumnStatistics>()
                                                + value(&c.min_value)
                                                + value(&c.max_value)
                                        })
                                        .sum::<usize>()
                            })
                            // A delete selection: about two selectors a run of deleted rows.
                            + f.extensions.get::<ParquetRowSelection>().map_or(0, |s| {
                                s.selection().iter().count() * std::mem::size_of::<RowSelector>()
                            })
                    })
                    .sum()
            }
        }
    }
}

impl std::fmt::Debug for FileIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileIndex")
            .field("entries", &self.entries.entry_count())
            .field("bytes", &self.entries.weighted_size())
            .finish()
    }
}

impl crate::memory::Yielding for FileIndex {
    fn held(&self) -> usize {
        usize::try_from(self.entries.weighted_size()).unwrap_or(usize::MAX)
    }

    fn give_way(&self, bytes: usize) {
        crate::memory::evict(&self.entries, bytes, Entry::bytes);
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, Int64Array};

    use super::*;
    use crate::Engine;
    use crate::engine::tests::{open, run};

    async fn one_number(engine: &Engine, sql: &str) -> Option<i64> {
        let results = engine.session().run_all(sql).await.unwrap();
        let (_, batches, _) = results.last().unwrap();
        let column = batches[0].column(0);
        let numbers = column.as_any().downcast_ref::<Int64Array>().unwrap();
        (!numbers.is_null(0)).then(|| numbers.value(0))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_serves_until_its_table_changes() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        run(
            &engine,
            "CREATE TABLE t (n BIGINT); CREATE TABLE other (n BIGINT); \
             INSERT INTO t VALUES (1), (2); INSERT INTO t VALUES (30), (40)",
        )
        .await;
        let catalog = engine.catalog();
        let index = FileIndex::new(1 << 20, Arc::default()).unwrap();
        let n = engine
            .lake()
            .table("t")
            .unwrap()
            .column_by_name("n")
            .unwrap()
            .column_id;
        let look = || {
            let meta = engine.lake().table("t").unwrap();
            index.lookup(catalog, &meta, &[n]).unwrap().unwrap()
        };
        let first = look();
        assert_eq!(first.len(), 2);
        // File `i` carries the statistics of the indexed column, as the catalog recorded them.
        let maxima: Vec<_> = (0..2)
            .map(|i| {
                first.file(i, &engine.lake().table("t").unwrap()).stats[0]
                    .max
                    .clone()
            })
            .collect();
        assert_eq!(maxima, vec![Some("2".to_string()), Some("40".to_string())]);
        assert!(Arc::ptr_eq(&first.files, &look().files));

        // A commit to another table leaves the entry in use.
        run(&engine, "INSERT INTO other VALUES (5)").await;
        assert!(Arc::ptr_eq(&first.files, &look().files));

        // A commit to this table by another process gives it a new version.
        let writer = open(dir.path());
        run(&writer, "INSERT INTO t VALUES (500)").await;
        let after = look();
        assert!(!Arc::ptr_eq(&first.files, &after.files));
        assert_eq!(after.len(), 3);

        // An older snapshot is not served: later commits may have rewritten its past.
        let mut older = engine.lake().table("t").unwrap();
        older.snapshot -= 1;
        assert!(index.lookup(catalog, &older, &[n]).unwrap().is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn plans_see_every_commit_of_any_process() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let writer = open(dir.path());
        run(
            &engine,
            "CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (1), (2)",
        )
        .await;
        let sum = "SELECT sum(n) FROM t WHERE n > 1";
        let max = "SELECT max(n) FROM t WHERE n < 1000";
        assert_eq!(one_number(&engine, sum).await, Some(2));
        let before = engine.catalog().current_snapshot().unwrap();
        // Inserts and compaction made by another engine on the same catalog: every
        // answer is the table's at the current snapshot.
        run(&writer, "INSERT INTO t VALUES (700)").await;
        assert_eq!(one_number(&engine, sum).await, Some(702));
        assert_eq!(one_number(&engine, max).await, Some(700));
        run(&writer, "INSERT INTO t VALUES (3); CALL compact('t')").await;
        assert_eq!(one_number(&engine, sum).await, Some(705));
        assert_eq!(one_number(&engine, "SELECT count(*) FROM t").await, Some(4));
        // An older snapshot reads its own files, and the current one is still served after.
        let then = format!("SELECT sum(n) FROM table_at('t', {before}) WHERE n > 1");
        assert_eq!(one_number(&engine, &then).await, Some(2));
        assert_eq!(one_number(&engine, sum).await, Some(705));
        // A table dropped and created again under the same name is another table.
        run(
            &writer,
            "DROP TABLE t; CREATE TABLE t (n BIGINT); INSERT INTO t VALUES (9)",
        )
        .await;
        assert_eq!(one_number(&engine, sum).await, Some(9));
    }

    /// How many scans of every file the index keeps.
    fn scans(index: &FileIndex) -> usize {
        (index.entries.iter())
            .filter(|(k, _)| matches!(k.part, Part::Scan(_)))
            .count()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_scan_of_every_file_is_built_once_per_version_and_shape() {
        let dir = tempfile::tempdir().unwrap();
        let engine = open(dir.path());
        let writer = open(dir.path());
        run(
            &engine,
            "CREATE TABLE t (n BIGINT, s VARCHAR); INSERT INTO t VALUES (1, 'a'), (2, 'b'); \
             INSERT INTO t VALUES (30, 'c')",
        )
        .await;
        let index = engine.lake().stores().file_index().unwrap();
        let sum = "SELECT sum(n) FROM t";
        assert_eq!(one_number(&engine, sum).await, Some(33));
        assert_eq!(scans(&index), 1);
        // The same shape is served the scan built; a filter keeping every file is the same
        // scan, one over other columns another.
        assert_eq!(one_number(&engine, sum).await, Some(33));
        assert_eq!(
            one_number(&engine, "SELECT sum(n) FROM t WHERE n > 0").await,
            Some(33)
        );
        assert_eq!(scans(&index), 1);
        let count = "SELECT count(*) FROM t WHERE s >= 'a'";
        assert_eq!(one_number(&engine, count).await, Some(3));
        assert_eq!(scans(&index), 2);
        // A filter that drops a file is planned over the files it keeps.
        assert_eq!(
            one_number(&engine, "SELECT sum(n) FROM t WHERE n > 5").await,
            Some(30)
        );
        assert_eq!(scans(&index), 2);
        // Another process's commit: a new version, whose scan is built again.
        run(&writer, "INSERT INTO t VALUES (400, 'd')").await;
        assert_eq!(one_number(&engine, sum).await, Some(433));
        assert_eq!(one_number(&engine, count).await, Some(4));
        assert_eq!(scans(&index), 4);
        run(&writer, "CALL compact('t')").await;
        assert_eq!(one_number(&engine, sum).await, Some(433));
    }
}
