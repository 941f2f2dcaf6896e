//! Per-file column statistics: taken from the Parquet footer the writer just produced, kept in
//! the log as text, and handed back to DataFusion as `Statistics` when the file is scanned.

use std::collections::BTreeMap;

use std::cmp::Ordering;

use datafusion::arrow::array::{Array, ArrayRef};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::common::stats::{ColumnStatistics, Precision, Statistics};
use datafusion::parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use datafusion::parquet::file::metadata::ParquetMetaData;

use crate::state::model::{ColumnDef, ColumnStats, DataFile};

/// Strings kept as a min or max are shorter than this: the Parquet writer truncates longer
/// statistics to 64 bytes (they would be bounds, not values), and the log stays small.
const MAX_TEXT: usize = 64;

/// The text of `value` when it reads back as exactly `value` in type `dt`.
fn encode(value: ScalarValue, dt: &DataType) -> Option<String> {
    if value.is_null() || matches!(dt, DataType::Binary | DataType::LargeBinary | DataType::BinaryView) {
        return None;
    }
    let text = match &value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => s.clone(),
        other => other.to_string(),
    };
    if text.len() >= MAX_TEXT {
        return None;
    }
    let back = ScalarValue::try_from_string(text.clone(), dt).ok()?;
    (back == value.cast_to(dt).ok()?).then_some(text)
}

/// The smallest (`Less`) or largest (`Greater`) non-null value of the per-row-group bounds.
fn extreme(array: &ArrayRef, keep: Ordering) -> Option<ScalarValue> {
    let mut best: Option<ScalarValue> = None;
    for i in (0..array.len()).filter(|i| array.is_valid(*i)) {
        let v = ScalarValue::try_from_array(array, i).ok()?;
        best = match best {
            Some(b) if v.partial_cmp(&b)? != keep => Some(b),
            _ => Some(v),
        };
    }
    best
}

/// Statistics of every column of `schema` (the file's) in the footer `meta`.
pub(crate) fn collect(meta: &ParquetMetaData, schema: &Schema) -> BTreeMap<String, ColumnStats> {
    let groups = meta.row_groups();
    let parquet_schema = meta.file_metadata().schema_descr();
    let mut out = BTreeMap::new();
    // Nested columns have statistics per leaf only: they get none (see `file_statistics`).
    for field in schema.fields().iter().filter(|f| !f.data_type().is_nested()) {
        let Ok(conv) = StatisticsConverter::try_new(field.name(), schema, parquet_schema) else { continue };
        let Ok(nulls) = conv.row_group_null_counts(groups.iter()) else { continue };
        if nulls.null_count() > 0 {
            continue;
        }
        let bound = |array: Option<ArrayRef>, keep: Ordering| {
            array.and_then(|a| extreme(&a, keep)).and_then(|v| encode(v, field.data_type()))
        };
        let min = bound(conv.row_group_mins(groups.iter()).ok(), Ordering::Less);
        let max = bound(conv.row_group_maxes(groups.iter()).ok(), Ordering::Greater);
        let nulls = nulls.values().iter().sum();
        out.insert(field.name().clone(), ColumnStats { nulls, min, max });
    }
    out
}

/// DataFusion's statistics of `file` for the data columns `columns` (of types `types`): exact
/// where recorded; a column the file lacks (added after it was written) is all NULL. With a
/// deletion vector the row count is the live rows, and the footer's nulls, min and max become
/// bounds (deleted rows may have held them).
pub(crate) fn file_statistics(file: &DataFile, columns: &[ColumnDef], types: &[DataType]) -> Statistics {
    let rows = file.live_rows() as usize;
    let whole = file.deleted.is_none();
    let column_statistics = columns
        .iter()
        .zip(types)
        .map(|(c, dt)| {
            if file.stats.is_empty() || dt.is_nested() {
                return ColumnStatistics::new_unknown();
            }
            let Some(s) = file.stats.get(c.file_name()) else {
                return ColumnStatistics { null_count: Precision::Exact(rows), ..ColumnStatistics::new_unknown() };
            };
            // Parquet's float statistics leave NaN out: bounds, not the answer of min/max.
            let exact = !dt.is_floating() && whole;
            let value =
                |t: &Option<String>| match t.as_ref().and_then(|t| ScalarValue::try_from_string(t.clone(), dt).ok()) {
                    Some(v) if exact => Precision::Exact(v),
                    Some(v) => Precision::Inexact(v),
                    None => Precision::Absent,
                };
            let nulls = s.nulls as usize;
            ColumnStatistics {
                null_count: if whole { Precision::Exact(nulls) } else { Precision::Inexact(nulls.min(rows)) },
                min_value: value(&s.min),
                max_value: value(&s.max),
                ..ColumnStatistics::new_unknown()
            }
        })
        .collect();
    Statistics {
        num_rows: Precision::Exact(rows),
        // Unknown, as DataFusion's own Parquet tables report it: a size (even the file's) makes
        // its join selection weigh bytes instead of rows, and it would then repartition joins
        // that it collects over the same files read directly (TPC-H q19 and others were slower).
        total_byte_size: Precision::Absent,
        column_statistics,
    }
}
