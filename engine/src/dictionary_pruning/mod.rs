//! Row groups skipped when no value in a string column's dictionary passes the filter.
//!
//! `pickup_ntaname LIKE '%Park%'` over 20 M trips (no trip matches) took 84 ms on a warm
//! server where DuckDB took 27: the scan decoded the column's 20 M values and evaluated the
//! filter (once per distinct value, [`crate::repeated_strings`], but still mapping every row),
//! to keep nothing. Parquet writers dictionary-encode such columns: each column chunk begins
//! with a dictionary page holding its distinct values, a few hundred bytes for 200 names.
//! When every data page of the chunk refers to that dictionary, a row group in which no
//! dictionary value passes a filter of that one column has no row that passes it.
//!
//! [`DictionaryPruning`] marks the catalog scans; when such a scan starts executing it takes
//! the conjuncts of its Parquet predicate that read one string column of the files
//! ([`DictionaryFilters`]). Its readers then check each row group of a file when they load the
//! file's footer: they read the column chunk (the range the scan reads next, through the data
//! cache, so a row group that stays costs no second read; of a chunk over 1 MiB only its
//! dictionary page), decode its dictionary page,
//! evaluate the conjunct on the values (and on a null when the chunk may hold nulls), and hand
//! DataFusion's Parquet reader a footer without the row groups where nothing passed. The
//! reader never reads those; files are opened as before, one after another, so a scan that
//! stops early (a limit) checks only the files it opens. Only row groups DataFusion's pruning
//! by statistics keeps are checked, an equality or `IN` list is left to a chunk's bloom filter
//! when it has one (a smaller read), and a scan whose predicate holds a dynamic filter (a
//! top-N's threshold, a join's keys, which skip row groups as the query runs) checks none.
//!
//! Checks cost a dictionary's decoding and the filter's evaluation on its values: dictionaries
//! over 64 KiB are not checked (thousands of paths or URLs, where an equality is the bloom
//! filters' to prune), and a scan stops checking a filter once fewer than one in eight of its
//! first chunks was ruled out (`level = 'ERROR'` is in every row group): a needle of a
//! 32 KiB path dictionary found in every row group cost a warm server 19 ms more per query
//! before that.
//!
//! A row group is only dropped on proof: a column not of text (a decimal stored as bytes reads
//! as other text), a chunk with a data page not dictionary-encoded
//! (writers fall back to plain encoding when the dictionary grows too big), a value that is
//! not UTF-8, any error, or a file with a delete selection (whose row numbers count every row
//! group) keeps every row group. `EXPLAIN ANALYZE` counts the dropped row groups
//! (`row_groups_pruned_dictionary`); `engine.dictionary_pruning = false` turns it off.

use std::fmt;
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use arrow::array::{Array, ArrayRef, AsArray, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use bytes::Bytes;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::datasource::physical_plan::parquet::{
    ParquetAccessPlan, ParquetFileMetrics, RowGroupAccessPlanFilter,
};
use datafusion::datasource::physical_plan::{FileSource, ParquetSource};
use datafusion::error::Result;
use datafusion::physical_expr::expressions::{Column, DynamicFilterPhysicalExpr};
use datafusion::physical_expr::utils::{collect_columns, split_conjunction};
use datafusion::physical_expr::{PhysicalExpr, conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::metrics::{Count, ExecutionPlanMetricsSet};
use futures::FutureExt;
use futures::future::BoxFuture;
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::basic::Type as PhysicalType;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataBuilder, RowGroupMetaData};

use crate::scan_exec::CatalogScanExec;

mod chunk;

use chunk::{all_dictionary, dictionary, text};

/// Dictionary pages larger than this are not checked (a dictionary that big holds thousands
/// of values, costly to check, and an equality with a value of such a column is what bloom
/// filters are for).
const MAX_DICTIONARY_BYTES: u64 = 64 * 1024;

/// Chunks up to this size are read whole for a check (the range the scan then reads from the
/// data cache); of larger ones only the dictionary page is read.
const WHOLE_CHUNK_BYTES: u64 = 1024 * 1024;

/// A scan stops checking a filter after this many chunks when fewer than one in
/// [`GIVE_UP_SHARE`] was ruled out: a value found in every row group (`level = 'ERROR'`, a
/// path most hours see) would cost a check per chunk for nothing.
const GIVE_UP_AFTER: usize = 8;
const GIVE_UP_SHARE: usize = 8;

/// The rule; off (`engine.dictionary_pruning = false`) it changes nothing.
#[derive(Debug)]
pub(crate) struct DictionaryPruning {
    pub(crate) enabled: bool,
}

impl PhysicalOptimizerRule for DictionaryPruning {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !self.enabled {
            return Ok(plan);
        }
        // The scans are marked in place (their filters are shared with their readers): a
        // rewritten plan would rebuild every node above them.
        plan.apply(|node| {
            if let Some(scan) = node.downcast_ref::<CatalogScanExec>() {
                scan.dictionary_filters_of().enable();
            }
            Ok(TreeNodeRecursion::Continue)
        })?;
        Ok(plan)
    }

    fn name(&self) -> &str {
        "strata_dictionary_pruning"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// One conjunct of a scan's predicate that reads one string column of the files.
#[derive(Debug)]
struct DictionaryFilter {
    /// The column's name in the table.
    name: String,
    /// The column's id, the field id of its Parquet column, when the files are read by id.
    field_id: Option<i64>,
    /// The conjunct, reading the column as column 0 of `schema`.
    predicate: Arc<dyn PhysicalExpr>,
    /// One field: the column with the table's type.
    schema: SchemaRef,
    /// An equality or `IN` list, which a chunk's bloom filter answers more cheaply: chunks
    /// with one are left to it.
    bloom: bool,
    /// Chunks whose check was started, checked, and of those ruled out, by the scan's
    /// readers so far.
    started: AtomicUsize,
    checked: AtomicUsize,
    ruled_out: AtomicUsize,
}

impl DictionaryFilter {
    /// Whether the scan has checked enough chunks against this filter to see it rarely rules
    /// one out.
    fn given_up(&self) -> bool {
        let checked = self.checked.load(Ordering::Relaxed);
        checked >= GIVE_UP_AFTER && self.ruled_out.load(Ordering::Relaxed) * GIVE_UP_SHARE < checked
    }

    /// Whether a reader may start one more check: the scan's first [`GIVE_UP_AFTER`], then
    /// only once those have shown the filter rules chunks out (a reader's other checks wait
    /// for its first ones). Readers open files at once (16
    /// pieces of a scan of object storage), and counting only finished checks let all of
    /// them check every row group before the first results were in: TPC-H q12 on S3
    /// (`l_shipmode IN ('MAIL', 'SHIP')`, in every row group) made 56 more requests, 1.2 s
    /// more cold.
    fn start(&self) -> bool {
        if self.started.fetch_add(1, Ordering::Relaxed) < GIVE_UP_AFTER
            || (self.checked.load(Ordering::Relaxed) >= GIVE_UP_AFTER && !self.given_up())
        {
            return true;
        }
        // Only the checks let start are counted.
        self.unstart();
        false
    }

    /// A check started and not done (its read failed, or another filter ruled its row group
    /// out first).
    fn unstart(&self) {
        self.started.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The filters a scan's readers check dictionaries against: set by the scan when it starts
/// executing (its predicate is final then) if the rule enabled them, read by the readers its
/// factory creates.
#[derive(Debug, Default)]
pub struct DictionaryFilters {
    enabled: AtomicBool,
    scan: OnceLock<ScanFilters>,
}

/// What a scan's readers check: its filters of one string column; and its predicate's
/// conjuncts over the table's schema, with which row groups are pruned by their statistics
/// first, as DataFusion's scan will (row groups it skips anyway are not checked).
#[derive(Debug, Default)]
struct ScanFilters {
    filters: Vec<DictionaryFilter>,
    conjuncts: Vec<Arc<dyn PhysicalExpr>>,
    table: Option<SchemaRef>,
}

impl DictionaryFilters {
    fn enable(&self) {
        self.enabled.store(true, Ordering::Relaxed);
    }

    /// Take the filters from the Parquet scan `input`, if enabled (once; later calls keep the
    /// first).
    pub(crate) fn set_from(
        &self,
        input: &Arc<dyn ExecutionPlan>,
        field_ids: Option<&Arc<std::collections::HashMap<i64, String>>>,
    ) {
        if self.enabled.load(Ordering::Relaxed) {
            self.scan.get_or_init(|| filters_of(input, field_ids));
        }
    }

    fn get(&self) -> Option<&ScanFilters> {
        self.scan.get().filter(|s| !s.filters.is_empty())
    }

    /// Whether readers have filters to check (the scan has started, with some).
    pub(crate) fn active(&self) -> bool {
        self.get().is_some()
    }
}

/// The conjuncts of the Parquet predicate of `input` (a `DataSourceExec`, possibly under
/// DataFusion's cooperative wrapper) that read one string column of the files.
fn filters_of(
    input: &Arc<dyn ExecutionPlan>,
    field_ids: Option<&Arc<std::collections::HashMap<i64, String>>>,
) -> ScanFilters {
    let Some(config) = crate::scan_exec::file_scan_config_of(input) else {
        return ScanFilters::default();
    };
    let Some(parquet) = config.file_source.downcast_ref::<ParquetSource>() else {
        return ScanFilters::default();
    };
    let Some(predicate) = FileSource::filter(parquet) else {
        return ScanFilters::default();
    };
    // A dynamic filter (a join's keys, a top-N's threshold) tightens as the query runs: the
    // scan's own pruning then skips row groups a check made when the file opens would read
    // (a top-N over a hot cache read chunks of object storage it never needed).
    let mut dynamic = false;
    let _ = predicate.apply(|e| {
        dynamic |= e.downcast_ref::<DynamicFilterPhysicalExpr>().is_some();
        Ok(TreeNodeRecursion::Continue)
    });
    if dynamic {
        return ScanFilters::default();
    }
    let table = config.file_source.table_schema().table_schema();
    let files = config.file_schema();
    let conjuncts = split_conjunction(&predicate).into_iter().cloned().collect();
    let filters = split_conjunction(&predicate)
        .into_iter()
        .filter_map(|conjunct| {
            let columns = collect_columns(conjunct);
            let [column] = columns.iter().collect::<Vec<_>>()[..] else {
                return None;
            };
            // By name: the predicate's column indexes may be those of the scan's projection.
            let field = table.field_with_name(column.name()).ok()?;
            if files.field_with_name(column.name()).is_err()
                || !matches!(
                    field.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                )
            {
                return None;
            }
            let predicate = Arc::clone(conjunct)
                .transform(|e| {
                    Ok(match e.downcast_ref::<Column>() {
                        Some(c) => Transformed::new(
                            Arc::new(Column::new(c.name(), 0)) as Arc<dyn PhysicalExpr>,
                            true,
                            TreeNodeRecursion::Jump,
                        ),
                        None => Transformed::no(e),
                    })
                })
                .data()
                .ok()?;
            let field_id = match field_ids {
                Some(ids) => Some(ids.iter().find(|(_, n)| *n == column.name())?.0).copied(),
                None => None,
            };
            Some(DictionaryFilter {
                name: column.name().to_string(),
                field_id,
                predicate,
                schema: Arc::new(Schema::new(vec![Field::new(
                    column.name(),
                    field.data_type().clone(),
                    true,
                )])),
                bloom: equality(conjunct),
                started: AtomicUsize::new(0),
                checked: AtomicUsize::new(0),
                ruled_out: AtomicUsize::new(0),
            })
        })
        .collect();
    ScanFilters {
        filters,
        conjuncts,
        table: Some(Arc::clone(table)),
    }
}

/// Whether `conjunct` is `column = literal` or `column IN (literals)`: what DataFusion prunes
/// row groups with by their bloom filters.
fn equality(conjunct: &Arc<dyn PhysicalExpr>) -> bool {
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, InListExpr, Literal};
    let is = |e: &Arc<dyn PhysicalExpr>, literal: bool| {
        if literal {
            e.downcast_ref::<Literal>().is_some()
        } else {
            e.downcast_ref::<Column>().is_some()
        }
    };
    if let Some(b) = conjunct.downcast_ref::<BinaryExpr>() {
        return *b.op() == Operator::Eq
            && ((is(b.left(), false) && is(b.right(), true))
                || (is(b.left(), true) && is(b.right(), false)));
    }
    if let Some(list) = conjunct.downcast_ref::<InListExpr>() {
        return !list.negated()
            && is(list.expr(), false)
            && list.list().iter().all(|e| is(e, true));
    }
    false
}

/// A reader whose footer leaves out the row groups the dictionaries rule out.
pub(crate) struct DictionaryPruned {
    pub(crate) inner: Box<dyn AsyncFileReader + Send>,
    pub(crate) filters: Arc<DictionaryFilters>,
    /// The part of the file this reader's scan reads (row groups outside are not checked).
    pub(crate) range: Option<Range<u64>>,
    /// Row groups dropped (`row_groups_pruned_dictionary`).
    pub(crate) pruned: Count,
}

impl AsyncFileReader for DictionaryPruned {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        self.inner.get_bytes(range)
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        self.inner.get_byte_ranges(ranges)
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = self.inner.get_metadata(options).await?;
            let Some(scan) = self.filters.get() else {
                return Ok(metadata);
            };
            let filters = &scan.filters;
            let mut checks = checks(&metadata, filters, self.range.as_ref());
            if checks.is_empty() {
                return Ok(metadata);
            }
            // Row groups DataFusion's scan skips by their statistics are not checked.
            if let Some(read) = scan
                .table
                .as_ref()
                .and_then(|table| read_after_statistics(&metadata, &scan.conjuncts, table))
            {
                checks.retain(|c| read[c.row_group]);
            }
            // The checks the scan lets start now; then, once their results show the filter
            // rules chunks out, the rest of the file's.
            let mut ruled_out = vec![false; metadata.num_row_groups()];
            let mut pending = checks;
            while !pending.is_empty() {
                let (now, later): (Vec<Check>, Vec<Check>) = pending
                    .into_iter()
                    .filter(|c| !ruled_out[c.row_group])
                    .partition(|c| filters[c.filter].start());
                if now.is_empty() {
                    break;
                }
                let ranges = now.iter().map(|c| c.bytes.clone()).collect();
                // A failed read is the scan's to report, when it reads the same range. Checks
                // started and not finished are given back (or the scan, counting them, would
                // wait for their results for good).
                let Ok(chunks) = self.inner.get_byte_ranges(ranges).await else {
                    for check in &now {
                        filters[check.filter].unstart();
                    }
                    break;
                };
                for (check, chunk) in now.iter().zip(chunks) {
                    if ruled_out[check.row_group] {
                        filters[check.filter].unstart();
                        continue;
                    }
                    let filter = &filters[check.filter];
                    filter.checked.fetch_add(1, Ordering::Relaxed);
                    if check.rules_out(&metadata, filter, chunk) {
                        filter.ruled_out.fetch_add(1, Ordering::Relaxed);
                        ruled_out[check.row_group] = true;
                    }
                }
                pending = later;
            }
            let dropped = ruled_out.iter().filter(|r| **r).count();
            if dropped == 0 {
                return Ok(metadata);
            }
            self.pruned.add(dropped);
            Ok(Arc::new(without(&metadata, &ruled_out)))
        }
        .boxed()
    }
}

/// A column chunk to check: row group, Parquet column, filter and the chunk's bytes.
struct Check {
    row_group: usize,
    column: usize,
    filter: usize,
    bytes: Range<u64>,
}

/// The chunks to check in `metadata`: those of the filters' columns, fully dictionary-encoded,
/// of row groups in `range`.
fn checks(
    metadata: &ParquetMetaData,
    filters: &[DictionaryFilter],
    range: Option<&Range<u64>>,
) -> Vec<Check> {
    let schema = metadata.file_metadata().schema_descr();
    let any_ids =
        (0..schema.num_columns()).any(|i| schema.column(i).self_type().get_basic_info().has_id());
    let columns: Vec<Option<usize>> = filters
        .iter()
        .map(|filter| {
            (0..schema.num_columns()).find(|&i| {
                let column = schema.column(i);
                let info = column.self_type().get_basic_info();
                let named = match filter.field_id {
                    Some(id) if any_ids => info.has_id() && i64::from(info.id()) == id,
                    _ => column.path().parts() == [filter.name.as_str()],
                };
                named
                    && column.path().parts().len() == 1
                    && column.max_rep_level() == 0
                    && column.physical_type() == PhysicalType::BYTE_ARRAY
                    && text(column.self_type())
            })
        })
        .collect();
    let mut checks = Vec::new();
    for (row_group, rg) in metadata.row_groups().iter().enumerate() {
        if !in_range(rg, range) {
            continue;
        }
        for (filter, column) in columns.iter().enumerate() {
            let Some(column) = *column else { continue };
            if filters[filter].given_up() {
                continue;
            }
            let chunk = rg.column(column);
            if filters[filter].bloom && chunk.bloom_filter_offset().is_some() {
                continue;
            }
            if !all_dictionary(chunk) {
                continue;
            }
            let (start, length) = chunk.byte_range();
            let Ok(data) = u64::try_from(chunk.data_page_offset()) else {
                continue;
            };
            if data <= start || data - start > MAX_DICTIONARY_BYTES {
                continue;
            }
            // The whole chunk when small: the range the scan reads next, from the data cache.
            // Of a larger one only its dictionary page, so that a file's checks never hold
            // much memory.
            let end = if length <= WHOLE_CHUNK_BYTES {
                start + length
            } else {
                data
            };
            checks.push(Check {
                row_group,
                column,
                filter,
                bytes: start..end,
            });
        }
    }
    checks
}

/// Which row groups of a file the scan reads after DataFusion's pruning by statistics: of the
/// `conjuncts` (over `table`), those whose columns the file has by name with the table's
/// types, pruning with the file's statistics. None when none of them can.
fn read_after_statistics(
    metadata: &ParquetMetaData,
    conjuncts: &[Arc<dyn PhysicalExpr>],
    table: &Schema,
) -> Option<Vec<bool>> {
    let file = metadata.file_metadata();
    let schema =
        parquet::arrow::parquet_to_arrow_schema(file.schema_descr(), file.key_value_metadata())
            .ok()?;
    // Strings read as the table's string type (DataFusion reads them as views), as its scan
    // does.
    let strings =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match table.field_with_name(f.name()) {
            Ok(t) if strings(t.data_type()) && strings(f.data_type()) => {
                f.as_ref().clone().with_data_type(t.data_type().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    let on_file: Vec<_> = conjuncts
        .iter()
        .filter_map(|c| on_file(c, table, &schema))
        .collect();
    if on_file.is_empty() {
        return None;
    }
    let predicate = PruningPredicateBuilder::new()
        .with_file_schema(Arc::clone(&schema))
        .build(conjunction(on_file))?;
    if predicate.always_true() {
        return None;
    }
    let count = metadata.num_row_groups();
    // DataFusion's pruning unwraps its rewrites: a panic there keeps every row group.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut plan = RowGroupAccessPlanFilter::new(ParquetAccessPlan::new_all(count));
        // Metrics of its own: the scan counts its pruning itself.
        let metrics = ParquetFileMetrics::new(0, "", &ExecutionPlanMetricsSet::new());
        plan.prune_by_statistics(
            &schema,
            file.schema_descr(),
            metadata.row_groups(),
            &predicate,
            &metrics,
        );
        let plan = plan.build();
        (0..count).map(|i| plan.should_scan(i)).collect()
    }))
    .ok()
}

/// `conjunct` (over `table`) over the file's `schema`: its columns found by name, of the same
/// type; None if one is missing or differs (a partition column, a renamed or retyped one).
fn on_file(
    conjunct: &Arc<dyn PhysicalExpr>,
    table: &Schema,
    schema: &Schema,
) -> Option<Arc<dyn PhysicalExpr>> {
    Arc::clone(conjunct)
        .transform(|e| {
            let Some(column) = e.downcast_ref::<Column>() else {
                return Ok(Transformed::no(e));
            };
            let wanted = table
                .field_with_name(column.name())
                .ok()
                .map(|f| f.data_type());
            match schema.column_with_name(column.name()) {
                Some((index, field)) if Some(field.data_type()) == wanted => Ok(Transformed::yes(
                    Arc::new(Column::new(column.name(), index)) as Arc<dyn PhysicalExpr>,
                )),
                _ => Err(datafusion::error::DataFusionError::Plan(String::new())),
            }
        })
        .data()
        .ok()
}

/// Whether DataFusion's scan of `range` reads row group `rg` (its rule: the row group's first
/// page starts in the range).
fn in_range(rg: &RowGroupMetaData, range: Option<&Range<u64>>) -> bool {
    let Some(range) = range else { return true };
    if rg.num_columns() == 0 {
        return false;
    }
    let first = rg.column(0);
    let offset = first
        .dictionary_page_offset()
        .unwrap_or_else(|| first.data_page_offset());
    offset >= 0 && range.contains(&(offset as u64))
}

impl Check {
    /// Whether no value of the chunk's dictionary (nor a null, if it may hold nulls) passes
    /// the filter: proven, or false.
    fn rules_out(
        &self,
        metadata: &ParquetMetaData,
        filter: &DictionaryFilter,
        chunk: Bytes,
    ) -> bool {
        let column = metadata.row_group(self.row_group).column(self.column);
        let Some(values) = dictionary(column, self.bytes.start, chunk) else {
            return false;
        };
        let may_be_null = column
            .statistics()
            .and_then(|s| s.null_count_opt())
            .is_none_or(|n| n > 0);
        let values: ArrayRef = if may_be_null {
            let Ok(values) =
                arrow::compute::concat(&[&values, &new_null_array(values.data_type(), 1)])
            else {
                return false;
            };
            values
        } else {
            values
        };
        let Ok(values) = arrow::compute::cast(&values, filter.schema.field(0).data_type()) else {
            return false;
        };
        let rows = values.len();
        let Ok(batch) = RecordBatch::try_new(Arc::clone(&filter.schema), vec![values]) else {
            return false;
        };
        let Ok(answer) = filter
            .predicate
            .evaluate(&batch)
            .and_then(|a| a.into_array(rows))
        else {
            return false;
        };
        answer
            .as_boolean_opt()
            .is_some_and(|answer| answer.true_count() == 0)
    }
}

/// `metadata` without the row groups `ruled_out` marks (and their page indexes).
fn without(metadata: &ParquetMetaData, ruled_out: &[bool]) -> ParquetMetaData {
    let kept = |i: &usize| !ruled_out[*i];
    let row_groups = (0..metadata.num_row_groups())
        .filter(kept)
        .map(|i| metadata.row_group(i).clone())
        .collect();
    let column_index = metadata.column_index().map(|index| {
        (0..index.len())
            .filter(kept)
            .map(|i| index[i].clone())
            .collect()
    });
    let offset_index = metadata.offset_index().map(|index| {
        (0..index.len())
            .filter(kept)
            .map(|i| index[i].clone())
            .collect()
    });
    ParquetMetaDataBuilder::new_from_metadata(metadata.clone())
        .set_row_groups(row_groups)
        .set_column_index(column_index)
        .set_offset_index(offset_index)
        .build()
}

impl fmt::Debug for DictionaryPruned {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DictionaryPruned")
            .field("range", &self.range)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;
    use datafusion::datasource::listing::PartitionedFile;
    use datafusion::datasource::physical_plan::ParquetFileReaderFactory;
    use datafusion::logical_expr::Operator;
    use datafusion::physical_expr::expressions::{BinaryExpr, lit};
    use parquet::arrow::ArrowWriter;
    use parquet::file::properties::WriterProperties;

    use super::*;

    /// One row group of `values` in column `s` at `dir/name`, written with `props`; its size.
    fn write(
        dir: &std::path::Path,
        name: &str,
        values: Vec<String>,
        props: WriterProperties,
    ) -> u64 {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![Arc::new(StringArray::from(values))],
        )
        .unwrap();
        let file = std::fs::File::create(dir.join(name)).unwrap();
        let mut writer = ArrowWriter::try_new(file, schema, Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        std::fs::metadata(dir.join(name)).unwrap().len()
    }

    /// The row groups left in the footer of `name` for the filter `s = value`.
    async fn row_groups_left(dir: &std::path::Path, name: &str, size: u64, value: &str) -> usize {
        let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
        let filters = DictionaryFilters::default();
        let _ = filters.scan.set(ScanFilters {
            conjuncts: Vec::new(),
            table: None,
            filters: vec![DictionaryFilter {
                name: "s".into(),
                field_id: None,
                predicate: Arc::new(BinaryExpr::new(
                    Arc::new(Column::new("s", 0)),
                    Operator::Eq,
                    lit(value),
                )),
                schema,
                bloom: false,
                started: AtomicUsize::new(0),
                checked: AtomicUsize::new(0),
                ruled_out: AtomicUsize::new(0),
            }],
        });
        let (factory, _) = crate::parquet_reader::tests::factory_over(dir);
        let metrics = ExecutionPlanMetricsSet::new();
        let inner = factory
            .create_reader(0, PartitionedFile::new(name, size), None, &metrics)
            .unwrap();
        let mut reader = DictionaryPruned {
            inner,
            filters: Arc::new(filters),
            range: None,
            pruned: Count::new(),
        };
        reader.get_metadata(None).await.unwrap().num_row_groups()
    }

    #[test]
    fn a_scan_starts_its_first_checks_then_more_only_once_they_rule_chunks_out() {
        let filter = |ruled_out: usize| DictionaryFilter {
            name: "s".into(),
            field_id: None,
            predicate: lit(true),
            schema: Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)])),
            bloom: false,
            started: AtomicUsize::new(0),
            checked: AtomicUsize::new(0),
            ruled_out: AtomicUsize::new(ruled_out),
        };
        for ruled_out in [0, 2] {
            let f = filter(ruled_out);
            // Readers opening files at once start the first checks, and no more while
            // their results are out.
            assert!((0..GIVE_UP_AFTER).all(|_| f.start()));
            assert!(!f.start());
            f.checked.store(GIVE_UP_AFTER, Ordering::Relaxed);
            // Then only a filter that ruled out one chunk in eight goes on.
            assert_eq!(f.start(), ruled_out > 0);
        }
        // Checks given back (a failed read) are started again.
        let f = filter(0);
        assert!((0..GIVE_UP_AFTER).all(|_| f.start()));
        assert!(!f.start());
        for _ in 0..GIVE_UP_AFTER {
            f.unstart();
        }
        assert!(f.start());
    }

    #[tokio::test]
    async fn a_chunk_whose_writer_fell_back_to_plain_pages_is_never_ruled_out() {
        let dir = tempfile::tempdir().unwrap();
        // A few repeated values, then thousands of distinct ones: the dictionary outgrows its
        // limit and the later pages are plain-encoded; 'v-4000' is only in those.
        let values: Vec<String> = (0..1000)
            .map(|i| format!("r-{}", i % 3))
            .chain((0..5000).map(|i| format!("v-{i}")))
            .collect();
        let small = WriterProperties::builder()
            .set_dictionary_page_size_limit(512)
            .set_data_page_row_count_limit(100)
            .set_write_batch_size(100)
            .build();
        let size = write(dir.path(), "mixed.parquet", values.clone(), small);
        assert_eq!(
            row_groups_left(dir.path(), "mixed.parquet", size, "v-4000").await,
            1
        );
        assert_eq!(
            row_groups_left(dir.path(), "mixed.parquet", size, "nowhere").await,
            1
        );
        // Wholly dictionary-encoded, the same row group is ruled out for a value it lacks
        // only.
        let repeated: Vec<String> = (0..6000).map(|i| format!("r-{}", i % 3)).collect();
        let size = write(
            dir.path(),
            "dict.parquet",
            repeated,
            WriterProperties::default(),
        );
        assert_eq!(
            row_groups_left(dir.path(), "dict.parquet", size, "r-2").await,
            1
        );
        assert_eq!(
            row_groups_left(dir.path(), "dict.parquet", size, "v-4000").await,
            0
        );
    }

    #[tokio::test]
    async fn of_a_large_chunk_only_the_dictionary_page_is_read() {
        let dir = tempfile::tempdir().unwrap();
        // 4,000 names in no order, a million rows: a chunk of about 1.5 MB (12 bits a row)
        // whose dictionary page is about 40 KB.
        let values: Vec<String> = (0..1_000_000u64)
            .map(|i| format!("name-{}", i * 7919 % 4000))
            .collect();
        let size = write(
            dir.path(),
            "big.parquet",
            values,
            WriterProperties::default(),
        );
        let file = std::fs::File::open(dir.path().join("big.parquet")).unwrap();
        let reader = parquet::file::reader::SerializedFileReader::new(file).unwrap();
        let chunk = parquet::file::reader::FileReader::metadata(&reader)
            .row_group(0)
            .column(0)
            .clone();
        assert!(all_dictionary(&chunk));
        assert!(chunk.byte_range().1 > WHOLE_CHUNK_BYTES);
        assert_eq!(
            row_groups_left(dir.path(), "big.parquet", size, "name-3999").await,
            1
        );
        assert_eq!(
            row_groups_left(dir.path(), "big.parquet", size, "name-4000").await,
            0
        );
    }
}
