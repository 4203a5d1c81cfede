//! Reading the catalog at a snapshot: schemas, tables, and the candidate files of a scan.

use std::collections::{HashMap, HashSet};

use crate::db::{Conn, OptionalExtension, Param, Value, params};
use crate::error::{Error, Result};
use crate::lake::Catalog;
use crate::model::{
    Bound, Column, ColumnStats, DataFile, DeleteFile, FileQuery, FileSet, PartitionField,
    SchemaEntry, SnapshotId, TableListing, TableMeta, TableSummary, Transform,
};
use crate::types::{StatsAffinity, is_nested, stats_affinity};

/// SQL condition: the row with alias `a` is live at snapshot parameter `?N`.
pub(crate) fn live(alias: &str, param: usize) -> String {
    format!(
        "{alias}.begin_snapshot <= ?{param} AND ({alias}.end_snapshot IS NULL OR {alias}.end_snapshot > ?{param})"
    )
}

/// Join a base path and a relative path with exactly one `/`.
pub(crate) fn join_path(base: &str, rel: &str) -> String {
    if base.is_empty() {
        return rel.to_string();
    }
    if base.ends_with('/') {
        format!("{base}{rel}")
    } else {
        format!("{base}/{rel}")
    }
}

fn resolve(base: &str, path: &str, is_relative: Option<i64>) -> String {
    if is_relative.unwrap_or(1) != 0 {
        join_path(base, path)
    } else {
        path.to_string()
    }
}

impl Catalog {
    /// The newest snapshot.
    pub fn current_snapshot(&self) -> Result<SnapshotId> {
        self.conn().query_row(
            "SELECT max(snapshot_id) FROM ducklake_snapshot",
            params![],
            |r| r.get(0),
        )
    }

    /// Schemas live at `snapshot`.
    pub fn list_schemas(&self, snapshot: SnapshotId) -> Result<Vec<SchemaEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT schema_id, schema_name FROM ducklake_schema s WHERE {} ORDER BY schema_name",
            live("s", 1)
        ))?;
        let rows = stmt.query_map(params![snapshot], |r| {
            Ok(SchemaEntry {
                schema_id: r.get(0)?,
                name: r.get(1)?,
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// Names of the tables in `schema` live at `snapshot`.
    pub fn table_names(&self, snapshot: SnapshotId, schema: &str) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT t.table_name FROM ducklake_table t JOIN ducklake_schema s ON s.schema_id = t.schema_id
             WHERE {} AND {} AND s.schema_name = ?2 ORDER BY t.table_name",
            live("t", 1),
            live("s", 1)
        ))?;
        let rows = stmt.query_map(params![snapshot, schema], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()
    }

    /// Every table live at `snapshot`, with its totals.
    pub fn list_tables(&self, snapshot: SnapshotId) -> Result<Vec<TableListing>> {
        let conn = self.conn();
        let mut stmt = conn.prepare(&format!(
            "SELECT s.schema_name, t.table_name, t.table_id,
                    (SELECT value FROM ducklake_metadata m WHERE m.key = 'strata.location' AND m.scope = 'table' AND m.scope_id = t.table_id),
                    (SELECT count(*) FROM ducklake_data_file f WHERE f.table_id = t.table_id AND {f}),
                    (SELECT coalesce(sum(record_count), 0) FROM ducklake_data_file f WHERE f.table_id = t.table_id AND {f}),
                    (SELECT coalesce(sum(file_size_bytes), 0) FROM ducklake_data_file f WHERE f.table_id = t.table_id AND {f})
             FROM ducklake_table t JOIN ducklake_schema s ON s.schema_id = t.schema_id
             WHERE {t} AND {s} ORDER BY s.schema_name, t.table_name",
            f = live("f", 1),
            t = live("t", 1),
            s = live("s", 1)
        ))?;
        let rows = stmt.query_map(params![snapshot], |r| {
            Ok(TableListing {
                schema: r.get(0)?,
                name: r.get(1)?,
                location: r.get(3)?,
                summary: TableSummary {
                    files: r.get(4)?,
                    rows: r.get(5)?,
                    bytes: r.get(6)?,
                },
            })
        })?;
        rows.collect::<Result<_, _>>()
    }

    /// The table `schema.name` at `snapshot`, or `None` if it does not exist.
    ///
    /// A table that exists at a committed snapshot is the same whenever it is read (commits
    /// only add snapshots), so it is read from the catalog database once per snapshot and kept:
    /// every statement looks up the tables it names, and a dashboard names the same ones all
    /// day. Reads inside a transaction ([`Catalog::table_in`]) are never kept.
    pub fn table(
        &self,
        snapshot: SnapshotId,
        schema: &str,
        name: &str,
    ) -> Result<Option<TableMeta>> {
        let key = (snapshot, schema.to_string(), name.to_string());
        let kept = |tables: &HashMap<_, TableMeta>| tables.get(&key).cloned();
        if let Some(meta) = self.tables.lock().ok().and_then(|t| kept(&t)) {
            return Ok(Some(meta));
        }
        // Kept only when the snapshot was committed before the table was read: a snapshot id
        // not yet committed could still be taken by a commit that changes the table.
        let committed = snapshot <= self.current_snapshot()?;
        let conn = self.conn();
        let meta = self.table_in(&conn, snapshot, schema, name)?;
        drop(conn);
        if let Some(meta) = &meta
            && committed
            && let Ok(mut tables) = self.tables.lock()
        {
            if tables.len() >= crate::lake::TABLES_KEPT {
                tables.clear();
            }
            tables.insert(key, meta.clone());
        }
        Ok(meta)
    }

    pub(crate) fn table_in(
        &self,
        conn: &Conn,
        snapshot: SnapshotId,
        schema: &str,
        name: &str,
    ) -> Result<Option<TableMeta>> {
        let row = conn
            .query_row(
                &format!(
                    "SELECT t.table_id, t.path, t.path_is_relative, s.path, s.path_is_relative, s.schema_name, t.table_name
                     FROM ducklake_table t JOIN ducklake_schema s ON s.schema_id = t.schema_id
                     WHERE {} AND {} AND s.schema_name = ?2 AND t.table_name = ?3",
                    live("t", 1),
                    live("s", 1)
                ),
                params![snapshot, schema, name],
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<Option<String>>(1)?,
                        r.get::<Option<i64>>(2)?,
                        r.get::<Option<String>>(3)?,
                        r.get::<Option<i64>>(4)?,
                        r.get::<String>(5)?,
                        r.get::<String>(6)?,
                    ))
                },
            )
            .optional()?;
        let Some((table_id, tpath, trel, spath, srel, schema, name)) = row else {
            return Ok(None);
        };
        let schema_path = resolve(self.data_path(), &spath.unwrap_or_default(), srel);
        let path = resolve(&schema_path, &tpath.unwrap_or_default(), trel);

        let from_path: HashSet<i64> = {
            let mut stmt = conn.prepare(
                "SELECT DISTINCT n.target_field_id FROM ducklake_name_mapping n
                 JOIN ducklake_column_mapping m ON m.mapping_id = n.mapping_id
                 WHERE m.table_id = ?1 AND n.is_partition AND n.parent_column IS NULL",
            )?;
            let rows = stmt.query_map(params![table_id], |r| r.get::<i64>(0))?;
            rows.collect::<Result<_, _>>()?
        };
        let mut columns = Vec::new();
        {
            let mut stmt = conn.prepare(&format!(
                "SELECT column_id, column_name, column_type, nulls_allowed FROM ducklake_column c
                 WHERE c.table_id = ?2 AND c.parent_column IS NULL AND {} ORDER BY column_order, column_id",
                live("c", 1)
            ))?;
            let rows = stmt.query_map(params![snapshot, table_id], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<String>(2)?,
                    r.get::<Option<i64>>(3)?,
                ))
            })?;
            let rows: Vec<_> = rows.collect::<Result<_, _>>()?;
            // Nested columns' children are rows of their own (parent first, depth first).
            let children = if rows.iter().any(|r| is_nested(&r.2)) {
                crate::nested::nested_rows(conn, snapshot, table_id)?
            } else {
                HashMap::new()
            };
            for (column_id, name, type_name, nullable) in rows {
                let data_type =
                    crate::nested::column_type(&name, column_id, &type_name, &children)?;
                columns.push(Column {
                    column_id,
                    name,
                    type_name,
                    data_type,
                    nullable: nullable.unwrap_or(1) != 0,
                    from_path: from_path.contains(&column_id),
                });
            }
        }
        let mut partition = Vec::new();
        {
            let mut stmt = conn.prepare(&format!(
                "SELECT pc.partition_key_index, pc.column_id, pc.transform
                 FROM ducklake_partition_info pi JOIN ducklake_partition_column pc
                   ON pc.partition_id = pi.partition_id AND pc.table_id = pi.table_id
                 WHERE pi.table_id = ?2 AND {} ORDER BY pc.partition_key_index",
                live("pi", 1)
            ))?;
            let rows = stmt.query_map(params![snapshot, table_id], |r| {
                Ok((r.get::<i64>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?))
            })?;
            for row in rows {
                let (key_index, column_id, transform) = row?;
                let transform =
                    Transform::parse(&transform).ok_or_else(|| Error::UnsupportedFeature {
                        table: format!("{schema}.{name}"),
                        feature: format!("partition transform '{transform}'"),
                    })?;
                partition.push(PartitionField {
                    key_index,
                    column_id,
                    transform,
                });
            }
        }
        let location = conn
            .query_row(
                "SELECT value FROM ducklake_metadata WHERE key = 'strata.location' AND scope = 'table' AND scope_id = ?1",
                params![table_id],
                |r| r.get::<String>(0),
            )
            .optional()?;
        let properties = {
            let mut stmt = conn.prepare(&format!(
                "SELECT key, value FROM ducklake_tag t WHERE t.object_id = ?2 AND {} ORDER BY key",
                live("t", 1)
            ))?;
            let rows = stmt.query_map(params![snapshot, table_id], |r| {
                Ok((r.get::<String>(0)?, r.get::<String>(1)?))
            })?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        Ok(Some(TableMeta {
            table_id,
            schema,
            name,
            columns,
            partition,
            location,
            path,
            snapshot,
            properties,
        }))
    }

    /// Like [`Catalog::table`], but a missing table is an error.
    pub fn require_table(
        &self,
        snapshot: SnapshotId,
        schema: &str,
        name: &str,
    ) -> Result<TableMeta> {
        self.table(snapshot, schema, name)?
            .ok_or_else(|| Error::TableNotFound {
                schema: schema.to_string(),
                table: name.to_string(),
            })
    }

    /// Totals of a table at its snapshot.
    pub fn table_summary(&self, table: &TableMeta) -> Result<TableSummary> {
        let conn = self.conn();
        conn.query_row(
            &format!(
                "SELECT count(*), coalesce(sum(record_count), 0), coalesce(sum(file_size_bytes), 0)
                 FROM ducklake_data_file f WHERE f.table_id = ?2 AND {}",
                live("f", 1)
            ),
            params![table.snapshot, table.table_id],
            |r| {
                Ok(TableSummary {
                    files: r.get(0)?,
                    rows: r.get(1)?,
                    bytes: r.get(2)?,
                })
            },
        )
    }

    /// The files of `table` whose statistics may satisfy `query.ranges`, with their statistics
    /// and partition values, and the number of live files the table has in all.
    pub fn candidate_files(&self, table: &TableMeta, query: &FileQuery) -> Result<FileSet> {
        let conn = self.conn();
        let snapshot = table.snapshot;
        let total_files: i64 = conn.query_row(
            &format!(
                "SELECT count(*) FROM ducklake_data_file f WHERE f.table_id = ?2 AND {}",
                live("f", 1)
            ),
            params![snapshot, table.table_id],
            |r| r.get(0),
        )?;

        let mut sql = format!(
            "SELECT f.data_file_id, f.path, f.path_is_relative, f.record_count, f.file_size_bytes, f.footer_size, m.metadata_bytes
             FROM ducklake_data_file f LEFT JOIN strata_data_file_metadata m USING (data_file_id)
             WHERE f.table_id = ?2 AND {}",
            live("f", 1)
        );
        let mut values: Vec<Value> = vec![Value::Int(snapshot), Value::Int(table.table_id)];
        for range in &query.ranges {
            let Some(column) = table.column(range.column_id) else {
                continue;
            };
            let affinity = stats_affinity(&column.type_name);
            let cast = |placeholder: String| match affinity {
                StatsAffinity::Integer => format!("CAST({placeholder} AS {})", conn.integer_type()),
                StatsAffinity::Real => format!("CAST({placeholder} AS {})", conn.real_type()),
                _ => placeholder,
            };
            if affinity == StatsAffinity::None {
                continue;
            }
            // PostgreSQL may run the NOT EXISTS as an anti-join that filters the statistics of
            // every table before joining them to this table's files, and so cast another
            // table's or column's statistics (a timestamp as BIGINT fails the query, found by
            // the load driver on a PostgreSQL catalog); the CASE makes sure only this column's
            // statistics are ever cast.
            values.push(Value::Int(range.column_id));
            let column_param = values.len();
            let mut violations = Vec::new();
            for bound in &range.bounds {
                let (stat, op, value) = match bound {
                    Bound::Lower { value, strict } => {
                        ("s.max_value", if *strict { "<=" } else { "<" }, value)
                    }
                    Bound::Upper { value, strict } => {
                        ("s.min_value", if *strict { ">=" } else { ">" }, value)
                    }
                };
                values.push(Value::Text(value.clone()));
                violations.push(format!(
                    "{} {op} {}",
                    cast(format!(
                        "CASE WHEN s.table_id = ?2 AND s.column_id = ?{column_param} THEN {stat} END"
                    )),
                    cast(format!("?{}", values.len()))
                ));
            }
            if violations.is_empty() {
                values.pop();
                continue;
            }
            // The file id names the table: with `s.table_id` in the condition as well, SQLite
            // looked up by (table_id, column_id), every file's statistics row for each file
            // (quadratic: 16 ms instead of 1 ms over 250 files).
            sql.push_str(&format!(
                " AND NOT EXISTS (SELECT 1 FROM ducklake_file_column_stats s
                   WHERE s.data_file_id = f.data_file_id
                     AND s.column_id = ?{column_param} AND ({}))",
                violations.join(" OR ")
            ));
        }
        sql.push_str(" ORDER BY f.data_file_id");

        let mut files = Vec::new();
        let mut index: HashMap<i64, usize> = HashMap::new();
        {
            let mut stmt = conn.prepare(&sql)?;
            let rows = stmt.query_map(
                &values.iter().map(|v| v as &dyn Param).collect::<Vec<_>>(),
                |r| {
                    Ok((
                        r.get::<i64>(0)?,
                        r.get::<String>(1)?,
                        r.get::<Option<i64>>(2)?,
                        r.get::<Option<i64>>(3)?,
                        r.get::<Option<i64>>(4)?,
                        r.get::<Option<i64>>(5)?,
                        r.get::<Option<i64>>(6)?,
                    ))
                },
            )?;
            for row in rows {
                let (id, path, rel, records, size, footer, metadata_bytes) = row?;
                index.insert(id, files.len());
                files.push(DataFile {
                    data_file_id: id,
                    path: resolve(&table.path, &path, rel),
                    record_count: records.unwrap_or(0),
                    file_size: size.unwrap_or(0),
                    footer_size: footer,
                    metadata_bytes,
                    partition_values: Vec::new(),
                    stats: Vec::new(),
                    deletes: None,
                    inlined_deletes: Vec::new(),
                });
            }
        }
        if files.is_empty() {
            return Ok(FileSet {
                total_files: total_files as usize,
                files,
            });
        }

        // Statistics and partition values of the candidates only: all files of the table when
        // nothing was pruned, otherwise the candidates' ids as a JSON array.
        let all = files.len() as i64 == total_files;
        let ids_json = format!(
            "[{}]",
            files
                .iter()
                .map(|f| f.data_file_id.to_string())
                .collect::<Vec<_>>()
                .join(",")
        );
        let file_filter = if all {
            "1 = 1".to_string()
        } else {
            "data_file_id IN (SELECT value FROM json_each(?2))".to_string()
        };
        // `?2` (the candidate ids) is always bound; the `?2 IS NULL OR 1 = 1` term keeps it
        // referenced when every file is a candidate and the id filter is left out.
        let second: Value = if all {
            Value::Null
        } else {
            Value::Text(ids_json)
        };
        if query.stats_columns.as_ref().is_none_or(|c| !c.is_empty()) {
            let rows = column_stats_rows(
                &conn,
                table.table_id,
                &file_filter,
                query.stats_columns.as_deref(),
                second.clone(),
            )?;
            for (id, stats) in rows {
                if let Some(&i) = index.get(&id) {
                    files[i].stats.push(stats);
                }
            }
        }
        {
            let mut stmt = conn.prepare(&format!(
                "SELECT data_file_id, partition_key_index, partition_value FROM ducklake_file_partition_value
                 WHERE table_id = ?1 AND {file_filter} AND (?2 IS NULL OR 1 = 1)"
            ))?;
            let rows = stmt.query_map(params![table.table_id, second], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<i64>(1)?,
                    r.get::<Option<String>>(2)?,
                ))
            })?;
            for row in rows {
                let (id, key, value) = row?;
                if let Some(&i) = index.get(&id) {
                    files[i].partition_values.push((key, value));
                }
            }
        }
        {
            let mut stmt = conn.prepare(&format!(
                "SELECT d.data_file_id, d.path, d.path_is_relative, d.file_size_bytes, d.delete_count, d.partial_max, d.format
                 FROM ducklake_delete_file d WHERE d.table_id = ?2 AND {}",
                live("d", 1)
            ))?;
            let rows = stmt.query_map(params![snapshot, table.table_id], |r| {
                Ok((
                    r.get::<i64>(0)?,
                    r.get::<String>(1)?,
                    r.get::<Option<i64>>(2)?,
                    r.get::<Option<i64>>(3)?,
                    r.get::<Option<i64>>(4)?,
                    r.get::<Option<i64>>(5)?,
                    r.get::<Option<String>>(6)?,
                ))
            })?;
            for row in rows {
                let (id, path, rel, size, count, partial_max, format) = row?;
                let Some(&i) = index.get(&id) else {
                    continue;
                };
                if format.as_deref().is_some_and(|f| f != "parquet") {
                    return Err(Error::UnsupportedFeature {
                        table: format!("{}.{}", table.schema, table.name),
                        feature: format!(
                            "a delete file of format '{}'",
                            format.unwrap_or_default()
                        ),
                    });
                }
                // A partial file holds deletions up to snapshot `partial_max`; read before
                // that, only some of its rows apply.
                let complete = partial_max.is_none_or(|max| snapshot >= max);
                files[i].deletes = Some(DeleteFile {
                    path: resolve(&table.path, &path, rel),
                    file_size: size.unwrap_or(0),
                    delete_count: count.filter(|_| complete),
                    partial: partial_max.is_some(),
                    snapshot,
                });
            }
        }
        // Small deletes DuckDB kept in the catalog database: (data file, position) rows.
        if let Some(inlined_deletes) = inlined_delete_table(&conn, table.table_id)? {
            let mut stmt = conn.prepare(&format!(
                "SELECT file_id, row_id FROM \"{inlined_deletes}\" WHERE begin_snapshot <= ?1 ORDER BY file_id, row_id"
            ))?;
            let rows = stmt.query_map(params![snapshot], |r| {
                Ok((r.get::<i64>(0)?, r.get::<i64>(1)?))
            })?;
            for row in rows {
                let (id, position) = row?;
                if let Some(&i) = index.get(&id) {
                    files[i].inlined_deletes.push(position);
                }
            }
        }
        Ok(FileSet {
            total_files: total_files as usize,
            files,
        })
    }

    /// The statistics of `columns` in every file of `table` ever recorded, live at its
    /// snapshot or not, as (data file id, statistics): what an in-memory index of the table's
    /// live files (which knows their ids) keeps for the columns queries filter on.
    pub fn file_column_stats(
        &self,
        table: &TableMeta,
        columns: &[i64],
    ) -> Result<Vec<(i64, ColumnStats)>> {
        column_stats_rows(
            &self.conn(),
            table.table_id,
            "1 = 1",
            Some(columns),
            Value::Null,
        )
    }

    /// Rows DuckDB inlined into the catalog database for `table` (its small inserts), live at
    /// the table's snapshot: one entry a row, each value as text (`None`: NULL) in the order of
    /// `table.columns`. Inlined tables are kept per schema version; their columns are matched
    /// to the table's by name, and a column an older version lacks is NULL.
    pub fn inlined_rows(&self, table: &TableMeta) -> Result<Vec<Vec<Option<String>>>> {
        let conn = self.conn();
        let mut out = Vec::new();
        for inlined_table in inlined_data_tables(&conn, table.table_id)? {
            let quoted = inlined_table.replace('"', "\"\"");
            // (name, SQL type); on PostgreSQL DuckDB inlines strings as `bytea`.
            let present = conn.table_columns(&inlined_table)?;
            if present.is_empty() {
                continue;
            }
            let select: Vec<String> = table
                .columns
                .iter()
                .map(|c| {
                    match present
                        .iter()
                        .find(|(p, _)| p.eq_ignore_ascii_case(&c.name))
                    {
                        Some((p, ty)) if ty == "bytea" => {
                            format!("convert_from(i.\"{}\", 'UTF8')", p.replace('"', "\"\""))
                        }
                        Some((p, _)) => format!("CAST(i.\"{}\" AS TEXT)", p.replace('"', "\"\"")),
                        None => "NULL".to_string(),
                    }
                })
                .collect();
            let mut stmt = conn.prepare(&format!(
                "SELECT {} FROM \"{quoted}\" i WHERE {} ORDER BY i.row_id",
                select.join(", "),
                live("i", 1)
            ))?;
            let n = table.columns.len();
            let rows = stmt.query_map(params![table.snapshot], |r| {
                (0..n)
                    .map(|k| r.get::<Option<String>>(k))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            for row in rows {
                out.push(row?);
            }
        }
        Ok(out)
    }
}

/// The tables (one per schema version, oldest first) in which DuckDB inlined rows of table
/// `table_id` into the catalog database.
pub(crate) fn inlined_data_tables(conn: &Conn, table_id: i64) -> Result<Vec<String>> {
    let mut stmt = conn.prepare(
        "SELECT table_name FROM ducklake_inlined_data_tables WHERE table_id = ?1 ORDER BY schema_version",
    )?;
    let rows = stmt.query_map(params![table_id], |r| r.get(0))?;
    rows.collect::<Result<_, _>>()
}

/// The table in which DuckDB keeps small deletes from files of table `table_id`
/// (`file_id`, `row_id` = position, `begin_snapshot`), if it made one.
pub(crate) fn inlined_delete_table(conn: &Conn, table_id: i64) -> Result<Option<String>> {
    let name = format!("ducklake_inlined_delete_{table_id}");
    Ok(conn.table_exists(&name)?.then_some(name))
}

/// Rows of `ducklake_file_column_stats` for table `table_id`, files chosen by `file_filter`
/// (which may use `?2`, bound to `second`), columns by `columns` (`None`: all).
fn column_stats_rows(
    conn: &Conn,
    table_id: i64,
    file_filter: &str,
    columns: Option<&[i64]>,
    second: Value,
) -> Result<Vec<(i64, ColumnStats)>> {
    let column_filter = match columns {
        Some([]) => "column_id IN (NULL)".to_string(),
        Some(cols) => format!(
            "column_id IN ({})",
            cols.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",")
        ),
        None => "1 = 1".to_string(),
    };
    let mut stmt = conn.prepare(&format!(
        "SELECT data_file_id, column_id, min_value, max_value, null_count, value_count, column_size_bytes
         FROM ducklake_file_column_stats
         WHERE table_id = ?1 AND {file_filter} AND {column_filter} AND (?2 IS NULL OR 1 = 1)"
    ))?;
    let rows = stmt.query_map(params![table_id, second], |r| {
        Ok((
            r.get::<i64>(0)?,
            ColumnStats {
                column_id: r.get(1)?,
                min: r.get(2)?,
                max: r.get(3)?,
                null_count: r.get(4)?,
                value_count: r.get(5)?,
                size_bytes: r.get(6)?,
            },
        ))
    })?;
    rows.collect()
}
