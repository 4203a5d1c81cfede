//! Schema evolution: `ALTER TABLE … ADD COLUMN`, `DROP COLUMN`, `RENAME COLUMN` and widening
//! type changes, each one snapshot.
//!
//! Columns keep their DuckLake column id for life: a rename or a type change ends the column's
//! row and starts a new one with the same id, a drop ends it, an added column gets a new id.
//! Data files carry the ids as Parquet field ids, so files written before a change are read
//! by id (a renamed column keeps its data, a dropped one is ignored, an added one reads as
//! NULL). Changes are checked inside the write transaction against the table as it is then,
//! so two writers altering the same table at once either both apply (say, two different
//! added columns) or the second fails with a message naming the real conflict.

use crate::commit::Commit;
use crate::db::params;
use crate::error::{Error, Result};
use crate::lake::Catalog;
use crate::model::{SnapshotId, TableMeta};
use crate::types::arrow_type;

/// One change of an `ALTER TABLE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Alteration {
    /// Add a nullable column of DuckLake type `type_name`; old files read it as NULL.
    AddColumn {
        name: String,
        type_name: String,
        if_not_exists: bool,
    },
    /// Drop a column; old files keep its data, which is no longer read.
    DropColumn { name: String, if_exists: bool },
    /// Rename a column; old files are read by column id.
    RenameColumn { from: String, to: String },
    /// Change a column's type to a wider one of the same kind.
    SetType { name: String, type_name: String },
}

/// Integer types in order of width, signed and unsigned.
const SIGNED: [&str; 4] = ["int8", "int16", "int32", "int64"];
const UNSIGNED: [&str; 4] = ["uint8", "uint16", "uint32", "uint64"];

/// Whether values of type `from` always fit `to` (the type changes DuckLake allows).
fn widens(from: &str, to: &str) -> bool {
    let rank = |list: &[&str], t: &str| list.iter().position(|x| *x == t);
    match (from, to) {
        (f, t) if f == t => true,
        ("float32", "float64") => true,
        (f, t) => match (rank(&SIGNED, f), rank(&SIGNED, t), rank(&UNSIGNED, f)) {
            (Some(a), Some(b), _) => a < b,
            // uintN fits intM when M > N.
            (None, Some(b), Some(a)) => a < b,
            (None, None, Some(a)) => rank(&UNSIGNED, t).is_some_and(|b| a < b),
            _ => false,
        },
    }
}

/// The live row of column `column_id` of table `table_id`.
struct ColumnRow {
    order: i64,
    name: String,
    type_name: String,
    nullable: i64,
}

fn column_row(c: &Commit<'_>, table_id: i64, column_id: i64) -> Result<ColumnRow> {
    c.tx.query_row(
        "SELECT column_order, column_name, column_type, coalesce(nulls_allowed, TRUE)
         FROM ducklake_column WHERE table_id = ?1 AND column_id = ?2 AND end_snapshot IS NULL",
        params![table_id, column_id],
        |r| {
            Ok(ColumnRow {
                order: r.get(0)?,
                name: r.get(1)?,
                type_name: r.get(2)?,
                nullable: r.get(3)?,
            })
        },
    )
}

fn end_column(c: &Commit<'_>, table_id: i64, column_id: i64) -> Result<()> {
    c.tx.execute(
        "UPDATE ducklake_column SET end_snapshot = ?1 WHERE table_id = ?2 AND column_id = ?3 AND end_snapshot IS NULL",
        params![c.snapshot_id, table_id, column_id],
    )?;
    Ok(())
}

fn insert_column(c: &Commit<'_>, table_id: i64, column_id: i64, row: &ColumnRow) -> Result<()> {
    c.tx.execute(
        "INSERT INTO ducklake_column VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, NULL, 'NULL', ?7, NULL, 'literal', 'duckdb')",
        params![
            column_id,
            c.snapshot_id,
            table_id,
            row.order,
            row.name,
            row.type_name,
            row.nullable != 0
        ],
    )?;
    Ok(())
}

/// Replace the live value of table property `key`.
fn set_property(c: &Commit<'_>, table_id: i64, key: &str, value: &str) -> Result<()> {
    c.tx.execute(
        "UPDATE ducklake_tag SET end_snapshot = ?1 WHERE object_id = ?2 AND key = ?3 AND end_snapshot IS NULL",
        params![c.snapshot_id, table_id, key],
    )?;
    c.tx.execute(
        "INSERT INTO ducklake_tag VALUES (?1, ?2, NULL, ?3, ?4)",
        params![table_id, c.snapshot_id, key, value],
    )?;
    Ok(())
}

impl Catalog {
    /// Apply `changes` to table `schema.name` in one snapshot. Each change is checked against
    /// the table as the previous ones left it, inside the transaction.
    pub fn alter_table(
        &self,
        schema: &str,
        name: &str,
        changes: &[Alteration],
        author: &str,
    ) -> Result<SnapshotId> {
        if changes.is_empty() {
            return Err(Error::Usage("ALTER TABLE needs at least one change".into()));
        }
        let (snapshot, ()) = self.write(author, Some("alter table"), |c| {
            let table = format!("{schema}.{name}");
            for change in changes {
                // The table as the transaction sees it now, earlier changes included.
                let meta = self
                    .table_in(&c.tx, c.snapshot_id, schema, name)?
                    .ok_or_else(|| Error::TableNotFound {
                        schema: schema.to_string(),
                        table: name.to_string(),
                    })?;
                if meta.location.is_some() {
                    return Err(Error::Refused(format!(
                        "table '{table}' is registered in place: its columns are read from its files (`strata table refresh {name}` picks up new ones), so it cannot be altered"
                    )));
                }
                apply(c, &meta, change)?;
            }
            let table_id = self
                .table_in(&c.tx, c.snapshot_id, schema, name)?
                .map(|m| m.table_id)
                .ok_or_else(|| Error::TableNotFound {
                    schema: schema.to_string(),
                    table: name.to_string(),
                })?;
            c.schema_changed(Some(table_id));
            c.change(format!("altered_table:{table_id}"));
            Ok(())
        })?;
        Ok(snapshot)
    }
}

/// Whether DuckDB keeps rows of table `table_id` inlined in the catalog database.
fn has_inlined_rows(c: &Commit<'_>, table_id: i64) -> Result<bool> {
    for name in crate::read::inlined_data_tables(&c.tx, table_id)? {
        let quoted = name.replace('"', "\"\"");
        let any: bool = c.tx.query_row(
            &format!("SELECT EXISTS (SELECT 1 FROM \"{quoted}\" WHERE end_snapshot IS NULL)"),
            params![],
            |r| r.get(0),
        )?;
        if any {
            return Ok(true);
        }
    }
    Ok(false)
}

fn apply(c: &mut Commit<'_>, meta: &TableMeta, change: &Alteration) -> Result<()> {
    let table = format!("{}.{}", meta.schema, meta.name);
    // Inlined rows are matched to columns by name: a rename, or a drop and re-add, would
    // misplace them. DuckDB can move them into files first.
    if matches!(
        change,
        Alteration::RenameColumn { .. } | Alteration::DropColumn { .. }
    ) && has_inlined_rows(c, meta.table_id)?
    {
        return Err(Error::Refused(format!(
            "table '{table}' has rows DuckDB inlined into the catalog; move them into files first (in DuckDB: CALL ducklake_flush_inlined_data(...)), then rename or drop columns"
        )));
    }
    let find = |name: &str| {
        meta.columns
            .iter()
            .find(|col| col.name.eq_ignore_ascii_case(name))
    };
    let missing = |name: &str| Error::ColumnNotFound {
        table: table.to_string(),
        column: name.to_string(),
        columns: meta
            .columns
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let is_partition = |id: i64| meta.partition.iter().any(|p| p.column_id == id);
    match change {
        Alteration::AddColumn {
            name,
            type_name,
            if_not_exists,
        } => {
            if find(name).is_some() {
                return if *if_not_exists {
                    Ok(())
                } else {
                    Err(Error::Usage(format!(
                        "column '{name}' already exists in table '{table}'"
                    )))
                };
            }
            arrow_type(name, type_name)?;
            let (next_id, next_order): (i64, i64) = c.tx.query_row(
                "SELECT coalesce(max(column_id), 0) + 1, coalesce(max(column_order), -1) + 1
                 FROM ducklake_column WHERE table_id = ?1",
                params![meta.table_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            insert_column(
                c,
                meta.table_id,
                next_id,
                &ColumnRow {
                    order: next_order,
                    name: name.clone(),
                    type_name: type_name.clone(),
                    nullable: 1,
                },
            )?;
            // The rows already in the table are NULL in the new column: DuckDB trusts
            // `contains_null` when it plans, so say so.
            let rows: i64 = c.tx.query_row(
                "SELECT coalesce(sum(record_count), 0) FROM ducklake_data_file WHERE table_id = ?1 AND end_snapshot IS NULL",
                params![meta.table_id],
                |r| r.get(0),
            )?;
            if rows > 0 {
                c.tx.execute(
                    "INSERT INTO ducklake_table_column_stats VALUES (?1, ?2, TRUE, NULL, NULL, NULL, NULL)",
                    params![meta.table_id, next_id],
                )?;
            }
            Ok(())
        }
        Alteration::DropColumn { name, if_exists } => {
            let Some(column) = find(name) else {
                return if *if_exists {
                    Ok(())
                } else {
                    Err(missing(name))
                };
            };
            if is_partition(column.column_id) {
                return Err(Error::Refused(format!(
                    "column '{}' is a partition key of table '{table}' and cannot be dropped",
                    column.name
                )));
            }
            if meta
                .property("sort_by")
                .is_some_and(|s| s.eq_ignore_ascii_case(&column.name))
            {
                return Err(Error::Refused(format!(
                    "column '{}' is the sort column (sort_by) of table '{table}' and cannot be dropped",
                    column.name
                )));
            }
            if meta.columns.len() == 1 {
                return Err(Error::Refused(format!(
                    "column '{}' is the only column of table '{table}'; drop the table instead",
                    column.name
                )));
            }
            end_column(c, meta.table_id, column.column_id)?;
            // A nested column's children end with it (DuckDB cannot load a child whose parent
            // is gone).
            for child in crate::nested::descendants(c, meta.table_id, column.column_id)? {
                end_column(c, meta.table_id, child)?;
            }
            // Its statistics no longer describe a live column.
            c.tx.execute(
                "DELETE FROM ducklake_table_column_stats WHERE table_id = ?1 AND column_id = ?2",
                params![meta.table_id, column.column_id],
            )?;
            Ok(())
        }
        Alteration::RenameColumn { from, to } => {
            let column = find(from).ok_or_else(|| missing(from))?;
            if column.name == *to {
                return Ok(());
            }
            if let Some(other) = find(to)
                && other.column_id != column.column_id
            {
                return Err(Error::Usage(format!(
                    "cannot rename column '{from}' to '{to}': table '{table}' has a column '{}' already",
                    other.name
                )));
            }
            let mut row = column_row(c, meta.table_id, column.column_id)?;
            row.name = to.clone();
            end_column(c, meta.table_id, column.column_id)?;
            insert_column(c, meta.table_id, column.column_id, &row)?;
            if meta
                .property("sort_by")
                .is_some_and(|s| s.eq_ignore_ascii_case(&column.name))
            {
                set_property(c, meta.table_id, "sort_by", to)?;
            }
            Ok(())
        }
        Alteration::SetType { name, type_name } => {
            let column = find(name).ok_or_else(|| missing(name))?;
            arrow_type(name, type_name)?;
            let mut row = column_row(c, meta.table_id, column.column_id)?;
            let from = row.type_name.to_ascii_lowercase();
            let to = type_name.to_ascii_lowercase();
            if from == to {
                return Ok(());
            }
            if !widens(&from, &to) {
                return Err(Error::Refused(format!(
                    "cannot change column '{}' of table '{table}' from {from} to {to}: only widening changes keep old files readable (int8 → int16 → int32 → int64, uintN → a wider uint or int, float32 → float64)",
                    column.name
                )));
            }
            row.type_name = to;
            end_column(c, meta.table_id, column.column_id)?;
            insert_column(c, meta.table_id, column.column_id, &row)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::widens;

    #[test]
    fn only_widening_type_changes() {
        assert!(widens("int32", "int64"));
        assert!(widens("int8", "int32"));
        assert!(widens("uint16", "int32"));
        assert!(widens("uint16", "uint64"));
        assert!(widens("float32", "float64"));
        assert!(!widens("int64", "int32"));
        assert!(!widens("uint32", "int32"));
        assert!(!widens("int32", "varchar"));
        assert!(!widens("float64", "float32"));
        assert!(!widens("int32", "uint64"));
    }
}
