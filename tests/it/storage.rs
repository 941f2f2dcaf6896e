//! What lands in the object store: one log entry per statement, Parquet data files shared
//! between versions, checkpoints that bound opening, and nothing at all for a failed statement.

use std::collections::BTreeMap;
use std::path::Path;

use datafusion_timemachine::CHECKPOINT_INTERVAL;
use datafusion_timemachine::TimeMachine;
use datafusion_timemachine::state::model::Operation;

use crate::{rows, run};

/// Every file under `dir` with its bytes.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_string_lossy().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

#[tokio::test]
async fn every_statement_is_one_version_with_its_operation() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE t (a STRING)",
            "INSERT OVERWRITE TABLE t VALUES ('0')",
            "INSERT INTO TABLE t VALUES ('1')",
            "TRUNCATE TABLE t",
            "ALTER TABLE t RENAME TO u",
            "DROP TABLE u",
        ],
    )
    .await;
    let state = tm.project().state();
    assert_eq!(state.version, 6);
    let table = state.tables.values().next().unwrap();
    let ops: Vec<(u64, Operation)> = table.entries().iter().map(|e| (e.lsn, e.history[0].operation)).collect();
    use Operation::*;
    assert_eq!(ops, vec![(1, Create), (2, Overwrite), (3, Append), (4, Truncate), (5, Rename), (6, Drop)]);
    // The dropped table keeps its versions: LSN 3 still holds both rows.
    assert!(table.current.dropped);
    assert_eq!(table.state_at(3).unwrap().row_count(), 2);
}

#[tokio::test]
async fn versions_share_files() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE p (a STRING) PARTITIONED BY (ds STRING)",
            "INSERT INTO p PARTITION (ds='1') VALUES ('x')",
            "INSERT INTO p PARTITION (ds='2') VALUES ('y')",
            "INSERT INTO p PARTITION (ds='1') VALUES ('z')",
            "INSERT OVERWRITE TABLE p PARTITION (ds='2') VALUES ('w')",
        ],
    )
    .await;
    let state = tm.project().state();
    let t = state.live_table("p").unwrap();
    let files = |lsn: u64, ds: &str| t.state_at(lsn).unwrap().partitions[&vec![ds.to_string()]].files.clone();
    // The append at LSN 4 adds a file and keeps the one from LSN 2.
    assert_eq!(files(4, "1")[0], files(2, "1")[0]);
    assert_eq!(files(4, "1").len(), 2);
    // Overwriting ds=2 at LSN 5 leaves ds=1's files untouched, and keeps the partition's id.
    assert_eq!(files(5, "1"), files(4, "1"));
    assert_ne!(files(5, "2"), files(4, "2"));
    assert_eq!(
        t.state_at(5).unwrap().partitions[&vec!["2".to_string()]].id,
        t.state_at(3).unwrap().partitions[&vec!["2".to_string()]].id
    );
}

#[tokio::test]
async fn failed_statements_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let tm = TimeMachine::open(&location).await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE t (a STRING, n BIGINT) PARTITIONED BY (ds STRING)",
            "INSERT INTO t PARTITION (ds='1') VALUES ('x', 1)",
            "CREATE TABLE other (a STRING)",
        ],
    )
    .await;
    let before = snapshot(dir.path());
    for bad in [
        "INSERT INTO t PARTITION (ds='2') VALUES ('x', 'not a number')",
        "INSERT INTO t PARTITION (ds='2') VALUES ('too few')",
        "INSERT INTO t PARTITION (ds='../../x') VALUES ('x', 1)",
        "INSERT INTO t PARTITION (ds) VALUES ('x', 1, NULL)",
        "CREATE TABLE t (a STRING)",
        "CREATE TABLE bad (a STRING, a STRING)",
        "ALTER TABLE t RENAME TO other",
        "ALTER TABLE t DROP PARTITION (ds='9')",
        "ALTER TABLE t DROP PARTITION (nope='1')",
        "DROP TABLE missing",
        "TRUNCATE TABLE t PARTITION (ds='9')",
        "CREATE TABLE c AS SELECT 1/0",
        "INSERT INTO t PARTITION (ds='3') SELECT a, n FROM missing",
    ] {
        assert!(tm.execute(bad).await.is_err(), "{bad} should fail");
        assert_eq!(snapshot(dir.path()), before, "{bad} changed the warehouse");
    }
    assert_eq!(rows(&tm, "SELECT * FROM t").await, vec!["x|1|1"]);
}

#[tokio::test]
async fn checkpoints_bound_what_opening_reads() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let tm = TimeMachine::open(&location).await.unwrap();
    run(&tm, &["CREATE TABLE t (n BIGINT)"]).await;
    let commits = 2 * CHECKPOINT_INTERVAL + 10;
    for i in 2..=commits {
        tm.execute(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
    }
    let cp = dir.path().join("default/_checkpoints");
    let mut names: Vec<String> =
        std::fs::read_dir(&cp).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    // Every CHECKPOINT_INTERVAL commits (the automatic purge may add one at the latest version).
    for n in [CHECKPOINT_INTERVAL, 2 * CHECKPOINT_INTERVAL] {
        assert!(names.contains(&format!("{n:020}.ckpt")), "{names:?}");
    }
    tm.project().wait_background().await;
    // Remove every log entry the newest checkpoint covers: opening must not need them.
    for v in 1..=2 * CHECKPOINT_INTERVAL {
        std::fs::remove_file(dir.path().join(format!("default/_log/{v:020}.json"))).unwrap();
    }
    let reopened = TimeMachine::open(&location).await.unwrap();
    assert_eq!(reopened.project().state().version, commits);
    let expected = (2..=commits).sum::<u64>();
    assert_eq!(rows(&reopened, "SELECT sum(n) FROM t").await, vec![expected.to_string()]);
    assert_eq!(reopened.project().state().live_table("t").unwrap().current.lsn, commits);
}

#[tokio::test]
async fn data_files_are_parquet_under_ids() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let tm = TimeMachine::open(&location).await.unwrap();
    run(&tm, &["CREATE TABLE t (a STRING)", "INSERT INTO t VALUES ('x')"]).await;
    let state = tm.project().state();
    let t = state.live_table("t").unwrap();
    let file = &t.current.partitions[&Vec::<String>::new()].files[0];
    assert!(file.path.starts_with(&format!("data/{}/", t.id)));
    let bytes = std::fs::read(dir.path().join("default").join(&file.path)).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(bytes.len() as u64, file.size);
}

/// 120 one-row appends to `t` (checkpoints at 50 and 100) and an untouched table `u`.
async fn appended(location: &str) -> TimeMachine {
    let tm = TimeMachine::open(location).await.unwrap();
    run(&tm, &["CREATE TABLE t (n BIGINT)", "CREATE TABLE u (n BIGINT)", "INSERT INTO u VALUES (7)"]).await;
    for i in 0..120 {
        tm.execute(&format!("INSERT INTO t VALUES ({i})")).await.unwrap();
    }
    tm.project().wait_background().await;
    tm
}

#[tokio::test]
async fn opening_decodes_a_file_list_or_a_history_only_when_a_statement_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    let writer = appended(&location).await;
    let reader = TimeMachine::open(&location).await.unwrap();
    let decoded = |tm: &TimeMachine, name: &str| {
        let state = tm.project().state();
        let t = state.live_table(name).unwrap();
        (t.current.partitions.is_decoded(), t.history_decoded())
    };
    assert_eq!(decoded(&reader, "t"), (false, false), "opening parsed the catalog only");
    // Entries after the checkpoint change t without decoding it.
    writer.execute("INSERT INTO t VALUES (1000)").await.unwrap();
    assert_eq!(rows(&reader, "SELECT count(*) FROM u").await, vec!["1"]);
    assert_eq!(decoded(&reader, "t"), (false, false));
    assert_eq!(
        rows(&reader, "SELECT count(*), sum(n) FROM t").await,
        vec![format!("121|{}", (0..120).sum::<u64>() + 1000)]
    );
    assert_eq!(decoded(&reader, "t"), (true, false), "a query reads the current files, not the history");
    assert_eq!(decoded(&reader, "u"), (true, false));
    // As of now is the current version, which is always restorable: the history stays encoded.
    assert_eq!(rows(&reader, "SELECT count(*) FROM t TIMESTAMP AS OF now()").await, vec!["121"]);
    assert_eq!(decoded(&reader, "t"), (true, false), "TIMESTAMP AS OF now() decoded the history");
    let history = rows(&reader, "SHOW HISTORY FOR TABLE t").await;
    assert_eq!(history.len(), 122, "CREATE and 121 appends");
    assert_eq!(decoded(&reader, "t"), (true, true));
    assert_eq!(rows(&reader, "SELECT count(*) FROM t VERSION AS OF 60").await, vec!["59"]);
}

#[tokio::test]
async fn a_damaged_part_of_the_newest_checkpoint_falls_back_to_the_one_before() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().to_str().unwrap().to_string();
    appended(&location).await;
    let cp = dir.path().join("default/_checkpoints");
    let mut names: Vec<_> = std::fs::read_dir(&cp).unwrap().map(|e| e.unwrap().path()).collect();
    names.sort();
    let newest = names.last().unwrap();
    let mut bytes = std::fs::read(newest).unwrap();
    let at = bytes.len() - 5;
    bytes[at] ^= 0x5a;
    std::fs::write(newest, bytes).unwrap();
    let reopened = TimeMachine::open(&location).await.unwrap();
    assert_eq!(rows(&reopened, "SELECT count(*) FROM t").await, vec!["120"]);
    assert_eq!(rows(&reopened, "SHOW HISTORY FOR TABLE t").await.len(), 121);
}
