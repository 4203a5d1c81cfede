//! Late materialization for scans that look for a needle or feed a top-N: the filter runs
//! while decoding, and the other columns are decoded only for the rows that pass it.
//!
//! DataFusion's Parquet filter push-down (`pushdown_filters`) evaluates a scan's filter while
//! decoding and then decodes the remaining columns only where it matched. Turned on for every
//! scan it cost the runner's logs and trips suites 6% and 9% (docs/performance.md): a filter
//! that keeps most rows (`payment_type = 'CRE'`, `CounterID = 62`) pays for the selection and
//! saves nothing. Strata therefore turns it on per scan, when the filter has a conjunct that
//! keeps few rows in practice and the scan reads other columns than the filter's:
//!
//! - equality with (or `IN`) string literals of at least [`ID_LEN`] characters: identifiers
//!   (trace, request, session ids, UUIDs, hashes), not categories such as `'ERROR'` (nor
//!   `'DELIVER IN PERSON'` of a column the catalog's statistics show holds few values); equality
//!   of an identifier column (named and typed as the writer's default bloom filters choose:
//!   `user_id = 42`, `user_id IN (…)`) with any value, unless the scan's statistics show an
//!   integer one spans fewer than [`MIN_ID_SPAN`] numbers (`"VendorID" = 2` is a category);
//!   an `OR` of such (a short `IN` list is planned as one);
//! - equality with (or a short `IN` list of) non-empty string literals of a string column the
//!   catalog's statistics show holds many distinct values: at least [`MANY_VALUES_BYTES`]
//!   stored bytes a value (`path = '/v1/items/42'` of 6,000 paths, not `level = 'ERROR'`);
//! - `LIKE`/`ILIKE` patterns that begin with `%` (a search inside text, as in log messages);
//! - any filter under a top-N (`ORDER BY … LIMIT n`): see [`filters_under_top_n`].
//!
//! On a day-partitioned log table, looking up one `trace_id` over 12 M rows and reading four
//! other columns went from 321 to 115 ms (DuckDB 151 ms; scripts/adbc-check); `engine.parquet_pushdown_filters =
//! true` turns push-down on for every scan.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::datatypes::Schema;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{ScalarValue, Statistics};
use datafusion::datasource::physical_plan::{FileScanConfig, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::Operator;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{
    BinaryExpr, CastExpr, Column, InListExpr, LikeExpr, Literal, TryCastExpr,
};
use datafusion::physical_expr::utils::{collect_columns, split_conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::FilterExec;
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::sorts::sort::SortExec;

use crate::scan_exec::CatalogScanExec;
use crate::sort_through_filter::recompute;

/// String literals at least this long are taken for identifiers.
const ID_LEN: usize = 16;

/// The rule; off (`engine.late_materialization = false`) it changes nothing.
#[derive(Debug)]
pub(crate) struct LateMaterialization {
    pub(crate) enabled: bool,
}

impl PhysicalOptimizerRule for LateMaterialization {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        if !self.enabled || config.execution.parquet.pushdown_filters {
            return Ok(plan);
        }
        // Runs before DataFusion's filter push-down, which then moves the whole filter into
        // the scan (and drops the `FilterExec`) for a scan that evaluates filters itself.
        let under_top_n = filters_under_top_n(&plan);
        plan.transform_down(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let input = filter.input();
            let top_n = under_top_n.contains(&node_id(&node));
            if !(top_n || keeps_few_rows(filter.predicate(), input))
                || !reads_other_columns(input, filter.predicate())
            {
                return Ok(Transformed::no(node));
            }
            let Some(scan) = with_pushdown(input)? else {
                return Ok(Transformed::no(node));
            };
            let rebuilt = Arc::clone(&node).replace_children(vec![scan], recompute())?;
            Ok(Transformed::yes(rebuilt))
        })
        .data()
    }

    fn name(&self) -> &str {
        "strata_late_materialization"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The filters with a top-N (`ORDER BY … LIMIT n`) above them, through projections.
///
/// A filter that keeps few rows fills its output batch slowly, and the top-N sees nothing
/// before it does: its running threshold, which skips the files and row groups that cannot
/// make the top N, comes too late. Evaluated in the scan, the filter passes on each row
/// group's matches, and with the files read in the sort's order the first row groups decide
/// the rest.
fn filters_under_top_n(plan: &Arc<dyn ExecutionPlan>) -> HashSet<usize> {
    let mut found = HashSet::new();
    let _ = plan.apply(|node| {
        if let Some(sort) = node.downcast_ref::<SortExec>()
            && sort.fetch().is_some()
        {
            let mut below = sort.input();
            while let Some(projection) = below.downcast_ref::<ProjectionExec>() {
                below = projection.input();
            }
            if below.downcast_ref::<FilterExec>().is_some() {
                found.insert(node_id(below));
            }
        }
        Ok(TreeNodeRecursion::Continue)
    });
    found
}

fn node_id(node: &Arc<dyn ExecutionPlan>) -> usize {
    Arc::as_ptr(node).cast::<()>() as usize
}

/// The Parquet scan `plan` (or Strata's catalog scan around one) with filter push-down on, or
/// `None` for any other node.
fn with_pushdown(
    plan: &Arc<dyn ExecutionPlan>,
) -> datafusion::error::Result<Option<Arc<dyn ExecutionPlan>>> {
    if plan.downcast_ref::<CatalogScanExec>().is_some() {
        let [child] = plan.children()[..] else {
            return Ok(None);
        };
        let Some(child) = with_pushdown(child)? else {
            return Ok(None);
        };
        return Arc::clone(plan)
            .replace_children(vec![child], recompute())
            .map(Some);
    }
    let Some(source) = plan.downcast_ref::<DataSourceExec>() else {
        return Ok(None);
    };
    let Some(scan) = source.data_source().downcast_ref::<FileScanConfig>() else {
        return Ok(None);
    };
    let Some(parquet) = scan.file_source().downcast_ref::<ParquetSource>() else {
        return Ok(None);
    };
    let parquet = parquet
        .clone()
        .with_pushdown_filters(true)
        .with_reorder_filters(true);
    let scan = FileScanConfigBuilder::from(scan.clone())
        .with_source(Arc::new(parquet))
        .build();
    Ok(Some(Arc::new(
        source.clone().with_data_source(Arc::new(scan)),
    )))
}

/// Whether a conjunct of `predicate` over `input` looks for a needle (see the module's
/// comment).
fn keeps_few_rows(predicate: &Arc<dyn PhysicalExpr>, input: &Arc<dyn ExecutionPlan>) -> bool {
    let schema = input.schema();
    let mut statistics = None;
    let scan = input.downcast_ref::<CatalogScanExec>();
    let density = |column: &str| scan.and_then(|scan| scan.column_bytes_per_value(column));
    split_conjunction(predicate).into_iter().any(|e| {
        needle(e, &schema, &density, &mut || {
            statistics
                .get_or_insert_with(|| {
                    datafusion::physical_plan::StatisticsContext::new()
                        .compute(
                            input.as_ref(),
                            &datafusion::physical_plan::StatisticsArgs::new(),
                        )
                        .ok()
                })
                .clone()
        })
    })
}

/// `col = '<id>'`, equality of an identifier column (`user_id = 42`) with a value, `col IN
/// ('<id>', …)` or `user_id IN (…)` (DataFusion plans a short list as an `OR` of
/// equalities), an `OR` of needles, or `col LIKE '%…'`. `statistics` gives the scan's (for
/// the span of an integer identifier column's values).
fn needle(
    e: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
    density: &dyn Fn(&str) -> Option<f64>,
    statistics: &mut dyn FnMut() -> Option<Arc<Statistics>>,
) -> bool {
    if let Some(b) = e.downcast_ref::<BinaryExpr>() {
        let (l, r) = (b.left(), b.right());
        return match b.op() {
            Operator::Eq => {
                (column_and_id(l, r) && !of_few_values(l, density))
                    || (column_and_id(r, l) && !of_few_values(r, density))
                    || (identifier_column(l, schema, statistics) && is_value(r))
                    || (identifier_column(r, schema, statistics) && is_value(l))
                    || (of_many_values(l, density) && non_empty_string(r))
                    || (of_many_values(r, density) && non_empty_string(l))
            }
            Operator::Or => {
                needle(l, schema, density, statistics) && needle(r, schema, density, statistics)
            }
            _ => false,
        };
    }
    if let Some(list) = e.downcast_ref::<InListExpr>() {
        return !list.negated()
            && is_column(list.expr())
            && !list.list().is_empty()
            && ((list.list().iter().all(identifier) && !of_few_values(list.expr(), density))
                || (identifier_column(list.expr(), schema, statistics)
                    && list.list().iter().all(is_value))
                || (list.list().len() <= MANY_VALUES_LIST
                    && of_many_values(list.expr(), density)
                    && list.list().iter().all(non_empty_string)));
    }
    if let Some(like) = e.downcast_ref::<LikeExpr>() {
        return !like.negated()
            && is_column(like.expr())
            && string_literal(like.pattern()).is_some_and(|p| p.starts_with('%') && p.len() > 1);
    }
    false
}

/// A string column stored in at least this many bytes a value holds many distinct values (a
/// dictionary-encoded column in no particular order takes about the log of its distinct
/// values in bits: five log levels 0.3 bytes, ten services 0.5, 6,000 request paths 1.9): one
/// of them keeps few rows.
const MANY_VALUES_BYTES: f64 = 1.0;

/// An `IN` list of at most this many strings of such a column keeps few rows.
const MANY_VALUES_LIST: usize = 16;

/// A column (possibly under casts) the catalog says holds many values a row (see
/// [`MANY_VALUES_BYTES`]).
fn of_many_values(expr: &Arc<dyn PhysicalExpr>, density: &dyn Fn(&str) -> Option<f64>) -> bool {
    stored_bytes_per_value(expr, density).is_some_and(|bytes| bytes >= MANY_VALUES_BYTES)
}

/// A column the catalog says holds few values (below [`MANY_VALUES_BYTES`] a row): a long
/// string is not an identifier there (TPC-H's `l_shipinstruct = 'DELIVER IN PERSON'`, a
/// quarter of the rows, read row group by row group in steps: q19 took 6.1 s cold on S3
/// against 2.4 s for datafusion-cli). Unknown density leaves a long string an identifier.
fn of_few_values(expr: &Arc<dyn PhysicalExpr>, density: &dyn Fn(&str) -> Option<f64>) -> bool {
    stored_bytes_per_value(expr, density).is_some_and(|bytes| bytes < MANY_VALUES_BYTES)
}

/// The stored bytes a value of the column `expr` reads (possibly under casts), when known.
fn stored_bytes_per_value(
    expr: &Arc<dyn PhysicalExpr>,
    density: &dyn Fn(&str) -> Option<f64>,
) -> Option<f64> {
    let columns = collect_columns(expr);
    let column = columns.iter().next().filter(|_| columns.len() == 1)?;
    is_column(expr).then(|| density(column.name()))?
}

/// A string literal other than `''` (which a column of many values may hold in most rows: a
/// search phrase most visits lack).
fn non_empty_string(expr: &Arc<dyn PhysicalExpr>) -> bool {
    string_literal(expr).is_some_and(|s| !s.is_empty())
}

/// An integer identifier column whose values in the scanned files span fewer than this many
/// numbers holds categories (`VendorID` 1–6, `store_id`): one value keeps too many rows.
const MIN_ID_SPAN: i128 = 1000;

/// A column named and typed as an identifier, the kind Strata's writer gives a bloom filter by
/// default (`trace_id`, `request_id`, `user_id`, `UserID` of string or 64-bit integer type),
/// unless the scan's statistics show an integer one spans few values.
fn identifier_column(
    expr: &Arc<dyn PhysicalExpr>,
    schema: &Schema,
    statistics: &mut dyn FnMut() -> Option<Arc<Statistics>>,
) -> bool {
    let columns = collect_columns(expr);
    let Some(column) = columns.iter().next().filter(|_| columns.len() == 1) else {
        return false;
    };
    let named = is_column(expr)
        && schema.fields().get(column.index()).is_some_and(|f| {
            f.name() == column.name()
                && crate::write_job::default_bloom_filter(f.name(), f.data_type())
        });
    named
        && !statistics().is_some_and(|s| {
            s.column_statistics
                .get(column.index())
                .and_then(|c| {
                    Some(integer(c.max_value.get_value()?)? - integer(c.min_value.get_value()?)?)
                })
                .is_some_and(|span| span < MIN_ID_SPAN)
        })
}

fn integer(value: &ScalarValue) -> Option<i128> {
    Some(match value {
        ScalarValue::Int8(Some(v)) => i128::from(*v),
        ScalarValue::Int16(Some(v)) => i128::from(*v),
        ScalarValue::Int32(Some(v)) => i128::from(*v),
        ScalarValue::Int64(Some(v)) => i128::from(*v),
        ScalarValue::UInt8(Some(v)) => i128::from(*v),
        ScalarValue::UInt16(Some(v)) => i128::from(*v),
        ScalarValue::UInt32(Some(v)) => i128::from(*v),
        ScalarValue::UInt64(Some(v)) => i128::from(*v),
        _ => return None,
    })
}

fn is_value(expr: &Arc<dyn PhysicalExpr>) -> bool {
    expr.downcast_ref::<Literal>()
        .is_some_and(|l| !l.value().is_null())
}

fn column_and_id(column: &Arc<dyn PhysicalExpr>, value: &Arc<dyn PhysicalExpr>) -> bool {
    is_column(column) && identifier(value)
}

fn identifier(value: &Arc<dyn PhysicalExpr>) -> bool {
    string_literal(value).is_some_and(|s| s.chars().count() >= ID_LEN)
}

/// A column, possibly under casts DataFusion added (`CAST(col AS Utf8View)`); not a function
/// of one (`length(trace_id) = 32` keeps many rows).
fn is_column(expr: &Arc<dyn PhysicalExpr>) -> bool {
    if expr.downcast_ref::<Column>().is_some() {
        return true;
    }
    if let Some(cast) = expr.downcast_ref::<CastExpr>() {
        return is_column(cast.expr());
    }
    if let Some(cast) = expr.downcast_ref::<TryCastExpr>() {
        return is_column(cast.expr());
    }
    false
}

fn string_literal(expr: &Arc<dyn PhysicalExpr>) -> Option<&str> {
    match expr.downcast_ref::<Literal>()?.value() {
        ScalarValue::Utf8(Some(s))
        | ScalarValue::Utf8View(Some(s))
        | ScalarValue::LargeUtf8(Some(s)) => Some(s.as_str()),
        ScalarValue::Dictionary(_, v) => match v.as_ref() {
            ScalarValue::Utf8(Some(s))
            | ScalarValue::Utf8View(Some(s))
            | ScalarValue::LargeUtf8(Some(s)) => Some(s.as_str()),
            _ => None,
        },
        _ => None,
    }
}

/// Whether the filter's input has a column the filter does not read (otherwise nothing is saved).
fn reads_other_columns(input: &Arc<dyn ExecutionPlan>, predicate: &Arc<dyn PhysicalExpr>) -> bool {
    let filtered: HashSet<String> = collect_columns(predicate)
        .into_iter()
        .map(|c| c.name().to_string())
        .collect();
    input
        .schema()
        .fields()
        .iter()
        .any(|f| !filtered.contains(f.name()))
}

#[cfg(test)]
mod tests {
    use crate::Engine;
    use crate::engine::tests::{config, rows, run};

    const TRACE: &str = "0000000000000000000000000000002a"; // row 42's trace id

    /// A table of 4 files (one per INSERT) of 1,000 events each, in time order.
    async fn events(late_materialization: bool) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.execution.late_materialization = late_materialization;
        let engine = Engine::open(&config).unwrap();
        run(
            &engine,
            "CREATE TABLE ev (ts TIMESTAMP, level VARCHAR, trace_id VARCHAR, msg VARCHAR)",
        )
        .await;
        for file in 0..4 {
            run(
                &engine,
                &format!(
                    "INSERT INTO ev SELECT to_timestamp(value), \
                     CASE WHEN value % 100 = 7 THEN 'ERROR' ELSE 'INFO' END, \
                     lpad(to_hex(value), 32, '0'), 'message ' || value \
                     FROM generate_series({}, {})",
                    file * 1000,
                    file * 1000 + 999
                ),
            )
            .await;
        }
        (dir, engine)
    }

    async fn physical_plan(engine: &Engine, sql: &str) -> String {
        let plan = rows(engine, &format!("EXPLAIN {sql}")).await;
        plan.into_iter()
            .find(|r| r[0] == "physical_plan")
            .map(|r| r[1].clone())
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_value_of_a_column_of_many_values_is_a_needle_by_the_catalogs_column_sizes() {
        let (_dir, engine) = events(true).await;
        // 4,096 request paths in random order (three hex digits of a hash), next to the two
        // levels of `ev`'s kind, in files of 15,000 rows or so (a column's size tells its
        // values from 10,000 values a file on).
        let paths = "'/p/' || substr(md5(CAST(value AS VARCHAR)), 1, 3)";
        run(
            &engine,
            "CREATE TABLE req (ts TIMESTAMP, path VARCHAR, level VARCHAR, msg VARCHAR, how VARCHAR)",
        )
        .await;
        run(
            &engine,
            &format!(
                "INSERT INTO req SELECT to_timestamp(value), {paths}, \
                 CASE WHEN value % 100 = 7 THEN 'ERROR' ELSE 'INFO' END, 'message ' || value, \
                 CASE value % 4 WHEN 0 THEN 'DELIVER IN PERSON' WHEN 1 THEN 'COLLECT ON DELIVERY' \
                 WHEN 2 THEN 'TAKE BACK RETURN' ELSE 'NONE' END \
                 FROM generate_series(0, 29999)"
            ),
        )
        .await;
        let one = "SELECT ts, msg FROM req WHERE path = '/p/abc' ORDER BY ts";
        let two = "SELECT ts, msg FROM req WHERE path IN ('/p/abc', '/p/123') ORDER BY ts";
        for sql in [one, two] {
            let plan = physical_plan(&engine, sql).await;
            assert!(!plan.contains("FilterExec"), "{sql}\n{plan}");
        }
        // The same rows as a filter no scan takes for a needle (a function of the column).
        let found = rows(&engine, one).await;
        assert!(!found.is_empty());
        assert_eq!(
            found,
            rows(
                &engine,
                "SELECT ts, msg FROM req WHERE substr(path, 4) = 'abc' ORDER BY ts"
            )
            .await
        );
        assert_eq!(
            rows(&engine, two).await,
            rows(
                &engine,
                "SELECT ts, msg FROM req WHERE substr(path, 4) IN ('abc', '123') ORDER BY ts"
            )
            .await
        );
        // A column of two values, and the empty string (which a column of many values may hold
        // in most rows), stay filters above the scan; so does a string as long as an
        // identifier, of a column of four values.
        for sql in [
            "SELECT ts, msg FROM req WHERE level = 'ERROR' ORDER BY ts",
            "SELECT ts, msg FROM req WHERE path = '' ORDER BY ts",
            "SELECT ts, msg FROM req WHERE how = 'DELIVER IN PERSON' ORDER BY ts",
            "SELECT ts, msg FROM req WHERE how IN ('DELIVER IN PERSON', 'TAKE BACK RETURN')",
        ] {
            let plan = physical_plan(&engine, sql).await;
            assert!(plan.contains("FilterExec"), "{sql}\n{plan}");
        }
        // The same paths in small files (1,000 rows each): sizes there are mostly dictionary
        // and page headers, and tell nothing; the filter stays above the scan.
        run(
            &engine,
            "CREATE TABLE small (ts TIMESTAMP, path VARCHAR, msg VARCHAR)",
        )
        .await;
        for file in 0..3 {
            run(
                &engine,
                &format!(
                    "INSERT INTO small SELECT to_timestamp(value), {paths}, 'm' \
                     FROM generate_series({}, {})",
                    file * 1000,
                    file * 1000 + 999
                ),
            )
            .await;
        }
        let small = "SELECT ts, msg FROM small WHERE path = '/p/abc'";
        let plan = physical_plan(&engine, small).await;
        assert!(plan.contains("FilterExec"), "{small}\n{plan}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn scans_looking_for_a_needle_or_under_a_top_n_filter_while_decoding() {
        let (_dir, engine) = events(true).await;
        let lookup = format!("SELECT ts, msg FROM ev WHERE trace_id = '{TRACE}'");
        let top_n = "SELECT ts, msg FROM ev WHERE level = 'ERROR' ORDER BY ts DESC LIMIT 3";
        let search = "SELECT ts, level FROM ev WHERE msg LIKE '%ge 99%' ORDER BY ts";
        let category = "SELECT ts, msg FROM ev WHERE level = 'ERROR' ORDER BY ts";
        // A short IN list, which DataFusion plans as an OR of equalities.
        let lookups = format!(
            "SELECT ts, msg FROM ev WHERE trace_id IN ('{TRACE}', '{}') ORDER BY ts",
            TRACE.replace("2a", "2b")
        );
        // An identifier column (a name the writer gives a bloom filter) equal to any value.
        run(&engine, "CREATE TABLE u (user_id BIGINT, name VARCHAR)").await;
        run(
            &engine,
            "INSERT INTO u SELECT value, 'user ' || value FROM generate_series(1, 5000)",
        )
        .await;
        let short_id = "SELECT name FROM u WHERE user_id = 42";
        assert_eq!(rows(&engine, short_id).await, [["user 42"]]);
        // A list longer than DataFusion turns into an OR stays an IN list.
        let short_ids = "SELECT name FROM u WHERE user_id IN (42, 43, 44, 45) ORDER BY 1";
        assert_eq!(
            rows(&engine, short_ids).await,
            [["user 42"], ["user 43"], ["user 44"], ["user 45"]]
        );
        // The scan evaluates the filter, so no FilterExec is left above it.
        for sql in [
            lookup.as_str(),
            lookups.as_str(),
            short_id,
            short_ids,
            top_n,
            search,
        ] {
            let plan = physical_plan(&engine, sql).await;
            assert!(!plan.contains("FilterExec"), "{sql}\n{plan}");
        }
        // A category filter (most rows in practice) with nothing to stop early stays above;
        // so does an identifier-named integer column whose values span few numbers (a
        // category such as `VendorID`), and a function of an identifier column.
        run(&engine, "CREATE TABLE v (\"VendorID\" BIGINT, fare DOUBLE)").await;
        run(
            &engine,
            "INSERT INTO v SELECT value % 3, value FROM generate_series(1, 5000)",
        )
        .await;
        let vendor = "SELECT fare FROM v WHERE \"VendorID\" = 2";
        let length = "SELECT ts, msg FROM ev WHERE length(trace_id) = 32";
        for sql in [category, vendor, length] {
            let plan = physical_plan(&engine, sql).await;
            assert!(plan.contains("FilterExec"), "{sql}\n{plan}");
        }
        assert_eq!(
            rows(&engine, "SELECT count(*) FROM v WHERE \"VendorID\" = 2").await,
            [["1667"]]
        );
        // A filter reading every column the scan reads saves nothing, and stays too.
        let plan = physical_plan(
            &engine,
            &format!("SELECT count(*) FROM ev WHERE trace_id = '{TRACE}'"),
        )
        .await;
        assert!(plan.contains("FilterExec"), "{plan}");
        // An OR with a category filter keeps many rows: it stays above.
        let plan = physical_plan(
            &engine,
            &format!("SELECT ts, msg FROM ev WHERE trace_id = '{TRACE}' OR level = 'ERROR'"),
        )
        .await;
        assert!(plan.contains("FilterExec"), "{plan}");
        assert_eq!(
            rows(&engine, &lookups).await,
            [
                ["1970-01-01T00:00:42", "message 42"],
                ["1970-01-01T00:00:43", "message 43"]
            ]
        );

        assert_eq!(
            rows(&engine, &lookup).await,
            [["1970-01-01T00:00:42", "message 42"]]
        );
        assert_eq!(
            rows(&engine, top_n).await,
            [
                ["1970-01-01T01:05:07", "message 3907"],
                ["1970-01-01T01:03:27", "message 3807"],
                ["1970-01-01T01:01:47", "message 3707"]
            ]
        );
        assert_eq!(
            rows(&engine, search).await,
            [
                ["1970-01-01T00:01:39", "INFO"],
                ["1970-01-01T00:16:30", "INFO"],
                ["1970-01-01T00:16:31", "INFO"],
                ["1970-01-01T00:16:32", "INFO"],
                ["1970-01-01T00:16:33", "INFO"],
                ["1970-01-01T00:16:34", "INFO"],
                ["1970-01-01T00:16:35", "INFO"],
                ["1970-01-01T00:16:36", "INFO"],
                ["1970-01-01T00:16:37", "INFO"],
                ["1970-01-01T00:16:38", "INFO"],
                ["1970-01-01T00:16:39", "INFO"]
            ]
        );
        // Files written before a rename are read by field id: the filter evaluated while
        // decoding finds the renamed column in them.
        run(&engine, "ALTER TABLE ev RENAME COLUMN msg TO message").await;
        let plan = physical_plan(&engine, "SELECT ts FROM ev WHERE message LIKE '%ge 3999'").await;
        assert!(!plan.contains("FilterExec"), "{plan}");
        assert_eq!(
            rows(&engine, "SELECT ts FROM ev WHERE message LIKE '%ge 3999'").await,
            [["1970-01-01T01:06:39"]]
        );
        assert_eq!(
            rows(
                &engine,
                &format!("SELECT message FROM ev WHERE trace_id = '{TRACE}'")
            )
            .await,
            [["message 42"]]
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_top_n_over_a_filter_reads_its_files_in_the_sorts_order() {
        // Without late materialization the filter stays above the scan; the top-N's order
        // still reaches the scan through it.
        let (_dir, engine) = events(false).await;
        let top_n = "SELECT ts, msg FROM ev WHERE level = 'ERROR' ORDER BY ts DESC LIMIT 3";
        let plan = physical_plan(&engine, top_n).await;
        assert!(plan.contains("FilterExec"), "{plan}");
        assert!(
            plan.contains("sort_order_for_reorder=[ts@0 DESC NULLS LAST]"),
            "{plan}"
        );
        let lookup = format!("SELECT ts, msg FROM ev WHERE trace_id = '{TRACE}'");
        assert!(physical_plan(&engine, &lookup).await.contains("FilterExec"));
        assert_eq!(
            rows(&engine, top_n).await,
            [
                ["1970-01-01T01:05:07", "message 3907"],
                ["1970-01-01T01:03:27", "message 3807"],
                ["1970-01-01T01:01:47", "message 3707"]
            ]
        );
    }
}
