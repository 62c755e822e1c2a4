//! The front doors' HTTP plumbing, through real servers on 127.0.0.1:0, against an in-test
//! invoker that reports each invocation through a channel and answers as scripted.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use lab::api::{ApiConfig, ApiGateway, InvokeApi, Listener, PayloadFormat, Route, RouteTable};
use lab::control::alias::{Alias, Routing};
use lab::control::{Function, LogTail, Registry, Snapshot, Version};
use lab::env::FunctionConfig;
use lab::invoke::{
    InvokeError, InvokeFuture, InvokeOutcome, InvokeRequest, InvokeResponse, Invoker,
};
use lab::pool::ConcurrencyLimit;
use serde_json::{Value, json};
use test_support::http::send;
use tokio::sync::{Mutex, mpsc, oneshot};

type Script = Box<dyn Fn(&InvokeRequest) -> Result<InvokeResponse, InvokeError> + Send + Sync>;

/// Reports every invocation, then answers as its script says (after `gate`, when set).
struct Scripted {
    seen: mpsc::UnboundedSender<InvokeRequest>,
    script: Script,
    gate: Mutex<Option<oneshot::Receiver<()>>>,
}

impl Invoker for Scripted {
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_> {
        Box::pin(async move {
            let _ = self.seen.send(request.clone());
            if let Some(gate) = self.gate.lock().await.take() {
                let _ = gate.await;
            }
            (self.script)(&request)
        })
    }
}

fn scripted(
    script: impl Fn(&InvokeRequest) -> Result<InvokeResponse, InvokeError> + Send + Sync + 'static,
) -> (Arc<Scripted>, mpsc::UnboundedReceiver<InvokeRequest>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let invoker = Scripted {
        seen: tx,
        script: Box::new(script),
        gate: Mutex::new(None),
    };
    (Arc::new(invoker), rx)
}

fn success(version: &str, body: &str) -> Result<InvokeResponse, InvokeError> {
    Ok(InvokeResponse {
        executed_version: version.into(),
        cold_start: false,
        outcome: InvokeOutcome::Success {
            body: Bytes::copy_from_slice(body.as_bytes()),
        },
    })
}

fn function_error(version: &str) -> Result<InvokeResponse, InvokeError> {
    Ok(InvokeResponse {
        executed_version: version.into(),
        cold_start: false,
        outcome: InvokeOutcome::FunctionError {
            error_type: "Runtime.ExitError".into(),
            body: Bytes::from_static(br#"{"errorType":"Runtime.ExitError","errorMessage":"boom"}"#),
        },
    })
}

fn routes(specs: &[&str]) -> RouteTable {
    RouteTable::new(
        specs
            .iter()
            .map(|s| Route::parse(s, PayloadFormat::V1).unwrap())
            .collect(),
    )
}

async fn gateway(
    specs: &[&str],
    invoker: Arc<dyn Invoker>,
    tweak: impl FnOnce(&mut ApiConfig),
) -> Listener {
    let mut config = ApiConfig::new(routes(specs), PayloadFormat::V1);
    tweak(&mut config);
    ApiGateway::new(config, invoker)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind")
}

#[tokio::test]
async fn rest_event_in_merged_response_out() {
    let (invoker, mut seen) = scripted(|_| {
        success(
            "3",
            r#"{"statusCode":201,"headers":{"x-single":"s","x-multi":"ignored"},"multiValueHeaders":{"x-multi":["a","b"]},"isBase64Encoded":true,"body":"aGVsbG8="}"#,
        )
    });
    let api = gateway(&["GET /items/{id}", "ANY /{proxy+}@2.0"], invoker, |_| {}).await;
    let reply = send(
        api.local_addr(),
        "GET",
        "/items/7?q=1&q=2",
        &[("x-test", "yes")],
        "",
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(&reply.body[..], b"hello");
    assert_eq!(reply.header("x-single"), Some("s"));
    let multi: Vec<_> = reply
        .headers
        .get_all("x-multi")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert_eq!(multi, ["a", "b"]);
    let event: Value = serde_json::from_slice(&seen.recv().await.unwrap().payload).unwrap();
    assert_eq!(event["resource"], "/items/{id}");
    assert_eq!(event["pathParameters"], json!({"id": "7"}));
    assert_eq!(
        event["multiValueQueryStringParameters"]["q"],
        json!(["1", "2"])
    );
    assert_eq!(event["headers"]["x-test"], "yes");
    assert_eq!(event["requestContext"]["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(
        reply.header("x-amzn-requestid"),
        event["requestContext"]["requestId"].as_str(),
        "the response names the request id the event carried"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn http_api_event_with_cookies_and_inferred_response() {
    let (invoker, mut seen) = scripted(|_| success("1", r#"{"message":"inferred"}"#));
    let api = gateway(&["ANY /{proxy+}@2.0"], invoker, |_| {}).await;
    let reply = send(
        api.local_addr(),
        "POST",
        "/a/b?x=1&x=2",
        &[
            ("cookie", "s=1; t=2"),
            ("content-type", "application/octet-stream"),
        ],
        Bytes::from_static(&[0, 159, 255]),
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some("application/json"));
    assert_eq!(reply.json(), json!({"message": "inferred"}));
    assert!(reply.header("apigw-requestid").is_some());
    let event: Value = serde_json::from_slice(&seen.recv().await.unwrap().payload).unwrap();
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "ANY /{proxy+}");
    assert_eq!(event["pathParameters"], json!({"proxy": "a/b"}));
    assert_eq!(event["cookies"], json!(["s=1", "t=2"]));
    assert_eq!(event["queryStringParameters"]["x"], "1,2");
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(
        BASE64.decode(event["body"].as_str().unwrap()).unwrap(),
        [0, 159, 255]
    );
    api.shutdown().await;
}

#[tokio::test]
async fn failures_become_gateway_errors() {
    let (invoker, _seen) = scripted(|request| {
        let event: Value = serde_json::from_slice(&request.payload).unwrap();
        let path = event["path"]
            .as_str()
            .or(event["rawPath"].as_str())
            .unwrap_or_default()
            .to_owned();
        match path.as_str() {
            p if p.ends_with("/error") => function_error("1"),
            p if p.ends_with("/throttle") => Err(InvokeError::Throttled("Rate Exceeded.".into())),
            _ => success("1", "not json at all"),
        }
    });
    let api = gateway(&["ANY /rest/{x}", "ANY /http/{x}@2.0"], invoker, |_| {}).await;
    let cases = [
        (
            "/rest/error",
            502,
            json!({"message": "Internal server error"}),
        ),
        (
            "/rest/malformed",
            502,
            json!({"message": "Internal server error"}),
        ),
        (
            "/rest/throttle",
            500,
            json!({"message": "Internal server error"}),
        ),
        (
            "/http/error",
            500,
            json!({"message": "Internal Server Error"}),
        ),
        (
            "/http/malformed",
            500,
            json!({"message": "Internal Server Error"}),
        ),
        (
            "/nowhere",
            403,
            json!({"message": "Missing Authentication Token"}),
        ),
    ];
    for (path, status, body) in cases {
        let reply = send(api.local_addr(), "GET", path, &[], "").await;
        assert_eq!((reply.status, reply.json()), (status, body), "{path}");
    }
    api.shutdown().await;
}

#[tokio::test]
async fn integration_timeout_answers_504_and_the_invocation_runs_on() {
    let (tx, mut done) = mpsc::unbounded_channel();
    let (release, gate) = oneshot::channel();
    let (invoker, mut seen) = scripted(move |_| {
        let _ = tx.send(());
        success("1", r#"{"statusCode":200}"#)
    });
    *invoker.gate.lock().await = Some(gate);
    let api = gateway(&["GET /slow"], invoker, |c| {
        c.integration_timeout = Duration::from_millis(100)
    })
    .await;
    let reply = send(api.local_addr(), "GET", "/slow", &[], "").await;
    assert_eq!(
        (reply.status, reply.json()),
        (504, json!({"message": "Endpoint request timed out"}))
    );
    assert!(seen.recv().await.is_some(), "the invocation had started");
    release.send(()).unwrap();
    assert_eq!(
        done.recv().await,
        Some(()),
        "the invocation ran to its end after the 504"
    );
    api.shutdown().await;
}

struct FixedLogs(&'static str);

impl LogTail for FixedLogs {
    fn tail(&self, request_id: &str) -> Option<String> {
        Some(format!(
            "{}END of version {} RequestId: {request_id}\n",
            "x".repeat(5000),
            self.0
        ))
    }
}

async fn invoke_api() -> (Listener, mpsc::UnboundedReceiver<InvokeRequest>) {
    let (invoker, seen) = scripted(|request| match &request.payload[..] {
        b"\"fail\"" => function_error("2"),
        b"\"throttle\"" => Err(InvokeError::Throttled("Rate Exceeded.".into())),
        _ => success("2", r#"{"ok":true}"#),
    });
    // `hello`: `$LATEST` and version 2 (both scripted), alias `live` -> 2.
    let version = |v: &'static str| {
        let config = FunctionConfig::new("hello", v, "/code", "index.handler");
        Version::new(v, config, Arc::clone(&invoker) as Arc<dyn Invoker>)
            .with_logs(Arc::new(FixedLogs(v)))
    };
    let mut hello = Function::new(version("$LATEST"), ConcurrencyLimit::new(10));
    hello.versions.insert(2, Arc::new(version("2")));
    let known = [("2".to_owned(), Arc::clone(&invoker) as Arc<dyn Invoker>)].into();
    let live = Alias::new("live", known, Routing::single("2"), 0).expect("alias");
    hello.aliases.insert("live".into(), Arc::new(live));
    let mut snapshot = Snapshot::default();
    snapshot.functions.insert("hello".into(), hello);
    let api = InvokeApi::new(Registry::new(snapshot))
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    (api, seen)
}

const INVOKE: &str = "/2015-03-31/functions/hello/invocations";

#[tokio::test]
async fn invoke_api_request_response() {
    let (api, mut seen) = invoke_api().await;
    let context = BASE64.encode(r#"{"custom":{"k":"v"}}"#);
    let reply = send(
        api.local_addr(),
        "POST",
        &format!("{INVOKE}?Qualifier=live"),
        &[
            ("x-amz-client-context", &context),
            ("x-amz-log-type", "Tail"),
        ],
        r#"{"a":1}"#,
    )
    .await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"ok": true}));
    assert_eq!(reply.header("x-amz-executed-version"), Some("2"));
    assert!(reply.header("x-amz-function-error").is_none());
    let tail = BASE64
        .decode(reply.header("x-amz-log-result").unwrap())
        .unwrap();
    assert_eq!(tail.len(), 4096, "the last 4 KB of the logs");
    // One request id for the Invoke call, the invocation and its logs, as in Lambda.
    let request_id = reply
        .header("x-amzn-requestid")
        .expect("a request id")
        .to_owned();
    assert!(
        tail.ends_with(format!("END of version 2 RequestId: {request_id}\n").as_bytes()),
        "{}",
        String::from_utf8_lossy(&tail)
    );
    let request = seen.recv().await.unwrap();
    assert_eq!(request.request_id.as_deref(), Some(request_id.as_str()));
    assert_eq!(&request.payload[..], br#"{"a":1}"#);
    assert_eq!(
        request.client_context.as_deref(),
        Some(r#"{"custom":{"k":"v"}}"#)
    );
    assert_eq!(
        request.invoked_function_arn.as_deref(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:hello:live")
    );

    let failed = send(
        api.local_addr(),
        "POST",
        &format!("{INVOKE}?Qualifier=2"),
        &[],
        r#""fail""#,
    )
    .await;
    assert_eq!(failed.status, 200);
    assert_eq!(failed.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(failed.header("x-amz-executed-version"), Some("2"));
    assert_eq!(failed.json()["errorType"], "Runtime.ExitError");
    api.shutdown().await;
}

#[tokio::test]
async fn invoke_api_dry_run_and_event() {
    let (api, mut seen) = invoke_api().await;
    let dry = send(
        api.local_addr(),
        "POST",
        &format!("{INVOKE}?Qualifier=2"),
        &[("x-amz-invocation-type", "DryRun")],
        "{}",
    )
    .await;
    assert_eq!(dry.status, 204);
    let event = send(
        api.local_addr(),
        "POST",
        &format!("{INVOKE}?Qualifier=2"),
        &[("x-amz-invocation-type", "Event")],
        r#"{"async":true}"#,
    )
    .await;
    assert_eq!(event.status, 202);
    assert!(event.body.is_empty());
    let ran = seen
        .recv()
        .await
        .expect("the Event invocation ran in the background");
    assert_eq!(
        &ran.payload[..],
        br#"{"async":true}"#,
        "DryRun invoked nothing: the first invocation seen is the Event one"
    );
    api.shutdown().await;
}

#[tokio::test]
async fn invoke_api_lambda_errors() {
    let (api, _seen) = invoke_api().await;
    let big = vec![b' '; 6 * 1024 * 1024 + 1];
    let cases: Vec<(String, Bytes, u16, &str)> = vec![
        (
            format!("{INVOKE}?Qualifier=2"),
            Bytes::from_static(b"\"throttle\""),
            429,
            "TooManyRequestsException",
        ),
        (
            "/2015-03-31/functions/nope/invocations".into(),
            Bytes::from_static(b"{}"),
            404,
            "ResourceNotFoundException",
        ),
        (
            format!("{INVOKE}?Qualifier=9"),
            Bytes::from_static(b"{}"),
            404,
            "ResourceNotFoundException",
        ),
        (
            format!("{INVOKE}?Qualifier=2"),
            Bytes::from(big),
            413,
            "RequestTooLargeException",
        ),
    ];
    for (target, body, status, error_type) in cases {
        let reply = send(api.local_addr(), "POST", &target, &[], body).await;
        assert_eq!(reply.status, status, "{target}");
        assert_eq!(
            reply.header("x-amzn-errortype"),
            Some(error_type),
            "{target}"
        );
        // ResourceNotFoundException spells it `Message`, as Lambda's service model does.
        let member = protocol::lambda_api::LambdaErrorType::from_name(error_type)
            .map_or("message", |k| k.message_member());
        assert!(reply.json()[member].is_string(), "{target}");
    }
    api.shutdown().await;
}

#[tokio::test]
async fn a_rest_routes_stage_is_the_events_stage() {
    let (invoker, mut seen) = scripted(|_| success("1", r#"{"statusCode":200,"body":"ok"}"#));
    let mut route = Route::parse("GET /hello", PayloadFormat::V1).unwrap();
    route.stage = Some("Staging".into());
    let config = ApiConfig::new(RouteTable::new(vec![route]), PayloadFormat::V1);
    let api = ApiGateway::new(config, invoker)
        .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind");
    let reply = send(api.local_addr(), "GET", "/Staging/hello", &[], "").await;
    assert_eq!(reply.status, 200);
    let event: Value = serde_json::from_slice(&seen.recv().await.unwrap().payload).unwrap();
    assert_eq!(event["requestContext"]["stage"], "Staging");
    assert_eq!(event["requestContext"]["path"], "/Staging/hello");
    assert_eq!(event["path"], "/hello");
}
