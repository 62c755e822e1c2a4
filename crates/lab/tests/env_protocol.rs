//! Runtime/Extensions/Telemetry API behaviour at the HTTP level: the test plays the runtime and
//! the extensions itself (the bootstrap only sleeps), so it can send what a well-behaved client
//! never would (double responses, wrong ids, late registrations) and check Lambda's answers.

mod env_support;

use std::sync::Arc;

use bytes::Bytes;
use env_support::{Fixture, http, json, write_exe};
use lab::env::{Environment, LogSink, StartError, State};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::oneshot;

async fn launch() -> (Fixture, Environment, String) {
    let f = Fixture::empty();
    write_exe(&f.code.join("bootstrap"), "#!/bin/sh\nexec sleep 600\n");
    let cfg = f.config("9");
    let resolved = Arc::new(cfg.validate().unwrap());
    let env = Environment::launch(
        Arc::new(cfg),
        resolved,
        Arc::new(LogSink::new("g", 100, None)),
    )
    .await
    .unwrap();
    let base = format!("http://{}", env.runtime_api());
    (f, env, base)
}

async fn register(base: &str, name: &str, events: &str) -> (u16, String, serde_json::Value) {
    let (s, h, b) = http(
        "POST",
        &format!("{base}/2020-01-01/extension/register"),
        &[
            ("Lambda-Extension-Name", name),
            ("Lambda-Extension-Accept-Feature", "accountId"),
        ],
        events.to_string(),
    )
    .await;
    let id = h
        .get("lambda-extension-identifier")
        .cloned()
        .unwrap_or_default();
    (
        s,
        id,
        if b.is_empty() {
            serde_json::Value::Null
        } else {
            json(&b)
        },
    )
}

#[tokio::test]
async fn a_full_invoke_cycle_played_by_hand() {
    let (_f, mut env, base) = launch().await;
    let (init, (ext_id, ext_next, rt_next)) = tokio::join!(env.init(), async {
        let (s, id, body) = register(&base, "probe", r#"{"events":["INVOKE"]}"#).await;
        assert_eq!(s, 200);
        assert_eq!(body["functionVersion"], "9");
        assert_eq!(body["functionName"], "labfn");
        assert_eq!(body["handler"], "bootstrap");
        assert_eq!(body["accountId"], "123456789012");
        let (s, _, body) = register(&base, "probe2", r#"{"events":["SHUTDOWN"]}"#).await;
        assert_eq!(
            (s, body["errorType"].as_str()),
            (403, Some("Extension.InvalidEventType")),
            "internal extensions cannot take SHUTDOWN"
        );
        let url = format!("{base}/2020-01-01/extension/event/next");
        let ext_id = id.clone();
        let ext_next = tokio::spawn(async move {
            http("GET", &url, &[("Lambda-Extension-Identifier", &id)], "").await
        });
        let url = format!("{base}/2018-06-01/runtime/invocation/next");
        let rt_next = tokio::spawn(async move { http("GET", &url, &[], "").await });
        (ext_id, ext_next, rt_next)
    });
    init.unwrap();
    assert_eq!(env.state(), State::Ready);

    let (s, _, body) = register(&base, "late", "").await;
    assert_eq!(
        (s, body["errorType"].as_str()),
        (403, Some("Extension.RegistrationClosed"))
    );
    let (s, _, body) = http(
        "POST",
        &format!("{base}/2018-06-01/runtime/init/error"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (s, json(&body)["errorType"].as_str()),
        (403, Some("InvalidStateTransition"))
    );

    let (tx, rx) = oneshot::channel();
    let req = InvokeRequest {
        payload: Bytes::from_static(b"{\"in\":1}"),
        invoked_function_arn: Some(
            "arn:aws:lambda:us-east-1:123456789012:function:labfn:live".into(),
        ),
        ..Default::default()
    };
    let (end, ()) = tokio::join!(env.invoke(req, tx), async {
        let (s, h, body) = rt_next.await.unwrap();
        assert_eq!(s, 200);
        assert_eq!(&body[..], b"{\"in\":1}");
        let id = h["lambda-runtime-aws-request-id"].clone();
        let deadline: u64 = h["lambda-runtime-deadline-ms"].parse().unwrap();
        assert_eq!(
            h["lambda-runtime-invoked-function-arn"],
            "arn:aws:lambda:us-east-1:123456789012:function:labfn:live"
        );
        assert!(h["lambda-runtime-trace-id"].starts_with("Root=1-"));
        let inv = base.clone() + "/2018-06-01/runtime/invocation/";
        // a second /next while the invocation has no answer is a state error
        let (s, _, b) = http(
            "GET",
            &format!("{base}/2018-06-01/runtime/invocation/next"),
            &[],
            "",
        )
        .await;
        assert_eq!(
            (s, json(&b)["errorType"].as_str()),
            (403, Some("InvalidStateTransition"))
        );
        // wrong request id
        let (s, _, b) = http("POST", &format!("{inv}not-the-id/response"), &[], "x").await;
        assert_eq!(
            (s, json(&b)["errorType"].as_str()),
            (400, Some("InvalidRequestID"))
        );
        // response without Content-Type is accepted
        let (s, _, b) = http("POST", &format!("{inv}{id}/response"), &[], "plain bytes").await;
        assert_eq!((s, json(&b)["status"].as_str()), (202, Some("OK")));
        // answering twice
        let (s, _, b) = http("POST", &format!("{inv}{id}/response"), &[], "again").await;
        assert_eq!(
            (s, json(&b)["errorType"].as_str()),
            (403, Some("InvalidStateTransition"))
        );
        let (s, _, _) = http("POST", &format!("{inv}{id}/error"), &[], "").await;
        assert_eq!(s, 403);
        // the extension saw INVOKE with the same deadline
        let (s, h, b) = ext_next.await.unwrap();
        assert_eq!(s, 200);
        assert!(h.contains_key("lambda-extension-event-identifier"));
        let ev = json(&b);
        assert_eq!(ev["eventType"], "INVOKE");
        assert_eq!(ev["requestId"], id.as_str());
        assert_eq!(ev["deadlineMs"].as_u64(), Some(deadline));
        assert_eq!(ev["tracing"]["type"], "X-Amzn-Trace-Id");
        // both call next again: the invoke ends
        let url = format!("{base}/2018-06-01/runtime/invocation/next");
        tokio::spawn(async move { http("GET", &url, &[], "").await });
        let url = format!("{base}/2020-01-01/extension/event/next");
        tokio::spawn(async move {
            http("GET", &url, &[("Lambda-Extension-Identifier", &ext_id)], "").await
        });
    });
    assert!(
        end.reusable,
        "runtime and extension called next: the environment is Ready again"
    );
    assert_eq!(env.state(), State::Ready);
    let outcome = rx.await.unwrap();
    assert_eq!(
        outcome,
        InvokeOutcome::Success {
            body: Bytes::from_static(b"plain bytes")
        }
    );
    env.shutdown().await;
    assert_eq!(env.state(), State::Dead);
}

#[tokio::test]
async fn registration_stops_at_ten_extensions_and_validates_headers() {
    let (_f, _env, base) = launch().await;
    for i in 0..10 {
        let (s, id, _) = register(&base, &format!("ext{i}"), r#"{"events":["INVOKE"]}"#).await;
        assert_eq!(s, 200);
        assert_eq!(id.len(), 36);
    }
    let (s, _, b) = register(&base, "ext10", "").await;
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("Extension.TooManyExtensions"))
    );
    let (s, _, b) = register(&base, "ext0", "").await;
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("Extension.InvalidExtensionState"))
    );
    let (s, _, b) = register(&base, "", "").await;
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("Extension.InvalidExtensionName"))
    );
    let (s, _, b) = register(&base, "x", r#"{"events":["BOGUS"]}"#).await;
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("Extension.InvalidEventType"))
    );
    let (s, _, b) = register(&base, "x", r#"{"configurationKeys":["a"]}"#).await;
    assert_eq!(
        (s, b["errorType"].as_str()),
        (403, Some("InvalidRequestFormat"))
    );
    let (s, _, b) = http(
        "GET",
        &format!("{base}/2020-01-01/extension/event/next"),
        &[],
        "",
    )
    .await;
    assert_eq!(
        (s, json(&b)["errorType"].as_str()),
        (403, Some("Extension.MissingExtensionIdentifier"))
    );
    let (s, _, b) = http(
        "GET",
        &format!("{base}/2020-01-01/extension/event/next"),
        &[("Lambda-Extension-Identifier", "nope")],
        "",
    )
    .await;
    assert_eq!(
        (s, json(&b)["errorType"].as_str()),
        (403, Some("Extension.UnknownExtensionIdentifier"))
    );
    let (s, _, _) = http("GET", &format!("{base}/2018-06-01/nothing"), &[], "").await;
    assert_eq!(s, 404);
}

#[tokio::test]
async fn telemetry_subscriptions_are_validated() {
    let (_f, _env, base) = launch().await;
    let (_, id, _) = register(&base, "sub", "").await;
    let url = format!("{base}/2022-07-01/telemetry");
    let bad = r#"{"schemaVersion":"2022-07-01","types":["platform"],"buffering":{"maxItems":5},"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:9"}}"#;
    let (s, _, b) = http("PUT", &url, &[("Lambda-Extension-Identifier", &id)], bad).await;
    assert_eq!(
        (s, json(&b)["errorType"].as_str()),
        (400, Some("ValidationError"))
    );
    assert!(
        json(&b)["errorMessage"]
            .as_str()
            .unwrap()
            .contains("maxItems")
    );
    let good = r#"{"schemaVersion":"2022-12-13","types":["platform","function"],"destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:9"}}"#;
    let (s, _, b) = http("PUT", &url, &[("Lambda-Extension-Identifier", &id)], good).await;
    assert_eq!((s, &b[..]), (200, &b"\"OK\""[..]));
    let (s, _, _) = http("PUT", &url, &[], good).await;
    assert_eq!(s, 403);
}

#[tokio::test]
async fn an_init_error_posted_by_the_runtime_fails_init_with_its_type_and_body() {
    let (_f, mut env, base) = launch().await;
    let (init, ()) = tokio::join!(env.init(), async {
        let body = r#"{"errorMessage":"no module","errorType":"Runtime.ImportModuleError"}"#;
        let (s, _, _) = http(
            "POST",
            &format!("{base}/2018-06-01/runtime/init/error"),
            &[(
                "Lambda-Runtime-Function-Error-Type",
                "Runtime.ImportModuleError",
            )],
            body,
        )
        .await;
        assert_eq!(s, 202);
    });
    match init {
        Err(StartError::Init(e)) => {
            assert_eq!(e.error_type, "Runtime.ImportModuleError");
            assert_eq!(json(&e.body)["errorMessage"], "no module");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(env.state(), State::Dead);
}

#[tokio::test]
async fn an_oversized_response_gets_413_and_the_caller_response_size_too_large() {
    let (_f, mut env, base) = launch().await;
    // the "runtime" is waiting in /next before Init ends
    let url = format!("{base}/2018-06-01/runtime/invocation/next");
    let rt_next = tokio::spawn(async move { http("GET", &url, &[], "").await });
    env.init().await.unwrap();
    let (tx, rx) = oneshot::channel();
    let (end, ()) = tokio::join!(env.invoke(InvokeRequest::default(), tx), async {
        let (_, h, _) = rt_next.await.unwrap();
        let id = &h["lambda-runtime-aws-request-id"];
        let big = vec![b'x'; 6 * 1024 * 1024 + 101];
        let url = format!("{base}/2018-06-01/runtime/invocation/{id}/response");
        let (s, _, b) = http("POST", &url, &[], big).await;
        assert_eq!(s, 413);
        assert_eq!(json(&b)["errorType"], "RequestEntityTooLarge");
        assert_eq!(
            json(&b)["errorMessage"],
            "Exceeded maximum allowed payload size (6291556 bytes)."
        );
        let url = format!("{base}/2018-06-01/runtime/invocation/next");
        tokio::spawn(async move { http("GET", &url, &[], "").await });
    });
    assert!(end.reusable);
    match rx.await.unwrap() {
        InvokeOutcome::FunctionError { error_type, body } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge");
            assert_eq!(json(&body)["errorType"], "Function.ResponseSizeTooLarge");
        }
        other => panic!("{other:?}"),
    }
    env.shutdown().await;
}

#[tokio::test]
async fn init_logs_lambdas_extension_line_with_the_registered_events() {
    let f = Fixture::empty();
    write_exe(&f.code.join("bootstrap"), "#!/bin/sh\nexec sleep 600\n");
    let cfg = f.config("9");
    let resolved = Arc::new(cfg.validate().unwrap());
    let logs = Arc::new(LogSink::new("g", 100, None));
    let mut env = Environment::launch(Arc::new(cfg), resolved, logs.clone())
        .await
        .unwrap();
    let base = format!("http://{}", env.runtime_api());
    let (init, _pending) = tokio::join!(env.init(), async {
        let mut pending = Vec::new();
        for (name, events) in [("probe", r#"{"events":["INVOKE"]}"#), ("quiet", "")] {
            let (s, id, _) = register(&base, name, events).await;
            assert_eq!(s, 200, "{name}");
            let url = format!("{base}/2020-01-01/extension/event/next");
            pending.push(tokio::spawn(async move {
                http("GET", &url, &[("Lambda-Extension-Identifier", &id)], "").await
            }));
        }
        let url = format!("{base}/2018-06-01/runtime/invocation/next");
        pending.push(tokio::spawn(
            async move { http("GET", &url, &[], "").await },
        ));
        pending
    });
    init.unwrap();
    let lines: Vec<String> = logs
        .snapshot()
        .into_iter()
        .map(|l| l.text)
        .filter(|t| t.starts_with("EXTENSION"))
        .collect();
    assert_eq!(
        lines,
        [
            "EXTENSION\tName: probe\tState: Ready\tEvents: [INVOKE]",
            "EXTENSION\tName: quiet\tState: Ready\tEvents: []",
        ]
    );
    env.shutdown().await;
}
