use std::net::Ipv4Addr;

use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::api::gateway::route::{Route, RouteTable};

fn meta(stage: &str) -> RequestMeta {
    RequestMeta {
        request_id: "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into(),
        time: datetime!(2026-11-26 05:06:07.089 UTC),
        stage: stage.into(),
        api_id: "lab".into(),
        account_id: "123456789012".into(),
    }
}

struct Req {
    method: http::Method,
    uri: http::Uri,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Req {
    fn new(method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Self {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Self {
            method: method.parse().unwrap(),
            uri: uri.parse().unwrap(),
            headers: map,
            body: body.to_vec(),
        }
    }

    fn parts(&self) -> HttpRequestParts<'_> {
        HttpRequestParts {
            method: &self.method,
            uri: &self.uri,
            version: http::Version::HTTP_11,
            headers: &self.headers,
            body: &self.body,
            source_ip: IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)),
        }
    }
}

fn event(format: PayloadFormat, route: &str, req: &Req, stage: &str) -> Value {
    let table = RouteTable::new(vec![Route::parse(route, format).unwrap()]);
    let parts = req.parts();
    let matched = table.find(parts.method.as_str(), parts.uri.path()).unwrap();
    serde_json::from_slice(&event_payload(format, &parts, &matched, &meta(stage))).unwrap()
}

fn sample() -> Req {
    Req::new(
        "GET",
        "/items/7?a=1&a=2&b=x%20y&flag",
        &[
            ("host", "127.0.0.1:3000"),
            ("user-agent", "curl/8"),
            ("x-multi", "one"),
            ("x-multi", "two"),
            ("cookie", "s=1; t=2"),
        ],
        b"",
    )
}

#[test]
fn v1_event_has_every_rest_field() {
    let e = event(PayloadFormat::V1, "GET /items/{id}", &sample(), "Prod");
    assert_eq!(e["resource"], "/items/{id}");
    assert_eq!(e["path"], "/items/7");
    assert_eq!(e["httpMethod"], "GET");
    assert_eq!(e["headers"]["x-multi"], "two", "last value wins");
    assert_eq!(e["multiValueHeaders"]["x-multi"], json!(["one", "two"]));
    assert_eq!(e["headers"]["cookie"], "s=1; t=2");
    assert_eq!(
        e["queryStringParameters"],
        json!({"a": "2", "b": "x y", "flag": ""})
    );
    assert_eq!(
        e["multiValueQueryStringParameters"],
        json!({"a": ["1", "2"], "b": ["x y"], "flag": [""]})
    );
    assert_eq!(e["pathParameters"], json!({"id": "7"}));
    assert_eq!(e["stageVariables"], Value::Null);
    assert!(e.as_object().unwrap().contains_key("stageVariables"));
    assert_eq!(e["body"], Value::Null);
    assert_eq!(e["isBase64Encoded"], false);
    assert!(e.get("version").is_none(), "REST events carry no version");
    let ctx = &e["requestContext"];
    assert_eq!(ctx["requestId"], "c6af9ac6-7b61-11e6-9a41-93e8deadbeef");
    assert_eq!(ctx["stage"], "Prod");
    assert_eq!(ctx["path"], "/Prod/items/7");
    assert_eq!(ctx["resourcePath"], "/items/{id}");
    assert_eq!(ctx["httpMethod"], "GET");
    assert_eq!(ctx["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["identity"]["userAgent"], "curl/8");
    assert_eq!(ctx["requestTimeEpoch"], 1_795_669_567_089_i64);
    assert_eq!(ctx["requestTime"], "26/Nov/2026:05:06:07 +0000");
    assert_eq!(ctx["protocol"], "HTTP/1.1");
    assert_eq!(ctx["domainName"], "127.0.0.1:3000");
    assert_eq!(ctx["accountId"], "123456789012");
    // What the extension keys on (DESIGN, the wire contract).
    assert_eq!(protocol::event_kind(&e), protocol::EventKind::RestV1);
}

#[test]
fn v2_event_has_every_http_api_field() {
    let e = event(PayloadFormat::V2, "GET /items/{id}", &sample(), "$default");
    assert_eq!(e["version"], "2.0");
    assert_eq!(e["routeKey"], "GET /items/{id}");
    assert_eq!(e["rawPath"], "/items/7");
    assert_eq!(e["rawQueryString"], "a=1&a=2&b=x%20y&flag");
    assert_eq!(e["cookies"], json!(["s=1", "t=2"]));
    assert_eq!(
        e["headers"]["x-multi"], "one,two",
        "duplicates comma-joined"
    );
    assert!(
        e["headers"].get("cookie").is_none(),
        "cookies move to `cookies`"
    );
    assert_eq!(
        e["queryStringParameters"],
        json!({"a": "1,2", "b": "x y", "flag": ""})
    );
    assert_eq!(e["pathParameters"], json!({"id": "7"}));
    assert!(e.get("body").is_none(), "no body member without a body");
    assert_eq!(e["isBase64Encoded"], false);
    assert!(e.get("multiValueHeaders").is_none());
    let ctx = &e["requestContext"];
    assert_eq!(ctx["http"]["method"], "GET");
    assert_eq!(ctx["http"]["path"], "/items/7");
    assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "curl/8");
    assert_eq!(ctx["routeKey"], "GET /items/{id}");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["timeEpoch"], 1_795_669_567_089_i64);
    assert_eq!(ctx["time"], "26/Nov/2026:05:06:07 +0000");
    assert_eq!(protocol::event_kind(&e), protocol::EventKind::HttpV2);
}

#[test]
fn bodies_are_base64_for_non_text() {
    let cases: &[(Option<&str>, &[u8], &str, bool)] = &[
        (Some("application/json"), b"{\"a\":1}", "{\"a\":1}", false),
        (Some("text/plain; charset=utf-8"), b"hi", "hi", false),
        (Some("application/vnd.api+json"), b"{}", "{}", false),
        (
            Some("application/x-www-form-urlencoded"),
            b"a=1",
            "a=1",
            false,
        ),
        (None, b"plain", "plain", false),
        (Some("application/octet-stream"), b"abc", "YWJj", true),
        (
            Some("image/png"),
            &[0x89, 0x50, 0x4e, 0x47],
            "iVBORw==",
            true,
        ),
        (Some("text/plain"), &[0xff, 0xfe], "//4=", true),
        (None, &[0xff], "/w==", true),
    ];
    for (content_type, body, want_body, want_b64) in cases {
        let headers: Vec<(&str, &str)> =
            content_type.iter().map(|c| ("content-type", *c)).collect();
        let req = Req::new("POST", "/up", &headers, body);
        for format in [PayloadFormat::V1, PayloadFormat::V2] {
            let e = event(format, "ANY /{proxy+}", &req, "s");
            assert_eq!(e["body"], *want_body, "{content_type:?} {format}");
            assert_eq!(e["isBase64Encoded"], *want_b64, "{content_type:?} {format}");
        }
    }
}

#[test]
fn no_query_no_path_parameters_are_null_in_v1_absent_in_v2() {
    let req = Req::new("GET", "/hello", &[("host", "h")], b"");
    let v1 = event(PayloadFormat::V1, "GET /hello", &req, "Prod");
    assert_eq!(v1["queryStringParameters"], Value::Null);
    assert_eq!(v1["multiValueQueryStringParameters"], Value::Null);
    assert_eq!(v1["pathParameters"], Value::Null);
    let v2 = event(PayloadFormat::V2, "$default", &req, "$default");
    assert_eq!(v2["routeKey"], "$default");
    assert_eq!(v2["rawQueryString"], "");
    for key in [
        "queryStringParameters",
        "pathParameters",
        "cookies",
        "stageVariables",
    ] {
        assert!(v2.get(key).is_none(), "{key}");
    }
}

fn parts(r: &Response<Bytes>) -> (u16, Vec<(String, String)>, String) {
    let headers = r
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    (
        r.status().as_u16(),
        headers,
        String::from_utf8_lossy(r.body()).into_owned(),
    )
}

type Expect<'a> = Option<(u16, &'a [(&'a str, &'a str)], &'a str)>;

fn check(convert: fn(&[u8]) -> Result<Response<Bytes>, Malformed>, cases: &[(&str, Expect<'_>)]) {
    for (payload, want) in cases {
        let got = convert(payload.as_bytes());
        match (want, got) {
            (None, Err(_)) => {}
            (None, Ok(r)) => panic!("{payload}: expected malformed, got {:?}", parts(&r)),
            (Some(_), Err(e)) => panic!("{payload}: {e}"),
            (Some((status, headers, body)), Ok(r)) => {
                let want_headers: Vec<(String, String)> = headers
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect();
                let (s, mut h, b) = parts(&r);
                h.sort();
                let mut want_headers = want_headers;
                want_headers.sort();
                assert_eq!(
                    (s, h, b.as_str()),
                    (*status, want_headers, *body),
                    "{payload}"
                );
            }
        }
    }
}

#[test]
fn v1_responses() {
    const JSON: (&str, &str) = ("content-type", "application/json");
    check(
        v1_response,
        &[
            (
                r#"{"statusCode":200,"body":"hi"}"#,
                Some((200, &[JSON], "hi")),
            ),
            (
                r#"{"statusCode":201,"headers":{"X-A":"1","x-b":"2","content-type":"text/plain"},"multiValueHeaders":{"x-a":["3","4"]},"body":""}"#,
                Some((
                    201,
                    &[
                        ("x-a", "3"),
                        ("x-a", "4"),
                        ("x-b", "2"),
                        ("content-type", "text/plain"),
                    ],
                    "",
                )),
            ),
            (
                r#"{"statusCode":200,"isBase64Encoded":true,"body":"aGk=","headers":{"content-type":"application/octet-stream"}}"#,
                Some((200, &[("content-type", "application/octet-stream")], "hi")),
            ),
            (r#"{"statusCode":404}"#, Some((404, &[JSON], ""))),
            ("not json", None),
            (r#""a string""#, None),
            (r#"{"body":"no status"}"#, None),
            (r#"{"statusCode":"200","body":"x"}"#, None),
            (r#"{"statusCode":200,"body":{"a":1}}"#, None),
            (
                r#"{"statusCode":200,"isBase64Encoded":true,"body":"!!"}"#,
                None,
            ),
            (r#"{"statusCode":1000}"#, None),
            (r#"{"statusCode":200,"headers":{"bad name":"x"}}"#, None),
        ],
    );
}

#[test]
fn v2_responses() {
    const JSON: (&str, &str) = ("content-type", "application/json");
    check(
        v2_response,
        &[
            (
                r#"{"statusCode":201,"headers":{"x-a":"1"},"cookies":["a=1; Path=/","b=2"],"body":"made"}"#,
                Some((
                    201,
                    &[
                        ("x-a", "1"),
                        ("set-cookie", "a=1; Path=/"),
                        ("set-cookie", "b=2"),
                    ],
                    "made",
                )),
            ),
            (
                r#"{"statusCode":200,"isBase64Encoded":true,"body":"aGk="}"#,
                Some((200, &[], "hi")),
            ),
            (
                r#"{"message":"hello","version":"2"}"#,
                Some((200, &[JSON], r#"{"message":"hello","version":"2"}"#)),
            ),
            (
                r#""Hello from Lambda!""#,
                Some((200, &[JSON], "Hello from Lambda!")),
            ),
            ("[1, 2]", Some((200, &[JSON], "[1, 2]"))),
            ("42\n", Some((200, &[JSON], "42"))),
            ("not json", None),
            (r#"{"statusCode":"x"}"#, None),
            (r#"{"statusCode":200,"cookies":"a=1"}"#, None),
            (
                r#"{"statusCode":200,"isBase64Encoded":true,"body":"%%"}"#,
                None,
            ),
        ],
    );
}

#[test]
fn failures_map_to_gateway_errors() {
    let ok = |body: &str| -> Result<InvokeResponse, InvokeError> {
        Ok(InvokeResponse {
            executed_version: "1".into(),
            cold_start: false,
            outcome: InvokeOutcome::Success {
                body: Bytes::copy_from_slice(body.as_bytes()),
            },
        })
    };
    let function_error = Ok(InvokeResponse {
        executed_version: "1".into(),
        cold_start: true,
        outcome: InvokeOutcome::FunctionError {
            error_type: "Runtime.ExitError".into(),
            body: Bytes::from_static(b"{}"),
        },
    });
    let service = Err(InvokeError::Service {
        status: 502,
        error_type: "Runtime.InitError".into(),
        message: "init failed".into(),
    });
    let rest_error = r#"{"message": "Internal server error"}"#;
    let http_error = r#"{"message":"Internal Server Error"}"#;
    type Case<'a> = (
        Result<InvokeResponse, InvokeError>,
        PayloadFormat,
        u16,
        &'a str,
        Option<GatewayFailure>,
    );
    let cases: Vec<Case<'_>> = vec![
        (
            ok(r#"{"statusCode":200,"body":"x"}"#),
            PayloadFormat::V1,
            200,
            "x",
            None,
        ),
        (
            ok("garbage"),
            PayloadFormat::V1,
            502,
            rest_error,
            Some(GatewayFailure::MalformedResponse),
        ),
        (
            ok("garbage"),
            PayloadFormat::V2,
            500,
            http_error,
            Some(GatewayFailure::MalformedResponse),
        ),
        (ok(r#"{"a":1}"#), PayloadFormat::V2, 200, r#"{"a":1}"#, None),
        (
            function_error.clone(),
            PayloadFormat::V1,
            502,
            rest_error,
            Some(GatewayFailure::FunctionError),
        ),
        (
            function_error,
            PayloadFormat::V2,
            500,
            http_error,
            Some(GatewayFailure::FunctionError),
        ),
        (
            service,
            PayloadFormat::V1,
            502,
            rest_error,
            Some(GatewayFailure::FunctionError),
        ),
        (
            Err(InvokeError::Throttled("x".into())),
            PayloadFormat::V1,
            500,
            rest_error,
            Some(GatewayFailure::InvokeRejected),
        ),
        (
            Err(InvokeError::NotFound("x".into())),
            PayloadFormat::V2,
            500,
            http_error,
            Some(GatewayFailure::InvokeRejected),
        ),
        (
            Err(InvokeError::RequestTooLarge("x".into())),
            PayloadFormat::V1,
            500,
            rest_error,
            Some(GatewayFailure::InvokeRejected),
        ),
    ];
    for (result, format, status, body, failure) in cases {
        let (response, got_failure) = gateway_response(format, &result);
        assert_eq!(response.status().as_u16(), status, "{result:?} {format}");
        assert_eq!(
            response.body().as_ref(),
            body.as_bytes(),
            "{result:?} {format}"
        );
        assert_eq!(got_failure, failure);
    }
    let timeout = failure_response(PayloadFormat::V1, GatewayFailure::IntegrationTimeout);
    assert_eq!(timeout.status().as_u16(), 504);
    assert_eq!(
        failure_response(PayloadFormat::V2, GatewayFailure::IntegrationTimeout)
            .status()
            .as_u16(),
        503
    );
}

#[test]
fn percent_decoding() {
    for (raw, want) in [
        ("a%20b", "a b"),
        ("a+b", "a+b"),
        ("%zz", "%zz"),
        ("%", "%"),
        ("%C3%A9", "é"),
    ] {
        assert_eq!(percent_decode(raw), want);
    }
}

/// The members of `sample` (a recorded AWS payload) missing from `ours`, recursively for the
/// objects named in `nested`.
fn missing_members(
    sample: &Value,
    ours: &Value,
    nested: &[&str],
    optional: &[&str],
) -> Vec<String> {
    let mut missing = Vec::new();
    for (key, value) in sample.as_object().unwrap() {
        if optional.contains(&key.as_str()) {
            continue;
        }
        match ours.get(key) {
            None => missing.push(key.clone()),
            Some(mine) if nested.contains(&key.as_str()) => missing.extend(
                missing_members(value, mine, nested, optional)
                    .into_iter()
                    .map(|k| format!("{key}.{k}")),
            ),
            Some(_) => {}
        }
    }
    missing
}

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../protocol/tests/fixtures/apigw"
);

#[test]
fn events_have_every_member_of_the_aws_samples() {
    let read = |name: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(format!("{FIXTURES}/{name}")).unwrap())
            .unwrap()
    };
    let req = Req::new(
        "POST",
        "/hello/world?name=me",
        &[("host", "h"), ("cookie", "a=1"), ("user-agent", "ua")],
        b"{}",
    );
    let v1 = event(PayloadFormat::V1, "ANY /{proxy+}", &req, "Prod");
    let missing = missing_members(
        &read("rest_v1_request.json"),
        &v1,
        &["requestContext", "identity"],
        &[],
    );
    assert!(missing.is_empty(), "payload 1.0 lacks {missing:?}");
    let v2 = event(PayloadFormat::V2, "ANY /{proxy+}", &req, "$default");
    // Members that depend on configuration we do not emulate (authorizers, stage variables).
    let optional = ["authentication", "authorizer", "stageVariables"];
    let missing = missing_members(
        &read("http_v2_request.json"),
        &v2,
        &["requestContext", "http"],
        &optional,
    );
    assert!(missing.is_empty(), "payload 2.0 lacks {missing:?}");
}
