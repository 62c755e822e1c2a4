//! Streamed responses through the proxy, between a runtime (`lambda_runtime`'s `StreamResponse`
//! in `examples/stream_fn.rs`, a Python custom runtime writing raw chunks and trailers, or a
//! hyper client) and a real HTTP server playing the Runtime API: the exact bytes it receives,
//! when it receives them, and the metrics.

mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::channel::Channel;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use protocol::runtime::{CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE, PRELUDE_DELIMITER};
use serde_json::Value;
use support::runtime_api::{APIGW_V1_EVENT, APIGW_V2_EVENT, Harness};
use tokio::io::AsyncWriteExt;

const DELIM: &[u8] = &PRELUDE_DELIMITER;

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn values(doc: &Value, metric: &str) -> Vec<f64> {
    doc[metric]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default()
}

/// How long the Python runtime holds its last chunk after the first reached the Runtime API: a
/// stream's latency runs to its end, so it must include this.
const HOLD: Duration = Duration::from_millis(50);

/// Runs the Python streaming runtime for one invocation: returns what the Runtime API had
/// received when the first body chunk arrived, what it received in the end, and the status the
/// runtime got back.
async fn python_stream(
    h: &mut Harness,
    error_trailer: bool,
) -> (Vec<u8>, support::runtime_api::Seen, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stream/bootstrap");
    // The previous call's body is over: forget it.
    h.upstream.received.lock().unwrap().clear();
    let mut child = tokio::process::Command::new(script)
        .args(error_trailer.then_some("--error-trailer"))
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            h.proxy_url.trim_start_matches("http://"),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("python3 runs the streaming runtime");
    let first = tokio::time::timeout(
        Duration::from_secs(20),
        h.upstream.received_containing(b"part one, "),
    )
    .await
    .expect("the first body chunk reached the Runtime API while the runtime held the last");
    let held = Instant::now();
    tokio::time::sleep(HOLD).await;
    assert!(held.elapsed() >= HOLD);
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(b"go\n").await.unwrap();
    drop(stdin);
    let seen = h.seen().await;
    let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output())
        .await
        .expect("the runtime ends")
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    (first, seen, String::from_utf8(out.stdout).unwrap())
}

#[tokio::test]
async fn a_streaming_runtime_is_tagged_in_its_prelude_and_forwarded_before_it_ends() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V2_EVENT);
    h.queue("r2", APIGW_V1_EVENT);
    let prelude: &[u8] = br#"{"statusCode":200,"headers":{"content-type":"text/plain","x-rollcall-version":"7"COLD},"cookies":["a=1"]}"#;
    let prelude = |cold: bool| {
        String::from_utf8(prelude.to_vec())
            .unwrap()
            .replace(
                "COLD",
                if cold {
                    r#","x-rollcall-cold":"1""#
                } else {
                    ""
                },
            )
            .into_bytes()
    };

    // Cold, with a mid-stream error in the trailers.
    let (first, seen, status) = python_stream(&mut h, true).await;
    assert_eq!(first, cat(&[&prelude(true), DELIM, b"part one, "]));
    assert_eq!(status.trim(), "202");
    assert_eq!(seen.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(
        seen.body,
        cat(&[&prelude(true), DELIM, b"part one, part two"])
    );
    assert_eq!(
        seen.headers["lambda-runtime-function-response-mode"],
        "streaming"
    );
    assert_eq!(
        seen.headers["content-type"],
        CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE
    );
    let trailers = seen.trailers.expect("trailers forwarded");
    assert_eq!(
        trailers["lambda-runtime-function-error-type"],
        "Runtime.StreamError"
    );
    assert_eq!(trailers["lambda-runtime-function-error-body"], "YmFk");

    // Warm, ending cleanly.
    let (first, seen, _) = python_stream(&mut h, false).await;
    assert_eq!(first, cat(&[&prelude(false), DELIM, b"part one, "]));
    assert_eq!(
        seen.body,
        cat(&[&prelude(false), DELIM, b"part one, part two"])
    );
    assert!(seen.trailers.is_none_or(|t| t.is_empty()));

    let docs = h.emf();
    assert_eq!(docs.len(), 1, "{docs:?}");
    let doc = &docs[0];
    assert_eq!(doc["Invocations"], 2, "a stream counts once");
    assert_eq!(doc["ColdStarts"], 1);
    assert_eq!(doc["Errors"], 1, "the error trailer, once");
    let (latency, first_byte) = (values(doc, "Latency"), values(doc, "TimeToFirstByte"));
    assert_eq!((latency.len(), first_byte.len()), (2, 2), "{doc}");
    for (l, f) in latency.iter().zip(&first_byte) {
        let hold_ms = HOLD.as_secs_f64() * 1000.0;
        assert!(
            l - f >= hold_ms,
            "latency {l} ms runs to the end of the stream, {hold_ms} ms after its first byte ({f} ms)"
        );
    }
}

#[tokio::test]
async fn a_lambda_runtime_stream_response_is_tagged_and_forwarded_as_it_is_written() {
    let exe = tokio::task::spawn_blocking(|| support::example("stream_fn"))
        .await
        .unwrap();
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V2_EVENT);
    h.queue("r2", APIGW_V2_EVENT);
    let mut child = tokio::process::Command::new(exe)
        .env(
            "AWS_LAMBDA_RUNTIME_API",
            h.proxy_url.trim_start_matches("http://"),
        )
        .env("AWS_LAMBDA_FUNCTION_NAME", "f")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "7")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // What lambda_runtime 1.5 writes for the function's MetadataPrelude, tagged.
    let prelude: &[u8] = br#"{"statusCode":201,"headers":{"content-type":"text/plain","x-rollcall-version":"7","x-rollcall-cold":"1"},"cookies":["a=1"]}"#;
    let warm: &[u8] = br#"{"statusCode":201,"headers":{"content-type":"text/plain","x-rollcall-version":"7"},"cookies":["a=1"]}"#;
    let first = tokio::time::timeout(
        Duration::from_secs(30),
        h.upstream.received_containing(b"part one, "),
    )
    .await
    .expect("the first body chunk reached the Runtime API while the function held the last");
    assert_eq!(first, cat(&[prelude, DELIM, b"part one, "]));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"go\n")
        .await
        .unwrap();
    let seen = h.seen().await;
    assert_eq!(seen.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(seen.body, cat(&[prelude, DELIM, b"part one, part two"]));
    assert_eq!(
        seen.headers["content-type"],
        CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE
    );
    // The second invocation (stdin is closed: both chunks at once) comes after the runtime had
    // the answer to the first, so the first is recorded by then.
    let seen = h.seen().await;
    assert_eq!(seen.path, "/2018-06-01/runtime/invocation/r2/response");
    assert_eq!(seen.body, cat(&[warm, DELIM, b"part one, part two"]));
    let doc = &h.emf()[0];
    assert_eq!(doc["Invocations"], 2);
    assert_eq!(doc["Errors"], 0);
    assert!(!values(doc, "TimeToFirstByte").is_empty(), "{doc}");
    drop(child);
}

/// Posts a streamed response from a hyper client: `chunks` as body frames, then `trailers`.
async fn stream(
    h: &Harness,
    id: &str,
    content_type: Option<&str>,
    chunks: &[&[u8]],
    trailers: Option<HeaderMap>,
) -> StatusCode {
    let (mut tx, body) = Channel::<Bytes>::new(4);
    let mut req = Request::post(format!(
        "{}/2018-06-01/runtime/invocation/{id}/response",
        h.proxy_url
    ))
    .header("lambda-runtime-function-response-mode", "streaming")
    .header("transfer-encoding", "chunked")
    .header("trailer", "Lambda-Runtime-Function-Error-Type")
    .header("trailer", "Lambda-Runtime-Function-Error-Body");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req.body(body).unwrap();
    let client: Client<_, Channel<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let sent = tokio::spawn(async move { client.request(req).await.unwrap().status() });
    for c in chunks {
        tx.send_data(Bytes::copy_from_slice(c)).await.unwrap();
    }
    if let Some(t) = trailers {
        tx.send_trailers(t).await.unwrap();
    }
    drop(tx);
    sent.await.unwrap()
}

const PRELUDE: &[u8] = br#"{"statusCode":200,"headers":{},"cookies":[]}"#;

#[tokio::test]
async fn streams_the_proxy_cannot_be_sure_of_pass_byte_for_byte() {
    let mut h = Harness::start(true).await;
    let http = Some(CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE);
    let with_prelude = cat(&[PRELUDE, DELIM, b"body"]);
    let cases: [(&[u8], Option<&str>, Vec<u8>); 5] = [
        // Not an HTTP event: its stream has no prelude, whatever it looks like.
        (br#"{"source":"aws.events"}"#, http, with_prelude.clone()),
        // An HTTP event, but the body does not say it is an HTTP-integration stream.
        (
            APIGW_V2_EVENT,
            Some("application/octet-stream"),
            with_prelude.clone(),
        ),
        (APIGW_V2_EVENT, None, with_prelude.clone()),
        // Not a prelude: not JSON, or no delimiter before the end.
        (APIGW_V1_EVENT, http, cat(&[b"{oops}", DELIM, b"body"])),
        (APIGW_V1_EVENT, http, PRELUDE.to_vec()),
    ];
    for (i, (event, content_type, body)) in cases.iter().enumerate() {
        let id = format!("s{i}");
        h.queue(&id, event);
        h.next().await;
        // Cut inside the delimiter, and one byte at a time after it.
        let cut = body.len().min(PRELUDE.len() + 3);
        let mut chunks: Vec<&[u8]> = vec![&body[..cut]];
        chunks.extend(body[cut..].chunks(1));
        let status = stream(&h, &id, *content_type, &chunks, None).await;
        assert_eq!(status, StatusCode::ACCEPTED);
        assert_eq!(h.seen().await.body, body[..], "case {i}");
    }
    let doc = &h.emf()[0];
    assert_eq!(doc["Errors"], 0);
    assert_eq!(values(doc, "TimeToFirstByte").len(), 5);
}

#[tokio::test]
async fn with_tagging_off_the_prelude_passes_untouched_but_a_5xx_counts() {
    let mut h = Harness::start(false).await;
    h.queue("r1", APIGW_V2_EVENT);
    h.next().await;
    let prelude = br#"{"statusCode":503,"headers":{"retry-after":"1"}}"#;
    let status = stream(
        &h,
        "r1",
        Some(CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE),
        &[prelude, DELIM, b"down"],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(h.seen().await.body, cat(&[prelude, DELIM, b"down"]));
    let doc = &h.emf()[0];
    assert_eq!(doc["Errors"], 1, "the prelude's 503");
    assert_eq!(doc["Invocations"], 1);
}

#[tokio::test]
async fn a_prelude_split_inside_its_delimiter_is_tagged_and_trailers_follow() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V1_EVENT);
    h.next().await;
    let mut trailers = HeaderMap::new();
    trailers.insert(
        "lambda-runtime-function-error-type",
        "Runtime.StreamError".parse().unwrap(),
    );
    let status = stream(
        &h,
        "r1",
        Some(CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE),
        &[&cat(&[PRELUDE, &DELIM[..3]]), &DELIM[3..], b"a", b"b"],
        Some(trailers),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let seen = h.seen().await;
    assert_eq!(
        seen.body,
        cat(&[
            br#"{"statusCode":200,"headers":{"x-rollcall-version":"7","x-rollcall-cold":"1"},"cookies":[]}"#,
            DELIM,
            b"ab"
        ])
    );
    assert!(seen.headers.get("content-length").is_none());
    assert_eq!(
        seen.trailers.unwrap()["lambda-runtime-function-error-type"],
        "Runtime.StreamError"
    );
    assert_eq!(h.emf()[0]["Errors"], 1);
}
