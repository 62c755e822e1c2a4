//! The Runtime API proxy: the runtime talks to it instead of the real Runtime API (LAMBDA-FACTS
//! §5). Every call is forwarded; `/next` events are counted (invocations, cold start) and read
//! to learn their kind, buffered `/response` bodies are tagged (or forwarded as they were if
//! tagging does not apply), streamed responses pass chunk for chunk with their HTTP prelude
//! tagged ([`crate::stream`]), and errors and every other call pass through as streams,
//! trailers included.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use bytes::Bytes;
use http::header::{CONTENT_LENGTH, HeaderValue, TRANSFER_ENCODING};
use http::uri::PathAndQuery;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use protocol::runtime::{self, InvocationCall};
use tokio::net::TcpListener;
use tracing::{debug, warn};

use crate::endpoint::RuntimeApi;
use crate::listen::{self, Acceptor};
use crate::recorder::Recorder;
use crate::stream::{self, OwnedTags, PreludeTagger, StreamedBody};
use crate::tag::{ResponseShape, Tagged, Tags, response_status, tag_response};

/// The body type the proxy sends and answers with.
pub type ProxyBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// Invocations remembered between `/next` and their response; more than this means responses
/// went missing (the environment is being reset), and the oldest are forgotten.
const MAX_IN_FLIGHT: usize = 64;

/// Most connections the proxy serves at once (a runtime uses one or two).
pub const MAX_CONNECTIONS: usize = 256;

/// What the proxy needs to know.
#[derive(Debug, Clone)]
pub struct ProxySettings {
    /// The real Runtime API: the original `AWS_LAMBDA_RUNTIME_API`, in any form
    /// [`crate::endpoint`] understands (`host:port`, with a path prefix, with `http://`).
    pub upstream: String,
    /// Name of the version header; `None` disables tagging.
    pub version_header: Option<String>,
}

/// One invocation between `/next` and its response.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    shape: Option<ResponseShape>,
    started: Instant,
    cold: bool,
}

/// The proxy's shared state.
#[derive(Debug)]
pub struct Proxy {
    settings: ProxySettings,
    /// `settings.upstream` parsed once (or why it does not parse, answered on every call).
    upstream: Result<RuntimeApi, String>,
    client: Client<HttpConnector, ProxyBody>,
    version: Arc<OnceLock<String>>,
    recorder: Option<Arc<Recorder>>,
    in_flight: Mutex<HashMap<String, InFlight>>,
    served_any: AtomicBool,
    counts_invocations: AtomicBool,
}

impl Proxy {
    /// A proxy to `settings.upstream`. `version` is the environment's version (set before the
    /// runtime starts); `recorder` receives latencies and errors when metrics are on.
    pub fn new(
        settings: ProxySettings,
        version: Arc<OnceLock<String>>,
        recorder: Option<Arc<Recorder>>,
    ) -> Arc<Self> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(None)
            .build(connector);
        let upstream = RuntimeApi::parse(&settings.upstream).map_err(|e| e.to_string());
        Arc::new(Self {
            settings,
            upstream,
            client,
            version,
            recorder,
            in_flight: Mutex::new(HashMap::new()),
            served_any: AtomicBool::new(false),
            counts_invocations: AtomicBool::new(true),
        })
    }

    /// Serves connections from `listener` until the task is dropped: at most
    /// [`MAX_CONNECTIONS`] at a time, each closed if a request's headers do not arrive within
    /// [`listen::RUNTIME_HEADER_READ_TIMEOUT`] (longer than any invocation).
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let mut acceptor = Acceptor::new(listener, "proxy", MAX_CONNECTIONS);
        loop {
            let (stream, peer, permit) = acceptor.accept().await;
            let _ = stream.set_nodelay(true);
            let proxy = self.clone();
            tokio::spawn(async move {
                let _slot = permit;
                let service = hyper::service::service_fn(move |req| proxy.clone().handle(req));
                if let Err(e) = listen::http1(listen::RUNTIME_HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(%peer, error = %e, "proxy connection ended");
                }
            });
        }
    }

    /// Handles one Runtime API call.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<ProxyBody>, Infallible> {
        let received = Instant::now();
        let call = runtime::parse_path(req.uri().path()).map(|c| match c {
            InvocationCall::Response(id) => Call::Response(id.to_owned()),
            InvocationCall::Error(id) => Call::Error(id.to_owned()),
            InvocationCall::Next => Call::Next,
            InvocationCall::InitError => Call::Other,
        });
        let result = match (req.method(), call) {
            (&Method::GET, Some(Call::Next)) => self.next(req).await,
            (&Method::POST, Some(Call::Response(id))) => self.response(req, &id, received).await,
            (&Method::POST, Some(Call::Error(id))) => {
                self.finish(&id, received, true);
                self.forward(req.map(BodyExt::boxed_unsync)).await
            }
            _ => self.forward(req.map(BodyExt::boxed_unsync)).await,
        };
        Ok(result.unwrap_or_else(|e| bad_gateway(&self.settings.upstream, &e)))
    }

    async fn next(&self, req: Request<Incoming>) -> Result<Response<ProxyBody>, ForwardError> {
        let res = self.forward(req.map(BodyExt::boxed_unsync)).await?;
        if res.status() != StatusCode::OK {
            return Ok(res);
        }
        let (parts, body) = res.into_parts();
        let event = body.collect().await.map_err(ForwardError::Body)?.to_bytes();
        let request_id = parts
            .headers
            .get(runtime::HEADER_REQUEST_ID)
            .and_then(|v| v.to_str().ok());
        if let Some(id) = request_id {
            let shape = if self.settings.version_header.is_some() || self.recorder.is_some() {
                ResponseShape::of_raw_event(&event)
            } else {
                None
            };
            let cold = !self.served_any.swap(true, Ordering::Relaxed);
            {
                let mut in_flight = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
                if in_flight.len() >= MAX_IN_FLIGHT {
                    in_flight.clear();
                }
                in_flight.insert(
                    id.to_owned(),
                    InFlight {
                        shape,
                        started: Instant::now(),
                        cold,
                    },
                );
            }
            if let (Some(r), Some(v), true) = (
                &self.recorder,
                self.version.get(),
                self.counts_invocations.load(Ordering::Relaxed),
            ) {
                r.lock().invocation(v, cold, id);
            }
        }
        Ok(Response::from_parts(parts, full(event)))
    }

    async fn response(
        &self,
        req: Request<Incoming>,
        request_id: &str,
        received: Instant,
    ) -> Result<Response<ProxyBody>, ForwardError> {
        let streaming = req
            .headers()
            .get(runtime::HEADER_FUNCTION_RESPONSE_MODE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
        let declared_len = req
            .headers()
            .get(CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
        let too_large = declared_len.is_some_and(|n| n > runtime::MAX_PAYLOAD_SIZE);
        let Some(flight) = self.take(request_id) else {
            return self.forward(req.map(BodyExt::boxed_unsync)).await;
        };
        if streaming {
            return self.stream(req, flight).await;
        }
        if too_large {
            let res = self.forward(req.map(BodyExt::boxed_unsync)).await;
            self.record(flight, received, !delivered(&res));
            return res;
        }

        // Read up to the payload limit. A response past it cannot be tagged (the tag only adds
        // bytes) and Lambda refuses it: it goes on as a stream, never held whole.
        let (mut parts, body) = req.into_parts();
        let original = match read_up_to(body, runtime::MAX_PAYLOAD_SIZE).await? {
            Read::Whole(bytes) => bytes,
            Read::Over(body) => {
                let res = self
                    .forward(Request::from_parts(parts, body.boxed_unsync()))
                    .await;
                self.record(flight, received, !delivered(&res));
                return res;
            }
        };
        let (body, status) = match (
            flight.shape,
            &self.settings.version_header,
            self.version.get(),
        ) {
            (Some(shape), Some(header), Some(version)) => {
                let tags = Tags {
                    version_header: header,
                    version,
                    cold: flight.cold,
                };
                let inspected = tag_response(shape, &original, &tags);
                let body = match inspected.tagged {
                    Tagged::Changed(b) => Bytes::from(b),
                    Tagged::Unchanged(reason) => {
                        debug!(request_id, ?reason, "response forwarded untagged");
                        original
                    }
                };
                (body, inspected.status)
            }
            (Some(shape), _, _) => {
                let status = response_status(shape, &original);
                (original, status)
            }
            (None, _, _) => (original, None),
        };
        parts.headers.remove(TRANSFER_ENCODING);
        parts
            .headers
            .insert(CONTENT_LENGTH, HeaderValue::from(body.len()));
        let res = self.forward(Request::from_parts(parts, full(body))).await;
        let error = status.is_some_and(|s| s >= 500) || !delivered(&res);
        self.record(flight, received, error);
        res
    }

    /// A streamed response: forwarded chunk for chunk, its HTTP prelude tagged when the event
    /// was an API Gateway or function URL event and the body says it has one; recorded once at
    /// its end (latency to the last byte, time to the first, error trailer).
    async fn stream(
        &self,
        req: Request<Incoming>,
        flight: InFlight,
    ) -> Result<Response<ProxyBody>, ForwardError> {
        let (mut parts, body) = req.into_parts();
        let http_integration = parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| {
                v.trim()
                    .eq_ignore_ascii_case(runtime::CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE)
            });
        // ALB does not stream: an ALB event's response is no HTTP-integration stream.
        let prelude = http_integration
            && matches!(
                flight.shape,
                Some(ResponseShape::ProxyV1 | ResponseShape::HttpV2)
            );
        let tags = match (&self.settings.version_header, self.version.get()) {
            (Some(header), Some(version)) => Some(OwnedTags {
                version_header: header.clone(),
                version: version.clone(),
                cold: flight.cold,
            }),
            _ => None,
        };
        // Without tags, the prelude is still read for its status when metrics are on.
        let tagger = (prelude && (tags.is_some() || self.recorder.is_some()))
            .then(|| PreludeTagger::new(tags));
        if tagger.is_some() {
            // The prelude may grow: the body goes chunked.
            parts.headers.remove(CONTENT_LENGTH);
        }
        let recorder = self.recorder.clone().zip(self.version.get().cloned());
        let (watch, answer) = stream::watch(move |end, delivered| {
            if let Some((r, v)) = recorder {
                let since = |t: Instant| t.saturating_duration_since(flight.started);
                r.stream_completion(
                    &v,
                    since(end.end),
                    end.first_byte.map(since),
                    end.is_error(delivered),
                );
            }
        });
        let body = StreamedBody::new(body, tagger, watch).boxed_unsync();
        let res = self.forward(Request::from_parts(parts, body)).await;
        answer.delivered(delivered(&res));
        res
    }

    /// True once the proxy handed the runtime an event (the runtime uses the proxy).
    pub fn served_any(&self) -> bool {
        self.served_any.load(Ordering::Relaxed)
    }

    /// True if the proxy counts invocations.
    pub fn counts_invocations(&self) -> bool {
        self.counts_invocations.load(Ordering::Relaxed)
    }

    /// Whether the proxy counts invocations (default yes); off when the extension registered
    /// for INVOKE events, which count them instead. Set before registering: the runtime starts
    /// only after every extension registered.
    pub fn set_counts_invocations(&self, on: bool) {
        self.counts_invocations.store(on, Ordering::Relaxed);
    }

    fn take(&self, request_id: &str) -> Option<InFlight> {
        self.in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(request_id)
    }

    /// An `/error` post: the invocation ends with an error.
    fn finish(&self, request_id: &str, received: Instant, error: bool) {
        if let Some(flight) = self.take(request_id) {
            self.record(flight, received, error);
        }
    }

    fn record(&self, flight: InFlight, received: Instant, error: bool) {
        if let (Some(r), Some(v)) = (&self.recorder, self.version.get()) {
            let latency = received.saturating_duration_since(flight.started);
            r.completion(v, latency, error);
        }
    }

    async fn forward(&self, req: Request<ProxyBody>) -> Result<Response<ProxyBody>, ForwardError> {
        let (mut parts, body) = req.into_parts();
        let upstream = self
            .upstream
            .as_ref()
            .map_err(|e| ForwardError::Uri(e.clone()))?;
        parts.uri = upstream.uri(parts.uri.path_and_query().map_or("/", PathAndQuery::as_str));
        let res = self
            .client
            .request(Request::from_parts(parts, body))
            .await
            .map_err(ForwardError::Upstream)?;
        Ok(res.map(BodyExt::boxed_unsync))
    }
}

enum Call {
    Next,
    Response(String),
    Error(String),
    Other,
}

/// Why a call could not be forwarded.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    /// The upstream URI could not be built from `AWS_LAMBDA_RUNTIME_API`.
    #[error("bad upstream URI: {0}")]
    Uri(String),
    /// The upstream Runtime API did not answer.
    #[error("upstream Runtime API unreachable: {0}")]
    Upstream(#[source] hyper_util::client::legacy::Error),
    /// A body could not be read.
    #[error("reading a body failed: {0}")]
    Body(#[source] hyper::Error),
}

/// True when the Runtime API accepted the call: a response it refused (413 past the payload
/// limit, 4xx for a bad request id) never reached the client as the function's answer.
fn delivered(res: &Result<Response<ProxyBody>, ForwardError>) -> bool {
    res.as_ref().is_ok_and(|r| r.status().is_success())
}

/// A request body read up to a limit.
enum Read {
    /// All of it, within the limit.
    Whole(Bytes),
    /// Past the limit: the frames read so far, then the rest as it arrives.
    Over(Prefixed),
}

/// Reads `body` whole if it holds at most `limit` bytes; otherwise stops as soon as it is past
/// the limit and hands back what was read followed by the rest, unread.
async fn read_up_to(mut body: Incoming, limit: usize) -> Result<Read, ForwardError> {
    let mut chunks: Vec<Bytes> = Vec::new();
    let mut len = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(ForwardError::Body)?;
        let Ok(data) = frame.into_data() else {
            // Trailers end the body (a buffered response's trailers are not forwarded).
            break;
        };
        len += data.len();
        chunks.push(data);
        if len > limit {
            return Ok(Read::Over(Prefixed {
                read: chunks.into(),
                rest: body,
            }));
        }
    }
    Ok(Read::Whole(match chunks.len() {
        0 => Bytes::new(),
        1 => chunks.pop().unwrap_or_default(),
        _ => {
            let mut all = Vec::with_capacity(len);
            chunks.iter().for_each(|c| all.extend_from_slice(c));
            Bytes::from(all)
        }
    }))
}

/// The chunks already read, then the rest of the body.
struct Prefixed {
    read: std::collections::VecDeque<Bytes>,
    rest: Incoming,
}

impl hyper::body::Body for Prefixed {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, hyper::Error>>> {
        if let Some(chunk) = self.read.pop_front() {
            return std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))));
        }
        std::pin::Pin::new(&mut self.rest).poll_frame(cx)
    }
}

fn full(bytes: Bytes) -> ProxyBody {
    Full::new(bytes)
        .map_err(|never: Infallible| match never {})
        .boxed_unsync()
}

/// The answer when the real Runtime API cannot be reached: 502 with a Runtime-API-style error.
fn bad_gateway(upstream: &str, e: &ForwardError) -> Response<ProxyBody> {
    warn!(upstream, error = %e, "runtime API call failed in the proxy");
    let body = serde_json::to_vec(&protocol::ErrorResponse::new(
        "Rollcall.ProxyError",
        format!("rollcall proxy could not reach the Runtime API at {upstream}: {e}"),
    ))
    .unwrap_or_default();
    let mut res = Response::new(full(Bytes::from(body)));
    *res.status_mut() = StatusCode::BAD_GATEWAY;
    res.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    res
}

/// Binds the proxy on `127.0.0.1:port`.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}
