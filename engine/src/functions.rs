//! Strata's function registry on top of DataFusion's: the functions that can build values far
//! larger than their arguments (`repeat`, `lpad`, `replace`, `array_repeat`, `range`, …) are
//! wrapped so that a call that would build more than `limits.max_value_bytes` fails at once,
//! naming the limit, instead of allocating gigabytes (or aborting the process) first.
//!
//! It also adds the functions log and trip analysts bring from DuckDB: JSON access
//! (`json.rs`), regular-expression extraction, time buckets and aggregates (`duckdb.rs`),
//! spatial functions (`geo.rs`) and H3 cells (`h3.rs`), each with its documentation, which
//! `SHOW FUNCTIONS` and `information_schema.routines` list.

mod arithmetic;
mod calendar;
mod dialect;
mod duckdb;
mod epoch;
mod geo;
mod h3;
mod json;
mod len;
mod regex_split;

pub(crate) use dialect::{duckdb_spellings, plan_statement};

use std::hash::Hash;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, FieldRef, Int64Type};
use datafusion::common::{Result, ScalarValue};
use datafusion::error::DataFusionError;
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};
use datafusion::prelude::SessionContext;

use crate::limits::Limits;

/// How a wrapped function's output size follows from its arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Growth {
    /// `repeat(s, n)`: `len(s) × n`.
    Repeat,
    /// `lpad(s, n [, fill])`, `rpad`: `n` characters.
    Pad,
    /// `replace(s, from, to)`: every occurrence of `from` becomes `to`.
    Replace,
    /// `regexp_replace(s, pattern, replacement [, flags])`: at most one replacement per byte.
    RegexpReplace,
    /// `array_repeat(x, n)`, `array_resize(a, n [, v])`: `n` elements.
    Elements,
    /// `range(start, stop [, step])`, `generate_series`: `(stop − start) / step` elements.
    Series,
}

const WRAPPED: &[(&str, Growth)] = &[
    ("repeat", Growth::Repeat),
    ("lpad", Growth::Pad),
    ("rpad", Growth::Pad),
    ("replace", Growth::Replace),
    ("regexp_replace", Growth::RegexpReplace),
    ("array_repeat", Growth::Elements),
    ("array_resize", Growth::Elements),
    ("range", Growth::Series),
    ("generate_series", Growth::Series),
];

/// Replace DataFusion's value-building functions in `ctx` by size-checked ones.
pub(crate) fn register(ctx: &SessionContext, limits: &Limits) {
    register_test_hooks(ctx);
    ctx.register_udf(crate::date_part::date_part().as_ref().clone());
    for udf in json::udfs()
        .into_iter()
        .chain(geo::udfs())
        .chain(h3::udfs())
    {
        ctx.register_udf(udf);
    }
    duckdb::register(ctx);
    ctx.register_udf(arithmetic::round_even());
    ctx.register_udf(arithmetic::timestamp_text());
    for udf in calendar::udfs() {
        ctx.register_udf(udf);
    }
    for udaf in calendar::udafs() {
        ctx.register_udaf(udaf);
    }
    for (name, growth) in WRAPPED {
        if let Ok(inner) = ctx.udf(name) {
            ctx.register_udf(ScalarUDF::new_from_impl(SizeChecked {
                inner,
                growth: *growth,
                max_value: limits.max_value_bytes,
            }));
        }
    }
}

/// The SQL planners of DuckDB's spellings: `->`/`->>` as JSON extraction, and `/` and `//`
/// as DuckDB divides (after `EXTRACT`'s, before DataFusion's own).
pub(crate) fn planners() -> Vec<Arc<dyn datafusion::logical_expr::planner::ExprPlanner>> {
    vec![
        Arc::new(dialect::ArrowPlanner),
        Arc::new(arithmetic::DivisionPlanner),
        Arc::new(calendar::DateIntervalPlanner),
    ]
}

/// The rewrites of planned expressions: a CAST of a fraction to an integer rounds, and a
/// timestamp cast to text is written, as in DuckDB (`arithmetic.rs`).
pub(crate) fn register_rewrites(
    state: &mut datafusion::execution::session_state::SessionState,
) -> Result<()> {
    let round = state.scalar_functions().get("round").cloned();
    state.register_function_rewrite(Arc::new(arithmetic::CastsRound::new(round)))
}

/// Test hook (like `STRATA_CRASH_AT`): with `STRATA_TEST_PANIC` set, `strata_test_panic(n)`
/// returns `n` but panics on the value 13, so tests can check that a panic in query work
/// fails that query only.
fn register_test_hooks(ctx: &SessionContext) {
    if std::env::var_os("STRATA_TEST_PANIC").is_none() {
        return;
    }
    let panicking = datafusion::logical_expr::create_udf(
        "strata_test_panic",
        vec![DataType::Int64],
        DataType::Int64,
        datafusion::logical_expr::Volatility::Volatile,
        Arc::new(|args: &[ColumnarValue]| {
            let values = args[0].to_array(1)?;
            let values = values.as_primitive::<Int64Type>();
            assert!(
                !values.iter().any(|v| v == Some(13)),
                "strata_test_panic: a deliberate panic for tests"
            );
            Ok(ColumnarValue::Array(Arc::new(values.clone())))
        }),
    );
    ctx.register_udf(panicking);
}

/// The methods of `ScalarUDFImpl` that a wrapper around a DataFusion function (its field
/// `inner: Arc<ScalarUDF>`) passes on unchanged: everything but `invoke_with_args`.
macro_rules! delegate_to_inner {
    () => {
        fn name(&self) -> &str {
            self.inner.name()
        }

        fn aliases(&self) -> &[String] {
            self.inner.aliases()
        }

        fn schema_name(&self, args: &[Expr]) -> Result<String> {
            self.inner.schema_name(args)
        }

        fn signature(&self) -> &Signature {
            self.inner.signature()
        }

        fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
            self.inner.return_type(arg_types)
        }

        fn return_field_from_args(&self, args: ReturnFieldArgs) -> Result<FieldRef> {
            self.inner.return_field_from_args(args)
        }

        fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
            self.inner.coerce_types(arg_types)
        }

        fn simplify(
            &self,
            args: Vec<Expr>,
            info: &datafusion::logical_expr::simplify::SimplifyContext,
        ) -> Result<datafusion::logical_expr::simplify::ExprSimplifyResult> {
            self.inner.simplify(args, info)
        }

        fn preimage(
            &self,
            args: &[Expr],
            lit_expr: &Expr,
            info: &datafusion::logical_expr::simplify::SimplifyContext,
        ) -> Result<datafusion::logical_expr::preimage::PreimageResult> {
            self.inner.preimage(args, lit_expr, info)
        }

        fn short_circuits(&self) -> bool {
            self.inner.short_circuits()
        }

        fn evaluate_bounds(
            &self,
            input: &[&datafusion::logical_expr::interval_arithmetic::Interval],
        ) -> Result<datafusion::logical_expr::interval_arithmetic::Interval> {
            self.inner.evaluate_bounds(input)
        }

        fn output_ordering(
            &self,
            inputs: &[datafusion::logical_expr::sort_properties::ExprProperties],
        ) -> Result<datafusion::logical_expr::sort_properties::SortProperties> {
            self.inner.output_ordering(inputs)
        }

        fn documentation(&self) -> Option<&Documentation> {
            self.inner.documentation()
        }
    };
}
pub(crate) use delegate_to_inner;

/// A DataFusion function whose output size is checked before it is computed.
#[derive(Debug, PartialEq, Eq, Hash)]
struct SizeChecked {
    inner: Arc<ScalarUDF>,
    growth: Growth,
    max_value: usize,
}

impl SizeChecked {
    /// Bytes of the largest value, and of all values, one call would build.
    fn estimate(&self, args: &[ColumnarValue], rows: usize) -> Result<(u128, u128)> {
        let rows = rows.max(1);
        let arrays: Vec<ArrayRef> = args
            .iter()
            .map(|a| match a {
                ColumnarValue::Array(arr) => Ok(Arc::clone(arr)),
                ColumnarValue::Scalar(s) => s.to_array(),
            })
            .collect::<Result<_>>()?;
        // An empty batch (a filter or join kept no row) builds nothing.
        if arrays.iter().any(|a| a.is_empty()) {
            return Ok((0, 0));
        }
        // Scalars stand for every row: look at row 0 of a one-element array.
        let at = |i: usize, row: usize| -> usize { if arrays[i].len() == 1 { 0 } else { row } };
        let scalar_rows = if arrays.iter().all(|a| a.len() == 1) {
            1
        } else {
            rows
        };
        let (mut largest, mut total) = (0u128, 0u128);
        for row in 0..scalar_rows {
            let bytes = match self.growth {
                Growth::Repeat => str_len(&arrays[0], at(0, row)) * count(&arrays[1], at(1, row)),
                Growth::Pad => {
                    let width = arrays
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| *i != 1)
                        .map(|(i, a)| char_width(a, at(i, row)))
                        .max()
                        .unwrap_or(1);
                    count(&arrays[1], at(1, row)) * width
                }
                Growth::Replace => {
                    let s = str_len(&arrays[0], at(0, row));
                    let from = str_len(&arrays[1], at(1, row));
                    let to = str_len(&arrays[2], at(2, row));
                    if to <= from {
                        s
                    } else {
                        s + (s / from.max(1) + 1) * (to - from)
                    }
                }
                Growth::RegexpReplace => {
                    let s = str_len(&arrays[0], at(0, row));
                    let replacement = str_len(&arrays[2], at(2, row));
                    // A group reference (`\1`, `$1`) can copy the whole input each time.
                    let refs = str_value(&arrays[2], at(2, row))
                        .map_or(0, |r| r.matches(['\\', '$']).count() as u128);
                    s + (s + 1) * (replacement + refs * s)
                }
                Growth::Elements => {
                    let element = element_bytes(&arrays[0], at(0, row));
                    count(&arrays[1], at(1, row)) * element
                }
                Growth::Series => series_len(&arrays, |i| at(i, row)) * 16,
            };
            largest = largest.max(bytes);
            total += bytes;
        }
        if scalar_rows == 1 && rows > 1 {
            total = largest * rows as u128;
        }
        Ok((largest, total))
    }
}

/// Bytes of string or binary value `row` (0 when null or not a string).
fn str_len(a: &ArrayRef, row: usize) -> u128 {
    str_value(a, row).map_or(0, |s| s.len() as u128)
}

fn str_value(a: &ArrayRef, row: usize) -> Option<&str> {
    if a.is_null(row) {
        return None;
    }
    match a.data_type() {
        DataType::Utf8 => Some(a.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Some(a.as_string::<i64>().value(row)),
        DataType::Utf8View => Some(a.as_string_view().value(row)),
        _ => None,
    }
}

/// Bytes per character of a string value (1 for ASCII, else 4), 1 when not a string.
fn char_width(a: &ArrayRef, row: usize) -> u128 {
    match str_value(a, row) {
        Some(s) if !s.is_ascii() => 4,
        _ => 1,
    }
}

/// An integer count argument (negative and null count as 0).
fn count(a: &ArrayRef, row: usize) -> u128 {
    if a.is_null(row) {
        return 0;
    }
    let v = match a.data_type() {
        DataType::Int64 => a.as_primitive::<Int64Type>().value(row),
        _ => match arrow::compute::cast(&a.slice(row, 1), &DataType::Int64) {
            Ok(c) if !c.is_null(0) => c.as_primitive::<Int64Type>().value(0),
            _ => 0,
        },
    };
    v.max(0) as u128
}

/// Approximate bytes of one element `row` of `a` when copied into a list.
fn element_bytes(a: &ArrayRef, row: usize) -> u128 {
    if let Some(s) = str_value(a, row) {
        return s.len() as u128 + 4;
    }
    match a.data_type() {
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => {
            a.slice(row, 1).get_array_memory_size() as u128
        }
        t => t.primitive_width().unwrap_or(8) as u128,
    }
}

/// Elements of `range(start, stop [, step])` for integer, date and timestamp arguments.
fn series_len(arrays: &[ArrayRef], at: impl Fn(usize) -> usize) -> u128 {
    let scalar = |i: usize| -> Option<ScalarValue> {
        let a = arrays.get(i)?;
        ScalarValue::try_from_array(a.as_ref(), at(i)).ok()
    };
    // `range(stop)` counts from 0.
    let (start, stop) = if arrays.len() == 1 {
        (Some(ScalarValue::Int64(Some(0))), scalar(0))
    } else {
        (scalar(0), scalar(1))
    };
    let step = scalar(2);
    let as_i128 = |v: &Option<ScalarValue>| -> Option<i128> {
        match v.as_ref()? {
            ScalarValue::Int64(Some(x)) => Some(*x as i128),
            ScalarValue::Date32(Some(d)) => Some(*d as i128 * 86_400_000_000_000),
            ScalarValue::Date64(Some(ms)) => Some(*ms as i128 * 1_000_000),
            ScalarValue::TimestampNanosecond(Some(t), _) => Some(*t as i128),
            ScalarValue::TimestampMicrosecond(Some(t), _) => Some(*t as i128 * 1_000),
            ScalarValue::TimestampMillisecond(Some(t), _) => Some(*t as i128 * 1_000_000),
            ScalarValue::TimestampSecond(Some(t), _) => Some(*t as i128 * 1_000_000_000),
            _ => None,
        }
    };
    let step_ns = match &step {
        None => Some(1i128).filter(|_| matches!(start, Some(ScalarValue::Int64(_)))),
        Some(ScalarValue::Int64(Some(s))) => Some(*s as i128),
        Some(ScalarValue::IntervalMonthDayNano(Some(i))) => Some(
            i.months as i128 * 28 * 86_400_000_000_000
                + i.days as i128 * 86_400_000_000_000
                + i.nanoseconds as i128,
        ),
        Some(ScalarValue::IntervalDayTime(Some(i))) => {
            Some(i.days as i128 * 86_400_000_000_000 + i.milliseconds as i128 * 1_000_000)
        }
        Some(ScalarValue::IntervalYearMonth(Some(m))) => Some(*m as i128 * 28 * 86_400_000_000_000),
        _ => None,
    };
    // Dates step one day by default.
    let step_ns = step_ns.or_else(|| {
        matches!(start, Some(ScalarValue::Date32(_) | ScalarValue::Date64(_)))
            .then_some(86_400_000_000_000)
    });
    match (as_i128(&start), as_i128(&stop), step_ns) {
        (Some(a), Some(b), Some(s)) if s != 0 => ((b - a) / s).unsigned_abs() + 1,
        _ => 0,
    }
}

impl ScalarUDFImpl for SizeChecked {
    delegate_to_inner!();

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let (largest, total) = self.estimate(&args.args, args.number_rows)?;
        let name = self.inner.name();
        if largest > self.max_value as u128 {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{name}() would build a value of {largest} bytes, more than the limit of {} bytes (limits.max_value_bytes in strata.toml)",
                self.max_value
            )));
        }
        // Values of one batch share one buffer: bound it too, well below Arrow's 2 GiB offsets.
        let batch_max = (self.max_value as u128).saturating_mul(4).min(1 << 30);
        if total > batch_max {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{name}() would build {total} bytes for one batch of rows, more than {batch_max} bytes (4 × limits.max_value_bytes, at most 1 GiB, in strata.toml)"
            )));
        }
        self.inner.invoke_with_args(args)
    }
}

/// The documentation of one of Strata's own functions, in section `section` of the function
/// reference.
fn doc(section: &'static str, description: &str, syntax: &str, example: &str) -> Documentation {
    Documentation::builder(
        datafusion::logical_expr::DocSection {
            include: true,
            label: section,
            description: None,
        },
        description,
        syntax,
    )
    .with_sql_example(example)
    .build()
}

/// A scalar result for scalar arguments, an array otherwise.
pub(super) fn shaped(args: &[ColumnarValue], result: ArrayRef) -> Result<ColumnarValue> {
    if args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_))) {
        Ok(ColumnarValue::Scalar(ScalarValue::try_from_array(
            &result, 0,
        )?))
    } else {
        Ok(ColumnarValue::Array(result))
    }
}

/// How many rows to compute: one when every argument is a constant (the answer is one
/// constant too, see `shaped`), else the batch's.
pub(super) fn rows_to_compute(args: &ScalarFunctionArgs) -> usize {
    if args
        .args
        .iter()
        .all(|a| matches!(a, ColumnarValue::Scalar(_)))
    {
        1
    } else {
        args.number_rows
    }
}

/// The reference of Strata's own functions (docs/functions.md), from their documentation.
pub fn function_reference() -> String {
    let mut entries: Vec<(String, String, Vec<String>, Documentation)> = Vec::new();
    let scalar = json::udfs()
        .into_iter()
        .chain(duckdb::udfs())
        .chain(std::iter::once(arithmetic::round_even()))
        .chain(calendar::udfs())
        .chain(geo::udfs())
        .chain(h3::udfs());
    for udf in scalar {
        if let Some(doc) = udf.documentation() {
            entries.push((
                doc.doc_section.label.to_string(),
                udf.name().to_string(),
                udf.aliases().to_vec(),
                doc.clone(),
            ));
        }
    }
    for udaf in duckdb::udafs().into_iter().chain(calendar::udafs()) {
        if let Some(doc) = udaf.documentation() {
            entries.push((
                doc.doc_section.label.to_string(),
                udaf.name().to_string(),
                udaf.aliases().to_vec(),
                doc.clone(),
            ));
        }
    }
    let mut out = String::from(
        "# Functions\n\n\
         Generated from the functions' own documentation (`SHOW FUNCTIONS` and \
         `information_schema.routines` show the same); do not edit by hand — \
         `STRATA_WRITE_FUNCTIONS_DOC=1 cargo test -p strata-engine function_reference` rewrites it. \
         These are Strata's additions, spelled as in DuckDB (core, `json`, `spatial` and `h3` \
         extensions) so that queries port unchanged; every DataFusion function is available \
         too (see DataFusion's SQL reference), as are the typed JSON getters of \
         `datafusion-functions-json` (`json_get_str`, `json_get_int`, `json_get_float`, `json_get_bool`, \
         `json_get_json`, `json_as_text`, `json_length`). Timestamps and time buckets are in UTC.\n",
    );
    for section in [
        "JSON",
        "Text",
        "Numbers",
        "Time",
        "Aggregates",
        "Spatial",
        "H3",
    ] {
        out.push_str(&format!(
            "\n## {section}\n\n| function | what it does | example |\n|---|---|---|\n"
        ));
        for (_, name, aliases, doc) in entries.iter().filter(|e| e.0 == section) {
            let also = match aliases.as_slice() {
                [] => String::new(),
                more => format!(" (also `{}`)", more.join("`, `")),
            };
            out.push_str(&format!(
                "| `{}`{also} | {} | `{}` |\n",
                doc.syntax_example.replace('|', "\\|"),
                doc.description.replace('|', "\\|"),
                doc.sql_example
                    .as_deref()
                    .unwrap_or(name)
                    .replace('|', "\\|"),
            ));
        }
    }
    out.push_str(
        "\n## DuckDB names for DataFusion functions\n\n| DuckDB | DataFusion |\n|---|---|\n",
    );
    for (datafusion, duckdb) in duckdb::aliases() {
        out.push_str(&format!("| `{duckdb}` | `{datafusion}` |\n"));
    }
    out
}

#[cfg(test)]
mod reference_tests {
    #[test]
    fn function_reference_is_up_to_date() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/functions.md");
        let text = super::function_reference();
        if std::env::var_os("STRATA_WRITE_FUNCTIONS_DOC").is_some() {
            std::fs::write(&path, &text).unwrap();
        }
        assert_eq!(
            std::fs::read_to_string(&path).unwrap_or_default(),
            text,
            "docs/functions.md is out of date: run `STRATA_WRITE_FUNCTIONS_DOC=1 cargo test -p strata-engine function_reference`"
        );
    }
}
