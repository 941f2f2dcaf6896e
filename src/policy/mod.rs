//! Rules above the state: who may do what ([`acl`]) and what retention allows users to restore
//! ([`retention`]).

pub mod acl;
pub mod retention;
