//! DELETE and UPDATE rewrite only the files holding rows they change, through `TimeMachine::sql`
//! and through plain `ctx.sql` on an attached context, and rebase over concurrent appends.

use std::collections::BTreeSet;

use datafusion_timemachine::TimeMachine;

use crate::{rows, run};

fn files(tm: &TimeMachine, table: &str) -> BTreeSet<String> {
    let state = tm.project().state();
    let t = state.live_table(table).unwrap();
    t.current.partitions.values().flat_map(|p| &p.files).map(|f| f.path.clone()).collect()
}

async fn count(tm: &TimeMachine, sql: &str) -> i64 {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::Int64Type;
    let batches = tm.execute(sql).await.unwrap().batches;
    batches[0].column(0).as_primitive::<Int64Type>().value(0)
}

#[tokio::test]
async fn a_delete_on_one_partition_of_a_thousand_rewrites_one_file() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            // Copy-on-write forced (a table property): by default these rows would go into a
            // deletion vector and no file would be written.
            "CREATE TABLE p (v BIGINT) PARTITIONED BY (ds STRING) TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')",
            "INSERT INTO p PARTITION (ds) SELECT value, CAST(value % 1000 AS STRING) FROM generate_series(0, 9999)",
        ],
    )
    .await;
    let before = files(&tm, "p");
    assert_eq!(before.len(), 1000);
    let n = tm.execute("DELETE FROM p WHERE ds = '7' AND v > 5000").await.unwrap();
    assert_eq!(n.kind, datafusion_timemachine::ResultKind::RowsAffected(5));
    let after = files(&tm, "p");
    let removed: Vec<_> = before.difference(&after).collect();
    let added: Vec<_> = after.difference(&before).collect();
    assert_eq!((removed.len(), added.len()), (1, 1), "{removed:?} {added:?}");
    let state = tm.project().state();
    let seven = &state.live_table("p").unwrap().current.partitions[&vec!["7".to_string()]];
    assert_eq!(seven.files.iter().map(|f| &f.path).collect::<Vec<_>>(), added);
    assert_eq!(count(&tm, "SELECT count(*) FROM p").await, 9995);
    assert_eq!(count(&tm, "SELECT count(*) FROM p WHERE ds = '7'").await, 5);
    // One version, one history row, naming the partition.
    let h =
        tm.execute("SELECT objectname, operation FROM timemachine_history('p') WHERE lsn_number = 3").await.unwrap();
    let shown = datafusion::arrow::util::pretty::pretty_format_batches(&h.batches).unwrap().to_string();
    assert!(shown.contains("ds=7") && shown.contains("DELETE"), "{shown}");
    assert_eq!(h.batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
}

#[tokio::test]
async fn plain_ctx_sql_deletes_and_updates_through_the_time_machine() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE t (k BIGINT, v STRING)", "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')"]).await;
    let ctx = tm.context().clone();
    // The optimizer folds WHERE false away; DataFusion would hand the provider no filter at all.
    ctx.sql("DELETE FROM t WHERE false").await.unwrap().collect().await.unwrap();
    ctx.sql("DELETE FROM t WHERE 1 = 2").await.unwrap().collect().await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 3);
    // A subquery is refused rather than read as "every row".
    let err = match ctx.sql("DELETE FROM t WHERE k IN (SELECT k FROM t WHERE k > 2)").await {
        Ok(df) => df.collect().await.unwrap_err().to_string(),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("a subquery planned as a join"), "{err}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 3);
    // Through the time machine's own entry point the subquery is answered first.
    tm.execute("DELETE FROM t WHERE k IN (SELECT k FROM t WHERE k > 2)").await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 2);
    run(&tm, &["INSERT INTO t VALUES (3, 'c')"]).await;
    ctx.sql("UPDATE t SET v = 'B' WHERE k = 2").await.unwrap().collect().await.unwrap();
    ctx.sql("DELETE FROM t WHERE k = 1").await.unwrap().collect().await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t WHERE v = 'B'").await, 1);
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 2);
    assert_eq!(count(&tm, "SELECT max(lsn_number) FROM timemachine_history('t')").await, 6);
    assert_eq!(count(&tm, "SELECT count(*) FROM t VERSION AS OF 2").await, 3);
    // EXPLAIN plans the rewrite without running it.
    let plan = ctx.sql("EXPLAIN DELETE FROM t").await.unwrap().collect().await.unwrap();
    let shown = datafusion::arrow::util::pretty::pretty_format_batches(&plan).unwrap().to_string();
    assert!(shown.contains("StatementExec: DELETE FROM t"), "{shown}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 2);
}

#[tokio::test]
async fn a_delete_rebases_over_a_concurrent_append_to_the_same_partition() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE t (k BIGINT)", "INSERT INTO t VALUES (1), (2)"]).await;
    // The DELETE is planned (pinned to LSN 2) before the append commits.
    let delete = tm.context().sql("DELETE FROM t WHERE k = 1").await.unwrap();
    tm.execute("INSERT INTO t VALUES (3)").await.unwrap();
    delete.collect().await.unwrap();
    assert_eq!(count(&tm, "SELECT sum(k) FROM t").await, 5);
    // An overwrite of the rows it rewrote is a conflict, and the DELETE changes nothing.
    let delete = tm.context().sql("DELETE FROM t WHERE k = 2").await.unwrap();
    tm.execute("INSERT OVERWRITE TABLE t VALUES (7)").await.unwrap();
    let err = delete.collect().await.unwrap_err().to_string();
    assert!(err.contains("changed by another statement"), "{err}");
    assert_eq!(count(&tm, "SELECT sum(k) FROM t").await, 7);
}

#[tokio::test]
async fn deletes_write_no_data_file_by_default_and_never_lose_a_concurrent_delete() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE t (k BIGINT)", "INSERT INTO t SELECT value FROM generate_series(1, 100)"]).await;
    let before = files(&tm, "t");
    tm.execute("DELETE FROM t WHERE k = 50").await.unwrap();
    assert_eq!(files(&tm, "t"), before, "the file stays; only its vector is new");
    let vector = |tm: &TimeMachine| {
        let state = tm.project().state();
        let t = state.live_table("t").unwrap();
        let f = t.current.partitions.values().flat_map(|p| p.files.iter()).next().unwrap().clone();
        f.deleted.map(|d| d.iter().collect::<Vec<u64>>()).unwrap_or_default()
    };
    assert_eq!(vector(&tm), vec![49]);
    // Two DELETEs planned on the same version delete rows of the same file: the second to
    // commit conflicts (its vector was built on the file's old one), and neither delete is lost.
    let first = tm.context().sql("DELETE FROM t WHERE k = 1").await.unwrap();
    tm.execute("DELETE FROM t WHERE k = 2").await.unwrap();
    let err = first.collect().await.unwrap_err().to_string();
    assert!(err.contains("conflict") && err.contains("changed by another statement"), "{err}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 98);
    tm.execute("DELETE FROM t WHERE k = 1").await.unwrap();
    assert_eq!(vector(&tm), vec![0, 1, 49]);
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 97);
    // It rebases over a concurrent append, as copy-on-write does.
    let delete = tm.context().sql("DELETE FROM t WHERE k = 3").await.unwrap();
    tm.execute("INSERT INTO t VALUES (1000)").await.unwrap();
    delete.collect().await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 97);
    assert_eq!(count(&tm, "SELECT sum(k) FROM t").await, 5050 - 50 - 1 - 2 - 3 + 1000);
    // Plain ctx.sql sees the live rows too, and the older versions theirs.
    let df = tm.context().sql("SELECT count(*) FROM t WHERE k < 10").await.unwrap().collect().await.unwrap();
    let shown = datafusion::arrow::util::pretty::pretty_format_batches(&df).unwrap().to_string();
    assert!(shown.contains("| 6 "), "{shown}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t VERSION AS OF 2").await, 100);
}

#[tokio::test]
async fn a_merge_on_read_merge_collects_its_source_into_one_hash_table() {
    // DataFusion takes a filtered source (estimated at a fifth of its table) as large and
    // repartitions both sides; the MERGE joins it as one hash table, whose filter inside the
    // target's reader is one lookup per row (see `plan::exec::merge_session`).
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "SET datafusion.execution.target_partitions = 4",
            "CREATE TABLE m AS SELECT value AS k, value % 10 AS v, 'row ' || value AS c FROM generate_series(1, 1000000)",
        ],
    )
    .await;
    let plan = |sql: &str| {
        let tm = &tm;
        let sql = format!("EXPLAIN {sql}");
        async move {
            let r = tm.execute(&sql).await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&r.batches).unwrap().to_string()
        }
    };
    let source = "(SELECT * FROM m WHERE k % 83 = 7)";
    let join = plan(&format!("SELECT max(t.c), max(s.c) FROM m t JOIN {source} s ON t.k = s.k")).await;
    assert!(join.contains("mode=Partitioned"), "{join}");
    let merge =
        plan(&format!("MERGE INTO m t USING {source} s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v + 1")).await;
    assert!(merge.contains("mode=CollectLeft") && !merge.contains("mode=Partitioned"), "{merge}");
    // Both scans (target and source) filter inside the Parquet reader: the rows they drop never
    // have their other columns decoded.
    let analyzed =
        plan(&format!("ANALYZE MERGE INTO m t USING {source} s ON t.k = s.k WHEN MATCHED THEN UPDATE SET v = s.v + 1"))
            .await;
    let pruned: Vec<&str> =
        analyzed.split("pushdown_rows_pruned=").skip(1).map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(pruned.len(), 2, "{analyzed}");
    assert!(pruned.iter().all(|p| p.ends_with(" K")), "{pruned:?}");
    assert_eq!(count(&tm, "SELECT count(*) FROM m WHERE k % 83 = 7 AND v = k % 10 + 1").await, 12049);
    assert_eq!(count(&tm, "SELECT count(*) FROM m").await, 1000000);
}

/// Files under the warehouse's table data (data and change files), not the log.
fn data_files(dir: &std::path::Path) -> BTreeSet<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, out: &mut BTreeSet<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if !path.components().any(|c| c.as_os_str() == "_log") {
                out.insert(path);
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(dir, &mut out);
    out
}

/// A warehouse on disk whose table t holds 300 rows (k 1..=300, v 'v<k>') in partitions a, b and
/// c of 100 rows, one file each.
async fn three_partitions() -> (tempfile::TempDir, TimeMachine) {
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE t (k BIGINT, v STRING) PARTITIONED BY (ds STRING)",
            "INSERT INTO t PARTITION (ds) SELECT value, 'v' || value, CASE WHEN value <= 100 THEN 'a' \
             WHEN value <= 200 THEN 'b' ELSE 'c' END FROM generate_series(1, 300)",
        ],
    )
    .await;
    (dir, tm)
}

#[tokio::test]
async fn a_delete_by_vectors_alone_writes_no_file_and_the_feed_still_names_each_deleted_row() {
    // A vector (or a file dropped whole) says exactly which rows went, so the change feed reads
    // them from the old file; the DELETE neither reads nor copies their other columns.
    let (dir, tm) = three_partitions().await;
    let feed = |lsn: u64| {
        let tm = &tm;
        async move {
            let sql = format!(
                "SELECT _change_type, count(*), sum(k), min(v) FROM table_changes('t', {lsn}, {lsn}) \
                 GROUP BY _change_type ORDER BY 1"
            );
            let r = tm.execute(&sql).await.unwrap();
            datafusion::arrow::util::pretty::pretty_format_batches(&r.batches).unwrap().to_string()
        }
    };
    let before = data_files(dir.path());
    // Vectors in a and b, c's file dropped whole: nothing written but the log entry.
    tm.execute("DELETE FROM t WHERE k % 10 = 3 OR ds = 'c'").await.unwrap();
    assert_eq!(data_files(dir.path()), before, "a DELETE by vectors writes no data or change file");
    let shown = feed(3).await;
    // 20 rows (3, 13, …, 193) and c's 100 rows (201..=300).
    let sum: i64 = (0..20).map(|i| 3 + 10 * i).sum::<i64>() + (201..=300).sum::<i64>();
    assert!(shown.contains(&format!("| delete       | 120      | {sum} ")), "{shown}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 180);
    assert_eq!(count(&tm, "SELECT count(*) FROM t VERSION AS OF 2").await, 300);
    // A file that loses most of its rows is rewritten (its kept rows carried into a new file),
    // so that DELETE writes change files, which still name the vector's rows in a.
    tm.execute("DELETE FROM t WHERE k = 1 OR (ds = 'b' AND k > 120)").await.unwrap();
    let shown = feed(4).await;
    let sum: i64 = 1 + (121..=200).filter(|k| k % 10 != 3).sum::<i64>();
    assert!(shown.contains(&format!("| delete       | 73       | {sum} ")), "{shown}");
    assert!(!shown.contains("insert"), "{shown}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 107);
    // The feed across both agrees with the table's difference.
    let shown = feed(3).await;
    assert!(shown.contains("| delete       | 120 "), "{shown}");
    let all = count(&tm, "SELECT count(*) FROM table_changes('t', 3, 4) WHERE _change_type = 'delete'").await;
    assert_eq!(all, 300 - 107);
}

#[tokio::test]
async fn row_level_changes_fold_now_and_the_other_functions_of_the_statement_time() {
    // now() has no value of its own: DataFusion folds it to the statement's start time, which a
    // DELETE's or UPDATE's predicate (run inside the Parquet reader) and assignments need too.
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &["CREATE TABLE t (k BIGINT, at TIMESTAMP)", "INSERT INTO t SELECT value, NULL FROM generate_series(1, 10)"],
    )
    .await;
    tm.execute("DELETE FROM t WHERE now() > TIMESTAMP '2000-01-01 00:00:00' AND k = 3").await.unwrap();
    tm.execute("UPDATE t SET at = now() WHERE k < 5 AND current_date() > DATE '2000-01-01'").await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 9);
    assert_eq!(count(&tm, "SELECT count(*) FROM t WHERE at > TIMESTAMP '2020-01-01 00:00:00'").await, 3);
    // Through plain ctx.sql as well.
    let ctx = tm.context().clone();
    ctx.sql("DELETE FROM t WHERE at < now()").await.unwrap().collect().await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 6);
    // A MERGE, and a DELETE with a subquery (planned as one).
    let later = "now() > TIMESTAMP '2000-01-01 00:00:00'";
    tm.execute(&format!("MERGE INTO t USING (SELECT 6 AS k) s ON t.k = s.k WHEN MATCHED AND {later} THEN DELETE"))
        .await
        .unwrap();
    tm.execute(&format!("DELETE FROM t WHERE k IN (SELECT 7) AND {later}")).await.unwrap();
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 4);
}

#[tokio::test]
async fn a_merge_holds_the_rows_its_source_selects_not_the_pages_they_came_from() {
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};
    // 400,000 rows of ~200 bytes of text (80 MB decoded); the source selects 1% of them (0.8 MB).
    // Filtered inside the Parquet reader, the selected text still points into the decoded pages of
    // every row: a hash table built from those batches as they come holds every page, over a
    // 64 MiB budget.
    let runtime = RuntimeEnvBuilder::new().with_memory_limit(64 << 20, 1.0).build_arc().unwrap();
    let ctx = SessionContext::new_with_config_rt(SessionConfig::new(), runtime);
    let tm = TimeMachine::builder().location("memory://").session_context(ctx).build().await.unwrap();
    let create = "CREATE TABLE w AS SELECT value AS k, repeat('x', 190) || value AS c FROM generate_series(1, 400000)";
    run(&tm, &[create]).await;
    let merge = "MERGE INTO w t USING (SELECT * FROM w WHERE k % 97 = 3) s ON t.k = s.k \
                 WHEN MATCHED THEN UPDATE SET c = s.c || '!'";
    let done = tm.execute(merge).await.unwrap_or_else(|e| panic!("{merge}: {e}"));
    assert_eq!(done.kind, datafusion_timemachine::ResultKind::RowsAffected(4124));
    assert_eq!(count(&tm, "SELECT count(*) FROM w WHERE c LIKE '%!'").await, 4124);
    assert_eq!(count(&tm, "SELECT count(*) FROM w WHERE c LIKE '%!' AND k % 97 = 3").await, 4124);
    assert_eq!(count(&tm, "SELECT count(*) FROM w").await, 400000);
}

#[tokio::test]
async fn an_update_by_vectors_writes_only_the_new_images_and_the_feed_pairs_them_with_the_old() {
    // The rows a vector adds are the old images and the files the UPDATE adds hold exactly the
    // new ones: the feed reads both from the data files, so no change file is written.
    let (dir, tm) = three_partitions().await;
    run(
        &tm,
        &[
            "CREATE TABLE w (k BIGINT, v STRING) PARTITIONED BY (ds STRING) \
             TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')",
            "INSERT INTO w PARTITION (ds) SELECT k, v, ds FROM t",
        ],
    )
    .await;
    let feed = |t: &'static str, lsn: u64| {
        let tm = &tm;
        async move { rows(tm, &format!("SELECT _change_type, k, v, ds FROM table_changes('{t}', {lsn}, {lsn})")).await }
    };
    let before = data_files(dir.path());
    // Vectors in a and b; c's file loses every row (dropped whole, its rows' new images written).
    let update = "UPDATE {t} SET v = v || '!' WHERE k % 10 = 3 OR ds = 'c'";
    for t in ["t", "w"] {
        tm.execute(&update.replace("{t}", t)).await.unwrap();
    }
    let id = tm.project().state().live_table("t").unwrap().current.id.clone();
    let written: Vec<_> =
        data_files(dir.path()).difference(&before).filter(|p| p.to_string_lossy().contains(&id)).cloned().collect();
    // Data files of c and b (a's 10 rows stay in its file: a vector).
    assert!(!written.is_empty());
    let change_files: Vec<_> = written.iter().filter(|p| columns(p).iter().any(|c| c == "_change_type")).collect();
    assert!(change_files.is_empty(), "an UPDATE by vectors writes no change file: {change_files:?}");
    let (t, w) = (feed("t", 3).await, feed("w", 3).await);
    assert_eq!(t, w, "the same feed as copy-on-write's change files");
    assert_eq!(t.len(), 240, "{t:?}");
    assert!(t.contains(&"update_preimage|13|v13|a".to_string()), "{t:?}");
    assert!(t.contains(&"update_postimage|13|v13!|a".to_string()), "{t:?}");
    assert!(t.contains(&"update_postimage|300|v300!|c".to_string()), "{t:?}");
    assert!(!t.iter().any(|r| r.starts_with("delete") || r.starts_with("insert")), "{t:?}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t WHERE v LIKE '%!'").await, 120);
    assert_eq!(rows(&tm, "SELECT k, v, ds FROM t").await, rows(&tm, "SELECT k, v, ds FROM w").await);
    // A file that loses most of its rows is rewritten, and only change files can tell its kept
    // rows from the updated ones: the UPDATE writes them (and nothing else stays behind).
    let before = data_files(dir.path());
    tm.execute("UPDATE t SET v = 'x' WHERE ds = 'b' AND k > 120").await.unwrap();
    let written: Vec<_> =
        data_files(dir.path()).difference(&before).filter(|p| p.to_string_lossy().contains(&id)).cloned().collect();
    let change_files = written.iter().filter(|p| columns(p).iter().any(|c| c == "_change_type")).count();
    assert_eq!((written.len(), change_files), (2, 1), "b's file anew and its change file: {written:?}");
    let t = feed("t", 4).await;
    assert_eq!(t.len(), 160, "{t:?}");
    assert!(t.contains(&"update_preimage|123|v123!|b".to_string()), "{t:?}");
    assert!(t.contains(&"update_postimage|200|x|b".to_string()), "{t:?}");
    assert_eq!(count(&tm, "SELECT count(*) FROM t WHERE v = 'x'").await, 80);
    assert_eq!(count(&tm, "SELECT count(*) FROM t").await, 300);
}

/// The column names of a Parquet file.
fn columns(path: &std::path::Path) -> Vec<String> {
    use datafusion::parquet::file::reader::FileReader;
    let file = std::fs::File::open(path).unwrap();
    let reader = datafusion::parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap();
    reader.metadata().file_metadata().schema_descr().columns().iter().map(|c| c.name().to_string()).collect()
}
