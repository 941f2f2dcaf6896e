//! Where projects live: an object store (local directory, memory, S3) opened from a URL or path.

use std::fmt;
use std::sync::Arc;

use datafusion::execution::object_store::ObjectStoreUrl;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::prefix::PrefixStore;
use object_store::ObjectStore;

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
    store: Arc<dyn ObjectStore>,
    url: ObjectStoreUrl,
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
        let store: Arc<dyn ObjectStore> = if location == "memory://" || location == "memory:" {
            Arc::new(InMemory::new())
        } else if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(Error::invalid(format!(
                    "warehouse URL {location:?} names no bucket; use s3://bucket/prefix"
                )));
            }
            let s3 = AmazonS3Builder::from_env().with_bucket_name(bucket).build()?;
            let prefix = prefix.trim_matches('/');
            if prefix.is_empty() {
                Arc::new(s3)
            } else {
                Arc::new(PrefixStore::new(s3, prefix))
            }
        } else if location.contains("://") && !location.starts_with("file://") {
            return Err(Error::invalid(format!(
                "unsupported warehouse URL {location:?}: use a local path, file://, memory:// or s3://"
            )));
        } else {
            let dir = location.strip_prefix("file://").unwrap_or(location);
            let dir = if dir.is_empty() { "." } else { dir };
            std::fs::create_dir_all(dir)?;
            let dir = std::fs::canonicalize(dir)?;
            Arc::new(LocalFileSystem::new_with_prefix(dir)?)
        };
        Ok(Self::with_store(store, location))
    }

    /// A warehouse over any object store (for tests, or stores configured by the caller).
    pub fn with_store(store: Arc<dyn ObjectStore>, location: impl Into<String>) -> Self {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let url = ObjectStoreUrl::parse(format!("timemachine://{id}"))
            .expect("a uuid host is a valid URL");
        Self { store, url, location: location.into() }
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
