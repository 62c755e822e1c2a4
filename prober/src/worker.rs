//! A lane's worker pool: async tasks that take tickets from the lane's pacer, send one request
//! each, and record the result. Workers are spawned lazily, one more whenever a ticket finds no
//! idle worker, up to the lane's share of `--max-in-flight`; each owns an HTTP/1.1 keep-alive
//! connection (or shares the lane's HTTP/2 connection) and reconnects after a failure.

use std::borrow::Cow;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HOST, HeaderMap, HeaderName};
use http::{Method, Request, Uri};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http2;
use tokio::task::JoinSet;

use crate::aws::sigv4::SignedHeaders;
use crate::body::{MAX_JSON_BODY, read_body};
use crate::client::{Body, Conn, Connector, FailKind, classify_hyper};
use crate::config::{COLD_HEADER, Config, EXECUTED_VERSION_HEADER, FUNCTION_ERROR_HEADER};
use crate::pacer::Ticket;
use crate::record::{Outcome, Recorder, Sample};

/// A request sent more than this after its intended instant counts as late
/// (`totals.late_sends`; the threshold is reported as `totals.late_threshold_ms`).
pub const LATE_THRESHOLD: Duration = Duration::from_millis(1);

/// The current SigV4 signature of a run's requests (`--sigv4`), renewed every second off the
/// lanes ([`crate::aws::sigv4::Signer`]).
pub type Signature = tokio::sync::watch::Receiver<Arc<SignedHeaders>>;

/// Everything needed to build a request, prepared once.
#[derive(Debug, Clone)]
pub struct RequestTemplate {
    method: Method,
    origin_form: Uri,
    full_uri: Uri,
    h1_headers: HeaderMap,
    h2_headers: HeaderMap,
    body: Bytes,
    version_header: HeaderName,
    version_json: Option<String>,
}

impl RequestTemplate {
    /// The template for `config`.
    pub fn new(config: &Config) -> Self {
        let mut h1_headers = config.headers.clone();
        if !h1_headers.contains_key(HOST) {
            h1_headers.insert(HOST, config.target.host_header.clone());
        }
        let mut h2_headers = config.headers.clone();
        h2_headers.remove(HOST);
        RequestTemplate {
            method: config.method.clone(),
            origin_form: config.target.origin_form.clone(),
            full_uri: config.target.uri.clone(),
            h1_headers,
            h2_headers,
            body: config.body.clone(),
            version_header: config.version_header.clone(),
            version_json: config.version_json.clone(),
        }
    }

    /// A request for an HTTP/1.1 (origin-form URI, `Host` header) or HTTP/2 connection,
    /// carrying `signed`'s headers when given.
    pub fn build(&self, h2: bool, signed: Option<&SignedHeaders>) -> Request<Body> {
        let mut req = Request::new(Full::new(self.body.clone()));
        *req.method_mut() = self.method.clone();
        if h2 {
            *req.uri_mut() = self.full_uri.clone();
            *req.headers_mut() = self.h2_headers.clone();
            *req.version_mut() = http::Version::HTTP_2;
        } else {
            *req.uri_mut() = self.origin_form.clone();
            *req.headers_mut() = self.h1_headers.clone();
        }
        if let Some(signed) = signed {
            signed.apply(req.headers_mut());
        }
        req
    }
}

/// The version a response names in its headers: the configured header, else
/// `X-Amz-Executed-Version`. Empty values count as absent. A value that is not visible ASCII
/// (HTTP allows any byte but control characters) is read as UTF-8, invalid sequences replaced:
/// the response still names a version, shown escaped wherever it is printed.
pub fn version_from_headers<'a>(headers: &'a HeaderMap, name: &HeaderName) -> Option<Cow<'a, str>> {
    [headers.get(name), headers.get(EXECUTED_VERSION_HEADER)]
        .into_iter()
        .flatten()
        .map(|v| v.as_bytes().trim_ascii())
        .find(|bytes| !bytes.is_empty())
        .map(String::from_utf8_lossy)
}

/// The version at `pointer` in a JSON body: a string as is, a number or boolean as text.
pub fn version_from_json(body: &[u8], pointer: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.pointer(pointer)? {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        v @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_)) => Some(v.to_string()),
        _ => None,
    }
}

/// State shared by the pool's workers.
#[derive(Debug)]
struct Shared {
    template: RequestTemplate,
    connector: Connector,
    recorder: Arc<Recorder>,
    rx: async_channel::Receiver<Ticket>,
    t0: Instant,
    timeout: Duration,
    max_body: u64,
    max: usize,
    idle: AtomicUsize,
    spawned: AtomicUsize,
    h2: tokio::sync::Mutex<Option<http2::SendRequest<Body>>>,
    signed: Option<Signature>,
}

/// The lazily grown set of workers.
#[derive(Debug)]
pub struct Pool {
    shared: Arc<Shared>,
    handle: tokio::runtime::Handle,
    tasks: Mutex<JoinSet<()>>,
}

impl Pool {
    /// A pool (no worker yet) of at most `max` workers taking tickets from `rx`; tasks run on
    /// `handle`; requests carry `signed`'s current signature when given.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: &Config,
        connector: Connector,
        recorder: Arc<Recorder>,
        rx: async_channel::Receiver<Ticket>,
        t0: Instant,
        max: usize,
        handle: tokio::runtime::Handle,
        signed: Option<Signature>,
    ) -> Self {
        let shared = Arc::new(Shared {
            template: RequestTemplate::new(config),
            connector,
            recorder,
            rx,
            t0,
            timeout: config.timeout,
            max_body: config.max_body,
            max,
            idle: AtomicUsize::new(0),
            spawned: AtomicUsize::new(0),
            h2: tokio::sync::Mutex::new(None),
            signed,
        });
        Pool {
            shared,
            handle,
            tasks: Mutex::new(JoinSet::new()),
        }
    }

    /// Called by the pacer before it hands over a ticket: spawns a worker when the tickets
    /// already waiting outnumber the idle workers and the cap allows.
    pub fn grow_if_needed(&self, queued: usize) {
        let s = &self.shared;
        if s.spawned.load(Ordering::Relaxed) < s.max && queued >= s.idle.load(Ordering::Acquire) {
            s.spawned.fetch_add(1, Ordering::Relaxed);
            let worker = Worker {
                shared: self.shared.clone(),
                conn: None,
            };
            let mut tasks = self.tasks.lock().unwrap_or_else(|p| p.into_inner());
            tasks.spawn_on(worker.run(), &self.handle);
        }
    }

    /// Workers spawned so far.
    pub fn workers(&self) -> usize {
        self.shared.spawned.load(Ordering::Relaxed)
    }

    /// Waits for every worker to finish (they do once the channel is closed and drained).
    pub async fn finish(&self) {
        let mut tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|p| p.into_inner()));
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                if e.is_panic() {
                    tracing::error!(error = %e, "a worker panicked");
                }
            }
        }
    }
}

/// A response as the worker needs it.
struct Response {
    status: u16,
    headers: HeaderMap,
    json_version: Option<String>,
    /// `--version-json` needed the body, and it was cut.
    version_cut: bool,
    /// The body's first byte arrived then; for an empty body, the head.
    first_byte: Instant,
    /// The body was cut at `--max-body`.
    truncated: bool,
}

/// A request on the wire. Dropped while still armed (its task aborted after an interrupt's
/// grace period), it records the request as `interrupted`, so that every request sent appears in
/// the report.
struct InFlight<'a> {
    recorder: &'a Recorder,
    t0: Instant,
    intended: Instant,
    started: Instant,
    armed: bool,
}

impl InFlight<'_> {
    fn sample<'o>(&self, finished: Instant, outcome: Outcome<'o>) -> Sample<'o> {
        let lag = self.started.saturating_duration_since(self.intended);
        Sample {
            sent_at: self.started.saturating_duration_since(self.t0),
            lag,
            corrected: finished.saturating_duration_since(self.intended),
            uncorrected: finished.saturating_duration_since(self.started),
            late: lag > LATE_THRESHOLD,
            outcome,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if self.armed {
            let sample = self.sample(Instant::now(), Outcome::Failed(FailKind::Interrupted));
            self.recorder.record(&sample);
        }
    }
}

/// A worker's request timeouts: one Tokio timer, moved forward only when it fires. Setting a
/// timer per request would, whenever it became the runtime's earliest timer (nearly always when
/// few requests are in flight), wake the runtime's driver through its eventfd: a syscall and a
/// turn of the event loop per request. A worker's deadlines only move forward, so a timer left
/// at an earlier request's deadline fires no later than the current one's.
struct Timeouts {
    alarm: Pin<Box<tokio::time::Sleep>>,
}

impl Timeouts {
    /// Armed no later than the deadline of any request started from now on.
    fn new(timeout: Duration) -> Self {
        Timeouts {
            alarm: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    /// `work`'s output, or `None` if `deadline` passes first. Deadlines must not decrease from
    /// one call to the next.
    async fn limit<F: Future>(&mut self, deadline: Instant, work: F) -> Option<F::Output> {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return Some(out),
                () = &mut self.alarm => {
                    if Instant::now() >= deadline {
                        return None;
                    }
                    self.alarm.as_mut().reset(deadline.into());
                }
            }
        }
    }
}

struct Worker {
    shared: Arc<Shared>,
    conn: Option<Conn>,
}

impl Worker {
    async fn run(mut self) {
        let s = self.shared.clone();
        let mut timeouts = Timeouts::new(s.timeout);
        loop {
            // The idle count only steers growth: once every worker exists, skip its (contended)
            // updates.
            let track = s.spawned.load(Ordering::Relaxed) < s.max;
            if track {
                s.idle.fetch_add(1, Ordering::AcqRel);
            }
            let ticket = s.rx.recv().await;
            if track {
                s.idle.fetch_sub(1, Ordering::AcqRel);
            }
            let Ok(ticket) = ticket else { break };
            let started = Instant::now();
            let mut in_flight = InFlight {
                recorder: &s.recorder,
                t0: s.t0,
                intended: ticket.intended,
                started,
                armed: true,
            };
            let result = match timeouts.limit(started + s.timeout, self.exchange()).await {
                Some(r) => r,
                None => {
                    self.conn = None;
                    Err(FailKind::Timeout)
                }
            };
            in_flight.armed = false;
            let header_version = result
                .as_ref()
                .ok()
                .and_then(|r| version_from_headers(&r.headers, &s.template.version_header));
            let outcome = match &result {
                Ok(r) => Outcome::Response {
                    status: r.status,
                    version: header_version.as_deref().or(r.json_version.as_deref()),
                    cold: r
                        .headers
                        .get(COLD_HEADER)
                        .is_some_and(|v| v.as_bytes().trim_ascii() == b"1"),
                    function_error: r.headers.contains_key(FUNCTION_ERROR_HEADER),
                    ttfb: r.first_byte.saturating_duration_since(ticket.intended),
                    truncated: r.truncated,
                    version_cut: r.version_cut && header_version.is_none(),
                },
                Err(kind) => Outcome::Failed(*kind),
            };
            let sample = in_flight.sample(Instant::now(), outcome);
            s.recorder.record(&sample);
            if result.as_ref().is_ok_and(|r| r.truncated) && self.conn.is_none() {
                // The cut body's connection was closed: open the next one now, off any
                // request's clock, so that the next request does not pay for it.
                let deadline = Instant::now() + s.timeout;
                if let Some(Ok(conn)) = timeouts.limit(deadline, self.acquire()).await {
                    self.conn = Some(conn);
                }
            }
        }
    }

    /// Sends one request on the current connection (opening one if needed) and reads the
    /// response. A request refused because a reused keep-alive connection had just closed is
    /// retried once on a new connection.
    async fn exchange(&mut self) -> Result<Response, FailKind> {
        let mut retried = false;
        loop {
            let (mut conn, reused) = match self.conn.take() {
                Some(c) if c.is_open() => (c, true),
                _ => (self.acquire().await?, false),
            };
            // An Arc clone under the channel's (uncontended) read lock.
            let signed = self.shared.signed.as_ref().map(|rx| rx.borrow().clone());
            let signed = signed.as_deref();
            let sent = match &mut conn {
                Conn::H1(tx) => match tx.ready().await {
                    Ok(()) => {
                        let request = self.shared.template.build(false, signed);
                        tx.send_request(request).await
                    }
                    Err(e) => Err(e),
                },
                Conn::H2(tx) => match tx.ready().await {
                    Ok(()) => {
                        let request = self.shared.template.build(true, signed);
                        tx.send_request(request).await
                    }
                    Err(e) => Err(e),
                },
            };
            match sent {
                Ok(resp) => {
                    let response = self.read(resp).await?;
                    // HTTP/1.1 cannot skip the rest of a cut body: its connection is closed
                    // (dropped here). On HTTP/2 the dropped body reset only its stream.
                    if !(response.truncated && matches!(conn, Conn::H1(_))) {
                        self.conn = Some(conn);
                    }
                    return Ok(response);
                }
                Err(e) => {
                    if matches!(conn, Conn::H2(_)) {
                        self.forget_shared_h2().await;
                    }
                    if reused && !retried && (e.is_canceled() || e.is_closed()) {
                        retried = true;
                        continue;
                    }
                    return Err(classify_hyper(&e));
                }
            }
        }
    }

    /// Reads the response to the end of its body, or until `--max-body` cut it.
    async fn read(&self, resp: hyper::Response<Incoming>) -> Result<Response, FailKind> {
        let head_at = Instant::now();
        let (parts, mut body) = resp.into_parts();
        let template = &self.shared.template;
        let want_json = template.version_json.is_some()
            && version_from_headers(&parts.headers, &template.version_header).is_none();
        let max_body = self.shared.max_body;
        let keep = if want_json {
            usize::try_from(max_body).map_or(MAX_JSON_BODY, |m| m.min(MAX_JSON_BODY))
        } else {
            0
        };
        let read = read_body(&mut body, max_body, keep)
            .await
            .map_err(|e| classify_hyper(&e))?;
        let (json_version, version_cut) = match (&template.version_json, want_json) {
            (Some(p), true) if read.kept_whole => (version_from_json(&read.kept, p), false),
            (Some(_), true) => (None, true),
            _ => (None, false),
        };
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts.headers,
            json_version,
            version_cut,
            first_byte: read.first_byte.unwrap_or(head_at),
            truncated: read.truncated,
        })
    }

    /// A connection: the shared HTTP/2 one when HTTP/2 is wanted (opened once, under a lock),
    /// otherwise a new HTTP/1.1 connection for this worker.
    async fn acquire(&self) -> Result<Conn, FailKind> {
        let connector = &self.shared.connector;
        if !connector.prefers_h2() {
            return connector.connect().await;
        }
        let mut shared = self.shared.h2.lock().await;
        if let Some(tx) = shared.as_ref().filter(|tx| !tx.is_closed()) {
            return Ok(Conn::H2(tx.clone()));
        }
        let conn = connector.connect().await?;
        if let Conn::H2(tx) = &conn {
            *shared = Some(tx.clone());
        }
        Ok(conn)
    }

    async fn forget_shared_h2(&self) {
        let mut shared = self.shared.h2.lock().await;
        if shared.as_ref().is_some_and(|tx| tx.is_closed()) {
            *shared = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn version_header_then_executed_version() {
        let name = HeaderName::from_static("x-rollcall-version");
        let mut h = HeaderMap::new();
        assert_eq!(version_from_headers(&h, &name), None);
        h.insert("x-amz-executed-version", HeaderValue::from_static("7"));
        assert_eq!(version_from_headers(&h, &name).as_deref(), Some("7"));
        h.insert("x-rollcall-version", HeaderValue::from_static(" 8 "));
        assert_eq!(version_from_headers(&h, &name).as_deref(), Some("8"));
        h.insert("x-rollcall-version", HeaderValue::from_static(""));
        assert_eq!(
            version_from_headers(&h, &name).as_deref(),
            Some("7"),
            "empty values are ignored"
        );
    }

    #[test]
    fn a_version_header_that_is_not_ascii_still_names_a_version() {
        let name = HeaderName::from_static("x-rollcall-version");
        let mut h = HeaderMap::new();
        h.insert(
            "x-rollcall-version",
            HeaderValue::from_bytes("grün-2".as_bytes()).unwrap(),
        );
        assert_eq!(version_from_headers(&h, &name).as_deref(), Some("grün-2"));
        h.insert(
            "x-rollcall-version",
            HeaderValue::from_bytes(b"v\xff9").unwrap(),
        );
        assert_eq!(
            version_from_headers(&h, &name).as_deref(),
            Some("v\u{fffd}9"),
            "invalid UTF-8 is replaced, not dropped"
        );
    }

    #[tokio::test(flavor = "current_thread")]
    async fn timeouts_end_work_at_its_deadline_never_before() {
        let timeout = Duration::from_millis(40);
        let mut timeouts = Timeouts::new(timeout);
        let quick = async { 7 };
        assert_eq!(
            timeouts.limit(Instant::now() + timeout, quick).await,
            Some(7)
        );
        // The timer still points at the first deadline; a later request's must hold until its
        // own, and one that never answers must still be ended.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(15)).await;
            let deadline = Instant::now() + timeout;
            let out = timeouts.limit(deadline, std::future::pending::<()>()).await;
            assert_eq!(out, None);
            assert!(Instant::now() >= deadline, "ended before its deadline");
        }
        let slow = tokio::time::sleep(Duration::from_millis(60));
        assert_eq!(
            timeouts
                .limit(Instant::now() + Duration::from_millis(200), slow)
                .await,
            Some(()),
            "work that ends before its deadline is not cut short by an older deadline"
        );
    }

    #[test]
    fn version_from_json_pointer() {
        assert_eq!(
            version_from_json(br#"{"version":"3"}"#, "/version").as_deref(),
            Some("3")
        );
        assert_eq!(
            version_from_json(br#"{"m":{"v":4}}"#, "/m/v").as_deref(),
            Some("4")
        );
        assert_eq!(version_from_json(br#"{"version":null}"#, "/version"), None);
        assert_eq!(version_from_json(b"not json", "/version"), None);
        assert_eq!(version_from_json(br#"{"version":""}"#, "/version"), None);
    }
}
