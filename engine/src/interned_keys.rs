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
//! batch: when its string keys repeat (at most one distinct value in eight rows), every row's
//! string gets its number in a dictionary of the partition's values (a direct-mapped cache of
//! recent views in front of it), and the aggregate groups by numbers: two keys that are strings
//! or 32-bit integers/dates packed into one `UInt64`, otherwise each string by a `UInt32`. Its
//! output turns the numbers back into the values. When the first batch's keys are mostly
//! distinct (ids, URLs), or it is one key of short strings (DataFusion's own string group table
//! compares those by their views already), the aggregate runs exactly as planned. Either way
//! the answer is the same groups with the same values: a number stands for exactly one string
//! of the partition. The dictionary's memory is reserved in the query's memory pool.
//!
//! `engine.intern_group_keys` (on by default) turns it off. `EXPLAIN ANALYZE` shows the
//! aggregate's metrics on the `InternedKeysExec` line, with how many partitions interned.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, StringViewArray, UInt32Array, UInt64Array, make_array,
};
use arrow::buffer::ScalarBuffer;
use arrow::datatypes::{DataType, Field, Int32Type, Schema, SchemaRef, UInt32Type, UInt64Type};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use datafusion::common::HashMap;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode, PhysicalGroupBy};
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::metrics::{
    Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, Time,
};
use datafusion::physical_plan::statistics::{ChildStats, StatisticsArgs};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, InputOrderMode, PlanProperties,
    ReplaceChildrenOptions, SendableRecordBatchStream, Statistics,
};
use futures::{StreamExt, TryStreamExt};

use crate::repeated_strings::slot;
use crate::sort_through_filter::recompute;

/// Rows of a partition's first batch looked at before deciding whether its keys repeat.
const SAMPLE: usize = 1024;

/// More than one distinct value in this many sampled rows of any key column: the partition is
/// aggregated as planned.
const SAMPLE_SHARE: usize = 8;

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
    keys: Arc<Keys>,
    /// The aggregate grouping by the numbers instead of the strings, over an empty input
    /// each partition replaces with its numbered batches.
    keyed: Arc<dyn ExecutionPlan>,
    metrics: ExecutionPlanMetricsSet,
    /// The aggregates executed so far (one per partition): their metrics are this node's.
    runs: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
}

/// How one group expression is keyed.
#[derive(Debug, Clone)]
enum Part {
    /// By the number of its string in the dictionary of `Keys::columns[at]`.
    Number(usize),
    /// By its own 32-bit (or narrower) integer or date value, in a packed key.
    Narrow { column: usize, data_type: DataType },
    /// As planned.
    Planned,
}

/// Bits a part takes in a packed key: a string's number plus one (0 for NULL); a narrow
/// value's 32 bits and a NULL flag.
const NUMBER_BITS: u32 = 31;
const NARROW_BITS: u32 = 33;

/// What the numbering of one aggregate needs, shared by its partitions.
#[derive(Debug)]
struct Keys {
    /// The input columns grouped by that are numbered.
    columns: Vec<usize>,
    /// Each group expression's part.
    parts: Vec<Part>,
    /// Two group expressions, strings or narrow values, grouped by one `UInt64` that packs
    /// both; otherwise each numbered string is grouped by its own `UInt32`.
    packed: bool,
    /// The input's schema with the key columns appended.
    keyed_schema: SchemaRef,
    /// The aggregate's output schema.
    schema: SchemaRef,
}

/// A narrow type grouped by as it is in a packed key.
fn narrow(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::Date32
    )
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
        let mut parts = Vec::with_capacity(group_by.expr().len());
        for (expr, _) in group_by.expr() {
            let Some(column) = expr.downcast_ref::<Column>() else {
                parts.push(Part::Planned);
                continue;
            };
            let data_type = input_schema.field(column.index()).data_type();
            parts.push(if data_type == &DataType::Utf8View {
                let c = column.index();
                Part::Number(match columns.iter().position(|&x| x == c) {
                    Some(at) => at,
                    None => {
                        columns.push(c);
                        columns.len() - 1
                    }
                })
            } else if narrow(data_type) {
                Part::Narrow {
                    column: column.index(),
                    data_type: data_type.clone(),
                }
            } else {
                Part::Planned
            });
        }
        if columns.is_empty() {
            return Ok(None);
        }
        let packed = parts.len() == 2 && parts.iter().all(|p| !matches!(p, Part::Planned));
        let width = input_schema.fields().len();
        let key_fields: Vec<Field> = if packed {
            vec![Field::new("__strata_key", DataType::UInt64, false)]
        } else {
            (columns.iter())
                .map(|c| Field::new(format!("__strata_key_{c}"), DataType::UInt32, true))
                .collect()
        };
        let exprs = if packed {
            vec![(
                Arc::new(Column::new("__strata_key", width)) as Arc<dyn PhysicalExpr>,
                "__strata_key".to_string(),
            )]
        } else {
            (group_by.expr().iter().zip(&parts))
                .map(|((expr, name), part)| match part {
                    Part::Number(at) => (
                        Arc::new(Column::new(key_fields[*at].name(), width + at))
                            as Arc<dyn PhysicalExpr>,
                        name.clone(),
                    ),
                    _ => (Arc::clone(expr), name.clone()),
                })
                .collect()
        };
        let fields = (input_schema.fields().iter().cloned())
            .chain(key_fields.into_iter().map(Arc::new))
            .collect::<Vec<_>>();
        let keyed_schema = Arc::new(Schema::new_with_metadata(
            fields,
            input_schema.metadata().clone(),
        ));
        let groups = vec![vec![false; exprs.len()]];
        let keyed_group_by = PhysicalGroupBy::new(exprs, Vec::new(), groups, false);
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
            keys: Arc::new(Keys {
                columns,
                parts,
                packed,
                keyed_schema,
                schema: aggregate.schema(),
            }),
            aggregate: plan,
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

/// Whether to number the keys, from the first rows of `batch`: their strings repeat, and
/// either two keys pack into one or some string is too long to sit whole in its view (short
/// ones DataFusion's own string group table compares by their views already).
fn worth_numbering(batch: &RecordBatch, keys: &Keys) -> bool {
    let rows = batch.num_rows().min(SAMPLE);
    let mut long = false;
    let repeat = keys.columns.iter().all(|&c| {
        let Some(strings) = batch.column(c).as_string_view_opt() else {
            return false;
        };
        let sample = strings.slice(0, rows);
        // NULL counts as one more value.
        let mut seen = std::collections::HashSet::with_capacity(64);
        let most = rows / SAMPLE_SHARE;
        for (row, view) in sample.views().iter().enumerate() {
            let view = if sample.is_valid(row) {
                Some(*view)
            } else {
                None
            };
            long |= view.is_some_and(|v| (v as u32) > 12);
            seen.insert(view);
            if seen.len() > most {
                return false;
            }
        }
        true
    });
    repeat && (keys.packed || long)
}

/// Slots of the direct-mapped caches of recent views and their numbers.
const SLOTS: usize = 256;
const EMPTY_SLOT: (u128, u32) = (0, 0);

/// One numbered column's strings of a partition, in the order first seen.
struct Dictionary {
    numbers: HashMap<Arc<str>, u32>,
    values: Vec<Arc<str>>,
    /// The strings' memory, in the query's pool.
    reservation: MemoryReservation,
    /// Recent short strings, whole in their views (so valid across batches), and their
    /// numbers plus one (0: an empty slot).
    inline: Box<[(u128, u32); SLOTS]>,
}

impl Dictionary {
    fn new(reservation: MemoryReservation) -> Self {
        Dictionary {
            numbers: HashMap::default(),
            values: Vec::new(),
            reservation,
            inline: Box::new([EMPTY_SLOT; SLOTS]),
        }
    }

    fn number(&mut self, value: &str) -> Result<u32> {
        if let Some(n) = self.numbers.get(value) {
            return Ok(*n);
        }
        let n = u32::try_from(self.values.len())
            .ok()
            .filter(|n| *n < u32::MAX - 1)
            .ok_or_else(|| {
                DataFusionError::ResourcesExhausted(
                    "more than 2^32 - 2 distinct strings in a group key column of one partition"
                        .into(),
                )
            })?;
        // The string, its map entry and its place in the list.
        self.reservation.try_grow(value.len() + 48)?;
        let value: Arc<str> = value.into();
        self.values.push(Arc::clone(&value));
        self.numbers.insert(value, n);
        Ok(n)
    }

    /// Each row's number plus one, 0 for NULL. A repeated value costs a multiplication and a
    /// comparison of its view: short strings are whole in their views, and a longer value
    /// decoded from a Parquet dictionary repeats its view within a batch; other rows look
    /// their string up.
    fn numbers(&mut self, strings: &StringViewArray) -> Result<Vec<u32>> {
        let views = strings.views();
        let nulls = strings.nulls().filter(|n| n.null_count() > 0);
        let mut recent = [EMPTY_SLOT; SLOTS];
        let mut out = Vec::with_capacity(views.len());
        for (row, &view) in views.iter().enumerate() {
            if nulls.is_some_and(|n| n.is_null(row)) {
                out.push(0);
                continue;
            }
            let at = slot(view);
            let inline = (view as u32) <= 12;
            let (seen, n) = if inline { self.inline[at] } else { recent[at] };
            if seen == view && n != 0 {
                out.push(n);
                continue;
            }
            let n = self.number(strings.value(row))? + 1;
            if inline {
                self.inline[at] = (view, n);
            } else {
                recent[at] = (view, n);
            }
            out.push(n);
        }
        Ok(out)
    }

    /// The strings the `numbers` stand for.
    fn strings(&self, numbers: &UInt32Array) -> Result<ArrayRef> {
        let strings = numbers.iter().map(|n| match n {
            Some(n) => self
                .values
                .get(n as usize)
                .map(|s| Some(&**s))
                .ok_or_else(|| {
                    DataFusionError::Internal(format!("no group key string numbered {n}"))
                }),
            None => Ok(None),
        });
        Ok(Arc::new(strings.collect::<Result<StringViewArray>>()?))
    }
}

fn lock(dictionaries: &Mutex<Vec<Dictionary>>) -> Result<MutexGuard<'_, Vec<Dictionary>>> {
    dictionaries
        .lock()
        .map_err(|_| DataFusionError::Internal("a group key dictionary was poisoned".into()))
}

fn with_rows(schema: &SchemaRef, arrays: Vec<ArrayRef>, rows: usize) -> Result<RecordBatch> {
    let options = RecordBatchOptions::new().with_row_count(Some(rows));
    Ok(RecordBatch::try_new_with_options(
        Arc::clone(schema),
        arrays,
        &options,
    )?)
}

/// A narrow column's values as `Int32` (the same bits for 32-bit types).
fn narrow_bits(array: &ArrayRef) -> Result<Int32Array> {
    let bits = match array.data_type() {
        DataType::Int32 => Arc::clone(array),
        DataType::Date32 | DataType::UInt32 => make_array(
            array
                .to_data()
                .into_builder()
                .data_type(DataType::Int32)
                .build()?,
        ),
        _ => arrow::compute::cast(array, &DataType::Int32)?,
    };
    Ok(bits.as_primitive::<Int32Type>().clone())
}

/// `Int32` values back as the narrow `data_type` they came from.
fn from_bits(bits: Int32Array, data_type: &DataType) -> Result<ArrayRef> {
    Ok(match data_type {
        DataType::Int32 => Arc::new(bits),
        DataType::Date32 | DataType::UInt32 => make_array(
            bits.into_data()
                .into_builder()
                .data_type(data_type.clone())
                .build()?,
        ),
        _ => arrow::compute::cast(&bits, data_type)?,
    })
}

impl Keys {
    /// `batch` with its key columns appended.
    fn number(
        &self,
        batch: &RecordBatch,
        dictionaries: &Mutex<Vec<Dictionary>>,
    ) -> Result<RecordBatch> {
        let mut dictionaries = lock(dictionaries)?;
        let mut numbers = Vec::with_capacity(self.columns.len());
        for (&c, dictionary) in self.columns.iter().zip(dictionaries.iter_mut()) {
            let strings = batch.column(c).as_string_view_opt().ok_or_else(|| {
                DataFusionError::Internal(format!("group key column {c} is not a string view"))
            })?;
            let plus_one = dictionary.numbers(strings)?;
            if self.packed && dictionary.values.len() >= (1 << NUMBER_BITS) - 1 {
                return Err(DataFusionError::ResourcesExhausted(format!(
                    "more than {} distinct strings in a group key column of one partition",
                    (1u32 << NUMBER_BITS) - 2
                )));
            }
            numbers.push((plus_one, strings.nulls().cloned()));
        }
        let mut arrays = batch.columns().to_vec();
        // The batch as it comes (a scan may hand out what its plan calls NOT NULL with nulls,
        // which the planned aggregate would not check either), with the key columns.
        let width = batch.num_columns();
        let schema = if batch.schema().fields()[..] == self.keyed_schema.fields()[..width] {
            Arc::clone(&self.keyed_schema)
        } else {
            let fields = (batch.schema().fields().iter())
                .chain(&self.keyed_schema.fields()[width..])
                .cloned()
                .collect::<Vec<_>>();
            Arc::new(Schema::new(fields))
        };
        if !self.packed {
            arrays.extend(numbers.into_iter().map(|(plus_one, nulls)| {
                let values = plus_one.into_iter().map(|n| n.wrapping_sub(1));
                Arc::new(UInt32Array::new(ScalarBuffer::from_iter(values), nulls)) as ArrayRef
            }));
            return with_rows(&schema, arrays, batch.num_rows());
        }
        // The second part in the low bits, the first above it. Each part's bits as u64:
        let mut parts: Vec<Vec<u64>> = Vec::with_capacity(2);
        for part in self.parts.iter().rev() {
            parts.push(match part {
                Part::Number(at) => numbers[*at].0.iter().map(|&n| u64::from(n)).collect(),
                Part::Narrow { column, .. } => {
                    let bits = narrow_bits(batch.column(*column))?;
                    let nulls = bits.nulls().filter(|n| n.null_count() > 0);
                    (bits.values().iter().enumerate())
                        .map(|(row, &v)| match nulls.is_some_and(|n| n.is_null(row)) {
                            // NULL: the flag, and no value bits.
                            true => 1 << 32,
                            false => u64::from(v as u32),
                        })
                        .collect()
                }
                Part::Planned => {
                    return Err(DataFusionError::Internal(
                        "a packed key part as planned".into(),
                    ));
                }
            });
        }
        let shift = match self.parts.last() {
            Some(Part::Number(_)) => NUMBER_BITS,
            _ => NARROW_BITS,
        };
        let [low, high] = <[Vec<u64>; 2]>::try_from(parts).map_err(|_| {
            DataFusionError::Internal("a packed key of other than two parts".into())
        })?;
        // Written once, not read first: a zeroed buffer read before it is written costs a
        // page fault per page on fresh memory.
        let keys: Vec<u64> = low
            .iter()
            .zip(&high)
            .map(|(l, h)| l | (h << shift))
            .collect();
        arrays.push(Arc::new(UInt64Array::from(keys)));
        with_rows(&schema, arrays, batch.num_rows())
    }

    /// The keyed aggregate's output `batch` with its keys turned back into the group values.
    fn name(
        &self,
        batch: &RecordBatch,
        dictionaries: &Mutex<Vec<Dictionary>>,
    ) -> Result<RecordBatch> {
        let dictionaries = lock(dictionaries)?;
        let mut arrays = batch.columns().to_vec();
        if !self.packed {
            for (position, part) in self.parts.iter().enumerate() {
                let Part::Number(at) = part else { continue };
                let numbers = arrays[position]
                    .as_primitive_opt::<UInt32Type>()
                    .ok_or_else(|| {
                        DataFusionError::Internal(format!("group key {position} is not numbered"))
                    })?;
                arrays[position] = dictionaries[*at].strings(numbers)?;
            }
            return with_rows(&self.schema, arrays, batch.num_rows());
        }
        let keys = arrays[0]
            .as_primitive_opt::<UInt64Type>()
            .ok_or_else(|| {
                DataFusionError::Internal("the packed group key is not a UInt64".into())
            })?
            .clone();
        let mut values = Vec::with_capacity(2);
        let mut shift = 0;
        for part in self.parts.iter().rev() {
            values.push(match part {
                Part::Number(at) => {
                    let numbers: UInt32Array = (keys.values().iter())
                        .map(|key| {
                            let n = (key >> shift) & ((1 << NUMBER_BITS) - 1);
                            (n != 0).then(|| (n - 1) as u32)
                        })
                        .collect();
                    shift += NUMBER_BITS;
                    dictionaries[*at].strings(&numbers)?
                }
                Part::Narrow { data_type, .. } => {
                    let bits: Int32Array = (keys.values().iter())
                        .map(|key| {
                            let v = key >> shift;
                            (v & (1 << 32) == 0).then_some(v as u32 as i32)
                        })
                        .collect();
                    shift += NARROW_BITS;
                    from_bits(bits, data_type)?
                }
                Part::Planned => {
                    return Err(DataFusionError::Internal(
                        "a packed key part as planned".into(),
                    ));
                }
            });
        }
        values.reverse();
        arrays.splice(0..1, values);
        with_rows(&self.schema, arrays, batch.num_rows())
    }
}

impl DisplayAs for InternedKeysExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let keys = &self.keys;
        let name = |c: usize| keys.keyed_schema.field(c).name().as_str();
        let names: Vec<&str> = keys.columns.iter().map(|&c| name(c)).collect();
        write!(f, "InternedKeysExec: keys=[{}]", names.join(", "))?;
        if keys.packed {
            let packed: Vec<&str> = (keys.parts.iter())
                .filter_map(|p| match p {
                    Part::Number(at) => Some(name(keys.columns[*at])),
                    Part::Narrow { column, .. } => Some(name(*column)),
                    Part::Planned => None,
                })
                .collect();
            write!(f, ", packed=[{}]", packed.join(", "))?;
        }
        Ok(())
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
        let metrics = MetricBuilder::new(&self.metrics);
        let this = Arc::new(Shared {
            aggregate: Arc::clone(&self.aggregate),
            keys: Arc::clone(&self.keys),
            runs: Arc::clone(&self.runs),
            keyed: Arc::clone(&self.keyed),
            partition,
            interned: metrics.clone().global_counter("interned_partitions"),
            as_planned: metrics.clone().global_counter("planned_partitions"),
            numbering: metrics.subset_time("numbering_time", partition),
        });
        let output = futures::stream::once(async move {
            // The first batch with rows decides; the batches before it are empty.
            while let Some(batch) = input.next().await {
                let batch = batch?;
                if batch.num_rows() > 0 {
                    return this.run(Some(batch), input, context);
                }
            }
            // An input with no rows (not polled again once it ended).
            let rest = Box::pin(RecordBatchStreamAdapter::new(
                input.schema(),
                futures::stream::empty(),
            ));
            this.run(None, rest, context)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, output)))
    }

    // The aggregate's statistics: the same rows and values.
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

/// What a partition's stream needs of its node.
struct Shared {
    aggregate: Arc<dyn ExecutionPlan>,
    keys: Arc<Keys>,
    runs: Arc<Mutex<Vec<Arc<dyn ExecutionPlan>>>>,
    /// The keyed aggregate as planned (its input is replaced per partition).
    keyed: Arc<dyn ExecutionPlan>,
    partition: usize,
    interned: Count,
    as_planned: Count,
    /// Time spent numbering input and naming output.
    numbering: Time,
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
        let number = first
            .as_ref()
            .is_some_and(|b| worth_numbering(b, &self.keys));
        let all = futures::stream::iter(first.map(Ok)).chain(rest);
        let run = if number {
            self.interned.add(1);
            let dictionaries = (self.keys.columns.iter())
                .map(|c| {
                    let consumer = MemoryConsumer::new(format!(
                        "InternedKeysExec[{}] column {c}",
                        self.partition
                    ));
                    Dictionary::new(consumer.register(context.memory_pool()))
                })
                .collect::<Vec<_>>();
            let dictionaries = Arc::new(Mutex::new(dictionaries));
            let (keys, to_number) = (Arc::clone(&self.keys), Arc::clone(&dictionaries));
            let timer = self.numbering.clone();
            let numbered = all.map(move |batch| {
                let batch = batch?;
                let _time = timer.timer();
                keys.number(&batch, &to_number)
            });
            let input = handed(Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.keys.keyed_schema),
                numbered,
            )))?;
            let run = Arc::clone(&self.keyed).replace_children(vec![input], recompute())?;
            let stream = run.execute(0, context)?;
            let (keys, timer) = (Arc::clone(&self.keys), self.numbering.clone());
            let named = stream.map(move |batch| {
                let batch = batch?;
                let _time = timer.timer();
                keys.name(&batch, &dictionaries)
            });
            self.remember(run);
            Box::pin(RecordBatchStreamAdapter::new(
                Arc::clone(&self.keys.schema),
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
            "CREATE TABLE t (id BIGINT, day DATE, area VARCHAR, level VARCHAR, ms DOUBLE, trace VARCHAR, \
             status INT, code SMALLINT)",
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
                     value * 0.5, 'trace-{part}-' || value, \
                     CASE WHEN value % 11 = 0 THEN NULL ELSE value % 9 - 4 END, \
                     CAST(value % 7 - 3 AS SMALLINT) FROM generate_series(1, 30000)",
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
            "SELECT area AS a, level, area AS b FROM t GROUP BY area, level",
            // Packed with a narrow value: nulls and negative values.
            "SELECT status, level, count(*), sum(ms) FROM t GROUP BY 1, 2",
            "SELECT area, code, count(*) FROM t GROUP BY 1, 2",
            "SELECT level, status, count(DISTINCT area) FROM t GROUP BY 1, 2",
            // Three keys: each string by its own number.
            "SELECT day, level, area, count(*) FROM t GROUP BY ALL",
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
        for (sql, shown) in [
            (
                "SELECT day, level, count(*) FROM t GROUP BY 1, 2",
                "keys=[level], packed=[day, level]",
            ),
            (
                "SELECT level, area, count(*) FROM t GROUP BY 1, 2",
                "keys=[level, area], packed=[level, area]",
            ),
            (
                "SELECT day, level, area, count(*) FROM t GROUP BY ALL",
                "keys=[level, area]\\n",
            ),
        ] {
            let plan = format!("{:?}", rows(&on, &format!("EXPLAIN {sql}")).await);
            assert!(plan.contains(shown), "{sql}\n{plan}");
        }
        // An input without rows.
        for sql in [
            "SELECT area, count(*) FROM t WHERE level = 'nope' GROUP BY area",
            "SELECT day, level, count(*) FROM t WHERE id < 0 GROUP BY 1, 2",
        ] {
            assert!(rows(&on, sql).await.is_empty(), "{sql}");
        }
        // Keys that do not repeat, and one key of short strings (which DataFusion compares by
        // their views), are grouped as planned.
        for sql in [
            "SELECT trace, count(*) FROM t GROUP BY trace ORDER BY trace LIMIT 3",
            "SELECT DISTINCT level FROM t ORDER BY level",
        ] {
            let plan = format!("{:?}", rows(&on, &format!("EXPLAIN ANALYZE {sql}")).await);
            assert!(plan.contains("InternedKeysExec"), "{plan}");
            assert!(plan.contains("interned_partitions=0"), "{plan}");
            assert!(!plan.contains("planned_partitions=0"), "{plan}");
            assert_eq!(rows(&on, sql).await, rows(&off, sql).await);
        }
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
        let numbers = |d: &mut Dictionary, strings: &StringViewArray| {
            let plus_one = d
                .numbers(strings)
                .unwrap()
                .into_iter()
                .map(|n| n.wrapping_sub(1));
            UInt32Array::new(ScalarBuffer::from_iter(plus_one), strings.nulls().cloned())
        };
        let pool: Arc<dyn datafusion::execution::memory_pool::MemoryPool> =
            Arc::new(datafusion::execution::memory_pool::UnboundedMemoryPool::default());
        let mut dictionary = Dictionary::new(MemoryConsumer::new("test").register(&pool));
        // Long strings, each its own copy (views that do not repeat), and short ones.
        let copies: StringViewArray = (0..3000)
            .map(|i| match i % 10 {
                0 => None,
                1 | 2 => Some(format!("WARN{}", i % 4)),
                _ => Some(format!("a long street name {}", i % 3)),
            })
            .collect();
        let first = numbers(&mut dictionary, &copies);
        assert_eq!(dictionary.values.len(), 3 + 4);
        let names = dictionary.strings(&first).unwrap();
        assert_eq!(names.as_string_view(), &copies);
        // The same strings in another batch get the same numbers.
        let again: StringViewArray = vec![Some("a long street name 2"), None, Some("WARN1")]
            .into_iter()
            .collect();
        let second = numbers(&mut dictionary, &again);
        assert_eq!(second.value(0), first.value(5));
        assert!(second.is_null(1));
        assert_eq!(second.value(2), first.value(1));
        assert_eq!(dictionary.values.len(), 7);
        assert!(dictionary.reservation.size() > 7 * 4);

        // The strings are held in the query's memory pool, within its limit.
        let small: Arc<dyn datafusion::execution::memory_pool::MemoryPool> = Arc::new(
            datafusion::execution::memory_pool::GreedyMemoryPool::new(4096),
        );
        let mut dictionary = Dictionary::new(MemoryConsumer::new("test").register(&small));
        let many: StringViewArray = (0..1000).map(|i| Some(format!("value {i}"))).collect();
        let error = dictionary.numbers(&many).unwrap_err().to_string();
        assert!(error.contains("Resources exhausted"), "{error}");
    }
}
