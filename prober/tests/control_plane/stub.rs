//! A test double of Lambda's GetAlias (IAM cannot run locally): a hyper server on
//! `127.0.0.1:0` answering `GET /2015-03-31/functions/{name}/aliases/{alias}` as Lambda does —
//! the alias's JSON, or Lambda's error responses (`x-amzn-ErrorType` and a `{"Message"}` body)
//! for access denied and, for a stretch of time, throttling. It records each request's arrival
//! and the region its SigV4 signature was made for.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// Lambda's own message for a missing `lambda:GetAlias` permission.
pub const DENIED_MESSAGE: &str = "User: arn:aws:iam::123456789012:user/x is not authorized to \
     perform: lambda:GetAlias on resource: arn:aws:lambda:us-east-1:123456789012:function:hello:live \
     because no identity-based policy allows the lambda:GetAlias action";

/// How the stub answers.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// The alias on version 1, with version 2 at `weight`.
    Alias { weight: f64 },
    /// 403 AccessDeniedException.
    Denied,
    /// The alias, but `ThrottlingException` (429) for requests arriving from `after` to
    /// `after + during` past the first request.
    ThrottledFor { after: Duration, during: Duration },
}

/// One request the stub received.
#[derive(Debug, Clone)]
pub struct Seen {
    /// Arrival, Unix ms.
    pub at_unix_ms: f64,
    /// The request's path.
    pub path: String,
    /// The region of the SigV4 credential scope (`.../REGION/lambda/aws4_request`).
    pub signed_region: Option<String>,
    /// Whether it was answered with an error.
    pub failed: bool,
}

struct State {
    behaviour: Behaviour,
    seen: Mutex<Vec<Seen>>,
}

/// The running stub.
pub struct LambdaStub {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    state: Arc<State>,
    task: JoinHandle<()>,
}

impl LambdaStub {
    /// Binds `127.0.0.1:0` and answers with `behaviour` until dropped.
    pub async fn start(behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr: SocketAddr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            behaviour,
            seen: Mutex::new(Vec::new()),
        });
        let shared = Arc::clone(&state);
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let state = Arc::clone(&shared);
                tokio::spawn(async move {
                    let service = service_fn(move |req| answer(Arc::clone(&state), req));
                    let _ = auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            state,
            task,
        }
    }

    /// Every request so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }
}

impl Drop for LambdaStub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
        * 1000.0
}

async fn answer(
    state: Arc<State>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let at = now_ms();
    let path = req.uri().path().to_owned();
    let signed_region = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(2))
        .map(str::to_owned);
    let mut seen = state.seen.lock().unwrap();
    let first = seen.first().map_or(at, |s| s.at_unix_ms);
    let is_get_alias = path.starts_with("/2015-03-31/functions/") && path.contains("/aliases/");
    let response = match (&state.behaviour, is_get_alias) {
        (_, false) => error(404, "ResourceNotFoundException", "not a GetAlias path"),
        (Behaviour::Denied, true) => error(403, "AccessDeniedException", DENIED_MESSAGE),
        (Behaviour::ThrottledFor { after, during }, true)
            if at - first >= after.as_secs_f64() * 1000.0
                && at - first < (*after + *during).as_secs_f64() * 1000.0 =>
        {
            error(429, "ThrottlingException", "Rate exceeded")
        }
        (Behaviour::Alias { weight }, true) => alias(&path, *weight),
        (Behaviour::ThrottledFor { .. }, true) => alias(&path, 0.0),
    };
    seen.push(Seen {
        at_unix_ms: at,
        path,
        signed_region,
        failed: !response.status().is_success(),
    });
    Ok(response)
}

fn alias(path: &str, weight: f64) -> Response<Full<Bytes>> {
    let mut parts = path
        .trim_start_matches("/2015-03-31/functions/")
        .split("/aliases/");
    let function = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let function = function.rsplit(':').next().unwrap_or(function);
    let routing = if weight > 0.0 {
        serde_json::json!({ "AdditionalVersionWeights": { "2": weight } })
    } else {
        serde_json::json!(null)
    };
    let body = serde_json::json!({
        "AliasArn": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}:{name}"),
        "Name": name,
        "FunctionVersion": "1",
        "Description": "",
        "RevisionId": format!("rev-{weight}"),
        "RoutingConfig": routing,
    });
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .header("x-amzn-requestid", "11111111-2222-3333-4444-555555555555")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn error(status: u16, kind: &str, message: &str) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-errortype", kind)
        .header("x-amzn-requestid", "11111111-2222-3333-4444-555555555555")
        .body(Full::new(Bytes::from(
            serde_json::json!({ "Message": message }).to_string(),
        )))
        .unwrap()
}
