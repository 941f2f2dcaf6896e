//! `TimeMachinePhysicalCodec`: Ballista's physical codec, plus the scans of tables with deletion
//! vectors ([`DeletionVectorsExec`]): the scheduler sends each scanned file's vector beside the
//! scan, and the executor attaches them to the files again, so that no deleted row comes back.

use std::sync::Arc;

use ballista_core::serde::BallistaPhysicalExtensionCodec;
use datafusion::error::{DataFusionError, Result};
use datafusion::execution::TaskContext;
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::physical_plan::{PhysicalExtensionCodec, PhysicalProtoConverterExtension};

use crate::table::{DeletionVectorsExec, ScanVectors};

/// Marks our encoding of a scan's deletion vectors (and its format version).
const MAGIC: &[u8] = b"TMDV1";

/// Ballista's physical codec, plus scans with deletion vectors.
#[derive(Debug, Default)]
pub struct TimeMachinePhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for TimeMachinePhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let Some(body) = buf.strip_prefix(MAGIC) else {
            return self.inner.try_decode(buf, inputs, ctx, proto_converter);
        };
        let vectors: ScanVectors = serde_json::from_slice(body)
            .map_err(|e| DataFusionError::Internal(format!("undecodable deletion vectors: {e}")))?;
        let [input] = inputs else {
            return Err(DataFusionError::Internal("deletion vectors decoded without their scan".to_string()));
        };
        Ok(Arc::new(DeletionVectorsExec::try_new(Arc::clone(input), Arc::new(vectors))?))
    }

    fn try_encode(
        &self,
        node: Arc<dyn ExecutionPlan>,
        buf: &mut Vec<u8>,
        proto_converter: &dyn PhysicalProtoConverterExtension,
    ) -> Result<()> {
        let Some(scan) = node.downcast_ref::<DeletionVectorsExec>() else {
            return self.inner.try_encode(node, buf, proto_converter);
        };
        buf.extend_from_slice(MAGIC);
        serde_json::to_writer(buf, scan.vectors().as_ref()).map_err(|e| DataFusionError::External(Box::new(e)))
    }
}
