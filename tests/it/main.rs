//! The one integration-test binary (one binary keeps link time down); a module per area.

#[cfg(feature = "ballista")]
mod ballista;
mod changes;
mod cli;
mod commits;
mod corrupt;
mod crash;
mod dataframes;
mod fuzz;
mod model;
mod processes;
mod reclaim;
mod rowlevel;
mod s3;
mod safety;
mod scan;
mod server;
mod server_process;
mod simulation;
mod storage;
mod store;
mod timemachine;
mod transcript_cli;

use datafusion_timemachine::{StatementResult, TimeMachine};

/// The checkout under test, read at run time: checkouts sharing a `CARGO_TARGET_DIR` share this
/// binary, and a compile-time path would read whichever checkout built it last.
pub fn source_dir() -> std::path::PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), Into::into)
}

/// Runs statements, panicking with the statement on error.
pub async fn run(tm: &TimeMachine, sqls: &[&str]) {
    for sql in sqls {
        if let Err(e) = tm.execute(sql).await {
            panic!("{sql}: {e}");
        }
    }
}

/// The rows of a query as `|`-joined strings, sorted.
pub async fn rows(tm: &TimeMachine, sql: &str) -> Vec<String> {
    let result: StatementResult = tm.execute(sql).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
    let mut out = Vec::new();
    for batch in &result.batches {
        let text =
            datafusion::arrow::util::pretty::pretty_format_batches(std::slice::from_ref(batch)).unwrap().to_string();
        // Body rows of the pretty table: lines starting with "| ", minus the header.
        for line in text.lines().filter(|l| l.starts_with("| ")).skip(1) {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            out.push(cells.join("|"));
        }
    }
    out.sort();
    out
}
