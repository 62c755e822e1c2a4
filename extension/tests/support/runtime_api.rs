//! A fake Runtime API on 127.0.0.1:0 that reports every call it receives on a channel, and the
//! proxy under test in front of it, with a real hyper client playing the runtime.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use protocol::runtime::MAX_PAYLOAD_SIZE;
use rollcall_extension::metrics::Aggregate;
use rollcall_extension::proxy::{Proxy, ProxySettings};
use rollcall_extension::recorder::Recorder;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{Notify, mpsc};

/// A call the fake Runtime API received.
#[derive(Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

/// The fake Runtime API: `/next` hands out the queued events in order.
pub struct Upstream {
    events: Mutex<Vec<(String, Vec<u8>)>>,
    seen: mpsc::UnboundedSender<Seen>,
    /// Body bytes of the call being read, as they arrive.
    pub receiving: AtomicUsize,
    /// The body of the call being read so far (kept only while it is under 1 MiB).
    pub received: Mutex<Vec<u8>>,
    /// Woken at each body chunk.
    pub progress: Notify,
}

impl Upstream {
    /// Waits until the body of the call being read holds `needle`; returns that body so far.
    pub async fn received_containing(&self, needle: &[u8]) -> Vec<u8> {
        loop {
            let notified = self.progress.notified();
            {
                let received = self.received.lock().unwrap();
                if received.windows(needle.len()).any(|w| w == needle) {
                    return received.clone();
                }
            }
            notified.await;
        }
    }
}

async fn upstream_handle(
    up: Arc<Upstream>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let (parts, mut body) = req.into_parts();
    let (mut data, mut trailers) = (Vec::new(), None);
    up.receiving.store(0, Ordering::SeqCst);
    up.received.lock().unwrap().clear();
    while let Some(frame) = body.frame().await {
        match frame.unwrap().into_data() {
            Ok(chunk) => {
                data.extend_from_slice(&chunk);
                up.receiving.store(data.len(), Ordering::SeqCst);
                if data.len() < 1 << 20 {
                    up.received.lock().unwrap().extend_from_slice(&chunk);
                }
                up.progress.notify_waiters();
            }
            Err(frame) => trailers = frame.into_trailers().ok(),
        }
    }
    let body = Bytes::from(data);
    if path.ends_with("/invocation/next") {
        let next = up.events.lock().unwrap().pop();
        let Some((id, event)) = next else {
            let mut r = Response::new(Full::new(Bytes::from_static(b"no more")));
            *r.status_mut() = StatusCode::GONE;
            return Ok(r);
        };
        let mut r = Response::new(Full::new(Bytes::from(event)));
        r.headers_mut()
            .insert("lambda-runtime-aws-request-id", id.parse().unwrap());
        r.headers_mut().insert(
            "lambda-runtime-deadline-ms",
            "4102444800000".parse().unwrap(),
        );
        return Ok(r);
    }
    // Like Lambda, a response over the payload limit is refused with 413 (the client gets
    // a 500); the call is still reported.
    let too_large = path.ends_with("/response") && body.len() > MAX_PAYLOAD_SIZE;
    up.seen
        .send(Seen {
            path,
            headers: parts.headers,
            body,
            trailers,
        })
        .unwrap();
    if too_large {
        let mut r = Response::new(Full::new(Bytes::from_static(
            br#"{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"}"#,
        )));
        *r.status_mut() = StatusCode::PAYLOAD_TOO_LARGE;
        return Ok(r);
    }
    let mut r = Response::new(Full::new(Bytes::from_static(br#"{"status":"OK"}"#)));
    *r.status_mut() = StatusCode::ACCEPTED;
    Ok(r)
}

pub struct Harness {
    pub proxy_url: String,
    seen: mpsc::UnboundedReceiver<Seen>,
    pub upstream: Arc<Upstream>,
    pub recorder: Arc<Recorder>,
    pub client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Harness {
    pub async fn start(tagging: bool) -> Self {
        let (tx, seen) = mpsc::unbounded_channel();
        let upstream = Arc::new(Upstream {
            events: Mutex::new(Vec::new()),
            seen: tx,
            receiving: AtomicUsize::new(0),
            received: Mutex::new(Vec::new()),
            progress: Notify::new(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let upstream_addr = listener.local_addr().unwrap();
        let up = upstream.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let up = up.clone();
                tokio::spawn(async move {
                    let svc =
                        hyper::service::service_fn(move |req| upstream_handle(up.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let version = Arc::new(OnceLock::new());
        version.set("7".to_owned()).unwrap();
        let recorder = Recorder::new(Aggregate::new("f", "Rollcall"));
        let proxy = Proxy::new(
            ProxySettings {
                upstream: upstream_addr.to_string(),
                version_header: tagging.then(|| "x-rollcall-version".to_owned()),
            },
            version,
            Some(recorder.clone()),
        );
        let proxy_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let proxy_url = format!("http://{}", proxy_listener.local_addr().unwrap());
        tokio::spawn(proxy.serve(proxy_listener));
        Self {
            proxy_url,
            seen,
            upstream,
            recorder,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn queue(&self, id: &str, event: &[u8]) {
        self.upstream
            .events
            .lock()
            .unwrap()
            .insert(0, (id.to_owned(), event.to_vec()));
    }

    pub async fn next(&self) -> (String, Bytes) {
        let res = self
            .client
            .get(
                format!("{}/2018-06-01/runtime/invocation/next", self.proxy_url)
                    .parse()
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let id = res.headers()["lambda-runtime-aws-request-id"]
            .to_str()
            .unwrap()
            .to_owned();
        (id, res.into_body().collect().await.unwrap().to_bytes())
    }

    pub async fn post(&self, path: &str, body: &[u8]) -> StatusCode {
        let req = Request::post(format!("{}{path}", self.proxy_url))
            .header("content-type", "application/json")
            .body(Full::new(Bytes::copy_from_slice(body)))
            .unwrap();
        self.client.request(req).await.unwrap().status()
    }

    pub async fn seen(&mut self) -> Seen {
        tokio::time::timeout(Duration::from_secs(10), self.seen.recv())
            .await
            .expect("the upstream saw the call")
            .unwrap()
    }

    pub fn emf(&self) -> Vec<Value> {
        let mut out = Vec::new();
        self.recorder.flush_to(&mut out).unwrap();
        String::from_utf8(out)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

pub const APIGW_V1_EVENT: &[u8] = br#"{"httpMethod":"GET","path":"/hello","headers":{}}"#;
pub const APIGW_V2_EVENT: &[u8] =
    br#"{"version":"2.0","rawPath":"/","requestContext":{"http":{"method":"GET","path":"/"}}}"#;
