//! Registering Parquet files in place: list a location once, read footers in parallel, turn
//! Hive `key=value` directories into typed partition columns, and commit everything as one
//! snapshot. Registered files are not owned by Strata: they are never deleted by it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore};

use crate::commit::Commit;
use crate::db::params;
use crate::error::{Error, Result};
use crate::files::{NewFile, insert_data_files};
use crate::footer::{Footer, read_footer};
use crate::lake::Catalog;
use crate::model::{ColumnStats, SnapshotId, TableMeta};
use crate::nested;
use crate::types::{is_nested, registered_type, type_signature};
use crate::write::{insert_table_row, quote};

/// Footers read at once during registration.
const FOOTER_CONCURRENCY: usize = 64;

/// A location on some object store: the store, the prefix inside it, and how to spell the
/// absolute path of an object in it.
#[derive(Debug, Clone)]
pub struct Location {
    /// As the user gave it, normalised to end in `/` (recorded in the catalog).
    pub url: String,
    pub store: Arc<dyn ObjectStore>,
    /// The prefix inside the store.
    pub prefix: Path,
    /// Prepended to an object path to form the absolute path stored in the catalog:
    /// `/` for the local file system, `s3://bucket/` for S3.
    pub root: String,
}

impl Location {
    fn absolute(&self, path: &Path) -> String {
        format!("{}{}", self.root, path)
    }
}

/// Progress of a registration, for progress bars.
pub trait Progress: Send + Sync {
    /// `done` of `total` footers have been read.
    fn footers(&self, done: usize, total: usize);
}

impl Progress for () {
    fn footers(&self, _: usize, _: usize) {}
}

/// What a registration or refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegisterReport {
    /// The snapshot committed, or `None` when there was nothing to do.
    pub snapshot: Option<SnapshotId>,
    pub files_added: usize,
    pub files_removed: usize,
    pub rows_added: i64,
    pub bytes_added: i64,
    pub columns_added: Vec<String>,
    /// Hive partition keys and their inferred DuckLake types.
    pub partition_keys: Vec<(String, String)>,
    /// Columns of the files left out of the table, with their Arrow types: types Strata
    /// cannot read yet (durations, unions, lists of them). The files keep them; the table has
    /// the rest.
    pub columns_skipped: Vec<(String, String)>,
}

/// A listed file with its footer and Hive partition values.
struct Listed {
    meta: ObjectMeta,
    path: String,
    footer: Footer,
    /// (key, raw value) from the path, in path order.
    hive: Vec<(String, Option<String>)>,
}

/// List `location` and return the Parquet files whose absolute path is not in `known`.
async fn list_parquet(location: &Location) -> Result<Vec<ObjectMeta>> {
    let mut files: Vec<ObjectMeta> = location
        .store
        .list(Some(&location.prefix))
        .try_filter(|meta| {
            let keep = is_data_file(&location.prefix, &meta.location);
            futures::future::ready(keep)
        })
        .try_collect()
        .await
        .map_err(|source| Error::Storage {
            location: location.url.clone(),
            source,
        })?;
    files.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(files)
}

/// Parquet files only; skip hidden and bookkeeping files (`_SUCCESS`, `.crc`, `_temporary/`).
fn is_data_file(prefix: &Path, path: &Path) -> bool {
    let Some(parts) = path.prefix_match(prefix) else {
        return false;
    };
    let parts: Vec<_> = parts.collect();
    let Some(name) = parts.last() else {
        return false;
    };
    if !name.as_ref().to_ascii_lowercase().ends_with(".parquet") {
        return false;
    }
    !parts
        .iter()
        .any(|p| p.as_ref().starts_with('.') || p.as_ref().starts_with('_'))
}

/// Hive `key=value` segments of `path` below `prefix`.
fn hive_values(prefix: &Path, path: &Path) -> Vec<(String, Option<String>)> {
    let Some(parts) = path.prefix_match(prefix) else {
        return Vec::new();
    };
    let parts: Vec<_> = parts.collect();
    let dirs = &parts[..parts.len().saturating_sub(1)];
    dirs.iter()
        .filter_map(|segment| {
            // Undo object_store's own escaping of the segment, then Hive's escaping of the value.
            let decoded = percent_decode(&percent_decode(segment.as_ref()));
            let (k, v) = decoded.split_once('=')?;
            if k.is_empty() {
                return None;
            }
            let v = (v != "__HIVE_DEFAULT_PARTITION__").then(|| v.to_string());
            Some((k.to_string(), v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The DuckLake type inferred for a Hive partition key from all its values.
fn infer_hive_type(values: &[&str]) -> &'static str {
    let is_date = |v: &&str| {
        v.len() == 10
            && v.as_bytes()[4] == b'-'
            && chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").is_ok()
    };
    if !values.is_empty() && values.iter().all(is_date) {
        "date"
    } else if !values.is_empty() && values.iter().all(|v| is_plain_integer(v)) {
        "int64"
    } else {
        "varchar"
    }
}

/// An integer without leading zeros: `03` stays a string, as DuckDB's Hive inference has it,
/// so that no information in the path is lost.
fn is_plain_integer(v: &str) -> bool {
    let digits = v.strip_prefix('-').unwrap_or(v);
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
        && v.parse::<i64>().is_ok()
}

/// The canonical encoding of a Hive value of the inferred type (`03` → `3`).
fn canonical_hive_value(type_name: &str, raw: &str) -> String {
    match type_name {
        "int64" => raw
            .parse::<i64>()
            .map(|v| v.to_string())
            .unwrap_or_else(|_| raw.to_string()),
        _ => raw.to_string(),
    }
}

/// List, read footers of files not in `known` (absolute path → size) or of another size now,
/// and return them with the paths of the unchanged known files.
async fn read_new_files(
    location: &Location,
    known: &HashMap<String, i64>,
    progress: &dyn Progress,
) -> Result<(Vec<Listed>, HashSet<String>)> {
    let metas = list_parquet(location).await?;
    let unchanged =
        |m: &ObjectMeta| known.get(&location.absolute(&m.location)).copied() == Some(m.size as i64);
    let present: HashSet<String> = metas
        .iter()
        .filter(|m| unchanged(m))
        .map(|m| location.absolute(&m.location))
        .collect();
    let new: Vec<ObjectMeta> = metas.into_iter().filter(|m| !unchanged(m)).collect();
    let total = new.len();
    let done = AtomicUsize::new(0);
    progress.footers(0, total);
    let listed: Vec<Listed> = futures::stream::iter(new)
        .map(|meta| {
            let done = &done;
            async move {
                let path = location.absolute(&meta.location);
                let footer =
                    read_footer(location.store.as_ref(), &meta.location, meta.size, &path).await?;
                progress.footers(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                let hive = hive_values(&location.prefix, &meta.location);
                Ok::<_, Error>(Listed {
                    meta,
                    path,
                    footer,
                    hive,
                })
            }
        })
        .buffered(FOOTER_CONCURRENCY)
        .try_collect()
        .await?;
    Ok((listed, present))
}

/// A column of the table being built: name, DuckLake type, and whether it comes from the path.
#[derive(Debug, Clone)]
struct LayoutColumn {
    name: String,
    type_name: String,
    /// The Arrow type of a stored column (a nested one's children are catalog rows too).
    data_type: Option<arrow::datatypes::DataType>,
    from_path: bool,
    first_file: String,
}

/// The columns of a table being registered: the union of the files' columns (in first-seen
/// order) followed by Hive keys not stored in the files (types must agree), the Hive keys, and
/// the columns left out (name, Arrow type) because Strata cannot read their type yet.
type Layout = (Vec<LayoutColumn>, Vec<String>, Vec<(String, String)>);

/// The table's layout from its files (see `Layout`).
fn layout(files: &[Listed], existing: &[LayoutColumn]) -> Result<Layout> {
    let mut columns: Vec<LayoutColumn> = existing.to_vec();
    let mut skipped: Vec<(String, String)> = Vec::new();
    for f in files {
        for field in f.footer.schema.fields() {
            let type_name = match registered_type(field.name(), field.data_type()) {
                Ok(t) => t,
                // A column of a type Strata cannot read (a duration, a union, a list of
                // either) must not keep every other column of the files from being queried:
                // it is left out, and the report says so.
                Err(Error::UnsupportedType { .. }) => {
                    if !skipped.iter().any(|(c, _)| c == field.name()) {
                        skipped.push((field.name().clone(), field.data_type().to_string()));
                    }
                    continue;
                }
                Err(other) => return Err(other),
            };
            // A nested column's children must agree too (a list of BIGINT in one file and of
            // DOUBLE in another would read the second's values cast to the first's).
            let signature = |c: &LayoutColumn| {
                c.data_type
                    .as_ref()
                    .filter(|_| is_nested(&c.type_name))
                    .and_then(|t| type_signature(&c.name, t).ok())
            };
            let this = is_nested(&type_name)
                .then(|| type_signature(field.name(), field.data_type()).ok())
                .flatten();
            match columns.iter().find(|c| c.name == *field.name()) {
                Some(c) if c.type_name != type_name || signature(c) != this => {
                    return Err(Error::SchemaConflict {
                        column: c.name.clone(),
                        first: signature(c).unwrap_or_else(|| c.type_name.clone()),
                        first_file: c.first_file.clone(),
                        second: this.unwrap_or(type_name),
                        second_file: f.path.clone(),
                    });
                }
                Some(_) => {}
                None => columns.push(LayoutColumn {
                    name: field.name().clone(),
                    type_name,
                    data_type: Some(field.data_type().clone()),
                    from_path: false,
                    first_file: f.path.clone(),
                }),
            }
        }
    }
    // Hive keys: every file must have the same keys, in the same order.
    let keys: Vec<String> = files
        .first()
        .map(|f| f.hive.iter().map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for f in files {
        let found: Vec<&String> = f.hive.iter().map(|(k, _)| k).collect();
        if found.len() != keys.len() || found.iter().zip(&keys).any(|(a, b)| *a != b) {
            return Err(Error::PartitionMismatch {
                file: f.path.clone(),
                found: found
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                expected: keys.join(", "),
            });
        }
    }
    // Columns from the path follow the stored ones in name order, as DuckDB's Hive reader
    // orders them, so that `SELECT *` agrees with DuckDB.
    let mut path_keys: Vec<(usize, &String)> = keys.iter().enumerate().collect();
    path_keys.sort_by(|a, b| a.1.cmp(b.1));
    for (i, key) in path_keys {
        if columns.iter().any(|c| c.name == *key) {
            continue;
        }
        let values: Vec<&str> = files
            .iter()
            .filter_map(|f| f.hive[i].1.as_deref())
            .collect();
        columns.push(LayoutColumn {
            name: key.clone(),
            type_name: infer_hive_type(&values).to_string(),
            data_type: None,
            from_path: true,
            first_file: files.first().map(|f| f.path.clone()).unwrap_or_default(),
        });
    }
    Ok((columns, keys, skipped))
}

impl Catalog {
    /// Register the Parquet files under `location` as the new table `schema.name`.
    pub async fn register(
        &self,
        schema: &str,
        name: &str,
        location: &Location,
        progress: &dyn Progress,
    ) -> Result<RegisterReport> {
        let snapshot = self.current_snapshot()?;
        if self.table(snapshot, schema, name)?.is_some() {
            return Err(Error::TableExists {
                schema: schema.to_string(),
                table: name.to_string(),
            });
        }
        let (files, _) = read_new_files(location, &HashMap::new(), progress).await?;
        if files.is_empty() {
            return Err(Error::NoFiles {
                location: location.url.clone(),
            });
        }
        let (columns, keys, skipped) = layout(&files, &[])?;
        let (snapshot, report) = self.write("strata", Some("register"), |c| {
            let table_id = insert_table_row(c, schema, name)?;
            let snap = c.snapshot_id;
            c.tx.execute(
                "INSERT INTO ducklake_metadata (key, value, scope, scope_id) VALUES ('strata.location', ?1, 'table', ?2)",
                params![location.url, table_id],
            )?;
            let ids = insert_columns(c, table_id, &columns, 1)?;
            let partition_id = if keys.is_empty() {
                None
            } else {
                let pid = c.catalog_id();
                c.tx.execute(
                    "INSERT INTO ducklake_partition_info VALUES (?1, ?2, ?3, NULL)",
                    params![pid, table_id, snap],
                )?;
                for (i, key) in keys.iter().enumerate() {
                    c.tx.execute(
                        "INSERT INTO ducklake_partition_column VALUES (?1, ?2, ?3, ?4, 'identity')",
                        params![pid, table_id, i as i64, ids[key]],
                    )?;
                }
                Some(pid)
            };
            let mapping_id = insert_mapping(c, table_id, &columns, &ids)?;
            c.tx.execute(
                "INSERT INTO ducklake_table_stats VALUES (?1, 0, 0, 0)",
                params![table_id],
            )?;
            let report = insert_files(
                c,
                table_id,
                &files,
                &columns,
                &ids,
                partition_id,
                mapping_id,
            )?;
            c.schema_changed(Some(table_id));
            c.change(format!("created_table:{}.{}", quote(schema), quote(name)));
            c.change(format!("inserted_into_table:{table_id}"));
            Ok(RegisterReport {
                partition_keys: columns
                    .iter()
                    .filter(|col| keys.contains(&col.name))
                    .map(|col| (col.name.clone(), col.type_name.clone()))
                    .collect(),
                ..report
            })
        })?;
        Ok(RegisterReport {
            snapshot: Some(snapshot),
            columns_skipped: skipped,
            ..report
        })
    }

    /// Pick up files added under a registered table's location and end files that disappeared.
    /// Running it twice in a row changes nothing the second time.
    pub async fn refresh(
        &self,
        table: &TableMeta,
        location: &Location,
        progress: &dyn Progress,
    ) -> Result<RegisterReport> {
        let live = self.live_file_paths(table)?;
        // A file rewritten in place (another size) is ended and registered again.
        let known: HashMap<String, i64> = live
            .iter()
            .map(|(path, (_, size))| (path.clone(), *size))
            .collect();
        let (files, present) = read_new_files(location, &known, progress).await?;
        let removed: Vec<i64> = live
            .iter()
            .filter(|(path, _)| !present.contains(*path))
            .map(|(_, (id, _))| *id)
            .collect();
        if files.is_empty() && removed.is_empty() {
            return Ok(RegisterReport::default());
        }
        let existing: Vec<LayoutColumn> = table
            .columns
            .iter()
            .map(|c| LayoutColumn {
                name: c.name.clone(),
                type_name: c.type_name.clone(),
                data_type: Some(c.data_type.clone()),
                from_path: c.from_path,
                first_file: format!("table {}.{}", table.schema, table.name),
            })
            .collect();
        let expected_keys: Vec<String> = table
            .partition
            .iter()
            .filter_map(|p| table.column(p.column_id).map(|c| c.name.clone()))
            .collect();
        let (columns, keys, skipped) = if files.is_empty() {
            (existing.clone(), expected_keys.clone(), Vec::new())
        } else {
            layout(&files, &existing)?
        };
        if !files.is_empty() && keys != expected_keys {
            return Err(Error::PartitionMismatch {
                file: files[0].path.clone(),
                found: keys.join(", "),
                expected: expected_keys.join(", "),
            });
        }
        let table_id = table.table_id;
        let base_snapshot = table.snapshot;
        let (snapshot, report) = self.write("strata", Some("refresh"), |c| {
            // Another writer may have changed the table since we listed: then start over.
            let changed: i64 = c.tx.query_row(
                "SELECT count(*) FROM ducklake_snapshot s JOIN ducklake_snapshot_changes ch ON ch.snapshot_id = s.snapshot_id
                 WHERE s.snapshot_id > ?1 AND (ch.changes_made LIKE '%:' || ?2 || '%' OR ch.changes_made LIKE '%\"' || ?3 || '\"%')",
                params![base_snapshot, table_id, table.name],
                |r| r.get(0),
            )?;
            if changed > 0 {
                return Err(Error::Conflict(format!(
                    "table '{}.{}' changed while it was being refreshed; run the refresh again",
                    table.schema, table.name
                )));
            }
            let snap = c.snapshot_id;
            for id in &removed {
                c.tx.execute(
                    "UPDATE ducklake_data_file SET end_snapshot = ?1 WHERE data_file_id = ?2",
                    params![snap, id],
                )?;
            }
            if !removed.is_empty() {
                let (rows, bytes): (i64, i64) = c.tx.query_row(
                    &format!(
                        "SELECT coalesce(sum(record_count), 0), coalesce(sum(file_size_bytes), 0) FROM ducklake_data_file WHERE data_file_id IN ({})",
                        removed.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
                    ), params![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                c.tx.execute(
                    "UPDATE ducklake_table_stats SET record_count = record_count - ?2, file_size_bytes = file_size_bytes - ?3 WHERE table_id = ?1",
                    params![table_id, rows, bytes],
                )?;
                c.change(format!("deleted_from_table:{table_id}"));
            }
            let mut ids: HashMap<String, i64> = table
                .columns
                .iter()
                .map(|col| (col.name.clone(), col.column_id))
                .collect();
            let new_columns: Vec<LayoutColumn> = columns[existing.len()..].to_vec();
            let mut mapping_id = current_mapping(c, table_id)?;
            if !new_columns.is_empty() {
                // Column ids are per table; the write lock is held, so max + 1 is safe here.
                let next: i64 = c.tx.query_row(
                    "SELECT coalesce(max(column_id), 0) + 1 FROM ducklake_column WHERE table_id = ?1",
                    params![table_id],
                    |r| r.get(0),
                )?;
                let added = insert_columns(c, table_id, &new_columns, next)?;
                ids.extend(added);
                mapping_id = Some(insert_mapping(c, table_id, &columns, &ids)?);
                c.schema_changed(Some(table_id));
                c.change(format!("altered_table:{table_id}"));
            }
            let partition_id: Option<i64> = c
                .tx
                .query_row(
                    "SELECT partition_id FROM ducklake_partition_info WHERE table_id = ?1 AND end_snapshot IS NULL",
                    params![table_id],
                    |r| r.get(0),
                )
                .ok();
            let mapping_id = match mapping_id {
                Some(m) => m,
                None => insert_mapping(c, table_id, &columns, &ids)?,
            };
            let mut report = if files.is_empty() {
                RegisterReport::default()
            } else {
                c.change(format!("inserted_into_table:{table_id}"));
                insert_files(c, table_id, &files, &columns, &ids, partition_id, mapping_id)?
            };
            report.files_removed = removed.len();
            report.columns_added = new_columns.iter().map(|c| c.name.clone()).collect();
            Ok(report)
        })?;
        Ok(RegisterReport {
            snapshot: Some(snapshot),
            columns_skipped: skipped,
            ..report
        })
    }

    /// Absolute paths of a table's live files, with their ids.
    /// Live files by path: (data file id, size).
    fn live_file_paths(&self, table: &TableMeta) -> Result<BTreeMap<String, (i64, i64)>> {
        let files = self.candidate_files(
            table,
            &crate::model::FileQuery {
                ranges: Vec::new(),
                stats_columns: Some(Vec::new()),
            },
        )?;
        Ok(files
            .files
            .into_iter()
            .map(|f| (f.path, (f.data_file_id, f.file_size)))
            .collect())
    }
}

/// Insert columns with ids from `first_id`; returns name → id.
fn insert_columns(
    c: &mut Commit<'_>,
    table_id: i64,
    columns: &[LayoutColumn],
    first_id: i64,
) -> Result<HashMap<String, i64>> {
    let mut ids = HashMap::new();
    // Ids in pre-order: a nested column, then its children depth first, as DuckDB numbers
    // them (they are the Parquet field ids of the files it writes).
    let mut next = first_id;
    for col in columns {
        let id = next;
        next += 1;
        c.tx.execute(
            "INSERT INTO ducklake_column VALUES (?1, ?2, NULL, ?3, ?1, ?4, ?5, NULL, 'NULL', TRUE, NULL, 'literal', 'duckdb')",
            params![id, c.snapshot_id, table_id, col.name, col.type_name],
        )?;
        ids.insert(col.name.clone(), id);
        if let Some(data_type) = &col.data_type {
            nested::insert_children(c, table_id, id, &col.name, data_type, &mut next)?;
        }
    }
    Ok(ids)
}

/// A name mapping for files written by other tools (no Parquet field ids): columns map by name,
/// and Hive keys come from the partition values.
fn insert_mapping(
    c: &mut Commit<'_>,
    table_id: i64,
    columns: &[LayoutColumn],
    ids: &HashMap<String, i64>,
) -> Result<i64> {
    let mapping_id = c.file_id();
    c.tx.execute(
        "INSERT INTO ducklake_column_mapping VALUES (?1, ?2, 'map_by_name')",
        params![mapping_id, table_id],
    )?;
    let children = nested::nested_rows(&c.tx, c.snapshot_id, table_id)?;
    let mut entry = 0i64;
    for col in columns {
        let this = entry;
        entry += 1;
        c.tx.execute(
            "INSERT INTO ducklake_name_mapping VALUES (?1, ?2, ?3, ?4, NULL, ?5)",
            params![mapping_id, this, col.name, ids[&col.name], col.from_path],
        )?;
        nested::map_children(
            &*c,
            mapping_id,
            &children,
            this,
            (ids[&col.name], &col.type_name),
            &mut entry,
        )?;
    }
    Ok(mapping_id)
}

/// The newest name mapping of a table, if any.
fn current_mapping(c: &Commit<'_>, table_id: i64) -> Result<Option<i64>> {
    c.tx.query_row(
        "SELECT max(mapping_id) FROM ducklake_column_mapping WHERE table_id = ?1",
        params![table_id],
        |r| r.get(0),
    )
}

/// The listed files as catalog rows: statistics of every column (path columns from the Hive
/// values, columns a file lacks as all NULL) and typed partition values.
fn new_files(
    files: &[Listed],
    columns: &[LayoutColumn],
    ids: &HashMap<String, i64>,
    partitioned: bool,
) -> Vec<NewFile> {
    files
        .iter()
        .map(|f| {
            let rows = f.footer.num_rows;
            // Nested columns have no statistics of their own (DuckDB keeps its leaves').
            let stats = columns
                .iter()
                .filter(|col| !is_nested(&col.type_name))
                .map(|col| {
                    let column_id = ids[&col.name];
                    if col.from_path {
                        let raw = f
                            .hive
                            .iter()
                            .find(|(k, _)| *k == col.name)
                            .and_then(|(_, v)| v.as_deref());
                        let value = raw.map(|v| canonical_hive_value(&col.type_name, v));
                        ColumnStats {
                            column_id,
                            min: value.clone(),
                            max: value.clone(),
                            null_count: Some(if value.is_some() { 0 } else { rows }),
                            value_count: Some(if value.is_some() { rows } else { 0 }),
                            size_bytes: Some(0),
                        }
                    } else {
                        match f.footer.stats.get(&col.name) {
                            Some(s) => ColumnStats {
                                column_id,
                                ..s.clone()
                            },
                            // A column this file does not have reads as NULL.
                            None => ColumnStats {
                                column_id,
                                min: None,
                                max: None,
                                null_count: Some(rows),
                                value_count: Some(0),
                                size_bytes: Some(0),
                            },
                        }
                    }
                })
                .collect();
            let partition_values = if partitioned {
                f.hive
                    .iter()
                    .enumerate()
                    .map(|(key_index, (key, raw))| {
                        let type_name = columns
                            .iter()
                            .find(|c| c.name == *key)
                            .map(|c| c.type_name.as_str())
                            .unwrap_or("varchar");
                        let value = raw.as_deref().map(|v| canonical_hive_value(type_name, v));
                        (key_index as i64, value)
                    })
                    .collect()
            } else {
                Vec::new()
            };
            NewFile {
                path: f.path.clone(),
                record_count: rows,
                file_size: f.meta.size as i64,
                footer_size: f.footer.footer_size,
                metadata_bytes: f.footer.metadata_bytes,
                partition_values,
                stats,
            }
        })
        .collect()
}

/// Add registered files to a table and report what was added.
fn insert_files(
    c: &mut Commit<'_>,
    table_id: i64,
    files: &[Listed],
    columns: &[LayoutColumn],
    ids: &HashMap<String, i64>,
    partition_id: Option<i64>,
    mapping_id: i64,
) -> Result<RegisterReport> {
    // Registered files keep their absolute paths: they do not live under the table path.
    let rows = new_files(files, columns, ids, partition_id.is_some());
    let added = insert_data_files(c, table_id, "", partition_id, Some(mapping_id), &rows)?;
    Ok(RegisterReport {
        snapshot: None,
        files_added: files.len(),
        files_removed: 0,
        rows_added: added.rows,
        bytes_added: added.bytes,
        columns_added: Vec::new(),
        partition_keys: Vec::new(),
        columns_skipped: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hive_segments() {
        let prefix = Path::from("lake/logs");
        let path = Path::from("lake/logs/dt=2026-03-04/region=eu%2Dwest/part-0.parquet");
        assert_eq!(
            hive_values(&prefix, &path),
            vec![
                ("dt".to_string(), Some("2026-03-04".to_string())),
                ("region".to_string(), Some("eu-west".to_string()))
            ]
        );
        let path = Path::from("lake/logs/dt=__HIVE_DEFAULT_PARTITION__/p.parquet");
        assert_eq!(hive_values(&prefix, &path), vec![("dt".to_string(), None)]);
    }

    #[test]
    fn infers_partition_types() {
        assert_eq!(infer_hive_type(&["2026-03-04", "2026-12-31"]), "date");
        assert_eq!(infer_hive_type(&["2025", "3", "-1", "0"]), "int64");
        assert_eq!(infer_hive_type(&["2025", "03"]), "varchar");
        assert_eq!(infer_hive_type(&["2026-13-45"]), "varchar");
        assert_eq!(infer_hive_type(&["eu", "2025"]), "varchar");
        assert_eq!(canonical_hive_value("int64", "+3"), "3");
    }

    #[test]
    fn skips_bookkeeping_files() {
        let prefix = Path::from("t");
        assert!(is_data_file(&prefix, &Path::from("t/a=1/x.parquet")));
        assert!(!is_data_file(&prefix, &Path::from("t/_SUCCESS")));
        assert!(!is_data_file(
            &prefix,
            &Path::from("t/_temporary/x.parquet")
        ));
        assert!(!is_data_file(&prefix, &Path::from("t/.x.parquet")));
        assert!(!is_data_file(&prefix, &Path::from("t/x.csv")));
    }
}
