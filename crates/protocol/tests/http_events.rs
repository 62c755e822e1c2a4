//! API Gateway, function URL and ALB fixtures, response interpretation and event-kind detection.
//!
//! Sources (read 2026-11-26 from the project's stored copies):
//! - `rest_v1_request.json`: "Set up Lambda proxy integrations in API Gateway", section "Input
//!   format of a Lambda function for proxy integration",
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>
//!   (the page's `multiValueHeaders` uses single quotes and an empty `''` key: fixed/dropped).
//! - `rest_v1_response.json`: the output format of the same page, with values from the AWS
//!   knowledge-center article "malformed Lambda proxy response" and a `multiValueHeaders` member.
//! - `http_v1_request.json`, `http_v2_request.json`, `http_v2_response.json`: "Create AWS Lambda
//!   proxy integrations for HTTP APIs",
//!   <https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>.
//! - `function_url_request.json`, `function_url_response.json`: "Invoking Lambda function URLs",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html>.
//! - `alb/request.json`, `alb/response.json`: "Process Application Load Balancer requests with
//!   Lambda", <https://docs.aws.amazon.com/lambda/latest/dg/services-alb.html> (`False` -> `false`).
//! - `alb/*_multi_value.json`: the multi-value forms described in "Lambda functions as targets",
//!   <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html>,
//!   written onto the request above.

mod common;

use common::{fixture, fixture_value, round_trip};
use protocol::alb::{AlbRequest, AlbResponse};
use protocol::apigw::{HttpRequestV2, HttpResponseV2, ProxyRequestV1, ProxyResponseV1};
use protocol::{EventKind, event_kind};
use serde_json::json;

#[test]
fn api_gateway_fixtures_round_trip() {
    let rest: ProxyRequestV1 = round_trip("apigw/rest_v1_request.json");
    assert_eq!(rest.version, None);
    assert_eq!(rest.http_method, "POST");
    assert_eq!(
        rest.multi_value_query_string_parameters.unwrap()["multivalueName"],
        vec!["you", "me"]
    );
    let identity = rest.request_context.identity.unwrap();
    assert_eq!(identity.source_ip.as_deref(), Some("192.168.196.186"));
    assert!(
        identity.extra.contains_key("apiKey"),
        "unmodelled identity members are kept"
    );

    let http1: ProxyRequestV1 = round_trip("apigw/http_v1_request.json");
    assert_eq!(http1.version.as_deref(), Some("1.0"));
    assert_eq!(
        http1.request_context.request_time_epoch,
        Some(1_583_349_317_135)
    );
    assert!(
        http1
            .request_context
            .identity
            .unwrap()
            .client_cert
            .is_some()
    );

    for file in [
        "apigw/http_v2_request.json",
        "apigw/function_url_request.json",
    ] {
        let v2: HttpRequestV2 = round_trip(file);
        assert_eq!(v2.version, "2.0", "{file}");
        assert_eq!(v2.request_context.http.method, "POST", "{file}");
        assert_eq!(
            v2.cookies.as_deref(),
            Some(&["cookie1".to_owned(), "cookie2".to_owned()][..])
        );
    }

    let resp: ProxyResponseV1 = round_trip("apigw/rest_v1_response.json");
    assert_eq!(resp.status_code, 200);
    let resp: HttpResponseV2 = round_trip("apigw/http_v2_response.json");
    assert_eq!(resp.cookies.unwrap().len(), 2);
    let resp: HttpResponseV2 = round_trip("apigw/function_url_response.json");
    assert_eq!(resp.status_code, 201);
}

#[test]
fn payload_1_0_requests_serialise_absent_members_as_null_like_aws() {
    let minimal: ProxyRequestV1 = serde_json::from_value(json!({"httpMethod": "GET"})).unwrap();
    let v = serde_json::to_value(&minimal).unwrap();
    for member in [
        "body",
        "headers",
        "queryStringParameters",
        "pathParameters",
        "stageVariables",
    ] {
        assert!(
            v[member].is_null() && v.get(member).is_some(),
            "{member} should be null"
        );
    }
    assert!(v.get("version").is_none(), "REST payloads have no version");
}

#[test]
fn responses_are_read_the_way_api_gateway_reads_them() {
    // Only statusCode is required; every other member may be omitted.
    let r: ProxyResponseV1 = serde_json::from_value(json!({"statusCode": 204})).unwrap();
    assert_eq!((r.status_code, r.headers, r.body), (204, None, None));
    // A string or fractional status code is malformed (API Gateway answers 502).
    for bad in [
        json!({"statusCode": "200"}),
        json!({"statusCode": 200.5}),
        json!({}),
    ] {
        assert!(
            serde_json::from_value::<ProxyResponseV1>(bad.clone()).is_err(),
            "{bad}"
        );
    }
    // Multi-value headers win over single-value ones with the same (case-insensitive) name.
    let r: ProxyResponseV1 = serde_json::from_value(json!({
        "statusCode": 200,
        "headers": {"content-type": "text/plain", "x-a": "1"},
        "multiValueHeaders": {"Content-Type": ["application/json"], "set-cookie": ["a", "b"]}
    }))
    .unwrap();
    let mut merged = r.merged_headers();
    merged.sort();
    let want = [
        ("Content-Type", "application/json"),
        ("set-cookie", "a"),
        ("set-cookie", "b"),
        ("x-a", "1"),
    ];
    assert_eq!(
        merged,
        want.map(|(k, v)| (k.to_owned(), v.to_owned())).to_vec()
    );
}

#[test]
fn alb_fixtures_round_trip() {
    let single: AlbRequest = round_trip("alb/request.json");
    assert!(!single.uses_multi_value_headers());
    assert!(
        single
            .request_context
            .elb
            .target_group_arn
            .contains(":targetgroup/lambda-")
    );
    assert_eq!(single.body, "");

    let multi: AlbRequest = round_trip("alb/request_multi_value.json");
    assert!(multi.uses_multi_value_headers());
    assert_eq!(multi.headers, None);

    let resp: AlbResponse = round_trip("alb/response.json");
    assert_eq!(resp.status_description.as_deref(), Some("200 OK"));
    let resp: AlbResponse = round_trip("alb/response_multi_value.json");
    assert_eq!(resp.multi_value_headers.unwrap()["Set-cookie"].len(), 2);
}

#[test]
fn event_kind_detects_each_payload() {
    // (event, expected kind, what it is)
    let cases = [
        (
            fixture_value("apigw/rest_v1_request.json"),
            EventKind::RestV1,
            "REST proxy",
        ),
        (
            fixture_value("apigw/http_v1_request.json"),
            EventKind::HttpV1,
            "HTTP API 1.0",
        ),
        (
            fixture_value("apigw/http_v2_request.json"),
            EventKind::HttpV2,
            "HTTP API 2.0",
        ),
        (
            fixture_value("apigw/function_url_request.json"),
            EventKind::HttpV2,
            "function URL",
        ),
        (fixture_value("alb/request.json"), EventKind::Alb, "ALB"),
        (
            fixture_value("alb/request_multi_value.json"),
            EventKind::Alb,
            "ALB multi-value",
        ),
        (
            json!({"type": "TOKEN", "methodArn": "arn:aws:execute-api:...", "authorizationToken": "x"}),
            EventKind::Other,
            "REST TOKEN authorizer",
        ),
        (
            json!({"type": "REQUEST", "methodArn": "arn", "httpMethod": "GET", "resource": "/"}),
            EventKind::Other,
            "REST REQUEST authorizer (has httpMethod)",
        ),
        (
            json!({"version": "2.0", "type": "REQUEST", "routeArn": "arn", "requestContext": {"http": {"method": "GET", "path": "/"}}}),
            EventKind::Other,
            "HTTP API 2.0 authorizer",
        ),
        (
            json!({"Records": [{"eventSource": "aws:sqs", "body": "x"}]}),
            EventKind::Other,
            "SQS",
        ),
        (
            json!({"version": "0", "detail-type": "Scheduled Event"}),
            EventKind::Other,
            "EventBridge",
        ),
        (
            json!({"version": "2.0"}),
            EventKind::Other,
            "version 2.0 without requestContext.http",
        ),
        (
            json!({"httpMethod": 5}),
            EventKind::Other,
            "httpMethod not a string",
        ),
        (
            json!({"version": "2.0", "methodArn": null, "routeArn": null, "requestContext": {"http": {"method": "GET", "path": "/"}}}),
            EventKind::HttpV2,
            "function URL event from cargo lambda watch (null authorizer members are absent)",
        ),
        (
            json!({"httpMethod": "GET", "methodArn": null}),
            EventKind::RestV1,
            "REST proxy event with a null methodArn",
        ),
        (json!("just a string"), EventKind::Other, "non-object"),
        (json!(null), EventKind::Other, "null"),
    ];
    for (event, want, what) in cases {
        assert_eq!(event_kind(&event), want, "{what}");
        assert_eq!(want.is_http(), want != EventKind::Other);
    }
}

#[test]
fn fixtures_are_valid_json_text() {
    // Guards against hand-edit slips in the files themselves (the AWS pages had several).
    for file in [
        "alb/request.json",
        "apigw/rest_v1_request.json",
        "emf/document.json",
    ] {
        serde_json::from_str::<serde_json::Value>(&fixture(file)).unwrap();
    }
}

#[test]
fn bodies_decode_per_is_base64_encoded() {
    use protocol::apigw::decode_body;
    // (body, isBase64Encoded, expected bytes or None for an error)
    type Case<'a> = (Option<&'a str>, bool, Option<&'a [u8]>);
    let cases: [Case; 6] = [
        (None, false, Some(b"")),
        (None, true, Some(b"")),
        (Some("héllo"), false, Some("héllo".as_bytes())),
        (Some("aGVsbG8="), true, Some(b"hello")),
        (Some("aGVsbG8="), false, Some(b"aGVsbG8=")),
        (Some("not base64!"), true, None),
    ];
    for (body, b64, want) in cases {
        assert_eq!(
            decode_body(body, b64).ok().as_deref(),
            want,
            "{body:?} {b64}"
        );
    }
    let rest: ProxyRequestV1 = round_trip("apigw/rest_v1_request.json");
    assert_eq!(rest.body_bytes().unwrap(), b"{\r\n\t\"a\": 1\r\n}");
    let alb: AlbRequest = round_trip("alb/request.json");
    assert!(alb.body_bytes().unwrap().is_empty());
}
