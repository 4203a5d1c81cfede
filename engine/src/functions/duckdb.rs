//! DuckDB's spellings of the functions log and trip analysts use, where DataFusion has none
//! or spells them differently: `regexp_extract`, `regexp_extract_all`, `time_bucket`,
//! `epoch_ms`, `epoch`, `count_if`, `arg_max`/`arg_min` (`max_by`/`min_by`), and aliases of
//! DataFusion functions under DuckDB's names (`strftime`, `strptime`, `string_split`,
//! `regexp_matches`, `approx_quantile`, …).
//!
//! The aggregates are rewritten by the optimizer into DataFusion's own (`count … FILTER`,
//! `first_value … ORDER BY`), so they run on its grouped fast paths.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Field, FieldRef, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::expr::AggregateFunction;
use datafusion::logical_expr::function::{
    AccumulatorArgs, AggregateFunctionSimplification, StateFieldsArgs,
};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, Documentation, Expr,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, SortExpr, Volatility,
};
use datafusion::prelude::SessionContext;
use regex::Regex;

use super::{doc, shaped};

/// DataFusion functions registered again under DuckDB's name for them.
const ALIASES: &[(&str, &str)] = &[
    ("to_char", "strftime"),
    ("to_timestamp", "strptime"),
    ("string_to_array", "string_split"),
    ("string_to_array", "str_split"),
    ("regexp_like", "regexp_matches"),
    ("approx_percentile_cont", "approx_quantile"),
    ("approx_distinct", "approx_count_distinct"),
    ("first_value", "first"),
    ("last_value", "last"),
    ("array_agg", "list"),
    ("starts_with", "prefix"),
    ("ends_with", "suffix"),
    ("make_array", "list_value"),
    ("signum", "sign"),
    ("uuid", "gen_random_uuid"),
    ("var_samp", "variance"),
];

pub(crate) fn register(ctx: &SessionContext) {
    for (existing, alias) in ALIASES {
        if let Ok(udf) = ctx.udf(existing) {
            ctx.register_udf(udf.as_ref().clone().with_aliases([*alias]));
        } else if let Ok(udaf) = ctx.udaf(existing) {
            ctx.register_udaf(udaf.as_ref().clone().with_aliases([*alias]));
        }
    }
    for udf in udfs() {
        ctx.register_udf(udf);
    }
    for udaf in udafs() {
        ctx.register_udaf(udaf);
    }
}

/// The scalar functions of this module.
pub(crate) fn udfs() -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(RegexpExtract::new(false)),
        ScalarUDF::new_from_impl(RegexpExtract::new(true)),
        ScalarUDF::new_from_impl(TimeBucket::new()),
        super::epoch::udf(super::epoch::EpochUnit::Millis),
        super::epoch::udf(super::epoch::EpochUnit::Seconds),
        super::regex_split::udf(),
        super::len::len(),
        ScalarUDF::new_from_impl(If {
            signature: Signature::user_defined(Volatility::Immutable),
            doc: doc(
                "Text",
                "`a` when the condition is true, else `b` (a NULL condition gives `b`), as `CASE WHEN condition THEN a ELSE b END`.",
                "if(condition, a, b)",
                "SELECT if(status >= 500, 'error', 'ok') AS outcome, count(*) FROM requests GROUP BY 1",
            ),
        }),
    ]
}

/// `if(condition, a, b)`: planned as `CASE WHEN condition THEN a ELSE b END`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct If {
    signature: Signature,
    doc: Documentation,
}

impl ScalarUDFImpl for If {
    fn name(&self) -> &str {
        "if"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let [_, a, b] = arg_types else {
            return plan_err!("if(condition, a, b) takes 3 arguments");
        };
        let common = datafusion::logical_expr::type_coercion::binary::comparison_coercion(a, b)
            .ok_or_else(|| {
                datafusion::error::DataFusionError::Plan(format!(
                    "if: no common type for {a} and {b}"
                ))
            })?;
        Ok(vec![DataType::Boolean, common.clone(), common])
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.get(1) {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{} needs a second argument", self.name()),
        }
    }

    fn simplify(
        &self,
        args: Vec<Expr>,
        _info: &datafusion::logical_expr::simplify::SimplifyContext,
    ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
        let [condition, a, b]: [Expr; 3] = args
            .try_into()
            .map_err(|_| datafusion::error::DataFusionError::Plan("if takes 3 arguments".into()))?;
        Ok(
            datafusion::logical_expr::simplify::ExprSimplifyResult::Simplified(
                datafusion::logical_expr::when(condition, a).otherwise(b)?,
            ),
        )
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = super::rows_to_compute(&args);
        let condition = args.args[0].to_array(rows)?;
        let condition = arrow::compute::prep_null_mask_filter(condition.as_boolean());
        let (a, b) = (args.args[1].to_array(rows)?, args.args[2].to_array(rows)?);
        shaped(
            &args.args,
            arrow::compute::kernels::zip::zip(&condition, &a, &b)?,
        )
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// The aggregate functions of this module.
pub(crate) fn udafs() -> Vec<AggregateUDF> {
    vec![
        AggregateUDF::new_from_impl(CountIf::new()),
        AggregateUDF::new_from_impl(ArgExtreme::new(true)),
        AggregateUDF::new_from_impl(ArgExtreme::new(false)),
    ]
}

/// DuckDB's names for DataFusion's functions, as (DataFusion's name, DuckDB's).
pub(crate) fn aliases() -> &'static [(&'static str, &'static str)] {
    ALIASES
}

/// `regexp_extract(text, pattern [, group])`: the first match's group (0: the whole match), ''
/// when nothing matches, as in DuckDB; `regexp_extract_all` every match's group as a list.
#[derive(Debug, PartialEq, Eq, Hash)]
struct RegexpExtract {
    all: bool,
    signature: Signature,
    doc: Documentation,
}

impl RegexpExtract {
    fn new(all: bool) -> Self {
        let doc = if all {
            doc(
                "Text",
                "Every non-overlapping match of the regular expression (or its capture group) as a list.",
                "regexp_extract_all(text, pattern [, group])",
                "SELECT regexp_extract_all('a1b22', '[0-9]+')  -- [1, 22]",
            )
        } else {
            doc(
                "Text",
                "The first match of the regular expression, or of its capture group `group` (0 is the whole match); '' when nothing matches.",
                "regexp_extract(text, pattern [, group])",
                "SELECT regexp_extract(message, 'user=([0-9]+)', 1) FROM logs",
            )
        };
        RegexpExtract {
            all,
            signature: Signature::variadic_any(Volatility::Immutable),
            doc,
        }
    }
}

impl ScalarUDFImpl for RegexpExtract {
    fn name(&self) -> &str {
        if self.all {
            "regexp_extract_all"
        } else {
            "regexp_extract"
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!(
                "{}(text, pattern [, group]) takes 2 or 3 arguments",
                self.name()
            );
        }
        Ok(if self.all {
            DataType::new_list(DataType::Utf8, true)
        } else {
            DataType::Utf8
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let name = self.name();
        let rows = super::rows_to_compute(&args);
        let text = |i: usize| -> Result<ArrayRef> {
            Ok(arrow::compute::cast(
                &args.args[i].to_array(rows)?,
                &DataType::Utf8,
            )?)
        };
        let values = text(0)?;
        let values = values.as_string::<i32>();
        let patterns = text(1)?;
        let patterns = patterns.as_string::<i32>();
        let groups = match args.args.get(2) {
            Some(group) => Some(arrow::compute::cast(
                &group.to_array(rows)?,
                &DataType::Int64,
            )?),
            None => None,
        };
        let groups = groups
            .as_ref()
            .map(|g| g.as_primitive::<arrow::datatypes::Int64Type>());
        let mut compiled: Option<(String, Regex)> = None;
        let mut one = StringBuilder::new();
        let mut many = ListBuilder::new(StringBuilder::new());
        for row in 0..rows {
            let group = match groups {
                Some(g) if g.is_null(row) => None,
                Some(g) => Some(g.value(row)),
                None => Some(0),
            };
            let (Some(value), Some(pattern), Some(group)) = (
                values.is_valid(row).then(|| values.value(row)),
                patterns.is_valid(row).then(|| patterns.value(row)),
                group,
            ) else {
                if self.all {
                    many.append(false);
                } else {
                    one.append_null();
                }
                continue;
            };
            if compiled.as_ref().is_none_or(|(p, _)| p != pattern) {
                let regex = Regex::new(pattern).map_err(|e| {
                    datafusion::error::DataFusionError::Execution(format!(
                        "{name}: invalid regular expression '{pattern}': {e}"
                    ))
                })?;
                compiled = Some((pattern.to_string(), regex));
            }
            let regex = &compiled.as_ref().expect("compiled above").1;
            let group = match usize::try_from(group) {
                Ok(g) if g < regex.captures_len() => g,
                _ => {
                    return exec_err!(
                        "{name}: group {group} out of range: the pattern '{pattern}' has {} capture group(s)",
                        regex.captures_len() - 1
                    );
                }
            };
            if self.all {
                for captures in regex.captures_iter(value) {
                    many.values()
                        .append_value(captures.get(group).map_or("", |m| m.as_str()));
                }
                many.append(true);
            } else {
                let found = regex
                    .captures(value)
                    .and_then(|c| c.get(group))
                    .map_or("", |m| m.as_str());
                one.append_value(found);
            }
        }
        let result: ArrayRef = if self.all {
            Arc::new(many.finish())
        } else {
            Arc::new(one.finish())
        };
        shaped(&args.args, result)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// `time_bucket(width, t [, offset | origin])` as in DuckDB: buckets of `width` aligned to
/// 2000-01-03 00:00 UTC (a Monday) for widths in days, hours, minutes, …, and to 2000-01-01
/// for widths in months; an interval third argument shifts the buckets, a timestamp one is
/// the origin. The result has the type of `t` (a date stays a date). Time zones: buckets are
/// computed on the UTC instant.
#[derive(Debug, PartialEq, Eq, Hash)]
struct TimeBucket {
    signature: Signature,
    doc: Documentation,
    date_bin: Arc<ScalarUDF>,
}

impl TimeBucket {
    fn new() -> Self {
        TimeBucket {
            signature: Signature::user_defined(Volatility::Immutable),
            doc: doc(
                "Time",
                "The start of the `width`-wide bucket holding `t`, aligned as in DuckDB (Monday 2000-01-03, or 2000-01-01 for months), in UTC; optional offset interval or origin timestamp.",
                "time_bucket(width, t [, offset | origin])",
                "SELECT time_bucket(INTERVAL '15 minutes', ts), count(*) FROM logs GROUP BY 1",
            ),
            date_bin: datafusion::functions::datetime::date_bin(),
        }
    }
}

const MONDAY_2000_01_03_NS: i64 = 946_857_600_000_000_000;
const SATURDAY_2000_01_01_NS: i64 = 946_684_800_000_000_000;

impl ScalarUDFImpl for TimeBucket {
    fn name(&self) -> &str {
        "time_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if !(2..=3).contains(&arg_types.len()) {
            return plan_err!("time_bucket(width, t [, offset | origin]) takes 2 or 3 arguments");
        }
        let mut types = vec![DataType::Interval(
            arrow::datatypes::IntervalUnit::MonthDayNano,
        )];
        types.push(match &arg_types[1] {
            DataType::Date32 | DataType::Date64 => DataType::Date32,
            DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
            DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null => {
                DataType::Timestamp(TimeUnit::Nanosecond, None)
            }
            other => return plan_err!("time_bucket buckets dates and timestamps, not {other}"),
        });
        if let Some(third) = arg_types.get(2) {
            types.push(match third {
                DataType::Interval(_) => {
                    DataType::Interval(arrow::datatypes::IntervalUnit::MonthDayNano)
                }
                DataType::Timestamp(_, tz) => DataType::Timestamp(TimeUnit::Nanosecond, tz.clone()),
                DataType::Date32 | DataType::Date64 | DataType::Utf8 => {
                    DataType::Timestamp(TimeUnit::Nanosecond, None)
                }
                other => {
                    return plan_err!("time_bucket's third argument is an offset interval or an origin timestamp, not {other}")
                }
            });
        }
        Ok(types)
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.get(1) {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{} needs a second argument", self.name()),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(Some(width))) = &args.args[0]
        else {
            return exec_err!(
                "time_bucket: the bucket width must be a constant, non-null interval"
            );
        };
        let months = width.months != 0;
        if months && (width.days != 0 || width.nanoseconds != 0) {
            return exec_err!(
                "time_bucket: a width mixing months with days or time is not supported"
            );
        }
        let base = if months {
            SATURDAY_2000_01_01_NS
        } else {
            MONDAY_2000_01_03_NS
        };
        let t = &args.args[1];
        let t_type = t.data_type();
        let tz = match &t_type {
            DataType::Timestamp(_, tz) => tz.clone(),
            _ => None,
        };
        let origin = match args.args.get(2) {
            None => ScalarValue::TimestampNanosecond(Some(base), tz.clone()),
            Some(ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(Some(offset)))) => {
                if offset.months != 0 {
                    return exec_err!("time_bucket: an offset in months is not supported");
                }
                let shift = i64::from(offset.days) * 86_400_000_000_000 + offset.nanoseconds;
                ScalarValue::TimestampNanosecond(Some(base + shift), tz.clone())
            }
            Some(ColumnarValue::Scalar(origin)) => {
                match origin.cast_to(&DataType::Timestamp(TimeUnit::Nanosecond, None))? {
                    ScalarValue::TimestampNanosecond(Some(ns), _) => {
                        ScalarValue::TimestampNanosecond(Some(ns), tz.clone())
                    }
                    _ => return exec_err!("time_bucket: the origin must not be NULL"),
                }
            }
            Some(ColumnarValue::Array(_)) => {
                return exec_err!("time_bucket: the offset or origin must be a constant");
            }
        };
        let as_timestamp = DataType::Timestamp(TimeUnit::Nanosecond, tz);
        let t_ns = t.cast_to(&as_timestamp, None)?;
        let inner_args = vec![
            ColumnarValue::Scalar(ScalarValue::IntervalMonthDayNano(Some(*width))),
            t_ns,
            ColumnarValue::Scalar(origin),
        ];
        let arg_fields = inner_args
            .iter()
            .enumerate()
            .map(|(i, a)| Arc::new(Field::new(format!("a{i}"), a.data_type(), true)) as FieldRef)
            .collect();
        let binned = self.date_bin.invoke_with_args(ScalarFunctionArgs {
            args: inner_args,
            arg_fields,
            number_rows: args.number_rows,
            return_field: Arc::new(Field::new("time_bucket", as_timestamp, true)),
            config_options: args.config_options,
        })?;
        binned.cast_to(&t_type, None)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// `count_if(condition)`: rows where the condition is true; planned as `count(*) FILTER`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct CountIf {
    signature: Signature,
    doc: Documentation,
}

impl CountIf {
    fn new() -> Self {
        CountIf {
            signature: Signature::exact(vec![DataType::Boolean], Volatility::Immutable),
            doc: doc(
                "Aggregates",
                "The number of rows for which the condition is true.",
                "count_if(condition)",
                "SELECT service, count_if(status >= 500) FROM requests GROUP BY service",
            ),
        }
    }
}

/// `extra AND filter`, or `extra` alone.
fn and_filter(extra: Expr, filter: Option<Box<Expr>>) -> Option<Box<Expr>> {
    Some(Box::new(match filter {
        Some(filter) => extra.and(*filter),
        None => extra,
    }))
}

impl AggregateUDFImpl for CountIf {
    fn name(&self) -> &str {
        "count_if"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }

    fn return_field(&self, _arg_fields: &[FieldRef]) -> Result<FieldRef> {
        Ok(Arc::new(Field::new(self.name(), DataType::Int64, false)))
    }

    fn is_nullable(&self) -> bool {
        false
    }

    fn accumulator(&self, _acc_args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(CountIfAccumulator(0)))
    }

    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new("count", DataType::Int64, false))])
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        Some(Box::new(|aggregate: AggregateFunction, _info| {
            let mut params = aggregate.params;
            let condition = params.args.remove(0);
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                datafusion::functions_aggregate::count::count_udaf(),
                vec![Expr::Literal(ScalarValue::Int64(Some(1)), None)],
                false,
                and_filter(condition.is_true(), params.filter),
                vec![],
                None,
            )))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[derive(Debug)]
struct CountIfAccumulator(i64);

impl Accumulator for CountIfAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.0 += arrow::compute::kernels::aggregate::sum(
            &arrow::compute::cast(&values[0], &DataType::Int64)?
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone(),
        )
        .unwrap_or(0);
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts: &Int64Array = states[0].as_primitive();
        self.0 += arrow::compute::kernels::aggregate::sum(counts).unwrap_or(0);
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::Int64(Some(self.0))])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Int64(Some(self.0)))
    }

    fn size(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

/// `arg_max(x, by)` (`max_by`) and `arg_min(x, by)` (`min_by`): `x` of the row with the
/// largest (smallest) `by`, over rows where neither is NULL, as in DuckDB; planned as
/// `first_value(x ORDER BY by DESC) FILTER (WHERE x IS NOT NULL AND by IS NOT NULL)`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ArgExtreme {
    max: bool,
    aliases: Vec<String>,
    signature: Signature,
    doc: Documentation,
}

impl ArgExtreme {
    fn new(max: bool) -> Self {
        let (alias, description, syntax, example) = if max {
            (
                "max_by",
                "The value of `x` in the row with the largest `by` (rows where either is NULL are skipped).",
                "arg_max(x, by)",
                "SELECT driver_id, arg_max(dropoff_zone, fare) FROM trips GROUP BY driver_id",
            )
        } else {
            (
                "min_by",
                "The value of `x` in the row with the smallest `by` (rows where either is NULL are skipped).",
                "arg_min(x, by)",
                "SELECT trace_id, arg_min(service, ts) AS first_service FROM logs GROUP BY trace_id",
            )
        };
        ArgExtreme {
            max,
            aliases: vec![alias.to_string()],
            signature: Signature::any(2, Volatility::Immutable),
            doc: doc("Aggregates", description, syntax, example),
        }
    }
}

impl AggregateUDFImpl for ArgExtreme {
    fn name(&self) -> &str {
        if self.max { "arg_max" } else { "arg_min" }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        super::calendar::first_type(self.name(), arg_types)
    }

    /// Where `simplify` does not apply (`arg_max(x, by) OVER (…)`): the best row so far.
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(ArgExtremeAccumulator {
            max: self.max,
            best: None,
            value_type: args.expr_fields[0].data_type().clone(),
            by_type: args.expr_fields[1].data_type().clone(),
        }))
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |name: &str, t: &DataType| {
            Arc::new(Field::new(
                format!("{}[{name}]", args.name),
                t.clone(),
                true,
            ))
        };
        Ok(vec![
            field("value", args.input_fields[0].data_type()),
            field("by", args.input_fields[1].data_type()),
        ])
    }

    fn simplify(&self) -> Option<AggregateFunctionSimplification> {
        let max = self.max;
        Some(Box::new(move |aggregate: AggregateFunction, _info| {
            let params = aggregate.params;
            let [x, by]: [Expr; 2] = params.args.try_into().map_err(|_| {
                datafusion::error::DataFusionError::Plan("arg_max/arg_min take 2 arguments".into())
            })?;
            let keep = x.clone().is_not_null().and(by.clone().is_not_null());
            Ok(Expr::AggregateFunction(AggregateFunction::new_udf(
                datafusion::functions_aggregate::first_last::first_value_udaf(),
                vec![x],
                false,
                and_filter(keep, params.filter),
                vec![SortExpr::new(by, !max, false)],
                None,
            )))
        }))
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

/// `arg_max`/`arg_min` row by row: the value of the row with the largest (smallest) `by`,
/// over rows where neither is NULL; the first such row wins a tie.
#[derive(Debug)]
struct ArgExtremeAccumulator {
    max: bool,
    best: Option<(ScalarValue, ScalarValue)>,
    value_type: DataType,
    by_type: DataType,
}

impl ArgExtremeAccumulator {
    fn offer(&mut self, values: &ArrayRef, by: &ArrayRef) -> Result<()> {
        for row in 0..values.len() {
            if values.is_null(row) || by.is_null(row) {
                continue;
            }
            let candidate = ScalarValue::try_from_array(by, row)?;
            let better = match &self.best {
                None => true,
                Some((_, best)) => match candidate.partial_cmp(best) {
                    Some(std::cmp::Ordering::Greater) => self.max,
                    Some(std::cmp::Ordering::Less) => !self.max,
                    _ => false,
                },
            };
            if better {
                self.best = Some((ScalarValue::try_from_array(values, row)?, candidate));
            }
        }
        Ok(())
    }
}

impl Accumulator for ArgExtremeAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.offer(&values[0], &values[1])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        self.offer(&states[0], &states[1])
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        match &self.best {
            Some((value, by)) => Ok(vec![value.clone(), by.clone()]),
            None => Ok(vec![
                ScalarValue::try_from(&self.value_type)?,
                ScalarValue::try_from(&self.by_type)?,
            ]),
        }
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.best {
            Some((value, _)) => Ok(value.clone()),
            None => ScalarValue::try_from(&self.value_type),
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.best.as_ref().map_or(0, |(v, b)| v.size() + b.size())
    }
}
