//! Catalog statements: SQL that changes the catalog rather than computing a result.
//! `CREATE EXTERNAL TABLE … STORED AS PARQUET LOCATION '…'` registers files in place and
//! `DROP TABLE` ends a table; both commit a catalog snapshot, so they work the same from the CLI
//! and over Flight SQL. Placeholders written `?` (JDBC, ADBC) become DataFusion's `$1, $2, …`.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    Expr, ObjectName, ObjectNamePart, ObjectType, Statement as SqlStatement, Value,
    visit_expressions_mut,
};

use crate::error::{Error, Result};
use crate::provider::CATALOG_NAME;

/// A statement the engine carries out on the catalog itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogCommand {
    /// Register the Parquet files under `location` as table `name`.
    Register {
        name: String,
        location: String,
        if_not_exists: bool,
    },
    /// Drop tables; their files stay where they are.
    Drop { names: Vec<String>, if_exists: bool },
}

/// `schema.table` from an object name (`strata.` in front is accepted).
pub fn table_name(name: &ObjectName) -> Result<String> {
    let mut parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Ok(ident.value.clone()),
            other => Err(Error::Invalid(format!(
                "unsupported table name part '{other}'"
            ))),
        })
        .collect::<Result<_>>()?;
    if parts.len() == 3 && parts[0] == CATALOG_NAME {
        parts.remove(0);
    }
    if parts.is_empty() || parts.len() > 2 {
        return Err(Error::Invalid(format!(
            "invalid table name '{name}': use NAME or SCHEMA.NAME"
        )));
    }
    Ok(parts.join("."))
}

/// The catalog command `statement` stands for, if it is one.
pub fn catalog_command(statement: &Statement) -> Result<Option<CatalogCommand>> {
    match statement {
        Statement::CreateExternalTable(create) => {
            if !create.file_type.eq_ignore_ascii_case("parquet") {
                return Err(Error::Invalid(format!(
                    "external tables must be STORED AS PARQUET (got {})",
                    create.file_type
                )));
            }
            if create.or_replace || create.temporary || create.unbounded {
                return Err(Error::Invalid(
                    "CREATE EXTERNAL TABLE registers files in the catalog; OR REPLACE, TEMPORARY and UNBOUNDED are not supported".into(),
                ));
            }
            if !create.columns.is_empty() {
                return Err(Error::Invalid(
                    "leave out the column list: columns are read from the Parquet footers, and `key=value` directories become partition columns".into(),
                ));
            }
            let [location] = create.locations.as_slice() else {
                return Err(Error::Invalid(
                    "CREATE EXTERNAL TABLE needs exactly one LOCATION".into(),
                ));
            };
            Ok(Some(CatalogCommand::Register {
                name: table_name(&create.name)?,
                location: location.clone(),
                if_not_exists: create.if_not_exists,
            }))
        }
        Statement::Statement(s) => match s.as_ref() {
            SqlStatement::Drop {
                object_type: ObjectType::Table,
                if_exists,
                names,
                ..
            } => Ok(Some(CatalogCommand::Drop {
                names: names.iter().map(table_name).collect::<Result<_>>()?,
                if_exists: *if_exists,
            })),
            _ => Ok(None),
        },
        _ => Ok(None),
    }
}

/// Number `?` placeholders `$1, $2, …` in the order they appear. Returns how many there were.
pub fn number_placeholders(statement: &mut Statement) -> usize {
    let mut n = 0;
    if let Statement::Statement(s) = statement {
        let _ = visit_expressions_mut(s.as_mut(), |expr| {
            if let Expr::Value(v) = expr
                && let Value::Placeholder(p) = &mut v.value
                && p == "?"
            {
                n += 1;
                *p = format!("${n}");
            }
            ControlFlow::<()>::Continue(())
        });
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;

    fn parse(sql: &str) -> Statement {
        DFParser::parse_sql(sql).unwrap().pop_front().unwrap()
    }

    #[test]
    fn recognises_catalog_statements() {
        assert_eq!(
            catalog_command(&parse(
                "CREATE EXTERNAL TABLE IF NOT EXISTS logs.req STORED AS PARQUET LOCATION 's3://b/req/'"
            ))
            .unwrap(),
            Some(CatalogCommand::Register {
                name: "logs.req".into(),
                location: "s3://b/req/".into(),
                if_not_exists: true
            })
        );
        assert_eq!(
            catalog_command(&parse("DROP TABLE IF EXISTS strata.main.a, b")).unwrap(),
            Some(CatalogCommand::Drop {
                names: vec!["main.a".into(), "b".into()],
                if_exists: true
            })
        );
        assert_eq!(catalog_command(&parse("SELECT 1")).unwrap(), None);
        let err = catalog_command(&parse(
            "CREATE EXTERNAL TABLE t STORED AS CSV LOCATION '/tmp/x.csv'",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("STORED AS PARQUET"), "{err}");
    }

    #[test]
    fn numbers_question_mark_placeholders() {
        let mut s = parse("SELECT a FROM t WHERE b = ? AND c > ? LIMIT 3");
        assert_eq!(number_placeholders(&mut s), 2);
        assert_eq!(
            s.to_string(),
            "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT 3"
        );
    }
}
