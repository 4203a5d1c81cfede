//! Long `AND` / `OR` chains. The parser builds `a OR b OR c …` as a left-deep tree as deep
//! as the chain is long, and several DataFusion passes (naming, type coercion, pruning,
//! evaluation) cost the depth at every level: a dashboard's 10,000-term `OR` would plan for
//! minutes. `AND` and `OR` are associative in SQL's three-valued logic, so Strata rebalances
//! such chains into trees of logarithmic depth at each level that rebuilds them: the parsed
//! statement, the optimized logical plan (filter push-down joins predicates back into a chain)
//! and the physical plan (a Parquet scan's pushed-down predicate).

use std::ops::ControlFlow;
use std::sync::Arc;

use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::datasource::physical_plan::{
    FileScanConfig, FileScanConfigBuilder, FileSource, ParquetSource,
};
use datafusion::datasource::source::DataSourceExec;
use datafusion::logical_expr::{
    BinaryExpr as LogicalBinary, Expr as LogicalExpr, LogicalPlan, Operator,
};
use datafusion::optimizer::{ApplyOrder, OptimizerConfig, OptimizerRule};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::BinaryExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::filter::{FilterExec, FilterExecBuilder};
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{BinaryOperator, Expr, Value, VisitMut, VisitorMut};

/// Chains of `AND` or `OR` with at least this many terms on one side are rebalanced.
const BALANCE_FROM: usize = 32;

/// The AST visitor of [`balance_chains`] and [`balance_expr`].
struct Balance;
impl VisitorMut for Balance {
    type Break = ();
    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        let Expr::BinaryOp { left, op, right } = &*expr else {
            return ControlFlow::Continue(());
        };
        if !matches!(op, BinaryOperator::And | BinaryOperator::Or) {
            return ControlFlow::Continue(());
        }
        let side = |mut e: &Expr| {
            let mut n = 0;
            while let Expr::BinaryOp { left, op: o, .. } = e
                && o == op
            {
                n += 1;
                e = left;
            }
            n
        };
        if side(left) + 1 < BALANCE_FROM && side(right) + 1 < BALANCE_FROM {
            return ControlFlow::Continue(());
        }
        let op = op.clone();
        let whole = std::mem::replace(expr, Expr::Value(Value::Null.into()));
        *expr = balanced(terms(whole, &op), &op);
        ControlFlow::Continue(())
    }
}

/// Rebalance long `a AND b AND c …` / `a OR b OR …` chains into trees of logarithmic depth.
/// The parser builds such a chain as a left-deep tree as deep as it is long, and several of
/// DataFusion's passes (naming, type coercion, evaluation) cost the depth at every level, so a
/// dashboard's 10,000-term `OR` would plan for minutes. `AND` and `OR` are associative in SQL's
/// three-valued logic, so the answer is the same.
pub fn balance_chains(statement: &mut Statement) {
    let _ = match statement {
        Statement::Statement(s) => s.visit(&mut Balance),
        Statement::Explain(e) => {
            balance_chains(&mut e.statement);
            ControlFlow::Continue(())
        }
        Statement::CopyTo(copy) => match &mut copy.source {
            datafusion::sql::parser::CopyToSource::Query(q) => q.visit(&mut Balance),
            datafusion::sql::parser::CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
}

/// [`balance_chains`] for one SQL expression (a procedure's predicate).
pub fn balance_expr(expr: &mut Expr) {
    let _ = expr.visit(&mut Balance);
}

/// `filters` joined by `AND` as a balanced tree (DataFusion's `conjunction` builds a chain as
/// deep as it is long).
pub(crate) fn balanced_conjunction(
    filters: impl IntoIterator<Item = LogicalExpr>,
) -> Option<LogicalExpr> {
    let mut terms: Vec<LogicalExpr> = filters.into_iter().collect();
    if terms.is_empty() {
        return None;
    }
    Some(balanced_logical(&mut terms, Operator::And))
}

fn balanced_logical(terms: &mut Vec<LogicalExpr>, op: Operator) -> LogicalExpr {
    if terms.len() == 1 {
        return terms.remove(0);
    }
    let mut right = terms.split_off(terms.len() / 2);
    LogicalExpr::BinaryExpr(LogicalBinary::new(
        Box::new(balanced_logical(terms, op)),
        op,
        Box::new(balanced_logical(&mut right, op)),
    ))
}

/// The optimizer's last rule: long `AND`/`OR` chains that earlier rules rebuilt (filter
/// push-down joins predicates back into a left-deep chain) are balanced again, so the
/// physical plan evaluates them at logarithmic depth.
#[derive(Debug, Default)]
pub(crate) struct BalanceChains;

impl OptimizerRule for BalanceChains {
    fn name(&self) -> &str {
        "strata_balance_chains"
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
    ) -> datafusion::error::Result<Transformed<LogicalPlan>> {
        plan.map_expressions(|expr| {
            expr.transform_down(|e| {
                let LogicalExpr::BinaryExpr(b) = &e else {
                    return Ok(Transformed::no(e));
                };
                let op = b.op;
                if !matches!(op, Operator::And | Operator::Or) {
                    return Ok(Transformed::no(e));
                }
                let side = |mut e: &LogicalExpr| {
                    let mut n = 0;
                    while let LogicalExpr::BinaryExpr(x) = e
                        && x.op == op
                    {
                        n += 1;
                        e = &x.left;
                    }
                    n
                };
                if side(&b.left) + 1 < BALANCE_FROM && side(&b.right) + 1 < BALANCE_FROM {
                    return Ok(Transformed::no(e));
                }
                let mut terms = Vec::new();
                let mut stack = vec![e];
                while let Some(x) = stack.pop() {
                    match x {
                        LogicalExpr::BinaryExpr(b) if b.op == op => {
                            stack.push(*b.right);
                            stack.push(*b.left);
                        }
                        other => terms.push(other),
                    }
                }
                Ok(Transformed::yes(balanced_logical(&mut terms, op)))
            })
        })
    }
}

/// The operands of a chain of `op`, left to right (without recursion: chains are deep).
fn terms(expr: Expr, op: &BinaryOperator) -> Vec<Expr> {
    let mut out = Vec::new();
    let mut stack = vec![expr];
    while let Some(e) = stack.pop() {
        match e {
            Expr::BinaryOp { left, op: o, right } if &o == op => {
                stack.push(*right);
                stack.push(*left);
            }
            other => out.push(other),
        }
    }
    out
}

/// `terms` joined by `op` as a balanced tree.
fn balanced(mut terms: Vec<Expr>, op: &BinaryOperator) -> Expr {
    if terms.len() == 1 {
        return terms.remove(0);
    }
    let right = terms.split_off(terms.len() / 2);
    Expr::BinaryOp {
        left: Box::new(balanced(terms, op)),
        op: op.clone(),
        right: Box::new(balanced(right, op)),
    }
}

/// The physical optimizer's last rule: the predicates of filters and Parquet scans (which
/// filter push-down joins into a chain again) are balanced.
#[derive(Debug, Default)]
pub(crate) struct BalancePredicates;

impl PhysicalOptimizerRule for BalancePredicates {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> datafusion::error::Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            if let Some(filter) = node.downcast_ref::<FilterExec>()
                && let Some(predicate) = balanced_physical(filter.predicate())
            {
                let rebuilt = FilterExecBuilder::from(filter)
                    .with_predicate(predicate)
                    .build()?;
                return Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>));
            }
            if let Some(source) = node.downcast_ref::<DataSourceExec>()
                && let Some(config) = source.data_source().downcast_ref::<FileScanConfig>()
                && let Some(parquet) = config.file_source().downcast_ref::<ParquetSource>()
                && let Some(predicate) = parquet.filter().as_ref().and_then(balanced_physical)
            {
                let parquet = Arc::new(parquet.with_predicate(predicate));
                let config = FileScanConfigBuilder::from(config.clone())
                    .with_source(parquet)
                    .build();
                let rebuilt = source.clone().with_data_source(Arc::new(config));
                return Ok(Transformed::yes(Arc::new(rebuilt) as Arc<dyn ExecutionPlan>));
            }
            Ok(Transformed::no(node))
        })
        .map(|t| t.data)
    }

    fn name(&self) -> &str {
        "strata_balance_predicates"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// `expr` with its long `AND`/`OR` chains balanced, or `None` when it has none.
fn balanced_physical(expr: &Arc<dyn PhysicalExpr>) -> Option<Arc<dyn PhysicalExpr>> {
    let mut changed = false;
    let out = Arc::clone(expr)
        .transform_down(|e| {
            let Some(b) = e.downcast_ref::<BinaryExpr>() else {
                return Ok(Transformed::no(e));
            };
            let op = *b.op();
            if !matches!(op, Operator::And | Operator::Or) {
                return Ok(Transformed::no(e));
            }
            let side = |mut e: &Arc<dyn PhysicalExpr>| {
                let mut n = 0;
                while let Some(x) = e.downcast_ref::<BinaryExpr>()
                    && *x.op() == op
                {
                    n += 1;
                    e = x.left();
                }
                n
            };
            if side(b.left()) + 1 < BALANCE_FROM && side(b.right()) + 1 < BALANCE_FROM {
                return Ok(Transformed::no(e));
            }
            let mut terms = Vec::new();
            let mut stack = vec![Arc::clone(&e)];
            while let Some(x) = stack.pop() {
                match x.downcast_ref::<BinaryExpr>() {
                    Some(b) if *b.op() == op => {
                        stack.push(Arc::clone(b.right()));
                        stack.push(Arc::clone(b.left()));
                    }
                    _ => terms.push(x),
                }
            }
            changed = true;
            Ok(Transformed::yes(balanced_of(&mut terms, op)))
        })
        .ok()?
        .data;
    changed.then_some(out)
}

fn balanced_of(terms: &mut Vec<Arc<dyn PhysicalExpr>>, op: Operator) -> Arc<dyn PhysicalExpr> {
    if terms.len() == 1 {
        return terms.remove(0);
    }
    let mut right = terms.split_off(terms.len() / 2);
    Arc::new(BinaryExpr::new(
        balanced_of(terms, op),
        op,
        balanced_of(&mut right, op),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::expression_depth;
    use datafusion::sql::parser::DFParser;

    #[test]
    fn balances_long_chains() {
        let chain = (0..1000)
            .map(|i| format!("x = {i}"))
            .collect::<Vec<_>>()
            .join(" OR ");
        let sql = format!("SELECT * FROM t WHERE y > 0 AND ({chain})");
        let mut statement = DFParser::parse_sql(&sql).unwrap().pop_front().unwrap();
        assert!(expression_depth(&statement, 1_000_000) > 1000);
        balance_chains(&mut statement);
        assert!(expression_depth(&statement, 1_000_000) < 20);
        // Same terms, same order.
        let text = statement.to_string();
        let terms: Vec<&str> = text.split(" OR ").collect();
        assert_eq!(terms.len(), 1000);
        assert!(
            terms[0].ends_with("x = 0") && terms[999].starts_with("x = 999"),
            "{text}"
        );
        // Short chains are left alone.
        let mut short = DFParser::parse_sql("SELECT a AND b AND c")
            .unwrap()
            .pop_front()
            .unwrap();
        let before = short.to_string();
        balance_chains(&mut short);
        assert_eq!(short.to_string(), before);
    }
}
