//! `date_part` / `EXTRACT` without a calendar object per row.
//!
//! DataFusion's `date_part` goes through Arrow's temporal kernel, which turns every value into a
//! chrono date-time and builds the result with a null-checking builder: about 7 ns a row, most of
//! the time of `GROUP BY extract(year FROM ts)` over a trip table. For the parts that are plain
//! calendar arithmetic (year, quarter, month, day, day of year and week, hour, minute, second) of
//! dates and of timestamps without a time zone (or in UTC), this wrapper computes them with
//! integer arithmetic, once per span of equal values (a year, a day, an hour) rather than once
//! per row, and hands every
//! other case — other parts, other time zones, scalars, values outside chrono's range, which
//! Arrow turns into nulls — to DataFusion's own function, whose planning behaviour (return
//! types, the year preimage that turns `extract(year …) = 2014` into a range) it keeps.

use std::str::FromStr;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, PrimitiveArray};
use arrow::compute::kernels::cast_utils::IntervalUnit;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Date32Type, Date64Type, FieldRef, Int32Type, TimeUnit,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::expr::ScalarFunction;
use datafusion::logical_expr::planner::{ExprPlanner, PlannerResult};
use datafusion::logical_expr::{
    ColumnarValue, Documentation, Expr, ReturnFieldArgs, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature,
};

/// Strata's `date_part`: DataFusion's, with the arithmetic fast path described above.
pub(crate) fn date_part() -> Arc<ScalarUDF> {
    Arc::new(ScalarUDF::new_from_impl(FastDatePart {
        inner: datafusion::functions::datetime::date_part(),
    }))
}

/// Plans `EXTRACT(part FROM x)` as Strata's `date_part` (DataFusion's own planner builds its
/// `date_part` directly, not through the function registry); goes first among the planners.
pub(crate) fn extract_planner(date_part: Arc<ScalarUDF>) -> Arc<dyn ExprPlanner> {
    Arc::new(ExtractPlanner(date_part))
}

#[derive(Debug)]
struct ExtractPlanner(Arc<ScalarUDF>);

impl ExprPlanner for ExtractPlanner {
    fn plan_extract(&self, args: Vec<Expr>) -> Result<PlannerResult<Vec<Expr>>> {
        Ok(PlannerResult::Planned(Expr::ScalarFunction(
            ScalarFunction::new_udf(Arc::clone(&self.0), args),
        )))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct FastDatePart {
    inner: Arc<ScalarUDF>,
}

/// The parts computed here; each is what Arrow's kernel returns for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Year,
    Quarter,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    DayOfYear,
    /// `dow`: Sunday is 0.
    DayOfWeek,
    /// `isodow`: Monday is 1, Sunday 7.
    IsoDayOfWeek,
}

impl Part {
    /// The part named as DataFusion names it (quotes stripped, any case, the interval-unit
    /// spellings `y`, `mon`, `hrs`, …), or None for the parts left to DataFusion.
    fn parse(part: &str) -> Option<Part> {
        let part = part
            .strip_prefix(['\'', '"'])
            .and_then(|s| s.strip_suffix(['\'', '"']))
            .unwrap_or(part);
        if let Ok(unit) = IntervalUnit::from_str(part) {
            return match unit {
                IntervalUnit::Year => Some(Part::Year),
                IntervalUnit::Month => Some(Part::Month),
                IntervalUnit::Day => Some(Part::Day),
                IntervalUnit::Hour => Some(Part::Hour),
                IntervalUnit::Minute => Some(Part::Minute),
                IntervalUnit::Second => Some(Part::Second),
                _ => None,
            };
        }
        match part.to_lowercase().as_str() {
            "qtr" | "quarter" => Some(Part::Quarter),
            "doy" => Some(Part::DayOfYear),
            "dow" => Some(Part::DayOfWeek),
            "isodow" => Some(Part::IsoDayOfWeek),
            _ => None,
        }
    }
}

/// (year, month, day) of day `days` since 1970-01-01 in the proleptic Gregorian calendar, for
/// `days` in `LOWEST_DAY..=HIGHEST_DAY`: Neri and Schneider's algorithm, in 32-bit unsigned
/// arithmetic with no table ("Euclidean affine functions and their application to calendar
/// algorithms", 2022), twice as fast as chrono's.
#[inline(always)]
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Shifted by 82 eras of 400 years so that every day in range is a positive count.
    const ERAS: u32 = 82;
    const SHIFT: u32 = 719_468 + 146_097 * ERAS;
    let n = (days as i32 as u32).wrapping_add(SHIFT);
    let n1 = 4 * n + 3;
    let century = n1 / 146_097;
    let n2 = (n1 % 146_097) | 3;
    let p = 2_939_745u64 * u64::from(n2);
    let year_of_century = (p >> 32) as u32;
    let day_of_year = (p as u32) / 2_939_745 / 4;
    let january_or_february = day_of_year >= 306;
    let year = 100 * century + year_of_century + u32::from(january_or_february);
    let n4 = 2_141 * day_of_year + 197_913;
    let month = n4 >> 16;
    let day = (n4 & 0xFFFF) / 2_141;
    let month = if january_or_february {
        month - 12
    } else {
        month
    };
    (
        i64::from(year) - 400 * i64::from(ERAS),
        i64::from(month),
        i64::from(day) + 1,
    )
}

/// Days since 1970-01-01 of a (year, month, day) (the inverse of [`civil_from_days`];
/// <https://howardhinnant.github.io/date_algorithms.html#days_from_civil>).
#[inline(always)]
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The days, counted from 1970-01-01, for which [`civil_from_days`] is exact and chrono (and
/// so Arrow's kernel) has every date: about years −30,800 to 201,800.
const LOWEST_DAY: i64 = -12_000_000;
const HIGHEST_DAY: i64 = 73_000_000;

/// The part's value at instant `v` (`PER_DAY` units a day, `PER_SECOND` a second) and the
/// instants `lo..hi` that share it (saturated at the ends of i64, which keeps it true).
#[inline(never)]
fn part_and_span<const PER_DAY: i64, const PER_SECOND: i64>(part: Part, v: i64) -> (i32, i64, i64) {
    let days = v.div_euclid(PER_DAY);
    let at = |days: i64| days.saturating_mul(PER_DAY);
    let days_span = |lo: i64, hi: i64| (at(lo), at(hi));
    let (value, (lo, hi)) = match part {
        Part::Hour | Part::Minute | Part::Second => {
            let seconds = v.rem_euclid(PER_DAY) / PER_SECOND;
            let (value, unit) = match part {
                Part::Hour => (seconds / 3600, 3600 * PER_SECOND),
                Part::Minute => ((seconds / 60) % 60, 60 * PER_SECOND),
                _ => (seconds % 60, PER_SECOND),
            };
            // Dates (one unit a day) have no time of day: their span is the day.
            let unit = unit.min(PER_DAY);
            let lo = v.saturating_sub(v.rem_euclid(unit));
            (value, (lo, lo.saturating_add(unit)))
        }
        Part::Day | Part::DayOfYear | Part::DayOfWeek | Part::IsoDayOfWeek => {
            let value = match part {
                Part::DayOfWeek => (days + 4).rem_euclid(7),
                Part::IsoDayOfWeek => (days + 3).rem_euclid(7) + 1,
                Part::Day => civil_from_days(days).2,
                _ => days - days_from_civil(civil_from_days(days).0, 1, 1) + 1,
            };
            (value, days_span(days, days + 1))
        }
        Part::Year => {
            let year = civil_from_days(days).0;
            let span = days_span(days_from_civil(year, 1, 1), days_from_civil(year + 1, 1, 1));
            (year, span)
        }
        Part::Quarter | Part::Month => {
            let (year, month, _) = civil_from_days(days);
            let (first, months, value) = if part == Part::Month {
                (month, 1, month)
            } else {
                ((month - 1) / 3 * 3 + 1, 3, (month - 1) / 3 + 1)
            };
            let next = first + months;
            let (next_year, next) = if next > 12 {
                (year + 1, next - 12)
            } else {
                (year, next)
            };
            let span = days_span(
                days_from_civil(year, first, 1),
                days_from_civil(next_year, next, 1),
            );
            (value, span)
        }
    };
    (value as i32, lo, hi)
}

/// The part of every value of `array`, whose values are `PER_DAY` units a day (`PER_SECOND` a
/// second), or None when a value lies outside the safe range (Arrow makes those null). Values
/// come clustered in time (files are written in time order, logs arrive in it), so the part is
/// computed only when a value leaves the span of instants that share the previous one's part.
fn by_arithmetic<T, const PER_DAY: i64, const PER_SECOND: i64>(
    array: &PrimitiveArray<T>,
    part: Part,
) -> Option<ArrayRef>
where
    T: ArrowPrimitiveType,
    T::Native: Into<i64>,
{
    let lowest: i64 = arrow::compute::min(array)?.into();
    let highest: i64 = arrow::compute::max(array)?.into();
    if lowest.div_euclid(PER_DAY) < LOWEST_DAY || highest.div_euclid(PER_DAY) > HIGHEST_DAY {
        return None;
    }
    let nulls = array.nulls();
    let mut values = Vec::with_capacity(array.len());
    // An empty span: the first value computes.
    let (mut value, mut lo, mut hi) = (0i32, 1i64, 0i64);
    for (i, v) in array.values().iter().enumerate() {
        let v: i64 = (*v).into();
        // Null slots hold arbitrary values (outside the checked range too): skip them.
        if (v < lo || v >= hi) && nulls.is_none_or(|n| n.is_valid(i)) {
            (value, lo, hi) = part_and_span::<PER_DAY, PER_SECOND>(part, v);
        }
        values.push(value);
    }
    Some(Arc::new(PrimitiveArray::<Int32Type>::new(
        values.into(),
        nulls.cloned(),
    )))
}

/// The fast path, when it applies to this array.
fn compute(part: Part, array: &ArrayRef) -> Option<ArrayRef> {
    if array.null_count() == array.len() {
        return None;
    }
    const DAY: i64 = 86_400;
    match array.data_type() {
        DataType::Date32 => by_arithmetic::<_, 1, 1>(array.as_primitive::<Date32Type>(), part),
        DataType::Date64 => {
            by_arithmetic::<_, { DAY * 1000 }, 1000>(array.as_primitive::<Date64Type>(), part)
        }
        DataType::Timestamp(unit, tz) if tz.as_deref().is_none_or(is_utc) => match unit {
            TimeUnit::Second => {
                by_arithmetic::<_, DAY, 1>(array.as_primitive::<TimestampSecondType>(), part)
            }
            TimeUnit::Millisecond => by_arithmetic::<_, { DAY * 1_000 }, 1_000>(
                array.as_primitive::<TimestampMillisecondType>(),
                part,
            ),
            TimeUnit::Microsecond => by_arithmetic::<_, { DAY * 1_000_000 }, 1_000_000>(
                array.as_primitive::<TimestampMicrosecondType>(),
                part,
            ),
            TimeUnit::Nanosecond => by_arithmetic::<_, { DAY * 1_000_000_000 }, 1_000_000_000>(
                array.as_primitive::<TimestampNanosecondType>(),
                part,
            ),
        },
        _ => None,
    }
}

fn is_utc(tz: &str) -> bool {
    matches!(tz, "UTC" | "+00:00")
}

impl ScalarUDFImpl for FastDatePart {
    crate::functions::delegate_to_inner!();

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if let [ColumnarValue::Scalar(name), ColumnarValue::Array(array)] = args.args.as_slice() {
            let part = match name {
                ScalarValue::Utf8(Some(p))
                | ScalarValue::Utf8View(Some(p))
                | ScalarValue::LargeUtf8(Some(p)) => Part::parse(p),
                _ => None,
            };
            if let Some(values) = part.and_then(|part| compute(part, array)) {
                return Ok(ColumnarValue::Array(values));
            }
        }
        self.inner.invoke_with_args(args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Date32Array, TimestampMicrosecondArray, TimestampNanosecondArray, TimestampSecondArray,
    };
    use arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;

    const PARTS: &[&str] = &[
        "year", "YEAR", "'year'", "y", "quarter", "qtr", "month", "mon", "day", "d", "hour", "h",
        "minute", "min", "second", "s", "doy", "dow", "isodow",
    ];

    /// Both implementations on the same argument.
    fn both(part: &str, array: ArrayRef) -> (ArrayRef, ArrayRef) {
        let udf = date_part();
        let inner = datafusion::functions::datetime::date_part();
        let run = |f: &ScalarUDF| {
            let args = ScalarFunctionArgs {
                args: vec![
                    ColumnarValue::Scalar(ScalarValue::Utf8(Some(part.to_string()))),
                    ColumnarValue::Array(Arc::clone(&array)),
                ],
                arg_fields: vec![
                    Arc::new(Field::new("p", DataType::Utf8, false)),
                    Arc::new(Field::new("x", array.data_type().clone(), true)),
                ],
                number_rows: array.len(),
                return_field: Arc::new(Field::new("r", DataType::Int32, true)),
                config_options: Arc::new(ConfigOptions::default()),
            };
            match f.invoke_with_args(args).unwrap() {
                ColumnarValue::Array(a) => a,
                ColumnarValue::Scalar(_) => panic!("a scalar for an array argument"),
            }
        };
        (run(&udf), run(&inner))
    }

    /// A deterministic spread of instants, `per_day` units a day: anywhere within `max_days` of
    /// 1970, dense within two centuries, at the turns of years and of February, and around
    /// the epoch; every 97th is null.
    fn instants(per_day: i64, max_days: i64) -> Vec<Option<i64>> {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 1) as i64
        };
        (0..20_000)
            .map(|i| {
                let r = next();
                let day = match i % 4 {
                    0 if i % 8 == 0 => -(r % -LOWEST_DAY),
                    0 => r % max_days,
                    1 => r % (400 * 366) - 200 * 366,
                    2 => {
                        let year = 1600 + r % 800;
                        let (month, day) = [(1, 1), (12, 31), (2, 28), (3, 1)][(r % 4) as usize];
                        days_from_civil(year, month, day) + (r / 7) % 3 - 1
                    }
                    _ => r % 3 - 1,
                };
                let v = i128::from(day) * i128::from(per_day) + i128::from(next() % per_day);
                let v = v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
                (i % 97 != 0).then_some(v)
            })
            .collect()
    }

    #[test]
    fn agrees_with_datafusion_for_timestamps_and_dates() {
        const DAY_US: i64 = 86_400_000_000;
        let micros: ArrayRef = Arc::new(TimestampMicrosecondArray::from(instants(
            DAY_US, 70_000_000,
        )));
        let utc: ArrayRef = Arc::new(
            TimestampMicrosecondArray::from(instants(DAY_US, 70_000_000)).with_timezone("UTC"),
        );
        let nanos: ArrayRef = Arc::new(TimestampNanosecondArray::from(instants(
            DAY_US * 1000,
            106_000,
        )));
        let seconds: ArrayRef = Arc::new(TimestampSecondArray::from(instants(86_400, 70_000_000)));
        let days: Vec<Option<i32>> = instants(1, 70_000_000)
            .iter()
            .map(|v| v.map(|v| v as i32))
            .collect();
        let dates: ArrayRef = Arc::new(Date32Array::from(days));
        let sorted = |a: &ArrayRef| arrow::compute::sort(a, None).unwrap();
        let arrays = [micros, utc, nanos, seconds, dates];
        let sorted: Vec<ArrayRef> = arrays.iter().map(sorted).collect();
        // Sorted, consecutive values share spans: the path that reuses the previous value.
        for array in arrays.into_iter().chain(sorted) {
            assert!(
                compute(Part::Year, &array).is_some(),
                "{} takes the fast path",
                array.data_type()
            );
            for part in PARTS {
                let (fast, reference) = both(part, Arc::clone(&array));
                assert_eq!(&fast, &reference, "{part} of {}", array.data_type());
            }
        }
    }

    #[test]
    fn values_outside_chrono_range_are_left_to_datafusion() {
        // Microseconds far beyond chrono's years: Arrow answers null, and so must we.
        let array: ArrayRef = Arc::new(TimestampMicrosecondArray::from(vec![
            Some(0),
            Some(i64::MAX - 5),
            None,
        ]));
        let part = Part::parse("year").unwrap();
        assert!(compute(part, &array).is_none());
        let (fast, reference) = both("year", array);
        assert_eq!(&fast, &reference);
        assert!(fast.is_null(1));
    }

    #[test]
    fn parts_are_named_as_datafusion_names_them() {
        assert_eq!(Part::parse("'Year'"), Some(Part::Year));
        assert_eq!(Part::parse("hrs"), Some(Part::Hour));
        assert_eq!(Part::parse("QUARTER"), Some(Part::Quarter));
        assert_eq!(Part::parse("week"), None);
        assert_eq!(Part::parse("epoch"), None);
        assert_eq!(Part::parse("millisecond"), None);
    }
}
