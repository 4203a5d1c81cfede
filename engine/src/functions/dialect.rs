//! SQL spellings made to mean what DuckDB, PostgreSQL and BigQuery users mean: `->`/`->>`
//! planned as Strata's JSON extraction (bound as PostgreSQL binds them), `::JSON` casts as text,
//! and BigQuery's `TIMESTAMP_TRUNC(ts, HOUR)` as `date_trunc`.

use std::sync::Arc;

use datafusion::common::{DFSchema, Result};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult, RawBinaryExpr};
use datafusion::logical_expr::{BinaryExpr, Expr, Operator, ScalarUDF};
use datafusion::sql::sqlparser::ast::BinaryOperator;

use super::json::{Extract, Output};

/// Plans `json -> path` as `json_extract` and `json ->> path` as `json_extract_string`.
///
/// DataFusion's default (generic) SQL dialect binds `->`/`->>` more loosely than comparisons,
/// `LIKE`, `IN`, `BETWEEN` and `IS`, so `j ->> 'a' = 'x'` arrives as `j ->> ('a' = 'x')` and
/// `x = j ->> 'a'` as `(x = j) ->> 'a'`. A path is never a boolean, so those are re-associated
/// here to what PostgreSQL and DuckDB mean: `(j ->> 'a') = 'x'`, `x = (j ->> 'a')`.
#[derive(Debug)]
pub(crate) struct ArrowPlanner;

fn is_comparison(op: Operator) -> bool {
    matches!(
        op,
        Operator::Eq
            | Operator::NotEq
            | Operator::Lt
            | Operator::LtEq
            | Operator::Gt
            | Operator::GtEq
            | Operator::IsDistinctFrom
            | Operator::IsNotDistinctFrom
    )
}

impl ArrowPlanner {
    fn call(udf: &Arc<ScalarUDF>, json: Expr, path: Expr) -> Expr {
        Expr::ScalarFunction(ScalarFunction::new_udf(Arc::clone(udf), vec![json, path]))
    }

    /// `json OP path`, where `path` may have swallowed a comparison that follows it.
    fn attach_right(udf: &Arc<ScalarUDF>, json: Expr, path: Expr) -> Expr {
        let inner = |e: Box<Expr>| Box::new(Self::attach_right(udf, json.clone(), *e));
        match path {
            Expr::BinaryExpr(b) if is_comparison(b.op) => {
                Expr::BinaryExpr(BinaryExpr::new(inner(b.left), b.op, b.right))
            }
            Expr::Like(mut like) => {
                like.expr = inner(like.expr);
                Expr::Like(like)
            }
            Expr::SimilarTo(mut like) => {
                like.expr = inner(like.expr);
                Expr::SimilarTo(like)
            }
            Expr::Between(mut between) => {
                between.expr = inner(between.expr);
                Expr::Between(between)
            }
            Expr::InList(mut list) => {
                list.expr = inner(list.expr);
                Expr::InList(list)
            }
            Expr::IsNull(e) => Expr::IsNull(inner(e)),
            Expr::IsNotNull(e) => Expr::IsNotNull(inner(e)),
            Expr::IsTrue(e) => Expr::IsTrue(inner(e)),
            Expr::IsFalse(e) => Expr::IsFalse(inner(e)),
            Expr::IsNotTrue(e) => Expr::IsNotTrue(inner(e)),
            Expr::IsNotFalse(e) => Expr::IsNotFalse(inner(e)),
            Expr::IsUnknown(e) => Expr::IsUnknown(inner(e)),
            Expr::IsNotUnknown(e) => Expr::IsNotUnknown(inner(e)),
            path => Self::call(udf, json, path),
        }
    }

    fn plan(udf: &Arc<ScalarUDF>, json: Expr, path: Expr) -> Expr {
        match json {
            Expr::BinaryExpr(b) if is_comparison(b.op) => Expr::BinaryExpr(BinaryExpr::new(
                b.left,
                b.op,
                Box::new(Self::plan(udf, *b.right, path)),
            )),
            json => Self::attach_right(udf, json, path),
        }
    }
}

impl ExprPlanner for ArrowPlanner {
    fn plan_binary_op(
        &self,
        expr: RawBinaryExpr,
        _schema: &DFSchema,
    ) -> Result<PlannerResult<RawBinaryExpr>> {
        let (output, op) = match expr.op {
            BinaryOperator::Arrow => (Output::Json, "->"),
            BinaryOperator::LongArrow => (Output::Text, "->>"),
            _ => return Ok(PlannerResult::Original(expr)),
        };
        let udf = Arc::new(ScalarUDF::new_from_impl(Extract::new(output, Some(op))));
        Ok(PlannerResult::Planned(Self::plan(
            &udf, expr.left, expr.right,
        )))
    }
}

/// BigQuery's `TIMESTAMP_TRUNC(ts, HOUR)` and `DATETIME_TRUNC(ts, DAY)` (the part a bare word,
/// after the value) as `date_trunc('hour', ts)`.
fn bigquery_trunc(f: &mut datafusion::sql::sqlparser::ast::Function) {
    use datafusion::sql::sqlparser::ast::{
        Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Ident, ObjectName, Value,
    };
    let named = f
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase());
    if !matches!(named.as_deref(), Some("timestamp_trunc" | "datetime_trunc")) {
        return;
    }
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    let [_, FunctionArg::Unnamed(FunctionArgExpr::Expr(part))] = list.args.as_mut_slice() else {
        return;
    };
    let part = match part {
        SqlExpr::Identifier(ident) => ident.value.to_ascii_lowercase(),
        SqlExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(text) => text.to_ascii_lowercase(),
            _ => return,
        },
        _ => return,
    };
    list.args.swap(0, 1);
    list.args[0] = FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::value(
        Value::SingleQuotedString(part),
    )));
    f.name = ObjectName::from(vec![Ident::new("date_trunc")]);
}

/// DuckDB's `JSON` type in casts (`attributes::JSON`, `CAST(x AS JSON)`) as text: Strata's JSON
/// values are text, which DataFusion's planner would otherwise refuse as an unknown type; and
/// BigQuery's `TIMESTAMP_TRUNC(ts, HOUR)` (see `bigquery_trunc`).
pub(crate) fn json_type_as_text(statement: &mut datafusion::sql::parser::Statement) {
    use datafusion::sql::sqlparser::ast::{
        DataType as SqlType, Expr as SqlExpr, VisitMut, VisitorMut,
    };
    use std::ops::ControlFlow;
    struct Rewrite;
    impl VisitorMut for Rewrite {
        type Break = ();
        fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
            if let SqlExpr::Cast { data_type, .. } = expr
                && matches!(data_type, SqlType::JSON)
            {
                *data_type = SqlType::Varchar(None);
            }
            if let SqlExpr::Function(f) = expr {
                bigquery_trunc(f);
            }
            ControlFlow::Continue(())
        }
    }
    if let datafusion::sql::parser::Statement::Statement(s) = statement {
        let _ = s.visit(&mut Rewrite);
    }
}
