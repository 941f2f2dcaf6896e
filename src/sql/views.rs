//! `CREATE [OR REPLACE] VIEW`: the project's named queries.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::CreateView;
use super::ddl::{column_name, table_name};
use super::words::{expect_word, take_word};
use crate::error::{Error, Result};

/// `CREATE [OR REPLACE] VIEW [IF NOT EXISTS] v [(c [COMMENT '…'], …)] [COMMENT '…'] AS query`.
pub(super) fn parse_create_view(p: &mut Parser) -> Result<CreateView> {
    p.next_token();
    let or_replace = take_word(p, "OR") && {
        expect_word(p, "REPLACE")?;
        true
    };
    expect_word(p, "VIEW")?;
    let if_not_exists = take_word(p, "IF") && {
        expect_word(p, "NOT")?;
        expect_word(p, "EXISTS")?;
        true
    };
    let name = table_name(p)?;
    let mut columns = vec![];
    if p.consume_token(&Token::LParen) {
        loop {
            columns.push(column_name(p)?);
            if take_word(p, "COMMENT") {
                p.parse_literal_string()?;
            }
            if !p.consume_token(&Token::Comma) {
                break;
            }
        }
        p.expect_token(&Token::RParen)?;
    }
    let comment = if take_word(p, "COMMENT") { p.parse_literal_string()? } else { String::new() };
    expect_word(p, "AS")?;
    let query = p.parse_query()?;
    if or_replace && if_not_exists {
        return Err(Error::Syntax("CREATE VIEW takes OR REPLACE or IF NOT EXISTS, not both".into()));
    }
    Ok(CreateView { name, or_replace, if_not_exists, columns, comment, query, reads: vec![], fields: vec![] })
}
