//! The object stores of shared warehouses, as every process of a cluster resolves them: the
//! bucket of an `s3://bucket` URL from the usual `AWS_*` variables (endpoint, credentials,
//! region), `file://` as the local file system, anything registered explicitly as registered.

use std::sync::Arc;

use datafusion::error::{DataFusionError, Result};
use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use url::Url;

/// DataFusion's registry, plus `s3://bucket` stores made on first use from the environment.
#[derive(Debug, Default)]
pub struct WarehouseStores {
    inner: DefaultObjectStoreRegistry,
}

impl ObjectStoreRegistry for WarehouseStores {
    fn register_store(&self, url: &Url, store: Arc<dyn ObjectStore>) -> Option<Arc<dyn ObjectStore>> {
        self.inner.register_store(url, store)
    }

    fn deregister_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        self.inner.deregister_store(url)
    }

    fn get_store(&self, url: &Url) -> Result<Arc<dyn ObjectStore>> {
        if let Ok(store) = self.inner.get_store(url) {
            return Ok(store);
        }
        match (url.scheme(), url.host_str()) {
            ("s3", Some(bucket)) => {
                let store: Arc<dyn ObjectStore> = Arc::new(
                    AmazonS3Builder::from_env()
                        .with_bucket_name(bucket)
                        .build()
                        .map_err(|e| DataFusionError::ObjectStore(Box::new(e)))?,
                );
                let root = Url::parse(&format!("s3://{bucket}")).map_err(|e| DataFusionError::External(Box::new(e)))?;
                self.inner.register_store(&root, Arc::clone(&store));
                Ok(store)
            }
            _ => self.inner.get_store(url),
        }
    }
}
