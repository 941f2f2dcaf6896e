//! What the time machine costs against plain DataFusion, and how it scales with versions and
//! data. Prints one table of figures and ratios, each measured in this run against its baseline.
//!
//! `cargo bench --bench timemachine -- [--rows N] [--write-rows N] [--versions N] [--runs N] [--only a,b]`
//! Sections: scan, write, restore, delete, merge, deletion_vectors, smallfiles, clustering, server, versions, purge, steady, partitions, memory, ballista; and
//! `peers` (only when named: the workloads of benches/peers/peers.py, as `PEER key value` lines);
//! `tpch` (only when named, with `--tpch-data DIR`: the 22 TPC-H queries, run by benches/tpch/tpch.py);
//! `tpch_refresh` (only when named, with `--tpch-data DIR`: row-level changes of SF1 lineitem in both modes).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use clap::Parser;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl};
use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::ExecutionPlan;
use datafusion::prelude::SessionContext;
use datafusion_timemachine::purge_project;
use datafusion_timemachine::{ManualClock, TimeMachine, Warehouse};
use futures::stream::BoxStream;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjPath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};

#[path = "timemachine/clustering.rs"]
mod clustering;
#[path = "timemachine/deletion_vectors.rs"]
mod deletion_vectors;
#[path = "timemachine/server.rs"]
mod server;
#[path = "timemachine/smallfiles.rs"]
mod smallfiles;
#[path = "timemachine/tpch.rs"]
mod tpch;
#[path = "timemachine/tpch_refresh.rs"]
mod tpch_refresh;

#[derive(Debug, Parser)]
struct Args {
    /// Rows of the scan and restore tables.
    #[arg(long, default_value_t = 5_000_000)]
    rows: u64,
    /// Rows written by the write benchmark.
    #[arg(long, default_value_t = 10_000_000)]
    write_rows: u64,
    /// Versions of the many-versions benchmark.
    #[arg(long, default_value_t = 10_000)]
    versions: u64,
    /// Rows of the memory benchmark's INSERT OVERWRITE.
    #[arg(long, default_value_t = 30_000_000)]
    memory_rows: u64,
    /// Rows of the DELETE benchmark's table.
    #[arg(long, default_value_t = 20_000_000)]
    delete_rows: u64,
    /// Rows of the MERGE benchmark's table (the size of TPC-H SF1 lineitem).
    #[arg(long, default_value_t = 6_000_000)]
    merge_rows: u64,
    /// Rows of the server benchmark's large result.
    #[arg(long, default_value_t = 3_000_000)]
    server_rows: u64,
    /// Rows of the peers workloads (`--only peers`, run by benches/peers/peers.py).
    #[arg(long, default_value_t = 20_000_000)]
    peer_rows: u64,
    /// One-row appends of the peers workloads.
    #[arg(long, default_value_t = 3_000)]
    peer_appends: u64,
    /// The TPC-H tables as Parquet files, `<table>.parquet` (`--only tpch`, run by benches/tpch/tpch.py).
    #[arg(long)]
    tpch_data: Option<PathBuf>,
    /// Where `--only tpch` writes its answers (`q<n>.csv`).
    #[arg(long)]
    tpch_answers: Option<PathBuf>,
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Only these sections (comma-separated).
    #[arg(long)]
    only: Option<String>,
    /// Internal: run one memory probe in this process and print its peak RSS.
    #[arg(long, hide = true)]
    child: Option<String>,
    /// Internal: the warehouse of a memory probe.
    #[arg(long, hide = true)]
    dir: Option<PathBuf>,
    /// Ignored (cargo bench passes it).
    #[arg(long, hide = true)]
    bench: bool,
}

/// The checkout being measured, read at run time (checkouts sharing a `CARGO_TARGET_DIR` share
/// this binary; a compile-time path reads whichever built it last).
fn source_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn row(what: &str, ours: String, baseline: String, ratio: String, goal: &str) {
    println!("| {what:<44} | {ours:>14} | {baseline:>14} | {ratio:>8} | {goal:<22} |");
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tm-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn exec(tm: &TimeMachine, sql: &str) {
    if let Err(e) = tm.execute(sql).await {
        panic!("{sql}: {e}");
    }
}

async fn timed<F, Fut>(runs: usize, mut f: F) -> Duration
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut times = Vec::with_capacity(runs);
    for i in 0..runs {
        let start = Instant::now();
        f(i).await;
        times.push(start.elapsed());
    }
    median(times)
}

/// Medians of `runs` runs each of `a` and `b`, taken in turns (a, b, a, b, …) so that the
/// machine drifting (frequency, caches, another process) weighs on both alike.
async fn timed_pair<A, AF, B, BF>(runs: usize, mut a: A, mut b: B) -> (Duration, Duration)
where
    A: FnMut(usize) -> AF,
    AF: std::future::Future<Output = ()>,
    B: FnMut(usize) -> BF,
    BF: std::future::Future<Output = ()>,
{
    let (mut ta, mut tb) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..runs {
        let start = Instant::now();
        a(i).await;
        ta.push(start.elapsed());
        let start = Instant::now();
        b(i).await;
        tb.push(start.elapsed());
    }
    (median(ta), median(tb))
}

/// Counts bytes put through a store (restore cost).
#[derive(Debug)]
struct Counting {
    inner: Arc<dyn ObjectStore>,
    bytes: AtomicU64,
}

impl std::fmt::Display for Counting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Counting({})", self.inner)
    }
}

#[async_trait]
impl ObjectStore for Counting {
    async fn put_opts(&self, l: &ObjPath, p: PutPayload, o: PutOptions) -> object_store::Result<PutResult> {
        self.bytes.fetch_add(p.content_length() as u64, Ordering::SeqCst);
        self.inner.put_opts(l, p, o).await
    }
    async fn put_multipart_opts(
        &self,
        l: &ObjPath,
        o: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.bytes.fetch_add(1 << 40, Ordering::SeqCst); // a data upload: never expected in a restore
        self.inner.put_multipart_opts(l, o).await
    }
    async fn get_opts(&self, l: &ObjPath, o: GetOptions) -> object_store::Result<GetResult> {
        self.inner.get_opts(l, o).await
    }
    fn delete_stream(
        &self,
        l: BoxStream<'static, object_store::Result<ObjPath>>,
    ) -> BoxStream<'static, object_store::Result<ObjPath>> {
        self.inner.delete_stream(l)
    }
    fn list(&self, p: Option<&ObjPath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(p)
    }
    fn list_with_offset(
        &self,
        p: Option<&ObjPath>,
        o: &ObjPath,
    ) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list_with_offset(p, o)
    }
    async fn list_with_delimiter(&self, p: Option<&ObjPath>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(p).await
    }
    async fn copy_opts(&self, f: &ObjPath, t: &ObjPath, o: CopyOptions) -> object_store::Result<()> {
        self.inner.copy_opts(f, t, o).await
    }
}

/// Registers a plain DataFusion ListingTable over exactly the files of `table` at `lsn`.
async fn baseline_table(tm: &TimeMachine, dir: &Path, table: &str, lsn: u64) -> Arc<ListingTable> {
    let (files, schema) = {
        let state = tm.project().state();
        let t = state.live_table(table).unwrap();
        let snap = t.state_at(lsn).unwrap();
        let files: Vec<String> = snap.partitions.values().flat_map(|p| &p.files).map(|f| f.path.clone()).collect();
        (files, datafusion_timemachine::types::file_schema(&snap.schema).unwrap())
    };
    let urls = files
        .iter()
        .map(|f| ListingTableUrl::parse(format!("file://{}", dir.join("default").join(f).display())).unwrap())
        .collect();
    let options = ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension(".parquet");
    let config = ListingTableConfig::new_with_multi_paths(urls).with_listing_options(options).with_schema(schema);
    Arc::new(ListingTable::try_new(config).unwrap())
}

async fn run_query(ctx: &SessionContext, sql: &str) {
    ctx.sql(sql).await.unwrap().collect().await.unwrap();
}

const QUERIES: &[(&str, &str)] = &[
    ("aggregate + filter", "SELECT count(*), sum(v), avg(k) FROM {t} WHERE tag = 'tag7'"),
    ("group by", "SELECT tag, count(*), max(v) FROM {t} GROUP BY tag ORDER BY 2 DESC LIMIT 5"),
];

async fn bench_scan(a: &Args) {
    let dir = scratch("scan");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE s (k BIGINT, v DOUBLE, tag STRING)").await;
    let fill = |seed: u64| {
        format!(
            "INSERT OVERWRITE TABLE s SELECT value, value * {seed}.5, 'tag' || (value % 100) FROM generate_series(1, {})",
            a.rows
        )
    };
    exec(&tm, &fill(1)).await;
    exec(&tm, &fill(2)).await;
    // s2's current version holds exactly s at LSN 2 (the same files), so reading the past
    // through `VERSION AS OF` is measured against reading the same data as a current version.
    exec(&tm, "RESTORE TABLE s TO LSN '2' AS s2").await;
    let plain = SessionContext::new();
    plain.register_table("s", baseline_table(&tm, &dir, "s", 3).await).unwrap();
    plain.register_table("s_old", baseline_table(&tm, &dir, "s", 2).await).unwrap();
    for (name, q) in QUERIES {
        for (label, t) in [("current", "s"), ("LSN 2", "s_old")] {
            let sql = q.replace("{t}", t);
            let ours_sql = q.replace("{t}", if t == "s" { "s" } else { "s VERSION AS OF 2" });
            run_query(tm.context(), &ours_sql).await; // warm up
            run_query(&plain, &sql).await;
            let (ours, base) =
                timed_pair(a.runs, |_| run_query(tm.context(), &ours_sql), |_| run_query(&plain, &sql)).await;
            row(
                &format!("scan {name}, {label}, {} rows", a.rows),
                ms(ours),
                ms(base),
                format!("{:.3}", ours.as_secs_f64() / base.as_secs_f64()),
                "ratio <= 1.05",
            );
        }
        let past = q.replace("{t}", "s VERSION AS OF 2");
        let same = q.replace("{t}", "s2");
        let (travel, current) =
            timed_pair(a.runs, |_| run_query(tm.context(), &past), |_| run_query(tm.context(), &same)).await;
        row(
            &format!("time travel {name}: LSN 2 vs same data current"),
            ms(travel),
            ms(current),
            format!("{:.3}", travel.as_secs_f64() / current.as_secs_f64()),
            "ratio <= 1.05",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

async fn bench_write(a: &Args) {
    let dir = scratch("write");
    let tm = TimeMachine::open(dir.join("wh").to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE w (k BIGINT, v DOUBLE, tag STRING)").await;
    let select = format!(
        "SELECT value AS k, value * 1.5 AS v, 'tag' || (value % 100) AS tag FROM generate_series(1, {})",
        a.write_rows
    );
    let plain = SessionContext::new();
    let runs = a.runs.min(3);
    let insert = format!("INSERT OVERWRITE TABLE w {select}");
    let ours = timed(runs, |_| exec(&tm, &insert)).await;
    let base = timed(runs, |i| {
        let sql = format!(
            "COPY ({select}) TO '{}' STORED AS PARQUET OPTIONS ('format.compression' 'snappy')",
            dir.join(format!("copy{i}.parquet")).display()
        );
        let plain = plain.clone();
        async move { run_query(&plain, &sql).await }
    })
    .await;
    row(
        &format!("INSERT OVERWRITE {} rows vs COPY TO parquet", a.write_rows),
        ms(ours),
        ms(base),
        format!("{:.3}", ours.as_secs_f64() / base.as_secs_f64()),
        "ratio <= 1.10",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn bench_restore(a: &Args) {
    // A 1-row and an N-row table, each in a warehouse of its own; every restore form runs on
    // both in turns (small, big, small, …) so that the machine's drift weighs on both alike.
    let mut sides = vec![];
    for rows in [1, a.rows] {
        let dir = scratch(&format!("restore{rows}"));
        let store = Arc::new(Counting {
            inner: Arc::new(LocalFileSystem::new_with_prefix(&dir).unwrap()),
            bytes: AtomicU64::new(0),
        });
        let tm = TimeMachine::builder()
            .warehouse(Warehouse::with_store(Arc::clone(&store) as _, "bench"))
            .build()
            .await
            .unwrap();
        exec(&tm, "CREATE TABLE r (k BIGINT, s STRING)").await;
        exec(&tm, &format!("INSERT OVERWRITE TABLE r SELECT value, 'row ' || value FROM generate_series(1, {rows})"))
            .await;
        exec(&tm, "INSERT OVERWRITE TABLE r VALUES (0, 'other')").await;
        let id = tm.project().state().live_table("r").unwrap().id.clone();
        sides.push((dir, store, tm, id));
    }
    for (what, stmt) in [
        ("RESTORE TO LSN", "RESTORE TABLE r TO LSN '2'"),
        ("RESTORE … AS new table", "RESTORE TABLE r TO LSN '2' AS r_{i}"),
        ("undrop", "RESTORE TABLE r ('id'='{id}')"),
    ] {
        let mut times = [vec![], vec![]];
        let mut bytes = [vec![], vec![]];
        for i in 0..a.runs.max(3) {
            for (side, (_, store, tm, id)) in sides.iter().enumerate() {
                if what == "undrop" {
                    exec(tm, "DROP TABLE r").await;
                }
                tm.project().wait_background().await;
                let sql = stmt.replace("{i}", &i.to_string()).replace("{id}", id);
                let before = store.bytes.load(Ordering::SeqCst);
                let start = Instant::now();
                exec(tm, &sql).await;
                times[side].push(start.elapsed());
                bytes[side].push(store.bytes.load(Ordering::SeqCst) - before);
            }
        }
        let [t_small, t_big] = times.map(median);
        let [b_small, b_big] = bytes.map(|mut b| {
            b.sort();
            b[b.len() / 2]
        });
        row(
            &format!("{what}: {} rows vs 1 row", a.rows),
            ms(t_big),
            ms(t_small),
            format!("{:.3}", t_big.as_secs_f64() / t_small.as_secs_f64()),
            "ratio <= 1.1, <= 5 ms",
        );
        row(
            &format!("{what}: bytes written, {} rows vs 1 row", a.rows),
            format!("{b_big} B"),
            format!("{b_small} B"),
            format!("{:.3}", b_big as f64 / b_small as f64),
            "< 4 KiB",
        );
    }
    for (dir, ..) in sides {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// DELETE of 1% of the rows (one key range): copy-on-write rewrites the file holding them,
/// against rewriting the whole table without them (INSERT OVERWRITE … WHERE NOT …).
async fn bench_delete(a: &Args) {
    let dir = scratch("delete");
    let store = Arc::new(Counting {
        inner: Arc::new(LocalFileSystem::new_with_prefix(&dir).unwrap()),
        bytes: AtomicU64::new(0),
    });
    let tm = TimeMachine::builder()
        .warehouse(Warehouse::with_store(Arc::clone(&store) as _, "bench"))
        .build()
        .await
        .unwrap();
    exec(&tm, "CREATE TABLE d (k BIGINT, s STRING)").await;
    exec(&tm, &format!("INSERT INTO d SELECT value, 'row ' || value FROM generate_series(1, {})", a.delete_rows)).await;
    let cut = a.delete_rows / 100;
    let measure = |sql: String| {
        let (tm, store) = (tm.clone(), Arc::clone(&store));
        async move {
            let mut times = vec![];
            let mut bytes = vec![];
            for _ in 0..a.runs.min(3) {
                tm.project().wait_background().await;
                let before = store.bytes.load(Ordering::SeqCst);
                let start = Instant::now();
                exec(&tm, &sql).await;
                times.push(start.elapsed());
                bytes.push(store.bytes.load(Ordering::SeqCst) - before);
                exec(&tm, "RESTORE TABLE d TO LSN '2'").await;
            }
            bytes.sort();
            (median(times), bytes[bytes.len() / 2])
        }
    };
    let (t_delete, b_delete) = measure(format!("DELETE FROM d WHERE k <= {cut}")).await;
    let (t_full, b_full) = measure(format!("INSERT OVERWRITE TABLE d SELECT * FROM d WHERE NOT (k <= {cut})")).await;
    let what = format!("DELETE 1% of {} rows vs rewriting all", a.delete_rows);
    row(
        &what,
        ms(t_delete),
        ms(t_full),
        format!("{:.3}", t_delete.as_secs_f64() / t_full.as_secs_f64()),
        "ratio < 0.2",
    );
    let mib = |b: u64| format!("{:.1} MiB", b as f64 / (1 << 20) as f64);
    row(
        "  bytes written",
        mib(b_delete),
        mib(b_full),
        format!("{:.3}", b_delete as f64 / b_full as f64),
        "only touched files",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// MERGE of 1% of a lineitem-sized table (copy-on-write: every file holds a matched row) against
/// the same join run as a plain query: a MERGE must cost its join plus the rewrite, not more.
async fn bench_merge(a: &Args) {
    let dir = scratch("merge");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    let n = a.merge_rows;
    exec(
        &tm,
        &format!(
            "CREATE TABLE li AS SELECT value / 4 AS k, value % 4 AS ln, CAST(value % 10 AS DOUBLE) / 100 AS tax, \
             'comment ' || value AS c FROM generate_series(1, {n})"
        ),
    )
    .await;
    // This section measures copy-on-write (section deletion_vectors measures the default).
    exec(&tm, "ALTER TABLE li SET TBLPROPERTIES ('timemachine.delete.mode'='copy-on-write')").await;
    let base = tm.project().state().live_table("li").unwrap().current.lsn;
    let update = "MERGE INTO li t USING (SELECT * FROM li WHERE k % 83 = 7) s ON t.k = s.k AND t.ln = s.ln \
                  WHEN MATCHED THEN UPDATE SET tax = s.tax + 0.01";
    let join = "SELECT count(*) FROM li t JOIN (SELECT * FROM li WHERE k % 83 = 7) s ON t.k = s.k AND t.ln = s.ln";
    // 1% updates, 1% deletes, 1% inserts (keys above the table's).
    let mixed = format!(
        "MERGE INTO li t USING (SELECT k, ln, tax, c, 'u' AS op FROM li WHERE k % 83 = 7 \
         UNION ALL SELECT k, ln, tax, c, 'd' FROM li WHERE k % 89 = 5 AND k % 83 <> 7 \
         UNION ALL SELECT k + {n}, ln, tax, c, 'i' FROM li WHERE k % 97 = 3) s ON t.k = s.k AND t.ln = s.ln \
         WHEN MATCHED AND s.op = 'u' THEN UPDATE SET tax = s.tax + 0.01 \
         WHEN MATCHED AND s.op = 'd' THEN DELETE \
         WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.ln, s.tax, s.c)"
    );
    let mixed_join = format!(
        "SELECT count(*) FROM li t FULL JOIN (SELECT k, ln FROM li WHERE k % 83 = 7 UNION ALL SELECT k, ln FROM li \
         WHERE k % 89 = 5 AND k % 83 <> 7 UNION ALL SELECT k + {n}, ln FROM li WHERE k % 97 = 3) s ON t.k = s.k AND t.ln = s.ln"
    );
    for (what, merge, join) in [
        ("MERGE 1% updates", update.to_string(), join.to_string()),
        ("MERGE 1% upd + 1% del + 1% ins", mixed, mixed_join),
    ] {
        // In turns (merge, join, merge, join …); the restore between merges is not timed.
        let (mut merges, mut joins) = (vec![], vec![]);
        for _ in 0..a.runs.min(3) {
            let start = Instant::now();
            exec(&tm, &merge).await;
            merges.push(start.elapsed());
            tm.project().wait_background().await;
            exec(&tm, &format!("RESTORE TABLE li TO LSN '{base}'")).await;
            let start = Instant::now();
            exec(&tm, &join).await;
            joins.push(start.elapsed());
        }
        let (t_merge, t_join) = (median(merges), median(joins));
        let what = format!("{what} of {n} rows vs its join");
        row(
            &what,
            ms(t_merge),
            ms(t_join),
            format!("{:.2}", t_merge.as_secs_f64() / t_join.as_secs_f64()),
            "ratio <= 2 (incl. rewrite)",
        );
    }
    // The change feed of that 1% MERGE reads its change files, not the table.
    exec(&tm, update).await;
    tm.project().wait_background().await;
    let lsn = tm.project().state().live_table("li").unwrap().current.lsn;
    let feed = format!("SELECT count(*), sum(tax) FROM table_changes('li', {lsn}, {lsn})");
    let scan = "SELECT count(*), sum(tax) FROM li";
    let (mut feeds, mut scans) = (vec![], vec![]);
    for _ in 0..a.runs {
        let start = Instant::now();
        exec(&tm, &feed).await;
        feeds.push(start.elapsed());
        let start = Instant::now();
        exec(&tm, scan).await;
        scans.push(start.elapsed());
    }
    let (t_feed, t_scan) = (median(feeds), median(scans));
    row(
        &format!("table_changes of that MERGE vs a scan of the {n} rows"),
        ms(t_feed),
        ms(t_scan),
        format!("{:.3}", t_feed.as_secs_f64() / t_scan.as_secs_f64()),
        "reads the change files only",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The rows the peers benchmark writes: `a` STRING `'row-i'`, `b` BIGINT `i`, in batches of 1M.
fn peer_batches(rows: u64) -> Vec<datafusion::arrow::record_batch::RecordBatch> {
    use datafusion::arrow::array::{Int64Array, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    let schema =
        Arc::new(Schema::new(vec![Field::new("a", DataType::Utf8, true), Field::new("b", DataType::Int64, true)]));
    (0..rows)
        .step_by(1_000_000)
        .map(|start| {
            let end = (start + 1_000_000).min(rows);
            let a = StringArray::from_iter_values((start..end).map(|i| format!("row-{i}")));
            let b = Int64Array::from_iter_values((start..end).map(|i| i as i64));
            datafusion::arrow::record_batch::RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(a), Arc::new(b)])
                .unwrap()
        })
        .collect()
}

/// Commits per second on S3 (the bucket in `TIMEMACHINE_S3_BUCKET`, e.g. under .ci/with_s3.sh):
/// 4 writers, each with a handle of its own, appending 25 one-row versions to one table.
async fn peer_s3() -> Option<f64> {
    let bucket = std::env::var("TIMEMACHINE_S3_BUCKET").ok()?;
    let location = format!("s3://{bucket}/peers-{}", std::process::id());
    let first = TimeMachine::open(&location).await.unwrap();
    exec(&first, "CREATE TABLE c (w BIGINT, i BIGINT)").await;
    let start = Instant::now();
    let mut tasks = vec![];
    for w in 0..4 {
        let location = location.clone();
        tasks.push(tokio::spawn(async move {
            let tm = TimeMachine::open(&location).await.unwrap();
            for i in 0..25 {
                exec(&tm, &format!("INSERT INTO c VALUES ({w}, {i})")).await;
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let took = start.elapsed();
    Some(100.0 / took.as_secs_f64())
}

/// The workloads of `benches/peers/peers.py`, for this project (in-process): one line
/// `PEER <key> <value>` each, which the script puts beside delta-rs and Lance.
async fn bench_peers(a: &Args) {
    use datafusion::catalog::{CatalogProvider, MemoryCatalogProvider, MemorySchemaProvider, SchemaProvider};
    use datafusion::datasource::MemTable;
    let dir = scratch("peers");
    let wh = dir.join("wh");
    let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
    let peer = |key: &str, value: f64| println!("PEER {key} {value}");
    // The same in-memory Arrow batches the peers write, as a table of the context (one
    // partition per core, as DataFusion splits a scan).
    let batches = peer_batches(a.peer_rows);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut partitions = vec![vec![]; cores];
    for (i, b) in batches.iter().enumerate() {
        partitions[i % cores].push(b.clone());
    }
    let mem = MemTable::try_new(batches[0].schema(), partitions).unwrap();
    let schema = MemorySchemaProvider::new();
    schema.register_table("batches".into(), Arc::new(mem)).unwrap();
    let catalog = MemoryCatalogProvider::new();
    catalog.register_schema("s", Arc::new(schema)).unwrap();
    tm.context().register_catalog("mem", Arc::new(catalog));
    exec(&tm, "CREATE TABLE w (a STRING, b BIGINT)").await;
    let write = timed(a.runs.min(3), |_| exec(&tm, "INSERT OVERWRITE TABLE w SELECT * FROM mem.s.batches")).await;
    peer("write", write.as_secs_f64() * 1e3);
    let scan = timed(a.runs, |_| run_query(tm.context(), "SELECT sum(b), count(*) FROM w")).await;
    peer("scan", scan.as_secs_f64() * 1e3);
    // RESTORE of the big table to its last big version, and of a one-row table.
    let big = tm.project().state().live_table("w").unwrap().current.lsn;
    exec(&tm, "INSERT OVERWRITE TABLE w VALUES ('row-0', 0)").await;
    exec(&tm, "CREATE TABLE r1 (a STRING, b BIGINT)").await;
    exec(&tm, "INSERT OVERWRITE TABLE r1 VALUES ('row-0', 0)").await;
    exec(&tm, "INSERT OVERWRITE TABLE r1 VALUES ('row-1', 1)").await;
    for (key, sql) in [
        ("restore_big", format!("RESTORE TABLE w TO LSN '{big}'")),
        ("restore_small", "RESTORE TABLE r1 TO LSN '2'".to_string()),
    ] {
        tm.project().wait_background().await;
        let t = timed(a.runs, |_| exec(&tm, &sql)).await;
        peer(key, t.as_secs_f64() * 1e3);
    }
    // One-row appends: open at 10 versions, commit time near N, open and history at N. Table h
    // has a warehouse of its own, as each peer's table has its own log: opening it reads h's
    // versions only, and its metadata is h's alone.
    let wh = dir.join("wh_h");
    let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE h (a STRING, b BIGINT)").await;
    for i in 0..9 {
        exec(&tm, &format!("INSERT INTO h VALUES ('row-{i}', {i})")).await;
    }
    tm.project().wait_background().await;
    let open = |runs| {
        let wh = wh.clone();
        timed(runs, move |_| {
            let wh = wh.clone();
            async move {
                let tm = TimeMachine::open(wh.to_str().unwrap()).await.unwrap();
                assert!(tm.project().state().live_table("h").is_some());
            }
        })
    };
    peer("open_10", open(a.runs).await.as_secs_f64() * 1e3);
    let mut last = vec![];
    for i in 10..a.peer_appends {
        let start = Instant::now();
        exec(&tm, &format!("INSERT INTO h VALUES ('row-{i}', {i})")).await;
        if i + 100 >= a.peer_appends {
            last.push(start.elapsed());
        }
    }
    tm.project().wait_background().await;
    let slowest = last.iter().max().copied().unwrap_or_default();
    peer("append", median(last).as_secs_f64() * 1e3);
    peer("append_max", slowest.as_secs_f64() * 1e3);
    peer("open_n", open(a.runs).await.as_secs_f64() * 1e3);
    let history = timed(a.runs, |_| exec(&tm, "SHOW HISTORY FOR TABLE h")).await;
    peer("history_n", history.as_secs_f64() * 1e3);
    let project = wh.join("default");
    let meta = dir_bytes(&project.join("_log")) + dir_bytes(&project.join("_checkpoints"));
    peer("metadata_per_version", meta as f64 / a.peer_appends as f64);
    if let Some(rate) = peer_s3().await {
        peer("s3_commits_per_s", rate);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .flatten()
        .map(|e| if e.path().is_dir() { dir_bytes(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) })
        .sum()
}

/// Commits `n` one-row appends; returns each commit's latency.
async fn appends(tm: &TimeMachine, from: u64, n: u64) -> Vec<Duration> {
    let mut lat = Vec::with_capacity(n as usize);
    for i in from..from + n {
        let start = Instant::now();
        exec(tm, &format!("INSERT INTO a VALUES ({i})")).await;
        lat.push(start.elapsed());
    }
    lat
}

async fn open_time(dir: &Path, runs: usize) -> Duration {
    timed(runs, |_| async {
        let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
        assert!(tm.project().state().live_table("a").is_some());
    })
    .await
}

async fn bench_versions(a: &Args) {
    let clock = Arc::new(ManualClock::new("2020-02-18T00:00:00Z".parse().unwrap()));
    let mut at = vec![];
    for versions in [10, a.versions] {
        let dir = scratch(&format!("versions{versions}"));
        let tm = TimeMachine::builder()
            .location(dir.to_str().unwrap())
            .clock(Arc::clone(&clock) as _)
            .build()
            .await
            .unwrap();
        exec(&tm, "CREATE TABLE a (v BIGINT)").await;
        let fill_start = Instant::now();
        let lat = appends(&tm, 0, versions - 1).await;
        let fill = fill_start.elapsed();
        tm.project().wait_background().await;
        // Sub-millisecond figures: many samples, or the median follows this machine's noise.
        let samples = (a.runs * 10).max(25);
        let open = open_time(&dir, samples).await;
        let next = appends(&tm, versions, samples as u64).await;
        tm.project().wait_background().await;
        let history = timed(a.runs, |_| async {
            tm.execute("SHOW HISTORY FOR TABLE a").await.unwrap();
        })
        .await;
        // Planning only: sql() returns a lazy DataFrame for a query.
        let middle = format!("SELECT count(*) FROM a VERSION AS OF {}", versions / 2);
        let plan_past = timed(a.runs, |_| async {
            tm.sql(&middle).await.unwrap();
        })
        .await;
        let plan_now = timed(a.runs, |_| async {
            tm.sql("SELECT count(*) FROM a").await.unwrap();
        })
        .await;
        // A fresh process's first time travel (open, decode what it needs of the history, plan)
        // against its first plan of the current version. The handles are dropped after the
        // timing: freeing a decoded history is the process's exit, not the query's latency.
        let kept = Arc::new(std::sync::Mutex::new(Vec::new()));
        let cold = |sql: String| {
            let (dir, clock, kept) = (dir.clone(), Arc::clone(&clock), Arc::clone(&kept));
            timed(a.runs, move |_| {
                let (dir, clock, sql, kept) = (dir.clone(), Arc::clone(&clock), sql.clone(), Arc::clone(&kept));
                async move {
                    let fresh =
                        TimeMachine::builder().location(dir.to_str().unwrap()).clock(clock as _).build().await.unwrap();
                    fresh.sql(&sql).await.unwrap();
                    kept.lock().unwrap().push(fresh);
                }
            })
        };
        let cold_past = (cold(middle.clone()).await, cold("SELECT count(*) FROM a".to_string()).await);
        kept.lock().unwrap().clear();
        let meta = dir_bytes(&dir.join("default/_log")) + dir_bytes(&dir.join("default/_checkpoints"));
        let mut sorted = lat.clone();
        sorted.sort();
        let p99 = sorted[sorted.len() * 99 / 100];
        let max = *sorted.last().unwrap();
        at.push((versions, median(next), open, history, meta, p99, max, fill, dir, plan_past, plan_now, cold_past));
    }
    let (small, big) = (&at[0], &at[1]);
    let v = big.0;
    row(
        &format!("commit (1-row append) at {v} vs 10 versions"),
        ms(big.1),
        ms(small.1),
        format!("{:.3}", big.1.as_secs_f64() / small.1.as_secs_f64()),
        "<= 1.2x, <= 10 ms",
    );
    row(
        &format!("open project at {v} vs 10 versions"),
        ms(big.2),
        ms(small.2),
        format!("{:.3}", big.2.as_secs_f64() / small.2.as_secs_f64()),
        "<= 1.2x, <= 2 ms",
    );
    row(
        &format!("SHOW HISTORY at {v} vs 10 versions"),
        ms(big.3),
        ms(small.3),
        format!("{:.1}", big.3.as_secs_f64() / small.3.as_secs_f64()),
        "< 100 ms",
    );
    row(
        &format!("plan VERSION AS OF {} at {v} versions vs current", v / 2),
        ms(big.9),
        ms(big.10),
        format!("{:.2}", big.9.as_secs_f64() / big.10.as_secs_f64()),
        "<= 2 ms",
    );
    row(
        &format!("open + first VERSION AS OF {} at {v} versions vs open + first plan of current", v / 2),
        ms(big.11.0),
        ms(big.11.1),
        format!("{:.1}", big.11.0.as_secs_f64() / big.11.1.as_secs_f64()),
        "<= 10 ms",
    );
    row(
        &format!("commit latency p99 / max over {v} appends"),
        ms(big.5),
        ms(big.6),
        String::new(),
        "no checkpoint spike",
    );
    row(
        &format!("{v} appends in total"),
        ms(big.7),
        String::new(),
        format!("{:.0}/s", v as f64 / big.7.as_secs_f64()),
        "",
    );
    let per_version = big.4 / (v + (a.runs as u64 * 10).max(25));
    row("log + checkpoint bytes per version", format!("{per_version} B"), String::new(), String::new(), "<= 1,000 B");

    for (_, _, _, _, _, _, _, _, dir, _, _, _) in &at {
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// Continuous writes while versions expire all the time: 300 appends at retention 0 (each
/// statement expires the one before) against the same at retention 30 (nothing expires).
async fn bench_steady(a: &Args) {
    let mut handles = vec![];
    for days in [0, 30] {
        let dir = scratch(&format!("steady{days}"));
        let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
        exec(&tm, &format!("SETPROJECT odps.timemachine.retention.days={days}")).await;
        exec(&tm, "CREATE TABLE s (v BIGINT)").await;
        handles.push((dir, tm));
    }
    let appends = |tm: &TimeMachine, run: usize| {
        let tm = tm.clone();
        async move {
            for i in 0..300 {
                exec(&tm, &format!("INSERT INTO s VALUES ({})", run * 1000 + i)).await;
            }
            tm.project().wait_background().await;
        }
    };
    let (t0, t30) =
        timed_pair(a.runs.min(3), |run| appends(&handles[0].1, run), |run| appends(&handles[1].1, run)).await;
    let logs: Vec<usize> =
        handles.iter().map(|(dir, _)| std::fs::read_dir(dir.join("default/_log")).map_or(0, |d| d.count())).collect();
    row(
        "300 appends at retention 0 vs retention 30",
        ms(t0),
        ms(t30),
        format!("{:.2}", t0.as_secs_f64() / t30.as_secs_f64()),
        "ratio <= 1.2",
    );
    row("  log entries left", format!("{}", logs[0]), format!("{}", logs[1]), String::new(), "");
    for (dir, _) in handles {
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Purge after `versions` overwrites expire: time, files deleted, storage before and after.
async fn bench_purge(a: &Args) {
    let dir = scratch("purge");
    let clock = Arc::new(ManualClock::new("2020-02-18T00:00:00Z".parse().unwrap()));
    let tm =
        TimeMachine::builder().location(dir.to_str().unwrap()).clock(Arc::clone(&clock) as _).build().await.unwrap();
    exec(&tm, "CREATE TABLE o (v BIGINT)").await;
    for i in 0..a.versions {
        exec(&tm, &format!("INSERT OVERWRITE TABLE o VALUES ({i})")).await;
    }
    tm.project().wait_background().await;
    let data_before = dir_bytes(&dir.join("default/data"));
    let meta_before = dir_bytes(&dir.join("default/_log")) + dir_bytes(&dir.join("default/_checkpoints"));
    clock.advance(chrono::Duration::days(2));
    tm.project().set_grace(Duration::ZERO).await.unwrap();
    let start = Instant::now();
    let report = purge_project(tm.project(), usize::MAX).await.unwrap();
    let took = start.elapsed();
    let data_after = dir_bytes(&dir.join("default/data"));
    let meta_after = dir_bytes(&dir.join("default/_log")) + dir_bytes(&dir.join("default/_checkpoints"));
    row(
        &format!("purge after {} overwrites expire", a.versions),
        ms(took),
        String::new(),
        format!("{} files", report.files_deleted),
        &format!("+{} log files", report.log_files_deleted),
    );
    row(
        "  storage before -> after (data, metadata)",
        format!("{data_after} B"),
        format!("{data_before} B"),
        format!("{meta_before}->{meta_after}"),
        "",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn files_scanned(plan: &dyn ExecutionPlan) -> (usize, u64) {
    let mut n = (0, 0);
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
    {
        for g in &config.file_groups {
            for f in g.files() {
                n.0 += 1;
                n.1 += f.object_meta.size;
            }
        }
    }
    for c in plan.children() {
        let (a, b) = files_scanned(c.as_ref());
        n.0 += a;
        n.1 += b;
    }
    n
}

async fn bench_partitions() {
    let dir = scratch("partitions");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE p (k BIGINT, s STRING) PARTITIONED BY (ds STRING)").await;
    exec(&tm, "INSERT INTO p PARTITION (ds) SELECT value, 'row ' || value, CAST(value % 1000 AS STRING) FROM generate_series(1, 200000)").await;
    let total: u64 = dir_bytes(&dir.join("default/data"));
    let plan =
        tm.context().sql("SELECT count(*) FROM p WHERE ds = '7'").await.unwrap().create_physical_plan().await.unwrap();
    let (files, bytes) = files_scanned(plan.as_ref());
    row(
        "1,000 partitions: query on one partition",
        format!("{files} files"),
        "1000 files".into(),
        format!("{bytes} B"),
        &format!("of {total} B"),
    );

    exec(&tm, "CREATE TABLE q (k BIGINT, s STRING) PARTITIONED BY (ds STRING)").await;
    exec(&tm, "INSERT INTO q PARTITION (ds) SELECT value, 'row ' || value, CAST(value % 100 AS STRING) FROM generate_series(1, 100000)").await;
    let q_id = tm.project().state().live_table("q").unwrap().id.clone();
    let qdir = dir.join("default/data").join(&q_id);
    let base = dir_bytes(&qdir);
    let part = base / 100;
    for i in 0..100 {
        exec(&tm, &format!("INSERT OVERWRITE TABLE q PARTITION (ds='5') SELECT value, 'row ' || value FROM generate_series({}, {})", i, i + 999)).await;
    }
    let after = dir_bytes(&qdir);
    row(
        "100 overwrites of 1 of 100 partitions: storage",
        format!("{after} B"),
        format!("{} B", base + 100 * part),
        format!("{:.3}", after as f64 / (base + 100 * part) as f64),
        "<= 1.05",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Peak resident memory (VmHWM) of this process, in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn child(a: &Args, what: &str) {
    let dir = a.dir.clone().unwrap();
    let start_rss = peak_rss_mib();
    match what {
        "insert" => {
            let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
            exec(&tm, "CREATE TABLE m (k BIGINT, v DOUBLE, tag STRING)").await;
            let base = peak_rss_mib();
            exec(&tm, &format!("INSERT OVERWRITE TABLE m SELECT value, value * 1.5, 'tag' || (value % 100) FROM generate_series(1, {})", a.memory_rows)).await;
            println!("{base:.0} {:.0}", peak_rss_mib());
        }
        "partitions" => {
            let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
            exec(&tm, "CREATE TABLE dp (v BIGINT, s STRING) PARTITIONED BY (k STRING)").await;
            let base = peak_rss_mib();
            exec(&tm, &format!("INSERT INTO dp PARTITION (k) SELECT value, 'row ' || value, CAST(value % 10000 AS STRING) FROM generate_series(1, {})", a.memory_rows / 10)).await;
            println!("{base:.0} {:.0}", peak_rss_mib());
        }
        "history" => {
            let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
            let base = peak_rss_mib();
            tm.execute("SHOW HISTORY FOR TABLE a").await.unwrap();
            println!("{base:.0} {:.0}", peak_rss_mib());
        }
        _ => {
            let _tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
            println!("{start_rss:.0} {:.0}", peak_rss_mib());
        }
    }
}

fn probe(what: &str, dir: &Path, extra: &[String]) -> (f64, f64) {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--child", what, "--dir"])
        .arg(dir)
        .args(extra)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let mut it = text.split_whitespace().filter_map(|w| w.parse::<f64>().ok());
    (it.next().unwrap_or(0.0), it.next().unwrap_or(0.0))
}

/// Peak RSS (KiB) and seconds of the CLI printing every row of table m as csv to /dev/null,
/// measured by /usr/bin/time (None where it is missing).
fn cli_select_rss(dir: &Path) -> Option<(f64, f64)> {
    let started = Instant::now();
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%M", env!("CARGO_BIN_EXE_timemachine"), "--format", "csv", "--warehouse"])
        .arg(dir)
        .args(["-c", "SELECT * FROM m"])
        .stdout(std::process::Stdio::null())
        .output()
        .ok()?;
    let secs = started.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stderr);
    text.lines().last()?.trim().parse::<f64>().ok().map(|kib| (kib, secs))
}

async fn bench_memory(a: &Args) {
    let dir = scratch("memory");
    let (base, peak) = probe("insert", &dir, &["--memory-rows".into(), a.memory_rows.to_string()]);
    row(
        &format!("peak RSS, INSERT OVERWRITE {} rows", a.memory_rows),
        format!("{peak:.0} MiB"),
        format!("{base:.0} MiB"),
        String::new(),
        "< 1024 MiB",
    );
    if let Some((kib, secs)) = cli_select_rss(&dir) {
        row(
            &format!("CLI peak RSS, SELECT * of {} rows to csv", a.memory_rows),
            format!("{:.0} MiB", kib / 1024.0),
            String::new(),
            format!("{secs:.1} s"),
            "< 200 MiB (streams)",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    let dir = scratch("memory-partitions");
    let (base, peak) = probe("partitions", &dir, &["--memory-rows".into(), a.memory_rows.to_string()]);
    row(
        &format!("peak RSS, INSERT {} rows into 10,000 dynamic partitions", a.memory_rows / 10),
        format!("{peak:.0} MiB"),
        format!("{base:.0} MiB"),
        String::new(),
        "< 512 MiB (bounded)",
    );
    let _ = std::fs::remove_dir_all(&dir);
    let dir = scratch("memory-versions");
    let tm = TimeMachine::open(dir.to_str().unwrap()).await.unwrap();
    exec(&tm, "CREATE TABLE a (v BIGINT)").await;
    appends(&tm, 0, a.versions - 1).await;
    tm.project().wait_background().await;
    let (base, peak) = probe("open", &dir, &[]);
    row(
        &format!("peak RSS, open at {} versions", a.versions),
        format!("{peak:.0} MiB"),
        format!("{base:.0} MiB"),
        String::new(),
        "",
    );
    let (base, peak) = probe("history", &dir, &[]);
    row(
        &format!("peak RSS, SHOW HISTORY at {} versions", a.versions),
        format!("{peak:.0} MiB"),
        format!("{base:.0} MiB"),
        String::new(),
        "",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ballista: the same aggregate locally and on in-process clusters of 1 and 2 executors, the
/// overhead of a small query, and the bytes of a serialized plan as the file list grows.
#[cfg(feature = "ballista")]
async fn bench_ballista(a: &Args) {
    use datafusion_proto::bytes::logical_plan_to_bytes_with_extension_codec;
    use datafusion_timemachine::distributed::{TimeMachineCodec, standalone_context};
    let dir = scratch("ballista");
    let location = dir.to_str().unwrap().to_string();
    let tm = TimeMachine::open(&location).await.unwrap();
    let rows = a.rows * 4;
    exec(&tm, "CREATE TABLE big (a STRING, b BIGINT)").await;
    exec(&tm, &format!("INSERT OVERWRITE TABLE big SELECT 'row-' || value, value FROM generate_series(1, {rows})"))
        .await;
    exec(&tm, "CREATE TABLE small (a STRING, b BIGINT)").await;
    exec(&tm, "INSERT INTO small VALUES ('x', 1)").await;
    let query = "SELECT sum(b), count(*) FROM big";
    let small = "SELECT count(*) FROM small";
    let run = |tm: TimeMachine, sql: &'static str| async move {
        tm.sql(sql).await.unwrap().collect().await.unwrap();
    };
    run(tm.clone(), query).await;
    let local = timed(a.runs, |_| run(tm.clone(), query)).await;
    let local_small = timed(a.runs, |_| run(tm.clone(), small)).await;
    for executors in [1, 2] {
        let ctx = standalone_context(executors).await.unwrap();
        let cluster = TimeMachine::builder().location(&location).session_context(ctx).build().await.unwrap();
        run(cluster.clone(), query).await;
        let t = timed(a.runs, |_| run(cluster.clone(), query)).await;
        row(
            &format!("sum/count {rows} rows: Ballista {executors} executor(s) vs local"),
            ms(t),
            ms(local),
            format!("{:.2}", t.as_secs_f64() / local.as_secs_f64()),
            "correct; overhead",
        );
        let t = timed(a.runs, |_| run(cluster.clone(), small)).await;
        row(
            &format!("small query: Ballista {executors} executor(s) vs local"),
            ms(t),
            ms(local_small),
            String::new(),
            "< 50 ms",
        );
    }
    let codec = TimeMachineCodec::default();
    for files in [1_000u64, 10_000] {
        let name = format!("files{files}");
        exec(&tm, &format!("CREATE TABLE {name} (v BIGINT) PARTITIONED BY (p STRING)")).await;
        exec(
            &tm,
            &format!(
                "INSERT INTO {name} PARTITION (p) SELECT value, CAST(value AS STRING) FROM generate_series(1, {files})"
            ),
        )
        .await;
        let plan = tm.sql(&format!("SELECT * FROM {name}")).await.unwrap().into_optimized_plan().unwrap();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap().len();
        row(
            &format!("serialized plan, table of {files} files"),
            format!("{bytes} B"),
            String::new(),
            format!("{} B/file", bytes as u64 / files),
            "linear",
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::main]
async fn main() {
    let a = Args::parse();
    if let Some(what) = a.child.clone() {
        return child(&a, &what).await;
    }
    let wanted = |s: &str| a.only.as_deref().is_none_or(|o| o.split(',').any(|x| x.trim() == s));
    println!(
        "datafusion-timemachine benchmarks ({} cores; medians of {} runs)",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        a.runs
    );
    println!(
        "| {:<44} | {:>14} | {:>14} | {:>8} | {:<22} |",
        "measurement", "time machine", "baseline", "ratio", "goal"
    );
    println!("|{}|{}|{}|{}|{}|", "-".repeat(46), "-".repeat(16), "-".repeat(16), "-".repeat(10), "-".repeat(24));
    if wanted("scan") {
        bench_scan(&a).await;
    }
    if wanted("write") {
        bench_write(&a).await;
    }
    if wanted("restore") {
        bench_restore(&a).await;
    }
    if wanted("delete") {
        bench_delete(&a).await;
    }
    if wanted("merge") {
        bench_merge(&a).await;
    }
    if wanted("deletion_vectors") {
        deletion_vectors::bench_deletion_vectors(a.merge_rows, a.runs).await;
    }
    if wanted("smallfiles") {
        smallfiles::bench_smallfiles(a.peer_appends, a.runs).await;
    }
    if wanted("clustering") {
        clustering::bench_clustering(a.merge_rows, a.runs).await;
    }
    if wanted("server") {
        server::bench_server(a.server_rows, a.runs).await;
    }
    if wanted("versions") {
        bench_versions(&a).await;
    }
    if wanted("purge") {
        bench_purge(&a).await;
    }
    if wanted("steady") {
        bench_steady(&a).await;
    }
    if wanted("partitions") {
        bench_partitions().await;
    }
    if wanted("memory") {
        bench_memory(&a).await;
    }
    // Only when asked for: the peers script reads its `PEER` lines, the TPC-H script its `TPCH` lines.
    let named = |s: &str| a.only.as_deref().is_some_and(|o| o.split(',').any(|x| x.trim() == s));
    if named("peers") {
        bench_peers(&a).await;
    }
    if named("tpch") {
        let data = a.tpch_data.clone().expect("--only tpch needs --tpch-data DIR (see benches/tpch/tpch.py)");
        let answers = a.tpch_answers.clone().unwrap_or_else(|| scratch("tpch-answers"));
        tpch::bench_tpch(&data, &answers, a.runs).await;
    }
    if named("tpch_refresh") {
        let data = a.tpch_data.clone().expect("--only tpch_refresh needs --tpch-data DIR (see benches/tpch/tpch.py)");
        tpch_refresh::bench_tpch_refresh(&data, a.runs).await;
    }
    #[cfg(feature = "ballista")]
    if wanted("ballista") {
        bench_ballista(&a).await;
    }
}
