//! Serving a project over Arrow Flight SQL and querying it as a client would: the server starts on
//! a loopback port, a user logs in with a password, runs statements and reads the past.
//!
//! `cargo run --example flight_sql` (the same as `timemachine serve` plus any Flight SQL client:
//! ADBC, JDBC, BI tools; see README's "Serve it").

use arrow_flight::Ticket;
use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::pretty::pretty_format_batches;
use datafusion_timemachine::TimeMachine;
use datafusion_timemachine::server::{ServeOptions, Server};
use futures::TryStreamExt;
use tonic::transport::Channel;

type Client = FlightSqlServiceClient<Channel>;

/// Runs `sql` and collects every batch of its result.
async fn query(client: &mut Client, sql: &str) -> Result<Vec<RecordBatch>, Box<dyn std::error::Error>> {
    let info = client.execute(sql.to_string(), None).await?;
    let mut batches = vec![];
    for endpoint in info.endpoint {
        let ticket: Ticket = endpoint.ticket.ok_or("an endpoint without a ticket")?;
        batches.extend(client.do_get(ticket).await?.try_collect::<Vec<_>>().await?);
    }
    Ok(batches)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::temp_dir().join(format!("timemachine-flight-example-{}", std::process::id()));
    // The holder of the warehouse makes a user (the first ADD USER makes the session's user the
    // owner) and a table, then serves the project.
    let owner = TimeMachine::builder().location(dir.to_str().ok_or("utf-8 temp dir")?).user("owner").build().await?;
    owner.execute("ADD USER alice IDENTIFIED BY 'alice-secret'").await?;
    owner.execute("CREATE TABLE visits (page STRING, n BIGINT)").await?;
    owner.execute("GRANT Select, Update, ShowHistory ON TABLE visits TO USER alice").await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let server = Server::start(owner.project().clone(), ServeOptions::default(), listener)?;
    println!("Flight SQL on {}", server.addr());

    // A client: log in (Basic credentials in the handshake, a bearer token after), then SQL.
    let channel = Channel::from_shared(format!("http://{}", server.addr()))?.connect().await?;
    let mut alice = FlightSqlServiceClient::new(channel);
    alice.handshake("alice", "alice-secret").await?;
    alice.execute_update("INSERT INTO visits VALUES ('home', 3)".into(), None).await?;
    alice.execute_update("INSERT OVERWRITE TABLE visits VALUES ('home', 0)".into(), None).await?;
    println!("now:\n{}", pretty_format_batches(&query(&mut alice, "SELECT * FROM visits").await?)?);
    println!("LSN 2:\n{}", pretty_format_batches(&query(&mut alice, "SELECT * FROM visits VERSION AS OF 2").await?)?);
    let history = query(&mut alice, "SHOW HISTORY FOR TABLE visits").await?;
    println!("history:\n{}", pretty_format_batches(&history)?);
    // What alice was not granted is refused, and changes nothing.
    let denied = alice.execute_update("DROP TABLE visits".into(), None).await.unwrap_err();
    println!("DROP TABLE as alice: {denied}");

    server.shutdown().await;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
