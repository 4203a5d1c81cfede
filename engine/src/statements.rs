//! SQL text split into statements without planning it, for clients that send each statement
//! to a server on its own (`strata query --server`, `strata shell --server`): the server parses
//! with Strata's own front end, so the client must not reject what only Strata accepts
//! (`PARTITIONED BY (day(ts))`).

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};

use crate::error::{Error, Result};

/// The statements of `sql`, each without its `;`, trimmed; empty statements are dropped.
/// Strings, quoted names and comments may hold `;`.
pub fn split_statements(sql: &str) -> Result<Vec<String>> {
    let tokens = Tokenizer::new(&GenericDialect {}, sql)
        .tokenize()
        .map_err(|e| Error::Usage(format!("cannot read the SQL text: {e}")))?;
    let mut statements = Vec::new();
    let mut current = String::new();
    for token in tokens {
        if token == Token::SemiColon {
            push(&mut statements, &mut current);
        } else {
            current.push_str(&token.to_string());
        }
    }
    push(&mut statements, &mut current);
    Ok(statements)
}

fn push(statements: &mut Vec<String>, current: &mut String) {
    let text = std::mem::take(current);
    let trimmed = text.trim();
    // A statement that is only comments is no statement.
    let meaningful = Tokenizer::new(&GenericDialect {}, trimmed)
        .tokenize()
        .map(|t| t.iter().any(|t| !matches!(t, Token::Whitespace(_))))
        .unwrap_or(true);
    if meaningful {
        statements.push(trimmed.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        let sql = "SELECT 'a;b' AS \"x;y\"; -- c;\nCREATE TABLE t (ts TIMESTAMP) PARTITIONED BY (day(ts));\n\n;  /* only; a comment */ ;SELECT 2";
        assert_eq!(
            split_statements(sql).unwrap(),
            vec![
                "SELECT 'a;b' AS \"x;y\"".to_string(),
                "-- c;\nCREATE TABLE t (ts TIMESTAMP) PARTITIONED BY (day(ts))".to_string(),
                "SELECT 2".to_string(),
            ]
        );
        assert!(split_statements("  ; -- nothing\n").unwrap().is_empty());
        assert!(split_statements("SELECT 'open").is_err());
    }
}
