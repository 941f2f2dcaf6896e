//! The `timemachine` binary: one process per statement sees what earlier processes committed.

use std::path::Path;
use std::process::{Command, Output};

fn timemachine(warehouse: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(warehouse)
        .args(args)
        .output()
        .expect("the binary runs")
}

fn ok(warehouse: &Path, args: &[&str]) -> String {
    let out = timemachine(warehouse, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_statement_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    assert_eq!(ok(&wh, &["-c", "Create Table test_restore_part_x(a string) PARTITIONED BY(ds string);"]), "OK\n");
    for (ds, v) in [("20191201", "1"), ("20191202", "2"), ("20191205", "5"), ("20191205", "6")] {
        let stmt = format!(r#"INSERT OVERWRITE TABLE test_restore_part_x partition(ds="{ds}") values ("{v}");"#);
        assert_eq!(ok(&wh, &["-c", &stmt]), "OK: 1 row written\n");
    }
    assert_eq!(
        ok(&wh, &["--format", "csv", "-c", "list partitions test_restore_part_x;"]),
        "Partition\nds=20191201\nds=20191202\nds=20191205\n"
    );
    assert_eq!(
        ok(&wh, &["--format", "csv", "-c", "select * from test_restore_part_x order by ds"]),
        "a,ds\n1,20191201\n2,20191202\n6,20191205\n"
    );
    // Five statements, five commits in the log.
    let log: Vec<_> = std::fs::read_dir(wh.join("default/_log")).unwrap().collect();
    assert_eq!(log.len(), 5);
}

#[test]
fn scripts_run_in_order_and_stop_at_the_first_error() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let script = dir.path().join("s.sql");
    std::fs::write(&script, "insert into t values ('from file');\nselect nope;\ninsert into t values ('never');")
        .unwrap();
    let out = timemachine(
        &wh,
        &[
            "-q",
            "--format",
            "tsv",
            "-c",
            "create table t (a string); insert into t values ('first')",
            "-f",
            script.to_str().unwrap(),
            "-c",
            "insert into t values ('after')",
        ],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error:") && stderr.contains("nope"), "{stderr}");
    assert_eq!(ok(&wh, &["--format", "tsv", "-c", "select a from t order by a"]), "a\nfirst\nfrom file\n");
}

#[test]
fn statements_from_stdin_and_formats() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let mut child = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(&wh)
        .args(["--format", "ndjson"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"create table t (a string, n bigint);\ninsert into t values ('x', 1);\nselect * from t;\ndrop table t;\n",
        )
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    // Not a terminal: DROP TABLE runs without asking.
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "OK\nOK: 1 row written\n{\"a\":\"x\",\"n\":1}\nOK\n");
}

#[test]
fn bad_warehouse_and_bad_statement_exit_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = timemachine(&dir.path().join("wh"), &["-c", "CREATE TABLE"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("syntax error"));
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .args(["--warehouse", "ftp://nowhere", "-c", "select 1"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported warehouse URL"));
}

/// Runs the CLI on a terminal (a pty made by `script`), typing `input` a line at a time, each
/// once the CLI waits for it (a prompt ending in `>` or `?`): a line editor discards input typed
/// ahead of it, which under load would leave the REPL waiting forever.
fn on_terminal(home: &Path, args: &str, input: &str) -> String {
    use std::io::{Read, Write};
    use std::sync::{Arc, Mutex};
    use std::time::{Duration, Instant};
    let cmd = format!("{} {args}", env!("CARGO_BIN_EXE_timemachine"));
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", home)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("script(1) runs");
    let output = Arc::new(Mutex::new(Vec::<u8>::new()));
    let mut stdout = child.stdout.take().unwrap();
    let reader = {
        let output = Arc::clone(&output);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                output.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    // The text shown so far without terminal escapes, and whether it ends waiting for input.
    let waiting = |from: usize| {
        let bytes = output.lock().unwrap().clone();
        let text = String::from_utf8_lossy(&bytes[from.min(bytes.len())..]).to_string();
        let mut plain = String::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\x1b' {
                // CSI: ESC [ params final-byte.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            break;
                        }
                    }
                }
                continue;
            }
            plain.push(c);
        }
        let trimmed = plain.trim_end();
        trimmed.ends_with('>') || trimmed.ends_with('?')
    };
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = 0;
    for line in input.split_inclusive('\n') {
        let started = Instant::now();
        loop {
            if waiting(seen) || started.elapsed() > Duration::from_secs(60) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        std::thread::sleep(Duration::from_millis(100));
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.flush().unwrap();
        // What the line's echo and its result print comes after this point.
        seen = output.lock().unwrap().len();
    }
    std::thread::sleep(Duration::from_millis(400));
    drop(stdin);
    child.wait().unwrap();
    reader.join().unwrap();
    let bytes = output.lock().unwrap().clone();
    String::from_utf8_lossy(&bytes).to_string()
}

#[test]
fn interactive_drops_ask_for_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    ok(
        &wh,
        &[
            "-c",
            "CREATE TABLE t (a STRING) PARTITIONED BY (ds STRING)",
            "-c",
            "INSERT INTO t PARTITION (ds='1') VALUES ('x')",
        ],
    );
    let args = format!("--warehouse {} -c \"DROP TABLE t\"", wh.display());
    let out = on_terminal(dir.path(), &args, "no\n");
    assert!(out.contains("Confirm to \"DROP TABLE t;\" (yes/no)?") && out.contains("Cancelled"), "{out}");
    assert_eq!(ok(&wh, &["--format", "csv", "-c", "SELECT count(*) AS n FROM t"]), "n\n1\n");
    let args = format!("--warehouse {} -c \"ALTER TABLE t DROP PARTITION (ds='1')\"", wh.display());
    let out = on_terminal(dir.path(), &args, "yes\n");
    assert!(out.contains("Confirm to \"ALTER TABLE t DROP PARTITION (ds='1');\" (yes/no)?"), "{out}");
    assert_eq!(ok(&wh, &["--format", "csv", "-c", "SELECT count(*) AS n FROM t"]), "n\n0\n");
    // A table that does not exist: the statement fails at once, without asking first.
    let out = on_terminal(dir.path(), &format!("--warehouse {} -c \"DROP TABLE nope\"", wh.display()), "");
    assert!(!out.contains("Confirm") && out.contains("table nope does not exist"), "{out}");
    // --yes skips the question.
    let out = on_terminal(dir.path(), &format!("--yes --warehouse {} -c \"DROP TABLE t\"", wh.display()), "");
    assert!(!out.contains("Confirm"), "{out}");
    assert!(!timemachine(&wh, &["-c", "SELECT * FROM t"]).status.success());
}

#[test]
fn a_password_typed_in_the_repl_never_reaches_the_history_file() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let args = format!("--user owner --warehouse {}", wh.display());
    on_terminal(dir.path(), &args, "ADD USER alice IDENTIFIED BY 'typed-secret';\nSELECT 1;\n");
    let history = std::fs::read_to_string(dir.path().join(".timemachine_history")).unwrap();
    assert!(history.contains("SELECT 1") && !history.contains("typed-secret"), "{history}");
}

#[test]
fn repl_runs_multi_line_statements() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = on_terminal(
        dir.path(),
        &format!("--warehouse {}", wh.display()),
        "create table r (a string);\ninsert into r\n  values ('multi-line');\nselect * from r;\nselect nope;\nquit\n",
    );
    assert!(out.contains("timemachine@ default>"), "{out}");
    assert!(out.contains("| multi-line |"), "{out}");
    assert!(out.contains("error:"), "errors are reported and the REPL goes on: {out}");
    assert!(dir.path().join(".timemachine_history").exists());
}

#[test]
fn commands_may_start_with_a_comment_and_tables_show_maxrows() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    ok(
        &wh,
        &[
            "-c",
            "-- make it\nCREATE TABLE m (n BIGINT)",
            "-c",
            "INSERT INTO m SELECT value FROM generate_series(1, 100)",
        ],
    );
    let out = ok(&wh, &["-c", "SELECT n FROM m ORDER BY n"]);
    assert_eq!(out.lines().filter(|l| l.starts_with("| ")).count(), 41, "header + 40 rows by default:\n{out}");
    assert!(out.contains("(40 of 100 rows shown: use --maxrows N, or --maxrows inf for all)"), "{out}");
    let out = ok(&wh, &["--maxrows", "inf", "-c", "SELECT n FROM m"]);
    assert_eq!(out.lines().filter(|l| l.starts_with("| ")).count(), 101);
    // csv prints every row whatever --maxrows says, and no timing line into a pipe.
    let out = ok(&wh, &["--maxrows", "5", "--format", "csv", "-c", "SELECT n FROM m"]);
    assert_eq!(out.lines().count(), 101, "{out}");
    assert!(!timemachine(&wh, &["--maxrows", "lots", "-c", "SELECT 1"]).status.success());
}

#[test]
fn the_sample_script_tours_the_time_machine_and_runs_twice() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let sample = crate::source_dir().join("data/sample.sql");
    let sample = sample.to_str().unwrap();
    let first = ok(&wh, &["--echo", "-f", sample]);
    let second = ok(&wh, &["--echo", "-f", sample]);
    assert!(first.contains("-- A bad overwrite that loses a day's rows:\nINSERT OVERWRITE"), "echoed:\n{first}");
    // The same tour both times, apart from ObjectIds and times.
    let strip = |s: &str| {
        s.lines().filter(|l| !l.contains("| TABLE") && !l.contains("| PARTITION")).collect::<Vec<_>>().join("\n")
    };
    assert_eq!(strip(&first), strip(&second));
    assert!(first.contains("| 20240101 | 8     |"), "the restore brought the overwritten rows back:\n{first}");
    assert!(first.contains("| 20240101 | plum  | 1      |"), "the incremental query shows the overwrite:\n{first}");
}

#[test]
fn the_repl_times_each_statement() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = on_terminal(dir.path(), &format!("--warehouse {}", wh.display()), "select 1 as one;\nquit\n");
    assert!(out.contains("1 row in set. Query took "), "{out}");
    let out = on_terminal(dir.path(), &format!("-q --warehouse {}", wh.display()), "select 1 as one;\nquit\n");
    assert!(!out.contains("Query took"), "{out}");
}

#[test]
fn two_users_in_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let as_user = |user: &str, sql: &str| {
        Command::new(env!("CARGO_BIN_EXE_timemachine"))
            .arg("--warehouse")
            .arg(&wh)
            .args(["--format", "csv", "-c", sql])
            .env("TIMEMACHINE_USER", user)
            .output()
            .expect("the binary runs")
    };
    let ok = |user: &str, sql: &str| {
        let out = as_user(user, sql);
        assert!(out.status.success(), "{user}: {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let denied = |user: &str, sql: &str| {
        let out = as_user(user, sql);
        assert!(!out.status.success(), "{user} was allowed {sql}");
        String::from_utf8(out.stderr).unwrap()
    };
    ok("alice", "CREATE TABLE t (a STRING)");
    ok("alice", "ADD USER bob");
    // Bob, in another process, is denied, with the permission and his name.
    let err = denied("bob", "SHOW HISTORY FOR TABLES");
    assert!(err.contains("user bob lacks the List permission"), "{err}");
    let err = denied("bob", "SETPROJECT odps.timemachine.retention.days=5");
    assert!(err.contains("user bob lacks the admin permission"), "{err}");
    // The grant is a commit: the next process of bob's sees it.
    ok("alice", "GRANT List ON PROJECT default TO USER bob");
    assert!(ok("bob", "SHOW HISTORY FOR TABLES").contains("t,"));
    // --user overrides the environment.
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(&wh)
        .args(["--user", "alice", "-c", "SETPROJECT odps.timemachine.retention.days=5"])
        .env("TIMEMACHINE_USER", "bob")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(ok("bob", "SETPROJECT").contains("odps.timemachine.retention.days,5"));
    // SHOW GRANTS lists the owner and each user.
    assert_eq!(ok("alice", "SHOW GRANTS"), "User,Grants\nalice,owner\nbob,List ON PROJECT default\n");
}

#[test]
fn the_repl_has_meta_commands_and_completes_keywords_and_table_names() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let input = "create table comp_table (a string);\n\\d\n\\d comp_table\n\\h comp_table\n\\x\n\\?\n\
                 sel\t 42 as v;\nselect count(*) as n from comp_t\t;\n\\q\n";
    let out = on_terminal(dir.path(), &format!("--warehouse {}", wh.display()), input);
    assert!(out.contains("| comp_table | MANAGED_TABLE |"), "\\d lists the tables: {out}");
    assert!(out.contains("| a  ") || out.contains("| a |"), "\\d t describes the table: {out}");
    assert!(out.contains("CREATE"), "\\h t shows its history: {out}");
    assert!(out.contains("unknown command \\x"), "{out}");
    assert!(out.contains("Meta commands") && out.contains("RESTORE TABLE t TO LSN"), "\\? lists commands: {out}");
    assert!(out.contains("| 42 |"), "Tab completed a keyword: {out}");
    assert!(out.contains("| 0 |"), "Tab completed a table name: {out}");
}

#[test]
fn echo_prints_each_statement_and_files_are_read_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("wh");
    let out = ok(&wh, &["--echo", "-c", "-- first\nSELECT 1 AS one; SELECT 2 AS two"]);
    let (one, two) = (out.find("-- first\nSELECT 1 AS one;").unwrap(), out.find("SELECT 2 AS two;").unwrap());
    assert!(one < out.find("| one |").unwrap() && out.find("| one |").unwrap() < two, "{out}");
    // Files load without an external table first, as in datafusion-cli.
    let csv = dir.path().join("in.csv");
    std::fs::write(&csv, "k,v\n1,x\n2,y\n").unwrap();
    let from = format!("'{}'", csv.display());
    ok(
        &wh,
        &[
            "-c",
            &format!("CREATE TABLE f AS SELECT * FROM {from}"),
            "-c",
            &format!("INSERT INTO f SELECT * FROM {from}"),
        ],
    );
    assert_eq!(ok(&wh, &["--format", "csv", "-c", "SELECT count(*) AS n FROM f VERSION AS OF 1"]), "n\n2\n");
    assert_eq!(ok(&wh, &["--format", "csv", "-c", "SELECT count(*) AS n FROM f"]), "n\n4\n");
}
