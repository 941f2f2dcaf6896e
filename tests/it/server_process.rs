//! `timemachine serve` as a process: a real client no one here wrote (the ADBC Flight SQL driver
//! for Python), a stop by SIGTERM, and a SIGKILL in the middle of an INSERT.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion_timemachine::TimeMachine;
use futures::TryStreamExt;
use tonic::transport::Channel;

use crate::{rows, run};

/// A server process and the address it printed.
struct Served {
    child: Child,
    addr: String,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `timemachine serve` on a free port and reads where it listens from its first line.
fn start(warehouse: &Path) -> Served {
    let mut child = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .args(["serve", "--port", "0", "--warehouse"])
        .arg(warehouse)
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let mut line = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut line).unwrap();
    // Keep reading what it says, so that it never writes into a closed pipe.
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let addr = line
        .split("grpc://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    Served { child, addr }
}

/// A warehouse with an owner (password owner-pw), alice (password, CreateTable and List) and bob (password, no privileges).
async fn warehouse(dir: &Path) -> TimeMachine {
    let owner = TimeMachine::builder().location(dir.to_str().unwrap()).user("owner").build().await.unwrap();
    run(
        &owner,
        &[
            "ADD USER alice IDENTIFIED BY 'alice-pw'",
            "ADD USER bob IDENTIFIED BY 'bob-pw'",
            "GRANT CreateTable, List ON PROJECT default TO USER alice",
            "ALTER USER owner IDENTIFIED BY 'owner-pw'",
        ],
    )
    .await;
    owner
}

async fn login(addr: &str, user: &str, password: &str) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut client = FlightSqlServiceClient::new(channel);
    client.handshake(user, password).await.unwrap();
    client
}

fn python_has_adbc() -> bool {
    Command::new("python3")
        .args(["-c", "import adbc_driver_flightsql.dbapi, pyarrow"])
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test]
async fn the_adbc_driver_runs_the_transcript_binds_parameters_ingests_and_is_refused_what_it_may_not_do() {
    if !python_has_adbc() {
        assert!(
            std::env::var_os("TIMEMACHINE_REQUIRE_ADBC").is_none(),
            "TIMEMACHINE_REQUIRE_ADBC is set but python3 cannot import adbc_driver_flightsql (pip install adbc-driver-flightsql pyarrow)"
        );
        eprintln!("skipped: python3 has no adbc_driver_flightsql");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    drop(warehouse(dir.path()).await);
    let served = start(dir.path());
    let script = crate::source_dir().join("tests/adbc/client.py");
    let uri = format!("grpc://{}", served.addr);
    let out = Command::new("python3")
        .arg(&script)
        .args([uri.as_str(), "alice", "alice-pw", "bob", "bob-pw"])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && stdout.contains("adbc client: ok"), "{stdout}\n{stderr}");
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    drop(warehouse(dir.path()).await);
    let mut served = start(dir.path());
    let mut c = login(&served.addr, "alice", "alice-pw").await;
    c.execute_update("CREATE TABLE t (v BIGINT)".into(), None).await.unwrap();
    let pid = served.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || {
        let status = served.child.wait().unwrap();
        drop(served);
        status
    })
    .await
    .unwrap();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn a_server_killed_mid_insert_loses_nothing_committed_and_serves_the_same_warehouse_again() {
    let dir = tempfile::tempdir().unwrap();
    let owner = warehouse(dir.path()).await;
    run(&owner, &["CREATE TABLE t (v BIGINT)", "INSERT INTO t VALUES (1), (2)"]).await;
    drop(owner);
    let mut served = start(dir.path());
    let insert = {
        let addr = served.addr.clone();
        tokio::spawn(async move {
            let mut c = login(&addr, "owner", "owner-pw").await;
            c.execute_update("INSERT INTO t SELECT value FROM generate_series(1, 20000000)".into(), None).await
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    served.child.kill().unwrap();
    served.child.wait().unwrap();
    let outcome = insert.await.unwrap();
    // Restarted on the same warehouse: the table has its committed rows, all or none of the
    // interrupted INSERT's.
    let again = start(dir.path());
    let mut c = login(&again.addr, "owner", "owner-pw").await;
    let info = c.execute("SELECT count(*) FROM t".into(), None).await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let batches: Vec<_> = c.do_get(ticket).await.unwrap().try_collect().await.unwrap();
    let count = datafusion::arrow::array::AsArray::as_primitive::<datafusion::arrow::datatypes::Int64Type>(
        batches[0].column(0),
    )
    .value(0);
    match outcome {
        Ok(_) => assert_eq!(count, 20_000_002),
        Err(_) => assert!(count == 2 || count == 20_000_002, "{count}"),
    }
    let fresh = TimeMachine::builder().location(dir.path().to_str().unwrap()).user("owner").build().await.unwrap();
    assert_eq!(
        rows(&fresh, "SELECT count(*) FROM t WHERE v IN (1, 2)").await,
        vec![if count == 2 { "2" } else { "4" }]
    );
}
