//! DuckLake type names and their Arrow equivalents, and the string encoding of statistics.
//!
//! Strings and binaries map to Arrow's view types, which is what DataFusion's Parquet reader
//! produces by default, so scans need no casts.

use arrow::array::{Array, ArrayRef};
use arrow::datatypes::{DataType, TimeUnit};
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::error::{Error, Result};

/// The Arrow type of a DuckLake column type name (`int32`, `varchar`, `decimal(10,2)`, …).
pub fn arrow_type(column: &str, type_name: &str) -> Result<DataType> {
    let unsupported = || Error::UnsupportedType {
        column: column.to_string(),
        type_name: type_name.to_string(),
    };
    let t = type_name.trim().to_ascii_lowercase();
    if let Some(args) = t.strip_prefix("decimal(").and_then(|s| s.strip_suffix(')')) {
        let (p, s) = args.split_once(',').ok_or_else(unsupported)?;
        let p: u8 = p.trim().parse().map_err(|_| unsupported())?;
        let s: i8 = s.trim().parse().map_err(|_| unsupported())?;
        return Ok(if p <= 38 {
            DataType::Decimal128(p, s)
        } else {
            DataType::Decimal256(p, s)
        });
    }
    Ok(match t.as_str() {
        "boolean" => DataType::Boolean,
        "int8" => DataType::Int8,
        "int16" => DataType::Int16,
        "int32" => DataType::Int32,
        "int64" => DataType::Int64,
        "uint8" => DataType::UInt8,
        "uint16" => DataType::UInt16,
        "uint32" => DataType::UInt32,
        "uint64" => DataType::UInt64,
        "float32" => DataType::Float32,
        "float64" => DataType::Float64,
        "date" => DataType::Date32,
        "time" => DataType::Time64(TimeUnit::Microsecond),
        "timestamp" => DataType::Timestamp(TimeUnit::Microsecond, None),
        "timestamp_s" => DataType::Timestamp(TimeUnit::Second, None),
        "timestamp_ms" => DataType::Timestamp(TimeUnit::Millisecond, None),
        "timestamp_ns" => DataType::Timestamp(TimeUnit::Nanosecond, None),
        "timestamptz" => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        "varchar" | "json" => DataType::Utf8View,
        "blob" => DataType::BinaryView,
        "uuid" => DataType::FixedSizeBinary(16),
        _ => return Err(unsupported()),
    })
}

/// The DuckLake type name for an Arrow type read from a Parquet file.
pub fn ducklake_type(column: &str, data_type: &DataType) -> Result<String> {
    Ok(match data_type {
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float16 | DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Time32(_) | DataType::Time64(_) => "time".into(),
        DataType::Timestamp(unit, tz) => match (unit, tz) {
            (_, Some(_)) => "timestamptz".into(),
            (TimeUnit::Second, None) => "timestamp_s".into(),
            (TimeUnit::Millisecond, None) => "timestamp_ms".into(),
            (TimeUnit::Microsecond, None) => "timestamp".into(),
            (TimeUnit::Nanosecond, None) => "timestamp_ns".into(),
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "varchar".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "blob".into(),
        DataType::FixedSizeBinary(16) => "uuid".into(),
        DataType::Decimal32(p, s)
        | DataType::Decimal64(p, s)
        | DataType::Decimal128(p, s)
        | DataType::Decimal256(p, s) => format!("decimal({p},{s})"),
        DataType::Dictionary(_, value) => ducklake_type(column, value)?,
        other => {
            return Err(Error::UnsupportedType {
                column: column.to_string(),
                type_name: other.to_string(),
            });
        }
    })
}

/// The DuckLake type name of a column of a file being registered: as `ducklake_type`, and
/// also `list`, `struct` or `map` for a nested column whose children (see `nested_children`)
/// are all of types Strata reads. (Tables Strata writes have no nested columns yet.)
pub fn registered_type(column: &str, data_type: &DataType) -> Result<String> {
    let children = nested_children(data_type);
    if children.is_empty() {
        return ducklake_type(column, data_type);
    }
    for (name, child) in &children {
        registered_type(&format!("{column}.{name}"), child)?;
    }
    Ok(match data_type {
        DataType::Struct(_) => "struct".into(),
        DataType::Map(..) => "map".into(),
        _ => "list".into(),
    })
}

/// A nested column's whole type, children included (`list(element int64)`), to tell apart
/// files whose lists or structs differ inside; a scalar column's DuckLake type name.
pub fn type_signature(column: &str, data_type: &DataType) -> Result<String> {
    let children = nested_children(data_type);
    if children.is_empty() {
        return ducklake_type(column, data_type);
    }
    let inner = children
        .iter()
        .map(|(name, t)| {
            Ok(format!(
                "{name} {}",
                type_signature(&format!("{column}.{name}"), t)?
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(format!(
        "{}({})",
        registered_type(column, data_type)?,
        inner.join(", ")
    ))
}

/// The children of a nested Arrow type as DuckLake names them (a list's `element`, a struct's
/// fields, a map's `key` and `value`), with their types; empty for other types.
pub fn nested_children(data_type: &DataType) -> Vec<(String, DataType)> {
    match data_type {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            vec![("element".into(), f.data_type().clone())]
        }
        DataType::Struct(fields) => fields
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect(),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => vec![
                ("key".into(), kv[0].data_type().clone()),
                ("value".into(), kv[1].data_type().clone()),
            ],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// Whether a DuckLake type name is a nested one (its children are rows of their own).
pub fn is_nested(type_name: &str) -> bool {
    matches!(
        type_name.to_ascii_lowercase().as_str(),
        "list" | "struct" | "map"
    )
}

/// The Arrow type of a nested DuckLake column from its children's (name, type), in order: a
/// list of its `element`, a struct of its fields, a map of its `key` to its `value`.
pub fn nested_arrow_type(
    column: &str,
    type_name: &str,
    children: Vec<(String, DataType)>,
) -> Result<DataType> {
    use arrow::datatypes::Field;
    use std::sync::Arc;
    let unsupported = || Error::UnsupportedType {
        column: column.to_string(),
        type_name: type_name.to_string(),
    };
    // Inside nested columns DataFusion's Parquet reader gives strings and binaries as plain
    // (not view) arrays: declared so, a map key or struct field compares without a cast.
    let children: Vec<(String, DataType)> = children
        .into_iter()
        .map(|(name, t)| {
            let t = match t {
                DataType::Utf8View => DataType::Utf8,
                DataType::BinaryView => DataType::Binary,
                other => other,
            };
            (name, t)
        })
        .collect();
    Ok(match type_name.to_ascii_lowercase().as_str() {
        "list" => {
            let [(_, element)] = <[_; 1]>::try_from(children).map_err(|_| unsupported())?;
            DataType::List(Arc::new(Field::new("element", element, true)))
        }
        "struct" if !children.is_empty() => DataType::Struct(
            children
                .into_iter()
                .map(|(name, t)| Field::new(name, t, true))
                .collect(),
        ),
        "map" => {
            let [(_, key), (_, value)] = <[_; 2]>::try_from(children).map_err(|_| unsupported())?;
            let entries = DataType::Struct(
                vec![
                    Field::new("key", key, false),
                    Field::new("value", value, true),
                ]
                .into(),
            );
            DataType::Map(Arc::new(Field::new("key_value", entries, false)), false)
        }
        _ => return Err(unsupported()),
    })
}

/// How SQLite must compare the encoded statistics of a column type: as numbers or as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatsAffinity {
    /// Compared after `CAST(… AS INTEGER)`.
    Integer,
    /// Compared after `CAST(… AS REAL)`.
    Real,
    /// Compared as text: ISO dates and timestamps and UTF-8 strings sort correctly as bytes.
    Text,
    /// Not compared in SQL.
    None,
}

/// The comparison affinity of a DuckLake column type's encoded statistics.
pub fn stats_affinity(type_name: &str) -> StatsAffinity {
    let t = type_name.to_ascii_lowercase();
    match t.as_str() {
        "int8" | "int16" | "int32" | "int64" | "uint8" | "uint16" | "uint32" | "boolean" => {
            StatsAffinity::Integer
        }
        "float32" | "float64" => StatsAffinity::Real,
        "date" | "timestamp" | "timestamp_s" | "timestamp_ms" | "timestamp_ns" | "timestamptz"
        | "varchar" => StatsAffinity::Text,
        _ if t.starts_with("decimal(") => StatsAffinity::Real,
        _ => StatsAffinity::None,
    }
}

/// Encode one value of an array as the DuckLake statistics string (`2026-03-04`,
/// `2026-03-04 10:00:00`, `1.5`, `0`/`1` for booleans, hex for binaries).
///
/// Returns `None` for nulls and for values that have no meaningful order (NaN).
pub fn encode_value(array: &ArrayRef, index: usize) -> Option<String> {
    if array.is_null(index) {
        return None;
    }
    let options = FormatOptions::new()
        .with_date_format(Some("%Y-%m-%d"))
        .with_datetime_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_format(Some("%Y-%m-%d %H:%M:%S%.f"))
        .with_timestamp_tz_format(Some("%Y-%m-%d %H:%M:%S%.f+00"));
    let text = match array.data_type() {
        DataType::Boolean => {
            let b = array
                .as_any()
                .downcast_ref::<arrow::array::BooleanArray>()?;
            return Some(if b.value(index) { "1" } else { "0" }.to_string());
        }
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &FormatOptions::new()).ok()?;
            // Arrow prints binaries as lower-case hex already; DuckDB stores upper-case.
            formatter.value(index).to_string().to_ascii_uppercase()
        }
        DataType::Timestamp(_, Some(_)) => {
            // Normalise to UTC so that lexicographic comparison is chronological.
            let utc = arrow::compute::cast(
                array,
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            )
            .ok()?;
            let formatter = ArrayFormatter::try_new(utc.as_ref(), &options).ok()?;
            formatter.value(index).to_string()
        }
        DataType::Float16 | DataType::Float32 | DataType::Float64 => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options).ok()?;
            let s = formatter.value(index).to_string();
            if s.eq_ignore_ascii_case("nan") {
                return None;
            }
            s
        }
        _ => {
            let formatter = ArrayFormatter::try_new(array.as_ref(), &options).ok()?;
            formatter.value(index).to_string()
        }
    };
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        BooleanArray, Date32Array, Float64Array, Int64Array, StringArray, TimestampMicrosecondArray,
    };
    use std::sync::Arc;

    #[test]
    fn round_trips_type_names() {
        for name in [
            "boolean",
            "int8",
            "int16",
            "int32",
            "int64",
            "uint64",
            "float32",
            "float64",
            "date",
            "timestamp",
            "timestamp_ns",
            "timestamptz",
            "varchar",
            "blob",
            "decimal(10,2)",
        ] {
            let dt = arrow_type("c", name).unwrap();
            assert_eq!(ducklake_type("c", &dt).unwrap(), name, "{name} -> {dt}");
        }
        assert!(matches!(
            arrow_type("c", "struct"),
            Err(Error::UnsupportedType { .. })
        ));
    }

    #[test]
    fn encodes_values_like_duckdb() {
        let a: ArrayRef = Arc::new(Date32Array::from(vec![20516]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("2026-03-04"));
        let a: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            1_772_618_400_000_000,
            1_772_618_400_500_000,
        ]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("2026-03-04 10:00:00"));
        assert_eq!(
            encode_value(&a, 1).as_deref(),
            Some("2026-03-04 10:00:00.500")
        );
        let a: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(vec![1_772_618_400_000_000]).with_timezone("+01:00"),
        );
        assert_eq!(
            encode_value(&a, 0).as_deref(),
            Some("2026-03-04 10:00:00+00")
        );
        let a: ArrayRef = Arc::new(BooleanArray::from(vec![true, false]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("1"));
        let a: ArrayRef = Arc::new(Float64Array::from(vec![1.5, f64::NAN]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("1.5"));
        assert_eq!(encode_value(&a, 1), None);
        let a: ArrayRef = Arc::new(Int64Array::from(vec![Some(-7), None]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("-7"));
        assert_eq!(encode_value(&a, 1), None);
        let a: ArrayRef = Arc::new(StringArray::from(vec!["ü"]));
        assert_eq!(encode_value(&a, 0).as_deref(), Some("ü"));
    }
}
