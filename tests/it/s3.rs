//! The warehouse on a real S3-compatible server (moto on loopback, started by `.ci/with_s3.sh`,
//! which `.ci/run` uses). Without `TIMEMACHINE_S3_BUCKET` these tests have nothing to talk to:
//! they fail if `TIMEMACHINE_REQUIRE_S3` is set (as in CI) and are skipped otherwise.

use std::time::Instant;

use datafusion_timemachine::TimeMachine;
use object_store::ObjectStoreExt;

use crate::processes::{check_appends, concurrent_appends};
use crate::{rows, run};

/// A fresh `s3://bucket/prefix` location, or None when no S3 server is configured.
pub(crate) fn location() -> Option<String> {
    match std::env::var("TIMEMACHINE_S3_BUCKET") {
        Ok(bucket) => Some(format!("s3://{bucket}/{}", uuid::Uuid::new_v4().simple())),
        Err(_) if std::env::var_os("TIMEMACHINE_REQUIRE_S3").is_some() => {
            panic!("TIMEMACHINE_REQUIRE_S3 is set but TIMEMACHINE_S3_BUCKET is not: run under .ci/with_s3.sh")
        }
        Err(_) => {
            eprintln!("skipped: no S3 server (run under .ci/with_s3.sh)");
            None
        }
    }
}

#[tokio::test]
async fn time_machine_on_s3() {
    let Some(location) = location() else { return };
    let tm = TimeMachine::open(&location).await.unwrap();
    run(
        &tm,
        &[
            "Create Table test_restore_part_y(a string) PARTITIONED BY(ds string)",
            r#"INSERT OVERWRITE TABLE test_restore_part_y partition(ds="20200101") values ("20200101")"#,
            r#"INSERT OVERWRITE TABLE test_restore_part_y partition(ds="20200101") values ("20200101_v1")"#,
            "restore table test_restore_part_y partition(ds='20200101') to LSN '0000000000000002' as v2",
        ],
    )
    .await;
    let other = TimeMachine::open(&location).await.unwrap();
    assert_eq!(rows(&other, "SELECT * FROM test_restore_part_y").await, vec!["20200101_v1|20200101"]);
    assert_eq!(rows(&other, "SELECT * FROM v2").await, vec!["20200101|20200101"]);
}

/// Racing sessions, each with its own S3 client: conditional puts decide every commit.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_sessions_on_s3_lose_nothing() {
    let Some(location) = location() else { return };
    let first = TimeMachine::open(&location).await.unwrap();
    run(&first, &["CREATE TABLE t (w BIGINT, i BIGINT)"]).await;
    let (writers, appends) = (6, 8);
    let start = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|w| {
            let location = location.clone();
            tokio::spawn(async move {
                let tm = TimeMachine::open(&location).await.unwrap();
                for i in 0..appends {
                    tm.execute(&format!("INSERT INTO t VALUES ({w}, {i})")).await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed();
    let check = TimeMachine::open(&location).await.unwrap();
    let n = writers * appends;
    assert_eq!(rows(&check, "SELECT count(DISTINCT (w, i)) FROM t").await, vec![n.to_string()]);
    let lsns: Vec<u64> = check.project().state().live_table("t").unwrap().entries().iter().map(|e| e.lsn).collect();
    assert_eq!(lsns, (1..=(n + 1) as u64).collect::<Vec<_>>());
    eprintln!("s3: {n} racing commits in {elapsed:?}");
}

/// CLI processes appending to one table on S3.
#[tokio::test]
async fn processes_on_s3_lose_nothing() {
    let Some(location) = location() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let elapsed = concurrent_appends(std::path::Path::new(&location), scratch.path(), 4, 6);
    check_appends(&location, 4, 6).await;
    eprintln!("s3: 4 processes × 6 appends in {elapsed:?}");
}

/// Full size for the reliability note, on S3 and on local disk: commits per second.
/// `.ci/with_s3.sh cargo test --release --test it -- --ignored full_size_s3`
#[tokio::test]
#[ignore]
async fn full_size_s3_and_local() {
    let Some(location) = location() else { return };
    let scratch = tempfile::tempdir().unwrap();
    let s3 = concurrent_appends(std::path::Path::new(&location), scratch.path(), 8, 250);
    check_appends(&location, 8, 250).await;
    let local = scratch.path().join("local");
    let disk = concurrent_appends(&local, scratch.path(), 8, 250);
    check_appends(local.to_str().unwrap(), 8, 250).await;
    println!(
        "8 × 250 appends: S3 {:.1} commits/s ({s3:?}), local disk {:.1} commits/s ({disk:?})",
        2000.0 / s3.as_secs_f64(),
        2000.0 / disk.as_secs_f64()
    );
}

/// Multipart uploads pending under `prefix` of the bucket (S3's ListMultipartUploads).
fn pending_uploads(prefix: &str) -> usize {
    let endpoint = std::env::var("AWS_ENDPOINT").expect("set by .ci/with_s3.sh");
    let bucket = std::env::var("TIMEMACHINE_S3_BUCKET").unwrap();
    let out = std::process::Command::new("curl")
        .args(["-sf", &format!("{endpoint}/{bucket}?uploads&prefix={prefix}")])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "ListMultipartUploads failed");
    String::from_utf8_lossy(&out.stdout).matches("<UploadId>").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_insert_leaves_no_multipart_upload_pending() {
    let Some(location) = location() else { return };
    let prefix = location.rsplit('/').next().unwrap().to_string();
    let tm = TimeMachine::open(&location).await.unwrap();
    // The listing sees an upload that is pending.
    let store = tm.project().store();
    let mut probe = store.put_multipart(&tm.project().path("probe")).await.unwrap();
    assert_eq!(pending_uploads(&prefix), 1);
    probe.abort().await.unwrap();
    assert_eq!(pending_uploads(&prefix), 0);
    run(&tm, &["CREATE TABLE big (v BIGINT, h STRING)"]).await;
    // Cancelled at several moments of a 3M-row insert (files of ~30 MB: multipart uploads).
    for after_ms in [400, 900, 1600, 2500] {
        let insert = {
            let tm = tm.clone();
            tokio::spawn(async move {
                tm.execute("INSERT INTO big SELECT value, md5(CAST(value AS STRING)) FROM generate_series(1, 3000000)")
                    .await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(after_ms)).await;
        insert.abort();
        let _ = insert.await;
        let start = Instant::now();
        while pending_uploads(&prefix) > 0 && start.elapsed().as_secs() < 10 {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(pending_uploads(&prefix), 0, "cancelled after {after_ms} ms");
    }
    // Whatever the cancels left committed is whole: every insert is all rows or none.
    let n: u64 = rows(&tm, "SELECT count(*) FROM big").await[0].parse().unwrap();
    assert_eq!(n % 3_000_000, 0);
}
