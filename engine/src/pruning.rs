//! File pruning from catalog statistics: simple bounds become SQL pre-filters in the catalog,
//! and DataFusion's `PruningPredicate` then prunes the candidates in memory with the full
//! predicate.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, UInt64Array};
use arrow::datatypes::DataType;
use datafusion::common::pruning::PruningStatistics;
use datafusion::common::{Column as DfColumn, ScalarValue};
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Between, BinaryExpr, Expr, Operator};
use strata_catalog::types::encode_value;
use strata_catalog::{Bound, ColumnRange, ColumnStats, DataFile, TableMeta};

/// Bounds on plain columns implied by `filters` (a conjunction), encoded for the catalog.
pub fn column_ranges(table: &TableMeta, filters: &[Expr]) -> Vec<ColumnRange> {
    let mut ranges: Vec<ColumnRange> = Vec::new();
    let mut add = |name: &str, bound: Option<Bound>| {
        let (Some(col), Some(bound)) = (table.column_by_name(name), bound) else {
            return;
        };
        match ranges.iter_mut().find(|r| r.column_id == col.column_id) {
            Some(r) => r.bounds.push(bound),
            None => ranges.push(ColumnRange {
                column_id: col.column_id,
                bounds: vec![bound],
            }),
        }
    };
    let encode = |name: &str, value: &ScalarValue| -> Option<String> {
        let col = table.column_by_name(name)?;
        encode_scalar(value, &col.data_type)
    };
    for filter in filters {
        for expr in split_conjunction(filter) {
            match expr {
                Expr::BinaryExpr(BinaryExpr { left, op, right }) => {
                    let (name, value, op) = match (left.as_ref(), right.as_ref()) {
                        (Expr::Column(c), Expr::Literal(v, _)) => (&c.name, v, *op),
                        (Expr::Literal(v, _), Expr::Column(c)) => match op.swap() {
                            Some(op) => (&c.name, v, op),
                            None => continue,
                        },
                        _ => continue,
                    };
                    if value.is_null() {
                        continue;
                    }
                    let Some(text) = encode(name, value) else {
                        continue;
                    };
                    let lower = |strict| Bound::Lower {
                        value: text.clone(),
                        strict,
                    };
                    let upper = |strict| Bound::Upper {
                        value: text.clone(),
                        strict,
                    };
                    match op {
                        Operator::Eq => {
                            add(name, Some(lower(false)));
                            add(name, Some(upper(false)));
                        }
                        Operator::Gt => add(name, Some(lower(true))),
                        Operator::GtEq => add(name, Some(lower(false))),
                        Operator::Lt => add(name, Some(upper(true))),
                        Operator::LtEq => add(name, Some(upper(false))),
                        _ => {}
                    }
                }
                Expr::Between(Between {
                    expr,
                    negated: false,
                    low,
                    high,
                }) => {
                    let Expr::Column(c) = expr.as_ref() else {
                        continue;
                    };
                    if let Expr::Literal(v, _) = low.as_ref()
                        && !v.is_null()
                    {
                        add(
                            &c.name,
                            encode(&c.name, v).map(|value| Bound::Lower {
                                value,
                                strict: false,
                            }),
                        );
                    }
                    if let Expr::Literal(v, _) = high.as_ref()
                        && !v.is_null()
                    {
                        add(
                            &c.name,
                            encode(&c.name, v).map(|value| Bound::Upper {
                                value,
                                strict: false,
                            }),
                        );
                    }
                }
                _ => {}
            }
        }
    }
    ranges
}

/// Encode a literal the way the catalog encodes statistics of a column of `data_type`.
/// `None` when the literal cannot be represented exactly in that type.
fn encode_scalar(value: &ScalarValue, data_type: &DataType) -> Option<String> {
    let cast = value.cast_to(data_type).ok()?;
    // A lossy cast (e.g. 1.5 to an integer column) would give a wrong bound.
    let back = cast.cast_to(&value.data_type()).ok()?;
    if back != *value {
        return None;
    }
    let array = cast.to_array().ok()?;
    encode_value(&array, 0)
}

/// Parse an encoded statistics value into a scalar of `data_type`.
pub fn decode_scalar(text: &str, data_type: &DataType) -> Option<ScalarValue> {
    let normalized;
    let text = if matches!(data_type, DataType::Timestamp(_, _)) && text.ends_with("+00") {
        normalized = format!("{text}:00");
        normalized.as_str()
    } else {
        text
    };
    let target = match data_type {
        DataType::Boolean => {
            return match text {
                "1" | "true" => Some(ScalarValue::Boolean(Some(true))),
                "0" | "false" => Some(ScalarValue::Boolean(Some(false))),
                _ => None,
            };
        }
        DataType::BinaryView | DataType::Binary | DataType::FixedSizeBinary(_) => return None,
        other => other,
    };
    ScalarValue::try_from_string(text.to_string(), target).ok()
}

/// Catalog statistics of candidate files, in the shape `PruningPredicate` asks for.
pub struct FileStatistics<'a> {
    pub table: &'a TableMeta,
    pub files: &'a [DataFile],
}

impl FileStatistics<'_> {
    fn bounds(&self, column: &DfColumn, max: bool) -> Option<ArrayRef> {
        let col = self.table.column_by_name(&column.name)?;
        bounds_array(
            self.files.iter().map(|f| f.column_stats(col.column_id)),
            &col.data_type,
            max,
        )
    }
}

/// The minimums (or maximums) of one column over files, decoded to `data_type`: what
/// `PruningPredicate` compares (a file without a usable bound gives a NULL).
pub(crate) fn bounds_array<'a>(
    stats: impl Iterator<Item = Option<&'a ColumnStats>>,
    data_type: &DataType,
    max: bool,
) -> Option<ArrayRef> {
    let values: Vec<ScalarValue> = stats
        .map(|s| {
            s.and_then(|s| if max { s.max.as_ref() } else { s.min.as_ref() })
                .and_then(|text| decode_scalar(text, data_type))
                .unwrap_or_else(|| ScalarValue::try_from(data_type).unwrap_or(ScalarValue::Null))
        })
        .collect();
    ScalarValue::iter_to_array(values).ok()
}

/// The NULL counts of one column over files (unknown: NULL).
pub(crate) fn null_counts_array<'a>(
    stats: impl Iterator<Item = Option<&'a ColumnStats>>,
) -> ArrayRef {
    let counts: UInt64Array = stats
        .map(|s| s.and_then(|s| s.null_count).map(|n| n as u64))
        .collect();
    Arc::new(counts)
}

impl PruningStatistics for FileStatistics<'_> {
    fn min_values(&self, column: &DfColumn) -> Option<ArrayRef> {
        self.bounds(column, false)
    }

    fn max_values(&self, column: &DfColumn) -> Option<ArrayRef> {
        self.bounds(column, true)
    }

    fn num_containers(&self) -> usize {
        self.files.len()
    }

    fn null_counts(&self, column: &DfColumn) -> Option<ArrayRef> {
        let col = self.table.column_by_name(&column.name)?;
        Some(null_counts_array(
            self.files.iter().map(|f| f.column_stats(col.column_id)),
        ))
    }

    fn row_counts(&self) -> Option<ArrayRef> {
        let counts: UInt64Array = self
            .files
            .iter()
            .map(|f| Some(f.record_count as u64))
            .collect();
        Some(Arc::new(counts))
    }

    fn contained(
        &self,
        _column: &DfColumn,
        _values: &HashSet<ScalarValue>,
    ) -> Option<BooleanArray> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};
    use strata_catalog::Column;

    fn table() -> TableMeta {
        let column = |id, name: &str, type_name: &str, data_type| Column {
            column_id: id,
            name: name.into(),
            type_name: type_name.into(),
            data_type,
            nullable: true,
            from_path: false,
        };
        TableMeta {
            table_id: 1,
            schema: "main".into(),
            name: "t".into(),
            columns: vec![
                column(1, "n", "int64", DataType::Int64),
                column(2, "d", "date", DataType::Date32),
            ],
            partition: vec![],
            location: None,
            path: String::new(),
            snapshot: 1,
            properties: vec![],
        }
    }

    #[test]
    fn extracts_bounds() {
        let t = table();
        let filters = vec![
            col("n").gt_eq(lit(10i64)).and(lit(20i64).gt(col("n"))),
            col("x").eq(lit(1)),
            col("n").eq(lit(1.5f64)),
        ];
        let ranges = column_ranges(&t, &filters);
        assert_eq!(ranges.len(), 1);
        assert_eq!(
            ranges[0].bounds,
            vec![
                Bound::Lower {
                    value: "10".into(),
                    strict: false
                },
                Bound::Upper {
                    value: "20".into(),
                    strict: true
                }
            ]
        );
    }

    #[test]
    fn decodes_values() {
        assert_eq!(
            decode_scalar("2026-03-04", &DataType::Date32),
            Some(ScalarValue::Date32(Some(20516)))
        );
        assert!(
            decode_scalar(
                "2026-03-04 10:00:00+00",
                &DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, Some("UTC".into()))
            )
            .is_some()
        );
        assert_eq!(
            decode_scalar("1", &DataType::Boolean),
            Some(ScalarValue::Boolean(Some(true)))
        );
    }
}
