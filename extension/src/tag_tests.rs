use proptest::prelude::*;
use protocol::apigw::{HttpResponseV2, ProxyResponseV1};
use protocol::gateway;
use serde_json::{Value, json};

use super::*;

const HEADER: &str = "x-rollcall-version";

fn tags(cold: bool) -> Tags<'static> {
    Tags {
        version_header: HEADER,
        version: "7",
        cold,
    }
}

fn changed(shape: ResponseShape, body: &[u8], cold: bool) -> Vec<u8> {
    match tag_response(shape, body, &tags(cold)).tagged {
        Tagged::Changed(b) => b,
        Tagged::Unchanged(r) => panic!("unchanged ({r:?}): {}", String::from_utf8_lossy(body)),
    }
}

fn unchanged(shape: ResponseShape, body: &[u8]) -> Untagged {
    match tag_response(shape, body, &tags(true)).tagged {
        Tagged::Unchanged(r) => r,
        Tagged::Changed(b) => panic!("changed: {}", String::from_utf8_lossy(&b)),
    }
}

const ALB_SINGLE: ResponseShape = ResponseShape::Alb { multi_value: false };
const ALB_MULTI: ResponseShape = ResponseShape::Alb { multi_value: true };
const ALL_SHAPES: [ResponseShape; 4] = [
    ResponseShape::ProxyV1,
    ResponseShape::HttpV2,
    ALB_SINGLE,
    ALB_MULTI,
];

#[test]
fn headers_are_added_and_every_other_member_is_kept_byte_for_byte() {
    let body = br#"{"statusCode":200,"headers":{"Content-Type":"text/plain","X-A":"1"},"body":"caf\u00e9 \"q\"","extra":12345678901234567890123,"isBase64Encoded":false}"#;
    let out = changed(ResponseShape::ProxyV1, body, false);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        r#"{"statusCode":200,"headers":{"Content-Type":"text/plain","X-A":"1","x-rollcall-version":"7"},"body":"caf\u00e9 \"q\"","extra":12345678901234567890123,"isBase64Encoded":false}"#
    );
}

#[test]
fn a_cold_invocation_carries_the_cold_header() {
    let out = changed(ResponseShape::ProxyV1, br#"{"statusCode":200}"#, true);
    assert_eq!(
        out,
        br#"{"statusCode":200,"headers":{"x-rollcall-version":"7","x-rollcall-cold":"1"}}"#
    );
}

#[test]
fn existing_tag_headers_in_any_case_are_replaced_once() {
    let body = br#"{"statusCode":200,"headers":{"X-Rollcall-Version":"evil","x-rollcall-version":"old","X-ROLLCALL-COLD":"1","x-other":"y"},"multiValueHeaders":{"x-Rollcall-version":["a","b"],"Set-Cookie":["a=1","b=2"]}}"#;
    let out = changed(ResponseShape::ProxyV1, body, false);
    let r: ProxyResponseV1 = serde_json::from_slice(&out).unwrap();
    let merged = r.merged_headers();
    let tags: Vec<_> = merged
        .iter()
        .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-rollcall"))
        .collect();
    assert_eq!(
        tags,
        vec![&("x-rollcall-version".to_owned(), "7".to_owned())]
    );
    assert!(merged.contains(&("x-other".into(), "y".into())));
    assert!(merged.contains(&("Set-Cookie".into(), "a=1".into())));
    assert!(merged.contains(&("Set-Cookie".into(), "b=2".into())));
}

#[test]
fn multi_value_headers_get_the_tag_when_the_response_uses_them() {
    let body = br#"{"statusCode":200,"multiValueHeaders":{"set-cookie":["a=1","b=2"]}}"#;
    let out = changed(ResponseShape::ProxyV1, body, true);
    assert_eq!(
        out,
        br#"{"statusCode":200,"multiValueHeaders":{"set-cookie":["a=1","b=2"],"x-rollcall-version":["7"],"x-rollcall-cold":["1"]}}"#
    );
    // Both maps present: both tagged (API Gateway merges them, multi-value wins).
    let both = br#"{"statusCode":200,"headers":{"a":"1"},"multiValueHeaders":{"b":["2"]}}"#;
    let out: Value = serde_json::from_slice(&changed(ResponseShape::ProxyV1, both, false)).unwrap();
    assert_eq!(out["headers"][HEADER], "7");
    assert_eq!(out["multiValueHeaders"][HEADER], json!(["7"]));
}

#[test]
fn alb_multi_value_mode_creates_multi_value_headers() {
    let out = changed(ALB_MULTI, br#"{"statusCode":200,"body":"x"}"#, false);
    assert_eq!(
        out,
        br#"{"statusCode":200,"body":"x","multiValueHeaders":{"x-rollcall-version":["7"]}}"#
    );
    let out = changed(ALB_SINGLE, br#"{"statusCode":200,"body":"x"}"#, false);
    assert_eq!(
        out,
        br#"{"statusCode":200,"body":"x","headers":{"x-rollcall-version":"7"}}"#
    );
}

#[test]
fn null_headers_are_replaced_in_place() {
    let out = changed(
        ResponseShape::ProxyV1,
        br#"{"statusCode":204,"headers":null,"multiValueHeaders":null,"body":null}"#,
        false,
    );
    assert_eq!(
        out,
        br#"{"statusCode":204,"headers":{"x-rollcall-version":"7"},"multiValueHeaders":null,"body":null}"#
    );
}

/// A JSON object without `statusCode` is answered as the documented table says (200,
/// `content-type: application/json`, the object's text as the body): tagged as that explicit
/// response, the client receives the same body.
#[test]
fn payload_2_0_object_without_status_code_becomes_the_explicit_equivalent() {
    for original in [
        &br#"{"message":"hello","n":1}"#[..],
        br#"{"message": "Hello from Lambda!"}"#,
        br#"{"headers":{"x":"y"}}"#,
    ] {
        let out = changed(ResponseShape::HttpV2, original, true);
        let got: HttpResponseV2 = serde_json::from_slice(&out).unwrap();
        assert_eq!(got.status_code, 200);
        assert_eq!(
            got.body_bytes().unwrap(),
            original,
            "the body is the object's text"
        );
        assert_eq!(got.is_base64_encoded, Some(false));
        let headers = got.headers.unwrap();
        assert_eq!(headers["content-type"], "application/json");
        assert_eq!(headers[HEADER], "7");
        assert_eq!(headers["x-rollcall-cold"], "1");
        assert_eq!(
            tag_response(ResponseShape::HttpV2, original, &tags(true)).status,
            Some(200)
        );
    }
}

/// Found by use: the bare string `"hello"` reached the client as `"hello"` through the layer
/// and as `hello` without it. What API Gateway (string content) and function URLs (quotes
/// kept) do differs, and the event does not say which one sent it: passed through untouched,
/// as are other outputs whose interpretation is extrapolated (padding, arrays, numbers, null).
#[test]
fn payload_2_0_output_whose_interpretation_is_not_agreed_passes_untouched() {
    for original in [
        &br#""hello""#[..],
        br#""Hello, world!""#,
        b" {\"a\" : 1}\n",
        b"\n{\"a\":1}",
        b"[1,2,3]",
        b"42",
        b"null",
    ] {
        let out = tag_response(ResponseShape::HttpV2, original, &tags(true));
        assert_eq!(
            out.tagged,
            Tagged::Unchanged(Untagged::NotAgreed),
            "{}",
            String::from_utf8_lossy(original)
        );
        assert_eq!(out.status, Some(200));
    }
}

/// Found by use: an object with a lone-surrogate key answered 500 without the layer (the
/// gateway cannot read it) and 200 with it. Malformed output passes untouched, in every shape.
#[test]
fn output_the_gateway_cannot_read_passes_untouched() {
    for shape in ALL_SHAPES {
        for original in [
            &br#"{"statusCode":404,"body":"x","\ud800":1}"#[..],
            br#"{"\ud800":1}"#,
            br#"{"statusCode":200,"body":"\udfff"}"#,
            br#""\ud800""#,
        ] {
            let out = tag_response(shape, original, &tags(false));
            assert_eq!(
                out.tagged,
                Tagged::Unchanged(Untagged::Malformed),
                "{shape:?}"
            );
            // No status: the extension is not sure the gateway fails it (not counted in Errors).
            assert_eq!(out.status, None);
        }
    }
}

#[test]
fn payload_2_0_with_status_code_keeps_cookies_and_base64_bodies() {
    let body = br#"{"statusCode":201,"cookies":["a=1; Path=/","b=2"],"isBase64Encoded":true,"body":"AAEC/w==","headers":{"content-type":"application/octet-stream"}}"#;
    let out = changed(ResponseShape::HttpV2, body, false);
    let before: HttpResponseV2 = serde_json::from_slice(body).unwrap();
    let after: HttpResponseV2 = serde_json::from_slice(&out).unwrap();
    assert_eq!(after.cookies, before.cookies);
    assert_eq!(after.body_bytes().unwrap(), vec![0, 1, 2, 255]);
    assert_eq!(after.status_code, 201);
    assert_eq!(after.headers.unwrap()[HEADER], "7");
}

#[test]
fn what_is_not_an_http_response_passes_through() {
    for shape in [ResponseShape::ProxyV1, ALB_SINGLE, ALB_MULTI] {
        assert_eq!(
            unchanged(shape, br#"{"body":"no status"}"#),
            Untagged::Malformed
        );
        assert_eq!(unchanged(shape, b"[1,2]"), Untagged::Malformed);
        assert_eq!(unchanged(shape, br#""text""#), Untagged::Malformed);
    }
    for shape in ALL_SHAPES {
        for malformed in [
            &b""[..],
            b"plain text",
            b"{\"statusCode\":200,\"body\":\"\xff\xfe\"}",
            b"\xff\xfe",
            br#"{"statusCode":200}{}"#,
            br#"{"statusCode":200,"headers":"x: y"}"#,
            br#"{"statusCode":200,"headers":["x"]}"#,
            br#"{"statusCode":"200"}"#,
        ] {
            assert_eq!(
                unchanged(shape, malformed),
                Untagged::Malformed,
                "{shape:?} {}",
                String::from_utf8_lossy(malformed)
            );
        }
        // Payload 2.0 has no multiValueHeaders: the gateway ignores it, the tagger leaves it.
        let multi = unchanged(shape, br#"{"statusCode":200,"multiValueHeaders":7}"#);
        if shape == ResponseShape::HttpV2 {
            assert_eq!(multi, Untagged::HeadersNotObject);
        } else {
            assert_eq!(multi, Untagged::Malformed);
        }
        assert_eq!(
            unchanged(shape, br#"{"statusCode":200,"headers":{},"headers":{}}"#),
            Untagged::DuplicateMember
        );
        assert_eq!(
            unchanged(shape, br#"{"statusCode":200,"statusCode":500}"#),
            Untagged::DuplicateMember
        );
    }
}

#[test]
fn status_codes_are_what_the_client_receives() {
    let status = |b: &[u8]| tag_response(ResponseShape::ProxyV1, b, &tags(false)).status;
    assert_eq!(status(br#"{"statusCode":503}"#), Some(503));
    // The shared interpretation refuses these (API Gateway answers 502 for REST, 500 for HTTP
    // API 2.0, as far as documented): the extension does not count them as that 5xx, since a
    // stricter reading than AWS's would raise errors that roll a deployment back.
    assert_eq!(status(br#"{"statusCode":"502"}"#), None);
    assert_eq!(status(br#"{"statusCode":2e2}"#), None);
    assert_eq!(status(br#"{"statusCode":99999}"#), None);
    assert_eq!(
        response_status(ResponseShape::ProxyV1, br#"{"statusCode":500}"#),
        Some(500)
    );
    assert_eq!(
        response_status(ResponseShape::HttpV2, br#"{"ok":true}"#),
        Some(200)
    );
    assert_eq!(response_status(ResponseShape::ProxyV1, b"nope"), None);
    assert_eq!(response_status(ResponseShape::HttpV2, b"nope"), None);
}

/// A body whose tagged form is exactly `target` bytes long.
fn response_of_tagged_len(target: usize) -> Vec<u8> {
    let tag_len = r#","headers":{"x-rollcall-version":"7"}"#.len();
    let skeleton = r#"{"statusCode":200,"body":""}"#.len();
    let fill = target - tag_len - skeleton;
    format!(r#"{{"statusCode":200,"body":"{}"}}"#, "a".repeat(fill)).into_bytes()
}

#[test]
fn a_response_that_would_pass_the_payload_limit_is_left_alone() {
    let fits = response_of_tagged_len(MAX_PAYLOAD_SIZE);
    assert_eq!(
        changed(ResponseShape::ProxyV1, &fits, false).len(),
        MAX_PAYLOAD_SIZE
    );
    let over = response_of_tagged_len(MAX_PAYLOAD_SIZE + 1);
    let out = tag_response(ResponseShape::ProxyV1, &over, &tags(false));
    assert_eq!(out.tagged, Tagged::Unchanged(Untagged::TooLarge));
    assert_eq!(out.status, Some(200), "still classified");
    // 2.0 inferred responses grow by escaping: same rule.
    let quotes = format!(
        r#"{{"q":[{}]}}"#,
        "\"\",".repeat(MAX_PAYLOAD_SIZE / 3 - 1) + "\"\""
    );
    assert_eq!(
        unchanged(ResponseShape::HttpV2, quotes.as_bytes()),
        Untagged::TooLarge
    );
}

#[test]
fn event_shapes_come_from_the_event() {
    assert_eq!(ResponseShape::of_raw_event(b"\"just a string\""), None);
    assert_eq!(ResponseShape::of_raw_event(br#"{"any":"json"}"#), None);
    assert_eq!(ResponseShape::of_raw_event(b"not json"), None);
    assert_eq!(
        ResponseShape::of_raw_event(br#"{"httpMethod":"GET","path":"/"}"#),
        Some(ResponseShape::ProxyV1)
    );
    assert_eq!(
        ResponseShape::of_raw_event(
            br#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET","path":"/"}}}"#
        ),
        Some(ResponseShape::HttpV2)
    );
    assert_eq!(
        ResponseShape::of_raw_event(
            br#"{"httpMethod":"GET","requestContext":{"elb":{"targetGroupArn":"arn"}},"multiValueHeaders":{"a":["b"]}}"#
        ),
        Some(ALB_MULTI)
    );
    assert_eq!(
        ResponseShape::of_raw_event(
            br#"{"httpMethod":"GET","requestContext":{"elb":{"targetGroupArn":"arn"}},"headers":{"a":"b"}}"#
        ),
        Some(ALB_SINGLE)
    );
}

#[test]
fn strip_undoes_the_tag() {
    let original = br#"{"statusCode":200,"body":"x"}"#;
    let tagged = changed(ResponseShape::ProxyV1, original, true);
    assert_eq!(strip_tags(&tagged, HEADER).unwrap(), original);
    assert_eq!(strip_tags(b"[1]", HEADER), None);
}

// ---- property tests -------------------------------------------------------------------------

fn header_name() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}".prop_filter("not a tag header", |n| {
        !n.eq_ignore_ascii_case(HEADER) && !n.eq_ignore_ascii_case(COLD_HEADER)
    })
}

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        any::<String>().prop_map(Value::from),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An HTTP response object: any status, optional non-empty header maps (names in any case,
/// duplicates in different cases), any body, cookies, base64 flag and extra members.
fn response() -> impl Strategy<Value = Value> {
    (
        100u16..600,
        prop::option::of(prop::collection::btree_map(
            header_name(),
            any::<String>(),
            1..5,
        )),
        prop::option::of(prop::collection::btree_map(
            header_name(),
            prop::collection::vec(any::<String>(), 0..3),
            1..4,
        )),
        prop::option::of(any::<String>()),
        prop::option::of(any::<bool>()),
        prop::option::of(prop::collection::vec(any::<String>(), 0..3)),
        prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3),
    )
        .prop_map(|(status, headers, multi, body, b64, cookies, extra)| {
            let mut obj: serde_json::Map<String, Value> = extra
                .into_iter()
                .filter(|(k, _)| !matches!(k.as_str(), "headers" | "cookies" | "body"))
                .collect();
            obj.insert("statusCode".into(), status.into());
            if let Some(h) = headers {
                obj.insert("headers".into(), json!(h));
            }
            if let Some(m) = multi {
                obj.insert("multiValueHeaders".into(), json!(m));
            }
            if let Some(b) = body {
                obj.insert("body".into(), b.into());
            }
            if let Some(b) = b64 {
                obj.insert("isBase64Encoded".into(), b.into());
            }
            if let Some(c) = cookies {
                obj.insert("cookies".into(), json!(c));
            }
            Value::Object(obj)
        })
}

/// `value` without `headers` / `multiValueHeaders` members that are `null` or empty.
fn without_empty_maps(mut value: Value) -> Value {
    if let Some(obj) = value.as_object_mut() {
        for key in ["headers", "multiValueHeaders"] {
            if obj
                .get(key)
                .is_some_and(|h| h.is_null() || h.as_object().is_some_and(|m| m.is_empty()))
            {
                obj.remove(key);
            }
        }
    }
    value
}

fn shape() -> impl Strategy<Value = ResponseShape> {
    prop::sample::select(ALL_SHAPES.to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x5EED), ..ProptestConfig::default() })]

    /// Tag-then-strip returns the original bytes; the tagged response carries the version
    /// exactly once per header map, and nothing else changed.
    #[test]
    fn tag_then_strip_returns_the_original(
        original in response(),
        shape in shape(),
        cold in any::<bool>(),
        version in "[$A-Za-z0-9]{1,8}",
    ) {
        let bytes = serde_json::to_vec(&original).unwrap();
        // Header values and base64 bodies the gateway refuses are left alone (tested apart).
        prop_assume!(gateway::interpret(shape.format(), &bytes).is_ok());
        let t = Tags { version_header: HEADER, version: &version, cold };
        let out = tag_response(shape, &bytes, &t);
        let Tagged::Changed(tagged) = out.tagged else {
            return Err(TestCaseError::fail(format!("unchanged: {:?}", out.tagged)));
        };
        prop_assert_eq!(out.status, original["statusCode"].as_u64().map(|s| s as u16));
        prop_assert_eq!(strip_tags(&tagged, HEADER).unwrap(), bytes);

        let parsed: Value = serde_json::from_slice(&tagged).unwrap();
        let mut maps = 0;
        for (key, multi) in [("headers", false), ("multiValueHeaders", true)] {
            // Payload 2.0 has no multiValueHeaders: that member is left as it was.
            if multi && shape == ResponseShape::HttpV2 { continue; }
            let Some(map) = parsed.get(key).and_then(Value::as_object) else { continue };
            maps += 1;
            let versions: Vec<_> = map.iter().filter(|(k, _)| k.eq_ignore_ascii_case(HEADER)).collect();
            prop_assert_eq!(versions.len(), 1);
            let expected = if multi { json!([version]) } else { json!(version) };
            prop_assert_eq!(versions[0].1, &expected);
            let colds = map.keys().filter(|k| k.eq_ignore_ascii_case(COLD_HEADER)).count();
            prop_assert_eq!(colds, usize::from(cold));
        }
        prop_assert!(maps >= 1);
        for key in ["body", "cookies", "isBase64Encoded", "statusCode"] {
            prop_assert_eq!(parsed.get(key), original.get(key));
        }
    }

    /// Any bytes: no panic; a changed response is valid JSON.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256), shape in shape()) {
        if let Tagged::Changed(out) = tag_response(shape, &bytes, &tags(true)).tagged {
            prop_assert!(serde_json::from_slice::<Value>(&out).is_ok());
        }
    }

    /// Any JSON value: no panic; when tagged, stripping gives back the same JSON value (modulo an
    /// empty header map, which tagging cannot tell from an absent one).
    #[test]
    fn arbitrary_json_is_tagged_or_left_alone(value in json_value(), shape in shape()) {
        let bytes = serde_json::to_vec(&value).unwrap();
        let out = tag_response(shape, &bytes, &tags(false));
        if let Tagged::Changed(tagged) = out.tagged {
            let back: Value = serde_json::from_slice(&strip_tags(&tagged, HEADER).unwrap()).unwrap();
            if value.get("statusCode").is_some() {
                prop_assert_eq!(without_empty_maps(back), without_empty_maps(value));
            } else {
                prop_assert_eq!(shape, ResponseShape::HttpV2);
            }
        }
    }
}
