//! Checkpoints and compaction: the state written every [`CHECKPOINT_INTERVAL`] commits, and the
//! checkpoints a newer settled one supersedes deleted.

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};

use super::checkpoint;
use super::project::{Project, checkpoint_path, parse_number};
use crate::error::{Error, Result};

/// A checkpoint is written after every commit whose number is a multiple of this.
pub const CHECKPOINT_INTERVAL: u64 = 50;

impl Project {
    /// Writes the checkpoint of `version` in the background, so that the commit that reached it
    /// does not wait (best effort: a missing checkpoint only makes the next open replay more).
    pub(super) fn spawn_checkpoint(&self, version: u64) {
        let state = self.state();
        if state.version != version {
            return;
        }
        let store = Arc::clone(self.store());
        let path = checkpoint_path(&self.checkpoint_dir(), version);
        let dir = self.checkpoint_dir();
        let grace = self.grace();
        self.add_background(tokio::spawn(async move {
            // Encoding may decode and compress every retained version: off the async threads.
            let Ok(Ok(bytes)) = tokio::task::spawn_blocking(move || checkpoint::encode(&state)).await else { return };
            let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
            if store.put_opts(&path, PutPayload::from(bytes), opts).await.is_err() {
                return;
            }
            let _ = delete_superseded_checkpoints(store.as_ref(), &dir, grace).await;
        }));
    }

    pub(crate) async fn write_checkpoint(&self, version: u64) -> Result<()> {
        let state = self.state();
        if state.version != version {
            return Ok(());
        }
        let bytes = tokio::task::spawn_blocking(move || checkpoint::encode(&state))
            .await
            .map_err(|e| Error::invalid(format!("cannot write checkpoint {version}: {e}")))?
            .map_err(|e| Error::invalid(format!("cannot serialize checkpoint {version}: {e}")))?;
        let path = checkpoint_path(&self.checkpoint_dir(), version);
        let opts = PutOptions { mode: PutMode::Create, ..Default::default() };
        match self.store().put_opts(&path, PutPayload::from(bytes), opts).await {
            Ok(_) | Err(object_store::Error::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The checkpoints worth keeping: the newest two (in case the newest is ever damaged), the
/// newest one that has existed for the grace period (log entries before it may go: no process
/// can still be reading them), and the oldest younger one (the next to settle, so that the
/// settled checkpoint advances under continuous writes). Returns the others.
pub(crate) fn superseded_checkpoints(metas: &[ObjectMeta], settled_before: chrono::DateTime<chrono::Utc>) -> Vec<Path> {
    let mut numbered: Vec<(u64, &ObjectMeta)> =
        metas.iter().filter_map(|m| parse_number(&m.location).map(|v| (v, m))).collect();
    numbered.sort_by_key(|(v, _)| *v);
    let mut keep: Vec<u64> = numbered.iter().rev().take(2).map(|(v, _)| *v).collect();
    keep.extend(numbered.iter().rev().find(|(_, m)| m.last_modified <= settled_before).map(|(v, _)| *v));
    keep.extend(numbered.iter().find(|(_, m)| m.last_modified > settled_before).map(|(v, _)| *v));
    numbered.into_iter().filter(|(v, _)| !keep.contains(v)).map(|(_, m)| m.location.clone()).collect()
}

async fn delete_superseded_checkpoints(store: &dyn ObjectStore, dir: &Path, grace: Duration) -> Result<usize> {
    let metas: Vec<ObjectMeta> = store.list(Some(dir)).try_collect().await?;
    let settled_before = chrono::Utc::now() - chrono::Duration::from_std(grace).unwrap_or_default();
    let mut deleted = 0;
    for path in superseded_checkpoints(&metas, settled_before) {
        store.delete(&path).await?;
        deleted += 1;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::project::numbered;

    fn meta(v: u64, minutes_ago: i64) -> ObjectMeta {
        ObjectMeta {
            location: numbered(&Path::from("p/_checkpoints"), v),
            last_modified: chrono::Utc::now() - chrono::Duration::minutes(minutes_ago),
            size: 1,
            e_tag: None,
            version: None,
        }
    }

    #[test]
    fn checkpoints_kept_newest_two_settled_and_next_to_settle() {
        // Grace of an hour: 50 and 100 settled, 150..300 younger.
        let metas: Vec<_> = [(50, 200), (100, 90), (150, 50), (200, 30), (250, 10), (300, 1)]
            .into_iter()
            .map(|(v, ago)| meta(v, ago))
            .collect();
        let settled_before = chrono::Utc::now() - chrono::Duration::hours(1);
        let gone: Vec<u64> = superseded_checkpoints(&metas, settled_before).iter().filter_map(parse_number).collect();
        // Kept: 300 and 250 (newest), 100 (newest settled), 150 (next to settle).
        assert_eq!(gone, vec![50, 200]);
    }
}
