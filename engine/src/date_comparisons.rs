//! A DATE compared with a constant TIMESTAMP is compared with a constant DATE instead.
//!
//! `DATE ± INTERVAL` is a TIMESTAMP, as in DuckDB (`functions/calendar.rs`), so the everyday
//! `day >= current_date - INTERVAL 7 DAY` compares a DATE column with a timestamp, which type
//! coercion does by casting the column, row by row. The same comparison with the date the
//! timestamp falls on (rounded up for `>=` and `<` when it is not midnight) selects exactly the
//! same rows and compares dates: no cast per row, and the predicate the scan prunes with is the
//! column's own. `=` and `<>` are rewritten only for a midnight timestamp.

use std::sync::Arc;

use arrow::datatypes::DataType;
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{DFSchema, Result, ScalarValue};
use datafusion::logical_expr::{BinaryExpr, Cast, Expr, ExprSchemable, LogicalPlan, Operator};
use datafusion::optimizer::analyzer::AnalyzerRule;
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};

#[derive(Debug, Default)]
pub(crate) struct DatesAgainstTimestamps;

impl OptimizerRule for DatesAgainstTimestamps {
    fn name(&self) -> &str {
        "strata_dates_against_timestamps"
    }

    fn apply_order(&self) -> Option<ApplyOrder> {
        Some(ApplyOrder::BottomUp)
    }

    fn supports_rewrite(&self) -> bool {
        true
    }

    fn rewrite(
        &self,
        plan: LogicalPlan,
        _config: &dyn OptimizerConfig,
    ) -> Result<Transformed<LogicalPlan>> {
        rewrite_node(plan)
    }
}

/// Also right after type coercion, before the optimizer folds constants: a DATE compared with
/// `DATE '1500-01-01' + INTERVAL 1 HOUR` is cast to nanoseconds there, which that timestamp
/// does not fit, and the folding would fail; compared in microseconds, it folds.
impl AnalyzerRule for DatesAgainstTimestamps {
    fn name(&self) -> &str {
        "strata_dates_against_timestamps"
    }

    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.transform_up_with_subqueries(rewrite_node).data()
    }
}

fn rewrite_node(plan: LogicalPlan) -> Result<Transformed<LogicalPlan>> {
    // Most nodes cast nothing to a timestamp: no schema is built for them.
    let mut casts = false;
    plan.apply_expressions(|e| {
        casts = e.exists(|e| {
            Ok(matches!(e, Expr::Cast(c) if matches!(c.field.data_type(), DataType::Timestamp(_, None))))
        })?;
        Ok(if casts {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    })?;
    if !casts {
        return Ok(Transformed::no(plan));
    }
    // The schema the node's expressions are written against: a scan's table, or its inputs'
    // (filters, aggregates' FILTER clauses, projections, join conditions).
    let schema = match &plan {
        LogicalPlan::TableScan(scan) if !scan.filters.is_empty() => Arc::new(
            DFSchema::try_from_qualified_schema(scan.table_name.clone(), &scan.source.schema())?,
        ),
        _ => {
            let inputs = plan.inputs();
            let Some((first, rest)) = inputs.split_first() else {
                return Ok(Transformed::no(plan));
            };
            let mut schema = first.schema().as_ref().clone();
            for other in rest {
                schema.merge(other.schema());
            }
            Arc::new(schema)
        }
    };
    plan.map_expressions(|expr| expr.transform_up(|e| Ok(on_dates(e, &schema))))
}

/// `CAST(date AS TIMESTAMP) op constant` as `date op' constant date`, when exact; or, against
/// a timestamp that is not constant, compared in that timestamp's own unit rather than in
/// nanoseconds (which dates past 2262 do not fit).
fn on_dates(expr: Expr, schema: &DFSchema) -> Transformed<Expr> {
    let Expr::BinaryExpr(BinaryExpr { left, op, right }) = &expr else {
        return Transformed::no(expr);
    };
    let rewritten = match (left.as_ref(), right.as_ref()) {
        (Expr::Cast(cast), other) => against(cast, other, *op, schema, false),
        _ => None,
    }
    .or_else(|| match (left.as_ref(), right.as_ref()) {
        (other, Expr::Cast(cast)) => against(cast, other, op.swap()?, schema, true),
        _ => None,
    });
    match rewritten {
        Some(rewritten) => Transformed::yes(rewritten),
        None => Transformed::no(expr),
    }
}

/// `cast op other` (`other op' cast` when `swapped`, `op` already swapped), where `cast` is a
/// DATE cast to a timestamp.
fn against(
    cast: &Cast,
    other: &Expr,
    op: Operator,
    schema: &DFSchema,
    swapped: bool,
) -> Option<Expr> {
    if !matches!(cast.field.data_type(), DataType::Timestamp(_, None))
        || cast.expr.get_type(schema).ok()? != DataType::Date32
    {
        return None;
    }
    let constant = match other {
        Expr::Literal(value, _) => Some(value),
        Expr::Cast(inner) => match inner.expr.as_ref() {
            Expr::Literal(value, _) => Some(value),
            _ => None,
        },
        _ => None,
    };
    if let Some(value) = constant {
        return date_comparison(cast, value, op);
    }
    // A timestamp expression cast to the same (finer) type as the date: cast the date to the
    // expression's own unit instead.
    let Expr::Cast(inner) = other else {
        return None;
    };
    if inner.field.data_type() != cast.field.data_type() {
        return None;
    }
    let unit = match inner.expr.get_type(schema).ok()? {
        DataType::Timestamp(unit, None) => unit,
        _ => return None,
    };
    let date = Expr::Cast(Cast::new(
        cast.expr.clone(),
        DataType::Timestamp(unit, None),
    ));
    let (l, r) = if swapped {
        (inner.expr.clone(), Box::new(date))
    } else {
        (Box::new(date), inner.expr.clone())
    };
    let op = if swapped { op.swap()? } else { op };
    Some(Expr::BinaryExpr(BinaryExpr::new(l, op, r)))
}

fn date_comparison(cast: &Cast, value: &ScalarValue, op: Operator) -> Option<Expr> {
    let (ticks, per_day) = match value {
        ScalarValue::TimestampSecond(Some(v), None) => (*v, 86_400),
        ScalarValue::TimestampMillisecond(Some(v), None) => (*v, 86_400_000),
        ScalarValue::TimestampMicrosecond(Some(v), None) => (*v, 86_400_000_000),
        ScalarValue::TimestampNanosecond(Some(v), None) => (*v, 86_400_000_000_000),
        _ => return None,
    };
    let day = ticks.div_euclid(per_day);
    let midnight = ticks.rem_euclid(per_day) == 0;
    let up = i64::from(!midnight);
    let (op, day) = match op {
        // d >= t: from the first midnight at or after t.
        Operator::GtEq => (Operator::GtEq, day + up),
        // d > t: after the day t falls on.
        Operator::Gt => (Operator::Gt, day),
        Operator::LtEq => (Operator::LtEq, day),
        Operator::Lt => (Operator::Lt, day + up),
        Operator::Eq | Operator::NotEq if midnight => (op, day),
        _ => return None,
    };
    let day = i32::try_from(day).ok()?;
    Some(Expr::BinaryExpr(BinaryExpr::new(
        cast.expr.clone(),
        op,
        Box::new(Expr::Literal(ScalarValue::Date32(Some(day)), None)),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::SessionContext;

    /// Counts by the rewritten plan equal the row-by-row comparison's, around midnight and
    /// away from it, and the plan keeps no cast of the date column.
    #[tokio::test]
    async fn comparisons_select_the_same_days() -> Result<()> {
        let ctx = SessionContext::new();
        ctx.add_optimizer_rule(Arc::new(DatesAgainstTimestamps));
        let plain = SessionContext::new();
        let days = "SELECT CAST(d AS DATE) AS d FROM (VALUES ('2026-01-01'), ('2026-01-02'), \
                    ('2026-01-03'), (NULL)) v(d)";
        for c in [&ctx, &plain] {
            c.sql(&format!("CREATE TABLE t AS {days}"))
                .await?
                .collect()
                .await?;
        }
        for t in [
            "2026-01-02 00:00:00",
            "2026-01-02 06:00:00",
            "2025-12-31 23:00:00",
        ] {
            for op in [">=", ">", "<=", "<", "=", "<>"] {
                let sql = format!("SELECT count(*) FROM t WHERE d {op} TIMESTAMP '{t}'");
                let flipped = format!("SELECT count(*) FROM t WHERE TIMESTAMP '{t}' {op} d");
                for q in [sql, flipped] {
                    let a = ctx.sql(&q).await?.collect().await?;
                    let b = plain.sql(&q).await?.collect().await?;
                    assert_eq!(
                        arrow::util::pretty::pretty_format_batches(&a)?.to_string(),
                        arrow::util::pretty::pretty_format_batches(&b)?.to_string(),
                        "{q}"
                    );
                }
            }
        }
        let plan = ctx
            .sql("EXPLAIN SELECT count(*) FROM t WHERE d >= TIMESTAMP '2026-01-02 06:00:00'")
            .await?
            .collect()
            .await?;
        let text = arrow::util::pretty::pretty_format_batches(&plan)?.to_string();
        assert!(text.contains("t.d >= Date32(\"2026-01-03\")"), "{text}");
        assert!(!text.contains("CAST(t.d"), "{text}");
        Ok(())
    }
}
