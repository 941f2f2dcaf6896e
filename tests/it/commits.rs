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
    let lsns: Vec<u64> = state.live_table("t").unwrap().entries().iter().map(|e| e.lsn).collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_create_view_if_not_exists_commits_once() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            tm.execute("CREATE VIEW IF NOT EXISTS v AS SELECT 1 AS one").await
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    // A statement that finds on the latest state that it has nothing to do writes nothing:
    // one log entry, the winner's, however the six raced.
    let tm = TimeMachine::open(&location).await.unwrap();
    assert_eq!(tm.project().state().version, 1);
    let nothing = tm.project().commit_unless_done("noop", None, |_| Ok(None)).await.unwrap();
    assert!(nothing.is_none());
    tm.project().refresh().await.unwrap();
    assert_eq!(tm.project().state().version, 1);
    assert_eq!(rows(&tm, "SELECT one FROM v").await, vec!["1"]);
}

#[tokio::test]
async fn overwrites_from_the_same_base_conflict() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &["CREATE TABLE p (a STRING) PARTITIONED BY (ds STRING)", "INSERT INTO p PARTITION (ds='1') VALUES ('base')"],
    )
    .await;
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
    let lsns: BTreeSet<u64> = tm.project().state().live_table("p").unwrap().entries().iter().map(|e| e.lsn).collect();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_merges_each_land_once_or_fail_with_a_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let first = TimeMachine::open(&location).await.unwrap();
    run(
        &first,
        &[
            "CREATE TABLE c (k BIGINT, n BIGINT) PARTITIONED BY (ds STRING)",
            "INSERT INTO c PARTITION (ds='0') VALUES (0, 0)",
        ],
    )
    .await;
    let mut tasks = Vec::new();
    for w in 0..4 {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            let mut landed = 0;
            for i in 0..8 {
                // Counter increments race on one file; appends to another partition rebase.
                let merge = "MERGE INTO c USING (SELECT 0 AS k) AS s ON c.k = s.k AND c.ds = '0' \
                             WHEN MATCHED THEN UPDATE SET n = c.n + 1";
                match tm.execute(merge).await {
                    Ok(_) => landed += 1,
                    Err(Error::Conflict(msg)) => assert!(msg.contains("changed by another statement"), "{msg}"),
                    Err(e) => panic!("unexpected error {e}"),
                }
                tm.execute(&format!("INSERT INTO c PARTITION (ds='{w}{i}') VALUES (1, 1)")).await.unwrap();
            }
            landed
        }));
    }
    let mut landed = 0;
    for t in tasks {
        landed += t.await.unwrap();
    }
    assert!(landed >= 1);
    let check = TimeMachine::open(&location).await.unwrap();
    assert_eq!(rows(&check, "SELECT n FROM c WHERE ds = '0'").await, vec![landed.to_string()]);
    assert_eq!(rows(&check, "SELECT count(*) FROM c WHERE ds <> '0'").await, vec!["32".to_string()]);
    let state = check.project().state();
    let lsns: Vec<u64> = state.live_table("c").unwrap().entries().iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, (1..=(2 + 32 + landed) as u64).collect::<Vec<_>>());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_reclamation_racing_a_writer_is_one_of_the_serial_orders() {
    for _ in 0..5 {
        let dir = tempfile::tempdir().unwrap();
        let location = dir.path().to_str().unwrap().to_string();
        let writer = TimeMachine::open(&location).await.unwrap();
        run(
            &writer,
            &[
                "CREATE TABLE l (v BIGINT) PARTITIONED BY (ds STRING) LIFECYCLE 1",
                "INSERT INTO l PARTITION (ds='old') VALUES (1)",
            ],
        )
        .await;
        // The reclaimer runs two days later (by its clock): ds=old is due.
        let clock = std::sync::Arc::new(datafusion_timemachine::ManualClock::new(
            chrono::Utc::now() + chrono::Duration::days(2),
        ));
        let reclaimer = TimeMachine::builder().location(location.clone()).clock(clock).build().await.unwrap();
        let insert = tokio::spawn(async move { writer.execute("INSERT INTO l PARTITION (ds='old') VALUES (2)").await });
        let reclaim = tokio::spawn(async move { reclaimer.execute("RECLAIM TABLE l").await });
        insert.await.unwrap().unwrap();
        reclaim.await.unwrap().unwrap();
        let check = TimeMachine::open(&location).await.unwrap();
        let left = rows(&check, "SELECT v FROM l ORDER BY v").await;
        // Reclaim then insert: the insert re-creates ds=old with its row. Insert then reclaim:
        // both rows go with the partition.
        assert!(left == vec!["2".to_string()] || left.is_empty(), "{left:?}");
        let state = check.project().state();
        let lsns: Vec<u64> = state.live_table("l").unwrap().entries().iter().map(|e| e.lsn).collect();
        assert_eq!(lsns, (1..=4).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn merge_smallfiles_racing_appends_and_updates_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let first = TimeMachine::open(&location).await.unwrap();
    run(&first, &["CREATE TABLE c (k BIGINT, n BIGINT)", "INSERT INTO c VALUES (0, 0)"]).await;
    let mut tasks = Vec::new();
    for w in 0..3 {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            let (mut merges, mut updates) = (0, 0);
            for i in 0..6 {
                // Appends rebase over a merge; a merge and an update of the same file: one wins.
                tm.execute(&format!("INSERT INTO c VALUES ({}, 0)", 1 + w * 10 + i)).await.unwrap();
                let (sql, landed) = if w == 0 {
                    ("UPDATE c SET n = n + 1 WHERE k = 0", &mut updates)
                } else {
                    ("ALTER TABLE c MERGE SMALLFILES", &mut merges)
                };
                match tm.execute(sql).await {
                    Ok(_) => *landed += 1,
                    Err(Error::Conflict(msg)) => assert!(msg.contains("changed by another statement"), "{msg}"),
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            (merges, updates)
        }));
    }
    let (mut merges, mut updates) = (0, 0);
    for t in tasks {
        let (m, u) = t.await.unwrap();
        (merges, updates) = (merges + m, updates + u);
    }
    let check = TimeMachine::open(&location).await.unwrap();
    assert_eq!(rows(&check, "SELECT count(*), count(DISTINCT k) FROM c").await, vec!["19|19"]);
    assert_eq!(rows(&check, "SELECT n FROM c WHERE k = 0").await, vec![updates.to_string()]);
    let history = "SELECT count(*) FROM timemachine_history('c') WHERE operation = 'MERGE SMALLFILES'";
    // A merge that found one file left (another had just merged) commits nothing.
    let versions: usize = rows(&check, history).await[0].parse().unwrap();
    assert!((1..=merges).contains(&versions), "{versions} merge versions, {merges} merges");
}
