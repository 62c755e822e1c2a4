//! A streamed response on its way from the runtime to the invoker: the body's chunks as the
//! runtime posts them (never buffered whole), then how the stream ended.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};

/// How a streamed response ended, as `InvokeWithResponseStream`'s `InvokeComplete` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamOutcome {
    /// Every chunk arrived and no error trailer was sent.
    Complete,
    /// The stream failed: an error trailer (`Lambda-Runtime-Function-Error-Type`), a stream
    /// cut short (`Runtime.TruncatedResponse`), over the limit (`Function.ResponseSizeTooLarge`),
    /// or the environment was reset (`Sandbox.Timedout`, `Runtime.ExitError`, ...).
    Failed {
        /// Lambda's error type (`ErrorCode`).
        error_type: String,
        /// Details (`ErrorDetails`), as the runtime sent them or Lambda's error document.
        body: Bytes,
    },
}

/// The two ends the invoker reads: chunks, then the outcome.
#[derive(Debug)]
pub struct StreamParts {
    /// The `Content-Type` the runtime posted the stream with (a function URL parses the HTTP
    /// prelude only under `application/vnd.awslambda.http-integration-response`).
    pub content_type: Option<String>,
    /// Body chunks in order; closed when the body ended (or was cut).
    pub chunks: mpsc::Receiver<Bytes>,
    /// The outcome, sent once the stream is over. A dropped sender means the environment went
    /// away without one (reported as `ServiceException` by [`StreamParts::outcome`]).
    pub outcome: oneshot::Receiver<StreamOutcome>,
}

impl StreamParts {
    /// Waits for the outcome (after the chunks are read).
    pub async fn outcome(self) -> StreamOutcome {
        self.outcome
            .await
            .unwrap_or_else(|_| StreamOutcome::Failed {
                error_type: "ServiceException".into(),
                body: Bytes::from_static(
                    br#"{"errorType":"ServiceException","errorMessage":"the execution environment ended without an outcome"}"#,
                ),
            })
    }
}

/// A streamed response handed to the invoker. It is taken once ([`ResponseStream::take`]);
/// clones share it (so that [`crate::invoke::InvokeOutcome`] stays `Clone`). Dropping it (the
/// client went away) does not stop the function: as in Lambda, it runs to its end and the rest
/// of the stream is discarded.
#[derive(Debug, Clone)]
pub struct ResponseStream(Arc<Mutex<Option<StreamParts>>>);

impl ResponseStream {
    /// A stream over `parts`.
    pub fn new(parts: StreamParts) -> Self {
        Self(Arc::new(Mutex::new(Some(parts))))
    }

    /// The chunks and the outcome; `None` if already taken.
    pub fn take(&self) -> Option<StreamParts> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    /// Reads the whole stream into memory (for callers that cannot stream): the bytes and the
    /// outcome.
    pub async fn collect(&self) -> (Bytes, StreamOutcome) {
        let Some(mut parts) = self.take() else {
            return (
                Bytes::new(),
                StreamOutcome::Failed {
                    error_type: "ServiceException".into(),
                    body: Bytes::from_static(b"the stream was already read"),
                },
            );
        };
        let mut buf = bytes::BytesMut::new();
        while let Some(chunk) = parts.chunks.recv().await {
            buf.extend_from_slice(&chunk);
        }
        (buf.freeze(), parts.outcome().await)
    }
}

impl PartialEq for ResponseStream {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}
