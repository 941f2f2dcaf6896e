//! Several `timemachine` processes writing one warehouse at once, and processes killed with
//! SIGKILL in the middle of a write.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datafusion_timemachine::TimeMachine;

use crate::rows;

fn spawn(wh: &Path, script: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(wh)
        .args(["-q", "-f"])
        .arg(script)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs")
}

fn cli(wh: &Path, sql: &str) -> bool {
    Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(wh)
        .args(["-q", "-c", sql])
        .output()
        .expect("the binary runs")
        .status
        .success()
}

/// `writers` processes each append `appends` rows, one INSERT per row, all at once, to the
/// warehouse `wh` (a path or URL); scripts go to `scratch`. Returns the elapsed time.
pub fn concurrent_appends(wh: &Path, scratch: &Path, writers: usize, appends: usize) -> Duration {
    assert!(cli(wh, "CREATE TABLE log (writer BIGINT, i BIGINT)"));
    let dir = scratch;
    let start = Instant::now();
    let children: Vec<Child> = (0..writers)
        .map(|w| {
            let script = dir.join(format!("writer{w}.sql"));
            let body: String = (0..appends).map(|i| format!("INSERT INTO log VALUES ({w}, {i});\n")).collect();
            std::fs::write(&script, body).unwrap();
            spawn(wh, &script)
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a writer failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    start.elapsed()
}

pub async fn check_appends(location: &str, writers: usize, appends: usize) {
    let tm = TimeMachine::open(location).await.unwrap();
    let n = writers * appends;
    assert_eq!(rows(&tm, "SELECT count(*), count(DISTINCT (writer, i)) FROM log").await, vec![format!("{n}|{n}")]);
    let lsns: Vec<u64> = tm.project().state().live_table("log").unwrap().entries().iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, (1..=(n + 1) as u64).collect::<Vec<_>>(), "LSNs 1..={} with no gap or duplicate", n + 1);
}

#[tokio::test]
async fn processes_appending_to_one_table_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    concurrent_appends(&wh, dir.path(), 4, 15);
    check_appends(wh.to_str().unwrap(), 4, 15).await;
}

/// The full-size run of the reliability issue: 8 processes × 250 appends. Run with
/// `cargo test --release --test it -- --ignored full_size`.
#[tokio::test]
#[ignore]
async fn full_size_8_processes_250_appends() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let elapsed = concurrent_appends(&wh, dir.path(), 8, 250);
    check_appends(wh.to_str().unwrap(), 8, 250).await;
    println!("8 × 250 appends: 2000 commits in {elapsed:?} = {:.1} commits/s", 2000.0 / elapsed.as_secs_f64());
}

#[tokio::test]
async fn processes_on_different_partitions_and_tables_never_fail_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    assert!(cli(&wh, "CREATE TABLE p (v BIGINT) PARTITIONED BY (ds STRING)"));
    assert!(cli(&wh, "CREATE TABLE q (v BIGINT)"));
    let mut children = vec![];
    for w in 0..4 {
        let script = dir.path().join(format!("w{w}.sql"));
        let body: String = (0..10)
            .map(|i| match w {
                3 => format!("INSERT OVERWRITE TABLE q VALUES ({i});\n"),
                _ => format!("INSERT OVERWRITE TABLE p PARTITION (ds='{w}') VALUES ({i});\n"),
            })
            .collect();
        std::fs::write(&script, body).unwrap();
        children.push(spawn(&wh, &script));
    }
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
    assert_eq!(rows(&tm, "SELECT ds, v FROM p").await, vec!["0|9", "1|9", "2|9"]);
    assert_eq!(rows(&tm, "SELECT v FROM q").await, vec!["9"]);
    assert_eq!(tm.project().state().live_table("p").unwrap().current.lsn, 31);
}

#[tokio::test]
async fn processes_creating_one_name_have_one_winner() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    std::fs::create_dir_all(&wh).unwrap();
    let children: Vec<Child> = (0..6)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_timemachine"))
                .arg("--warehouse")
                .arg(&wh)
                .args(["-q", "-c", &format!("CREATE TABLE same (c{i} STRING)")])
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut wins = 0;
    for child in children {
        let out = child.wait_with_output().unwrap();
        if out.status.success() {
            wins += 1;
        } else {
            assert!(String::from_utf8_lossy(&out.stderr).contains("table same already exists"));
        }
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn sigkill_in_the_middle_of_a_large_overwrite_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    assert!(cli(&wh, "CREATE TABLE big (v BIGINT, s STRING)"));
    assert!(cli(&wh, "INSERT OVERWRITE TABLE big VALUES (1, 'small')"));
    let script = dir.path().join("big.sql");
    std::fs::write(
        &script,
        "INSERT OVERWRITE TABLE big SELECT value, 'row ' || value FROM generate_series(1, 3000000);",
    )
    .unwrap();
    for delay_ms in [50, 200, 400, 800, 1500, 3000] {
        let mut child = spawn(&wh, &script);
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
        let state_rows = rows(&tm, "SELECT count(*) FROM big").await;
        let lsn = tm.project().state().live_table("big").unwrap().current.lsn;
        let lsns: Vec<u64> = tm.project().state().live_table("big").unwrap().entries().iter().map(|e| e.lsn).collect();
        assert_eq!(lsns, (1..=lsn).collect::<Vec<_>>());
        // Either the old content or all of the new one, never a part.
        assert!(
            state_rows == vec!["1"] || state_rows == vec!["3000000"],
            "after {delay_ms} ms ({status}): {state_rows:?}"
        );
        if state_rows == vec!["3000000"] {
            assert!(cli(&wh, "INSERT OVERWRITE TABLE big VALUES (1, 'small')"));
        }
        // Every commit in the log is one of this table's versions: no stray partial commit.
        assert_eq!(tm.project().state().version, lsn);
        eprintln!(
            "killed after {delay_ms} ms: {}",
            if state_rows == vec!["1"] { "old version" } else { "new version" }
        );
    }
    // Everything the killed writers left behind goes at the next purge.
    let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    tm.execute("SETPROJECT odps.timemachine.retention.days=0").await.unwrap();
    tm.project().wait_background().await;
    datafusion_timemachine::purge_project(tm.project(), usize::MAX).await.unwrap();
    let files = walk(&wh.join("default/data"));
    let referenced = tm.project().state().live_table("big").unwrap().referenced_files();
    assert_eq!(files, referenced.len(), "{referenced:?} / freed {:?}", tm.project().state().freed);
    assert_eq!(rows(&tm, "SELECT count(*) FROM big").await, vec!["1"]);
}

/// Data files under `dir` (complete objects: a multipart upload that a SIGKILL interrupted on
/// local disk leaves a `….parquet#n` staging file that object_store does not list).
fn walk(dir: &Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() { walk(&p) } else { usize::from(p.extension().is_some_and(|x| x == "parquet")) }
        })
        .sum()
}
