//! Dropping tables.

use rusqlite::params;

use crate::error::{Error, Result};
use crate::lake::Catalog;
use crate::model::SnapshotId;

impl Catalog {
    /// Drop `schema.name`: its rows end at the new snapshot. Files are not deleted (registered
    /// files are never Strata's to delete), and earlier snapshots still see the table.
    pub fn drop_table(&self, schema: &str, name: &str) -> Result<SnapshotId> {
        let (snapshot, ()) = self.write("strata", Some("drop table"), |c| {
            let table_id: i64 = c
                .tx
                .query_row(
                    "SELECT t.table_id FROM ducklake_table t JOIN ducklake_schema s ON s.schema_id = t.schema_id
                     WHERE s.schema_name = ?1 AND t.table_name = ?2 AND t.end_snapshot IS NULL AND s.end_snapshot IS NULL",
                    params![schema, name],
                    |r| r.get(0),
                )
                .map_err(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Error::TableNotFound {
                        schema: schema.to_string(),
                        table: name.to_string(),
                    },
                    other => other.into(),
                })?;
            let snap = c.snapshot_id;
            for table in [
                "ducklake_table",
                "ducklake_column",
                "ducklake_data_file",
                "ducklake_delete_file",
                "ducklake_partition_info",
                "ducklake_column_tag",
            ] {
                c.tx.execute(
                    &format!("UPDATE {table} SET end_snapshot = ?1 WHERE table_id = ?2 AND end_snapshot IS NULL"),
                    params![snap, table_id],
                )?;
            }
            c.schema_changed(None);
            c.change(format!("dropped_table:{table_id}"));
            Ok(())
        })?;
        Ok(snapshot)
    }
}
