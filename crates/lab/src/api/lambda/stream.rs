//! `InvokeWithResponseStream`: `POST /2021-11-15/functions/{FunctionName}/response-streaming-invocations`
//! with `?Qualifier=`, `X-Amz-Invocation-Type` (`RequestResponse` or `DryRun`),
//! `X-Amz-Log-Type: Tail` and `X-Amz-Client-Context` (Lambda API reference,
//! `API_InvokeWithResponseStream`; botocore's `lambda` model).
//!
//! The answer is `200` with `Content-Type: application/vnd.amazon.eventstream` and
//! `X-Amz-Executed-Version`; its body is AWS event-stream messages (prelude, headers, payload,
//! CRCs, written by `aws-smithy-eventstream`): one `PayloadChunk` event per chunk the runtime
//! sent (the raw bytes, `:content-type: application/octet-stream`), then one `InvokeComplete`
//! event (JSON `{"ErrorCode", "ErrorDetails", "LogResult"}`, each present only when set). A
//! function that answers buffered is one `PayloadChunk` (when not empty), as Lambda does.
//! A function error (`/error`, a mid-stream error trailer, a timeout, a truncated stream) is
//! `InvokeComplete` with `ErrorCode` = the error type and `ErrorDetails` = the error document
//! (the lab's choice: AWS documents the members, not their content).

use std::sync::Arc;

use aws_smithy_types::event_stream::{Header, HeaderValue as EventHeader, Message};
use bytes::{Bytes, BytesMut};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use http_body_util::channel::Sender;

use crate::api::stream_body::StreamBody;
use hyper::body::Incoming;
use serde_json::json;

use super::InvokeApi;
use super::error::{ApiError, Kind};
use super::invoke::{InvocationType, SYNC_PAYLOAD_LIMIT, invoke_call};
use crate::api::http::{LabBody, whole};
use crate::invoke::{InvokeOutcome, StreamOutcome};

/// The event stream's content type.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";
/// Largest payload of one `PayloadChunk` event (bigger chunks are split; the event-stream
/// decoders' message limit is 16 MB).
pub const MAX_EVENT_PAYLOAD: usize = 1024 * 1024;

fn event(event_type: &'static str, content_type: &'static str, payload: Bytes) -> Bytes {
    let message = Message::new(payload)
        .add_header(Header::new(
            ":event-type",
            EventHeader::String(event_type.into()),
        ))
        .add_header(Header::new(
            ":content-type",
            EventHeader::String(content_type.into()),
        ))
        .add_header(Header::new(
            ":message-type",
            EventHeader::String("event".into()),
        ));
    let mut buf = BytesMut::new();
    // Only over-long headers or a payload over 4 GB fail; neither can happen here.
    aws_smithy_eventstream::frame::write_message_to(&message, &mut buf)
        .expect("an event-stream message within the limits");
    buf.freeze()
}

/// A `PayloadChunk` event carrying `bytes`.
pub fn payload_chunk(bytes: Bytes) -> Bytes {
    event("PayloadChunk", "application/octet-stream", bytes)
}

/// The `InvokeComplete` event.
pub fn invoke_complete(error: Option<(&str, &[u8])>, log_result: Option<&str>) -> Bytes {
    let mut doc = serde_json::Map::new();
    if let Some((code, details)) = error {
        doc.insert("ErrorCode".into(), json!(code));
        doc.insert(
            "ErrorDetails".into(),
            json!(String::from_utf8_lossy(details)),
        );
    }
    if let Some(log) = log_result {
        doc.insert("LogResult".into(), json!(log));
    }
    event(
        "InvokeComplete",
        "application/json",
        Bytes::from(serde_json::Value::Object(doc).to_string()),
    )
}

/// Sends `bytes` as `PayloadChunk` events; false when the client has gone away.
async fn send_chunks(tx: &mut Sender<Bytes, std::io::Error>, bytes: Bytes) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        let part = rest.split_to(rest.len().min(MAX_EVENT_PAYLOAD));
        if tx.send_data(payload_chunk(part)).await.is_err() {
            return false;
        }
    }
    true
}

impl InvokeApi {
    /// `InvokeWithResponseStream` of `function` (as its path named it).
    pub(super) async fn invoke_stream(
        self: Arc<Self>,
        function: String,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: Incoming,
        request_id: &str,
    ) -> Result<Response<LabBody>, ApiError> {
        let call = invoke_call(&function, query, headers)?;
        if call.invocation_type == InvocationType::Event {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                "X-Amz-Invocation-Type Event is invalid for InvokeWithResponseStream: use RequestResponse or DryRun",
            ));
        }
        let (invoker, mut request) = self
            .prepare(&call, body, SYNC_PAYLOAD_LIMIT, request_id)
            .await?;
        if call.invocation_type == InvocationType::DryRun {
            let mut response = Response::new(Full::new(Bytes::new()));
            *response.status_mut() = StatusCode::NO_CONTENT;
            return Ok(whole(response));
        }
        request.response_stream = true;
        let result = invoker.invoke(request).await?;
        let (mut tx, body) = StreamBody::channel(4);
        let mut response = Response::new(LabBody::Right(body));
        let h = response.headers_mut();
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(EVENT_STREAM_CONTENT_TYPE),
        );
        if let Ok(v) = HeaderValue::from_str(&result.executed_version) {
            h.insert("x-amz-executed-version", v);
        }
        let api = Arc::clone(&self);
        let request_id = request_id.to_owned();
        tokio::spawn(async move {
            let error = match result.outcome {
                InvokeOutcome::Success { body } => {
                    if !send_chunks(&mut tx, body).await {
                        return;
                    }
                    None
                }
                InvokeOutcome::FunctionError { error_type, body } => Some((error_type, body)),
                InvokeOutcome::Streamed(stream) => {
                    let Some(mut parts) = stream.take() else {
                        return;
                    };
                    while let Some(chunk) = parts.chunks.recv().await {
                        if !send_chunks(&mut tx, chunk).await {
                            return; // the client went away; the function runs to its end
                        }
                    }
                    match parts.outcome().await {
                        StreamOutcome::Complete => None,
                        StreamOutcome::Failed { error_type, body } => Some((error_type, body)),
                    }
                }
            };
            let log = call
                .tail
                .then(|| api.log_result(&call.function, &result.executed_version, &request_id))
                .flatten();
            let complete = invoke_complete(
                error.as_ref().map(|(t, b)| (t.as_str(), b.as_ref())),
                log.as_deref(),
            );
            let _ = tx.send_data(complete).await;
        });
        Ok(response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::read_message_from;

    fn header<'a>(m: &'a Message, name: &str) -> &'a str {
        m.headers()
            .iter()
            .find(|h| h.name().as_str() == name)
            .and_then(|h| h.value().as_string().ok())
            .map(|s| s.as_str())
            .unwrap_or_else(|| panic!("no {name}"))
    }

    #[test]
    fn events_decode_with_the_sdks_reader() {
        let m = read_message_from(payload_chunk(Bytes::from_static(b"\0\x01abc"))).unwrap();
        assert_eq!(header(&m, ":event-type"), "PayloadChunk");
        assert_eq!(header(&m, ":message-type"), "event");
        assert_eq!(m.payload().as_ref(), b"\0\x01abc");
        let m =
            read_message_from(invoke_complete(Some(("Function.X", b"{}")), Some("bG9n"))).unwrap();
        assert_eq!(header(&m, ":event-type"), "InvokeComplete");
        let doc: serde_json::Value = serde_json::from_slice(m.payload()).unwrap();
        assert_eq!(
            doc,
            json!({"ErrorCode": "Function.X", "ErrorDetails": "{}", "LogResult": "bG9n"})
        );
        let m = read_message_from(invoke_complete(None, None)).unwrap();
        assert_eq!(m.payload().as_ref(), b"{}");
    }
}
