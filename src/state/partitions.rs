//! A table's partitions and how a version's actions change them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::lazy::{Codec, decode_json, encode_json};
use super::model::{Action, Partition, PutMode};

/// A table's partitions by their values: a persistent map, stored as the list of its partitions
/// (the key is each partition's `values`; JSON keys must be strings).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Partitions(pub imbl::OrdMap<Vec<String>, Partition>);

impl std::ops::Deref for Partitions {
    type Target = imbl::OrdMap<Vec<String>, Partition>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl std::ops::DerefMut for Partitions {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl FromIterator<(Vec<String>, Partition)> for Partitions {
    fn from_iter<I: IntoIterator<Item = (Vec<String>, Partition)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl Serialize for Partitions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.values())
    }
}

impl Codec for Partitions {
    fn encode(&self) -> Result<Vec<u8>, String> {
        encode_json(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, String> {
        decode_json(bytes)
    }
}

impl<'de> Deserialize<'de> for Partitions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Partition>::deserialize(d)?;
        Ok(list.into_iter().map(|p| (p.values.clone(), p)).collect())
    }
}

/// True when `action` changes partitions.
pub(super) fn changes_partitions(action: &Action) -> bool {
    !matches!(
        action,
        Action::Rename { .. }
            | Action::Drop
            | Action::AlterSchema { .. }
            | Action::SetLifecycle { .. }
            | Action::ChangeData { .. }
            | Action::SetProperties { .. }
            | Action::EnableLifecycle { values: None, .. }
    )
}

/// The part of a version's actions that changes the partitions of table `id`.
pub(super) fn apply_to_partitions(partitions: &mut Partitions, id: &str, time: DateTime<Utc>, actions: &[Action]) {
    for action in actions {
        match action {
            Action::Create { schema, .. } => {
                partitions.clear();
                if !schema.is_partitioned() {
                    let p = Partition { id: id.to_string(), modified: Some(time), ..Default::default() };
                    partitions.insert(vec![], p);
                }
            }
            // Restored data starts its LIFECYCLE anew (else it would be reclaimed again at once).
            Action::Undrop { .. } => touch(partitions, time, None),
            Action::Replace { partitions: replaced, .. } => {
                *partitions = replaced
                    .iter()
                    .map(|p| (p.values.clone(), Partition { modified: Some(time), ..p.clone() }))
                    .collect();
            }
            Action::PutPartition { partition, mode } => match (mode, partitions.get_mut(&partition.values)) {
                (PutMode::Append, Some(existing)) => {
                    existing.files.extend(partition.files.iter().cloned());
                    existing.modified = Some(time);
                }
                (PutMode::Rewrite, Some(existing)) => existing.files = partition.files.clone(),
                (_, existing) => {
                    // An overwrite keeps the partition's lifecycle setting.
                    let disabled = existing.map_or(partition.lifecycle_disabled, |e| e.lifecycle_disabled);
                    let p = Partition { modified: Some(time), lifecycle_disabled: disabled, ..partition.clone() };
                    partitions.insert(partition.values.clone(), p);
                }
            },
            Action::DropPartition { values } => {
                partitions.remove(values);
            }
            Action::Touch { values } => touch(partitions, time, values.as_ref()),
            Action::EnableLifecycle { values: Some(values), enabled } => {
                if let Some(p) = partitions.get_mut(values) {
                    p.lifecycle_disabled = !enabled;
                }
            }
            Action::Rename { .. }
            | Action::Drop
            | Action::AlterSchema { .. }
            | Action::SetLifecycle { .. }
            | Action::ChangeData { .. }
            | Action::SetProperties { .. }
            | Action::EnableLifecycle { values: None, .. } => {}
        }
    }
}

/// Changes the last modified time of every partition (`values` None) or of one.
fn touch(partitions: &mut Partitions, time: DateTime<Utc>, values: Option<&Vec<String>>) {
    let keys: Vec<Vec<String>> = partitions.keys().filter(|k| values.is_none_or(|v| v == *k)).cloned().collect();
    for k in keys {
        if let Some(p) = partitions.get_mut(&k) {
            p.modified = Some(time);
        }
    }
}
