//! A non-Rust runtime in the lab: a Python function on `awslambdaric` (the AWS runtime interface
//! client, installed by `.ci/run`). The test is skipped, with a message, only when the module is
//! not importable.

mod env_support;

use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, json, start, write_exe};
use lab::invoke::{InvokeOutcome, InvokeRequest};
use tokio::sync::oneshot;

fn awslambdaric_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import awslambdaric"])
        .status()
        .is_ok_and(|s| s.success())
}

fn fixture() -> Fixture {
    let f = Fixture::empty();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python");
    std::fs::copy(src.join("handler.py"), f.code.join("handler.py")).unwrap();
    write_exe(
        &f.code.join("bootstrap"),
        &std::fs::read_to_string(src.join("bootstrap")).unwrap(),
    );
    f
}

#[tokio::test]
async fn python_function_on_awslambdaric_runs_in_the_lab() {
    if !awslambdaric_available() {
        eprintln!("SKIPPED: python3 cannot import awslambdaric (pip install awslambdaric)");
        return;
    }
    let f = fixture();
    let mut cfg = f.config("8");
    cfg.handler = "handler.fn".into();
    cfg.timeout = Duration::from_secs(10);
    let (mut env, logs) = start(cfg).await;

    let (tx, rx) = oneshot::channel();
    env.invoke(
        InvokeRequest {
            payload: Bytes::from_static(br#"{"a":[1,2]}"#),
            ..Default::default()
        },
        tx,
    )
    .await;
    let v = match rx.await.unwrap() {
        InvokeOutcome::Success { body } => json(&body),
        other => panic!("{other:?}"),
    };
    assert_eq!(v["echo"], serde_json::json!({"a": [1, 2]}));
    assert_eq!(v["version"], "8");
    assert_eq!(
        v["arn"],
        "arn:aws:lambda:us-east-1:123456789012:function:labfn:8"
    );
    let remaining = v["remainingMs"].as_i64().unwrap();
    assert!(
        remaining > 5_000 && remaining <= 10_000,
        "deadline header honoured: {remaining}"
    );
    let request_id = v["requestId"].as_str().unwrap().to_string();

    let (tx, rx) = oneshot::channel();
    let end = env
        .invoke(
            InvokeRequest {
                payload: Bytes::from_static(br#"{"raise":true}"#),
                ..Default::default()
            },
            tx,
        )
        .await;
    assert!(end.reusable);
    match rx.await.unwrap() {
        InvokeOutcome::FunctionError { body, .. } => {
            let doc = json(&body);
            assert_eq!(doc["errorType"], "ValueError");
            assert_eq!(doc["errorMessage"], "python says no");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        logs.snapshot().iter().any(|l| l.text.contains(&request_id)),
        "function output captured"
    );
    env.shutdown().await;
}
