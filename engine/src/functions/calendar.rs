//! DuckDB's calendar spellings and discrete quantiles: `hour(ts)`, `dayofweek(ts)`, … (as
//! `date_part`, so they take Strata's fast path), `dayname`/`monthname`, `date_diff` (boundaries
//! crossed, as DuckDB counts them), and `quantile_disc` (`quantile`, `percentile_disc … WITHIN
//! GROUP`).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Builder};
use arrow::compute::SortOptions;
use arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimeUnit};
use chrono::Datelike;
use datafusion::common::{Result, ScalarValue, exec_datafusion_err, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Documentation, ReturnFieldArgs,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::physical_expr::expressions::Literal;

use super::{doc, rows_to_compute, shaped};

/// `name(t)` as `date_part(part, t)`, or as `to_char(t, format)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Calendar {
    name: &'static str,
    /// The `date_part` part, or the `to_char` format.
    argument: &'static str,
    inner: Arc<ScalarUDF>,
    part: bool,
    signature: Signature,
    doc: Documentation,
}

const PARTS: &[(&str, &str, &str)] = &[
    ("year", "year", "The year."),
    ("quarter", "quarter", "The quarter, 1–4."),
    ("month", "month", "The month, 1–12."),
    ("day", "day", "The day of the month."),
    ("dayofmonth", "day", "The day of the month."),
    ("hour", "hour", "The hour, 0–23."),
    ("minute", "minute", "The minute, 0–59."),
    ("second", "second", "The second, 0–59."),
    ("dayofweek", "dow", "The day of the week, Sunday = 0."),
    (
        "isodow",
        "isodow",
        "The ISO day of the week, Monday = 1 … Sunday = 7.",
    ),
    ("dayofyear", "doy", "The day of the year, 1–366."),
    ("week", "week", "The ISO week number."),
    ("weekofyear", "week", "The ISO week number."),
];

const NAMES: &[(&str, &str, &str)] = &[
    ("dayname", "%A", "The English name of the weekday."),
    ("monthname", "%B", "The English name of the month."),
];

pub(crate) fn udfs() -> Vec<ScalarUDF> {
    let date_part = crate::date_part::date_part();
    let to_char = datafusion::functions::datetime::to_char();
    let calendar = |name, argument, part, description: &str, inner: &Arc<ScalarUDF>| {
        ScalarUDF::new_from_impl(Calendar {
            name,
            argument,
            inner: Arc::clone(inner),
            part,
            signature: Signature::any(1, Volatility::Immutable),
            doc: doc(
                "Time",
                &format!("{description} Same as `date_part`/`strftime`."),
                &format!("{name}(t)"),
                &format!("SELECT {name}(ts), count(*) FROM logs GROUP BY 1"),
            ),
        })
    };
    let mut all: Vec<ScalarUDF> = PARTS
        .iter()
        .map(|(name, part, description)| calendar(*name, *part, true, description, &date_part))
        .chain(NAMES.iter().map(|(name, format, description)| {
            calendar(*name, *format, false, description, &to_char)
        }))
        .collect();
    all.push(ScalarUDF::new_from_impl(DateDiff {
        aliases: vec!["datediff".to_string()],
        signature: Signature::any(3, Volatility::Immutable),
        doc: doc(
            "Time",
            "The number of `part` boundaries (microsecond … year) crossed from `start` to `end`, as DuckDB counts them; weeks are whole 7-day spans.",
            "date_diff(part, start, end)",
            "SELECT date_diff('minute', pickup_at, dropoff_at) FROM trips",
        ),
    }));
    all
}

pub(crate) fn udafs() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::new_from_impl(Mode {
            signature: Signature::any(1, Volatility::Immutable),
            doc: doc(
                "Aggregates",
                "The most frequent non-null value (of equally frequent ones, the first seen).",
                "mode(x)",
                "SELECT service, mode(endpoint) FROM requests GROUP BY service",
            ),
        }),
        AggregateUDF::new_from_impl(QuantileDisc {
            aliases: vec!["quantile".to_string(), "percentile_disc".to_string()],
            signature: Signature::any(2, Volatility::Immutable),
            doc: doc(
                "Aggregates",
                "The input value at fraction `q` of the sorted values (no interpolation), as DuckDB's `quantile_disc`; also `percentile_disc(q) WITHIN GROUP (ORDER BY x)`.",
                "quantile_disc(x, q)",
                "SELECT service, quantile_disc(latency_ms, 0.99) FROM requests GROUP BY service",
            ),
        }),
    ]
}

impl ScalarUDFImpl for Calendar {
    fn name(&self) -> &str {
        self.name
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [t] = arg_types else {
            return plan_err!("{}(t) takes 1 argument", self.name);
        };
        if !matches!(
            t,
            DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Null
        ) {
            return plan_err!(
                "{} takes a date or a timestamp, not {}",
                self.name,
                arg_types[0]
            );
        }
        if self.part {
            // date_part's type depends on the part, so it is asked with the part as a constant.
            let part = ScalarValue::Utf8(Some(self.argument.to_string()));
            let fields = [
                Arc::new(Field::new("part", DataType::Utf8, false)),
                Arc::new(Field::new("t", t.clone(), true)),
            ];
            let field = self.inner.return_field_from_args(ReturnFieldArgs {
                arg_fields: &fields,
                scalar_arguments: &[Some(&part), None],
            })?;
            Ok(field.data_type().clone())
        } else {
            Ok(DataType::Utf8)
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let t = args.args[0].clone();
        let argument = ColumnarValue::Scalar(ScalarValue::Utf8(Some(self.argument.to_string())));
        let inner_args = if self.part {
            vec![argument, t]
        } else {
            vec![t, argument]
        };
        let arg_fields = inner_args
            .iter()
            .enumerate()
            .map(|(i, a)| Arc::new(Field::new(format!("a{i}"), a.data_type(), true)) as FieldRef)
            .collect();
        self.inner.invoke_with_args(ScalarFunctionArgs {
            args: inner_args,
            arg_fields,
            number_rows: args.number_rows,
            return_field: args.return_field,
            config_options: args.config_options,
        })
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DateDiff {
    aliases: Vec<String>,
    signature: Signature,
    doc: Documentation,
}

/// Microseconds per unit for the fixed-length parts; None for the calendar ones.
fn fixed_unit(part: &str) -> Option<i64> {
    Some(match part {
        "microsecond" | "microseconds" | "us" => 1,
        "millisecond" | "milliseconds" | "ms" => 1_000,
        "second" | "seconds" | "s" => 1_000_000,
        "minute" | "minutes" | "m" => 60_000_000,
        "hour" | "hours" | "h" => 3_600_000_000,
        "day" | "days" | "d" => 86_400_000_000,
        _ => return None,
    })
}

/// Months since year 0, for month, quarter and year differences.
fn months(micros: i64) -> Option<i64> {
    let t = chrono::DateTime::from_timestamp_micros(micros)?;
    Some(i64::from(t.year()) * 12 + i64::from(t.month0()))
}

impl ScalarUDFImpl for DateDiff {
    fn name(&self) -> &str {
        "date_diff"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if arg_types.len() != 3 {
            return plan_err!("date_diff(part, start, end) takes 3 arguments");
        }
        for t in &arg_types[1..] {
            if !matches!(
                t,
                DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 | DataType::Null
            ) {
                return plan_err!("date_diff(part, start, end) takes dates or timestamps, not {t}");
            }
        }
        Ok(DataType::Int64)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ColumnarValue::Scalar(part) = &args.args[0] else {
            return exec_err!("date_diff: the part must be a constant");
        };
        let Some(Some(part)) = part.try_as_str() else {
            return exec_err!("date_diff: the part must be a string such as 'hour'");
        };
        let part = part.to_ascii_lowercase();
        let rows = rows_to_compute(&args);
        let micros = |i: usize| -> Result<ArrayRef> {
            let as_timestamp =
                args.args[i].cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None), None)?;
            Ok(arrow::compute::cast(
                &as_timestamp.to_array(rows)?,
                &DataType::Int64,
            )?)
        };
        let (start, end) = (micros(1)?, micros(2)?);
        let (start, end) = (
            start.as_primitive::<Int64Type>(),
            end.as_primitive::<Int64Type>(),
        );
        let diff: Box<dyn Fn(i64, i64) -> Option<i64>> = match (fixed_unit(&part), part.as_str()) {
            (Some(unit), _) => Box::new(move |a, b| Some(b.div_euclid(unit) - a.div_euclid(unit))),
            (None, "week" | "weeks" | "w") => {
                let day = 86_400_000_000i64;
                Box::new(move |a, b| Some((b.div_euclid(day) - a.div_euclid(day)) / 7))
            }
            (None, "month" | "months" | "mon") => Box::new(|a, b| Some(months(b)? - months(a)?)),
            (None, "quarter" | "quarters") => {
                Box::new(|a, b| Some(months(b)?.div_euclid(3) - months(a)?.div_euclid(3)))
            }
            (None, "year" | "years" | "y") => {
                Box::new(|a, b| Some(months(b)?.div_euclid(12) - months(a)?.div_euclid(12)))
            }
            (None, "decade" | "decades") => {
                Box::new(|a, b| Some(months(b)?.div_euclid(120) - months(a)?.div_euclid(120)))
            }
            _ => return exec_err!("date_diff: unknown part '{part}' (microsecond … year)"),
        };
        let mut out = Int64Builder::with_capacity(rows);
        for row in 0..rows {
            out.append_option(match (start.is_valid(row), end.is_valid(row)) {
                (true, true) => diff(start.value(row), end.value(row)),
                _ => None,
            });
        }
        shaped(&args.args, Arc::new(out.finish()))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// `quantile_disc(x, q)`: the value at index ⌈q·n⌉ − 1 of the n sorted non-null values.
#[derive(Debug, PartialEq, Eq, Hash)]
struct QuantileDisc {
    aliases: Vec<String>,
    signature: Signature,
    doc: Documentation,
}

impl AggregateUDFImpl for QuantileDisc {
    fn name(&self) -> &str {
        "quantile_disc"
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        first_type(self.name(), arg_types)
    }

    fn supports_within_group_clause(&self) -> bool {
        true
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let values = Field::new_list_field(args.input_fields[0].data_type().clone(), true);
        Ok(vec![Arc::new(Field::new(
            format!("{}[values]", args.name),
            DataType::List(Arc::new(values)),
            true,
        ))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let q = args.exprs[1]
            .downcast_ref::<Literal>()
            .and_then(|l| match l.value().cast_to(&DataType::Float64) {
                Ok(ScalarValue::Float64(Some(q))) => Some(q),
                _ => None,
            })
            .filter(|q| (0.0..=1.0).contains(q))
            .ok_or_else(|| {
                exec_datafusion_err!(
                    "quantile_disc: the fraction must be a constant between 0 and 1"
                )
            })?;
        let descending = args.order_bys.first().is_some_and(|s| s.options.descending);
        Ok(Box::new(QuantileDiscAccumulator {
            q,
            descending,
            data_type: args.expr_fields[0].data_type().clone(),
            values: Vec::new(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[derive(Debug)]
struct QuantileDiscAccumulator {
    q: f64,
    descending: bool,
    data_type: DataType,
    /// The non-null values seen, in the batches they came in.
    values: Vec<ArrayRef>,
}

impl QuantileDiscAccumulator {
    fn keep(&mut self, array: &ArrayRef) -> Result<()> {
        let kept = match array.null_count() {
            0 => Arc::clone(array),
            _ => arrow::compute::filter(array, &arrow::compute::is_not_null(array)?)?,
        };
        if !kept.is_empty() {
            self.values.push(kept);
        }
        Ok(())
    }

    fn all(&self) -> Result<ArrayRef> {
        let parts: Vec<&dyn Array> = self.values.iter().map(|a| a.as_ref()).collect();
        match parts.is_empty() {
            true => Ok(arrow::array::new_empty_array(&self.data_type)),
            false => Ok(arrow::compute::concat(&parts)?),
        }
    }
}

impl Accumulator for QuantileDiscAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.keep(&values[0])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let lists = states[0].as_list::<i32>();
        for list in lists.iter().flatten() {
            self.keep(&list)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let all = self.all()?;
        Ok(vec![ScalarValue::List(Arc::new(
            arrow::array::ListArray::new(
                Arc::new(Field::new_list_field(self.data_type.clone(), true)),
                arrow::buffer::OffsetBuffer::from_lengths([all.len()]),
                all,
                None,
            ),
        ))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let all = self.all()?;
        if all.is_empty() {
            return ScalarValue::try_from(&self.data_type);
        }
        let order = arrow::compute::sort_to_indices(
            &all,
            Some(SortOptions {
                descending: self.descending,
                nulls_first: false,
            }),
            None,
        )?;
        let n = all.len();
        let index = ((self.q * n as f64).ceil() as usize).clamp(1, n) - 1;
        ScalarValue::try_from_array(&all, order.value(index) as usize)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .values
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
    }
}

/// `mode(x)`: the most frequent non-null value.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Mode {
    signature: Signature,
    doc: Documentation,
}

impl AggregateUDFImpl for Mode {
    fn name(&self) -> &str {
        "mode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        first_type(self.name(), arg_types)
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let list = |name: &str, t: DataType| {
            Arc::new(Field::new(
                format!("{}[{name}]", args.name),
                DataType::List(Arc::new(Field::new_list_field(t, true))),
                true,
            ))
        };
        Ok(vec![
            list("values", args.input_fields[0].data_type().clone()),
            list("counts", DataType::Int64),
        ])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ModeAccumulator {
            data_type: args.expr_fields[0].data_type().clone(),
            counts: Default::default(),
            order: Vec::new(),
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[derive(Debug)]
struct ModeAccumulator {
    data_type: DataType,
    /// Count of each value, and its position in `order`.
    counts: std::collections::HashMap<ScalarValue, (i64, usize)>,
    /// Values in the order first seen.
    order: Vec<ScalarValue>,
}

impl ModeAccumulator {
    fn add(&mut self, value: ScalarValue, count: i64) {
        let next = self.order.len();
        let entry = self.counts.entry(value.clone()).or_insert((0, next));
        if entry.1 == next {
            self.order.push(value);
        }
        entry.0 += count;
    }
}

impl Accumulator for ModeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let array = &values[0];
        for row in 0..array.len() {
            if array.is_valid(row) {
                self.add(ScalarValue::try_from_array(array, row)?, 1);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (values, counts) = (states[0].as_list::<i32>(), states[1].as_list::<i32>());
        for (values, counts) in values.iter().zip(counts.iter()) {
            let (Some(values), Some(counts)) = (values, counts) else {
                continue;
            };
            let counts = counts.as_primitive::<Int64Type>();
            for row in 0..values.len() {
                self.add(
                    ScalarValue::try_from_array(&values, row)?,
                    counts.value(row),
                );
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let counts: Vec<ScalarValue> = self
            .order
            .iter()
            .map(|v| ScalarValue::Int64(Some(self.counts[v].0)))
            .collect();
        Ok(vec![
            ScalarValue::List(ScalarValue::new_list_nullable(&self.order, &self.data_type)),
            ScalarValue::List(ScalarValue::new_list_nullable(&counts, &DataType::Int64)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let mut best: Option<(&ScalarValue, i64)> = None;
        for value in &self.order {
            let count = self.counts[value].0;
            if best.is_none_or(|(_, c)| count > c) {
                best = Some((value, count));
            }
        }
        match best {
            Some((value, _)) => Ok(value.clone()),
            None => ScalarValue::try_from(&self.data_type),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.order.iter().map(|v| 2 * v.size() + 16).sum::<usize>()
    }
}

/// The type of the first argument (what aggregates like `mode` return), or a planning error.
pub(super) fn first_type(name: &str, arg_types: &[DataType]) -> Result<DataType> {
    match arg_types.first() {
        Some(t) => Ok(t.clone()),
        None => plan_err!("{name} needs an argument"),
    }
}

/// DuckDB's `DATE ± INTERVAL` is a TIMESTAMP (`DATE '2026-01-01' - INTERVAL 1 HOUR` is
/// 2025-12-31 23:00:00); DataFusion keeps a DATE and drops the hours. The date is cast to a
/// timestamp first. `DATE ± integer` (days) stays a DATE, as in DuckDB.
#[derive(Debug)]
pub(crate) struct DateIntervalPlanner;

impl datafusion::logical_expr::planner::ExprPlanner for DateIntervalPlanner {
    fn plan_binary_op(
        &self,
        expr: datafusion::logical_expr::planner::RawBinaryExpr,
        schema: &datafusion::common::DFSchema,
    ) -> Result<
        datafusion::logical_expr::planner::PlannerResult<
            datafusion::logical_expr::planner::RawBinaryExpr,
        >,
    > {
        use datafusion::logical_expr::planner::PlannerResult;
        use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, Operator};
        use datafusion::sql::sqlparser::ast::BinaryOperator;
        let op = match expr.op {
            BinaryOperator::Plus => Operator::Plus,
            BinaryOperator::Minus => Operator::Minus,
            _ => return Ok(PlannerResult::Original(expr)),
        };
        let kind = |e: &Expr| match e.get_type(schema) {
            Ok(DataType::Date32 | DataType::Date64) => 'd',
            Ok(DataType::Interval(_)) => 'i',
            _ => ' ',
        };
        let timestamp = |e: Expr| {
            Expr::Cast(Cast::new(
                Box::new(e),
                DataType::Timestamp(TimeUnit::Microsecond, None),
            ))
        };
        let (left, right) = match (kind(&expr.left), kind(&expr.right), op) {
            ('d', 'i', _) => (timestamp(expr.left), expr.right),
            ('i', 'd', Operator::Plus) => (expr.left, timestamp(expr.right)),
            _ => return Ok(PlannerResult::Original(expr)),
        };
        Ok(PlannerResult::Planned(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(left),
            op,
            Box::new(right),
        ))))
    }
}
