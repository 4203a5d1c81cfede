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
/// values are text, which DataFusion's planner would otherwise refuse as an unknown type;
/// BigQuery's `TIMESTAMP_TRUNC(ts, HOUR)` (see `bigquery_trunc`); DuckDB's names of cast
/// columns (`name_casts`), and its `ORDER BY ALL` (`order_by_all_and_ordinals`).
pub(crate) fn duckdb_spellings(statement: &mut datafusion::sql::parser::Statement) {
    use datafusion::sql::sqlparser::ast::{
        DataType as SqlType, Expr as SqlExpr, VisitMut, VisitorMut,
    };
    use std::ops::ControlFlow;
    struct Rewrite;
    impl VisitorMut for Rewrite {
        type Break = ();
        fn post_visit_query(
            &mut self,
            query: &mut datafusion::sql::sqlparser::ast::Query,
        ) -> ControlFlow<()> {
            fn selects(
                body: &mut datafusion::sql::sqlparser::ast::SetExpr,
                sort_keys: &std::collections::HashSet<String>,
            ) {
                use datafusion::sql::sqlparser::ast::SetExpr;
                match body {
                    SetExpr::Select(select) => name_casts(select, sort_keys),
                    SetExpr::SetOperation { left, right, .. } => {
                        selects(left, sort_keys);
                        selects(right, sort_keys);
                    }
                    _ => {}
                }
            }
            let sort_keys = match query.order_by.as_ref().map(|o| &o.kind) {
                Some(datafusion::sql::sqlparser::ast::OrderByKind::Expressions(exprs)) => {
                    exprs.iter().map(|o| default_name(&o.expr)).collect()
                }
                _ => std::collections::HashSet::new(),
            };
            selects(&mut query.body, &sort_keys);
            order_by_all_and_ordinals(query);
            ControlFlow::Continue(())
        }
        fn post_visit_expr(&mut self, expr: &mut SqlExpr) -> ControlFlow<()> {
            if let SqlExpr::Cast { data_type, .. } = expr
                && matches!(data_type, SqlType::JSON)
            {
                *data_type = SqlType::Varchar(None);
            }
            if let SqlExpr::Function(f) = expr {
                bigquery_trunc(f);
                sum_of_condition(f);
                list_sort_nulls_last(f);
            }
            regex_match_is_full(expr);
            if let SqlExpr::Interval(interval) = expr {
                interval_as_text(interval);
            }
            ControlFlow::Continue(())
        }
    }
    if let datafusion::sql::parser::Statement::Statement(s) = statement {
        let _ = s.visit(&mut Rewrite);
    }
}

/// The name DataFusion gives an unaliased select item or sort key (lower case): casts and
/// parentheses are transparent, a column is named by its last part, anything else by its SQL
/// text (near enough to tell names apart).
fn default_name(mut e: &datafusion::sql::sqlparser::ast::Expr) -> String {
    use datafusion::sql::sqlparser::ast::Expr as SqlExpr;
    while let SqlExpr::Cast { expr, .. } | SqlExpr::Nested(expr) = e {
        e = expr;
    }
    match e {
        SqlExpr::Identifier(i) => i.value.to_lowercase(),
        SqlExpr::CompoundIdentifier(parts) => parts
            .last()
            .map(|i| i.value.to_lowercase())
            .unwrap_or_default(),
        other => other.to_string().to_lowercase(),
    }
}

/// DataFusion names `CAST(x AS T)` after `x`, so `SELECT x, CAST(x AS T)`, `SELECT *,
/// CAST(x AS T)` and `SELECT CAST(x AS T) … ORDER BY x` failed on two columns of one name.
/// Such a cast (one whose name another column of the select list, a wildcard or a sort key
/// of the query would share) gets DuckDB's name for it, `CAST(x AS T)`; another cast of a
/// column gets the column's name (`ts`, which `CREATE TABLE … AS`, its `PARTITIONED BY` and
/// outer queries refer to), where DataFusion named it `logs.ts`.
fn name_casts(
    select: &mut datafusion::sql::sqlparser::ast::Select,
    sort_keys: &std::collections::HashSet<String>,
) {
    use datafusion::sql::sqlparser::ast::{CastKind, Expr as SqlExpr, Ident, SelectItem};
    use std::collections::HashMap;
    let wildcard = select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    let mut names: HashMap<String, usize> = HashMap::new();
    for item in &select.projection {
        match item {
            SelectItem::UnnamedExpr(e) => *names.entry(default_name(e)).or_default() += 1,
            SelectItem::ExprWithAlias { alias, .. } => {
                *names.entry(alias.value.to_lowercase()).or_default() += 1
            }
            _ => {}
        }
    }
    for item in &mut select.projection {
        let SelectItem::UnnamedExpr(e @ SqlExpr::Cast { .. }) = item else {
            continue;
        };
        let name = default_name(e);
        if !wildcard && names.get(&name).copied().unwrap_or(0) < 2 && !sort_keys.contains(&name) {
            // DataFusion would name `ts::DATE` `logs.ts` (qualifier included, as a `CREATE
            // TABLE … AS` column too): a cast of a column is named after it, as PostgreSQL does.
            let mut inner = &*e;
            while let SqlExpr::Cast { expr, .. } | SqlExpr::Nested(expr) = inner {
                inner = expr;
            }
            let column = match inner {
                SqlExpr::Identifier(i) => Some(i.clone()),
                SqlExpr::CompoundIdentifier(parts) => parts.last().cloned(),
                _ => None,
            };
            if let Some(mut alias) = column {
                alias.quote_style = Some('"');
                *item = SelectItem::ExprWithAlias {
                    expr: e.clone(),
                    alias,
                };
            }
            continue;
        }
        let SqlExpr::Cast {
            kind,
            expr,
            data_type,
            ..
        } = &*e
        else {
            continue;
        };
        let function = match kind {
            CastKind::TryCast | CastKind::SafeCast => "TRY_CAST",
            CastKind::Cast | CastKind::DoubleColon => "CAST",
        };
        let alias = Ident::with_quote('"', format!("{function}({expr} AS {data_type})"));
        *item = SelectItem::ExprWithAlias {
            expr: e.clone(),
            alias,
        };
    }
}

/// DuckDB's `ORDER BY ALL [ASC | DESC]`: every column of the select list, left to right (not
/// after a wildcard, whose columns are not known here). And an `ORDER BY n` of a grouped
/// query whose `n`th column is an unaliased expression of the group keys (`SELECT upper(s),
/// count(*) … GROUP BY s ORDER BY 1`), which DataFusion 55 refuses ("Column in ORDER BY must
/// be in GROUP BY"), orders by that expression, which it accepts.
fn order_by_all_and_ordinals(query: &mut datafusion::sql::sqlparser::ast::Query) {
    use datafusion::sql::sqlparser::ast::{
        Expr as SqlExpr, GroupByExpr, OrderByExpr, OrderByKind, SelectItem, SetExpr, Value,
    };
    let (Some(order_by), SetExpr::Select(select)) = (&mut query.order_by, &*query.body) else {
        return;
    };
    let all = match &order_by.kind {
        OrderByKind::All(options) => Some(*options),
        OrderByKind::Expressions(exprs) => match exprs.as_slice() {
            [
                OrderByExpr {
                    expr: SqlExpr::Identifier(ident),
                    options,
                    with_fill: None,
                },
            ] if ident.quote_style.is_none() && ident.value.eq_ignore_ascii_case("all") => {
                Some(*options)
            }
            _ => None,
        },
    };
    let wildcard = select.projection.iter().any(|item| {
        matches!(
            item,
            SelectItem::Wildcard(_) | SelectItem::QualifiedWildcard(..)
        )
    });
    if let Some(options) = all {
        if wildcard {
            return;
        }
        order_by.kind = OrderByKind::Expressions(
            (1..=select.projection.len())
                .map(|n| OrderByExpr {
                    expr: SqlExpr::value(Value::Number(n.to_string(), false)),
                    options,
                    with_fill: None,
                })
                .collect(),
        );
    }
    let grouped = match &select.group_by {
        GroupByExpr::All(_) => true,
        GroupByExpr::Expressions(exprs, _) => !exprs.is_empty(),
    };
    let OrderByKind::Expressions(exprs) = &mut order_by.kind else {
        return;
    };
    if !grouped || wildcard {
        return;
    }
    let aliases: std::collections::HashSet<String> = select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(alias.value.to_lowercase()),
            _ => None,
        })
        .collect();
    for order in exprs {
        let SqlExpr::Value(v) = &order.expr else {
            continue;
        };
        let Value::Number(n, _) = &v.value else {
            continue;
        };
        let Some(SelectItem::UnnamedExpr(item)) = n
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_sub(1))
            .and_then(|i| select.projection.get(i))
        else {
            continue;
        };
        // The expression's names must mean in ORDER BY what they mean in the select list:
        // not when one of them is also a select-list alias (`SELECT abs(d), count(*) AS d …
        // ORDER BY 1`), which ORDER BY would resolve to the alias.
        let aliased = datafusion::sql::sqlparser::ast::visit_expressions(item, |e| match e {
            SqlExpr::Identifier(i) if aliases.contains(&i.value.to_lowercase()) => {
                std::ops::ControlFlow::Break(())
            }
            _ => std::ops::ControlFlow::Continue(()),
        })
        .is_break();
        if !aliased
            && !matches!(
                item,
                SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_) | SqlExpr::Value(_)
            )
        {
            order.expr = item.clone();
        }
    }
}

/// The plan of `statement`; one DataFusion refuses for two select-list columns of one name
/// (which DuckDB allows) has them named as DuckDB names them and is planned again.
pub(crate) async fn plan_statement(
    state: &datafusion::execution::session_state::SessionState,
    mut statement: datafusion::sql::parser::Statement,
) -> datafusion::common::Result<datafusion::logical_expr::LogicalPlan> {
    match state.statement_to_plan(statement.clone()).await {
        Err(e) if is_duplicate_name(&e) => {
            name_every_column(&mut statement);
            state.statement_to_plan(statement).await
        }
        plan => plan,
    }
}

/// Whether planning failed on two select-list columns of one name, which DataFusion refuses
/// and DuckDB allows (`SELECT count(*), count(*)`, `SELECT a / b, a // b`): see
/// `name_every_column`.
fn is_duplicate_name(e: &datafusion::error::DataFusionError) -> bool {
    matches!(e.find_root(), datafusion::error::DataFusionError::Plan(m)
        if m.starts_with("Projections require unique expression names"))
}

/// Names the columns of a select list that DataFusion would give one name (its unaliased
/// expressions, and repeated columns), by their SQL text as DuckDB names columns, with `_1`,
/// `_2`, … after repeats: the plan of a statement that failed on duplicate names. A column
/// named after a table column keeps that name (outer queries refer to it), and so does a
/// select list with no two unaliased expressions and no repeated column.
fn name_every_column(statement: &mut datafusion::sql::parser::Statement) {
    use datafusion::sql::sqlparser::ast::{
        Expr as SqlExpr, Ident, Query, SelectItem, SetExpr, VisitMut, VisitorMut,
    };
    use std::collections::HashMap;
    use std::ops::ControlFlow;
    fn is_column(e: &SqlExpr) -> bool {
        matches!(e, SqlExpr::Identifier(_) | SqlExpr::CompoundIdentifier(_))
    }
    // A column's name as written (its last part).
    fn column_name(e: &SqlExpr) -> String {
        match e {
            SqlExpr::Identifier(i) => i.value.clone(),
            SqlExpr::CompoundIdentifier(parts) => {
                parts.last().map(|i| i.value.clone()).unwrap_or_default()
            }
            other => other.to_string(),
        }
    }
    fn selects(body: &mut SetExpr) {
        match body {
            SetExpr::Select(select) => {
                let expressions = select
                    .projection
                    .iter()
                    .filter(|i| matches!(i, SelectItem::UnnamedExpr(e) if !is_column(e)))
                    .count();
                let mut columns: HashMap<String, usize> = HashMap::new();
                for item in &select.projection {
                    if let SelectItem::UnnamedExpr(e) = item
                        && is_column(e)
                    {
                        *columns.entry(default_name(e)).or_default() += 1;
                    }
                }
                if expressions < 2 && columns.values().all(|n| *n < 2) {
                    return;
                }
                let mut seen: HashMap<String, usize> = HashMap::new();
                for item in &mut select.projection {
                    let name = match item {
                        SelectItem::UnnamedExpr(e) if is_column(e) => column_name(e),
                        SelectItem::UnnamedExpr(e) => e.to_string(),
                        SelectItem::ExprWithAlias { alias, .. } => alias.value.clone(),
                        _ => continue,
                    };
                    let n = seen.entry(name.to_lowercase()).or_default();
                    let unique = match *n {
                        0 => name,
                        k => format!("{name}_{k}"),
                    };
                    *n += 1;
                    if let SelectItem::UnnamedExpr(e) = item
                        && (!is_column(e) || unique != column_name(e))
                    {
                        *item = SelectItem::ExprWithAlias {
                            expr: e.clone(),
                            alias: Ident::with_quote('"', unique),
                        };
                    }
                }
            }
            SetExpr::SetOperation { left, right, .. } => {
                selects(left);
                selects(right);
            }
            _ => {}
        }
    }
    struct Rename;
    impl VisitorMut for Rename {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            selects(&mut query.body);
            ControlFlow::Continue(())
        }
    }
    if let datafusion::sql::parser::Statement::Statement(s) = statement {
        let _ = s.visit(&mut Rename);
    }
}

/// DuckDB's `INTERVAL 10 MINUTE` (a bare number and a unit) as `INTERVAL '10 MINUTE'`:
/// DataFusion's planner takes the first form in expressions but not as a window frame's bound
/// (`RANGE BETWEEN INTERVAL 10 MINUTE PRECEDING AND CURRENT ROW` failed as an internal error).
fn interval_as_text(interval: &mut datafusion::sql::sqlparser::ast::Interval) {
    use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Value};
    let (SqlExpr::Value(v), Some(unit), None, None, None) = (
        &*interval.value,
        &interval.leading_field,
        &interval.last_field,
        interval.leading_precision,
        interval.fractional_seconds_precision,
    ) else {
        return;
    };
    let Value::Number(n, _) = &v.value else {
        return;
    };
    let text = format!("{n} {unit}");
    *interval.value = SqlExpr::value(Value::SingleQuotedString(text));
    interval.leading_field = None;
}

/// DuckDB sums booleans (`sum(status >= 500)` counts the rows where it holds); DataFusion's
/// `sum` refuses them. A `sum` of a condition (a comparison, `LIKE`, `IN`, `BETWEEN`, `IS`,
/// `NOT`, `AND`/`OR`) sums it as an integer.
fn sum_of_condition(f: &mut datafusion::sql::sqlparser::ast::Function) {
    use datafusion::sql::sqlparser::ast::{
        BinaryOperator as Op, CastKind, DataType as SqlType, Expr as SqlExpr, FunctionArg,
        FunctionArgExpr, FunctionArguments,
    };
    let is_sum = f.name.0.len() == 1
        && f.name.0[0]
            .as_ident()
            .is_some_and(|i| i.value.eq_ignore_ascii_case("sum"));
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    let ([FunctionArg::Unnamed(FunctionArgExpr::Expr(arg))], true) =
        (list.args.as_mut_slice(), is_sum)
    else {
        return;
    };
    let mut inner = &*arg;
    while let SqlExpr::Nested(e) = inner {
        inner = e;
    }
    let condition = match inner {
        SqlExpr::BinaryOp { op, .. } => matches!(
            op,
            Op::Eq | Op::NotEq | Op::Lt | Op::LtEq | Op::Gt | Op::GtEq | Op::And | Op::Or
        ),
        SqlExpr::Like { .. }
        | SqlExpr::ILike { .. }
        | SqlExpr::SimilarTo { .. }
        | SqlExpr::RLike { .. }
        | SqlExpr::InList { .. }
        | SqlExpr::InSubquery { .. }
        | SqlExpr::Between { .. }
        | SqlExpr::IsNull(_)
        | SqlExpr::IsNotNull(_)
        | SqlExpr::IsTrue(_)
        | SqlExpr::IsFalse(_)
        | SqlExpr::IsNotTrue(_)
        | SqlExpr::IsNotFalse(_)
        | SqlExpr::IsDistinctFrom(..)
        | SqlExpr::IsNotDistinctFrom(..) => true,
        SqlExpr::UnaryOp { op, .. } => {
            matches!(op, datafusion::sql::sqlparser::ast::UnaryOperator::Not)
        }
        _ => false,
    };
    if condition {
        *arg = SqlExpr::Cast {
            kind: CastKind::Cast,
            expr: Box::new(arg.clone()),
            data_type: SqlType::BigInt(None),
            array: false,
            format: None,
        };
    }
}

/// DuckDB's `x ~ pattern` (and `!~`) is `regexp_full_match`: the pattern must match the whole
/// string, where PostgreSQL's (DataFusion's) matches anywhere in it. The pattern is anchored:
/// `'^(?:' || pattern || ')$'`.
fn regex_match_is_full(expr: &mut datafusion::sql::sqlparser::ast::Expr) {
    use datafusion::sql::sqlparser::ast::{BinaryOperator as Op, Expr as SqlExpr, Value};
    let SqlExpr::BinaryOp {
        op: Op::PGRegexMatch | Op::PGRegexNotMatch,
        right,
        ..
    } = expr
    else {
        return;
    };
    let text = |s: &str| SqlExpr::value(Value::SingleQuotedString(s.to_string()));
    let pattern = std::mem::replace(right.as_mut(), text(""));
    **right = match pattern {
        // A pattern that does not compile is left as it is, to fail with its own error.
        SqlExpr::Value(v) if matches!(&v.value, Value::SingleQuotedString(p) if regex::Regex::new(p).is_ok()) =>
        {
            let Value::SingleQuotedString(p) = v.value else {
                unreachable!()
            };
            text(&format!("^(?:{p})$"))
        }
        pattern @ SqlExpr::Value(_) => pattern,
        other => SqlExpr::Nested(Box::new(SqlExpr::BinaryOp {
            left: Box::new(SqlExpr::BinaryOp {
                left: Box::new(text("^(?:")),
                op: Op::StringConcat,
                right: Box::new(SqlExpr::Nested(Box::new(other))),
            }),
            op: Op::StringConcat,
            right: Box::new(text(")$")),
        })),
    };
}

/// DuckDB's `list_sort(l [, order])` (and `array_sort`) puts NULLs last unless told; DataFusion's
/// `array_sort` puts them first. A call without a NULL order gets `'NULLS LAST'`.
fn list_sort_nulls_last(f: &mut datafusion::sql::sqlparser::ast::Function) {
    use datafusion::sql::sqlparser::ast::{
        Expr as SqlExpr, FunctionArg, FunctionArgExpr, FunctionArguments, Value,
    };
    let is_sort = f.name.0.len() == 1
        && f.name.0[0].as_ident().is_some_and(|i| {
            i.value.eq_ignore_ascii_case("list_sort") || i.value.eq_ignore_ascii_case("array_sort")
        });
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    if !is_sort || list.args.is_empty() || list.args.len() > 2 {
        return;
    }
    let text = |s: &str| {
        FunctionArg::Unnamed(FunctionArgExpr::Expr(SqlExpr::value(
            Value::SingleQuotedString(s.to_string()),
        )))
    };
    if list.args.len() == 1 {
        list.args.push(text("ASC"));
    }
    list.args.push(text("NULLS LAST"));
}
