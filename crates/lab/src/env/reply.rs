//! Replies and request helpers shared by the environment's Runtime, Extensions and Telemetry
//! API handlers (kept apart from [`super::api`], which routes to those handlers).

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::json;

/// RAPID's payload limit: 6 MB + 100 bytes.
pub const MAX_PAYLOAD: usize = protocol::runtime::MAX_PAYLOAD_SIZE;

/// The response type of every handler.
pub type Reply = Response<Full<Bytes>>;

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
