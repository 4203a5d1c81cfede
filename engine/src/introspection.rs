//! The catalog as SQL, in the manner of DuckDB's `duckdb_tables()` and DuckLake's
//! `ducklake_snapshots()`: the table functions `strata_tables()`, `strata_columns(['table'])`,
//! `strata_snapshots()` and `strata_history('table')`. They read the statement's snapshot, so
//! they answer the same from `strata query`, the shell, the server and any Flight SQL client;
//! the CLI's `table list`, `table describe`, `table history` and `snapshots list` print them.

use std::sync::Arc;

use arrow::array::TimestampMicrosecondArray;
use arrow::array::{ArrayRef, BooleanArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::catalog::{TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::datasource::MemTable;
use datafusion::error::DataFusionError;
use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::Expr;
use strata_catalog::{Catalog, HistoryEntry, SnapshotId, TableMeta, Transform};

use crate::error::{Error, Result};
use crate::function_args::{default_schema, normalize_time, table_name_arg};

/// Which view of the catalog a function gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Tables,
    Columns,
    Snapshots,
    History,
}

impl View {
    const ALL: [(&'static str, View); 4] = [
        ("strata_tables", View::Tables),
        ("strata_columns", View::Columns),
        ("strata_snapshots", View::Snapshots),
        ("strata_history", View::History),
    ];

    fn usage(self) -> &'static str {
        match self {
            View::Tables => "strata_tables() takes no arguments",
            View::Columns => "use strata_columns() or strata_columns('table')",
            View::Snapshots => "strata_snapshots() takes no arguments",
            View::History => "use strata_history('table')",
        }
    }
}

/// One of the catalog table functions, bound to the snapshot its statement reads.
#[derive(Debug)]
struct CatalogView {
    view: View,
    catalog: Arc<Catalog>,
    snapshot: SnapshotId,
}

/// Register the catalog table functions on a statement's context.
pub(crate) fn register(state: &mut SessionState, catalog: &Arc<Catalog>, snapshot: SnapshotId) {
    for (name, view) in View::ALL {
        state.register_udtf(
            name,
            Arc::new(CatalogView {
                view,
                catalog: Arc::clone(catalog),
                snapshot,
            }),
        );
    }
}

/// The schema of `strata_tables()`.
fn tables_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_schema", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("location", DataType::Utf8, true),
        Field::new("files", DataType::Int64, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("bytes", DataType::Int64, false),
        Field::new("partitioned_by", DataType::Utf8, true),
        Field::new("properties", DataType::Utf8, true),
        Field::new("snapshot", DataType::Int64, false),
    ]))
}

fn columns_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_schema", DataType::Utf8, false),
        Field::new("table_name", DataType::Utf8, false),
        Field::new("column_id", DataType::Int64, false),
        Field::new("column_name", DataType::Utf8, false),
        Field::new("data_type", DataType::Utf8, false),
        Field::new("is_nullable", DataType::Boolean, false),
        Field::new("from_path", DataType::Boolean, false),
    ]))
}

fn snapshots_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("snapshot_id", DataType::Int64, false),
        Field::new(
            "snapshot_time",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        ),
        Field::new("author", DataType::Utf8, true),
        Field::new("message", DataType::Utf8, true),
        Field::new("changes", DataType::Utf8, false),
    ]))
}

/// `day(ts), region`: a table's partition keys as `PARTITIONED BY` spells them.
fn partitioning(meta: &TableMeta) -> Option<String> {
    if meta.partition.is_empty() {
        return None;
    }
    let keys: Vec<String> = meta
        .partition
        .iter()
        .map(|p| {
            let column = meta
                .column(p.column_id)
                .map(|c| c.name.as_str())
                .unwrap_or("?");
            match p.transform {
                Transform::Identity => column.to_string(),
                t => format!("{}({column})", t.as_str()),
            }
        })
        .collect();
    Some(keys.join(", "))
}

/// A table's properties as a JSON object (`{"sort_by":"ts, kind"}`): values may hold commas,
/// and every client and output format reads text.
fn properties(meta: &TableMeta) -> Option<String> {
    if meta.properties.is_empty() {
        return None;
    }
    let object: serde_json::Map<String, serde_json::Value> = meta
        .properties
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    Some(serde_json::Value::Object(object).to_string())
}

/// A catalog time (`2026-03-04 10:00:00.123+00`) as microseconds since the epoch.
fn micros(time: &str) -> Option<i64> {
    normalize_time(time)
        .ok()
        .and_then(|t| {
            chrono::NaiveDateTime::parse_from_str(t.trim_end_matches("+00"), "%Y-%m-%d %H:%M:%S%.f")
                .ok()
        })
        .map(|t| t.and_utc().timestamp_micros())
}

impl CatalogView {
    /// The table an argument names, at the statement's snapshot.
    fn table(&self, arg: &Expr, default_schema: &str) -> Result<TableMeta> {
        let (schema, table) = table_name_arg(arg, default_schema)
            .ok_or_else(|| Error::Usage(self.view.usage().into()))?;
        Ok(self.catalog.require_table(self.snapshot, &schema, &table)?)
    }

    fn batch(&self, args: &[Expr], default_schema: &str) -> Result<RecordBatch> {
        let argument = match (self.view, args) {
            (View::Tables | View::Snapshots | View::Columns, []) => None,
            (View::Columns | View::History, [name]) => Some(self.table(name, default_schema)?),
            _ => return Err(Error::Usage(self.view.usage().into())),
        };
        match self.view {
            View::Tables => self.tables(),
            View::Columns => {
                let tables = match argument {
                    Some(meta) => vec![meta],
                    None => self.all_tables()?,
                };
                columns_batch(&tables)
            }
            View::Snapshots => snapshots_batch(&self.catalog.snapshots()?),
            View::History => {
                let meta = argument.ok_or_else(|| Error::Usage(self.view.usage().into()))?;
                snapshots_batch(&self.catalog.history(&meta)?)
            }
        }
    }

    fn all_tables(&self) -> Result<Vec<TableMeta>> {
        let mut out = Vec::new();
        for listing in self.catalog.list_tables(self.snapshot)? {
            if let Some(meta) = self
                .catalog
                .table(self.snapshot, &listing.schema, &listing.name)?
            {
                out.push(meta);
            }
        }
        Ok(out)
    }

    fn tables(&self) -> Result<RecordBatch> {
        let listings = self.catalog.list_tables(self.snapshot)?;
        let mut metas = Vec::with_capacity(listings.len());
        for l in &listings {
            metas.push(self.catalog.table(self.snapshot, &l.schema, &l.name)?);
        }
        let column = |f: &dyn Fn(&strata_catalog::TableListing) -> Option<String>| -> ArrayRef {
            Arc::new(listings.iter().map(f).collect::<StringArray>())
        };
        let number = |f: &dyn Fn(&strata_catalog::TableListing) -> i64| -> ArrayRef {
            Arc::new(listings.iter().map(f).collect::<Int64Array>())
        };
        Ok(RecordBatch::try_new(
            tables_schema(),
            vec![
                column(&|l| Some(l.schema.clone())),
                column(&|l| Some(l.name.clone())),
                column(&|l| l.location.clone()),
                number(&|l| l.summary.files),
                number(&|l| l.summary.rows),
                number(&|l| l.summary.bytes),
                Arc::new(
                    metas
                        .iter()
                        .map(|m| m.as_ref().and_then(partitioning))
                        .collect::<StringArray>(),
                ),
                Arc::new(
                    metas
                        .iter()
                        .map(|m| m.as_ref().and_then(properties))
                        .collect::<StringArray>(),
                ),
                Arc::new(Int64Array::from(vec![self.snapshot; listings.len()])),
            ],
        )?)
    }
}

fn columns_batch(tables: &[TableMeta]) -> Result<RecordBatch> {
    let rows: Vec<(&TableMeta, &strata_catalog::Column)> = tables
        .iter()
        .flat_map(|t| t.columns.iter().map(move |c| (t, c)))
        .collect();
    Ok(RecordBatch::try_new(
        columns_schema(),
        vec![
            Arc::new(
                rows.iter()
                    .map(|(t, _)| Some(t.schema.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(t, _)| Some(t.name.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(_, c)| c.column_id)
                    .collect::<Int64Array>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(_, c)| Some(c.name.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(_, c)| Some(c.type_name.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(_, c)| Some(c.nullable))
                    .collect::<BooleanArray>(),
            ),
            Arc::new(
                rows.iter()
                    .map(|(_, c)| Some(c.from_path))
                    .collect::<BooleanArray>(),
            ),
        ],
    )?)
}

fn snapshots_batch(entries: &[HistoryEntry]) -> Result<RecordBatch> {
    Ok(RecordBatch::try_new(
        snapshots_schema(),
        vec![
            Arc::new(entries.iter().map(|e| e.snapshot).collect::<Int64Array>()),
            Arc::new(
                TimestampMicrosecondArray::from(
                    entries.iter().map(|e| micros(&e.time)).collect::<Vec<_>>(),
                )
                .with_timezone("UTC"),
            ),
            Arc::new(
                entries
                    .iter()
                    .map(|e| e.author.clone())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                entries
                    .iter()
                    .map(|e| e.message.clone())
                    .collect::<StringArray>(),
            ),
            Arc::new(
                entries
                    .iter()
                    .map(|e| Some(e.changes.as_str()))
                    .collect::<StringArray>(),
            ),
        ],
    )?)
}

impl TableFunctionImpl for CatalogView {
    fn call_with_args(
        &self,
        args: TableFunctionArgs,
    ) -> datafusion::error::Result<Arc<dyn TableProvider>> {
        let batch = self
            .batch(args.exprs(), &default_schema(&args))
            .map_err(|e| DataFusionError::Plan(e.to_string()))?;
        Ok(Arc::new(MemTable::try_new(
            batch.schema(),
            vec![vec![batch]],
        )?))
    }
}

/// The engine's table functions that read the catalog.
const CATALOG_FUNCTIONS: [&str; 5] = [
    "table_at",
    "strata_tables",
    "strata_columns",
    "strata_snapshots",
    "strata_history",
];

/// DataFusion names the scan of a table function `name()` whatever its arguments, and takes two
/// scans of one name for the same plan: `(SELECT count(*) FROM table_at('t', 4))` and
/// `(SELECT count(*) FROM table_at('t', 5))` in one statement would both read snapshot 4. Each
/// call of a catalog function becomes a derived table, `(SELECT * FROM table_at('t', 4) AS
/// "table_at('t', 4)") AS <the user's alias>`, whose inner alias is spelled like the call, so
/// different calls are different plans and equal calls still share one.
pub(crate) fn distinguish_calls(statement: &mut datafusion::sql::parser::Statement) {
    use datafusion::sql::parser::Statement;
    use datafusion::sql::sqlparser::ast::{TableFactor, VisitMut, VisitorMut};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use std::ops::ControlFlow;

    struct Rewrite;
    impl VisitorMut for Rewrite {
        type Break = ();
        fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
            let TableFactor::Table {
                name,
                args: Some(_),
                alias,
                ..
            } = factor
            else {
                return ControlFlow::Continue(());
            };
            let ours = name.0.last().and_then(|p| p.as_ident()).is_some_and(|i| {
                CATALOG_FUNCTIONS.contains(&i.value.to_ascii_lowercase().as_str())
            });
            if !ours {
                return ControlFlow::Continue(());
            }
            let outer = alias.clone();
            let mut call = factor.clone();
            if let TableFactor::Table { alias, .. } = &mut call {
                *alias = None;
            }
            let call = call.to_string();
            let sql = format!("SELECT * FROM {call} AS \"{}\"", call.replace('"', "\"\""));
            if let Ok(mut parsed) = Parser::parse_sql(&GenericDialect {}, &sql)
                && let Some(datafusion::sql::sqlparser::ast::Statement::Query(query)) = parsed.pop()
            {
                *factor = TableFactor::Derived {
                    lateral: false,
                    subquery: query,
                    alias: outer,
                    sample: None,
                };
            }
            ControlFlow::Continue(())
        }
    }
    match statement {
        Statement::Statement(s) => {
            let _ = s.visit(&mut Rewrite);
        }
        Statement::Explain(explain) => distinguish_calls(&mut explain.statement),
        _ => {}
    }
}

/// `SHOW FUNCTIONS [LIKE 'pattern']` as one row per function with its description and
/// syntax: DataFusion's own lists one row per accepted argument type and leaves out every
/// function whose arguments it cannot enumerate (Strata's JSON, spatial and H3 functions).
pub(crate) fn show_functions(statement: &mut datafusion::sql::parser::Statement) {
    use datafusion::sql::sqlparser::ast::{ShowStatementFilter, Statement as Sql};
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    let datafusion::sql::parser::Statement::Statement(inner) = statement else {
        return;
    };
    let Sql::ShowFunctions { filter } = inner.as_ref() else {
        return;
    };
    let condition = match filter {
        None => String::new(),
        Some(ShowStatementFilter::Like(pattern)) => {
            format!("WHERE routine_name LIKE '{}'", pattern.replace('\'', "''"))
        }
        Some(ShowStatementFilter::ILike(pattern)) => {
            format!("WHERE routine_name ILIKE '{}'", pattern.replace('\'', "''"))
        }
        Some(ShowStatementFilter::Where(expr)) => format!("WHERE {expr}"),
        Some(_) => return,
    };
    let sql = format!(
        "SELECT routine_name AS function_name, function_type, max(description) AS description, \
         max(syntax_example) AS syntax_example FROM information_schema.routines {condition} \
         GROUP BY routine_name, function_type ORDER BY function_name, function_type"
    );
    if let Ok(mut parsed) = Parser::parse_sql(&GenericDialect {}, &sql)
        && let Some(query) = parsed.pop()
    {
        **inner = query;
    }
}
