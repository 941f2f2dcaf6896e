//! Reading words on sqlparser's parser, as every statement of ours starts: keywords that are not
//! sqlparser's (`HISTORY`, `LIFECYCLE`, …) arrive as plain words.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use crate::error::{Error, Result};

/// The uppercase text of the unquoted word `n` tokens ahead, if it is one.
pub(super) fn word(p: &Parser, n: usize) -> Option<String> {
    match p.peek_nth_token(n).token {
        Token::Word(w) if w.quote_style.is_none() => Some(w.value.to_uppercase()),
        _ => None,
    }
}

pub(super) fn take_word(p: &mut Parser, expected: &str) -> bool {
    if word(p, 0).as_deref() == Some(expected) {
        p.next_token();
        true
    } else {
        false
    }
}

pub(super) fn expect_word(p: &mut Parser, expected: &str) -> Result<()> {
    if take_word(p, expected) {
        Ok(())
    } else {
        Err(Error::Syntax(format!("expected {expected}, found {}", p.peek_token().token)))
    }
}
