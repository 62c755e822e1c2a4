//! The proxy between a real hyper client (playing the runtime) and a real HTTP server on
//! 127.0.0.1:0 (playing the Runtime API), which reports every call it receives on a channel.

mod support;

use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use protocol::runtime::MAX_PAYLOAD_SIZE;
use rollcall_extension::proxy::{Proxy, ProxySettings};
use serde_json::Value;
use support::runtime_api::{APIGW_V1_EVENT, APIGW_V2_EVENT, Harness};
use tokio::net::TcpListener;

#[tokio::test]
async fn http_responses_are_tagged_cold_only_first() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V1_EVENT);
    h.queue("r2", APIGW_V1_EVENT);

    let (id, event) = h.next().await;
    assert_eq!(id, "r1");
    assert_eq!(&event[..], APIGW_V1_EVENT, "the event passes unchanged");
    let status = h
        .post(
            "/2018-06-01/runtime/invocation/r1/response",
            br#"{"statusCode":200,"body":"hi"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let seen = h.seen().await;
    assert_eq!(seen.path, "/2018-06-01/runtime/invocation/r1/response");
    assert_eq!(
        &seen.body[..],
        br#"{"statusCode":200,"body":"hi","headers":{"x-rollcall-version":"7","x-rollcall-cold":"1"}}"#
    );
    assert_eq!(
        seen.headers["content-length"],
        seen.body.len().to_string().as_str()
    );
    assert_eq!(seen.headers["content-type"], "application/json");

    let (id, _) = h.next().await;
    h.post(
        &format!("/2018-06-01/runtime/invocation/{id}/response"),
        br#"{"statusCode":503}"#,
    )
    .await;
    let seen = h.seen().await;
    assert_eq!(
        &seen.body[..],
        br#"{"statusCode":503,"headers":{"x-rollcall-version":"7"}}"#
    );

    let docs = h.emf();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["Errors"], 1, "the 503 counts as an error");
    assert_eq!(docs[0]["Latency"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn non_http_events_and_their_responses_pass_byte_for_byte() {
    let mut h = Harness::start(true).await;
    let cases: [(&[u8], &[u8]); 4] = [
        (
            br#"{"any":"json","n":[1,2]}"#,
            br#"{"statusCode":200,"body":"looks http"}"#,
        ),
        (br#""a plain string""#, br#""a plain string back""#),
        (b"not even json", b"\xff\xfe binary"),
        (APIGW_V1_EVENT, b"\xff not json"),
    ];
    for (i, (event, response)) in cases.iter().enumerate() {
        let id = format!("req-{i}");
        h.queue(&id, event);
        let (got_id, got_event) = h.next().await;
        assert_eq!(got_id, id);
        assert_eq!(&got_event[..], *event);
        h.post(
            &format!("/2018-06-01/runtime/invocation/{id}/response"),
            response,
        )
        .await;
        let seen = h.seen().await;
        assert_eq!(&seen.body[..], *response, "case {i}");
    }
}

#[tokio::test]
async fn payload_2_0_without_status_code_gets_the_explicit_equivalent() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V2_EVENT);
    h.next().await;
    h.post(
        "/2018-06-01/runtime/invocation/r1/response",
        br#"{"message":"hi"}"#,
    )
    .await;
    let seen = h.seen().await;
    let v: Value = serde_json::from_slice(&seen.body).unwrap();
    assert_eq!(v["statusCode"], 200);
    assert_eq!(v["body"], r#"{"message":"hi"}"#);
    assert_eq!(v["headers"]["x-rollcall-version"], "7");
}

#[tokio::test]
async fn tagging_off_forwards_responses_unchanged_but_still_counts_errors() {
    let mut h = Harness::start(false).await;
    h.queue("r1", APIGW_V1_EVENT);
    h.next().await;
    let body = br#"{"statusCode":500,"body":"boom"}"#;
    h.post("/2018-06-01/runtime/invocation/r1/response", body)
        .await;
    assert_eq!(&h.seen().await.body[..], body);
    assert_eq!(h.emf()[0]["Errors"], 1);
}

/// A response over Lambda's payload limit is refused by the Runtime API (413; the client gets
/// a 500): an error, whether its length was declared or it came chunked.
#[tokio::test]
async fn a_response_the_runtime_api_refused_counts_as_an_error() {
    let mut h = Harness::start(true).await;
    let big = format!(
        r#"{{"statusCode":200,"body":"{}"}}"#,
        "x".repeat(MAX_PAYLOAD_SIZE)
    );
    h.queue("r1", APIGW_V1_EVENT);
    h.queue("r2", APIGW_V1_EVENT);
    h.next().await;
    let status = h
        .post("/2018-06-01/runtime/invocation/r1/response", big.as_bytes())
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.seen().await.body.len(), big.len());

    h.next().await;
    let (mut tx, body) = Channel::<Bytes>::new(4);
    let req = Request::post(format!(
        "{}/2018-06-01/runtime/invocation/r2/response",
        h.proxy_url
    ))
    .body(body)
    .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let sent = tokio::spawn(async move { client.request(req).await.unwrap().status() });
    for chunk in big.as_bytes().chunks(1 << 20) {
        tx.send_data(Bytes::copy_from_slice(chunk)).await.unwrap();
    }
    drop(tx);
    assert_eq!(sent.await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.seen().await.body.len(), big.len());

    let docs = h.emf();
    assert_eq!(docs[0]["Invocations"], 2);
    assert_eq!(docs[0]["Errors"], 2, "{docs:?}");
}

/// A chunked response past the payload limit is not held whole: the Runtime API receives its
/// bytes while the runtime is still sending (the runtime here waits for that before sending
/// its last chunk; a proxy that buffered would never forward anything). RSS: bench/README.md.
#[tokio::test]
async fn a_chunked_response_past_the_limit_streams_through() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V1_EVENT);
    h.next().await;
    let (mut tx, body) = Channel::<Bytes>::new(4);
    let req = Request::post(format!(
        "{}/2018-06-01/runtime/invocation/r1/response",
        h.proxy_url
    ))
    .body(body)
    .unwrap();
    let client = Client::builder(TokioExecutor::new()).build_http();
    let sent = tokio::spawn(async move { client.request(req).await.unwrap().status() });
    let chunk = Bytes::from(vec![b' '; 1 << 20]);
    let mut total = 0;
    while total <= MAX_PAYLOAD_SIZE + (1 << 20) {
        tx.send_data(chunk.clone()).await.unwrap();
        total += chunk.len();
    }
    let upstream = h.upstream.clone();
    let forwarded = async {
        loop {
            let notified = upstream.progress.notified();
            if upstream.receiving.load(Ordering::SeqCst) > MAX_PAYLOAD_SIZE {
                return;
            }
            notified.await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), forwarded)
        .await
        .expect("the Runtime API received the response's bytes before its end");
    tx.send_data(Bytes::from_static(b"{}")).await.unwrap();
    drop(tx);
    assert_eq!(sent.await.unwrap(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(h.seen().await.body.len(), total + 2, "every byte arrived");
    assert_eq!(h.emf()[0]["Errors"], 1);
}

#[tokio::test]
async fn errors_and_init_errors_are_forwarded_untouched() {
    let mut h = Harness::start(true).await;
    h.queue("r1", APIGW_V1_EVENT);
    h.next().await;
    let err = br#"{"errorType":"Boom","errorMessage":"bad"}"#;
    let req = Request::post(format!(
        "{}/2018-06-01/runtime/invocation/r1/error",
        h.proxy_url
    ))
    .header("lambda-runtime-function-error-type", "unhandled")
    .body(Full::new(Bytes::from_static(err)))
    .unwrap();
    assert_eq!(
        h.client.request(req).await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    let seen = h.seen().await;
    assert_eq!(seen.path, "/2018-06-01/runtime/invocation/r1/error");
    assert_eq!(&seen.body[..], err);
    assert_eq!(
        seen.headers["lambda-runtime-function-error-type"],
        "unhandled"
    );

    h.post("/2018-06-01/runtime/init/error", err).await;
    let seen = h.seen().await;
    assert_eq!(seen.path, "/2018-06-01/runtime/init/error");
    assert_eq!(&seen.body[..], err);
    let docs = h.emf();
    assert_eq!(docs[0]["Errors"], 1);
}

#[tokio::test]
async fn six_megabyte_responses_are_tagged_when_they_fit_and_untouched_when_not() {
    let mut h = Harness::start(true).await;
    let limit = protocol::runtime::MAX_PAYLOAD_SIZE;
    // Fits with the tag (the tag adds 61 bytes here, cold included).
    let small = format!(
        r#"{{"statusCode":200,"body":"{}"}}"#,
        "a".repeat(limit - 200)
    );
    // Fits without the tag, not with it: forwarded as it was.
    let edge = format!(
        r#"{{"statusCode":200,"body":"{}"}}"#,
        "b".repeat(limit - 40)
    );
    for (i, body) in [small, edge].iter().enumerate() {
        let id = format!("big-{i}");
        h.queue(&id, APIGW_V1_EVENT);
        h.next().await;
        let status = h
            .post(
                &format!("/2018-06-01/runtime/invocation/{id}/response"),
                body.as_bytes(),
            )
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
        let seen = h.seen().await;
        let v: Value = serde_json::from_slice(&seen.body).unwrap();
        assert_eq!(
            v["body"],
            serde_json::from_str::<Value>(body).unwrap()["body"]
        );
        if i == 0 {
            assert_eq!(v["headers"]["x-rollcall-version"], "7");
            assert!(seen.body.len() <= limit);
        } else {
            assert_eq!(&seen.body[..], body.as_bytes(), "untouched");
        }
    }
}

#[tokio::test]
async fn an_unreachable_runtime_api_gives_502() {
    let dead = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead_addr = dead.local_addr().unwrap();
    drop(dead);
    let proxy = Proxy::new(
        ProxySettings {
            upstream: dead_addr.to_string(),
            version_header: None,
        },
        Arc::new(OnceLock::new()),
        None,
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/2018-06-01/runtime/invocation/next",
        listener.local_addr().unwrap()
    );
    tokio::spawn(proxy.serve(listener));
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let res = client.get(url.parse().unwrap()).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let body: Value =
        serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap();
    assert_eq!(body["errorType"], "Rollcall.ProxyError");
}
