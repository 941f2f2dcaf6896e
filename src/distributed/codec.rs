//! `TimeMachineCodec`: Ballista's logical codec plus versioned tables. A table travels pinned to
//! one version: where its files are (store URL and path) and the version itself (schema,
//! partitions, files with sizes), so the scheduler plans without reading the log and the version
//! cannot drift between the client and the executors.

use std::sync::Arc;

use ballista_core::serde::BallistaLogicalExtensionCodec;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::TableReference;
use datafusion::datasource::file_format::FileFormatFactory;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Extension, LogicalPlan};
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use serde::{Deserialize, Serialize};

use crate::state::TableSnapshot;
use crate::table::{ScanLocation, VersionedTable};

/// Marks our encoding of a table (and its format version).
const MAGIC: &[u8] = b"TMV1";

/// A versioned table as it travels.
#[derive(Serialize, Deserialize)]
struct Encoded {
    location: ScanLocation,
    snapshot: TableSnapshot,
    /// The table carries the column naming each row's file (MERGE's target).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    file_column: bool,
}

/// Ballista's logical codec, plus [`VersionedTable`]s pinned to a version.
#[derive(Debug, Default)]
pub struct TimeMachineCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl TimeMachineCodec {
    /// The bytes that carry `table`; fails for a warehouse only this process can see.
    pub fn encode_table(table: &VersionedTable) -> Result<Vec<u8>> {
        let location = table.location();
        if location.url.starts_with("timemachine://") {
            return Err(DataFusionError::Plan(format!(
                "table {} lives in a warehouse only this process can see (memory:// or a store of its own): \
                 distributed queries need a shared warehouse (s3://bucket/prefix, or a local directory shared \
                 by every process)",
                table.snapshot().name
            )));
        }
        let encoded = Encoded {
            location: location.clone(),
            snapshot: table.snapshot().as_ref().clone(),
            file_column: table.has_file_column(),
        };
        let mut buf = MAGIC.to_vec();
        serde_json::to_writer(&mut buf, &encoded).map_err(|e| DataFusionError::External(Box::new(e)))?;
        Ok(buf)
    }

    /// The table `buf` carries, if it is one of ours.
    pub fn decode_table(buf: &[u8]) -> Option<Result<VersionedTable>> {
        let body = buf.strip_prefix(MAGIC)?;
        Some(
            serde_json::from_slice::<Encoded>(body)
                .map_err(|e| DataFusionError::Internal(format!("undecodable versioned table: {e}")))
                .and_then(|e| {
                    let table = VersionedTable::detached(e.location, Arc::new(e.snapshot))?;
                    Ok(if e.file_column { table.with_file_column() } else { table })
                }),
        )
    }
}

impl LogicalExtensionCodec for TimeMachineCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> Result<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> Result<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> Result<Arc<dyn TableProvider>> {
        match Self::decode_table(buf) {
            Some(table) => Ok(Arc::new(table?)),
            None => self.inner.try_decode_table_provider(buf, table_ref, schema, ctx),
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> Result<()> {
        match node.downcast_ref::<VersionedTable>() {
            Some(table) => {
                buf.extend(Self::encode_table(table)?);
                Ok(())
            }
            None => self.inner.try_encode_table_provider(table_ref, node, buf),
        }
    }

    fn try_decode_file_format(&self, buf: &[u8], ctx: &TaskContext) -> Result<Arc<dyn FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(&self, buf: &mut Vec<u8>, node: Arc<dyn FileFormatFactory>) -> Result<()> {
        self.inner.try_encode_file_format(buf, node)
    }
}
