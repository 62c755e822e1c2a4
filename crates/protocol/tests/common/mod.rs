//! Helpers shared by the fixture tests.
#![allow(dead_code)]

use std::path::PathBuf;

use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

/// Reads `tests/fixtures/<rel>`.
pub fn fixture(rel: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Reads a fixture as a JSON value.
pub fn fixture_value(rel: &str) -> Value {
    serde_json::from_str(&fixture(rel)).unwrap_or_else(|e| panic!("{rel} is not JSON: {e}"))
}

/// Removes object members whose value is `null` (AWS sends `null` for absent optional members;
/// the types read both as `None`) and turns every number into an `f64`, so that `2599` and
/// `2599.0` compare equal.
pub fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalize(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64().expect("finite number")),
        other => other.clone(),
    }
}

/// Deserializes `rel` into `T`, then checks the round trips:
/// deserialize -> serialize -> deserialize gives an equal `T`, and the serialized JSON equals
/// the fixture up to [`normalize`]. Returns the parsed value for further assertions.
pub fn round_trip<T>(rel: &str) -> T
where
    T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug,
{
    let original = fixture_value(rel);
    let parsed: T = serde_json::from_value(original.clone())
        .unwrap_or_else(|e| panic!("{rel} does not deserialize: {e}"));
    let serialized = serde_json::to_value(&parsed).expect("serialize");
    let reparsed: T = serde_json::from_value(serialized.clone())
        .unwrap_or_else(|e| panic!("{rel}: re-deserialize failed: {e}"));
    assert_eq!(
        parsed, reparsed,
        "{rel}: deserialize -> serialize -> deserialize differs"
    );
    assert_eq!(
        normalize(&serialized),
        normalize(&original),
        "{rel}: serialized JSON differs from the fixture"
    );
    parsed
}
