//! The environment's HTTP server: Runtime API (2018-06-01), Extensions API (2020-01-01) and
//! Telemetry API (2022-07-01) on one `127.0.0.1:<port>`, exported as `AWS_LAMBDA_RUNTIME_API`.
//! Request bodies are accepted with or without `Content-Type`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use super::shared::Shared;
use super::{extensions_api, runtime_api};
use crate::accept::{ServeLimits, accept_loop};

/// RAPID's payload limit: 6 MB + 100 bytes.
pub const MAX_PAYLOAD: usize = protocol::runtime::MAX_PAYLOAD_SIZE;

/// The response type of every handler.
pub type Reply = Response<Full<Bytes>>;

/// Binds `127.0.0.1:0` and serves until the task is aborted, with [`ServeLimits::ENVIRONMENT`].
pub async fn serve(shared: Arc<Shared>) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    serve_with(shared, ServeLimits::ENVIRONMENT).await
}

/// [`serve`] with other limits.
pub async fn serve_with(
    shared: Arc<Shared>,
    limits: ServeLimits,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
    let addr = listener.local_addr()?;
    let accepting = accept_loop(listener, limits, "runtime API", move |stream, _| {
        let shared = shared.clone();
        async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move { Ok::<_, Infallible>(route(shared, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_read_timeout)
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        }
    });
    Ok((addr, tokio::spawn(accepting)))
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (Method::GET, ["2018-06-01", "runtime", "invocation", "next"]) => {
            runtime_api::next(&shared).await
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, "response"]) => {
            runtime_api::response(&shared, id, req).await
        }
        (Method::POST, ["2018-06-01", "runtime", "invocation", id, "error"]) => {
            runtime_api::error(&shared, id, req).await
        }
        (Method::POST, ["2018-06-01", "runtime", "init", "error"]) => {
            runtime_api::init_error(&shared, req).await
        }
        (Method::POST, ["2020-01-01", "extension", "register"]) => {
            extensions_api::register(&shared, req).await
        }
        (Method::GET, ["2020-01-01", "extension", "event", "next"]) => {
            extensions_api::next(&shared, req).await
        }
        (Method::POST, ["2020-01-01", "extension", kind @ ("init" | "exit"), "error"]) => {
            extensions_api::post_error(&shared, kind, req).await
        }
        (Method::PUT, ["2022-07-01", "telemetry"]) => extensions_api::subscribe(&shared, req).await,
        _ => error_reply(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!("no route for {path}"),
        ),
    }
}

/// A JSON reply.
pub fn json_reply(status: StatusCode, body: serde_json::Value) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_default()
}

/// `{"errorType": .., "errorMessage": ..}` with `status`.
pub fn error_reply(status: StatusCode, error_type: &str, message: &str) -> Reply {
    json_reply(
        status,
        json!({ "errorType": error_type, "errorMessage": message }),
    )
}

/// A refused request, rendered with [`error_reply`] (small, so `Result`s stay cheap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// `errorType`.
    pub error_type: &'static str,
    /// `errorMessage`.
    pub message: String,
}

impl Refusal {
    /// A refusal.
    pub fn new(status: StatusCode, error_type: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            error_type,
            message: message.into(),
        }
    }

    /// The HTTP reply.
    pub fn reply(&self) -> Reply {
        error_reply(self.status, self.error_type, &self.message)
    }
}

/// `202 {"status":"OK"}`.
pub fn accepted() -> Reply {
    json_reply(StatusCode::ACCEPTED, json!({ "status": "OK" }))
}

/// Why a body could not be read.
#[derive(Debug)]
pub enum BodyError {
    /// Over [`MAX_PAYLOAD`].
    TooLarge,
    /// The connection failed mid-body.
    Truncated,
}

/// Bytes of an oversized body read and discarded before answering 413, so that the client sees
/// the answer instead of a reset connection.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Reads a whole request body up to [`MAX_PAYLOAD`] bytes. An oversized body is drained (up to
/// 64 MB) and reported as [`BodyError::TooLarge`].
pub async fn read_body(req: Request<Incoming>) -> Result<Bytes, BodyError> {
    let mut body = req.into_body();
    let mut buf = bytes::BytesMut::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| BodyError::Truncated)?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len();
        if seen > DRAIN_LIMIT {
            return Err(BodyError::TooLarge);
        }
        if seen <= MAX_PAYLOAD {
            buf.extend_from_slice(&data);
        }
    }
    if seen > MAX_PAYLOAD {
        Err(BodyError::TooLarge)
    } else {
        Ok(buf.freeze())
    }
}

/// A header as text.
pub fn header<'a>(req: &'a Request<Incoming>, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
