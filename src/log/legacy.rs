//! The first checkpoint format, JSON: still read, so that a warehouse written before the
//! compressed format opens.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::state::{ProjectState, TableHistory, TableSnapshot, VersionEntry};

/// The serialized form of a [`ProjectState`] (a checkpoint).
#[derive(Debug, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The last commit included.
    pub version: u64,
    /// Its time.
    pub last_time: Option<DateTime<Utc>>,
    /// Project properties.
    pub properties: BTreeMap<String, String>,
    /// Every retained table.
    pub tables: Vec<CheckpointTable>,
    /// Tables whose metadata could not be read, with the reason.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub corrupt: BTreeMap<String, String>,
    /// Files freed by purges, awaiting deletion after the grace period.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub freed: BTreeMap<String, DateTime<Utc>>,
}

/// One table in a checkpoint.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointTable {
    /// ObjectId.
    pub id: String,
    /// Creation time.
    pub created: DateTime<Utc>,
    /// State before the first retained entry.
    pub base: Option<TableSnapshot>,
    /// Retained versions.
    pub entries: Vec<VersionEntry>,
}

impl From<&ProjectState> for Checkpoint {
    fn from(s: &ProjectState) -> Self {
        Checkpoint {
            version: s.version,
            last_time: s.last_time,
            properties: s.properties.clone(),
            tables: s
                .tables
                .values()
                .map(|t| CheckpointTable {
                    id: t.id.clone(),
                    created: t.created,
                    base: t.base().cloned(),
                    entries: t.entries().iter().map(|e| e.as_ref().clone()).collect(),
                })
                .collect(),
            corrupt: s.corrupt.clone(),
            freed: s.freed.clone(),
        }
    }
}

impl From<Checkpoint> for ProjectState {
    fn from(c: Checkpoint) -> Self {
        ProjectState {
            version: c.version,
            last_time: c.last_time,
            properties: c.properties,
            tables: c
                .tables
                .into_iter()
                .map(|t| (t.id.clone(), TableHistory::from_parts(t.id, t.created, t.base, t.entries)))
                .collect(),
            corrupt: c.corrupt,
            freed: c.freed,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Checkpoint;
    use crate::TimeMachine;

    async fn count(tm: &TimeMachine, sql: &str) -> usize {
        let result = tm.execute(sql).await.unwrap();
        let batch = &result.batches[0];
        let column = batch.column(0).as_any().downcast_ref::<datafusion::arrow::array::Int64Array>();
        column.map_or(result.batches.iter().map(|b| b.num_rows()).sum(), |c| c.value(0) as usize)
    }

    /// A warehouse whose only checkpoint is in this format (every log entry it covers gone)
    /// opens, and the next checkpoint is written in the current format.
    #[tokio::test]
    async fn a_checkpoint_in_the_earlier_json_format_still_opens() {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().to_str().unwrap().to_string();
        let tm = TimeMachine::open(&location).await.unwrap();
        tm.execute("CREATE TABLE t (n BIGINT)").await.unwrap();
        for i in 0..30 {
            tm.execute(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
        }
        tm.project().wait_background().await;
        let state = tm.project().state();
        let version = state.version;
        let legacy = serde_json::to_vec(&Checkpoint::from(&*state)).unwrap();
        let cp = dir.path().join("default/_checkpoints");
        std::fs::create_dir_all(&cp).unwrap();
        for e in std::fs::read_dir(&cp).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        std::fs::write(cp.join(format!("{version:020}.json")), legacy).unwrap();
        for v in 1..=version {
            std::fs::remove_file(dir.path().join(format!("default/_log/{v:020}.json"))).unwrap();
        }
        let reopened = TimeMachine::open(&location).await.unwrap();
        assert_eq!(count(&reopened, "SELECT count(*) FROM t").await, 30);
        assert_eq!(count(&reopened, "SHOW HISTORY FOR TABLE t").await, 31);
        reopened.execute("INSERT INTO t VALUES (1)").await.unwrap();
        crate::purge_project(reopened.project(), usize::MAX).await.unwrap();
        std::fs::remove_file(cp.join(format!("{version:020}.json"))).unwrap();
        assert!(cp.join(format!("{:020}.ckpt", version + 1)).exists());
        let again = TimeMachine::open(&location).await.unwrap();
        assert_eq!(count(&again, "SELECT count(*) FROM t").await, 31);
        assert_eq!(count(&again, "SELECT count(*) FROM t VERSION AS OF 11").await, 10);
    }
}
