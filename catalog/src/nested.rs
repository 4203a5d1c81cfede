//! Nested columns (lists, structs, maps) in the catalog, as DuckLake keeps them: a
//! `ducklake_column` row per child, column ids in pre-order (a parent, then its children depth
//! first; the Parquet field ids DuckDB writes), and name-mapping entries for the children of
//! registered files. Their types: `types.rs`.

use std::collections::HashMap;

use arrow::datatypes::DataType;

use crate::commit::Commit;
use crate::db::{Conn, params};
use crate::error::Result;
use crate::model::SnapshotId;
use crate::read::live;
use crate::types::{arrow_type, is_nested, nested_arrow_type, nested_children, registered_type};

/// Children of nested columns by parent column id, in order: (column id, name, DuckLake type).
pub(crate) type NestedRows = HashMap<i64, Vec<(i64, String, String)>>;

/// Children rows of a table's nested columns at `snapshot` (see `NestedRows`).
pub(crate) fn nested_rows(conn: &Conn, snapshot: SnapshotId, table_id: i64) -> Result<NestedRows> {
    let mut stmt = conn.prepare(&format!(
        "SELECT parent_column, column_id, column_name, column_type FROM ducklake_column c
         WHERE c.table_id = ?2 AND c.parent_column IS NOT NULL AND {} ORDER BY column_order, column_id",
        live("c", 1)
    ))?;
    let rows = stmt.query_map(params![snapshot, table_id], |r| {
        Ok((
            r.get::<i64>(0)?,
            r.get::<i64>(1)?,
            r.get::<String>(2)?,
            r.get::<String>(3)?,
        ))
    })?;
    let mut children = NestedRows::new();
    for row in rows {
        let (parent, id, name, type_name) = row?;
        children
            .entry(parent)
            .or_default()
            .push((id, name, type_name));
    }
    Ok(children)
}

/// The Arrow type of column `column_id`: nested ones built from their children's rows.
pub(crate) fn column_type(
    name: &str,
    column_id: i64,
    type_name: &str,
    children: &NestedRows,
) -> Result<DataType> {
    if !is_nested(type_name) {
        return arrow_type(name, type_name);
    }
    let kids = children
        .get(&column_id)
        .map(|kids| {
            kids.iter()
                .map(|(id, child, t)| {
                    Ok((
                        child.clone(),
                        column_type(&format!("{name}.{child}"), *id, t, children)?,
                    ))
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?
        .unwrap_or_default();
    nested_arrow_type(name, type_name, kids)
}

/// The `ducklake_column` rows of a nested column's children (none for other columns).
pub(crate) fn insert_children(
    c: &mut Commit<'_>,
    table_id: i64,
    parent: i64,
    path: &str,
    data_type: &DataType,
    next: &mut i64,
) -> Result<()> {
    for (name, child) in nested_children(data_type) {
        let id = *next;
        *next += 1;
        let child_path = format!("{path}.{name}");
        let type_name = registered_type(&child_path, &child)?;
        c.tx.execute(
            "INSERT INTO ducklake_column VALUES (?1, ?2, NULL, ?3, ?1, ?4, ?5, NULL, 'NULL', TRUE, ?6, 'literal', 'duckdb')",
            params![id, c.snapshot_id, table_id, name, type_name, parent],
        )?;
        insert_children(c, table_id, id, &child_path, &child, next)?;
    }
    Ok(())
}

/// Name-mapping entries of a mapped column's children (none for other columns): entries are
/// numbered in pre-order within the mapping; a child points at its parent's
/// entry. A list's element is matched as `list` (whatever the file calls it), as DuckDB's
/// `ducklake_add_data_files` maps it.
pub(crate) fn map_children(
    c: &Commit<'_>,
    mapping_id: i64,
    children: &NestedRows,
    parent_entry: i64,
    parent: (i64, &str),
    entry: &mut i64,
) -> Result<()> {
    for (id, name, type_name) in children.get(&parent.0).into_iter().flatten() {
        let source = if parent.1.eq_ignore_ascii_case("list") {
            "list"
        } else {
            name.as_str()
        };
        let this = *entry;
        *entry += 1;
        c.tx.execute(
            "INSERT INTO ducklake_name_mapping VALUES (?1, ?2, ?3, ?4, ?5, FALSE)",
            params![mapping_id, this, source, *id, parent_entry],
        )?;
        map_children(c, mapping_id, children, this, (*id, type_name), entry)?;
    }
    Ok(())
}

/// The live children of column `column_id`, theirs, and so on.
pub(crate) fn descendants(c: &Commit<'_>, table_id: i64, column_id: i64) -> Result<Vec<i64>> {
    let mut found = Vec::new();
    let mut parents = vec![column_id];
    while let Some(parent) = parents.pop() {
        let mut stmt = c.tx.prepare(
            "SELECT column_id FROM ducklake_column WHERE table_id = ?1 AND parent_column = ?2 AND end_snapshot IS NULL",
        )?;
        let rows = stmt.query_map(params![table_id, parent], |r| r.get::<i64>(0))?;
        for child in rows {
            let child = child?;
            found.push(child);
            parents.push(child);
        }
    }
    Ok(found)
}
