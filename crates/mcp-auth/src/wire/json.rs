//! JSON read strictly, the one way this crate reads JSON it must trust (JWT headers and
//! claims, DPoP proofs, JSON-RPC bodies): an object that repeats a member is refused at any
//! depth, names compared after their escapes are decoded (`"\u0061ud"` is `"aud"`). Parsers
//! differ on which of two members wins (serde takes the last, others the first), so a body with
//! `"name":"read_file","name":"delete_repo"` could be authorized as one tool and run as the
//! other, a token with two `aud` be checked for one and honoured for the other: such JSON says
//! nothing trustworthy.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Why bytes were not read as trustworthy JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unread {
    /// Not base64url (unpadded), for [`base64url_object`].
    NotBase64Url,
    /// Not one JSON value (an object, for [`base64url_object`]).
    NotJson,
    /// An object, at any depth, repeats a member.
    RepeatedMember,
}

/// Parses `bytes` as one JSON value.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, Unread> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = deserializer.deserialize_any(StrictValue).map_err(|err| {
        // The only error of the data category is the visitor's own, a repeated member;
        // malformed text, a truncated value or too deep a nesting are syntax or EOF.
        if err.is_data() {
            Unread::RepeatedMember
        } else {
            Unread::NotJson
        }
    })?;
    deserializer.end().map_err(|_| Unread::NotJson)?;
    Ok(value)
}

/// Decodes a base64url (unpadded) JSON object, the form of a JWT's header and claims.
pub(crate) fn base64url_object(encoded: &str) -> Result<Map<String, Value>, Unread> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| Unread::NotBase64Url)?;
    match parse(&bytes)? {
        Value::Object(members) => Ok(members),
        _ => Err(Unread::NotJson),
    }
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
        assert_eq!(parse(text.as_bytes()).ok(), serde_json::from_str(text).ok());
    }

    #[test]
    fn a_repeated_member_at_any_depth_is_refused() {
        for text in [
            r#"{"method":"a","method":"b"}"#,
            r#"{"params":{"name":"read_file","name":"delete_repo"}}"#,
            r#"[{"x":{"y":[{"z":1,"z":2}]}}]"#,
            r#"{"aud":"a","\u0061ud":"b"}"#,
        ] {
            assert_eq!(
                parse(text.as_bytes()),
                Err(Unread::RepeatedMember),
                "{text}"
            );
        }
    }

    #[test]
    fn what_is_not_one_json_value_is_not_json() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        for text in [r#"{"a":1} trailing"#, "{", "", "[1,]", deep.as_str()] {
            assert_eq!(parse(text.as_bytes()), Err(Unread::NotJson), "{text}");
        }
    }

    #[test]
    fn a_base64url_object_is_decoded_strictly() {
        let encode = |text: &str| URL_SAFE_NO_PAD.encode(text);
        let object = base64url_object(&encode(r#"{"alg":"ES256"}"#)).unwrap();
        assert_eq!(object["alg"], "ES256");
        for (encoded, unread) in [
            ("e30=".to_owned(), Unread::NotBase64Url),
            ("not base64!".to_owned(), Unread::NotBase64Url),
            (encode("[]"), Unread::NotJson),
            (encode(r#""text""#), Unread::NotJson),
            (encode(r#"{"a":{"b":1,"b":2}}"#), Unread::RepeatedMember),
        ] {
            assert_eq!(base64url_object(&encoded), Err(unread), "{encoded}");
        }
    }
}
