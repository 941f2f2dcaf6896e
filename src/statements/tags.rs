//! Tags: `ALTER TABLE t CREATE TAG name [AS OF VERSION k] [RETAIN n DAYS]`, `ALTER TABLE t DROP
//! TAG name`, `SHOW TAGS FOR TABLE t`. A tag holds its version past retention (the purge keeps
//! it and its files) until it is dropped or its RETAIN period ends; `VERSION AS OF 'name'` reads
//! it and `RESTORE TABLE t TO LSN …` restores it. Each change is one commit of the log.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Duration;
use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::env::Env;
use super::history::format_time;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::retention::{check_restorable, parse_lsn};
use crate::state::model::format_lsn;
use crate::state::{ProjectState, TableHistory, Tag};

fn table<'a>(env: &Env, state: &'a ProjectState, name: &str) -> Result<&'a TableHistory> {
    if env.session_tables.contains(name) {
        return Err(Error::not_supported(format!(
            "tags on session table {name}: tags name versions of the project's tables"
        )));
    }
    state.live_table(name).ok_or_else(|| Error::not_found(format!("table {name} does not exist")))
}

/// `ALTER TABLE t CREATE TAG name [AS OF VERSION k] [RETAIN n DAYS]`.
pub(crate) async fn create_tag(
    env: &Env,
    text: &str,
    table_name: &str,
    name: &str,
    lsn: Option<&str>,
    retain_days: Option<u64>,
) -> Result<StatementResult> {
    let lsn = lsn.map(parse_lsn).transpose()?;
    let draft = |state: &ProjectState| {
        let t = table(env, state, table_name)?;
        let now = env.project.clock().now();
        if let Some(existing) = state.tag(&t.id, name, now) {
            return Err(Error::AlreadyExists(format!(
                "tag {name} of table {table_name} already exists (LSN {}): drop it first to move it",
                format_lsn(existing.lsn)
            )));
        }
        let lsn = lsn.unwrap_or(t.current.lsn);
        check_restorable(state, t, lsn, now)?;
        let days = retain_days.map(|d| Duration::try_days(d as i64).unwrap_or(Duration::MAX));
        let tag =
            Tag { name: name.to_string(), lsn, created: now, expires: days.and_then(|d| now.checked_add_signed(d)) };
        Ok(Draft { properties: BTreeMap::from([(Tag::key(&t.id, name), tag.encode())]), ..Default::default() })
    };
    // Checked before the commit too, so that a refused tag leaves no trace.
    draft(&*env.project.snapshot().await?)?;
    env.commit(text, draft).await?;
    Ok(StatementResult::ok())
}

/// `ALTER TABLE t DROP TAG name`: the version it held follows retention again.
pub(crate) async fn drop_tag(env: &Env, text: &str, table_name: &str, name: &str) -> Result<StatementResult> {
    let draft = |state: &ProjectState| {
        let t = table(env, state, table_name)?;
        if state.tag(&t.id, name, env.project.clock().now()).is_none() {
            return Err(Error::not_found(format!("table {table_name} has no tag {name} (see SHOW TAGS FOR TABLE)")));
        }
        Ok(Draft { properties: BTreeMap::from([(Tag::key(&t.id, name), String::new())]), ..Default::default() })
    };
    draft(&*env.project.snapshot().await?)?;
    env.commit(text, draft).await?;
    Ok(StatementResult::ok())
}

/// The columns of SHOW TAGS.
pub(crate) fn tags_schema() -> SchemaRef {
    Arc::new(Schema::new(["Name", "LSN", "Created", "Expires"].map(|n| Field::new(n, DataType::Utf8, false)).to_vec()))
}

/// `SHOW TAGS FOR TABLE t`: Name, LSN, Created, Expires (empty: until dropped), by LSN.
pub(crate) async fn show_tags(env: &Env, table_name: &str) -> Result<StatementResult> {
    let state = env.project.snapshot().await?;
    let t = table(env, &state, table_name)?;
    let mut tags = state.tags(&t.id, env.project.clock().now());
    tags.sort_by(|a, b| (a.lsn, &a.name).cmp(&(b.lsn, &b.name)));
    let column = |f: &dyn Fn(&Tag) -> String| Arc::new(StringArray::from(tags.iter().map(f).collect::<Vec<_>>())) as _;
    let batch = RecordBatch::try_new(
        tags_schema(),
        vec![
            column(&|t| t.name.clone()),
            column(&|t| format_lsn(t.lsn)),
            column(&|t| format_time(t.created)),
            column(&|t| t.expires.map(format_time).unwrap_or_default()),
        ],
    )?;
    Ok(StatementResult::query(batch))
}
