//! Running statements for the command line: scripts in order, a question before destructive
//! statements, results printed as they stream, progress and timing on a terminal.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use super::args::Script;
use super::print::{Format, print_stream};
use crate::TimeMachine;
use crate::error::{Error, Result};
use crate::sql::{Statement, parse, split_statements};
use crate::statements::ResultKind;

pub(super) struct Runner {
    pub(super) tm: TimeMachine,
    pub(super) format: Format,
    pub(super) quiet: bool,
    pub(super) confirm: bool,
    pub(super) maxrows: Option<usize>,
    /// Print `N rows in set. Query took …` (on a terminal, unless quiet).
    pub(super) timing: bool,
    /// Show progress of long statements on stderr (a terminal).
    pub(super) progress: bool,
    /// Print each statement before its result (`--echo`).
    pub(super) echo: bool,
}

impl Runner {
    pub(super) async fn run_scripts(&self, scripts: Vec<Script>) -> bool {
        for script in scripts {
            let text = match script {
                Script::Command(c) => c,
                Script::File(path) => match tokio::fs::read_to_string(&path).await {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: cannot read {}: {e}", path.display());
                        return false;
                    }
                },
            };
            if !self.run_text(&text).await {
                return false;
            }
        }
        true
    }

    /// Runs every statement of `text`; stops at the first failure.
    pub(super) async fn run_text(&self, text: &str) -> bool {
        for stmt in split_statements(text) {
            if self.echo {
                println!("{};", stmt.trim());
            }
            if let Err(e) = self.run_statement(&stmt).await {
                eprintln!("error: {e}");
                return false;
            }
        }
        true
    }

    /// Asks before destructive statements, as the MaxCompute client does.
    async fn confirmed(&self, sql: &str) -> bool {
        if !self.confirm {
            return true;
        }
        let destructive = match parse(sql) {
            // A table that does not exist: DROP TABLE fails (IF EXISTS drops nothing) without
            // asking first. The latest log decides (another process may have created it).
            Ok(Statement::DropTable { name, .. }) => {
                let _ = self.tm.project().refresh().await;
                self.tm.project().state().live_table(&name).is_some()
            }
            Ok(Statement::DropPartitions { .. }) => true,
            _ => false,
        };
        if !destructive {
            return true;
        }
        print!("Confirm to \"{};\" (yes/no)? ", sql.trim_end_matches(';'));
        let _ = std::io::stdout().flush();
        let answer = tokio::task::spawn_blocking(|| {
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer).map(|_| answer)
        })
        .await;
        match answer {
            Ok(Ok(answer)) => matches!(answer.trim().to_lowercase().as_str(), "yes" | "y"),
            _ => false,
        }
    }

    pub(super) async fn run_statement(&self, sql: &str) -> Result<()> {
        if !self.confirmed(sql).await {
            println!("Cancelled");
            return Ok(());
        }
        // Ctrl-C drops the statement: an unfinished write leaves only unreferenced files.
        tokio::select! {
            result = self.execute_and_print(sql) => result,
            _ = tokio::signal::ctrl_c() => Err(Error::Cancelled),
        }
    }

    async fn execute_and_print(&self, sql: &str) -> Result<()> {
        let started = Instant::now();
        let scanned = Arc::new(AtomicU64::new(0));
        let ticker = self.progress.then(|| self.spawn_progress(Arc::clone(&scanned)));
        let result = self.execute_and_print_inner(sql, &scanned).await;
        if let Some(t) = ticker {
            t.abort();
            eprint!("\r\x1b[K");
        }
        let rows = result?;
        if self.timing {
            let secs = started.elapsed().as_secs_f64();
            match rows {
                Some(n) => println!("{n} row{} in set. Query took {secs:.3} seconds.", if n == 1 { "" } else { "s" }),
                None => println!("Query took {secs:.3} seconds."),
            }
        }
        Ok(())
    }

    /// Runs `sql` and prints its result; for a query, the number of rows.
    async fn execute_and_print_inner(&self, sql: &str, scanned: &AtomicU64) -> Result<Option<u64>> {
        let (kind, df) = self.tm.run(sql).await?;
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        let rows = match kind {
            ResultKind::Query => {
                let stream = df.execute_stream().await?;
                let limit = if self.format == Format::Table { self.maxrows } else { None };
                Some(print_stream(&mut out, stream, self.format, limit, |n| scanned.store(n, Ordering::Relaxed)).await?)
            }
            ResultKind::Ok if !self.quiet => {
                writeln!(out, "OK")?;
                None
            }
            ResultKind::RowsAffected(n) if !self.quiet => {
                writeln!(out, "OK: {n} row{} written", if n == 1 { "" } else { "s" })?;
                None
            }
            _ => None,
        };
        out.flush()?;
        Ok(rows)
    }

    /// After a second, shows on stderr how many rows the statement has read or written.
    fn spawn_progress(&self, scanned: Arc<AtomicU64>) -> tokio::task::JoinHandle<()> {
        let written = Arc::clone(self.tm.progress());
        written.reset();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            loop {
                let (rows, bytes) = written.get();
                let read = scanned.load(Ordering::Relaxed);
                let line = if rows > 0 {
                    format!("{rows} rows, {:.1} MB written so far…", bytes as f64 / 1e6)
                } else {
                    format!("{read} rows so far…")
                };
                eprint!("\r\x1b[K{line}");
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    }
}
