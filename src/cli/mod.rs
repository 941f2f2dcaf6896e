//! The `timemachine` command line: arguments, statement runner, REPL.
//!
//! Statements from `-c` and `-f` run in the order given; without either, statements come from
//! the REPL (stdin is a terminal) or from stdin. Non-interactive runs stop at the first error.

mod print;

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{CommandFactory, FromArgMatches, Parser};

pub use print::{Format, print_batches, print_stream};

use crate::TimeMachine;
use crate::error::{Error, Result};
use crate::sql::{Statement, parse, split_statements};
use crate::statements::ResultKind;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(name = "timemachine", version, about = "DataFusion with a time machine for every table")]
pub struct Args {
    /// Warehouse: a directory, file://…, memory:// or s3://bucket/prefix.
    #[arg(long, env = "TIMEMACHINE_WAREHOUSE", default_value = "./warehouse")]
    pub warehouse: String,
    /// Project (namespace of tables).
    #[arg(long, default_value = "default")]
    pub project: String,
    /// Output format of query results.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Run these statements (repeatable), then exit. SQL may start with a `--` comment.
    #[arg(short = 'c', long = "command", allow_hyphen_values = true)]
    pub commands: Vec<String>,
    /// Run the statements in these files (repeatable), then exit.
    #[arg(short = 'f', long = "file")]
    pub files: Vec<PathBuf>,
    /// Run queries on the Apache Ballista cluster whose scheduler is at this URL
    /// (df://host:50050); statements and commits run here. Needs the `ballista` feature.
    #[arg(long, env = "TIMEMACHINE_BALLISTA")]
    pub ballista: Option<String>,
    /// The session's user, for the project's permissions (ADD USER, GRANT): setting the
    /// retention and PURGE need the owner or admin, the history of tables needs List.
    #[arg(long, env = "TIMEMACHINE_USER")]
    pub user: Option<String>,
    /// Do not ask for confirmation before DROP TABLE / DROP PARTITION.
    #[arg(long)]
    pub yes: bool,
    /// Log what the time machine does in the background (automatic purges) to stderr; RUST_LOG
    /// sets the filter in detail.
    #[arg(short, long)]
    pub verbose: bool,
    /// Print only query results (no confirmations, no timing).
    #[arg(short, long)]
    pub quiet: bool,
    /// Rows the table format shows per query (`inf` for all); csv and json print every row.
    #[arg(long, default_value = "40", value_parser = parse_maxrows)]
    pub maxrows: MaxRows,
}

/// `--maxrows`: a number of rows, or no limit (`inf`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaxRows(pub Option<usize>);

fn parse_maxrows(s: &str) -> std::result::Result<MaxRows, String> {
    match s.trim().to_lowercase().as_str() {
        "inf" | "infinite" | "none" => Ok(MaxRows(None)),
        n => n.parse().map(|n| MaxRows(Some(n))).map_err(|_| format!("--maxrows takes a number or inf, not {s:?}")),
    }
}

/// A source of statements, in the order given on the command line.
enum Script {
    Command(String),
    File(PathBuf),
}

/// Parses the process arguments and runs; returns the process exit code.
pub fn main() -> ExitCode {
    // `timemachine serve …`: the Flight SQL server has arguments of its own.
    let mut argv: Vec<String> = std::env::args().collect();
    if argv.get(1).is_some_and(|a| a == "serve") {
        return crate::server::main(argv.split_off(2));
    }
    let matches = Args::command().get_matches();
    let args = match Args::from_arg_matches(&matches) {
        Ok(a) => a,
        Err(e) => e.exit(),
    };
    // Keep -c and -f in command-line order.
    let mut scripts: Vec<(usize, Script)> = Vec::new();
    if let Some(idx) = matches.indices_of("commands") {
        scripts.extend(idx.zip(args.commands.iter().cloned().map(Script::Command)));
    }
    if let Some(idx) = matches.indices_of("files") {
        scripts.extend(idx.zip(args.files.iter().cloned().map(Script::File)));
    }
    scripts.sort_by_key(|(i, _)| *i);
    if args.verbose || std::env::var_os("RUST_LOG").is_some() {
        let default = if args.verbose { "datafusion_timemachine=info" } else { "warn" };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args, scripts.into_iter().map(|(_, s)| s).collect()))
}

async fn run(args: Args, scripts: Vec<Script>) -> ExitCode {
    let mut builder = TimeMachine::builder().location(&args.warehouse).project(&args.project);
    if let Some(url) = &args.ballista {
        builder = builder.ballista(url);
    }
    if let Some(user) = &args.user {
        builder = builder.user(user);
    }
    let tm = match builder.build().await {
        Ok(tm) => tm,
        Err(e) => {
            eprintln!("error: cannot open warehouse {}: {e}", args.warehouse);
            return ExitCode::FAILURE;
        }
    };
    let interactive = std::io::stdin().is_terminal();
    let runner = Runner {
        tm,
        format: args.format,
        quiet: args.quiet,
        confirm: interactive && !args.yes,
        maxrows: args.maxrows.0,
        timing: !args.quiet && std::io::stdout().is_terminal(),
        progress: std::io::stderr().is_terminal(),
    };
    let ok = if !scripts.is_empty() {
        runner.run_scripts(scripts).await
    } else if interactive {
        runner.repl().await
    } else {
        // Blocking reads stay off the runtime's threads.
        let read = tokio::task::spawn_blocking(|| {
            let mut text = String::new();
            std::io::stdin().read_to_string(&mut text).map(|_| text)
        });
        match read.await {
            Ok(Ok(text)) => runner.run_text(&text).await,
            Ok(Err(e)) => {
                eprintln!("error: reading stdin: {e}");
                false
            }
            Err(e) => {
                eprintln!("error: reading stdin: {e}");
                false
            }
        }
    };
    // Let an automatic purge this process started finish, so one-statement runs reclaim too.
    runner.tm.project().wait_background().await;
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

struct Runner {
    tm: TimeMachine,
    format: Format,
    quiet: bool,
    confirm: bool,
    maxrows: Option<usize>,
    /// Print `N rows in set. Query took …` (on a terminal, unless quiet).
    timing: bool,
    /// Show progress of long statements on stderr (a terminal).
    progress: bool,
}

impl Runner {
    async fn run_scripts(&self, scripts: Vec<Script>) -> bool {
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
    async fn run_text(&self, text: &str) -> bool {
        for stmt in split_statements(text) {
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

    async fn run_statement(&self, sql: &str) -> Result<()> {
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

    async fn repl(&self) -> bool {
        let mut editor = match rustyline::DefaultEditor::new() {
            Ok(e) => e,
            Err(e) => {
                eprintln!("error: cannot start the line editor: {e}");
                return false;
            }
        };
        let history = std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".timemachine_history"));
        if let Some(h) = &history {
            let _ = editor.load_history(h);
        }
        let prompt = format!("timemachine@ {}>", self.tm.project().name());
        let mut buffer = String::new();
        loop {
            let p =
                if buffer.is_empty() { format!("{prompt} ") } else { format!("{}> ", " ".repeat(prompt.len() - 1)) };
            // The line editor blocks: it runs off the runtime's threads (background purges go on).
            let (returned, line) = match tokio::task::spawn_blocking(move || {
                let line = editor.readline(&p);
                (editor, line)
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: the line editor failed: {e}");
                    return false;
                }
            };
            editor = returned;
            match line {
                Ok(line) => {
                    let trimmed = line.trim();
                    if buffer.is_empty() && matches!(trimmed, "quit" | "exit" | "\\q" | "quit;" | "exit;") {
                        break;
                    }
                    buffer.push_str(&line);
                    buffer.push('\n');
                    if trimmed.ends_with(';') {
                        // A password typed in ADD/ALTER USER … IDENTIFIED BY never reaches the
                        // history file.
                        if !buffer.to_ascii_uppercase().contains("IDENTIFIED") {
                            let _ = editor.add_history_entry(buffer.trim());
                        }
                        for stmt in split_statements(&buffer) {
                            if let Err(e) = self.run_statement(&stmt).await {
                                eprintln!("error: {e}");
                            }
                        }
                        buffer.clear();
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => buffer.clear(),
                Err(_) => break,
            }
        }
        if let Some(h) = &history {
            let _ = editor.save_history(h);
        }
        true
    }
}
