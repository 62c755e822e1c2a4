//! The three doors a streamed response leaves the lab by, each read as its clients read it, with
//! the gate that proves the first body chunk came before the function sent the next.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};

/// The 8 NUL bytes between an HTTP integration prelude and the body.
const DELIMITER: [u8; 8] = [0; 8];
/// How long any step may take before the test calls the stream stalled.
const STALL: Duration = Duration::from_secs(30);

/// Where the response is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Door {
    /// The function's `RESPONSE_STREAM` URL.
    FunctionUrl,
    /// `POST /<function>` on the front door, a REST route with `transfer_mode: STREAM`.
    RestStream,
    /// The Lambda API, through the AWS SDK for Rust, with the event a front door that calls it
    /// sends (payload 2.0, the instructions as its body): the layer tags HTTP-shaped
    /// invocations only.
    InvokeWithResponseStream,
}

/// What a client saw, without what differs per request (ids, dates) and without the layer's tags.
#[derive(Debug)]
pub struct Answer {
    /// The HTTP status (InvokeWithResponseStream: the prelude's `statusCode`).
    pub status: u16,
    /// The headers (InvokeWithResponseStream: the prelude's headers and cookies), sorted.
    pub headers: Vec<(String, String)>,
    /// The body after the prelude.
    pub body: Vec<u8>,
    /// How the stream failed: cut short (HTTP), or InvokeComplete's error code and details.
    pub error: Option<String>,
    /// `x-rollcall-version`, wherever it was.
    pub version_tag: Option<String>,
}

/// Per-request headers the comparison leaves out.
fn varies(name: &str) -> bool {
    matches!(
        name,
        "date" | "x-amzn-requestid" | "x-rollcall-version" | "x-rollcall-cold"
    )
}

/// Opens the gate the function waits at once `body` holds `first`, exactly once.
struct Gate {
    listener: Option<TcpListener>,
}

impl Gate {
    async fn open_once_seen(&mut self, body: &[u8], first: &[u8]) {
        if !body.windows(first.len()).any(|w| w == first) {
            return;
        }
        let Some(listener) = self.listener.take() else {
            return;
        };
        let (mut conn, _) = tokio::time::timeout(STALL, listener.accept())
            .await
            .expect("the function waits at the gate")
            .unwrap();
        conn.write_all(b"g").await.unwrap();
    }
}

/// Calls `function` through `door` with `instructions(gate port)`; `first`: the first body
/// chunk, which must arrive while the function waits at the gate.
pub async fn call(
    lab: &lab::lab::Lab,
    function: &str,
    door: Door,
    instructions: impl Fn(u16) -> Value,
    first: &[u8],
) -> Answer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let body = instructions(listener.local_addr().unwrap().port()).to_string();
    let mut gate = Gate {
        listener: Some(listener),
    };
    let answer = match door {
        Door::FunctionUrl => {
            let url = lab.function_url(function).expect("a function URL");
            let addr = url.trim_start_matches("http://").trim_end_matches('/');
            http_call(addr, "/", body, &mut gate, first).await
        }
        Door::RestStream => {
            let addr = lab.api.local_addr().to_string();
            http_call(&addr, &format!("/{function}"), body, &mut gate, first).await
        }
        Door::InvokeWithResponseStream => {
            sdk_call(&lab.lambda_url(), function, body, &mut gate, first).await
        }
    };
    assert!(
        gate.listener.is_none(),
        "{function} through {door:?}: the first chunk {:?} never arrived: {:?}",
        String::from_utf8_lossy(first),
        String::from_utf8_lossy(&answer.body)
    );
    answer
}

async fn http_call(addr: &str, path: &str, body: String, gate: &mut Gate, first: &[u8]) -> Answer {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let request = hyper::Request::post(path)
        .header("host", addr)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let mut response = tokio::time::timeout(STALL, sender.send_request(request))
        .await
        .expect("the head comes")
        .unwrap();
    let status = response.status().as_u16();
    let version_tag = response
        .headers()
        .get("x-rollcall-version")
        .map(|v| v.to_str().unwrap().to_owned());
    let mut headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(n, _)| !varies(n.as_str()))
        .map(|(n, v)| (n.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    let mut out = Vec::new();
    let mut error = None;
    let body = response.body_mut();
    loop {
        let frame = tokio::time::timeout(STALL, body.frame())
            .await
            .expect("the stream goes on");
        match frame {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    out.extend_from_slice(&data);
                    gate.open_once_seen(&out, first).await;
                }
            }
            Some(Err(_)) => {
                error = Some("cut short".to_owned());
                break;
            }
        }
    }
    Answer {
        status,
        headers,
        body: out,
        error,
        version_tag,
    }
}

async fn sdk_call(
    lambda_url: &str,
    function: &str,
    body: String,
    gate: &mut Gate,
    first: &[u8],
) -> Answer {
    let (raw, error) = sdk_stream(lambda_url, function, http_event(&body), gate, first).await;
    let at = find(&raw, &DELIMITER).expect("an HTTP integration prelude");
    let prelude: Value = serde_json::from_slice(&raw[..at]).expect("the prelude is JSON");
    let version_tag = prelude["headers"]["x-rollcall-version"]
        .as_str()
        .map(str::to_owned);
    let mut headers: Vec<(String, String)> = prelude["headers"]
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(n, _)| !varies(n))
        .map(|(n, v)| (n.clone(), v.to_string()))
        .collect();
    headers.push(("cookies".into(), prelude["cookies"].to_string()));
    headers.sort();
    Answer {
        status: prelude["statusCode"].as_u64().unwrap_or(200) as u16,
        headers,
        body: raw[at + DELIMITER.len()..].to_vec(),
        error,
        version_tag,
    }
}

/// InvokeWithResponseStream with `instructions(gate port)` as the event itself (not an HTTP
/// event): every byte of the stream as the caller gets it, and how it ended.
pub async fn bare_stream(
    lab: &lab::lab::Lab,
    function: &str,
    instructions: impl Fn(u16) -> Value,
    first: &[u8],
) -> (Vec<u8>, Option<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let payload = instructions(listener.local_addr().unwrap().port()).to_string();
    let mut gate = Gate {
        listener: Some(listener),
    };
    let out = sdk_stream(&lab.lambda_url(), function, payload, &mut gate, first).await;
    assert!(
        gate.listener.is_none(),
        "{function}: the first chunk never arrived"
    );
    out
}

/// Calls InvokeWithResponseStream with `payload`; the payload chunks joined, and
/// InvokeComplete's error. Opens `gate` once `first` arrived after the prelude's delimiter.
async fn sdk_stream(
    lambda_url: &str,
    function: &str,
    payload: String,
    gate: &mut Gate,
    first: &[u8],
) -> (Vec<u8>, Option<String>) {
    use aws_sdk_lambda::config::{BehaviorVersion, Credentials, Region};
    use aws_sdk_lambda::types::InvokeWithResponseStreamResponseEvent as Event;
    let config = aws_sdk_lambda::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDLAB", "secret", None, None, "test"))
        .endpoint_url(lambda_url)
        .build();
    let client = aws_sdk_lambda::Client::from_conf(config);
    let mut output = tokio::time::timeout(
        STALL,
        client
            .invoke_with_response_stream()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send(),
    )
    .await
    .expect("the stream starts")
    .unwrap();
    let mut raw = Vec::new();
    let mut error = None;
    loop {
        let event = tokio::time::timeout(STALL, output.event_stream.recv())
            .await
            .expect("the stream goes on")
            .expect("a well-formed event stream");
        match event {
            None => break,
            Some(Event::PayloadChunk(chunk)) => {
                raw.extend_from_slice(chunk.payload().map_or(&[][..], |b| b.as_ref()));
                if let Some(at) = find(&raw, &DELIMITER) {
                    gate.open_once_seen(&raw[at + DELIMITER.len()..], first)
                        .await;
                }
            }
            Some(Event::InvokeComplete(done)) => {
                if done.error_code().is_some() || done.error_details().is_some() {
                    error = Some(format!(
                        "{}: {}",
                        done.error_code().unwrap_or_default(),
                        done.error_details().unwrap_or_default()
                    ));
                }
            }
            Some(other) => panic!("an event InvokeWithResponseStream does not send: {other:?}"),
        }
    }
    (raw, error)
}

/// A function URL's event (payload 2.0) with `body`.
fn http_event(body: &str) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/", "rawQueryString": "",
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": "POST", "path": "/", "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1", "userAgent": "test"}, "requestId": "r",
            "routeKey": "$default", "stage": "$default", "timeEpoch": 0},
        "body": body, "isBase64Encoded": false,
    })
    .to_string()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
