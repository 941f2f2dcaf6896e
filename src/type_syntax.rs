//! The grammar of type names, shared by SQL (which reads what users write, with aliases) and
//! storage (which maps the stored spelling to Arrow): a name with optional numeric arguments
//! (`decimal(10,2)`, `varchar(5)`), or `array<T>`, `map<K,V>`, `struct<name:T,…>` nested to any
//! depth. Printing gives the stored spelling: lowercase type names, no spaces.
//!
//! ```
//! use datafusion_timemachine::type_syntax::TypeExpr;
//! let t = TypeExpr::parse("MAP<STRING, ARRAY<STRUCT<x: BIGINT, y DECIMAL(10, 2)>>>").unwrap();
//! assert_eq!(t.to_string(), "map<string,array<struct<x:bigint,y:decimal(10,2)>>>");
//! ```

use std::fmt;

use crate::error::{Error, Result};

/// A parsed type name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeExpr {
    /// A lowercase name and its numeric arguments (`decimal(10,2)`: `decimal`, `[10, 2]`).
    Simple {
        /// The type's name, lowercased (words joined: `double precision` is `doubleprecision`).
        name: String,
        /// The arguments in parentheses, if any.
        args: Vec<u32>,
    },
    /// `array<T>`.
    Array(Box<TypeExpr>),
    /// `map<K,V>`.
    Map(Box<TypeExpr>, Box<TypeExpr>),
    /// `struct<name:T,…>`: field names as written.
    Struct(Vec<(String, TypeExpr)>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Number(u32),
    Symbol(char),
}

fn tokenize(text: &str) -> Result<Vec<Token>> {
    let bad = |why: String| Error::invalid(format!("invalid type {text}: {why}"));
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c.is_ascii_alphabetic() || c == '_' {
            let mut word = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_alphanumeric() || **c == '_') {
                word.push(c);
                chars.next();
            }
            out.push(Token::Word(word));
        } else if c == '`' {
            chars.next();
            let word: String = chars.by_ref().take_while(|c| *c != '`').collect();
            out.push(Token::Word(word));
        } else if c.is_ascii_digit() {
            let mut digits = String::new();
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
                digits.push(c);
                chars.next();
            }
            out.push(Token::Number(digits.parse().map_err(|_| bad(format!("{digits} is too large")))?));
        } else if "<>(),:".contains(c) {
            out.push(Token::Symbol(c));
            chars.next();
        } else {
            return Err(bad(format!("unexpected {c:?}")));
        }
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn bad(&self, why: &str) -> Error {
        Error::invalid(format!("invalid type {}: {why}", self.text))
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn peek_symbol(&self, c: char) -> bool {
        self.tokens.get(self.at) == Some(&Token::Symbol(c))
    }

    fn expect(&mut self, c: char) -> Result<()> {
        match self.next() {
            Some(Token::Symbol(s)) if s == c => Ok(()),
            _ => Err(self.bad(&format!("expected '{c}'"))),
        }
    }

    fn word(&mut self) -> Result<String> {
        match self.next() {
            Some(Token::Word(w)) => Ok(w),
            _ => Err(self.bad("expected a name")),
        }
    }

    fn parse_type(&mut self) -> Result<TypeExpr> {
        let name = self.word()?.to_lowercase();
        Ok(match name.as_str() {
            "array" => {
                self.expect('<')?;
                let item = self.parse_type()?;
                self.expect('>')?;
                TypeExpr::Array(Box::new(item))
            }
            "map" => {
                self.expect('<')?;
                let key = self.parse_type()?;
                self.expect(',')?;
                let value = self.parse_type()?;
                self.expect('>')?;
                TypeExpr::Map(Box::new(key), Box::new(value))
            }
            "struct" => {
                self.expect('<')?;
                let mut fields = Vec::new();
                loop {
                    let field = self.word()?;
                    if self.peek_symbol(':') {
                        self.at += 1;
                    }
                    fields.push((field, self.parse_type()?));
                    if !self.peek_symbol(',') {
                        break;
                    }
                    self.at += 1;
                }
                self.expect('>')?;
                TypeExpr::Struct(fields)
            }
            _ => {
                let mut name = name;
                while let Some(Token::Word(w)) = self.tokens.get(self.at) {
                    name.push_str(&w.to_lowercase());
                    self.at += 1;
                }
                let mut args = Vec::new();
                if self.peek_symbol('(') {
                    self.at += 1;
                    loop {
                        match self.next() {
                            Some(Token::Number(n)) => args.push(n),
                            _ => return Err(self.bad("expected a number")),
                        }
                        if !self.peek_symbol(',') {
                            break;
                        }
                        self.at += 1;
                    }
                    self.expect(')')?;
                }
                TypeExpr::Simple { name, args }
            }
        })
    }
}

impl TypeExpr {
    /// Parses a type name; an error names the type and what is wrong with it.
    pub fn parse(text: &str) -> Result<Self> {
        let mut p = Parser { text, tokens: tokenize(text)?, at: 0 };
        let t = p.parse_type()?;
        if p.at != p.tokens.len() {
            return Err(p.bad("unexpected text after the type"));
        }
        Ok(t)
    }

    /// True for ARRAY, MAP and STRUCT.
    pub fn is_complex(&self) -> bool {
        !matches!(self, TypeExpr::Simple { .. })
    }
}

impl fmt::Display for TypeExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeExpr::Simple { name, args } if args.is_empty() => write!(f, "{name}"),
            TypeExpr::Simple { name, args } => {
                let args: Vec<String> = args.iter().map(u32::to_string).collect();
                write!(f, "{name}({})", args.join(","))
            }
            TypeExpr::Array(item) => write!(f, "array<{item}>"),
            TypeExpr::Map(k, v) => write!(f, "map<{k},{v}>"),
            TypeExpr::Struct(fields) => {
                let fields: Vec<String> = fields.iter().map(|(n, t)| format!("{n}:{t}")).collect();
                write!(f, "struct<{}>", fields.join(","))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints() {
        for (text, stored) in [
            ("BIGINT", "bigint"),
            ("Decimal(10, 2)", "decimal(10,2)"),
            ("double precision", "doubleprecision"),
            ("ARRAY<ARRAY<INT>>", "array<array<int>>"),
            ("struct<`a`:string, B int>", "struct<a:string,B:int>"),
        ] {
            assert_eq!(TypeExpr::parse(text).unwrap().to_string(), stored, "{text}");
        }
        for bad in ["", "array<int", "map<int>", "struct<>", "decimal(a)", "int>", "a$b", "array<int>>"] {
            assert!(TypeExpr::parse(bad).is_err(), "{bad:?}");
        }
    }
}
