//! Validation of user-supplied names and partition values.
//!
//! Table and partition names never reach object paths (files are named by ObjectIds and UUIDs),
//! but they are still checked so that every name is an ordinary identifier and every partition
//! value is printable and path-safe, as MaxCompute requires.

use crate::error::{Error, Result};

/// Longest accepted identifier.
const MAX_IDENTIFIER_LEN: usize = 128;
/// Longest accepted partition value, in bytes.
const MAX_PARTITION_VALUE_LEN: usize = 255;

/// Checks that `name` is a valid identifier (letter or `_`, then letters, digits, `_`).
pub fn validate_identifier(kind: &str, name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok_start = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let ok_rest = chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok_start || !ok_rest || name.len() > MAX_IDENTIFIER_LEN {
        return Err(Error::invalid(format!(
            "invalid {kind} name {name:?}: use a letter or '_' followed by letters, digits or '_' \
             (at most {MAX_IDENTIFIER_LEN} characters)"
        )));
    }
    Ok(())
}

/// The columns `table_changes` adds to a table's (and change files hold).
const CHANGE_FEED_COLUMNS: [&str; 3] = ["_change_type", "_commit_version", "_commit_timestamp"];

/// Checks that `name` is a valid column name: an identifier that is not one of the change feed's
/// columns nor of the `__tm_` columns that MERGE and row-level changes use inside their plans.
pub fn validate_column_name(name: &str) -> Result<()> {
    validate_identifier("column", name)?;
    if CHANGE_FEED_COLUMNS.contains(&name) {
        return Err(Error::invalid(format!(
            "column name {name} is reserved: table_changes adds it to the table's columns; choose another name"
        )));
    }
    if name.starts_with("__tm_") {
        return Err(Error::invalid(format!(
            "column name {name} is reserved: names starting with __tm_ are the time machine's own; choose another name"
        )));
    }
    Ok(())
}

/// Checks a partition value for column `column`.
pub fn validate_partition_value(column: &str, value: &str) -> Result<()> {
    let bad = |why: &str| Err(Error::invalid(format!("invalid value {value:?} for partition column {column}: {why}")));
    if value.is_empty() {
        return bad("it is empty");
    }
    if value.len() > MAX_PARTITION_VALUE_LEN {
        return bad(&format!("longer than {MAX_PARTITION_VALUE_LEN} bytes"));
    }
    if value == "." || value == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if let Some(c) = value.chars().find(|c| c.is_control() || matches!(c, '/' | '\\')) {
        return bad(&format!("character {c:?} is not allowed"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers() {
        assert!(validate_identifier("table", "test_restore_x").is_ok());
        assert!(validate_identifier("table", "_t1").is_ok());
        for bad in ["", "1t", "a-b", "../x", "a/b", "a\0b", &"x".repeat(129)] {
            assert!(validate_identifier("table", bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn partition_values() {
        assert!(validate_partition_value("ds", "20191201").is_ok());
        assert!(validate_partition_value("ds", "a b=c").is_ok());
        for bad in ["", ".", "..", "a/b", "a\\b", "a\0b", "a\nb", &"x".repeat(256)] {
            assert!(validate_partition_value("ds", bad).is_err(), "{bad:?}");
        }
    }
}
