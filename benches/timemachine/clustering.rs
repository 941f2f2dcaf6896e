//! Clustered tables against the same rows unclustered: a point lookup on a hash-clustered table
//! (CLUSTERED BY k INTO 64 BUCKETS), a key range and a top-k ORDER BY on a range-clustered one
//! (RANGE CLUSTERED BY k INTO 64 BUCKETS), and what writing them clustered costs.

use std::time::{Duration, Instant};

use datafusion_timemachine::TimeMachine;

use crate::{exec, ms, row, scratch, timed_pair};

async fn write(tm: &TimeMachine, sql: &str) -> Duration {
    let start = Instant::now();
    exec(tm, sql).await;
    start.elapsed()
}

fn ratio(ours: Duration, base: Duration) -> String {
    format!("{:.3}", ours.as_secs_f64() / base.as_secs_f64())
}

pub(crate) async fn bench_clustering(rows: u64, runs: usize) {
    let dir = scratch("clustering");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE h (k BIGINT, v DOUBLE, s STRING) CLUSTERED BY (k) SORTED BY (k) INTO 64 BUCKETS").await;
    exec(&tm, "CREATE TABLE r (k BIGINT, v DOUBLE, s STRING) RANGE CLUSTERED BY (k) INTO 64 BUCKETS").await;
    exec(&tm, "CREATE TABLE plain (k BIGINT, v DOUBLE, s STRING)").await;
    // Keys in random order (a multiplicative hash of the row number), about 6 rows per key.
    let source = format!(
        "SELECT (value * 2654435761) % {} AS k, CAST(value AS DOUBLE) AS v, 'row ' || CAST(value AS STRING) AS s \
         FROM generate_series(1, {rows})",
        rows / 6
    );
    let plain = write(&tm, &format!("INSERT INTO plain {source}")).await;
    let hash = write(&tm, &format!("INSERT INTO h {source}")).await;
    let range = write(&tm, &format!("INSERT INTO r {source}")).await;
    row(&format!("INSERT {rows} rows hash-clustered vs plain"), ms(hash), ms(plain), ratio(hash, plain), "(cost)");
    row(&format!("INSERT {rows} rows range-clustered vs plain"), ms(range), ms(plain), ratio(range, plain), "(cost)");
    let query = |sql: &str, table: &str| {
        let (tm, sql) = (tm.clone(), sql.replace("{t}", table));
        move |i: usize| {
            let (tm, sql) = (tm.clone(), sql.replace("{i}", &(12345 + 7919 * i as u64).to_string()));
            async move { exec(&tm, &sql).await }
        }
    };
    let lookup = "SELECT count(*), sum(v) FROM {t} WHERE k = {i}";
    let (ours, base) = timed_pair(runs, query(lookup, "h"), query(lookup, "plain")).await;
    row("point lookup `k = c`, hash-clustered vs plain", ms(ours), ms(base), ratio(ours, base), "< 0.2 (one bucket)");
    let span = "SELECT count(*), sum(v) FROM {t} WHERE k BETWEEN {i} AND {i} + 5000";
    let (ours, base) = timed_pair(runs, query(span, "r"), query(span, "plain")).await;
    row("key range (0.5% of keys), range-clustered vs plain", ms(ours), ms(base), ratio(ours, base), "< 0.2");
    let top = "SELECT k, v FROM {t} ORDER BY k LIMIT 10000";
    let (ours, base) = timed_pair(runs, query(top, "r"), query(top, "plain")).await;
    row("ORDER BY k LIMIT 10000, range-clustered vs plain", ms(ours), ms(base), ratio(ours, base), "< 0.5 (no sort)");
    let _ = std::fs::remove_dir_all(&dir);
}
