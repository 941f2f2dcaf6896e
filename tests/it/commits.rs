//! The commit loop under concurrency: racing sessions never lose or duplicate a version.

use std::collections::BTreeSet;

use datafusion_timemachine::{Error, TimeMachine};

use crate::{rows, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_appends_all_land_with_gapless_lsns() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let first = TimeMachine::open(&location).await.unwrap();
    run(&first, &["CREATE TABLE t (w BIGINT, i BIGINT)"]).await;
    let (writers, appends) = (4, 15);
    let mut tasks = Vec::new();
    for w in 0..writers {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            for i in 0..appends {
                tm.execute(&format!("INSERT INTO t VALUES ({w}, {i})")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let check = TimeMachine::open(&location).await.unwrap();
    assert_eq!(rows(&check, "SELECT count(DISTINCT (w, i)) FROM t").await, vec![(writers * appends).to_string()]);
    let state = check.project().state();
    let lsns: Vec<u64> = state.live_table("t").unwrap().entries.iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, (1..=(writers * appends + 1) as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_of_one_name_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for i in 0..6 {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            tm.execute(&format!("CREATE TABLE same (c{i} STRING)")).await
        }));
    }
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => wins += 1,
            Err(Error::AlreadyExists(msg)) => assert!(msg.contains("table same already exists")),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(wins, 1);
    let tm = TimeMachine::open(&location).await.unwrap();
    assert_eq!(tm.project().state().tables.len(), 1);
}

#[tokio::test]
async fn overwrites_from_the_same_base_conflict() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE p (a STRING) PARTITIONED BY (ds STRING)", "INSERT INTO p PARTITION (ds='1') VALUES ('base')"]).await;
    // Both plans pin the same version of p; the first to commit wins.
    let ctx = tm.context();
    let one = ctx.sql("INSERT OVERWRITE p SELECT 'one', '1'").await.unwrap();
    let two = ctx.sql("INSERT OVERWRITE p SELECT 'two', '1'").await.unwrap();
    let other = ctx.sql("INSERT INTO p SELECT 'other', '2'").await.unwrap();
    one.collect().await.unwrap();
    let err = two.collect().await.unwrap_err().to_string();
    assert!(err.contains("conflict: partition ds=1 of table p was changed by another statement"), "{err}");
    // An append to another partition from the same base rebases and lands.
    other.collect().await.unwrap();
    assert_eq!(rows(&tm, "SELECT a, ds FROM p").await, vec!["one|1", "other|2"]);
    let lsns: BTreeSet<u64> = tm.project().state().live_table("p").unwrap().entries.iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, (1..=4).collect());
}

#[tokio::test]
async fn insert_against_a_concurrent_drop_fails_with_a_conflict() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE p (a STRING)", "INSERT INTO p VALUES ('kept')"]).await;
    let insert = tm.context().sql("INSERT INTO p VALUES ('late')").await.unwrap();
    run(&tm, &["DROP TABLE p"]).await;
    let err = insert.collect().await.unwrap_err().to_string();
    assert!(err.contains("conflict: table p was dropped by another statement"), "{err}");
    // The drop won; the table's last version before it holds what was committed.
    let state = tm.project().state();
    let t = state.tables.values().next().unwrap();
    assert!(t.current.dropped);
    assert_eq!(t.state_at(2).unwrap().row_count(), 1);
}
