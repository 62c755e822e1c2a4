//! For any function output, what the client receives through the gateway with the layer equals
//! what it receives without it, apart from the tag headers: the gateway's interpretation
//! (`protocol::gateway`, which the lab's front door uses) of the tagger's output against the
//! interpretation of the raw output. End-to-end cases through the real lab are in
//! `in_lab_http.rs`.

use proptest::prelude::*;
use protocol::gateway::interpret;
use protocol::tag::COLD_HEADER;
use rollcall_extension::tag::{ResponseShape, Tagged, Tags, tag_response};
use serde_json::{Value, json};

const HEADER: &str = "x-rollcall-version";
const SHAPES: [ResponseShape; 4] = [
    ResponseShape::ProxyV1,
    ResponseShape::HttpV2,
    ResponseShape::Alb { multi_value: false },
    ResponseShape::Alb { multi_value: true },
];

fn header_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z][A-Za-z0-9-]{0,10}",
        Just("Content-Type".to_owned()),
        Just("content-type".to_owned()),
        Just("X-Rollcall-Version".to_owned()),
        Just("x-rollcall-cold".to_owned()),
        Just("set-cookie".to_owned()),
        Just("bad name".to_owned()),
    ]
}

fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![8 => "[ -~]{0,12}", 1 => any::<String>()]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i32>().prop_map(Value::from),
        any::<f32>().prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A response-like object: status (valid or not), header maps, body (base64 or not), cookies,
/// extra members.
fn response() -> impl Strategy<Value = Value> {
    (
        prop_oneof![
            8 => (100u16..600).prop_map(Value::from),
            1 => Just(json!("200")),
            1 => Just(json!(42)),
            1 => Just(Value::Null),
        ],
        prop::option::of(prop::collection::btree_map(
            header_name(),
            header_value(),
            0..4,
        )),
        prop::option::of(prop::collection::btree_map(
            header_name(),
            prop::collection::vec(header_value(), 0..3),
            0..3,
        )),
        prop::option::of(any::<String>()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec("[ -~]{0,8}", 0..3)),
        prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
        any::<bool>(),
    )
        .prop_map(
            |(status, headers, multi, body, b64, cookies, extra, with_status)| {
                let mut obj: serde_json::Map<String, Value> = extra.into_iter().collect();
                if with_status {
                    obj.insert("statusCode".into(), status);
                }
                if let Some(h) = headers {
                    obj.insert("headers".into(), json!(h));
                }
                if let Some(m) = multi {
                    obj.insert("multiValueHeaders".into(), json!(m));
                }
                if let (Some(b), Some(true)) = (&body, b64) {
                    use base64::Engine as _;
                    let encoded = base64::engine::general_purpose::STANDARD.encode(b);
                    obj.insert("body".into(), encoded.into());
                    obj.insert("isBase64Encoded".into(), true.into());
                } else if let Some(b) = body {
                    obj.insert("body".into(), b.into());
                    if let Some(flag) = b64 {
                        obj.insert("isBase64Encoded".into(), flag.into());
                    }
                }
                if let Some(c) = cookies {
                    obj.insert("cookies".into(), json!(c));
                }
                Value::Object(obj)
            },
        )
}

/// Function output bytes: responses, other JSON, bare strings, padded with JSON whitespace,
/// with a lone-surrogate member, or arbitrary bytes.
fn output() -> impl Strategy<Value = Vec<u8>> {
    let text = prop_oneof![
        6 => response().prop_map(|v| v.to_string()),
        2 => json_value().prop_map(|v| v.to_string()),
        1 => any::<String>().prop_map(|s| Value::String(s).to_string()),
    ];
    let padding = prop::sample::select(vec!["", "", "", " ", "\n", "\r\n\t "]);
    let mutated = (text, padding.clone(), padding, 0u8..6).prop_map(|(t, pre, post, m)| {
        let t = match m {
            // A lone surrogate as a member name, or as a string value.
            0 if t.starts_with('{') && t.len() > 2 => t.replacen('{', r#"{"\ud800":1,"#, 1),
            1 => t.replacen("\"\"", r#""\udc00""#, 1),
            _ => t,
        };
        format!("{pre}{t}{post}").into_bytes()
    });
    prop_oneof![
        9 => mutated,
        1 => prop::collection::vec(any::<u8>(), 0..64),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 2048,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x007A_66E0),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_client_receives_the_same_with_and_without_the_tag(
        raw in output(),
        cold in any::<bool>(),
    ) {
        let tags = Tags { version_header: HEADER, version: "7", cold };
        for shape in SHAPES {
            let format = shape.format();
            let before = interpret(format, &raw);
            let out = tag_response(shape, &raw, &tags);
            // What the gateway reads, when it reads it; no status (no error counted) otherwise.
            let want_status = before.as_ref().ok().map(|b| b.response.status);
            prop_assert_eq!(out.status, want_status);
            let Tagged::Changed(tagged) = out.tagged else {
                continue; // the same bytes reach the gateway
            };
            let text = String::from_utf8_lossy(&raw);
            let Ok(before) = before else {
                return Err(TestCaseError::fail(format!("{shape:?}: tagged output the gateway cannot read: {text}")));
            };
            let after = interpret(format, &tagged).map_err(|e| {
                TestCaseError::fail(format!("{shape:?}: tagging made it unreadable ({e}): {text}"))
            })?;
            prop_assert_eq!(after.response.status, before.response.status, "{:?} {}", shape, text);
            prop_assert_eq!(&after.response.body, &before.response.body, "{:?} {}", shape, text);
            prop_assert_eq!(
                after.response.headers_without(&[HEADER, COLD_HEADER]),
                before.response.headers_without(&[HEADER, COLD_HEADER]),
                "{:?} {}", shape, text
            );
            let versions: Vec<_> = after.response.headers.iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case(HEADER)).map(|(_, v)| v.as_str()).collect();
            prop_assert_eq!(versions, ["7"], "{:?} {}", shape, text);
            let colds = after.response.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(COLD_HEADER)).count();
            prop_assert_eq!(colds, usize::from(cold), "{:?} {}", shape, text);
        }
    }
}

/// The cases found by use, one by one (the property above covers their neighbourhood).
#[test]
fn the_cases_found_by_use_pass_untouched() {
    let tags = Tags {
        version_header: HEADER,
        version: "7",
        cold: false,
    };
    for raw in [
        &br#""hello""#[..],
        br#"{"statusCode":404,"body":"nope","\ud800":1}"#,
        b" {\"message\":\"hi\"}\n",
    ] {
        let out = tag_response(ResponseShape::HttpV2, raw, &tags);
        assert!(
            matches!(out.tagged, Tagged::Unchanged(_)),
            "{}",
            String::from_utf8_lossy(raw)
        );
    }
}
