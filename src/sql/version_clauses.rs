//! MaxCompute's version clauses. sqlparser reads `VERSION AS OF <number>`, `TIMESTAMP AS OF`
//! and `FOR SYSTEM_TIME AS OF`, but neither `VERSION AS OF <expression>` nor the incremental
//! `VERSION BETWEEN` / `TIMESTAMP BETWEEN`: those are rewritten on the token stream before
//! parsing into a table version function it does read (`AT('<marker>', …)`), and
//! [`VersionClause::read`] gives every form back typed. The markers never leave this file.

use std::fmt;

use datafusion::sql::sqlparser::ast::{self, FunctionArg, FunctionArgExpr, FunctionArguments, TableVersion};
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::dialect::MaxComputeDialect;

use crate::error::{Error, Result};

/// The marker that [`rewrite_version_clauses`] puts first in the `AT(…)` it writes for
/// `VERSION BETWEEN a AND b` (`TIMESTAMP BETWEEN`: [`TIMESTAMP_BETWEEN`]).
const VERSION_BETWEEN: &str = "timemachine.version_between";
/// See [`VERSION_BETWEEN`].
const TIMESTAMP_BETWEEN: &str = "timemachine.timestamp_between";
/// The marker of `VERSION AS OF <expression>` (sqlparser reads only a number there).
const VERSION_AS_OF: &str = "timemachine.version_as_of";

/// A version clause after a table name, as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VersionClause<'a> {
    /// `VERSION AS OF v`: an LSN (a number, a string of digits, a constant expression) or a
    /// tag's name.
    VersionAsOf(&'a ast::Expr),
    /// `TIMESTAMP AS OF x` or `FOR SYSTEM_TIME AS OF x`.
    TimestampAsOf(&'a ast::Expr),
    /// `VERSION BETWEEN a AND b`.
    VersionBetween(&'a ast::Expr, &'a ast::Expr),
    /// `TIMESTAMP BETWEEN x AND y`.
    TimestampBetween(&'a ast::Expr, &'a ast::Expr),
}

impl<'a> VersionClause<'a> {
    /// The clause that sqlparser parsed as `version`; None for a form MaxCompute does not have.
    pub fn read(version: &'a TableVersion) -> Option<Self> {
        match version {
            TableVersion::VersionAsOf(e) => Some(Self::VersionAsOf(e)),
            TableVersion::TimestampAsOf(e) | TableVersion::ForSystemTimeAsOf(e) => Some(Self::TimestampAsOf(e)),
            TableVersion::Function(ast::Expr::Function(f)) => {
                let FunctionArguments::List(list) = &f.args else { return None };
                let args = list
                    .args
                    .iter()
                    .map(|a| match a {
                        FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()?;
                let ast::Expr::Value(marker) = args.first()? else { return None };
                let ast::Value::SingleQuotedString(marker) = &marker.value else { return None };
                match (marker.as_str(), &args[1..]) {
                    (VERSION_AS_OF, [v]) => Some(Self::VersionAsOf(v)),
                    (VERSION_BETWEEN, [a, b]) => Some(Self::VersionBetween(a, b)),
                    (TIMESTAMP_BETWEEN, [a, b]) => Some(Self::TimestampBetween(a, b)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// As MaxCompute writes it (for error messages).
impl fmt::Display for VersionClause<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::VersionAsOf(v) => write!(f, "VERSION AS OF {v}"),
            Self::TimestampAsOf(x) => write!(f, "TIMESTAMP AS OF {x}"),
            Self::VersionBetween(a, b) => write!(f, "VERSION BETWEEN {a} AND {b}"),
            Self::TimestampBetween(x, y) => write!(f, "TIMESTAMP BETWEEN {x} AND {y}"),
        }
    }
}

pub(super) fn is_word(t: &Token, word: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

pub(super) fn next_significant(tokens: &[TokenWithSpan], from: usize) -> Option<usize> {
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
pub(super) fn rewrite_version_clauses(tokens: &mut Vec<TokenWithSpan>) -> Result<()> {
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
