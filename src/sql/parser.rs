//! The MaxCompute dialect: statements this crate owns, parsed beside DataFusion's own SQL.
//!
//! Text is tokenized with sqlparser's generic dialect, then double-quoted words are turned back
//! into string literals (MaxCompute reads `"0"` as a string; identifiers use backticks). The
//! statements below are parsed here; everything else goes to DataFusion's parser unchanged.

use datafusion::sql::parser::{DFParser, DFParserBuilder, Statement as DfStatement};
use datafusion::sql::sqlparser::ast::{self, BinaryOperator, Expr as AstExpr, TableObject, Value};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer, Whitespace};

use super::ast::{
    AlterChange, ColumnSpec, CreateTable, GrantObject, Insert, PartitionSpec, Restore, Secret, Statement,
};
use super::dialect::MaxComputeDialect;

use crate::error::{Error, Result};
use crate::names::validate_identifier;
use crate::types::normalize_type;

/// Splits a script into statements at `;` outside quotes and comments.
///
/// ```
/// use datafusion_timemachine::sql::split_statements;
/// let parts = split_statements("select ';' as a; -- done;\nselect 2");
/// assert_eq!(parts, vec!["select ';' as a", "-- done;\nselect 2"]);
/// ```
pub fn split_statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = script.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == '\\' && q != '`' {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                } else if c == q {
                    quote = None;
                }
            }
            None => match c {
                '\'' | '"' | '`' => {
                    quote = Some(c);
                    cur.push(c);
                }
                '-' if chars.peek() == Some(&'-') => {
                    cur.push('-');
                    for n in chars.by_ref() {
                        cur.push(n);
                        if n == '\n' {
                            break;
                        }
                    }
                }
                ';' => {
                    let s = cur.trim();
                    if !s.is_empty() && !is_only_comments(s) {
                        out.push(s.to_string());
                    }
                    cur.clear();
                }
                _ => cur.push(c),
            },
        }
    }
    let s = cur.trim();
    if !s.is_empty() && !is_only_comments(s) {
        out.push(s.to_string());
    }
    out
}

fn is_only_comments(s: &str) -> bool {
    s.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
}

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
    Ok(tokens)
}

/// The marker that [`rewrite_version_clauses`] puts first in the `AT(…)` it writes for
/// `VERSION BETWEEN a AND b` (`TIMESTAMP BETWEEN`: [`TIMESTAMP_BETWEEN`]).
pub const VERSION_BETWEEN: &str = "timemachine.version_between";
/// See [`VERSION_BETWEEN`].
pub const TIMESTAMP_BETWEEN: &str = "timemachine.timestamp_between";
/// The marker of `VERSION AS OF <expression>` (sqlparser reads only a number there).
pub const VERSION_AS_OF: &str = "timemachine.version_as_of";

fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

fn next_significant(tokens: &[TokenWithSpan], from: usize) -> Option<usize> {
    (from..tokens.len()).find(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
}

fn prev_significant(tokens: &[TokenWithSpan], before: usize) -> Option<usize> {
    (0..before).rev().find(|&i| !matches!(tokens[i].token, Token::Whitespace(_)))
}

/// True when the word before `i` can end a table name (so `x VERSION BETWEEN` is a version
/// clause, while `WHERE version BETWEEN 1 AND 2` stays a predicate).
fn after_table_name(tokens: &[TokenWithSpan], i: usize) -> bool {
    const EXPRESSION_WORDS: &[&str] = &[
        "WHERE",
        "AND",
        "OR",
        "NOT",
        "ON",
        "WHEN",
        "THEN",
        "ELSE",
        "SELECT",
        "HAVING",
        "BY",
        "CASE",
        "DISTINCT",
        "AS",
        "SET",
        "QUALIFY",
        "RETURNING",
        "IS",
        "IN",
        "LIKE",
        "BETWEEN",
    ];
    match prev_significant(tokens, i).map(|p| &tokens[p].token) {
        Some(Token::Word(w)) => {
            w.quote_style.is_some() || !EXPRESSION_WORDS.iter().any(|k| w.value.eq_ignore_ascii_case(k))
        }
        _ => false,
    }
}

/// `AT('<marker>', <part>, …)`, followed by a space.
fn at_clause(marker: &str, parts: &[&[TokenWithSpan]]) -> Vec<TokenWithSpan> {
    let mut out = vec![
        TokenWithSpan::wrap(Token::make_keyword("AT")),
        TokenWithSpan::wrap(Token::LParen),
        TokenWithSpan::wrap(Token::SingleQuotedString(marker.into())),
    ];
    for part in parts {
        out.push(TokenWithSpan::wrap(Token::Comma));
        out.extend(part.iter().cloned());
    }
    out.push(TokenWithSpan::wrap(Token::RParen));
    out.push(TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space)));
    out
}

/// MaxCompute's version clauses that sqlparser does not read as it reads them:
/// - `VERSION AS OF '0000000000000004'` (a string LSN) becomes `VERSION AS OF 0000000000000004`;
/// - `VERSION AS OF <expression>` (`get_latest_version('t', 2)`) becomes
///   `AT('timemachine.version_as_of', <expression>)`;
/// - `t VERSION BETWEEN a AND b` and `t TIMESTAMP BETWEEN x AND y` (incremental queries) become
///   `t AT('timemachine.version_between', a, b)`.
///
/// sqlparser parses `AT(…)` as a table version function, which the time-travel planner
/// recognizes by its marker.
fn rewrite_version_clauses(tokens: &mut Vec<TokenWithSpan>) -> Result<()> {
    let mut i = 0;
    while i < tokens.len() {
        let is_version = is_word(&tokens[i].token, "VERSION");
        if !is_version && !is_word(&tokens[i].token, "TIMESTAMP") {
            i += 1;
            continue;
        }
        let Some(j) = next_significant(tokens, i + 1) else { break };
        if is_version && is_word(&tokens[j].token, "AS") {
            let of = next_significant(tokens, j + 1);
            if let Some(of) = of.filter(|&o| is_word(&tokens[o].token, "OF"))
                && let Some(k) = next_significant(tokens, of + 1)
            {
                let dialect = MaxComputeDialect;
                let mut p = Parser::new(&dialect).with_tokens_with_locations(tokens[k..].to_vec());
                // Not an expression (`SELECT version AS of, …`: a column and its alias): as written.
                if p.parse_expr().is_err() {
                    i += 1;
                    continue;
                }
                let end = k + p.index();
                let significant = tokens[k..end].iter().filter(|t| !matches!(t.token, Token::Whitespace(_))).count();
                let literal = matches!(
                    tokens[k].token,
                    Token::Number(..) | Token::SingleQuotedString(_) | Token::DoubleQuotedString(_)
                );
                if (significant > 1 || !literal) && after_table_name(tokens, i) {
                    let out = at_clause(VERSION_AS_OF, &[&tokens[k..end]]);
                    let n = out.len();
                    tokens.splice(i..end, out);
                    i += n;
                    continue;
                }
                if let Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) = &tokens[k].token {
                    tokens[k].token = Token::Number(s.clone(), false);
                }
            }
        } else if is_word(&tokens[j].token, "BETWEEN") && after_table_name(tokens, i) {
            let dialect = MaxComputeDialect;
            let tail: Vec<TokenWithSpan> = tokens[j + 1..].to_vec();
            let mut p = Parser::new(&dialect).with_tokens_with_locations(tail);
            let prec = 20; // sqlparser's precedence of BETWEEN's operands
            let what = if is_version { "VERSION" } else { "TIMESTAMP" };
            let syntax = |e: datafusion::sql::sqlparser::parser::ParserError| {
                Error::Syntax(format!("{what} BETWEEN <start> AND <end>: {e}"))
            };
            p.parse_subexpr(prec).map_err(syntax)?;
            let low_end = p.index();
            p.expect_keyword_is(Keyword::AND).map_err(syntax)?;
            let high_start = p.index();
            p.parse_subexpr(prec).map_err(syntax)?;
            let high_end = p.index();
            let marker = if is_version { VERSION_BETWEEN } else { TIMESTAMP_BETWEEN };
            let base = j + 1;
            let out = at_clause(marker, &[&tokens[base..base + low_end], &tokens[base + high_start..base + high_end]]);
            let n = out.len();
            tokens.splice(i..base + high_end, out);
            i += n;
            continue;
        }
        i += 1;
    }
    Ok(())
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

/// The uppercase text of the unquoted word `n` tokens ahead, if it is one.
fn word(p: &Parser, n: usize) -> Option<String> {
    match p.peek_nth_token(n).token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        _ => None,
    }
}

fn take_word(p: &mut Parser, expected: &str) -> bool {
    if word(p, 0).as_deref() == Some(expected) {
        p.next_token();
        true
    } else {
        false
    }
}

fn expect_word(p: &mut Parser, expected: &str) -> Result<()> {
    if take_word(p, expected) {
        Ok(())
    } else {
        Err(Error::Syntax(format!("expected {expected}, found {}", p.peek_token().token)))
    }
}

fn parse_custom(df: &mut DFParser) -> Result<Statement> {
    let p = &mut df.parser;
    let w0 = word(p, 0).unwrap_or_default();
    let w1 = word(p, 1).unwrap_or_default();
    match (w0.as_str(), w1.as_str()) {
        ("CREATE", "TABLE") => parse_create_table(p).map(Statement::CreateTable),
        ("DROP", "TABLE") => {
            p.next_token();
            p.next_token();
            let if_exists = take_word(p, "IF") && {
                expect_word(p, "EXISTS")?;
                true
            };
            Ok(Statement::DropTable { name: table_name(p)?, if_exists })
        }
        ("ALTER", "TABLE") => parse_alter(p),
        ("DESC" | "DESCRIBE", _) => {
            p.next_token();
            let extended = take_word(p, "EXTENDED");
            Ok(Statement::Describe { table: table_name(p)?, extended })
        }
        ("LIST", "PARTITIONS") => {
            p.next_token();
            p.next_token();
            Ok(Statement::ListPartitions { table: table_name(p)? })
        }
        ("TRUNCATE", _) => {
            p.next_token();
            take_word(p, "TABLE");
            let table = table_name(p)?;
            Ok(Statement::Truncate { table, specs: parse_partition_specs(p, false)? })
        }
        ("SHOW", "HISTORY") => parse_show_history(p),
        ("RESTORE", _) => parse_restore(p).map(Statement::Restore),
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
                if name.0.len() != 1 {
                    return Err(Error::not_supported(format!("qualified table name {name}")));
                }
                let ident = name.0[0].as_ident().ok_or_else(|| Error::Syntax(format!("invalid name {name}")))?;
                let table = ident.value.to_lowercase();
                validate_identifier("table", &table)?;
                Ok(Statement::Merge { table, merge: Box::new(merge) })
            }
            other => Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(other))))),
        },
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

/// A user name (`alice`, `'ALIYUN$alice@example.com'`), lowercased: MaxCompute's account names
/// are case-insensitive.
fn user_name(p: &mut Parser) -> Result<String> {
    let first = p.next_token();
    let unquoted = matches!(first.token, Token::Word(_));
    let mut name = match first.token {
        Token::Word(w) => w.value,
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
        other => return Err(Error::Syntax(format!("expected a user name, found {other}"))),
    };
    // MaxCompute's account names (`ALIYUN$bob@example.com`, `RAM$org:bob`) unquoted: the
    // tokens written without space between them.
    if unquoted {
        let mut end = first.span.end;
        loop {
            let next = p.peek_token_no_skip();
            if next.span.start != end || matches!(next.token, Token::EOF | Token::SemiColon | Token::Whitespace(_)) {
                break;
            }
            let next = p.next_token_no_skip().cloned().expect("peeked");
            name.push_str(&next.token.to_string());
            end = next.span.end;
        }
    }
    if name.is_empty() || name.contains(',') || name.chars().any(char::is_whitespace) {
        return Err(Error::invalid(format!("invalid user name {name:?}")));
    }
    Ok(name.to_lowercase())
}

/// `BY 'password'` after IDENTIFIED: a quoted, non-empty string.
fn identified_by(p: &mut Parser) -> Result<Secret> {
    expect_word(p, "BY")?;
    match p.next_token().token {
        Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) if !s.is_empty() => Ok(Secret(s)),
        Token::SingleQuotedString(_) | Token::DoubleQuotedString(_) => {
            Err(Error::invalid("a password cannot be empty: IDENTIFIED BY '<password>'"))
        }
        _ => Err(Error::Syntax("expected a quoted password: IDENTIFIED BY '<password>'".into())),
    }
}

/// `GRANT Select[, …] ON TABLE t TO USER u`, `GRANT List ON PROJECT p TO USER u`,
/// `GRANT admin TO [USER] u`, and REVOKE … FROM.
fn parse_grant(p: &mut Parser) -> Result<Statement> {
    let revoke = word(p, 0).as_deref() == Some("REVOKE");
    p.next_token();
    let mut grants = vec![];
    loop {
        match p.next_token().token {
            Token::Word(w) => grants.push(w.value.to_lowercase()),
            other => return Err(Error::Syntax(format!("expected a privilege or role, found {other}"))),
        }
        if !p.consume_token(&Token::Comma) {
            break;
        }
    }
    let on = if take_word(p, "ON") {
        if take_word(p, "TABLE") {
            Some(GrantObject::Table(table_name(p)?))
        } else {
            expect_word(p, "PROJECT")?;
            Some(GrantObject::Project(p.parse_identifier()?.value.to_lowercase()))
        }
    } else {
        None
    };
    expect_word(p, if revoke { "FROM" } else { "TO" })?;
    take_word(p, "USER");
    let user = user_name(p)?;
    Ok(Statement::Grant { grants, on, user, revoke })
}

/// A table name: one identifier, lowercased (names are case-insensitive).
fn table_name(p: &mut Parser) -> Result<String> {
    let name = p.parse_object_name(false)?;
    if name.0.len() != 1 {
        return Err(Error::not_supported(format!(
            "qualified table name {name}: name tables of the current project only"
        )));
    }
    let ident = name.0[0].as_ident().ok_or_else(|| Error::Syntax(format!("invalid name {name}")))?;
    let name = ident.value.to_lowercase();
    validate_identifier("table", &name)?;
    Ok(name)
}

/// `name TYPE [COMMENT '…']`.
fn parse_column(p: &mut Parser) -> Result<ColumnSpec> {
    let name = p.parse_identifier()?.value.to_lowercase();
    let data_type = p.parse_data_type()?.to_string();
    let comment = if take_word(p, "COMMENT") { p.parse_literal_string()? } else { String::new() };
    validate_identifier("column", &name)?;
    Ok(ColumnSpec { name, data_type: normalize_type(&data_type)?, comment })
}

fn parse_columns(p: &mut Parser) -> Result<Vec<ColumnSpec>> {
    p.expect_token(&Token::LParen)?;
    let mut cols = vec![parse_column(p)?];
    while p.consume_token(&Token::Comma) {
        cols.push(parse_column(p)?);
    }
    p.expect_token(&Token::RParen)?;
    Ok(cols)
}

/// The days of `LIFECYCLE n`: a positive integer.
fn lifecycle_days(p: &mut Parser) -> Result<u64> {
    match p.parse_literal_uint()? {
        0 => Err(Error::invalid("LIFECYCLE must be a positive number of days")),
        days => Ok(days),
    }
}

/// A column name, lowercased.
fn column_name(p: &mut Parser) -> Result<String> {
    let name = p.parse_identifier()?.value.to_lowercase();
    validate_identifier("column", &name)?;
    Ok(name)
}

fn parse_create_table(p: &mut Parser) -> Result<CreateTable> {
    p.next_token();
    p.next_token();
    let if_not_exists = take_word(p, "IF") && {
        expect_word(p, "NOT")?;
        expect_word(p, "EXISTS")?;
        true
    };
    let name = table_name(p)?;
    if take_word(p, "LIKE") {
        let like = Some(table_name(p)?);
        let lifecycle = if take_word(p, "LIFECYCLE") { Some(lifecycle_days(p)?) } else { None };
        let (columns, partition_columns, query) = (vec![], vec![], None);
        return Ok(CreateTable { name, if_not_exists, columns, partition_columns, lifecycle, like, query });
    }
    let columns = if p.peek_token().token == Token::LParen { parse_columns(p)? } else { vec![] };
    if take_word(p, "COMMENT") {
        p.parse_literal_string()?;
    }
    let partition_columns = if take_word(p, "PARTITIONED") {
        expect_word(p, "BY")?;
        parse_columns(p)?
    } else {
        vec![]
    };
    let lifecycle = if take_word(p, "LIFECYCLE") { Some(lifecycle_days(p)?) } else { None };
    let query = if take_word(p, "AS") { Some(p.parse_query()?) } else { None };
    if query.is_none() && columns.is_empty() {
        return Err(Error::Syntax(format!("CREATE TABLE {name} needs columns or AS SELECT …")));
    }
    Ok(CreateTable { name, if_not_exists, columns, partition_columns, lifecycle, like: None, query })
}

fn parse_alter(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    p.next_token();
    let table = table_name(p)?;
    if take_word(p, "RENAME") {
        expect_word(p, "TO")?;
        return Ok(Statement::Rename { from: table, to: table_name(p)? });
    }
    if word(p, 0).as_deref() == Some("DROP") && word(p, 1).as_deref() != Some("COLUMNS") {
        p.next_token();
        let if_exists = take_word(p, "IF") && {
            expect_word(p, "EXISTS")?;
            true
        };
        let mut specs = vec![];
        loop {
            expect_word(p, "PARTITION")?;
            specs.push(parse_spec(p)?);
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        return Ok(Statement::DropPartitions { table, if_exists, specs });
    }
    let change = parse_alter_change(p)?;
    Ok(Statement::Alter { table, change })
}

fn parse_alter_change(p: &mut Parser) -> Result<AlterChange> {
    if take_word(p, "ADD") {
        expect_word(p, "COLUMNS")?;
        return Ok(AlterChange::AddColumns(parse_columns(p)?));
    }
    if take_word(p, "DROP") {
        expect_word(p, "COLUMNS")?;
        let mut names = vec![column_name(p)?];
        while p.consume_token(&Token::Comma) {
            names.push(column_name(p)?);
        }
        return Ok(AlterChange::DropColumns(names));
    }
    if take_word(p, "CHANGE") {
        take_word(p, "COLUMN");
        let from = column_name(p)?;
        if take_word(p, "RENAME") {
            expect_word(p, "TO")?;
            return Ok(AlterChange::RenameColumn { from, to: column_name(p)? });
        }
        if take_word(p, "COMMENT") {
            return Ok(AlterChange::CommentColumn { column: from, comment: p.parse_literal_string()? });
        }
        // CHANGE COLUMN a b <type> [COMMENT '…']: a rename (when b differs) and a widening.
        let spec = parse_column(p)?;
        return Ok(AlterChange::ChangeColumn { column: from, spec });
    }
    if take_word(p, "TOUCH") {
        let partition = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
        return Ok(AlterChange::Touch { partition });
    }
    if take_word(p, "SET") {
        expect_word(p, "LIFECYCLE")?;
        return Ok(AlterChange::SetLifecycle(lifecycle_days(p)?));
    }
    let partition = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
    let enabled = if take_word(p, "ENABLE") {
        true
    } else if take_word(p, "DISABLE") {
        false
    } else {
        return Err(Error::not_supported(
            "this ALTER TABLE form; supported: RENAME TO, DROP [IF EXISTS] PARTITION (…), ADD COLUMNS (…), \
             DROP COLUMNS …, CHANGE COLUMN a RENAME TO b, CHANGE COLUMN a b <type>, CHANGE COLUMN a COMMENT '…', \
             SET LIFECYCLE n, [PARTITION (…)] {ENABLE|DISABLE} LIFECYCLE, TOUCH [PARTITION (…)]",
        ));
    };
    expect_word(p, "LIFECYCLE")?;
    Ok(AlterChange::EnableLifecycle { partition, enabled })
}

/// `(k='v', …)` or `('id'='…')`.
fn parse_spec(p: &mut Parser) -> Result<PartitionSpec> {
    p.expect_token(&Token::LParen)?;
    let spec = p.parse_comma_separated(|p| {
        let key = match p.next_token().token {
            Token::Word(w) => w.value.to_lowercase(),
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s.to_lowercase(),
            other => return p.expected("a partition column", TokenWithSpan::wrap(other)),
        };
        p.expect_token(&Token::Eq)?;
        let value = match p.next_token().token {
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
            Token::Number(n, _) => n,
            other => return p.expected("a partition value", TokenWithSpan::wrap(other)),
        };
        Ok((key, value))
    })?;
    p.expect_token(&Token::RParen)?;
    Ok(spec)
}

/// Zero or more `PARTITION (…)`, separated by spaces (or commas when `commas`).
fn parse_partition_specs(p: &mut Parser, commas: bool) -> Result<Vec<PartitionSpec>> {
    let mut specs = vec![];
    while take_word(p, "PARTITION") {
        specs.push(parse_spec(p)?);
        if commas {
            let _ = p.consume_token(&Token::Comma);
        }
    }
    Ok(specs)
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

fn literal(expr: &AstExpr) -> Option<String> {
    match expr {
        AstExpr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => Some(s.clone()),
            Value::Number(n, _) => Some(n.to_string()),
            _ => None,
        },
        _ => None,
    }
}

fn convert_insert(insert: ast::Insert) -> Result<Statement> {
    let original = Box::new(DfStatement::Statement(Box::new(ast::Statement::Insert(insert.clone()))));
    let TableObject::TableName(name) = &insert.table else {
        return Err(Error::not_supported("INSERT INTO a table function"));
    };
    if name.0.len() != 1 {
        return Err(Error::not_supported(format!("qualified table name {name}")));
    }
    let table = name.0[0].as_ident().ok_or_else(|| Error::Syntax(format!("invalid name {name}")))?.value.to_lowercase();
    if !insert.columns.is_empty() {
        return Err(Error::not_supported("an INSERT column list; give a value for every column, in table order"));
    }
    let source = insert.source.clone().ok_or_else(|| Error::Syntax("INSERT needs VALUES or SELECT".into()))?;
    let partition = match &insert.partitioned {
        None => None,
        Some(exprs) => Some(
            exprs
                .iter()
                .map(|e| match e {
                    AstExpr::Identifier(id) => Ok((id.value.to_lowercase(), None)),
                    AstExpr::BinaryOp { left, op: BinaryOperator::Eq, right } => {
                        let AstExpr::Identifier(id) = left.as_ref() else {
                            return Err(Error::Syntax(format!("invalid partition spec item {e}")));
                        };
                        let v = literal(right)
                            .ok_or_else(|| Error::Syntax(format!("partition value must be a literal in {e}")))?;
                        Ok((id.value.to_lowercase(), Some(v)))
                    }
                    other => Err(Error::Syntax(format!("invalid partition spec item {other}"))),
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    };
    Ok(Statement::Insert(Insert { table, overwrite: insert.overwrite, partition, source, original }))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let sql = |s: &str| match parse(s).unwrap() {
            Statement::DataFusion(d) => d.to_string(),
            _ => panic!("not a query"),
        };
        assert!(
            sql("SELECT * FROM t VERSION AS OF get_latest_version('t', 2) x")
                .contains(&format!("AT('{VERSION_AS_OF}', get_latest_version('t', 2))"))
        );
        assert!(sql("SELECT * FROM t VERSION AS OF '0000000000000004'").contains("VERSION AS OF 0000000000000004"));
        // A column called version, aliased `of`, is not a version clause.
        assert_eq!(sql("SELECT version AS of, 1 FROM t"), "SELECT version AS of, 1 FROM t");
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
