//! A warehouse on S3 (or any S3-compatible store): two handles, as two processes would be,
//! share one project; each sees the other's commits, reads the past and the change feed.
//!
//! The store comes from the usual variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP` for a local server) and the bucket from
//! `TIMEMACHINE_S3_BUCKET`. Against a local moto server (what CI does):
//!
//! `.ci/with_s3.sh cargo run --example s3`

use datafusion_timemachine::{Error, Result, TimeMachine};

#[tokio::main]
async fn main() -> Result<()> {
    let bucket = std::env::var("TIMEMACHINE_S3_BUCKET")
        .map_err(|_| Error::Invalid("set TIMEMACHINE_S3_BUCKET (and AWS_*), or run under .ci/with_s3.sh".into()))?;
    // A fresh prefix per run: a warehouse is any prefix of a bucket.
    let location = format!("s3://{bucket}/example-{}", std::process::id());

    let writer = TimeMachine::open(&location).await?;
    writer.execute("CREATE TABLE events (id BIGINT, kind STRING)").await?;
    writer.execute("INSERT INTO events VALUES (1, 'signup'), (2, 'login')").await?;

    // Another handle (another process, another machine) on the same warehouse.
    let reader = TimeMachine::open(&location).await?;
    writer.execute("UPDATE events SET kind = 'logout' WHERE id = 2").await?;
    reader.sql("SELECT * FROM events ORDER BY id").await?.show().await?;
    reader.sql("SELECT * FROM events VERSION AS OF 2 ORDER BY id").await?.show().await?;
    reader
        .sql("SELECT _commit_version, _change_type, id, kind FROM table_changes('events', 2) ORDER BY 1, 2, 3")
        .await?
        .show()
        .await?;
    reader.project().wait_background().await;
    writer.project().wait_background().await;
    Ok(())
}
