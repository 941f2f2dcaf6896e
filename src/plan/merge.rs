//! Planning MERGE INTO as one query whose rows the statement writes: the rows of every target
//! file that holds a row some WHEN MATCHED clause acts on (each with its file and what happens
//! to it), then the source rows that WHEN NOT MATCHED inserts. The target is read through
//! `timemachine_row_files`, which tags rows with their file, so the statement rewrites only the
//! files it touches, and with `file_row_index()` (`__tm_pos`), which names each row (a DELETE or
//! UPDATE planned as a MERGE joins on it).

use datafusion::execution::session_state::SessionState;
use datafusion::logical_expr::LogicalPlan;
use datafusion::sql::sqlparser::ast::{
    self, AssignmentTarget, Merge, MergeAction, MergeClauseKind, MergeInsertKind, TableFactor,
};
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{Error, Result};
use crate::sql::{MaxComputeDialect, MergeKind, POSITION_COLUMN, rows_with_position};
use crate::state::model::{ColumnDef, Operation};
use crate::statements::merge::act;
use crate::statements::{Env, MergeTarget, live_table};
use crate::table::FILE_COLUMN;

/// One WHEN MATCHED clause: its predicate, the action code, and the `column = value` sets.
type MatchedClause = (String, i32, Vec<(String, String)>);

/// The target and the query of `MERGE INTO table …`.
pub(super) async fn plan_merge(
    env: &Env,
    state: &SessionState,
    table: &str,
    merge: &Merge,
    kind: MergeKind,
) -> Result<(MergeTarget, LogicalPlan)> {
    let base = live_table(&env.planning_state(), table)?;
    let merge_on_read = crate::statements::merge_on_read(&base);
    let TableFactor::Table { alias, .. } = &merge.table else {
        return Err(Error::not_supported("MERGE INTO something other than a table"));
    };
    if merge.output.is_some() {
        return Err(Error::not_supported("MERGE … OUTPUT"));
    }
    let a = alias.as_ref().map_or_else(|| table.to_string(), |al| al.name.to_string());
    let (source, b) = source_relation(&merge.source)?;
    // The target's rows with their file and position (a DELETE or UPDATE planned as a MERGE
    // names its rows by them).
    let target = format!("{} AS {a}", rows_with_position(table));
    let on = &merge.on;
    let schema = &base.schema;
    let mut matched: Vec<MatchedClause> = vec![];
    let mut inserts = vec![];
    for clause in &merge.clauses {
        let predicate = clause.predicate.as_ref().map_or_else(|| "TRUE".to_string(), |p| format!("({p})"));
        match (&clause.clause_kind, &clause.action) {
            (MergeClauseKind::Matched, MergeAction::Update(u)) => {
                if u.update_predicate.is_some() || u.delete_predicate.is_some() {
                    return Err(Error::not_supported(
                        "UPDATE … WHERE / DELETE WHERE inside MERGE; use WHEN MATCHED AND …",
                    ));
                }
                let mut sets = vec![];
                for assignment in &u.assignments {
                    let AssignmentTarget::ColumnName(name) = &assignment.target else {
                        return Err(Error::not_supported("a tuple assignment in MERGE … UPDATE SET"));
                    };
                    let column =
                        name.0.last().and_then(|p| p.as_ident()).map(|i| i.value.to_lowercase()).unwrap_or_default();
                    data_column(table, &schema.columns, &schema.partition_columns, &column)?;
                    sets.push((column, format!("({})", assignment.value)));
                }
                matched.push((predicate, act::UPDATE, sets));
            }
            (MergeClauseKind::Matched, MergeAction::Delete { .. }) => matched.push((predicate, act::DELETE, vec![])),
            (MergeClauseKind::NotMatched | MergeClauseKind::NotMatchedByTarget, MergeAction::Insert(i)) => {
                inserts.push((predicate, insert_values(table, schema, i)?));
            }
            (kind, action) => {
                return Err(Error::not_supported(format!("WHEN {kind} THEN {action} in MERGE")));
            }
        }
    }
    let all: Vec<&ColumnDef> = schema.columns.iter().chain(&schema.partition_columns).collect();
    // The columns some WHEN MATCHED … UPDATE sets: their old values travel beside the new ones
    // (`__tm_old_<i>`), for the change feed's preimages.
    let updated: Vec<usize> =
        (0..all.len()).filter(|&i| matched.iter().any(|m| m.2.iter().any(|(n, _)| n == &all[i].name))).collect();
    let old_values = |value: &dyn Fn(&ColumnDef) -> String| -> String {
        updated.iter().map(|&i| format!(", {} AS __tm_old_{i}", value(all[i]))).collect()
    };
    let when = |value: &dyn Fn(&MatchedClause) -> String| {
        matched.iter().map(|m| format!("WHEN {} THEN {}", m.0, value(m))).collect::<Vec<_>>().join(" ")
    };
    let keep = act::KEEP;
    let acts = when(&|m| m.1.to_string());
    // Each column of a matched row after the WHEN MATCHED clauses (those that set it).
    let matched_values: Vec<String> = all
        .iter()
        .map(|c| {
            let own = format!("{a}.{}", c.name);
            if !matched.iter().any(|m| m.2.iter().any(|(n, _)| n == &c.name)) {
                return own;
            }
            let values =
                when(&|m| m.2.iter().find(|(n, _)| n == &c.name).map_or_else(|| own.clone(), |(_, v)| v.clone()));
            format!("CASE WHEN {b}.__tm_src IS NULL THEN {own} {values} ELSE {own} END")
        })
        .collect();
    // Each column of an inserted row after the WHEN NOT MATCHED clauses.
    let insert_values: Vec<String> = (0..all.len())
        .map(|i| {
            let values = inserts.iter().map(|(p, v)| format!("WHEN {p} THEN {}", v[i])).collect::<Vec<_>>().join(" ");
            format!("CASE {values} END")
        })
        .collect();
    let any = inserts.iter().map(|(p, _)| format!("({p})")).collect::<Vec<_>>().join(" OR ");
    let matched_act = if matched.is_empty() { keep.to_string() } else { format!("CASE {acts} ELSE {keep} END") };
    let olds = old_values(&|c| format!("{a}.{}", c.name));
    let mut parts = vec![];
    if merge_on_read && (!matched.is_empty() || !inserts.is_empty()) {
        // Only the rows that change, in one join: matched rows named by file and position
        // (deleted and updated rows go into deletion vectors, new images into new files) and,
        // through the same join, source rows without a match to insert.
        let (join, columns, act_of) = if inserts.is_empty() {
            let columns: Vec<String> =
                matched_values.iter().zip(&all).map(|(v, c)| format!("{v} AS {}", c.name)).collect();
            ("JOIN", columns, matched_act)
        } else {
            let columns = matched_values
                .iter()
                .zip(&insert_values)
                .zip(&all)
                .map(|((m, i), c)| format!("CASE WHEN {a}.{FILE_COLUMN} IS NULL THEN {i} ELSE {m} END AS {}", c.name))
                .collect();
            let act = format!(
                "CASE WHEN {a}.{FILE_COLUMN} IS NULL THEN CASE WHEN {any} THEN {insert} ELSE {keep} END ELSE {matched_act} END",
                insert = act::INSERT
            );
            ("RIGHT JOIN", columns, act)
        };
        parts.push(format!(
            "SELECT * FROM (SELECT {}, {a}.{FILE_COLUMN} AS {FILE_COLUMN}, {act_of} AS __tm_act{olds}, \
             {a}.{POSITION_COLUMN} AS {POSITION_COLUMN} FROM {target} {join} {source} ON ({on})) WHERE __tm_act <> {keep}",
            columns.join(", "),
        ));
    } else {
        if !matched.is_empty() {
            let columns: Vec<String> =
                matched_values.iter().zip(&all).map(|(v, c)| format!("{v} AS {}", c.name)).collect();
            // The touched files are deduplicated before the semi join: one row per matched target
            // row would put thousands of equal paths under one hash key, and every probe of the
            // target would walk that chain (MERGE of 1% of 6M rows took ten minutes).
            parts.push(format!(
                "SELECT {}, {a}.{FILE_COLUMN} AS {FILE_COLUMN}, CASE WHEN {b}.__tm_src IS NULL THEN {keep} {acts} ELSE {keep} END AS __tm_act{olds} \
                 FROM {target} LEFT JOIN {source} ON ({on}) \
                 WHERE {a}.{FILE_COLUMN} IN (SELECT DISTINCT {a}.{FILE_COLUMN} FROM {target} JOIN {source} ON ({on}) \
                 WHERE {matched_act} <> {keep})",
                columns.join(", "),
            ));
        }
        if !inserts.is_empty() {
            let columns: Vec<String> =
                insert_values.iter().zip(&all).map(|(v, c)| format!("{v} AS {}", c.name)).collect();
            parts.push(format!(
                "SELECT {}, CAST(NULL AS STRING) AS {FILE_COLUMN}, {insert} AS __tm_act{} \
                 FROM {source} LEFT JOIN {target} ON ({on}) WHERE {a}.{FILE_COLUMN} IS NULL AND ({any})",
                columns.join(", "),
                old_values(&|_| "NULL".to_string()),
                insert = act::INSERT,
            ));
        }
    }
    if parts.is_empty() {
        return Err(Error::Syntax("MERGE needs at least one WHEN clause".into()));
    }
    let sql = parts.join(" UNION ALL ");
    let query = match Parser::new(&MaxComputeDialect).try_with_sql(&sql)?.parse_statement()? {
        ast::Statement::Query(q) => q,
        other => return Err(Error::invalid(format!("internal: MERGE planned as {other}"))),
    };
    let plan = super::query::query_plan(state, query).await?;
    let mut targets: Vec<ColumnDef> = all.into_iter().cloned().collect();
    targets.push(ColumnDef::new(FILE_COLUMN, "string"));
    targets.push(ColumnDef::new("__tm_act", "int"));
    let olds: Vec<ColumnDef> =
        updated.iter().map(|&i| ColumnDef::new(format!("__tm_old_{i}"), targets[i].data_type.clone())).collect();
    targets.extend(olds);
    if merge_on_read {
        targets.push(ColumnDef::new(POSITION_COLUMN, "bigint"));
    }
    let plan = super::query::cast_to(plan, table, &targets, targets.len())?;
    let operation = match kind {
        MergeKind::Merge => Operation::Merge,
        MergeKind::Delete => Operation::Delete,
        MergeKind::Update => Operation::Update,
    };
    Ok((MergeTarget { base, updated, operation, merge_on_read }, plan))
}

/// The source as a relation with the marker column `__tm_src`, and the name its columns go by.
fn source_relation(source: &TableFactor) -> Result<(String, String)> {
    let name = match source {
        TableFactor::Table { alias: Some(al), .. } | TableFactor::Derived { alias: Some(al), .. } => {
            al.name.to_string()
        }
        TableFactor::Table { alias: None, name, .. } => name.0.last().map(|p| p.to_string()).unwrap_or_default(),
        TableFactor::Derived { alias: None, .. } => {
            return Err(Error::Syntax("MERGE … USING (subquery) needs an alias: USING (…) AS s".into()));
        }
        other => return Err(Error::not_supported(format!("MERGE … USING {other}"))),
    };
    Ok((format!("(SELECT *, TRUE AS __tm_src FROM {source}) AS {name}"), name))
}

fn data_column(table: &str, columns: &[ColumnDef], partition_columns: &[ColumnDef], name: &str) -> Result<()> {
    if partition_columns.iter().any(|c| c.name == name) {
        return Err(Error::not_supported(format!(
            "updating partition column {name} of table {table} in MERGE: delete the rows and insert them into the other partition"
        )));
    }
    if !columns.iter().any(|c| c.name == name) {
        return Err(Error::not_found(format!("table {table} has no column {name}")));
    }
    Ok(())
}

/// The SQL of the value of each column (data, then partition columns) that an INSERT clause gives.
fn insert_values(
    table: &str,
    schema: &crate::state::model::TableSchema,
    insert: &ast::MergeInsertExpr,
) -> Result<Vec<String>> {
    let MergeInsertKind::Values(values) = &insert.kind else {
        return Err(Error::not_supported("INSERT ROW in MERGE; list the values: INSERT VALUES (…)"));
    };
    let [row] = values.rows.as_slice() else {
        return Err(Error::Syntax("WHEN NOT MATCHED THEN INSERT takes one row of VALUES".into()));
    };
    let all: Vec<&ColumnDef> = schema.columns.iter().chain(&schema.partition_columns).collect();
    if insert.columns.is_empty() {
        if row.len() != all.len() {
            return Err(Error::invalid(format!(
                "MERGE … INSERT into {table} gives {} values for {} columns; name the columns: INSERT (a, b) VALUES (…)",
                row.len(),
                all.len()
            )));
        }
        return Ok(row.iter().map(|e| format!("({e})")).collect());
    }
    if insert.columns.len() != row.len() {
        return Err(Error::invalid(format!(
            "MERGE … INSERT names {} columns but gives {} values",
            insert.columns.len(),
            row.len()
        )));
    }
    let names: Vec<String> = insert.columns.iter().map(|n| n.to_string().to_lowercase()).collect();
    for n in &names {
        if !all.iter().any(|c| &c.name == n) {
            return Err(Error::not_found(format!("table {table} has no column {n}")));
        }
    }
    Ok(all
        .iter()
        .map(|c| {
            names.iter().position(|n| n == &c.name).map_or_else(|| "NULL".to_string(), |i| format!("({})", row[i]))
        })
        .collect())
}
