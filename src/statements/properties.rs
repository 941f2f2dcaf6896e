//! SETPROJECT: the project's properties, of which the time machine's retention is one.

use std::collections::BTreeMap;
use std::sync::Arc;

use datafusion::arrow::array::StringArray;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;

use super::compact::{MAX_MERGE_TARGET, MERGE_TARGET_KEY};
use super::env::Env;
use super::grants::require;
use super::result::StatementResult;
use crate::error::{Error, Result};
use crate::log::Draft;
use crate::policy::acl::Permission;
use crate::policy::retention::{MAX_GRACE_SECONDS, MAX_RETENTION_DAYS};
use crate::state::expiry::{GRACE_KEY, RETENTION_KEY};
use crate::state::tags::TAG_PREFIX;
use crate::state::views::VIEW_PREFIX;

/// The columns of `SETPROJECT`'s listing.
pub(crate) fn properties_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![Field::new("Name", DataType::Utf8, false), Field::new("Value", DataType::Utf8, false)]))
}

/// `SETPROJECT` (list) or `SETPROJECT key=value` (set).
pub(crate) async fn setproject(env: &Env, text: &str, property: Option<(String, String)>) -> Result<StatementResult> {
    let project = &env.project;
    project.refresh().await?;
    let Some((key, value)) = property else {
        let state = project.state();
        // Users and grants have their own statement (SHOW GRANTS), tags theirs (SHOW TAGS).
        let mut props = state.properties.clone();
        props.retain(|k, _| {
            !k.starts_with("timemachine.acl.") && !k.starts_with(TAG_PREFIX) && !k.starts_with(VIEW_PREFIX)
        });
        props.insert(RETENTION_KEY.to_string(), state.retention_days().to_string());
        props.insert(GRACE_KEY.to_string(), state.grace().as_secs().to_string());
        let schema = properties_schema();
        let (names, values): (Vec<String>, Vec<String>) = props.into_iter().unzip();
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(names)), Arc::new(StringArray::from(values))],
        )?;
        return Ok(StatementResult::query(batch));
    };
    let normalized = match key.as_str() {
        RETENTION_KEY => value
            .parse::<i64>()
            .ok()
            .filter(|d| (0..=MAX_RETENTION_DAYS).contains(d))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{RETENTION_KEY} must be an integer from 0 to {MAX_RETENTION_DAYS}, got {value}"
                ))
            })?
            .to_string(),
        GRACE_KEY => value
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= MAX_GRACE_SECONDS)
            .ok_or_else(|| {
                Error::invalid(format!("{GRACE_KEY} must be an integer from 0 to {MAX_GRACE_SECONDS}, got {value}"))
            })?
            .to_string(),
        MERGE_TARGET_KEY => value
            .parse::<u64>()
            .ok()
            .filter(|b| (1..=MAX_MERGE_TARGET).contains(b))
            .ok_or_else(|| {
                Error::invalid(format!(
                    "{MERGE_TARGET_KEY} must be a number of bytes from 1 to {MAX_MERGE_TARGET}, got {value}"
                ))
            })?
            .to_string(),
        _ => {
            return Err(Error::not_supported(format!(
                "project property {key}; supported: {RETENTION_KEY}, {GRACE_KEY}, {MERGE_TARGET_KEY}"
            )));
        }
    };
    let what = format!("set {key}");
    require(env, &project.state(), Permission::Admin, &what)?;
    let properties = BTreeMap::from([(key, normalized)]);
    env.commit(text, |state| {
        require(env, state, Permission::Admin, &what)?;
        Ok(Draft { properties: properties.clone(), ..Default::default() })
    })
    .await?;
    Ok(StatementResult::ok())
}

/// `SET odps.<flag> = <value>`: MaxCompute's session flags (`odps.sql.allow.fullscan`,
/// `odps.sql.type.system.odps2`, …) are accepted so that scripts written for MaxCompute run;
/// none changes what a statement does here. The retention is a project property: said so.
pub(crate) fn session_flag(key: &str, value: &str) -> Result<StatementResult> {
    if key == RETENTION_KEY || key == GRACE_KEY {
        return Err(Error::invalid(format!(
            "{key} is a property of the project, not of the session: SETPROJECT {key}={value}"
        )));
    }
    if value.is_empty() {
        return Err(Error::Syntax(format!("SET {key}: expected a value after =")));
    }
    Ok(StatementResult::ok())
}
