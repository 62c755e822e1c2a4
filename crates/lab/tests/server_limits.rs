//! The limits every lab server applies to its clients (`lab::accept`), through real listeners on
//! 127.0.0.1:0 and raw TCP clients that misbehave: half-sent request heads are closed after the
//! header-read timeout, and at the connection cap further connections wait.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use lab::accept::ServeLimits;
use lab::api::gateway::server::ResponseFuture;
use lab::api::{Handler, Listener};
use lab::env::delivery::{DeliveryStats, TelemetryHub};
use lab::env::shared::{Identity, Shared};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Answers `200 ok` to everything.
struct Ok200;

impl Handler for Ok200 {
    fn handle(self: Arc<Self>, _: Request<Incoming>, _: SocketAddr) -> ResponseFuture {
        Box::pin(async {
            lab::api::http::whole(Response::new(Full::new(Bytes::from_static(b"ok"))))
        })
    }
}

const SHORT: Duration = Duration::from_millis(300);
/// How long a test waits for something the limits must cause before declaring it missing.
const GUARD: Duration = Duration::from_secs(10);

fn limits(header_read_timeout: Duration, max_connections: usize) -> ServeLimits {
    ServeLimits {
        header_read_timeout,
        max_connections,
    }
}

async fn front_door(limits: ServeLimits) -> Listener {
    Listener::bind_with(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        Arc::new(Ok200),
        limits,
    )
    .await
    .unwrap()
}

/// Sends `bytes` and waits (at most [`GUARD`]) for the server to close the connection; returns
/// how long that took from the connection's start.
async fn closed_after(addr: SocketAddr, bytes: &[u8]) -> Duration {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    let mut buf = [0u8; 1024];
    let closed = tokio::time::timeout(GUARD, async {
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(
        closed.is_ok(),
        "{:?} held open for {GUARD:?} (header-read timeout {SHORT:?})",
        String::from_utf8_lossy(bytes)
    );
    t0.elapsed()
}

#[tokio::test]
async fn the_front_door_closes_half_sent_request_heads_after_the_header_read_timeout() {
    let door = front_door(limits(SHORT, 100)).await;
    let addr = door.local_addr();
    for partial in [
        &b""[..],                                       // nothing at all
        b"G",                                           // one byte
        b"GET /hello HTTP/1.1\r\nHost: lab\r\nX-Slow:", // a head never finished
        b"PRI * HTTP/2.0\r\n",                          // half an HTTP/2 preface
    ] {
        let took = closed_after(addr, partial).await;
        assert!(
            took >= SHORT - Duration::from_millis(50),
            "closed before the timeout: {took:?}"
        );
    }
    // A whole request is still answered.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.ends_with("ok"), "{out}");
}

#[tokio::test]
async fn an_environment_api_server_closes_half_sent_request_heads() {
    let shared = Arc::new(Shared::new(
        Identity {
            function_name: "f".into(),
            version: "1".into(),
            handler: "bootstrap".into(),
            account_id: "123456789012".into(),
        },
        Vec::new(),
        TelemetryHub::new(Arc::new(DeliveryStats::default())),
        None,
    ));
    let (addr, server) = lab::env::api::serve_with(shared, limits(SHORT, 8))
        .await
        .unwrap();
    closed_after(
        addr,
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost:",
    )
    .await;
    closed_after(addr, b"").await;
    server.abort();
}

#[tokio::test]
async fn at_the_connection_cap_new_connections_wait_for_a_free_slot() {
    let door = front_door(limits(Duration::from_secs(60), 2)).await;
    let addr = door.local_addr();
    // Two clients hold both slots with request heads they never finish.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: lab\r\n")
            .await
            .unwrap();
        held.push(s);
    }
    // A third, well-behaved client connects (the kernel's backlog takes it) but is not served.
    let mut third = TcpStream::connect(addr).await.unwrap();
    third
        .write_all(b"GET / HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let early = tokio::time::timeout(Duration::from_millis(500), third.read_to_end(&mut out)).await;
    assert!(
        early.is_err(),
        "served beyond the cap: {:?}",
        String::from_utf8_lossy(&out)
    );
    // One slot frees up: the waiting connection is served.
    drop(held.pop());
    tokio::time::timeout(GUARD, third.read_to_end(&mut out))
        .await
        .expect("the waiting connection is served once a slot is free")
        .unwrap();
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn http2_with_prior_knowledge_is_still_served() {
    let door = front_door(limits(SHORT, 4)).await;
    let stream = TcpStream::connect(door.local_addr()).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    // Two requests on the one connection, the second after longer than the header-read timeout:
    // an HTTP/2 connection that answers pings is not a slow client.
    for _ in 0..2 {
        let request = Request::builder()
            .uri(format!("http://{}/", door.local_addr()))
            .body(http_body_util::Empty::<Bytes>::new())
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.version(), http::Version::HTTP_2);
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        assert_eq!(&body[..], b"ok");
        tokio::time::sleep(SHORT * 2).await;
    }
}
