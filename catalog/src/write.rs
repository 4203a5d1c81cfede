//! Tables whose files Strata writes: creating them, appending files, and reading their history.
//!
//! A writer uploads its files first and then commits them here in one transaction, so readers
//! never see a partial write; files of a write that fails or is killed are never referenced
//! and `strata gc` removes them.

use crate::commit::Commit;
use crate::db::{OptionalExtension, params};
use crate::error::{Error, Result};
use crate::files::{NewFile, insert_data_files};
use crate::lake::Catalog;
use crate::model::{HistoryEntry, SnapshotId, TableMeta, Transform};
use crate::read::join_path;

/// A column of a new table.
#[derive(Debug, Clone, PartialEq)]
pub struct NewColumn {
    pub name: String,
    /// DuckLake type name.
    pub type_name: String,
    pub nullable: bool,
}

/// A table to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTable {
    pub schema: String,
    pub name: String,
    /// Columns in order; they get ids 1, 2, … (files are written with these field ids).
    pub columns: Vec<NewColumn>,
    /// Partition keys: column name and transform.
    pub partition: Vec<(String, Transform)>,
    /// Table properties, kept as DuckLake tags.
    pub properties: Vec<(String, String)>,
}

impl NewTable {
    /// The id column `name` will get.
    pub fn column_id(&self, name: &str) -> Option<i64> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .map(|i| i as i64 + 1)
    }
}

/// A DuckLake identifier in double quotes, as `ducklake_snapshot_changes` spells names.
pub(crate) fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Insert the `ducklake_table` row of a new table `schema.name` (path `name/`), refusing a
/// name already taken; returns the new table id.
pub(crate) fn insert_table_row(c: &mut Commit<'_>, schema: &str, name: &str) -> Result<i64> {
    let schema_id: i64 =
        c.tx.query_row(
            "SELECT schema_id FROM ducklake_schema WHERE schema_name = ?1 AND end_snapshot IS NULL",
            params![schema],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            Error::NoRow(_) => Error::SchemaNotFound {
                schema: schema.to_string(),
            },
            other => other,
        })?;
    let taken: i64 = c.tx.query_row(
        "SELECT count(*) FROM ducklake_table WHERE schema_id = ?1 AND table_name = ?2 AND end_snapshot IS NULL",
        params![schema_id, name],
        |r| r.get(0),
    )?;
    if taken > 0 {
        return Err(Error::TableExists {
            schema: schema.to_string(),
            table: name.to_string(),
        });
    }
    let table_id = c.catalog_id();
    c.tx.execute(
        "INSERT INTO ducklake_table VALUES (?1, ?2, ?3, NULL, ?4, ?5, ?6, TRUE)",
        params![
            table_id,
            uuid::Uuid::new_v4().to_string(),
            c.snapshot_id,
            schema_id,
            name,
            format!("{name}/")
        ],
    )?;
    Ok(table_id)
}

/// The current partition spec of table `table_id`, if it is partitioned.
pub(crate) fn live_partition_id(c: &Commit<'_>, table_id: i64) -> Result<Option<i64>> {
    c.tx
        .query_row(
            "SELECT partition_id FROM ducklake_partition_info WHERE table_id = ?1 AND end_snapshot IS NULL",
            params![table_id],
            |r| r.get(0),
        )
        .optional()
}

impl Catalog {
    /// Where the files of a new table `schema.name` go: `<data path>/<schema>/<name>/`.
    pub fn new_table_path(&self, schema: &str, name: &str) -> Result<String> {
        let conn = self.conn();
        let (path, relative): (String, i64) = conn
            .query_row(
                "SELECT coalesce(path, ''), coalesce(path_is_relative, TRUE) FROM ducklake_schema WHERE schema_name = ?1 AND end_snapshot IS NULL",
                params![schema],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
            .ok_or_else(|| Error::SchemaNotFound {
                schema: schema.to_string(),
            })?;
        let schema_path = if relative != 0 {
            join_path(self.data_path(), &path)
        } else {
            path
        };
        Ok(join_path(&schema_path, &format!("{name}/")))
    }

    /// Create table `table` with the already uploaded `files` (empty for a plain
    /// `CREATE TABLE`) in one snapshot, and return the table as of that snapshot.
    pub fn create_table(
        &self,
        table: &NewTable,
        files: &[NewFile],
        author: &str,
    ) -> Result<TableMeta> {
        if table.columns.is_empty() {
            return Err(Error::Usage(format!(
                "table '{}' needs at least one column",
                table.name
            )));
        }
        for (i, col) in table.columns.iter().enumerate() {
            if table.columns[..i]
                .iter()
                .any(|c| c.name.eq_ignore_ascii_case(&col.name))
            {
                return Err(Error::Usage(format!(
                    "column '{}' appears twice in table '{}'",
                    col.name, table.name
                )));
            }
        }
        let table_path = self.new_table_path(&table.schema, &table.name)?;
        let (snapshot, ()) = self.write(author, Some("create table"), |c| {
            let table_id = insert_table_row(c, &table.schema, &table.name)?;
            let snap = c.snapshot_id;
            for (i, col) in table.columns.iter().enumerate() {
                let id = i as i64 + 1;
                c.tx.execute(
                    "INSERT INTO ducklake_column VALUES (?1, ?2, NULL, ?3, ?4, ?5, ?6, NULL, 'NULL', ?7, NULL, 'literal', 'duckdb')",
                    params![id, snap, table_id, i as i64, col.name, col.type_name, col.nullable],
                )?;
            }
            let partition_id = if table.partition.is_empty() {
                None
            } else {
                let pid = c.catalog_id();
                c.tx.execute(
                    "INSERT INTO ducklake_partition_info VALUES (?1, ?2, ?3, NULL)",
                    params![pid, table_id, snap],
                )?;
                for (i, (column, transform)) in table.partition.iter().enumerate() {
                    let column_id = table.column_id(column).ok_or_else(|| {
                        Error::Usage(format!(
                            "partition column '{column}' is not a column of table '{}'",
                            table.name
                        ))
                    })?;
                    c.tx.execute(
                        "INSERT INTO ducklake_partition_column VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![pid, table_id, i as i64, column_id, transform.as_str()],
                    )?;
                }
                Some(pid)
            };
            for (key, value) in &table.properties {
                c.tx.execute(
                    "INSERT INTO ducklake_tag VALUES (?1, ?2, NULL, ?3, ?4)",
                    params![table_id, snap, key, value],
                )?;
            }
            c.tx.execute(
                "INSERT INTO ducklake_table_stats VALUES (?1, 0, 0, 0)",
                params![table_id],
            )?;
            c.schema_changed(Some(table_id));
            c.change(format!(
                "created_table:{}.{}",
                quote(&table.schema),
                quote(&table.name)
            ));
            if !files.is_empty() {
                insert_data_files(c, table_id, &table_path, partition_id, None, files)?;
                c.change(format!("inserted_into_table:{table_id}"));
            }
            Ok(())
        })?;
        self.require_table(snapshot, &table.schema, &table.name)
    }

    /// Append uploaded `files` to `table`, written against the table as read at
    /// `table.snapshot`. Appends never conflict with other appends or compactions; they do
    /// conflict with a drop or a change of columns or partitioning since that snapshot.
    pub fn append(
        &self,
        table: &TableMeta,
        files: &[NewFile],
        author: &str,
        message: &str,
    ) -> Result<SnapshotId> {
        let (snapshot, ()) = self.write(author, Some(message), |c| {
            self.check_unchanged(c, table)?;
            if files.is_empty() {
                return Ok(());
            }
            let partition_id = live_partition_id(c, table.table_id)?;
            insert_data_files(c, table.table_id, &table.path, partition_id, None, files)?;
            c.change(format!("inserted_into_table:{}", table.table_id));
            Ok(())
        })?;
        Ok(snapshot)
    }

    /// Fail when `table` was dropped, or its columns or partitioning changed, after the
    /// snapshot it was read at.
    pub(crate) fn check_unchanged(&self, c: &Commit<'_>, table: &TableMeta) -> Result<()> {
        let name = format!("{}.{}", table.schema, table.name);
        let current = self
            .table_in(&c.tx, c.snapshot_id - 1, &table.schema, &table.name)?
            .filter(|t| t.table_id == table.table_id)
            .ok_or_else(|| {
                Error::Conflict(format!(
                    "table '{name}' was dropped or replaced while the write ran; nothing was committed"
                ))
            })?;
        if current.columns != table.columns || current.partition != table.partition {
            return Err(Error::Conflict(format!(
                "the columns or partitioning of table '{name}' changed (snapshot {}) while the write ran against snapshot {}; run the write again",
                current.snapshot, table.snapshot
            )));
        }
        Ok(())
    }

    /// The newest snapshot taken at or before `time` (`YYYY-MM-DD HH:MM:SS[.ffffff]`, UTC).
    pub fn snapshot_at(&self, time: &str) -> Result<SnapshotId> {
        let conn = self.conn();
        let id: Option<i64> = conn.query_row(
            "SELECT max(snapshot_id) FROM ducklake_snapshot WHERE snapshot_time <= ?1",
            params![time],
            |r| r.get(0),
        )?;
        id.ok_or_else(|| Error::NoSnapshotAt(time.to_string()))
    }

    /// Whether snapshot `id` exists (it may have been expired).
    pub fn has_snapshot(&self, id: SnapshotId) -> Result<bool> {
        let conn = self.conn();
        Ok(conn
            .query_row(
                "SELECT 1 FROM ducklake_snapshot WHERE snapshot_id = ?1",
                params![id],
                |r| r.get::<i64>(0),
            )
            .optional()?
            .is_some())
    }

    /// The snapshots that changed `table` (created, altered, inserted into, deleted from,
    /// compacted, dropped), oldest first.
    pub fn history(&self, table: &TableMeta) -> Result<Vec<HistoryEntry>> {
        let created = format!(
            "created_table:{}.{}",
            quote(&table.schema),
            quote(&table.name)
        );
        let id = table.table_id.to_string();
        Ok(self
            .snapshots()?
            .into_iter()
            .filter(|entry| {
                entry.changes.split(',').any(|change| {
                    change == created
                        || change
                            .split_once(':')
                            .is_some_and(|(_, target)| target == id)
                })
            })
            .collect())
    }

    /// Every snapshot of the catalog, oldest first: time, author, message and DuckLake's change
    /// list.
    pub fn snapshots(&self) -> Result<Vec<HistoryEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT s.snapshot_id, s.snapshot_time, ch.author, ch.commit_message, coalesce(ch.changes_made, '')
             FROM ducklake_snapshot s LEFT JOIN ducklake_snapshot_changes ch USING (snapshot_id)
             ORDER BY s.snapshot_id",
        )?;
        let rows = stmt.query_map(params![], |r| {
            Ok(HistoryEntry {
                snapshot: r.get(0)?,
                time: r.get(1)?,
                author: r.get(2)?,
                message: r.get(3)?,
                changes: r.get(4)?,
            })
        })?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row?);
        }
        Ok(out)
    }
}
