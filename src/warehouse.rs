//! Where projects live: an object store (local directory, memory, S3) opened from a URL or path.

use std::fmt;
use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;

use crate::error::{Error, Result};

/// An object-store location holding one or more projects.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> datafusion_timemachine::Result<()> {
/// use datafusion_timemachine::Warehouse;
/// let wh = Warehouse::open("memory://")?;
/// assert_eq!(wh.location(), "memory://");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Warehouse {
    /// The store rooted at the warehouse: the log and the data files are read and written here.
    store: Arc<dyn ObjectStore>,
    /// The URL under which `scan_store` is registered with DataFusion for scans.
    url: ObjectStoreUrl,
    /// The store scans read through (the bucket or file system the warehouse lives in).
    scan_store: Arc<dyn ObjectStore>,
    /// Where the warehouse is inside `scan_store` (`prefix` of s3://bucket/prefix, the
    /// directory of a local warehouse; empty for a store of its own).
    scan_root: String,
    /// True when `url` + `scan_root` mean the same objects in every process that configures
    /// the store the usual way (S3 from `AWS_*`, the local file system of one machine), so a
    /// plan can travel to other processes (Ballista executors).
    shared: bool,
    location: String,
}

impl fmt::Debug for Warehouse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Warehouse").field("location", &self.location).finish()
    }
}

impl Warehouse {
    /// Opens a warehouse: `memory://`, `s3://bucket[/prefix]` (endpoint and credentials from the
    /// usual `AWS_*` environment variables), `file:///dir`, or a local directory path (created if
    /// missing).
    pub fn open(location: &str) -> Result<Self> {
        if location == "memory://" || location == "memory:" {
            return Ok(Self::with_store(Arc::new(InMemory::new()), location));
        }
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::invalid(format!(
                    "warehouse URL {location:?} names no bucket; use s3://bucket/prefix"
                )));
            }
            let s3: Arc<dyn ObjectStore> = Arc::new(AmazonS3Builder::from_env().with_bucket_name(bucket).build()?);
            let url = ObjectStoreUrl::parse(format!("s3://{bucket}"))?;
            return Ok(Self::shared(s3, url, prefix.trim_matches('/'), location));
        }
        if location.contains("://") && !location.starts_with("file://") {
            return Err(Error::invalid(format!(
                "unsupported warehouse URL {location:?}: use a local path, file://, memory:// or s3://"
            )));
        }
        let dir = location.strip_prefix("file://").unwrap_or(location);
        let dir = if dir.is_empty() { "." } else { dir };
        std::fs::create_dir_all(dir)?;
        let dir = std::fs::canonicalize(dir)?;
        let root = dir.to_str().ok_or_else(|| Error::invalid(format!("warehouse path {dir:?} is not UTF-8")))?;
        Ok(Self::shared(Arc::new(LocalFileSystem::new()), ObjectStoreUrl::local_filesystem(), root, location))
    }

    /// A warehouse at `root` inside `store`, which every process reaches under `url`.
    fn shared(store: Arc<dyn ObjectStore>, url: ObjectStoreUrl, root: &str, location: &str) -> Self {
        let root = root.trim_matches('/').to_string();
        let rooted: Arc<dyn ObjectStore> = if root.is_empty() {
            Arc::clone(&store)
        } else {
            Arc::new(PrefixStore::new(Arc::clone(&store), root.as_str()))
        };
        Self { store: rooted, url, scan_store: store, scan_root: root, shared: true, location: location.into() }
    }

    /// A warehouse over any object store (for tests, or stores configured by the caller). It is
    /// registered under a URL of its own, so it cannot be shared with other processes.
    pub fn with_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let url = ObjectStoreUrl::parse(format!("timemachine://{id}")).expect("a uuid host is a valid URL");
        Self {
            scan_store: Arc::clone(&store),
            store,
            url,
            scan_root: String::new(),
            shared: false,
            location: location.into(),
        }
    }

    /// The store that scans read through, to register with DataFusion under
    /// [`Warehouse::object_store_url`].
    pub fn scan_store(&self) -> &Arc<dyn ObjectStore> {
        &self.scan_store
    }

    /// The path that scans use for `path` (relative to the warehouse).
    pub fn scan_path(&self, path: &str) -> String {
        if self.scan_root.is_empty() { path.to_string() } else { format!("{}/{path}", self.scan_root) }
    }

    /// True when plans over this warehouse can run in other processes (see the field).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The object store (rooted at the warehouse).
    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The URL under which the store is registered with DataFusion.
    pub fn object_store_url(&self) -> &ObjectStoreUrl {
        &self.url
    }

    /// The location the warehouse was opened from.
    pub fn location(&self) -> &str {
        &self.location
    }
}
