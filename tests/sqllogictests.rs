//! Runs every `sql-tests/**/*.slt` file with the `sqllogictest` crate, each on a fresh local
//! warehouse. Arguments filter files by name (`cargo test --test sqllogictests -- restore`).
//!
//! All connections of one file share its warehouse, so `connection` records test what
//! several sessions see of each other's commits.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion_timemachine::{Error, ManualClock, ResultKind, TimeMachine};
use sqllogictest::harness::{Arguments, Failed, Trial, run};
use sqllogictest::{DBOutput, DefaultColumnType};

struct Db {
    tm: TimeMachine,
    clock: Arc<ManualClock>,
    location: String,
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = Error;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, Error> {
        // Test-only statement: `ADVANCE CLOCK <n> DAYS|HOURS|MINUTES` moves this file's clock.
        let words: Vec<String> = sql.split_whitespace().map(|w| w.trim_end_matches(';').to_uppercase()).collect();
        if words.len() == 4 && words[0] == "ADVANCE" && words[1] == "CLOCK" {
            let n: i64 = words[2].parse().map_err(|_| Error::Syntax(format!("bad clock step {sql}")))?;
            let step = match words[3].as_str() {
                "DAYS" | "DAY" => chrono::Duration::days(n),
                "HOURS" | "HOUR" => chrono::Duration::hours(n),
                "MINUTES" | "MINUTE" => chrono::Duration::minutes(n),
                _ => return Err(Error::Syntax(format!("bad clock unit in {sql}"))),
            };
            self.clock.advance(step);
            return Ok(DBOutput::StatementComplete(0));
        }
        // Test-only statement: `SESSION USER <name>` reopens this connection as that user.
        if words.len() == 3 && words[0] == "SESSION" && words[1] == "USER" {
            let clock = Arc::clone(&self.clock);
            self.tm = TimeMachine::builder().location(&self.location).clock(clock).user(&words[2]).build().await?;
            return Ok(DBOutput::StatementComplete(0));
        }
        let result = self.tm.execute(sql).await;
        // The automatic purge (expiry, LIFECYCLE reclamation) that a statement starts finishes
        // before the next record, so that files read the same on every run.
        self.tm.project().wait_background().await;
        let result = result?;
        match result.kind {
            ResultKind::Ok => Ok(DBOutput::StatementComplete(0)),
            ResultKind::RowsAffected(n) => Ok(DBOutput::StatementComplete(n)),
            ResultKind::Query => {
                let types = result.schema.fields().iter().map(|f| column_type(f.data_type())).collect();
                let options = FormatOptions::default().with_null("NULL");
                let mut rows = Vec::new();
                for batch in &result.batches {
                    let formatters = batch
                        .columns()
                        .iter()
                        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
                        .collect::<Result<Vec<_>, _>>()?;
                    for row in 0..batch.num_rows() {
                        rows.push(
                            formatters
                                .iter()
                                .map(|f| match f.value(row).to_string() {
                                    s if s.is_empty() => "(empty)".to_string(),
                                    s => s,
                                })
                                .collect(),
                        );
                    }
                }
                Ok(DBOutput::Rows { types, rows })
            }
        }
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "timemachine"
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        t if t.is_integer() => DefaultColumnType::Integer,
        t if t.is_floating() || matches!(t, DataType::Decimal128(..)) => DefaultColumnType::FloatingPoint,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => DefaultColumnType::Text,
        _ => DefaultColumnType::Any,
    }
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            slt_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slt") {
            out.push(p);
        }
    }
}

async fn run_file(path: PathBuf) -> Result<(), Failed> {
    let dir = tempfile::tempdir().map_err(|e| Failed::from(e.to_string()))?;
    let location = dir.path().join("warehouse").to_string_lossy().to_string();
    // One clock per file, starting at the time of the reference transcript.
    let clock = Arc::new(ManualClock::new("2020-02-18T14:17:58Z".parse().expect("valid time")));
    let mut runner = sqllogictest::Runner::new(move || {
        let location = location.clone();
        let clock = clock.clone();
        async move {
            let tm = TimeMachine::builder().location(location.clone()).clock(clock.clone()).build().await?;
            Ok(Db { tm, clock, location })
        }
    });
    let result = runner.run_file_async(&path).await;
    drop(dir);
    result.map_err(|e| Failed::from(e.display(true).to_string()))
}

/// The checkout whose `sql-tests/` run: the one cargo runs this harness from. Read at run time,
/// because every checkout sharing a `CARGO_TARGET_DIR` shares this binary: a compile-time path
/// would run whichever checkout built it last (a new record once "passed" without running).
fn source_dir() -> PathBuf {
    std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")), PathBuf::from)
}

fn main() {
    let args = Arguments::from_args();
    let root = source_dir().join("sql-tests");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    assert!(!files.is_empty(), "no .slt files under {}", root.display());
    let tests = files
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().to_string();
            Trial::test(name, move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .map_err(|e| Failed::from(e.to_string()))?;
                rt.block_on(run_file(path))
            })
        })
        .collect();
    run(&args, tests).exit();
}
