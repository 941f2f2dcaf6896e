//! Scans skip the rows a deletion vector names: the vector becomes a Parquet row selection that
//! DataFusion splits by row group (`ParquetRowSelection`), so deleted rows never leave the
//! reader and row groups or pages pruned by statistics stay pruned.

use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::parquet::ParquetRowSelection;
use datafusion::parquet::arrow::arrow_reader::{RowSelection, RowSelector};

use crate::state::model::DataFile;

/// The selection of a file of `rows` rows that reads every row but `deleted` (ascending).
pub(crate) fn skipping(rows: u64, deleted: impl Iterator<Item = u64>) -> RowSelection {
    marking(rows, deleted, RowSelector::skip, RowSelector::select)
}

/// The selection of a file of `rows` rows that reads only `wanted` (ascending).
pub(crate) fn only(rows: u64, wanted: impl Iterator<Item = u64>) -> RowSelection {
    marking(rows, wanted, RowSelector::select, RowSelector::skip)
}

/// `marked` (ascending positions) as `mark` runs (consecutive positions make one), the rows
/// between as `rest` runs.
fn marking(
    rows: u64,
    marked: impl Iterator<Item = u64>,
    mark: fn(usize) -> RowSelector,
    rest: fn(usize) -> RowSelector,
) -> RowSelection {
    let mut selectors: Vec<RowSelector> = vec![];
    let mut next = 0u64;
    for p in marked.filter(|p| *p < rows) {
        match selectors.last_mut() {
            // Right after the last marked row: its run grows.
            Some(last) if p == next => last.row_count += 1,
            _ => {
                if p > next {
                    selectors.push(rest((p - next) as usize));
                }
                selectors.push(mark(1));
            }
        }
        next = p + 1;
    }
    if rows > next {
        selectors.push(rest((rows - next) as usize));
    }
    RowSelection::from(selectors)
}

/// `pf` (a scan of `file`) reading only the rows `file` still holds.
pub(crate) fn apply(pf: PartitionedFile, file: &DataFile) -> PartitionedFile {
    match &file.deleted {
        Some(d) if d.only => pf.with_extension(ParquetRowSelection::new(only(file.rows, d.iter()))),
        Some(d) => pf.with_extension(ParquetRowSelection::new(skipping(file.rows, d.iter()))),
        None => pf,
    }
}

/// `pf` (a scan of `file`) reading only the rows at `wanted` (ascending).
pub(crate) fn select(pf: PartitionedFile, file: &DataFile, wanted: &[u64]) -> PartitionedFile {
    pf.with_extension(ParquetRowSelection::new(only(file.rows, wanted.iter().copied())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(s: &RowSelection, n: usize) -> Vec<usize> {
        let mut out = vec![];
        let mut at = 0;
        for sel in s.iter() {
            if !sel.skip {
                out.extend(at..at + sel.row_count);
            }
            at += sel.row_count;
        }
        assert_eq!(at, n, "the selection covers the file");
        out
    }

    #[test]
    fn selections_cover_the_file_and_skip_or_keep_exactly_the_positions() {
        assert_eq!(rows(&skipping(6, [0, 2, 3].into_iter()), 6), vec![1, 4, 5]);
        assert_eq!(rows(&skipping(3, [2].into_iter()), 3), vec![0, 1]);
        assert_eq!(rows(&skipping(3, [].into_iter()), 3), vec![0, 1, 2]);
        assert_eq!(rows(&only(6, [0, 2, 3].into_iter()), 6), vec![0, 2, 3]);
        assert_eq!(rows(&only(4, [3].into_iter()), 4), vec![3]);
        // Consecutive positions make one run: a range of a million rows is one selector.
        assert_eq!(rows(&skipping(10, [0, 1, 2, 5, 6, 9].into_iter()), 10), vec![3, 4, 7, 8]);
        assert_eq!(rows(&only(10, [0, 1, 2, 5, 6, 9].into_iter()), 10), vec![0, 1, 2, 5, 6, 9]);
        let range = skipping(2_000_000, 500_000..1_500_000);
        assert_eq!(range.iter().count(), 3);
        assert_eq!(range.row_count(), 1_000_000);
    }
}
