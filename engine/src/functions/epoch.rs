//! DuckDB's `epoch` and `epoch_ms`: timestamps and dates to seconds or milliseconds since
//! 1970-01-01 UTC, durations and intervals to their length (DuckDB counts a month as 30 days),
//! and `epoch_ms(integer)` back to a timestamp.

use std::sync::Arc;

use arrow::array::{Array, AsArray, Float64Array, Int64Array};
use arrow::datatypes::{DataType, Int64Type, IntervalMonthDayNanoType, IntervalUnit, TimeUnit};
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
                "Milliseconds since 1970-01-01 UTC to a timestamp, or a timestamp to milliseconds since then; of a duration or interval, its length in milliseconds (a month counts as 30 days).",
                "epoch_ms(milliseconds | t | length)",
                "SELECT epoch_ms(1700000000000)  -- 2023-11-14T22:13:20",
            ),
            EpochUnit::Seconds => doc(
                "Time",
                "Seconds since 1970-01-01 UTC, with fractions, of a timestamp or date; of a duration (a timestamp minus another) or interval, its length in seconds (a month counts as 30 days).",
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

/// Microseconds in the length of each value: durations of any unit, intervals of any kind.
fn length_micros(value: &ColumnarValue, rows: usize) -> Result<Int64Array> {
    let array = value.to_array(rows)?;
    if let DataType::Duration(_) = array.data_type() {
        let micros = arrow::compute::cast(&array, &DataType::Duration(TimeUnit::Microsecond))?;
        let ticks = arrow::compute::cast(&micros, &DataType::Int64)?;
        return Ok(ticks.as_primitive::<Int64Type>().clone());
    }
    let interval = arrow::compute::cast(&array, &DataType::Interval(IntervalUnit::MonthDayNano))?;
    Ok(interval
        .as_primitive::<IntervalMonthDayNanoType>()
        .iter()
        .map(|v| {
            v.map(|v| {
                (i64::from(v.months) * 30 + i64::from(v.days)) * 86_400_000_000
                    + v.nanoseconds / 1_000
            })
        })
        .collect())
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
        let micros = match input(&value.data_type()) {
            Input::Other => {
                let as_int = value.cast_to(&DataType::Int64, None)?;
                return as_int.cast_to(&DataType::Timestamp(TimeUnit::Millisecond, None), None);
            }
            Input::Time if self.unit == EpochUnit::Millis => {
                return value
                    .cast_to(&DataType::Timestamp(TimeUnit::Millisecond, None), None)?
                    .cast_to(&DataType::Int64, None);
            }
            Input::Time => {
                let ticks = value
                    .cast_to(&DataType::Timestamp(TimeUnit::Microsecond, None), None)?
                    .cast_to(&DataType::Int64, None)?
                    .to_array(rows)?;
                ticks.as_primitive::<Int64Type>().clone()
            }
            Input::Length => length_micros(value, rows)?,
        };
        let out: Arc<dyn Array> = match self.unit {
            // Whole milliseconds, truncated as DuckDB does.
            EpochUnit::Millis => Arc::new(
                micros
                    .iter()
                    .map(|v| v.map(|v| v / 1_000))
                    .collect::<Int64Array>(),
            ),
            EpochUnit::Seconds => Arc::new(
                micros
                    .iter()
                    .map(|v| v.map(|v| v as f64 / 1e6))
                    .collect::<Float64Array>(),
            ),
        };
        shaped(&args.args, out)
    }

    fn documentation(&self) -> Option<&Documentation> {
        Some(&self.doc)
    }
}
