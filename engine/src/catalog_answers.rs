//! `AnswerGroupsFromStatistics`: `GROUP BY` partition columns with `count`, `min` and `max`,
//! answered from the catalog's per-file statistics instead of reading the files.
//!
//! DataFusion answers an aggregate *without* `GROUP BY` from exact statistics itself
//! (`AggregateStatistics`). With a `GROUP BY` whose keys are constant within each file (a
//! partition column, or a column whose exact min and max are equal and that has no NULLs),
//! every file is one group's share of the answer: its exact row count, null counts and bounds
//! are that share's `count`, `min` and `max`. The partial aggregate over the scan is replaced
//! by those shares, one row per file, and the final aggregate merges them as it would have
//! merged the partial states. Files whose statistics are not exact (deletes without a count,
//! string bounds a writer may have truncated) leave the plan as it was.
//!
//! `DropFiltersTheStatisticsProve`: a filter that every row of every file the scan reads
//! satisfies, by the files' exact bounds (`ts >= '2026-03-05'` over files whose smallest `ts`
//! is that day or later, the others pruned), is removed, so the scan's exact row counts reach
//! the aggregates above it: a day's `count(*)` on a table partitioned by `day(ts)` reads
//! nothing.

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::common::pruning::PrunableStatistics;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{BinaryExpr, Column, Literal};
use datafusion::physical_expr::utils::collect_columns;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::pruning::PruningPredicateBuilder;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::udaf::StatisticsArgs;

use crate::scan_exec::{CatalogScanExec, ScanSummary};

/// The physical optimizer rule answering groups; it runs first (after
/// [`DropFiltersTheStatisticsProve`]), while each partial aggregate still sits directly on
/// its scan.
#[derive(Debug, Default)]
pub(crate) struct AnswerGroupsFromStatistics;

impl PhysicalOptimizerRule for AnswerGroupsFromStatistics {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, answer)
    }

    fn name(&self) -> &str {
        "strata_answer_groups_from_statistics"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A plan node's replacement, if it has one.
type Replacement = Result<Option<Arc<dyn ExecutionPlan>>>;

/// `plan` with every node `f` has a replacement for replaced, bottom-up.
fn replace_nodes(
    plan: Arc<dyn ExecutionPlan>,
    f: fn(&Arc<dyn ExecutionPlan>) -> Replacement,
) -> Result<Arc<dyn ExecutionPlan>> {
    plan.transform_up(|node| {
        Ok(match f(&node)? {
            Some(replaced) => Transformed::yes(replaced),
            None => Transformed::no(node),
        })
    })
    .data()
}

/// The physical optimizer rule removing filters the statistics prove true for every row; it
/// runs before [`AnswerGroupsFromStatistics`] and DataFusion's own rules.
#[derive(Debug, Default)]
pub(crate) struct DropFiltersTheStatisticsProve;

impl PhysicalOptimizerRule for DropFiltersTheStatisticsProve {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        replace_nodes(plan, proven_filter_input)
    }

    fn name(&self) -> &str {
        "strata_drop_filters_the_statistics_prove"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The input of `node` when it is a filter over a catalog scan that every row of every file
/// of the scan passes: its negation can hold for no row, by the files' exact bounds, and the
/// columns it reads hold no NULL (a NULL makes the filter drop the row).
fn proven_filter_input(node: &Arc<dyn ExecutionPlan>) -> Replacement {
    let Some(filter) = node.downcast_ref::<FilterExec>() else {
        return Ok(None);
    };
    if filter.projection().is_some() {
        return Ok(None);
    }
    let Some(scan) = filter.input().downcast_ref::<CatalogScanExec>() else {
        return Ok(None);
    };
    let Some(files) = scan_files(scan) else {
        return Ok(None);
    };
    let schema = filter.input().schema();
    let Some(statistics) = files.statistics(&schema) else {
        return Ok(None);
    };
    if statistics.is_empty() {
        return Ok(None);
    }
    let predicate = filter.predicate();
    let Some(negated) = negate(predicate) else {
        return Ok(None);
    };
    let columns = collect_columns(predicate);
    let null_free = statistics.iter().all(|s| {
        columns.iter().all(|c| {
            s.column_statistics
                .get(c.index())
                .is_some_and(|c| c.null_count == Precision::Exact(0))
        })
    });
    if columns.is_empty() || !null_free {
        return Ok(None);
    }
    let Some(pruning) = PruningPredicateBuilder::new()
        .with_file_schema(Arc::clone(&schema))
        .build(negated)
    else {
        return Ok(None);
    };
    if pruning.always_true() {
        return Ok(None);
    }
    // A bound the pruning cannot evaluate (a cast that overflows, say) decides nothing.
    let Ok(may_fail) = pruning.prune(&PrunableStatistics::new(statistics, schema)) else {
        return Ok(None);
    };
    Ok((!may_fail.iter().any(|m| *m)).then(|| Arc::clone(filter.input())))
}

/// `NOT e` for comparisons of a column with a non-NULL literal and their `AND`/`OR` (valid
/// where the columns hold no NULL), or `None`. Nothing else: the pruning evaluates casts of a
/// bound as if they kept order, and anything else column-free once per file, which is only
/// sound for a plain column against a constant.
fn negate(e: &Arc<dyn PhysicalExpr>) -> Option<Arc<dyn PhysicalExpr>> {
    let binary = e.downcast_ref::<BinaryExpr>()?;
    let (left, right) = (binary.left(), binary.right());
    let op = match binary.op() {
        Operator::And => {
            return Some(Arc::new(BinaryExpr::new(
                negate(left)?,
                Operator::Or,
                negate(right)?,
            )));
        }
        Operator::Or => {
            return Some(Arc::new(BinaryExpr::new(
                negate(left)?,
                Operator::And,
                negate(right)?,
            )));
        }
        Operator::Eq => Operator::NotEq,
        Operator::NotEq => Operator::Eq,
        Operator::Lt => Operator::GtEq,
        Operator::LtEq => Operator::Gt,
        Operator::Gt => Operator::LtEq,
        Operator::GtEq => Operator::Lt,
        _ => return None,
    };
    let column = |x: &Arc<dyn PhysicalExpr>| x.downcast_ref::<Column>().is_some();
    let constant = |x: &Arc<dyn PhysicalExpr>| {
        x.downcast_ref::<Literal>()
            .is_some_and(|l| !l.value().is_null())
    };
    if !(column(left) && constant(right) || constant(left) && column(right)) {
        return None;
    }
    Some(Arc::new(BinaryExpr::new(
        Arc::clone(left),
        op,
        Arc::clone(right),
    )))
}

/// The files of a catalog scan that reads every row of them (no limit, no row filter).
struct ScanFiles<'a> {
    config: &'a FileScanConfig,
}

/// The file scan under a catalog scan, when it returns every row of its files.
fn scan_files(scan: &CatalogScanExec) -> Option<ScanFiles<'_>> {
    let config = scan
        .input()
        .downcast_ref::<DataSourceExec>()
        .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())?;
    let parquet = config.file_source().downcast_ref::<ParquetSource>()?;
    (config.limit.is_none() && parquet.filter().is_none()).then_some(ScanFiles { config })
}

impl ScanFiles<'_> {
    /// Table-schema fields: the stored columns, then the partition columns (the order of each
    /// file's statistics).
    fn table_fields(&self) -> Vec<arrow::datatypes::FieldRef> {
        self.config
            .file_schema()
            .fields()
            .iter()
            .chain(self.config.table_partition_cols().iter())
            .cloned()
            .collect()
    }

    /// Where each column of `output` (the scan's schema) sits in the table schema.
    fn positions(&self, output: &arrow::datatypes::Schema) -> Option<Vec<usize>> {
        let table = self.table_fields();
        output
            .fields()
            .iter()
            .map(|f| {
                table
                    .iter()
                    .position(|t| t.name() == f.name() && t.data_type() == f.data_type())
            })
            .collect()
    }

    /// Each file's statistics, projected to `output`'s columns (`None` when a file has none).
    fn statistics(&self, output: &arrow::datatypes::Schema) -> Option<Vec<Arc<Statistics>>> {
        let positions = self.positions(output)?;
        self.config
            .file_groups
            .iter()
            .flat_map(|g| g.files())
            .map(|file| {
                let stats = file.statistics.as_deref()?;
                Some(Arc::new(Statistics {
                    num_rows: stats.num_rows,
                    total_byte_size: stats.total_byte_size,
                    column_statistics: positions
                        .iter()
                        .map(|&t| stats.column_statistics.get(t).cloned())
                        .collect::<Option<Vec<ColumnStatistics>>>()?,
                }))
            })
            .collect()
    }
}

/// The aggregates whose partial state is one value equal to their result over the rows seen.
const ANSWERABLE: [&str; 3] = ["count", "min", "max"];

/// The replacement of `node` when it is a partial `GROUP BY` aggregate over a catalog scan
/// whose every file can be answered from its statistics.
fn answer(node: &Arc<dyn ExecutionPlan>) -> Replacement {
    let Some(aggregate) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    let group_by = aggregate.group_expr();
    if *aggregate.mode() != AggregateMode::Partial
        || group_by.expr().is_empty()
        || !group_by.is_single()
        || aggregate.filter_expr().iter().any(Option::is_some)
    {
        return Ok(None);
    }
    for expr in aggregate.aggr_expr() {
        if !ANSWERABLE.contains(&expr.fun().name())
            || expr.is_distinct()
            || expr.state_fields()?.len() != 1
        {
            return Ok(None);
        }
    }
    let Some(scan) = aggregate.input().downcast_ref::<CatalogScanExec>() else {
        return Ok(None);
    };
    let Some(files) = scan_files(scan) else {
        return Ok(None);
    };
    // Each file's statistics for the columns the aggregate reads. A path-derived column's are
    // the value the scan gives every row of the file, so grouping keys, partition columns
    // included, are answered by `constant` alike.
    let input = aggregate.input().schema();
    let Some(statistics) = files.statistics(&input) else {
        return Ok(None);
    };
    let Some(keys) = group_by
        .expr()
        .iter()
        .map(|(e, _)| e.downcast_ref::<Column>().map(Column::index))
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(None);
    };

    let aggregates = aggregate.aggr_expr();
    let arguments: Vec<_> = aggregates.iter().map(|e| e.expressions()).collect();
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::new(); keys.len() + aggregates.len()];
    let mut files = 0;
    for stats in &statistics {
        let rows = match stats.num_rows {
            // No live row: no group.
            Precision::Exact(0) => continue,
            Precision::Exact(n) => n,
            _ => return Ok(None),
        };
        files += 1;
        for (k, &c) in keys.iter().enumerate() {
            let Some(value) = constant(
                &stats.column_statistics[c],
                rows,
                input.field(c).data_type(),
            ) else {
                return Ok(None);
            };
            columns[k].push(value);
        }
        for (a, expr) in aggregates.iter().enumerate() {
            let field = expr.field();
            let args = StatisticsArgs {
                statistics: stats,
                return_type: field.data_type(),
                is_distinct: false,
                exprs: &arguments[a],
            };
            let Some(value) = expr.fun().value_from_stats(&args) else {
                return Ok(None);
            };
            columns[keys.len() + a].push(value);
        }
    }
    if files == 0 {
        // Nothing to answer from: leave the (empty) scan as it is.
        return Ok(None);
    }

    let schema = aggregate.schema();
    let arrays = columns
        .into_iter()
        .zip(schema.fields().iter())
        .map(|(values, field)| {
            let array = ScalarValue::iter_to_array(values)?;
            Ok(if array.data_type() == field.data_type() {
                array
            } else {
                cast(&array, field.data_type())?
            })
        })
        .collect::<Result<Vec<ArrayRef>>>()?;
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays)?;
    let rows = MemorySourceConfig::try_new_exec(&[vec![batch]], schema, None)?;
    let summary = ScanSummary {
        files: 0,
        bytes: 0,
        answered: files,
        ..scan.summary().clone()
    };
    Ok(Some(Arc::new(CatalogScanExec::new(rows, summary))))
}

/// The one value a column holds in every live row of a file, when the statistics prove it:
/// exact and equal bounds with no NULL, or NULL in every row.
fn constant(
    c: &ColumnStatistics,
    rows: usize,
    data_type: &arrow::datatypes::DataType,
) -> Option<ScalarValue> {
    match (&c.min_value, &c.max_value, &c.null_count) {
        (Precision::Exact(min), Precision::Exact(max), Precision::Exact(0))
            if min == max && !min.is_null() =>
        {
            Some(min.clone())
        }
        (_, _, Precision::Exact(n)) if *n == rows => ScalarValue::try_from(data_type).ok(),
        _ => None,
    }
}
