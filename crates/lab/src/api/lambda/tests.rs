use super::*;
use crate::invoke::InvokeError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::Method;

fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    pairs
        .iter()
        .map(|(k, v)| {
            (
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            )
        })
        .collect()
}

#[test]
fn parses_names_arns_and_qualifiers() {
    let cases: &[(&str, Option<&str>, &str, Option<&str>)] = &[
        (
            "/2015-03-31/functions/hello/invocations",
            None,
            "hello",
            None,
        ),
        (
            "/2015-03-31/functions/hello/invocations",
            Some("Qualifier=live"),
            "hello",
            Some("live"),
        ),
        (
            "/2015-03-31/functions/hello:2/invocations",
            None,
            "hello",
            Some("2"),
        ),
        (
            "/2015-03-31/functions/hello%3A2/invocations",
            Some("Qualifier=2"),
            "hello",
            Some("2"),
        ),
        (
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ahello%3Alive/invocations",
            None,
            "hello",
            Some("live"),
        ),
        (
            "/2015-03-31/functions/123456789012:function:hello/invocations",
            None,
            "hello",
            None,
        ),
        (
            "/2015-03-31/functions/hello/invocations",
            Some("Qualifier=%24LATEST"),
            "hello",
            Some("$LATEST"),
        ),
    ];
    for (path, query, function, qualifier) in cases {
        let call = parse_invoke(&Method::POST, path, *query, &headers(&[])).unwrap();
        assert_eq!(call.function, *function, "{path}");
        assert_eq!(call.qualifier.as_deref(), *qualifier, "{path}");
        assert_eq!(call.invocation_type, InvocationType::RequestResponse);
    }
}

#[test]
fn parses_headers() {
    let call = parse_invoke(
        &Method::POST,
        "/2015-03-31/functions/f/invocations",
        None,
        &headers(&[
            ("x-amz-invocation-type", "Event"),
            (
                "x-amz-client-context",
                &BASE64.encode(r#"{"custom":{"a":"b"}}"#),
            ),
            ("x-amz-log-type", "Tail"),
        ]),
    )
    .unwrap();
    assert_eq!(call.invocation_type, InvocationType::Event);
    assert_eq!(
        call.client_context.as_deref(),
        Some(r#"{"custom":{"a":"b"}}"#)
    );
    assert!(call.tail);
    let dry = parse_invoke(
        &Method::POST,
        "/2015-03-31/functions/f/invocations",
        None,
        &headers(&[("x-amz-invocation-type", "DryRun")]),
    )
    .unwrap();
    assert_eq!(dry.invocation_type, InvocationType::DryRun);
}

#[test]
fn refuses_bad_requests() {
    type Case<'a> = (
        &'a Method,
        &'a str,
        Option<&'a str>,
        &'a [(&'a str, &'a str)],
        u16,
        &'a str,
    );
    let cases: &[Case<'_>] = &[
        (
            &Method::POST,
            "/2015-03-31/functions/f/other",
            None,
            &[],
            404,
            "UnknownOperationException",
        ),
        (
            &Method::GET,
            "/2015-03-31/functions/f/invocations",
            None,
            &[],
            405,
            "UnknownOperationException",
        ),
        (
            &Method::POST,
            "/2015-03-31/functions/f:1/invocations",
            Some("Qualifier=2"),
            &[],
            400,
            "InvalidParameterValueException",
        ),
        (
            &Method::POST,
            "/2015-03-31/functions/f/invocations",
            None,
            &[("x-amz-invocation-type", "Later")],
            400,
            "InvalidParameterValueException",
        ),
        (
            &Method::POST,
            "/2015-03-31/functions/f/invocations",
            None,
            &[("x-amz-client-context", "%%%")],
            400,
            "InvalidRequestContentException",
        ),
        (
            &Method::POST,
            "/2015-03-31/functions/a:b:c:d:e/invocations",
            None,
            &[],
            400,
            "ValidationException",
        ),
        (
            &Method::POST,
            "/2015-03-31/functions/hello%20world/invocations",
            None,
            &[],
            400,
            "ValidationException",
        ),
    ];
    for (method, path, query, hdrs, status, error_type) in cases {
        let err = parse_invoke(method, path, *query, &headers(hdrs)).unwrap_err();
        assert_eq!(
            (err.status().as_u16(), err.error_type()),
            (*status, *error_type),
            "{path} {hdrs:?}"
        );
    }
}

#[test]
fn invoke_errors_map_to_lambda_errors() {
    let cases = [
        (
            InvokeError::Throttled("Rate Exceeded.".into()),
            429,
            "TooManyRequestsException",
        ),
        (
            InvokeError::NotFound("x".into()),
            404,
            "ResourceNotFoundException",
        ),
        (
            InvokeError::RequestTooLarge("x".into()),
            413,
            "RequestTooLargeException",
        ),
        (
            InvokeError::Service {
                status: 502,
                error_type: "Runtime.InitError".into(),
                message: "x".into(),
            },
            502,
            "Runtime.InitError",
        ),
    ];
    for (e, status, error_type) in cases {
        let api = ApiError::from(e);
        let response = api.response();
        assert_eq!(response.status().as_u16(), status);
        assert_eq!(response.headers()["x-amzn-errortype"], error_type);
    }
    let throttle = ApiError::from(InvokeError::Throttled("Rate Exceeded.".into()));
    assert_eq!(
        throttle.reason().map(|r| r.as_str()),
        Some("ReservedFunctionConcurrentInvocationLimitExceeded")
    );
}

#[test]
fn arns_keep_the_region_and_account_they_name() {
    let home = |path: &str| {
        parse_invoke(&Method::POST, path, None, &headers(&[]))
            .unwrap()
            .home
    };
    assert_eq!(
        home("/2015-03-31/functions/hello/invocations"),
        ArnHome::default()
    );
    assert_eq!(
        home("/2015-03-31/functions/999999999999:function:hello/invocations"),
        ArnHome {
            region: None,
            account: Some("999999999999".into())
        }
    );
    assert_eq!(
        home(
            "/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:hello:live/invocations"
        ),
        ArnHome {
            region: Some("eu-west-1".into()),
            account: Some("123456789012".into())
        }
    );
}
