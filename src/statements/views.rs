//! CREATE VIEW and DROP VIEW: the project's named queries (see `state/views.rs`), one commit
//! each. Creating or dropping a view takes CreateTable on the project; reading one takes Select
//! on what it reads (checked when the reading statement is planned).

use std::collections::BTreeMap;

use super::env::Env;
use super::grants::require;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::acl::Permission;
use crate::sql::CreateView;
use crate::state::{ProjectState, View};

/// CREATE [OR REPLACE] VIEW [IF NOT EXISTS] (its query already planned, `reads` filled in).
pub(crate) async fn create_view(env: &Env, text: &str, c: &CreateView) -> Result<StatementResult> {
    let now = env.project.clock().now();
    let view = View {
        name: c.name.clone(),
        sql: c.query.to_string(),
        columns: c.columns.clone(),
        comment: c.comment.clone(),
        reads: c.reads.clone(),
        fields: c.fields.clone(),
        created: now,
    };
    let what = format!("create view {}", c.name);
    // Ok(None): IF NOT EXISTS found it.
    let draft = |state: &ProjectState| -> Result<Option<Draft>> {
        require(env, state, Permission::CreateTable, &what)?;
        if state.live_table(&c.name).is_some() || env.session_tables.contains(&c.name) {
            return Err(Error::AlreadyExists(format!("table {} already exists", c.name)));
        }
        if state.view(&c.name).is_some() {
            if c.if_not_exists {
                return Ok(None);
            }
            if !c.or_replace {
                return Err(Error::AlreadyExists(format!(
                    "view {} already exists (CREATE OR REPLACE VIEW replaces it)",
                    c.name
                )));
            }
        }
        if let Some(through) = c.reads.iter().find(|r| state.reads_through(r, &c.name)) {
            return Err(Error::invalid(format!("view {} would read itself (through {through})", c.name)));
        }
        Ok(Some(Draft { properties: BTreeMap::from([(View::key(&c.name), view.encode())]), ..Default::default() }))
    };
    // Found done on the latest state (IF [NOT] EXISTS, maybe after losing a race): no commit.
    env.commit_unless_done(text, draft).await?;
    Ok(StatementResult::ok())
}

/// DROP VIEW [IF EXISTS] v.
pub(crate) async fn drop_view(env: &Env, text: &str, name: &str, if_exists: bool) -> Result<StatementResult> {
    let what = format!("drop view {name}");
    let draft = |state: &ProjectState| -> Result<Option<Draft>> {
        require(env, state, Permission::CreateTable, &what)?;
        if state.view(name).is_none() {
            if state.live_table(name).is_some() {
                return Err(Error::invalid(format!("{name} is a table, not a view: DROP TABLE {name}")));
            }
            if if_exists {
                return Ok(None);
            }
            return Err(Error::not_found(format!("view {name} does not exist")));
        }
        Ok(Some(Draft { properties: BTreeMap::from([(View::key(name), String::new())]), ..Default::default() }))
    };
    // Found done on the latest state (IF [NOT] EXISTS, maybe after losing a race): no commit.
    env.commit_unless_done(text, draft).await?;
    Ok(StatementResult::ok())
}
