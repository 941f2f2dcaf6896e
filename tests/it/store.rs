//! An object store wrapper for tests: counts what goes through it, and fails operations on
//! demand (from the k-th on, as a process that dies there; or at random, as a flaky network).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result,
};

/// Counts puts, multipart uploads, bytes put, and every operation.
#[derive(Debug, Default)]
pub struct Counters {
    pub puts: AtomicU64,
    pub multipart: AtomicU64,
    pub bytes: AtomicU64,
    pub ops: AtomicU64,
    /// Paths read (every get), in order.
    pub reads: std::sync::Mutex<Vec<String>>,
    /// Prefixes listed, in order.
    pub lists: std::sync::Mutex<Vec<String>>,
    /// Multipart uploads started and neither completed nor aborted (pending on S3).
    pub pending_uploads: std::sync::atomic::AtomicI64,
}

impl Counters {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (self.puts.load(Ordering::SeqCst), self.multipart.load(Ordering::SeqCst), self.bytes.load(Ordering::SeqCst))
    }
}

/// When operations fail.
#[derive(Debug, Default)]
pub struct Faults {
    /// Operations from this number on fail (0 = never): the process "died" there.
    pub fail_from: AtomicU64,
    /// Each operation fails with this probability, in parts per 1000 (0 = never).
    pub per_mille: AtomicU64,
    /// State of the pseudo-random generator for `per_mille`.
    pub seed: AtomicU64,
}

/// xorshift64*: a small deterministic generator for tests.
pub fn next_random(state: &AtomicU64) -> u64 {
    let mut x = state.load(Ordering::SeqCst);
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    state.store(x, Ordering::SeqCst);
    x.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Holds one put in flight: the next put whose path contains the armed pattern waits, after
/// saying so, until released (a writer stalled inside its commit).
#[derive(Debug, Default)]
pub struct Pause {
    pattern: std::sync::Mutex<Option<String>>,
    reached: tokio::sync::Notify,
    release: tokio::sync::Notify,
}

impl Pause {
    /// The next put to a path containing `pattern` will wait.
    pub fn arm(&self, pattern: &str) {
        *self.pattern.lock().unwrap() = Some(pattern.to_string());
    }

    /// Waits until the armed put has started waiting.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets the held put go on.
    pub fn release(&self) {
        self.release.notify_one();
    }

    async fn hold(&self, path: &str) {
        let hit = {
            let mut armed = self.pattern.lock().unwrap();
            let hit = armed.as_deref().is_some_and(|p| path.contains(p));
            if hit {
                *armed = None;
            }
            hit
        };
        if hit {
            self.reached.notify_one();
            self.release.notified().await;
        }
    }
}

#[derive(Debug)]
pub struct Instrumented {
    pub inner: Arc<dyn ObjectStore>,
    pub counters: Arc<Counters>,
    pub faults: Arc<Faults>,
    pub pause: Arc<Pause>,
}

impl Instrumented {
    pub fn new(inner: Arc<dyn ObjectStore>) -> Self {
        Self { inner, counters: Arc::default(), faults: Arc::default(), pause: Arc::default() }
    }

    /// Counts one operation and decides whether it fails.
    fn op(&self, what: &str, path: &str) -> Result<()> {
        let n = self.counters.ops.fetch_add(1, Ordering::SeqCst) + 1;
        let from = self.faults.fail_from.load(Ordering::SeqCst);
        let per_mille = self.faults.per_mille.load(Ordering::SeqCst);
        let fail = (from != 0 && n >= from) || (per_mille != 0 && next_random(&self.faults.seed) % 1000 < per_mille);
        if fail {
            return Err(object_store::Error::Generic {
                store: "Instrumented",
                source: format!("injected failure of operation {n} ({what} {path})").into(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Instrumented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Instrumented({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Instrumented {
    async fn put_opts(&self, location: &Path, payload: PutPayload, opts: PutOptions) -> Result<PutResult> {
        self.op("put", location.as_ref())?;
        self.counters.puts.fetch_add(1, Ordering::SeqCst);
        self.counters.bytes.fetch_add(payload.content_length() as u64, Ordering::SeqCst);
        self.pause.hold(location.as_ref()).await;
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(&self, location: &Path, opts: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        self.op("multipart", location.as_ref())?;
        self.counters.multipart.fetch_add(1, Ordering::SeqCst);
        let inner = self.inner.put_multipart_opts(location, opts).await?;
        self.counters.pending_uploads.fetch_add(1, Ordering::SeqCst);
        let (counters, pause) = (Arc::clone(&self.counters), Arc::clone(&self.pause));
        Ok(Box::new(Tracked { inner, counters, pause, path: location.to_string(), ended: false }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.op("get", location.as_ref())?;
        self.counters.reads.lock().unwrap().push(location.to_string());
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        if let Err(e) = self.op("delete", "") {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        self.counters.lists.lock().unwrap().push(prefix.map_or(String::new(), |p| p.to_string()));
        if let Err(e) = self.op("list", prefix.map_or("", |p| p.as_ref())) {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.inner.list(prefix)
    }

    fn list_with_offset(&self, prefix: Option<&Path>, offset: &Path) -> BoxStream<'static, Result<ObjectMeta>> {
        if let Err(e) = self.op("list", prefix.map_or("", |p| p.as_ref())) {
            return futures::stream::once(async move { Err(e) }).boxed();
        }
        self.inner.list_with_offset(prefix, offset)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        self.op("list", prefix.map_or("", |p| p.as_ref()))?;
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        self.op("copy", from.as_ref())?;
        self.inner.copy_opts(from, to, options).await
    }
}

/// A multipart upload that counts itself pending until it completes or aborts; its completion
/// can be held by [`Pause`] (`arm("complete")`).
#[derive(Debug)]
struct Tracked {
    inner: Box<dyn MultipartUpload>,
    counters: Arc<Counters>,
    pause: Arc<Pause>,
    path: String,
    ended: bool,
}

impl Tracked {
    fn end(&mut self) {
        if !self.ended {
            self.ended = true;
            self.counters.pending_uploads.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

#[async_trait]
impl MultipartUpload for Tracked {
    fn put_part(&mut self, data: PutPayload) -> object_store::UploadPart {
        self.counters.bytes.fetch_add(data.content_length() as u64, Ordering::SeqCst);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        self.pause.hold(&format!("complete {}", self.path)).await;
        let result = self.inner.complete().await;
        self.end();
        result
    }

    async fn abort(&mut self) -> Result<()> {
        let result = self.inner.abort().await;
        self.end();
        result
    }
}
