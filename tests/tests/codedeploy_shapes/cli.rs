//! The test's AWS CLI harness: a one-connection JSON 1.1 responder on 127.0.0.1:0 that records
//! what the CLI sent, the CLI runner, and the fixtures.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::thread::JoinHandle;

use protocol::codedeploy::Operation;
use rollcall_e2e::tool::AWS_CLI;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What the CLI sent.
#[derive(Debug)]
pub(crate) struct Recorded {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Checks the JSON 1.1 envelope and that the target names `expected`.
    pub(crate) fn operation(&self, expected: Operation) {
        assert_eq!((self.method.as_str(), self.path.as_str()), ("POST", "/"));
        assert_eq!(
            self.header("content-type"),
            Some(protocol::codedeploy::CONTENT_TYPE)
        );
        let op = Operation::from_target(self.header(protocol::codedeploy::HEADER_TARGET));
        assert_eq!(
            op,
            Ok(expected),
            "X-Amz-Target {:?}",
            self.header("x-amz-target")
        );
    }

    pub(crate) fn body_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the CLI's body does not fit {}: {e}\n{}",
                std::any::type_name::<T>(),
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Answers one HTTP request with `status` and `body` (JSON 1.1), and returns what it received.
pub(crate) fn respond_once(status: u16, body: String) -> (String, JoinHandle<Recorded>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the CLI connects");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("request line");
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let path = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).expect("header");
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let length = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
            .map_or(0, |(_, v)| v.parse().expect("content-length"));
        let mut body_in = vec![0; length];
        reader.read_exact(&mut body_in).expect("body");
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\nx-amzn-RequestId: 7c9d8a1e-0000-4000-8000-000000000000\r\n\r\n",
            protocol::codedeploy::CONTENT_TYPE,
            body.len()
        );
        let mut stream = reader.into_inner();
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(body.as_bytes()).expect("write body");
        Recorded {
            method,
            path,
            headers,
            body: body_in,
        }
    });
    (url, handle)
}

/// Runs `aws deploy <args>` against `url` with throwaway credentials, no retries, UTC.
pub(crate) fn aws(url: &str, args: &[&str]) -> Output {
    let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    rollcall_e2e::tool::aws_command(&program, "deploy", url)
        .args(args)
        .env("AWS_RETRY_MODE", "standard")
        .env("TZ", "UTC")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

pub(crate) fn fixture_path(rel: &str) -> PathBuf {
    rollcall_e2e::workspace_root()
        .join("crates/protocol/tests/fixtures/codedeploy")
        .join(rel)
}

pub(crate) fn fixture(rel: &str) -> String {
    std::fs::read_to_string(fixture_path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Numbers as f64 (the CLI's `1764842000` and our `1764842000.0` are one timestamp), and
/// the counts a `deploymentOverview` leaves out as 0 (we always write all six).
pub(crate) fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut out: serde_json::Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect();
            if let Some(Value::Object(overview)) = out.get_mut("deploymentOverview") {
                for count in [
                    "Pending",
                    "InProgress",
                    "Succeeded",
                    "Failed",
                    "Skipped",
                    "Ready",
                ] {
                    overview
                        .entry(count)
                        .or_insert_with(|| serde_json::json!(0.0));
                }
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64()),
        other => other.clone(),
    }
}

/// The fixture read into `T` and written back: what our server sends, and the fixture's JSON.
pub(crate) fn served<T: DeserializeOwned + Serialize>(rel: &str) -> (Value, String) {
    let raw = fixture(rel);
    let value: T = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (
        serde_json::from_str(&raw).expect("JSON"),
        serde_json::to_string(&value).expect("serialize"),
    )
}

/// Runs one operation: our server answers with fixture `rel` as `T`; the CLI must print the
/// fixture back. Returns what the CLI sent.
pub(crate) fn call<T: DeserializeOwned + Serialize>(rel: &str, args: &[&str]) -> Recorded {
    let (expected, body) = served::<T>(rel);
    let (url, server) = respond_once(200, body);
    let out = aws(&url, &[args, &["--output", "json"]].concat());
    assert!(
        out.status.success(),
        "aws deploy {args:?}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let recorded = server.join().expect("server");
    let printed: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(
        normalize(&printed),
        normalize(&expected),
        "{rel}: the CLI read it back"
    );
    recorded
}

/// Runs one operation with `--query <query> --output text` against a response we serialize.
pub(crate) fn query<T: Serialize>(response: &T, args: &[&str], query: &str) -> String {
    let (url, server) = respond_once(200, serde_json::to_string(response).expect("serialize"));
    let out = aws(
        &url,
        &[args, &["--query", query, "--output", "text"]].concat(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    server.join().expect("server");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}
