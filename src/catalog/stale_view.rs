//! A view whose query no longer plans (a table it reads was dropped or changed): it keeps the
//! columns recorded when it was created, so that listing the project (`SHOW TABLES`,
//! `information_schema`, a BI tool's catalog calls) still works, and a statement that reads it
//! fails with the reason when it is planned for execution.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::Session;
use datafusion::datasource::TableProvider;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, TableType};
use datafusion::physical_plan::ExecutionPlan;

use crate::state::View;

/// A view that no longer plans, with why.
#[derive(Debug)]
pub(super) struct StaleView {
    schema: SchemaRef,
    why: String,
}

impl StaleView {
    /// `view` as recorded, failing with `why` when read.
    pub(super) fn new(view: &View, why: String) -> Self {
        let fields = view.fields.iter().map(|(name, ty)| {
            // A type this Arrow no longer parses is shown as text rather than hiding the view.
            Field::new(name, DataType::from_str(ty).unwrap_or(DataType::Utf8), true)
        });
        Self { schema: Arc::new(Schema::new(fields.collect::<Vec<_>>())), why }
    }
}

#[async_trait]
impl TableProvider for StaleView {
    fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    fn table_type(&self) -> TableType {
        TableType::View
    }

    async fn scan(
        &self,
        _state: &dyn Session,
        _projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        Err(DataFusionError::Plan(self.why.clone()))
    }
}
