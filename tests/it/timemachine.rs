//! History, restore and purge through the library: no data copy, storage reclaimed when the
//! clock moves, shared files kept while any table needs them, bad input changing nothing.

use std::sync::Arc;
use std::time::Duration;

use chrono::Duration as Days;
use datafusion_timemachine::{ManualClock, TimeMachine, Warehouse};

use crate::storage::snapshot;
use crate::store::Instrumented;
use crate::{rows, run};

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new("2020-02-18T14:17:58Z".parse().unwrap()))
}

async fn open(dir: &std::path::Path, clock: &Arc<ManualClock>) -> TimeMachine {
    let tm = TimeMachine::builder().location(dir.to_str().unwrap()).clock(clock.clone()).build().await.unwrap();
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    tm
}

fn data_files(dir: &std::path::Path) -> usize {
    snapshot(dir).keys().filter(|k| k.ends_with(".parquet")).count()
}

#[tokio::test]
async fn restore_writes_one_small_commit_whatever_the_table_size() {
    let mut cost = vec![];
    for rows_in_table in [10u64, 300_000] {
        let store = Arc::new(Instrumented::new(Arc::new(object_store::memory::InMemory::new())));
        let counters = Arc::clone(&store.counters);
        let tm = TimeMachine::builder().warehouse(Warehouse::with_store(store, "memory://")).build().await.unwrap();
        run(&tm, &["CREATE TABLE t (v BIGINT, s STRING) PARTITIONED BY (ds STRING)"]).await;
        tm.execute(&format!(
            "INSERT INTO t PARTITION (ds='a') SELECT value, 'row ' || value FROM generate_series(1, {rows_in_table})"
        ))
        .await
        .unwrap();
        run(&tm, &["INSERT OVERWRITE TABLE t PARTITION (ds='a') VALUES (0, 'wiped')"]).await;
        let before = counters.snapshot();
        for stmt in [
            "RESTORE TABLE t TO LSN '2'",
            "RESTORE TABLE t TO LSN '2' AS u",
            "RESTORE TABLE t PARTITION (ds='a') TO LSN '2'",
            "RESTORE TABLE t PARTITION (ds='a') TO LSN '2' AS w",
        ] {
            tm.execute(stmt).await.unwrap();
        }
        let after = counters.snapshot();
        // Four statements, four puts (their log entries), no multipart upload of data.
        assert_eq!((after.0 - before.0, after.1 - before.1), (4, 0));
        // Per file of the version restored (an INSERT writes a file per partition of its query).
        let state = tm.project().state();
        let files = state
            .live_table("t")
            .unwrap()
            .state_at(2)
            .unwrap()
            .partitions
            .values()
            .map(|p| p.files.len())
            .sum::<usize>();
        cost.push((after.2 - before.2) / files as u64);
        let expected = rows_in_table * (rows_in_table + 1) / 2;
        for table in ["t", "u", "w"] {
            assert_eq!(rows(&tm, &format!("SELECT sum(v) FROM {table}")).await, vec![expected.to_string()]);
        }
    }
    // Bytes written by the restores do not grow with the data, only with the number of files.
    assert!(cost[1] < cost[0] + 200, "restore cost per file grew with data: {cost:?}");
}

#[tokio::test]
async fn retention_expires_versions_and_purge_reclaims_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(&tm, &["CREATE TABLE t (v BIGINT)"]).await;
    for i in 1..=5 {
        tm.execute(&format!("INSERT OVERWRITE TABLE t VALUES ({i})")).await.unwrap();
    }
    tm.project().wait_background().await;
    assert_eq!(data_files(dir.path()), 5);
    clock.advance(Days::days(2));
    // The next commit starts an automatic purge; wait for it as the CLI does before exiting.
    run(&tm, &["INSERT OVERWRITE TABLE t VALUES (6)"]).await;
    tm.project().wait_background().await;
    // Only LSN 7 is restorable now (LSN 6 stopped being current just now... within the day).
    let lsns: Vec<u64> = tm.project().state().live_table("t").unwrap().entries().iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, vec![6, 7]);
    assert_eq!(data_files(dir.path()), 2);
    // Restoring an expired version fails and says why.
    let err = tm.execute("RESTORE TABLE t TO LSN '3'").await.unwrap_err().to_string();
    assert!(err.contains("has expired") && err.contains("1 day"), "{err}");
    // Retention 0 keeps only the current version.
    run(&tm, &["setproject odps.timemachine.retention.days=0"]).await;
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert_eq!(data_files(dir.path()), 1);
    assert_eq!(rows(&tm, "SELECT v FROM t").await, vec!["6"]);
    // Another process opening the compacted warehouse sees the same.
    let other = open(dir.path(), &clock).await;
    assert_eq!(rows(&other, "SELECT v FROM t").await, vec!["6"]);
}

#[tokio::test]
async fn dropped_tables_expire_and_their_files_go() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(
        &tm,
        &[
            "CREATE TABLE d (v BIGINT) PARTITIONED BY (ds STRING)",
            "INSERT INTO d PARTITION (ds='1') VALUES (1)",
            "INSERT INTO d PARTITION (ds='2') VALUES (2)",
            "CREATE TABLE keep (v BIGINT)",
            "INSERT INTO keep VALUES (7)",
            "DROP TABLE d",
        ],
    )
    .await;
    tm.project().wait_background().await;
    assert_eq!(data_files(dir.path()), 3);
    clock.advance(Days::hours(23));
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert_eq!(data_files(dir.path()), 3, "the drop is younger than a day");
    clock.advance(Days::hours(2));
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert_eq!(data_files(dir.path()), 1);
    assert_eq!(tm.project().state().tables.len(), 1);
    assert_eq!(rows(&tm, "SELECT v FROM keep").await, vec!["7"]);
}

#[tokio::test]
async fn files_shared_by_restore_as_survive_the_purge_of_either_table() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(
        &tm,
        &[
            "CREATE TABLE t (v BIGINT)",
            "INSERT INTO t VALUES (1)",
            "INSERT INTO t VALUES (2)",
            "RESTORE TABLE t TO LSN '3' AS u",
            "INSERT OVERWRITE TABLE t VALUES (9)",
            "DROP TABLE t",
            "PURGE TABLE t",
        ],
    )
    .await;
    tm.project().wait_background().await;
    // t is gone with its own file (the overwrite's); u keeps the two files it shares.
    assert_eq!(data_files(dir.path()), 2);
    assert_eq!(rows(&tm, "SELECT sum(v) FROM u").await, vec!["3"]);
    run(&tm, &["INSERT OVERWRITE TABLE u VALUES (5)", "PURGE TABLE u"]).await;
    assert_eq!(data_files(dir.path()), 1);
}

#[tokio::test]
async fn orphans_from_failed_writes_are_swept_after_the_grace_period() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(&tm, &["CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (1)"]).await;
    // A file that no commit references, as a crash between writing and committing leaves.
    let orphan = dir.path().join("default/data/0123456789abcdef0123456789abcdef/x/orphan.parquet");
    std::fs::create_dir_all(orphan.parent().unwrap()).unwrap();
    std::fs::write(&orphan, b"PAR1").unwrap();
    tm.project().set_grace(Duration::from_secs(3600)).await.unwrap();
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert!(orphan.exists(), "a young orphan may belong to a commit in flight");
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert!(!orphan.exists());
    assert_eq!(rows(&tm, "SELECT v FROM t").await, vec!["1"]);
}

#[tokio::test]
async fn bad_time_machine_input_leaves_the_warehouse_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(
        &tm,
        &[
            "CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)",
            "INSERT INTO t PARTITION (ds='1') VALUES ('x')",
            "CREATE TABLE two (a STRING, b STRING)",
            "CREATE TABLE gone (a STRING)",
            "DROP TABLE gone",
        ],
    )
    .await;
    tm.project().wait_background().await;
    clock.advance(Days::hours(1));
    run(&tm, &["INSERT INTO t PARTITION (ds='2') VALUES ('y')"]).await;
    tm.project().wait_background().await;
    let before = snapshot(dir.path());
    let gone_id = tm.project().state().tables.values().find(|t| t.current.dropped).unwrap().id.clone();
    for bad in [
        "RESTORE TABLE t TO LSN '9'".to_string(),
        "RESTORE TABLE t TO LSN 'x1'".into(),
        "RESTORE TABLE t TO LSN '-1'".into(),
        "RESTORE TABLE t TO LSN '99999999999999999999'".into(),
        "RESTORE TABLE nope TO LSN '1'".into(),
        "RESTORE TABLE t TO LSN '2' AS two".into(),
        "RESTORE TABLE t PARTITION (ds='2') TO LSN '2'".into(),
        "RESTORE TABLE t PARTITION (ds='1') TO LSN '2' AS two".into(),
        "RESTORE TABLE t PARTITION ('id'='abc')".into(),
        "RESTORE TABLE t ('id'='0123456789ABCDEF0123456789ABCDEF')".into(),
        format!("RESTORE TABLE two ('id'='{gone_id}')"),
        format!("RESTORE TABLE gone ('id'='{gone_id}') TO LSN '1'"),
        "SHOW HISTORY FOR TABLE t PARTITION (ds='9')".into(),
        "SHOW HISTORY FOR TABLE nope".into(),
        "SETPROJECT odps.timemachine.retention.days=100".into(),
        "SETPROJECT odps.timemachine.retention.days=abc".into(),
        "PURGE TABLE nope".into(),
        "RESTORE TABLE t".into(),
    ] {
        assert!(tm.execute(&bad).await.is_err(), "{bad} should fail");
        tm.project().wait_background().await;
        assert_eq!(snapshot(dir.path()), before, "{bad} changed the warehouse");
    }
}

#[tokio::test]
async fn a_handle_behind_a_compacted_log_catches_up_from_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let a = open(dir.path(), &clock).await;
    let b = open(dir.path(), &clock).await;
    run(&a, &["CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (1)"]).await;
    assert_eq!(rows(&b, "SELECT v FROM t").await, vec!["1"]);
    run(&a, &["INSERT INTO t VALUES (2)", "INSERT INTO t VALUES (3)"]).await;
    a.project().wait_background().await;
    datafusion_timemachine::purge_project(a.project(), usize::MAX).await.unwrap();
    assert!(!dir.path().join(format!("default/_log/{:020}.json", 3)).exists(), "the log was compacted");
    // b last saw commit 2; the entries after it are gone, the checkpoint covers them.
    assert_eq!(rows(&b, "SELECT sum(v) FROM t").await, vec!["6"]);
    run(&b, &["INSERT INTO t VALUES (4)"]).await;
    assert_eq!(b.project().state().live_table("t").unwrap().current.lsn, 5);
}

#[tokio::test]
async fn lifecycle_reclaims_in_the_automatic_purge_and_the_data_goes_after_retention() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(
        &tm,
        &[
            "CREATE TABLE l (v BIGINT) PARTITIONED BY (ds STRING) LIFECYCLE 3",
            "INSERT INTO l PARTITION (ds='a') VALUES (1)",
            "INSERT INTO l PARTITION (ds='b') VALUES (2)",
        ],
    )
    .await;
    clock.advance(Days::days(2));
    run(&tm, &["INSERT INTO l PARTITION (ds='b') VALUES (3)"]).await;
    tm.project().wait_background().await;
    assert_eq!(rows(&tm, "SELECT count(*) FROM l").await, vec!["3"]);
    // Day 3: ds=a (last changed on day 0) is due; the purge after any statement reclaims it.
    clock.advance(Days::days(1));
    run(&tm, &["CREATE TABLE other (v BIGINT)"]).await;
    tm.project().wait_background().await;
    assert_eq!(rows(&tm, "SELECT v FROM l ORDER BY v").await, vec!["2", "3"]);
    let reclaimed = rows(&tm, "SELECT objectname FROM timemachine_history('l') WHERE operation = 'RECLAIM'").await;
    assert_eq!(reclaimed, vec!["ds=a"]);
    // Another process sees the reclamation (a commit like any other), and its files are kept
    // for the retention period: the partition can still come back.
    let other = open(dir.path(), &clock).await;
    assert_eq!(rows(&other, "SELECT count(*) FROM l").await, vec!["2"]);
    assert_eq!(data_files(dir.path()), 3);
    // Two days later (retention 1 day), the reclaimed partition's version expired and its file goes.
    clock.advance(Days::days(2));
    run(&tm, &["INSERT INTO other VALUES (1)"]).await;
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    // ds=b (changed on day 2) was reclaimed too on day 5; other's one file stays.
    assert_eq!(rows(&tm, "SELECT count(*) FROM l").await, vec!["0"]);
    let state = tm.project().state();
    let referenced: usize = state.tables.values().map(|t| t.referenced_files().len()).sum();
    assert_eq!(data_files(dir.path()), referenced);
    // Four files were written; ds=a's is gone, ds=b's stay restorable for a day.
    assert_eq!(referenced, 3);
}

#[tokio::test]
async fn at_retention_zero_a_write_forgets_the_version_it_supersedes_in_its_own_commit() {
    let clock = clock();
    let tm = TimeMachine::builder().location("memory://").clock(clock.clone()).build().await.unwrap();
    run(
        &tm,
        &["SETPROJECT odps.timemachine.retention.days=0", "CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (0)"],
    )
    .await;
    // The purge after that statement checks this process's clock against the store's.
    tm.project().wait_background().await;
    let before = tm.project().state().version;
    for i in 1..=20 {
        tm.execute(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
        // Before any purge could run: the superseded version is already gone.
        assert_eq!(tm.project().state().live_table("t").unwrap().entries().len(), 1, "after statement {i}");
        tm.project().wait_background().await;
        clock.advance(Days::seconds(1));
    }
    // One log entry per statement: no purge commit of its own.
    assert_eq!(tm.project().state().version, before + 20);
    assert_eq!(rows(&tm, "SELECT count(*), sum(v) FROM t").await, vec!["21|210"]);
    assert_eq!(rows(&tm, "SELECT lsn_number FROM timemachine_history('t')").await.len(), 1);
    let err = tm.execute("RESTORE TABLE t TO LSN '21'").await.unwrap_err().to_string();
    assert!(err.contains("expired"), "{err}");
}

#[tokio::test]
async fn the_automatic_sweep_lists_data_files_at_most_once_per_half_grace_period() {
    let store = Arc::new(Instrumented::new(Arc::new(object_store::memory::InMemory::new())));
    let warehouse = Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(&tm, &["CREATE TABLE t (v BIGINT)"]).await;
    for i in 0..160 {
        tm.execute(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
        tm.project().wait_background().await;
    }
    // Commits 50, 100 and 150 are due for a sweep; within one grace period (an hour) only the
    // first lists data/: an orphan must be an hour old before it goes.
    let data_lists = store.counters.lists.lock().unwrap().iter().filter(|p| p.ends_with("/data")).count();
    assert_eq!(data_lists, 1);
    assert_eq!(rows(&tm, "SELECT count(*) FROM t").await, vec!["160"]);
}

#[tokio::test]
async fn the_purge_after_each_statement_at_retention_zero_stays_bounded() {
    let store = Arc::new(Instrumented::new(Arc::new(object_store::memory::InMemory::new())));
    let clock = clock();
    let warehouse = Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).clock(clock.clone()).build().await.unwrap();
    run(
        &tm,
        &[
            "SETPROJECT odps.timemachine.retention.days=0",
            "SETPROJECT timemachine.purge.grace.seconds=0",
            "CREATE TABLE t (v BIGINT)",
        ],
    )
    .await;
    let lists_before = store.counters.lists.lock().unwrap().len();
    for i in 0..120 {
        tm.execute(&format!("INSERT OVERWRITE TABLE t VALUES ({i})")).await.unwrap();
        tm.project().wait_background().await;
        clock.advance(chrono::Duration::seconds(1));
    }
    // Every statement expired the one before it and its file went, but the data files were
    // listed only by the periodic full purge (every 50 commits), not after each statement.
    let data_lists =
        store.counters.lists.lock().unwrap()[lists_before..].iter().filter(|p| p.ends_with("/data")).count();
    assert!(data_lists <= 6, "data/ listed {data_lists} times for 120 statements");
    let state = tm.project().state();
    assert_eq!(state.live_table("t").unwrap().entries().len(), 1);
    let files: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(store.inner.list(None)).await.unwrap();
    let parquet = files.iter().filter(|m| m.location.as_ref().ends_with(".parquet")).count();
    assert!(parquet <= 2, "{parquet} data files left for 1 retained version");
    assert_eq!(rows(&tm, "SELECT v FROM t").await, vec!["119"]);
}

#[tokio::test]
async fn a_tagged_version_and_its_files_outlive_retention_until_the_tag_goes() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    run(&tm, &["CREATE TABLE t (v BIGINT)", "INSERT OVERWRITE TABLE t VALUES (1)", "ALTER TABLE t CREATE TAG kept"])
        .await;
    run(&tm, &["setproject odps.timemachine.retention.days=0"]).await;
    for i in 2..=4 {
        run(&tm, &[&format!("INSERT OVERWRITE TABLE t VALUES ({i})")]).await;
    }
    clock.advance(Days::days(3));
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    // The tagged version (LSN 2) stays readable, by any process, with its file; the versions
    // after it stay in the log (the history is a chain) but are not restorable.
    assert_eq!(rows(&tm, "SELECT v FROM t VERSION AS OF 'kept'").await, vec!["1"]);
    let other = open(dir.path(), &clock).await;
    assert_eq!(rows(&other, "SELECT v FROM t VERSION AS OF 'kept'").await, vec!["1"]);
    assert!(other.execute("RESTORE TABLE t TO LSN '3'").await.unwrap_err().to_string().contains("has expired"));
    assert_eq!(data_files(dir.path()), 4);
    // Dropped, the tag no longer holds anything: the purge frees all but the current file.
    run(&tm, &["ALTER TABLE t DROP TAG kept"]).await;
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert_eq!(data_files(dir.path()), 1);
    assert_eq!(rows(&tm, "SELECT v FROM t").await, vec!["4"]);
    assert!(tm.execute("SELECT v FROM t VERSION AS OF 'kept'").await.unwrap_err().to_string().contains("no tag kept"));
}

#[tokio::test]
async fn change_files_live_as_long_as_their_version() {
    let dir = tempfile::tempdir().unwrap();
    let clock = clock();
    let tm = open(dir.path(), &clock).await;
    // Copy-on-write (by default the UPDATE would keep the file and write a deletion vector).
    let create = "CREATE TABLE t (k BIGINT, v STRING) TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')";
    run(&tm, &[create, "INSERT INTO t VALUES (1, 'a'), (2, 'b')"]).await;
    run(&tm, &["UPDATE t SET v = 'c' WHERE k = 1"]).await;
    // The appended file, the rewritten one, and the change file of the UPDATE.
    assert_eq!(data_files(dir.path()), 3);
    let changes = "SELECT k, v, _change_type FROM table_changes('t', 3, 3)";
    assert_eq!(rows(&tm, changes).await, vec!["1|a|update_preimage", "1|c|update_postimage"]);
    // Another process reads the feed from the log alone.
    assert_eq!(rows(&open(dir.path(), &clock).await, changes).await.len(), 2);
    run(&tm, &["setproject odps.timemachine.retention.days=0"]).await;
    clock.advance(Days::days(3));
    run(&tm, &["INSERT INTO t VALUES (3, 'd')"]).await;
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    // The UPDATE's version expired: its change file went with the file it replaced.
    assert_eq!(data_files(dir.path()), 2);
    let expired = tm.execute(changes).await.unwrap_err().to_string();
    assert!(expired.contains("has expired"), "{expired}");
    assert_eq!(rows(&tm, "SELECT k, v FROM t").await, vec!["1|c", "2|b", "3|d"]);
}
