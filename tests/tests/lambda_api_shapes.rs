//! The Lambda API shapes of `protocol::lambda_api` against the real AWS CLI: every request body
//! the CLI sends for the control-plane operations deserializes into its type, every response we
//! serialize is read back by the CLI member for member, and every error we render is reported
//! by the CLI with its type and message. The server is a one-connection HTTP responder on
//! 127.0.0.1:0 that records what the CLI sent; fixtures are `crates/protocol/tests/fixtures/
//! lambda_api/` (AWS's examples, see their README).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Output;
use std::thread::JoinHandle;

use protocol::lambda_api::limits::HEADER_ERROR_TYPE;
use protocol::lambda_api::{
    AliasConfiguration, CreateAliasRequest, CreateFunctionRequest, FunctionConfiguration,
    GetFunctionResponse, LambdaError, LambdaErrorType, LayerVersion, ListAliasesResponse,
    ListQuery, PublishLayerVersionRequest, PublishVersionRequest, UpdateAliasRequest,
    UpdateFunctionCodeRequest, UpdateFunctionConfigurationRequest,
};
use rollcall_e2e::tool::AWS_CLI;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// What the CLI sent.
#[derive(Debug)]
struct Recorded {
    method: String,
    /// Path and query string.
    target: String,
    body: Vec<u8>,
}

impl Recorded {
    fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }

    fn query(&self) -> ListQuery {
        let q = self.target.split_once('?').map(|(_, q)| q).unwrap_or("");
        ListQuery::parse(q).unwrap_or_else(|e| panic!("{e}"))
    }

    fn body_as<T: DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "the CLI's body does not fit {}: {e}\n{}",
                std::any::type_name::<T>(),
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Answers one HTTP request with `status`, `headers` and `body`, and returns what it received.
fn respond_once(
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
) -> (String, JoinHandle<Recorded>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().expect("the CLI connects");
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).expect("request line");
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut length = 0;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).expect("header");
            if h.trim().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                length = v.trim().parse().expect("content-length");
            }
        }
        let mut req_body = vec![0; length];
        reader.read_exact(&mut req_body).expect("body");
        let mut head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nx-amzn-RequestId: 7c9d8a1e-0000-4000-8000-000000000000\r\n",
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut stream = reader.into_inner();
        stream.write_all(head.as_bytes()).expect("write head");
        stream.write_all(body.as_bytes()).expect("write body");
        Recorded {
            method,
            target,
            body: req_body,
        }
    });
    (url, handle)
}

/// Runs `aws lambda <args>` against `url` with throwaway credentials and no retries.
fn aws(url: &str, args: &[&str]) -> Output {
    let program = AWS_CLI.locate().unwrap_or_else(|e| panic!("{e}"));
    rollcall_e2e::tool::aws_command(&program, "lambda", url)
        .args(args)
        .args(["--output", "json"])
        .env("AWS_RETRY_MODE", "standard")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
}

fn fixture_path(rel: &str) -> PathBuf {
    rollcall_e2e::workspace_root()
        .join("crates/protocol/tests/fixtures/lambda_api")
        .join(rel)
}

/// The fixture read into `T`, and `T` written back: what our server sends.
fn served<T: DeserializeOwned + Serialize>(rel: &str) -> (Value, String) {
    let raw = std::fs::read_to_string(fixture_path(rel)).expect("fixture");
    let value: T = serde_json::from_str(&raw).unwrap_or_else(|e| panic!("{rel}: {e}"));
    (
        serde_json::from_str(&raw).expect("JSON"),
        serde_json::to_string(&value).expect("serialize"),
    )
}

/// Numbers as f64, so that the CLI's `5797206` and ours compare whatever their form.
fn normalize(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.clone(), normalize(v))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Number(n) => serde_json::json!(n.as_f64()),
        other => other.clone(),
    }
}

/// Runs one operation: the CLI sends a request our server answers with fixture `rel` as `T`;
/// the CLI must print the fixture back. Returns what the CLI sent.
fn call<T: DeserializeOwned + Serialize>(status: u16, rel: &str, args: &[&str]) -> Recorded {
    let (expected, body) = served::<T>(rel);
    let (url, server) = respond_once(status, vec![], body);
    let out = aws(&url, args);
    // Checked before joining: a CLI that refused its arguments never connects.
    assert!(
        out.status.success(),
        "aws lambda {args:?}: {}\n{}",
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

/// A real deployment package (the CLI refuses a `--zip-file` that is not a zip): the archive
/// of fixture `create_function_request_zip.json`, written to `dir`.
fn package(dir: &tempfile::TempDir) -> (PathBuf, Vec<u8>) {
    use base64::Engine as _;
    let raw =
        std::fs::read_to_string(fixture_path("create_function_request_zip.json")).expect("fixture");
    let request: Value = serde_json::from_str(&raw).expect("JSON");
    let b64 = request["Code"]["ZipFile"].as_str().expect("ZipFile");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64");
    let path = dir.path().join("function.zip");
    std::fs::write(&path, &bytes).expect("write zip");
    (path, bytes)
}

#[test]
fn the_cli_creates_and_updates_a_function_with_our_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, bytes) = package(&dir);
    let fileb = format!("fileb://{}", zip.display());
    let layer = "arn:aws:lambda:us-east-1:123456789012:layer:rollcall:1";

    let r = call::<FunctionConfiguration>(
        201,
        "create_function_response.json",
        &[
            "create-function",
            "--function-name",
            "my-function",
            "--runtime",
            "provided.al2023",
            "--role",
            "arn:aws:iam::123456789012:role/lambda-role",
            "--handler",
            "bootstrap",
            "--zip-file",
            &fileb,
            "--layers",
            layer,
            "--architectures",
            "arm64",
            "--environment",
            "Variables={GREETING=hello}",
            "--timeout",
            "10",
            "--memory-size",
            "512",
            "--publish",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("POST", "/2015-03-31/functions")
    );
    let req: CreateFunctionRequest = r.body_as();
    assert_eq!(req.function_name, "my-function");
    assert_eq!(req.code.zip_file.expect("ZipFile").0, bytes);
    assert_eq!(req.layers, Some(vec![layer.to_owned()]));
    assert_eq!(
        (req.timeout, req.memory_size, req.publish),
        (Some(10), Some(512), Some(true))
    );
    assert_eq!(
        req.environment
            .and_then(|e| e.variables)
            .expect("variables")["GREETING"],
        "hello"
    );

    let r = call::<FunctionConfiguration>(
        200,
        "update_function_code_response.json",
        &[
            "update-function-code",
            "--function-name",
            "my-function",
            "--zip-file",
            &fileb,
            "--publish",
            "--revision-id",
            "rev-1",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("PUT", "/2015-03-31/functions/my-function/code")
    );
    let req: UpdateFunctionCodeRequest = r.body_as();
    assert_eq!(req.zip_file.expect("ZipFile").0, bytes);
    assert_eq!(
        (req.publish, req.revision_id.as_deref()),
        (Some(true), Some("rev-1"))
    );

    let r = call::<FunctionConfiguration>(
        200,
        "update_function_configuration_response.json",
        &[
            "update-function-configuration",
            "--function-name",
            "my-function",
            "--handler",
            "index.handler",
            "--timeout",
            "30",
            "--memory-size",
            "1024",
            "--environment",
            "Variables={A=1,B=2}",
            "--layers",
            layer,
            "arn:aws:lambda:us-east-1:123456789012:layer:deps:12",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("PUT", "/2015-03-31/functions/my-function/configuration")
    );
    let req: UpdateFunctionConfigurationRequest = r.body_as();
    assert_eq!(req.layers.map(|l| l.len()), Some(2), "layers in order");
    assert_eq!((req.timeout, req.memory_size), (Some(30), Some(1024)));
    assert_eq!(
        req.environment.and_then(|e| e.variables).map(|v| v.len()),
        Some(2)
    );
}

#[test]
fn the_cli_publishes_reads_and_lists_with_our_shapes() {
    let r = call::<FunctionConfiguration>(
        201,
        "publish_version_response.json",
        &[
            "publish-version",
            "--function-name",
            "my-function",
            "--code-sha256",
            "abc=",
            "--revision-id",
            "rev-2",
            "--description",
            "release 2",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("POST", "/2015-03-31/functions/my-function/versions")
    );
    let req: PublishVersionRequest = r.body_as();
    assert_eq!(req.code_sha256.as_deref(), Some("abc="));
    assert_eq!(req.revision_id.as_deref(), Some("rev-2"));

    let r = call::<GetFunctionResponse>(
        200,
        "get_function.json",
        &[
            "get-function",
            "--function-name",
            "my-function",
            "--qualifier",
            "1",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("GET", "/2015-03-31/functions/my-function")
    );
    assert_eq!(r.query().qualifier.as_deref(), Some("1"));

    let r = call::<ListAliasesResponse>(
        200,
        "list_aliases.json",
        &[
            "list-aliases",
            "--function-name",
            "my-function",
            "--function-version",
            "2",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("GET", "/2015-03-31/functions/my-function/aliases")
    );
    assert_eq!(r.query().function_version.as_deref(), Some("2"));
}

#[test]
fn the_cli_creates_and_shifts_aliases_with_our_shapes() {
    let r = call::<AliasConfiguration>(
        201,
        "create_alias_response.json",
        &[
            "create-alias",
            "--function-name",
            "my-function",
            "--name",
            "LIVE",
            "--function-version",
            "1",
            "--description",
            "alias for live version of function",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("POST", "/2015-03-31/functions/my-function/aliases")
    );
    let req: CreateAliasRequest = r.body_as();
    assert_eq!(
        (req.name.as_str(), req.function_version.as_str()),
        ("LIVE", "1")
    );

    let r = call::<AliasConfiguration>(
        200,
        "update_alias_response.json",
        &[
            "update-alias",
            "--function-name",
            "my-function",
            "--name",
            "BLUE",
            "--function-version",
            "2",
            "--routing-config",
            "AdditionalVersionWeights={1=0.7}",
            "--revision-id",
            "rev-3",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("PUT", "/2015-03-31/functions/my-function/aliases/BLUE")
    );
    let req: UpdateAliasRequest = r.body_as();
    assert_eq!(
        req.routing_config
            .expect("routing")
            .additional_version_weights
            .get("1"),
        Some(&0.7)
    );
    assert_eq!(req.revision_id.as_deref(), Some("rev-3"));

    // Finishing a shift: an empty map clears the routing.
    let r = call::<AliasConfiguration>(
        200,
        "get_alias.json",
        &[
            "update-alias",
            "--function-name",
            "my-function",
            "--name",
            "BLUE",
            "--function-version",
            "3",
            "--routing-config",
            "AdditionalVersionWeights={}",
        ],
    );
    let req: UpdateAliasRequest = r.body_as();
    assert!(
        req.routing_config
            .expect("routing")
            .additional_version_weights
            .is_empty()
    );
}

#[test]
fn the_cli_publishes_a_layer_with_our_shapes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (zip, bytes) = package(&dir);
    let r = call::<LayerVersion>(
        201,
        "publish_layer_version_response.json",
        &[
            "publish-layer-version",
            "--layer-name",
            "my-layer",
            "--zip-file",
            &format!("fileb://{}", zip.display()),
            "--compatible-runtimes",
            "python3.6",
            "python3.7",
            "--compatible-architectures",
            "x86_64",
            "arm64",
            "--license-info",
            "MIT",
        ],
    );
    assert_eq!(
        (r.method.as_str(), r.path()),
        ("POST", "/2018-10-31/layers/my-layer/versions")
    );
    let req: PublishLayerVersionRequest = r.body_as();
    assert_eq!(req.content.zip_file.expect("ZipFile").0, bytes);
    assert_eq!(req.compatible_architectures.map(|a| a.len()), Some(2));
}

#[test]
fn the_cli_reports_our_errors_with_their_type_and_message() {
    let cases = [
        LambdaError::function_not_found("arn:aws:lambda:us-east-1:123456789012:function:nope"),
        LambdaError::new(
            LambdaErrorType::ResourceConflict,
            "Alias already exists: live",
        ),
        LambdaError::new(
            LambdaErrorType::PreconditionFailed,
            "The Revision Id provided does not match the latest Revision Id.",
        ),
        LambdaError::new(LambdaErrorType::Service, "An internal error occurred."),
    ];
    for err in cases {
        let (url, server) = respond_once(
            err.status(),
            vec![(HEADER_ERROR_TYPE.to_owned(), err.error_type().to_owned())],
            err.body().to_string(),
        );
        let out = aws(
            &url,
            &["get-function-configuration", "--function-name", "nope"],
        );
        assert!(!out.status.success(), "{err}: the CLI fails");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("An error occurred"), "{err}: {stderr}");
        server.join().expect("server");
        // botocore may add " (reached max retries: 0)" between the operation and the message.
        let head = format!(
            "An error occurred ({}) when calling the GetFunctionConfiguration operation",
            err.error_type()
        );
        assert!(stderr.contains(&head), "{err}: stderr was {stderr}");
        assert!(
            stderr.trim_end().ends_with(&format!(": {}", err.message)),
            "{err}: the message is read from its member; stderr was {stderr}"
        );
    }
}
