//! What one request may ask of the engine: the length of its SQL text, the number of its
//! statements, the depth of its expressions and the size of a value a function may build.
//! Every entry point parses through [`crate::QuerySession::parse`], so every door gets the
//! same checks; each refusal names its setting.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Expr, Query, Visit, Visitor};

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::units::serde_units::{self, Size};

/// `[limits]`: what any statement may use, embedded or served — memory, spill, the shape of
/// statements and the values functions build. Every refusal names its key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Memory all running queries may reserve together with what the caches hold (the
    /// caches give way first); sorts, aggregations and joins spill to disk at the limit, and
    /// past it a query fails naming `limits.memory`. Default: half the machine's memory.
    #[serde(with = "serde_units::opt_size")]
    #[schemars(with = "Option<Size>")]
    pub memory: Option<usize>,
    /// Memory one statement may reserve; the query spills, or fails naming
    /// `limits.query_memory`. Default: all of `memory` (`strata serve`: a quarter of it).
    #[serde(with = "serde_units::opt_size")]
    #[schemars(with = "Option<Size>")]
    pub query_memory: Option<usize>,
    /// Where spill files go. Default: the system's temporary directory.
    pub spill_dir: Option<PathBuf>,
    /// Spill files all queries may keep at once; past it spilling fails cleanly.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub spill_max: u64,
    /// Longest SQL text accepted; longer text is refused before parsing.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub max_statement_bytes: usize,
    /// Statements in one request or script.
    pub max_statements: usize,
    /// Deepest nesting of expressions and subqueries: a chain `a OR b OR …` of n terms
    /// nests n deep.
    pub max_expression_depth: usize,
    /// Deepest nesting of function calls, `f(g(h(…)))`. DataFusion 55 names every call after
    /// its whole argument tree, so planning costs the cube of this depth (400 nested calls:
    /// 12 s).
    pub max_call_depth: usize,
    /// Deepest nesting of subquery expressions (`(SELECT …)`, `EXISTS`, `IN (SELECT …)`)
    /// inside one another; tables in `FROM` and CTEs do not count. DataFusion 55's plan
    /// checks double in cost with each level (25 levels: 90 s).
    pub max_subquery_depth: usize,
    /// Largest string, binary or list value one function call may build, such as
    /// `repeat('x', n)`; the call fails at once instead of allocating it.
    #[serde(with = "serde_units::size")]
    #[schemars(with = "Size")]
    pub max_value_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory: None,
            query_memory: None,
            spill_dir: None,
            spill_max: 20 << 30,
            max_statement_bytes: 8 << 20,
            max_statements: 10_000,
            max_expression_depth: 20_000,
            max_call_depth: 128,
            max_subquery_depth: 16,
            max_value_bytes: 256 << 20,
        }
    }
}

impl Limits {
    /// `memory`, or its default: half the machine's memory (4 GiB where that is unknown).
    pub fn memory_bytes(&self) -> usize {
        self.memory
            .unwrap_or_else(|| crate::config::physical_memory().map_or(4 << 30, |m| m / 2))
    }
}

/// Stack every thread that plans or runs queries gets: deep expressions recurse in places
/// DataFusion does not guard (evaluation, `Drop`, `Hash`), and `max_expression_depth` is
/// checked against it by the engine's tests (debug builds use several times the stack of
/// release builds). Callers build their Tokio runtimes with it.
pub const QUERY_THREAD_STACK: usize = 256 << 20;

impl Limits {
    /// Refuse SQL text longer than the limit, before parsing it.
    pub fn check_text(&self, sql: &str) -> Result<()> {
        if sql.len() > self.max_statement_bytes {
            return Err(Error::LimitExceeded {
                setting: "limits.max_statement_bytes",
                message: format!(
                    "the SQL text is {} bytes, more than the limit of {} bytes",
                    sql.len(),
                    self.max_statement_bytes
                ),
            });
        }
        Ok(())
    }

    /// Refuse too many statements, or one whose expressions nest too deep.
    pub fn check_statements(&self, statements: &[Statement]) -> Result<()> {
        if statements.len() > self.max_statements {
            return Err(Error::LimitExceeded {
                setting: "limits.max_statements",
                message: format!(
                    "the request holds {} statements, more than the limit of {}",
                    statements.len(),
                    self.max_statements
                ),
            });
        }
        for (i, statement) in statements.iter().enumerate() {
            let which = if statements.len() > 1 {
                format!("statement {} nests", i + 1)
            } else {
                "the statement nests".to_string()
            };
            let nesting = nesting(statement, self.max_expression_depth);
            if nesting.expressions > self.max_expression_depth {
                return Err(Error::LimitExceeded {
                    setting: "limits.max_expression_depth",
                    message: format!(
                        "{which} expressions or subqueries more than {} deep (a chain like `a OR b OR …` nests one level a term)",
                        self.max_expression_depth
                    ),
                });
            }
            if nesting.calls > self.max_call_depth {
                return Err(Error::LimitExceeded {
                    setting: "limits.max_call_depth",
                    message: format!(
                        "{which} function calls {} deep, more than the limit of {}",
                        nesting.calls, self.max_call_depth
                    ),
                });
            }
            if nesting.subqueries > self.max_subquery_depth {
                return Err(Error::LimitExceeded {
                    setting: "limits.max_subquery_depth",
                    message: format!(
                        "{which} subqueries {} deep, more than the limit of {} (a CTE or a table in FROM does not count)",
                        nesting.subqueries, self.max_subquery_depth
                    ),
                });
            }
        }
        Ok(())
    }
}

impl Limits {
    /// Check an expression given as text (a procedure's predicate) like a statement's.
    pub fn check_expression(&self, sql: &str) -> Result<()> {
        self.check_text(sql)?;
        let text = format!("SELECT 1 WHERE {sql}");
        let parsed = datafusion::sql::parser::DFParserBuilder::new(text.as_str())
            .with_recursion_limit(self.max_expression_depth)
            .build()
            .and_then(|mut p| p.parse_statements());
        match parsed {
            Ok(statements) => self.check_statements(&statements.into_iter().collect::<Vec<_>>()),
            Err(e) if e.to_string().contains("recursion limit exceeded") => {
                Err(Error::LimitExceeded {
                    setting: "limits.max_expression_depth",
                    message: format!(
                        "the expression nests more than {} levels deep",
                        self.max_expression_depth
                    ),
                })
            }
            // Not an expression: the caller's parser says what is wrong.
            Err(_) => Ok(()),
        }
    }
}

/// How deep things nest in a statement.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Nesting {
    /// Expressions and queries, each level counted.
    pub expressions: usize,
    /// Function calls inside function calls' arguments.
    pub calls: usize,
    /// Subquery expressions inside subquery expressions.
    pub subqueries: usize,
}

/// How deep expressions and subqueries nest in `statement`, counting no further than one past
/// `limit` (so the walk itself stays within the depth the stack was sized for).
pub fn expression_depth(statement: &Statement, limit: usize) -> usize {
    nesting(statement, limit).expressions
}

/// How deep expressions, function calls and subquery expressions nest in `statement`; the
/// walk stops one past `limit` expression levels.
pub fn nesting(statement: &Statement, limit: usize) -> Nesting {
    #[derive(Default)]
    struct Walk {
        now: Nesting,
        max: Nesting,
        limit: usize,
    }
    impl Walk {
        fn enter(&mut self) -> ControlFlow<()> {
            self.now.expressions += 1;
            self.max.expressions = self.max.expressions.max(self.now.expressions);
            if self.now.expressions > self.limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    fn is_subquery(e: &Expr) -> bool {
        matches!(
            e,
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. }
        )
    }
    impl Visitor for Walk {
        type Break = ();
        fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if matches!(e, Expr::Function(_)) {
                self.now.calls += 1;
                self.max.calls = self.max.calls.max(self.now.calls);
            }
            if is_subquery(e) {
                self.now.subqueries += 1;
                self.max.subqueries = self.max.subqueries.max(self.now.subqueries);
            }
            self.enter()
        }
        fn post_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
            if matches!(e, Expr::Function(_)) {
                self.now.calls -= 1;
            }
            if is_subquery(e) {
                self.now.subqueries -= 1;
            }
            self.now.expressions -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.now.expressions -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut walk = Walk {
        limit,
        ..Walk::default()
    };
    let _ = match statement {
        Statement::Statement(s) => s.visit(&mut walk),
        Statement::Explain(e) => {
            return nesting(&e.statement, limit);
        }
        Statement::CopyTo(copy) => match &copy.source {
            datafusion::sql::parser::CopyToSource::Query(q) => q.visit(&mut walk),
            datafusion::sql::parser::CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
    walk.max
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;

    fn depth(sql: &str) -> usize {
        let statement = DFParser::parse_sql(sql).unwrap().pop_front().unwrap();
        expression_depth(&statement, 1_000_000)
    }

    #[test]
    fn measures_nesting() {
        assert_eq!(depth("SELECT 1"), 2);
        assert!(depth("SELECT 1 + 1 + 1 + 1") >= 4);
        let chain = vec!["x = 1"; 500].join(" OR ");
        let d = depth(&format!("SELECT * FROM t WHERE {chain}"));
        assert!((500..520).contains(&d), "{d}");
        let list = (0..5000)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        assert!(depth(&format!("SELECT * FROM t WHERE x IN ({list})")) < 6);
        assert!(depth("SELECT (SELECT (SELECT 1))") >= 6);
        let parsed = |sql: &str| DFParser::parse_sql(sql).unwrap().pop_front().unwrap();
        let n = nesting(
            &parsed("SELECT abs(abs(1)) + abs(2), lower(upper('a'))"),
            1000,
        );
        assert_eq!(n.calls, 2);
        let n = nesting(
            &parsed("SELECT 1 WHERE EXISTS (SELECT (SELECT 1) WHERE 2 IN (SELECT 2))"),
            1000,
        );
        assert_eq!(n.subqueries, 2);
        let n = nesting(
            &parsed("SELECT * FROM (SELECT * FROM (SELECT 1) a) b"),
            1000,
        );
        assert_eq!(n.subqueries, 0);
    }

    #[test]
    fn refuses_beyond_the_limits() {
        let limits = Limits {
            max_statement_bytes: 100,
            max_statements: 2,
            max_expression_depth: 50,
            ..Limits::default()
        };
        let err = limits.check_text(&"x".repeat(101)).unwrap_err();
        assert!(
            err.to_string().contains("limits.max_statement_bytes"),
            "{err}"
        );
        let three: Vec<_> = DFParser::parse_sql("SELECT 1; SELECT 2; SELECT 3")
            .unwrap()
            .into_iter()
            .collect();
        let err = limits.check_statements(&three).unwrap_err();
        assert!(err.to_string().contains("limits.max_statements"), "{err}");
        let deep: Vec<_> = DFParser::parse_sql(&format!("SELECT {}", vec!["1"; 60].join(" + ")))
            .unwrap()
            .into_iter()
            .collect();
        let err = limits.check_statements(&deep).unwrap_err();
        assert!(
            err.to_string().contains("limits.max_expression_depth"),
            "{err}"
        );
        let check = |sql: &str| {
            let statements: Vec<_> = datafusion::sql::parser::DFParserBuilder::new(sql)
                .with_recursion_limit(10_000)
                .build()
                .and_then(|mut p| p.parse_statements())
                .unwrap()
                .into_iter()
                .collect();
            Limits::default().check_statements(&statements)
        };
        let calls = |n: usize| format!("SELECT {}1{}", "abs(".repeat(n), ")".repeat(n));
        check(&calls(128)).unwrap();
        let err = check(&calls(129)).unwrap_err();
        assert!(err.to_string().contains("limits.max_call_depth"), "{err}");
        let subqueries = |n: usize| format!("SELECT {}1{}", "(SELECT ".repeat(n), ")".repeat(n));
        check(&subqueries(16)).unwrap();
        let err = check(&subqueries(17)).unwrap_err();
        assert!(
            err.to_string().contains("limits.max_subquery_depth"),
            "{err}"
        );
    }
}
