//! Embedded use: a partitioned table on a temporary local warehouse, overwritten and queried,
//! with every version kept; the past read in FROM, a bad overwrite undone, and the change feed
//! of what happened since.
//!
//! `cargo run --example embedded`

use datafusion_timemachine::{Result, TimeMachine};

#[tokio::main]
async fn main() -> Result<()> {
    let dir = std::env::temp_dir().join(format!("timemachine-example-{}", std::process::id()));
    let tm = TimeMachine::open(dir.to_str().expect("utf-8 temp dir")).await?;

    tm.execute("CREATE TABLE sales (item STRING, amount BIGINT) PARTITIONED BY (ds STRING)").await?;
    tm.execute(r#"INSERT OVERWRITE TABLE sales PARTITION (ds="20200101") VALUES ("apple", 3), ("pear", 5)"#).await?;
    tm.execute(r#"INSERT OVERWRITE TABLE sales PARTITION (ds="20200102") VALUES ("apple", 7)"#).await?;
    // A bad overwrite: the previous content of ds=20200101 stays in history.
    tm.execute(r#"INSERT OVERWRITE TABLE sales PARTITION (ds="20200101") VALUES ("oops", 0)"#).await?;

    // Plain DataFusion SQL works on the table; filters on ds prune partitions.
    tm.sql("SELECT ds, sum(amount) AS total FROM sales GROUP BY ds ORDER BY ds").await?.show().await?;

    let state = tm.project().state();
    let table = state.live_table("sales").expect("created above");
    println!("table {} is at LSN {}; versions kept:", table.current.name, table.current.lsn);
    for entry in table.entries().iter() {
        for row in &entry.history {
            println!("  {:016}  {:<9} {} {}", entry.lsn, row.operation, row.object_type, row.object_name);
        }
    }
    drop(state);

    // Read the past without restoring it, then undo the bad overwrite (no data copied).
    tm.sql("SELECT * FROM sales VERSION AS OF 3 WHERE ds = '20200101'").await?.show().await?;
    tm.execute("RESTORE TABLE sales PARTITION (ds='20200101') TO LSN '0000000000000003'").await?;
    tm.sql("SELECT item, amount FROM sales WHERE ds = '20200101' ORDER BY item").await?.show().await?;

    // The change feed: what each version since the bad overwrite inserted, deleted or updated.
    tm.execute("UPDATE sales SET amount = amount + 1 WHERE item = 'pear'").await?;
    let changes = "SELECT _commit_version, _change_type, item, amount, ds FROM table_changes('sales', 4, 6) \
                   ORDER BY _commit_version, _change_type, item";
    tm.sql(changes).await?.show().await?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
