//! Who may do what in a project: its owner, its users and their grants, kept as project
//! properties under `timemachine.acl.` (so every change is a commit: audited, versioned, seen by
//! every process).
//!
//! Until the project has an owner and at least one added user, nothing is checked: single-user
//! embedded use needs no ceremony. This is authorization inside the engine (and, through
//! `timemachine serve`, for clients that never hold the store's credentials), not storage
//! security: whoever holds the object store's credentials can read and write the files directly.

use std::collections::{BTreeMap, BTreeSet};

use crate::state::ProjectState;

/// The property naming the owner.
pub const OWNER_KEY: &str = "timemachine.acl.owner";
/// The prefix of one property per user: its grants, comma-separated (`-` once removed).
pub const USER_PREFIX: &str = "timemachine.acl.user.";
/// The value of a removed user's property.
pub const REMOVED: &str = "-";

/// The prefix of one property per user with a password: its salted argon2id hash (PHC string).
/// Never listed (SETPROJECT hides `timemachine.acl.`, SHOW GRANTS shows grants only).
pub const PASSWORD_PREFIX: &str = "timemachine.acl.password.";

/// The privileges and roles the engine knows (MaxCompute's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `List` on the project: SHOW HISTORY FOR TABLES, history of dropped tables, the history
    /// table functions.
    List,
    /// `CreateTable` on the project.
    CreateTable,
    /// The `admin` role (or the owner): retention, PURGE, users and grants.
    Admin,
    /// `Select` on a table: read it, now or in the past.
    Select,
    /// `Describe` on a table: DESC, LIST PARTITIONS.
    Describe,
    /// `Alter` on a table: schema, lifecycle, rename, drop partition.
    Alter,
    /// `Update` on a table: INSERT, DELETE, UPDATE, MERGE, TRUNCATE, RESTORE … TO LSN.
    Update,
    /// `Drop` on a table.
    Drop,
    /// `ShowHistory` on a table: SHOW HISTORY FOR TABLE t, `timemachine_history('t')`.
    ShowHistory,
}

/// The privileges that `GRANT … ON TABLE` takes (`All` is every one of them).
pub const TABLE_PRIVILEGES: [Permission; 6] = [
    Permission::Select,
    Permission::Describe,
    Permission::Alter,
    Permission::Update,
    Permission::Drop,
    Permission::ShowHistory,
];

impl Permission {
    /// Its name in grants.
    pub fn name(self) -> &'static str {
        match self {
            Permission::List => "List",
            Permission::CreateTable => "CreateTable",
            Permission::Admin => "admin",
            Permission::Select => "Select",
            Permission::Describe => "Describe",
            Permission::Alter => "Alter",
            Permission::Update => "Update",
            Permission::Drop => "Drop",
            Permission::ShowHistory => "ShowHistory",
        }
    }

    /// The permission a lowercase grant word names.
    pub fn parse(word: &str) -> Option<Self> {
        [Permission::List, Permission::CreateTable, Permission::Admin]
            .into_iter()
            .chain(TABLE_PRIVILEGES)
            .find(|p| p.name().eq_ignore_ascii_case(word))
    }

    /// True for the privileges granted on a table.
    pub fn on_table(self) -> bool {
        TABLE_PRIVILEGES.contains(&self)
    }

    /// The entry in a user's grants: `list`, `admin`, or `select@<table id>` for a table.
    pub fn grant_entry(self, table_id: Option<&str>) -> String {
        match table_id {
            Some(id) => format!("{}@{id}", self.name().to_lowercase()),
            None => self.name().to_lowercase(),
        }
    }
}

/// The access rules of a project, as of one state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    /// The owner, once there is one.
    pub owner: Option<String>,
    /// Added users and their grants (lowercase names: `list`, `admin`, `createtable`,
    /// `select@<table id>`, …).
    pub users: BTreeMap<String, BTreeSet<String>>,
    /// The password hashes of the users that have one.
    pub passwords: BTreeMap<String, String>,
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
            .collect::<BTreeMap<_, _>>();
        let passwords = state
            .properties
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix(PASSWORD_PREFIX)?, v)))
            .filter(|(u, v)| v.as_str() != REMOVED && (users.contains_key(*u) || owner.as_deref() == Some(*u)))
            .map(|(u, v)| (u.to_string(), v.clone()))
            .collect();
        Self { owner, users, passwords }
    }

    /// True once checks apply: an owner and at least one added user.
    pub fn enforced(&self) -> bool {
        self.owner.is_some() && !self.users.is_empty()
    }

    /// Whether `user` (None: a session without a user) has `permission` (on the table with id
    /// `table`, for table privileges).
    pub fn allows(&self, user: Option<&str>, permission: Permission, table: Option<&str>) -> bool {
        if !self.enforced() {
            return true;
        }
        let Some(user) = user else { return false };
        if self.owner.as_deref() == Some(user) {
            return true;
        }
        let grants = self.users.get(user);
        let has = |g: &str| grants.is_some_and(|set| set.contains(g));
        if has("admin") {
            return true;
        }
        match (permission, table) {
            (Permission::Admin, _) => false,
            (p, Some(id)) if p.on_table() => has(&p.grant_entry(Some(id))) || has(&format!("all@{id}")),
            (p, _) => !p.on_table() && has(&p.grant_entry(None)),
        }
    }

    /// The property value for `user`'s grants.
    pub fn encode(grants: &BTreeSet<String>) -> String {
        grants.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

/// The error for `user` lacking `permission` to do `what`.
pub fn denied(user: Option<&str>, permission: Permission, what: &str) -> crate::Error {
    let who = user.map_or_else(
        || "a session without a user (set --user, TIMEMACHINE_USER or builder().user)".to_string(),
        |u| format!("user {u}"),
    );
    let how = match permission {
        Permission::Admin => "the project owner or GRANT admin TO <user>".to_string(),
        p if p.on_table() => format!("GRANT {} ON TABLE <table> TO USER <user>", p.name()),
        p => format!("GRANT {} ON PROJECT <project> TO USER <user>", p.name()),
    };
    crate::Error::PermissionDenied(format!("{who} lacks the {} permission to {what} (needs {how})", permission.name()))
}

/// The salted argon2id hash of `password`, as a PHC string (`$argon2id$v=19$…`): what the
/// project stores, never the password.
pub fn hash_password(password: &str) -> crate::Result<String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| crate::Error::invalid(format!("cannot hash the password: {e}")))
}

/// True when `password` matches the stored `hash` (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_stored_salted_and_verified() {
        let a = hash_password("s3cret").unwrap();
        let b = hash_password("s3cret").unwrap();
        assert!(a.starts_with("$argon2id$") && !a.contains("s3cret"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password("s3cret", &a) && verify_password("s3cret", &b));
        assert!(!verify_password("s3cret!", &a) && !verify_password("s3cret", "not a hash"));
    }

    #[test]
    fn table_privileges_are_per_table_and_all_covers_them() {
        let mut acl = Acl { owner: Some("o".into()), ..Default::default() };
        acl.users.insert("u".into(), ["select@t1".to_string(), "all@t2".to_string(), "createtable".into()].into());
        acl.users.insert("a".into(), ["admin".to_string()].into());
        assert!(acl.allows(Some("u"), Permission::Select, Some("t1")));
        assert!(!acl.allows(Some("u"), Permission::Update, Some("t1")));
        assert!(!acl.allows(Some("u"), Permission::Select, Some("t3")));
        assert!(TABLE_PRIVILEGES.iter().all(|p| acl.allows(Some("u"), *p, Some("t2"))));
        assert!(acl.allows(Some("u"), Permission::CreateTable, None) && !acl.allows(Some("u"), Permission::List, None));
        assert!(!acl.allows(Some("u"), Permission::Admin, None));
        assert!(acl.allows(Some("a"), Permission::Drop, Some("t3")) && acl.allows(Some("o"), Permission::Admin, None));
        assert!(
            !acl.allows(None, Permission::Select, Some("t1")) && !acl.allows(Some("x"), Permission::Select, Some("t1"))
        );
    }
}
