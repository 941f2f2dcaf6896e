//! PURGE TABLE: every backup of a table goes now, and its tags with them (irreversible). RECLAIM: LIFECYCLE now.

use crate::error::{Error, Result};
use crate::purge::{delete_freed, forget_with, reclaim};
use crate::state::ProjectState;
use crate::state::model::Expiry;

use super::env::Env;
use super::grants::require;
use super::result::StatementResult;
use crate::policy::acl::Permission;

/// PURGE TABLE t: all past versions of the live table t, and every dropped table named t.
pub(crate) async fn purge_table(env: &Env, text: &str, name: &str) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    require(env, &project.state(), Permission::Admin, &format!("PURGE TABLE {name}"))?;
    let compute = |state: &ProjectState| {
        require(env, state, Permission::Admin, &format!("PURGE TABLE {name}"))?;
        let mut out: Vec<Expiry> = state
            .tables
            .values()
            .filter(|t| t.current.dropped && t.current.name == name)
            .map(|t| Expiry { table_id: t.id.clone(), keep_from: None })
            .collect();
        let live = state.live_table(name);
        match live {
            Some(t) if t.retained() > 1 => out.push(Expiry { table_id: t.id.clone(), keep_from: Some(t.current.lsn) }),
            Some(_) => {}
            None if out.is_empty() => return Err(Error::not_found(format!("table {name} does not exist"))),
            None => {}
        }
        // Its tags go too: they would name versions that no longer exist.
        let ids = out.iter().map(|e| e.table_id.as_str()).chain(live.map(|t| t.id.as_str()));
        let tags = ids.flat_map(|id| state.tag_removals(id)).collect();
        Ok((out, tags))
    };
    let mut report = forget_with(project, text, compute).await?;
    // The versions are gone now; their files go once no reader can still be using them.
    delete_freed(project, usize::MAX, &mut report).await?;
    Ok(StatementResult::ok())
}

/// RECLAIM [TABLE t]: partitions (and unpartitioned tables) whose LIFECYCLE has ended leave
/// their table now, as a new version (restorable within the retention period).
pub(crate) async fn reclaim_now(env: &Env, text: &str, table: Option<&str>) -> Result<StatementResult> {
    if let Some(name) = table {
        env.project.refresh().await?;
        super::env::live_table(&env.project.state(), name)?;
    }
    let n = reclaim(&env.project, text, table).await?;
    Ok(StatementResult::rows_affected(n as u64))
}
