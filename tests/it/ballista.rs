//! Queries on Apache Ballista (feature `ballista`): versioned tables travel to the scheduler and
//! the executors pinned to a version, and come back with exactly the rows local execution gives.
//! The clusters read the moto S3 warehouse of `.ci/with_s3.sh` (they fail without it when
//! `TIMEMACHINE_REQUIRE_S3` is set, as in CI).

use std::process::{Child, Command};
use std::time::Duration;

use datafusion::physical_plan::displayable;
use datafusion::prelude::SessionContext;
use datafusion_proto::bytes::{
    logical_plan_from_bytes_with_extension_codec, logical_plan_to_bytes_with_extension_codec,
    physical_plan_from_bytes_with_extension_codec, physical_plan_to_bytes_with_extension_codec,
};
use datafusion_timemachine::TimeMachine;
use datafusion_timemachine::distributed::{TimeMachineCodec, TimeMachinePhysicalCodec, standalone_context};
use datafusion_timemachine::server::{ServeOptions, Server};

use crate::{rows, run};

const QUERIES: &[&str] = &[
    "SELECT item, amount, ds FROM sales ORDER BY ds, item",
    "SELECT item, amount FROM sales WHERE ds = '2' ORDER BY item",
    "SELECT ds, sum(amount) AS total, count(*) AS n FROM sales GROUP BY ds ORDER BY ds",
    "SELECT s.item, p.price, s.amount * p.price AS value FROM sales s JOIN prices p ON s.item = p.item ORDER BY 1, 3",
    "SELECT count(*) AS n FROM sales",
    "SELECT item, amount, ds FROM sales VERSION AS OF 3 ORDER BY ds, item",
    "SELECT item, amount, ds FROM restored ORDER BY ds, item",
    "SELECT count(*) AS n FROM sales TIMESTAMP AS OF now() a JOIN sales VERSION AS OF 2 b ON a.item = b.item",
    // Deletion vectors travel with the scan (a deleted row would come back otherwise).
    "SELECT k FROM dv ORDER BY k",
    "SELECT count(*) AS n, sum(k) AS s FROM dv WHERE k > 50",
    "SELECT count(*) AS n FROM dv VERSION AS OF 3",
];

async fn setup(tm: &TimeMachine) {
    run(
        tm,
        &[
            "CREATE TABLE sales (item STRING, amount BIGINT) PARTITIONED BY (ds STRING)",
            "INSERT INTO sales PARTITION (ds='1') VALUES ('apple', 3), ('pear', 5)",
            "INSERT INTO sales PARTITION (ds='2') VALUES ('apple', 7), ('plum', 1)",
            "INSERT OVERWRITE TABLE sales PARTITION (ds='1') VALUES ('fig', 2)",
            "CREATE TABLE prices (item STRING, price BIGINT)",
            "INSERT INTO prices VALUES ('apple', 10), ('pear', 20), ('plum', 30), ('fig', 40)",
            "RESTORE TABLE sales TO LSN '0000000000000003' AS restored",
            "CREATE TABLE dv (k BIGINT) TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')",
            "INSERT INTO dv SELECT value FROM range(0, 100)",
            "DELETE FROM dv WHERE k % 10 = 3",
            "UPDATE dv SET k = k + 1000 WHERE k < 5",
        ],
    )
    .await;
}

async fn same_rows_as_local(local: &TimeMachine, cluster: &TimeMachine) {
    for q in QUERIES {
        let want = rows(local, q).await;
        assert!(!want.is_empty(), "{q}");
        assert_eq!(rows(cluster, q).await, want, "{q}");
    }
    // The plan really goes to the cluster.
    let df = cluster.sql("SELECT count(*) FROM sales").await.unwrap();
    let plan = df.create_physical_plan().await.unwrap();
    let shown = displayable(plan.as_ref()).indent(false).to_string();
    assert!(shown.contains("DistributedQueryExec"), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_travel_pinned_through_the_codec_for_every_shape() {
    let dir = tempfile::tempdir().unwrap();
    let tm = TimeMachine::open(dir.path().to_str().unwrap()).await.unwrap();
    run(
        &tm,
        &[
            "CREATE TABLE multi (v BIGINT) PARTITIONED BY (a STRING, b STRING)",
            "INSERT INTO multi PARTITION (a='x', b='1') VALUES (1)",
            "INSERT INTO multi PARTITION (a='y', b='2') VALUES (2)",
            "CREATE TABLE empty (v BIGINT)",
            "CREATE TABLE plain (v BIGINT)",
            "INSERT INTO plain VALUES (10), (20)",
            "INSERT OVERWRITE TABLE plain VALUES (30)",
            "CREATE TABLE nested (a ARRAY<BIGINT>, m MAP<STRING, STRUCT<x:INT>>, v VARCHAR(4), j JSON)",
            "INSERT INTO nested SELECT [1, 2], MAP {'k': named_struct('x', 3)}, 'abcd', '{}'",
            "CREATE TABLE dv (k BIGINT) TBLPROPERTIES ('timemachine.delete.mode'='merge-on-read')",
            "INSERT INTO dv SELECT value FROM range(0, 100)",
            "DELETE FROM dv WHERE k % 10 = 3",
        ],
    )
    .await;
    let codec = TimeMachineCodec::default();
    // A process with no project and no log: only what the plan carries.
    let elsewhere = SessionContext::new();
    for q in [
        "SELECT v, a, b FROM multi WHERE a = 'y'",
        "SELECT v, a, b FROM multi VERSION AS OF 2",
        "SELECT count(*) FROM empty",
        "SELECT v FROM plain VERSION AS OF 2 ORDER BY v",
        "SELECT v FROM plain",
        "SELECT a, m, m['k']['x'], v, j FROM nested",
        "SELECT k FROM dv ORDER BY k",
    ] {
        let plan = tm.sql(q).await.unwrap().into_optimized_plan().unwrap();
        let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
        let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &elsewhere.task_ctx(), &codec).unwrap();
        let there = elsewhere.execute_logical_plan(decoded).await.unwrap().collect().await.unwrap();
        let here = tm.sql(q).await.unwrap().collect().await.unwrap();
        let fmt = |b: &[datafusion::arrow::record_batch::RecordBatch]| {
            datafusion::arrow::util::pretty::pretty_format_batches(b).unwrap().to_string()
        };
        assert_eq!(fmt(&there), fmt(&here), "{q}");
    }
    // Planned where the project is not (a scheduler), the scan of a table with deletion vectors
    // carries them in the physical plan: encoded and decoded again, as an executor gets it, it
    // skips the same rows (without the vectors, the 10 deleted rows would come back).
    let physical_codec = TimeMachinePhysicalCodec::default();
    let plan = tm.sql("SELECT k FROM dv").await.unwrap().into_optimized_plan().unwrap();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
    let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &elsewhere.task_ctx(), &codec).unwrap();
    let physical = elsewhere.state().create_physical_plan(&decoded).await.unwrap();
    let shown = displayable(physical.as_ref()).indent(false).to_string();
    assert!(shown.contains("DeletionVectorsExec: files=1"), "{shown}");
    let bytes = physical_plan_to_bytes_with_extension_codec(physical, &physical_codec).unwrap();
    let executor = SessionContext::new();
    let back = physical_plan_from_bytes_with_extension_codec(&bytes, &executor.task_ctx(), &physical_codec).unwrap();
    let batches = datafusion::physical_plan::collect(back, executor.task_ctx()).await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 90);
    // A version is a list of files, not a pointer to the log: a commit after the plan is made
    // does not change what the plan reads.
    let plan = tm.sql("SELECT v FROM plain").await.unwrap().into_optimized_plan().unwrap();
    let bytes = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap();
    run(&tm, &["INSERT OVERWRITE TABLE plain VALUES (99)"]).await;
    let decoded = logical_plan_from_bytes_with_extension_codec(&bytes, &elsewhere.task_ctx(), &codec).unwrap();
    let there = elsewhere.execute_logical_plan(decoded).await.unwrap().collect().await.unwrap();
    assert_eq!(
        datafusion::arrow::util::pretty::pretty_format_batches(&there).unwrap().to_string().matches("30").count(),
        1
    );
    // Memory warehouses cannot travel.
    let mem = TimeMachine::open("memory://").await.unwrap();
    run(&mem, &["CREATE TABLE m (v BIGINT)"]).await;
    let plan = mem.sql("SELECT v FROM m").await.unwrap().into_optimized_plan().unwrap();
    let err = logical_plan_to_bytes_with_extension_codec(&plan, &codec).unwrap_err().to_string();
    assert!(err.contains("only this process can see"), "{err}");
    let err = TimeMachine::builder()
        .location("memory://")
        .ballista("df://localhost:1")
        .build()
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot be shared with Ballista executors"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standalone_cluster_over_s3_returns_what_local_execution_returns() {
    let Some(location) = crate::s3::location() else { return };
    let local = TimeMachine::open(&location).await.unwrap();
    setup(&local).await;
    let ctx = standalone_context(2).await.unwrap();
    let cluster = TimeMachine::builder().location(&location).session_context(ctx).build().await.unwrap();
    same_rows_as_local(&local, &cluster).await;
    // The change feed runs in process: on the cluster it says so (rather than failing there).
    let e = cluster.execute("SELECT * FROM table_changes('sales', 2, 4)").await.unwrap_err().to_string();
    assert!(e.contains("table_changes on a Ballista session"), "{e}");
    assert_eq!(rows(&local, "SELECT count(*) FROM table_changes('sales', 2, 4)").await, vec!["7"]);
    // A query keeps the version it planned against while another process commits.
    let planned = cluster.sql("SELECT sum(amount) AS total FROM sales").await.unwrap();
    run(&local, &["INSERT OVERWRITE TABLE sales PARTITION (ds='2') VALUES ('kiwi', 100)"]).await;
    let batches = planned.collect().await.unwrap();
    let shown = datafusion::arrow::util::pretty::pretty_format_batches(&batches).unwrap().to_string();
    assert!(shown.contains("| 10    |"), "{shown}");
    // Statements still run on the client; the cluster sees their commits.
    run(&cluster, &["INSERT INTO sales PARTITION (ds='3') VALUES ('lime', 4)"]).await;
    assert_eq!(rows(&cluster, "SELECT sum(amount) FROM sales").await, vec!["106"]);
    // Row-level statements too: MERGE reads its target (with each row's file) on the cluster.
    run(
        &cluster,
        &[
            "MERGE INTO sales USING prices AS p ON sales.item = p.item WHEN MATCHED THEN UPDATE SET amount = p.price",
            "DELETE FROM sales WHERE item = 'kiwi'",
        ],
    )
    .await;
    assert_eq!(rows(&local, "SELECT item, amount FROM sales ORDER BY item").await, vec!["fig|40", "lime|4"]);
    // Files written before a rename and an ADD COLUMNS read through the new names on the cluster.
    run(
        &local,
        &["ALTER TABLE sales CHANGE COLUMN amount RENAME TO qty", "ALTER TABLE sales ADD COLUMNS (note STRING)"],
    )
    .await;
    run(&local, &["INSERT INTO sales PARTITION (ds='4') VALUES ('kiwi', 9, 'new')"]).await;
    let want = vec!["fig|40|", "kiwi|9|new", "lime|4|"];
    assert_eq!(rows(&local, "SELECT item, qty, note FROM sales ORDER BY item").await, want);
    assert_eq!(rows(&cluster, "SELECT item, qty, note FROM sales ORDER BY item").await, want);
    assert_eq!(rows(&cluster, "SELECT sum(qty) FROM sales WHERE qty > 5").await, vec!["49"]);
}

/// Kills the processes of a cluster when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_of_separate_processes_returns_what_local_execution_returns() {
    let Some(location) = crate::s3::location() else { return };
    let local = TimeMachine::open(&location).await.unwrap();
    setup(&local).await;
    let port = free_port();
    let mut procs = Processes(vec![]);
    procs.0.push(
        Command::new(env!("CARGO_BIN_EXE_timemachine-scheduler"))
            .args(["--bind-host", "127.0.0.1", "--port", &port.to_string()])
            .spawn()
            .unwrap(),
    );
    // An executor that finds no scheduler exits: start them once the scheduler listens.
    wait_for_port(port).await;
    // Each executor's shuffle files go where it is told (a directory it creates).
    let work = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..2).map(|i| work.path().join(format!("executor-{i}"))).collect();
    for dir in &dirs {
        let (flight, grpc) = (free_port(), free_port());
        procs.0.push(
            Command::new(env!("CARGO_BIN_EXE_timemachine-executor"))
                .args([
                    "--bind-host",
                    "127.0.0.1",
                    "--external-host",
                    "localhost",
                    "--scheduler-port",
                    &port.to_string(),
                ])
                .args(["--port", &flight.to_string(), "--grpc-port", &grpc.to_string(), "--concurrent-tasks", "2"])
                .arg("--work-dir")
                .arg(dir)
                .spawn()
                .unwrap(),
        );
    }
    let url = format!("df://localhost:{port}");
    let cluster = connect(&location, &url).await;
    same_rows_as_local(&local, &cluster).await;
    let written: usize = dirs.iter().map(|d| std::fs::read_dir(d).map_or(0, |e| e.count())).sum();
    assert!(written > 0, "no job's shuffle files under {}", work.path().display());
    // A work directory that cannot be made: the executor says which and stops.
    let file = work.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine-executor"))
        .args(["--scheduler-port", &port.to_string(), "--work-dir"])
        .arg(file.join("shuffle"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("executor work directory") && err.contains("a-file"), "{err}");
    // The CLI runs on the same cluster.
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .args(["--warehouse", &location, "--ballista", &url, "--format", "csv", "-c"])
        .arg("SELECT ds, sum(amount) AS total FROM sales VERSION AS OF 3 GROUP BY ds ORDER BY ds")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ds,total\n1,8\n2,8\n");
    // So does the Flight SQL server, for each client session.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let options = ServeOptions { ballista: Some(url.clone()), allow_anonymous: true, ..Default::default() };
    let server = Server::start(std::sync::Arc::clone(local.project()), options, listener).unwrap();
    let mut client = crate::server::connect(&server).await;
    let sql = "SELECT ds, sum(amount) AS total FROM sales VERSION AS OF 3 GROUP BY ds";
    assert_eq!(crate::server::query(&mut client, sql).await.unwrap(), vec!["1|8", "2|8"]);
    let plan = crate::server::query(&mut client, &format!("EXPLAIN {sql}")).await.unwrap().join("\n");
    assert!(plan.contains("distributed_plan") && plan.contains("ResolvedStage"), "{plan}");
    // Bulk ingest through a server whose queries run on the cluster: the client's batches are
    // read where they arrive.
    let batch = datafusion::arrow::record_batch::RecordBatch::try_from_iter([(
        "amount",
        std::sync::Arc::new(datafusion::arrow::array::Int64Array::from(vec![5, 6])) as _,
    )])
    .unwrap();
    let options = arrow_flight::sql::TableDefinitionOptions {
        if_not_exist: arrow_flight::sql::TableNotExistOption::Create as i32,
        if_exists: arrow_flight::sql::TableExistsOption::Fail as i32,
    };
    let command = arrow_flight::sql::CommandStatementIngest {
        table_definition_options: Some(options),
        table: "ingested".into(),
        ..Default::default()
    };
    assert_eq!(client.execute_ingest(command, futures::stream::iter([Ok(batch)])).await.unwrap(), 2);
    assert_eq!(crate::server::query(&mut client, "SELECT sum(amount) FROM ingested").await.unwrap(), vec!["11"]);
    server.shutdown().await;
    drop(procs);
}

/// Waits until something listens on `port` of loopback (at most 60 s).
async fn wait_for_port(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("nothing listens on port {port}");
}

/// Connects once the scheduler and an executor are up (they start in the background). A query
/// waits for an executor forever, so each attempt is bounded.
async fn connect(location: &str, url: &str) -> TimeMachine {
    for _ in 0..100 {
        if let Ok(tm) = TimeMachine::builder().location(location).ballista(url).build().await
            && matches!(tokio::time::timeout(Duration::from_secs(10), tm.execute("SELECT 1")).await, Ok(Ok(_)))
        {
            return tm;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("no cluster at {url}");
}
