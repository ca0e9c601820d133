//! JSON read strictly: an object that repeats a member is refused at any depth. Parsers differ
//! on which of two members wins (serde takes the last, others the first), so a body with
//! `"name":"read_file","name":"delete_repo"` could be authorized as one tool and run as the
//! other: such a body says nothing trustworthy.

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as JSON, `None` when it is not JSON or an object repeats a member.
pub(crate) fn parse(bytes: &[u8]) -> Option<Value> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = deserializer.deserialize_any(StrictValue).ok()?;
    deserializer.end().ok()?;
    Some(value)
}

/// Builds a [`Value`] like serde_json does, but refuses repeated object members.
struct StrictValue;

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JSON without repeated object members")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::from(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::String(value.to_owned()))
    }

    fn visit_string<E>(self, value: String) -> Result<Value, E> {
        Ok(Value::String(value))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Value, A::Error> {
        let mut array = Vec::new();
        while let Some(item) = items.next_element_seed(Seed)? {
            array.push(item);
        }
        Ok(Value::Array(array))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut members: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(name) = members.next_key::<String>()? {
            let value = members.next_value_seed(Seed)?;
            if object.insert(name, value).is_some() {
                return Err(de::Error::custom("an object repeats a member"));
            }
        }
        Ok(Value::Object(object))
    }
}

/// [`StrictValue`] for nested values.
struct Seed;

impl<'de> de::DeserializeSeed<'de> for Seed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictValue)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_as_serde_json_does() {
        let text = r#"{"a":[1,-2,3.5,"x",null,true,{"b":{}}],"c":"tools\/call"}"#;
        assert_eq!(parse(text.as_bytes()), serde_json::from_str(text).ok());
    }

    #[test]
    fn a_repeated_member_at_any_depth_is_refused() {
        for text in [
            r#"{"method":"a","method":"b"}"#,
            r#"{"params":{"name":"read_file","name":"delete_repo"}}"#,
            r#"[{"x":{"y":[{"z":1,"z":2}]}}]"#,
            r#"{"a":1} trailing"#,
            "{",
        ] {
            assert_eq!(parse(text.as_bytes()), None, "{text}");
        }
    }
}
