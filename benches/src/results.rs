//! Comparing query answers across engines: every engine writes its result as Parquet; rows are
//! compared as multisets, numbers within a relative 1e-6 (engines round averages of decimals
//! differently), everything else by its text. Under a LIMIT, engines may legitimately keep different rows among those tied on
//! the ORDER BY key, so a mismatch there is re-checked on that key's column alone (its values
//! must agree); a LIMIT without ORDER BY may keep any rows, so only the row count is checked.

use std::fs::File;
use std::path::Path;

use anyhow::Result;
use arrow::array::{Array, ArrayRef, Float64Array};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// One value of a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Num(f64),
    Text(String),
}

impl Cell {
    /// Sort key: numbers to 4 significant digits, so that nearly equal numbers sort alike.
    fn key(&self) -> String {
        match self {
            Cell::Num(x) => number(*x, 4),
            Cell::Text(t) => t.clone(),
        }
    }

    fn close(&self, other: &Cell) -> bool {
        match (self, other) {
            (Cell::Num(a), Cell::Num(b)) => {
                a == b || (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
            }
            (a, b) => a == b,
        }
    }
}

/// A result: column names and rows; `numeric[i]` says whether column `i` holds numbers.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub names: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    pub numeric: Vec<bool>,
}

/// `x` rounded to `significant` digits, as text.
fn number(x: f64, significant: i32) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    if x.fract() == 0.0 && x.abs() < 1e15 {
        return format!("{}", x as i64);
    }
    let digits = significant - 1 - x.abs().log10().floor() as i32;
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

fn cells(array: &ArrayRef) -> Result<Vec<Cell>> {
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
                    Cell::Text("NULL".into())
                } else {
                    Cell::Num(f.value(i))
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
                Cell::Text("NULL".into())
            } else {
                // Timestamps print with a `T`; some engines print dates as timestamps.
                let v = s.value(i).replacen('T', " ", 1);
                Cell::Text(v.strip_suffix(" 00:00:00").map(str::to_string).unwrap_or(v))
            }
        })
        .collect())
}

/// Read a result file written by an engine.
pub fn read(path: &Path) -> Result<Answer> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?.build()?;
    let mut rows: Vec<Vec<Cell>> = Vec::new();
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
        let columns: Vec<Vec<Cell>> = batch.columns().iter().map(cells).collect::<Result<_>>()?;
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
    let sorted = |rows: &[Vec<Cell>]| {
        let mut r = rows.to_vec();
        r.sort_by_cached_key(|row| row.iter().map(Cell::key).collect::<Vec<_>>());
        r
    };
    let same = |x: &[Vec<Cell>], y: &[Vec<Cell>]| {
        x.len() == y.len()
            && x.iter()
                .zip(y)
                .all(|(r, q)| r.len() == q.len() && r.iter().zip(q).all(|(u, v)| u.close(v)))
    };
    if a.rows.len() != b.rows.len() || a.numeric.len() != b.numeric.len() {
        return false;
    }
    if same(&sorted(&a.rows), &sorted(&b.rows)) {
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
    let column =
        |ans: &Answer| -> Vec<Vec<Cell>> { ans.rows.iter().map(|r| vec![r[i].clone()]).collect() };
    same(&sorted(&column(a)), &sorted(&column(b)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_compared_within_a_millionth() {
        assert_eq!(number(1.0, 6), "1");
        assert_eq!(number(1234.56789, 6), "1234.57");
        assert_eq!(number(0.000123456789, 6), "0.000123457");
        assert!(Cell::Num(0.050081).close(&Cell::Num(0.05008133906964238)));
        assert!(!Cell::Num(1.0001).close(&Cell::Num(1.0002)));
        assert!(!Cell::Num(5e8).close(&Cell::Num(5e8 + 1000.0)));
    }

    #[test]
    fn ties_under_a_limit_compare_on_the_order_key() {
        let t = |s: &str| Cell::Text(s.into());
        let a = Answer {
            names: vec!["k".into(), "c".into()],
            rows: vec![vec![t("x"), Cell::Num(2.0)], vec![t("y"), Cell::Num(1.0)]],
            numeric: vec![false, true],
        };
        let mut b = a.clone();
        b.rows[1][0] = t("z");
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
        b.rows[1][1] = Cell::Num(3.0);
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
