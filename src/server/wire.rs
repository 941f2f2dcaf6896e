//! The Arrow types rows travel in: text and bytes as plain `Utf8` and `Binary`, never as views.
//! Scans read text as `Utf8View` (faster to decode), but Flight SQL clients built on older Arrow
//! libraries (JDBC drivers, BI tools) cannot decode view types, so results are sent in the types
//! every client reads; the cast costs little beside encoding the rows for the wire.

use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;

/// The type `dt` is sent as.
fn plain_type(dt: &DataType) -> Option<DataType> {
    match dt {
        DataType::Utf8View => Some(DataType::Utf8),
        DataType::BinaryView => Some(DataType::Binary),
        _ => None,
    }
}

/// `schema` as sent (the same schema when it holds no view type).
pub(super) fn plain_schema(schema: &Schema) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match plain_type(f.data_type()) {
            Some(dt) => f.as_ref().clone().with_data_type(dt),
            None => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// `batch` in the types of [`plain_schema`].
pub(super) fn plain_batch(schema: &SchemaRef, batch: RecordBatch) -> Result<RecordBatch, ArrowError> {
    if batch.columns().iter().all(|c| plain_type(c.data_type()).is_none()) {
        return Ok(batch);
    }
    crate::types::conformed(schema, batch.columns().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Array, AsArray, StringViewArray};

    #[test]
    fn views_are_sent_as_plain_text() {
        let schema = Schema::new(vec![Field::new("s", DataType::Utf8View, true)]);
        let batch = RecordBatch::try_new(
            Arc::new(schema.clone()),
            vec![Arc::new(StringViewArray::from(vec![Some("a longer text than twelve bytes"), None]))],
        )
        .unwrap();
        let plain = plain_schema(&schema);
        assert_eq!(plain.field(0).data_type(), &DataType::Utf8);
        let sent = plain_batch(&plain, batch).unwrap();
        assert_eq!(sent.column(0).as_string::<i32>().value(0), "a longer text than twelve bytes");
        assert!(sent.column(0).is_null(1));
    }
}
