//! Expiry is irreversible, so a purge first checks this process's clock against the object
//! store's (the clock every process shares).

use chrono::{DateTime, Utc};
use object_store::{ObjectStoreExt, PutPayload};

use crate::error::Result;
use crate::log::Project;

/// How far this process's clock may run ahead of the object store's before purges refuse to
/// expire anything (expiry is irreversible; a fast clock would expire everyone's versions early).
pub(super) const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

/// The object store's time now: it stamps a small object it is given with its own clock (the
/// clock every process shares, and the one that stamps the files a sweep judges by age).
pub(super) async fn store_now(project: &Project) -> Result<DateTime<Utc>> {
    let path = project.path("_clock");
    project.store().put(&path, PutPayload::from_static(b"clock")).await?;
    Ok(project.store().head(&path).await?.last_modified)
}

/// How far this process's clock is ahead of the object store's.
pub(super) async fn clock_ahead_of_store(project: &Project) -> Result<chrono::Duration> {
    Ok(project.clock().now() - store_now(project).await?)
}
