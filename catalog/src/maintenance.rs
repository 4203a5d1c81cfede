//! Dropping tables, and lake maintenance: replacing files (compaction), removing files
//! (retention), expiring snapshots, and the bookkeeping `strata gc` needs.

use std::collections::{HashMap, HashSet};

use crate::commit::Commit;
use crate::db::{Conn, params};
use crate::error::{Error, Result};
use crate::files::{NewFile, insert_data_files, recompute_table_column_stats};
use crate::lake::Catalog;
use crate::model::{SnapshotId, TableMeta};
use crate::read::join_path;
use crate::write::live_partition_id;

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
                    Error::NoRow(_) => Error::TableNotFound {
                        schema: schema.to_string(),
                        table: name.to_string(),
                    },
                    other => other,
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

/// What expiring snapshots removed (or would remove, in a dry run).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExpireReport {
    /// Ids of the expired snapshots.
    pub snapshots: Vec<SnapshotId>,
    /// Files no remaining snapshot references, now scheduled for deletion by `strata gc`.
    pub files_scheduled: usize,
    /// Files no remaining snapshot references that Strata does not own (registered in
    /// place): forgotten, never deleted.
    pub files_forgotten: usize,
}

/// A file scheduled for deletion.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledFile {
    pub data_file_id: i64,
    /// Absolute path or URL.
    pub path: String,
    /// When it was scheduled (`YYYY-MM-DD HH:MM:SS…`, UTC).
    pub scheduled_at: String,
}

/// Every file the catalog knows of, and the registered locations Strata must never clean.
#[derive(Debug, Clone, Default)]
pub struct KnownFiles {
    /// Absolute paths of data and delete files (live, ended or scheduled for deletion).
    pub paths: HashSet<String>,
    /// Locations tables were registered from.
    pub registered: Vec<String>,
}

/// Resolves file paths relative to their table's path, looking each table's path up once.
#[derive(Default)]
struct FilePaths {
    tables: HashMap<i64, String>,
}

impl FilePaths {
    fn absolute(
        &mut self,
        catalog: &Catalog,
        conn: &Conn,
        table_id: i64,
        path: String,
        relative: i64,
    ) -> Result<String> {
        if relative == 0 {
            return Ok(path);
        }
        let base = match self.tables.entry(table_id) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(catalog.any_table_path(conn, table_id)?)
            }
        };
        Ok(join_path(base, &path))
    }
}

/// End the live files `ids` of `table_id` and their delete files at this commit (every one
/// must still be live) and return the rows they held (deleted rows not counted).
fn end_files(c: &mut Commit<'_>, table_id: i64, ids: &[i64], what: &str) -> Result<i64> {
    let ids_json = format!(
        "[{}]",
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    );
    let (live, rows, bytes): (i64, i64, i64) = c.tx.query_row(
        "SELECT count(*), coalesce(sum(record_count), 0), coalesce(sum(file_size_bytes), 0)
         FROM ducklake_data_file WHERE table_id = ?1 AND end_snapshot IS NULL
           AND data_file_id IN (SELECT value FROM json_each(?2))",
        params![table_id, ids_json],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    if live as usize != ids.len() {
        return Err(Error::Conflict(format!(
            "{} of the {} files to {what} were removed by another writer (a compaction or retention) meanwhile; nothing was committed",
            ids.len() - live as usize,
            ids.len()
        )));
    }
    // Rows DuckDB deleted from these files are not rows they hold; their delete files end
    // with them (and are scheduled for deletion when the snapshots that see them expire).
    let deleted: i64 = c.tx.query_row(
        "SELECT coalesce(sum(delete_count), 0) FROM ducklake_delete_file WHERE table_id = ?1 AND end_snapshot IS NULL
           AND data_file_id IN (SELECT value FROM json_each(?2))",
        params![table_id, ids_json],
        |r| r.get(0),
    )?;
    c.tx.execute(
        "UPDATE ducklake_delete_file SET end_snapshot = ?1 WHERE table_id = ?2 AND end_snapshot IS NULL
           AND data_file_id IN (SELECT value FROM json_each(?3))",
        params![c.snapshot_id, table_id, ids_json],
    )?;
    // Deletes DuckDB kept inline in the catalog count too (they stay; their files end).
    let deleted = match crate::read::inlined_delete_table(&c.tx, table_id)? {
        Some(inlined) => {
            let inline: i64 = c.tx.query_row(
                &format!(
                    "SELECT count(*) FROM \"{inlined}\" WHERE file_id IN (SELECT value FROM json_each(?1))"
                ),
                params![ids_json],
                |r| r.get(0),
            )?;
            deleted + inline
        }
        None => deleted,
    };
    c.tx.execute(
        "UPDATE ducklake_data_file SET end_snapshot = ?1 WHERE table_id = ?2 AND end_snapshot IS NULL
           AND data_file_id IN (SELECT value FROM json_each(?3))",
        params![c.snapshot_id, table_id, ids_json],
    )?;
    c.tx.execute(
        "UPDATE ducklake_table_stats SET record_count = record_count - ?2, file_size_bytes = file_size_bytes - ?3 WHERE table_id = ?1",
        params![table_id, rows, bytes],
    )?;
    Ok(rows - deleted)
}

impl Catalog {
    /// Replace the live files `removed` of `table` by the uploaded `files` holding the same
    /// rows (a compaction). Appends committed meanwhile are kept; a concurrent compaction or
    /// retention that removed any of `removed` is a conflict, as is a change of columns.
    pub fn replace_files(
        &self,
        table: &TableMeta,
        removed: &[i64],
        files: &[NewFile],
        author: &str,
    ) -> Result<SnapshotId> {
        let added_rows: i64 = files.iter().map(|f| f.record_count).sum();
        let (snapshot, ()) = self.write(author, Some("compact"), |c| {
            self.check_unchanged(c, table)?;
            let ended = end_files(c, table.table_id, removed, "compact")?;
            if ended != added_rows {
                return Err(Error::Internal(format!(
                    "compaction of '{}.{}' wrote {added_rows} rows for files holding {}; nothing was committed",
                    table.schema, table.name, ended
                )));
            }
            let partition_id = live_partition_id(c, table.table_id)?;
            insert_data_files(c, table.table_id, &table.path, partition_id, None, files)?;
            c.change(format!("compacted_table:{}", table.table_id));
            Ok(())
        })?;
        Ok(snapshot)
    }

    /// Remove the live files `ids` of `table` from the table (metadata only: the files stay
    /// until snapshots that see them expire and `strata gc` runs). Returns the snapshot and
    /// the rows removed.
    pub fn remove_files(
        &self,
        table: &TableMeta,
        ids: &[i64],
        author: &str,
        message: &str,
    ) -> Result<(SnapshotId, i64)> {
        let (snapshot, rows) = self.write(author, Some(message), |c| {
            self.check_unchanged(c, table)?;
            let ended = end_files(c, table.table_id, ids, "remove")?;
            recompute_table_column_stats(c, table.table_id)?;
            c.change(format!("deleted_from_table:{}", table.table_id));
            Ok(ended)
        })?;
        Ok((snapshot, rows))
    }

    /// Expire the snapshots taken before `cutoff` (`YYYY-MM-DD HH:MM:SS`, UTC), always keeping
    /// the newest one. Rows no remaining snapshot sees are deleted; the data files among them
    /// that Strata owns are scheduled for deletion by `strata gc`, the others (registered in
    /// place) are only forgotten. With `dry_run`, nothing changes.
    pub fn expire_snapshots(&self, cutoff: &str, dry_run: bool) -> Result<ExpireReport> {
        let conn = self.conn();
        let tx = conn.transaction(true)?;
        let newest: i64 = tx.query_row(
            "SELECT max(snapshot_id) FROM ducklake_snapshot",
            params![],
            |r| r.get(0),
        )?;
        let first_kept: i64 = tx
            .query_row(
                "SELECT min(snapshot_id) FROM ducklake_snapshot WHERE snapshot_time >= ?1",
                params![cutoff],
                |r| r.get::<Option<i64>>(0),
            )?
            .unwrap_or(newest)
            .min(newest);
        let snapshots: Vec<i64> = {
            let mut stmt =
                tx.prepare("SELECT snapshot_id FROM ducklake_snapshot WHERE snapshot_id < ?1 ORDER BY snapshot_id")?;
            let rows = stmt.query_map(params![first_kept], |r| r.get(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut report = ExpireReport {
            snapshots,
            ..ExpireReport::default()
        };
        if report.snapshots.is_empty() {
            return Ok(report);
        }
        // Data files no kept snapshot sees (ended at or before the first kept snapshot), with
        // their absolute paths and whether Strata owns them; then DuckDB's delete files, owned
        // when written into the lake.
        let mut paths = FilePaths::default();
        let ended: Vec<(i64, String, bool)> = {
            let mut stmt = tx.prepare(
                "SELECT f.data_file_id, f.path, coalesce(f.path_is_relative, TRUE), f.table_id,
                        EXISTS (SELECT 1 FROM ducklake_metadata m WHERE m.key = 'strata.location' AND m.scope = 'table' AND m.scope_id = f.table_id)
                 FROM ducklake_data_file f WHERE f.end_snapshot IS NOT NULL AND f.end_snapshot <= ?1",
            )?;
            let rows: Vec<(i64, String, i64, i64, bool)> = stmt
                .query_map(params![first_kept], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (id, path, relative, table_id, registered) in rows {
                let owned = relative != 0 && !registered;
                out.push((
                    id,
                    paths.absolute(self, &tx, table_id, path, relative)?,
                    owned,
                ));
            }
            out
        };
        let ended_deletes: Vec<(i64, String)> = {
            let mut stmt = tx.prepare(
                "SELECT delete_file_id, path, coalesce(path_is_relative, TRUE), table_id FROM ducklake_delete_file
                 WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?1",
            )?;
            let rows: Vec<(i64, String, i64, i64)> = stmt
                .query_map(params![first_kept], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })?
                .collect::<Result<_, _>>()?;
            let mut out = Vec::new();
            for (id, path, relative, table_id) in rows.into_iter().filter(|r| r.2 != 0) {
                out.push((id, paths.absolute(self, &tx, table_id, path, relative)?));
            }
            out
        };
        let owned = ended.iter().filter(|(_, _, owned)| *owned).count();
        report.files_scheduled = owned + ended_deletes.len();
        report.files_forgotten = ended.len() - owned;
        if dry_run {
            return Ok(report);
        }
        let now = crate::db::now();
        {
            let mut schedule = tx.prepare(
                "INSERT INTO ducklake_files_scheduled_for_deletion VALUES (?1, ?2, FALSE, ?3)",
            )?;
            let owned_data = ended
                .iter()
                .filter(|(_, _, owned)| *owned)
                .map(|(id, path, _)| (id, path));
            for (id, path) in owned_data.chain(ended_deletes.iter().map(|(id, path)| (id, path))) {
                schedule.execute(params![id, path, now])?;
            }
        }
        let ids_json = format!(
            "[{}]",
            ended
                .iter()
                .map(|(id, ..)| id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        for table in [
            "ducklake_file_column_stats",
            "ducklake_file_partition_value",
            "ducklake_file_variant_stats",
            "strata_data_file_metadata",
            "ducklake_data_file",
        ] {
            tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE data_file_id IN (SELECT value FROM json_each(?1))"
                ),
                params![ids_json],
            )?;
        }
        tx.execute(
            "DELETE FROM ducklake_delete_file WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?1",
            params![first_kept],
        )?;
        // Catalog rows no kept snapshot sees.
        tx.execute(
            "DELETE FROM ducklake_partition_column WHERE partition_id IN
               (SELECT partition_id FROM ducklake_partition_info WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?1)",
            params![first_kept],
        )?;
        for table in [
            "ducklake_partition_info",
            "ducklake_column",
            "ducklake_column_tag",
            "ducklake_tag",
            "ducklake_table",
            "ducklake_view",
            "ducklake_schema",
        ] {
            tx.execute(
                &format!(
                    "DELETE FROM {table} WHERE end_snapshot IS NOT NULL AND end_snapshot <= ?1"
                ),
                params![first_kept],
            )?;
        }
        for table in ["ducklake_snapshot_changes", "ducklake_snapshot"] {
            tx.execute(
                &format!("DELETE FROM {table} WHERE snapshot_id < ?1"),
                params![first_kept],
            )?;
        }
        tx.commit()?;
        Ok(report)
    }

    /// The path of table `table_id` (live or not), resolved against the data path.
    fn any_table_path(&self, conn: &Conn, table_id: i64) -> Result<String> {
        let (tpath, trel, spath, srel): (Option<String>, Option<i64>, Option<String>, Option<i64>) =
            conn.query_row(
                "SELECT t.path, t.path_is_relative, s.path, s.path_is_relative
                 FROM ducklake_table t JOIN ducklake_schema s ON s.schema_id = t.schema_id
                 WHERE t.table_id = ?1 ORDER BY t.begin_snapshot DESC, s.begin_snapshot DESC LIMIT 1",
                params![table_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let schema_path = if srel.unwrap_or(1) != 0 {
            join_path(self.data_path(), &spath.unwrap_or_default())
        } else {
            spath.unwrap_or_default()
        };
        Ok(if trel.unwrap_or(1) != 0 {
            join_path(&schema_path, &tpath.unwrap_or_default())
        } else {
            tpath.unwrap_or_default()
        })
    }

    /// Files scheduled for deletion before `before` (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub fn scheduled_files(&self, before: &str) -> Result<Vec<ScheduledFile>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(
            "SELECT data_file_id, path, schedule_start FROM ducklake_files_scheduled_for_deletion
             WHERE schedule_start < ?1 ORDER BY data_file_id",
        )?;
        let rows = stmt.query_map(params![before], |r| {
            Ok(ScheduledFile {
                data_file_id: r.get(0)?,
                path: r.get(1)?,
                scheduled_at: r.get(2)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Forget scheduled files once they are deleted.
    pub fn forget_scheduled(&self, ids: &[i64]) -> Result<()> {
        let conn = self.conn();
        let ids_json = format!(
            "[{}]",
            ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
        );
        conn.execute(
            "DELETE FROM ducklake_files_scheduled_for_deletion WHERE data_file_id IN (SELECT value FROM json_each(?1))",
            params![ids_json],
        )?;
        Ok(())
    }

    /// Every file path the catalog references, at any snapshot or scheduled for deletion,
    /// and the registered locations.
    pub fn known_files(&self) -> Result<KnownFiles> {
        let conn = self.conn();
        let mut known = KnownFiles::default();
        let mut paths = FilePaths::default();
        for table in ["ducklake_data_file", "ducklake_delete_file"] {
            let mut stmt = conn.prepare(&format!(
                "SELECT table_id, path, coalesce(path_is_relative, TRUE) FROM {table}"
            ))?;
            let rows: Vec<(i64, String, i64)> = stmt
                .query_map(params![], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?;
            for (table_id, path, relative) in rows {
                known
                    .paths
                    .insert(paths.absolute(self, &conn, table_id, path, relative)?);
            }
        }
        let mut stmt = conn.prepare("SELECT path FROM ducklake_files_scheduled_for_deletion")?;
        for path in stmt.query_map(params![], |r| r.get::<String>(0))? {
            known.paths.insert(path?);
        }
        let mut stmt = conn.prepare(
            "SELECT value FROM ducklake_metadata WHERE key = 'strata.location' AND scope = 'table'",
        )?;
        for location in stmt.query_map(params![], |r| r.get::<String>(0))? {
            known.registered.push(location?);
        }
        Ok(known)
    }
}
