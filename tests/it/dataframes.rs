//! The time machine inside DataFusion: lazy DataFrames, EXPLAIN of every statement, plain
//! `ctx.sql` on an attached context (time travel included), DataFusion's own CREATE TABLE.

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion::prelude::SessionContext;
use datafusion_timemachine::{ResultKind, TimeMachine};

use crate::run;

async fn text(df: datafusion::dataframe::DataFrame) -> String {
    pretty_format_batches(&df.collect().await.unwrap()).unwrap().to_string()
}

async fn setup() -> TimeMachine {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE t (a STRING, n BIGINT) PARTITIONED BY (ds STRING)",
            "INSERT INTO t PARTITION (ds='1') VALUES ('x', 1)",
            "INSERT INTO t PARTITION (ds='2') VALUES ('y', 2)",
        ],
    )
    .await;
    tm
}

#[tokio::test]
async fn queries_are_lazy_and_pinned_to_the_version_they_planned_against() {
    let tm = setup().await;
    let before = tm.sql("SELECT count(*) AS c FROM t").await.unwrap();
    tm.sql("INSERT INTO t PARTITION (ds='3') VALUES ('z', 3)").await.unwrap();
    // Planned before the insert: reads the version it planned against.
    assert!(text(before).await.contains("| 2 |"));
    let after = tm.sql("SELECT count(*) AS c FROM t").await.unwrap();
    assert!(text(after).await.contains("| 3 |"));
    // A DataFrame composes lazily.
    let df = tm.sql("SELECT * FROM t").await.unwrap().limit(0, Some(1)).unwrap();
    assert_eq!(df.collect().await.unwrap().iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

#[tokio::test]
async fn side_effects_happen_when_sql_is_awaited() {
    let tm = setup().await;
    let (kind, _) = tm.run("INSERT INTO t PARTITION (ds='1') VALUES ('w', 4), ('v', 5)").await.unwrap();
    assert_eq!(kind, ResultKind::RowsAffected(2));
    tm.sql("RESTORE TABLE t TO LSN '0000000000000002'").await.unwrap();
    assert_eq!(tm.project().state().live_table("t").unwrap().current.lsn, 5);
    let shown = text(tm.sql("SELECT a FROM t").await.unwrap()).await;
    assert!(shown.contains("| x |") && !shown.contains("| y |"), "{shown}");
}

#[tokio::test]
async fn explain_shows_every_statement_and_runs_none() {
    let tm = setup().await;
    let version = tm.project().state().version;
    for (sql, shows) in [
        (
            "EXPLAIN RESTORE TABLE t TO LSN '0000000000000002'",
            "TimeMachineStatement: RESTORE TABLE t TO LSN '0000000000000002'",
        ),
        ("EXPLAIN CREATE TABLE u (a STRING)", "TimeMachineStatement: CREATE TABLE u (a STRING)"),
        ("EXPLAIN DROP TABLE t", "StatementExec: DROP TABLE t"),
        ("EXPLAIN TRUNCATE TABLE t", "TimeMachineStatement: TRUNCATE TABLE t"),
        ("EXPLAIN PURGE TABLE t", "TimeMachineStatement: PURGE TABLE t"),
        ("EXPLAIN SETPROJECT odps.timemachine.retention.days=3", "SETPROJECT"),
        ("EXPLAIN SHOW HISTORY FOR TABLE t", "TimeMachineStatement: SHOW HISTORY FOR TABLE t"),
        ("EXPLAIN ALTER TABLE t DROP PARTITION (ds='1')", "DROP PARTITION"),
        (
            "explain verbose insert overwrite table t partition (ds='1') select a, n from t version as of 2",
            "TableScan: t",
        ),
        ("EXPLAIN CREATE TABLE c AS SELECT a FROM t", "TimeMachineStatement: CREATE TABLE c AS SELECT a FROM t"),
    ] {
        let plan = text(tm.sql(sql).await.unwrap()).await;
        assert!(plan.contains(shows), "{sql}:\n{plan}");
    }
    assert_eq!(tm.project().state().version, version, "EXPLAIN committed something");
    assert_eq!(tm.project().state().live_names(), vec!["t".to_string()]);
}

#[tokio::test]
async fn plain_ctx_sql_on_an_attached_context_reads_the_past() {
    let ctx = SessionContext::new();
    let tm = TimeMachine::builder().location("memory://").session_context(ctx.clone()).build().await.unwrap();
    run(&tm, &["CREATE TABLE t (a STRING)", "INSERT INTO t VALUES ('one')", "INSERT INTO t VALUES ('two')"]).await;
    // The caller's own clone of the context sees the tables, time travel and history.
    let old = text(ctx.sql("SELECT a FROM t VERSION AS OF 2").await.unwrap()).await;
    assert!(old.contains("one") && !old.contains("two"), "{old}");
    let now = text(ctx.sql("SELECT count(*) FROM t TIMESTAMP AS OF now() + interval '1 hour'").await.unwrap()).await;
    assert!(now.contains("| 2 "), "{now}");
    let joined = "SELECT count(*) FROM t FOR SYSTEM_TIME AS OF now() a JOIN t VERSION AS OF 2 b ON a.a = b.a";
    assert!(text(ctx.sql(joined).await.unwrap()).await.contains("| 1 "));
    let history = text(ctx.sql("SELECT lsn FROM timemachine_history('t') ORDER BY lsn").await.unwrap()).await;
    assert!(history.contains("0000000000000003"), "{history}");
    // MaxCompute's functions for the latest versions fold in the version clause.
    let before_last =
        text(ctx.sql("SELECT a FROM t TIMESTAMP AS OF get_latest_timestamp('t', 2)").await.unwrap()).await;
    assert!(before_last.contains("one") && !before_last.contains("two"), "{before_last}");
    let latest = text(ctx.sql("SELECT get_latest_version('t') AS v").await.unwrap()).await;
    assert!(latest.contains("| 3 "), "{latest}");
    // DataFusion's own INSERT into a versioned table is a version.
    ctx.sql("INSERT INTO t VALUES ('three')").await.unwrap().collect().await.unwrap();
    assert_eq!(tm.project().state().live_table("t").unwrap().current.lsn, 4);
    let err = ctx.sql("SELECT * FROM t VERSION AS OF 9").await.unwrap_err().to_string();
    assert!(err.contains("has no LSN 0000000000000009"), "{err}");
}

#[tokio::test]
async fn datafusion_create_table_is_refused_rather_than_unversioned() {
    let tm = setup().await;
    let err = tm.context().sql("CREATE TABLE m (a INT)").await.unwrap_err().to_string();
    assert!(err.contains("unversioned in-memory table") && err.contains("TimeMachine::sql"), "{err}");
    assert!(tm.project().state().live_table("m").is_none());
    // Views stay session-only, as in DataFusion.
    tm.context().sql("CREATE VIEW v AS SELECT a FROM t").await.unwrap();
    assert!(text(tm.sql("SELECT count(*) FROM v").await.unwrap()).await.contains("| 2 "));
}

#[tokio::test]
async fn inserts_take_values_by_position_even_when_names_repeat() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE big (k STRING, v BIGINT)",
            "INSERT OVERWRITE TABLE big SELECT CAST(value AS STRING), value FROM generate_series(1, 3)",
            "INSERT INTO big SELECT 'same', 7 UNION ALL SELECT 'same', 7",
            "CREATE TABLE p (a STRING) PARTITIONED BY (ds STRING)",
            "INSERT INTO p PARTITION (ds) SELECT CAST(value AS STRING), CAST(value AS STRING) FROM generate_series(1, 2)",
            "INSERT INTO p PARTITION (ds='x') SELECT k FROM big WHERE k = k",
            "CREATE TABLE c AS SELECT k, CAST(v AS STRING), v FROM big",
        ],
    )
    .await;
    assert_eq!(crate::rows(&tm, "SELECT count(*), sum(v) FROM big").await, vec!["5|20"]);
    assert_eq!(crate::rows(&tm, "SELECT count(*) FROM p").await, vec!["7"]);
    assert_eq!(crate::rows(&tm, "SELECT _c1 FROM c WHERE k = '1'").await, vec!["1"]);
}
