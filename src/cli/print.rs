//! Printing results in the CLI's formats, batch by batch as they stream. Separate from
//! execution so it can be tested against any `Write`.

use std::io::Write;

use clap::ValueEnum;
use datafusion::arrow::csv::{Writer as CsvWriter, WriterBuilder};
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;

use crate::error::Result;

/// Output formats of the CLI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Format {
    /// A boxed table, as datafusion-cli prints.
    #[default]
    Table,
    /// Comma-separated values with a header row.
    Csv,
    /// Tab-separated values with a header row.
    Tsv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
}

/// Writes batches in one format as they come; `finish` closes the output.
// One sink lives per query, on the stack: boxing the larger writers would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Sink<'a, W: Write> {
    /// Table: rows kept up to the display limit, the rest only counted.
    Table {
        out: &'a mut W,
        schema: SchemaRef,
        kept: Vec<RecordBatch>,
        kept_rows: usize,
        limit: Option<usize>,
    },
    Csv(CsvWriter<&'a mut W>),
    Json(ArrayWriter<&'a mut W>),
    Ndjson(LineDelimitedWriter<&'a mut W>),
}

impl<'a, W: Write> Sink<'a, W> {
    fn new(out: &'a mut W, schema: SchemaRef, format: Format, limit: Option<usize>) -> Self {
        match format {
            Format::Table => Sink::Table { out, schema, kept: vec![], kept_rows: 0, limit },
            Format::Csv | Format::Tsv => {
                let delimiter = if format == Format::Csv { b',' } else { b'\t' };
                Sink::Csv(WriterBuilder::new().with_header(true).with_delimiter(delimiter).build(out))
            }
            Format::Json => Sink::Json(ArrayWriter::new(out)),
            Format::Ndjson => Sink::Ndjson(LineDelimitedWriter::new(out)),
        }
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            Sink::Table { kept, kept_rows, limit, .. } => {
                let room = limit.map_or(batch.num_rows(), |l| l.saturating_sub(*kept_rows));
                let take = room.min(batch.num_rows());
                if take > 0 {
                    kept.push(batch.slice(0, take));
                    *kept_rows += take;
                }
            }
            Sink::Csv(w) => w.write(batch)?,
            Sink::Json(w) => w.write(batch)?,
            Sink::Ndjson(w) => w.write(batch)?,
        }
        Ok(())
    }

    /// Ends the output; `total` rows went through.
    fn finish(self, total: u64) -> Result<()> {
        match self {
            Sink::Table { out, schema, kept, kept_rows, .. } => {
                let kept = if kept.is_empty() { vec![RecordBatch::new_empty(schema)] } else { kept };
                writeln!(out, "{}", pretty_format_batches(&kept)?)?;
                if (kept_rows as u64) < total {
                    writeln!(out, "({kept_rows} of {total} rows shown: use --maxrows N, or --maxrows inf for all)")?;
                }
            }
            Sink::Csv(w) => {
                let out = w.into_inner();
                out.flush()?;
            }
            Sink::Json(mut w) => {
                w.finish()?;
                let out = w.into_inner();
                writeln!(out)?;
            }
            Sink::Ndjson(mut w) => w.finish()?,
        }
        Ok(())
    }
}

/// Prints query rows in `format` (the table format shows at most `limit` rows).
pub fn print_batches<W: Write>(out: &mut W, batches: &[RecordBatch], format: Format) -> Result<()> {
    let Some(first) = batches.first() else { return Ok(()) };
    let mut sink = Sink::new(out, first.schema(), format, None);
    let mut total = 0;
    for b in batches {
        sink.write(b)?;
        total += b.num_rows() as u64;
    }
    sink.finish(total)
}

/// Prints a stream of rows as it arrives; returns how many rows it had. `on_rows` sees the
/// running count after each batch (for progress displays).
pub async fn print_stream<W: Write>(
    out: &mut W,
    mut stream: SendableRecordBatchStream,
    format: Format,
    limit: Option<usize>,
    mut on_rows: impl FnMut(u64),
) -> Result<u64> {
    let mut sink = Sink::new(out, stream.schema(), format, limit);
    let mut total = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        sink.write(&batch)?;
        total += batch.num_rows() as u64;
        on_rows(total);
    }
    sink.finish(total)?;
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{Int64Array, StringArray};
    use std::sync::Arc;

    fn batch() -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            ("a", Arc::new(StringArray::from(vec!["x", "y,z"])) as _),
            ("n", Arc::new(Int64Array::from(vec![1, 2])) as _),
        ])
        .unwrap()
    }

    fn render(format: Format) -> String {
        let mut out = Vec::new();
        print_batches(&mut out, &[batch()], format).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn formats() {
        assert_eq!(render(Format::Csv), "a,n\nx,1\n\"y,z\",2\n");
        assert_eq!(render(Format::Tsv), "a\tn\nx\t1\ny,z\t2\n");
        assert_eq!(render(Format::Ndjson), "{\"a\":\"x\",\"n\":1}\n{\"a\":\"y,z\",\"n\":2}\n");
        assert_eq!(render(Format::Json), "[{\"a\":\"x\",\"n\":1},{\"a\":\"y,z\",\"n\":2}]\n");
        assert!(render(Format::Table).contains("| y,z | 2 |"));
    }

    #[tokio::test]
    async fn the_table_format_shows_at_most_maxrows_and_counts_the_rest() {
        use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
        let batches = vec![Ok(batch()), Ok(batch()), Ok(batch())];
        let stream = Box::pin(RecordBatchStreamAdapter::new(batch().schema(), futures::stream::iter(batches)));
        let mut out = Vec::new();
        let n = print_stream(&mut out, stream, Format::Table, Some(3), |_| {}).await.unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(n, 6);
        assert_eq!(text.lines().filter(|l| l.starts_with("| ")).count(), 4, "header + 3 rows:\n{text}");
        assert!(text.contains("(3 of 6 rows shown: use --maxrows N, or --maxrows inf for all)"), "{text}");
    }
}
