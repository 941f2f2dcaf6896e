//! Printing statement results in the CLI's formats. Separate from execution so it can be tested
//! against any `Write`.

use std::io::Write;
use std::sync::Arc;

use clap::ValueEnum;
use datafusion::arrow::csv::WriterBuilder;
use datafusion::arrow::json::{ArrayWriter, LineDelimitedWriter};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;

use crate::error::Result;
use crate::statements::{ResultKind, StatementResult};

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

/// Prints query rows in `format`.
pub fn print_batches<W: Write>(out: &mut W, batches: &[RecordBatch], format: Format) -> Result<()> {
    match format {
        Format::Table => writeln!(out, "{}", pretty_format_batches(batches)?)?,
        Format::Csv | Format::Tsv => {
            let delimiter = if format == Format::Csv { b',' } else { b'\t' };
            let mut writer = WriterBuilder::new().with_header(true).with_delimiter(delimiter).build(&mut *out);
            for b in batches {
                writer.write(b)?;
            }
        }
        Format::Json => {
            let mut writer = ArrayWriter::new(&mut *out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
            writer.finish()?;
            writeln!(out)?;
        }
        Format::Ndjson => {
            let mut writer = LineDelimitedWriter::new(&mut *out);
            writer.write_batches(&batches.iter().collect::<Vec<_>>())?;
            writer.finish()?;
        }
    }
    Ok(())
}

/// Prints a statement's result: rows for queries, a short confirmation otherwise (unless quiet).
pub fn print_result<W: Write>(out: &mut W, result: &StatementResult, format: Format, quiet: bool) -> Result<()> {
    match result.kind {
        ResultKind::Query => {
            if result.batches.is_empty() && format == Format::Table {
                let empty = RecordBatch::new_empty(Arc::clone(&result.schema));
                print_batches(out, &[empty], format)
            } else {
                print_batches(out, &result.batches, format)
            }
        }
        ResultKind::Ok if !quiet => Ok(writeln!(out, "OK")?),
        ResultKind::RowsAffected(n) if !quiet => {
            Ok(writeln!(out, "OK: {n} row{} written", if n == 1 { "" } else { "s" })?)
        }
        _ => Ok(()),
    }
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
}
