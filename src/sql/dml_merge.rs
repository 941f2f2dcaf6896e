//! DELETE and UPDATE that no filter over the table's own columns can express (a correlated
//! subquery, `UPDATE … FROM` several tables or a join, `DELETE … USING`), written as the MERGE
//! they mean. The target's rows are named by their data file and their position in it
//! (`file_row_index()`), so the source is "which rows change, and to what": each target row
//! matches at most once, whatever the statement joins.
//!
//! `UPDATE t SET c = e WHERE p` (p or e with a correlated subquery) becomes
//! `MERGE INTO t USING (SELECT t.__tm_file AS __tm_f, t.__tm_pos AS __tm_p, (e) AS __tm_v0
//! FROM <t's rows with their file and position> AS t WHERE p) AS __tm_m ON t.__tm_file =
//! __tm_m.__tm_f AND t.__tm_pos = __tm_m.__tm_p WHEN MATCHED THEN UPDATE SET c = __tm_m.__tm_v0`.

use datafusion::sql::sqlparser::ast::{self, AssignmentTarget, FromTable, TableFactor, TableWithJoins};

use super::ast::{MergeKind, Statement};
use crate::error::{Error, Result};

/// The column that `timemachine_row_files` rows get their position in their file under.
pub const POSITION_COLUMN: &str = "__tm_pos";

/// The target's rows with their file (`__tm_file`) and position (`__tm_pos`), as a relation.
pub fn rows_with_position(table: &str) -> String {
    format!("(SELECT *, file_row_index() AS {POSITION_COLUMN} FROM timemachine_row_files('{table}'))")
}

/// The table `name` designates (one part, lowercased): what MERGE, DELETE and UPDATE write to.
pub fn single_table(name: &ast::ObjectName) -> Result<String> {
    let [part] = name.0.as_slice() else {
        return Err(Error::not_supported(format!("qualified table name {name}")));
    };
    Ok(part.as_ident().ok_or_else(|| Error::Syntax(format!("invalid name {name}")))?.value.to_lowercase())
}

/// `stmt` (a DELETE or UPDATE) as a MERGE on the rows it changes; None for other statements.
pub fn as_merge(stmt: &ast::Statement) -> Result<Option<Statement>> {
    match stmt {
        ast::Statement::Delete(d) => {
            if d.returning.is_some() || !d.order_by.is_empty() || d.limit.is_some() || !d.tables.is_empty() {
                return Err(Error::not_supported("DELETE with RETURNING, ORDER BY, LIMIT or several targets"));
            }
            let (FromTable::WithFromKeyword(from) | FromTable::WithoutKeyword(from)) = &d.from;
            let [target] = from.as_slice() else {
                return Err(Error::not_supported("DELETE FROM several tables"));
            };
            let others = d.using.iter().flatten().map(ToString::to_string).collect();
            let selection = d.selection.as_ref().map(ToString::to_string);
            merge(target, others, &[], selection, MergeKind::Delete).map(Some)
        }
        ast::Statement::Update(u) => {
            if u.returning.is_some() || u.output.is_some() || !u.order_by.is_empty() || u.limit.is_some() {
                return Err(Error::not_supported("UPDATE with RETURNING, OUTPUT, ORDER BY or LIMIT"));
            }
            let others = match &u.from {
                Some(ast::UpdateTableFromKind::AfterSet(f) | ast::UpdateTableFromKind::BeforeSet(f)) => {
                    f.iter().map(ToString::to_string).collect()
                }
                None => vec![],
            };
            let mut sets = vec![];
            for a in &u.assignments {
                // The target's columns, named without their table (`SET t.c = …` is `SET c = …`).
                let AssignmentTarget::ColumnName(name) = &a.target else {
                    return Err(Error::not_supported("a tuple assignment in UPDATE"));
                };
                let column = name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase());
                let column = column.ok_or_else(|| Error::Syntax(format!("invalid column {name}")))?;
                sets.push((column, a.value.to_string()));
            }
            let selection = u.selection.as_ref().map(ToString::to_string);
            merge(&u.table, others, &sets, selection, MergeKind::Update).map(Some)
        }
        _ => Ok(None),
    }
}

fn merge(
    target: &TableWithJoins,
    others: Vec<String>,
    sets: &[(String, String)],
    selection: Option<String>,
    kind: MergeKind,
) -> Result<Statement> {
    let TableFactor::Table { name, alias, .. } = &target.relation else {
        return Err(Error::not_supported(format!("{kind:?} of {}: name a table", target.relation)));
    };
    let table = single_table(name)?;
    let a = alias.as_ref().map_or_else(|| table.clone(), |al| al.name.to_string());
    // The target's own joins (`UPDATE t JOIN s ON …`) stay with it in the source.
    let joins: String = target.joins.iter().map(|j| format!(" {j}")).collect();
    let mut from = vec![format!("{} AS {a}{joins}", rows_with_position(&table))];
    from.extend(others);
    let values: String = sets.iter().enumerate().map(|(i, (_, v))| format!(", ({v}) AS __tm_v{i}")).collect();
    let filter = selection.map(|s| format!(" WHERE {s}")).unwrap_or_default();
    let action = match kind {
        MergeKind::Delete => "DELETE".to_string(),
        _ => {
            let sets: Vec<String> =
                sets.iter().enumerate().map(|(i, (c, _))| format!("{c} = __tm_m.__tm_v{i}")).collect();
            format!("UPDATE SET {}", sets.join(", "))
        }
    };
    let sql = format!(
        "MERGE INTO {table} AS {a} USING (SELECT {a}.__tm_file AS __tm_f, {a}.{POSITION_COLUMN} AS __tm_p{values} \
         FROM {}{filter}) AS __tm_m ON {a}.__tm_file = __tm_m.__tm_f AND {a}.{POSITION_COLUMN} = __tm_m.__tm_p \
         WHEN MATCHED THEN {action}",
        from.join(", ")
    );
    match super::parse(&sql)? {
        Statement::Merge { table, merge, .. } => Ok(Statement::Merge { table, merge, kind }),
        other => Err(Error::invalid(format!("internal: {kind:?} rewritten as {other:?}"))),
    }
}
