//! The SHOW HISTORY statements.

use super::ddl::spec_values;
use super::env::Env;
use super::grants::require;
use super::history::{HistoryLine, history_batch, lines, listed_tables, resolve, tables_batch};
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::policy::acl::Permission;
use crate::sql::PartitionSpec;
use crate::state::model::{ObjectType, partition_spec};

/// SHOW HISTORY FOR TABLES.
pub(crate) async fn show_tables(env: &Env) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let state = project.state();
    require(env, &state, Permission::List, "SHOW HISTORY FOR TABLES")?;
    let tables = listed_tables(&state, project.clock().now());
    Ok(StatementResult::query(tables_batch(&tables)?))
}

/// SHOW HISTORY FOR TABLE t [('id'='…')] [PARTITION (…)…].
pub(crate) async fn show_table(
    env: &Env,
    name: &str,
    id: Option<&str>,
    specs: &[PartitionSpec],
) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let state = project.state();
    if id.is_some() {
        require(env, &state, Permission::List, "view the history of a table by id (SHOW HISTORY … ('id'='…'))")?;
    }
    let now = project.clock().now();
    let table = resolve(&state, name, id, now)?;
    // ShowHistory (or List) on a table named without an id: checked when the statement was
    // planned (`plan/privileges.rs`).
    let mut all = lines(&state, table, now);
    if !specs.is_empty() {
        // Each spec selects partition rows by ObjectId ('id'='…') or by partition spec.
        let mut wanted_ids = vec![];
        let mut wanted_names = vec![];
        for spec in specs {
            match spec.as_slice() {
                [(k, v)] if k == "id" => wanted_ids.push(v.clone()),
                _ => {
                    let schema = &table.current.schema;
                    let key = spec_values(name, schema, spec)?;
                    wanted_names.push(partition_spec(&schema.partition_columns, &key));
                }
            }
        }
        all.retain(|l: &HistoryLine| {
            l.object_type == ObjectType::Partition
                && (wanted_ids.contains(&l.object_id) || wanted_names.contains(&l.object_name))
        });
        if all.is_empty() {
            return Err(Error::not_found(format!("table {name} has no retained history for the partition(s) given")));
        }
    }
    Ok(StatementResult::query(history_batch(&all)?))
}
