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
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
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
    std::fs::write(&script, "insert into t values ('from file');\nselect nope;\ninsert into t values ('never');").unwrap();
    let out = timemachine(
        &wh,
        &["-q", "--format", "tsv", "-c", "create table t (a string); insert into t values ('first')", "-f", script.to_str().unwrap(), "-c", "insert into t values ('after')"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error:") && stderr.contains("nope"), "{stderr}");
    assert_eq!(
        ok(&wh, &["--format", "tsv", "-c", "select a from t order by a"]),
        "a\nfirst\nfrom file\n"
    );
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
        .write_all(b"create table t (a string, n bigint);\ninsert into t values ('x', 1);\nselect * from t;\ndrop table t;\n")
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
