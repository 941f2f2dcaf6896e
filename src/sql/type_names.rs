//! Type names as written in SQL (`STRING`, `Decimal(10, 2)`, `ARRAY<INT>`), read into the stored
//! MaxCompute names; their Arrow types are `types`' business, below.

use crate::error::{Error, Result};
use crate::names::validate_identifier;
use crate::type_syntax::TypeExpr;

/// Longest VARCHAR(n) and CHAR(n), as MaxCompute allows.
const MAX_VARCHAR: u32 = 65535;
const MAX_CHAR: u32 = 255;

/// Normalizes a type as written in SQL (`STRING`, `Decimal(10, 2)`, `map<string, int>`) to the
/// stored MaxCompute name (`string`, `decimal(10,2)`, `map<string,int>`), checking that it is
/// supported.
pub fn normalize_type(sql_type: &str) -> Result<String> {
    Ok(normalize(sql_type, TypeExpr::parse(sql_type)?)?.to_string())
}

fn normalize(sql_type: &str, t: TypeExpr) -> Result<TypeExpr> {
    let simple = |name: &str| TypeExpr::Simple { name: name.into(), args: vec![] };
    Ok(match t {
        TypeExpr::Array(item) => TypeExpr::Array(Box::new(normalize(sql_type, *item)?)),
        TypeExpr::Map(k, v) => {
            let key = normalize(sql_type, *k)?;
            if key.is_complex() {
                return Err(Error::invalid(format!("invalid type {sql_type}: a MAP key must be a primitive type")));
            }
            TypeExpr::Map(Box::new(key), Box::new(normalize(sql_type, *v)?))
        }
        TypeExpr::Struct(fields) => {
            let mut seen = std::collections::HashSet::new();
            let mut out = Vec::with_capacity(fields.len());
            for (name, t) in fields {
                let name = name.to_lowercase();
                validate_identifier("STRUCT field", &name)?;
                if !seen.insert(name.clone()) {
                    return Err(Error::invalid(format!("invalid type {sql_type}: duplicate field name {name}")));
                }
                out.push((name, normalize(sql_type, t)?));
            }
            TypeExpr::Struct(out)
        }
        TypeExpr::Simple { name, args } => {
            let no_args = |stored: &str| {
                if args.is_empty() {
                    Ok(simple(stored))
                } else {
                    Err(Error::invalid(format!("invalid type {sql_type}: {} takes no arguments", name.to_uppercase())))
                }
            };
            let length = |stored: &str, max: u32| match args.as_slice() {
                [n] if (1..=max).contains(n) => Ok(TypeExpr::Simple { name: stored.into(), args: args.clone() }),
                _ => Err(Error::invalid(format!(
                    "invalid type {sql_type}: {} needs a length from 1 to {max}",
                    stored.to_uppercase()
                ))),
            };
            match name.as_str() {
                "string" | "text" => no_args("string")?,
                // VARCHAR without a length is a plain STRING, as in most engines.
                "varchar" if args.is_empty() => simple("string"),
                "varchar" => length("varchar", MAX_VARCHAR)?,
                "char" => length("char", MAX_CHAR)?,
                "bigint" | "int8" => no_args("bigint")?,
                "int" | "integer" | "int4" => no_args("int")?,
                "smallint" | "int2" => no_args("smallint")?,
                "tinyint" => no_args("tinyint")?,
                "double" | "float8" | "float64" | "doubleprecision" => no_args("double")?,
                "float" | "real" | "float4" | "float32" => no_args("float")?,
                "boolean" | "bool" => no_args("boolean")?,
                "datetime" => no_args("datetime")?,
                "timestamp" => no_args("timestamp")?,
                "timestamp_ntz" => no_args("timestamp_ntz")?,
                "date" => no_args("date")?,
                "json" => no_args("json")?,
                "binary" | "bytea" | "blob" | "varbinary" => no_args("binary")?,
                "decimal" | "numeric" => {
                    let (p, s) = match args.as_slice() {
                        [] => (38, 18),
                        [p] => (*p, 0),
                        [p, s] => (*p, *s),
                        _ => return Err(Error::invalid(format!("invalid decimal type {sql_type}"))),
                    };
                    if !(1..=38).contains(&p) || s > p {
                        return Err(Error::invalid(format!(
                            "invalid decimal type {sql_type}: precision must be 1..=38 and scale at most the precision"
                        )));
                    }
                    TypeExpr::Simple { name: "decimal".into(), args: vec![p, s] }
                }
                _ => {
                    return Err(Error::not_supported(format!(
                        "column type {sql_type}; supported: STRING, VARCHAR(n), CHAR(n), BIGINT, INT, SMALLINT, \
                         TINYINT, DOUBLE, FLOAT, DECIMAL(p,s), BOOLEAN, DATETIME, TIMESTAMP, TIMESTAMP_NTZ, DATE, \
                         BINARY, JSON, ARRAY<T>, MAP<K,V>, STRUCT<name:T,…>"
                    )));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize_type("STRING").unwrap(), "string");
        assert_eq!(normalize_type("Decimal(10, 2)").unwrap(), "decimal(10,2)");
        assert_eq!(normalize_type("varchar(5)").unwrap(), "varchar(5)");
        assert_eq!(normalize_type("map<string, array<Int>>").unwrap(), "map<string,array<int>>");
        assert_eq!(normalize_type("STRUCT<X:BIGINT, y STRING>").unwrap(), "struct<x:bigint,y:string>");
        assert!(normalize_type("decimal(40,2)").is_err());
        assert!(normalize_type("map<array<int>,int>").is_err());
        assert!(normalize_type("struct<a:int,A:int>").is_err());
        assert!(normalize_type("char(256)").is_err());
        assert!(normalize_type("int(3)").is_err());
        assert!(normalize_type("uuid").unwrap_err().to_string().contains("not supported"));
    }
}
