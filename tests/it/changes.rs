//! The change feed agrees with time travel: for random statement sequences, and pairs of
//! versions a < b (every range of up to 8 versions, and every start to the end), the rows at a plus the changes of a+1..=b (inserts and postimages in,
//! deletes and preimages out) are the rows at b.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;

use datafusion_timemachine::TimeMachine;

use crate::store::next_random;
use crate::{rows, run};

/// A random statement on table `t` (k BIGINT, v STRING, partitioned by ds) or its source `s`.
fn statement(r: &AtomicU64, lsn: u64) -> String {
    let n = |m: u64| next_random(r) % m;
    let ds = n(3);
    match n(11) {
        0..=2 => {
            let values: Vec<String> = (0..1 + n(4)).map(|_| format!("({}, 'v{}')", n(20), n(5))).collect();
            format!("INSERT INTO t PARTITION (ds='{ds}') VALUES {}", values.join(", "))
        }
        3 => format!("UPDATE t SET v = concat(v, 'u') WHERE k % 3 = {}", n(3)),
        4 => format!("DELETE FROM t WHERE k % 4 = {}", n(4)),
        5 => format!(
            "MERGE INTO t USING (SELECT k, v, ds FROM s WHERE k % 2 = {}) AS src ON t.k = src.k AND t.ds = src.ds \
             WHEN MATCHED AND src.k % 3 = 0 THEN DELETE WHEN MATCHED THEN UPDATE SET v = src.v \
             WHEN NOT MATCHED THEN INSERT VALUES (src.k, src.v, src.ds)",
            n(2)
        ),
        6 => format!("INSERT OVERWRITE TABLE t PARTITION (ds='{ds}') VALUES ({}, 'o')", n(20)),
        7 if lsn > 2 => format!("RESTORE TABLE t TO LSN '{}'", 1 + n(lsn - 1)),
        7 => "ALTER TABLE t MERGE SMALLFILES".into(),
        8 => format!("ALTER TABLE t DROP IF EXISTS PARTITION (ds='{ds}')"),
        // Correlated subqueries: planned as a MERGE over the rows' files and positions.
        9 if n(2) == 0 => {
            format!(
                "DELETE FROM t WHERE EXISTS (SELECT 1 FROM s WHERE s.k = t.k AND s.ds = t.ds AND s.k % 3 = {})",
                n(3)
            )
        }
        9 => "UPDATE t SET v = (SELECT max(s.v) FROM s WHERE s.k = t.k) WHERE k % 2 = 1".into(),
        _ => "ALTER TABLE t MERGE SMALLFILES".into(),
    }
}

/// Rows as a multiset.
fn counted(rows: Vec<String>) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for r in rows {
        *out.entry(r).or_default() += 1;
    }
    out
}

async fn latest(tm: &TimeMachine) -> u64 {
    let lsn = rows(tm, "SELECT max(lsn_number) FROM timemachine_history('t')").await;
    lsn[0].parse().unwrap()
}

#[tokio::test]
async fn applying_the_changes_between_two_versions_to_the_first_gives_the_second() {
    for seed in [7u64, 1013, 424242] {
        let tm = TimeMachine::open("memory://").await.unwrap();
        run(
            &tm,
            &[
                "CREATE TABLE t (k BIGINT, v STRING) PARTITIONED BY (ds STRING)",
                "CREATE TABLE s (k BIGINT, v STRING, ds STRING)",
                "INSERT INTO s SELECT value, concat('s', CAST(value AS STRING)), CAST(value % 3 AS STRING) FROM generate_series(0, 19)",
            ],
        )
        .await;
        let r = AtomicU64::new(seed);
        let mut applied = vec![];
        for _ in 0..26 {
            let sql = statement(&r, latest(&tm).await);
            if let Err(e) = tm.execute(&sql).await {
                // A MERGE may match a target row twice (duplicate keys from appends): refused, nothing changed.
                assert!(e.to_string().contains("more than one row of the source"), "{sql}: {e}");
            }
            applied.push(sql);
        }
        let last = latest(&tm).await;
        let at = async |lsn: u64| counted(rows(&tm, &format!("SELECT k, v, ds FROM t VERSION AS OF {lsn}")).await);
        let mut versions = vec![];
        for lsn in 1..=last {
            versions.push(at(lsn).await);
        }
        // One row per partition a version touched: a version's operations.
        let mut operations: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        for r in rows(&tm, "SELECT DISTINCT lsn_number, operation FROM timemachine_history('t')").await {
            let (lsn, op) = r.split_once('|').unwrap();
            operations.entry(lsn.parse().unwrap()).or_default().push(op.to_string());
        }
        let row_level =
            |lsn: u64| operations[&lsn].iter().any(|op| ["UPDATE", "DELETE", "MERGE"].contains(&op.as_str()));
        let mut checked = 0;
        for a in 1..last {
            // Ranges of up to 8 versions, and every start to the end.
            for b in (a + 1..=last).filter(|b| b - a <= 8 || *b == last) {
                let sql = format!("SELECT k, v, ds, _change_type FROM table_changes('t', {}, {b})", a + 1);
                let mut state = versions[a as usize - 1].clone();
                let changes = rows(&tm, &sql).await;
                if a + 1 == b && row_level(b) {
                    checked += 1;
                    // A row-level change reports the rows it changed, not those its copy-on-write
                    // rewrite carried over (which a diff of files would show deleted and inserted).
                    let count = |k: &str| changes.iter().filter(|r| r.ends_with(&format!("|{k}"))).count();
                    let deleted: Vec<&str> = changes.iter().filter_map(|r| r.strip_suffix("|delete")).collect();
                    let carried =
                        changes.iter().filter_map(|r| r.strip_suffix("|insert")).any(|r| deleted.contains(&r));
                    assert!(!carried, "seed {seed}, version {b} ({:?}): {changes:?}", operations[&b]);
                    assert_eq!(count("update_preimage"), count("update_postimage"), "seed {seed}, version {b}");
                }
                for row in changes {
                    let (values, kind) = row.rsplit_once('|').unwrap();
                    let n = if kind == "insert" || kind == "update_postimage" { 1 } else { -1 };
                    *state.entry(values.to_string()).or_default() += n;
                }
                state.retain(|_, n| *n != 0);
                assert_eq!(
                    state,
                    versions[b as usize - 1],
                    "seed {seed}, changes {}..={b}; statements: {applied:#?}",
                    a + 1
                );
            }
        }
        assert!(checked >= 3, "seed {seed}: only {checked} row-level changes; statements: {applied:#?}");
    }
}

/// A statement's changed rows wait for the change writer instead of queueing in memory: once a
/// few batches wait for it, the next send waits too; when the writer runs, every row sent is in
/// its files.
#[tokio::test]
async fn change_rows_wait_for_their_writer_instead_of_queueing() {
    use std::sync::Arc;

    use datafusion::arrow::array::{BooleanArray, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion_timemachine::table::{ChangeKind, change_writer};
    use futures::FutureExt;

    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    run(&tm, &["CREATE TABLE t (k BIGINT, v STRING)"]).await;
    let state = tm.project().state();
    let table = &state.live_table("t").unwrap().current;
    let (changes, written) =
        change_writer(tm.project(), (&table.id, &table.schema, &table.properties), vec![], BTreeMap::new()).unwrap();
    let schema =
        Arc::new(Schema::new(vec![Field::new("k", DataType::Int64, true), Field::new("v", DataType::Utf8, true)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(Int64Array::from_iter_values(0..1000)), Arc::new(StringArray::from(vec!["x"; 1000]))],
    )
    .unwrap();
    let all = BooleanArray::from(vec![true; 1000]);
    // Nothing writes yet: the sends complete until the queue is full, then one waits.
    let mut sent = 0;
    while changes.send(&batch, &all, ChangeKind::Delete).now_or_never().is_some() {
        sent += 1;
        assert!(sent < 64, "{sent} batches of changes queued with nobody writing them");
    }
    assert!(sent >= 1, "not even one batch may wait for the writer");
    // With the writer running beside them, the sends go through (the one that waited included).
    let sender = async move {
        for _ in 0..sent + 10 {
            changes.send(&batch, &all, ChangeKind::Delete).await.unwrap();
        }
        drop(changes);
        Ok(())
    };
    let ((), files) = futures::try_join!(sender, written).unwrap();
    let rows: u64 = files.values().flatten().map(|f| f.rows).sum();
    assert_eq!(rows, (2 * sent as u64 + 10) * 1000);
}
