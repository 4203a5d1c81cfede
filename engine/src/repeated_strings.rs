//! Costly filters on a string column evaluated once per distinct value of each batch.
//!
//! `pickup_ntaname LIKE '%Park%'` over 20 M trips ran the `LIKE` kernel on every row: 270 ms of
//! the query's 360 ms of scan time, where DuckDB, which evaluates such filters on the
//! dictionary, took 23 ms in all. The column has 13 distinct values. Parquet writers
//! dictionary-encode such columns, and the reader decodes a dictionary-encoded column into
//! string views that point into the dictionary: a repeated value repeats its 16-byte view
//! exactly (short strings are inlined in the view, so equal ones repeat their view too).
//!
//! [`MemoizeStringFilters`] wraps each conjunct of a filter that reads one string column and
//! does costly work per row (`LIKE`/`ILIKE`, regular expressions, function calls) in a
//! [`RepeatedStrings`] expression. Per batch it maps each row's view to a distinct value,
//! evaluates the conjunct on the distinct values only, and spreads the answers back by index.
//! When the first rows of a batch are mostly distinct (messages, ids, plain-encoded columns) it
//! evaluates the conjunct on the whole batch as before, having looked at a few hundred views.
//! The answer is the conjunct's own answer on the same strings, by construction.
//!
//! Patterns DataFusion prunes row groups with (`LIKE 'abc%'`) are left alone: its pruning does
//! not see inside the wrapper. The rule runs after late materialization chose the scans that
//! evaluate their filter while decoding, and before DataFusion moves filters into those scans,
//! where the wrapper goes too (`engine.memoize_string_filters`, on by default).

use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringViewArray, UInt32Array};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef};
use arrow::record_batch::RecordBatch;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{HashMap, ScalarValue};
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, Operator};
use datafusion::physical_expr::expressions::{BinaryExpr, Column, LikeExpr, Literal};
use datafusion::physical_expr::utils::{collect_columns, split_conjunction};
use datafusion::physical_expr::{PhysicalExpr, ScalarFunctionExpr, conjunction};
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};

/// The name of the one column the wrapped conjunct reads its distinct values from.
const VALUES: &str = "__strata_distinct_strings";

/// Rows of a batch looked at before deciding whether its values repeat.
const SAMPLE: usize = 512;

/// More distinct values than this among the [`SAMPLE`]: the batch is evaluated as a whole.
const SAMPLE_DISTINCT: usize = SAMPLE / 4;

/// The rule; off (`engine.memoize_string_filters = false`) it changes nothing.
#[derive(Debug)]
pub(crate) struct MemoizeStringFilters {
    pub(crate) enabled: bool,
}

impl PhysicalOptimizerRule for MemoizeStringFilters {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !self.enabled {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            let Some(filter) = node.downcast_ref::<FilterExec>() else {
                return Ok(Transformed::no(node));
            };
            let schema = filter.input().schema();
            let mut changed = false;
            let conjuncts = split_conjunction(filter.predicate())
                .into_iter()
                .map(|conjunct| match RepeatedStrings::wrap(conjunct, &schema)? {
                    Some(wrapped) => {
                        changed = true;
                        Ok(wrapped)
                    }
                    None => Ok(Arc::clone(conjunct)),
                })
                .collect::<Result<Vec<_>>>()?;
            if !changed {
                return Ok(Transformed::no(node));
            }
            let rebuilt = FilterExecBuilder::from(filter)
                .with_predicate(conjunction(conjuncts))
                .build()?;
            Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>))
        })
        .data()
    }

    fn name(&self) -> &str {
        "strata_memoize_string_filters"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// A conjunct over one string column, evaluated once per distinct value of each batch.
#[derive(Debug)]
pub(crate) struct RepeatedStrings {
    /// The column (after DataFusion's rewrites for a file: possibly a cast, or a literal for a
    /// column the file lacks).
    input: Arc<dyn PhysicalExpr>,
    /// The conjunct, reading the column as column 0 of a one-column batch of `values`.
    predicate: Arc<dyn PhysicalExpr>,
    /// That one column's schema.
    values: SchemaRef,
}

impl RepeatedStrings {
    /// `conjunct` wrapped, when it reads one string-view column and does costly work per row.
    pub(crate) fn wrap(
        conjunct: &Arc<dyn PhysicalExpr>,
        schema: &Schema,
    ) -> Result<Option<Arc<dyn PhysicalExpr>>> {
        let columns = collect_columns(conjunct);
        let Some(column) = columns.iter().next().filter(|_| columns.len() == 1) else {
            return Ok(None);
        };
        let data_type = column.data_type(schema)?;
        if data_type != DataType::Utf8View || !costly(conjunct) {
            return Ok(None);
        }
        let values = Arc::new(Schema::new(vec![Field::new(VALUES, data_type, true)]));
        let predicate = Arc::clone(conjunct)
            .transform(|e| {
                Ok(match e.downcast_ref::<Column>() {
                    Some(_) => Transformed::new(
                        Arc::new(Column::new(VALUES, 0)) as Arc<dyn PhysicalExpr>,
                        true,
                        TreeNodeRecursion::Jump,
                    ),
                    None => Transformed::no(e),
                })
            })
            .data()?;
        Ok(Some(Arc::new(RepeatedStrings {
            input: Arc::new(column.clone()),
            predicate,
            values,
        })))
    }

    /// The conjunct on `values` (a column of the type it was planned for).
    fn apply(&self, values: ArrayRef) -> Result<ArrayRef> {
        let values = if values.data_type() == self.values.field(0).data_type() {
            values
        } else {
            arrow::compute::cast(&values, self.values.field(0).data_type())?
        };
        let rows = values.len();
        let batch = RecordBatch::try_new(Arc::clone(&self.values), vec![values])?;
        self.predicate.evaluate(&batch)?.into_array(rows)
    }
}

/// Functions cheaper per row than looking a view up: lengths, prefix and suffix tests (on the
/// view's inlined prefix), null handling.
const CHEAP_FUNCTIONS: &[&str] = &[
    "length",
    "char_length",
    "character_length",
    "octet_length",
    "bit_length",
    "starts_with",
    "ends_with",
    "coalesce",
    "nullif",
    "nvl",
    "ifnull",
];

/// Whether `expr` does costly work per row: `LIKE`/`ILIKE` (but not a `LIKE` of the column with
/// a leading literal, which DataFusion prunes row groups with), a regular expression, or a
/// function call other than [`CHEAP_FUNCTIONS`]; and nothing volatile.
fn costly(expr: &Arc<dyn PhysicalExpr>) -> bool {
    let mut costly = false;
    let mut prunable = false;
    let mut volatile = false;
    let _ = expr.apply(|e| {
        volatile |= e.is_volatile_node();
        if let Some(like) = e.downcast_ref::<LikeExpr>() {
            costly = true;
            let pattern = like.pattern().downcast_ref::<Literal>().map(Literal::value);
            let leading = match pattern {
                Some(
                    ScalarValue::Utf8(Some(p))
                    | ScalarValue::Utf8View(Some(p))
                    | ScalarValue::LargeUtf8(Some(p)),
                ) => !p.starts_with(['%', '_']),
                _ => false,
            };
            // `col [NOT] LIKE 'abc%'` (through casts): pruned by row-group statistics.
            let of_column = like.expr().downcast_ref::<ScalarFunctionExpr>().is_none()
                && collect_columns(like.expr()).len() == 1;
            prunable |= leading && of_column && !like.case_insensitive();
        } else if let Some(binary) = e.downcast_ref::<BinaryExpr>() {
            costly |= matches!(
                binary.op(),
                Operator::RegexMatch
                    | Operator::RegexIMatch
                    | Operator::RegexNotMatch
                    | Operator::RegexNotIMatch
            );
        } else if let Some(function) = e.downcast_ref::<ScalarFunctionExpr>() {
            costly |= !CHEAP_FUNCTIONS.contains(&function.name());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    costly && !prunable && !volatile
}

/// The distinct values of a batch: each row's index among them.
struct Distinct {
    keys: Vec<u32>,
    views: Vec<u128>,
    /// The index that stands for NULL, if the batch has nulls: the conjunct is evaluated on a
    /// NULL too (`col IS NULL OR col LIKE …` is true there).
    null: Option<u32>,
}

/// The slot of a 256-slot direct-mapped cache a string view goes to.
pub(crate) fn slot(view: u128) -> usize {
    let mixed = (view as u64) ^ ((view >> 64) as u64);
    (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 56) as usize
}

/// The distinct views of `array`; None when the values do not repeat enough to pay.
fn distinct_views(array: &StringViewArray) -> Option<Distinct> {
    let views = array.views();
    let nulls = array.nulls();
    // A direct-mapped cache of recent views in front of the map: a handful of distinct
    // values then costs a multiplication and a comparison per row.
    let mut recent = [(0u128, u32::MAX); 256];
    let mut index: HashMap<u128, u32> = HashMap::with_capacity(64);
    let mut distinct: Vec<u128> = Vec::new();
    let mut keys: Vec<u32> = Vec::with_capacity(views.len());
    let mut null: Option<u32> = None;
    let most = (views.len() / 4).max(SAMPLE_DISTINCT);
    for (row, view) in views.iter().enumerate() {
        if nulls.is_some_and(|n| n.is_null(row)) {
            let key = *null.get_or_insert_with(|| {
                distinct.push(0);
                (distinct.len() - 1) as u32
            });
            keys.push(key);
            continue;
        }
        let slot = slot(*view);
        let (seen, key) = recent[slot];
        if seen == *view && key != u32::MAX {
            keys.push(key);
            continue;
        }
        let key = *index.entry(*view).or_insert_with(|| {
            distinct.push(*view);
            (distinct.len() - 1) as u32
        });
        recent[slot] = (*view, key);
        keys.push(key);
        let limit = if row < SAMPLE { SAMPLE_DISTINCT } else { most };
        if distinct.len() > limit {
            return None;
        }
    }
    Some(Distinct {
        keys,
        views: distinct,
        null,
    })
}

/// The distinct values of `array` (NULL among them if it has nulls) and each row's index
/// among them; None when the values do not repeat enough to pay.
pub(crate) fn distinct_values(
    array: &StringViewArray,
) -> Result<Option<(StringViewArray, Vec<u32>)>> {
    let Some(distinct) = distinct_views(array) else {
        return Ok(None);
    };
    let nulls = distinct
        .null
        .map(|null| NullBuffer::from_iter((0..distinct.views.len()).map(|i| i != null as usize)));
    // The distinct views point into the batch's own buffers: valid views, valid UTF-8.
    let values = StringViewArray::try_new(
        ScalarBuffer::from(distinct.views),
        array.data_buffers().to_vec(),
        nulls,
    )?;
    Ok(Some((values, distinct.keys)))
}

impl PartialEq for RepeatedStrings {
    fn eq(&self, other: &Self) -> bool {
        self.input.eq(&other.input) && self.predicate.eq(&other.predicate)
    }
}

impl Eq for RepeatedStrings {}

impl Hash for RepeatedStrings {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.input.hash(state);
        self.predicate.hash(state);
    }
}

/// Shown as `per_distinct_value(<the conjunct>)`.
impl fmt::Display for RepeatedStrings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "per_distinct_value({})", self.unwrapped())
    }
}

impl RepeatedStrings {
    /// The conjunct reading `input` again.
    pub(crate) fn unwrapped(&self) -> Arc<dyn PhysicalExpr> {
        Arc::clone(&self.predicate)
            .transform(|e| {
                Ok(match e.downcast_ref::<Column>() {
                    Some(c) if c.name() == VALUES => Transformed::yes(Arc::clone(&self.input)),
                    _ => Transformed::no(e),
                })
            })
            .data()
            .unwrap_or_else(|_| Arc::clone(&self.predicate))
    }
}

impl PhysicalExpr for RepeatedStrings {
    fn data_type(&self, _input_schema: &Schema) -> Result<DataType> {
        self.predicate.data_type(&self.values)
    }

    fn nullable(&self, _input_schema: &Schema) -> Result<bool> {
        self.predicate.nullable(&self.values)
    }

    fn return_field(&self, _input_schema: &Schema) -> Result<FieldRef> {
        self.predicate.return_field(&self.values)
    }

    fn evaluate(&self, batch: &RecordBatch) -> Result<ColumnarValue> {
        let array = match self.input.evaluate(batch)? {
            ColumnarValue::Scalar(value) => {
                let answer = self.apply(value.to_array_of_size(1)?)?;
                return Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
                    &answer, 0,
                )?));
            }
            ColumnarValue::Array(array) => array,
        };
        let memo = (array.as_string_view_opt())
            .filter(|a| a.len() > 1)
            .map(distinct_values)
            .transpose()?
            .flatten();
        let Some((values, keys)) = memo else {
            return Ok(ColumnarValue::Array(self.apply(array)?));
        };
        let answers = self.apply(Arc::new(values))?;
        let keys = UInt32Array::new(ScalarBuffer::from(keys), None);
        Ok(ColumnarValue::Array(arrow::compute::take(
            &answers, &keys, None,
        )?))
    }

    fn children(&self) -> Vec<&Arc<dyn PhysicalExpr>> {
        vec![&self.input]
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn PhysicalExpr>>,
    ) -> Result<Arc<dyn PhysicalExpr>> {
        Ok(Arc::new(RepeatedStrings {
            input: Arc::clone(&children[0]),
            predicate: Arc::clone(&self.predicate),
            values: Arc::clone(&self.values),
        }))
    }

    fn fmt_sql(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.unwrapped().fmt_sql(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::engine::tests::{config, rows, run};
    use datafusion::physical_expr::expressions::{col, like, lit};

    /// `LIKE '%ar%'` over column 0 of `batch`, row by row and wrapped.
    fn both(batch: &RecordBatch) -> (ArrayRef, ArrayRef) {
        let schema = batch.schema();
        let plain = like(
            false,
            false,
            col("s", &schema).unwrap(),
            lit(ScalarValue::Utf8View(Some("%ar%".into()))),
            &schema,
        )
        .unwrap();
        let wrapped = RepeatedStrings::wrap(&plain, &schema).unwrap().unwrap();
        let answer = |e: &Arc<dyn PhysicalExpr>| {
            e.evaluate(batch)
                .unwrap()
                .into_array(batch.num_rows())
                .unwrap()
        };
        (answer(&plain), answer(&wrapped))
    }

    fn batch(values: Vec<Option<String>>) -> RecordBatch {
        let array: StringViewArray = values.into_iter().collect();
        RecordBatch::try_from_iter([("s", Arc::new(array) as ArrayRef)]).unwrap()
    }

    #[test]
    fn answers_are_the_row_by_row_answers() {
        // Repeating values, short (inlined in the view) and long, with nulls.
        let names = ["Park Slope", "Harlem", "Upper West Side North", "Arverne"];
        let repeating: Vec<Option<String>> = (0..5000)
            .map(|i| (i % 7 != 3).then(|| names[i % 4].to_string()))
            .collect();
        // As the Parquet reader decodes a dictionary-encoded column: views into the dictionary.
        let dictionary: arrow::array::DictionaryArray<arrow::datatypes::Int32Type> =
            repeating.iter().map(|v| v.as_deref()).collect();
        let views = arrow::compute::cast(&dictionary, &DataType::Utf8View).unwrap();
        let b = RecordBatch::try_from_iter([("s", views)]).unwrap();
        let d = distinct_views(b.column(0).as_string_view()).unwrap();
        assert_eq!((d.views.len(), d.null.is_some()), (5, true));
        let (plain, wrapped) = both(&b);
        assert_eq!(plain.as_ref(), wrapped.as_ref());
        assert_eq!(
            wrapped.null_count(),
            (0..5000).filter(|i| i % 7 == 3).count()
        );

        // Values that do not repeat are evaluated row by row.
        let distinct: Vec<Option<String>> =
            (0..5000).map(|i| Some(format!("street {i} arm"))).collect();
        let b = batch(distinct);
        assert!(distinct_views(b.column(0).as_string_view()).is_none());
        let (plain, wrapped) = both(&b);
        assert_eq!(plain.as_ref(), wrapped.as_ref());

        // All nulls.
        let (plain, wrapped) = both(&batch(vec![None; 10]));
        assert_eq!(plain.as_ref(), wrapped.as_ref());
    }

    /// A conjunct that is true on NULL: null rows are evaluated too, not taken for NULL.
    #[test]
    fn a_conjunct_true_on_null_keeps_the_null_rows() {
        let values: Vec<Option<String>> = (0..2000)
            .map(|i| (i % 3 != 0).then(|| ["Harlem", "Park Slope"][i % 2].to_string()))
            .collect();
        let b = batch(values);
        let schema = b.schema();
        let s = col("s", &schema).unwrap();
        let plain: Arc<dyn PhysicalExpr> = Arc::new(BinaryExpr::new(
            Arc::new(datafusion::physical_expr::expressions::IsNullExpr::new(
                Arc::clone(&s),
            )),
            Operator::Or,
            like(
                false,
                false,
                s,
                lit(ScalarValue::Utf8View(Some("%ark%".into()))),
                &schema,
            )
            .unwrap(),
        ));
        let wrapped = RepeatedStrings::wrap(&plain, &schema).unwrap().unwrap();
        let answer = |e: &Arc<dyn PhysicalExpr>| e.evaluate(&b).unwrap().into_array(2000).unwrap();
        assert_eq!(answer(&plain).as_ref(), answer(&wrapped).as_ref());
        assert_eq!(answer(&wrapped).as_boolean().true_count(), 667 + 667);
    }

    async fn trips(memoize: bool) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.execution.memoize_string_filters = memoize;
        let engine = Engine::open(&config).unwrap();
        run(&engine, "CREATE TABLE t (id BIGINT, area VARCHAR)").await;
        run(
            &engine,
            "INSERT INTO t SELECT value, CASE value % 5 WHEN 0 THEN 'Park Slope' \
             WHEN 1 THEN 'Harlem' WHEN 2 THEN 'Upper West Side North' WHEN 3 THEN NULL \
             ELSE 'park-' || (value % 3) END FROM generate_series(1, 20000)",
        )
        .await;
        (dir, engine)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn costly_filters_on_a_string_column_run_per_distinct_value() {
        let (_dir, on) = trips(true).await;
        let (_dir2, off) = trips(false).await;
        let wrapped = [
            "SELECT area, count(*), min(id) FROM t WHERE area LIKE '%ark%' GROUP BY area",
            "SELECT area, count(*) FROM t WHERE area ILIKE 'PARK%' GROUP BY area",
            "SELECT area, count(*) FROM t WHERE area ~ '[HU].*' GROUP BY area",
            "SELECT area, count(*) FROM t WHERE lower(area) = 'harlem' OR area NOT LIKE '%a%' \
             GROUP BY area",
            "SELECT count(*) FROM t WHERE id > 100 AND upper(area) > 'P'",
            // True on NULL: the null rows are kept.
            "SELECT area, count(*) FROM t WHERE area IS NULL OR area LIKE '%ar%' GROUP BY area",
            "SELECT area, count(*) FROM t WHERE coalesce(area, 'x') LIKE '%x%' GROUP BY area",
            "SELECT count(*) FROM t WHERE lower(area) LIKE 'park%'",
        ];
        for sql in wrapped {
            let plan = rows(&on, &format!("EXPLAIN {sql}")).await;
            let plan = format!("{plan:?}");
            assert!(plan.contains("per_distinct_value("), "{sql}\n{plan}");
            let mut a = rows(&on, sql).await;
            let mut b = rows(&off, sql).await;
            a.sort();
            b.sort();
            assert!(!a.is_empty());
            assert_eq!(a, b, "{sql}");
        }
        // Cheap comparisons, and prefixes the row groups' statistics prune with, stay as
        // they are.
        for sql in [
            "SELECT count(*) FROM t WHERE area = 'Harlem'",
            "SELECT count(*) FROM t WHERE area LIKE 'Park%'",
            "SELECT count(*) FROM t WHERE area NOT LIKE 'Park%'",
            "SELECT count(*) FROM t WHERE length(area) > 10",
            "SELECT count(*) FROM t WHERE id % 2 = 0",
        ] {
            let plan = format!("{:?}", rows(&on, &format!("EXPLAIN {sql}")).await);
            assert!(!plan.contains("per_distinct_value("), "{sql}\n{plan}");
        }
        assert_eq!(
            rows(&on, "SELECT count(*) FROM t WHERE area LIKE '%ark%'").await,
            [["8000"]]
        );
    }
}
