//! Function URLs (`AuthType: NONE`): one HTTP listener per function that has one, invoking it
//! with the payload 2.0 event a function URL sends (`routeKey` and `stage` `$default`), in
//! either invoke mode:
//! - `BUFFERED`: the response is read as the payload 2.0 front door reads it (an object with
//!   `statusCode` is explicit; other JSON is a 200 `application/json` body).
//! - `RESPONSE_STREAM`: the invocation is asked for a stream. A stream posted with `Content-Type:
//!   application/vnd.awslambda.http-integration-response` starts with the JSON prelude
//!   ([`prelude`]): status, headers, multi-value headers and cookies become the response head,
//!   and the bytes after the 8-NUL delimiter stream to the client chunked, as they come. A stream
//!   of any other content type is the body itself (status 200, that content type). A function
//!   that answers buffered is read as in `BUFFERED`.
//!
//! What the client gets when the function fails is the lab's choice, as AWS documents little
//! beyond the success path (function URLs answer 502 "Internal Server Error" to a response they
//! cannot use: awsdocs/aws-lambda-developer-guide issue 430):
//! `502 {"Message":"Internal Server Error"}` for a function error or a prelude
//! that is not JSON or never ends (before any byte was sent), `429 {"Message":"Rate Exceeded."}`
//! when throttled; an error after the head was sent cuts the chunked body short (no terminating
//! chunk), so the client sees a broken response rather than a complete one.

pub mod prelude;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::channel::Sender;

use crate::api::stream_body::StreamBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

use crate::api::gateway::apigw::{self, HttpRequestParts, RequestMeta};
use crate::api::gateway::route::{PayloadFormat, Route, RouteMatch};
use crate::api::http::{
    Handler, LabBody, Listener, ResponseFuture, json_response, new_request_id, whole,
};
use crate::control::Registry;
use crate::invoke::{
    InvokeError, InvokeOutcome, InvokeRequest, Invoker, StreamOutcome, StreamParts,
};
use prelude::PreludeReader;

/// A function URL's `InvokeMode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvokeMode {
    /// `BUFFERED` (the default).
    #[default]
    Buffered,
    /// `RESPONSE_STREAM`.
    ResponseStream,
}

impl std::str::FromStr for InvokeMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "BUFFERED" => Ok(Self::Buffered),
            "RESPONSE_STREAM" => Ok(Self::ResponseStream),
            other => Err(format!(
                "invoke mode {other:?} is invalid: use BUFFERED or RESPONSE_STREAM"
            )),
        }
    }
}

/// What a function URL invokes, and how.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UrlConfig {
    /// The function.
    pub function: String,
    /// Its alias or version (`None`: `$LATEST`).
    pub qualifier: Option<String>,
    /// `InvokeMode`.
    pub invoke_mode: InvokeMode,
    /// Account id (`requestContext.accountId`).
    pub account_id: String,
    /// The URL id (`requestContext.apiId`; on AWS a random 32-character id).
    pub api_id: String,
}

/// The content type that marks a stream as an HTTP-integration response (prelude + body).
const HTTP_INTEGRATION: &str = protocol::runtime::CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE;
/// The request payload limit of a synchronous invoke (6 MB).
const REQUEST_LIMIT: usize = protocol::lambda_api::limits::SYNC_PAYLOAD_MAX;

/// One function URL.
#[derive(Debug)]
pub struct FunctionUrl {
    config: UrlConfig,
    registry: Arc<Registry>,
    route: Route,
}

impl FunctionUrl {
    /// A function URL over `registry`.
    pub fn new(config: UrlConfig, registry: Arc<Registry>) -> Self {
        let route = Route::parse("$default", PayloadFormat::V2).expect("$default parses");
        Self {
            config,
            registry,
            route,
        }
    }

    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<LabBody> {
        let time = time::OffsetDateTime::now_utc();
        let request_id = new_request_id();
        let (parts, body) = request.into_parts();
        let body = match Limited::new(body, REQUEST_LIMIT).collect().await {
            Ok(c) => c.to_bytes(),
            Err(_) => return message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large"),
        };
        let meta = RequestMeta {
            request_id: request_id.clone(),
            time,
            stage: "$default".into(),
            api_id: self.config.api_id.clone(),
            account_id: self.config.account_id.clone(),
        };
        let http_parts = HttpRequestParts {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
            body: &body,
            source_ip: peer.ip(),
        };
        let matched = RouteMatch {
            route: &self.route,
            path_parameters: Default::default(),
            path: parts.uri.path().to_owned(),
        };
        let payload = apigw::event_payload(PayloadFormat::V2, &http_parts, &matched, &meta);
        let invoker = self
            .registry
            .invoker(&self.config.function, self.config.qualifier.as_deref());
        let request = InvokeRequest {
            payload,
            request_id: Some(request_id.clone()),
            response_stream: self.config.invoke_mode == InvokeMode::ResponseStream,
            ..InvokeRequest::default()
        };
        let mut response = match invoker.invoke(request).await {
            Ok(r) => match r.outcome {
                InvokeOutcome::Success { body } => buffered(&body),
                InvokeOutcome::FunctionError { .. } => internal_error(),
                InvokeOutcome::Streamed(s) => match s.take() {
                    Some(parts) => streamed(parts).await,
                    None => internal_error(),
                },
            },
            Err(InvokeError::Throttled(_)) => {
                message(StatusCode::TOO_MANY_REQUESTS, "Rate Exceeded.")
            }
            Err(InvokeError::RequestTooLarge(_)) => {
                message(StatusCode::PAYLOAD_TOO_LARGE, "Request Entity Too Large")
            }
            Err(e) => {
                tracing::warn!(function = %self.config.function, error = %e, "function URL invoke failed");
                internal_error()
            }
        };
        if let Ok(v) = HeaderValue::from_str(&request_id) {
            response.headers_mut().insert("x-amzn-requestid", v);
        }
        response
    }
}

impl Handler for FunctionUrl {
    fn handle(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> ResponseFuture {
        Box::pin(self.answer(request, peer))
    }
}

/// The URL id of `function`'s URL in a spec file (on AWS a random 32-character id; here derived
/// from the name so that it is stable).
fn url_id(function: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(function.as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

fn message(status: StatusCode, text: &str) -> Response<LabBody> {
    whole(json_response(
        status,
        serde_json::json!({ "Message": text }).to_string(),
    ))
}

fn internal_error() -> Response<LabBody> {
    message(StatusCode::BAD_GATEWAY, "Internal Server Error")
}

/// A buffered function output, read as payload 2.0.
fn buffered(body: &[u8]) -> Response<LabBody> {
    match apigw::v2_response(body) {
        Ok(r) => whole(r.map(Full::new)),
        Err(e) => {
            tracing::warn!(error = %e.0, "function URL: the function's output is not a response");
            internal_error()
        }
    }
}

/// A streamed output: the head from the prelude (or the content type), then the body as it
/// comes.
pub(crate) async fn streamed(mut parts: StreamParts) -> Response<LabBody> {
    let integration = parts
        .content_type
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(HTTP_INTEGRATION));
    let (head, first) = if integration {
        let mut reader = PreludeReader::default();
        loop {
            let Some(chunk) = parts.chunks.recv().await else {
                tracing::warn!("function URL: {}", prelude::PreludeError::Unterminated);
                return internal_error();
            };
            match reader.push(&chunk) {
                Ok(Some(found)) => break found,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "function URL: the response prelude is refused");
                    return internal_error();
                }
            }
        }
    } else {
        let mut head = Response::new(());
        let ct = parts
            .content_type
            .as_deref()
            .and_then(|t| HeaderValue::from_str(t).ok())
            .unwrap_or_else(|| HeaderValue::from_static("application/octet-stream"));
        head.headers_mut().insert(http::header::CONTENT_TYPE, ct);
        (head, Bytes::new())
    };
    let (tx, body) = StreamBody::channel(4);
    tokio::spawn(pump(parts, first, tx));
    let (head, ()) = head.into_parts();
    Response::from_parts(head, LabBody::Right(body))
}

/// Sends `first` and every later chunk to the client; cuts the body short on a failed stream.
async fn pump(mut parts: StreamParts, first: Bytes, mut tx: Sender<Bytes, std::io::Error>) {
    if !first.is_empty() && tx.send_data(first).await.is_err() {
        return;
    }
    while let Some(chunk) = parts.chunks.recv().await {
        if tx.send_data(chunk).await.is_err() {
            return; // the client went away; the function runs to its end
        }
    }
    if let StreamOutcome::Failed { error_type, .. } = parts.outcome().await {
        tracing::warn!(%error_type, "function URL: the stream failed; the response is cut short");
        tx.abort(std::io::Error::other(error_type));
    }
}

/// Binds a function URL on `host` (a free port) for every function of `spec` that has one.
pub async fn bind_all(
    spec: &crate::spec::LabSpec,
    registry: &Arc<Registry>,
    host: std::net::IpAddr,
) -> Result<std::collections::BTreeMap<String, Listener>, crate::lab::LabError> {
    let mut urls = std::collections::BTreeMap::new();
    for (name, f) in &spec.functions {
        let Some(url) = &f.url else { continue };
        let config = UrlConfig {
            function: name.as_str().to_owned(),
            qualifier: url.qualifier.as_ref().map(ToString::to_string),
            invoke_mode: url.invoke_mode,
            account_id: spec.scope.account.as_str().to_owned(),
            api_id: url_id(name.as_str()),
        };
        let addr = SocketAddr::new(host, 0);
        let handler = Arc::new(FunctionUrl::new(config, Arc::clone(registry)));
        let listener =
            Listener::bind(addr, handler)
                .await
                .map_err(|reason| crate::lab::LabError::Bind {
                    what: "a function URL",
                    addr,
                    reason,
                })?;
        tracing::info!(function = %name, mode = ?url.invoke_mode,
            url = %format!("http://{}/", listener.local_addr()), "function URL");
        urls.insert(name.as_str().to_owned(), listener);
    }
    Ok(urls)
}
