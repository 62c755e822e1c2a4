//! What the client receives for a function's output (`protocol::gateway`), against AWS's
//! documented table and the cases found by use (bare strings, lone surrogates, whitespace).

mod common;

use protocol::gateway::{Interpretation, Malformed, OutputFormat, interpret};
use serde_json::Value;

const ALL: [OutputFormat; 3] = [
    OutputFormat::ProxyV1,
    OutputFormat::HttpV2,
    OutputFormat::Alb,
];

fn header<'a>(i: &'a Interpretation, name: &str) -> Vec<&'a str> {
    i.response
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The table "Lambda function output / API Gateway interpretation" (HTTP API Lambda
/// integration guide), row by row.
#[test]
fn payload_2_0_output_without_status_code_follows_the_aws_table() {
    let table: Value = serde_json::from_str(&common::fixture("apigw/v2_inference.json")).unwrap();
    let rows = table.as_array().unwrap();
    assert_eq!(rows.len(), 2);
    for row in rows {
        let output = row["output"].as_str().unwrap();
        let want = &row["interpretation"];
        let got = interpret(OutputFormat::HttpV2, output.as_bytes()).unwrap();
        assert_eq!(
            u64::from(got.response.status),
            want["statusCode"],
            "{output}"
        );
        assert_eq!(
            header(&got, "content-type"),
            [want["headers"]["content-type"].as_str().unwrap()],
            "{output}"
        );
        assert_eq!(want["isBase64Encoded"], false);
        assert_eq!(
            got.response.body,
            want["body"].as_str().unwrap().as_bytes(),
            "{output}"
        );
    }
}

#[test]
fn a_bare_string_is_its_content_but_not_agreed_by_function_urls() {
    let got = interpret(OutputFormat::HttpV2, br#""hello \"you\"\u00e9""#).unwrap();
    assert_eq!(got.response.body, "hello \"you\"\u{e9}".as_bytes());
    assert!(!got.agreed, "function URLs show the quotes kept");
    let object = interpret(OutputFormat::HttpV2, br#"{"a": [1, 2]}"#).unwrap();
    assert!(object.agreed);
    assert_eq!(object.response.body, br#"{"a": [1, 2]}"#);
}

/// Whitespace around the output is not part of the body, and is an extrapolation.
#[test]
fn whitespace_around_the_output_is_trimmed_and_not_agreed() {
    let plain = interpret(OutputFormat::HttpV2, br#"{"a":1}"#).unwrap();
    for padded in [&b" {\"a\":1}"[..], b"{\"a\":1}\n", b"\r\n\t {\"a\":1} \n"] {
        let got = interpret(OutputFormat::HttpV2, padded).unwrap();
        assert_eq!(got.response, plain.response, "{padded:?}");
        assert!(!got.agreed);
    }
    // Explicit responses read the same padded or not.
    let explicit = interpret(
        OutputFormat::HttpV2,
        b" {\"statusCode\":201,\"body\":\"x\"}\n",
    )
    .unwrap();
    assert_eq!((explicit.response.status, explicit.agreed), (201, true));
}

#[test]
fn other_json_without_status_code_is_its_text_and_not_agreed() {
    for (output, body) in [
        ("[1,2]", "[1,2]"),
        ("42", "42"),
        ("null", "null"),
        ("true", "true"),
    ] {
        let got = interpret(OutputFormat::HttpV2, output.as_bytes()).unwrap();
        assert_eq!(
            (got.response.status, &got.response.body[..]),
            (200, body.as_bytes())
        );
        assert!(!got.agreed, "{output}");
    }
}

/// serde_json refuses lone surrogates: the gateway cannot read the output, in every format.
#[test]
fn lone_surrogates_and_non_json_are_malformed_everywhere() {
    for format in ALL {
        for bad in [
            &br#"{"statusCode":404,"body":"x","\ud800":1}"#[..],
            br#"{"statusCode":200,"body":"\udc00"}"#,
            br#""\ud800""#,
            b"not json",
            b"{\"statusCode\":200,\"body\":\"\xff\"}",
            b"",
        ] {
            assert!(interpret(format, bad).is_err(), "{format:?} {bad:?}");
        }
    }
    assert_eq!(Malformed::client_status(OutputFormat::HttpV2), 500);
    assert_eq!(Malformed::client_status(OutputFormat::ProxyV1), 502);
}

#[test]
fn explicit_responses_are_read_as_each_gateway_reads_them() {
    // Payload 1.0: content-type defaults to JSON; multi-value headers win.
    let v1 = interpret(
        OutputFormat::ProxyV1,
        br#"{"statusCode":201,"headers":{"X-A":"1"},"multiValueHeaders":{"x-a":["2","3"]},"body":"aGk=","isBase64Encoded":true}"#,
    )
    .unwrap();
    assert_eq!(v1.response.status, 201);
    assert_eq!(header(&v1, "x-a"), ["2", "3"]);
    assert_eq!(header(&v1, "content-type"), ["application/json"]);
    assert_eq!(v1.response.body, b"hi");
    // Payload 2.0: cookies become set-cookie, no content-type default.
    let v2 = interpret(
        OutputFormat::HttpV2,
        br#"{"statusCode":200,"cookies":["a=1","b=2"],"body":"x"}"#,
    )
    .unwrap();
    assert_eq!(header(&v2, "set-cookie"), ["a=1", "b=2"]);
    assert!(header(&v2, "content-type").is_empty());
    // ALB: statusDescription is read, not sent as a header.
    let alb = interpret(
        OutputFormat::Alb,
        br#"{"statusCode":200,"statusDescription":"200 OK","headers":{"x":"y"},"body":"b"}"#,
    )
    .unwrap();
    assert_eq!(alb.response.headers, [("x".to_owned(), "y".to_owned())]);
    for (format, bad) in [
        (OutputFormat::ProxyV1, &br#"{"statusCode":"200"}"#[..]),
        (OutputFormat::ProxyV1, br#"{"body":"no status"}"#),
        (
            OutputFormat::ProxyV1,
            br#"{"statusCode":200,"headers":{"bad name":"x"}}"#,
        ),
        (
            OutputFormat::HttpV2,
            br#"{"statusCode":200,"headers":{"x":"a\nb"}}"#,
        ),
        (OutputFormat::HttpV2, br#"{"statusCode":42}"#),
        (OutputFormat::HttpV2, br#"{"statusCode":null}"#),
        (
            OutputFormat::HttpV2,
            br#"{"statusCode":200,"body":"!!","isBase64Encoded":true}"#,
        ),
        (OutputFormat::Alb, br#""just a string""#),
    ] {
        assert!(
            interpret(format, bad).is_err(),
            "{format:?} {}",
            String::from_utf8_lossy(bad)
        );
    }
}
