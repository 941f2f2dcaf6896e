//! Crash safety: a statement whose process dies at its k-th storage operation, for every k,
//! leaves every table at its last committed version, with no partial version in history; the
//! next commit takes the next LSN and a purge removes what the dead statement left behind.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use datafusion_timemachine::{TimeMachine, Warehouse};
use futures::TryStreamExt;
use object_store::ObjectStore;
use object_store::memory::InMemory;

use crate::store::Instrumented;
use crate::{rows, run};

const SETUP: &[&str] = &[
    "CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)",
    "INSERT INTO t PARTITION (ds='1') VALUES ('one')",
    "INSERT INTO t PARTITION (ds='2') VALUES ('two')",
    "INSERT OVERWRITE TABLE t PARTITION (ds='1') VALUES ('ONE')",
    "ALTER TABLE t DROP PARTITION (ds='2')",
    "CREATE TABLE r (v BIGINT)",
    "INSERT INTO r VALUES (1), (2)",
    "CREATE TABLE d (v BIGINT)",
    "INSERT INTO d VALUES (3)",
    "DROP TABLE d",
    "CREATE TABLE l (v BIGINT) PARTITIONED BY (ds STRING) LIFECYCLE 1",
    "INSERT INTO l PARTITION (ds='old') VALUES (1)",
    "CREATE TABLE src (v BIGINT, a STRING)",
    "INSERT INTO src VALUES (1, 'x'), (5, 'y')",
    "CREATE TABLE m (v BIGINT) PARTITIONED BY (ds STRING)",
    "INSERT INTO m PARTITION (ds='1') VALUES (1)",
    "INSERT INTO m PARTITION (ds='1') VALUES (2)",
    "CREATE TABLE v (k BIGINT) TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')",
    "INSERT INTO v VALUES (1), (2), (3), (4), (5)",
];

async fn open(store: Arc<dyn ObjectStore>) -> TimeMachine {
    open_at(store, chrono::Duration::zero()).await
}

/// A process whose clock is `ahead` of the real one (for LIFECYCLE reclamation).
async fn open_at(store: Arc<dyn ObjectStore>, ahead: chrono::Duration) -> TimeMachine {
    let clock = Arc::new(datafusion_timemachine::ManualClock::new(chrono::Utc::now() + ahead));
    let warehouse = Warehouse::with_store(store, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).clock(clock).build().await.unwrap();
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    tm
}

/// Every table (live or dropped) as `lsn dropped rows…`, by name.
async fn describe(tm: &TimeMachine) -> BTreeMap<String, String> {
    let tables: Vec<(String, String, u64, bool)> = tm
        .project()
        .state()
        .tables
        .values()
        .map(|t| (t.id.clone(), t.current.name.clone(), t.current.lsn, t.current.dropped))
        .collect();
    let mut out = BTreeMap::new();
    for (id, name, lsn, dropped) in tables {
        let content = if dropped { vec![] } else { rows(tm, &format!("SELECT * FROM {name}")).await };
        // History must be gapless: entries 1..=lsn with no partial version.
        let lsns: Vec<u64> = tm.project().state().tables[&id].entries().iter().map(|e| e.lsn).collect();
        assert_eq!(lsns, (1..=lsn).collect::<Vec<_>>(), "history of {name}");
        // Keyed by name: ids differ from one fresh warehouse to the next.
        // Tags by name and version (their creation time differs from one run to the next).
        let now = tm.project().clock().now();
        let tags: Vec<String> =
            tm.project().state().tags(&id, now).iter().map(|t| format!("{}={}", t.name, t.lsn)).collect();
        out.insert(name.clone(), format!("{lsn} {dropped} {content:?} {tags:?}"));
    }
    out
}

async fn parquet_files(store: &dyn ObjectStore) -> HashSet<String> {
    let all: Vec<_> = store.list(None).try_collect().await.unwrap();
    all.into_iter().map(|m| m.location.to_string()).filter(|p| p.ends_with(".parquet")).collect()
}

/// A statement on the setup state, with ids filled in from it.
fn statement(template: &str, tm: &TimeMachine) -> String {
    let state = tm.project().state();
    let dropped_table = state.tables.values().find(|t| t.current.dropped).unwrap().id.clone();
    let t = state.live_table("t").unwrap();
    let dropped_partition = t
        .entries()
        .iter()
        .flat_map(|e| &e.history)
        .find(|h| h.operation.to_string() == "DROP")
        .unwrap()
        .object_id
        .clone();
    template.replace("{table_id}", &dropped_table).replace("{partition_id}", &dropped_partition)
}

async fn crash_at_every_step(template: &str) -> usize {
    crash_at_every_step_at(template, chrono::Duration::zero()).await
}

/// Like [`crash_at_every_step`], the statement's process running with its clock `ahead`.
async fn crash_at_every_step_at(template: &str, ahead: chrono::Duration) -> usize {
    // A clean run gives the state after, and the number of operations the statement makes.
    let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    run(&open(Arc::clone(&inner)).await, SETUP).await;
    let store = Arc::new(Instrumented::new(Arc::clone(&inner)));
    let tm = open_at(Arc::clone(&store) as _, ahead).await;
    let before = describe(&tm).await;
    let sql = statement(template, &tm);
    let start = store.counters.ops.load(Ordering::SeqCst);
    tm.execute(&sql).await.unwrap();
    let ops = store.counters.ops.load(Ordering::SeqCst) - start;
    let after = describe(&open(Arc::clone(&inner)).await).await;
    assert_ne!(before, after, "{sql} changed nothing");

    for k in 1..=ops {
        let inner: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        run(&open(Arc::clone(&inner)).await, SETUP).await;
        let store = Arc::new(Instrumented::new(Arc::clone(&inner)));
        let tm = open_at(Arc::clone(&store) as _, ahead).await;
        let now = store.counters.ops.load(Ordering::SeqCst);
        store.faults.fail_from.store(now + k, Ordering::SeqCst);
        let result = tm.execute(&sql).await;
        drop(tm); // the process is dead: nothing more of it reaches storage

        let reopened = open(Arc::clone(&inner)).await;
        let state = describe(&reopened).await;
        assert!(state == before || state == after, "{sql} failing at operation {k}/{ops} ({result:?}) left {state:#?}");
        if result.is_ok() {
            assert_eq!(state, after, "{sql} reported success at {k}/{ops} but did not commit");
        }
        // The next commit takes the next LSN.
        let lsn = reopened.project().state().live_table("t").unwrap().current.lsn;
        run(&reopened, &["INSERT INTO t PARTITION (ds='9') VALUES ('next')"]).await;
        assert_eq!(reopened.project().state().live_table("t").unwrap().current.lsn, lsn + 1);
        // A purge removes files the dead statement left; referenced files stay.
        datafusion_timemachine::purge_project(reopened.project(), usize::MAX).await.unwrap();
        let referenced: HashSet<String> = reopened
            .project()
            .state()
            .tables
            .values()
            .flat_map(|t| t.referenced_files())
            .map(|p| format!("default/{p}"))
            .collect();
        assert_eq!(parquet_files(inner.as_ref()).await, referenced, "{sql} at {k}/{ops}");
    }
    ops as usize
}

#[tokio::test]
async fn insert_overwrite() {
    assert!(crash_at_every_step("INSERT OVERWRITE TABLE t PARTITION (ds='1') VALUES ('new'), ('rows')").await > 3);
}

#[tokio::test]
async fn partition_restore_to_lsn() {
    assert!(crash_at_every_step("RESTORE TABLE t PARTITION (ds='1') TO LSN '2'").await > 1);
}

#[tokio::test]
async fn partition_undrop() {
    assert!(crash_at_every_step("RESTORE TABLE t PARTITION ('id'='{partition_id}')").await > 1);
}

#[tokio::test]
async fn drop_table() {
    assert!(crash_at_every_step("DROP TABLE r").await > 1);
}

#[tokio::test]
async fn rename() {
    assert!(crash_at_every_step("ALTER TABLE r RENAME TO r2").await > 1);
}

#[tokio::test]
async fn undrop() {
    assert!(crash_at_every_step("RESTORE TABLE d ('id'='{table_id}')").await > 1);
}

#[tokio::test]
async fn restore_as_new_table() {
    assert!(crash_at_every_step("RESTORE TABLE t TO LSN '3' AS t3").await > 1);
}

#[tokio::test]
async fn clone_table() {
    assert!(crash_at_every_step("CLONE TABLE t TO t4").await > 1);
    assert!(crash_at_every_step("CLONE TABLE r TO r5").await > 1);
}

#[tokio::test]
async fn tags() {
    assert!(crash_at_every_step("ALTER TABLE r CREATE TAG kept AS OF VERSION 1").await >= 1);
}

#[tokio::test]
async fn merge_small_files() {
    assert!(crash_at_every_step("ALTER TABLE m MERGE SMALLFILES").await > 1);
}

#[tokio::test]
async fn merge() {
    let sql = "MERGE INTO r USING src ON r.v = src.v WHEN MATCHED THEN UPDATE SET v = r.v * 10 \
               WHEN NOT MATCHED THEN INSERT VALUES (src.v)";
    assert!(crash_at_every_step(sql).await > 3);
}

#[tokio::test]
async fn deletion_vectors() {
    assert!(crash_at_every_step("DELETE FROM v WHERE k = 2").await >= 1);
    assert!(crash_at_every_step("UPDATE v SET k = 30 WHERE k = 3").await > 1);
    let sql = "MERGE INTO v USING src ON v.k = src.v WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT VALUES (src.v + 100)";
    assert!(crash_at_every_step(sql).await > 1);
}

#[tokio::test]
async fn delete_and_update() {
    assert!(crash_at_every_step("DELETE FROM t WHERE a = 'ONE'").await > 1);
    assert!(crash_at_every_step("UPDATE r SET v = v + 1 WHERE v = 2").await > 1);
}

#[tokio::test]
async fn add_columns() {
    assert!(crash_at_every_step("ALTER TABLE r ADD COLUMNS (b BIGINT)").await > 1);
}

#[tokio::test]
async fn lifecycle_reclamation() {
    assert!(crash_at_every_step_at("RECLAIM TABLE l", chrono::Duration::days(2)).await > 1);
}
