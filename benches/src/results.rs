//! Comparing query answers across engines: every engine writes its result as Parquet; rows are
//! normalised (numbers to 6 significant digits, everything else to its text) and compared as
//! multisets. Under a LIMIT, engines may legitimately keep different rows among those tied on
//! the ORDER BY key, so a mismatch there is re-checked on that key's column alone (its values
//! must agree); a LIMIT without ORDER BY may keep any rows, so only the row count is checked.

use std::fs::File;
use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// A normalised result: rows of cells; `numeric[i]` says whether column `i` holds numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub names: Vec<String>,
    pub rows: Vec<Vec<String>>,
    pub numeric: Vec<bool>,
}

fn number(x: f64) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = 6 - 1 - x.abs().log10().floor() as i32;
    let rounded = if digits >= 0 {
        let p = 10f64.powi(digits);
        (x * p).round() / p
    } else {
        let p = 10f64.powi(-digits);
        (x / p).round() * p
    };
    format!("{rounded}")
}

fn is_numeric(t: &DataType) -> bool {
    t.is_numeric() || matches!(t, DataType::Decimal128(..) | DataType::Decimal256(..))
}

fn cells(array: &ArrayRef) -> Result<Vec<String>> {
    let t = array.data_type();
    if is_numeric(t) {
        let f = cast(array, &DataType::Float64)?;
        let f = f
            .as_any()
            .downcast_ref::<Float64Array>()
            .expect("cast to Float64");
        return Ok((0..f.len())
            .map(|i| {
                if f.is_null(i) {
                    "NULL".into()
                } else {
                    number(f.value(i))
                }
            })
            .collect());
    }
    let s = cast(array, &DataType::Utf8)?;
    let s = s
        .as_any()
        .downcast_ref::<arrow::array::StringArray>()
        .expect("cast to Utf8");
    Ok((0..s.len())
        .map(|i| {
            if s.is_null(i) {
                "NULL".into()
            } else {
                // Timestamps print with a `T`; some engines print dates as timestamps.
                let v = s.value(i).replacen('T', " ", 1);
                v.strip_suffix(" 00:00:00").map(str::to_string).unwrap_or(v)
            }
        })
        .collect())
}

/// Read a result file written by an engine.
pub fn read(path: &Path) -> Result<Answer> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?.build()?;
    let mut rows: Vec<Vec<String>> = Vec::new();
    let mut numeric = Vec::new();
    let mut names = Vec::new();
    for batch in reader {
        let batch = batch?;
        names = batch
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        numeric = batch
            .columns()
            .iter()
            .map(|c| is_numeric(c.data_type()))
            .collect();
        let columns: Vec<Vec<String>> = batch.columns().iter().map(cells).collect::<Result<_>>()?;
        for r in 0..batch.num_rows() {
            rows.push(columns.iter().map(|c| c[r].clone()).collect());
        }
    }
    Ok(Answer {
        names,
        rows,
        numeric,
    })
}

/// The first ORDER BY key of the outermost query, unquoted and lower-cased (`None` without
/// one).
fn order_key(sql: &str) -> Option<String> {
    let upper = sql.to_ascii_uppercase();
    let at = upper.rfind("ORDER BY")?;
    let rest = &sql[at + "ORDER BY".len()..];
    let mut depth = 0;
    let mut key = String::new();
    for ch in rest.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | ';' if depth == 0 => break,
            _ => {}
        }
        key.push(ch);
    }
    let key = key.trim();
    let key = key
        .split_whitespace()
        .take_while(|w| {
            !matches!(
                w.to_ascii_uppercase().as_str(),
                "DESC" | "ASC" | "LIMIT" | "OFFSET" | "NULLS"
            )
        })
        .collect::<Vec<_>>()
        .join(" ");
    Some(key.replace('"', "").to_ascii_lowercase())
}

/// Whether answer `b` agrees with the reference `a` to query `sql`.
pub fn agree(a: &Answer, b: &Answer, sql: &str) -> bool {
    let sorted = |rows: &[Vec<String>]| {
        let mut r = rows.to_vec();
        r.sort();
        r
    };
    if a.rows.len() != b.rows.len() || a.numeric.len() != b.numeric.len() {
        return false;
    }
    if sorted(&a.rows) == sorted(&b.rows) {
        return true;
    }
    if !sql.to_ascii_uppercase().contains("LIMIT") {
        return false;
    }
    let Some(key) = order_key(sql) else {
        // LIMIT without ORDER BY: any rows will do.
        return true;
    };
    let column = a
        .names
        .iter()
        .zip(&b.names)
        .position(|(x, y)| x.to_ascii_lowercase() == key || y.to_ascii_lowercase() == key);
    let Some(i) = column else {
        return false;
    };
    let values = |ans: &Answer| {
        let mut v: Vec<String> = ans.rows.iter().map(|r| r[i].clone()).collect();
        v.sort();
        v
    };
    values(a) == values(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compared_to_six_digits() {
        assert_eq!(number(1.0), "1");
        assert_eq!(number(1234.56789), "1234.57");
        assert_eq!(number(0.000123456789), "0.000123457");
        assert_ne!(number(1.0001), number(1.0002));
    }

    #[test]
    fn ties_under_a_limit_compare_on_the_order_key() {
        let a = Answer {
            names: vec!["k".into(), "c".into()],
            rows: vec![vec!["x".into(), "2".into()], vec!["y".into(), "1".into()]],
            numeric: vec![false, true],
        };
        let mut b = a.clone();
        b.rows[1][0] = "z".into();
        assert!(!agree(
            &a,
            &b,
            "SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c DESC"
        ));
        assert!(agree(
            &a,
            &b,
            "SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c DESC LIMIT 2"
        ));
        assert!(agree(
            &a,
            &b,
            "SELECT k, count(*) AS c FROM t GROUP BY k LIMIT 2"
        ));
        b.rows[1][1] = "3".into();
        assert!(!agree(
            &a,
            &b,
            "SELECT k, count(*) AS c FROM t GROUP BY k ORDER BY c DESC LIMIT 2"
        ));
        assert_eq!(
            order_key("SELECT 1 ORDER BY COUNT(*) DESC LIMIT 10;").as_deref(),
            Some("count(*)")
        );
        assert_eq!(
            order_key("SELECT 1 ORDER BY \"EventTime\", x LIMIT 10").as_deref(),
            Some("eventtime")
        );
    }
}
