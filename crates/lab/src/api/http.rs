//! HTTP plumbing shared by the front doors: the [`Listener`] (connection limits, header-read
//! timeout, HTTP/1 and HTTP/2), the [`Handler`] it serves, JSON responses, request ids and
//! percent-decoding.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::accept::{self, ServeLimits};

/// A response body: whole, or streamed chunk by chunk (`InvokeWithResponseStream`, a
/// `RESPONSE_STREAM` function URL).
pub type LabBody = Either<Full<Bytes>, super::stream_body::StreamBody>;

/// A whole response body.
pub fn whole(response: Response<Full<Bytes>>) -> Response<LabBody> {
    response.map(Either::Left)
}

/// A boxed response future of a front door.
pub type ResponseFuture = Pin<Box<dyn Future<Output = Response<LabBody>> + Send>>;

/// Something that answers HTTP requests on a [`Listener`].
pub trait Handler: Send + Sync + 'static {
    /// Answers one request from `peer`.
    fn handle(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> ResponseFuture;
}

/// A running HTTP/1.1 + HTTP/2 listener; stops accepting when shut down or dropped.
#[derive(Debug)]
pub struct Listener {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl Listener {
    /// Binds `addr` (port 0 picks a free port) and serves `handler` on it with
    /// [`ServeLimits::PUBLIC`].
    pub async fn bind(addr: SocketAddr, handler: Arc<dyn Handler>) -> std::io::Result<Self> {
        Self::bind_with(addr, handler, ServeLimits::PUBLIC).await
    }

    /// [`Listener::bind`] with other limits.
    pub async fn bind_with(
        addr: SocketAddr,
        handler: Arc<dyn Handler>,
        limits: ServeLimits,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        Ok(Self::serve(listener, handler, limits))
    }

    /// Serves `handler` on an already bound listener, HTTP/1.1 and HTTP/2 (prior knowledge).
    pub fn serve(listener: TcpListener, handler: Arc<dyn Handler>, limits: ServeLimits) -> Self {
        let addr = listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)));
        let (stop, mut stopped) = watch::channel(false);
        let accepting = accept::accept_loop(listener, limits, "front door", move |stream, peer| {
            serve_connection(stream, peer, Arc::clone(&handler), limits)
        });
        let task = tokio::spawn(async move {
            tokio::select! {
                _ = stopped.changed() => {}
                _ = accepting => {}
            }
        });
        Self {
            addr,
            stop,
            task: Some(task),
        }
    }

    /// The bound address (read this after binding port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Serves one connection: its first bytes (HTTP/1 or the HTTP/2 preface) must arrive within the
/// header-read timeout, and hyper closes it when a request head takes longer (HTTP/1) or pings go
/// unanswered (HTTP/2).
async fn serve_connection(
    mut stream: TcpStream,
    peer: SocketAddr,
    handler: Arc<dyn Handler>,
    limits: ServeLimits,
) {
    let started = Instant::now();
    let Some(prefix) = accept::read_preface(&mut stream, limits.header_read_timeout).await else {
        return;
    };
    // One deadline for the first request head, whichever phase the client dawdles in.
    let head_timeout = limits
        .header_read_timeout
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    let service = service_fn(move |request| {
        let response = Arc::clone(&handler).handle(request, peer);
        async move { Ok::<_, std::convert::Infallible>(response.await) }
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(head_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(limits.header_read_timeout / 2)
        .keep_alive_timeout(limits.header_read_timeout / 2);
    let io = TokioIo::new(accept::Prefixed::new(prefix, stream));
    if let Err(e) = builder.serve_connection(io, service).await {
        tracing::debug!(error = %e, %peer, "connection ended with an error");
    }
}

/// A JSON response.
pub fn json_response(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A request id in the shape of AWS's (a random UUID v4).
pub fn new_request_id() -> String {
    crate::env::extensions_api::uuid_v4()
}

/// Percent-decodes `s` (invalid escapes are kept as written; `+` stays `+`).
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
