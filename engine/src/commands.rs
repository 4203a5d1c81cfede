//! Catalog statements: SQL that changes the catalog rather than computing a result.
//! `CREATE EXTERNAL TABLE … STORED AS PARQUET LOCATION '…'` registers files in place and
//! `DROP TABLE` ends a table; both commit a catalog snapshot, so they work the same from the CLI
//! and over Flight SQL. Placeholders written `?` (JDBC, ADBC) become DataFusion's `$1, $2, …`.

use std::ops::ControlFlow;

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::{
    AlterColumnOperation, AlterTableOperation, Expr, ObjectName, ObjectNamePart, ObjectType,
    Statement as SqlStatement, Value, visit_expressions_mut,
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
    /// A maintenance procedure (`CALL compact('t')`, …).
    Maintain(Maintenance),
    /// Change a table's columns (`ALTER TABLE`), in one snapshot.
    Alter {
        name: String,
        if_exists: bool,
        changes: Vec<AlterChange>,
    },
}

/// A maintenance procedure, run with `CALL`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maintenance {
    /// `CALL compact('table' [, 'predicate'] [, dry_run => true])`
    Compact {
        table: String,
        filter: Option<String>,
        dry_run: bool,
    },
    /// `CALL retention(['table'] [, dry_run => true])`: one table, or every table with a
    /// retention property.
    Retention {
        table: Option<String>,
        dry_run: bool,
    },
    /// `CALL expire_snapshots('7d' [, dry_run => true])`
    ExpireSnapshots { older_than: String, dry_run: bool },
    /// `CALL gc(['1h'] [, dry_run => true])`
    Gc { grace: String, dry_run: bool },
    /// `CALL register('table', 'location')`: register the Parquet files under a location in
    /// place and say what was found (`CREATE EXTERNAL TABLE` does the same silently).
    Register { table: String, location: String },
    /// `CALL refresh('table')`: pick up files added under a registered table's location and
    /// forget files that disappeared.
    Refresh { table: String },
}

impl Maintenance {
    /// Whether it can destroy history or files (snapshot expiry, gc), rather than only
    /// rewrite or drop table data (compaction, retention).
    pub fn destroys_history(&self) -> bool {
        matches!(
            self,
            Maintenance::ExpireSnapshots { .. } | Maintenance::Gc { .. }
        )
    }
}

const PROCEDURES: &str = "register('table', 'location'), refresh('table'), compact('table' [, 'predicate']), retention(['table']), expire_snapshots('7d'), gc(['1h']); compact, retention, expire_snapshots and gc take an optional dry_run => true";

/// The maintenance procedure a `CALL` names.
fn procedure(call: &datafusion::sql::sqlparser::ast::Function) -> Result<Maintenance> {
    use datafusion::sql::sqlparser::ast::{FunctionArg, FunctionArgExpr, FunctionArguments};
    let name = call
        .name
        .0
        .last()
        .and_then(|p| p.as_ident())
        .map(|i| i.value.to_ascii_lowercase())
        .unwrap_or_default();
    let usage = |why: String| Error::Usage(format!("{why}; the procedures are {PROCEDURES}"));
    let args: Vec<&FunctionArg> = match &call.args {
        FunctionArguments::List(list) => list.args.iter().collect(),
        FunctionArguments::None => Vec::new(),
        FunctionArguments::Subquery(_) => return Err(usage(format!("CALL {name} takes values"))),
    };
    let mut texts = Vec::new();
    let mut dry_run = false;
    for arg in args {
        match arg {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(Expr::Value(v))) => match &v.value {
                Value::SingleQuotedString(s) => texts.push(s.clone()),
                other => return Err(usage(format!("CALL {name}: '{other}' is not a string"))),
            },
            FunctionArg::Named {
                name: arg_name,
                arg: FunctionArgExpr::Expr(Expr::Value(v)),
                ..
            } if arg_name.value.eq_ignore_ascii_case("dry_run") => match v.value {
                Value::Boolean(b) => dry_run = b,
                _ => return Err(usage(format!("CALL {name}: dry_run takes true or false"))),
            },
            other => return Err(usage(format!("CALL {name}: unexpected argument {other}"))),
        }
    }
    let at_most = |n: usize| {
        if texts.len() > n {
            Err(usage(format!(
                "CALL {name} takes at most {n} string arguments"
            )))
        } else {
            Ok(())
        }
    };
    Ok(match name.as_str() {
        "compact" => {
            at_most(2)?;
            let table = texts
                .first()
                .cloned()
                .ok_or_else(|| usage("CALL compact needs a table name".into()))?;
            Maintenance::Compact {
                table,
                filter: texts.get(1).cloned(),
                dry_run,
            }
        }
        "retention" => {
            at_most(1)?;
            Maintenance::Retention {
                table: texts.first().cloned(),
                dry_run,
            }
        }
        "expire_snapshots" => {
            at_most(1)?;
            Maintenance::ExpireSnapshots {
                older_than: texts
                    .first()
                    .cloned()
                    .ok_or_else(|| usage("CALL expire_snapshots needs an age, e.g. '7d'".into()))?,
                dry_run,
            }
        }
        "register" | "refresh" if dry_run => {
            return Err(usage(format!("CALL {name} does not take dry_run")));
        }
        "register" => {
            at_most(2)?;
            match texts.as_slice() {
                [table, location] => Maintenance::Register {
                    table: table.clone(),
                    location: location.clone(),
                },
                _ => {
                    return Err(usage(
                        "CALL register needs a table name and a location".into(),
                    ));
                }
            }
        }
        "refresh" => {
            at_most(1)?;
            Maintenance::Refresh {
                table: texts
                    .first()
                    .cloned()
                    .ok_or_else(|| usage("CALL refresh needs a table name".into()))?,
            }
        }
        "gc" => {
            at_most(1)?;
            Maintenance::Gc {
                grace: texts.first().cloned().unwrap_or_else(|| "1h".into()),
                dry_run,
            }
        }
        other => return Err(usage(format!("unknown procedure '{other}'"))),
    })
}

/// One change of an `ALTER TABLE`, with types still as SQL text (the engine resolves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterChange {
    AddColumn {
        name: String,
        sql_type: String,
        if_not_exists: bool,
    },
    DropColumn {
        name: String,
        if_exists: bool,
    },
    RenameColumn {
        from: String,
        to: String,
    },
    SetType {
        name: String,
        sql_type: String,
    },
}

/// The changes of an `ALTER TABLE`, refusing the ones Strata does not carry out.
fn alter_changes(operations: &[AlterTableOperation]) -> Result<Vec<AlterChange>> {
    let unsupported = |what: &dyn std::fmt::Display| {
        Error::Unsupported(format!(
            "ALTER TABLE {what} is not supported: Strata supports ADD COLUMN, DROP COLUMN, RENAME COLUMN and ALTER COLUMN … TYPE (widening)"
        ))
    };
    let mut changes = Vec::new();
    for op in operations {
        match op {
            AlterTableOperation::AddColumn {
                if_not_exists,
                column_def,
                column_position,
                ..
            } => {
                if column_position.is_some() || !column_def.options.is_empty() {
                    return Err(Error::Unsupported(format!(
                        "ADD COLUMN {}: column options and positions are not supported; new columns are nullable and go last",
                        column_def.name
                    )));
                }
                changes.push(AlterChange::AddColumn {
                    name: column_def.name.value.clone(),
                    sql_type: column_def.data_type.to_string(),
                    if_not_exists: *if_not_exists,
                });
            }
            AlterTableOperation::DropColumn {
                column_names,
                if_exists,
                ..
            } => changes.extend(column_names.iter().map(|c| AlterChange::DropColumn {
                name: c.value.clone(),
                if_exists: *if_exists,
            })),
            AlterTableOperation::RenameColumn {
                old_column_name,
                new_column_name,
            } => changes.push(AlterChange::RenameColumn {
                from: old_column_name.value.clone(),
                to: new_column_name.value.clone(),
            }),
            AlterTableOperation::AlterColumn {
                column_name,
                op:
                    AlterColumnOperation::SetDataType {
                        data_type, using, ..
                    },
            } if using.is_none() => changes.push(AlterChange::SetType {
                name: column_name.value.clone(),
                sql_type: data_type.to_string(),
            }),
            other => return Err(unsupported(other)),
        }
    }
    Ok(changes)
}

/// `schema.table` from an object name (`strata.` in front is accepted).
pub fn table_name(name: &ObjectName) -> Result<String> {
    let mut parts: Vec<String> = name
        .0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => Ok(ident.value.clone()),
            other => Err(Error::Usage(format!(
                "unsupported table name part '{other}'"
            ))),
        })
        .collect::<Result<_>>()?;
    if parts.len() == 3 && parts[0] == CATALOG_NAME {
        parts.remove(0);
    }
    if parts.is_empty() || parts.len() > 2 {
        return Err(Error::Usage(format!(
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
                return Err(Error::Unsupported(format!(
                    "external tables must be STORED AS PARQUET (got {})",
                    create.file_type
                )));
            }
            if create.or_replace || create.temporary || create.unbounded {
                return Err(Error::Unsupported(
                    "CREATE EXTERNAL TABLE registers files in the catalog; OR REPLACE, TEMPORARY and UNBOUNDED are not supported".into(),
                ));
            }
            if !create.columns.is_empty() {
                return Err(Error::Usage(
                    "leave out the column list: columns are read from the Parquet footers, and `key=value` directories become partition columns".into(),
                ));
            }
            let [location] = create.locations.as_slice() else {
                return Err(Error::Usage(
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
            SqlStatement::Call(call) => Ok(Some(CatalogCommand::Maintain(procedure(call)?))),
            SqlStatement::AlterTable(alter) => Ok(Some(CatalogCommand::Alter {
                name: table_name(&alter.name)?,
                if_exists: alter.if_exists,
                changes: alter_changes(&alter.operations)?,
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
        assert_eq!(
            catalog_command(&parse(
                "ALTER TABLE logs ADD COLUMN region VARCHAR, RENAME COLUMN a TO b, DROP COLUMN c, ALTER COLUMN n TYPE BIGINT"
            ))
            .unwrap(),
            Some(CatalogCommand::Alter {
                name: "logs".into(),
                if_exists: false,
                changes: vec![
                    AlterChange::AddColumn {
                        name: "region".into(),
                        sql_type: "VARCHAR".into(),
                        if_not_exists: false
                    },
                    AlterChange::RenameColumn {
                        from: "a".into(),
                        to: "b".into()
                    },
                    AlterChange::DropColumn {
                        name: "c".into(),
                        if_exists: false
                    },
                    AlterChange::SetType {
                        name: "n".into(),
                        sql_type: "BIGINT".into()
                    },
                ]
            })
        );
        assert_eq!(
            catalog_command(&parse("CALL compact('logs', 'day = 3', dry_run => true)")).unwrap(),
            Some(CatalogCommand::Maintain(Maintenance::Compact {
                table: "logs".into(),
                filter: Some("day = 3".into()),
                dry_run: true
            }))
        );
        assert_eq!(
            catalog_command(&parse("CALL gc()")).unwrap(),
            Some(CatalogCommand::Maintain(Maintenance::Gc {
                grace: "1h".into(),
                dry_run: false
            }))
        );
        let err = catalog_command(&parse("CALL vacuum('logs')")).unwrap_err();
        assert!(
            err.to_string().contains("unknown procedure 'vacuum'"),
            "{err}"
        );
        let err = catalog_command(&parse("ALTER TABLE logs RENAME TO other")).unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
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
