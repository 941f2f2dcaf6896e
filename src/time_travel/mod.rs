//! Reading the past in FROM: a DataFusion `RelationPlanner` that pins a versioned table to the
//! version (or the change range) its version clause names.
//!
//! - `t VERSION AS OF k` (k an integer or the 16-digit string): the table exactly as at LSN k;
//! - `t TIMESTAMP AS OF x` and `t FOR SYSTEM_TIME AS OF x`: the version current at instant x
//!   (any expression DataFusion folds to a constant timestamp or date, or a string);
//! - `t VERSION BETWEEN a AND b`, `t TIMESTAMP BETWEEN x AND y`: the rows that INSERT and CTAS
//!   commits with LSN in (a, b] wrote (the parser turns these into a marked `AT(…)` clause).
//!
//! DataFusion ignores version clauses that no planner claims, so this planner claims every one:
//! a clause it cannot serve is an error, never silently the current data.

mod versions;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::catalog::default_table_source::{provider_as_source, source_as_provider};
use datafusion::common::{DFSchema, ScalarValue, TableReference};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::planner::{PlannedRelation, RelationPlanner, RelationPlannerContext, RelationPlanning};
use datafusion::logical_expr::simplify::SimplifyContext;
use datafusion::logical_expr::{Expr, ExprSchemable, LogicalPlanBuilder, cast};
use datafusion::optimizer::simplify_expressions::ExprSimplifier;
use datafusion::sql::sqlparser::ast::{self, TableFactor, TableVersion};

pub use versions::{changes, instant_end, lsn_at, version};

use crate::error::Error;
use crate::log::Project;
use crate::policy::retention::parse_lsn;
use crate::sql::VersionClause;
use crate::state::{ProjectState, TableSnapshot};
use crate::table::VersionedTable;

/// The relation planner of the time machine (registered by `TimeMachine::attach`).
#[derive(Debug)]
pub struct TimeTravelPlanner {
    project: Arc<Project>,
    /// The statement's snapshot when bound to one (`Binder::bind`); unbound, in a plain
    /// `SessionContext::sql`, tables resolve through the catalog at their latest version.
    snapshot: Option<Arc<ProjectState>>,
}

/// What a version clause asks for.
enum Wanted {
    Lsn(u64),
    /// A tag's name (`VERSION AS OF 'month_end'`).
    Tag(String),
    Instant(DateTime<Utc>),
    LsnRange(u64, u64),
    InstantRange(DateTime<Utc>, DateTime<Utc>),
}

impl TimeTravelPlanner {
    /// A planner for the tables of `project`.
    pub fn new(project: Arc<Project>) -> Self {
        Self { project, snapshot: None }
    }

    /// This planner as one statement plans: its project's tables from `snapshot` (see
    /// `Binder::bind`); None resolves them through the catalog.
    pub fn reading(mut self, snapshot: Option<Arc<ProjectState>>) -> Self {
        self.snapshot = snapshot;
        self
    }

    /// The error for a version clause on a table that does not resolve: dropped tables say how
    /// to undrop them.
    fn missing(&self, table: &TableReference, cause: DataFusionError) -> DataFusionError {
        let name = table.table();
        let state = self.project.state_or(self.snapshot.as_ref());
        let dropped: Vec<&str> = state
            .tables
            .values()
            .filter(|t| t.current.dropped && t.current.name == name)
            .map(|t| t.id.as_str())
            .collect();
        match dropped.last() {
            Some(id) => DataFusionError::Plan(format!(
                "table {name} is dropped: undrop it with RESTORE TABLE {name} ('id'='{id}'), or restore a version of it \
                 AS a new table with RESTORE TABLE {name} ('id'='{id}') TO LSN '…' AS <new name>"
            )),
            None => cause,
        }
    }
}

impl TimeTravelPlanner {
    /// The ObjectId of `reference` when it names a live table of this planner's project in the
    /// statement's snapshot: resolved once, with no provider built for the current version.
    fn own_table(&self, reference: &TableReference, context: &dyn RelationPlannerContext) -> Option<String> {
        let state = self.snapshot.as_ref()?;
        let catalog = &context.context_provider().options().catalog;
        let ours = reference.catalog().is_none_or(|c| c == catalog.default_catalog)
            && reference.schema().is_none_or(|s| s == catalog.default_schema);
        ours.then(|| state.live_table(reference.table()).map(|t| t.id.clone())).flatten()
    }

    /// Any other reference, through the catalog: it must resolve to a versioned table with its
    /// project (a table of another project attached to the same context, say).
    fn resolve(
        &self,
        reference: &TableReference,
        context: &dyn RelationPlannerContext,
    ) -> DfResult<(Arc<Project>, String)> {
        let source =
            context.context_provider().get_table_source(reference.clone()).map_err(|e| self.missing(reference, e))?;
        let provider = source_as_provider(&source)?;
        let Some(table) = provider.downcast_ref::<VersionedTable>() else {
            return Err(DataFusionError::Plan(format!(
                "{reference} is not a versioned table: VERSION / TIMESTAMP AS OF and BETWEEN apply to the time machine's tables"
            )));
        };
        let Some(project) = table.project() else {
            return Err(DataFusionError::Plan(format!(
                "{reference} travelled without its project: read its versions where it was planned"
            )));
        };
        Ok((Arc::clone(project), table.snapshot().id.clone()))
    }
}

impl RelationPlanner for TimeTravelPlanner {
    fn plan_relation(
        &self,
        relation: TableFactor,
        context: &mut dyn RelationPlannerContext,
    ) -> DfResult<RelationPlanning> {
        let TableFactor::Table { name, alias, args, version: Some(version), .. } = &relation else {
            return Ok(RelationPlanning::Original(Box::new(relation)));
        };
        if args.is_some() {
            return Err(DataFusionError::Plan(format!(
                "a version clause applies to tables, not to the table function {name}"
            )));
        }
        let reference = context.object_name_to_table_reference(name.clone())?;
        let wanted = wanted(version, context).map_err(|e| match e {
            DataFusionError::NotImplemented(_) => e,
            other => DataFusionError::Plan(format!("table {reference} {}: {}", describe(version), other.message())),
        })?;
        let (project, id, state) = match self.own_table(&reference, context) {
            Some(id) => (Arc::clone(&self.project), id, self.snapshot.clone()),
            None => {
                let (project, id) = self.resolve(&reference, context)?;
                (project, id, None)
            }
        };
        let state = project.state_or(state.as_ref());
        let pinned = pin(&project, &state, &id, wanted).map_err(DataFusionError::from)?;
        let provider = VersionedTable::try_new(project, Arc::new(pinned))?;
        let plan = LogicalPlanBuilder::scan(reference, provider_as_source(Arc::new(provider)), None)?.build()?;
        Ok(RelationPlanning::Planned(Box::new(PlannedRelation::new(plan, alias.clone()))))
    }
}

/// The snapshot of table `id` that `wanted` designates, checked against retention.
fn pin(project: &Project, state: &ProjectState, id: &str, wanted: Wanted) -> crate::Result<TableSnapshot> {
    let table = state.tables.get(id).ok_or_else(|| Error::not_found(format!("no table has id {id}")))?;
    // The current file list now; older versions decode as far as the clause reaches.
    state.check_decodable(id, false)?;
    let now = project.clock().now();
    // A range that starts before the table existed starts at its creation.
    let lsn_since = |at| if instant_end(at) < table.created { Ok(0) } else { lsn_at(state, table, at) };
    match wanted {
        Wanted::Lsn(lsn) => version(state, table, lsn, now),
        Wanted::Tag(name) => {
            let tag = state.tag(id, &name, now).ok_or_else(|| {
                Error::not_found(format!("table {} has no tag {name} (see SHOW TAGS FOR TABLE)", table.current.name))
            })?;
            version(state, table, tag.lsn, now)
        }
        Wanted::Instant(at) => version(state, table, lsn_at(state, table, at)?, now),
        Wanted::LsnRange(from, to) => changes(state, table, from, to, now),
        Wanted::InstantRange(from, to) => {
            if from > to {
                return Err(Error::invalid(format!(
                    "TIMESTAMP BETWEEN on table {}: the start is after the end",
                    table.current.name
                )));
            }
            let to = lsn_since(to)?;
            changes(state, table, lsn_since(from)?, to, now)
        }
    }
}

/// Reads a version clause.
fn wanted(version: &TableVersion, context: &mut dyn RelationPlannerContext) -> DfResult<Wanted> {
    match VersionClause::read(version).ok_or_else(|| unsupported(version))? {
        VersionClause::VersionAsOf(v) => version_as_of(v, context),
        VersionClause::TimestampAsOf(x) => Ok(Wanted::Instant(instant(x, context)?)),
        VersionClause::VersionBetween(a, b) => Ok(Wanted::LsnRange(lsn(a, context, true)?, lsn(b, context, true)?)),
        VersionClause::TimestampBetween(x, y) => Ok(Wanted::InstantRange(instant(x, context)?, instant(y, context)?)),
    }
}

/// A version clause as the user wrote it, for error messages (sqlparser prints the forms it
/// reads itself as written; the rewritten ones are read back).
fn describe(version: &TableVersion) -> String {
    match (version, VersionClause::read(version)) {
        (TableVersion::Function(_), Some(clause)) => clause.to_string(),
        _ => version.to_string(),
    }
}

fn unsupported(version: &TableVersion) -> DataFusionError {
    DataFusionError::NotImplemented(format!(
        "the version clause {version}; supported: VERSION AS OF <lsn>, TIMESTAMP AS OF <timestamp>, \
         FOR SYSTEM_TIME AS OF <timestamp>, VERSION BETWEEN <lsn> AND <lsn>, TIMESTAMP BETWEEN <timestamp> AND <timestamp>"
    ))
}

/// Folds a constant expression (`'2024-01-15'`, `now() - interval '1 hour'`, `42`) to a value.
fn constant(
    e: &ast::Expr,
    context: &mut dyn RelationPlannerContext,
    what: &str,
    cast_to: Option<DataType>,
) -> DfResult<ScalarValue> {
    let not_constant = |detail: String| DataFusionError::Plan(format!("{what} takes a constant, got {e}: {detail}"));
    let expr = context.sql_to_expr(e.clone(), &DFSchema::empty()).map_err(|err| not_constant(err.to_string()))?;
    let expr = match cast_to {
        Some(t) => {
            let from = expr.get_type(&DFSchema::empty())?;
            let ok = matches!(
                from,
                DataType::Utf8
                    | DataType::Utf8View
                    | DataType::LargeUtf8
                    | DataType::Timestamp(..)
                    | DataType::Date32
                    | DataType::Date64
            );
            if !ok {
                return Err(DataFusionError::Plan(format!(
                    "{what} takes a timestamp, a date or a string, got {e} of type {from}"
                )));
            }
            cast(expr, t)
        }
        None => expr,
    };
    let simplifier = ExprSimplifier::new(SimplifyContext::builder().with_current_time().build());
    match simplifier.simplify(expr).map_err(|err| not_constant(err.to_string()))? {
        Expr::Literal(v, _) if !v.is_null() => Ok(v),
        Expr::Literal(..) => Err(DataFusionError::Plan(format!("{what} got NULL from {e}"))),
        other => match evaluate(&other) {
            // The simplifier keeps an expression whose evaluation fails: say why it failed
            // (`get_latest_version('nope')`: the table does not exist).
            Err(err) => Err(err),
            Ok(_) => Err(not_constant(format!("it does not fold to a constant ({other})"))),
        },
    }
}

/// Evaluates a constant expression once, as the simplifier does, keeping its error.
fn evaluate(expr: &Expr) -> DfResult<ScalarValue> {
    use datafusion::arrow::datatypes::Schema;
    use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};
    use datafusion::logical_expr::execution_props::ExecutionProps;
    use datafusion::logical_expr::physical_planning_context::PhysicalPlanningContext;
    let props = ExecutionProps::new().with_query_execution_start_time(Utc::now());
    let physical = datafusion::physical_expr::create_physical_expr(
        expr,
        &DFSchema::empty(),
        &props,
        &PhysicalPlanningContext::default(),
    )?;
    let one_row = RecordBatch::try_new_with_options(
        Arc::new(Schema::empty()),
        vec![],
        &RecordBatchOptions::new().with_row_count(Some(1)),
    )?;
    match physical.evaluate(&one_row)? {
        datafusion::logical_expr::ColumnarValue::Scalar(v) => Ok(v),
        datafusion::logical_expr::ColumnarValue::Array(a) => ScalarValue::try_from_array(&a, 0),
    }
}

/// `VERSION AS OF`'s version: an LSN, or a tag's name (a string that starts with a letter; the
/// parser hands a quoted version over as a number token, see `sql::version_clauses`).
fn version_as_of(e: &ast::Expr, context: &mut dyn RelationPlannerContext) -> DfResult<Wanted> {
    if let ast::Expr::Value(v) = e
        && let ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) | ast::Value::Number(s, _) =
            &v.value
        && s.starts_with(|c: char| c.is_ascii_alphabetic())
    {
        return Ok(Wanted::Tag(s.to_lowercase()));
    }
    Ok(Wanted::Lsn(lsn(e, context, false)?))
}

/// An LSN: an integer or a string of digits (`'0000000000000004'`); 0 only as a range start.
fn lsn(e: &ast::Expr, context: &mut dyn RelationPlannerContext, zero_ok: bool) -> DfResult<u64> {
    let text = match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => n.clone(),
            ast::Value::SingleQuotedString(s) | ast::Value::DoubleQuotedString(s) => s.clone(),
            _ => constant(e, context, "VERSION", None)?.to_string(),
        },
        _ => constant(e, context, "VERSION", None)?.to_string(),
    };
    if zero_ok && !text.is_empty() && text.bytes().all(|b| b == b'0') {
        return Ok(0);
    }
    Ok(parse_lsn(&text)?)
}

/// An instant: a timestamp, a date (midnight) or a string, in UTC unless it names a zone; or, as
/// MaxCompute writes it, one of those plus or minus a number of seconds (`getdate() - 3600`).
fn instant(e: &ast::Expr, context: &mut dyn RelationPlannerContext) -> DfResult<DateTime<Utc>> {
    if let ast::Expr::BinaryOp { left, op: op @ (ast::BinaryOperator::Plus | ast::BinaryOperator::Minus), right } = e
        && let Ok(seconds) = constant(right, context, "TIMESTAMP AS OF", None)
        && seconds.data_type().is_integer()
    {
        let seconds = seconds.cast_to(&DataType::Int64)?;
        let ScalarValue::Int64(Some(seconds)) = seconds else {
            return Err(DataFusionError::Plan(format!("TIMESTAMP AS OF: {right} is not a number of seconds")));
        };
        let offset = chrono::Duration::try_seconds(seconds)
            .ok_or_else(|| DataFusionError::Plan(format!("TIMESTAMP AS OF: {seconds} seconds is out of range")))?;
        let at = instant(left, context)?;
        let moved = if matches!(op, ast::BinaryOperator::Plus) {
            at.checked_add_signed(offset)
        } else {
            at.checked_sub_signed(offset)
        };
        return moved.ok_or_else(|| DataFusionError::Plan(format!("TIMESTAMP AS OF: {e} is out of range")));
    }
    let utc = DataType::Timestamp(TimeUnit::Nanosecond, Some("+00:00".into()));
    match constant(e, context, "TIMESTAMP AS OF", Some(utc))? {
        ScalarValue::TimestampNanosecond(Some(ns), _) => Ok(DateTime::from_timestamp_nanos(ns)),
        other => Err(DataFusionError::Plan(format!("TIMESTAMP AS OF: {e} is not a timestamp ({other})"))),
    }
}
