//! Type names as written in SQL (`STRING`, `Decimal(10, 2)`, `VARCHAR(5)`), read into the stored
//! MaxCompute names; their Arrow types are `types`' business, below.

use crate::error::{Error, Result};
use crate::names::decimal_args;

/// Normalizes a type as written in SQL (`STRING`, `Decimal(10, 2)`, `VARCHAR(5)`) to the stored
/// MaxCompute name (`string`, `decimal(10,2)`), checking that it is supported.
pub fn normalize_type(sql_type: &str) -> Result<String> {
    let t: String = sql_type.to_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
    let base = t.split('(').next().unwrap_or_default();
    let normalized = match base {
        "string" | "varchar" | "char" | "text" => "string".to_string(),
        "bigint" | "int8" => "bigint".to_string(),
        "int" | "integer" | "int4" => "int".to_string(),
        "smallint" | "int2" => "smallint".to_string(),
        "tinyint" => "tinyint".to_string(),
        "double" | "float8" | "float64" | "doubleprecision" => "double".to_string(),
        "float" | "real" | "float4" | "float32" => "float".to_string(),
        "boolean" | "bool" => "boolean".to_string(),
        "datetime" => "datetime".to_string(),
        "timestamp" => "timestamp".to_string(),
        "date" => "date".to_string(),
        "binary" | "bytea" | "blob" | "varbinary" => "binary".to_string(),
        "decimal" | "numeric" => {
            let (p, s) = match t.strip_prefix(base).filter(|r| !r.is_empty()) {
                None => (38, 18),
                Some(args) => {
                    decimal_args(args).ok_or_else(|| Error::invalid(format!("invalid decimal type {sql_type}")))?
                }
            };
            if !(1..=38).contains(&p) || s > p {
                return Err(Error::invalid(format!(
                    "invalid decimal type {sql_type}: precision must be 1..=38 and scale at most the precision"
                )));
            }
            format!("decimal({p},{s})")
        }
        _ => {
            return Err(Error::not_supported(format!(
                "column type {sql_type}; supported: STRING, BIGINT, INT, SMALLINT, TINYINT, DOUBLE, \
                 FLOAT, DECIMAL(p,s), BOOLEAN, DATETIME, TIMESTAMP, DATE, BINARY"
            )));
        }
    };
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes() {
        assert_eq!(normalize_type("STRING").unwrap(), "string");
        assert_eq!(normalize_type("Decimal(10, 2)").unwrap(), "decimal(10,2)");
        assert_eq!(normalize_type("varchar(5)").unwrap(), "string");
        assert!(normalize_type("decimal(40,2)").is_err());
        assert!(normalize_type("map<string,string>").is_err());
    }
}
