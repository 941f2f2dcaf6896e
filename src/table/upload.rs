//! The sink of one data file: a put for a small file, a multipart upload for a large one, owned
//! here so that a write dropped before it completes — a statement cancelled mid-write or even
//! mid-completion (Ctrl-C) — aborts its upload: nothing stays pending (and billed) on S3.
//! (`object_store`'s `BufWriter` keeps the upload inside the future that completes it, so a
//! cancel at that moment left the upload pending.)

use std::sync::Arc;

use bytes::Bytes;
use datafusion::parquet::arrow::async_writer::AsyncFileWriter;
use datafusion::parquet::errors::{ParquetError, Result};
use futures::FutureExt;
use futures::future::BoxFuture;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

/// Bytes gathered before a part goes out (object_store's `BufWriter` default).
const PART_SIZE: usize = 10 << 20;
/// Parts uploading at once.
const PARTS_IN_FLIGHT: usize = 8;

fn external(e: impl std::error::Error + Send + Sync + 'static) -> ParquetError {
    ParquetError::External(Box::new(e))
}

/// One file being written to the object store.
pub(crate) struct Upload {
    store: Arc<dyn ObjectStore>,
    path: Path,
    buffer: Vec<Bytes>,
    buffered: usize,
    multipart: Option<Box<dyn MultipartUpload>>,
    parts: Vec<JoinHandle<object_store::Result<()>>>,
    done: bool,
}

impl Upload {
    /// A file at `path` of `store`.
    pub(crate) fn new(store: Arc<dyn ObjectStore>, path: Path) -> Self {
        Self { store, path, buffer: vec![], buffered: 0, multipart: None, parts: vec![], done: false }
    }

    fn take_payload(&mut self) -> PutPayload {
        self.buffered = 0;
        PutPayload::from_iter(std::mem::take(&mut self.buffer))
    }

    async fn send_part(&mut self) -> object_store::Result<()> {
        let multipart = match &mut self.multipart {
            Some(m) => m,
            None => self.multipart.insert(self.store.put_multipart(&self.path).await?),
        };
        let payload = PutPayload::from_iter(std::mem::take(&mut self.buffer));
        self.buffered = 0;
        let part = multipart.put_part(payload);
        self.parts.push(tokio::spawn(part));
        if self.parts.len() >= PARTS_IN_FLIGHT {
            let oldest = self.parts.remove(0);
            oldest.await.map_err(|e| object_store::Error::Generic { store: "upload", source: Box::new(e) })??;
        }
        Ok(())
    }

    async fn finish(&mut self) -> object_store::Result<()> {
        if self.multipart.is_none() {
            let payload = self.take_payload();
            self.store.put(&self.path, payload).await?;
            self.done = true;
            return Ok(());
        }
        if self.buffered > 0 {
            self.send_part().await?;
        }
        for part in std::mem::take(&mut self.parts) {
            part.await.map_err(|e| object_store::Error::Generic { store: "upload", source: Box::new(e) })??;
        }
        if let Some(multipart) = self.multipart.as_mut() {
            multipart.complete().await?;
        }
        self.done = true;
        Ok(())
    }

    /// Abandons the file: aborts its multipart upload, if it has one.
    pub(crate) async fn abort(mut self) {
        self.done = true;
        if let Some(mut upload) = self.multipart.take() {
            let _ = upload.abort().await;
        }
    }
}

impl AsyncFileWriter for Upload {
    fn write(&mut self, bs: Bytes) -> BoxFuture<'_, Result<()>> {
        async move {
            self.buffered += bs.len();
            self.buffer.push(bs);
            if self.buffered >= PART_SIZE {
                self.send_part().await.map_err(external)?;
            }
            Ok(())
        }
        .boxed()
    }

    fn complete(&mut self) -> BoxFuture<'_, Result<()>> {
        async move { self.finish().await.map_err(external) }.boxed()
    }
}

impl Drop for Upload {
    /// Dropped before it completed: the multipart upload is aborted in the background.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let (Some(mut upload), Ok(runtime)) = (self.multipart.take(), tokio::runtime::Handle::try_current()) {
            runtime.spawn(async move {
                let _ = upload.abort().await;
            });
        }
    }
}
