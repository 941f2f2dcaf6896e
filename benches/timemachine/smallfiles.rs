//! MERGE SMALLFILES: a scan of a table fed by one-row appends (one file each), before and after
//! the merge, against the same rows written by one statement.

use std::time::Instant;

use datafusion_timemachine::TimeMachine;

use crate::{exec, ms, row, scratch, timed_pair};

pub(crate) async fn bench_smallfiles(appends: u64, runs: usize) {
    let dir = scratch("smallfiles");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE small (k BIGINT, s STRING)").await;
    for i in 0..appends {
        exec(&tm, &format!("INSERT INTO small VALUES ({i}, 'row {i}')")).await;
    }
    let one =
        format!("CREATE TABLE one AS SELECT value AS k, 'row ' || value AS s FROM generate_series(0, {})", appends - 1);
    exec(&tm, &one).await;
    let scan = |t: &'static str| {
        let tm = tm.clone();
        move |_| {
            let tm = tm.clone();
            async move { exec(&tm, &format!("SELECT count(*), sum(k), max(s) FROM {t}")).await }
        }
    };
    let (before, base_before) = timed_pair(runs, scan("small"), scan("one")).await;
    row(
        &format!("scan after {appends} one-row appends"),
        ms(before),
        ms(base_before),
        format!("{:.2}", before.as_secs_f64() / base_before.as_secs_f64()),
        "(before the merge)",
    );
    let start = Instant::now();
    exec(&tm, "ALTER TABLE small MERGE SMALLFILES").await;
    let merge = start.elapsed();
    let (after, base_after) = timed_pair(runs, scan("small"), scan("one")).await;
    row(
        "  the same scan after MERGE SMALLFILES",
        ms(after),
        ms(base_after),
        format!("{:.2}", after.as_secs_f64() / base_after.as_secs_f64()),
        "ratio ≤ 1.1",
    );
    row(&format!("  MERGE SMALLFILES of {appends} files"), ms(merge), "-".into(), "-".into(), "one version");
    let _ = std::fs::remove_dir_all(&dir);
}
