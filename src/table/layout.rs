//! Where a clustered table's rows go: the bucket a row's key hashes to, the order rows take in
//! a file, and the buckets a query's constants can be in (so a scan skips the others).
//!
//! A bucket is a stable hash of the key's values as text (the same on every machine and in every
//! release: the log records the buckets of files written long ago), so the scan can hash a
//! predicate's constant exactly as the writer hashed the rows.

use std::collections::BTreeSet;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::{SortColumn, SortOptions, cast, lexsort_to_indices, take_record_batch};
use datafusion::arrow::datatypes::{DataType, Schema};
use datafusion::common::ScalarValue;
use datafusion::logical_expr::utils::split_conjunction;
use datafusion::logical_expr::{Expr, Operator};

use crate::error::{Error, Result};
use crate::state::model::{ClusterKind, Clustering, ColumnDef};

/// How many combinations of a predicate's constants are hashed at most (beyond that, no pruning).
const MAX_COMBINATIONS: usize = 4096;

/// A clustered table's layout, by positions in the data files' schema.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    /// Hash or range.
    pub(crate) kind: ClusterKind,
    /// Positions of the key columns.
    pub(crate) key: Vec<usize>,
    /// `INTO n BUCKETS`.
    pub(crate) buckets: Option<u32>,
    /// The order of rows within a file: position and descending.
    pub(crate) order: Vec<(usize, bool)>,
}

impl Layout {
    /// The layout of `clustering` over the data columns `columns`.
    pub(crate) fn new(clustering: &Clustering, columns: &[ColumnDef]) -> Result<Self> {
        let position = |name: &str| {
            columns.iter().position(|c| c.name == name).ok_or_else(|| {
                Error::invalid(format!("the clustering of the table names column {name}, which it no longer has"))
            })
        };
        Ok(Self {
            kind: clustering.kind,
            key: clustering.columns.iter().map(|c| position(c)).collect::<Result<_>>()?,
            buckets: clustering.buckets,
            order: clustering
                .file_order()
                .iter()
                .map(|k| Ok((position(&k.column)?, k.descending)))
                .collect::<Result<_>>()?,
        })
    }

    /// The bucket of each row of `batch` (hash clustering).
    pub(crate) fn row_buckets(&self, batch: &RecordBatch) -> Result<Vec<u32>> {
        let keys: Vec<ArrayRef> = self.key.iter().map(|&i| std::sync::Arc::clone(batch.column(i))).collect();
        buckets_of(&keys, self.buckets.unwrap_or(1))
    }

    /// `batch` in the file order (ascending: nulls last; descending: nulls first, as DataFusion
    /// sorts by default, so its ORDER BY can use the order).
    pub(crate) fn sort(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        if self.order.is_empty() || batch.num_rows() < 2 {
            return Ok(batch.clone());
        }
        let columns: Vec<SortColumn> = self
            .order
            .iter()
            .map(|&(i, descending)| SortColumn {
                values: std::sync::Arc::clone(batch.column(i)),
                options: Some(SortOptions { descending, nulls_first: descending }),
            })
            .collect();
        let indices = lexsort_to_indices(&columns, None)?;
        Ok(take_record_batch(batch, &indices)?)
    }
}

/// The bucket (of `buckets`) of each row of the key columns `keys`.
pub(crate) fn buckets_of(keys: &[ArrayRef], buckets: u32) -> Result<Vec<u32>> {
    let rows = keys.first().map_or(0, |k| k.len());
    let mut hashes = vec![FNV_OFFSET; rows];
    for key in keys {
        let text = cast(key, &DataType::Utf8)?;
        let text = text.as_string::<i32>();
        for (row, h) in hashes.iter_mut().enumerate() {
            if text.is_null(row) {
                *h = fnv(*h, &[0xfe]);
            } else {
                *h = fnv(fnv(*h, &[0x01]), text.value(row).as_bytes());
            }
            *h = fnv(*h, &[0xff]);
        }
    }
    let n = u64::from(buckets.max(1));
    Ok(hashes.into_iter().map(|h| (mix(h) % n) as u32).collect())
}

/// The buckets rows with these key values can be in: `values[i]` lists the constants the `i`-th
/// key column may equal, `types[i]` is its type. None when that cannot be told (a constant of
/// another type that does not convert exactly, too many combinations).
pub(crate) fn buckets_of_values(
    values: &[Vec<ScalarValue>],
    types: &[DataType],
    buckets: u32,
) -> Option<BTreeSet<u32>> {
    let mut combinations = 1usize;
    for v in values {
        combinations = combinations.checked_mul(v.len())?;
    }
    if combinations == 0 || combinations > MAX_COMBINATIONS {
        return None;
    }
    // One array per key column holding its part of every combination.
    let mut columns: Vec<Vec<ScalarValue>> = vec![Vec::with_capacity(combinations); values.len()];
    for n in 0..combinations {
        let mut rest = n;
        for (i, v) in values.iter().enumerate() {
            columns[i].push(v[rest % v.len()].clone());
            rest /= v.len();
        }
    }
    let mut arrays = Vec::with_capacity(values.len());
    for (column, data_type) in columns.into_iter().zip(types) {
        let exact = column.into_iter().map(|v| exactly_as(v, data_type)).collect::<Option<Vec<_>>>()?;
        arrays.push(ScalarValue::iter_to_array(exact).ok()?);
    }
    buckets_of(&arrays, buckets).ok().map(|b| b.into_iter().collect())
}

/// `value` as a value of `data_type`, if it converts there and back unchanged.
fn exactly_as(value: ScalarValue, data_type: &DataType) -> Option<ScalarValue> {
    if value.data_type() == *data_type {
        return Some(value);
    }
    let converted = value.cast_to(data_type).ok()?;
    (converted.cast_to(&value.data_type()).ok()? == value).then_some(converted)
}

/// The names of the key columns of `clustering` and their types, from the scan's `schema`.
pub(crate) fn key_types(clustering: &Clustering, schema: &Schema) -> Option<Vec<DataType>> {
    clustering.columns.iter().map(|c| schema.field_with_name(c).ok().map(|f| f.data_type().clone())).collect()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// FNV-1a over `bytes`, from `hash`.
fn fnv(mut hash: u64, bytes: &[u8]) -> u64 {
    for b in bytes {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(FNV_PRIME);
    }
    hash
}

/// The final mix of splitmix64: spreads FNV's low bits before the modulo.
fn mix(mut h: u64) -> u64 {
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// The buckets of a hash-clustered table that rows passing `filters` can be in: None unless the
/// filters pin every key column to constants (`k = 5`, `k IN (…)`, `k = 1 OR k = 2`).
pub(crate) fn wanted_buckets(clustering: &Clustering, schema: &Schema, filters: &[Expr]) -> Option<BTreeSet<u32>> {
    let buckets = clustering.buckets.filter(|_| clustering.kind == ClusterKind::Hash)?;
    let conjuncts: Vec<&Expr> = filters.iter().flat_map(split_conjunction).collect();
    let values: Vec<Vec<ScalarValue>> = clustering
        .columns
        .iter()
        .map(|column| conjuncts.iter().find_map(|e| constants(e, column)))
        .collect::<Option<_>>()?;
    buckets_of_values(&values, &key_types(clustering, schema)?, buckets)
}

/// The constants `expr` allows `column` to equal, if it is such a test.
fn constants(expr: &Expr, column: &str) -> Option<Vec<ScalarValue>> {
    let is_column = |e: &Expr| matches!(e, Expr::Column(c) if c.name == column);
    match expr {
        Expr::BinaryExpr(b) if b.op == Operator::Eq => match (b.left.as_ref(), b.right.as_ref()) {
            (l, Expr::Literal(v, _)) if is_column(l) && !v.is_null() => Some(vec![v.clone()]),
            (Expr::Literal(v, _), r) if is_column(r) && !v.is_null() => Some(vec![v.clone()]),
            _ => None,
        },
        Expr::BinaryExpr(b) if b.op == Operator::Or => {
            let mut all = constants(&b.left, column)?;
            all.extend(constants(&b.right, column)?);
            Some(all)
        }
        Expr::InList(list) if !list.negated && is_column(&list.expr) => list
            .list
            .iter()
            .filter(|e| !matches!(e, Expr::Literal(v, _) if v.is_null()))
            .map(|e| match e {
                Expr::Literal(v, _) => Some(v.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{Int64Array, StringArray};

    use super::*;

    #[test]
    fn a_constant_hashes_to_the_bucket_of_its_rows_and_buckets_never_move() {
        let keys: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![Some(1), Some(2), None, Some(1)]))];
        let rows = buckets_of(&keys, 8).unwrap();
        assert_eq!(rows[0], rows[3]);
        // Pinned: files record their bucket, so the hash may never change between releases.
        assert_eq!(rows, [7, 5, 5, 7]);
        // Keys spread evenly.
        let many: Vec<ArrayRef> = vec![Arc::new(Int64Array::from_iter_values(0..8000))];
        let mut per_bucket = [0; 8];
        buckets_of(&many, 8).unwrap().into_iter().for_each(|b| per_bucket[b as usize] += 1);
        assert!(per_bucket.iter().all(|&n| (850..1150).contains(&n)), "{per_bucket:?}");
        let of = |v: ScalarValue| buckets_of_values(&[vec![v]], &[DataType::Int64], 8).unwrap();
        assert_eq!(of(ScalarValue::Int64(Some(2))), BTreeSet::from([rows[1]]));
        // A constant of another type that converts exactly hashes as the column's type.
        assert_eq!(of(ScalarValue::Int32(Some(2))), BTreeSet::from([rows[1]]));
        // One that does not (2.5 is no BIGINT) tells nothing.
        assert_eq!(buckets_of_values(&[vec![ScalarValue::Float64(Some(2.5))]], &[DataType::Int64], 8), None);
        let text: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec!["a", "b"]))];
        let two = buckets_of(&[Arc::clone(&keys[0]).slice(0, 2), Arc::clone(&text[0])], 1024).unwrap();
        let pairs = vec![
            vec![ScalarValue::Int64(Some(1)), ScalarValue::Int64(Some(2))],
            vec![ScalarValue::from("a"), ScalarValue::from("b")],
        ];
        let all = buckets_of_values(&pairs, &[DataType::Int64, DataType::Utf8], 1024).unwrap();
        assert!(all.contains(&two[0]) && all.contains(&two[1]) && all.len() <= 4);
    }
}
