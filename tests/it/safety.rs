//! Safety, round two: values that would brick a table are refused, and a writer stalled across
//! log compaction never reports a commit that nobody can see; a panic fails its statement, not
//! the session.

use std::sync::Arc;
use std::time::Duration;

use datafusion_timemachine::{TimeMachine, Warehouse};
use object_store::memory::InMemory;

use crate::store::Instrumented;
use crate::{rows, run};

#[tokio::test]
async fn partition_values_that_do_not_parse_as_their_type_are_refused() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE tp (a STRING) PARTITIONED BY (n BIGINT)",
            "CREATE TABLE td (a STRING) PARTITIONED BY (d DATE, x DECIMAL(5,2), b BOOLEAN)",
        ],
    )
    .await;
    let version = tm.project().state().version;
    for (sql, says) in [
        (
            "INSERT OVERWRITE TABLE tp PARTITION (n='abc') VALUES ('y')",
            "partition value \"abc\" of column n is not a valid BIGINT",
        ),
        ("INSERT INTO tp PARTITION (n='1.5') VALUES ('y')", "not a valid BIGINT"),
        ("INSERT INTO td PARTITION (d='2024-13-01', x='1', b='true') VALUES ('y')", "of column d is not a valid DATE"),
        (
            "INSERT INTO td PARTITION (d='2024-01-01', x='abc', b='true') VALUES ('y')",
            "of column x is not a valid DECIMAL(5,2)",
        ),
        (
            "INSERT INTO td PARTITION (d='2024-01-01', x='1', b='maybe') VALUES ('y')",
            "of column b is not a valid BOOLEAN",
        ),
        // Dynamic values: cast from the rows, NULL and empty refused.
        ("INSERT INTO tp PARTITION (n) VALUES ('y', NULL)", "partition column n is NULL"),
        ("INSERT INTO tp PARTITION (n) SELECT 'y', 'abc'", "abc"),
        ("INSERT INTO tp VALUES ('y', NULL)", "NULL"),
    ] {
        let err = tm.execute(sql).await.unwrap_err().to_string();
        assert!(err.contains(says), "{sql}: {err}");
    }
    assert_eq!(tm.project().state().version, version, "a refused statement committed");
    // The tables stay readable, and good values work (canonical form: one value, one partition).
    run(
        &tm,
        &[
            "INSERT INTO tp PARTITION (n='007') VALUES ('a')",
            "INSERT INTO tp PARTITION (n='7') VALUES ('b')",
            "INSERT INTO td PARTITION (d='2024-01-05', x='1.5', b='true') VALUES ('c')",
        ],
    )
    .await;
    assert_eq!(rows(&tm, "SELECT n, count(*) FROM tp GROUP BY n").await, vec!["7|2"]);
    assert_eq!(rows(&tm, "SELECT d, x, b FROM td").await, vec!["2024-01-05|1.50|true"]);
    assert_eq!(rows(&tm, "LIST PARTITIONS tp").await, vec!["n=7"]);
}

#[tokio::test]
async fn a_writer_stalled_across_log_compaction_never_reports_an_invisible_commit() {
    let store = Arc::new(Instrumented::new(Arc::new(InMemory::new())));
    let pause = Arc::clone(&store.pause);
    let warehouse = Warehouse::with_store(Arc::clone(&store) as _, "paused");
    let a = TimeMachine::builder().warehouse(warehouse.clone()).build().await.unwrap();
    let b = TimeMachine::builder().warehouse(warehouse.clone()).build().await.unwrap();
    for tm in [&a, &b] {
        tm.project().set_grace(Duration::ZERO).await.unwrap();
    }
    run(&a, &["CREATE TABLE t (w STRING)"]).await;
    // A stalls inside its commit, just before the put of its log entry.
    pause.arm("_log/");
    let stalled = {
        let a = a.clone();
        tokio::spawn(async move { a.execute("INSERT INTO t VALUES ('from a')").await })
    };
    pause.reached().await;
    // Meanwhile B commits past A's slot, checkpoints and compacts the log (grace zero).
    for i in 0..5 {
        run(&b, &[&format!("INSERT INTO t VALUES ('from b {i}')")]).await;
    }
    // Twice: the second sweep finds the first one's checkpoint settled and empties A's slot.
    datafusion_timemachine::purge_project(b.project(), usize::MAX).await.unwrap();
    datafusion_timemachine::purge_project(b.project(), usize::MAX).await.unwrap();
    let slot = object_store::path::Path::from("default/_log/00000000000000000004.json");
    assert!(object_store::ObjectStoreExt::head(store.as_ref(), &slot).await.is_err(), "A's slot was compacted away");
    pause.release();
    let outcome = stalled.await.unwrap();
    // A fresh reader is the judge: "OK" must mean visible.
    let fresh = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    let seen = rows(&fresh, "SELECT count(*) FROM t WHERE w = 'from a'").await;
    match outcome {
        Ok(_) => assert_eq!(seen, vec!["1"], "A reported OK but its commit is invisible"),
        Err(e) => {
            assert!(e.to_string().contains("conflict"), "{e}");
            assert_eq!(seen, vec!["0"]);
        }
    }
    assert_eq!(
        rows(&fresh, "SELECT count(*) FROM t").await,
        vec![format!("{}", 5 + seen[0].parse::<usize>().unwrap())]
    );
    // LSNs stay gapless: CREATE, five appends of B, and A's append if it landed.
    let lsns = rows(&fresh, "SELECT lsn_number FROM timemachine_history('t') ORDER BY lsn_number").await;
    let expected: Vec<String> = (1..=6 + seen[0].parse::<usize>().unwrap()).map(|n| n.to_string()).collect();
    let mut lsns_sorted = lsns.clone();
    lsns_sorted.sort_by_key(|s| s.parse::<u64>().unwrap());
    assert_eq!(lsns_sorted, expected);
}

fn data_files(dir: &std::path::Path) -> usize {
    fn walk(p: &std::path::Path, n: &mut usize) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(&path, n);
            } else if path.extension().is_some_and(|x| x == "parquet") {
                *n += 1;
            }
        }
    }
    let mut n = 0;
    walk(&dir.join("default/data"), &mut n);
    n
}

#[tokio::test]
async fn a_query_planned_before_a_purge_reads_its_version_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    run(
        &tm,
        &[
            "SETPROJECT odps.timemachine.retention.days=0",
            "CREATE TABLE t (a STRING)",
            "INSERT OVERWRITE TABLE t VALUES ('old')",
        ],
    )
    .await;
    // Planned now, read later: the slow reader.
    let current = tm.sql("SELECT a FROM t").await.unwrap();
    let travelled = tm.sql("SELECT a FROM t VERSION AS OF 2").await.unwrap();
    run(&tm, &["INSERT OVERWRITE TABLE t VALUES ('new')"]).await;
    // Retention 0: LSN 2 expires at once; both purges forget it.
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    run(&tm, &["PURGE TABLE t"]).await;
    assert!(tm.execute("SELECT a FROM t VERSION AS OF 2").await.unwrap_err().to_string().contains("expired"));
    for df in [current, travelled] {
        let batches = df.collect().await.expect("the files of a version read within the grace period stay");
        assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    }
    assert_eq!(data_files(dir.path()), 2, "freed, not yet deleted");
    // Once the grace period is over, the next purge deletes them.
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    assert_eq!(data_files(dir.path()), 1);
    assert_eq!(rows(&tm, "SELECT a FROM t").await, vec!["new"]);
}

#[tokio::test]
async fn the_grace_period_is_a_project_property_every_process_reads() {
    let warehouse = Warehouse::open("memory://").unwrap();
    let a = TimeMachine::builder().warehouse(warehouse.clone()).build().await.unwrap();
    let b = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    assert_eq!(
        rows(&a, "SETPROJECT").await,
        vec!["odps.timemachine.retention.days|1", "timemachine.purge.grace.seconds|3600"]
    );
    run(&a, &["SETPROJECT timemachine.purge.grace.seconds=60"]).await;
    b.project().refresh().await.unwrap();
    assert_eq!(b.project().grace(), Duration::from_secs(60));
    assert!(rows(&b, "SETPROJECT").await.contains(&"timemachine.purge.grace.seconds|60".to_string()));
    let err = a.execute("SETPROJECT timemachine.purge.grace.seconds=-5").await.unwrap_err().to_string();
    assert!(err.contains("must be an integer from 0 to 604800"), "{err}");
}

#[tokio::test]
async fn every_table_of_one_statement_comes_from_one_log_version() {
    let warehouse = Warehouse::open("memory://").unwrap();
    let a = TimeMachine::builder().warehouse(warehouse.clone()).build().await.unwrap();
    let b = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(
        &a,
        &[
            "CREATE TABLE x (v BIGINT)",
            "CREATE TABLE y (v BIGINT)",
            "INSERT INTO x VALUES (1)",
            "INSERT INTO y VALUES (1)",
        ],
    )
    .await;
    run(&a, &["CREATE VIEW vy AS SELECT count(*) AS c FROM y"]).await;
    let state = a.snapshot_state().await.unwrap();
    // Another process commits after the statement took its snapshot.
    run(&b, &["INSERT INTO y VALUES (2)"]).await;
    a.project().refresh().await.unwrap();
    // Every way of reading y in the snapshot's state reads it as of the snapshot: the table, a
    // view over it, its history, get_latest_version and a version clause.
    let query = "SELECT (SELECT count(*) FROM x) AS x, (SELECT count(*) FROM y) AS y, (SELECT c FROM vy) AS vy, \
                 (SELECT count(*) FROM timemachine_history('y')) AS versions, get_latest_version('y') AS latest";
    let seen = a.context().execute_logical_plan(state.create_logical_plan(query).await.unwrap()).await.unwrap();
    let seen =
        datafusion::arrow::util::pretty::pretty_format_batches(&seen.collect().await.unwrap()).unwrap().to_string();
    assert!(seen.contains("| 1 | 1 | 1  | 2        | 2      |"), "{seen}");
    let err = state.create_logical_plan("SELECT * FROM y VERSION AS OF 3").await.unwrap_err().to_string();
    assert!(err.contains('3'), "{err}");
    // The next statement takes a new snapshot, and plain DataFusion reads the latest version.
    assert_eq!(rows(&a, query).await, vec!["1|2|2|3|3"]);
    let plain = a.context().sql("SELECT count(*) AS n FROM y").await.unwrap().collect().await.unwrap();
    let plain = datafusion::arrow::util::pretty::pretty_format_batches(&plain).unwrap().to_string();
    assert!(plain.contains("| 2 |"), "{plain}");
}

#[tokio::test]
async fn a_process_whose_clock_runs_days_ahead_expires_nothing() {
    let warehouse = Warehouse::open("memory://").unwrap();
    let normal = TimeMachine::builder().warehouse(warehouse.clone()).build().await.unwrap();
    run(
        &normal,
        &[
            "CREATE TABLE t (a STRING)",
            "INSERT OVERWRITE TABLE t VALUES ('1')",
            "INSERT OVERWRITE TABLE t VALUES ('2')",
        ],
    )
    .await;
    let fast_clock = Arc::new(datafusion_timemachine::ManualClock::new(chrono::Utc::now() + chrono::Duration::days(2)));
    let fast = TimeMachine::builder().warehouse(warehouse).clock(fast_clock).build().await.unwrap();
    let err = datafusion_timemachine::purge_project(fast.project(), usize::MAX).await.unwrap_err().to_string();
    assert!(err.contains("ahead of the object store's") && err.contains("NTP"), "{err}");
    // Its statements' automatic purges refuse too, and say so where an operator looks.
    run(&fast, &["INSERT INTO t VALUES ('3')"]).await;
    fast.project().wait_background().await;
    // The versions the fast process would have expired are still there for everyone.
    assert_eq!(rows(&normal, "SELECT a FROM t VERSION AS OF 2").await, vec!["1"]);
    let purges = rows(&fast, "SELECT what, ok FROM timemachine_purges()").await;
    assert!(!purges.is_empty() && purges.iter().all(|r| r.ends_with("|false")), "{purges:?}");
}

#[tokio::test]
async fn a_dynamic_insert_into_many_more_partitions_than_open_files_writes_every_row() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE p (v BIGINT) PARTITIONED BY (k STRING)",
            // 300 partitions, rows interleaved across them batch after batch.
            "INSERT INTO p PARTITION (k) SELECT value, CAST(value % 300 AS STRING) FROM generate_series(1, 30000)",
        ],
    )
    .await;
    assert_eq!(rows(&tm, "SELECT count(*), count(DISTINCT k), sum(v) FROM p").await, vec!["30000|300|450015000"]);
    assert_eq!(rows(&tm, "SELECT count(*) FROM p WHERE k = '7'").await, vec!["100"]);
    let state = tm.project().state();
    let table = state.live_table("p").unwrap();
    assert_eq!(table.current.partitions.len(), 300);
    // Rows of a partition without an open file wait in memory and go out together: few files.
    let files: usize = table.current.partitions.values().map(|p| p.files.len()).sum();
    assert!(files <= 2 * 300, "{files} files for 300 partitions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_cancelled_while_completing_an_upload_leaves_no_upload_pending() {
    let store = Arc::new(Instrumented::new(Arc::new(InMemory::new())));
    let warehouse = Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(&tm, &["CREATE TABLE big (v BIGINT, h STRING)"]).await;
    // Files of 1M rows of hashes (~30 MB): each one a multipart upload. The first completion
    // is held, and the statement is cancelled right then (what Ctrl-C does).
    store.pause.arm("complete");
    let insert = {
        let tm = tm.clone();
        tokio::spawn(async move {
            tm.execute("INSERT INTO big SELECT value, md5(CAST(value AS STRING)) FROM generate_series(1, 3000000)")
                .await
        })
    };
    store.pause.reached().await;
    insert.abort();
    assert!(insert.await.unwrap_err().is_cancelled());
    store.pause.release();
    // The aborts run in the background.
    for _ in 0..100 {
        if store.counters.pending_uploads.load(std::sync::atomic::Ordering::SeqCst) == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(store.counters.multipart.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    assert_eq!(store.counters.pending_uploads.load(std::sync::atomic::Ordering::SeqCst), 0);
    // Nothing was committed.
    assert_eq!(rows(&tm, "SELECT count(*) FROM big").await, vec!["0"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_writers_of_one_insert_fail_together_and_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::builder()
        .location(dir.path().to_str().unwrap())
        .session_context(datafusion::prelude::SessionContext::new_with_config(
            datafusion::prelude::SessionConfig::new().with_target_partitions(4),
        ))
        .build()
        .await
        .unwrap();
    run(&tm, &["CREATE TABLE p (v BIGINT)"]).await;
    // Four writers in parallel, each writing files; all rows land exactly once.
    tm.execute("INSERT INTO p SELECT value FROM generate_series(1, 400000) WHERE value % 7 <> 0").await.unwrap();
    assert_eq!(rows(&tm, "SELECT count(*), count(DISTINCT v) FROM p").await, vec!["342858|342858"]);
    let files = data_files(dir.path());
    assert!(files >= 2, "{files} files: the insert was not written in parallel");
    // One writer's rows fail midway: the statement fails, the others stop, and every file of
    // the statement goes.
    let err = tm
        .execute("INSERT INTO p SELECT CAST(CASE WHEN value = 390001 THEN 'x' ELSE CAST(value AS STRING) END AS BIGINT) FROM generate_series(1, 400000)")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("Cannot cast"), "{err}");
    for _ in 0..100 {
        if data_files(dir.path()) == files {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(data_files(dir.path()), files);
    assert_eq!(rows(&tm, "SELECT count(*) FROM p").await, vec!["342858"]);
}

#[tokio::test]
async fn a_panic_in_a_statement_fails_that_statement_and_the_session_goes_on() {
    use datafusion::arrow::datatypes::DataType;
    use datafusion::logical_expr::{ColumnarValue, Volatility, create_udf};
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (1), (2)"]).await;
    // A user function with a bug: it panics on every call.
    let boom = create_udf(
        "boom",
        vec![DataType::Int64],
        DataType::Int64,
        Volatility::Volatile,
        Arc::new(|_: &[ColumnarValue]| -> datafusion::error::Result<ColumnarValue> { panic!("boom went off") }),
    );
    tm.context().register_udf(boom);
    for sql in ["SELECT boom(v) FROM t", "INSERT INTO t SELECT boom(v) FROM t", "UPDATE t SET v = boom(v)"] {
        let e = tm.execute(sql).await.expect_err(sql).to_string();
        assert!(e.contains("boom went off"), "{sql}: {e}");
    }
    // Nothing was written, and the session (its project handle) still works.
    assert_eq!(rows(&tm, "SELECT v FROM t").await, vec!["1", "2"]);
    let versions = rows(&tm, "SELECT count(*) FROM timemachine_history('t')").await;
    assert_eq!(versions, vec!["2"]);
    run(&tm, &["INSERT INTO t VALUES (3)"]).await;
    assert_eq!(rows(&tm, "SELECT count(*) FROM t").await, vec!["3"]);
}
