//! Expiry is irreversible, so a purge first checks this process's clock against the object
//! store's (the clock every process shares).

use crate::error::Result;
use crate::log::Project;

/// How far this process's clock may run ahead of the object store's before purges refuse to
/// expire anything (expiry is irreversible; a fast clock would expire everyone's versions early).
pub(super) const MAX_CLOCK_AHEAD: chrono::Duration = chrono::Duration::minutes(5);

/// How far this process's clock is ahead of the object store's: the store stamps a small object
/// it is given with its own time (the clock every process shares).
pub(super) async fn clock_ahead_of_store(project: &Project) -> Result<chrono::Duration> {
    use object_store::ObjectStoreExt;
    let path = project.path("_clock");
    project.store().put(&path, object_store::PutPayload::from_static(b"clock")).await?;
    let store_time = project.store().head(&path).await?.last_modified;
    Ok(project.clock().now() - store_time)
}
