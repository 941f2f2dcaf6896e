//! MaxCompute's date functions that DataFusion lacks, with MaxCompute's units (`'yyyy'`,
//! `'mm'`, `'dd'`, `'hh'`, `'mi'`, `'ss'` and their long names):
//! - `dateadd(d, delta, unit)`: d moved by delta units (a month past the end of the next month
//!   stops at its last day: `dateadd('2024-01-31', 1, 'mm')` is 2024-02-29);
//! - `datediff(d1, d2 [, unit])`: d1 − d2 in units, both cut to the unit first (so
//!   `datediff('2005-12-31 23:59:59', '2006-01-01 00:00:00', 'dd')` is −1); days by default;
//! - `datetrunc(d, unit)`: d cut to the start of its year, month, day, hour, minute or second.
//!
//! d is a DATE (the result stays a DATE), a TIMESTAMP, or text read as a timestamp.

use std::sync::Arc;

use chrono::{Datelike, Duration, Months, NaiveDate, NaiveDateTime, Timelike};
use datafusion::arrow::array::{Array, ArrayRef, AsArray, Date32Array, Int64Array, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility};

/// Which of the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DateFunction {
    /// `dateadd`.
    Add,
    /// `datediff`.
    Diff,
    /// `datetrunc`.
    Trunc,
}

/// A unit of MaxCompute's date functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
}

fn unit(text: &str) -> DfResult<Unit> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "yyyy" | "year" => Unit::Year,
        "mm" | "mon" | "month" => Unit::Month,
        "dd" | "day" => Unit::Day,
        "hh" | "hour" => Unit::Hour,
        "mi" | "minute" => Unit::Minute,
        "ss" | "second" => Unit::Second,
        other => {
            return Err(DataFusionError::Plan(format!(
                "unknown date unit '{other}': use 'yyyy', 'mm', 'dd', 'hh', 'mi' or 'ss'"
            )));
        }
    })
}

/// `t` cut to the start of its `unit`.
fn trunc(t: NaiveDateTime, unit: Unit) -> NaiveDateTime {
    let d = t.date();
    let (date, h, m, s) = match unit {
        Unit::Year => (NaiveDate::from_ymd_opt(d.year(), 1, 1), 0, 0, 0),
        Unit::Month => (NaiveDate::from_ymd_opt(d.year(), d.month(), 1), 0, 0, 0),
        Unit::Day => (Some(d), 0, 0, 0),
        Unit::Hour => (Some(d), t.hour(), 0, 0),
        Unit::Minute => (Some(d), t.hour(), t.minute(), 0),
        Unit::Second => (Some(d), t.hour(), t.minute(), t.second()),
    };
    date.and_then(|d| d.and_hms_opt(h, m, s)).unwrap_or(t)
}

/// `t` moved by `delta` units; None when out of range.
fn add(t: NaiveDateTime, delta: i64, unit: Unit) -> Option<NaiveDateTime> {
    let months = |n: i64| {
        let m = Months::new(u32::try_from(n.unsigned_abs()).ok()?);
        if n >= 0 { t.checked_add_months(m) } else { t.checked_sub_months(m) }
    };
    match unit {
        Unit::Year => months(delta.checked_mul(12)?),
        Unit::Month => months(delta),
        Unit::Day => t.checked_add_signed(Duration::try_days(delta)?),
        Unit::Hour => t.checked_add_signed(Duration::try_hours(delta)?),
        Unit::Minute => t.checked_add_signed(Duration::try_minutes(delta)?),
        Unit::Second => t.checked_add_signed(Duration::try_seconds(delta)?),
    }
}

/// `a − b` in `unit`s, both cut to the unit.
fn diff(a: NaiveDateTime, b: NaiveDateTime, unit: Unit) -> i64 {
    let (a, b) = (trunc(a, unit), trunc(b, unit));
    let months = || i64::from(a.year() - b.year()) * 12 + i64::from(a.month()) - i64::from(b.month());
    match unit {
        Unit::Year => i64::from(a.year() - b.year()),
        Unit::Month => months(),
        Unit::Day => (a - b).num_days(),
        Unit::Hour => (a - b).num_hours(),
        Unit::Minute => (a - b).num_minutes(),
        Unit::Second => (a - b).num_seconds(),
    }
}

/// Registers `dateadd`, `datediff` and `datetrunc` in `registry`, over DataFusion's `datetrunc`
/// (an alias of its `date_trunc`): call it last, after anything that registers DataFusion's
/// functions again.
pub(crate) fn register(registry: &mut dyn datafusion::execution::FunctionRegistry) -> DfResult<()> {
    for function in [DateFunction::Add, DateFunction::Diff, DateFunction::Trunc] {
        registry.register_udf(Arc::new(datafusion::logical_expr::ScalarUDF::new_from_impl(DateUdf::new(function))))?;
    }
    Ok(())
}

/// The function, registered under its MaxCompute name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct DateUdf {
    function: DateFunction,
    signature: Signature,
}

impl DateUdf {
    /// `dateadd`, `datediff` or `datetrunc`.
    pub fn new(function: DateFunction) -> Self {
        Self { function, signature: Signature::user_defined(Volatility::Immutable) }
    }

    fn usage(&self) -> &'static str {
        match self.function {
            DateFunction::Add => "usage: dateadd(date, delta, 'yyyy'|'mm'|'dd'|'hh'|'mi'|'ss')",
            DateFunction::Diff => "usage: datediff(date1, date2 [, 'yyyy'|'mm'|'dd'|'hh'|'mi'|'ss'])",
            DateFunction::Trunc => "usage: datetrunc(date, 'yyyy'|'mm'|'dd'|'hh'|'mi'|'ss')",
        }
    }
}

/// The type a date argument is read as: DATE stays, the rest become nanosecond timestamps.
fn date_type(t: &DataType) -> Option<DataType> {
    match t {
        DataType::Date32 | DataType::Date64 => Some(DataType::Date32),
        DataType::Timestamp(_, tz) => Some(DataType::Timestamp(TimeUnit::Nanosecond, tz.clone())),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            Some(DataType::Timestamp(TimeUnit::Nanosecond, None))
        }
        _ => None,
    }
}

/// The values of a date column (after coercion) as naive date-times.
fn values(array: &ArrayRef) -> Vec<Option<NaiveDateTime>> {
    match array.data_type() {
        DataType::Date32 => {
            let a = array.as_primitive::<datafusion::arrow::datatypes::Date32Type>();
            (0..a.len()).map(|i| a.is_valid(i).then(|| a.value_as_datetime(i)).flatten()).collect()
        }
        _ => {
            let a = array.as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>();
            (0..a.len())
                .map(|i| a.is_valid(i).then(|| chrono::DateTime::from_timestamp_nanos(a.value(i)).naive_utc()))
                .collect()
        }
    }
}

impl ScalarUDFImpl for DateUdf {
    fn name(&self) -> &str {
        match self.function {
            DateFunction::Add => "dateadd",
            DateFunction::Diff => "datediff",
            DateFunction::Trunc => "datetrunc",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, args: &[DataType]) -> DfResult<Vec<DataType>> {
        let wrong = || DataFusionError::Plan(self.usage().to_string());
        let date = |t: &DataType| date_type(t).ok_or_else(wrong);
        match (self.function, args) {
            (DateFunction::Add, [d, _, _]) => Ok(vec![date(d)?, DataType::Int64, DataType::Utf8]),
            (DateFunction::Diff, [a, b]) => Ok(vec![date(a)?, date(b)?]),
            (DateFunction::Diff, [a, b, _]) => Ok(vec![date(a)?, date(b)?, DataType::Utf8]),
            (DateFunction::Trunc, [d, _]) => Ok(vec![date(d)?, DataType::Utf8]),
            _ => Err(wrong()),
        }
    }

    fn return_type(&self, args: &[DataType]) -> DfResult<DataType> {
        match self.function {
            DateFunction::Diff => Ok(DataType::Int64),
            _ => args.first().and_then(date_type).ok_or_else(|| DataFusionError::Plan(self.usage().to_string())),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let rows = arrays.first().map_or(0, |a| a.len());
        let unit_at = |i: usize, row: usize| -> DfResult<Unit> {
            let text = arrays[i].as_string::<i32>();
            if text.is_null(row) { Ok(Unit::Day) } else { unit(text.value(row)) }
        };
        let dates = values(&arrays[0]);
        let out: ArrayRef = match self.function {
            DateFunction::Diff => {
                let others = values(&arrays[1]);
                let mut out = Vec::with_capacity(rows);
                for row in 0..rows {
                    let u = if arrays.len() == 3 { unit_at(2, row)? } else { Unit::Day };
                    out.push(dates[row].zip(others[row]).map(|(a, b)| diff(a, b, u)));
                }
                Arc::new(Int64Array::from(out))
            }
            DateFunction::Add | DateFunction::Trunc => {
                let mut out = Vec::with_capacity(rows);
                for (row, date) in dates.iter().enumerate() {
                    let moved = match self.function {
                        DateFunction::Add => {
                            let delta = arrays[1].as_primitive::<datafusion::arrow::datatypes::Int64Type>();
                            let u = unit_at(2, row)?;
                            match (date, delta.is_valid(row)) {
                                (Some(d), true) => Some(add(*d, delta.value(row), u).ok_or_else(|| {
                                    DataFusionError::Execution(format!("dateadd: {d} moved out of range"))
                                })?),
                                _ => None,
                            }
                        }
                        _ => match date {
                            Some(d) => Some(trunc(*d, unit_at(1, row)?)),
                            None => None,
                        },
                    };
                    out.push(moved);
                }
                match arrays[0].data_type() {
                    DataType::Date32 => Arc::new(Date32Array::from(
                        out.iter()
                            .map(|t| {
                                t.map(|t| {
                                    (t.date() - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days()
                                        as i32
                                })
                            })
                            .collect::<Vec<_>>(),
                    )) as ArrayRef,
                    DataType::Timestamp(_, tz) => Arc::new(
                        TimestampNanosecondArray::from(
                            out.iter().map(|t| t.and_then(|t| t.and_utc().timestamp_nanos_opt())).collect::<Vec<_>>(),
                        )
                        .with_timezone_opt(tz.clone()),
                    ),
                    other => {
                        return Err(DataFusionError::Internal(format!("{}: argument of type {other}", self.name())));
                    }
                }
            }
        };
        if scalar {
            Ok(ColumnarValue::Scalar(datafusion::common::ScalarValue::try_from_array(&out, 0)?))
        } else {
            Ok(ColumnarValue::Array(out))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn units_move_cut_and_count_as_maxcompute_documents() {
        assert_eq!(add(t("2024-01-31 10:00:00"), 1, Unit::Month), Some(t("2024-02-29 10:00:00")));
        assert_eq!(add(t("2024-02-29 00:00:00"), -1, Unit::Year), Some(t("2023-02-28 00:00:00")));
        assert_eq!(add(t("2024-03-01 00:00:00"), -1, Unit::Day), Some(t("2024-02-29 00:00:00")));
        assert_eq!(diff(t("2005-12-31 23:59:59"), t("2006-01-01 00:00:00"), Unit::Day), -1);
        assert_eq!(diff(t("2005-12-31 23:59:59"), t("2006-01-01 00:00:00"), Unit::Year), -1);
        assert_eq!(diff(t("2006-03-01 00:00:00"), t("2005-12-31 23:00:00"), Unit::Month), 3);
        assert_eq!(diff(t("2024-01-01 10:59:00"), t("2024-01-01 10:00:59"), Unit::Hour), 0);
        assert_eq!(trunc(t("2024-05-17 13:45:12"), Unit::Month), t("2024-05-01 00:00:00"));
        assert_eq!(trunc(t("2024-05-17 13:45:12"), Unit::Hour), t("2024-05-17 13:00:00"));
        assert!(unit("week").is_err());
    }
}
