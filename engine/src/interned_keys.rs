//! String group keys turned into small integers before the hash aggregate hashes them.
//!
//! `SELECT pickup_ntaname, count(*) … WHERE cab_type = 'yellow' GROUP BY 1` over 20 M trips
//! spent 330 ms of CPU in the partial aggregate (`aggregation_time`) for 13 distinct names:
//! DataFusion's string group table hashes and compares each row's string. Parquet writers
//! dictionary-encode such columns and the reader decodes them into string views that point
//! into the dictionary, so within a batch a repeated value repeats its 16-byte view (see
//! [`crate::repeated_strings`]).
//!
//! [`InternGroupKeys`] wraps each aggregate that reads raw rows and groups by string columns
//! (`GROUP BY level`, `GROUP BY day, service`, and the inner grouping DataFusion plans for
//! `count(DISTINCT name)`) in an [`InternedKeysExec`]. Per partition it looks at the first
//! batch: when its string keys repeat, each batch's distinct values (a few per batch) are
//! looked up in a dictionary of the partition's values, every row gets its value's number
//! (`UInt32`), the aggregate groups by those numbers, and its output turns the numbers back into
//! the strings. When the first batch's keys are mostly distinct (ids, URLs) the aggregate runs
//! exactly as planned. Either way the aggregate's answer is the same groups with the same
//! values: a number stands for exactly one string of the partition.
//!
//! `engine.intern_group_keys` (on by default) turns it off. `EXPLAIN ANALYZE` shows the
//! aggregate's metrics on the `InternedKeysExec` line, with how many partitions interned.

use std::fmt;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, ArrayRef, AsArray, StringViewArray, UInt32Array};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt32Type};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::HashMap;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode, PhysicalGroupBy};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet,
};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{
    ChildrenPropertiesMode, DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode,
    PlanProperties, ReplaceChildrenOptions, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use crate::repeated_strings::distinct_values;

/// Rows of a partition's first batch looked at before deciding whether its keys repeat.
const SAMPLE: usize = 1024;

/// More distinct values than this among the [`SAMPLE`] in any key column: the partition is
/// aggregated as planned.
const SAMPLE_DISTINCT: usize = SAMPLE / 8;

/// The rule; off (`engine.intern_group_keys = false`) it changes nothing.
#[derive(Debug)]
pub(crate) struct InternGroupKeys {
    pub(crate) enabled: bool,
}

impl PhysicalOptimizerRule for InternGroupKeys {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if !self.enabled {
            return Ok(plan);
        }
        plan.transform_up(|node| {
            if node.downcast_ref::<AggregateExec>().is_none() {
                return Ok(Transformed::no(node));
            }
            Ok(match InternedKeysExec::wrap(Arc::clone(&node))? {
                Some(wrapped) => Transformed::yes(Arc::new(wrapped) as Arc<dyn ExecutionPlan>),
                None => Transformed::no(node),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "strata_intern_group_keys"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// An aggregate whose string group keys are numbered per partition when they repeat.
#[derive(Debug)]
pub(crate) struct InternedKeysExec {
    /// The aggregate, as planned; its input is this node's input.
    aggregate: Arc<dyn ExecutionPlan>,
    /// The input columns grouped by that are numbered, in group-expression order.
    columns: Vec<usize>,
    /// For each group expression, the position in `columns` of the column it numbers.
    numbered: Vec<Option<usize>>,
    /// The input's schema with one `UInt32` column per numbered column appended.
    keyed_schema: SchemaRef,
    /// The aggregate grouping by the numbers instead of the strings, over an empty input
    /// each partition replaces with its numbered batches.
    keyed: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
    /// The aggregates executed so far (one per partition): their metrics are this node's.
    runs: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
}

impl InternedKeysExec {
    /// `plan` wrapped, when it is an aggregate of raw rows grouping by a string-view column
    /// and nothing in it depends on the input's order or types of its keys.
    pub(crate) fn wrap(plan: Arc<dyn ExecutionPlan>) -> Result<Option<Self>> {
        let Some(aggregate) = plan.downcast_ref::<AggregateExec>() else {
            return Ok(None);
        };
        let raw_input = matches!(
            aggregate.mode(),
            AggregateMode::Partial | AggregateMode::Single | AggregateMode::SinglePartitioned
        );
        let group_by = aggregate.group_expr();
        let plain = raw_input
            && !group_by.has_grouping_set()
            && group_by.groups().len() == 1
            && *aggregate.input_order_mode() == InputOrderMode::Linear
            && aggregate.dynamic_expressions_produced().is_empty()
            // A top-K aggregate keeps groups by their values; leave it as planned.
            && aggregate
                .limit_options()
                .is_none_or(|limit| limit.descending().is_none())
            && aggregate.aggr_expr().iter().all(|a| a.order_bys().is_empty());
        if !plain {
            return Ok(None);
        }
        let input_schema = aggregate.input().schema();
        let mut columns: Vec<usize> = Vec::new();
        let mut numbered = Vec::with_capacity(group_by.expr().len());
        for (expr, _) in group_by.expr() {
            let column = expr
                .downcast_ref::<Column>()
                .filter(|c| input_schema.field(c.index()).data_type() == &DataType::Utf8View)
                .map(Column::index);
            numbered.push(column.map(|c| match columns.iter().position(|&x| x == c) {
                Some(at) => at,
                None => {
                    columns.push(c);
                    columns.len() - 1
                }
            }));
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let width = input_schema.fields().len();
        let fields = input_schema
            .fields()
            .iter()
            .cloned()
            .chain(columns.iter().map(|c| {
                Arc::new(Field::new(
                    format!("__strata_key_{c}"),
                    DataType::UInt32,
                    true,
                ))
            }));
        let keyed_schema = Arc::new(Schema::new_with_metadata(
            fields.collect::<Vec<_>>(),
            input_schema.metadata().clone(),
        ));
        let exprs = group_by
            .expr()
            .iter()
            .zip(&numbered)
            .map(|((expr, name), at)| match at {
                Some(at) => (
                    Arc::new(Column::new(
                        &format!("__strata_key_{}", columns[*at]),
                        width + at,
                    )) as Arc<dyn PhysicalExpr>,
                    name.clone(),
                ),
                None => (Arc::clone(expr), name.clone()),
            })
            .collect();
        let keyed_group_by = PhysicalGroupBy::new(
            exprs,
            group_by.null_expr().to_vec(),
            group_by.groups().to_vec(),
            false,
        );
        let keyed = AggregateExec::try_new(
            *aggregate.mode(),
            keyed_group_by,
            aggregate.aggr_expr().to_vec(),
            aggregate.filter_expr().to_vec(),
            Arc::new(EmptyExec::new(Arc::clone(&keyed_schema))),
            Arc::clone(&keyed_schema),
        );
        // An aggregate DataFusion would not build over the numbers stays as planned.
        let Ok(keyed) = keyed else {
            return Ok(None);
        };
        let keyed = keyed.with_limit_options(aggregate.limit_options());
        Ok(Some(InternedKeysExec {
            aggregate: plan,
            columns,
            numbered,
            keyed_schema,
            keyed: Arc::new(keyed),
            metrics: ExecutionPlanMetricsSet::new(),
            runs: Arc::default(),
        }))
    }

    /// The aggregate's input.
    fn input(&self) -> Result<&Arc<dyn ExecutionPlan>> {
        (self.aggregate.children().into_iter().next())
            .ok_or_else(|| DataFusionError::Internal("an aggregate without input".into()))
    }
}

/// A stream handed to a plan as its one partition.
struct Handed {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl fmt::Debug for Handed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Handed")
    }
}

impl PartitionStream for Handed {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        taken.unwrap_or_else(|| {
            let error = DataFusionError::Internal("a handed stream was executed twice".into());
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                futures::stream::once(async move { Err(error) }),
            ))
        })
    }
}

fn handed(stream: SendableRecordBatchStream) -> Result<Arc<dyn ExecutionPlan>> {
    let schema = stream.schema();
    let part = Arc::new(Handed {
        schema: Arc::clone(&schema),
        stream: Mutex::new(Some(stream)),
    });
    Ok(Arc::new(StreamingTableExec::try_new(
        schema,
        vec![part],
        None,
        vec![],
        false,
        None,
    )?))
}

/// Whether the keys of the first rows of `batch` repeat enough to number them.
fn repeats(batch: &RecordBatch, columns: &[usize]) -> bool {
    let rows = batch.num_rows().min(SAMPLE);
    columns.iter().all(|&c| {
        let Some(strings) = batch.column(c).as_string_view_opt() else {
            return false;
        };
        let sample = strings.slice(0, rows);
        let mut seen = std::collections::HashSet::with_capacity(64);
        for (row, view) in sample.views().iter().enumerate() {
            if sample.is_valid(row) {
                seen.insert(*view);
                if seen.len() > SAMPLE_DISTINCT {
                    return false;
                }
            }
        }
        true
    })
}

/// One numbered column's strings of a partition, in the order first seen.
#[derive(Default)]
struct Dictionary {
    numbers: HashMap<Box<str>, u32>,
    values: Vec<Box<str>>,
    /// `values` as an array, rebuilt when values were added since.
    array: Option<Arc<StringViewArray>>,
}

impl Dictionary {
    fn number(&mut self, value: &str) -> u32 {
        if let Some(n) = self.numbers.get(value) {
            return *n;
        }
        let n = self.values.len() as u32;
        self.values.push(value.into());
        self.numbers.insert(value.into(), n);
        self.array = None;
        n
    }

    /// Each row's number (NULL for NULL).
    fn numbers(&mut self, strings: &StringViewArray) -> Result<UInt32Array> {
        if let Some((values, keys)) = distinct_values(strings)? {
            let numbers: Vec<u32> = (0..values.len())
                .map(|i| {
                    if values.is_valid(i) {
                        self.number(values.value(i))
                    } else {
                        0
                    }
                })
                .collect();
            let rows = keys.iter().map(|&k| numbers[k as usize]);
            return Ok(UInt32Array::new(
                ScalarBuffer::from_iter(rows),
                strings.nulls().cloned(),
            ));
        }
        Ok(strings.iter().map(|s| s.map(|s| self.number(s))).collect())
    }

    /// The strings the `numbers` stand for.
    fn strings(&mut self, numbers: &UInt32Array) -> Result<ArrayRef> {
        let values = match &self.array {
            Some(array) => Arc::clone(array),
            None => {
                let array = Arc::new(StringViewArray::from_iter_values(self.values.iter()));
                self.array = Some(Arc::clone(&array));
                array
            }
        };
        Ok(arrow::compute::take(values.as_ref(), numbers, None)?)
    }
}

/// Number the `columns` of `batch` into the columns appended in `schema`.
fn number_batch(
    batch: &RecordBatch,
    columns: &[usize],
    dictionaries: &Mutex<Vec<Dictionary>>,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let mut dictionaries = dictionaries
        .lock()
        .map_err(|_| DataFusionError::Internal("a group key dictionary was poisoned".into()))?;
    let mut arrays = batch.columns().to_vec();
    for (&c, dictionary) in columns.iter().zip(dictionaries.iter_mut()) {
        let strings = batch.column(c).as_string_view_opt().ok_or_else(|| {
            DataFusionError::Internal(format!("group key column {c} is not a string view"))
        })?;
        arrays.push(Arc::new(dictionary.numbers(strings)?));
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &options,
    )?)
}

/// The aggregate's output with the numbers turned back into strings.
fn name_batch(
    batch: &RecordBatch,
    numbered: &[Option<usize>],
    dictionaries: &Mutex<Vec<Dictionary>>,
    schema: &SchemaRef,
) -> Result<RecordBatch> {
    let mut dictionaries = dictionaries
        .lock()
        .map_err(|_| DataFusionError::Internal("a group key dictionary was poisoned".into()))?;
    let mut arrays = batch.columns().to_vec();
    for (position, at) in numbered.iter().enumerate() {
        let Some(at) = at else { continue };
        let numbers = arrays[position]
            .as_primitive_opt::<UInt32Type>()
            .ok_or_else(|| {
                DataFusionError::Internal(format!("group key {position} is not numbered"))
            })?;
        arrays[position] = dictionaries[*at].strings(numbers)?;
    }
    let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &options,
    )?)
}

impl DisplayAs for InternedKeysExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let names: Vec<&str> = self
            .columns
            .iter()
            .map(|&c| self.keyed_schema.field(c).name().as_str())
            .collect();
        write!(f, "InternedKeysExec: keys=[{}]", names.join(", "))
    }
}

impl ExecutionPlan for InternedKeysExec {
    fn name(&self) -> &'static str {
        "InternedKeysExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.aggregate.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.aggregate]
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
        let child = children.swap_remove(0);
        Ok(match InternedKeysExec::wrap(Arc::clone(&child))? {
            Some(wrapped) => Arc::new(wrapped),
            None => child,
        })
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        self.replace_children(children, recompute())
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let mut input = self.input()?.execute(partition, Arc::clone(&context))?;
        let schema = self.schema();
        let interned = MetricBuilder::new(&self.metrics).global_counter("interned_partitions");
        let as_planned = MetricBuilder::new(&self.metrics).global_counter("planned_partitions");
        let this = Arc::new(Shared {
            aggregate: Arc::clone(&self.aggregate),
            columns: self.columns.clone(),
            numbered: self.numbered.clone(),
            keyed_schema: Arc::clone(&self.keyed_schema),
            runs: Arc::clone(&self.runs),
            keyed: Arc::clone(&self.keyed),
            schema: Arc::clone(&schema),
            interned,
            as_planned,
        });
        let output = futures::stream::once(async move {
            // The first batch with rows decides; the batches before it are empty.
            let mut first = None;
            while let Some(batch) = input.next().await {
                let batch = batch?;
                if batch.num_rows() > 0 {
                    first = Some(batch);
                    break;
                }
            }
            this.run(first, input, context)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, output)))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        let mut set = self.metrics.clone_inner();
        if let Ok(runs) = self.runs.lock() {
            for metrics in runs.iter().filter_map(|run| run.metrics()) {
                for metric in metrics.iter() {
                    set.push(Arc::clone(metric));
                }
            }
        }
        Some(set)
    }
}

fn recompute() -> ReplaceChildrenOptions {
    ReplaceChildrenOptions::new(ChildrenPropertiesMode::Recompute)
}

/// What a partition's stream needs of its node.
struct Shared {
    aggregate: Arc<dyn ExecutionPlan>,
    columns: Vec<usize>,
    numbered: Vec<Option<usize>>,
    keyed_schema: SchemaRef,
    runs: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
    /// The keyed aggregate as planned (its input is replaced per partition).
    keyed: Arc<dyn ExecutionPlan>,
    schema: SchemaRef,
    interned: Count,
    as_planned: Count,
}

impl Shared {
    /// The partition's aggregate over `first` and the `rest` of its input.
    fn run(
        self: Arc<Self>,
        first: Option<RecordBatch>,
        rest: SendableRecordBatchStream,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input_schema = rest.schema();
        let number = first.as_ref().is_some_and(|b| repeats(b, &self.columns));
        let all = futures::stream::iter(first.map(Ok)).chain(rest);
        let run = if number {
            self.interned.add(1);
            let dictionaries = Arc::new(Mutex::new(
                self.columns
                    .iter()
                    .map(|_| Dictionary::default())
                    .collect::<Vec<_>>(),
            ));
            let (columns, keyed_schema) = (self.columns.clone(), Arc::clone(&self.keyed_schema));
            let to_number = Arc::clone(&dictionaries);
            let numbered =
                all.map(move |batch| number_batch(&batch?, &columns, &to_number, &keyed_schema));
            let input = handed(Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.keyed_schema),
                numbered,
            )))?;
            let run = Arc::clone(&self.keyed).replace_children(vec![input], recompute())?;
            let stream = run.execute(0, context)?;
            let this = Arc::clone(&self);
            let named = stream
                .map(move |batch| name_batch(&batch?, &this.numbered, &dictionaries, &this.schema));
            self.remember(run);
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.schema),
                named,
            )) as SendableRecordBatchStream
        } else {
            self.as_planned.add(1);
            let input = handed(Box::pin(RecordBatchStreamAdapter::new(input_schema, all)))?;
            let run = Arc::clone(&self.aggregate).replace_children(vec![input], recompute())?;
            let stream = run.execute(0, context)?;
            self.remember(run);
            stream
        };
        Ok(run)
    }

    fn remember(&self, run: Arc<dyn ExecutionPlan>) {
        if let Ok(mut runs) = self.runs.lock() {
            runs.push(run);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Engine;
    use crate::engine::tests::{config, rows, run};

    async fn lake(intern: bool) -> (tempfile::TempDir, Engine) {
        let dir = tempfile::tempdir().unwrap();
        let mut config = config(dir.path());
        config.execution.intern_group_keys = intern;
        let engine = Engine::open(&config).unwrap();
        run(
            &engine,
            "CREATE TABLE t (id BIGINT, day DATE, area VARCHAR, level VARCHAR, ms DOUBLE, trace VARCHAR)",
        )
        .await;
        // Two inserts, two files: keys numbered per partition must agree after the merge.
        for part in 0..2 {
            run(
                &engine,
                &format!(
                    "INSERT INTO t SELECT value, DATE '2026-05-01' + CAST(value % 3 AS INT), \
                     CASE value % 5 WHEN 0 THEN 'Park Slope' WHEN 1 THEN 'Harlem' \
                     WHEN 2 THEN 'Upper West Side North' WHEN 3 THEN NULL \
                     ELSE 'park-' || (value % {m}) END, \
                     CASE value % 4 WHEN 0 THEN 'INFO' WHEN 1 THEN 'WARN' ELSE 'ERROR' END, \
                     value * 0.5, 'trace-{part}-' || value FROM generate_series(1, 30000)",
                    m = 3 + part
                ),
            )
            .await;
        }
        (dir, engine)
    }

    fn sorted(mut rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
        rows.sort();
        rows
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn string_groups_are_numbered_and_named_back() {
        let (_dir, on) = lake(true).await;
        let (_dir2, off) = lake(false).await;
        let numbered = [
            "SELECT area, count(*), min(id), max(ms), sum(ms) FROM t GROUP BY area",
            "SELECT day, level, count(*) AS n FROM t GROUP BY ALL",
            "SELECT level, area, count(area), avg(ms) FROM t WHERE id % 3 = 0 GROUP BY 1, 2",
            "SELECT day, count(DISTINCT area) FROM t GROUP BY day",
            "SELECT area, max(level), min(area) FROM t GROUP BY area HAVING count(*) > 10",
            "SELECT area, count(*) FILTER (WHERE level = 'WARN') FROM t GROUP BY area",
            "SELECT DISTINCT level FROM t",
            "SELECT area AS a, level, area AS b FROM t GROUP BY area, level",
        ];
        for sql in numbered {
            let plan = format!("{:?}", rows(&on, &format!("EXPLAIN ANALYZE {sql}")).await);
            assert!(plan.contains("InternedKeysExec"), "{sql}\n{plan}");
            assert!(!plan.contains("interned_partitions=0"), "{sql}\n{plan}");
            let a = sorted(rows(&on, sql).await);
            assert!(!a.is_empty());
            assert_eq!(a, sorted(rows(&off, sql).await), "{sql}");
        }
        let expected = [
            ("", 12000),
            ("Harlem", 12000),
            ("Park Slope", 12000),
            ("Upper West Side North", 12000),
            ("park-0", 3500),
            ("park-1", 3500),
            ("park-2", 3500),
            ("park-3", 1500),
        ]
        .map(|(area, n)| vec![area.to_string(), n.to_string()]);
        assert_eq!(
            sorted(rows(&on, "SELECT area, count(*) FROM t GROUP BY area").await),
            expected
        );
        // Keys that do not repeat are grouped as planned.
        let sql = "SELECT trace, count(*) FROM t GROUP BY trace ORDER BY trace LIMIT 3";
        let plan = format!("{:?}", rows(&on, &format!("EXPLAIN ANALYZE {sql}")).await);
        assert!(plan.contains("InternedKeysExec"), "{plan}");
        assert!(plan.contains("interned_partitions=0"), "{plan}");
        assert!(!plan.contains("planned_partitions=0"), "{plan}");
        assert_eq!(rows(&on, sql).await, rows(&off, sql).await);
        // Groups over other types, and the setting off, are left alone.
        let plan = format!(
            "{:?}",
            rows(&on, "EXPLAIN SELECT day, count(*) FROM t GROUP BY 1").await
        );
        assert!(!plan.contains("InternedKeysExec"), "{plan}");
        let plan = format!(
            "{:?}",
            rows(&off, "EXPLAIN SELECT area, count(*) FROM t GROUP BY 1").await
        );
        assert!(!plan.contains("InternedKeysExec"), "{plan}");
    }

    /// Batches whose views do not repeat (each string its own copy) still get one number per
    /// string, and NULL stays NULL.
    #[test]
    fn a_number_stands_for_one_string() {
        let mut dictionary = Dictionary::default();
        let copies: StringViewArray = (0..3000)
            .map(|i| (i % 10 != 0).then(|| format!("a long street name {}", i % 3)))
            .collect();
        let numbers = dictionary.numbers(&copies).unwrap();
        assert_eq!(dictionary.values.len(), 3);
        let names = dictionary.strings(&numbers).unwrap();
        assert_eq!(names.as_string_view(), &copies);
        // The same strings in another batch get the same numbers.
        let again: StringViewArray = vec![Some("a long street name 2"), None]
            .into_iter()
            .collect();
        let numbers2 = dictionary.numbers(&again).unwrap();
        assert_eq!(numbers2.value(0), numbers.value(2));
        assert!(numbers2.is_null(1));
    }
}
