//! The command line's options.

use std::path::PathBuf;

use clap::Parser;

use super::print::Format;

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
    /// Print each statement of -c, -f or stdin before its result (a script then reads as a
    /// transcript).
    #[arg(long)]
    pub echo: bool,
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
pub(super) enum Script {
    Command(String),
    File(PathBuf),
}
