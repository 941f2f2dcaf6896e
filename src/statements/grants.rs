//! Users and grants (MaxCompute's ADD USER, REMOVE USER, GRANT, REVOKE, SHOW GRANTS), and the
//! check every protected statement makes. The rules live in `log::acl`.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::{Env, StatementResult};
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::log::acl::{Acl, OWNER_KEY, Permission, REMOVED, USER_PREFIX, denied};
use crate::log::state::ProjectState;

/// Fails unless the session's user has `permission` in `state` (to do `what`).
pub(crate) fn require(env: &Env, state: &ProjectState, permission: Permission, what: &str) -> Result<()> {
    let user = env.user.as_deref();
    if Acl::of(state).allows(user, permission) { Ok(()) } else { Err(denied(user, permission, what)) }
}

/// ADD USER name / REMOVE USER name. The first ADD USER makes the session's user the owner.
pub(crate) async fn user(env: &Env, text: &str, name: &str, add: bool) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let verb = if add { "ADD USER" } else { "REMOVE USER" };
    let draft = |state: &ProjectState| -> Result<Draft> {
        require(env, state, Permission::Admin, verb)?;
        let acl = Acl::of(state);
        let mut properties = BTreeMap::new();
        if add {
            if acl.users.contains_key(name) {
                return Err(Error::AlreadyExists(format!("user {name} is already a user of project {}", project.name())));
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
        } else {
            if acl.owner.as_deref() == Some(name) {
                return Err(Error::invalid(format!("user {name} owns project {}: the owner cannot be removed", project.name())));
            }
            if !acl.users.contains_key(name) {
                return Err(Error::not_found(format!("user {name} is not a user of project {}", project.name())));
            }
            properties.insert(format!("{USER_PREFIX}{name}"), REMOVED.to_string());
        }
        Ok(Draft { properties, ..Default::default() })
    };
    draft(&project.state())?;
    project.commit(text, draft).await?;
    Ok(StatementResult::ok())
}

/// GRANT / REVOKE of `List` on the project or of the `admin` role.
pub(crate) async fn grant(
    env: &Env,
    text: &str,
    grants: &[String],
    on_project: Option<&str>,
    name: &str,
    revoke: bool,
) -> Result<StatementResult> {
    let project = &env.project;
    if let Some(p) = on_project.filter(|p| *p != project.name()) {
        return Err(Error::not_found(format!("project {p}: this session is on project {}", project.name())));
    }
    for g in grants {
        match (g.as_str(), on_project) {
            ("list", Some(_)) | ("admin", None) => {}
            ("list", None) => return Err(Error::Syntax("GRANT List needs ON PROJECT <project>".into())),
            ("admin", Some(_)) => return Err(Error::Syntax("admin is a role: GRANT admin TO <user>".into())),
            (other, _) => {
                return Err(Error::not_supported(format!(
                    "privilege or role {other}; supported: List ON PROJECT (history of tables), the admin role \
                     (retention, PURGE, users and grants)"
                )));
            }
        }
    }
    project.refresh().await?;
    let draft = |state: &ProjectState| -> Result<Draft> {
        require(env, state, Permission::Admin, if revoke { "REVOKE" } else { "GRANT" })?;
        let acl = Acl::of(state);
        let Some(current) = acl.users.get(name) else {
            return Err(Error::not_found(format!(
                "user {name} is not a user of project {}: ADD USER {name} first",
                project.name()
            )));
        };
        let mut next = current.clone();
        for g in grants {
            if revoke {
                next.remove(g);
            } else {
                next.insert(g.clone());
            }
        }
        let properties = BTreeMap::from([(format!("{USER_PREFIX}{name}"), Acl::encode(&next))]);
        Ok(Draft { properties, ..Default::default() })
    };
    draft(&project.state())?;
    project.commit(text, draft).await?;
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
        let shown: Vec<String> = grants
            .iter()
            .map(|g| if g == "list" { format!("List ON PROJECT {}", project.name()) } else { g.clone() })
            .collect();
        rows.push((u.clone(), shown.join(", ")));
    }
    if let Some(u) = user {
        rows.retain(|(name, _)| name == u);
        if rows.is_empty() {
            return Err(Error::not_found(format!("user {u} is not a user of project {}", project.name())));
        }
    }
    let (names, grants): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
    let batch = RecordBatch::try_new(grants_schema(), vec![Arc::new(StringArray::from(names)), Arc::new(StringArray::from(grants))])?;
    Ok(StatementResult::query(batch))
}
