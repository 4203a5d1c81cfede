//! Adding data files to a table inside a commit: the file rows, their column statistics and
//! partition values, and the table statistics they widen. Registration (files in place) and
//! writes (files Strata wrote) share it.

use std::collections::HashMap;

use crate::commit::Commit;
use crate::db::params;
use crate::error::Result;
use crate::model::ColumnStats;
use crate::types::{StatsAffinity, stats_affinity};

/// A data file to add to a table.
#[derive(Debug, Clone, PartialEq)]
pub struct NewFile {
    /// Absolute path or URL. Stored relative to the table path when it lies below it.
    pub path: String,
    pub record_count: i64,
    pub file_size: i64,
    /// Length of the Thrift footer, without the 8-byte tail.
    pub footer_size: i64,
    /// Bytes of page index, footer and tail at the end of the file.
    pub metadata_bytes: i64,
    /// Partition values by partition key index (`None`: a NULL partition).
    pub partition_values: Vec<(i64, Option<String>)>,
    /// Statistics of every column of the table, with `column_id` set.
    pub stats: Vec<ColumnStats>,
}

/// What adding files added.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Added {
    pub rows: i64,
    pub bytes: i64,
}

/// DuckLake type names of the live columns of table `table_id`, by column id.
fn column_types(c: &Commit<'_>, table_id: i64) -> Result<HashMap<i64, String>> {
    let mut stmt = c.tx.prepare(
        // Not nested columns themselves: only their leaves have statistics (as DuckDB keeps
        // them).
        "SELECT column_id, column_type FROM ducklake_column WHERE table_id = ?1 AND end_snapshot IS NULL
         AND lower(column_type) NOT IN ('list', 'struct', 'map')",
    )?;
    let rows = stmt.query_map(params![table_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    rows.collect::<Result<_, _>>()
}

/// Insert `files` into table `table_id` (whose files live under `table_path`), with their
/// statistics and partition values, and update the table statistics.
pub(crate) fn insert_data_files(
    c: &mut Commit<'_>,
    table_id: i64,
    table_path: &str,
    partition_id: Option<i64>,
    mapping_id: Option<i64>,
    files: &[NewFile],
) -> Result<Added> {
    let (mut next_row_id,): (i64,) = c.tx.query_row(
        "SELECT coalesce(max(next_row_id), 0) FROM ducklake_table_stats WHERE table_id = ?1",
        params![table_id],
        |r| Ok((r.get(0)?,)),
    )?;
    let types = column_types(c, table_id)?;
    let mut added = Added::default();
    let snap = c.snapshot_id;
    let mut table_stats: HashMap<i64, ColumnStats> = HashMap::new();
    let mut has_nulls: HashMap<i64, bool> = HashMap::new();
    // Ids first: allocating needs `c` mutably, the prepared statements borrow it.
    let file_ids: Vec<i64> = files.iter().map(|_| c.file_id()).collect();
    {
        let mut insert_file = c.tx.prepare(
            "INSERT INTO ducklake_data_file VALUES (?1, ?2, ?3, NULL, NULL, ?4, ?5, 'parquet', ?6, ?7, ?8, ?9, ?10, NULL, ?11, NULL)",
        )?;
        let mut insert_stats = c.tx.prepare(
            "INSERT INTO ducklake_file_column_stats VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, NULL)",
        )?;
        let mut insert_value =
            c.tx.prepare("INSERT INTO ducklake_file_partition_value VALUES (?1, ?2, ?3, ?4)")?;
        let mut insert_metadata =
            c.tx.prepare("INSERT INTO strata_data_file_metadata VALUES (?1, ?2)")?;
        for (f, file_id) in files.iter().zip(file_ids) {
            let (path, relative) = match f.path.strip_prefix(table_path) {
                Some(rel) if !table_path.is_empty() && !rel.is_empty() => (rel, true),
                _ => (f.path.as_str(), false),
            };
            insert_file.insert(params![
                file_id,
                table_id,
                snap,
                path,
                relative,
                f.record_count,
                f.file_size,
                f.footer_size,
                next_row_id,
                partition_id,
                mapping_id
            ])?;
            insert_metadata.insert(params![file_id, f.metadata_bytes])?;
            next_row_id += f.record_count;
            added.rows += f.record_count;
            added.bytes += f.file_size;
            for stats in &f.stats {
                insert_stats.insert(params![
                    file_id,
                    table_id,
                    stats.column_id,
                    stats.size_bytes,
                    stats.value_count,
                    stats.null_count,
                    stats.min,
                    stats.max
                ])?;
                let type_name = types
                    .get(&stats.column_id)
                    .map(String::as_str)
                    .unwrap_or("");
                merge_table_stats(
                    &mut table_stats,
                    &mut has_nulls,
                    type_name,
                    stats,
                    f.record_count,
                );
            }
            if partition_id.is_some() {
                for (key_index, value) in &f.partition_values {
                    insert_value.insert(params![file_id, table_id, key_index, value])?;
                }
            }
        }
    }
    c.tx.execute(
        "UPDATE ducklake_table_stats SET record_count = record_count + ?2, next_row_id = ?3, file_size_bytes = file_size_bytes + ?4 WHERE table_id = ?1",
        params![table_id, added.rows, next_row_id, added.bytes],
    )?;
    update_table_column_stats(c, table_id, &table_stats, &has_nulls, &types)?;
    Ok(added)
}

/// Compare two encoded values of one type; `None` when they cannot be compared.
pub(crate) fn compare_encoded(type_name: &str, a: &str, b: &str) -> Option<std::cmp::Ordering> {
    match stats_affinity(type_name) {
        StatsAffinity::Integer => Some(a.parse::<i128>().ok()?.cmp(&b.parse::<i128>().ok()?)),
        StatsAffinity::Real => a.parse::<f64>().ok()?.partial_cmp(&b.parse::<f64>().ok()?),
        StatsAffinity::Text => Some(a.cmp(b)),
        StatsAffinity::None => None,
    }
}

fn merge_table_stats(
    acc: &mut HashMap<i64, ColumnStats>,
    has_nulls: &mut HashMap<i64, bool>,
    type_name: &str,
    stats: &ColumnStats,
    rows: i64,
) {
    *has_nulls.entry(stats.column_id).or_default() |= stats.null_count.is_none_or(|n| n > 0);
    let all_null = stats.null_count == Some(rows);
    let entry = acc.entry(stats.column_id).or_insert_with(|| ColumnStats {
        column_id: stats.column_id,
        min: None,
        max: None,
        // Marks "no bound seen yet"; cleared once a bound is known to be missing.
        value_count: Some(0),
        ..Default::default()
    });
    if entry.value_count.is_none() || all_null {
        return;
    }
    let (Some(min), Some(max)) = (&stats.min, &stats.max) else {
        *entry = ColumnStats {
            column_id: stats.column_id,
            value_count: None,
            ..Default::default()
        };
        return;
    };
    let pick = |cur: &Option<String>, new: &String, want: std::cmp::Ordering| match cur {
        None => Some(Some(new.clone())),
        Some(c) => compare_encoded(type_name, new, c).map(|o| {
            if o == want {
                Some(new.clone())
            } else {
                Some(c.clone())
            }
        }),
    };
    match (
        pick(&entry.min, min, std::cmp::Ordering::Less),
        pick(&entry.max, max, std::cmp::Ordering::Greater),
    ) {
        (Some(mn), Some(mx)) => {
            entry.min = mn;
            entry.max = mx;
        }
        _ => {
            *entry = ColumnStats {
                column_id: stats.column_id,
                value_count: None,
                ..Default::default()
            };
        }
    }
}

/// Recompute `ducklake_table_column_stats` of a table from its live files, after files were
/// removed (bounds may shrink; DuckDB answers `min`/`max` from these).
pub(crate) fn recompute_table_column_stats(c: &mut Commit<'_>, table_id: i64) -> Result<()> {
    let types = column_types(c, table_id)?;
    let mut table_stats: HashMap<i64, ColumnStats> = HashMap::new();
    let mut has_nulls: HashMap<i64, bool> = HashMap::new();
    let mut files_with_stats: HashMap<i64, i64> = HashMap::new();
    {
        let mut stmt = c.tx.prepare(
            "SELECT s.column_id, s.min_value, s.max_value, s.null_count, s.value_count, f.record_count
             FROM ducklake_file_column_stats s JOIN ducklake_data_file f USING (data_file_id)
             WHERE f.table_id = ?1 AND f.end_snapshot IS NULL",
        )?;
        let rows = stmt.query_map(params![table_id], |r| {
            Ok((
                ColumnStats {
                    column_id: r.get(0)?,
                    min: r.get(1)?,
                    max: r.get(2)?,
                    null_count: r.get(3)?,
                    value_count: r.get(4)?,
                    size_bytes: None,
                },
                r.get::<Option<i64>>(5)?.unwrap_or(0),
            ))
        })?;
        for row in rows {
            let (stats, records) = row?;
            let type_name = types
                .get(&stats.column_id)
                .map(String::as_str)
                .unwrap_or("");
            *files_with_stats.entry(stats.column_id).or_default() += 1;
            merge_table_stats(&mut table_stats, &mut has_nulls, type_name, &stats, records);
        }
    }
    // Files written before a column was added have no statistics for it: their rows are NULL.
    let live_files: i64 = c.tx.query_row(
        "SELECT count(*) FROM ducklake_data_file WHERE table_id = ?1 AND end_snapshot IS NULL",
        params![table_id],
        |r| r.get(0),
    )?;
    if live_files > 0 {
        for column_id in types.keys() {
            if files_with_stats.get(column_id).copied().unwrap_or(0) < live_files {
                has_nulls.insert(*column_id, true);
                table_stats
                    .entry(*column_id)
                    .or_insert_with(|| ColumnStats {
                        column_id: *column_id,
                        // No bound seen (the rows are NULL), as merge_table_stats starts.
                        value_count: Some(0),
                        ..Default::default()
                    });
            }
        }
    }
    c.tx.execute(
        "DELETE FROM ducklake_table_column_stats WHERE table_id = ?1",
        params![table_id],
    )?;
    update_table_column_stats(c, table_id, &table_stats, &has_nulls, &types)
}

/// Fold the new files' bounds into `ducklake_table_column_stats` (bounds only widen).
fn update_table_column_stats(
    c: &mut Commit<'_>,
    table_id: i64,
    stats: &HashMap<i64, ColumnStats>,
    has_nulls: &HashMap<i64, bool>,
    types: &HashMap<i64, String>,
) -> Result<()> {
    for (column_id, s) in stats {
        let type_name = types.get(column_id).cloned().unwrap_or_default();
        let existing: Option<(Option<i64>, Option<String>, Option<String>)> = c
            .tx
            .query_row(
                "SELECT contains_null, min_value, max_value FROM ducklake_table_column_stats WHERE table_id = ?1 AND column_id = ?2",
                params![table_id, column_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .ok();
        let nulls = has_nulls.get(column_id).copied().unwrap_or(true);
        let unknown = s.value_count.is_none();
        let (contains_null, min, max) = match existing {
            None => (
                nulls,
                if unknown { None } else { s.min.clone() },
                if unknown { None } else { s.max.clone() },
            ),
            Some((old_null, old_min, old_max)) => {
                let widen = |old: Option<String>, new: &Option<String>, want| match (old, new) {
                    (Some(o), Some(n)) if !unknown => match compare_encoded(&type_name, n, &o) {
                        Some(ord) if ord == want => Some(n.clone()),
                        Some(_) => Some(o),
                        None => None,
                    },
                    // Existing rows without a bound, or new rows without one: unknown.
                    (Some(o), None) if !unknown && s.min.is_none() && s.max.is_none() => Some(o),
                    _ => None,
                };
                (
                    nulls || old_null.unwrap_or(1) != 0,
                    widen(old_min, &s.min, std::cmp::Ordering::Less),
                    widen(old_max, &s.max, std::cmp::Ordering::Greater),
                )
            }
        };
        c.tx.execute(
            "DELETE FROM ducklake_table_column_stats WHERE table_id = ?1 AND column_id = ?2",
            params![table_id, column_id],
        )?;
        c.tx.execute(
            "INSERT INTO ducklake_table_column_stats VALUES (?1, ?2, ?3, NULL, ?4, ?5, NULL)",
            params![table_id, column_id, contains_null, min, max],
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_encoded_values_by_type() {
        use std::cmp::Ordering::*;
        assert_eq!(compare_encoded("int64", "10", "9"), Some(Greater));
        assert_eq!(compare_encoded("varchar", "10", "9"), Some(Less));
        assert_eq!(compare_encoded("float64", "-1.5", "1"), Some(Less));
    }
}
