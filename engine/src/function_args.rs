//! Arguments of Strata's table functions (`table_at`, `strata_columns`, `strata_history`):
//! constants seen through casts, table names, and times as the catalog spells them.

use arrow::datatypes::DataType;
use datafusion::catalog::TableFunctionArgs;
use datafusion::common::ScalarValue;
use datafusion::logical_expr::Expr;

use crate::error::{Error, Result};

/// The literal value of a constant argument, looking through casts (`TIMESTAMP '…'`).
pub(crate) fn literal(expr: &Expr) -> Option<ScalarValue> {
    match expr {
        Expr::Literal(v, _) => Some(v.clone()),
        Expr::Cast(c) => match literal(&c.expr)? {
            ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s))
                if matches!(
                    c.field.data_type(),
                    DataType::Timestamp(..) | DataType::Date32
                ) =>
            {
                Some(ScalarValue::Utf8(Some(s)))
            }
            v => v.cast_to(c.field.data_type()).ok(),
        },
        _ => None,
    }
}

pub(crate) fn timestamp_micros(v: &ScalarValue) -> Option<i64> {
    match v {
        ScalarValue::TimestampSecond(Some(s), _) => Some(s * 1_000_000),
        ScalarValue::TimestampMillisecond(Some(s), _) => Some(s * 1_000),
        ScalarValue::TimestampMicrosecond(Some(s), _) => Some(*s),
        ScalarValue::TimestampNanosecond(Some(s), _) => Some(s / 1_000),
        _ => None,
    }
}

/// `2026-03-04`, `2026-03-04 10:00[:00[.123]]`, `2026-03-04T10:00:00Z` or with an offset, as
/// the catalog spells snapshot times (UTC).
pub(crate) fn normalize_time(text: &str) -> Result<String> {
    let t = text.trim();
    let utc = if let Ok(dt) = chrono::DateTime::parse_from_rfc3339(t) {
        dt.naive_utc()
    } else if let Ok(dt) = chrono::DateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f%#z") {
        dt.naive_utc()
    } else {
        let formats = [
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%dT%H:%M:%S%.f",
            "%Y-%m-%d %H:%M",
        ];
        match formats
            .iter()
            .find_map(|f| chrono::NaiveDateTime::parse_from_str(t, f).ok())
        {
            Some(dt) => dt,
            None => chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
                .ok_or_else(|| {
                    Error::Usage(format!(
                        "cannot read '{text}' as a time: use 'YYYY-MM-DD HH:MM:SS' (UTC) or RFC 3339"
                    ))
                })?,
        }
    };
    Ok(utc.format("%Y-%m-%d %H:%M:%S%.6f+00").to_string())
}

/// `(schema, table)` of a table function's name argument (`'name'` or `'schema.name'`).
pub(crate) fn table_name_arg(arg: &Expr, default_schema: &str) -> Option<(String, String)> {
    let name = match literal(arg)? {
        ScalarValue::Utf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s,
        _ => return None,
    };
    Some(match name.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => (default_schema.to_string(), name),
    })
}

/// The schema unqualified names resolve to in a table function's session.
pub(crate) fn default_schema(args: &TableFunctionArgs) -> String {
    args.session()
        .config()
        .options()
        .catalog
        .default_schema
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_times() {
        assert_eq!(
            normalize_time("2026-03-04").unwrap(),
            "2026-03-04 00:00:00.000000+00"
        );
        assert_eq!(
            normalize_time("2026-03-04T10:00:00+01:00").unwrap(),
            "2026-03-04 09:00:00.000000+00"
        );
        assert!(normalize_time("yesterday").is_err());
    }
}
