//! What MaxCompute's clients send besides statements: session flags (`SET odps.… = …`) and
//! `SHOW TABLES LIKE 'pattern'`.

use datafusion::sql::parser::DFParser;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::Statement;
use super::dialect::MaxComputeDialect;
use crate::error::{Error, Result};

/// `SHOW TABLES LIKE 'pattern'` (MaxCompute's `*` is any text, as SQL's `%` is): DataFusion's
/// SHOW TABLES, filtered by name.
pub(super) fn show_tables_like(pattern: &str) -> Result<Statement> {
    let like = pattern.replace('*', "%").replace('\'', "''");
    let sql = format!(
        "SELECT table_catalog, table_schema, table_name, table_type FROM information_schema.tables \
         WHERE table_name LIKE '{like}' ORDER BY table_schema, table_name"
    );
    let dialect = MaxComputeDialect;
    let statement = DFParser::parse_sql_with_dialect(&sql, &dialect)?.pop_front();
    statement.map(|s| Statement::DataFusion(Box::new(s))).ok_or_else(|| Error::invalid("internal: SHOW TABLES LIKE"))
}

/// `SET odps.<name> = <value>`: everything up to the end of the statement.
pub(super) fn parse_session_flag(p: &mut Parser) -> Result<Statement> {
    p.next_token();
    let mut key = String::new();
    loop {
        match p.next_token().token {
            Token::Eq => break,
            Token::EOF | Token::SemiColon => {
                return Err(Error::Syntax(format!("SET {key}: expected = and a value")));
            }
            t => key.push_str(&t.to_string()),
        }
    }
    let mut value = String::new();
    while !matches!(p.peek_token().token, Token::EOF | Token::SemiColon) {
        value.push_str(&p.next_token().token.to_string());
    }
    let value = value.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    Ok(Statement::SessionFlag { key: key.trim().to_lowercase(), value })
}
