//! Table definitions: columns and their types, CREATE TABLE, ALTER TABLE changes, partition
//! specs.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};

use super::ast::{AlterChange, ClusterSpec, ColumnSpec, CreateTable, PartitionSpec, Statement};
use super::type_names::normalize_type;
use super::words::{expect_word, take_word, word};
use crate::error::{Error, Result};
use crate::names::{validate_column_name, validate_identifier};

/// A table name: one identifier, lowercased (names are case-insensitive).
pub(super) fn table_name(p: &mut Parser) -> Result<String> {
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
pub(super) fn parse_column(p: &mut Parser) -> Result<ColumnSpec> {
    let name = p.parse_identifier()?.value.to_lowercase();
    let data_type = type_text(p)?;
    let comment = if take_word(p, "COMMENT") { p.parse_literal_string()? } else { String::new() };
    validate_column_name(&name)?;
    Ok(ColumnSpec { name, data_type: normalize_type(&data_type)?, comment })
}

/// The text of a column type: the tokens up to a `,` or `)` outside its angle brackets and
/// parentheses, or COMMENT (`ARRAY<STRUCT<x:INT>>` tokenizes with `>>` as one shift token).
fn type_text(p: &mut Parser) -> Result<String> {
    let mut open = Vec::new();
    let mut text = String::new();
    loop {
        let token = p.peek_token().token;
        match &token {
            Token::EOF | Token::SemiColon => break,
            Token::Comma if open.is_empty() => break,
            Token::RParen if open.last() != Some(&'(') => break,
            Token::Word(w) if open.is_empty() && w.value.eq_ignore_ascii_case("COMMENT") => break,
            Token::Lt => open.push('<'),
            Token::LParen => open.push('('),
            Token::Gt | Token::RParen => drop(open.pop()),
            Token::ShiftRight => open.truncate(open.len().saturating_sub(2)),
            _ => {}
        }
        p.next_token();
        let piece = token.to_string();
        // Words stay apart (`DOUBLE PRECISION`); symbols join (`ARRAY<INT>`).
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '`');
        if word(text.chars().last()) && word(piece.chars().next()) {
            text.push(' ');
        }
        text.push_str(&piece);
    }
    if text.is_empty() {
        return Err(Error::Syntax(format!("expected a column type, found {}", p.peek_token().token)));
    }
    Ok(text)
}

pub(super) fn parse_columns(p: &mut Parser) -> Result<Vec<ColumnSpec>> {
    p.expect_token(&Token::LParen)?;
    let mut cols = vec![parse_column(p)?];
    while p.consume_token(&Token::Comma) {
        cols.push(parse_column(p)?);
    }
    p.expect_token(&Token::RParen)?;
    Ok(cols)
}

/// The days of `LIFECYCLE n`: a positive integer.
pub(super) fn lifecycle_days(p: &mut Parser) -> Result<u64> {
    match p.parse_literal_uint()? {
        0 => Err(Error::invalid("LIFECYCLE must be a positive number of days")),
        days => Ok(days),
    }
}

/// A column name, lowercased.
pub(super) fn column_name(p: &mut Parser) -> Result<String> {
    let name = p.parse_identifier()?.value.to_lowercase();
    validate_column_name(&name)?;
    Ok(name)
}

pub(super) fn parse_create_table(p: &mut Parser) -> Result<CreateTable> {
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
        return Ok(CreateTable {
            name,
            if_not_exists,
            columns,
            partition_columns,
            lifecycle,
            properties: vec![],
            cluster: None,
            like,
            query,
        });
    }
    let columns = if p.peek_token().token == Token::LParen { parse_columns(p)? } else { vec![] };
    // The table's comment is its property `comment` (as Hive and Spark keep it).
    let comment = if take_word(p, "COMMENT") { Some(p.parse_literal_string()?) } else { None };
    let partition_columns = if take_word(p, "PARTITIONED") {
        expect_word(p, "BY")?;
        parse_columns(p)?
    } else {
        vec![]
    };
    let cluster = parse_cluster(p)?;
    if take_word(p, "STORED") {
        expect_word(p, "AS")?;
        let format = p.parse_identifier()?.value;
        if !["PARQUET", "CFILE", "ALIORC", "ORC"].iter().any(|f| format.eq_ignore_ascii_case(f)) {
            return Err(Error::not_supported(format!(
                "STORED AS {format}: the time machine's tables are stored as Parquet (for files in another format, \
                 CREATE EXTERNAL TABLE)"
            )));
        }
    }
    let mut properties = if take_word(p, "TBLPROPERTIES") { parse_properties(p)? } else { vec![] };
    if let Some(comment) = comment {
        properties.insert(0, (TABLE_COMMENT.to_string(), comment));
    }
    let lifecycle = if take_word(p, "LIFECYCLE") { Some(lifecycle_days(p)?) } else { None };
    let query = if take_word(p, "AS") { Some(p.parse_query()?) } else { None };
    if query.is_none() && columns.is_empty() {
        return Err(Error::Syntax(format!("CREATE TABLE {name} needs columns or AS SELECT …")));
    }
    Ok(CreateTable {
        name,
        if_not_exists,
        columns,
        partition_columns,
        lifecycle,
        properties,
        cluster,
        like: None,
        query,
    })
}

/// The table property that holds the table's COMMENT.
pub const TABLE_COMMENT: &str = "comment";

/// `('k'='v', …)` of TBLPROPERTIES (keys lowercase).
fn parse_properties(p: &mut Parser) -> Result<Vec<(String, String)>> {
    p.expect_token(&Token::LParen)?;
    let pairs = p.parse_comma_separated(|p| {
        let key = p.parse_literal_string()?.to_lowercase();
        p.expect_token(&Token::Eq)?;
        Ok((key, p.parse_literal_string()?))
    })?;
    p.expect_token(&Token::RParen)?;
    Ok(pairs)
}

/// `[RANGE] CLUSTERED BY (c, …) [SORTED BY (c [ASC|DESC], …)] [INTO n BUCKETS]`, if present.
fn parse_cluster(p: &mut Parser) -> Result<Option<ClusterSpec>> {
    let range = word(p, 0).as_deref() == Some("RANGE") && word(p, 1).as_deref() == Some("CLUSTERED");
    if range {
        p.next_token();
    }
    if !take_word(p, "CLUSTERED") {
        return Ok(None);
    }
    expect_word(p, "BY")?;
    p.expect_token(&Token::LParen)?;
    let mut columns = vec![column_name(p)?];
    while p.consume_token(&Token::Comma) {
        columns.push(column_name(p)?);
    }
    p.expect_token(&Token::RParen)?;
    let mut sorted_by = vec![];
    if take_word(p, "SORTED") {
        expect_word(p, "BY")?;
        p.expect_token(&Token::LParen)?;
        loop {
            let column = column_name(p)?;
            let descending = take_word(p, "DESC");
            if !descending {
                take_word(p, "ASC");
            }
            sorted_by.push((column, descending));
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    let buckets = if take_word(p, "INTO") {
        let n = p.parse_literal_uint()?;
        expect_word(p, "BUCKETS")?;
        Some(n)
    } else {
        None
    };
    if buckets.is_none() && !range {
        return Err(Error::Syntax(
            "CLUSTERED BY (…) needs INTO n BUCKETS (hash clustering places each row in one of n buckets)".into(),
        ));
    }
    Ok(Some(ClusterSpec { range, columns, sorted_by, buckets }))
}

pub(super) fn parse_alter(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    p.next_token();
    let table = table_name(p)?;
    if take_word(p, "RENAME") {
        expect_word(p, "TO")?;
        return Ok(Statement::Rename { from: table, to: table_name(p)? });
    }
    if matches!(word(p, 0).as_deref(), Some("CREATE" | "DROP")) && word(p, 1).as_deref() == Some("TAG") {
        return parse_tag(p, table);
    }
    if merges_small_files(p) {
        let specs = parse_partition_specs(p, true)?;
        expect_word(p, "MERGE")?;
        expect_word(p, "SMALLFILES")?;
        return Ok(Statement::MergeSmallFiles { table, specs });
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

/// `CREATE TAG name [AS OF VERSION k] [RETAIN n DAYS]` or `DROP TAG name` (after ALTER TABLE t).
fn parse_tag(p: &mut Parser, table: String) -> Result<Statement> {
    let create = take_word(p, "CREATE");
    if !create {
        expect_word(p, "DROP")?;
    }
    expect_word(p, "TAG")?;
    let name = p.parse_identifier()?.value.to_lowercase();
    if !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(Error::invalid(format!(
            "invalid tag name {name:?}: a tag name starts with a letter (so that it never reads as an LSN)"
        )));
    }
    validate_identifier("tag", &name)?;
    if !create {
        return Ok(Statement::DropTag { table, name });
    }
    let lsn = if take_word(p, "AS") {
        expect_word(p, "OF")?;
        expect_word(p, "VERSION")?;
        Some(match p.next_token().token {
            Token::Number(n, _) => n,
            Token::SingleQuotedString(s) | Token::DoubleQuotedString(s) => s,
            other => return Err(Error::Syntax(format!("expected an LSN after AS OF VERSION, found {other}"))),
        })
    } else {
        None
    };
    let retain_days = if take_word(p, "RETAIN") {
        let days = p.parse_literal_uint()?;
        expect_word(p, "DAYS")?;
        if days == 0 {
            return Err(Error::invalid("RETAIN must be a positive number of days"));
        }
        Some(days)
    } else {
        None
    };
    Ok(Statement::CreateTag { table, name, lsn, retain_days })
}

/// True when the rest of the statement is `[PARTITION (…)[,] …] MERGE SMALLFILES`.
fn merges_small_files(p: &Parser) -> bool {
    let mut n = 0;
    while word(p, n).as_deref() == Some("PARTITION") {
        // Past the spec's parentheses (values are literals: no nesting).
        n += 1;
        if p.peek_nth_token(n).token != Token::LParen {
            return false;
        }
        while !matches!(p.peek_nth_token(n).token, Token::RParen | Token::EOF) {
            n += 1;
        }
        n += 1;
        if p.peek_nth_token(n).token == Token::Comma {
            n += 1;
        }
    }
    word(p, n).as_deref() == Some("MERGE") && word(p, n + 1).as_deref() == Some("SMALLFILES")
}

pub(super) fn parse_alter_change(p: &mut Parser) -> Result<AlterChange> {
    if take_word(p, "ADD") {
        if word(p, 0).as_deref() == Some("IF") || word(p, 0).as_deref() == Some("PARTITION") {
            let if_not_exists = take_word(p, "IF") && {
                expect_word(p, "NOT")?;
                expect_word(p, "EXISTS")?;
                true
            };
            let specs = parse_partition_specs(p, true)?;
            if specs.is_empty() {
                return Err(Error::Syntax(format!("expected PARTITION (…), found {}", p.peek_token().token)));
            }
            return Ok(AlterChange::AddPartitions { specs, if_not_exists });
        }
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
    let clustering = ["CLUSTERED", "RANGE", "NOT"].iter().any(|w| word(p, 0).as_deref() == Some(*w))
        && [word(p, 1), word(p, 2)].iter().any(|w| w.as_deref() == Some("CLUSTERED") || w.as_deref() == Some("BY"));
    if clustering {
        return Err(Error::not_supported(
            "changing a table's clustering with ALTER TABLE: declare CLUSTERED BY at CREATE TABLE, then copy the rows \
             (CREATE TABLE u (…) CLUSTERED BY (…) INTO n BUCKETS; INSERT OVERWRITE TABLE u SELECT * FROM t)",
        ));
    }
    if take_word(p, "TOUCH") {
        let partition = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
        return Ok(AlterChange::Touch { partition });
    }
    if take_word(p, "SET") {
        if take_word(p, "TBLPROPERTIES") {
            return Ok(AlterChange::SetProperties(parse_properties(p)?));
        }
        if take_word(p, "COMMENT") {
            return Ok(AlterChange::SetProperties(vec![(TABLE_COMMENT.to_string(), p.parse_literal_string()?)]));
        }
        expect_word(p, "LIFECYCLE")?;
        return Ok(AlterChange::SetLifecycle(lifecycle_days(p)?));
    }
    if take_word(p, "UNSET") {
        expect_word(p, "TBLPROPERTIES")?;
        let if_exists = take_word(p, "IF");
        if if_exists {
            expect_word(p, "EXISTS")?;
        }
        p.expect_token(&Token::LParen)?;
        let keys = p.parse_comma_separated(|p| Ok(p.parse_literal_string()?.to_lowercase()))?;
        p.expect_token(&Token::RParen)?;
        return Ok(AlterChange::UnsetProperties { keys, if_exists });
    }
    let partition = if take_word(p, "PARTITION") { Some(parse_spec(p)?) } else { None };
    if let Some(from) = &partition
        && take_word(p, "RENAME")
    {
        expect_word(p, "TO")?;
        expect_word(p, "PARTITION")?;
        return Ok(AlterChange::RenamePartition { from: from.clone(), to: parse_spec(p)? });
    }
    let enabled = if take_word(p, "ENABLE") {
        true
    } else if take_word(p, "DISABLE") {
        false
    } else {
        return Err(Error::not_supported(
            "this ALTER TABLE form; supported: RENAME TO, DROP [IF EXISTS] PARTITION (…), ADD COLUMNS (…), \
             DROP COLUMNS …, CHANGE COLUMN a RENAME TO b, CHANGE COLUMN a b <type>, CHANGE COLUMN a COMMENT '…', \
             SET LIFECYCLE n, [PARTITION (…)] {ENABLE|DISABLE} LIFECYCLE, TOUCH [PARTITION (…)], \
             SET TBLPROPERTIES ('k'='v', …), UNSET TBLPROPERTIES [IF EXISTS] ('k', …), \
             [PARTITION (…)] MERGE SMALLFILES",
        ));
    };
    expect_word(p, "LIFECYCLE")?;
    Ok(AlterChange::EnableLifecycle { partition, enabled })
}

/// `(k='v', …)` or `('id'='…')`.
pub(super) fn parse_spec(p: &mut Parser) -> Result<PartitionSpec> {
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
pub(super) fn parse_partition_specs(p: &mut Parser, commas: bool) -> Result<Vec<PartitionSpec>> {
    let mut specs = vec![];
    while take_word(p, "PARTITION") {
        specs.push(parse_spec(p)?);
        if commas {
            let _ = p.consume_token(&Token::Comma);
        }
    }
    Ok(specs)
}
