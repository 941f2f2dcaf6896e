//! Parameters of prepared statements (`?`, `?2`, `$1`): found on the token stream, so that a `?`
//! inside a string, a comment or a quoted name is not one, and bound by writing each value as a
//! SQL literal in place of its placeholder. Binding in the text works for every statement this
//! crate parses (MaxCompute's forms too), and a value can never become SQL: strings are quoted
//! with their quotes doubled (this dialect has no backslash escapes), other values are written
//! by DataFusion's unparser.

use std::ops::Range;

use datafusion::logical_expr::lit;
use datafusion::scalar::ScalarValue;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Location, Token, Tokenizer};
use datafusion::sql::unparser::Unparser;

use super::dialect::MaxComputeDialect;
use crate::error::{Error, Result};

/// The placeholders of `sql`: where each is (bytes) and the parameter it names (from 0). A bare
/// `?` names the one after the previous bare `?`; `?n` and `$n` name parameter n (from 1).
pub(crate) fn placeholders(sql: &str) -> Result<Vec<(Range<usize>, usize)>> {
    let mut next = 0;
    let mut found = vec![];
    for (token, at) in tokens(sql)? {
        let Token::Placeholder(name) = &token else { continue };
        let index = if name == "?" {
            next += 1;
            next - 1
        } else {
            let number = name.strip_prefix(['?', '$']).and_then(|n| n.parse::<usize>().ok()).filter(|n| *n > 0);
            number.ok_or_else(|| {
                Error::NotSupported(format!("parameter {name}: parameters are ?, ?n or $n (n from 1)"))
            })? - 1
        };
        found.push((at, index));
    }
    Ok(found)
}

/// The tokens of `sql` with where each is (bytes).
fn tokens(sql: &str) -> Result<Vec<(Token, Range<usize>)>> {
    let tokens =
        Tokenizer::new(&MaxComputeDialect, sql).tokenize_with_location().map_err(|e| Error::Syntax(e.to_string()))?;
    let offsets = Offsets::new(sql);
    Ok(tokens.into_iter().map(|t| (t.token, offsets.at(t.span.start)..offsets.at(t.span.end))).collect())
}

/// `INSERT … VALUES (…)` with every placeholder in its one row, bound to each of `rows`: one
/// statement of many rows (one version for a whole batch, all or nothing). None for any other
/// statement, which then runs once per row.
pub(crate) fn bind_values(sql: &str, rows: &[Vec<ScalarValue>]) -> Result<Option<String>> {
    let tokens: Vec<_> = tokens(sql)?.into_iter().filter(|(t, _)| !matches!(t, Token::Whitespace(_))).collect();
    let word = |i: usize, k: Keyword| matches!(tokens.get(i), Some((Token::Word(w), _)) if w.keyword == k);
    let Some(values) = tokens.iter().rposition(|(t, _)| matches!(t, Token::Word(w) if w.keyword == Keyword::VALUES))
    else {
        return Ok(None);
    };
    if !word(0, Keyword::INSERT) || !matches!(tokens.get(values + 1), Some((Token::LParen, _))) {
        return Ok(None);
    }
    // The row's closing parenthesis, then nothing but an optional `;`.
    let mut depth = 0;
    let close = tokens[values + 1..].iter().position(|(t, _)| {
        depth += match t {
            Token::LParen => 1,
            Token::RParen => -1,
            _ => 0,
        };
        depth == 0
    });
    let Some(close) = close.map(|c| c + values + 1) else { return Ok(None) };
    if !tokens[close + 1..].iter().all(|(t, _)| matches!(t, Token::SemiColon | Token::EOF)) {
        return Ok(None);
    }
    let row = tokens[values + 1].1.start..tokens[close].1.end;
    let found = placeholders(sql)?;
    if found.iter().any(|(at, _)| at.start < row.start || at.end > row.end) {
        return Ok(None);
    }
    // The row's placeholders, found once, where they stand in the row's text.
    let found: Vec<_> = found.into_iter().map(|(at, i)| (at.start - row.start..at.end - row.start, i)).collect();
    let bound = rows.iter().map(|r| bind_found(&sql[row.clone()], &found, r)).collect::<Result<Vec<_>>>()?;
    Ok(Some(format!("{}{}{}", &sql[..row.start], bound.join(", "), &sql[row.end..])))
}

/// `sql` with every placeholder written `$n`, the form DataFusion infers parameter types for.
pub(crate) fn numbered(sql: &str) -> Result<String> {
    substitute(sql, &placeholders(sql)?, |index| Ok(format!("${}", index + 1)))
}

/// `sql` with each of the placeholders `found` replaced by what `text` gives for its parameter.
fn substitute(sql: &str, found: &[(Range<usize>, usize)], text: impl Fn(usize) -> Result<String>) -> Result<String> {
    let mut out = String::with_capacity(sql.len());
    let mut at = 0;
    for (range, index) in found {
        out.push_str(&sql[at..range.start]);
        out.push_str(&text(*index)?);
        at = range.end;
    }
    out.push_str(&sql[at..]);
    Ok(out)
}

/// How many parameters `sql` takes (the highest one named).
pub(crate) fn count(sql: &str) -> Result<usize> {
    Ok(placeholders(sql)?.iter().map(|(_, i)| i + 1).max().unwrap_or(0))
}

/// `sql` with each placeholder replaced by its value written as a literal.
pub(crate) fn bind(sql: &str, values: &[ScalarValue]) -> Result<String> {
    let found = placeholders(sql)?;
    bind_found(sql, &found, values)
}

/// `sql` with the placeholders `found` in it bound to `values`.
fn bind_found(sql: &str, found: &[(Range<usize>, usize)], values: &[ScalarValue]) -> Result<String> {
    let wanted = found.iter().map(|(_, i)| i + 1).max().unwrap_or(0);
    if wanted != values.len() {
        return Err(Error::Invalid(format!(
            "the statement takes {wanted} parameter{}, {} {} bound",
            if wanted == 1 { "" } else { "s" },
            values.len(),
            if values.len() == 1 { "was" } else { "were" }
        )));
    }
    substitute(sql, found, |index| literal(&values[index], index))
}

/// `value` as SQL text: a negative number in parentheses (after a `-` it would open a comment).
fn literal(value: &ScalarValue, index: usize) -> Result<String> {
    let text = match value {
        ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
            format!("'{}'", s.replace('\'', "''"))
        }
        // The unparser would write `NaN` and `inf` as names.
        ScalarValue::Float64(Some(f)) if !f.is_finite() => format!("CAST('{f}' AS DOUBLE)"),
        ScalarValue::Float32(Some(f)) if !f.is_finite() => format!("CAST('{f}' AS FLOAT)"),
        v => Unparser::default().expr_to_sql(&lit(v.clone())).map(|e| e.to_string()).map_err(|e| {
            Error::NotSupported(format!("parameter {}: a value of type {} ({e})", index + 1, v.data_type()))
        })?,
    };
    Ok(if text.starts_with('-') { format!("({text})") } else { text })
}

/// Byte offsets of the tokenizer's (line, column) locations, both counted from 1 in characters.
struct Offsets<'a> {
    sql: &'a str,
    lines: Vec<usize>,
}

impl<'a> Offsets<'a> {
    fn new(sql: &'a str) -> Self {
        let lines = std::iter::once(0).chain(sql.match_indices('\n').map(|(i, _)| i + 1)).collect();
        Self { sql, lines }
    }

    fn at(&self, l: Location) -> usize {
        let Some(&start) = self.lines.get((l.line as usize).saturating_sub(1)) else { return self.sql.len() };
        let line = &self.sql[start..];
        start + line.char_indices().nth((l.column as usize).saturating_sub(1)).map_or(line.len(), |(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_found_on_tokens_and_bound_as_literals() {
        let sql = "SELECT '?', \"?\", a FROM t -- ?\nWHERE a > ? AND b = ? /* ? */";
        assert_eq!(count(sql).unwrap(), 2);
        let bound = bind(sql, &[ScalarValue::Int64(Some(-5)), ScalarValue::from("it's")]).unwrap();
        assert_eq!(bound, "SELECT '?', \"?\", a FROM t -- ?\nWHERE a > (-5) AND b = 'it''s' /* ? */");
        // Numbered forms name their parameter; a value may be used twice.
        assert_eq!(bind("SELECT $2, ?1, $2", &[1i64.into(), ScalarValue::Null]).unwrap(), "SELECT NULL, 1, NULL");
        // Multibyte text before a placeholder, and on another line.
        assert_eq!(bind("SELECT 'é', ?\n, ?", &[true.into(), 2.5f64.into()]).unwrap(), "SELECT 'é', true\n, 2.5");
        let odd = [f64::NAN.into(), f64::NEG_INFINITY.into(), f32::INFINITY.into()];
        let sql = "SELECT ?, ?, ?";
        assert_eq!(
            bind(sql, &odd).unwrap(),
            "SELECT CAST('NaN' AS DOUBLE), CAST('-inf' AS DOUBLE), CAST('inf' AS FLOAT)"
        );
        let e = bind("SELECT ?, ?", &[1i64.into()]).unwrap_err().to_string();
        assert!(e.contains("takes 2 parameters, 1 was bound"), "{e}");
        assert!(count("SELECT $x").unwrap_err().to_string().contains("parameters are ?, ?n or $n"));
        assert_eq!(count("SELECT 1").unwrap(), 0);
        assert_eq!(numbered("SELECT ?, '?', ?, ?1").unwrap(), "SELECT $1, '?', $2, $1");
    }

    #[test]
    fn a_batch_of_rows_for_one_values_row_is_one_insert() {
        let rows = [vec![1i64.into(), ScalarValue::from("a")], vec![(-2i64).into(), ScalarValue::Utf8(None)]];
        let sql = "INSERT INTO t PARTITION (ds='1') VALUES (?, upper(?));";
        let one = bind_values(sql, &rows).unwrap().unwrap();
        assert_eq!(one, "INSERT INTO t PARTITION (ds='1') VALUES (1, upper('a')), ((-2), upper(NULL));");
        // Placeholders outside the row, more than one row, or anything after it: once per row.
        assert_eq!(bind_values("INSERT INTO t PARTITION (ds=?) VALUES (?)", &rows).unwrap(), None);
        assert_eq!(bind_values("INSERT INTO t VALUES (?, ?), (3, 'c')", &rows).unwrap(), None);
        assert_eq!(bind_values("INSERT INTO t SELECT ?, ?", &rows).unwrap(), None);
        assert_eq!(bind_values("UPDATE t SET a = ? WHERE b = ?", &rows).unwrap(), None);
        let e = bind_values("INSERT INTO t VALUES (?, ?, ?)", &rows).unwrap_err().to_string();
        assert!(e.contains("takes 3 parameters, 2 were bound"), "{e}");
    }
}
