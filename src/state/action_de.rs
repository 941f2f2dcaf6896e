//! Reads an [`Action`] in the form it is written (`{"action": "put_partition", …}`) without
//! buffering it first.
//!
//! serde's derived reader for an internally tagged enum copies every action, file and statistic
//! into an intermediate tree before building it, which made decoding a long history several
//! times slower than the JSON parsing itself. The writer always puts the tag first, so the
//! fields can be read straight into the variant; a tag elsewhere (a hand-edited entry) falls
//! back to reading the object as a JSON value first.

use std::fmt;

use serde::Deserialize;
use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::model::{Action, Partition, PutMode, TableSchema};

const VARIANTS: &[&str] = &[
    "create",
    "rename",
    "drop",
    "undrop",
    "replace",
    "put_partition",
    "drop_partition",
    "alter_schema",
    "set_lifecycle",
    "touch",
    "change_data",
    "set_properties",
    "enable_lifecycle",
];

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ActionVisitor)
    }
}

struct ActionVisitor;

impl<'de> Visitor<'de> for ActionVisitor {
    type Value = Action;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an action: an object with an \"action\" tag")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Action, A::Error> {
        let first: Option<String> = map.next_key()?;
        if first.as_deref() == Some("action") {
            let tag: String = map.next_value()?;
            return variant(&tag, MapAccessDeserializer::new(map));
        }
        let mut object = serde_json::Map::new();
        if let Some(key) = first {
            object.insert(key, map.next_value()?);
        }
        while let Some((key, value)) = map.next_entry::<String, serde_json::Value>()? {
            object.insert(key, value);
        }
        let tag = match object.remove("action") {
            Some(serde_json::Value::String(tag)) => tag,
            Some(_) => return Err(de::Error::custom("the \"action\" tag is not a string")),
            None => return Err(de::Error::missing_field("action")),
        };
        variant(&tag, serde_json::Value::Object(object)).map_err(de::Error::custom)
    }
}

/// The variant `tag`, from the object's other fields.
fn variant<'de, D: Deserializer<'de>>(tag: &str, fields: D) -> Result<Action, D::Error> {
    #[derive(Deserialize)]
    struct Create {
        name: String,
        schema: TableSchema,
        #[serde(default)]
        lifecycle: Option<u64>,
    }
    #[derive(Deserialize)]
    struct Name {
        name: String,
    }
    #[derive(Deserialize)]
    struct Replace {
        schema: TableSchema,
        partitions: Vec<Partition>,
    }
    #[derive(Deserialize)]
    struct Put {
        partition: Partition,
        mode: PutMode,
    }
    #[derive(Deserialize)]
    struct Properties {
        #[serde(default)]
        set: std::collections::BTreeMap<String, String>,
        #[serde(default)]
        unset: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Changed {
        partition: Partition,
    }
    #[derive(Deserialize)]
    struct Values {
        values: Vec<String>,
    }
    #[derive(Deserialize)]
    struct Schema {
        schema: TableSchema,
    }
    #[derive(Deserialize)]
    struct Days {
        #[serde(default)]
        days: Option<u64>,
    }
    #[derive(Deserialize)]
    struct MaybeValues {
        #[serde(default)]
        values: Option<Vec<String>>,
    }
    #[derive(Deserialize)]
    struct Enable {
        #[serde(default)]
        values: Option<Vec<String>>,
        enabled: bool,
    }
    Ok(match tag {
        "create" => {
            let Create { name, schema, lifecycle } = Create::deserialize(fields)?;
            Action::Create { name, schema, lifecycle }
        }
        "rename" => Action::Rename { name: Name::deserialize(fields)?.name },
        "drop" => {
            IgnoredAny::deserialize(fields)?;
            Action::Drop
        }
        "undrop" => Action::Undrop { name: Name::deserialize(fields)?.name },
        "replace" => {
            let Replace { schema, partitions } = Replace::deserialize(fields)?;
            Action::Replace { schema, partitions }
        }
        "put_partition" => {
            let Put { partition, mode } = Put::deserialize(fields)?;
            Action::PutPartition { partition, mode }
        }
        "set_properties" => {
            let Properties { set, unset } = Properties::deserialize(fields)?;
            Action::SetProperties { set, unset }
        }
        "change_data" => Action::ChangeData { partition: Changed::deserialize(fields)?.partition },
        "drop_partition" => Action::DropPartition { values: Values::deserialize(fields)?.values },
        "alter_schema" => Action::AlterSchema { schema: Schema::deserialize(fields)?.schema },
        "set_lifecycle" => Action::SetLifecycle { days: Days::deserialize(fields)?.days },
        "touch" => Action::Touch { values: MaybeValues::deserialize(fields)?.values },
        "enable_lifecycle" => {
            let Enable { values, enabled } = Enable::deserialize(fields)?;
            Action::EnableLifecycle { values, enabled }
        }
        other => return Err(de::Error::unknown_variant(other, VARIANTS)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::model::{ColumnDef, DataFile};

    fn every_action() -> Vec<Action> {
        let schema =
            TableSchema { columns: vec![ColumnDef::new("a", "string")], partition_columns: vec![], clustering: None };
        let file = DataFile {
            path: "data/x.parquet".into(),
            size: 3,
            rows: 1,
            stats: Default::default(),
            bucket: None,
            deleted: None,
        };
        let partition =
            Partition { id: "p".into(), values: vec!["1".into()], files: imbl::vector![file], ..Default::default() };
        vec![
            Action::Create { name: "t".into(), schema: schema.clone(), lifecycle: Some(3) },
            Action::Create { name: "t".into(), schema: schema.clone(), lifecycle: None },
            Action::Rename { name: "u".into() },
            Action::Drop,
            Action::Undrop { name: "v".into() },
            Action::Replace { schema: schema.clone(), partitions: vec![partition.clone()] },
            Action::PutPartition { partition: partition.clone(), mode: PutMode::Append },
            Action::ChangeData { partition },
            Action::SetProperties { set: [("k".to_string(), "v".to_string())].into(), unset: vec!["u".into()] },
            Action::SetProperties { set: Default::default(), unset: vec![] },
            Action::DropPartition { values: vec!["1".into()] },
            Action::AlterSchema { schema },
            Action::SetLifecycle { days: None },
            Action::SetLifecycle { days: Some(2) },
            Action::Touch { values: None },
            Action::Touch { values: Some(vec!["1".into()]) },
            Action::EnableLifecycle { values: None, enabled: false },
            Action::EnableLifecycle { values: Some(vec!["1".into()]), enabled: true },
        ]
    }

    #[test]
    fn every_action_reads_back_as_written() {
        let actions = every_action();
        let json = serde_json::to_string(&actions).unwrap();
        assert_eq!(serde_json::from_str::<Vec<Action>>(&json).unwrap(), actions);
    }

    #[test]
    fn the_tag_may_come_anywhere_and_bad_input_is_an_error() {
        let late: Action = serde_json::from_str(r#"{"name": "u", "action": "rename"}"#).unwrap();
        assert_eq!(late, Action::Rename { name: "u".into() });
        let drop: Action = serde_json::from_str(r#"{"action": "drop"}"#).unwrap();
        assert_eq!(drop, Action::Drop);
        for bad in [r#"{"action": "explode"}"#, r#"{"name": "u"}"#, r#"{"action": "rename"}"#, r#"{"action": 3}"#, "[]"]
        {
            assert!(serde_json::from_str::<Action>(bad).is_err(), "{bad}");
        }
    }
}
