//! The extension's listeners against hostile clients over real TCP: where the telemetry
//! listener binds, deliveries larger than any Telemetry API batch, deliveries that are not
//! telemetry, and clients that never finish their headers.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rollcall_extension::listen::{HEADER_READ_TIMEOUT, RUNTIME_HEADER_READ_TIMEOUT};
use rollcall_extension::metrics::Aggregate;
use rollcall_extension::proxy::{Proxy, ProxySettings};
use rollcall_extension::recorder::Recorder;
use rollcall_extension::telemetry::{Listener, MAX_DELIVERY_BYTES, bind};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Telemetry {
    addr: std::net::SocketAddr,
    recorder: Arc<Recorder>,
}

async fn telemetry() -> Telemetry {
    let listener = bind(0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorder = Recorder::new(Aggregate::new("f", "Rollcall"));
    let version = Arc::new(OnceLock::new());
    version.set("3".to_owned()).unwrap();
    tokio::spawn(Listener::new(Some(recorder.clone()), version, None).serve(listener));
    Telemetry { addr, recorder }
}

impl Telemetry {
    fn timeouts(&self) -> u64 {
        let mut out = Vec::new();
        self.recorder.flush_to(&mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| {
                serde_json::from_str::<Value>(l).unwrap()["Timeouts"]
                    .as_u64()
                    .unwrap_or(0)
            })
            .sum()
    }
}

/// Sends `head` and `body` on a fresh connection and returns the status of the answer.
async fn post_raw(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer and close before reading all of it.
    let _ = stream.write_all(body).await;
    let mut answer = Vec::new();
    let read = async {
        let mut buf = [0u8; 1024];
        while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read)
        .await
        .expect("the listener answered");
    let text = String::from_utf8_lossy(&answer);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {text:?}"))
}

async fn post_json(addr: std::net::SocketAddr, body: &str) -> u16 {
    let head = format!(
        "POST / HTTP/1.1\r\nhost: sandbox.localdomain\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    post_raw(addr, &head, body.as_bytes()).await
}

/// Found by use: the listener bound 0.0.0.0, so any host could deliver forged batches. Here,
/// where `sandbox.localdomain` does not resolve, it binds loopback only.
#[tokio::test]
async fn the_telemetry_listener_binds_loopback_not_every_interface() {
    let listener = bind(0).await.unwrap();
    let addr = listener.local_addr().unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
}

/// Found by use: a 256 MB POST was read whole (537 MB resident). A declared length past the
/// largest batch is refused before the body is read (the client here never sends it).
#[tokio::test]
async fn a_delivery_declared_larger_than_any_batch_is_refused_unread() {
    let t = telemetry().await;
    let head = "POST / HTTP/1.1\r\nhost: sandbox.localdomain\r\ncontent-type: application/json\r\ncontent-length: 268435456\r\n\r\n";
    assert_eq!(post_raw(t.addr, head, b"[").await, 413);
}

/// A chunked delivery is read only up to the limit, then refused.
#[tokio::test]
async fn a_chunked_delivery_past_the_limit_is_refused() {
    let t = telemetry().await;
    let head = "POST / HTTP/1.1\r\nhost: sandbox.localdomain\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
    let chunk = vec![b' '; 1 << 20];
    let mut body = Vec::new();
    while body.len() <= MAX_DELIVERY_BYTES + (2 << 20) {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(post_raw(t.addr, head, &body).await, 413);
}

/// Found by use: `[{"Timeouts":50}]`-style forgeries were accepted. A delivery must be an
/// array of record envelopes; a real batch is still counted.
#[tokio::test]
async fn a_delivery_that_is_not_telemetry_records_is_refused() {
    let t = telemetry().await;
    for forged in [
        r#"{"Timeouts":50}"#,
        r#"[{"Timeouts":50}]"#,
        r#"[1,2]"#,
        r#"[{"type":"platform.runtimeDone","record":{"requestId":"a","status":"timeout"}}]"#,
        r#"[{"time":"2024-01-01T00:00:00Z","type":"nonsense","record":{}}]"#,
        r#"[{"time":"2024-01-01T00:00:00Z","type":"platform.report","record":{"requestId":"a","status":"timeout","metrics":{"durationMs":1.0,"billedDurationMs":1,"memorySizeMB":128,"maxMemoryUsedMB":1}}}, 7]"#,
    ] {
        assert_eq!(post_json(t.addr, forged).await, 400, "{forged}");
    }
    assert_eq!(t.timeouts(), 0);
    let real = r#"[{"time":"2024-01-01T00:00:01.000Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"timeout"}},{"time":"2024-01-01T00:00:01.000Z","type":"platform.someFutureThing","record":{}}]"#;
    assert_eq!(post_json(t.addr, real).await, 200);
    assert_eq!(t.timeouts(), 1);
}

/// Reads until the server closes the connection; panics if it is still open after `within`.
async fn closed_within(mut stream: TcpStream, within: Duration) {
    let mut buf = [0u8; 256];
    let closed = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, closed)
        .await
        .expect("the connection was closed by the listener");
}

/// Found by use: half-sent requests were held for as long as the client liked (slowloris).
/// The telemetry listener closes a connection whose headers do not arrive within the timeout.
/// The Runtime API proxy does not, within it: hyper's header timer also runs on an idle
/// keep-alive connection, and the runtime's sits idle while a handler runs (found in review:
/// a handler slower than 10 s saw its connection closed under its `/response`). The proxy's
/// timeout is longer than any invocation.
#[tokio::test]
async fn half_sent_headers_are_cut_off_by_the_telemetry_listener_not_under_the_runtime() {
    let t = telemetry().await;
    let upstream = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy = Proxy::new(
        ProxySettings {
            upstream: upstream.local_addr().unwrap().to_string(),
            version_header: None,
        },
        Arc::new(OnceLock::new()),
        None,
    );
    let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_addr = proxy_listener.local_addr().unwrap();
    tokio::spawn(proxy.serve(proxy_listener));

    let mut streams = Vec::new();
    for addr in [t.addr, proxy_addr] {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: x\r\nx-slow: ")
            .await
            .unwrap();
        streams.push(stream);
    }
    let mut runtime_side = streams.pop().unwrap();
    closed_within(
        streams.pop().unwrap(),
        HEADER_READ_TIMEOUT + Duration::from_secs(5),
    )
    .await;
    // The telemetry listener's timeout has passed: the proxy's connection is still open.
    let mut buf = [0u8; 16];
    let still_open = tokio::time::timeout(Duration::from_millis(200), runtime_side.read(&mut buf));
    assert!(
        still_open.await.is_err(),
        "the proxy closed (or answered) a connection within the telemetry timeout"
    );
    assert!(RUNTIME_HEADER_READ_TIMEOUT > Duration::from_secs(900));
}
