//! SQL that writes catalog tables: `CREATE TABLE … [PARTITIONED BY (…)] [WITH (…)]`,
//! `CREATE TABLE … AS SELECT` and `INSERT INTO … SELECT/VALUES`, and the `table_at` table
//! function for reading a table as of a snapshot or a time.
//!
//! DataFusion plans the statement (types, casts, column lists); Strata then streams the input
//! through a [`TableWriter`] and commits the written files in one catalog transaction.

use std::sync::Arc;

use arrow::array::{RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::common::{Column, ParamValues};
use datafusion::execution::TaskContext;
use datafusion::functions::datetime::expr_fn::date_trunc;
use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, SortExpr, lit};
use datafusion::physical_plan::execute_stream;
use datafusion::prelude::SessionContext;
use datafusion::sql::sqlparser::ast::{
    CreateTable, CreateTableOptions, HiveDistributionStyle, SqlOption,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
use strata_catalog::types::{arrow_type, ducklake_type};
use strata_catalog::{Catalog, NewColumn, NewTable, SnapshotId, TableMeta, Transform};

use crate::error::{Error, Result};
use crate::storage::Stores;
use crate::table_writer::{DEFAULT_TARGET_FILE_SIZE, TableWriter, WriteLayout, discard};
use crate::units::{parse_age, parse_size, parse_stored_size, store_size};

/// Table properties a user may set with `WITH (…)`.
pub const TABLE_PROPERTIES: &[&str] = &["sort_by", "retention", "target_file_size", "bloom_filter"];

/// What a `CREATE TABLE` asks for beyond its columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CreateOptions {
    pub partition: Vec<(String, Transform)>,
    pub properties: Vec<(String, String)>,
}

/// A planned write.
pub(crate) enum WriteJob {
    Create {
        table: NewTable,
        if_not_exists: bool,
        /// The rows of `CREATE TABLE … AS SELECT`.
        input: Option<LogicalPlan>,
    },
    Insert {
        meta: TableMeta,
        input: LogicalPlan,
    },
}

impl WriteJob {
    /// Bind each row of `rows` to the placeholders of the rows to write: one row of values a
    /// parameter row, all written by one job (one commit, files sized normally).
    pub(crate) fn bind(self, rows: Vec<ParamValues>) -> Result<Self> {
        Ok(match self {
            WriteJob::Create {
                table,
                if_not_exists,
                input,
            } => WriteJob::Create {
                table,
                if_not_exists,
                input: input.map(|p| bind_rows(p, rows)).transpose()?,
            },
            WriteJob::Insert { meta, input } => WriteJob::Insert {
                meta,
                input: bind_rows(input, rows)?,
            },
        })
    }
}

/// `plan` once for each parameter row, as one plan (a `UNION ALL` of the bound copies).
fn bind_rows(plan: LogicalPlan, rows: Vec<ParamValues>) -> Result<LogicalPlan> {
    let mut bound = rows
        .into_iter()
        .map(|row| Ok(Arc::new(plan.clone().with_param_values(row)?)))
        .collect::<Result<Vec<_>>>()?;
    Ok(match bound.len() {
        0 => plan,
        1 => Arc::unwrap_or_clone(bound.remove(0)),
        _ => LogicalPlan::Union(datafusion::logical_expr::Union::try_new_with_loose_types(
            bound,
        )?),
    })
}

/// Rewrite `PARTITIONED BY (day(ts), region)` in `CREATE TABLE` statements, which the SQL parser
/// does not accept with transforms, into the table option `partitioning = 'day(ts), region'`.
pub fn rewrite_partitioned_by(sql: &str) -> String {
    if !sql.to_ascii_lowercase().contains("partitioned") {
        return sql.to_string();
    }
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return sql.to_string();
    };
    let word = |t: &Token, w: &str| matches!(t, Token::Word(x) if x.value.eq_ignore_ascii_case(w));
    let significant: Vec<usize> = (0..tokens.len())
        .filter(|&i| !matches!(tokens[i], Token::Whitespace(_)))
        .collect();
    let mut out: Vec<String> = tokens.iter().map(|t| t.to_string()).collect();
    let mut changed = false;
    let mut statement_start = 0;
    let mut k = 0;
    while k < significant.len() {
        let i = significant[k];
        if tokens[i] == Token::SemiColon {
            statement_start = k + 1;
        }
        let in_create_table = {
            let end = k.min(statement_start + 4).max(statement_start);
            let head: Vec<&Token> = significant[statement_start..end]
                .iter()
                .map(|&j| &tokens[j])
                .collect();
            head.first().is_some_and(|t| word(t, "create"))
                && head.iter().any(|t| word(t, "table"))
                && !head.iter().any(|t| word(t, "external"))
        };
        if in_create_table
            && word(&tokens[i], "partitioned")
            && k + 2 < significant.len()
            && word(&tokens[significant[k + 1]], "by")
            && tokens[significant[k + 2]] == Token::LParen
        {
            // Find the matching parenthesis.
            let open = significant[k + 2];
            let mut depth = 0;
            let mut close = None;
            for (j, t) in tokens.iter().enumerate().skip(open) {
                match t {
                    Token::LParen => depth += 1,
                    Token::RParen => {
                        depth -= 1;
                        if depth == 0 {
                            close = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(close) = close else {
                return sql.to_string();
            };
            let inner: String = tokens[open + 1..close]
                .iter()
                .map(|t| t.to_string())
                .collect();
            let option = format!("partitioning = '{}'", inner.trim().replace('\'', "''"));
            // An existing `WITH (` later in the statement takes the option; otherwise add one.
            let with_paren = significant[k..]
                .windows(2)
                .take_while(|w| tokens[w[0]] != Token::SemiColon)
                .find(|w| word(&tokens[w[0]], "with") && tokens[w[1]] == Token::LParen)
                .map(|w| w[1]);
            for slot in out.iter_mut().take(close + 1).skip(i) {
                slot.clear();
            }
            match with_paren {
                Some(p) => out[p] = format!("({option}, "),
                None => out[i] = format!("WITH ({option})"),
            }
            changed = true;
            while k < significant.len() && significant[k] <= close {
                k += 1;
            }
            continue;
        }
        k += 1;
    }
    if changed {
        out.concat()
    } else {
        sql.to_string()
    }
}

/// Parse `day(ts), region` into partition keys.
pub fn parse_partitioning(text: &str) -> Result<Vec<(String, Transform)>> {
    let mut keys = Vec::new();
    for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let unquote = |s: &str| s.trim().trim_matches('"').to_string();
        let key = match item.split_once('(') {
            Some((function, rest)) => {
                let column = rest
                    .strip_suffix(')')
                    .ok_or_else(|| Error::Usage(format!("cannot read partition key '{item}'")))?;
                let transform = match function.trim().to_ascii_lowercase().as_str() {
                    "identity" => Transform::Identity,
                    "year" | "years" => Transform::Year,
                    "month" | "months" => Transform::Month,
                    "day" | "days" => Transform::Day,
                    "hour" | "hours" => Transform::Hour,
                    other => {
                        return Err(Error::Usage(format!(
                            "unknown partition transform '{other}' in '{item}': use a column, or year(col), month(col), day(col) or hour(col)"
                        )));
                    }
                };
                (unquote(column), transform)
            }
            None => (unquote(item), Transform::Identity),
        };
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(Error::Usage("PARTITIONED BY needs at least one key".into()));
    }
    Ok(keys)
}

/// Take Strata's options out of a `CREATE TABLE` (so that DataFusion can plan the rest).
pub(crate) fn take_create_options(create: &mut CreateTable) -> Result<CreateOptions> {
    let mut options = CreateOptions::default();
    let taken = std::mem::replace(&mut create.table_options, CreateTableOptions::None);
    let list: Vec<SqlOption> = match taken {
        CreateTableOptions::None => Vec::new(),
        CreateTableOptions::With(o)
        | CreateTableOptions::Options(o)
        | CreateTableOptions::TableProperties(o)
        | CreateTableOptions::Plain(o) => o,
    };
    for option in list {
        let SqlOption::KeyValue { key, value } = option else {
            return Err(Error::Usage(format!(
                "unsupported table option '{option}': use key = 'value'"
            )));
        };
        let key = key.value.to_ascii_lowercase();
        let value = match value {
            datafusion::sql::sqlparser::ast::Expr::Value(v) => match v.value {
                datafusion::sql::sqlparser::ast::Value::SingleQuotedString(s)
                | datafusion::sql::sqlparser::ast::Value::DoubleQuotedString(s) => s,
                other => other.to_string(),
            },
            other => other.to_string(),
        };
        if key == "partitioning" || key == "partitioned_by" {
            options.partition = parse_partitioning(&value)?;
            continue;
        }
        if !TABLE_PROPERTIES.contains(&key.as_str()) {
            return Err(Error::Usage(format!(
                "unknown table property '{key}'; Strata knows {}",
                TABLE_PROPERTIES.join(", ")
            )));
        }
        let stored = validate_property(&key, &value)?;
        options.properties.push((key, stored));
    }
    if let HiveDistributionStyle::PARTITIONED { columns } =
        std::mem::replace(&mut create.hive_distribution, HiveDistributionStyle::NONE)
    {
        options.partition = columns
            .iter()
            .map(|c| (c.name.value.clone(), Transform::Identity))
            .collect();
    }
    Ok(options)
}

/// Check a table property and return the form it is stored in.
fn validate_property(key: &str, value: &str) -> Result<String> {
    match key {
        "retention" => parse_age(value).map(|_| value.to_string()),
        "target_file_size" => match parse_size(value)? {
            n if n >= 1_000_000 => store_size(value),
            _ => Err(Error::Usage(format!(
                "target_file_size '{value}' is too small: use at least 1MB"
            ))),
        },
        _ => Ok(value.to_string()),
    }
}

/// The new table for a `CREATE TABLE` whose rows have `schema`.
pub(crate) fn new_table(name: &str, schema: &Schema, options: CreateOptions) -> Result<NewTable> {
    let (schema_name, table) = crate::lake::split_table_name(name)?;
    let columns = schema
        .fields()
        .iter()
        .map(|f| {
            let data_type = match f.data_type() {
                // An untyped NULL column (`SELECT NULL AS x`) becomes a string column.
                DataType::Null => DataType::Utf8,
                // SQL's TIMESTAMP is nanoseconds in DataFusion; store microseconds, as DuckDB
                // does, so that both engines read the column as TIMESTAMP.
                DataType::Timestamp(TimeUnit::Nanosecond, tz) => {
                    DataType::Timestamp(TimeUnit::Microsecond, tz.clone())
                }
                other => other.clone(),
            };
            Ok(NewColumn {
                name: f.name().clone(),
                type_name: ducklake_type(f.name(), &data_type)?,
                nullable: f.is_nullable(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    for (column, transform) in &options.partition {
        let Some(col) = columns.iter().find(|c| &c.name == column) else {
            return Err(Error::Usage(format!(
                "partition column '{column}' is not a column of '{name}'"
            )));
        };
        let temporal = matches!(
            col.type_name.as_str(),
            "date" | "timestamp" | "timestamp_s" | "timestamp_ms" | "timestamp_ns" | "timestamptz"
        );
        if *transform != Transform::Identity && !temporal {
            return Err(Error::Usage(format!(
                "{}({column}) needs a date or timestamp column, but '{column}' is {}",
                transform.as_str(),
                col.type_name
            )));
        }
    }
    if let Some((_, sort)) = options.properties.iter().find(|(k, _)| k == "sort_by")
        && !columns.iter().any(|c| &c.name == sort)
    {
        return Err(Error::Usage(format!(
            "sort_by column '{sort}' is not a column of '{name}'"
        )));
    }
    if let Some((_, list)) = options.properties.iter().find(|(k, _)| k == "bloom_filter") {
        for column in bloom_filter_list(list) {
            if !columns.iter().any(|c| c.name == column) {
                return Err(Error::Usage(format!(
                    "bloom_filter column '{column}' is not a column of '{name}'"
                )));
            }
        }
    }
    Ok(NewTable {
        schema: schema_name,
        name: table,
        columns,
        partition: options.partition,
        properties: options.properties,
    })
}

/// Columns, partitioning, file size and sort order a write into `table` uses.
pub(crate) struct Target {
    pub(crate) layout: WriteLayout,
    sort: Vec<SortExpr>,
}

fn target(
    columns: &[(String, i64, String, bool)],
    partition: &[(String, Transform)],
    properties: &[(String, String)],
    table_path: String,
    default_file_size: u64,
) -> Result<Target> {
    let property = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.clone())
    };
    let layout_columns = columns
        .iter()
        .map(|(name, id, type_name, nullable)| {
            Ok((name.clone(), *id, arrow_type(name, type_name)?, *nullable))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut layout_partition = Vec::new();
    let mut sort = Vec::new();
    let column = |name: &str| Expr::Column(Column::new_unqualified(name));
    for (name, transform) in partition {
        let index = columns
            .iter()
            .position(|(n, ..)| n == name)
            .ok_or_else(|| Error::Usage(format!("partition column '{name}' is missing")))?;
        layout_partition.push((index, *transform));
        let key = match transform {
            Transform::Identity => column(name),
            t => date_trunc(lit(t.as_str()), column(name)),
        };
        sort.push(key.sort(true, true));
    }
    if let Some(by) = property("sort_by") {
        sort.push(column(&by).sort(true, true));
    }
    let target_file_size = match property("target_file_size") {
        Some(v) => parse_stored_size(&v)?,
        None => default_file_size,
    };
    let bloom_filter = match property("bloom_filter") {
        // Columns dropped since are left out: a bloom filter is only an index.
        Some(list) => bloom_filter_list(&list)
            .filter(|name| columns.iter().any(|(n, ..)| n == name))
            .collect(),
        None => layout_columns
            .iter()
            .filter(|(name, _, data_type, _)| default_bloom_filter(name, data_type))
            .map(|(name, ..)| name.clone())
            .collect(),
    };
    Ok(Target {
        layout: WriteLayout {
            columns: layout_columns,
            partition: layout_partition,
            table_path,
            target_file_size,
            bloom_filter,
        },
        sort,
    })
}

/// The columns of a `bloom_filter` table property: a comma-separated list, or `none`.
fn bloom_filter_list(list: &str) -> impl Iterator<Item = String> + '_ {
    list.split(',')
        .map(str::trim)
        .filter(|c| !c.is_empty() && !c.eq_ignore_ascii_case("none"))
        .map(str::to_string)
}

/// Whether a column gets a bloom filter when the table does not say: identifiers (`id`, a
/// name ending in `_id` or `_uuid`, or a camel-case one ending in `Id`/`ID` such as `UserID`)
/// of string, UUID or 64-bit integer type, the high-cardinality keys an on-call engineer looks
/// one value up by (`trace_id`, `request_id`, `user_id`). Their min/max statistics prune
/// nothing (every file spans the whole range); a bloom filter skips every row group without
/// the value. 32-bit ids are left out: they are mostly categories (`RegionID`, `CounterID`),
/// whose filters would match every row group and cost a read per file on every lookup.
pub fn default_bloom_filter(name: &str, data_type: &DataType) -> bool {
    let lower = name.to_ascii_lowercase();
    let camel = (name.ends_with("ID") || name.ends_with("Id"))
        && name
            .chars()
            .rev()
            .nth(2)
            .is_some_and(|c| c.is_ascii_lowercase());
    let identifier = lower == "id" || lower.ends_with("_id") || lower.ends_with("_uuid") || camel;
    identifier
        && matches!(
            data_type,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Int64
                | DataType::UInt64
                | DataType::FixedSizeBinary(16)
        )
}

/// How files of the existing table `meta` are written.
pub(crate) fn table_target(meta: &TableMeta, default_file_size: u64) -> Result<Target> {
    let columns: Vec<(String, i64, String, bool)> = meta
        .columns
        .iter()
        .map(|c| (c.name.clone(), c.column_id, c.type_name.clone(), c.nullable))
        .collect();
    let partition: Vec<(String, Transform)> = meta
        .partition
        .iter()
        .map(|p| {
            let name = meta
                .column(p.column_id)
                .map(|c| c.name.clone())
                .unwrap_or_default();
            (name, p.transform)
        })
        .collect();
    target(
        &columns,
        &partition,
        &meta.properties,
        meta.path.clone(),
        default_file_size,
    )
}

/// Stream `input` (sorted by partition keys and the sort column when there are any) into
/// files of `target`.
pub(crate) async fn write_input(
    ctx: &SessionContext,
    stores: &Stores,
    input: LogicalPlan,
    target: Target,
) -> Result<crate::table_writer::Written> {
    let write = async {
        let plan = if target.sort.is_empty() {
            input
        } else {
            LogicalPlanBuilder::from(input).sort(target.sort)?.build()?
        };
        let physical = ctx.state().create_physical_plan(&plan).await?;
        let task_ctx = crate::memory::share_sort_reservations(&physical, TaskContext::from(ctx));
        let stream = execute_stream(physical, Arc::new(task_ctx))?;
        TableWriter::new(stores, target.layout)?
            .write_stream(stream)
            .await
    };
    write.await.map_err(|e| {
        // A NULL for a NOT NULL column is found while the input is computed, where the column
        // may carry the input's name (`column1` for VALUES).
        if e.to_string().contains("declared as non-nullable") {
            Error::Refused(format!(
                "a NOT NULL column would get a NULL value ({e}); nothing was written"
            ))
        } else {
            e
        }
    })
}

/// Run a write; returns the number of rows written and the snapshot it committed (`None`
/// when there was nothing to commit).
pub(crate) async fn run_write(
    ctx: &SessionContext,
    catalog: &Catalog,
    stores: &Stores,
    job: WriteJob,
    default_file_size: Option<u64>,
) -> Result<(u64, Option<SnapshotId>)> {
    let default_file_size = default_file_size.unwrap_or(DEFAULT_TARGET_FILE_SIZE);
    match job {
        WriteJob::Create {
            table,
            if_not_exists,
            input,
        } => {
            if catalog
                .table(catalog.current_snapshot()?, &table.schema, &table.name)?
                .is_some()
            {
                if if_not_exists {
                    return Ok((0, None));
                }
                return Err(strata_catalog::Error::TableExists {
                    schema: table.schema,
                    table: table.name,
                }
                .into());
            }
            let Some(input) = input else {
                let meta = catalog.create_table(&table, &[], "strata")?;
                return Ok((0, Some(meta.snapshot)));
            };
            let columns: Vec<(String, i64, String, bool)> = table
                .columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.name.clone(),
                        i as i64 + 1,
                        c.type_name.clone(),
                        c.nullable,
                    )
                })
                .collect();
            let path = catalog.new_table_path(&table.schema, &table.name)?;
            let target = target(
                &columns,
                &table.partition,
                &table.properties,
                path,
                default_file_size,
            )?;
            let written = write_input(ctx, stores, input, target).await?;
            match catalog.create_table(&table, &written.files, "strata") {
                Ok(meta) => Ok((written.rows, Some(meta.snapshot))),
                Err(e) => {
                    discard(stores, &written.files).await;
                    Err(e.into())
                }
            }
        }
        WriteJob::Insert { meta, input } => {
            let target = table_target(&meta, default_file_size)?;
            let written = write_input(ctx, stores, input, target).await?;
            if written.files.is_empty() {
                return Ok((0, None));
            }
            match catalog.append(&meta, &written.files, "strata", "insert") {
                Ok(snapshot) => Ok((written.rows, Some(snapshot))),
                Err(e) => {
                    discard(stores, &written.files).await;
                    Err(e.into())
                }
            }
        }
    }
}

/// Check that `meta` is a table Strata may write into.
pub(crate) fn check_writable(meta: &TableMeta) -> Result<()> {
    if let Some(location) = &meta.location {
        return Err(Error::Refused(format!(
            "table '{}.{}' is registered in place from '{location}'; Strata does not write into registered tables (write the files there and run `strata table refresh {}`)",
            meta.schema, meta.name, meta.name
        )));
    }
    Ok(())
}

/// The schema of a write's result: one column, `count`.
pub(crate) fn count_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new(
        "count",
        DataType::UInt64,
        false,
    )]))
}

/// The one-row result of a write: `count`, the rows written.
pub(crate) fn count_batch(rows: u64) -> Result<(SchemaRef, RecordBatch)> {
    let schema = count_schema();
    let batch = RecordBatch::try_new(
        Arc::clone(&schema),
        vec![Arc::new(UInt64Array::from(vec![rows]))],
    )?;
    Ok((schema, batch))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_partitioned_by() {
        assert_eq!(
            rewrite_partitioned_by(
                "CREATE TABLE t (a INT, ts TIMESTAMP) PARTITIONED BY (day(ts), a)"
            ),
            "CREATE TABLE t (a INT, ts TIMESTAMP) WITH (partitioning = 'day(ts), a')"
        );
        assert_eq!(
            rewrite_partitioned_by(
                "create table t partitioned by (hour(ts)) with (sort_by = 'ts') as select 1; SELECT 'partitioned by (x)'"
            ),
            "create table t  with (partitioning = 'hour(ts)', sort_by = 'ts') as select 1; SELECT 'partitioned by (x)'"
        );
        let external = "CREATE EXTERNAL TABLE t STORED AS PARQUET PARTITIONED BY (a) LOCATION '/x'";
        assert_eq!(rewrite_partitioned_by(external), external);
    }

    #[test]
    fn parses_partition_keys_and_sizes() {
        assert_eq!(
            parse_partitioning("day(ts), region").unwrap(),
            vec![
                ("ts".to_string(), Transform::Day),
                ("region".to_string(), Transform::Identity)
            ]
        );
        assert!(parse_partitioning("bucket(ts)").is_err());
    }
}
