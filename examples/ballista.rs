//! Distributed queries: the time machine's tables read on an Apache Ballista cluster (a
//! scheduler and two executors started in this process on loopback ports), from a warehouse in a
//! local directory that every process of the cluster sees. Statements run and commit on the
//! client; queries, time travel included, run on the executors, each table pinned to the
//! version the query planned against.
//!
//! `cargo run --features ballista --example ballista`

use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion_timemachine::distributed::standalone_context;
use datafusion_timemachine::{Result, TimeMachine};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("timemachine-ballista-example-{}", std::process::id()));
    let location = dir.to_str().expect("utf-8 temp dir");

    // Writes go through a client that holds the warehouse.
    let client = TimeMachine::open(location).await?;
    client.execute("CREATE TABLE sales (item STRING, amount BIGINT) PARTITIONED BY (ds STRING)").await?;
    client.execute("INSERT INTO sales PARTITION (ds='20200101') VALUES ('apple', 3), ('pear', 5)").await?;
    client.execute("INSERT OVERWRITE TABLE sales PARTITION (ds='20200101') VALUES ('apple', 30)").await?;

    // A session whose queries run on the cluster.
    let cluster =
        TimeMachine::builder().location(location).session_context(standalone_context(2).await?).build().await?;
    let total = |sql: &'static str| {
        let cluster = cluster.clone();
        async move {
            let result = cluster.execute(sql).await?;
            println!("{sql}\n{}", pretty_format_batches(&result.batches)?);
            Ok::<_, datafusion_timemachine::Error>(result)
        }
    };
    let now = total("SELECT sum(amount) AS total FROM sales").await?;
    let before = total("SELECT sum(amount) AS total FROM sales VERSION AS OF 2").await?;
    let shown = |r: &datafusion_timemachine::StatementResult| pretty_format_batches(&r.batches).map(|t| t.to_string());
    assert!(shown(&now)?.contains("| 30 "), "the current version holds 30");
    assert!(shown(&before)?.contains("| 8 "), "LSN 2 held 3 + 5");

    // Undone on the client; the cluster reads the restored version at its next query.
    cluster.execute("RESTORE TABLE sales TO LSN '0000000000000002'").await?;
    let restored = total("SELECT item, amount FROM sales ORDER BY item").await?;
    assert!(shown(&restored)?.contains("pear"), "the restore brought pear back");

    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
