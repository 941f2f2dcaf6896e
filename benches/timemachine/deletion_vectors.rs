//! Row-level changes with deletion vectors (merge-on-read) against copy-on-write, on a
//! lineitem-sized table where every file holds changed rows: DELETE, UPDATE and MERGE of 1% of
//! the rows (time and bytes written, in turns), MERGE against its own join, and a scan after
//! the deletes against the scan before.

use std::path::Path;
use std::time::{Duration, Instant};

use datafusion_timemachine::TimeMachine;

use crate::{dir_bytes, exec, median, ms, row, scratch};

/// Runs `sql` on table `t` (its `{t}`) from the version `base` (restored first, not timed): its
/// time and the bytes it wrote under `dir`.
async fn from(tm: &TimeMachine, dir: &Path, (t, base): (&str, u64), sql: &str) -> (Duration, u64) {
    let sql = sql.replace("{t}", t);
    exec(tm, &format!("RESTORE TABLE {t} TO LSN '{base}'")).await;
    tm.project().wait_background().await;
    let before = dir_bytes(dir);
    let start = Instant::now();
    exec(tm, &sql).await;
    let took = start.elapsed();
    tm.project().wait_background().await;
    (took, dir_bytes(dir).saturating_sub(before))
}

/// How long `sql` takes.
pub(crate) async fn timed(tm: &TimeMachine, sql: &str) -> Duration {
    let start = Instant::now();
    exec(tm, sql).await;
    start.elapsed()
}

pub(crate) fn ratio(a: f64, b: f64) -> String {
    format!("{:.3}", a / b)
}

/// Each of `statements` (`{t}` for the table) on the merge-on-read table and on its
/// copy-on-write twin, each run from the given version, in turns: a row of times and one of bytes.
/// Returns each statement's median copy-on-write time.
pub(crate) async fn compare_modes(
    tm: &TimeMachine,
    dir: &Path,
    (mor, cow): ((&str, u64), (&str, u64)),
    statements: &[(&str, String)],
    of: &str,
    runs: usize,
) -> Vec<Duration> {
    let mut cow_times = vec![];
    for (what, sql) in statements {
        // In turns: merge-on-read, copy-on-write, …
        let (mut t_mor, mut t_cow, mut b_mor, mut b_cow) = (vec![], vec![], vec![], vec![]);
        for _ in 0..runs.min(3) {
            let (t, b) = from(tm, dir, mor, sql).await;
            t_mor.push(t);
            b_mor.push(b);
            let (t, b) = from(tm, dir, cow, sql).await;
            t_cow.push(t);
            b_cow.push(b);
        }
        let (t_mor, t_cow) = (median(t_mor), median(t_cow));
        b_mor.sort();
        b_cow.sort();
        let (b_mor, b_cow) = (b_mor[b_mor.len() / 2] as f64, b_cow[b_cow.len() / 2] as f64);
        row(
            &format!("{what} {of}: merge-on-read vs copy-on-write"),
            ms(t_mor),
            ms(t_cow),
            ratio(t_mor.as_secs_f64(), t_cow.as_secs_f64()),
            "<= 0.05",
        );
        let mib = |b: f64| format!("{:.1} MiB", b / (1 << 20) as f64);
        row("  bytes written", mib(b_mor), mib(b_cow), ratio(b_mor, b_cow), "<= 0.05");
        cow_times.push(t_cow);
    }
    cow_times
}

pub(crate) async fn bench_deletion_vectors(rows: u64, runs: usize) {
    let dir = scratch("deletion_vectors");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(
        &tm,
        &format!(
            "CREATE TABLE li AS SELECT value / 4 AS k, value % 4 AS ln, CAST(value % 10 AS DOUBLE) / 100 AS tax, \
             'comment ' || value AS c FROM generate_series(1, {rows})"
        ),
    )
    .await;
    // The copy-on-write twin shares li's files (CLONE), so both start from the same layout.
    exec(&tm, "CLONE TABLE li TO lc").await;
    let lsn = |tm: &TimeMachine, t: &str| tm.project().state().live_table(t).unwrap().current.lsn;
    exec(&tm, "ALTER TABLE lc SET TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')").await;
    exec(&tm, "ALTER TABLE li SET TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')").await;
    let (cow, mor) = (("lc", lsn(&tm, "lc")), ("li", lsn(&tm, "li")));
    let merge = "MERGE INTO {t} t USING (SELECT * FROM {t} WHERE k % 83 = 7) s ON t.k = s.k AND t.ln = s.ln \
                 WHEN MATCHED THEN UPDATE SET tax = s.tax + 0.01";
    let mixed = format!(
        "MERGE INTO {{t}} t USING (SELECT k, ln, tax, c, 'u' AS op FROM {{t}} WHERE k % 83 = 7 \
         UNION ALL SELECT k, ln, tax, c, 'd' FROM {{t}} WHERE k % 89 = 5 AND k % 83 <> 7 \
         UNION ALL SELECT k + {rows}, ln, tax, c, 'i' FROM {{t}} WHERE k % 97 = 3) s ON t.k = s.k AND t.ln = s.ln \
         WHEN MATCHED AND s.op = 'u' THEN UPDATE SET tax = s.tax + 0.01 \
         WHEN MATCHED AND s.op = 'd' THEN DELETE \
         WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.ln, s.tax, s.c)"
    );
    let statements = [
        ("DELETE 1% spread over every file", "DELETE FROM {t} WHERE k % 97 = 3".to_string()),
        ("UPDATE 1% spread over every file", "UPDATE {t} SET tax = tax + 0.01 WHERE k % 89 = 5".to_string()),
        ("MERGE 1% updates", merge.to_string()),
        ("MERGE 1% upd + 1% del + 1% ins", mixed.clone()),
    ];
    compare_modes(&tm, &dir, (mor, cow), &statements, &format!("of {rows} rows"), runs).await;
    // MERGE against the same join run as a plain query (issue 21 §0: within 2x): the join of the
    // keys only, and the join reading what the MERGE reads (every column of the source's rows and
    // of the target rows they match; a MERGE without NOT MATCHED BY SOURCE needs no other).
    let source = format!(
        "SELECT k, ln, tax, c, 'u' AS op FROM li WHERE k % 83 = 7 UNION ALL SELECT k, ln, tax, c, 'd' FROM li \
         WHERE k % 89 = 5 AND k % 83 <> 7 UNION ALL SELECT k + {rows}, ln, tax, c, 'i' FROM li WHERE k % 97 = 3"
    );
    let columns = |source: &str| {
        format!(
            "SELECT count(*), sum(s.tax), max(s.c), sum(t.tax), max(t.c) FROM ({source}) s \
             LEFT JOIN li t ON t.k = s.k AND t.ln = s.ln"
        )
    };
    let joins = [
        (
            merge.to_string(),
            "SELECT count(*) FROM li t JOIN (SELECT * FROM li WHERE k % 83 = 7) s ON t.k = s.k AND t.ln = s.ln"
                .to_string(),
            columns("SELECT * FROM li WHERE k % 83 = 7"),
        ),
        (
            mixed,
            format!(
                "SELECT count(*) FROM li t FULL JOIN (SELECT k, ln FROM li WHERE k % 83 = 7 UNION ALL SELECT k, ln FROM li \
                 WHERE k % 89 = 5 AND k % 83 <> 7 UNION ALL SELECT k + {rows}, ln FROM li WHERE k % 97 = 3) s ON t.k = s.k AND t.ln = s.ln"
            ),
            columns(&source),
        ),
    ];
    for ((sql, keys, read), what) in joins.iter().zip(["MERGE 1% updates", "MERGE 1% upd + 1% del + 1% ins"]) {
        // In turns: the MERGE, its join of keys, its join reading the columns.
        let (mut merges, mut plain, mut reading) = (vec![], vec![], vec![]);
        for _ in 0..runs.min(3) {
            merges.push(from(&tm, &dir, mor, sql).await.0);
            exec(&tm, &format!("RESTORE TABLE li TO LSN '{}'", mor.1)).await;
            plain.push(timed(&tm, keys).await);
            reading.push(timed(&tm, read).await);
        }
        let (t_merge, t_join, t_read) = (median(merges), median(plain), median(reading));
        for (against, t) in [("its join", t_join), ("its join reading the columns it writes", t_read)] {
            row(
                &format!("{what} (merge-on-read) vs {against}"),
                ms(t_merge),
                ms(t),
                ratio(t_merge.as_secs_f64(), t.as_secs_f64()),
                "<= 2",
            );
        }
    }
    // A scan after 1% of the rows were deleted through vectors, against the scan before.
    let scan = "SELECT count(*), sum(tax), max(c) FROM li";
    exec(&tm, &format!("RESTORE TABLE li TO LSN '{}'", mor.1)).await;
    let before = lsn(&tm, "li");
    exec(&tm, "DELETE FROM li WHERE k % 97 = 3").await;
    let (mut after, mut plain) = (vec![], vec![]);
    for _ in 0..runs {
        let start = Instant::now();
        exec(&tm, scan).await;
        after.push(start.elapsed());
        let start = Instant::now();
        exec(&tm, &format!("SELECT count(*), sum(tax), max(c) FROM li VERSION AS OF {before}")).await;
        plain.push(start.elapsed());
    }
    let (t_after, t_before) = (median(after), median(plain));
    row(
        "scan after the vectors' DELETE vs before it",
        ms(t_after),
        ms(t_before),
        ratio(t_after.as_secs_f64(), t_before.as_secs_f64()),
        "<= 1.1",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
