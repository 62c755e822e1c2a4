//! Streamed responses from real streaming clients, each compared with and without the layer
//! through every front door that streams: a `RESPONSE_STREAM` function URL, a REST route with
//! the `STREAM` transfer mode, and `InvokeWithResponseStream` read by the AWS SDK for Rust's
//! event-stream decoder. The runtimes: Rust `lambda_runtime`'s `StreamResponse` (lab-testfn), a
//! Python custom runtime that streams raw chunks and trailers
//! (`crates/lab/tests/fixtures/python_stream/bootstrap`), and AWS's Node.js runtime interface
//! client (`aws-lambda-ric`, `scripts/setup.sh` installs it) with `awslambda.streamifyResponse`,
//! written chunk by chunk through `HttpResponseStream.from` or piped from a Readable
//! (`tests/fixtures/node_stream/index.mjs`).
//!
//! Each lab runs the same code twice: `plain` without the layer, `tagged` behind it. Through
//! each door both answer the same status, the same headers but the layer's tags (present on
//! `tagged` only), every body byte the same, and the first body chunk before the function sends
//! the next (it waits at a gate the test opens only once that chunk arrived): the layer does not
//! buffer. A failure after a partial body reaches the client the same way with and without the
//! layer, and the layer counts every invocation once.

#[path = "stream_front_doors/doors.rs"]
mod doors;
mod support;

use std::path::{Path, PathBuf};

use doors::{Answer, Door, bare_stream, call};
use serde_json::{Value, json};
use support::*;

const INTEGRATION: &str = "application/vnd.awslambda.http-integration-response";

/// The runtimes under test.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Runtime {
    /// `lambda_runtime` (lab-testfn).
    Rust,
    PythonRaw,
    NodeWritten,
    NodePiped,
}

/// What the function sends.
struct Case {
    chunks: Vec<&'static str>,
    fail: Option<&'static str>,
}

impl Runtime {
    /// The instructions for `case` in this runtime's format; `gate`: the port it waits on
    /// after the first body chunk.
    fn instructions(self, case: &Case, gate: u16) -> Value {
        let headers = json!({"content-type": "text/plain", "x-a": "1"});
        match self {
            Runtime::Rust => json!({"stream": case.chunks, "status": 201,
                "headers": headers, "cookies": ["c=1"], "gate": gate}),
            Runtime::PythonRaw => {
                let prelude =
                    json!({"statusCode": 201, "headers": headers, "cookies": ["c=1"]}).to_string();
                let mut chunks = vec![prelude, "\u{0}".repeat(8)];
                chunks.extend(case.chunks.iter().map(|c| (*c).to_owned()));
                json!({"chunks": chunks, "gate": gate, "gate_after": 2,
                    "end": if case.fail.is_some() { "error" } else { "ok" },
                    "error_type": "Function.Broken", "error_body": case.fail.unwrap_or_default(),
                    "content_type": INTEGRATION})
            }
            Runtime::NodeWritten | Runtime::NodePiped => json!({"chunks": case.chunks,
                "status": 201, "headers": headers, "cookies": ["c=1"], "gate": gate,
                "fail": case.fail}),
        }
    }
}

/// The code dir of `plain` and of `tagged`, and the spec lines (handler, runtime, command) of
/// each.
fn functions(runtime: Runtime, dir: &Path) -> [(PathBuf, String); 2] {
    let plain = dir.join("plain");
    let tagged = dir.join("tagged");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    match runtime {
        Runtime::Rust | Runtime::PythonRaw => {
            let bootstrap = if runtime == Runtime::Rust {
                function_binary("lab-testfn")
            } else {
                manifest.join("../crates/lab/tests/fixtures/python_stream/bootstrap")
            };
            // Without the layer the package's own bootstrap runs; behind it, the layer's
            // `/opt/bootstrap` runs the binary `Handler` names, through the proxy.
            code_dir(dir, "plain", &bootstrap, "bootstrap");
            code_dir(dir, "tagged", &bootstrap, "streamer");
            [
                (plain, String::new()),
                (
                    tagged,
                    "    handler: streamer\n    layers: [rollcall]\n".to_owned(),
                ),
            ]
        }
        Runtime::NodeWritten | Runtime::NodePiped => {
            let handler = if runtime == Runtime::NodeWritten {
                "index.written"
            } else {
                "index.piped"
            };
            let ric = node_ric();
            // One code dir for both: a failure's stack trace names the file.
            let code = dir.join("node");
            std::fs::create_dir_all(&code).unwrap();
            std::fs::copy(
                manifest.join("tests/fixtures/node_stream/index.mjs"),
                code.join("index.mjs"),
            )
            .unwrap();
            let (plain, tagged) = (code.clone(), code);
            let lines = format!(
                "    handler: {handler}\n    runtime: nodejs20.x\n    command: ['{}', {handler}]\n",
                ric.display()
            );
            [
                (plain, lines.clone()),
                (
                    tagged,
                    format!(
                        "{lines}    layers: [rollcall]\n    environment: {{AWS_LAMBDA_EXEC_WRAPPER: /opt/rollcall-wrapper, ROLLCALL_FLUSH_INTERVAL: 1h}}\n"
                    ),
                ),
            ]
        }
    }
}

/// AWS's Node.js runtime interface client: `ROLLCALL_NODE_RIC` (set by `scripts/setup.sh`).
fn node_ric() -> PathBuf {
    let path = std::env::var_os("ROLLCALL_NODE_RIC").map(PathBuf::from);
    match path {
        Some(p) if p.is_file() => p,
        _ => panic!(
            "ROLLCALL_NODE_RIC does not name aws-lambda-ric: run the tests through scripts/test.sh, \
             or `source scripts/setup.sh` first (it installs aws-lambda-ric@3.3.0 with npm)"
        ),
    }
}

/// A lab running `runtime`'s function as `plain` and `tagged`, each with a `RESPONSE_STREAM`
/// function URL and a `STREAM` REST route (`POST /plain`, `POST /tagged`).
async fn start(runtime: Runtime, dir: &Path) -> lab::lab::Lab {
    let layer = rollcall_layer(dir);
    let [(plain, plain_lines), (tagged, tagged_lines)] = functions(runtime, dir);
    let mut spec = format!(
        "layers:\n  rollcall: {{content: {}}}\nfunctions:\n",
        layer.display()
    );
    for (name, code, lines) in [
        ("plain", plain, plain_lines),
        ("tagged", tagged, tagged_lines),
    ] {
        spec.push_str(&format!(
            "  {name}:\n    code: {}\n    timeout: 30s\n{lines}    url: {{invoke_mode: RESPONSE_STREAM}}\n",
            code.display()
        ));
    }
    spec.push_str("routes:\n");
    for name in ["plain", "tagged"] {
        spec.push_str(&format!(
            "  - {{route: 'POST /{name}', target: {name}, payload_format: '1.0', transfer_mode: STREAM}}\n"
        ));
    }
    if runtime != Runtime::NodeWritten && runtime != Runtime::NodePiped {
        spec = spec.replace(
            "    layers: [rollcall]\n",
            "    layers: [rollcall]\n    environment: {ROLLCALL_FLUSH_INTERVAL: 1h}\n",
        );
    }
    let spec = lab::spec::LabSpec::from_yaml(&spec, dir).unwrap_or_else(|e| panic!("{e}\n{spec}"));
    let options = lab::cli::ServeOptions::loopback();
    lab::lab::Lab::start_spec(&spec, &options)
        .await
        .expect("lab starts")
}

/// `plain` and `tagged` answer `case` alike through `door`; the tags only on `tagged`.
async fn compare(lab: &lab::lab::Lab, runtime: Runtime, door: Door, case: &Case) {
    let first = case.chunks[0].as_bytes();
    let [plain, tagged]: [Answer; 2] = [
        call(
            lab,
            "plain",
            door,
            |gate| runtime.instructions(case, gate),
            first,
        )
        .await,
        call(
            lab,
            "tagged",
            door,
            |gate| runtime.instructions(case, gate),
            first,
        )
        .await,
    ];
    let what = format!("{runtime:?} through {door:?}");
    assert_eq!(plain.status, tagged.status, "{what}: status");
    assert_eq!(plain.headers, tagged.headers, "{what}: headers");
    assert_eq!(
        plain.body,
        tagged.body,
        "{what}: body\n{}\n{}",
        String::from_utf8_lossy(&plain.body),
        String::from_utf8_lossy(&tagged.body)
    );
    assert_eq!(plain.error, tagged.error, "{what}: how the stream ended");
    assert_eq!(plain.version_tag, None, "{what}: no tag without the layer");
    assert_eq!(
        tagged.version_tag.as_deref(),
        Some("$LATEST"),
        "{what}: tagged behind the layer"
    );
    if case.fail.is_none() {
        assert_eq!(plain.error, None, "{what}: a whole stream");
        let body: String = case.chunks.concat();
        assert!(
            plain.body.ends_with(body.as_bytes()),
            "{what}: {}",
            String::from_utf8_lossy(&plain.body)
        );
        if door != Door::InvokeWithResponseStream {
            assert_eq!(plain.status, 201, "{what}");
            assert!(
                plain.headers.contains(&("x-a".to_owned(), "1".to_owned())),
                "{what}: {:?}",
                plain.headers
            );
        }
    } else {
        assert!(
            plain.error.is_some(),
            "{what}: the failure reaches the client"
        );
    }
}

/// Every door, a whole stream, then (`fail`) a stream that fails after a partial body; the
/// layer's metrics count each invocation of `tagged` once, failures as errors.
async fn every_door(runtime: Runtime, fail: bool) {
    let dir = tempfile::tempdir().unwrap();
    let lab = start(runtime, dir.path()).await;
    let whole = Case {
        chunks: vec!["first body chunk, ", "second, ", "third"],
        fail: None,
    };
    let failing = Case {
        chunks: vec!["partial body, ", "then"],
        fail: Some("broken mid-stream"),
    };
    let mut calls = 0;
    let mut failures = 0;
    for door in [
        Door::FunctionUrl,
        Door::RestStream,
        Door::InvokeWithResponseStream,
    ] {
        compare(&lab, runtime, door, &whole).await;
        calls += 1;
        if fail {
            compare(&lab, runtime, door, &failing).await;
            calls += 1;
            failures += 1;
        }
    }
    let logs = lab.functions["tagged"]["$LATEST"].logs();
    lab.shutdown().await;
    let docs = emf_documents(&logs);
    assert_eq!(total(&docs, "Invocations"), calls, "{runtime:?}: {docs:?}");
    assert_eq!(total(&docs, "Errors"), failures, "{runtime:?}: {docs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_runtime_streams_alike_with_and_without_the_layer() {
    // lambda_runtime 1.5 writes a stream's error into the body, not into trailers: no
    // failing case here.
    every_door(Runtime::Rust, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_raw_stream_passes_alike_with_and_without_the_layer() {
    every_door(Runtime::PythonRaw, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_http_response_stream_writes_pass_alike_with_and_without_the_layer() {
    every_door(Runtime::NodeWritten, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_pipeline_passes_alike_with_and_without_the_layer() {
    every_door(Runtime::NodePiped, true).await;
}

/// InvokeWithResponseStream with the instructions as the event (no HTTP event): the layer does
/// not tag what no HTTP client reads, so the stream, prelude included, passes byte for byte.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_to_a_bare_invocation_passes_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let lab = start(Runtime::PythonRaw, dir.path()).await;
    let case = Case {
        chunks: vec!["first body chunk, ", "the rest"],
        fail: None,
    };
    let first = case.chunks[0].as_bytes();
    let instructions = |gate| Runtime::PythonRaw.instructions(&case, gate);
    let plain = bare_stream(&lab, "plain", instructions, first).await;
    let tagged = bare_stream(&lab, "tagged", instructions, first).await;
    lab.shutdown().await;
    assert_eq!(plain, tagged);
    assert_eq!(plain.1, None);
    assert!(plain.0.ends_with(b"first body chunk, the rest"));
    assert!(!plain.0.windows(10).any(|w| w == b"x-rollcall"));
}
