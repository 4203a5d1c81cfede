//! Maintenance as SQL procedures — `CALL compact('events')`, `CALL retention('events')`,
//! `CALL expire_snapshots('7d')`, `CALL gc('1h')`, each with an optional `dry_run => true` —
//! so that compaction, retention, snapshot expiry and gc work over Flight SQL as they do from
//! the CLI. Each returns one `result` column of lines saying what it did, the same lines the CLI
//! prints.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use strata_catalog::{ExpireReport, Progress, RegisterReport};

use crate::commands::Maintenance;
use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::maintenance::{CompactOptions, CompactReport, GcReport, RetentionReport};
use crate::requests::RequestCounts;
use crate::units::parse_age;

/// The schema of a procedure's result.
pub fn procedure_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "result",
        DataType::Utf8,
        false,
    )]))
}

/// `lines` as a procedure's result.
pub(crate) fn procedure_batch(lines: Vec<String>) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        procedure_schema(),
        vec![Arc::new(StringArray::from(lines))],
    )?)
}

/// A byte count for people: `812 B`, `3.4 MiB`.
pub fn human_bytes(n: i64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// What a registration or refresh (`verb`) of `table` found, in words.
pub fn register_lines(
    table: &str,
    verb: &str,
    r: &RegisterReport,
    requests: &RequestCounts,
    elapsed: Duration,
) -> Vec<String> {
    let requests = format!(
        "{} listings, {} GETs ({}), {} HEADs",
        requests.list,
        requests.get,
        human_bytes(requests.bytes_read as i64),
        requests.head
    );
    let Some(snapshot) = r.snapshot else {
        return vec![format!(
            "{table}: up to date, nothing to {verb} ({requests})"
        )];
    };
    let mut lines = vec![
        format!(
            "{table}: {} files added ({} rows, {}), {} files removed, snapshot {snapshot}, {:.2}s",
            r.files_added,
            r.rows_added,
            human_bytes(r.bytes_added),
            r.files_removed,
            elapsed.as_secs_f64()
        ),
        format!("requests: {requests}"),
    ];
    if !r.partition_keys.is_empty() {
        let keys: Vec<String> = r
            .partition_keys
            .iter()
            .map(|(k, t)| format!("{k} {t}"))
            .collect();
        lines.push(format!("partitioned by: {}", keys.join(", ")));
    }
    if !r.columns_added.is_empty() {
        lines.push(format!("new columns: {}", r.columns_added.join(", ")));
    }
    for (column, data_type) in &r.columns_skipped {
        lines.push(format!(
            "warning: column '{column}' is left out of {table}: Strata cannot read columns of type {data_type} yet; the files keep it, every other column is queryable"
        ));
    }
    lines
}

/// What a compaction of `table` did, in words.
pub fn compact_lines(
    table: &str,
    r: &CompactReport,
    dry_run: bool,
    elapsed: Duration,
) -> Vec<String> {
    let size = human_bytes;
    if r.files_removed == 0 {
        return vec![format!(
            "{table}: nothing to compact (no partition has two or more small files)"
        )];
    }
    if dry_run {
        return vec![format!(
            "{table}: would merge {} files ({} rows, {}) in {} partitions",
            r.files_removed,
            r.rows,
            size(r.bytes_removed),
            r.partitions
        )];
    }
    vec![
        format!(
            "{table}: merged {} files ({}) into {} ({}) in {} partitions, {} rows, snapshot {}, {:.2}s",
            r.files_removed,
            size(r.bytes_removed),
            r.files_added,
            size(r.bytes_added),
            r.partitions,
            r.rows,
            r.snapshot.unwrap_or_default(),
            elapsed.as_secs_f64()
        ),
        "the replaced files stay readable by time travel until `strata snapshots expire` and `strata gc` remove them".into(),
    ]
}

/// One line saying what retention removed (`verb`: removed, would remove, lost).
pub fn retention_line(r: &RetentionReport, verb: &str) -> String {
    if r.files == 0 {
        return format!(
            "{}: nothing expired ({} before {})",
            r.table, r.column, r.cutoff
        );
    }
    let snapshot = r
        .snapshot
        .map(|s| format!(", snapshot {s}"))
        .unwrap_or_default();
    format!(
        "{}: {verb} {} partitions ({} files, {} rows) with {} before {}{snapshot}",
        r.table, r.partitions, r.files, r.rows, r.column, r.cutoff
    )
}

/// What expiring the snapshots older than `older_than` did, in words.
pub fn expire_line(r: &ExpireReport, dry_run: bool, older_than: &str) -> String {
    let verb = if dry_run { "would expire" } else { "expired" };
    match (r.snapshots.first(), r.snapshots.last()) {
        (Some(first), Some(last)) => format!(
            "{verb} {} snapshots ({first}..={last}); {} files {} for deletion by `strata gc`, {} registered files forgotten (never deleted)",
            r.snapshots.len(),
            r.files_scheduled,
            if dry_run {
                "would be scheduled"
            } else {
                "scheduled"
            },
            r.files_forgotten
        ),
        _ => format!("no snapshot is older than {older_than}"),
    }
}

/// What gc deleted, a line a file and a summary (failures are in `r.failed`).
pub fn gc_lines(r: &GcReport, dry_run: bool, grace: &str) -> Vec<String> {
    let verb = if dry_run { "would delete" } else { "deleted" };
    let mut lines: Vec<String> = r
        .deleted
        .iter()
        .map(|f| format!("{verb} {} ({})", f.path, f.reason))
        .collect();
    lines.push(format!(
        "{verb} {} files; {} unreferenced files are younger than the grace period ({grace}) and were kept",
        r.deleted.len(),
        r.held,
    ));
    lines
}

impl Lake {
    /// Run a maintenance procedure and say what it did; registration and refresh report the
    /// footers they read to `progress`.
    pub async fn run_procedure(
        &self,
        call: &Maintenance,
        progress: &dyn Progress,
    ) -> Result<Vec<String>> {
        match call {
            Maintenance::Register { table, location } => {
                let started = std::time::Instant::now();
                let (r, requests) = self.register_table(table, location, progress).await?;
                Ok(register_lines(
                    table,
                    "register",
                    &r,
                    &requests,
                    started.elapsed(),
                ))
            }
            Maintenance::Refresh { table } => {
                let started = std::time::Instant::now();
                let (r, requests) = self.refresh_table(table, progress).await?;
                Ok(register_lines(
                    table,
                    "refresh",
                    &r,
                    &requests,
                    started.elapsed(),
                ))
            }
            Maintenance::Compact {
                table,
                filter,
                dry_run,
            } => {
                let started = std::time::Instant::now();
                let options = CompactOptions {
                    filter: filter.clone(),
                    dry_run: *dry_run,
                };
                let r = self.compact(table, &options).await?;
                Ok(compact_lines(table, &r, *dry_run, started.elapsed()))
            }
            Maintenance::Retention { table, dry_run } => {
                let verb = if *dry_run { "would remove" } else { "removed" };
                match table {
                    Some(table) => match self.apply_retention(table, *dry_run).await? {
                        Some(r) => Ok(vec![retention_line(&r, verb)]),
                        None => Err(Error::Refused(format!(
                            "table '{table}' has no retention property; create it WITH (retention = '90 days')"
                        ))),
                    },
                    None if *dry_run => Err(Error::Usage(
                        "retention of every table does not take dry_run; name a table to preview it"
                            .into(),
                    )),
                    None => {
                        let reports = self.apply_all_retention().await?;
                        if reports.is_empty() {
                            return Ok(vec!["no table has a retention property".into()]);
                        }
                        Ok(reports.iter().map(|r| retention_line(r, verb)).collect())
                    }
                }
            }
            Maintenance::ExpireSnapshots {
                older_than,
                dry_run,
            } => {
                let r = self.expire_snapshots(parse_age(older_than)?, *dry_run)?;
                Ok(vec![expire_line(&r, *dry_run, older_than)])
            }
            Maintenance::Gc { grace, dry_run } => {
                let r = self.gc(parse_age(grace)?, *dry_run).await?;
                let mut lines = gc_lines(&r, *dry_run, grace);
                if !r.failed.is_empty() {
                    let failed: Vec<String> = r
                        .failed
                        .iter()
                        .map(|(path, reason)| format!("{path}: {reason}"))
                        .collect();
                    lines.push(format!("could not delete {} files", failed.len()));
                    return Err(Error::Storage(format!(
                        "gc could not delete {} files ({}); {}",
                        failed.len(),
                        failed.join("; "),
                        lines.join("; ")
                    )));
                }
                Ok(lines)
            }
        }
    }
}
