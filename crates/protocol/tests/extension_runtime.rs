//! Runtime API and Extensions API fixtures and pure helpers.
//!
//! Sources (read 2026-11-26 from the project's stored copies):
//! - "Using the Lambda Extensions API to create extensions",
//!   <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html>: register request
//!   and response, the INVOKE example payload, the SHUTDOWN shape (its example has placeholder
//!   strings; `next_shutdown_docs.json` uses a real deadline and the documented `SPINDOWN`), and
//!   the function error example reused in `error_request.json`.
//! - `register_response_account_id.json`: the register response with the `accountId` feature
//!   (Extensions API reference, `Lambda-Extension-Accept-Feature`).
//! - `next_shutdown_rapid.json`: lower-case reason as RAPID sends it
//!   (`aws-lambda-runtime-interface-emulator`, `rapi/model/agentevent.go`).
//! - `error_response_413.json`: RAPID's 413 body (LAMBDA-FACTS §1).

mod common;

use common::{fixture_value, round_trip};
use protocol::extension::{
    EventType, NextEvent, RegisterRequest, RegisterResponse, ShutdownReason,
};
use protocol::runtime::{
    self, ErrorRequest, ErrorResponse, InvocationCall, StatusResponse, normalize_error_type,
};

#[test]
fn register_fixtures_round_trip() {
    let req: RegisterRequest = round_trip("extension/register_request.json");
    assert_eq!(req.events, vec![EventType::Invoke, EventType::Shutdown]);

    let resp: RegisterResponse = round_trip("extension/register_response.json");
    assert_eq!(resp.function_version, "$LATEST");
    assert_eq!(resp.account_id, None);

    let resp: RegisterResponse = round_trip("extension/register_response_account_id.json");
    assert_eq!(resp.function_version, "7");
    assert_eq!(resp.account_id.as_deref(), Some("123456789012"));

    // The body is optional and may omit `events`.
    let empty: RegisterRequest = serde_json::from_str("{}").unwrap();
    assert!(empty.events.is_empty());
    assert!(serde_json::from_str::<RegisterRequest>(r#"{"events":["BOGUS"]}"#).is_err());
}

#[test]
fn next_event_fixtures_parse_into_the_right_variant() {
    let NextEvent::Invoke(invoke) = round_trip::<NextEvent>("extension/next_invoke.json") else {
        panic!("not INVOKE")
    };
    assert_eq!(invoke.deadline_ms, 676_051);
    assert_eq!(invoke.request_id, "3da1f2dc-3222-475e-9205-e2e6c6318895");
    assert_eq!(invoke.tracing.expect("tracing").kind, "X-Amzn-Trace-Id");

    let NextEvent::Invoke(invoke) =
        round_trip::<NextEvent>("extension/next_invoke_no_tracing.json")
    else {
        panic!("not INVOKE")
    };
    assert_eq!(invoke.tracing, None);
    assert!(invoke.invoked_function_arn.ends_with(":live"));

    // (fixture, reason) — documented upper case and RAPID's lower case.
    let shutdowns = [
        (
            "extension/next_shutdown_docs.json",
            ShutdownReason::Spindown,
        ),
        (
            "extension/next_shutdown_rapid.json",
            ShutdownReason::Timeout,
        ),
    ];
    for (file, reason) in shutdowns {
        let value = fixture_value(file);
        let NextEvent::Shutdown(s) = serde_json::from_value(value).unwrap() else {
            panic!("{file}: not SHUTDOWN")
        };
        assert_eq!(s.shutdown_reason, reason, "{file}");
        assert_eq!(s.deadline_ms, 1_542_409_706_888, "{file}");
    }
    // Serialised in RAPID's lower case.
    let rapid: NextEvent = round_trip("extension/next_shutdown_rapid.json");
    assert_eq!(
        serde_json::to_value(&rapid).unwrap()["shutdownReason"],
        "timeout"
    );
}

#[test]
fn shutdown_reason_parsing_table() {
    let cases = [
        ("spindown", ShutdownReason::Spindown),
        ("SPINDOWN", ShutdownReason::Spindown),
        ("Timeout", ShutdownReason::Timeout),
        ("FAILURE", ShutdownReason::Failure),
        ("eviction", ShutdownReason::Other("eviction".into())),
    ];
    for (input, want) in cases {
        assert_eq!(ShutdownReason::parse(input), want, "{input}");
    }
}

#[test]
fn runtime_bodies_round_trip() {
    let err: ErrorRequest = round_trip("runtime/error_request.json");
    assert_eq!(err.error_type.as_deref(), Some("InvalidEventDataException"));
    assert_eq!(err.stack_trace, Some(vec![]));

    let too_large: ErrorResponse = round_trip("runtime/error_response_413.json");
    assert_eq!(too_large, ErrorResponse::payload_too_large());
    assert_eq!(runtime::MAX_PAYLOAD_SIZE, 6_291_556);

    let ok: StatusResponse = round_trip("runtime/status_ok.json");
    assert_eq!(ok, StatusResponse::ok());
}

#[test]
fn error_requests_are_lenient() {
    // (body, expected errorType) — every member optional, extra members kept, junk ignored.
    let cases: [(&[u8], Option<Option<&str>>); 5] = [
        (
            br#"{"errorType":"Runtime.X","errorMessage":"m"}"#,
            Some(Some("Runtime.X")),
        ),
        (br#"{}"#, Some(None)),
        (br#"{"errorMessage":"m","requestId":"r"}"#, Some(None)),
        (b"", None),
        (b"not json", None),
    ];
    for (body, want) in cases {
        let got = ErrorRequest::parse_lenient(body);
        assert_eq!(
            got.as_ref().map(|e| e.error_type.as_deref()),
            want,
            "{body:?}"
        );
    }
    let with_extra = ErrorRequest::parse_lenient(br#"{"requestId":"r"}"#).unwrap();
    assert_eq!(with_extra.extra["requestId"], "r");
    assert_eq!(
        serde_json::to_string(&with_extra).unwrap(),
        r#"{"requestId":"r"}"#
    );
}

#[test]
fn error_type_normalisation_table() {
    // (reported Lambda-Runtime-Function-Error-Type, what RAPID records)
    let cases = [
        ("Runtime.NoSuchHandler", "Runtime.NoSuchHandler"),
        (
            "Function.MyCustomErrorTypeHere",
            "Function.MyCustomErrorTypeHere",
        ),
        ("Runtime.InitError", "Runtime.InitError"),
        ("Runtime.Ab", "Runtime.Ab"),
        ("", "Runtime.Unknown"),
        ("unhandled", "Runtime.Unknown"),
        ("Unhandled", "Runtime.Unknown"),
        ("MyCustomError", "Runtime.Unknown"),
        ("MyCustomError.Error", "Runtime.Unknown"),
        ("Runtime.A", "Runtime.Unknown"),
        ("Runtime.lowercase", "Runtime.Unknown"),
        ("Runtime.With Space", "Runtime.Unknown"),
        ("Runtime.MyError\n", "Runtime.Unknown"),
        ("Runtime.My2Error", "Runtime.Unknown"),
        ("Runtime.Mÿ", "Runtime.Unknown"),
        ("Function.oops", "Function.Unknown"),
        ("Function.", "Function.Unknown"),
        ("Sandbox.Timeout", "Runtime.Unknown"),
        (" Function.MyError ", "Runtime.Unknown"),
    ];
    for (input, want) in cases {
        assert_eq!(normalize_error_type(input), want, "{input:?}");
    }
}

#[test]
fn extension_paths_parse() {
    use protocol::extension::{ExtensionCall, parse_path};
    let cases = [
        (
            "/2020-01-01/extension/register",
            Some(ExtensionCall::Register),
        ),
        (
            "/2020-01-01/extension/event/next",
            Some(ExtensionCall::Next),
        ),
        (
            "/2020-01-01/extension/init/error",
            Some(ExtensionCall::InitError),
        ),
        (
            "/2020-01-01/extension/exit/error",
            Some(ExtensionCall::ExitError),
        ),
        ("/2020-01-01/extension/next", None),
        ("/2018-06-01/runtime/invocation/next", None),
    ];
    for (path, want) in cases {
        assert_eq!(parse_path(path), want, "{path}");
    }
    assert!(protocol::telemetry::is_subscribe_path(
        "/2022-07-01/telemetry/"
    ));
    assert!(protocol::telemetry::is_subscribe_path(
        "/2022-07-01/telemetry"
    ));
    assert!(!protocol::telemetry::is_subscribe_path("/2020-08-15/logs"));
}

#[test]
fn runtime_paths_build_and_parse() {
    assert_eq!(
        runtime::response_path("abc"),
        "/2018-06-01/runtime/invocation/abc/response"
    );
    assert_eq!(
        runtime::error_path("abc"),
        "/2018-06-01/runtime/invocation/abc/error"
    );
    let cases = [
        (
            "/2018-06-01/runtime/invocation/next",
            Some(InvocationCall::Next),
        ),
        (
            "/2018-06-01/runtime/init/error",
            Some(InvocationCall::InitError),
        ),
        (
            "/2018-06-01/runtime/invocation/r-1/response",
            Some(InvocationCall::Response("r-1")),
        ),
        (
            "/2018-06-01/runtime/invocation/r-1/error",
            Some(InvocationCall::Error("r-1")),
        ),
        ("/2018-06-01/runtime/invocation//response", None),
        ("/2018-06-01/runtime/invocation/r-1/other", None),
        ("/2018-06-01/runtime/invocation/r/1/response", None),
        ("/2020-01-01/extension/register", None),
        ("/2018-06-01/runtime/invocation/next/", None),
    ];
    for (path, want) in cases {
        assert_eq!(runtime::parse_path(path), want, "{path}");
    }
}
