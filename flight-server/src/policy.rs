//! What each role may run. Every entry point (statement, prepared statement, update, ticket)
//! passes its parsed statement through [`authorize`] before planning it.

use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast::Statement as Sql;
use strata_engine::{CatalogCommand, Maintenance, catalog_command};

use crate::auth::Principal;
use crate::config::Role;
use crate::error::{Error, Result};

/// What a statement does, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Access {
    /// Reads tables or metadata.
    Read,
    /// Changes catalog tables.
    Write,
    /// Anything else DataFusion would run (functions, views, prepared statements in SQL).
    Admin,
}

/// Allow `statement` for `principal`, or say why not.
pub fn authorize(principal: &Principal, statement: &Statement) -> Result<()> {
    let access = classify(statement)?;
    let needed = match access {
        Access::Read => Role::Reader,
        Access::Write => Role::Writer,
        Access::Admin => Role::Admin,
    };
    require(principal, needed)
}

/// Bulk ingest (`CommandStatementIngest`) writes a catalog table: writers and admins.
pub fn authorize_ingest(principal: &Principal) -> Result<()> {
    require(principal, Role::Writer)
}

fn require(principal: &Principal, needed: Role) -> Result<()> {
    if principal.role >= needed {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "user '{}' has role {} and may not run this statement (it needs role {})",
            principal.user,
            principal.role.as_str(),
            needed.as_str()
        )))
    }
}

fn classify(statement: &Statement) -> Result<Access> {
    if let Some(command) = catalog_command(statement)? {
        if let CatalogCommand::Register { location, .. }
        | CatalogCommand::Maintain(Maintenance::Register { location, .. }) = &command
        {
            check_remote_location(location)?;
        }
        // Snapshot expiry and gc destroy history and files: admins only. Compaction and
        // retention rewrite or drop table data, like other writes.
        if let CatalogCommand::Maintain(call) = &command
            && call.destroys_history()
        {
            return Ok(Access::Admin);
        }
        return Ok(Access::Write);
    }
    match statement {
        Statement::Statement(s) => classify_sql(s),
        // EXPLAIN needs what its statement needs (EXPLAIN ANALYZE runs it).
        Statement::Explain(explain) => classify(&explain.statement),
        Statement::CopyTo(_) => Err(Error::PermissionDenied(
            "COPY writes files on the server and is not allowed over Flight SQL; fetch the result and write it on the client".into(),
        )),
        Statement::CreateExternalTable(_) => Ok(Access::Write),
        Statement::Reset(_) => Err(set_denied()),
    }
}

fn classify_sql(s: &Sql) -> Result<Access> {
    Ok(match s {
        Sql::Query(_)
        | Sql::ExplainTable { .. }
        | Sql::ShowTables { .. }
        | Sql::ShowColumns { .. }
        | Sql::ShowVariable { .. }
        | Sql::ShowVariables { .. }
        | Sql::ShowFunctions { .. }
        | Sql::ShowCreate { .. }
        | Sql::ShowSchemas { .. }
        | Sql::ShowDatabases { .. }
        | Sql::ShowViews { .. }
        | Sql::ShowCatalogs { .. }
        | Sql::ShowStatus { .. } => Access::Read,
        // EXPLAIN needs what its statement needs (EXPLAIN ANALYZE runs it).
        Sql::Explain { statement, .. } => classify_sql(statement)?,
        Sql::Set(_) => return Err(set_denied()),
        Sql::Copy { .. } | Sql::CopyIntoSnowflake { .. } | Sql::Unload { .. } => {
            return Err(Error::PermissionDenied(
                "COPY reads or writes files on the server and is not allowed over Flight SQL"
                    .into(),
            ));
        }
        Sql::Insert(_)
        | Sql::Update(_)
        | Sql::Delete(_)
        | Sql::Merge(_)
        | Sql::Truncate(_)
        | Sql::CreateTable(_)
        | Sql::AlterTable(_)
        | Sql::Drop { .. }
        | Sql::CreateSchema { .. } => Access::Write,
        _ => Access::Admin,
    })
}

fn set_denied() -> Error {
    Error::PermissionDenied(
        "SET and RESET are not allowed over Flight SQL: the server's settings and limits come from its configuration".into(),
    )
}

/// Tables registered over Flight SQL must live on a configured object store: a client may not
/// make the server read its own disk.
fn check_remote_location(location: &str) -> Result<()> {
    let remote = [
        "s3://", "s3a://", "gs://", "gcs://", "az://", "azure://", "abfs://", "abfss://",
    ]
    .iter()
    .any(|scheme| location.to_ascii_lowercase().starts_with(scheme));
    if remote {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "location '{location}' is on the server's local disk; over Flight SQL only object-store locations (s3://, gs://, az://) may be registered"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::parser::DFParser;

    fn check(role: Role, sql: &str) -> Result<()> {
        let statement = DFParser::parse_sql(sql).unwrap().pop_front().unwrap();
        authorize(
            &Principal {
                user: "u".into(),
                role,
                session: String::new(),
            },
            &statement,
        )
    }

    #[test]
    fn roles() {
        for sql in [
            "SELECT 1",
            "EXPLAIN SELECT 1",
            "SHOW TABLES",
            "SHOW COLUMNS FROM t",
            "DESCRIBE t",
        ] {
            assert!(check(Role::Reader, sql).is_ok(), "{sql}");
        }
        for sql in [
            "DROP TABLE t",
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION 's3://b/t/'",
            "INSERT INTO t VALUES (1)",
            "EXPLAIN ANALYZE INSERT INTO t VALUES (1)",
            "EXPLAIN DROP TABLE t",
        ] {
            assert!(check(Role::Reader, sql).is_err(), "{sql}");
            assert!(check(Role::Writer, sql).is_ok(), "{sql}");
        }
        assert!(check(Role::Writer, "CREATE VIEW v AS SELECT 1").is_err());
        assert!(check(Role::Admin, "CREATE VIEW v AS SELECT 1").is_ok());
        for sql in [
            "SET datafusion.execution.target_partitions = 64",
            "RESET datafusion.execution.batch_size",
            "COPY (SELECT 1) TO '/tmp/x.parquet'",
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'",
            "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION 'file:///etc/'",
        ] {
            let err = check(Role::Admin, sql).unwrap_err();
            assert!(matches!(err, Error::PermissionDenied(_)), "{sql}: {err}");
        }
    }
}
