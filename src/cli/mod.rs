//! The `timemachine` command line: arguments, statement runner, REPL.
//!
//! Statements from `-c` and `-f` run in the order given; without either, statements come from
//! the REPL (stdin is a terminal) or from stdin. Non-interactive runs stop at the first error.

mod args;
mod meta;
mod print;
mod repl;
mod runner;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use args::{Args, MaxRows};
pub use print::{Format, print_batches, print_stream};

use args::Script;
use runner::Runner;

use crate::TimeMachine;

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
        echo: args.echo,
    };
    let ok = if !scripts.is_empty() {
        runner.run_scripts(scripts).await
    } else if interactive {
        repl::repl(&runner).await
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
