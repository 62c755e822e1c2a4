//! A small Extensions API client (register, next event) on the endpoint read once by
//! [`crate::endpoint`]. Our own rather than `lambda-extension`'s: that one re-reads
//! `AWS_LAMBDA_RUNTIME_API` and panics on forms it cannot parse (`127.0.0.1:9000/.rt` from
//! `cargo lambda watch`), has no registration timeout, and calls `/event/next` again after the
//! SHUTDOWN event has been handled.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use protocol::extension::{
    EventType, HEADER_IDENTIFIER, HEADER_NAME, NEXT_PATH, REGISTER_PATH, RegisterRequest,
    RegisterResponse, ShutdownReason,
};
use serde_json::Value;

use crate::endpoint::RuntimeApi;

/// Longest wait for the register call. Lambda's whole Init phase has 10 s; an API that does not
/// answer by then never will (a wrong `AWS_LAMBDA_RUNTIME_API` pointing at a silent address).
pub const REGISTER_TIMEOUT: Duration = Duration::from_secs(10);

/// Most bytes read from an Extensions API answer (events are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// An event from `/extension/event/next`, read leniently: only what the extension uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// An invocation began.
    Invoke {
        /// Its request id (empty if the API sent none).
        request_id: String,
    },
    /// The environment shuts down: flush and exit, never call `next` again.
    Shutdown {
        /// Why.
        reason: ShutdownReason,
    },
}

/// A failed Extensions API call.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No answer (connection refused, reset, timeout).
    #[error("no answer from the Extensions API at {api}: {reason}")]
    Unreachable {
        /// The endpoint.
        api: String,
        /// What happened.
        reason: String,
    },
    /// An answer other than success.
    #[error("the Extensions API answered {status}: {body}")]
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// Body (shortened).
        body: String,
    },
    /// A success whose body or headers are not what the API documents.
    #[error("unexpected answer from the Extensions API: {0}")]
    Malformed(String),
}

/// The extension as registered.
#[derive(Debug, Clone)]
pub struct Registered {
    /// `Lambda-Extension-Identifier`, sent with every later call.
    pub id: String,
    /// The register response (function name and version).
    pub response: RegisterResponse,
}

/// The client.
#[derive(Debug, Clone)]
pub struct ExtensionsApi {
    api: RuntimeApi,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl ExtensionsApi {
    /// A client for the API at `api`.
    pub fn new(api: RuntimeApi) -> Self {
        let client = Client::builder(TokioExecutor::new()).build(HttpConnector::new());
        Self { api, client }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &RuntimeApi {
        &self.api
    }

    /// Registers the extension `name` for `events`, giving up after [`REGISTER_TIMEOUT`].
    pub async fn register(&self, name: &str, events: &[EventType]) -> Result<Registered, ApiError> {
        let body = serde_json::to_vec(&RegisterRequest {
            events: events.to_vec(),
        })
        .map_err(|e| ApiError::Malformed(e.to_string()))?;
        let req = Request::builder()
            .method(Method::POST)
            .uri(self.api.uri(REGISTER_PATH))
            .header(HEADER_NAME, name)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        let call = self.call(req);
        let (headers, body) = tokio::time::timeout(REGISTER_TIMEOUT, call)
            .await
            .map_err(|_| {
                self.unreachable(format!("register unanswered after {REGISTER_TIMEOUT:?}"))
            })??;
        let id = headers
            .get(HEADER_IDENTIFIER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                ApiError::Malformed(format!("register answer without {HEADER_IDENTIFIER}"))
            })?
            .to_owned();
        let response: RegisterResponse = serde_json::from_slice(&body)
            .map_err(|e| ApiError::Malformed(format!("register answer: {e}")))?;
        Ok(Registered { id, response })
    }

    /// Waits for the next event (blocks until Lambda has one).
    pub async fn next(&self, id: &str) -> Result<Event, ApiError> {
        let req = Request::builder()
            .method(Method::GET)
            .uri(self.api.uri(NEXT_PATH))
            .header(HEADER_IDENTIFIER, id)
            .body(Full::new(Bytes::new()))
            .map_err(|e| ApiError::Malformed(e.to_string()))?;
        let (_, body) = self.call(req).await?;
        parse_event(&body)
    }

    async fn call(&self, req: Request<Full<Bytes>>) -> Result<(http::HeaderMap, Bytes), ApiError> {
        let res = self
            .client
            .request(req)
            .await
            .map_err(|e| self.unreachable(e.to_string()))?;
        let (parts, body) = res.into_parts();
        let body = http_body_util::Limited::new(body, MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| self.unreachable(format!("reading the answer: {e}")))?
            .to_bytes();
        if !parts.status.is_success() {
            return Err(ApiError::Refused {
                status: parts.status,
                body: shorten(&body),
            });
        }
        Ok((parts.headers, body))
    }

    fn unreachable(&self, reason: String) -> ApiError {
        ApiError::Unreachable {
            api: self.api.to_string(),
            reason,
        }
    }
}

/// Reads a next-event body: `eventType` decides; other members are optional.
pub fn parse_event(body: &[u8]) -> Result<Event, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::Malformed(format!("event is not JSON: {e}")))?;
    let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default();
    match text("eventType").to_ascii_uppercase().as_str() {
        "INVOKE" => Ok(Event::Invoke {
            request_id: text("requestId").to_owned(),
        }),
        "SHUTDOWN" => Ok(Event::Shutdown {
            reason: ShutdownReason::parse(text("shutdownReason")),
        }),
        other => Err(ApiError::Malformed(format!("unknown eventType {other:?}"))),
    }
}

/// The name to register under: the executable's file name (Extensions API: an external
/// extension registers with the full file name of its executable in `/opt/extensions/`).
pub fn own_name() -> String {
    std::env::args_os()
        .next()
        .and_then(|a| {
            std::path::Path::new(&a)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "rollcall".to_owned())
}

fn shorten(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut end = text.len().min(512);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_read_by_their_type() {
        assert_eq!(
            parse_event(br#"{"eventType":"INVOKE","requestId":"r1","deadlineMs":1}"#).unwrap(),
            Event::Invoke {
                request_id: "r1".into()
            }
        );
        assert_eq!(
            parse_event(br#"{"eventType":"SHUTDOWN","shutdownReason":"timeout"}"#).unwrap(),
            Event::Shutdown {
                reason: ShutdownReason::Timeout
            }
        );
        assert!(parse_event(br#"{"eventType":"RESTORE"}"#).is_err());
        assert!(parse_event(b"nope").is_err());
    }
}
