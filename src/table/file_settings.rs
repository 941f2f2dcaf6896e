//! How the Parquet files of a table are written, as its properties ask: the pages' codec and the
//! columns that carry bloom filters. Checked when a property is set, read by every writer.

use datafusion::parquet::basic::{Compression, ZstdLevel};

use crate::error::{Error, Result};
use crate::state::model::TableSchema;
use crate::types;

/// Table property: the codec of the pages of the files written from now on (`snappy`, `lz4_raw`,
/// `zstd`, `zstd(level)`, `gzip(level)`, `brotli(level)` or `uncompressed`). Files already
/// written keep theirs; a reader handles any.
pub const COMPRESSION_KEY: &str = "timemachine.parquet.compression";

/// The codec of files whose table does not name one: LZ4 (raw blocks) decodes faster than Snappy
/// for about the same size (TPC-H SF1: 202 vs 199 MB, the 22 queries' geomean 0.877 vs 0.914 of
/// plain DataFusion over Snappy files, in runs of the same afternoon), and every current Parquet
/// reader (Arrow, DuckDB, Spark 3.4+, Trino) reads it.
pub(crate) const DEFAULT_COMPRESSION: Compression = Compression::LZ4_RAW;

/// The codec of change files whose table does not name one: they are written once and read only
/// by the change feed, so size counts more than decoding speed (TPC-H SF1 lineitem, a MERGE of 1%
/// updates and 1% inserts: 9.8 MiB written, 0.046 of copy-on-write's bytes; 11.2 MiB, 0.052, with LZ4).
pub(crate) fn changes_compression() -> Compression {
    // Level 1 (ZstdLevel's default): most of zstd's gain over LZ4 at a fraction of its cost.
    Compression::ZSTD(ZstdLevel::default())
}

/// The codec a [`COMPRESSION_KEY`] value names, else an error listing those that can be named.
pub(crate) fn compression(value: &str) -> Result<Compression> {
    let name = value.trim().to_uppercase();
    // A bare `zstd` means its default level; Parquet's parser wants one spelled out.
    let name = match name.as_str() {
        "ZSTD" => "ZSTD(3)".to_string(),
        "NONE" => "UNCOMPRESSED".to_string(),
        _ => name,
    };
    match name.parse::<Compression>() {
        // LZO has no Rust codec, and LZ4 is Hadoop's framing, which other readers disagree on.
        Ok(Compression::LZO | Compression::LZ4) | Err(_) => Err(Error::invalid(format!(
            "table property {COMPRESSION_KEY} takes snappy, lz4_raw, zstd, zstd(1..22), gzip(0..10), \
             brotli(0..11) or uncompressed, got '{value}'"
        ))),
        Ok(codec) => Ok(codec),
    }
}

/// Table property: the data columns whose Parquet files carry bloom filters (comma-separated), so
/// that `col = value` skips the row groups that cannot hold the value even where min/max cannot
/// tell (keys in no order). A hash-clustered table's keys always have them.
pub const BLOOM_FILTER_COLUMNS_KEY: &str = "timemachine.parquet.bloom_filter_columns";

/// The names in the files of the columns a [`BLOOM_FILTER_COLUMNS_KEY`] value names: data columns
/// of a simple type, else an error naming the one that is not.
pub fn bloom_filter_columns(value: &str, schema: &TableSchema) -> Result<Vec<String>> {
    let mut out = vec![];
    for name in value.split(',').map(|n| n.trim().to_lowercase()).filter(|n| !n.is_empty()) {
        let Some(column) = schema.columns.iter().find(|c| c.name == name) else {
            let partition = schema.partition_columns.iter().any(|c| c.name == name);
            return Err(Error::invalid(format!(
                "table property {BLOOM_FILTER_COLUMNS_KEY} names {name}, which is {}",
                if partition { "a partition column (its files hold no such column)" } else { "no column of the table" }
            )));
        };
        if types::arrow_type(&column.data_type)?.is_nested() {
            return Err(Error::invalid(format!(
                "table property {BLOOM_FILTER_COLUMNS_KEY} names {name}, of type {}: bloom filters are for simple types",
                column.data_type
            )));
        }
        out.push(column.file_name().to_string());
    }
    Ok(out)
}
