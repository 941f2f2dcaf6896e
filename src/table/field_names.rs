//! Reading data files through the table's column names. Each column is stored in the files
//! under its field name (`ColumnDef::field`: the name it had when first written, or `b#7` for a
//! column re-added at LSN 7). This adapter shows a file's columns under the names of the version
//! being read and hides those no longer in it, so that DataFusion's own machinery — projection,
//! casts of widened types, NULL for columns a file lacks, statistics pruning — works unchanged.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode};
use datafusion::error::Result;
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Column;
use datafusion::physical_expr_adapter::{
    DefaultPhysicalExprAdapterFactory, PhysicalExprAdapter, PhysicalExprAdapterFactory,
};

use crate::state::model::ColumnDef;

/// The adapter factory for a version whose columns are `columns`.
#[derive(Debug)]
pub(crate) struct FieldNames {
    /// Name in the files → name in the table.
    table_name: HashMap<String, String>,
}

impl FieldNames {
    /// None when every column is stored under its own name (DataFusion's default adapter then).
    pub(crate) fn of(columns: &[ColumnDef]) -> Option<Self> {
        if columns.iter().all(|c| c.field.is_none()) {
            return None;
        }
        Some(Self { table_name: columns.iter().map(|c| (c.file_name().to_string(), c.name.clone())).collect() })
    }
}

impl PhysicalExprAdapterFactory for FieldNames {
    fn create(&self, logical: SchemaRef, physical: SchemaRef) -> Result<Arc<dyn PhysicalExprAdapter>> {
        // The file's schema under the table's names; a column the version does not have (dropped,
        // or replaced by a re-added one of the same name) gets a name no table column can take.
        let fields = physical.fields().iter().map(|f| {
            // A virtual column (the row position a deletion vector names) is no column of the
            // file's: it keeps its name.
            let name = match self.table_name.get(f.name()) {
                Some(n) => n.clone(),
                None if f.extension_type_name().is_some() => f.name().clone(),
                None => format!("\u{1}dropped {}", f.name()),
            };
            f.as_ref().clone().with_name(name)
        });
        let renamed = Arc::new(Schema::new_with_metadata(fields.collect::<Vec<_>>(), physical.metadata().clone()));
        let inner = DefaultPhysicalExprAdapterFactory.create(logical, renamed)?;
        Ok(Arc::new(FileNames { inner, physical }))
    }
}

/// DataFusion's adapter over the renamed schema, whose column references then take the file's
/// own names back (the reader looks columns up in the real file schema).
#[derive(Debug)]
struct FileNames {
    inner: Arc<dyn PhysicalExprAdapter>,
    physical: SchemaRef,
}

impl PhysicalExprAdapter for FileNames {
    fn rewrite(&self, expr: Arc<dyn PhysicalExpr>) -> Result<Arc<dyn PhysicalExpr>> {
        self.inner
            .rewrite(expr)?
            .transform(|e| {
                let Some(c) = e.downcast_ref::<Column>() else { return Ok(Transformed::no(e)) };
                match self.physical.fields().get(c.index()) {
                    Some(f) if f.name() != c.name() => {
                        Ok(Transformed::yes(Arc::new(Column::new(f.name(), c.index())) as Arc<dyn PhysicalExpr>))
                    }
                    _ => Ok(Transformed::no(e)),
                }
            })
            .data()
    }
}
