//! Arithmetic as DuckDB and BigQuery users mean it, where DataFusion follows PostgreSQL or
//! Arrow instead:
//!
//! - `/` of two integers or DECIMALs divides as DOUBLEs (`7 / 2` = 3.5; by zero: ±inf or
//!   NaN, as in DuckDB), and `//` (also MySQL's `DIV`) is the integer division (`-7 // 2` =
//!   -3, truncated);
//! - a `CAST` (or `TRY_CAST`) of a fraction to an integer rounds instead of truncating: a
//!   DOUBLE or REAL half to even, as DuckDB does (`CAST(2.5::DOUBLE AS INT)` = 2), a DECIMAL
//!   half away from zero (`CAST(2.5 AS INT)` = 3, the literal being a DECIMAL in DuckDB);
//! - `round_even(x [, n])`, DuckDB's rounding half to even, which the casts use.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float64Type};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::Transformed;
use datafusion::common::{DFSchema, Result, exec_err, plan_err};
use datafusion::logical_expr::expr::{Cast, ScalarFunction, TryCast};
use datafusion::logical_expr::expr_rewriter::FunctionRewrite;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{
    BinaryExpr, ColumnarValue, Documentation, Expr, ExprSchemable, Operator, ScalarFunctionArgs,
    ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use super::{doc, rows_to_compute, shaped};

/// Plans `a / b` of two integers or DECIMALs as a DOUBLE division and `a // b` as the integer
/// one.
#[derive(Debug)]
pub(crate) struct DivisionPlanner;

/// Whether `expr` is known to be an integer or a DECIMAL (an untyped NULL or a placeholder is
/// not).
fn is_exact(expr: &Expr, schema: &DFSchema) -> bool {
    expr.get_type(schema)
        .is_ok_and(|t| t.is_integer() || t.is_decimal())
}

impl ExprPlanner for DivisionPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let integer_division = match expr.op {
            BinaryOperator::Divide => false,
            BinaryOperator::DuckIntegerDivide | BinaryOperator::MyIntegerDivide => true,
            _ => return Ok(PlannerResult::Original(expr)),
        };
        // A parameter (`7 / ?`, typed only when bound) divides as the other operand would.
        let placeholder = |e: &Expr| matches!(e, Expr::Placeholder(_));
        let (l, r) = (is_exact(&expr.left, schema), is_exact(&expr.right, schema));
        let exact = (l && (r || placeholder(&expr.right))) || (r && placeholder(&expr.left));
        let (left, right) = if !integer_division && exact {
            (
                Expr::Cast(Cast::new(Box::new(expr.left), DataType::Float64)),
                Expr::Cast(Cast::new(Box::new(expr.right), DataType::Float64)),
            )
        } else if !integer_division {
            return Ok(PlannerResult::Original(expr));
        } else {
            // `//` of integers is DataFusion's `/` on them; of anything else (as in DuckDB,
            // `7.5 // 2` = 3.75) the ordinary division.
            (expr.left, expr.right)
        };
        Ok(PlannerResult::Planned(Expr::BinaryExpr(BinaryExpr::new(
            Box::new(left),
            Operator::Divide,
            Box::new(right),
        ))))
    }
}

/// Rewrites `CAST(fraction AS integer)` to round first (see the module's documentation).
#[derive(Debug)]
pub(crate) struct CastsRound {
    round_even: Arc<ScalarUDF>,
    round: Option<Arc<ScalarUDF>>,
    timestamp_text: Arc<ScalarUDF>,
}

impl CastsRound {
    pub(crate) fn new(round: Option<Arc<ScalarUDF>>) -> Self {
        CastsRound {
            round_even: Arc::new(round_even()),
            round,
            timestamp_text: Arc::new(timestamp_text()),
        }
    }

    /// `inner` rounded the way a cast of it to an integer rounds, if it needs rounding.
    fn rounded(&self, inner: &Expr, schema: &DFSchema) -> Option<Expr> {
        let udf = match inner.get_type(schema).ok()? {
            DataType::Float16 | DataType::Float32 | DataType::Float64 => &self.round_even,
            DataType::Decimal32(_, s)
            | DataType::Decimal64(_, s)
            | DataType::Decimal128(_, s)
            | DataType::Decimal256(_, s)
                if s > 0 =>
            {
                self.round.as_ref()?
            }
            _ => return None,
        };
        // Already rounded (a plan analyzed twice); a call with decimal places is not.
        if let Expr::ScalarFunction(f) = inner
            && f.func.name() == udf.name()
            && f.args.len() == 1
        {
            return None;
        }
        Some(Expr::ScalarFunction(ScalarFunction::new_udf(
            Arc::clone(udf),
            vec![inner.clone()],
        )))
    }
}

impl FunctionRewrite for CastsRound {
    fn name(&self) -> &str {
        "strata_casts_to_integers_round"
    }

    fn rewrite(
        &self,
        expr: Expr,
        schema: &DFSchema,
        _config: &ConfigOptions,
    ) -> Result<Transformed<Expr>> {
        let text =
            |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
        let is_timestamp = |e: &Expr| matches!(e.get_type(schema), Ok(DataType::Timestamp(..)));
        let written = |e: &Expr| {
            Box::new(Expr::ScalarFunction(ScalarFunction::new_udf(
                Arc::clone(&self.timestamp_text),
                vec![e.clone()],
            )))
        };
        let rewritten = match &expr {
            // A timestamp cast to text is written as DuckDB writes it (`2026-01-01 10:00:00.5`,
            // not Arrow's `2026-01-01T10:00:00.500`). Explicit casts only: the implicit ones
            // type coercion adds come after this rewrite.
            Expr::Cast(c) if text(c.field.data_type()) && is_timestamp(&c.expr) => Some(
                Expr::Cast(Cast::new_from_field(written(&c.expr), Arc::clone(&c.field))),
            ),
            Expr::TryCast(c) if text(c.field.data_type()) && is_timestamp(&c.expr) => {
                Some(Expr::TryCast(TryCast::new_from_field(
                    written(&c.expr),
                    Arc::clone(&c.field),
                )))
            }
            Expr::Cast(c) if c.field.data_type().is_integer() => self
                .rounded(&c.expr, schema)
                .map(|e| Expr::Cast(Cast::new_from_field(Box::new(e), Arc::clone(&c.field)))),
            Expr::TryCast(c) if c.field.data_type().is_integer() => self
                .rounded(&c.expr, schema)
                .map(|e| Expr::TryCast(TryCast::new_from_field(Box::new(e), Arc::clone(&c.field)))),
            _ => None,
        };
        Ok(match rewritten {
            Some(e) => Transformed::yes(e),
            None => Transformed::no(expr),
        })
    }
}

/// `strata_timestamp_text(t)`: a timestamp as DuckDB writes it as text: `2026-01-01 10:00:00`,
/// a fraction of a second with its trailing zeros left out, `+00` after one with a time zone
/// (shown in UTC). What `CAST(t AS VARCHAR)` runs (see `CastsRound`); executors decode it by
/// this name.
pub(crate) fn timestamp_text() -> ScalarUDF {
    ScalarUDF::new_from_impl(TimestampText {
        signature: Signature::any(1, Volatility::Immutable),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct TimestampText {
    signature: Signature,
}

impl ScalarUDFImpl for TimestampText {
    fn name(&self) -> &str {
        "strata_timestamp_text"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use arrow::datatypes::TimeUnit;
        let rows = rows_to_compute(&args);
        let input = args.args[0].to_array(rows)?;
        let DataType::Timestamp(unit, tz) = input.data_type().clone() else {
            return exec_err!(
                "strata_timestamp_text takes a timestamp, not {}",
                input.data_type()
            );
        };
        let nanos = arrow::compute::cast(&input, &DataType::Timestamp(TimeUnit::Nanosecond, None));
        // Beyond nanoseconds' range (years before 1677 or after 2262): microseconds.
        let (values, per_second) = match nanos {
            Ok(v) if unit == TimeUnit::Nanosecond || v.null_count() == input.null_count() => {
                (v, 1_000_000_000i64)
            }
            _ => (
                arrow::compute::cast(&input, &DataType::Timestamp(TimeUnit::Microsecond, None))?,
                1_000_000i64,
            ),
        };
        let values = arrow::compute::cast(&values, &DataType::Int64)?;
        let values = values.as_primitive::<arrow::datatypes::Int64Type>();
        let zone = if tz.is_some() { "+00" } else { "" };
        let written: arrow::array::StringArray = (0..values.len())
            .map(|i| {
                if values.is_null(i) {
                    return None;
                }
                let v = values.value(i);
                let (secs, frac) = (v.div_euclid(per_second), v.rem_euclid(per_second));
                let time = chrono::DateTime::from_timestamp(secs, 0)?.naive_utc();
                let mut text = time.format("%Y-%m-%d %H:%M:%S").to_string();
                if frac > 0 {
                    let digits = if per_second == 1_000_000_000 { 9 } else { 6 };
                    let fraction = format!("{frac:0digits$}");
                    text.push('.');
                    text.push_str(fraction.trim_end_matches('0'));
                }
                text.push_str(zone);
                Some(text)
            })
            .collect();
        shaped(&args.args, Arc::new(written))
    }
}

/// `round_even(x [, n])`: `x` rounded to `n` decimal places (0 by default), halves to the
/// even neighbour, as DuckDB's `round_even`.
pub(crate) fn round_even() -> ScalarUDF {
    ScalarUDF::new_from_impl(RoundEven {
        signature: Signature::user_defined(Volatility::Immutable),
        doc: doc(
            "Numbers",
            "`x` rounded to `n` decimal places (0 when left out), a half to the even neighbour (banker's rounding), as DuckDB's `round_even`; a `CAST` of a DOUBLE to an integer rounds this way.",
            "round_even(x [, n])",
            "SELECT round_even(2.5), round_even(3.5), round_even(1.125, 2)  -- 2, 4, 1.12",
        ),
    })
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct RoundEven {
    signature: Signature,
    doc: Documentation,
}

impl ScalarUDFImpl for RoundEven {
    fn name(&self) -> &str {
        "round_even"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let value = match arg_types.first() {
            Some(DataType::Float32) => DataType::Float32,
            Some(t) if t.is_numeric() || t.is_null() => DataType::Float64,
            Some(t) => return plan_err!("round_even takes a number, not {t}"),
            None => return plan_err!("round_even(x [, n]) takes 1 or 2 arguments"),
        };
        match arg_types {
            [_] => Ok(vec![value]),
            [_, n] if n.is_integer() || n.is_null() => Ok(vec![value, DataType::Int64]),
            [_, n] => plan_err!("round_even's decimal places must be an integer, not {n}"),
            _ => plan_err!("round_even(x [, n]) takes 1 or 2 arguments"),
        }
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(match arg_types.first() {
            Some(DataType::Float32) => DataType::Float32,
            _ => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = rows_to_compute(&args);
        let places: Option<ArrayRef> = match args.args.get(1) {
            Some(n) => Some(n.to_array(rows)?),
            None => None,
        };
        let places = places
            .as_ref()
            .map(|p| p.as_primitive::<arrow::datatypes::Int64Type>());
        let scale = |i: usize| -> Option<f64> {
            match places {
                None => Some(1.0),
                Some(p) if p.is_null(i) => None,
                Some(p) => Some(10f64.powi(p.value(i).clamp(-308, 308) as i32)),
            }
        };
        // A REAL is rounded as a DOUBLE (exactly: every REAL is one) and given back as a REAL.
        let input = args.args[0].to_array(rows)?;
        let output_type = input.data_type().clone();
        if !matches!(output_type, DataType::Float64 | DataType::Float32) {
            return exec_err!("round_even does not take {output_type}");
        }
        let values = arrow::compute::cast(&input, &DataType::Float64)?;
        let values = values.as_primitive::<Float64Type>();
        let rounded: arrow::array::Float64Array = (0..values.len())
            .map(|i| {
                let (v, s) = (values.is_valid(i).then(|| values.value(i))?, scale(i)?);
                Some(if s == 1.0 {
                    v.round_ties_even()
                } else {
                    (v * s).round_ties_even() / s
                })
            })
            .collect();
        let result = arrow::compute::cast(&rounded, &output_type)?;
        shaped(&args.args, result)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::SessionContext;

    async fn one(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    fn context() -> SessionContext {
        let ctx = SessionContext::new();
        crate::functions::register(&ctx, &crate::limits::Limits::default());
        ctx
    }

    #[tokio::test]
    async fn round_even_halves_to_even() {
        let ctx = context();
        let out = one(
            &ctx,
            "SELECT round_even(2.5) a, round_even(3.5) b, round_even(-2.5) c, round_even(1.125, 2) d, round_even(CAST(0.5 AS REAL)) e, round_even(NULL) f",
        )
        .await;
        assert!(
            out.contains("| 2.0 | 4.0 | -2.0 | 1.12 | 0.0 |   |"),
            "{out}"
        );
    }
}
