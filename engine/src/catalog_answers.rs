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

use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::cast;
use datafusion::common::ScalarValue;
use datafusion::common::config::ConfigOptions;
use datafusion::common::stats::Precision;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::common::{ColumnStatistics, Statistics};
use datafusion::datasource::memory::MemorySourceConfig;
use datafusion::datasource::physical_plan::{FileScanConfig, FileSource, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::udaf::StatisticsArgs;

use crate::scan_exec::{CatalogScanExec, ScanSummary};

/// The physical optimizer rule; it runs first, while each partial aggregate still sits
/// directly on its scan.
#[derive(Debug, Default)]
pub(crate) struct AnswerGroupsFromStatistics;

impl PhysicalOptimizerRule for AnswerGroupsFromStatistics {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match answer(&node)? {
                Some(answered) => Transformed::yes(answered),
                None => Transformed::no(node),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "strata_answer_groups_from_statistics"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The aggregates whose partial state is one value equal to their result over the rows seen.
const ANSWERABLE: [&str; 3] = ["count", "min", "max"];

/// The replacement of `node` when it is a partial `GROUP BY` aggregate over a catalog scan
/// whose every file can be answered from its statistics.
fn answer(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
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
    let Some(config) = scan
        .input()
        .downcast_ref::<DataSourceExec>()
        .and_then(|s| s.data_source().downcast_ref::<FileScanConfig>())
    else {
        return Ok(None);
    };
    // A limit or a pushed-down row filter means the scan does not return every row.
    let Some(parquet) = config.file_source().downcast_ref::<ParquetSource>() else {
        return Ok(None);
    };
    if config.limit.is_some() || parquet.filter().is_some() {
        return Ok(None);
    }

    // Where each column the aggregate reads sits in a file's statistics (table-schema order:
    // stored columns, then partition columns).
    let stored = config.file_schema().fields().len();
    let table_fields: Vec<_> = config
        .file_schema()
        .fields()
        .iter()
        .chain(config.table_partition_cols().iter())
        .cloned()
        .collect();
    let input_schema = aggregate.input().schema();
    let Some(in_table) = input_schema
        .fields()
        .iter()
        .map(|f| {
            table_fields
                .iter()
                .position(|t| t.name() == f.name() && t.data_type() == f.data_type())
        })
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(None);
    };
    let Some(keys) = group_by
        .expr()
        .iter()
        .map(|(e, _)| e.downcast_ref::<Column>().map(|c| in_table[c.index()]))
        .collect::<Option<Vec<usize>>>()
    else {
        return Ok(None);
    };

    let aggregates = aggregate.aggr_expr();
    let arguments: Vec<_> = aggregates.iter().map(|e| e.expressions()).collect();
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::new(); keys.len() + aggregates.len()];
    let mut files = 0;
    for file in config.file_groups.iter().flat_map(|g| g.files()) {
        let Some(stats) = file.statistics.as_deref() else {
            return Ok(None);
        };
        let rows = match stats.num_rows {
            // No live row: no group.
            Precision::Exact(0) => continue,
            Precision::Exact(n) => n,
            _ => return Ok(None),
        };
        files += 1;
        for (k, &t) in keys.iter().enumerate() {
            let value = if t >= stored {
                file.partition_values.get(t - stored).cloned()
            } else {
                stats
                    .column_statistics
                    .get(t)
                    .and_then(|c| constant(c, rows, table_fields[t].data_type()))
            };
            let Some(value) = value else {
                return Ok(None);
            };
            columns[k].push(value);
        }
        let Some(column_statistics) = in_table
            .iter()
            .map(|&t| stats.column_statistics.get(t).cloned())
            .collect::<Option<Vec<ColumnStatistics>>>()
        else {
            return Ok(None);
        };
        let projected = Statistics {
            num_rows: stats.num_rows,
            total_byte_size: stats.total_byte_size,
            column_statistics,
        };
        for (a, expr) in aggregates.iter().enumerate() {
            let field = expr.field();
            let args = StatisticsArgs {
                statistics: &projected,
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
