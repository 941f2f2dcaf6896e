//! The REPL's meta commands, as datafusion-cli and psql users expect them: `\?` lists what there
//! is, `\d` the tables, `\d t` one table, `\h t` its history, `\q` quits. Each but help and quit
//! is a statement of ours, so privileges and printing are the statements' own.

/// A line of the REPL that is not SQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Meta {
    /// `\?`, `help`: what the REPL accepts.
    Help,
    /// `\q`, `quit`, `exit`.
    Quit,
    /// A meta command that stands for a statement (`\d t` is `DESC t`).
    Sql(String),
    /// A backslash command this REPL does not know.
    Unknown(String),
}

/// The meta command on `line`, or None when the line is SQL.
pub(super) fn parse_meta(line: &str) -> Option<Meta> {
    let trimmed = line.trim().trim_end_matches(';').trim();
    match trimmed.to_ascii_lowercase().as_str() {
        "help" | "\\?" | "\\help" | "?" => return Some(Meta::Help),
        "quit" | "exit" | "\\q" | "\\quit" => return Some(Meta::Quit),
        _ => {}
    }
    let rest = trimmed.strip_prefix('\\')?;
    let mut words = rest.split_whitespace();
    let command = words.next().unwrap_or_default();
    let arg = words.next();
    Some(match (command, arg) {
        ("d", None) => Meta::Sql(
            "SELECT name, type, ispartitioned AS partitioned, createtime AS created FROM timemachine_tables() \
             WHERE droptime = '' ORDER BY name"
                .into(),
        ),
        ("d", Some(t)) => Meta::Sql(format!("DESC {t}")),
        ("h", None) => Meta::Sql("SHOW HISTORY FOR TABLES".into()),
        ("h", Some(t)) => Meta::Sql(format!("SHOW HISTORY FOR TABLE {t}")),
        _ => Meta::Unknown(format!("\\{command}")),
    })
}

/// What `\?` prints: the meta commands, then each statement form with an example.
pub(super) const HELP: &str = "\
Meta commands
  \\?  help       this list
  \\d             the project's tables
  \\d <table>     describe a table (DESC <table>)
  \\h             tables with history, dropped ones too (SHOW HISTORY FOR TABLES)
  \\h <table>     the versions of a table (SHOW HISTORY FOR TABLE <table>)
  \\q  quit       leave (Ctrl-D too; Ctrl-C cancels the running statement)

Statements end with ';'. Tab completes keywords and table names. Any DataFusion SQL works, plus:
  CREATE TABLE t (a STRING, n BIGINT) PARTITIONED BY (ds STRING) LIFECYCLE 7;
  INSERT OVERWRITE TABLE t PARTITION (ds='20260101') VALUES ('x', 1);
  INSERT INTO t PARTITION (ds='20260101') SELECT a, n FROM s;
  SELECT * FROM t VERSION AS OF 2;               -- or TIMESTAMP AS OF '2026-01-01 00:00:00'
  SELECT * FROM t VERSION BETWEEN 1 AND 3;       -- the rows each version added
  SHOW HISTORY FOR TABLE t;                      -- or: FOR TABLES, FOR TABLE t PARTITION (ds='…')
  RESTORE TABLE t TO LSN '0000000000000002';     -- no data copied
  RESTORE TABLE t TO LSN '0000000000000002' AS t_old;
  DROP TABLE t;  RESTORE TABLE t ('id'='<ObjectId from SHOW HISTORY FOR TABLES>');
  CLONE TABLE t TO t_copy;                       -- one commit, the files shared; IF EXISTS OVERWRITE|IGNORE
  ALTER TABLE t [PARTITION (ds='…')] MERGE SMALLFILES;  -- the same rows in fewer files
  ALTER TABLE t CREATE TAG month_end [AS OF VERSION 3] [RETAIN 90 DAYS];  SHOW TAGS FOR TABLE t;
  SELECT * FROM t VERSION AS OF 'month_end';    -- a tagged version outlives retention; DROP TAG ends that
  UPDATE t SET n = n + 1 WHERE a = 'x';  DELETE FROM t WHERE n > 9;
  MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN UPDATE SET n = s.n WHEN NOT MATCHED THEN INSERT VALUES (s.a, s.n, s.ds);
  ALTER TABLE t ADD COLUMNS (c DOUBLE);  ALTER TABLE t RENAME TO u;  TRUNCATE TABLE t;
  ALTER TABLE t DROP PARTITION (ds='20260101');  LIST PARTITIONS t;
  SETPROJECT odps.timemachine.retention.days=7;  SETPROJECT;
  PURGE TABLE t;  RECLAIM;
  ADD USER alice IDENTIFIED BY '…';  GRANT Select ON TABLE t TO USER alice;  SHOW GRANTS FOR alice;
  SELECT * FROM 'data.parquet';                  -- files of this machine, as datafusion-cli reads them
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_commands_and_sql() {
        assert_eq!(parse_meta("\\?"), Some(Meta::Help));
        assert_eq!(parse_meta("help;"), Some(Meta::Help));
        assert_eq!(parse_meta(" \\q "), Some(Meta::Quit));
        assert_eq!(parse_meta("\\d t"), Some(Meta::Sql("DESC t".into())));
        assert_eq!(parse_meta("\\h t"), Some(Meta::Sql("SHOW HISTORY FOR TABLE t".into())));
        assert_eq!(parse_meta("\\x"), Some(Meta::Unknown("\\x".into())));
        assert_eq!(parse_meta("select 1;"), None);
    }
}
