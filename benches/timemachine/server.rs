//! `timemachine serve` against the same work in process or through the CLI: a round trip, a
//! large result, and many clients appending at once. The server runs as its own process (its
//! peak RSS is read from /proc), the client is arrow-flight's Flight SQL client.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use arrow_flight::sql::client::FlightSqlServiceClient;
use datafusion_timemachine::TimeMachine;
use futures::TryStreamExt;
use tonic::transport::Channel;

use crate::{exec, median, ms, row, scratch};

struct Served(std::process::Child, String);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(dir: &std::path::Path) -> Served {
    use std::io::BufRead;
    let mut child = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .args(["serve", "--port", "0", "--warehouse"])
        .arg(dir)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    stderr.read_line(&mut line).unwrap();
    std::thread::spawn(move || std::io::copy(&mut stderr, &mut std::io::sink()));
    let addr = line.split("grpc://").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().to_string();
    Served(child, addr)
}

async fn login(addr: &str) -> FlightSqlServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap();
    let mut c = FlightSqlServiceClient::new(channel);
    c.handshake("owner", "owner-pw").await.unwrap();
    c
}

/// Rows of `sql` fetched through the server.
async fn fetch(c: &mut FlightSqlServiceClient<Channel>, sql: &str) -> usize {
    let info = c.execute(sql.to_string(), None).await.unwrap();
    let mut rows = 0;
    for e in info.endpoint {
        let mut stream = c.do_get(e.ticket.unwrap()).await.unwrap();
        while let Some(b) = stream.try_next().await.unwrap() {
            rows += b.num_rows();
        }
    }
    rows
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

pub(crate) async fn bench_server(rows: u64, runs: usize) {
    let dir = scratch("server");
    let tm = TimeMachine::builder().location(dir.to_str().unwrap()).user("owner").build().await.unwrap();
    exec(&tm, "ADD USER client").await;
    exec(&tm, "ALTER USER owner IDENTIFIED BY 'owner-pw'").await;
    exec(&tm, &format!("CREATE TABLE big AS SELECT value AS k, 'row ' || value AS s FROM generate_series(1, {rows})"))
        .await;
    exec(&tm, "CREATE TABLE c (w BIGINT, i BIGINT)").await;
    let served = serve(&dir);
    let mut c = login(&served.1).await;

    // A round trip: SELECT 1 through the server vs in process.
    let (mut remote, mut local) = (vec![], vec![]);
    for _ in 0..200.max(runs) {
        let start = Instant::now();
        fetch(&mut c, "SELECT 1").await;
        remote.push(start.elapsed());
        let start = Instant::now();
        tm.execute("SELECT 1").await.unwrap();
        local.push(start.elapsed());
    }
    let (remote, local) = (median(remote), median(local));
    row(
        "server: SELECT 1 round trip vs in process",
        ms(remote),
        ms(local),
        format!("{:.2}", remote.as_secs_f64() / local.as_secs_f64()),
        "< 2 ms",
    );

    // A large result: through the server vs the CLI printing csv.
    let sql = "SELECT k, s FROM big";
    let rss_before = peak_rss_mib(served.0.id());
    let start = Instant::now();
    assert_eq!(fetch(&mut c, sql).await as u64, rows);
    let t_server = start.elapsed();
    let rss = peak_rss_mib(served.0.id());
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .args(["--user", "owner", "--format", "csv", "-q", "--warehouse"])
        .arg(&dir)
        .args(["-c", sql])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let t_cli = start.elapsed();
    let per_s = |d: Duration| rows as f64 / d.as_secs_f64();
    row(
        &format!("server: {rows}-row result, rows/s vs CLI to csv"),
        format!("{:.0}", per_s(t_server)),
        format!("{:.0}", per_s(t_cli)),
        format!("{:.2}", per_s(t_server) / per_s(t_cli)),
        ">= 0.5",
    );
    row(
        "  server peak RSS (before -> after)",
        format!("{rss_before:.0} MiB"),
        format!("{rss:.0} MiB"),
        String::new(),
        "far below the result",
    );

    // 8 clients x 25 appends through the server vs 8 CLI processes doing the same.
    let start = Instant::now();
    let mut tasks = vec![];
    for w in 0..8 {
        let addr = served.1.clone();
        tasks.push(tokio::spawn(async move {
            let mut c = login(&addr).await;
            for i in 0..25 {
                c.execute_update(format!("INSERT INTO c VALUES ({w}, {i})"), None).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let t_server = start.elapsed();
    let start = Instant::now();
    let children: Vec<_> = (0..8)
        .map(|w| {
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_timemachine"));
            cmd.args(["--user", "owner", "-q", "--warehouse"]).arg(&dir);
            for i in 0..25 {
                cmd.args(["-c", &format!("INSERT INTO c VALUES ({w}, {i})")]);
            }
            cmd.stdout(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let t_cli = start.elapsed();
    row(
        "server: 8 clients x 25 appends, commits/s vs 8 CLIs",
        format!("{:.0}", 200.0 / t_server.as_secs_f64()),
        format!("{:.0}", 200.0 / t_cli.as_secs_f64()),
        format!("{:.2}", t_cli.as_secs_f64() / t_server.as_secs_f64()),
        "",
    );
    drop(served);
    let _ = std::fs::remove_dir_all(&dir);
}
