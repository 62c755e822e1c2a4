//! The Runtime API's streamed `/response` (`Lambda-Runtime-Function-Response-Mode: streaming`,
//! chunked, errors in the trailers `Lambda-Runtime-Function-Error-Type` /
//! `Lambda-Runtime-Function-Error-Body`), forwarded chunk by chunk (LAMBDA-FACTS §1 "Response
//! streaming"; RIE `core/directinvoke/directinvoke.go`).
//!
//! The body is never held whole: each chunk goes to the invoker through a bounded channel, so a
//! slow reader slows the runtime down (back-pressure) rather than filling memory. When the
//! invoker has gone away (the client disconnected) the rest is read and discarded, and the
//! function runs to its end, as in Lambda ("the streamed response is not interrupted or
//! stopped" when the client disconnects, "Response streaming for Lambda functions").

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;
use tokio::sync::mpsc;

use protocol::runtime as rt;

use std::time::SystemTime;

use tokio::sync::oneshot;

use super::environment::{Environment, error_doc};
use super::invocation::Outcome;
use super::shared::{PostedError, normalise_error_type};
use super::telemetry::{self, Status};
use crate::invoke::StreamOutcome;

/// Chunks in flight between the runtime and the invoker.
pub const CHUNKS_IN_FLIGHT: usize = 16;

/// How the runtime's side of a stream ended.
#[derive(Debug, Clone, PartialEq)]
pub enum StreamEnd {
    /// The terminating chunk arrived without an error trailer.
    Complete,
    /// An error trailer arrived (after any number of chunks).
    Error(PostedError),
    /// The body ended without its terminating chunk (the runtime disconnected or crashed).
    Truncated,
    /// The body went over the limit; what came after it was discarded.
    Oversized,
}

/// The runtime's side of a stream, once over.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamDone {
    /// How it ended.
    pub end: StreamEnd,
    /// Body bytes the runtime sent (those over the limit included).
    pub bytes: u64,
    /// How long reading the body took.
    pub read: Duration,
}

/// Lambda's bandwidth cap on a streamed response ("Bandwidth limits for response streaming",
/// "Response streaming for Lambda functions"): the first 6 MB go as fast as they are read,
/// the rest at most 2 MBps. The lab reads MB as MiB, as its 6 MB payload limit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamBandwidth {
    /// Bytes sent before the cap applies.
    pub uncapped_bytes: u64,
    /// The cap, bytes per second.
    pub bytes_per_second: u32,
}

impl StreamBandwidth {
    /// Lambda's: 6 MB uncapped, then 2 MB/s.
    pub const LAMBDA: Self = Self {
        uncapped_bytes: 6 * 1024 * 1024,
        bytes_per_second: 2 * 1024 * 1024,
    };
    /// The largest piece sent at once under the cap (also the limiter's burst), so that the
    /// rate holds within a large chunk.
    const PIECE: u32 = 64 * 1024;
}

/// Sends the capped part of a stream at the cap's rate (a GCRA byte limiter, `governor`).
struct Pacer {
    uncapped_bytes: u64,
    limiter: governor::DefaultDirectRateLimiter,
}

impl Pacer {
    fn new(cap: StreamBandwidth) -> Self {
        use std::num::NonZeroU32;
        let rate = NonZeroU32::new(cap.bytes_per_second).unwrap_or(NonZeroU32::MIN);
        let burst =
            NonZeroU32::new(StreamBandwidth::PIECE.min(rate.get())).unwrap_or(NonZeroU32::MIN);
        Pacer {
            uncapped_bytes: cap.uncapped_bytes,
            limiter: governor::RateLimiter::direct(
                governor::Quota::per_second(rate).allow_burst(burst),
            ),
        }
    }

    /// Sends `data`, of which the bytes after `before` (bytes already sent) past the uncapped
    /// allowance wait for the limiter; false when the receiver is gone.
    async fn send(&self, tx: &mpsc::Sender<Bytes>, mut data: Bytes, before: u64) -> bool {
        let free = self.uncapped_bytes.saturating_sub(before);
        if free > 0 {
            let now = data.split_to(data.len().min(free as usize));
            if tx.send(now).await.is_err() {
                return false;
            }
        }
        while !data.is_empty() {
            let piece = data.split_to(data.len().min(StreamBandwidth::PIECE as usize));
            let n =
                std::num::NonZeroU32::new(piece.len() as u32).unwrap_or(std::num::NonZeroU32::MIN);
            // Err only for a piece larger than the burst (a cap under 64 KiB/s): sent unpaced.
            let _ = self.limiter.until_n_ready(n).await;
            if tx.send(piece).await.is_err() {
                return false;
            }
        }
        true
    }
}

/// Reads `body` chunk by chunk, sending each to `chunks` (until the receiver is gone), up to
/// `limit` bytes, past `bandwidth`'s allowance at its rate; then reports how it ended.
pub async fn forward<B>(
    body: B,
    chunks: mpsc::Sender<Bytes>,
    limit: u64,
    bandwidth: Option<StreamBandwidth>,
) -> StreamDone
where
    B: hyper::body::Body<Data = Bytes>,
{
    let t0 = Instant::now();
    let mut body = std::pin::pin!(body);
    let mut seen = 0u64;
    let pacer = bandwidth.map(Pacer::new);
    let mut invoker = Some(chunks);
    let mut trailers: Option<HeaderMap> = None;
    let end = loop {
        match body.frame().await {
            None => break None,
            Some(Err(_)) => break Some(StreamEnd::Truncated),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => {
                    let before = seen;
                    seen += data.len() as u64;
                    if seen > limit {
                        invoker = None; // the invoker's stream ends here
                        continue;
                    }
                    let Some(tx) = &invoker else { continue };
                    if data.is_empty() {
                        continue;
                    }
                    let sent = match &pacer {
                        Some(p) => p.send(tx, data, before).await,
                        None => tx.send(data).await.is_ok(),
                    };
                    if !sent {
                        invoker = None; // the client went away: discard the rest
                    }
                }
                Err(frame) => {
                    if let Ok(t) = frame.into_trailers() {
                        trailers.get_or_insert_with(HeaderMap::new).extend(t);
                    }
                }
            },
        }
    };
    let end = match end {
        Some(e) => e,
        None if seen > limit => StreamEnd::Oversized,
        None => trailers
            .as_ref()
            .and_then(trailer_error)
            .map_or(StreamEnd::Complete, StreamEnd::Error),
    };
    StreamDone {
        end,
        bytes: seen,
        read: t0.elapsed(),
    }
}

/// The error the trailers report, if any. The body trailer is base64 (as the Node.js runtime and
/// `lambda_runtime` encode it); one that does not decode is kept as sent.
pub fn trailer_error(trailers: &HeaderMap) -> Option<PostedError> {
    let raw_type = trailers
        .get(rt::HEADER_FUNCTION_ERROR_TYPE)
        .and_then(|v| v.to_str().ok())
        .filter(|t| !t.is_empty())?;
    let body = trailers
        .get(rt::TRAILER_FUNCTION_ERROR_BODY)
        .map(|v| {
            let raw = v.as_bytes();
            BASE64
                .decode(raw)
                .map(Bytes::from)
                .unwrap_or_else(|_| Bytes::copy_from_slice(raw))
        })
        .unwrap_or_default();
    Some(PostedError {
        error_type: normalise_error_type(Some(raw_type)),
        body,
    })
}

/// The end of a streamed answer as the invoke loop sees it.
impl Environment {
    /// Maps the end of a streamed answer to telemetry and to the caller's outcome.
    pub(super) fn stream_outcome(
        &self,
        done: Option<StreamDone>,
        started: SystemTime,
    ) -> (Outcome, StreamOutcome) {
        let done = done.unwrap_or(StreamDone {
            end: StreamEnd::Truncated,
            bytes: 0,
            read: Duration::ZERO,
        });
        let failed = |error_type: &str, body: Bytes| {
            let o = Outcome {
                status: Status::Error,
                error_type: Some(error_type.into()),
                produced_bytes: Some(done.bytes),
                spans: Vec::new(),
            };
            let body = if body.is_empty() {
                error_doc(error_type, "")
            } else {
                body
            };
            let to_caller = StreamOutcome::Failed {
                error_type: error_type.into(),
                body,
            };
            (o, to_caller)
        };
        match &done.end {
            StreamEnd::Complete => {
                let picked = self
                    .shared
                    .lock()
                    .current
                    .as_ref()
                    .and_then(|c| c.picked_at);
                let mut spans = Vec::new();
                if let Some((_, wall)) = picked {
                    let latency = started.duration_since(wall).unwrap_or_default();
                    spans.push(telemetry::span("responseLatency", wall, latency));
                }
                spans.push(telemetry::span("responseDuration", started, done.read));
                let o = Outcome {
                    status: Status::Success,
                    error_type: None,
                    produced_bytes: Some(done.bytes),
                    spans,
                };
                (o, StreamOutcome::Complete)
            }
            StreamEnd::Error(e) => failed(&e.error_type, e.body.clone()),
            StreamEnd::Truncated => failed(
                protocol::runtime::ERROR_TYPE_TRUNCATED_RESPONSE,
                error_doc(
                    protocol::runtime::ERROR_TYPE_TRUNCATED_RESPONSE,
                    "the runtime's streamed response ended without its terminating chunk",
                ),
            ),
            StreamEnd::Oversized => {
                let t = protocol::runtime::ERROR_TYPE_RESPONSE_SIZE_TOO_LARGE;
                let msg = format!(
                    "Response payload size exceeded maximum allowed payload size ({} bytes).",
                    protocol::runtime::MAX_STREAMED_RESPONSE_SIZE
                );
                failed(t, error_doc(t, &msg))
            }
        }
    }
}
/// The end of the runtime's side of a stream (pending forever without one).
pub(super) async fn stream_end(
    done: Option<&mut oneshot::Receiver<StreamDone>>,
) -> Option<StreamDone> {
    match done {
        Some(rx) => rx.await.ok(),
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::channel::Channel;
    use hyper::body::Frame;

    enum Item {
        Data(&'static str),
        Trailers(HeaderMap),
        Abort,
    }

    fn data(s: &'static str) -> Item {
        Item::Data(s)
    }

    fn trailers(kind: &str, body_b64: &str) -> Item {
        let mut t = HeaderMap::new();
        t.insert(rt::HEADER_FUNCTION_ERROR_TYPE, kind.parse().unwrap());
        t.insert(rt::TRAILER_FUNCTION_ERROR_BODY, body_b64.parse().unwrap());
        Item::Trailers(t)
    }

    async fn run(items: Vec<Item>, limit: u64) -> (Vec<Bytes>, StreamDone) {
        let (sender, body) = Channel::<Bytes, std::io::Error>::new(items.len() + 1);
        let mut sender = Some(sender);
        for item in items {
            let Some(s) = sender.as_mut() else { break };
            match item {
                Item::Data(d) => s
                    .try_send(Frame::data(Bytes::from_static(d.as_bytes())))
                    .unwrap(),
                Item::Trailers(t) => s.try_send(Frame::trailers(t)).unwrap(),
                Item::Abort => {
                    if let Some(s) = sender.take() {
                        s.abort(std::io::Error::other("reset"));
                    }
                }
            }
        }
        drop(sender); // the body ends after the frames sent
        let (tx, mut rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let done = forward(body, tx, limit, None).await;
        let mut got = Vec::new();
        while let Ok(c) = rx.try_recv() {
            got.push(c);
        }
        (got, done)
    }
    #[tokio::test]
    async fn chunks_pass_one_by_one_and_a_clean_end_is_complete() {
        let (got, done) = run(vec![data("ab"), data("cde")], 100).await;
        assert_eq!(got, vec![Bytes::from("ab"), Bytes::from("cde")]);
        assert_eq!(done.end, StreamEnd::Complete);
        assert_eq!(done.bytes, 5);
    }

    #[tokio::test]
    async fn an_error_trailer_after_a_partial_body_is_the_outcome() {
        let (got, done) = run(
            vec![
                data("part"),
                trailers("Function.Boom", &BASE64.encode("{\"x\":1}")),
            ],
            100,
        )
        .await;
        assert_eq!(got, vec![Bytes::from("part")]);
        assert_eq!(
            done.end,
            StreamEnd::Error(PostedError {
                error_type: "Function.Boom".into(),
                body: Bytes::from("{\"x\":1}"),
            })
        );
    }

    #[tokio::test]
    async fn a_body_error_is_a_truncated_stream() {
        let (got, done) = run(vec![data("a"), Item::Abort], 100).await;
        assert_eq!(got, vec![Bytes::from("a")]);
        assert_eq!(done.end, StreamEnd::Truncated);
    }

    #[tokio::test]
    async fn over_the_limit_the_stream_stops_and_is_oversized() {
        let (got, done) = run(vec![data("1234"), data("5678"), data("9")], 6).await;
        assert_eq!(got, vec![Bytes::from("1234")]);
        assert_eq!(done.end, StreamEnd::Oversized);
        assert_eq!(done.bytes, 9);
    }
}
