//! `bench stream`: what the proxy adds to a streamed HTTP response's time to first byte, in one
//! process. A runtime (a hyper client) takes an HTTP API 2.0 event from `/next` and streams its
//! response the way `lambda_runtime` does: the JSON prelude, the 8 NUL bytes, a first body chunk,
//! then, once that chunk reached the Runtime API, the rest. Time to first byte: from sending the
//! prelude to the first body byte arriving at a minimal Runtime API, directly and through the
//! proxy (which holds the prelude until the delimiter, tags it, and forwards the rest as it
//! comes). Modes alternate every response.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::channel::Channel;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use protocol::runtime::{self, PRELUDE_DELIMITER};
use tokio::sync::mpsc;

use crate::{EVENT, line, micros};

const PRELUDE: &[u8] =
    br#"{"statusCode":200,"headers":{"content-type":"text/event-stream"},"cookies":[]}"#;

/// A minimal Runtime API: `/next` answers [`EVENT`]; `/response` reads the stream and reports on
/// `first_body_byte` the instant a byte past the prelude's delimiter arrives, then answers 202.
async fn runtime_api(first_body_byte: mpsc::UnboundedSender<Instant>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let _ = stream.set_nodelay(true);
            let first_body_byte = first_body_byte.clone();
            tokio::spawn(async move {
                let svc =
                    hyper::service::service_fn(move |req: http::Request<hyper::body::Incoming>| {
                        let first_body_byte = first_body_byte.clone();
                        async move {
                            if req.uri().path() == runtime::NEXT_PATH {
                                let res = http::Response::builder()
                                    .header(runtime::HEADER_REQUEST_ID, "req-1")
                                    .header(runtime::HEADER_DEADLINE_MS, "4102444800000")
                                    .body(Full::new(Bytes::from_static(EVENT)));
                                return Ok::<_, Infallible>(res.unwrap());
                            }
                            let mut body = req.into_body();
                            let mut seen = Vec::new();
                            let mut reported = false;
                            while let Some(Ok(frame)) = body.frame().await {
                                let Ok(data) = frame.into_data() else { break };
                                if reported {
                                    continue;
                                }
                                seen.extend_from_slice(&data);
                                let body_at = seen
                                    .windows(PRELUDE_DELIMITER.len())
                                    .position(|w| w == PRELUDE_DELIMITER)
                                    .map(|i| i + PRELUDE_DELIMITER.len());
                                if body_at.is_some_and(|at| seen.len() > at) {
                                    reported = true;
                                    let _ = first_body_byte.send(Instant::now());
                                }
                            }
                            let res = http::Response::builder()
                                .status(202)
                                .body(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
                            Ok(res.unwrap())
                        }
                    });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// One invocation with a streamed response; returns its time to first byte.
/// A client for `/next` and one for the streamed `/response` (each with its own connection, as
/// `lambda_runtime`'s pool has).
struct Runtime {
    poller: Client<HttpConnector, Full<Bytes>>,
    client: Client<HttpConnector, Channel<Bytes>>,
}

async fn cycle(
    Runtime { poller, client }: &Runtime,
    base: &str,
    first_body_byte: &mut mpsc::UnboundedReceiver<Instant>,
) -> Duration {
    let next = poller
        .get(format!("{base}{}", runtime::NEXT_PATH).parse().unwrap())
        .await
        .unwrap();
    let _ = next.into_body().collect().await.unwrap();
    let (mut tx, body) = Channel::<Bytes>::new(4);
    let req = http::Request::post(format!("{base}{}", runtime::response_path("req-1")))
        .header(runtime::HEADER_FUNCTION_RESPONSE_MODE, "streaming")
        .header(http::header::TRANSFER_ENCODING, "chunked")
        .header(
            http::header::CONTENT_TYPE,
            runtime::CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE,
        )
        .body(body)
        .unwrap();
    let sent = client.request(req);
    let streamed = async {
        let start = Instant::now();
        tx.send_data(Bytes::from_static(PRELUDE)).await.unwrap();
        tx.send_data(Bytes::from_static(&PRELUDE_DELIMITER))
            .await
            .unwrap();
        tx.send_data(Bytes::from_static(b"data: first\n\n"))
            .await
            .unwrap();
        let arrived = first_body_byte.recv().await.expect("the first body byte");
        tx.send_data(Bytes::from_static(b"data: last\n\n"))
            .await
            .unwrap();
        drop(tx);
        arrived.saturating_duration_since(start)
    };
    let (res, ttfb) = tokio::join!(sent, streamed);
    let _ = res.unwrap().into_body().collect().await.unwrap();
    ttfb
}

/// Runs `cycles` streamed responses per mode and prints both distributions and their
/// differences.
pub async fn run(cycles: u64) {
    use rollcall_extension::metrics::Aggregate;
    use rollcall_extension::proxy::{Proxy, ProxySettings};
    use rollcall_extension::recorder::Recorder;
    let (tx, mut first_body_byte) = mpsc::unbounded_channel();
    let upstream = runtime_api(tx).await;
    let version = Arc::new(std::sync::OnceLock::new());
    version.set("1".to_owned()).unwrap();
    let proxy = Proxy::new(
        ProxySettings {
            upstream: upstream.to_string(),
            version_header: Some("x-rollcall-version".into()),
        },
        version,
        Some(Recorder::new(Aggregate::new("bench", "Rollcall"))),
    );
    let listener = rollcall_extension::proxy::bind(0).await.unwrap();
    let proxied = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(proxy.serve(listener));
    let direct = format!("http://{upstream}");
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let builder = Client::builder(hyper_util::rt::TokioExecutor::new());
    let client = Runtime {
        poller: builder.build(connector.clone()),
        client: builder.build(connector),
    };
    for _ in 0..1000 {
        cycle(&client, &direct, &mut first_body_byte).await;
        cycle(&client, &proxied, &mut first_body_byte).await;
    }
    let mut h_direct = Histogram::<u64>::new(3).unwrap();
    let mut h_proxied = Histogram::<u64>::new(3).unwrap();
    for _ in 0..cycles {
        let d = cycle(&client, &direct, &mut first_body_byte).await;
        h_direct.record(micros(d)).unwrap();
        let p = cycle(&client, &proxied, &mut first_body_byte).await;
        h_proxied.record(micros(p)).unwrap();
    }
    line("direct", &h_direct);
    line("proxied", &h_proxied);
    for q in [0.5, 0.9, 0.99] {
        let a = h_proxied.value_at_quantile(q) as i64;
        let b = h_direct.value_at_quantile(q) as i64;
        println!("added ttfb p{}: {}us", q * 100.0, a - b);
    }
}
