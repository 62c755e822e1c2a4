//! Streamed responses in one execution environment: a Python custom runtime that posts raw
//! chunks and real HTTP trailers (`tests/fixtures/python_stream/bootstrap`). The invoker gets
//! each chunk as the runtime sends it, then the outcome; the environment is free again when
//! the stream ends, and the invocation is reported once.

mod env_support;

use std::time::Duration;

use bytes::Bytes;
use env_support::{Fixture, start, write_exe};
use lab::env::{Environment, LogSink};
use lab::invoke::{InvokeOutcome, InvokeRequest, StreamOutcome, StreamParts};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

fn fixture() -> Fixture {
    let f = Fixture::empty();
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/python_stream/bootstrap");
    write_exe(
        &f.code.join("bootstrap"),
        &std::fs::read_to_string(src).unwrap(),
    );
    f
}

/// An environment running the streaming runtime (the fixture keeps its code dir alive).
async fn env() -> (Environment, std::sync::Arc<LogSink>, Fixture) {
    let f = fixture();
    let mut cfg = f.config("3");
    cfg.timeout = Duration::from_secs(20);
    let (env, logs) = start(cfg).await;
    (env, logs, f)
}

fn request(event: Value, stream: bool) -> InvokeRequest {
    InvokeRequest {
        payload: Bytes::from(event.to_string()),
        response_stream: stream,
        ..Default::default()
    }
}

fn report_lines(logs: &LogSink) -> usize {
    logs.snapshot()
        .iter()
        .filter(|l| l.text.starts_with("REPORT RequestId: "))
        .count()
}

async fn streamed(rx: oneshot::Receiver<InvokeOutcome>) -> StreamParts {
    match rx.await.unwrap() {
        InvokeOutcome::Streamed(s) => s.take().expect("not taken yet"),
        other => panic!("expected a stream, got {other:?}"),
    }
}

#[tokio::test]
async fn the_first_chunk_arrives_before_the_function_sends_the_last() {
    let (mut env, logs, _f) = env().await;
    let gate = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = gate.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel();
    let event = json!({"chunks": ["first|", "second|", "third"], "gate": port, "end": "ok"});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        assert_eq!(parts.chunks.recv().await.unwrap(), Bytes::from("first|"));
        // The function is now blocked until the gate opens: the first chunk came alone.
        assert!(parts.chunks.try_recv().is_err());
        let (mut conn, _) = gate.accept().await.unwrap();
        conn.write_all(b"go").await.unwrap();
        let mut rest = Vec::new();
        while let Some(c) = parts.chunks.recv().await {
            rest.extend_from_slice(&c);
        }
        assert_eq!(rest, b"second|third");
        parts.outcome().await
    };
    let (end, outcome) = tokio::join!(invoke, client);
    assert_eq!(outcome, StreamOutcome::Complete);
    assert!(end.reusable, "the environment is free again: {end:?}");
    assert_eq!(report_lines(&logs), 1);
}

#[tokio::test]
async fn an_error_trailer_after_a_partial_body_fails_the_stream() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    let event = json!({"chunks": ["partial"], "end": "error",
                       "error_type": "Function.MidStream", "error_body": "{\"errorMessage\":\"boom\"}"});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        let mut body = Vec::new();
        while let Some(c) = parts.chunks.recv().await {
            body.extend_from_slice(&c);
        }
        (body, parts.outcome().await)
    };
    let (end, (body, outcome)) = tokio::join!(invoke, client);
    assert_eq!(body, b"partial");
    assert_eq!(
        outcome,
        StreamOutcome::Failed {
            error_type: "Function.MidStream".into(),
            body: Bytes::from("{\"errorMessage\":\"boom\"}"),
        }
    );
    assert!(end.reusable);
}

#[tokio::test]
async fn a_stream_without_its_terminating_chunk_is_truncated() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    let event = json!({"chunks": ["cut", "short"], "end": "truncate"});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        let mut body = Vec::new();
        while let Some(c) = parts.chunks.recv().await {
            body.extend_from_slice(&c);
        }
        (body, parts.outcome().await)
    };
    let (end, (body, outcome)) = tokio::join!(invoke, client);
    assert_eq!(body, b"cutshort");
    match outcome {
        StreamOutcome::Failed { error_type, .. } => {
            assert_eq!(error_type, "Runtime.TruncatedResponse")
        }
        other => panic!("{other:?}"),
    }
    assert!(end.reusable, "the runtime called next again: {end:?}");
}

#[tokio::test]
async fn a_client_that_goes_away_mid_stream_frees_the_environment_once() {
    let (mut env, logs, _f) = env().await;
    let gate = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = gate.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel();
    let big = "x".repeat(64 * 1024);
    let chunks: Vec<&str> = std::iter::once("hello")
        .chain(std::iter::repeat_n(big.as_str(), 64))
        .collect();
    let event = json!({"chunks": chunks, "gate": port, "end": "ok"});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        assert_eq!(parts.chunks.recv().await.unwrap(), Bytes::from("hello"));
        drop(parts); // the client disconnects
        let (mut conn, _) = gate.accept().await.unwrap();
        conn.write_all(b"go").await.unwrap();
    };
    let (end, ()) = tokio::join!(invoke, client);
    assert!(end.reusable, "the function ran to its end: {end:?}");
    assert_eq!(report_lines(&logs), 1, "counted once");
    // And the environment serves the next invocation.
    let (tx, rx) = oneshot::channel();
    env.invoke(
        request(json!({"chunks": ["again"], "end": "ok"}), false),
        tx,
    )
    .await;
    assert_eq!(
        rx.await.unwrap(),
        InvokeOutcome::Success {
            body: Bytes::from("again")
        }
    );
    assert_eq!(report_lines(&logs), 2);
}

#[tokio::test]
async fn a_buffered_caller_gets_a_streamed_response_whole() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    env.invoke(
        request(json!({"chunks": ["a", "b", "c"], "end": "ok"}), false),
        tx,
    )
    .await;
    assert_eq!(
        rx.await.unwrap(),
        InvokeOutcome::Success {
            body: Bytes::from("abc")
        }
    );
    let (tx, rx) = oneshot::channel();
    let event = json!({"chunks": ["a"], "end": "error", "error_type": "Function.Late", "error_body": "late"});
    env.invoke(request(event, false), tx).await;
    assert_eq!(
        rx.await.unwrap(),
        InvokeOutcome::FunctionError {
            error_type: "Function.Late".into(),
            body: Bytes::from("late")
        }
    );
}

#[tokio::test]
async fn a_buffered_response_to_a_streaming_caller_stays_buffered() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    env.invoke(
        request(json!({"chunks": ["{}"], "end": "buffered"}), true),
        tx,
    )
    .await;
    assert_eq!(
        rx.await.unwrap(),
        InvokeOutcome::Success {
            body: Bytes::from("{}")
        }
    );
}

#[tokio::test]
async fn a_wrong_response_mode_fails_the_invocation() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    env.invoke(request(json!({"end": "badmode"}), true), tx)
        .await;
    match rx.await.unwrap() {
        InvokeOutcome::FunctionError { error_type, .. } => {
            assert_eq!(error_type, "Runtime.InvalidResponseModeHeader")
        }
        other => panic!("{other:?}"),
    }
}

/// The real `lambda_runtime` (1.5) streaming a function-URL response (`lab-testfn`'s `stream`):
/// its HTTP-integration content type, the prelude, 8 NULs, then the chunks, the first of them
/// before the function sends the next.
#[tokio::test]
async fn lambda_runtime_streams_its_prelude_and_chunks() {
    let f = Fixture::testfn();
    let mut cfg = f.config("4");
    cfg.timeout = Duration::from_secs(20);
    let (mut env, logs) = start(cfg).await;
    let gate = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = gate.local_addr().unwrap().port();
    let (tx, rx) = oneshot::channel();
    let event = json!({"stream": ["one|", "two|", "three"], "cookies": ["a=1"], "gate": port});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        assert_eq!(
            parts.content_type.as_deref(),
            Some("application/vnd.awslambda.http-integration-response")
        );
        let mut got = Vec::new();
        while !got.ends_with(b"one|") {
            let chunk = parts.chunks.recv().await.expect("the first chunk");
            got.extend_from_slice(&chunk);
        }
        assert!(
            parts.chunks.try_recv().is_err(),
            "nothing after the first chunk yet"
        );
        let (mut conn, _) = gate.accept().await.unwrap();
        conn.write_all(b"g").await.unwrap();
        while let Some(c) = parts.chunks.recv().await {
            got.extend_from_slice(&c);
        }
        (got, parts.outcome().await)
    };
    let (end, (got, outcome)) = tokio::join!(invoke, client);
    assert_eq!(outcome, StreamOutcome::Complete);
    let delimiter = got
        .windows(8)
        .position(|w| w == [0; 8])
        .expect("the 8-NUL delimiter");
    let prelude: Value = serde_json::from_slice(&got[..delimiter]).unwrap();
    assert_eq!(prelude["statusCode"], 200);
    assert_eq!(
        prelude["headers"]["content-type"],
        "application/octet-stream"
    );
    assert_eq!(prelude["cookies"], json!(["a=1"]));
    assert_eq!(&got[delimiter + 8..], b"one|two|three");
    assert!(end.reusable);
    assert_eq!(report_lines(&logs), 1);
}

/// Lambda's bandwidth cap: the first 6 MiB go at once, the rest at most 2 MiB/s. 7 MiB take at
/// least the last MiB's time at the cap, less the limiter's 64 KiB burst: a lower bound, which
/// a busy machine only lengthens.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_6_mib_a_stream_keeps_to_2_mib_per_second() {
    let (mut env, _logs, _f) = env().await;
    let (tx, rx) = oneshot::channel();
    let piece = "x".repeat(256 * 1024);
    let event = json!({"chunks": [piece], "repeat": 28, "end": "ok"});
    let invoke = env.invoke(request(event, true), tx);
    let client = async {
        let mut parts = streamed(rx).await;
        let mut total = 0usize;
        let mut uncapped_done = None;
        while let Some(c) = parts.chunks.recv().await {
            total += c.len();
            if total >= 6 * 1024 * 1024 && uncapped_done.is_none() {
                uncapped_done = Some(std::time::Instant::now());
            }
        }
        (
            total,
            uncapped_done.unwrap().elapsed(),
            parts.outcome().await,
        )
    };
    let (end, (total, capped, outcome)) = tokio::join!(invoke, client);
    assert_eq!(outcome, StreamOutcome::Complete);
    assert_eq!(total, 7 * 1024 * 1024);
    let floor = (1024.0 * 1024.0 - 64.0 * 1024.0) / (2.0 * 1024.0 * 1024.0);
    assert!(
        capped.as_secs_f64() >= floor * 0.99,
        "the last MiB took {capped:?}, under the cap's {floor} s"
    );
    assert!(end.reusable);
}
