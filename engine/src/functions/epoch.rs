//! DuckDB's `epoch` and `epoch_ms`: timestamps and dates to seconds or milliseconds since
//! 1970-01-01 UTC, durations and intervals to their length (as DuckDB measures them),
//! and `epoch_ms(integer)` back to a timestamp.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Float64Array, Int64Array};
use arrow::datatypes::{
    DataType, Float64Type, Int64Type, IntervalMonthDayNanoType, IntervalUnit, TimeUnit,
};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature,
    Volatility,
};

use super::{doc, shaped};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum EpochUnit {
    /// `epoch_ms`: milliseconds to a timestamp, or a timestamp, duration or interval to
    /// milliseconds.
    Millis,
    /// `epoch`: a timestamp, duration or interval to seconds (a double).
    Seconds,
}

pub(super) fn udf(unit: EpochUnit) -> ScalarUDF {
    ScalarUDF::new_from_impl(Epoch::new(unit))
}

/// What the argument is measured from.
#[derive(Clone, Copy, PartialEq)]
enum Input {
    /// A point in time: measured from 1970-01-01 UTC.
    Time,
    /// A length of time (a timestamp difference, an interval).
    Length,
    /// Anything else: `epoch_ms` takes integers (milliseconds to a timestamp).
    Other,
}

fn input(t: &DataType) -> Input {
    match t {
        DataType::Timestamp(..) | DataType::Date32 | DataType::Date64 => Input::Time,
        DataType::Duration(_) | DataType::Interval(_) => Input::Length,
        _ => Input::Other,
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Epoch {
    unit: EpochUnit,
    signature: Signature,
    doc: Documentation,
}

impl Epoch {
    fn new(unit: EpochUnit) -> Self {
        let doc = match unit {
            EpochUnit::Millis => doc(
                "Time",
                "Milliseconds since 1970-01-01 UTC to a timestamp, or a timestamp to milliseconds since then; of a duration or interval, its length in milliseconds (a month counts as 30 days, as in DuckDB).",
                "epoch_ms(milliseconds | t | length)",
                "SELECT epoch_ms(1700000000000)  -- 2023-11-14T22:13:20",
            ),
            EpochUnit::Seconds => doc(
                "Time",
                "Seconds since 1970-01-01 UTC, with fractions, of a timestamp or date; of a duration (a timestamp minus another) or interval, its length in seconds (a month counts as 30 days and a year as 365.25, as in DuckDB).",
                "epoch(t | length)",
                "SELECT epoch(TIMESTAMP '2024-01-01 00:00:01.5')  -- 1704067201.5",
            ),
        };
        Epoch {
            unit,
            signature: Signature::any(1, Volatility::Immutable),
            doc,
        }
    }
}

/// The length of each value, in `unit`, as DuckDB measures it: durations exactly; intervals
/// with 30-day months, except that `epoch` counts whole years as 365.25 days (its
/// `EpochOperator`) while `epoch_ms` does not (`Interval::GetMilli`), and `epoch_ms` truncates
/// the interval's sub-day part to milliseconds on its own.
fn lengths(value: &ColumnarValue, rows: usize, unit: EpochUnit) -> Result<ArrayRef> {
    let array = value.to_array(rows)?;
    if let DataType::Duration(_) = array.data_type() {
        let micros = arrow::compute::cast(&array, &DataType::Duration(TimeUnit::Microsecond))?;
        let ticks = arrow::compute::cast(&micros, &DataType::Int64)?;
        let ticks = ticks.as_primitive::<Int64Type>();
        return Ok(match unit {
            EpochUnit::Millis => Arc::new(ticks.unary::<_, Int64Type>(|v| v / 1_000)),
            EpochUnit::Seconds => Arc::new(ticks.unary::<_, Float64Type>(|v| v as f64 / 1e6)),
        });
    }
    let interval = arrow::compute::cast(&array, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    let interval = interval.as_primitive::<IntervalMonthDayNanoType>();
    Ok(match unit {
        EpochUnit::Millis => Arc::new(
            interval
                .iter()
                .map(|v| {
                    v.map(|v| {
                        i64::from(v.months) * 2_592_000_000
                            + i64::from(v.days) * 86_400_000
                            + v.nanoseconds / 1_000 / 1_000
                    })
                })
                .collect::<Int64Array>(),
        ),
        EpochUnit::Seconds => Arc::new(
            interval
                .iter()
                .map(|v| {
                    v.map(|v| {
                        let years = i64::from(v.months / 12);
                        let days = years * 365 + i64::from(v.months % 12) * 30 + i64::from(v.days);
                        days as f64 * 86_400.0
                            + years as f64 * 21_600.0
                            + (v.nanoseconds / 1_000) as f64 / 1e6
                    })
                })
                .collect::<Float64Array>(),
        ),
    })
}

impl ScalarUDFImpl for Epoch {
    fn name(&self) -> &str {
        match self.unit {
            EpochUnit::Millis => "epoch_ms",
            EpochUnit::Seconds => "epoch",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let [arg] = arg_types else {
            return plan_err!("{} takes 1 argument", self.name());
        };
        match (self.unit, input(arg)) {
            (EpochUnit::Millis, Input::Time | Input::Length) => Ok(DataType::Int64),
            (EpochUnit::Millis, Input::Other) if arg.is_integer() || arg.is_null() => {
                Ok(DataType::Timestamp(TimeUnit::Millisecond, None))
            }
            (EpochUnit::Seconds, Input::Time | Input::Length) => Ok(DataType::Float64),
            (_, _) => plan_err!("{} does not take {}", self.name(), arg),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let value = &args.args[0];
        let rows = super::rows_to_compute(&args);
        match input(&value.data_type()) {
            Input::Length => shaped(&args.args, lengths(value, rows, self.unit)?),
            Input::Other => {
                let as_int = value.cast_to(&DataType::Int64, None)?;
                as_int.cast_to(&DataType::Timestamp(TimeUnit::Millisecond, None), None)
            }
            Input::Time if self.unit == EpochUnit::Millis => value
                .cast_to(&DataType::Timestamp(TimeUnit::Millisecond, None), None)?
                .cast_to(&DataType::Int64, None),
            Input::Time => {
                let ticks = value
                    .cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None), None)?
                    .cast_to(&DataType::Int64, None)?
                    .to_array(rows)?;
                let seconds: Float64Array =
                    ticks.as_primitive::<Int64Type>().unary(|v| v as f64 / 1e6);
                shaped(&args.args, Arc::new(seconds))
            }
        }
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
