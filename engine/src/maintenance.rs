//! Lake maintenance: compaction, retention, snapshot expiry and garbage collection.
//!
//! - **Compaction** merges the small files of each partition into files of the target size,
//!   sorted like every write, and commits the replacement in one snapshot. Appends committed
//!   meanwhile are kept; a compaction or retention that removed the same files first is a
//!   conflict, retried with backoff from a fresh read.
//! - **Retention** removes whole partitions whose rows are all older than the table's
//!   `retention` property, from the catalog only (metadata, by column statistics).
//! - **Snapshot expiry** forgets old snapshots; files no remaining snapshot references are
//!   scheduled for deletion.
//! - **Garbage collection** deletes scheduled files, and files under the data path that no
//!   snapshot references (left by failed or killed writes), once they are older than a grace
//!   period. It never deletes files of tables registered in place.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use datafusion::catalog::TableProvider;
use datafusion::common::{Column, DFSchema};
use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{Expr, LogicalPlanBuilder};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use strata_catalog::{DataFile, ExpireReport, FileQuery, SnapshotId, TableMeta, Transform};

use crate::error::{Error, Result};
use crate::lake::Lake;
use crate::table::CatalogTable;
use crate::table_writer::discard;
use crate::units::parse_age;
use crate::write_job::{check_writable, table_target, write_input};

/// Which files `strata compact` rewrites.
#[derive(Debug, Clone, Default)]
pub struct CompactOptions {
    /// Only files whose statistics may match this SQL predicate.
    pub filter: Option<String>,
    /// Say what would be compacted, change nothing.
    pub dry_run: bool,
}

/// What a compaction did (or would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CompactReport {
    /// Partitions with two or more small files.
    pub partitions: usize,
    pub files_removed: usize,
    pub files_added: usize,
    pub rows: u64,
    pub bytes_removed: i64,
    pub bytes_added: i64,
    pub snapshot: Option<SnapshotId>,
}

/// What applying retention to a table removed (or would remove).
#[derive(Debug, Clone, PartialEq)]
pub struct RetentionReport {
    pub table: String,
    /// The time column the retention applies to.
    pub column: String,
    /// Rows with values before this are expired.
    pub cutoff: String,
    pub partitions: usize,
    pub files: usize,
    pub rows: i64,
    pub snapshot: Option<SnapshotId>,
}

/// A file `strata gc` deletes (or would delete).
#[derive(Debug, Clone, PartialEq)]
pub struct GcFile {
    pub path: String,
    /// `scheduled` (its snapshots expired) or `orphan` (never committed).
    pub reason: &'static str,
}

/// What garbage collection did (or would do).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GcReport {
    pub deleted: Vec<GcFile>,
    /// Unreferenced files younger than the grace period, kept for now.
    pub held: usize,
    /// Files that could not be deleted, with the reason.
    pub failed: Vec<(String, String)>,
}

/// How often a compaction or retention runs when other writers removed its files first.
const ATTEMPTS: u32 = 4;

/// Sleep before retry `attempt` (1, 2, …): exponential backoff with jitter.
async fn backoff(attempt: u32) {
    let base = 100u64 << attempt.min(6);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % base;
    tokio::time::sleep(Duration::from_millis(base + jitter)).await;
}

/// Run `attempt` until it does not fail because another writer removed the files it read
/// (then it is retried from a fresh read), at most [`ATTEMPTS`] times.
async fn retry_removed<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let mut n = 0;
    loop {
        n += 1;
        match attempt().await {
            Err(Error::Catalog(strata_catalog::Error::Conflict(reason)))
                if n < ATTEMPTS && reason.contains("removed by another writer") =>
            {
                backoff(n).await;
            }
            other => return other,
        }
    }
}

/// The time `ago` before now, as the catalog writes times (UTC).
fn time_before(ago: chrono::Duration) -> String {
    (chrono::Utc::now() - ago)
        .format("%Y-%m-%d %H:%M:%S%.6f")
        .to_string()
}

/// Group key: the partition values of a file, in key order.
fn partition_key(file: &DataFile) -> Vec<(i64, Option<String>)> {
    let mut key = file.partition_values.clone();
    key.sort();
    key
}

impl Lake {
    /// Merge the small files of each partition of table `name` (files below three quarters
    /// of the target size, in partitions that have two or more of them).
    pub async fn compact(&self, name: &str, options: &CompactOptions) -> Result<CompactReport> {
        retry_removed(|| self.compact_once(name, options)).await
    }

    async fn compact_once(&self, name: &str, options: &CompactOptions) -> Result<CompactReport> {
        let meta = self.table(name)?;
        check_writable(&meta)?;
        let ctx = &self.context();
        let catalog = Arc::clone(self.catalog());
        let stores = self.stores();
        let table = CatalogTable::new(Arc::clone(&catalog), Arc::clone(&stores), meta.clone());
        let filters = match &options.filter {
            Some(sql) => {
                self.limits().check_expression(sql)?;
                let schema = DFSchema::try_from(table.schema())?;
                let state = ctx.state();
                let dialect = state.config().options().sql_parser.dialect;
                let planned = state
                    .sql_to_expr_with_alias(sql, &dialect)
                    .and_then(|mut parsed| {
                        // A generated predicate may be a 10,000-term `OR` (see chains.rs).
                        crate::chains::balance_expr(&mut parsed.expr);
                        state.create_logical_expr_from_sql_expr(parsed, &schema)
                    });
                vec![planned.map_err(|e| {
                    let shown: String = sql.chars().take(200).collect();
                    Error::Usage(format!("invalid --where predicate '{shown}': {e}"))
                })?]
            }
            None => Vec::new(),
        };
        let state = ctx.state();
        let (_, _, chosen) = table
            .select_files(&state, Some(&Vec::new()), &filters)
            .await?;
        let files = chosen.into_files(&meta);
        let target = table_target(&meta, self.target_file_size)?;
        let small = (target.layout.target_file_size as i64) / 4 * 3;
        let mut groups: BTreeMap<Vec<(i64, Option<String>)>, Vec<&DataFile>> = BTreeMap::new();
        for file in files.iter().filter(|f| f.file_size < small) {
            groups.entry(partition_key(file)).or_default().push(file);
        }
        groups.retain(|_, files| files.len() >= 2);
        let chosen: Vec<&DataFile> = groups.values().flatten().copied().collect();
        let mut report = CompactReport {
            partitions: groups.len(),
            files_removed: chosen.len(),
            rows: chosen.iter().map(|f| live_rows(f) as u64).sum(),
            bytes_removed: chosen.iter().map(|f| f.file_size).sum(),
            ..CompactReport::default()
        };
        if chosen.is_empty() || options.dry_run {
            return Ok(report);
        }
        let ids: Vec<i64> = chosen.iter().map(|f| f.data_file_id).collect();
        let input = CatalogTable::new(catalog, stores, meta.clone())
            .with_files(ids.iter().copied().collect::<HashSet<_>>());
        let columns: Vec<Expr> = meta
            .columns
            .iter()
            .map(|c| Expr::Column(Column::new_unqualified(&c.name)))
            .collect();
        let plan =
            LogicalPlanBuilder::scan("compaction", provider_as_source(Arc::new(input)), None)?
                .project(columns)?
                .build()?;
        let stores = self.stores();
        let written = write_input(ctx, &stores, plan, target).await?;
        let committed = {
            let catalog = Arc::clone(self.catalog());
            let meta = meta.clone();
            let files = written.files.clone();
            tokio::task::spawn_blocking(move || {
                catalog.replace_files(&meta, &ids, &files, "strata compact")
            })
            .await
            .map_err(|e| Error::Internal(format!("compaction commit failed: {e}")))?
        };
        match committed {
            Ok(snapshot) => {
                report.files_added = written.files.len();
                report.bytes_added = written.files.iter().map(|f| f.file_size).sum();
                report.snapshot = Some(snapshot);
                Ok(report)
            }
            Err(e) => {
                discard(&stores, &written.files).await;
                Err(e.into())
            }
        }
    }

    /// Apply the `retention` property of table `name`: remove, from the catalog, the whole
    /// partitions whose rows are all older than now minus the retention. `None` when the
    /// table has no retention.
    pub async fn apply_retention(
        &self,
        name: &str,
        dry_run: bool,
    ) -> Result<Option<RetentionReport>> {
        retry_removed(|| self.retention_once(name, dry_run)).await
    }

    async fn retention_once(&self, name: &str, dry_run: bool) -> Result<Option<RetentionReport>> {
        let meta = self.table(name)?;
        let Some(retention) = meta.property("retention") else {
            return Ok(None);
        };
        check_writable(&meta)?;
        let period = parse_age(retention)?;
        let column = retention_column(&meta)?;
        let cutoff_time = time_before(period);
        let cutoff = if column.type_name == "date" {
            cutoff_time[..10].to_string()
        } else {
            cutoff_time[..19].to_string()
        };
        let catalog = Arc::clone(self.catalog());
        let query = FileQuery {
            ranges: Vec::new(),
            stats_columns: Some(vec![column.column_id]),
        };
        let files = {
            let meta = meta.clone();
            let catalog = Arc::clone(&catalog);
            tokio::task::spawn_blocking(move || catalog.candidate_files(&meta, &query))
                .await
                .map_err(|e| Error::Internal(format!("retention failed: {e}")))??
                .files
        };
        let mut groups: BTreeMap<Vec<(i64, Option<String>)>, Vec<&DataFile>> = BTreeMap::new();
        for (i, file) in files.iter().enumerate() {
            let key = if meta.partition.is_empty() {
                // Unpartitioned: each file stands alone.
                vec![(-1, Some(i.to_string()))]
            } else {
                partition_key(file)
            };
            groups.entry(key).or_default().push(file);
        }
        let expired = |f: &&DataFile| {
            f.column_stats(column.column_id)
                .and_then(|s| s.max.as_deref())
                .is_some_and(|max| max < cutoff.as_str())
        };
        groups.retain(|_, files| files.iter().all(expired));
        let ids: Vec<i64> = groups.values().flatten().map(|f| f.data_file_id).collect();
        let mut report = RetentionReport {
            table: format!("{}.{}", meta.schema, meta.name),
            column: column.name.clone(),
            cutoff,
            partitions: groups.len(),
            files: ids.len(),
            rows: groups.values().flatten().map(|f| live_rows(f)).sum(),
            snapshot: None,
        };
        if ids.is_empty() || dry_run {
            return Ok(Some(report));
        }
        let (snapshot, rows) = tokio::task::spawn_blocking(move || {
            catalog.remove_files(&meta, &ids, "strata retention", "retention")
        })
        .await
        .map_err(|e| Error::Internal(format!("retention failed: {e}")))??;
        report.snapshot = Some(snapshot);
        report.rows = rows;
        Ok(Some(report))
    }

    /// Apply retention to every table that has a `retention` property.
    pub async fn apply_all_retention(&self) -> Result<Vec<RetentionReport>> {
        let snapshot = self.catalog().current_snapshot()?;
        let mut out = Vec::new();
        for listing in self.catalog().list_tables(snapshot)? {
            let name = format!("{}.{}", listing.schema, listing.name);
            let meta = self.table(&name)?;
            if meta.property("retention").is_none() || meta.location.is_some() {
                continue;
            }
            if let Some(report) = self.apply_retention(&name, false).await? {
                out.push(report);
            }
        }
        Ok(out)
    }

    /// Expire snapshots older than `older_than` (the newest snapshot is always kept).
    pub fn expire_snapshots(
        &self,
        older_than: chrono::Duration,
        dry_run: bool,
    ) -> Result<ExpireReport> {
        Ok(self
            .catalog()
            .expire_snapshots(&time_before(older_than), dry_run)?)
    }

    /// Delete files no snapshot references: files scheduled for deletion by snapshot expiry,
    /// and files under the data path no catalog row knows (left by failed or killed writes),
    /// once older than `grace`. Only files named like Strata's or DuckDB's data files are
    /// touched, and never under a location a table was registered from.
    pub async fn gc(&self, grace: chrono::Duration, dry_run: bool) -> Result<GcReport> {
        let catalog = Arc::clone(self.catalog());
        let stores = self.stores();
        let before = time_before(grace);
        let mut report = GcReport::default();

        let all_scheduled = catalog.scheduled_files("9999-12-31")?;
        let mut forgotten = Vec::new();
        for file in all_scheduled {
            if file.scheduled_at.as_str() >= before.as_str() {
                report.held += 1;
                continue;
            }
            if !dry_run {
                match delete(&stores, &file.path).await {
                    Ok(()) => forgotten.push(file.data_file_id),
                    Err(e) => {
                        report.failed.push((file.path.clone(), e));
                        continue;
                    }
                }
            }
            report.deleted.push(GcFile {
                path: file.path,
                reason: "scheduled",
            });
        }
        if !forgotten.is_empty() {
            catalog.forget_scheduled(&forgotten)?;
        }

        let known = catalog.known_files()?;
        let data_path = catalog.data_path().to_string();
        let resolved = stores.resolve(&data_path)?;
        let cutoff = chrono::Utc::now() - grace;
        let mut listing = resolved.store.list(Some(&resolved.path));
        while let Some(object) = listing
            .try_next()
            .await
            .map_err(|e| Error::Storage(format!("cannot list '{data_path}': {e}")))?
        {
            let path = format!("{}{}", resolved.root, object.location);
            let file_name = object.location.filename().unwrap_or_default();
            let ours = (file_name.starts_with("strata-") || file_name.starts_with("ducklake-"))
                && file_name.ends_with(".parquet");
            if !ours
                || known.paths.contains(&path)
                || known
                    .registered
                    .iter()
                    .any(|r| path.starts_with(r.as_str()))
            {
                continue;
            }
            if object.last_modified > cutoff {
                report.held += 1;
                continue;
            }
            if !dry_run && let Err(e) = resolved.store.delete(&object.location).await {
                report.failed.push((path, e.to_string()));
                continue;
            }
            report.deleted.push(GcFile {
                path,
                reason: "orphan",
            });
        }
        // On local disk, an upload a killed writer never completed stays behind as a staged
        // `<name>#<n>` file, which object stores do not list. (On S3 it is an incomplete
        // multipart upload, which a bucket lifecycle rule aborts.)
        if resolved.url == crate::storage::Stores::local_url() {
            let dir = std::path::Path::new("/").join(resolved.path.as_ref());
            for (path, modified) in unfinished_uploads(&dir) {
                let text = path.display().to_string();
                if known
                    .registered
                    .iter()
                    .any(|r| text.starts_with(r.as_str()))
                {
                    continue;
                }
                if chrono::DateTime::<chrono::Utc>::from(modified) > cutoff {
                    report.held += 1;
                    continue;
                }
                if !dry_run && let Err(e) = std::fs::remove_file(&path) {
                    report.failed.push((text, e.to_string()));
                    continue;
                }
                report.deleted.push(GcFile {
                    path: text,
                    reason: "unfinished upload",
                });
            }
        }
        Ok(report)
    }
}

/// Staged files of unfinished uploads of Strata's or DuckDB's data files under `dir`
/// (`strata-….parquet#3`), with their modification times.
fn unfinished_uploads(dir: &std::path::Path) -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
                continue;
            }
            let name = entry.file_name().to_string_lossy().to_string();
            let staged = name.split_once('#').is_some_and(|(base, n)| {
                (base.starts_with("strata-") || base.starts_with("ducklake-"))
                    && base.ends_with(".parquet")
                    && !n.is_empty()
                    && n.chars().all(|c| c.is_ascii_digit())
            });
            if staged && let Ok(modified) = entry.metadata().and_then(|m| m.modified()) {
                out.push((entry.path(), modified));
            }
        }
    }
    out
}

/// Rows of `file` not deleted by a delete file.
fn live_rows(file: &DataFile) -> i64 {
    let deleted = file.deletes.as_ref().and_then(|d| d.delete_count);
    file.record_count - deleted.unwrap_or(0) - file.inlined_deletes.len() as i64
}

/// Delete one file; a file already gone counts as deleted.
async fn delete(stores: &crate::storage::Stores, path: &str) -> std::result::Result<(), String> {
    let resolved = stores.resolve(path).map_err(|e| e.to_string())?;
    match resolved.store.delete(&resolved.path).await {
        Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.to_string()),
    }
}

/// The time column a table's retention applies to: the column of its first time partition
/// key, else its `sort_by` column when that is a date or timestamp.
fn retention_column(meta: &TableMeta) -> Result<&strata_catalog::Column> {
    let temporal =
        |c: &strata_catalog::Column| c.type_name == "date" || c.type_name.starts_with("timestamp");
    let from_partition = meta.partition.iter().find_map(|p| {
        let column = meta.column(p.column_id)?;
        (p.transform != Transform::Identity || temporal(column)).then_some(column)
    });
    from_partition
        .or_else(|| {
            meta.property("sort_by")
                .and_then(|name| meta.column_by_name(name))
                .filter(|c| temporal(c))
        })
        .ok_or_else(|| {
            Error::Refused(format!(
                "table '{}.{}' has retention '{}' but no time column to apply it to: partition it by day(ts) (or month/year/hour), or set sort_by to a timestamp column",
                meta.schema,
                meta.name,
                meta.property("retention").unwrap_or_default()
            ))
        })
}
