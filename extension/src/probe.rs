//! Classifying a raw invoke event without building its JSON tree.
//!
//! An event may be 6 MB; parsed into a `serde_json::Value`, an array of small numbers that size
//! takes ~150 ms and over 100 MB, on the path of the invocation. The probe reads only the members
//! [`protocol::event_kind()`] looks at (`methodArn`, `routeArn`, `version`, `httpMethod`,
//! `requestContext.elb`, `requestContext.http`) plus `multiValueHeaders`, skipping everything else
//! without allocating, then hands a small stand-in object to `event_kind` itself, so the
//! classification rules stay in one place.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// What a member's value looks like, without its content (strings up to 64 bytes are kept).
#[derive(Debug, Clone, PartialEq)]
enum Kind {
    /// A string; `None` when longer than 64 bytes.
    Str(Option<String>),
    /// An object.
    Object,
    /// `null` (which `event_kind` reads as absent).
    Null,
    /// Anything else.
    Other,
}

impl Kind {
    fn to_value(&self) -> Value {
        match self {
            Kind::Str(s) => Value::String(s.clone().unwrap_or_else(|| "\u{0}long".to_owned())),
            Kind::Object => Value::Object(Map::new()),
            Kind::Null => Value::Null,
            Kind::Other => Value::Bool(false),
        }
    }
}

struct KindVisitor;

impl<'de> Visitor<'de> for KindVisitor {
    type Value = Kind;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<Kind, E> {
        Ok(Kind::Str((s.len() <= 64).then(|| s.to_owned())))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Kind::Object)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Kind::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Kind, E> {
        Ok(Kind::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Kind, E> {
        Ok(Kind::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Kind, E> {
        Ok(Kind::Null)
    }
}

impl<'de> Deserialize<'de> for Kind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor)
    }
}

/// `requestContext`: the kinds of its `elb` and `http` members, or not an object.
#[derive(Debug, Clone, PartialEq)]
enum Context {
    Object {
        elb: Option<Kind>,
        http: Option<Kind>,
    },
    Other,
}

struct ContextVisitor;

impl<'de> Visitor<'de> for ContextVisitor {
    type Value = Context;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Context, A::Error> {
        let (mut elb, mut http) = (None, None);
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "elb" => elb = Some(map.next_value::<Kind>()?),
                "http" => http = Some(map.next_value::<Kind>()?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Context::Object { elb, http })
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Context, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Context::Other)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Context, E> {
        Ok(Context::Other)
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Context, E> {
        Ok(Context::Other)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Context, E> {
        Ok(Context::Other)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Context, E> {
        Ok(Context::Other)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Context, E> {
        Ok(Context::Other)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Context, E> {
        Ok(Context::Other)
    }
}

impl<'de> Deserialize<'de> for Context {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ContextVisitor)
    }
}

/// The stand-in: the members `event_kind` reads, as a small object (`None`: not an object).
struct Probe(Option<Map<String, Value>>);

struct ProbeVisitor;

impl<'de> Visitor<'de> for ProbeVisitor {
    type Value = Probe;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Probe, A::Error> {
        // Later duplicates win, as in `serde_json::Value`.
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = match key.as_str() {
                "methodArn" | "routeArn" | "version" | "httpMethod" | "multiValueHeaders" => {
                    map.next_value::<Kind>()?.to_value()
                }
                "requestContext" => match map.next_value::<Context>()? {
                    Context::Object { elb, http } => {
                        let mut ctx = Map::new();
                        if let Some(k) = elb {
                            ctx.insert("elb".into(), k.to_value());
                        }
                        if let Some(k) = http {
                            ctx.insert("http".into(), k.to_value());
                        }
                        Value::Object(ctx)
                    }
                    Context::Other => Value::Null,
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            out.insert(key, value);
        }
        Ok(Probe(Some(out)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Probe, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Probe(None))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<Probe, E> {
        Ok(Probe(None))
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Probe, E> {
        Ok(Probe(None))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<Probe, E> {
        Ok(Probe(None))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<Probe, E> {
        Ok(Probe(None))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Probe, E> {
        Ok(Probe(None))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Probe, E> {
        Ok(Probe(None))
    }
}

impl<'de> Deserialize<'de> for Probe {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ProbeVisitor)
    }
}

/// A small object standing for `event` in [`protocol::event_kind()`] (and for the ALB
/// multi-value check): same answer, no tree of the whole event. `None` if `event` is not JSON.
pub fn stand_in(event: &[u8]) -> Option<Value> {
    // Skipped strings are not checked for UTF-8 by the parser; a full parse would reject them.
    std::str::from_utf8(event).ok()?;
    let probe: Probe = serde_json::from_slice(event).ok()?;
    Some(probe.0.map_or(Value::Null, Value::Object))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::tag::ResponseShape;

    fn full(event: &[u8]) -> Option<ResponseShape> {
        let value: Value = serde_json::from_slice(event).ok()?;
        ResponseShape::of_event(protocol::event_kind(&value), &value)
    }

    #[test]
    fn the_probe_agrees_with_the_full_parse_on_the_fixtures() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../crates/protocol/tests/fixtures");
        let mut seen = 0;
        for sub in ["apigw", "alb", "extension", "telemetry", "runtime", "emf"] {
            for entry in std::fs::read_dir(dir.join(sub)).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                assert_eq!(ResponseShape::of_raw_event(&bytes), full(&bytes));
                seen += 1;
            }
        }
        assert!(seen > 20);
    }

    #[test]
    fn edge_cases_agree() {
        let cases: &[&[u8]] = &[
            br#"{"httpMethod":"GET"}"#,
            br#"{"httpMethod":"GET","version":"1.0"}"#,
            br#"{"httpMethod":7}"#,
            br#"{"httpMethod":"GET","methodArn":null}"#,
            br#"{"httpMethod":"GET","methodArn":5}"#,
            br#"{"version":"2.0","methodArn":null,"requestContext":{"http":{}}}"#,
            br#"{"version":"2.0","requestContext":{"http":{}}}"#,
            br#"{"version":"2.0","requestContext":{"http":"x"}}"#,
            br#"{"version":"2.0","requestContext":"x"}"#,
            br#"{"httpMethod":"GET","requestContext":{"elb":{"targetGroupArn":"a"}},"multiValueHeaders":{}}"#,
            br#"{"httpMethod":"GET","requestContext":{"elb":{}},"multiValueHeaders":null}"#,
            br#"{"httpMethod":"GET","requestContext":{"elb":[]}}"#,
            br#"{"httpMethod":"GET","httpMethod":3}"#,
            br#"{"httpMethod":3,"httpMethod":"GET"}"#,
            br#"{"routeArn":"x","version":"2.0","requestContext":{"http":{}}}"#,
            b"[]",
            b"\"s\"",
            b"null",
            b"not json",
            b"{\"httpMethod\":\"GET\",\"body\":\"\xff\"}",
        ];
        for c in cases {
            assert_eq!(
                ResponseShape::of_raw_event(c),
                full(c),
                "{}",
                String::from_utf8_lossy(c)
            );
        }
    }

    /// `cargo lambda watch` sends function URL events with `"methodArn": null`: they are HTTP
    /// API 2.0 events, to be tagged, not authorizer events.
    #[test]
    fn a_function_url_event_with_a_null_method_arn_is_http_v2() {
        let event = br#"{"version":"2.0","routeKey":"$default","rawPath":"/","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"curl"},"requestId":"r","routeKey":"$default","stage":"$default","timeEpoch":0},"isBase64Encoded":false,"methodArn":null,"routeArn":null}"#;
        assert_eq!(
            ResponseShape::of_raw_event(event),
            Some(ResponseShape::HttpV2)
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            prop::sample::select(vec!["2.0", "1.0", "GET", "x"]).prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            let key = prop::sample::select(vec![
                "httpMethod",
                "version",
                "requestContext",
                "elb",
                "http",
                "methodArn",
                "routeArn",
                "multiValueHeaders",
                "body",
                "other",
            ]);
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::vec((key, inner), 0..5).prop_map(|kv| Value::Object(
                    kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1024, rng_seed: proptest::test_runner::RngSeed::Fixed(0xE7E1), ..ProptestConfig::default() })]

        /// Any event: the probe classifies it as the full parse does.
        #[test]
        fn the_probe_agrees_with_the_full_parse(event in json_value()) {
            let bytes = serde_json::to_vec(&event).unwrap();
            prop_assert_eq!(ResponseShape::of_raw_event(&bytes), full(&bytes));
        }
    }
}
