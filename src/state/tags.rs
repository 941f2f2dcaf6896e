//! Tags: names for versions of a table that retention does not expire. A tag lives in the
//! project's properties as `timemachine.tag.<table id>.<name>` = `<lsn>,<created ms>,<expires
//! ms or nothing>`, so creating or dropping one is a commit of the log (audited, seen by every
//! process at once); a dropped tag's property becomes the empty string.

use chrono::{DateTime, Utc};

use super::project::ProjectState;

/// The prefix of tag properties (hidden from SETPROJECT's listing).
pub const TAG_PREFIX: &str = "timemachine.tag.";

/// A named version of a table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Its name (lowercase, starting with a letter, so that it never reads as an LSN).
    pub name: String,
    /// The version it names.
    pub lsn: u64,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it stops holding its version (`RETAIN n DAYS`); None: until dropped.
    pub expires: Option<DateTime<Utc>>,
}

impl Tag {
    /// The property that holds tag `name` of table `table_id`.
    pub fn key(table_id: &str, name: &str) -> String {
        format!("{TAG_PREFIX}{table_id}.{name}")
    }

    /// The property's value.
    pub fn encode(&self) -> String {
        let expires = self.expires.map(|e| e.timestamp_millis().to_string()).unwrap_or_default();
        format!("{},{},{expires}", self.lsn, self.created.timestamp_millis())
    }

    fn decode(name: &str, value: &str) -> Option<Tag> {
        let mut parts = value.split(',');
        let lsn = parts.next()?.parse().ok()?;
        let created = DateTime::from_timestamp_millis(parts.next()?.parse().ok()?)?;
        let expires = match parts.next()? {
            "" => None,
            ms => Some(DateTime::from_timestamp_millis(ms.parse().ok()?)?),
        };
        Some(Tag { name: name.to_string(), lsn, created, expires })
    }

    /// True while the tag holds its version.
    pub fn live(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

impl ProjectState {
    /// The live tags of table `table_id` at `now`, by name.
    pub fn tags(&self, table_id: &str, now: DateTime<Utc>) -> Vec<Tag> {
        let prefix = Tag::key(table_id, "");
        self.properties
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| Tag::decode(&k[prefix.len()..], v))
            .filter(|t| t.live(now))
            .collect()
    }

    /// The live tag `name` of table `table_id`.
    pub fn tag(&self, table_id: &str, name: &str, now: DateTime<Utc>) -> Option<Tag> {
        let value = self.properties.get(&Tag::key(table_id, name))?;
        Tag::decode(name, value).filter(|t| t.live(now))
    }

    /// The oldest version of `table_id` a live tag holds.
    pub fn oldest_tagged(&self, table_id: &str, now: DateTime<Utc>) -> Option<u64> {
        self.tags(table_id, now).iter().map(|t| t.lsn).min()
    }

    /// The properties that drop every tag of `table_id` (PURGE TABLE).
    pub fn tag_removals(&self, table_id: &str) -> Vec<(String, String)> {
        let prefix = Tag::key(table_id, "");
        self.properties
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, _)| (k.clone(), String::new()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_expire() {
        let now = DateTime::from_timestamp_millis(1_000_000).unwrap();
        let mut state = ProjectState::default();
        let kept = Tag { name: "month_end".into(), lsn: 4, created: now, expires: None };
        let brief = Tag { name: "brief".into(), lsn: 2, created: now, expires: Some(now + chrono::Duration::days(1)) };
        for t in [&kept, &brief] {
            state.properties.insert(Tag::key("t1", &t.name), t.encode());
        }
        state.properties.insert(Tag::key("t10", "other"), kept.encode());
        state.properties.insert(Tag::key("t1", "dropped"), String::new());
        assert_eq!(state.tags("t1", now), vec![brief.clone(), kept.clone()]);
        assert_eq!(state.oldest_tagged("t1", now), Some(2));
        let later = now + chrono::Duration::days(2);
        assert_eq!(state.tags("t1", later), vec![kept.clone()]);
        assert_eq!(state.tag("t1", "brief", later), None);
        assert_eq!(state.tag_removals("t1").len(), 2);
    }
}
