//! `CatalogScanExec`: a transparent wrapper over the Parquet scan of a catalog table that shows
//! in `EXPLAIN` how many files the catalog kept, and lets `--stats` find the scans of a plan.

use std::collections::HashMap;
use std::fmt;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex};

use datafusion::common::Result;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::config::ConfigOptions;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::DataFusionError;
use datafusion::execution::TaskContext;
use datafusion::physical_expr::{PhysicalExpr, PhysicalSortExpr};
use datafusion::physical_plan::execution_plan::{
    CardinalityEffect, ChildrenPropertiesMode, ReplaceChildrenOptions,
};
use datafusion::physical_plan::filter_pushdown::{
    ChildPushdownResult, FilterDescription, FilterPushdownPhase, FilterPushdownPropagation,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::sort_pushdown::SortOrderPushdownResult;
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
    Statistics,
};
use futures::StreamExt;
use futures::future::AbortHandle;

use crate::dictionary_pruning::DictionaryFilters;
use crate::parquet_reader::{CatalogReaderFactory, Reading};

/// Files a scan partition must hold before DataFusion is no longer asked to regroup them.
const MANY_FILES_A_GROUP: usize = 32;

/// Files a scan partition must hold before the scan declares its grouping, so that DataFusion
/// does not regroup the Parquet scan under `CatalogScanExec` either: that copies and regroups
/// every file (two thirds of an unfiltered plan over 100,000 files), while with fewer files a
/// group its byte-range balancing still pays (logs q24, 124 files a group: 1.29× slower hot
/// without it).
const FILES_A_GROUP_TO_DECLARE: usize = 1024;

/// Whether `groups` of `files` in all, for `target_partitions`, are left as they are: with many
/// files a group, DataFusion's regrouping could not even them out further (they are balanced by
/// size, `file_groups::balance`), and it costs time per file; with few, it may split a large
/// file across partitions, which helps.
fn keeps_its_groups(groups: usize, files: usize, target_partitions: usize) -> bool {
    groups >= target_partitions && files >= MANY_FILES_A_GROUP * groups
}

/// Whether a scan of `groups` of `files` in all declares its grouping
/// ([`FILES_A_GROUP_TO_DECLARE`]).
pub(crate) fn declares_its_groups(groups: usize, files: usize, target_partitions: usize) -> bool {
    groups >= target_partitions && files >= FILES_A_GROUP_TO_DECLARE * groups
}
/// `e` with the file it happened in, unless it names one already (storage errors do) or is a
/// cancellation or a limit.
fn name_file(e: DataFusionError, table: &str, file: Option<String>) -> DataFusionError {
    let Some(file) = file else { return e };
    let text = e.to_string();
    if text.contains(&file)
        || matches!(
            e.find_root(),
            DataFusionError::ResourcesExhausted(_) | DataFusionError::ExecutionJoin(_)
        )
        || text.contains("storage error")
    {
        return e;
    }
    DataFusionError::External(Box::new(crate::Error::CorruptFile {
        table: table.to_string(),
        file,
        message: e.find_root().to_string(),
    }))
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".to_string())
}

/// What the catalog did for one scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    pub table: String,
    pub snapshot: i64,
    /// Live files of the table.
    pub total_files: usize,
    /// Files left after the SQL pre-filter in the catalog.
    pub catalog_candidates: usize,
    /// Files left after in-memory pruning: the files the scan reads.
    pub files: usize,
    /// Bytes of those files (what the scan reads at most).
    pub bytes: u64,
    /// Files whose part of the answer came from the catalog's statistics, unread (a
    /// `GROUP BY` of partition columns with `count`/`min`/`max`).
    pub answered: usize,
}

/// Wraps the Parquet `DataSourceExec` of a catalog table. Errors of the scan (and panics of
/// the Parquet decoder on a corrupt file) become errors that name the file being read.
#[derive(Debug, Clone)]
pub struct CatalogScanExec {
    input: Arc<dyn ExecutionPlan>,
    summary: ScanSummary,
    reading: Arc<Reading>,
    prefetch: Option<Arc<FooterPrefetch>>,
    /// The column names by column id the scan's files are read by (its
    /// `FieldIdAdapterFactory`, which cannot be looked into), for the plan's codec.
    field_ids: Option<Arc<HashMap<i64, String>>>,
    /// Stored bytes per value of the columns whose statistics the catalog gave (see
    /// [`crate::table::Chosen::bytes_per_value`]), for the planner's guesses; not encoded.
    bytes_per_value: Arc<HashMap<String, f64>>,
    /// The filters its readers check column dictionaries against, shared with its reader
    /// factory; taken from its predicate when it executes, if enabled.
    dictionary: Arc<DictionaryFilters>,
    /// Whether a read that failed but may pass when tried again ends the stream with an IO
    /// error: on a cluster's executor, where Ballista runs a task again only after an IO
    /// error (`task_max_failures`); set by the plan codec. Elsewhere the error is kept as is.
    retry_io: bool,
}

/// Footers a scan on object storage reads as soon as its statement starts executing rather
/// than when the scan starts: a scan that waits for another (the probe side of a join waits
/// for its build side, often behind a repartition that starts it late) then finds them in the
/// cache. Only plans that run start it: `EXPLAIN`, and scans the catalog answered, read nothing.
#[derive(Debug)]
pub struct FooterPrefetch {
    reader: Arc<CatalogReaderFactory>,
    files: Mutex<Option<Vec<PartitionedFile>>>,
    /// The reads started, stopped when the plan is dropped (its statement ended).
    reads: Mutex<Vec<AbortHandle>>,
}

impl FooterPrefetch {
    pub(crate) fn new(reader: Arc<CatalogReaderFactory>, files: Vec<PartitionedFile>) -> Self {
        FooterPrefetch {
            reader,
            files: Mutex::new(Some(files)),
            reads: Mutex::default(),
        }
    }

    /// Start the reads (once).
    fn start(&self) {
        let files = self.files.lock().ok().and_then(|mut f| f.take());
        if let Some(files) = files {
            let started = self.reader.prefetch_footers(files);
            if let Ok(mut reads) = self.reads.lock() {
                reads.extend(started);
            }
        }
    }
}

impl Drop for FooterPrefetch {
    fn drop(&mut self) {
        if let Ok(reads) = self.reads.lock() {
            for read in reads.iter() {
                read.abort();
            }
        }
    }
}

/// Start the footer reads of every scan in `plan`, which is about to execute.
pub(crate) fn start_prefetch(plan: &Arc<dyn ExecutionPlan>) {
    let _ = plan.apply(|node| {
        if let Some(scan) = node.downcast_ref::<CatalogScanExec>()
            && let Some(prefetch) = &scan.prefetch
        {
            prefetch.start();
        }
        Ok(TreeNodeRecursion::Continue)
    });
}

impl CatalogScanExec {
    pub fn new(input: Arc<dyn ExecutionPlan>, summary: ScanSummary) -> Self {
        CatalogScanExec {
            input,
            summary,
            reading: Arc::default(),
            prefetch: None,
            field_ids: None,
            bytes_per_value: Arc::default(),
            dictionary: Arc::default(),
            retry_io: false,
        }
    }

    /// End the stream with an IO error for a failed read that may pass when tried again
    /// (on a cluster's executors; see the field).
    pub(crate) fn retry_io(mut self, retry_io: bool) -> Self {
        self.retry_io = retry_io;
        self
    }

    /// Share the filters its readers check dictionaries against with the scan's reader
    /// factory.
    pub(crate) fn dictionary_filters(mut self, filters: Arc<DictionaryFilters>) -> Self {
        self.dictionary = filters;
        self
    }

    /// The filters its readers check dictionaries against ([`crate::dictionary_pruning`]).
    pub(crate) fn dictionary_filters_of(&self) -> &DictionaryFilters {
        &self.dictionary
    }

    /// Stored bytes per value of some of the scan's columns (by name).
    pub(crate) fn bytes_per_value(mut self, bytes_per_value: Arc<HashMap<String, f64>>) -> Self {
        self.bytes_per_value = bytes_per_value;
        self
    }

    /// The stored (compressed) bytes per value of column `name` in the scan's files, when the
    /// catalog gave its statistics: about the log of its distinct values for a dictionary-
    /// encoded column in no particular order (0.3 for five levels, 2 for thousands of paths).
    pub(crate) fn column_bytes_per_value(&self, name: &str) -> Option<f64> {
        self.bytes_per_value.get(name).copied()
    }

    /// The column names by column id the files are read by (the scan's adapter's map).
    pub(crate) fn field_ids(mut self, field_ids: Option<Arc<HashMap<i64, String>>>) -> Self {
        self.field_ids = field_ids;
        self
    }

    pub(crate) fn field_id_names(&self) -> Option<&Arc<HashMap<i64, String>>> {
        self.field_ids.as_ref()
    }

    /// Footers to read when the statement starts executing.
    pub(crate) fn prefetch(mut self, prefetch: Option<Arc<FooterPrefetch>>) -> Self {
        self.prefetch = prefetch;
        self
    }

    /// Share the record of which file each partition reads with the scan's reader factory.
    pub(crate) fn reading(mut self, reading: Arc<Reading>) -> Self {
        self.reading = reading;
        self
    }

    /// What the catalog did for this scan.
    pub fn summary(&self) -> &ScanSummary {
        &self.summary
    }

    /// The plan this scan wraps.
    pub(crate) fn input(&self) -> &Arc<dyn ExecutionPlan> {
        &self.input
    }

    fn wrap(&self, input: Arc<dyn ExecutionPlan>) -> Arc<dyn ExecutionPlan> {
        Arc::new(CatalogScanExec {
            input,
            summary: self.summary.clone(),
            reading: Arc::clone(&self.reading),
            prefetch: self.prefetch.clone(),
            field_ids: self.field_ids.clone(),
            bytes_per_value: Arc::clone(&self.bytes_per_value),
            dictionary: Arc::clone(&self.dictionary),
            retry_io: self.retry_io,
        })
    }
}

impl DisplayAs for CatalogScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let s = &self.summary;
        write!(
            f,
            "CatalogScanExec: table={}, snapshot={}, files={} of {} (catalog kept {}, statistics pruned {})",
            s.table,
            s.snapshot,
            s.files,
            s.total_files,
            s.catalog_candidates,
            s.catalog_candidates - s.files - s.answered
        )?;
        if s.answered > 0 {
            write!(f, ", answered from statistics {}", s.answered)?;
        }
        Ok(())
    }
}

impl ExecutionPlan for CatalogScanExec {
    fn name(&self) -> &'static str {
        "CatalogScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    fn benefits_from_input_partitioning(&self) -> Vec<bool> {
        vec![false]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn replace_children(
        self: Arc<Self>,
        mut children: Vec<Arc<dyn ExecutionPlan>>,
        _options: ReplaceChildrenOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        // Properties are always the child's, so there is nothing to recompute.
        Ok(self.wrap(children.swap_remove(0)))
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(
            children,
            ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute),
        )
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        self.dictionary
            .set_from(&self.input, self.field_ids.as_ref());
        let stream = self.input.execute(partition, context)?;
        let schema = stream.schema();
        let reading = Arc::clone(&self.reading);
        let table = self.summary.table.clone();
        let retry_io = self.retry_io;
        let named = AssertUnwindSafe(stream)
            .catch_unwind()
            .map(move |item| match item {
                Ok(Ok(batch)) => Ok(batch),
                Ok(Err(e)) if retry_io && crate::requests::is_transient_storage_failure(&e) => Err(
                    DataFusionError::IoError(std::io::Error::other(e.to_string())),
                ),
                Ok(Err(e)) => Err(name_file(e, &table, reading.file(partition))),
                Err(payload) => Err(name_file(
                    DataFusionError::Execution(format!(
                        "the Parquet reader failed: {}",
                        panic_text(payload.as_ref())
                    )),
                    &table,
                    reading.file(partition),
                )),
            });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, named)))
    }

    // DataFusion 55 computes statistics bottom-up (`StatisticsContext`): the scan's are its
    // input's, which the context computes when asked for them here. (Delegating through the
    // deprecated `partition_statistics` answered "unknown", which kept `count(*)`, `min`/`max`
    // from being answered from the catalog's statistics and join planning from row counts.)
    fn child_stats_requests(&self, partition: Option<usize>) -> Vec<ChildStats> {
        vec![ChildStats::At(partition)]
    }

    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<Statistics>],
        _args: &StatisticsArgs,
    ) -> Result<Arc<Statistics>> {
        Ok(input_stats
            .first()
            .cloned()
            .unwrap_or_else(|| Arc::new(Statistics::new_unknown(self.schema().as_ref()))))
    }

    fn repartitioned(
        &self,
        target_partitions: usize,
        config: &ConfigOptions,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        // The scan's files are already in size-balanced groups, one a partition: regrouping
        // them costs time per file (a fifth of planning 100,000 files).
        let groups = self
            .input
            .properties()
            .output_partitioning()
            .partition_count();
        if keeps_its_groups(groups, self.summary.files, target_partitions) {
            return Ok(None);
        }
        Ok(self
            .input
            .repartitioned(target_partitions, config)?
            .map(|p| self.wrap(p)))
    }

    fn supports_limit_pushdown(&self) -> bool {
        self.input.supports_limit_pushdown()
    }

    fn with_fetch(&self, limit: Option<usize>) -> Option<Arc<dyn ExecutionPlan>> {
        self.input.with_fetch(limit).map(|p| self.wrap(p))
    }

    fn fetch(&self) -> Option<usize> {
        self.input.fetch()
    }

    fn cardinality_effect(&self) -> CardinalityEffect {
        CardinalityEffect::Equal
    }

    fn try_swapping_with_projection(
        &self,
        projection: &ProjectionExec,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .input
            .try_swapping_with_projection(projection)?
            .map(|p| self.wrap(p)))
    }

    fn gather_filters_for_pushdown(
        &self,
        _phase: FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn PhysicalExpr>>,
        _config: &ConfigOptions,
    ) -> Result<FilterDescription> {
        FilterDescription::from_children(parent_filters, &self.children())
    }

    fn handle_child_pushdown_result(
        &self,
        _phase: FilterPushdownPhase,
        child_pushdown_result: ChildPushdownResult,
        _config: &ConfigOptions,
    ) -> Result<FilterPushdownPropagation<Arc<dyn ExecutionPlan>>> {
        Ok(FilterPushdownPropagation::if_all(child_pushdown_result))
    }

    fn try_pushdown_sort(
        &self,
        order: &[PhysicalSortExpr],
    ) -> Result<SortOrderPushdownResult<Arc<dyn ExecutionPlan>>> {
        self.input.try_pushdown_sort(order)?.try_map(|p| {
            // The files are now read in the order of their statistics: the footers read
            // early are those of the new first files.
            let prefetch = self.prefetch.as_ref().map(|prefetch| {
                Arc::new(FooterPrefetch::new(
                    Arc::clone(&prefetch.reader),
                    first_files_of(&p).unwrap_or_default(),
                ))
            });
            Ok(Arc::new(CatalogScanExec {
                input: p,
                prefetch,
                ..self.clone()
            }) as Arc<dyn ExecutionPlan>)
        })
    }
}

/// The first file of each group of the Parquet scan `plan`, if it is one.
fn first_files_of(plan: &Arc<dyn ExecutionPlan>) -> Option<Vec<PartitionedFile>> {
    let config = file_scan_config_of(plan)?;
    Some(crate::file_groups::first_files(&config.file_groups))
}

/// The file scan configuration of `plan`, if it is a file scan.
pub(crate) fn file_scan_config_of(plan: &Arc<dyn ExecutionPlan>) -> Option<&FileScanConfig> {
    let source = match plan.downcast_ref::<DataSourceExec>() {
        Some(source) => source,
        // A scan wrapped once more (DataFusion's cooperative scheduling wrapper).
        None => plan.children().first()?.downcast_ref::<DataSourceExec>()?,
    };
    source.data_source().downcast_ref::<FileScanConfig>()
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::{DataType, Field, Schema};
    use datafusion::common::ScalarValue;
    use datafusion::common::stats::{ColumnStatistics, Precision, Statistics};
    use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
    use datafusion::execution::object_store::ObjectStoreUrl;
    use datafusion::physical_expr::expressions::Column;

    use super::*;

    fn file(name: &str, min: i64, max: i64) -> PartitionedFile {
        let mut stats =
            Statistics::new_unknown(&Schema::new(vec![Field::new("ts", DataType::Int64, false)]));
        stats.column_statistics = vec![ColumnStatistics {
            min_value: Precision::Exact(ScalarValue::Int64(Some(min))),
            max_value: Precision::Exact(ScalarValue::Int64(Some(max))),
            null_count: Precision::Exact(0),
            ..ColumnStatistics::new_unknown()
        }];
        PartitionedFile::new(name, 100).with_statistics(Arc::new(stats))
    }

    #[test]
    fn a_scan_reordered_for_a_sort_prefetches_the_footers_it_now_reads_first() {
        let dir = tempfile::tempdir().unwrap();
        let (factory, _) = crate::parquet_reader::tests::factory_over(dir.path());
        let schema = Arc::new(Schema::new(vec![Field::new("ts", DataType::Int64, false)]));
        // Two groups, each in path order: oldest first.
        let groups = vec![
            FileGroup::new(vec![file("a1", 0, 9), file("a2", 20, 29)]),
            FileGroup::new(vec![file("b1", 10, 19), file("b2", 30, 39)]),
        ];
        let config = FileScanConfigBuilder::new(
            ObjectStoreUrl::local_filesystem(),
            Arc::new(ParquetSource::new(Arc::clone(&schema))),
        )
        .with_file_groups(groups.clone())
        .build();
        let prefetch =
            FooterPrefetch::new(Arc::new(factory), crate::file_groups::first_files(&groups));
        let scan = CatalogScanExec::new(
            DataSourceExec::from_data_source(config),
            ScanSummary {
                table: "t".into(),
                snapshot: 1,
                total_files: 4,
                catalog_candidates: 4,
                files: 4,
                bytes: 400,
                answered: 0,
            },
        )
        .prefetch(Some(Arc::new(prefetch)));
        let prefetched = |plan: &Arc<dyn ExecutionPlan>| -> Vec<String> {
            let scan = plan.downcast_ref::<CatalogScanExec>().unwrap();
            let files = scan.prefetch.as_ref().unwrap().files.lock().unwrap();
            files
                .as_ref()
                .unwrap()
                .iter()
                .map(|f| f.object_meta.location.to_string())
                .collect()
        };
        let before: Arc<dyn ExecutionPlan> = Arc::new(scan.clone());
        assert_eq!(prefetched(&before), ["a1", "b1"]);
        // Newest first: each group now starts with its newest file, and so do the reads.
        let order = [PhysicalSortExpr::new(
            Arc::new(Column::new("ts", 0)),
            arrow::compute::SortOptions {
                descending: true,
                nulls_first: false,
            },
        )];
        let arranged = scan
            .try_pushdown_sort(&order)
            .unwrap()
            .into_inner()
            .unwrap();
        assert_eq!(prefetched(&arranged), ["a2", "b2"]);
    }
}
