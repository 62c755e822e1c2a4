//! Telemetry API subscription validation, against the limits of "Lambda Telemetry API"
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-api.html>, buffering table; read
//! 2026-11-26) and RAPID's subscription JSON schema (managed-instances RIE).

use protocol::telemetry::{
    Buffering, Destination, DestinationProtocol, SUBSCRIBE_OK_BODY, SubscribeRequest,
    SubscriptionError, Target, TelemetryType, parse_subscription,
};

/// (buffering, Ok((maxItems, maxBytes, timeoutMs)) or Err(field name)).
type BufferingCase = (Option<Buffering>, Result<(u32, u32, u32), &'static str>);
/// (destination, Ok(target) or Err(error kind)).
type DestinationCase = (Destination, Result<Target, &'static str>);

fn request(buffering: Option<Buffering>, destination: Destination) -> SubscribeRequest {
    SubscribeRequest {
        schema_version: "2022-07-01".into(),
        types: vec![TelemetryType::Platform],
        buffering,
        destination,
    }
}

fn buffering(
    max_items: Option<u32>,
    max_bytes: Option<u32>,
    timeout_ms: Option<u32>,
) -> Option<Buffering> {
    Some(Buffering {
        max_items,
        max_bytes,
        timeout_ms,
    })
}

fn http(uri: &str) -> Destination {
    Destination {
        protocol: DestinationProtocol::Http,
        uri: Some(uri.into()),
        port: None,
    }
}

#[test]
fn buffering_limits_table() {
    let d = || http("http://sandbox.localdomain:9003");
    // (buffering, Ok((maxItems, maxBytes, timeoutMs)) or Err(field))
    let cases: Vec<BufferingCase> = vec![
        (None, Ok((10_000, 262_144, 1_000))),
        (buffering(None, None, None), Ok((10_000, 262_144, 1_000))),
        (
            buffering(Some(1_000), Some(262_144), Some(25)),
            Ok((1_000, 262_144, 25)),
        ),
        (
            buffering(Some(10_000), Some(1_048_576), Some(30_000)),
            Ok((10_000, 1_048_576, 30_000)),
        ),
        (buffering(Some(999), None, None), Err("maxItems")),
        (buffering(Some(10_001), None, None), Err("maxItems")),
        (buffering(None, Some(262_143), None), Err("maxBytes")),
        (buffering(None, Some(1_048_577), None), Err("maxBytes")),
        (buffering(None, None, Some(24)), Err("timeoutMs")),
        (buffering(None, None, Some(30_001)), Err("timeoutMs")),
    ];
    for (b, want) in cases {
        let got = request(b, d()).validate();
        match (got, want) {
            (Ok(s), Ok(limits)) => assert_eq!((s.max_items, s.max_bytes, s.timeout_ms), limits),
            (Err(SubscriptionError::Buffering { field, .. }), Err(want)) => assert_eq!(field, want),
            (got, want) => panic!("{b:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn destination_table() {
    // (destination, expected target or error kind)
    let tcp = |port| Destination {
        protocol: DestinationProtocol::Tcp,
        uri: None,
        port,
    };
    let cases: Vec<DestinationCase> = vec![
        (
            http("http://sandbox.localdomain:9003"),
            Ok(Target::Http {
                port: 9003,
                path: "/".into(),
            }),
        ),
        (
            http("http://sandbox.localdomain:8080/lambda_logs"),
            Ok(Target::Http {
                port: 8080,
                path: "/lambda_logs".into(),
            }),
        ),
        (
            http("http://sandbox:8080"),
            Ok(Target::Http {
                port: 8080,
                path: "/".into(),
            }),
        ),
        (
            http("http://sandbox.localdomain"),
            Ok(Target::Http {
                port: 80,
                path: "/".into(),
            }),
        ),
        (tcp(Some(9004)), Ok(Target::Tcp { port: 9004 })),
        (http("https://sandbox.localdomain:8080"), Err("destination")),
        (http("http://127.0.0.1:8080"), Err("host")),
        (http("http://example.com:8080"), Err("host")),
        (http("http://sandbox.localdomain:0"), Err("destination")),
        (http("http://sandbox.localdomain:99999"), Err("destination")),
        (
            Destination {
                protocol: DestinationProtocol::Http,
                uri: None,
                port: Some(1),
            },
            Err("destination"),
        ),
        (tcp(None), Err("destination")),
        (tcp(Some(0)), Err("destination")),
    ];
    for (dest, want) in cases {
        let got = request(None, dest.clone()).validate();
        match (got, want) {
            (Ok(s), Ok(target)) => assert_eq!(s.target, target, "{dest:?}"),
            (Err(SubscriptionError::Destination(_)), Err("destination"))
            | (Err(SubscriptionError::Host(_)), Err("host")) => {}
            (got, want) => panic!("{dest:?}: got {got:?}, want {want:?}"),
        }
    }
}

#[test]
fn body_level_validation_table() {
    // (body, error kind or None for success)
    let cases: [(&str, Option<&str>); 8] = [
        (
            r#"{"schemaVersion":"2022-07-01","types":["platform","function"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:9003"}}"#,
            None,
        ),
        (
            r#"{"schemaVersion":"2022-12-13","types":["extension"],"destination":{"protocol":"TCP","port":9004}}"#,
            None,
        ),
        (
            r#"{"schemaVersion":"2021-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:1"}}"#,
            Some("schema"),
        ),
        (
            r#"{"schemaVersion":"2022-07-01","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:1"}}"#,
            Some("types"),
        ),
        (
            r#"{"schemaVersion":"2022-07-01","types":["platform","bogus"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:1"}}"#,
            Some("json"),
        ),
        (
            r#"{"types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
            Some("json"),
        ),
        (
            r#"{"schemaVersion":"2022-07-01","types":["platform"]}"#,
            Some("json"),
        ),
        ("not json", Some("json")),
    ];
    for (body, want) in cases {
        let got = parse_subscription(body.as_bytes());
        let kind = got.as_ref().err().map(|e| match e {
            SubscriptionError::InvalidJson(_) => "json",
            SubscriptionError::SchemaVersion(_) => "schema",
            SubscriptionError::NoTypes => "types",
            other => panic!("{body}: unexpected {other:?}"),
        });
        assert_eq!(kind, want, "{body}");
    }
}

#[test]
fn errors_render_as_lambdas_validation_error_body() {
    let err = request(
        buffering(Some(5), None, None),
        http("http://sandbox.localdomain:1"),
    )
    .validate()
    .unwrap_err();
    let body = serde_json::to_value(err.to_error_response()).unwrap();
    assert_eq!(body["errorType"], "ValidationError");
    let msg = body["errorMessage"].as_str().unwrap();
    assert!(
        msg.contains("maxItems") && msg.contains("1000") && msg.contains("10000"),
        "{msg}"
    );
    assert_eq!(SubscriptionError::STATUS, 400);
    assert_eq!(
        serde_json::from_str::<String>(SUBSCRIBE_OK_BODY).unwrap(),
        "OK"
    );
}

#[test]
fn the_request_lambda_extension_sends_is_valid() {
    let req = SubscribeRequest::http(vec![TelemetryType::Platform, TelemetryType::Function], 9003);
    let json = serde_json::to_value(&req).unwrap();
    assert_eq!(
        json["destination"]["URI"],
        "http://sandbox.localdomain:9003"
    );
    assert_eq!(json["schemaVersion"], "2022-07-01");
    let sub = parse_subscription(&serde_json::to_vec(&req).unwrap()).unwrap();
    assert_eq!(
        sub.target,
        Target::Http {
            port: 9003,
            path: "/".into()
        }
    );
    assert_eq!(
        sub.types,
        vec![TelemetryType::Platform, TelemetryType::Function]
    );
}
