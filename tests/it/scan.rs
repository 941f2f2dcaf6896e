//! Scans read only the files of the partitions that filters select.

use datafusion::datasource::physical_plan::FileScanConfig;
use datafusion::datasource::source::DataSourceExec;
use datafusion::physical_plan::{ExecutionPlan, collect};
use datafusion_timemachine::TimeMachine;

use object_store::ObjectStoreExt;

use crate::run;

fn files_scanned(plan: &dyn ExecutionPlan) -> usize {
    let mut n = 0;
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
    {
        n += config.file_groups.iter().map(|g| g.len()).sum::<usize>();
    }
    n + plan.children().iter().map(|c| files_scanned(c.as_ref())).sum::<usize>()
}

#[tokio::test]
async fn partition_filters_prune_files() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE p (v BIGINT) PARTITIONED BY (ds STRING)"]).await;
    for ds in 1..=6 {
        tm.execute(&format!("INSERT INTO p PARTITION (ds='2020010{ds}') VALUES ({ds}), ({})", ds * 10)).await.unwrap();
    }
    let count = |sql: &'static str| {
        let tm = tm.clone();
        async move {
            let df = tm.sql(sql).await.unwrap();
            let plan = df.create_physical_plan().await.unwrap();
            let n = files_scanned(plan.as_ref());
            let rows: usize = collect(plan, tm.context().task_ctx()).await.unwrap().iter().map(|b| b.num_rows()).sum();
            (n, rows)
        }
    };
    assert_eq!(count("SELECT * FROM p").await, (6, 12));
    assert_eq!(count("SELECT * FROM p WHERE ds = '20200103'").await, (1, 2));
    assert_eq!(count("SELECT * FROM p WHERE ds >= '20200105'").await, (2, 4));
    assert_eq!(count("SELECT * FROM p WHERE ds = 'none'").await, (0, 0));
    // A filter on a data column prunes nothing but still filters rows.
    assert_eq!(count("SELECT * FROM p WHERE v > 20").await, (6, 4));
    // At an old version (LSN 4: three partitions), partition filters prune the same way, and an
    // incremental range holds only the files its commits wrote.
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4").await, (3, 6));
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4 WHERE ds = '20200102'").await, (1, 2));
    assert_eq!(count("SELECT * FROM p VERSION AS OF 4 WHERE ds = '20200105'").await, (0, 0));
    assert_eq!(count("SELECT * FROM p VERSION BETWEEN 4 AND 6 WHERE ds >= '20200104'").await, (2, 4));
}

/// Distinct data files read since `from` (an index into the store's reads).
fn parquet_read(store: &crate::store::Instrumented, from: usize) -> usize {
    let reads = store.counters.reads.lock().unwrap();
    reads[from..].iter().filter(|p| p.ends_with(".parquet")).collect::<std::collections::BTreeSet<_>>().len()
}

#[tokio::test]
async fn per_file_statistics_prune_files_and_answer_aggregates() {
    use std::sync::Arc;
    let store = Arc::new(crate::store::Instrumented::new(Arc::new(object_store::memory::InMemory::new())));
    let warehouse = datafusion_timemachine::Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(&tm, &["CREATE TABLE s (b BIGINT, t STRING, x DOUBLE)"]).await;
    for i in 0..20 {
        let sql = format!(
            "INSERT INTO s SELECT value, 'k' || CAST(value AS STRING), CAST(value AS DOUBLE) FROM generate_series({}, {})",
            i * 1000,
            i * 1000 + 999
        );
        tm.execute(&sql).await.unwrap();
    }
    let files =
        tm.project().state().live_table("s").unwrap().current.partitions.values().map(|p| p.files.len()).sum::<usize>();
    assert_eq!(files, 20);
    let query = |sql: &'static str| {
        let (tm, store) = (tm.clone(), Arc::clone(&store));
        async move {
            let from = store.counters.reads.lock().unwrap().len();
            let out = crate::rows(&tm, sql).await;
            (out, parquet_read(&store, from))
        }
    };
    // A filter on a data column opens only the file whose range can match.
    assert_eq!(query("SELECT count(*), sum(b) FROM s WHERE b < 1000").await, (vec!["1000|499500".to_string()], 1));
    assert_eq!(query("SELECT count(*) FROM s WHERE b BETWEEN 4500 AND 5500").await, (vec!["1001".to_string()], 2));
    assert_eq!(query("SELECT count(*) FROM s WHERE t = 'k19999'").await.0, vec!["1"]);
    // count(*), min and max come from the log: no data file is read.
    assert_eq!(query("SELECT count(*), min(b), max(b) FROM s").await, (vec!["20000|0|19999".to_string()], 0));
    // Float bounds are not exact (Parquet leaves NaN out): max(x) reads the files, and is right.
    let (max, read) = query("SELECT max(x) FROM s").await;
    assert_eq!(max, vec!["19999.0"]);
    assert!(read > 0);
    // Across schema changes: a renamed column keeps its statistics, an added one is all NULL in
    // the old files.
    run(&tm, &["ALTER TABLE s CHANGE COLUMN b RENAME TO bb", "ALTER TABLE s ADD COLUMNS (c BIGINT)"]).await;
    assert_eq!(query("SELECT min(bb), max(bb), count(c) FROM s").await, (vec!["0|19999|0".to_string()], 0));
    run(&tm, &["INSERT INTO s VALUES (-5, 'new', 0.5, 7)"]).await;
    assert_eq!(query("SELECT min(bb), count(c), max(c) FROM s").await.0, vec!["-5|1|7"]);
    // (The first file, and the new one whose bounds include -5; a footer already cached
    // may spare a read.)
    let (n, read) = query("SELECT count(*) FROM s WHERE bb < 1000").await;
    assert_eq!(n, vec!["1001"]);
    assert!((1..=2).contains(&read), "{read} files read");
    // (Files older than a column have no bounds for it, so a filter on it reads them.)
    assert_eq!(query("SELECT count(*) FROM s WHERE c = 7").await.0, vec!["1"]);
    // An old version keeps its statistics too.
    assert_eq!(query("SELECT count(*), max(b) FROM s VERSION AS OF 11").await, (vec!["10000|9999".to_string()], 0));
}

#[tokio::test]
async fn footers_are_read_once_per_process() {
    use std::sync::Arc;
    let store = Arc::new(crate::store::Instrumented::new(Arc::new(object_store::memory::InMemory::new())));
    let warehouse = datafusion_timemachine::Warehouse::with_store(Arc::clone(&store) as _, "memory://");
    let tm = TimeMachine::builder().warehouse(warehouse).build().await.unwrap();
    run(&tm, &["CREATE TABLE f (v BIGINT, s STRING)"]).await;
    for i in 0..5 {
        tm.execute(&format!("INSERT INTO f SELECT value, 'r' FROM generate_series({i}, {i} + 999)")).await.unwrap();
    }
    let reads = |sql: &'static str| {
        let (tm, store) = (tm.clone(), Arc::clone(&store));
        async move {
            let from = store.counters.reads.lock().unwrap().len();
            let out = crate::rows(&tm, sql).await;
            let n = store.counters.reads.lock().unwrap()[from..].iter().filter(|p| p.ends_with(".parquet")).count();
            (out, n)
        }
    };
    let (first, cold) = reads("SELECT sum(v) FROM f WHERE s = 'r'").await;
    let (second, warm) = reads("SELECT sum(v) FROM f WHERE s = 'r'").await;
    assert_eq!(first, second);
    // Cold: footer and data of each of the 5 files; warm: the data only.
    assert!(warm + 5 <= cold, "cold {cold} reads, warm {warm}");
}

/// The Parquet options of the scan, if `plan` reads Parquet.
fn parquet_options(plan: &dyn ExecutionPlan) -> Option<datafusion::config::TableParquetOptions> {
    use datafusion::datasource::physical_plan::ParquetSource;
    if let Some(exec) = plan.downcast_ref::<DataSourceExec>()
        && let Some(config) = exec.data_source().downcast_ref::<FileScanConfig>()
        && let Some(source) = config.file_source().downcast_ref::<ParquetSource>()
    {
        return Some(source.table_parquet_options().clone());
    }
    plan.children().iter().find_map(|c| parquet_options(c.as_ref()))
}

#[tokio::test]
async fn the_session_parquet_options_reach_the_scan() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(&tm, &["CREATE TABLE t (a STRING, b BIGINT)", "INSERT INTO t VALUES ('x', 1), ('y', 2)"]).await;
    let options = |sql: &'static str| {
        let tm = tm.clone();
        async move { parquet_options(tm.sql(sql).await.unwrap().create_physical_plan().await.unwrap().as_ref()).unwrap() }
    };
    let before = options("SELECT * FROM t WHERE b > 1").await;
    assert!(!before.global.pushdown_filters);
    for set in [
        "SET datafusion.execution.parquet.pushdown_filters = true",
        "SET datafusion.execution.parquet.reorder_filters = true",
    ] {
        tm.context().sql(set).await.unwrap().collect().await.unwrap();
    }
    for sql in ["SELECT * FROM t WHERE b > 1", "SELECT * FROM t VERSION AS OF 2 WHERE b > 1"] {
        let after = options(sql).await;
        assert!(after.global.pushdown_filters && after.global.reorder_filters, "{sql}");
    }
    assert_eq!(crate::rows(&tm, "SELECT a FROM t WHERE b > 1").await, vec!["y"]);
}

/// Whether `plan` sorts (a `SortExec` anywhere in it).
fn sorts(plan: &dyn ExecutionPlan) -> bool {
    plan.name() == "SortExec" || plan.children().iter().any(|c| sorts(c.as_ref()))
}

#[tokio::test]
async fn a_hash_clustered_table_reads_only_the_buckets_a_filter_names_and_its_order_saves_sorts() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE c (k BIGINT, s STRING, v BIGINT) CLUSTERED BY (k) SORTED BY (v DESC) INTO 8 BUCKETS",
            "CREATE TABLE plain (k BIGINT, s STRING, v BIGINT)",
        ],
    )
    .await;
    for sql in [
        "INSERT INTO {} SELECT value % 97, 's' || CAST(value % 13 AS STRING), (value * 7919) % 1000 FROM generate_series(1, 3000)",
        "INSERT INTO {} SELECT value, 'x', value FROM generate_series(5000, 5100)",
    ] {
        tm.execute(&sql.replace("{}", "c")).await.unwrap();
        tm.execute(&sql.replace("{}", "plain")).await.unwrap();
    }
    // Each write put each bucket in one file, its rows in the declared order.
    let table = tm.project().state().live_table("c").unwrap().current.clone();
    let files: Vec<_> = table.partitions.values().flat_map(|p| p.files.iter().cloned()).collect();
    assert_eq!(files.len(), 16, "two writes of 8 buckets");
    assert!(files.iter().all(|f| f.bucket.is_some_and(|b| b < 8)));
    // Each file carries a bloom filter on the key (and none on the other columns).
    let store = tm.project().store();
    let bytes = store.get(&tm.project().path(&files[0].path)).await.unwrap().bytes().await.unwrap();
    let meta = datafusion::parquet::file::metadata::ParquetMetaDataReader::new().parse_and_finish(&bytes).unwrap();
    let group = meta.row_group(0);
    assert!(group.column(0).bloom_filter_offset().is_some(), "a bloom filter on k");
    assert!(group.column(1).bloom_filter_offset().is_none(), "none on s");
    let count = |sql: String| {
        let tm = tm.clone();
        async move {
            let df = tm.sql(&sql).await.unwrap();
            let plan = df.create_physical_plan().await.unwrap();
            let n = files_scanned(plan.as_ref());
            let rows: usize = collect(plan, tm.context().task_ctx()).await.unwrap().iter().map(|b| b.num_rows()).sum();
            (n, rows)
        }
    };
    // Equality and IN on the key read the files of their buckets only, with the same rows as
    // the unclustered table.
    for (filter, most) in [("k = 42", 2), ("k = 5050", 2), ("k IN (1, 2, 3)", 6), ("k = 1 OR k = 96", 4), ("k = -1", 2)]
    {
        let (files, rows) = count(format!("SELECT * FROM c WHERE {filter}")).await;
        let (all, same) = count(format!("SELECT * FROM plain WHERE {filter}")).await;
        assert!(files <= most && files < 16, "{filter}: {files} files");
        assert_eq!(rows, same, "{filter}");
        assert_eq!(all, 2);
    }
    // Other filters cannot name a bucket: every file, still the right rows.
    for filter in ["k > 90", "k = 4 OR v = 3", "abs(k) = 4", "k IS NULL"] {
        let (files, rows) = count(format!("SELECT * FROM c WHERE {filter}")).await;
        assert_eq!((files, rows), (16, count(format!("SELECT * FROM plain WHERE {filter}")).await.1), "{filter}");
    }
    for sql in ["SELECT k, s, v FROM c WHERE k = 7", "SELECT count(*), sum(v) FROM c WHERE k IN (3, 4)"] {
        assert_eq!(crate::rows(&tm, sql).await, crate::rows(&tm, &sql.replace(" c ", " plain ")).await, "{sql}");
    }
    // A bucket read alone comes in its order: ORDER BY v DESC needs no sort.
    let df = tm.sql("SELECT v FROM c WHERE k = 42 ORDER BY v DESC").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    assert!(!sorts(plan.as_ref()), "{}", datafusion::physical_plan::displayable(plan.as_ref()).indent(true));
    let df = tm.sql("SELECT v FROM plain WHERE k = 42 ORDER BY v DESC").await.unwrap();
    assert!(sorts(df.create_physical_plan().await.unwrap().as_ref()));
    // The buckets survive time travel, UPDATE (a row whose key changes moves bucket) and MERGE
    // SMALLFILES (files merge within their bucket).
    run(&tm, &["UPDATE c SET k = k + 1000 WHERE k = 42", "UPDATE plain SET k = k + 1000 WHERE k = 42"]).await;
    run(&tm, &["ALTER TABLE c MERGE SMALLFILES"]).await;
    for filter in ["k = 42", "k = 1042", "k IN (5, 6, 5050)"] {
        let (files, rows) = count(format!("SELECT * FROM c WHERE {filter}")).await;
        assert!(files <= 3, "{filter}: {files} files");
        assert_eq!(rows, count(format!("SELECT * FROM plain WHERE {filter}")).await.1, "{filter}");
    }
    let (files, rows) = count("SELECT * FROM c VERSION AS OF 2 WHERE k = 42".into()).await;
    assert_eq!((files, rows), (1, 31));
}

#[tokio::test]
async fn a_range_clustered_table_is_cut_into_sorted_ranges_that_statistics_prune() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE r (k BIGINT, v STRING) RANGE CLUSTERED BY (k) INTO 4 BUCKETS",
            "INSERT INTO r SELECT (value * 7919) % 10000, 'v' || CAST(value AS STRING) FROM generate_series(0, 9999)",
        ],
    )
    .await;
    let table = tm.project().state().live_table("r").unwrap().current.clone();
    let files: Vec<_> = table.partitions.values().flat_map(|p| p.files.iter().cloned()).collect();
    assert_eq!(files.len(), 4);
    // Consecutive, disjoint ranges of the key.
    let mut ranges: Vec<(i64, i64)> = files
        .iter()
        .map(|f| {
            let s = &f.stats["k"];
            (s.min.as_ref().unwrap().parse().unwrap(), s.max.as_ref().unwrap().parse().unwrap())
        })
        .collect();
    ranges.sort();
    assert!(ranges.windows(2).all(|w| w[0].1 < w[1].0), "{ranges:?}");
    let df = tm.sql("SELECT * FROM r WHERE k BETWEEN 100 AND 200").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let rows: usize = collect(plan, tm.context().task_ctx()).await.unwrap().iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 101);
    // Sorted, non-overlapping files: ORDER BY k is a merge of sorted groups, no sort.
    let df = tm.sql("SELECT k FROM r ORDER BY k").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    assert!(!sorts(plan.as_ref()), "{}", datafusion::physical_plan::displayable(plan.as_ref()).indent(true));
    let sorted: Vec<String> = crate::rows(&tm, "SELECT k FROM r ORDER BY k LIMIT 3").await;
    assert_eq!(sorted, ["0", "1", "2"]);
}

#[tokio::test]
async fn joins_are_planned_as_over_the_same_rows_in_plain_parquet_files() {
    // DataFusion weighs a join input by its bytes when the scan reports them, else by its rows;
    // its own Parquet tables report none. The filtered side of wide rows here (random text that
    // does not compress) is small by rows (collected into one hash table) and large by bytes
    // (both sides repartitioned): our tables must make the choice DataFusion makes over the same
    // rows in Parquet files (TPC-H q19 ran 1.4x slower when they reported their file sizes).
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().join("wh").to_str().unwrap()).await.unwrap();
    let r = "CAST(random() AS STRING)";
    let sources = [
        ("n", "SELECT value AS k, value % 3 AS g FROM generate_series(1, 800000)".to_string()),
        (
            "w",
            format!(
                "SELECT value AS k, value % 50 AS size, {r} || {r} || {r} || {r} || {r} AS note FROM generate_series(1, 200000)"
            ),
        ),
    ];
    let file = |t: &str| dir.path().join(format!("{t}.parquet")).display().to_string();
    for (t, rows) in &sources {
        tm.context().sql(&format!("COPY ({rows}) TO '{}'", file(t))).await.unwrap().collect().await.unwrap();
        run(&tm, &[&format!("CREATE TABLE {t} AS SELECT * FROM '{}'", file(t))]).await;
    }
    let modes = |n: String, w: String| {
        let tm = tm.clone();
        async move {
            let sql = format!(
                "SELECT count(*), max(b.note) FROM {n} a JOIN {w} b ON a.k = b.k \
                 WHERE a.g = 1 AND (b.size = 7 OR b.note LIKE '%99')"
            );
            let plan = tm.sql(&sql).await.unwrap().create_physical_plan().await.unwrap();
            let shown = datafusion::physical_plan::displayable(plan.as_ref()).indent(false).to_string();
            let joins = shown.lines().filter(|l| l.contains("HashJoinExec"));
            joins.map(|l| l.split(',').next().unwrap_or_default().trim().to_string()).collect::<Vec<_>>()
        }
    };
    let plain = modes(format!("'{}'", file("n")), format!("'{}'", file("w"))).await;
    assert_eq!(plain, vec!["HashJoinExec: mode=CollectLeft".to_string()]);
    assert_eq!(modes("n".to_string(), "w".to_string()).await, plain);
}

#[tokio::test]
async fn a_bloom_filter_property_lets_an_equality_skip_what_min_max_cannot() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    // Even keys only: an odd key lies between min and max, so only a bloom filter tells that the
    // row group cannot hold it.
    run(
        &tm,
        &[
            "CREATE TABLE b (k BIGINT, v STRING) TBLPROPERTIES ('timemachine.parquet.bloom_filter_columns'='k')",
            "INSERT INTO b SELECT value * 2, 'x' FROM generate_series(1, 1000)",
            "CREATE TABLE p (k BIGINT, v STRING)",
            "INSERT INTO p SELECT value * 2, 'x' FROM generate_series(1, 1000)",
        ],
    )
    .await;
    let bloom = |table: &str| {
        let (tm, sql) = (tm.clone(), format!("EXPLAIN ANALYZE SELECT count(*) FROM {table} WHERE k = 777"));
        async move {
            let r = tm.execute(&sql).await.unwrap();
            let shown = datafusion::arrow::util::pretty::pretty_format_batches(&r.batches).unwrap().to_string();
            let metric = shown.split("row_groups_pruned_bloom_filter=").nth(1).unwrap_or_default();
            metric.split(',').next().unwrap_or_default().to_string()
        }
    };
    assert_eq!(bloom("b").await, "1 total → 0 matched");
    assert_eq!(bloom("p").await, "1 total → 1 matched");
    // Named columns must be data columns of a simple type; a bad value changes nothing.
    let err = tm
        .execute("ALTER TABLE p SET TBLPROPERTIES ('timemachine.parquet.bloom_filter_columns'='k, nope')")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope") && err.contains("no column of the table"), "{err}");
    // Set on an existing table: the files written from then on carry the filters.
    run(
        &tm,
        &[
            "ALTER TABLE p SET TBLPROPERTIES ('timemachine.parquet.bloom_filter_columns'='k')",
            "INSERT OVERWRITE TABLE p SELECT value * 2, 'x' FROM generate_series(1, 1000)",
        ],
    )
    .await;
    assert_eq!(bloom("p").await, "1 total → 0 matched");
}

/// The codec of the pages of every data file of `table`'s current version, or with `all`, of
/// every Parquet file under the table's folder (change files and older versions' files too).
async fn codecs_of(tm: &TimeMachine, table: &str, all: bool) -> std::collections::BTreeSet<String> {
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    use futures::TryStreamExt;
    let state = tm.project().state();
    let current = &state.live_table(table).unwrap().current;
    let mut files: Vec<object_store::path::Path> =
        current.partitions.values().flat_map(|p| &p.files).map(|f| tm.project().path(&f.path)).collect();
    if all {
        let folder = tm.project().path(&format!("data/{}", current.id));
        let listed: Vec<_> = tm.project().store().list(Some(&folder)).try_collect().await.unwrap();
        files = listed.into_iter().map(|m| m.location).filter(|p| p.as_ref().ends_with(".parquet")).collect();
    }
    let mut out = std::collections::BTreeSet::new();
    for path in files {
        let bytes = tm.project().store().get(&path).await.unwrap().bytes().await.unwrap();
        let reader = SerializedFileReader::new(bytes).unwrap();
        for group in reader.metadata().row_groups() {
            out.extend(group.columns().iter().map(|c| c.compression().to_string()));
        }
    }
    out
}

async fn codecs(tm: &TimeMachine, table: &str) -> std::collections::BTreeSet<String> {
    codecs_of(tm, table, false).await
}

#[tokio::test]
async fn a_compression_property_chooses_the_codec_of_the_files_written_from_then_on() {
    let tm = TimeMachine::open("memory://").await.unwrap();
    let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>();
    run(
        &tm,
        &[
            "CREATE TABLE d AS SELECT value AS k, 'row ' || value AS v FROM generate_series(1, 1000)",
            "CREATE TABLE z (k BIGINT, v STRING) TBLPROPERTIES ('timemachine.parquet.compression'='ZSTD(1)')",
            "INSERT INTO z SELECT * FROM d",
        ],
    )
    .await;
    // LZ4_RAW unless a table names another: it decodes faster than Snappy (see README, TPC-H).
    assert_eq!(codecs(&tm, "d").await, names(&["LZ4_RAW"]));
    assert_eq!(codecs(&tm, "z").await, names(&["ZSTD(ZstdLevel(1))"]));
    // A bad value is refused with what may be named, and changes nothing.
    for bad in ["lzo", "lz4", "zstd(99)", "fast"] {
        let sql = format!("ALTER TABLE d SET TBLPROPERTIES ('timemachine.parquet.compression'='{bad}')");
        let err = tm.execute(&sql).await.unwrap_err().to_string();
        assert!(err.contains("timemachine.parquet.compression") && err.contains("snappy, lz4_raw"), "{bad}: {err}");
    }
    assert!(!crate::rows(&tm, "SHOW CREATE TABLE d").await.concat().contains("compression"));
    // Set later: files written from then on use it, the others keep theirs and stay readable.
    run(
        &tm,
        &[
            "ALTER TABLE d SET TBLPROPERTIES ('timemachine.parquet.compression'='snappy')",
            "INSERT INTO d SELECT value + 1000, 'new' FROM generate_series(1, 10)",
        ],
    )
    .await;
    assert_eq!(codecs(&tm, "d").await, names(&["LZ4_RAW", "SNAPPY"]));
    assert_eq!(crate::rows(&tm, "SELECT count(*), sum(k) FROM d").await, vec!["1010|510555".to_string()]);
    assert_eq!(crate::rows(&tm, "SELECT count(*), sum(k) FROM z").await, vec!["1000|500500".to_string()]);
    // Row-level changes write the table's codec too: new row images and change files.
    run(&tm, &["UPDATE z SET v = 'changed' WHERE k % 10 = 0", "DELETE FROM z WHERE k % 7 = 0"]).await;
    assert_eq!(codecs_of(&tm, "z", true).await, names(&["ZSTD(ZstdLevel(1))"]));
    let merge = "MERGE INTO z t USING (SELECT k, 'merged' AS v FROM d WHERE k % 9 = 0) s ON t.k = s.k \
                 WHEN MATCHED THEN UPDATE SET v = s.v WHEN NOT MATCHED THEN INSERT VALUES (s.k, s.v)";
    run(&tm, &[merge]).await;
    assert_eq!(codecs_of(&tm, "z", true).await, names(&["ZSTD(ZstdLevel(1))"]));
    // A table that names no codec: data files LZ4 for scans, change files (cold: only the change
    // feed reads them) ZSTD(1) for size; one that names a codec gets it for both. (A MERGE: a
    // plain UPDATE through vectors alone writes no change file.)
    let update = |t: &str| {
        format!(
            "MERGE INTO {t} t USING (SELECT k FROM d WHERE k % 10 = 0) s ON t.k = s.k \
             WHEN MATCHED THEN UPDATE SET v = 'changed'"
        )
    };
    run(
        &tm,
        &[
            "CREATE TABLE e AS SELECT * FROM d",
            &update("e"),
            "CREATE TABLE s TBLPROPERTIES ('timemachine.parquet.compression'='snappy') AS SELECT * FROM d",
            &update("s"),
        ],
    )
    .await;
    assert_eq!(codecs(&tm, "e").await, names(&["LZ4_RAW"]));
    assert_eq!(codecs_of(&tm, "e", true).await, names(&["LZ4_RAW", "ZSTD(ZstdLevel(1))"]));
    assert_eq!(codecs_of(&tm, "s", true).await, names(&["SNAPPY"]));
    let changes = "SELECT _change_type, count(*) FROM table_changes('e', 2) GROUP BY 1 ORDER BY 1";
    assert_eq!(crate::rows(&tm, changes).await, vec!["update_postimage|101", "update_preimage|101"]);
}
