//! Runtime API handlers (`/2018-06-01/runtime/...`), with RAPID's status codes and error types.

use std::time::{Instant, SystemTime};

use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;

use protocol::runtime as rt;

use super::reply::{
    BodyError, MAX_PAYLOAD, Refusal, Reply, accepted, error_reply, header, read_body,
};
use super::shared::{NextGuard, PostedError, RuntimeAnswer, Shared, normalise_error_type};
use super::stream::{self, StreamEnd};

/// Lambda's message for a response over the limit.
pub const TOO_LARGE_MESSAGE: &str = rt::PAYLOAD_TOO_LARGE_MESSAGE;

fn invalid_state(from: &str, to: &str) -> Reply {
    error_reply(
        StatusCode::FORBIDDEN,
        "InvalidStateTransition",
        &format!(
            "State transition from {from} to {to} failed for runtime. Error: State transition is not allowed"
        ),
    )
}

/// `GET /runtime/invocation/next`: long-polls for the next invocation.
pub async fn next(shared: &Shared) -> Reply {
    let refused = shared.update(|inner| {
        if inner
            .current
            .as_ref()
            .is_some_and(|c| c.responder.is_some() && c.picked_at.is_some())
        {
            return true; // the invocation in flight has no answer yet
        }
        inner.runtime_nexts += 1;
        inner.last_next_at = Some(Instant::now());
        false
    });
    if refused {
        return invalid_state("Invocation", "Ready");
    }
    let guard = NextGuard::new(shared, |inner| inner.runtime_nexts -= 1);
    let invocation = {
        let mut rx = shared.runtime_rx.lock().await;
        tokio::select! {
            i = rx.recv() => i,
            _ = shared.closed() => None,
        }
    };
    guard.disarm();
    let Some(inv) = invocation else {
        return error_reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "environment is shutting down",
        );
    };
    shared.update(|inner| {
        if let Some(c) = inner
            .current
            .as_mut()
            .filter(|c| c.request_id == inv.request_id)
        {
            c.picked_at = Some((Instant::now(), SystemTime::now()));
        }
    });
    let mut b = Response::builder()
        .status(StatusCode::OK)
        .header("content-type", "application/json")
        .header(rt::HEADER_REQUEST_ID, &inv.request_id)
        .header(rt::HEADER_DEADLINE_MS, inv.deadline_ms.to_string())
        .header(rt::HEADER_INVOKED_FUNCTION_ARN, &inv.invoked_function_arn)
        .header(rt::HEADER_TRACE_ID, &inv.trace_id);
    if let Some(cc) = &inv.client_context {
        b = b.header(rt::HEADER_CLIENT_CONTEXT, cc);
    }
    if let Some(ci) = &inv.cognito_identity {
        b = b.header(rt::HEADER_COGNITO_IDENTITY, ci);
    }
    b.body(Full::new(inv.payload)).unwrap_or_default()
}

/// Checks that `id` is the invocation in flight and still unanswered.
fn check_current(shared: &Shared, id: &str, to: &str) -> Result<(), Refusal> {
    let inner = shared.lock();
    match &inner.current {
        Some(c) if c.request_id == id && c.picked_at.is_some() => {
            if c.responder.is_some() {
                Ok(())
            } else {
                Err(Refusal::new(
                    StatusCode::FORBIDDEN,
                    "InvalidStateTransition",
                    format!(
                        "State transition from ResponseSent to {to} failed for runtime. Error: State transition is not allowed"
                    ),
                ))
            }
        }
        _ => Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            "InvalidRequestID",
            "Invalid request ID",
        )),
    }
}

fn answer(shared: &Shared, id: &str, a: RuntimeAnswer) -> bool {
    let tx = shared.update(|inner| {
        inner
            .current
            .as_mut()
            .filter(|c| c.request_id == id)
            .and_then(|c| c.responder.take())
    });
    match tx {
        Some(tx) => {
            let _ = tx.send(a);
            true
        }
        None => false,
    }
}

/// `POST /runtime/invocation/{id}/response`.
pub async fn response(shared: &Shared, id: &str, req: Request<Incoming>) -> Reply {
    if let Err(r) = check_current(shared, id, "InvocationResponse") {
        return r.reply();
    }
    if let Some(mode) = header(&req, rt::HEADER_FUNCTION_RESPONSE_MODE) {
        if !mode.eq_ignore_ascii_case(rt::RESPONSE_MODE_STREAMING) {
            let e = PostedError {
                error_type: rt::ERROR_TYPE_INVALID_RESPONSE_MODE_HEADER.into(),
                body: bytes::Bytes::new(),
            };
            answer(shared, id, RuntimeAnswer::Error(e));
            return error_reply(
                StatusCode::BAD_REQUEST,
                rt::ERROR_TYPE_INVALID_RESPONSE_MODE,
                &format!("Invalid function response mode {mode:?}"),
            );
        }
        return streamed_response(shared, id, req).await;
    }
    let started = SystemTime::now();
    let t0 = Instant::now();
    match read_body(req).await {
        Ok(body) => {
            let a = RuntimeAnswer::Response {
                body,
                started,
                read: t0.elapsed(),
            };
            if answer(shared, id, a) {
                accepted()
            } else {
                invalid_state("ResponseSent", "InvocationResponse")
            }
        }
        Err(BodyError::TooLarge) => {
            answer(shared, id, RuntimeAnswer::TooLarge);
            error_reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                rt::ERROR_TYPE_REQUEST_TOO_LARGE,
                TOO_LARGE_MESSAGE,
            )
        }
        Err(BodyError::Truncated) => error_reply(
            StatusCode::BAD_REQUEST,
            "TruncatedHTTPRequest",
            "request body was truncated",
        ),
    }
}

/// A streamed `/response`: chunk by chunk to a caller that takes streams, else read whole (up to
/// 6 MB, as a buffered `Invoke` of a streaming function gets it).
async fn streamed_response(shared: &Shared, id: &str, req: Request<Incoming>) -> Reply {
    let started = SystemTime::now();
    let content_type = header(&req, "content-type").map(str::to_owned);
    let accepts_stream = shared
        .lock()
        .current
        .as_ref()
        .is_some_and(|c| c.accepts_stream);
    let (tx, rx) = tokio::sync::mpsc::channel(stream::CHUNKS_IN_FLIGHT);
    let done = if accepts_stream {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let a = RuntimeAnswer::Stream {
            chunks: rx,
            done: done_rx,
            started,
            content_type,
        };
        if !answer(shared, id, a) {
            return invalid_state("ResponseSent", "InvocationResponse");
        }
        let done = stream::forward(
            req.into_body(),
            tx,
            rt::MAX_STREAMED_RESPONSE_SIZE,
            shared.stream_bandwidth,
        )
        .await;
        let _ = done_tx.send(done.clone());
        done
    } else {
        let (done, body) = tokio::join!(
            stream::forward(req.into_body(), tx, MAX_PAYLOAD as u64, None),
            collect(rx)
        );
        let a = match &done.end {
            StreamEnd::Complete => RuntimeAnswer::Response {
                body,
                started,
                read: done.read,
            },
            StreamEnd::Error(e) => RuntimeAnswer::Error(e.clone()),
            StreamEnd::Oversized => RuntimeAnswer::TooLarge,
            StreamEnd::Truncated => RuntimeAnswer::Error(PostedError {
                error_type: rt::ERROR_TYPE_TRUNCATED_RESPONSE.into(),
                body: bytes::Bytes::new(),
            }),
        };
        if !answer(shared, id, a) {
            return invalid_state("ResponseSent", "InvocationResponse");
        }
        done
    };
    match done.end {
        StreamEnd::Complete | StreamEnd::Error(_) => accepted(),
        StreamEnd::Oversized if accepts_stream => error_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            rt::ERROR_TYPE_REQUEST_TOO_LARGE,
            &format!(
                "Exceeded maximum allowed streamed response size ({} bytes).",
                rt::MAX_STREAMED_RESPONSE_SIZE
            ),
        ),
        StreamEnd::Oversized => error_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            rt::ERROR_TYPE_REQUEST_TOO_LARGE,
            TOO_LARGE_MESSAGE,
        ),
        StreamEnd::Truncated => error_reply(
            StatusCode::BAD_REQUEST,
            "TruncatedHTTPRequest",
            "request body was truncated",
        ),
    }
}

async fn collect(mut rx: tokio::sync::mpsc::Receiver<bytes::Bytes>) -> bytes::Bytes {
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = rx.recv().await {
        buf.extend_from_slice(&chunk);
    }
    buf.freeze()
}

/// `POST /runtime/invocation/{id}/error`.
pub async fn error(shared: &Shared, id: &str, req: Request<Incoming>) -> Reply {
    if let Err(r) = check_current(shared, id, "InvocationErrorResponse") {
        return r.reply();
    }
    let error_type = normalise_error_type(header(&req, rt::HEADER_FUNCTION_ERROR_TYPE));
    let body = match read_body(req).await {
        Ok(b) => b,
        Err(_) => {
            return error_reply(
                StatusCode::BAD_REQUEST,
                "InvalidRequestFormat",
                "error body unreadable or over 6 MB",
            );
        }
    };
    if answer(
        shared,
        id,
        RuntimeAnswer::Error(PostedError { error_type, body }),
    ) {
        accepted()
    } else {
        invalid_state("ResponseSent", "InvocationErrorResponse")
    }
}

/// `POST /runtime/init/error`: only during Init.
pub async fn init_error(shared: &Shared, req: Request<Incoming>) -> Reply {
    if !shared.lock().registration_open {
        return invalid_state("Ready", "InitError");
    }
    let error_type = normalise_error_type(header(&req, rt::HEADER_FUNCTION_ERROR_TYPE));
    let body = read_body(req).await.unwrap_or_default();
    shared.update(|inner| inner.init_error = Some(PostedError { error_type, body }));
    accepted()
}
