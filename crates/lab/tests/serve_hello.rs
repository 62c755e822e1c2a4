//! The whole lab, in process, as `rollcall-lab serve` runs it: real version pools running the
//! `hello` demo function (built once with `cargo build -p hello`), the alias, the API front
//! door (payload 1.0 and 2.0) and the Invoke API, on 127.0.0.1:0.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;

use lab::control::alias::{Alias, Routing};
use lab::invoke::{InvokeFuture, InvokeOutcome, InvokeRequest, InvokeResponse, Invoker};
use lab::lab::Lab;
use serde_json::{Value, json};
use test_support::http::send;

/// The `hello` executable, built once per test process.
fn hello_binary() -> PathBuf {
    test_support::executable(&["hello"], "hello")
}

/// A code dir per version, each holding `hello` as `bootstrap` (the provided.al2023 layout).
fn code_dirs(root: &Path, versions: &[&str]) -> Vec<String> {
    versions
        .iter()
        .map(|v| {
            let dir = root.join(format!("v{v}"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(hello_binary(), dir.join("bootstrap")).unwrap();
            format!("{v}={}", dir.display())
        })
        .collect()
}

async fn start(args: &[&str]) -> Lab {
    let config = lab::cli::serve_config(args).unwrap_or_else(|e| panic!("{e}"));
    Lab::start(&config).await.expect("lab starts")
}

#[tokio::test]
async fn rest_and_http_api_front_door_run_hello() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["--route", "GET /hello", "--route", "ANY /v2/{proxy+}@2.0"];
    let versions = code_dirs(dir.path(), &["1"]);
    for v in &versions {
        args.extend(["--version", v.as_str()]);
    }
    let lab = start(&args).await;
    let rest = send(lab.api.local_addr(), "GET", "/hello?name=x", &[], "").await;
    assert_eq!(rest.status, 200);
    assert_eq!(rest.header("content-type"), Some("application/json"));
    assert_eq!(
        rest.json(),
        json!({"message": "hello from version 1", "version": "1", "path": "/hello"})
    );
    assert!(rest.header("x-amzn-requestid").is_some());
    let http = send(
        lab.api.local_addr(),
        "POST",
        "/v2/a/b",
        &[("cookie", "a=1")],
        "{}",
    )
    .await;
    assert_eq!(http.status, 200);
    assert_eq!(
        http.json(),
        json!({"message": "hello from version 1", "version": "1", "path": "/v2/a/b"})
    );
    assert!(http.header("apigw-requestid").is_some());
    let missing = send(lab.api.local_addr(), "GET", "/nope", &[], "").await;
    assert_eq!(missing.status, 403);
    lab.shutdown().await;
}

#[tokio::test]
async fn invoke_api_reports_executed_version_and_function_errors() {
    let dir = tempfile::tempdir().unwrap();
    let versions = code_dirs(dir.path(), &["1", "2"]);
    let lab = start(&[
        "--version",
        &versions[0],
        "--version",
        &versions[1],
        "--version-env",
        "2:HELLO_FAIL_RATE=1",
        "--version-env",
        "2:HELLO_ERROR_MODE=unhandled",
        "--alias",
        "live",
        "--weights",
        "1=1",
    ])
    .await;
    let event = json!({
        "version": "2.0", "routeKey": "$default", "rawPath": "/direct", "rawQueryString": "",
        "headers": {"host": "lab"}, "isBase64Encoded": false,
        "requestContext": {"http": {"method": "GET", "path": "/direct", "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1", "userAgent": "test"}, "requestId": "r1", "routeKey": "$default",
            "stage": "$default", "timeEpoch": 0}
    })
    .to_string();
    let target = |q: &str| format!("/2015-03-31/functions/hello/invocations?Qualifier={q}");
    let ok = send(
        lab.lambda.local_addr(),
        "POST",
        &target("live"),
        &[],
        event.clone(),
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.header("x-amz-executed-version"), Some("1"));
    assert!(ok.header("x-amz-function-error").is_none());
    assert_eq!(ok.json()["statusCode"], 200);
    let body: Value = serde_json::from_str(ok.json()["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["version"], "1");

    let failed = send(
        lab.lambda.local_addr(),
        "POST",
        &target("2"),
        &[("x-amz-log-type", "Tail")],
        event.clone(),
    )
    .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.header("x-amz-executed-version"), Some("2"));
    assert_eq!(failed.header("x-amz-function-error"), Some("Unhandled"));
    assert!(
        failed.json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("injected failure in version 2")
    );
    assert!(
        failed.header("x-amz-log-result").is_some(),
        "version 2 has logs to tail"
    );

    let unknown = send(
        lab.lambda.local_addr(),
        "POST",
        &target("7"),
        &[],
        event.clone(),
    )
    .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );

    // Shift the alias to the failing version with UpdateAlias, as `aws lambda update-alias
    // --endpoint-url` does: API Gateway then answers 502 for the function error.
    let alias_path = "/2015-03-31/functions/hello/aliases/live";
    let before = send(lab.lambda.local_addr(), "GET", alias_path, &[], "").await;
    assert_eq!(before.status, 200);
    assert_eq!(before.json()["FunctionVersion"], "1");
    let update = json!({
        "FunctionVersion": "2",
        "RoutingConfig": {"AdditionalVersionWeights": {}},
        "RevisionId": before.json()["RevisionId"],
    });
    let updated = send(
        lab.lambda.local_addr(),
        "PUT",
        alias_path,
        &[],
        update.to_string(),
    )
    .await;
    assert_eq!(updated.status, 200);
    assert_eq!(updated.json()["FunctionVersion"], "2");
    assert_eq!(
        updated.json()["AliasArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:hello:live"
    );
    let stale = send(
        lab.lambda.local_addr(),
        "PUT",
        alias_path,
        &[],
        update.to_string(),
    )
    .await;
    assert_eq!(stale.status, 412, "the old RevisionId is refused");
    assert_eq!(lab.alias.as_ref().unwrap().routing().primary, "2");
    let via_api = send(lab.api.local_addr(), "GET", "/x", &[], "").await;
    assert_eq!(
        (via_api.status, via_api.json()),
        (502, json!({"message": "Internal server error"}))
    );
    lab.shutdown().await;
}

/// Answers with its version, to replay the alias's seeded choices without processes.
struct Echo(String);

impl Invoker for Echo {
    fn invoke(&self, _: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            Ok(InvokeResponse {
                executed_version: self.0.clone(),
                cold_start: false,
                outcome: InvokeOutcome::Success { body: Bytes::new() },
            })
        })
    }
}

#[tokio::test]
async fn alias_90_10_serves_the_seeded_split() {
    const N: usize = 300;
    const SEED: u64 = 20_261_126;
    let dir = tempfile::tempdir().unwrap();
    let versions = code_dirs(dir.path(), &["1", "2"]);
    let seed = SEED.to_string();
    let lab = start(&[
        "--version",
        &versions[0],
        "--version",
        &versions[1],
        "--alias",
        "live",
        "--weights",
        "1=0.9,2=0.1",
        "--seed",
        &seed,
    ])
    .await;
    let mut served: BTreeMap<String, usize> = BTreeMap::new();
    let mut sequence = Vec::with_capacity(N);
    for _ in 0..N {
        let reply = send(lab.api.local_addr(), "GET", "/split", &[], "").await;
        assert_eq!(reply.status, 200);
        let version = reply.json()["version"].as_str().unwrap().to_owned();
        *served.entry(version.clone()).or_default() += 1;
        sequence.push(version);
    }
    lab.shutdown().await;

    // Sequential requests draw in order: the same seed gives the same versions.
    let echo: BTreeMap<String, Arc<dyn Invoker>> = ["1", "2"]
        .iter()
        .map(|v| {
            (
                (*v).to_owned(),
                Arc::new(Echo((*v).to_owned())) as Arc<dyn Invoker>,
            )
        })
        .collect();
    let replay = Alias::new(
        "live",
        echo,
        Routing {
            primary: "1".into(),
            additional: Some(("2".into(), 0.1)),
        },
        SEED,
    )
    .unwrap();
    let expected: Vec<String> = (0..N).map(|_| replay.pick()).collect();
    assert_eq!(
        sequence, expected,
        "executed versions follow the seeded draws"
    );

    // And the share is what the weight says, within 5 sigma for N draws.
    let share = served.get("2").copied().unwrap_or(0) as f64 / N as f64;
    let bound = 5.0 * (0.1 * 0.9 / N as f64).sqrt();
    assert!(
        (share - 0.1).abs() < bound,
        "share of version 2 {share}, bound {bound}"
    );
}

#[tokio::test]
async fn bad_hello_config_fails_init_and_names_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let versions = code_dirs(dir.path(), &["1"]);
    let lab = start(&[
        "--version",
        &versions[0],
        "--version-env",
        "1:HELLO_FAIL_RATE=2",
    ])
    .await;
    let target = "/2015-03-31/functions/hello/invocations?Qualifier=1";
    let reply = send(
        lab.lambda.local_addr(),
        "POST",
        target,
        &[("x-amz-log-type", "Tail")],
        "{}",
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("x-amz-function-error"), Some("Unhandled"));
    let logs = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        reply.header("x-amz-log-result").expect("logs to tail"),
    )
    .unwrap();
    let logs = String::from_utf8_lossy(&logs);
    assert!(
        logs.contains("HELLO_FAIL_RATE=\"2\" is invalid"),
        "the init failure names the variable: {logs}"
    );
    lab.shutdown().await;
}
