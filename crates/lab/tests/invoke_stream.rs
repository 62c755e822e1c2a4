//! `InvokeWithResponseStream` against the whole lab in process, called by boto3 (which decodes
//! AWS event streams itself), on a Python custom runtime that streams raw chunks and real
//! trailers (`tests/fixtures/python_stream/bootstrap`). Skipped, with a message, only when
//! boto3 is not importable (`scripts/setup.sh` installs it).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use lab::lab::Lab;
use serde_json::{Value, json};

/// The client: invokes with a gate it opens itself (the function waits on it after its first
/// chunk), opens the gate only once the first `PayloadChunk` has arrived, and prints every
/// event as JSON lines.
const CLIENT: &str = r#"
import base64, json, os, socket, sys
import boto3
gate = socket.socket(); gate.bind(("127.0.0.1", 0)); gate.listen(1)
event = json.loads(sys.argv[2])
if event.pop("gate", False):
    event["gate"] = gate.getsockname()[1]
client = boto3.client("lambda", endpoint_url=os.environ["AWS_ENDPOINT_URL_LAMBDA"])
kwargs = dict(FunctionName=sys.argv[1], Payload=json.dumps(event).encode(), LogType="Tail")
if len(sys.argv) > 3:
    kwargs["Qualifier"] = sys.argv[3]
r = client.invoke_with_response_stream(**kwargs)
print(json.dumps({"status": r["StatusCode"], "version": r["ExecutedVersion"],
                  "contentType": r["ResponseStreamContentType"]}), flush=True)
opened = False
for e in r["EventStream"]:
    if "PayloadChunk" in e:
        print(json.dumps({"chunk": base64.b64encode(e["PayloadChunk"]["Payload"]).decode(),
                          "gateOpened": opened}), flush=True)
        if "gate" in event and not opened:
            conn, _ = gate.accept(); conn.sendall(b"g"); conn.close(); opened = True
    elif "InvokeComplete" in e:
        print(json.dumps({"complete": e["InvokeComplete"]}), flush=True)
"#;

fn boto3_available() -> bool {
    std::process::Command::new("python3")
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success())
}

async fn start(code: &Path) -> Lab {
    let args = [
        "--function".to_string(),
        "streamer".into(),
        "--timeout".into(),
        "20".into(),
        "--version".into(),
        format!("1={}", code.display()),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let config = lab::cli::serve_config(&args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("lab starts")
}

fn code_dir(dir: &Path) -> std::path::PathBuf {
    let code = dir.join("code");
    std::fs::create_dir_all(&code).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/python_stream/bootstrap");
    let dst = code.join("bootstrap");
    std::fs::copy(src, &dst).unwrap();
    code
}

/// Runs the client; returns its JSON lines (head first).
async fn call(lab: &Lab, function: &str, event: Value, qualifier: Option<&str>) -> Vec<Value> {
    let mut cmd = tokio::process::Command::new("python3");
    cmd.args(["-c", CLIENT, function, &event.to_string()]);
    if let Some(q) = qualifier {
        cmd.arg(q);
    }
    let out = cmd
        .env("AWS_ENDPOINT_URL_LAMBDA", lab.lambda_url())
        .env("AWS_ACCESS_KEY_ID", "lab")
        .env("AWS_SECRET_ACCESS_KEY", "lab")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(60), out)
        .await
        .expect("the client ends within 60 s")
        .unwrap();
    assert!(
        out.status.success(),
        "client failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn chunks(lines: &[Value]) -> Vec<Vec<u8>> {
    lines
        .iter()
        .filter_map(|l| l["chunk"].as_str())
        .map(|c| BASE64.decode(c).unwrap())
        .collect()
}

fn complete(lines: &[Value]) -> &Value {
    let last = lines.last().expect("some events");
    assert!(
        last.get("complete").is_some(),
        "InvokeComplete comes last: {lines:?}"
    );
    assert_eq!(
        lines.iter().filter(|l| l.get("complete").is_some()).count(),
        1
    );
    &last["complete"]
}

#[tokio::test]
async fn boto3_reads_a_streamed_response_chunk_by_chunk() {
    if !boto3_available() {
        eprintln!("SKIPPED: python3 cannot import boto3 (scripts/setup.sh installs it)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let lab = start(&code_dir(dir.path())).await;

    // Every byte (NULs included, as in a function URL's prelude delimiter), in order; the first
    // chunk reaches the client while the function still waits to send the second.
    let first = "{\"statusCode\":200}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}";
    let event = json!({"chunks": [first, "second|", "third"], "gate": true, "end": "ok"});
    let lines = call(&lab, "streamer", event, None).await;
    assert_eq!(lines[0]["status"], 200);
    // The one-function flags run $LATEST in the last version's environments.
    assert_eq!(lines[0]["version"], "1");
    assert_eq!(
        lines[0]["contentType"],
        "application/vnd.amazon.eventstream"
    );
    let got = chunks(&lines);
    assert_eq!(got[0], first.as_bytes(), "the first chunk came alone");
    assert_eq!(lines[1]["gateOpened"], false);
    assert_eq!(got.concat(), format!("{first}second|third").into_bytes());
    let done = complete(&lines);
    assert!(done.get("ErrorCode").is_none(), "{done}");
    let log = BASE64
        .decode(
            done["LogResult"]
                .as_str()
                .expect("LogType Tail gives LogResult"),
        )
        .unwrap();
    assert!(
        String::from_utf8_lossy(&log).contains("START RequestId: "),
        "{}",
        String::from_utf8_lossy(&log)
    );

    // A mid-stream error: the partial body, then InvokeComplete's ErrorCode/ErrorDetails.
    let event = json!({"chunks": ["partial"], "end": "error", "error_type": "Function.MidStream",
                       "error_body": "{\"errorMessage\":\"boom\"}"});
    let lines = call(&lab, "streamer", event, Some("1")).await;
    assert_eq!(lines[0]["version"], "1");
    assert_eq!(chunks(&lines).concat(), b"partial");
    let done = complete(&lines);
    assert_eq!(done["ErrorCode"], "Function.MidStream");
    assert_eq!(done["ErrorDetails"], "{\"errorMessage\":\"boom\"}");

    // A stream cut short.
    let lines = call(
        &lab,
        "streamer",
        json!({"chunks": ["cut"], "end": "truncate"}),
        None,
    )
    .await;
    assert_eq!(chunks(&lines).concat(), b"cut");
    assert_eq!(complete(&lines)["ErrorCode"], "Runtime.TruncatedResponse");

    // A function that answers buffered answers too: one PayloadChunk.
    let event = json!({"chunks": ["{\"whole\":", "true}"], "end": "buffered"});
    let lines = call(&lab, "streamer", event, None).await;
    assert_eq!(chunks(&lines), vec![b"{\"whole\":true}".to_vec()]);
    assert!(complete(&lines).get("ErrorCode").is_none());

    // The wrong response mode fails the invocation with RAPID's error type.
    let lines = call(&lab, "streamer", json!({"end": "badmode"}), None).await;
    assert!(chunks(&lines).is_empty());
    assert_eq!(
        complete(&lines)["ErrorCode"],
        "Runtime.InvalidResponseModeHeader"
    );

    // Every invocation was counted once.
    let stats = lab
        .pools
        .values()
        .map(|p| p.stats().invocations)
        .sum::<u64>();
    assert_eq!(stats, 5, "{stats}");
    lab.shutdown().await;
}
