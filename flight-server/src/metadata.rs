//! What the server says about itself and its types: GetSqlInfo, GetXdbcTypeInfo, SQL type
//! names and the `ARROW:FLIGHT:SQL:*` column metadata of GetTables, and the plain-type form of
//! results (view types cast to `Utf8`/`Binary` for clients that cannot read them).

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};

use arrow::datatypes::{DataType, Field, FieldRef, Schema, SchemaRef, TimeUnit};
use arrow_flight::sql::metadata::{
    SqlInfoData, SqlInfoDataBuilder, XdbcTypeInfo, XdbcTypeInfoData, XdbcTypeInfoDataBuilder,
};
use arrow_flight::sql::{
    Nullable, Searchable, SqlInfo, SqlNullOrdering, SqlSupportedCaseSensitivity,
    SqlSupportedTransaction, SupportedSqlGrammar, XdbcDataType, XdbcDatetimeSubcode,
};

use crate::error::Result;

/// GetSqlInfo's answers: every key JDBC's `DatabaseMetaData` and ODBC ask for.
pub fn sql_info(read_only: bool) -> Result<SqlInfoData> {
    let mut b = SqlInfoDataBuilder::new();
    b.append(SqlInfo::FlightSqlServerName, "Strata");
    b.append(SqlInfo::FlightSqlServerVersion, env!("CARGO_PKG_VERSION"));
    b.append(SqlInfo::FlightSqlServerArrowVersion, "1.3");
    b.append(SqlInfo::FlightSqlServerReadOnly, read_only);
    b.append(SqlInfo::FlightSqlServerSql, true);
    b.append(SqlInfo::FlightSqlServerSubstrait, false);
    b.append(
        SqlInfo::FlightSqlServerTransaction,
        SqlSupportedTransaction::None as i32,
    );
    b.append(SqlInfo::FlightSqlServerCancel, true);
    b.append(SqlInfo::FlightSqlServerBulkIngestion, true);
    b.append(SqlInfo::FlightSqlServerIngestTransactionsSupported, false);
    b.append(SqlInfo::FlightSqlServerStatementTimeout, 0i32);
    b.append(SqlInfo::FlightSqlServerTransactionTimeout, 0i32);
    b.append(SqlInfo::SqlDdlCatalog, false);
    b.append(SqlInfo::SqlDdlSchema, false);
    b.append(SqlInfo::SqlDdlTable, !read_only);
    b.append(
        SqlInfo::SqlIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityLowercase as i32,
    );
    b.append(SqlInfo::SqlIdentifierQuoteChar, "\"");
    b.append(
        SqlInfo::SqlQuotedIdentifierCase,
        SqlSupportedCaseSensitivity::SqlCaseSensitivityCaseInsensitive as i32,
    );
    b.append(SqlInfo::SqlAllTablesAreSelectable, true);
    b.append(
        SqlInfo::SqlNullOrdering,
        SqlNullOrdering::SqlNullsSortedHigh as i32,
    );
    b.append(SqlInfo::SqlKeywords, KEYWORDS);
    b.append(SqlInfo::SqlNumericFunctions, NUMERIC_FUNCTIONS);
    b.append(SqlInfo::SqlStringFunctions, STRING_FUNCTIONS);
    b.append(SqlInfo::SqlSystemFunctions, SYSTEM_FUNCTIONS);
    b.append(SqlInfo::SqlDatetimeFunctions, DATETIME_FUNCTIONS);
    b.append(SqlInfo::SqlSearchStringEscape, "\\");
    b.append(SqlInfo::SqlExtraNameCharacters, "");
    b.append(SqlInfo::SqlSupportsColumnAliasing, true);
    b.append(SqlInfo::SqlNullPlusNullIsNull, true);
    b.append(SqlInfo::SqlSupportsConvert, supports_convert());
    b.append(SqlInfo::SqlSupportsTableCorrelationNames, true);
    b.append(SqlInfo::SqlSupportsDifferentTableCorrelationNames, false);
    b.append(SqlInfo::SqlSupportsExpressionsInOrderBy, true);
    b.append(SqlInfo::SqlSupportsOrderByUnrelated, true);
    // Bit mask of SqlSupportedGroupBy: unrelated (bit 0) and beyond select (bit 1).
    b.append(SqlInfo::SqlSupportedGroupBy, 3i32);
    b.append(SqlInfo::SqlSupportsLikeEscapeClause, true);
    b.append(SqlInfo::SqlSupportsNonNullableColumns, true);
    b.append(
        SqlInfo::SqlSupportedGrammar,
        SupportedSqlGrammar::SqlCoreGrammar as i32,
    );
    // SupportedAnsi92SqlGrammarLevel (not re-exported by arrow-flight): 0 is entry level.
    b.append(SqlInfo::SqlAnsi92SupportedLevel, 0i32);
    b.append(SqlInfo::SqlSupportsIntegrityEnhancementFacility, false);
    // SqlOuterJoinsSupportLevel: full outer joins.
    b.append(SqlInfo::SqlOuterJoinsSupportLevel, 2i32);
    b.append(SqlInfo::SqlSchemaTerm, "schema");
    b.append(SqlInfo::SqlProcedureTerm, "procedure");
    b.append(SqlInfo::SqlCatalogTerm, "catalog");
    b.append(SqlInfo::SqlCatalogAtStart, true);
    b.append(SqlInfo::SqlSchemasSupportedActions, 0i32);
    b.append(SqlInfo::SqlCatalogsSupportedActions, 0i32);
    b.append(SqlInfo::SqlSupportedPositionedCommands, 0i32);
    b.append(SqlInfo::SqlSelectForUpdateSupported, false);
    b.append(SqlInfo::SqlStoredProceduresSupported, false);
    // Bit mask of SqlSupportedSubqueries: comparisons, EXISTS, IN, quantified.
    b.append(SqlInfo::SqlSupportedSubqueries, 15i32);
    b.append(SqlInfo::SqlCorrelatedSubqueriesSupported, true);
    // Bit mask of SqlSupportedUnions: UNION and UNION ALL.
    b.append(SqlInfo::SqlSupportedUnions, 3i32);
    for key in [
        SqlInfo::SqlMaxBinaryLiteralLength,
        SqlInfo::SqlMaxCharLiteralLength,
        SqlInfo::SqlMaxColumnNameLength,
        SqlInfo::SqlMaxColumnsInGroupBy,
        SqlInfo::SqlMaxColumnsInIndex,
        SqlInfo::SqlMaxColumnsInOrderBy,
        SqlInfo::SqlMaxColumnsInSelect,
        SqlInfo::SqlMaxColumnsInTable,
        SqlInfo::SqlMaxConnections,
        SqlInfo::SqlMaxCursorNameLength,
        SqlInfo::SqlMaxIndexLength,
        SqlInfo::SqlDbSchemaNameLength,
        SqlInfo::SqlMaxProcedureNameLength,
        SqlInfo::SqlMaxCatalogNameLength,
        SqlInfo::SqlMaxRowSize,
        SqlInfo::SqlMaxStatementLength,
        SqlInfo::SqlMaxStatements,
        SqlInfo::SqlMaxTableNameLength,
        SqlInfo::SqlMaxTablesInSelect,
        SqlInfo::SqlMaxUsernameLength,
    ] {
        // 0 means "no limit known" in JDBC's DatabaseMetaData.
        b.append(key, 0i64);
    }
    b.append(SqlInfo::SqlMaxRowSizeIncludesBlobs, true);
    b.append(SqlInfo::SqlDefaultTransactionIsolation, 0i64);
    b.append(SqlInfo::SqlTransactionsSupported, false);
    b.append(SqlInfo::SqlSupportedTransactionsIsolationLevels, 0i32);
    b.append(SqlInfo::SqlDataDefinitionCausesTransactionCommit, false);
    b.append(SqlInfo::SqlDataDefinitionsInTransactionsIgnored, true);
    // Bit mask of SqlSupportedResultSetType: forward only.
    b.append(SqlInfo::SqlSupportedResultSetTypes, 2i32);
    for key in [
        SqlInfo::SqlSupportedConcurrenciesForResultSetUnspecified,
        SqlInfo::SqlSupportedConcurrenciesForResultSetForwardOnly,
        SqlInfo::SqlSupportedConcurrenciesForResultSetScrollSensitive,
        SqlInfo::SqlSupportedConcurrenciesForResultSetScrollInsensitive,
    ] {
        // Bit mask of SqlSupportedResultSetConcurrency: read only.
        b.append(key, 2i32);
    }
    b.append(SqlInfo::SqlBatchUpdatesSupported, false);
    b.append(SqlInfo::SqlSavepointsSupported, false);
    b.append(SqlInfo::SqlNamedParametersSupported, false);
    b.append(SqlInfo::SqlLocatorsUpdateCopy, false);
    b.append(SqlInfo::SqlStoredFunctionsUsingCallSyntaxSupported, false);
    Ok(b.build()?)
}

/// Conversions `CAST` supports, as SqlSupportsConvert's map (from type → to types).
fn supports_convert() -> HashMap<i32, Vec<i32>> {
    use arrow_flight::sql::SqlSupportsConvert as C;
    let all = [
        C::SqlConvertBigint,
        C::SqlConvertBinary,
        C::SqlConvertBit,
        C::SqlConvertChar,
        C::SqlConvertDate,
        C::SqlConvertDecimal,
        C::SqlConvertFloat,
        C::SqlConvertInteger,
        C::SqlConvertLongvarchar,
        C::SqlConvertNumeric,
        C::SqlConvertReal,
        C::SqlConvertSmallint,
        C::SqlConvertTime,
        C::SqlConvertTimestamp,
        C::SqlConvertTinyint,
        C::SqlConvertVarchar,
        C::SqlConvertVarbinary,
    ];
    let numeric = [
        C::SqlConvertBigint,
        C::SqlConvertBit,
        C::SqlConvertDecimal,
        C::SqlConvertFloat,
        C::SqlConvertInteger,
        C::SqlConvertNumeric,
        C::SqlConvertReal,
        C::SqlConvertSmallint,
        C::SqlConvertTinyint,
    ];
    let text = [
        C::SqlConvertChar,
        C::SqlConvertVarchar,
        C::SqlConvertLongvarchar,
    ];
    let mut map = HashMap::new();
    for from in all {
        let to: Vec<i32> = if numeric.contains(&from) {
            numeric
                .iter()
                .chain(text.iter())
                .map(|c| *c as i32)
                .collect()
        } else if text.contains(&from) {
            all.iter().map(|c| *c as i32).collect()
        } else {
            text.iter().chain([&from]).map(|c| *c as i32).collect()
        };
        map.insert(from as i32, to);
    }
    map
}

const KEYWORDS: &[&str] = &[
    "ANALYZE", "ARRAY", "DESCRIBE", "EXPLAIN", "EXTERNAL", "LOCATION", "PARQUET", "QUALIFY",
    "SHOW", "STORED", "STRUCT", "UNNEST",
];
const NUMERIC_FUNCTIONS: &[&str] = &[
    "abs", "acos", "asin", "atan", "atan2", "cbrt", "ceil", "cos", "degrees", "exp", "floor", "ln",
    "log", "log10", "log2", "mod", "pi", "power", "radians", "random", "round", "signum", "sin",
    "sqrt", "tan", "trunc",
];
const STRING_FUNCTIONS: &[&str] = &[
    "ascii",
    "btrim",
    "char_length",
    "chr",
    "concat",
    "concat_ws",
    "initcap",
    "left",
    "length",
    "lower",
    "lpad",
    "ltrim",
    "md5",
    "octet_length",
    "regexp_like",
    "regexp_match",
    "regexp_replace",
    "repeat",
    "replace",
    "reverse",
    "right",
    "rpad",
    "rtrim",
    "split_part",
    "starts_with",
    "strpos",
    "substr",
    "substring",
    "to_hex",
    "translate",
    "trim",
    "upper",
];
const SYSTEM_FUNCTIONS: &[&str] = &["arrow_typeof", "coalesce", "nullif", "version"];
const DATETIME_FUNCTIONS: &[&str] = &[
    "current_date",
    "current_time",
    "date_bin",
    "date_part",
    "date_trunc",
    "extract",
    "from_unixtime",
    "make_date",
    "now",
    "to_char",
    "to_date",
    "to_timestamp",
    "to_unixtime",
];

/// SQL name of an Arrow type, as `TYPE_NAME` metadata and GetXdbcTypeInfo use it.
pub fn sql_type_name(t: &DataType) -> String {
    match t {
        DataType::Null => "NULL".into(),
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 => "UTINYINT".into(),
        DataType::UInt16 => "USMALLINT".into(),
        DataType::UInt32 => "UINTEGER".into(),
        DataType::UInt64 => "UBIGINT".into(),
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => "DECIMAL".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => "VARBINARY".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(_)) => "TIMESTAMP WITH TIME ZONE".into(),
        DataType::Interval(_) | DataType::Duration(_) => "INTERVAL".into(),
        DataType::List(_)
        | DataType::LargeList(_)
        | DataType::ListView(_)
        | DataType::LargeListView(_)
        | DataType::FixedSizeList(..) => "ARRAY".into(),
        DataType::Struct(_) => "STRUCT".into(),
        DataType::Map(..) => "MAP".into(),
        DataType::Dictionary(_, v) => sql_type_name(v),
        other => other.to_string().to_uppercase(),
    }
}

/// Precision and scale of a type, for column metadata.
fn precision_scale(t: &DataType) -> (Option<i32>, Option<i32>) {
    match t {
        DataType::Int8 | DataType::UInt8 => (Some(3), Some(0)),
        DataType::Int16 | DataType::UInt16 => (Some(5), Some(0)),
        DataType::Int32 | DataType::UInt32 => (Some(10), Some(0)),
        DataType::Int64 => (Some(19), Some(0)),
        DataType::UInt64 => (Some(20), Some(0)),
        DataType::Float32 => (Some(24), None),
        DataType::Float64 => (Some(53), None),
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) => (Some(*p as i32), Some(*s as i32)),
        DataType::Decimal128(p, s) | DataType::Decimal256(p, s) => {
            (Some(*p as i32), Some(*s as i32))
        }
        DataType::Timestamp(unit, _) => (
            None,
            Some(match unit {
                TimeUnit::Second => 0,
                TimeUnit::Millisecond => 3,
                TimeUnit::Microsecond => 6,
                TimeUnit::Nanosecond => 9,
            }),
        ),
        _ => (None, None),
    }
}

/// A table's schema with the `ARROW:FLIGHT:SQL:*` metadata on each column (JDBC `getColumns`).
pub fn with_column_metadata(
    schema: &Schema,
    catalog: &str,
    db_schema: &str,
    table: &str,
) -> Schema {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| {
            let plain = plain_type(f.data_type());
            let (precision, scale) = precision_scale(&plain);
            let mut md = f.metadata().clone();
            let mut put = |k: &str, v: String| {
                md.insert(format!("ARROW:FLIGHT:SQL:{k}"), v);
            };
            put("CATALOG_NAME", catalog.into());
            put("DB_SCHEMA_NAME", db_schema.into());
            put("TABLE_NAME", table.into());
            put("TYPE_NAME", sql_type_name(&plain));
            if let Some(p) = precision {
                put("PRECISION", p.to_string());
            }
            if let Some(s) = scale {
                put("SCALE", s.to_string());
            }
            put(
                "IS_NULLABLE",
                if f.is_nullable() { "1" } else { "0" }.into(),
            );
            put("IS_AUTO_INCREMENT", "0".into());
            put(
                "IS_CASE_SENSITIVE",
                if matches!(plain, DataType::Utf8) {
                    "1"
                } else {
                    "0"
                }
                .into(),
            );
            put("IS_READ_ONLY", "1".into());
            put("IS_SEARCHABLE", "1".into());
            Field::new(f.name(), plain, f.is_nullable()).with_metadata(md)
        })
        .collect();
    Schema::new_with_metadata(fields, schema.metadata().clone())
}

/// The type clients receive: view types become their plain forms (`Utf8View` → `Utf8`,
/// `BinaryView` → `Binary`), also inside lists and structs.
pub fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View => DataType::Utf8,
        DataType::BinaryView => DataType::Binary,
        DataType::ListView(f) => DataType::List(plain_field(f)),
        DataType::LargeListView(f) => DataType::LargeList(plain_field(f)),
        DataType::List(f) => DataType::List(plain_field(f)),
        DataType::LargeList(f) => DataType::LargeList(plain_field(f)),
        DataType::FixedSizeList(f, n) => DataType::FixedSizeList(plain_field(f), *n),
        DataType::Struct(fields) => DataType::Struct(fields.iter().map(plain_field).collect()),
        DataType::Map(f, sorted) => DataType::Map(plain_field(f), *sorted),
        other => other.clone(),
    }
}

fn plain_field(f: &FieldRef) -> FieldRef {
    Arc::new(f.as_ref().clone().with_data_type(plain_type(f.data_type())))
}

/// The schema clients receive (see [`plain_type`]); unchanged when `keep_views`.
pub fn wire_schema(schema: &SchemaRef, keep_views: bool) -> SchemaRef {
    if keep_views {
        return Arc::clone(schema);
    }
    Arc::new(Schema::new_with_metadata(
        schema
            .fields()
            .iter()
            .map(|f| f.as_ref().clone().with_data_type(plain_type(f.data_type())))
            .collect::<Vec<_>>(),
        schema.metadata().clone(),
    ))
}

/// The announced schema, with a field nullable wherever the executed plan's is.
pub fn reconcile(announced: &SchemaRef, executed: &SchemaRef) -> SchemaRef {
    if announced.fields().len() != executed.fields().len() {
        return Arc::clone(announced);
    }
    Arc::new(Schema::new_with_metadata(
        announced
            .fields()
            .iter()
            .zip(executed.fields())
            .map(|(a, e)| {
                let nullable = a.is_nullable() || e.is_nullable();
                a.as_ref().clone().with_nullable(nullable)
            })
            .collect::<Vec<_>>(),
        announced.metadata().clone(),
    ))
}

/// `batch` in the wire schema `to` (a no-op when the types already match).
pub fn to_wire(batch: RecordBatch, to: &SchemaRef) -> Result<RecordBatch> {
    if batch.schema().fields() == to.fields() {
        return Ok(batch);
    }
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .zip(to.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                // Never a silent NULL: a value the announced type cannot hold is an error.
                arrow::compute::cast_with_options(
                    c,
                    f.data_type(),
                    &arrow::compute::CastOptions {
                        safe: false,
                        ..Default::default()
                    },
                )
            }
        })
        .collect::<std::result::Result<_, _>>()?;
    Ok(RecordBatch::try_new(Arc::clone(to), columns)?)
}

/// GetXdbcTypeInfo: every type Strata returns on the wire.
pub fn xdbc_types() -> Result<XdbcTypeInfoData> {
    let mut b = XdbcTypeInfoDataBuilder::new();
    let mut add = |name: &str,
                   data_type: XdbcDataType,
                   size: Option<i32>,
                   quoted: bool,
                   unsigned: Option<bool>,
                   subcode: Option<XdbcDatetimeSubcode>,
                   radix: Option<i32>| {
        b.append(XdbcTypeInfo {
            type_name: name.into(),
            data_type,
            column_size: size,
            literal_prefix: quoted.then(|| "'".into()),
            literal_suffix: quoted.then(|| "'".into()),
            create_params: (name == "DECIMAL")
                .then(|| vec!["precision".to_string(), "scale".to_string()]),
            nullable: Nullable::NullabilityNullable,
            case_sensitive: name == "VARCHAR",
            searchable: Searchable::Full,
            unsigned_attribute: unsigned,
            fixed_prec_scale: false,
            auto_increment: unsigned.map(|_| false),
            local_type_name: Some(name.into()),
            minimum_scale: (name == "DECIMAL").then_some(0),
            maximum_scale: (name == "DECIMAL").then_some(38),
            sql_data_type: if subcode.is_some() {
                XdbcDataType::XdbcDatetime
            } else {
                data_type
            },
            datetime_subcode: subcode,
            num_prec_radix: radix,
            interval_precision: None,
        });
    };
    use XdbcDataType as X;
    add("BOOLEAN", X::XdbcBit, Some(1), false, None, None, None);
    add(
        "TINYINT",
        X::XdbcTinyint,
        Some(3),
        false,
        Some(false),
        None,
        Some(10),
    );
    add(
        "UTINYINT",
        X::XdbcTinyint,
        Some(3),
        false,
        Some(true),
        None,
        Some(10),
    );
    add(
        "SMALLINT",
        X::XdbcSmallint,
        Some(5),
        false,
        Some(false),
        None,
        Some(10),
    );
    add(
        "USMALLINT",
        X::XdbcSmallint,
        Some(5),
        false,
        Some(true),
        None,
        Some(10),
    );
    add(
        "INTEGER",
        X::XdbcInteger,
        Some(10),
        false,
        Some(false),
        None,
        Some(10),
    );
    add(
        "UINTEGER",
        X::XdbcInteger,
        Some(10),
        false,
        Some(true),
        None,
        Some(10),
    );
    add(
        "BIGINT",
        X::XdbcBigint,
        Some(19),
        false,
        Some(false),
        None,
        Some(10),
    );
    add(
        "UBIGINT",
        X::XdbcBigint,
        Some(20),
        false,
        Some(true),
        None,
        Some(10),
    );
    add(
        "REAL",
        X::XdbcReal,
        Some(24),
        false,
        Some(false),
        None,
        Some(2),
    );
    add(
        "DOUBLE",
        X::XdbcDouble,
        Some(53),
        false,
        Some(false),
        None,
        Some(2),
    );
    add(
        "DECIMAL",
        X::XdbcDecimal,
        Some(38),
        false,
        Some(false),
        None,
        Some(10),
    );
    add(
        "VARCHAR",
        X::XdbcVarchar,
        Some(i32::MAX),
        true,
        None,
        None,
        None,
    );
    add(
        "VARBINARY",
        X::XdbcVarbinary,
        Some(i32::MAX),
        true,
        None,
        None,
        None,
    );
    add(
        "DATE",
        X::XdbcDate,
        Some(10),
        true,
        None,
        Some(XdbcDatetimeSubcode::XdbcSubcodeYear),
        None,
    );
    add(
        "TIME",
        X::XdbcTime,
        Some(15),
        true,
        None,
        Some(XdbcDatetimeSubcode::XdbcSubcodeTime),
        None,
    );
    add(
        "TIMESTAMP",
        X::XdbcTimestamp,
        Some(29),
        true,
        None,
        Some(XdbcDatetimeSubcode::XdbcSubcodeTimestamp),
        None,
    );
    add(
        "TIMESTAMP WITH TIME ZONE",
        X::XdbcTimestamp,
        Some(35),
        true,
        None,
        Some(XdbcDatetimeSubcode::XdbcSubcodeTimestampWithTimezone),
        None,
    );
    add("INTERVAL", X::XdbcInterval, None, true, None, None, None);
    add("ARRAY", X::XdbcUnknownType, None, false, None, None, None);
    add("STRUCT", X::XdbcUnknownType, None, false, None, None, None);
    add("MAP", X::XdbcUnknownType, None, false, None, None, None);
    Ok(b.build()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_info_and_types_build() {
        let info = sql_info(false).unwrap();
        let batch = info.record_batch(vec![]).unwrap();
        assert!(batch.num_rows() > 80, "{} keys", batch.num_rows());
        let types = xdbc_types().unwrap();
        assert!(types.record_batch(None).unwrap().num_rows() >= 20);
    }

    #[test]
    fn view_types_become_plain() {
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new(
                "l",
                DataType::List(Arc::new(Field::new("i", DataType::BinaryView, true))),
                true,
            ),
        ]));
        let wire = wire_schema(&schema, false);
        assert_eq!(wire.field(0).data_type(), &DataType::Utf8);
        assert_eq!(
            wire.field(1).data_type(),
            &DataType::List(Arc::new(Field::new("i", DataType::Binary, true)))
        );
        assert_eq!(wire_schema(&schema, true), schema);
    }
}
