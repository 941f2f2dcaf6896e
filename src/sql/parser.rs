//! The MaxCompute dialect: statements this crate owns, parsed beside DataFusion's own SQL.
//!
//! Text is tokenized with sqlparser's generic dialect, then double-quoted words are turned back
//! into string literals (MaxCompute reads `"0"` as a string; identifiers use backticks). The
//! statements below are parsed here; everything else goes to DataFusion's parser unchanged.

use datafusion::sql::parser::{DFParser, DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::ast;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::ast::{CloneTable, MergeKind, OnExisting, Restore, Statement};
use super::ddl::{parse_alter, parse_create_table, parse_partition_specs, parse_spec, table_name};
use super::dialect::MaxComputeDialect;
use super::grants::{identified_by, parse_grant, user_name};
use super::insert::{columns_before_partition, convert_insert, with_insert};
use super::odps::{parse_session_flag, show_tables_like};
use super::version_clauses::{is_word, next_significant, rewrite_version_clauses};
use super::views::parse_create_view;
use super::words::{expect_word, take_word, word};

use crate::error::{Error, Result};
use crate::names::validate_identifier;

/// Tokenizes with MaxCompute's reading of double quotes: `"x"` is a string literal.
fn tokenize(sql: &str) -> Result<Vec<TokenWithSpan>> {
    let dialect = MaxComputeDialect;
    let mut tokens =
        Tokenizer::new(&dialect, sql).tokenize_with_location().map_err(|e| Error::Syntax(e.to_string()))?;
    for t in &mut tokens {
        if let Token::Word(w) = &t.token
            && w.quote_style == Some('"')
        {
            t.token = Token::DoubleQuotedString(w.value.clone());
        }
    }
    rewrite_version_clauses(&mut tokens)?;
    columns_before_partition(&mut tokens);
    Ok(tokens)
}

/// Parses one statement (a trailing `;` is optional).
pub fn parse(sql: &str) -> Result<Statement> {
    let tokens = tokenize(sql)?;
    if let Some(explain) = parse_explain(&tokens)? {
        return Ok(explain);
    }
    parse_tokens(tokens)
}

fn parse_tokens(tokens: Vec<TokenWithSpan>) -> Result<Statement> {
    let dialect = MaxComputeDialect;
    let mut df = DFParserBuilder::new(tokens).with_dialect(&dialect).build()?;
    let stmt = parse_custom(&mut df)?;
    let p = &mut df.parser;
    while p.consume_token(&Token::SemiColon) {}
    let next = p.peek_token();
    if next.token != Token::EOF {
        return Err(Error::Syntax(format!(
            "unexpected {} after the end of the statement (one statement at a time)",
            next.token
        )));
    }
    Ok(stmt)
}

/// `EXPLAIN [ANALYZE] [VERBOSE] <statement of ours>`; None when the statement explained is
/// DataFusion's (DataFusion's parser reads the whole EXPLAIN then).
fn parse_explain(tokens: &[TokenWithSpan]) -> Result<Option<Statement>> {
    let mut i = match next_significant(tokens, 0) {
        Some(i) if is_word(&tokens[i].token, "EXPLAIN") => i + 1,
        _ => return Ok(None),
    };
    let mut flag = |word: &str| match next_significant(tokens, i) {
        Some(j) if is_word(&tokens[j].token, word) => {
            i = j + 1;
            true
        }
        _ => false,
    };
    let analyze = flag("ANALYZE");
    let verbose = flag("VERBOSE");
    match parse_tokens(tokens[i..].to_vec()) {
        Ok(Statement::DataFusion(_)) => Ok(None),
        Err(e) => Err(e),
        Ok(statement) => Ok(Some(Statement::Explain { analyze, verbose, statement: Box::new(statement) })),
    }
}

fn parse_custom(df: &mut DFParser) -> Result<Statement> {
    let p = &mut df.parser;
    let w0 = word(p, 0).unwrap_or_default();
    let w1 = word(p, 1).unwrap_or_default();
    match (w0.as_str(), w1.as_str()) {
        ("CREATE", "TABLE") => parse_create_table(p).map(Statement::CreateTable),
        ("CREATE", "VIEW") | ("CREATE", "OR") if w1 == "VIEW" || word(p, 3).as_deref() == Some("VIEW") => {
            parse_create_view(p).map(Statement::CreateView)
        }
        ("DROP", "TABLE" | "VIEW") => {
            p.next_token();
            p.next_token();
            let if_exists = take_word(p, "IF") && {
                expect_word(p, "EXISTS")?;
                true
            };
            let name = table_name(p)?;
            Ok(if w1 == "VIEW" {
                Statement::DropView { name, if_exists }
            } else {
                Statement::DropTable { name, if_exists }
            })
        }
        ("ALTER", "TABLE") => parse_alter(p),
        ("DESC" | "DESCRIBE", _) => {
            p.next_token();
            let extended = take_word(p, "EXTENDED");
            let table = table_name(p)?;
            let partition = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
            Ok(Statement::Describe { table, extended, partition })
        }
        ("LIST" | "SHOW", "PARTITIONS") => {
            p.next_token();
            p.next_token();
            let table = table_name(p)?;
            let filter = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
            Ok(Statement::ListPartitions { table, filter })
        }
        ("SHOW", "CREATE") => {
            p.next_token();
            p.next_token();
            expect_word(p, "TABLE")?;
            Ok(Statement::ShowCreateTable { table: table_name(p)? })
        }
        ("SHOW", "TABLES") if word(p, 2).as_deref() == Some("LIKE") => {
            p.next_token();
            p.next_token();
            p.next_token();
            show_tables_like(&p.parse_literal_string()?)
        }
        ("SET", "ODPS") => parse_session_flag(p),
        ("TRUNCATE", _) => {
            p.next_token();
            take_word(p, "TABLE");
            let table = table_name(p)?;
            Ok(Statement::Truncate { table, specs: parse_partition_specs(p, false)? })
        }
        ("SHOW", "HISTORY") => parse_show_history(p),
        ("SHOW", "TAGS") => {
            p.next_token();
            p.next_token();
            expect_word(p, "FOR")?;
            expect_word(p, "TABLE")?;
            Ok(Statement::ShowTags { table: table_name(p)? })
        }
        ("RESTORE", _) => parse_restore(p).map(Statement::Restore),
        ("CLONE", "TABLE") => parse_clone(p).map(Statement::Clone),
        ("SETPROJECT", _) => parse_setproject(p),
        ("PURGE", _) => {
            p.next_token();
            expect_word(p, "TABLE")?;
            Ok(Statement::Purge { table: table_name(p)? })
        }
        ("ADD" | "REMOVE", "USER") => {
            let add = w0 == "ADD";
            p.next_token();
            p.next_token();
            let name = user_name(p)?;
            let password = if add && take_word(p, "IDENTIFIED") { Some(identified_by(p)?) } else { None };
            Ok(Statement::User { name, add, password })
        }
        ("ALTER", "USER") => {
            p.next_token();
            p.next_token();
            let name = user_name(p)?;
            expect_word(p, "IDENTIFIED")?;
            Ok(Statement::SetPassword { name, password: identified_by(p)? })
        }
        ("GRANT" | "REVOKE", _) => parse_grant(p),
        ("SHOW", "GRANTS") => {
            p.next_token();
            p.next_token();
            let user = if take_word(p, "FOR") {
                take_word(p, "USER");
                Some(user_name(p)?)
            } else {
                None
            };
            Ok(Statement::ShowGrants { user })
        }
        ("RECLAIM", _) => {
            p.next_token();
            let table = if take_word(p, "TABLE") { Some(table_name(p)?) } else { None };
            Ok(Statement::Reclaim { table })
        }
        ("MERGE", _) => match p.parse_statement()? {
            ast::Statement::Merge(merge) => {
                let ast::TableFactor::Table { name, .. } = &merge.table else {
                    return Err(Error::not_supported("MERGE INTO something other than a table"));
                };
                let table = super::single_table(name)?;
                validate_identifier("table", &table)?;
                Ok(Statement::Merge { table, merge: Box::new(merge), kind: MergeKind::Merge })
            }
            other => Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(other))))),
        },
        ("UPDATE", _) => match p.parse_statement()? {
            // `UPDATE … FROM` joins: planned as the MERGE it means (a target row matched twice is
            // an error rather than an arbitrary pick).
            stmt @ ast::Statement::Update(ast::Update { from: Some(_), .. }) => {
                super::as_merge(&stmt)?.ok_or_else(|| Error::invalid("internal: UPDATE … FROM not rewritten"))
            }
            other => Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(other))))),
        },
        // MaxCompute's `WITH a AS (…), b AS (…) INSERT {INTO|OVERWRITE} TABLE t … SELECT … FROM a`:
        // the INSERT whose query has those common table expressions.
        ("WITH", _) => with_insert(p.parse_statement()?),
        ("INSERT", _) => {
            let stmt = p.parse_statement()?;
            match stmt {
                ast::Statement::Insert(insert) => convert_insert(insert),
                other => Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(other))))),
            }
        }
        _ => Ok(Statement::DataFusion(Box::new(df.parse_statement()?))),
    }
}

/// `('id'='…')` after a table name, if present.
fn parse_table_id(p: &mut Parser) -> Result<Option<String>> {
    if p.peek_token().token != Token::LParen {
        return Ok(None);
    }
    let spec = parse_spec(p)?;
    match spec.as_slice() {
        [(k, v)] if k == "id" => Ok(Some(v.clone())),
        _ => Err(Error::Syntax("expected ('id'='<table ObjectId>') after the table name".into())),
    }
}

fn parse_show_history(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    p.next_token();
    expect_word(p, "FOR")?;
    if take_word(p, "TABLES") {
        return Ok(Statement::ShowHistoryTables);
    }
    expect_word(p, "TABLE")?;
    let table = table_name(p)?;
    let id = parse_table_id(p)?;
    let specs = parse_partition_specs(p, false)?;
    Ok(Statement::ShowHistory { table, id, specs })
}

fn parse_restore(p: &mut Parser) -> Result<Restore> {
    p.next_token();
    expect_word(p, "TABLE")?;
    let table = table_name(p)?;
    let id = parse_table_id(p)?;
    let specs = parse_partition_specs(p, false)?;
    let lsn = if take_word(p, "TO") {
        expect_word(p, "LSN")?;
        Some(match p.next_token().token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
            Token::Number(n, _) => n,
            other => return Err(Error::Syntax(format!("expected an LSN such as '0000000000000004', found {other}"))),
        })
    } else {
        None
    };
    let target = if take_word(p, "AS") { Some(table_name(p)?) } else { None };
    Ok(Restore { table, id, specs, lsn, target })
}

fn parse_clone(p: &mut Parser) -> Result<CloneTable> {
    p.next_token();
    p.next_token();
    let source = table_name(p)?;
    let specs = parse_partition_specs(p, true)?;
    expect_word(p, "TO")?;
    let target = table_name(p)?;
    let if_exists = if take_word(p, "IF") {
        expect_word(p, "EXISTS")?;
        if take_word(p, "OVERWRITE") {
            Some(OnExisting::Overwrite)
        } else if take_word(p, "IGNORE") {
            Some(OnExisting::Ignore)
        } else {
            return Err(Error::Syntax("expected OVERWRITE or IGNORE after CLONE TABLE … IF EXISTS".into()));
        }
    } else {
        None
    };
    Ok(CloneTable { source, specs, target, if_exists })
}

fn parse_setproject(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    if matches!(p.peek_token().token, Token::EOF | Token::SemiColon) {
        return Ok(Statement::SetProject { property: None });
    }
    let mut key = String::new();
    loop {
        match p.next_token().token {
            Token::Word(w) => key.push_str(&w.value.to_lowercase()),
            Token::Period => key.push('.'),
            Token::Eq => break,
            other => return Err(Error::Syntax(format!("expected key=value after SETPROJECT, found {other}"))),
        }
    }
    let value = match p.next_token().token {
        Token::Number(n, _) => n,
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
        Token::Word(w) => w.value,
        Token::Minus => match p.next_token().token {
            Token::Number(n, _) => format!("-{n}"),
            other => return Err(Error::Syntax(format!("expected a value, found -{other}"))),
        },
        other => return Err(Error::Syntax(format!("expected a value after {key}=, found {other}"))),
    };
    Ok(Statement::SetProject { property: Some((key, value)) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::VersionClause;
    use crate::sql::ast::{ColumnSpec, GrantObject, Secret};

    #[test]
    fn double_quotes_are_strings() {
        let Statement::Insert(i) = parse(r#"INSERT OVERWRITE TABLE t partition(ds="20191201") values ("1");"#).unwrap()
        else {
            panic!("not an insert")
        };
        assert!(i.overwrite);
        assert_eq!(i.partition, Some(vec![("ds".to_string(), Some("20191201".to_string()))]));
        assert_eq!(i.source.to_string(), "VALUES ('1')".replace('\'', "\""));
    }

    #[test]
    fn version_as_of_an_expression_after_a_table_only() {
        use datafusion::sql::sqlparser::ast::{SetExpr, Statement as Sql, TableFactor};
        let sql = |s: &str| match parse(s).unwrap() {
            Statement::DataFusion(d) => d,
            _ => panic!("not a query"),
        };
        // The clause after the first table, as time travel reads it.
        let clause = |s: &str| {
            let DfStatement::Statement(statement) = *sql(s) else { panic!("not a statement") };
            let Sql::Query(q) = *statement else { panic!("not a query") };
            let SetExpr::Select(select) = *q.body else { panic!("not a select") };
            let TableFactor::Table { version, .. } = &select.from[0].relation else { panic!("not a table") };
            version.as_ref().and_then(VersionClause::read).map(|c| c.to_string())
        };
        let latest = clause("SELECT * FROM t VERSION AS OF get_latest_version('t', 2) x");
        assert_eq!(latest.as_deref(), Some("VERSION AS OF get_latest_version('t', 2)"));
        let quoted = clause("SELECT * FROM t VERSION AS OF '0000000000000004'");
        assert_eq!(quoted.as_deref(), Some("VERSION AS OF 0000000000000004"));
        let between =
            clause("SELECT * FROM t VERSION BETWEEN 2 AND get_latest_version('t') WHERE version BETWEEN 1 AND 2");
        assert_eq!(between.as_deref(), Some("VERSION BETWEEN 2 AND get_latest_version('t')"));
        let instants = clause("SELECT * FROM t TIMESTAMP BETWEEN now() - INTERVAL '1' DAY AND now()");
        assert_eq!(instants.as_deref(), Some("TIMESTAMP BETWEEN now() - INTERVAL '1' DAY AND now()"));
        // A column called version, aliased `of`, is not a version clause.
        assert_eq!(sql("SELECT version AS of, 1 FROM t").to_string(), "SELECT version AS of, 1 FROM t");
    }

    #[test]
    fn create_with_partitions_and_lifecycle() {
        let Statement::CreateTable(c) =
            parse("Create Table T1(a string, B BIGINT) PARTITIONED BY(ds string) LIFECYCLE 7").unwrap()
        else {
            panic!()
        };
        assert_eq!(c.name, "t1");
        assert_eq!(c.columns[1], ColumnSpec { name: "b".into(), data_type: "bigint".into(), comment: String::new() });
        assert_eq!(c.partition_columns[0].name, "ds");
        assert_eq!(c.lifecycle, Some(7));
    }

    #[test]
    fn drop_partition_list_and_restore_forms() {
        let Statement::DropPartitions { specs, .. } =
            parse("alter table y drop partition(ds='20191201'),partition(ds='20191202');").unwrap()
        else {
            panic!()
        };
        assert_eq!(specs.len(), 2);
        let Statement::Restore(r) =
            parse("restore table y partition(ds='1') partition(ds='2') to LSN '0000000000000010' as z").unwrap()
        else {
            panic!()
        };
        assert_eq!((r.specs.len(), r.lsn.as_deref(), r.target.as_deref()), (2, Some("0000000000000010"), Some("z")));
        assert!(matches!(parse("show history for tables;").unwrap(), Statement::ShowHistoryTables));
        assert!(matches!(
            parse("setproject odps.timemachine.retention.days=3").unwrap(),
            Statement::SetProject { property: Some((k, v)) } if k == "odps.timemachine.retention.days" && v == "3"
        ));
    }

    #[test]
    fn rejects_bad_names_and_trailing_garbage() {
        assert!(parse("create table `../x` (a string)").is_err());
        assert!(parse("drop table t extra").is_err());
        assert!(matches!(parse("select 1").unwrap(), Statement::DataFusion(_)));
    }

    #[test]
    fn user_names_as_maxcompute_writes_them() {
        for (sql, want) in [
            ("ADD USER ALIYUN$bob@example.com;", "aliyun$bob@example.com"),
            ("ADD USER 'RAM$org:Bob'", "ram$org:bob"),
            ("add user bob", "bob"),
        ] {
            let Statement::User { name, add: true, password: None } = parse(sql).unwrap() else { panic!("{sql}") };
            assert_eq!(name, want, "{sql}");
        }
        let Statement::Grant { user, grants, on: Some(GrantObject::Project(project)), revoke: false } =
            parse("GRANT List ON PROJECT p TO USER ALIYUN$bob@example.com").unwrap()
        else {
            panic!("not a grant")
        };
        assert_eq!(
            (user.as_str(), grants, project.as_str()),
            ("aliyun$bob@example.com", vec!["list".to_string()], "p")
        );
        assert!(parse("ADD USER bob extra").is_err());
    }

    #[test]
    fn passwords_and_table_grants() {
        let Statement::User { name, add: true, password: Some(Secret(pw)) } =
            parse("ADD USER alice IDENTIFIED BY 's3cret'").unwrap()
        else {
            panic!("no password")
        };
        assert_eq!((name.as_str(), pw.as_str()), ("alice", "s3cret"));
        let Statement::SetPassword { name, password } = parse("alter user ALICE identified by 'new'").unwrap() else {
            panic!("not ALTER USER")
        };
        assert_eq!((name.as_str(), password.0.as_str()), ("alice", "new"));
        assert!(format!("{:?}", parse("ALTER USER a IDENTIFIED BY 'hidden'").unwrap()).find("hidden").is_none());
        assert!(parse("ADD USER a IDENTIFIED BY ''").unwrap_err().to_string().contains("cannot be empty"));
        assert!(parse("ALTER USER a IDENTIFIED BY secret").is_err());
        let Statement::Grant { grants, on: Some(GrantObject::Table(t)), user, revoke: true } =
            parse("REVOKE Select, Drop ON TABLE Sales FROM USER bob").unwrap()
        else {
            panic!("not a table grant")
        };
        assert_eq!(
            (grants, t.as_str(), user.as_str()),
            (vec!["select".to_string(), "drop".to_string()], "sales", "bob")
        );
    }
}
