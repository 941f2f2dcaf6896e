//! Users and privileges: `ADD USER … IDENTIFIED BY`, `GRANT … ON … TO`, `REVOKE … FROM`.

use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::Token;

use super::ast::{GrantObject, Secret, Statement};
use super::ddl::table_name;
use super::words::{expect_word, take_word, word};
use crate::error::{Error, Result};

/// A user name (`alice`, `'ALIYUN$alice@example.com'`), lowercased: MaxCompute's account names
/// are case-insensitive.
pub(super) fn user_name(p: &mut Parser) -> Result<String> {
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
            let Some(next) = p.next_token_no_skip().cloned() else { break };
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
pub(super) fn identified_by(p: &mut Parser) -> Result<Secret> {
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
pub(super) fn parse_grant(p: &mut Parser) -> Result<Statement> {
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
