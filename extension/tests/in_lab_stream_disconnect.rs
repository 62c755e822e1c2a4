//! A client that goes away in the middle of a streamed response, through a `RESPONSE_STREAM`
//! function URL with the layer between the runtime and the lab: the function runs to its end
//! (as in Lambda, the rest is discarded), the layer does not stall it, the environment is free
//! for the next call, and the metrics count the invocation once, without an error. The Python
//! custom runtime (`crates/lab/tests/fixtures/python_stream/bootstrap`, shipped as `Handler:
//! streamer` so that the layer's `/opt/bootstrap` runs it through the proxy) streams raw chunks
//! and waits at a gate the test opens only once the client is gone.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// A raw HTTP/1.1 POST of `body` to the function URL's listener; returns the connection with
/// the request sent.
async fn post(addr: &str, body: &str) -> TcpStream {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    let request = format!(
        "POST /s HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    conn
}

/// Reads from `conn` until `needle` was seen (or the connection ends); returns what was read.
async fn read_until(conn: &mut TcpStream, needle: &[u8]) -> Vec<u8> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    while !seen.windows(needle.len()).any(|w| w == needle) {
        let n = tokio::time::timeout(Duration::from_secs(20), conn.read(&mut buf))
            .await
            .expect("the stream goes on")
            .unwrap();
        if n == 0 {
            break;
        }
        seen.extend_from_slice(&buf[..n]);
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_gone_mid_stream_leaves_the_layer_and_the_environment_whole() {
    let dir = tempfile::tempdir().unwrap();
    let code = dir.path().join("code");
    write_exe(
        &code.join("streamer"),
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../crates/lab/tests/fixtures/python_stream/bootstrap"),
        )
        .unwrap(),
    );
    let layer = rollcall_layer(dir.path());
    let spec = format!(
        "layers:\n  rollcall: {{content: {l}}}\nfunctions:\n  streamer:\n    code: {c}\n    handler: streamer\n    layers: [rollcall]\n    timeout: 30s\n    environment: {{ROLLCALL_FLUSH_INTERVAL: 1h}}\n    url: {{invoke_mode: RESPONSE_STREAM}}\n",
        l = layer.display(),
        c = code.display()
    );
    let spec = lab::spec::LabSpec::from_yaml(&spec, dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let options = lab::cli::ServeOptions::loopback();
    let lab = lab::lab::Lab::start_spec(&spec, &options)
        .await
        .expect("lab starts");
    let url = lab.function_url("streamer").expect("a function URL");
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let prelude = json!({"statusCode": 200, "headers": {"content-type": "text/plain"}}).to_string();
    let delimiter = "\u{0}".repeat(8);
    let gate = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first = json!({
        "chunks": [prelude, delimiter, "first-part ", "second-part"],
        "gate": gate.local_addr().unwrap().port(), "gate_after": 2,
        "end": "ok", "content_type": INTEGRATION,
    });
    let mut conn = post(&addr, &first.to_string()).await;
    let head = read_until(&mut conn, b"first-part").await;
    let text = String::from_utf8_lossy(&head).to_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(
        text.contains("x-rollcall-version: $latest"),
        "tagged: {text}"
    );
    assert!(text.contains("first-part"), "{text}");
    drop(conn); // the client goes away mid-stream
    // Only now does the function write its last chunk and end.
    let (mut opened, _) = gate.accept().await.unwrap();
    opened.write_all(b"g").await.unwrap();

    // The invocation ends (its REPORT) and the same environment serves the next call whole.
    let pool = std::sync::Arc::clone(&lab.functions["streamer"]["$LATEST"]);
    let reports = || {
        pool.logs()
            .snapshot()
            .iter()
            .filter(|l| l.text.starts_with("REPORT "))
            .count()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while reports() < 1 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first invocation never ended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = json!({
        "chunks": [prelude, delimiter, "whole"], "end": "ok", "content_type": INTEGRATION,
    });
    let mut conn = post(&addr, &second.to_string()).await;
    let whole = read_until(&mut conn, b"0\r\n\r\n").await;
    let text = String::from_utf8_lossy(&whole).to_lowercase();
    assert!(text.contains("x-rollcall-version: $latest"), "{text}");
    assert!(text.contains("whole"), "{text}");
    drop(conn);
    let logs = pool.logs();
    lab.shutdown().await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "Invocations"), 2, "{docs:?}");
    assert_eq!(total(&docs, "Errors"), 0, "{docs:?}");
    assert_eq!(
        environments(&logs),
        1,
        "the first environment was free again"
    );
}
