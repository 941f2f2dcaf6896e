//! MaxCompute type names and their Arrow types.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};

use datafusion::common::ScalarValue;

use crate::error::{Error, Result};
use crate::names::{validate_identifier, validate_partition_value};
use crate::state::model::{ColumnDef, TableSchema};
use crate::type_syntax::TypeExpr;

/// The Arrow type of a stored MaxCompute type name.
pub fn arrow_type(name: &str) -> Result<DataType> {
    arrow_type_of(&TypeExpr::parse(name)?)
}

fn arrow_type_of(t: &TypeExpr) -> Result<DataType> {
    let (name, args) = match t {
        TypeExpr::Array(item) => {
            return Ok(DataType::List(Arc::new(Field::new_list_field(arrow_type_of(item)?, true))));
        }
        TypeExpr::Map(k, v) => {
            let entries = Fields::from(vec![
                Field::new("key", arrow_type_of(k)?, false),
                Field::new("value", arrow_type_of(v)?, true),
            ]);
            return Ok(DataType::Map(Arc::new(Field::new("entries", DataType::Struct(entries), false)), false));
        }
        TypeExpr::Struct(fields) => {
            let fields =
                fields.iter().map(|(n, t)| Ok(Field::new(n, arrow_type_of(t)?, true))).collect::<Result<Vec<_>>>()?;
            return Ok(DataType::Struct(fields.into()));
        }
        TypeExpr::Simple { name, args } => (name.as_str(), args.as_slice()),
    };
    Ok(match (name, args) {
        // JSON is text that keeps its type name; VARCHAR(n) and CHAR(n) are text whose length
        // the writer checks.
        ("string" | "json", []) | ("varchar" | "char", [_]) => DataType::Utf8,
        ("bigint", []) => DataType::Int64,
        ("int", []) => DataType::Int32,
        ("smallint", []) => DataType::Int16,
        ("tinyint", []) => DataType::Int8,
        ("double", []) => DataType::Float64,
        ("float", []) => DataType::Float32,
        ("boolean", []) => DataType::Boolean,
        ("datetime", []) => DataType::Timestamp(TimeUnit::Millisecond, None),
        ("timestamp" | "timestamp_ntz", []) => DataType::Timestamp(TimeUnit::Nanosecond, None),
        ("date", []) => DataType::Date32,
        ("binary", []) => DataType::Binary,
        ("decimal", [p, s]) if (1..=38).contains(p) && s <= p => DataType::Decimal128(*p as u8, *s as i8),
        _ => return Err(Error::invalid(format!("unknown stored column type {t}"))),
    })
}

/// The longest text a column of this stored type holds, in characters (VARCHAR(n), CHAR(n)).
pub fn max_length(name: &str) -> Option<usize> {
    match TypeExpr::parse(name).ok()? {
        TypeExpr::Simple { name, args } if matches!(name.as_str(), "varchar" | "char") => {
            args.first().map(|n| *n as usize)
        }
        _ => None,
    }
}

/// Refuses a text longer than a VARCHAR(n) or CHAR(n) column holds: an error, never a silent
/// truncation.
pub fn check_length(column: &ColumnDef, value: &str) -> Result<()> {
    match max_length(&column.data_type) {
        Some(max) if value.chars().count() > max => Err(Error::invalid(format!(
            "value {:?} is too long for column {} of type {}: {} characters, at most {max}",
            value.chars().take(32).collect::<String>(),
            column.name,
            column.data_type.to_uppercase(),
            value.chars().count()
        ))),
        _ => Ok(()),
    }
}

/// The MaxCompute type for an Arrow type (for CREATE TABLE … AS SELECT).
pub fn from_arrow(dt: &DataType) -> Result<String> {
    Ok(match dt {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => "string".into(),
        DataType::Int64 | DataType::UInt32 | DataType::UInt64 => "bigint".into(),
        DataType::Int32 | DataType::UInt16 => "int".into(),
        DataType::Int16 | DataType::UInt8 => "smallint".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Float64 => "double".into(),
        DataType::Float32 | DataType::Float16 => "float".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Decimal128(p, s) if *s >= 0 => format!("decimal({p},{s})"),
        DataType::Timestamp(TimeUnit::Millisecond | TimeUnit::Second, _) => "datetime".into(),
        DataType::Timestamp(_, _) => "timestamp".into(),
        DataType::Date32 | DataType::Date64 => "date".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) | DataType::ListView(f) => {
            format!("array<{}>", from_arrow(f.data_type())?)
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(kv) if kv.len() == 2 => {
                format!("map<{},{}>", from_arrow(kv[0].data_type())?, from_arrow(kv[1].data_type())?)
            }
            other => return Err(Error::invalid(format!("internal: map entries of type {other}"))),
        },
        DataType::Struct(fields) if !fields.is_empty() => {
            let fields = fields
                .iter()
                .map(|f| {
                    validate_identifier("STRUCT field", f.name())?;
                    Ok(format!("{}:{}", f.name(), from_arrow(f.data_type())?))
                })
                .collect::<Result<Vec<_>>>()?;
            format!("struct<{}>", fields.join(","))
        }
        other => {
            return Err(Error::not_supported(format!("a column of Arrow type {other} in a stored table")));
        }
    })
}

fn fields(cols: &[ColumnDef]) -> Result<Vec<Field>> {
    cols.iter().map(|c| Ok(Field::new(&c.name, arrow_type(&c.data_type)?, true))).collect()
}

/// Arrow schema of the data files (data columns only), under the names the files use (see
/// [`ColumnDef::field`]).
pub fn file_schema(schema: &TableSchema) -> Result<SchemaRef> {
    let fields = schema
        .columns
        .iter()
        .map(|c| Ok(Field::new(c.file_name(), arrow_type(&c.data_type)?, true)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Arc::new(Schema::new(fields)))
}

/// Arrow schema of the data columns under the table's names (as scans return them).
pub fn data_schema(schema: &TableSchema) -> Result<SchemaRef> {
    Ok(Arc::new(Schema::new(fields(&schema.columns)?)))
}

/// True when `to` holds every value of `from` exactly (a type change that needs no rewrite:
/// old files are cast when read).
pub fn is_safe_widening(from: &str, to: &str) -> Result<bool> {
    use DataType::*;
    let (f, t) = (arrow_type(from)?, arrow_type(to)?);
    // A length limit only grows: old values were never checked against a shorter one.
    if let Some(to_max) = max_length(to) {
        return Ok(f == t && max_length(from).is_some_and(|from_max| from_max <= to_max));
    }
    let rank = |d: &DataType| match d {
        Int8 => Some(1),
        Int16 => Some(2),
        Int32 => Some(3),
        Int64 => Some(4),
        _ => None,
    };
    Ok(match (&f, &t) {
        _ if f == t => true,
        (a, b) if rank(a).is_some() && rank(b).is_some() => rank(a) < rank(b),
        (Int8 | Int16 | Int32 | Float32, Float64) => true,
        (Decimal128(p1, s1), Decimal128(p2, s2)) => s2 >= s1 && (*p2 as i16 - *s2 as i16) >= (*p1 as i16 - *s1 as i16),
        _ => false,
    })
}

/// Arrow schema of the table as queried: data columns, then partition columns.
pub fn table_schema(schema: &TableSchema) -> Result<SchemaRef> {
    let mut all = fields(&schema.columns)?;
    all.extend(fields(&schema.partition_columns)?);
    Ok(Arc::new(Schema::new(all)))
}

/// Arrow fields of the partition columns.
pub fn partition_fields(schema: &TableSchema) -> Result<Vec<Field>> {
    fields(&schema.partition_columns)
}

/// The stored text of `value` for the partition column `column`: refused unless it is a valid
/// partition value (see [`validate_partition_value`]) that parses as the column's type, so that a
/// value accepted once can never make the table unreadable. Non-string values are stored in
/// canonical form (`01` → `1` for BIGINT), so one value is one partition.
///
/// ```
/// use datafusion_timemachine::state::model::ColumnDef;
/// use datafusion_timemachine::types::partition_value;
/// let n = ColumnDef::new("n", "bigint");
/// assert_eq!(partition_value(&n, "007").unwrap(), "7");
/// assert!(partition_value(&n, "abc").unwrap_err().to_string().contains("not a valid BIGINT"));
/// ```
pub fn partition_value(column: &ColumnDef, value: &str) -> Result<String> {
    validate_partition_value(&column.name, value)?;
    check_length(column, value)?;
    let t = arrow_type(&column.data_type)?;
    if matches!(t, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Ok(value.to_string());
    }
    let refuse = |why: String| {
        Error::invalid(format!(
            "partition value {value:?} of column {} is not a valid {}{why}",
            column.name,
            column.data_type.to_uppercase()
        ))
    };
    let parsed = ScalarValue::try_from_string(value.to_string(), &t).map_err(|e| refuse(format!(": {e}")))?;
    if parsed.is_null() {
        return Err(refuse(String::new()));
    }
    let canonical = parsed.to_string();
    validate_partition_value(&column.name, &canonical)?;
    Ok(canonical)
}

/// A batch of `schema` from `columns`, each cast to its field's type where it differs (scans
/// read text as `Utf8View`; files, change files and model schemas hold `Utf8`).
pub fn conformed(
    schema: &SchemaRef,
    columns: Vec<datafusion::arrow::array::ArrayRef>,
) -> std::result::Result<datafusion::arrow::array::RecordBatch, datafusion::arrow::error::ArrowError> {
    let columns =
        columns
            .into_iter()
            .zip(schema.fields())
            .map(|(c, f)| {
                if c.data_type() == f.data_type() { Ok(c) } else { datafusion::arrow::compute::cast(&c, f.data_type()) }
            })
            .collect::<std::result::Result<Vec<_>, _>>()?;
    datafusion::arrow::array::RecordBatch::try_new(Arc::clone(schema), columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_maps() {
        assert_eq!(arrow_type("decimal(10,2)").unwrap(), DataType::Decimal128(10, 2));
        assert_eq!(from_arrow(&DataType::Utf8View).unwrap(), "string");
        for stored in ["array<bigint>", "map<string,array<int>>", "struct<x:bigint,y:struct<z:date>>", "decimal(10,2)"]
        {
            assert_eq!(from_arrow(&arrow_type(stored).unwrap()).unwrap(), stored);
        }
        assert_eq!(arrow_type("varchar(3)").unwrap(), DataType::Utf8);
        assert_eq!(max_length("char(3)"), Some(3));
        assert!(arrow_type("decimal(99,2)").is_err());
        assert!(is_safe_widening("varchar(3)", "varchar(5)").unwrap());
        assert!(is_safe_widening("varchar(3)", "string").unwrap());
        assert!(!is_safe_widening("string", "varchar(5)").unwrap());
        assert!(!is_safe_widening("varchar(5)", "char(3)").unwrap());
    }
}
