//! MaxCompute's `get_latest_version('t' [, n])` and `get_latest_timestamp('t' [, n])`: the LSN
//! and the commit time of the n-th latest version of table t (n = 1, the default, is the current
//! one), so that `FROM t VERSION AS OF get_latest_version('t', 2)` reads the version before the
//! last commit. Stable functions: DataFusion folds them once per statement, against the
//! statement's snapshot, which is what lets a version clause use them. Like a version clause,
//! they read the metadata of live tables only, which needs no List permission.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, TypeSignature, Volatility,
};

use crate::log::Project;
use crate::policy::retention::expired_error;
use crate::state::ProjectState;
use crate::state::model::format_lsn;
use crate::statements::history::resolve;

/// What the function returns of the version it finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Latest {
    /// `get_latest_version`: its LSN (BIGINT).
    Version,
    /// `get_latest_timestamp`: its commit time (TIMESTAMP, UTC).
    Timestamp,
}

/// `get_latest_version` or `get_latest_timestamp` over one project.
#[derive(Debug)]
pub struct LatestFunction {
    latest: Latest,
    project: Arc<Project>,
    signature: Signature,
    /// The statement's snapshot when bound to one; else the latest state the project knows.
    snapshot: Option<Arc<ProjectState>>,
}

impl LatestFunction {
    /// The function over `project`.
    pub fn new(latest: Latest, project: Arc<Project>) -> Self {
        let signature = Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8]),
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64]),
            ],
            Volatility::Stable,
        );
        Self { latest, project, signature, snapshot: None }
    }

    /// This function as one statement reads it: from `snapshot` (see `Binder::bind`); None
    /// reads the latest state the project knows.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }

    fn usage(&self) -> String {
        format!("usage: {}('table' [, n]), n ≥ 1 counting back from the latest version (1)", self.name())
    }

    /// The LSN and commit time of the `n`-th latest version of table `name`.
    fn find(&self, name: &str, n: i64) -> DfResult<(u64, chrono::DateTime<chrono::Utc>)> {
        let state = self.project.state_or(self.snapshot.as_ref());
        let table = resolve(&state, &name.to_lowercase(), None, self.project.clock().now())?;
        let current = table.current.lsn;
        let back = u64::try_from(n).ok().filter(|&n| n >= 1).ok_or_else(|| DataFusionError::Plan(self.usage()))? - 1;
        let Some(lsn) = current.checked_sub(back).filter(|&lsn| lsn >= 1) else {
            return Err(DataFusionError::Plan(format!(
                "{}: table {name} has {current} version{} (LSN 1 to {}), not {n}",
                self.name(),
                if current == 1 { "" } else { "s" },
                format_lsn(current)
            )));
        };
        if lsn == current {
            return Ok((lsn, table.current.time));
        }
        let time = table.entries().iter().find(|e| e.lsn == lsn).map(|e| e.time);
        let time = time.or_else(|| table.base().filter(|b| b.lsn == lsn).map(|b| b.time));
        match time {
            Some(time) => Ok((lsn, time)),
            None => Err(expired_error(&format!("LSN {} of table {name}", format_lsn(lsn)), &state).into()),
        }
    }
}

impl PartialEq for LatestFunction {
    fn eq(&self, other: &Self) -> bool {
        let same_snapshot = match (&self.snapshot, &other.snapshot) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        self.latest == other.latest && Arc::ptr_eq(&self.project, &other.project) && same_snapshot
    }
}

impl Eq for LatestFunction {}

impl Hash for LatestFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.latest.hash(state);
        Arc::as_ptr(&self.project).hash(state);
        self.snapshot.as_ref().map(Arc::as_ptr).hash(state);
    }
}

impl ScalarUDFImpl for LatestFunction {
    fn name(&self) -> &str {
        match self.latest {
            Latest::Version => "get_latest_version",
            Latest::Timestamp => "get_latest_timestamp",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _args: &[DataType]) -> DfResult<DataType> {
        Ok(match self.latest {
            Latest::Version => DataType::Int64,
            Latest::Timestamp => DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into())),
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        // Constants (the usual case, folded at planning) or columns, row by row.
        let scalar = args.args.iter().all(|a| matches!(a, ColumnarValue::Scalar(_)));
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let names = arrays.first().ok_or_else(|| DataFusionError::Plan(self.usage()))?;
        let names = names.as_string_opt::<i32>().ok_or_else(|| DataFusionError::Plan(self.usage()))?;
        let backs = match arrays.get(1) {
            Some(a) => Some(a.as_primitive_opt::<Int64Type>().ok_or_else(|| DataFusionError::Plan(self.usage()))?),
            None => None,
        };
        let mut out = Vec::with_capacity(names.len());
        for row in 0..names.len() {
            let n = match backs {
                Some(b) if b.is_null(row) => None,
                Some(b) => Some(b.value(row)),
                None => Some(1),
            };
            let value = match (names.is_valid(row).then(|| names.value(row)), n) {
                (Some(name), Some(n)) => {
                    let (lsn, time) = self.find(name, n)?;
                    match self.latest {
                        Latest::Version => ScalarValue::Int64(Some(lsn as i64)),
                        Latest::Timestamp => {
                            ScalarValue::TimestampNanosecond(time.timestamp_nanos_opt(), Some("+00:00".into()))
                        }
                    }
                }
                // NULL in, NULL out.
                _ => ScalarValue::try_from(&self.return_type(&[])?)?,
            };
            out.push(value);
        }
        if scalar && let [value] = &out[..] {
            return Ok(ColumnarValue::Scalar(value.clone()));
        }
        Ok(ColumnarValue::Array(ScalarValue::iter_to_array(out)?))
    }
}
