//! Function URLs from a spec file (`functions.<name>.url`), on the Python custom runtime that
//! streams raw chunks and trailers (`tests/fixtures/python_stream/bootstrap`; a function URL's
//! request body carries the runtime's instructions). `RESPONSE_STREAM` parses the HTTP
//! prelude (status, headers, cookies, then 8 NULs, split across chunks here) and streams the rest
//! to the client as it comes; `BUFFERED` reads the response as payload 2.0.

use std::path::Path;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Incoming;
use lab::cli::ServeOptions;
use lab::lab::Lab;
use lab::spec::LabSpec;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

async fn start(root: &Path) -> Lab {
    let code = root.join("code");
    std::fs::create_dir_all(&code).unwrap();
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_stream/bootstrap"),
        code.join("bootstrap"),
    )
    .unwrap();
    let spec = format!(
        "functions:\n  streamer:\n    code: {c}\n    timeout: 20s\n    versions: [{{}}]\n    aliases:\n      live: {{version: 1}}\n    url: {{invoke_mode: RESPONSE_STREAM, qualifier: live}}\n  buffered:\n    code: {c}\n    url: {{invoke_mode: BUFFERED}}\nroutes:\n  - {{route: 'POST /stream', target: 'streamer:live', payload_format: '1.0', transfer_mode: STREAM}}\n",
        c = code.display()
    );
    let spec = LabSpec::from_yaml(&spec, root).unwrap_or_else(|e| panic!("{e}"));
    let options = ServeOptions::loopback();
    Lab::start_spec(&spec, &options).await.expect("lab starts")
}

/// Sends `instructions` as the request body; returns the response with its body unread.
async fn post(url: &str, instructions: Value) -> hyper::Response<Incoming> {
    post_to(url, "/some/path?q=1", instructions).await
}

async fn post_to(url: &str, target: &str, instructions: Value) -> hyper::Response<Incoming> {
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let stream = TcpStream::connect(&addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = Request::post(target)
        .header("host", addr)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(instructions.to_string())))
        .unwrap();
    sender.send_request(req).await.unwrap()
}

async fn rest(body: &mut Incoming) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(f) => {
                if let Ok(d) = f.into_data() {
                    out.extend_from_slice(&d);
                }
            }
            Err(e) => return Err(format!("{e}: after {:?}", String::from_utf8_lossy(&out))),
        }
    }
    Ok(out)
}

const INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

#[tokio::test]
async fn a_response_stream_url_sends_the_prelude_head_then_the_body_as_it_comes() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start(dir.path()).await;
    let url = lab.function_url("streamer").expect("streamer has a URL");
    let gate = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let prelude = json!({"statusCode": 201, "headers": {"x-a": "1"},
        "multiValueHeaders": {"x-b": ["2", "3"]}, "cookies": ["c=1", "d=2"]})
    .to_string();
    let instructions = json!({
        "chunks": [format!("{prelude}\u{0}\u{0}\u{0}"), "\u{0}\u{0}\u{0}\u{0}\u{0}hello ", "world"],
        "gate": gate.local_addr().unwrap().port(), "gate_after": 1, "end": "ok", "content_type": INTEGRATION});
    let mut response = post(&url, instructions).await;
    assert_eq!(response.status(), 201);
    let h = response.headers();
    assert_eq!(h["x-a"], "1");
    assert_eq!(h.get_all("x-b").iter().collect::<Vec<_>>(), ["2", "3"]);
    assert_eq!(
        h.get_all("set-cookie").iter().collect::<Vec<_>>(),
        ["c=1", "d=2"]
    );
    assert_eq!(h["content-type"], "application/octet-stream");
    assert_eq!(h["transfer-encoding"], "chunked");
    // The first body bytes arrive while the function waits at the gate.
    let body = response.body_mut();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, Bytes::from("hello "));
    let (mut conn, _) = gate.accept().await.unwrap();
    conn.write_all(b"g").await.unwrap();
    assert_eq!(rest(body).await.unwrap(), b"world");

    // A stream of another content type is the body itself.
    let instructions =
        json!({"chunks": ["raw ", "bytes"], "end": "ok", "content_type": "text/plain"});
    let mut response = post(&url, instructions).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(rest(response.body_mut()).await.unwrap(), b"raw bytes");

    // A prelude that is not JSON: 502 before any byte.
    let instructions = json!({"chunks": ["nope\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}body"],
        "end": "ok", "content_type": INTEGRATION});
    let response = post(&url, instructions).await;
    assert_eq!(response.status(), 502);

    // A prelude that never ends: 502.
    let instructions =
        json!({"chunks": ["{\"statusCode\":200}"], "end": "ok", "content_type": INTEGRATION});
    assert_eq!(post(&url, instructions).await.status(), 502);

    // An error trailer after the head: the body is cut short (no terminating chunk).
    let instructions = json!({"chunks": ["{}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}", "part"],
        "end": "error", "error_type": "Function.Late", "content_type": INTEGRATION});
    let mut response = post(&url, instructions).await;
    assert_eq!(response.status(), 200);
    let cut = rest(response.body_mut()).await.unwrap_err();
    assert!(cut.contains("part"), "{cut}");
    lab.shutdown().await;
}

#[tokio::test]
async fn a_buffered_url_reads_the_response_as_payload_2_0() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start(dir.path()).await;
    let url = lab.function_url("buffered").expect("buffered has a URL");
    let out = json!({"statusCode": 202, "body": "ok", "cookies": ["a=1"]}).to_string();
    let mut response = post(&url, json!({"chunks": [out], "end": "buffered"})).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.headers()["set-cookie"], "a=1");
    assert_eq!(rest(response.body_mut()).await.unwrap(), b"ok");
    assert!(lab.function_url("nope").is_none());
    // The readiness document names each function's URL.
    let ready = lab::ready::ReadyFile::of(&lab, 1);
    assert_eq!(
        ready.functions["buffered"].url.as_deref(),
        Some(url.as_str())
    );
    assert!(ready.functions["streamer"].url.is_some());
    lab.shutdown().await;
}

#[test]
fn a_bad_invoke_mode_is_refused_with_the_fix() {
    let yaml = "functions:\n  f:\n    code: /tmp\n    url: {invoke_mode: STREAM}\n";
    let e = LabSpec::from_yaml(yaml, Path::new("/")).unwrap_err();
    assert_eq!(e.key, "functions.f.url.invoke_mode");
    assert!(e.message.contains("use BUFFERED or RESPONSE_STREAM"), "{e}");
    let yaml = "functions:\n  f:\n    code: /tmp\n    url: {mode: BUFFERED}\n";
    assert!(LabSpec::from_yaml(yaml, Path::new("/")).is_err());
}

/// A REST route with `transfer_mode: STREAM`: the same HTTP-integration stream through the API
/// front door (payload 1.0 event, the body carrying the runtime's instructions).
#[tokio::test]
async fn a_stream_rest_route_streams_the_response() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start(dir.path()).await;
    let url = format!("{}/", lab.api_url());
    let prelude = json!({"statusCode": 206, "headers": {"x-s": "1"}}).to_string();
    let instructions = json!({"chunks": [format!("{prelude}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}"), "a", "b"],
        "end": "ok", "content_type": INTEGRATION});
    let mut response = post_to(&url, "/stream", instructions).await;
    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["x-s"], "1");
    assert_eq!(rest(response.body_mut()).await.unwrap(), b"ab");
    lab.shutdown().await;
}

#[test]
fn stream_is_for_rest_routes() {
    let yaml = "functions:\n  f:\n    code: /tmp\nroutes:\n  - {route: 'GET /x', target: f, payload_format: '2.0', transfer_mode: STREAM}\n";
    let e = LabSpec::from_yaml(yaml, Path::new("/")).unwrap_err();
    assert_eq!(e.key, "routes[0].transfer_mode");
    assert!(e.message.contains("payload_format 1.0"), "{e}");
}
