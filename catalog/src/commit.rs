//! Write transactions: every change is one database transaction that creates one snapshot.
//!
//! The transaction takes the catalog's write lock before reading the latest snapshot (SQLite:
//! `BEGIN IMMEDIATE`; PostgreSQL: a lock on `ducklake_snapshot` that only writers take); ids
//! come from that snapshot's `next_catalog_id` / `next_file_id` counters, so two writers can
//! never allocate the same id. A writer that does not take the lock (DuckDB) fails on the
//! snapshot's primary key instead of committing a duplicate.

use crate::db::{Tx, now, params};

use crate::error::Result;
use crate::lake::Catalog;
use crate::model::SnapshotId;

/// Crash-test hook: when the environment variable `STRATA_CRASH_AT` names `point`, abort the
/// process there (no destructors run, as with `kill -9`). Points: `before_upload`,
/// `mid_upload` (a file partly uploaded, not completed), `before_commit` (every file uploaded,
/// no transaction yet) and `during_commit` (rows inserted, transaction not committed).
pub fn crash_point(point: &str) {
    if std::env::var_os("STRATA_CRASH_AT").is_some_and(|v| v == point) {
        eprintln!("strata: STRATA_CRASH_AT={point}: aborting the process here");
        std::process::abort();
    }
}

/// An open write transaction that will become snapshot `snapshot_id`.
pub(crate) struct Commit<'c> {
    pub tx: Tx<'c>,
    pub snapshot_id: SnapshotId,
    next_catalog_id: i64,
    next_file_id: i64,
    schema_version: i64,
    schema_changed_tables: Vec<i64>,
    schema_changed: bool,
    changes: Vec<String>,
}

impl Commit<'_> {
    /// A new id for a schema, table, partition spec or view.
    pub fn catalog_id(&mut self) -> i64 {
        let id = self.next_catalog_id;
        self.next_catalog_id += 1;
        id
    }

    /// A new id for a data file, delete file or column mapping.
    pub fn file_id(&mut self) -> i64 {
        let id = self.next_file_id;
        self.next_file_id += 1;
        id
    }

    /// Record that this commit changes the schema of `table_id` (or of the catalog: `None`).
    pub fn schema_changed(&mut self, table_id: Option<i64>) {
        self.schema_changed = true;
        if let Some(t) = table_id
            && !self.schema_changed_tables.contains(&t)
        {
            self.schema_changed_tables.push(t);
        }
    }

    /// Add an entry to `ducklake_snapshot_changes.changes_made`.
    pub fn change(&mut self, entry: String) {
        self.changes.push(entry);
    }
}

impl Catalog {
    /// Run `f` in one write transaction and commit it as a new snapshot.
    pub(crate) fn write<T>(
        &self,
        author: &str,
        message: Option<&str>,
        f: impl FnOnce(&mut Commit<'_>) -> Result<T>,
    ) -> Result<(SnapshotId, T)> {
        crash_point("before_commit");
        let conn = self.conn();
        let tx = conn.transaction(true)?;
        let (last, schema_version, next_catalog_id, next_file_id): (i64, i64, i64, i64) = tx
            .query_row(
                "SELECT snapshot_id, schema_version, next_catalog_id, next_file_id
                 FROM ducklake_snapshot ORDER BY snapshot_id DESC LIMIT 1",
                params![],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )?;
        let mut commit = Commit {
            tx,
            snapshot_id: last + 1,
            next_catalog_id,
            next_file_id,
            schema_version,
            schema_changed_tables: Vec::new(),
            schema_changed: false,
            changes: Vec::new(),
        };
        let value = f(&mut commit)?;
        let schema_version = if commit.schema_changed {
            commit.schema_version + 1
        } else {
            commit.schema_version
        };
        commit.tx.execute(
            "INSERT INTO ducklake_snapshot (snapshot_id, snapshot_time, schema_version, next_catalog_id, next_file_id)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                commit.snapshot_id,
                now(),
                schema_version,
                commit.next_catalog_id,
                commit.next_file_id
            ],
        )?;
        commit.tx.execute(
            "INSERT INTO ducklake_snapshot_changes (snapshot_id, changes_made, author, commit_message, commit_extra_info)
             VALUES (?1, ?2, ?3, ?4, NULL)",
            params![commit.snapshot_id, commit.changes.join(","), author, message],
        )?;
        for table_id in &commit.schema_changed_tables {
            commit.tx.execute(
                "INSERT INTO ducklake_schema_versions (begin_snapshot, schema_version, table_id) VALUES (?1, ?2, ?3)",
                params![commit.snapshot_id, schema_version, table_id],
            )?;
        }
        let snapshot_id = commit.snapshot_id;
        crash_point("during_commit");
        commit.tx.commit()?;
        Ok((snapshot_id, value))
    }
}
