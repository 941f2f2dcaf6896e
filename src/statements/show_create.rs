//! `SHOW CREATE TABLE t`: the CREATE TABLE statement that makes a table like t as it is now
//! (columns and comments, partition columns, clustering, properties, lifecycle), which this
//! crate parses back.

use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::env::{Env, live_table};
use super::result::StatementResult;
use crate::error::Result;
use crate::sql::TABLE_COMMENT;
use crate::state::model::{ClusterKind, ColumnDef};
use crate::state::{TableSnapshot, View};

/// The columns of SHOW CREATE TABLE's result.
pub(crate) fn show_create_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("table_name", DataType::Utf8, false),
        Field::new("definition", DataType::Utf8, false),
    ]))
}

/// SHOW CREATE TABLE t.
pub(crate) async fn show_create_table(env: &Env, table: &str) -> Result<StatementResult> {
    env.project.refresh().await?;
    let state = env.project.state();
    let text = match state.view(table) {
        Some(view) => view_definition(&view),
        None => definition(&*live_table(&state, table)?),
    };
    let batch = RecordBatch::try_new(
        show_create_schema(),
        vec![Arc::new(StringArray::from(vec![table.to_string()])), Arc::new(StringArray::from(vec![text]))],
    )?;
    Ok(StatementResult::query(batch))
}

/// `'text'` with quotes doubled.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

fn columns(cols: &[ColumnDef]) -> String {
    let col = |c: &ColumnDef| {
        let comment = if c.comment.is_empty() { String::new() } else { format!(" COMMENT {}", quoted(&c.comment)) };
        format!("`{}` {}{comment}", c.name, c.data_type.to_uppercase())
    };
    cols.iter().map(col).collect::<Vec<_>>().join(", ")
}

/// The statement, on one line.
fn definition(t: &TableSnapshot) -> String {
    let mut out = format!("CREATE TABLE IF NOT EXISTS `{}` ({})", t.name, columns(&t.schema.columns));
    if let Some(comment) = t.properties.get(TABLE_COMMENT) {
        out.push_str(&format!(" COMMENT {}", quoted(comment)));
    }
    if t.schema.is_partitioned() {
        out.push_str(&format!(" PARTITIONED BY ({})", columns(&t.schema.partition_columns)));
    }
    if let Some(c) = &t.schema.clustering {
        let range = if c.kind == ClusterKind::Range { "RANGE " } else { "" };
        let keys = c.columns.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
        out.push_str(&format!(" {range}CLUSTERED BY ({keys})"));
        if !c.sorted_by.is_empty() {
            let sort =
                c.sorted_by.iter().map(|k| format!("`{}` {}", k.column, if k.descending { "DESC" } else { "ASC" }));
            out.push_str(&format!(" SORTED BY ({})", sort.collect::<Vec<_>>().join(", ")));
        }
        if let Some(n) = c.buckets {
            out.push_str(&format!(" INTO {n} BUCKETS"));
        }
    }
    let properties: Vec<_> = t.properties.iter().filter(|(k, _)| *k != TABLE_COMMENT).collect();
    if !properties.is_empty() {
        let props = properties.iter().map(|(k, v)| format!("{}={}", quoted(k), quoted(v)));
        out.push_str(&format!(" TBLPROPERTIES ({})", props.collect::<Vec<_>>().join(", ")));
    }
    if let Some(days) = t.lifecycle {
        out.push_str(&format!(" LIFECYCLE {days}"));
    }
    out.push(';');
    out
}

/// `CREATE VIEW IF NOT EXISTS v [(c, …)] [COMMENT '…'] AS <query>;`.
fn view_definition(view: &View) -> String {
    let mut out = format!("CREATE VIEW IF NOT EXISTS `{}`", view.name);
    if !view.columns.is_empty() {
        out.push_str(&format!(" ({})", view.columns.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")));
    }
    if !view.comment.is_empty() {
        out.push_str(&format!(" COMMENT {}", quoted(&view.comment)));
    }
    out.push_str(&format!(" AS {};", view.sql));
    out
}
