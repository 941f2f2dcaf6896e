//! The reference transcript through the CLI, one process per statement, as a MaxCompute user
//! would type it: ids are read from SHOW HISTORY output, results compared with the transcript's.

use std::path::Path;
use std::process::Command;

/// Runs one statement in a new process; returns stdout (tab-separated, header first).
fn one(wh: &Path, sql: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(wh)
        .args(["--format", "tsv", "-q", "-c", sql])
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn fails(wh: &Path, sql: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_timemachine"))
        .arg("--warehouse")
        .arg(wh)
        .args(["-c", sql])
        .output()
        .expect("the binary runs");
    assert!(!out.status.success(), "{sql} should fail");
    String::from_utf8(out.stderr).unwrap()
}

/// SHOW HISTORY rows without the ObjectId and Time columns: `TYPE name LSN OP`.
fn history(tsv: &str) -> Vec<String> {
    tsv.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            format!("{} {} {} {}", c[0], c[2], c[3], c[5])
        })
        .collect()
}

fn column(tsv: &str, index: usize) -> Vec<String> {
    tsv.lines().skip(1).map(|l| l.split('\t').nth(index).unwrap().to_string()).collect()
}

#[test]
fn the_reference_transcript_one_process_per_statement() {
    let dir = tempfile::tempdir().unwrap();
    let wh = dir.path().join("test_restore");
    let wh = wh.as_path();
    one(wh, "Create Table test_restore_x(a string);");
    for v in 0..4 {
        one(wh, &format!(r#"INSERT OVERWRITE TABLE test_restore_x values("{v}");"#));
    }
    let h = one(wh, "show history for table test_restore_x;");
    assert_eq!(
        history(&h),
        [
            "TABLE test_restore_x 0000000000000001 CREATE",
            "TABLE test_restore_x 0000000000000002 OVERWRITE",
            "TABLE test_restore_x 0000000000000003 OVERWRITE",
            "TABLE test_restore_x 0000000000000004 OVERWRITE",
            "TABLE test_restore_x 0000000000000005 OVERWRITE",
        ]
    );
    let x_id = column(&h, 1)[0].clone();
    assert_eq!(x_id.len(), 32);
    one(wh, "drop table test_restore_x;");
    let h = one(wh, &format!("show history for table test_restore_x('id'='{x_id}');"));
    assert_eq!(history(&h).last().unwrap(), "TABLE test_restore_x 0000000000000006 DROP");
    let tables = one(wh, "show history for tables;");
    assert!(tables.contains(&format!("test_restore_x\t{x_id}\tMANAGED_TABLE\tFALSE\t")), "{tables}");
    one(wh, "Create Table test_restore_x(a string);");
    assert!(fails(wh, &format!("restore table test_restore_x('id'='{x_id}');")).contains("already exists"));
    one(wh, "alter table test_restore_x rename to test_restore_x_rename;");
    one(wh, &format!("restore table test_restore_x('id'='{x_id}');"));
    one(wh, "restore table test_restore_x to LSN '0000000000000004';");
    assert_eq!(one(wh, "select * from test_restore_x;"), "a\n2\n");
    one(wh, "restore table test_restore_x to LSN '0000000000000005' as test_restore_x_v5;");
    assert_eq!(one(wh, "select * from test_restore_x_v5;"), "a\n3\n");
    one(wh, "restore table test_restore_x to LSN '0000000000000005' as test_restore_x_v5;");
    assert_eq!(
        history(&one(wh, "show history for table test_restore_x_v5;")),
        ["TABLE test_restore_x_v5 0000000000000001 CREATE", "TABLE test_restore_x_v5 0000000000000002 OVERWRITE"]
    );
    one(wh, "Create Table test_restore_2cols(a string, b string);");
    let err = fails(wh, "restore table test_restore_x to LSN '0000000000000005' as test_restore_2cols;");
    assert!(err.contains(r#"field schema not same, [{"comment":"","id":"","name":"a","type":"string"}] vs [{"comment":"","id":"","name":"a","type":"string"},{"comment":"","id":"","name":"b","type":"string"}]"#), "{err}");

    one(wh, "Create Table test_restore_part_y(a string) PARTITIONED BY(ds string);");
    for (ds, v) in [
        ("20191201", "1"),
        ("20191202", "2"),
        ("20191203", "3"),
        ("20191204", "4"),
        ("20191205", "5"),
        ("20191206", "6"),
        ("20200101", "20200101"),
        ("20200102", "20200102"),
    ] {
        one(wh, &format!(r#"INSERT OVERWRITE TABLE test_restore_part_y partition(ds="{ds}") values ("{v}");"#));
    }
    one(wh, "alter table test_restore_part_y drop partition(ds='20191201'),partition(ds='20191202');");
    assert_eq!(column(&one(wh, "list partitions test_restore_part_y;"), 0).len(), 6);
    let h = one(wh, "show history for table test_restore_part_y;");
    let dropped: Vec<String> =
        h.lines().filter(|l| l.ends_with("\tDROP")).map(|l| l.split('\t').nth(1).unwrap().to_string()).collect();
    assert_eq!(dropped.len(), 2);
    one(
        wh,
        &format!(
            "restore table test_restore_part_y partition('id'='{}') partition('id'='{}');",
            dropped[0], dropped[1]
        ),
    );
    assert_eq!(
        column(&one(wh, "list partitions test_restore_part_y;"), 0),
        [
            "ds=20191201",
            "ds=20191202",
            "ds=20191203",
            "ds=20191204",
            "ds=20191205",
            "ds=20191206",
            "ds=20200101",
            "ds=20200102"
        ]
    );
    for v in ["v1", "v2"] {
        for ds in ["20200101", "20200102"] {
            one(
                wh,
                &format!(r#"INSERT OVERWRITE TABLE test_restore_part_y partition(ds="{ds}") values ("{ds}_{v}");"#),
            );
        }
    }
    assert_eq!(
        one(wh, "select * from test_restore_part_y where ds='20200101' or ds='20200102' order by ds;"),
        "a\tds\n20200101_v2\t20200101\n20200102_v2\t20200102\n"
    );
    one(
        wh,
        "restore table test_restore_part_y partition(ds='20200101') partition(ds='20200102') to LSN '0000000000000010';",
    );
    assert_eq!(
        one(wh, "select * from test_restore_part_y where ds='20200101' or ds='20200102' order by ds;"),
        "a\tds\n20200101\t20200101\n20200102\t20200102\n"
    );
    one(
        wh,
        "restore table test_restore_part_y partition(ds='20200101') partition(ds='20200102') to LSN '0000000000000010' as test_restore_part_y_v10;",
    );
    assert_eq!(
        one(wh, "select * from test_restore_part_y_v10 order by ds;"),
        "a\tds\n20200101\t20200101\n20200102\t20200102\n"
    );
    assert_eq!(
        one(wh, "setproject;"),
        "Name\tValue\nodps.timemachine.retention.days\t1\ntimemachine.purge.grace.seconds\t3600\n"
    );
}
