//! Users and grants (MaxCompute's ADD USER [IDENTIFIED BY], ALTER USER, REMOVE USER, GRANT,
//! REVOKE, SHOW GRANTS), and the check every protected statement makes. The rules live in
//! `log::acl`.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::env::Env;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::acl::{
    Acl, OWNER_KEY, PASSWORD_PREFIX, Permission, REMOVED, TABLE_PRIVILEGES, USER_PREFIX, denied, hash_password,
};
use crate::sql::{GrantObject, Secret};
use crate::state::ProjectState;

/// Fails unless the session's user has the project-level `permission` in `state` (to do `what`).
pub(crate) fn require(env: &Env, state: &ProjectState, permission: Permission, what: &str) -> Result<()> {
    let user = env.user.as_deref();
    if Acl::of(state).allows(user, permission, None) { Ok(()) } else { Err(denied(user, permission, what)) }
}

/// Fails unless the session's user has the table privilege `permission` on the table with id
/// `table_id` (to do `what`, which names the table).
pub(crate) fn require_on(
    env: &Env,
    state: &ProjectState,
    permission: Permission,
    table_id: &str,
    what: &str,
) -> Result<()> {
    let user = env.user.as_deref();
    if Acl::of(state).allows(user, permission, Some(table_id)) { Ok(()) } else { Err(denied(user, permission, what)) }
}

/// What CREATE TABLE and RESTORE … AS commit beside the new table: nothing, or All on it for
/// its creator (when checks apply and the creator is neither owner nor admin). Fails without
/// CreateTable.
pub(crate) fn creator_grant(
    env: &Env,
    state: &ProjectState,
    table_id: &str,
    name: &str,
) -> Result<BTreeMap<String, String>> {
    require(env, state, Permission::CreateTable, &format!("create table {name}"))?;
    let acl = Acl::of(state);
    let Some(user) = env.user.as_deref() else { return Ok(BTreeMap::new()) };
    if !acl.enforced() || acl.allows(Some(user), Permission::Admin, None) {
        return Ok(BTreeMap::new());
    }
    let mut grants = acl.users.get(user).cloned().unwrap_or_default();
    grants.insert(format!("all@{table_id}"));
    Ok(BTreeMap::from([(format!("{USER_PREFIX}{user}"), Acl::encode(&grants))]))
}

/// ADD USER name [IDENTIFIED BY 'password'] / REMOVE USER name. The first ADD USER makes the
/// session's user the owner. The log records the statement with the password masked.
pub(crate) async fn user(
    env: &Env,
    text: &str,
    name: &str,
    add: bool,
    password: Option<&Secret>,
) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let verb = if add { "ADD USER" } else { "REMOVE USER" };
    let hash = password.map(|p| hash_password(&p.0)).transpose()?;
    let draft = |state: &ProjectState| -> Result<Draft> {
        require(env, state, Permission::Admin, verb)?;
        let acl = Acl::of(state);
        let mut properties = BTreeMap::new();
        if add {
            if acl.users.contains_key(name) {
                return Err(Error::AlreadyExists(format!(
                    "user {name} is already a user of project {}",
                    project.name()
                )));
            }
            if acl.owner.is_none() {
                let Some(me) = &env.user else {
                    return Err(Error::invalid(
                        "the first ADD USER makes the session's user the project owner: open the session with a user \
                         (--user NAME, TIMEMACHINE_USER or builder().user)",
                    ));
                };
                properties.insert(OWNER_KEY.to_string(), me.clone());
            }
            properties.insert(format!("{USER_PREFIX}{name}"), String::new());
            properties.insert(format!("{PASSWORD_PREFIX}{name}"), hash.clone().unwrap_or_else(|| REMOVED.to_string()));
        } else {
            if acl.owner.as_deref() == Some(name) {
                return Err(Error::invalid(format!(
                    "user {name} owns project {}: the owner cannot be removed",
                    project.name()
                )));
            }
            if !acl.users.contains_key(name) {
                return Err(Error::not_found(format!("user {name} is not a user of project {}", project.name())));
            }
            properties.insert(format!("{USER_PREFIX}{name}"), REMOVED.to_string());
            properties.insert(format!("{PASSWORD_PREFIX}{name}"), REMOVED.to_string());
        }
        Ok(Draft { properties, ..Default::default() })
    };
    draft(&project.state())?;
    let text = if password.is_some() { format!("ADD USER {name} IDENTIFIED BY '********'") } else { text.to_string() };
    env.commit(&text, draft).await?;
    Ok(StatementResult::ok())
}

/// ALTER USER name IDENTIFIED BY 'password': by an admin (or the owner) for anyone, by a user
/// for themselves. The owner may set their own password though not an added user.
pub(crate) async fn set_password(env: &Env, name: &str, password: &Secret) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let hash = hash_password(&password.0)?;
    let draft = |state: &ProjectState| -> Result<Draft> {
        if env.user.as_deref() != Some(name) {
            require(env, state, Permission::Admin, &format!("set the password of user {name}"))?;
        }
        let acl = Acl::of(state);
        if !acl.users.contains_key(name) && acl.owner.as_deref() != Some(name) {
            return Err(Error::not_found(format!(
                "user {name} is not a user of project {}: ADD USER {name} first",
                project.name()
            )));
        }
        Ok(Draft {
            properties: BTreeMap::from([(format!("{PASSWORD_PREFIX}{name}"), hash.clone())]),
            ..Default::default()
        })
    };
    draft(&project.state())?;
    env.commit(&format!("ALTER USER {name} IDENTIFIED BY '********'"), draft).await?;
    Ok(StatementResult::ok())
}

/// GRANT / REVOKE of table privileges (`ON TABLE t`), of `List` and `CreateTable` on the
/// project, or of the `admin` role.
pub(crate) async fn grant(
    env: &Env,
    text: &str,
    grants: &[String],
    on: Option<&GrantObject>,
    name: &str,
    revoke: bool,
) -> Result<StatementResult> {
    let project = &env.project;
    if let Some(GrantObject::Project(p)) = on.filter(|o| !matches!(o, GrantObject::Project(p) if p == project.name())) {
        return Err(Error::not_found(format!("project {p}: this session is on project {}", project.name())));
    }
    let mut permissions = vec![];
    for g in grants {
        let all = g == "all";
        let Some(p) = Permission::parse(g).or(all.then_some(Permission::Select)) else {
            return Err(Error::not_supported(format!(
                "privilege or role {g}; supported: Select, Describe, Alter, Update, Drop, ShowHistory, All ON TABLE; \
                 List, CreateTable ON PROJECT; the admin role"
            )));
        };
        let word = if all { "All" } else { p.name() };
        match (p, on) {
            (p, Some(GrantObject::Table(_))) if p.on_table() => {}
            (Permission::List | Permission::CreateTable, Some(GrantObject::Project(_))) | (Permission::Admin, None) => {
            }
            (Permission::Admin, Some(_)) => return Err(Error::Syntax("admin is a role: GRANT admin TO <user>".into())),
            (p, _) if p.on_table() => {
                return Err(Error::Syntax(format!(
                    "{word} is a table privilege: GRANT {word} ON TABLE <table> TO USER <user>"
                )));
            }
            _ => {
                return Err(Error::Syntax(format!(
                    "{word} is a project privilege: GRANT {word} ON PROJECT <project> TO USER <user>"
                )));
            }
        }
        permissions.push(if all { None } else { Some(p) });
    }
    project.refresh().await?;
    let draft = |state: &ProjectState| -> Result<Draft> {
        require(env, state, Permission::Admin, if revoke { "REVOKE" } else { "GRANT" })?;
        let table_id = match on {
            Some(GrantObject::Table(t)) => Some(super::env::live_table(state, t)?.id.clone()),
            _ => None,
        };
        let acl = Acl::of(state);
        let Some(current) = acl.users.get(name) else {
            return Err(Error::not_found(format!(
                "user {name} is not a user of project {}: ADD USER {name} first",
                project.name()
            )));
        };
        let mut next = current.clone();
        for p in &permissions {
            let entries: Vec<String> = match (p, &table_id) {
                // REVOKE All takes every table privilege away; GRANT All is one entry.
                (None, Some(id)) if revoke => {
                    TABLE_PRIVILEGES.iter().map(|p| p.grant_entry(Some(id))).chain([format!("all@{id}")]).collect()
                }
                (None, Some(id)) => vec![format!("all@{id}")],
                (Some(p), id) => vec![p.grant_entry(id.as_deref())],
                (None, None) => vec![],
            };
            for e in entries {
                if revoke {
                    next.remove(&e);
                } else {
                    next.insert(e);
                }
            }
            // Revoking one privilege of a table held through All keeps the others.
            if let (true, Some(p), Some(id)) = (revoke, p, &table_id)
                && next.remove(&format!("all@{id}"))
            {
                next.extend(TABLE_PRIVILEGES.iter().filter(|q| *q != p).map(|q| q.grant_entry(Some(id))));
            }
        }
        let properties = BTreeMap::from([(format!("{USER_PREFIX}{name}"), Acl::encode(&next))]);
        Ok(Draft { properties, ..Default::default() })
    };
    draft(&project.state())?;
    env.commit(text, draft).await?;
    Ok(StatementResult::ok())
}

/// The columns of SHOW GRANTS.
pub(crate) fn grants_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("User", DataType::Utf8, false), Field::new("Grants", DataType::Utf8, false)]))
}

/// SHOW GRANTS [FOR u]: the owner and each user with their grants. Anyone may see their own;
/// seeing others' needs admin.
pub(crate) async fn show_grants(env: &Env, user: Option<&str>) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let state = project.state();
    if user.is_none() || user != env.user.as_deref() {
        require(env, &state, Permission::Admin, "SHOW GRANTS of other users")?;
    }
    let acl = Acl::of(&state);
    let mut rows: Vec<(String, String)> = vec![];
    if let Some(owner) = &acl.owner {
        rows.push((owner.clone(), "owner".to_string()));
    }
    for (u, grants) in &acl.users {
        let shown: Vec<String> = grants.iter().map(|g| shown_grant(&state, project.name(), g)).collect();
        rows.push((u.clone(), shown.join(", ")));
    }
    if let Some(u) = user {
        rows.retain(|(name, _)| name == u);
        if rows.is_empty() {
            return Err(Error::not_found(format!("user {u} is not a user of project {}", project.name())));
        }
    }
    let (names, grants): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let batch = RecordBatch::try_new(
        grants_schema(),
        vec![Arc::new(StringArray::from(names)), Arc::new(StringArray::from(grants))],
    )?;
    Ok(StatementResult::query(batch))
}

/// A grant entry as SHOW GRANTS prints it (`Select ON TABLE sales`, `List ON PROJECT p`, `admin`).
fn shown_grant(state: &ProjectState, project: &str, entry: &str) -> String {
    let (word, table) = match entry.split_once('@') {
        Some((w, id)) => (w, Some(id)),
        None => (entry, None),
    };
    let name = if word == "all" {
        "All".to_string()
    } else {
        Permission::parse(word).map_or(word.to_string(), |p| p.name().to_string())
    };
    match table {
        Some(id) => match state.tables.get(id) {
            Some(t) if !t.current.dropped => format!("{name} ON TABLE {}", t.current.name),
            Some(t) => format!("{name} ON TABLE {} (dropped, id {id})", t.current.name),
            None => format!("{name} ON TABLE id {id} (purged)"),
        },
        None if word == "admin" => name,
        None => format!("{name} ON PROJECT {project}"),
    }
}
