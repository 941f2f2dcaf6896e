//! Corrupt metadata: a damaged log entry makes only the tables it names unreadable, with an
//! error naming the file and the table; a damaged checkpoint falls back to an older one.

use std::path::Path;

use datafusion_timemachine::TimeMachine;

use crate::{rows, run};

fn log_entry(dir: &Path, v: u64) -> std::path::PathBuf {
    dir.join(format!("default/_log/{v:020}.json"))
}

async fn setup(dir: &Path) -> TimeMachine {
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE a (v BIGINT)",
            "CREATE TABLE b (v BIGINT)",
            "INSERT INTO b VALUES (1)",
            "INSERT INTO a VALUES (2)",
            "INSERT INTO b VALUES (3)",
        ],
    )
    .await;
    tm
}

async fn damaged_entry_affects_only_its_table(damage: impl Fn(&[u8]) -> Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    setup(dir.path()).await;
    // Commit 4 is the insert into a.
    let path = log_entry(dir.path(), 4);
    std::fs::write(&path, damage(&std::fs::read(&path).unwrap())).unwrap();

    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    let err = tm.execute("SELECT * FROM a").await.unwrap_err().to_string();
    assert!(err.contains("table a is unreadable") && err.contains("00000000000000000004.json"), "{err}");
    let err = tm.execute("INSERT INTO a VALUES (9)").await.unwrap_err().to_string();
    assert!(err.contains("table a is unreadable"), "{err}");
    let err = tm.execute("SHOW HISTORY FOR TABLE a").await.unwrap_err().to_string();
    assert!(err.contains("table a is unreadable"), "{err}");
    // Other tables keep working, for reads and writes, and new tables can be made.
    assert_eq!(rows(&tm, "SELECT v FROM b").await, vec!["1", "3"]);
    run(&tm, &["INSERT INTO b VALUES (5)", "CREATE TABLE c (v BIGINT)", "INSERT INTO c VALUES (6)"]).await;
    assert_eq!(rows(&tm, "SELECT sum(v) FROM b").await, vec!["9"]);
    let again = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    assert_eq!(rows(&again, "SELECT v FROM c").await, vec!["6"]);
}

#[tokio::test]
async fn a_truncated_log_entry() {
    damaged_entry_affects_only_its_table(|b| b[..b.len() / 2].to_vec()).await;
}

#[tokio::test]
async fn a_garbled_log_entry() {
    damaged_entry_affects_only_its_table(|b| {
        String::from_utf8_lossy(b).replace("\"lsn\":2", "\"lsn\":\"two\"").replace("actions", "acti0ns").into_bytes()
    })
    .await;
}

#[tokio::test]
async fn an_entry_with_a_wrong_lsn() {
    damaged_entry_affects_only_its_table(|b| String::from_utf8_lossy(b).replace("\"lsn\":2", "\"lsn\":7").into_bytes())
        .await;
}

#[tokio::test]
async fn a_damaged_checkpoint_falls_back_or_says_which_file() {
    let dir = tempfile::tempdir().unwrap();
    let tm = setup(dir.path()).await;
    tm.project().set_grace(std::time::Duration::ZERO).await.unwrap();
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    let cp_dir = dir.path().join("default/_checkpoints");
    let cp = std::fs::read_dir(&cp_dir).unwrap().next().unwrap().unwrap().path();
    // Log entries behind the checkpoint are gone: a garbled checkpoint is a clear error.
    std::fs::write(&cp, b"{\"version\": 5, \"tabl").unwrap();
    let err = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap_err().to_string();
    assert!(
        err.contains("corrupt metadata in default/_checkpoints/") && err.contains("Recover by restoring that file"),
        "{err}"
    );

    // With the full log still there, a damaged checkpoint is skipped.
    let dir = tempfile::tempdir().unwrap();
    let tm = setup(dir.path()).await;
    for i in 0..60 {
        tm.execute(&format!("INSERT INTO b VALUES ({i})")).await.unwrap();
    }
    tm.project().wait_background().await;
    for e in std::fs::read_dir(dir.path().join("default/_checkpoints")).unwrap() {
        std::fs::write(e.unwrap().path(), b"garbage").unwrap();
    }
    let reopened = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    assert_eq!(rows(&reopened, "SELECT count(*) FROM b").await, vec!["62"]);
}

/// The cause of the flaky test above: the sweep took "old enough" before writing its checkpoint,
/// so with grace zero that checkpoint settled only when the file system's coarse clock stamped it
/// no later than that instant. An in-memory store stamps with the precise clock: always later.
#[tokio::test]
async fn a_sweep_at_grace_zero_compacts_the_log_behind_the_checkpoint_it_writes() {
    use futures::TryStreamExt;
    use object_store::ObjectStore;
    let store: std::sync::Arc<dyn ObjectStore> = std::sync::Arc::new(object_store::memory::InMemory::new());
    let warehouse = datafusion_timemachine::Warehouse::with_store(std::sync::Arc::clone(&store), "mem");
    let tm = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(&tm, &["CREATE TABLE a (v BIGINT)", "INSERT INTO a VALUES (1)", "INSERT INTO a VALUES (2)"]).await;
    tm.project().set_grace(std::time::Duration::ZERO).await.unwrap();
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    let numbers = |prefix: &'static str| {
        let store = std::sync::Arc::clone(&store);
        async move {
            let metas: Vec<_> = store.list(Some(&prefix.into())).try_collect().await.unwrap();
            let mut n: Vec<u64> =
                metas.iter().filter_map(|m| m.location.filename()?.split('.').next()?.parse().ok()).collect();
            n.sort();
            n
        }
    };
    let checkpoints = numbers("default/_checkpoints").await;
    let newest = *checkpoints.last().expect("the sweep writes a checkpoint");
    let logs = numbers("default/_log").await;
    assert!(logs.iter().all(|v| *v >= newest), "entries behind checkpoint {newest} left: {logs:?}");
    let reopened = TimeMachine::builder()
        .warehouse(datafusion_timemachine::Warehouse::with_store(store, "mem"))
        .build()
        .await
        .unwrap();
    assert_eq!(rows(&reopened, "SELECT sum(v) FROM a").await, vec!["3"]);
}
