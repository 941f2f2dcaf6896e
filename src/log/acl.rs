//! Who may do what in a project: its owner, its users and their grants, kept as project
//! properties under `timemachine.acl.` (so every change is a commit: audited, versioned, seen by
//! every process).
//!
//! Until the project has an owner and at least one added user, nothing is checked: single-user
//! embedded use needs no ceremony. This is authorization inside the engine, not storage
//! security: whoever holds the object store's credentials can read and write the files directly.

use std::collections::{BTreeMap, BTreeSet};

use super::state::ProjectState;

/// The property naming the owner.
pub const OWNER_KEY: &str = "timemachine.acl.owner";
/// The prefix of one property per user: its grants, comma-separated (`-` once removed).
pub const USER_PREFIX: &str = "timemachine.acl.user.";
/// The value of a removed user's property.
pub const REMOVED: &str = "-";

/// The privileges and roles the engine knows (MaxCompute's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `List` on the project: SHOW HISTORY FOR TABLES, history of dropped tables, the history
    /// table functions.
    List,
    /// The `admin` role (or the owner): retention, PURGE, users and grants.
    Admin,
}

impl Permission {
    /// Its name in grants.
    pub fn name(self) -> &'static str {
        match self {
            Permission::List => "List",
            Permission::Admin => "admin",
        }
    }
}

/// The access rules of a project, as of one state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// The owner, once there is one.
    pub owner: Option<String>,
    /// Added users and their grants (lowercase names: `list`, `admin`).
    pub users: BTreeMap<String, BTreeSet<String>>,
}

impl Acl {
    /// The rules in `state`'s properties.
    pub fn of(state: &ProjectState) -> Self {
        let owner = state.properties.get(OWNER_KEY).cloned();
        let users = state
            .properties
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(USER_PREFIX)?, v)))
            .filter(|(_, v)| v.as_str() != REMOVED)
            .map(|(u, v)| (u.to_string(), v.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect()))
            .collect();
        Self { owner, users }
    }

    /// True once checks apply: an owner and at least one added user.
    pub fn enforced(&self) -> bool {
        self.owner.is_some() && !self.users.is_empty()
    }

    /// Whether `user` (None: a session without a user) has `permission`.
    pub fn allows(&self, user: Option<&str>, permission: Permission) -> bool {
        if !self.enforced() {
            return true;
        }
        let Some(user) = user else { return false };
        if self.owner.as_deref() == Some(user) {
            return true;
        }
        let grants = self.users.get(user);
        let has = |g: &str| grants.is_some_and(|set| set.contains(g));
        has("admin") || (permission == Permission::List && has("list"))
    }

    /// The property value for `user`'s grants.
    pub fn encode(grants: &BTreeSet<String>) -> String {
        grants.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

/// The error for `user` lacking `permission` to do `what`.
pub fn denied(user: Option<&str>, permission: Permission, what: &str) -> crate::Error {
    let who = user.map_or_else(|| "a session without a user (set --user, TIMEMACHINE_USER or builder().user)".to_string(), |u| format!("user {u}"));
    let how = match permission {
        Permission::List => "GRANT List ON PROJECT <project> TO USER <user>",
        Permission::Admin => "the project owner or GRANT admin TO <user>",
    };
    crate::Error::PermissionDenied(format!("{who} lacks the {} permission to {what} (needs {how})", permission.name()))
}
