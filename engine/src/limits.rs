//! What one request may ask of the engine: the length of its SQL text, the number of its
//! statements, the depth of its expressions and the size of a value a function may build.
//! Every entry point parses through [`crate::QuerySession::parse`], so every door gets the
//! same checks; each refusal names its setting.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{Expr, Query, Visit, Visitor};

use crate::error::{Error, Result};

/// Limits on the shape of statements and on values built by functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLimits {
    /// Longest SQL text accepted, in bytes (`limits.max_statement_bytes`). Default: 8 MiB.
    pub max_statement_bytes: usize,
    /// Statements in one request or script (`limits.max_statements`). Default: 10,000.
    pub max_statements: usize,
    /// Deepest nesting of expressions and subqueries (`limits.max_expression_depth`): a chain
    /// `a OR b OR …` of n terms nests n deep. Default: 20,000.
    pub max_expression_depth: usize,
    /// Largest string, binary or list value one function call may build, such as
    /// `repeat('x', n)` (`limits.max_value_bytes`). Default: 256 MiB.
    pub max_value_bytes: usize,
}

impl Default for StatementLimits {
    fn default() -> Self {
        StatementLimits {
            max_statement_bytes: 8 << 20,
            max_statements: 10_000,
            max_expression_depth: 20_000,
            max_value_bytes: 256 << 20,
        }
    }
}

/// Stack every thread that plans or runs queries gets: deep expressions recurse in places
/// DataFusion does not guard (evaluation, `Drop`, `Hash`), and `max_expression_depth` is
/// checked against it by the engine's tests (debug builds use several times the stack of
/// release builds). Callers build their Tokio runtimes with it.
pub const QUERY_THREAD_STACK: usize = 256 << 20;

impl StatementLimits {
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
            let depth = expression_depth(statement, self.max_expression_depth);
            if depth > self.max_expression_depth {
                let which = if statements.len() > 1 {
                    format!("statement {} nests", i + 1)
                } else {
                    "the statement nests".to_string()
                };
                return Err(Error::LimitExceeded {
                    setting: "limits.max_expression_depth",
                    message: format!(
                        "{which} expressions or subqueries more than {} deep (a chain like `a OR b OR …` nests one level a term)",
                        self.max_expression_depth
                    ),
                });
            }
        }
        Ok(())
    }
}

impl StatementLimits {
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

/// How deep expressions and subqueries nest in `statement`, counting no further than one past
/// `limit` (so the walk itself stays within the depth the stack was sized for).
pub fn expression_depth(statement: &Statement, limit: usize) -> usize {
    struct Depth {
        now: usize,
        max: usize,
        limit: usize,
    }
    impl Depth {
        fn enter(&mut self) -> ControlFlow<()> {
            self.now += 1;
            self.max = self.max.max(self.now);
            if self.now > self.limit {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        }
    }
    impl Visitor for Depth {
        type Break = ();
        fn pre_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_expr(&mut self, _: &Expr) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
        fn pre_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.enter()
        }
        fn post_visit_query(&mut self, _: &Query) -> ControlFlow<()> {
            self.now -= 1;
            ControlFlow::Continue(())
        }
    }
    let mut depth = Depth {
        now: 0,
        max: 0,
        limit,
    };
    let _ = match statement {
        Statement::Statement(s) => s.visit(&mut depth),
        Statement::Explain(e) => {
            return expression_depth(&e.statement, limit);
        }
        Statement::CopyTo(copy) => match &copy.source {
            datafusion::sql::parser::CopyToSource::Query(q) => q.visit(&mut depth),
            datafusion::sql::parser::CopyToSource::Relation(_) => ControlFlow::Continue(()),
        },
        Statement::CreateExternalTable(_) | Statement::Reset(_) => ControlFlow::Continue(()),
    };
    depth.max
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
    }

    #[test]
    fn refuses_beyond_the_limits() {
        let limits = StatementLimits {
            max_statement_bytes: 100,
            max_statements: 2,
            max_expression_depth: 50,
            ..StatementLimits::default()
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
    }
}
