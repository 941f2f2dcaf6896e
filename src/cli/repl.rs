//! The interactive REPL: a line editor with history and Tab completion (keywords, the project's
//! tables, meta commands), multi-line statements ended by `;`, and the meta commands of
//! [`super::meta`].

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Context, Editor, Helper};

use super::meta::{HELP, Meta, parse_meta};
use super::runner::Runner;
use crate::log::Project;
use crate::sql::split_statements;

/// Words Tab completes besides table names: the statements of ours and DataFusion's usual ones.
const KEYWORDS: &[&str] = &[
    "ADD",
    "ALTER",
    "AND",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CLONE",
    "COLUMNS",
    "COUNT",
    "CREATE",
    "DELETE",
    "DESC",
    "DESCRIBE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "END",
    "EXISTS",
    "EXPLAIN",
    "FOR",
    "FROM",
    "GRANT",
    "GROUP",
    "HAVING",
    "HISTORY",
    "IDENTIFIED",
    "IF",
    "IN",
    "INSERT",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIFECYCLE",
    "LIMIT",
    "LIST",
    "LSN",
    "MATCHED",
    "MERGE",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "OVERWRITE",
    "PARTITION",
    "PARTITIONED",
    "PARTITIONS",
    "PURGE",
    "RECLAIM",
    "RENAME",
    "RESTORE",
    "REVOKE",
    "SELECT",
    "SET",
    "SETPROJECT",
    "SHOW",
    "SMALLFILES",
    "SYSTEM_TIME",
    "TABLE",
    "TABLES",
    "TAG",
    "TAGS",
    "THEN",
    "TIMESTAMP",
    "TO",
    "TRUNCATE",
    "UNION",
    "UPDATE",
    "USER",
    "USING",
    "VALUES",
    "VERSION",
    "WHEN",
    "WHERE",
    "WITH",
];

/// Completes the word before the cursor.
struct Completion {
    project: Arc<Project>,
}

impl Completion {
    fn candidates(&self, line: &str, word: &str) -> Vec<String> {
        if word.is_empty() {
            return vec![];
        }
        if line.trim_start().starts_with('\\') {
            return ["\\?", "\\d", "\\h", "\\q"]
                .iter()
                .filter(|c| c.starts_with(word))
                .map(|c| c.to_string())
                .collect();
        }
        let lower = word.chars().all(|c| !c.is_ascii_uppercase());
        let upper = word.to_ascii_uppercase();
        let mut out: Vec<String> =
            self.project.state().live_names().into_iter().filter(|t| t.starts_with(&word.to_lowercase())).collect();
        out.extend(
            KEYWORDS
                .iter()
                .filter(|k| k.starts_with(&upper))
                .map(|k| if lower { k.to_lowercase() } else { k.to_string() }),
        );
        out
    }
}

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start =
            before.rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '\\' || c == '?')).map_or(0, |i| i + 1);
        let word = &before[start..];
        let pairs =
            self.candidates(line, word).into_iter().map(|c| Pair { display: c.clone(), replacement: c }).collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}

impl Highlighter for Completion {
    fn highlight_prompt<'b, 's: 'b, 'p: 'b>(&'s self, prompt: &'p str, _default: bool) -> Cow<'b, str> {
        Cow::Borrowed(prompt)
    }
}

impl Validator for Completion {}

impl Helper for Completion {}

pub(super) async fn repl(runner: &Runner) -> bool {
    let config = rustyline::Config::builder().completion_type(CompletionType::List).build();
    let mut editor = match Editor::<Completion, DefaultHistory>::with_config(config) {
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
    editor.set_helper(Some(Completion { project: Arc::clone(runner.tm.project()) }));
    let prompt = format!("timemachine@ {}>", runner.tm.project().name());
    let mut buffer = String::new();
    loop {
        let p = if buffer.is_empty() { format!("{prompt} ") } else { format!("{}> ", " ".repeat(prompt.len() - 1)) };
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
                if buffer.is_empty() {
                    match parse_meta(trimmed) {
                        Some(Meta::Quit) => break,
                        Some(Meta::Help) => {
                            print!("{HELP}");
                            let _ = editor.add_history_entry(trimmed);
                            continue;
                        }
                        Some(Meta::Sql(sql)) => {
                            let _ = editor.add_history_entry(trimmed);
                            if let Err(e) = runner.run_statement(&sql).await {
                                eprintln!("error: {e}");
                            }
                            continue;
                        }
                        Some(Meta::Unknown(command)) => {
                            eprintln!("error: unknown command {command}: \\? lists the commands");
                            continue;
                        }
                        None => {}
                    }
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
                        if let Err(e) = runner.run_statement(&stmt).await {
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
