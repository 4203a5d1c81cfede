//! Table versions: the last snapshot that changed each table, read from the catalog's
//! snapshot log (`ducklake_snapshot_changes`). Two reads of a table at snapshots that share
//! its version see the same rows, so whatever was derived from one (a query's answer, the
//! table's file list) serves the other — as long as no later commit rewrote the catalog's past
//! (DuckDB's flush of inlined rows and its merges date their new files back), which the file
//! index rules out by serving only reads at the current snapshot. The log is the catalog database's, so commits of any
//! process count: `strata ingest`, DuckDB, another server on a shared PostgreSQL catalog.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use strata_catalog::{Catalog, Result, SnapshotId};

/// The last snapshot that changed each table, as of one snapshot.
pub(crate) struct Changes {
    snapshot: SnapshotId,
    /// The oldest snapshot still in the log (expiring snapshots moves it).
    pub(crate) oldest: SnapshotId,
    by_id: HashMap<i64, SnapshotId>,
    created: HashMap<(String, String), SnapshotId>,
    /// The first snapshot of the log's unbroken run up to `snapshot`: snapshot ids follow one
    /// another, and one missing in between was expired on its own (DuckDB's
    /// `ducklake_expire_snapshots(versions => [...])`), taking its changes with it.
    unbroken_from: SnapshotId,
}

impl Changes {
    /// The last snapshot that changed table `id` (`schema.name`), or None when it is not
    /// known: the log no longer holds any of its changes, or a snapshot after the last one it
    /// holds was expired (it may have been a later change of the table).
    pub(crate) fn version(&self, id: i64, schema: &str, name: &str) -> Option<SnapshotId> {
        let by_id = self.by_id.get(&id).copied();
        let created = self
            .created
            .get(&(schema.to_string(), name.to_string()))
            .copied();
        by_id.max(created).filter(|v| *v >= self.unbroken_from)
    }
}

/// The snapshot log as of the snapshot last asked for (read once per snapshot: a lookup at a
/// snapshot already seen costs nothing).
#[derive(Default)]
pub(crate) struct TableVersions {
    latest: Mutex<Option<Arc<Changes>>>,
}

impl TableVersions {
    /// The last change of every table as of `snapshot`.
    pub(crate) fn at(&self, catalog: &Catalog, snapshot: SnapshotId) -> Result<Arc<Changes>> {
        if let Some(changes) = self.latest.lock().expect("changes").as_ref()
            && changes.snapshot == snapshot
        {
            return Ok(Arc::clone(changes));
        }
        let mut by_id = HashMap::new();
        let mut created = HashMap::new();
        let mut oldest = None;
        let mut unbroken_from = snapshot;
        let mut previous = None;
        for entry in catalog.snapshots()? {
            if entry.snapshot > snapshot {
                continue;
            }
            oldest = Some(oldest.unwrap_or(entry.snapshot).min(entry.snapshot));
            // In id order: a gap restarts the run.
            if previous.is_none_or(|p: SnapshotId| entry.snapshot != p + 1) {
                unbroken_from = entry.snapshot;
            }
            previous = Some(entry.snapshot);
            for change in split_changes(&entry.changes) {
                let Some((kind, target)) = change.split_once(':') else {
                    continue;
                };
                if kind == "created_table" {
                    if let Some(name) = unquote_qualified(target) {
                        created.insert(name, entry.snapshot);
                    }
                } else if let Ok(id) = target.parse::<i64>() {
                    by_id.insert(id, entry.snapshot);
                }
            }
        }
        let changes = Arc::new(Changes {
            snapshot,
            oldest: oldest.unwrap_or_default(),
            by_id,
            created,
            unbroken_from,
        });
        *self.latest.lock().expect("changes") = Some(Arc::clone(&changes));
        Ok(changes)
    }
}

/// The entries of a DuckLake change list: commas separate them, except inside double quotes
/// (a quoted name may hold a comma; `""` is a quote inside quotes).
fn split_changes(list: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in list.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&list[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&list[start..]);
    out
}

/// `"schema"."name"` as DuckLake writes a created table into its change list.
fn unquote_qualified(text: &str) -> Option<(String, String)> {
    let parts: Vec<String> = text
        .split("\".\"")
        .map(|p| p.trim_matches('"').replace("\"\"", "\""))
        .collect();
    match parts.as_slice() {
        [schema, name] => Some((schema.clone(), name.clone())),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_lists_split_outside_quotes() {
        assert_eq!(
            split_changes("inserted_into_table:3,created_table:\"main\".\"a,b\""),
            vec!["inserted_into_table:3", "created_table:\"main\".\"a,b\""]
        );
        assert_eq!(split_changes(""), vec![""]);
    }

    #[test]
    fn created_table_names_unquote() {
        assert_eq!(
            unquote_qualified("\"main\".\"trips\""),
            Some(("main".into(), "trips".into()))
        );
        assert_eq!(
            unquote_qualified("\"main\".\"a\"\"b\""),
            Some(("main".into(), "a\"b".into()))
        );
        assert_eq!(unquote_qualified("trips"), None);
    }
}
