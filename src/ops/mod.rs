//! The time machine's statements, one file each: history, restore, retention and purge,
//! project properties.

pub mod history;
pub mod properties;
pub mod purge;
pub mod restore;
pub mod retention;
pub mod show;
