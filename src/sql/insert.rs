//! INSERT as MaxCompute writes it: the column list after the partition spec, `WITH … INSERT`,
//! and the statement this crate runs (table, static and dynamic partition values, columns).

use datafusion::sql::parser::Statement as DfStatement;
use datafusion::sql::sqlparser::ast::{self, BinaryOperator, Expr as AstExpr, TableObject, Value};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::ast::{Insert, Statement};
use super::version_clauses::{is_word, next_significant};
use crate::error::{Error, Result};

/// The end (one past the closing parenthesis) of the parenthesized group opening at `open`.
fn group_end(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `[WITH …] INSERT … t PARTITION (…) (c, …) SELECT …` (MaxCompute and Hive put the column list after the
/// partition) becomes `INSERT … t (c, …) PARTITION (…) SELECT …`, the order sqlparser reads.
pub(super) fn columns_before_partition(tokens: &mut Vec<TokenWithSpan>) {
    let first = next_significant(tokens, 0);
    if !first.is_some_and(|i| is_word(&tokens[i].token, "INSERT") || is_word(&tokens[i].token, "WITH")) {
        return;
    }
    let Some(insert) = tokens.iter().position(|t| is_word(&t.token, "INSERT")) else { return };
    let Some(partition) = (insert..tokens.len()).find(|&i| is_word(&tokens[i].token, "PARTITION")) else { return };
    let Some(open) = next_significant(tokens, partition + 1).filter(|&i| tokens[i].token == Token::LParen) else {
        return;
    };
    let Some(end) = group_end(tokens, open) else { return };
    let Some(list) = next_significant(tokens, end).filter(|&i| tokens[i].token == Token::LParen) else { return };
    let query_words = ["SELECT", "WITH", "VALUES", "FROM"];
    let is_columns = next_significant(tokens, list + 1).is_some_and(|i| {
        matches!(&tokens[i].token, Token::Word(_)) && !query_words.iter().any(|w| is_word(&tokens[i].token, w))
    });
    let Some(list_end) = group_end(tokens, list).filter(|_| is_columns) else { return };
    let columns: Vec<TokenWithSpan> = tokens.drain(list..list_end).collect();
    let mut moved = columns;
    moved.push(TokenWithSpan::wrap(Token::Whitespace(Whitespace::Space)));
    tokens.splice(partition..partition, moved);
}

/// `WITH a AS (…), … INSERT …` (sqlparser reads it as a query whose body is the INSERT): the
/// INSERT whose own query has those common table expressions first.
pub(super) fn with_insert(statement: ast::Statement) -> Result<Statement> {
    let ast::Statement::Query(query) = statement else {
        return Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(statement)))));
    };
    let ast::Query { with: Some(with), body, .. } = *query.clone() else {
        return Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(ast::Statement::Query(query))))));
    };
    let ast::SetExpr::Insert(ast::Statement::Insert(mut insert)) = *body else {
        return Ok(Statement::DataFusion(Box::new(DfStatement::Statement(Box::new(ast::Statement::Query(query))))));
    };
    let source = insert.source.as_mut().ok_or_else(|| Error::Syntax("INSERT needs SELECT".into()))?;
    match &mut source.with {
        Some(own) => {
            let mut tables = with.cte_tables;
            tables.append(&mut own.cte_tables);
            own.cte_tables = tables;
        }
        none => *none = Some(with),
    }
    convert_insert(insert)
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

pub(super) fn convert_insert(insert: ast::Insert) -> Result<Statement> {
    let original = Box::new(DfStatement::Statement(Box::new(ast::Statement::Insert(insert.clone()))));
    let TableObject::TableName(name) = &insert.table else {
        return Err(Error::not_supported("INSERT INTO a table function"));
    };
    if name.0.len() != 1 {
        return Err(Error::not_supported(format!("qualified table name {name}")));
    }
    let table = name.0[0].as_ident().ok_or_else(|| Error::Syntax(format!("invalid name {name}")))?.value.to_lowercase();
    let columns = insert
        .columns
        .iter()
        .map(|c| {
            match c.0.as_slice() {
                [part] => part.as_ident().map(|i| i.value.to_lowercase()),
                _ => None,
            }
            .ok_or_else(|| Error::Syntax(format!("invalid column {c}")))
        })
        .collect::<Result<Vec<_>>>()?;
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
    Ok(Statement::Insert(Insert { table, overwrite: insert.overwrite, partition, columns, source, original }))
}
