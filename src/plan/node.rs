//! The logical node of every statement the time machine owns: it carries the prepared statement
//! (and, for INSERT and CREATE TABLE … AS, the query whose rows it writes as its input), so
//! DataFusion's EXPLAIN shows it and DataFusion's planner executes it.

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use datafusion::common::{DFSchema, DFSchemaRef, Result as DfResult};
use datafusion::logical_expr::{Expr, Extension, LogicalPlan, UserDefinedLogicalNodeCore};

use crate::statements::Request;

/// One statement of the time machine, as a `LogicalPlan::Extension`.
#[derive(Debug, Clone)]
pub(crate) struct StatementNode {
    /// The statement text, recorded in the log.
    pub(crate) text: String,
    /// What to run.
    pub(crate) request: Arc<Request>,
    /// The rows it returns.
    schema: DFSchemaRef,
    /// The query whose rows INSERT / CREATE TABLE … AS writes.
    pub(crate) input: Option<LogicalPlan>,
}

impl StatementNode {
    /// A node for `request`.
    pub(crate) fn new(text: &str, request: Request, input: Option<LogicalPlan>) -> DfResult<Self> {
        let schema = Arc::new(DFSchema::try_from(request.output_schema())?);
        Ok(Self { text: text.to_string(), request: Arc::new(request), schema, input })
    }

    /// The node as a logical plan.
    pub(crate) fn into_plan(self) -> LogicalPlan {
        LogicalPlan::Extension(Extension { node: Arc::new(self) })
    }

    /// The first words of the statement, for plan displays (`RESTORE TABLE t TO LSN …`).
    pub(crate) fn title(&self) -> String {
        let one_line: String = self.text.split_whitespace().collect::<Vec<_>>().join(" ");
        match one_line.char_indices().nth(120) {
            Some((i, _)) => format!("{}…", &one_line[..i]),
            None => one_line,
        }
    }
}

// The statement text identifies a node within a plan; DataFusion needs these for plan equality.
impl PartialEq for StatementNode {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.input == other.input
    }
}

impl Eq for StatementNode {}

impl Hash for StatementNode {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
        self.input.hash(state);
    }
}

impl PartialOrd for StatementNode {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        self.text.partial_cmp(&other.text)
    }
}

impl UserDefinedLogicalNodeCore for StatementNode {
    fn name(&self) -> &str {
        "TimeMachineStatement"
    }

    fn inputs(&self) -> Vec<&LogicalPlan> {
        self.input.iter().collect()
    }

    fn schema(&self) -> &DFSchemaRef {
        &self.schema
    }

    fn expressions(&self) -> Vec<Expr> {
        vec![]
    }

    fn fmt_for_explain(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "TimeMachineStatement: {}", self.title())
    }

    fn with_exprs_and_inputs(&self, _exprs: Vec<Expr>, mut inputs: Vec<LogicalPlan>) -> DfResult<Self> {
        Ok(Self { input: inputs.pop(), ..self.clone() })
    }
}
