//! Telemetry delivery: one task per subscriber POSTs buffered records as JSON arrays to the
//! subscriber's listener, on `maxItems`, `maxBytes` or `timeoutMs`. Emitting appends to the
//! subscriber's buffer and never waits, so delivery can never block an invocation.
//!
//! Records produced during Init before a subscription (e.g. `platform.initStart`) are kept and
//! replayed to each subscriber that subscribes during Init, as Lambda does.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{Notify, oneshot};
use tokio::time::Instant;

use super::telemetry::{Buffering, Category, Subscription, TelemetryEvent};

/// Counters of deliveries, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    /// Batches the listener accepted (2xx).
    pub batches_accepted: AtomicU64,
    /// Records in accepted batches.
    pub records_accepted: AtomicU64,
    /// Batches the listener rejected with 4xx (not retried).
    pub batches_rejected: AtomicU64,
    /// Batches given up after retries (listener absent or 5xx).
    pub batches_failed: AtomicU64,
}

impl DeliveryStats {
    /// (accepted, rejected, failed) batches.
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.batches_accepted.load(Ordering::Relaxed),
            self.batches_rejected.load(Ordering::Relaxed),
            self.batches_failed.load(Ordering::Relaxed),
        )
    }
}

/// What waits for one subscriber's delivery task.
#[derive(Default)]
struct Pending {
    records: Vec<Arc<TelemetryEvent>>,
    bytes: usize,
    /// When the oldest buffered record arrived (the batch's `timeoutMs` runs from it).
    first_at: Option<Instant>,
    /// `flush` callers waiting for the buffer to be POSTed.
    flushes: Vec<oneshot::Sender<()>>,
    /// The hub is gone: deliver what is left and stop.
    closed: bool,
}

/// One subscriber's buffer. Emitting appends under the lock and wakes the delivery task only
/// when it has something new to decide (a first record to time, a full batch, a flush, the end),
/// not once per record: a record costs the invocation that emits it no task wake-up.
struct Queue {
    types: Vec<Category>,
    buffering: Buffering,
    pending: Mutex<Pending>,
    wake: Notify,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, event: Arc<TelemetryEvent>) {
        let wake = {
            let mut p = self.lock();
            let first = p.records.is_empty();
            if first {
                p.first_at = Some(Instant::now());
            }
            p.bytes += event.json.len() + 1;
            p.records.push(event);
            first || self.is_full(&p)
        };
        if wake {
            self.wake.notify_one();
        }
    }

    fn is_full(&self, p: &Pending) -> bool {
        p.records.len() >= self.buffering.max_items || p.bytes >= self.buffering.max_bytes
    }
}

#[derive(Default)]
struct HubInner {
    backlog: Option<Vec<Arc<TelemetryEvent>>>,
    subscribers: Vec<Arc<Queue>>,
}

/// Fans records out to the subscribers of one environment.
pub struct TelemetryHub {
    inner: Mutex<HubInner>,
    stats: Arc<DeliveryStats>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl std::fmt::Debug for TelemetryHub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelemetryHub")
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

/// Most records kept for replay during Init.
const BACKLOG_LIMIT: usize = 10_000;

/// An idle connection to a subscriber is closed after this long.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

impl TelemetryHub {
    /// A hub in Init (keeping a backlog), reporting into `stats`.
    pub fn new(stats: Arc<DeliveryStats>) -> Self {
        // Keep-alive: a batch reuses the subscriber's connection instead of a TCP handshake
        // per POST; no Nagle delay on the small batches.
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE_TIMEOUT)
            .pool_max_idle_per_host(1)
            .build(connector);
        Self {
            inner: Mutex::new(HubInner {
                backlog: Some(Vec::new()),
                subscribers: Vec::new(),
            }),
            stats,
            client,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HubInner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// [`TelemetryHub::emit`] for a record built only if someone takes `category` (a
    /// subscriber, or the Init backlog): invocations without subscribers serialise nothing.
    pub fn emit_with(&self, category: Category, make: impl FnOnce() -> TelemetryEvent) {
        let wanted = {
            let inner = self.lock();
            inner.backlog.is_some()
                || inner
                    .subscribers
                    .iter()
                    .any(|s| s.types.contains(&category))
        };
        if wanted {
            self.emit(make());
        }
    }

    /// Queues `event` for every subscriber of its category (and the Init backlog). Never waits
    /// for a delivery.
    pub fn emit(&self, event: TelemetryEvent) {
        let event = Arc::new(event);
        let mut inner = self.lock();
        if let Some(backlog) = inner.backlog.as_mut()
            && backlog.len() < BACKLOG_LIMIT
        {
            backlog.push(event.clone());
        }
        for q in inner
            .subscribers
            .iter()
            .filter(|q| q.types.contains(&event.category))
        {
            q.push(event.clone());
        }
    }

    /// Adds a subscriber and starts its delivery task; replays the Init backlog.
    pub fn subscribe(&self, sub: Subscription) {
        let queue = Arc::new(Queue {
            types: sub.types.clone(),
            buffering: sub.buffering,
            pending: Mutex::new(Pending::default()),
            wake: Notify::new(),
        });
        let mut inner = self.lock();
        for e in inner.backlog.iter().flatten() {
            if sub.types.contains(&e.category) {
                queue.push(e.clone());
            }
        }
        inner.subscribers.push(queue.clone());
        tokio::spawn(deliver(sub, queue, self.client.clone(), self.stats.clone()));
    }

    /// Init is over: stop keeping the backlog.
    pub fn end_init(&self) {
        self.lock().backlog = None;
    }

    /// Delivers everything buffered now and waits (up to `limit`) until it was POSTed.
    pub async fn flush(&self, limit: Duration) {
        let waits: Vec<_> = self
            .lock()
            .subscribers
            .iter()
            .map(|q| {
                let (tx, rx) = oneshot::channel();
                q.lock().flushes.push(tx);
                q.wake.notify_one();
                rx
            })
            .collect();
        let all = async {
            for w in waits {
                let _ = w.await;
            }
        };
        let _ = tokio::time::timeout(limit, all).await;
    }
}

impl Drop for TelemetryHub {
    /// Each delivery task POSTs what is left, then ends.
    fn drop(&mut self) {
        for q in &self.lock().subscribers {
            q.lock().closed = true;
            q.wake.notify_one();
        }
    }
}

/// What the delivery task should do next.
enum Next {
    /// POST these records, then answer these flushes; stop afterwards if `last`.
    Post {
        records: Vec<Arc<TelemetryEvent>>,
        flushes: Vec<oneshot::Sender<()>>,
        last: bool,
    },
    /// Nothing due: wait for a wake-up or for the batch's deadline.
    Wait(Option<Instant>),
}

fn next_step(queue: &Queue) -> Next {
    let mut p = queue.lock();
    let due = p
        .first_at
        .is_some_and(|t| Instant::now() >= t + queue.buffering.timeout);
    if !(p.closed || !p.flushes.is_empty() || queue.is_full(&p) || due) {
        return Next::Wait(p.first_at.map(|t| t + queue.buffering.timeout));
    }
    // One batch: up to maxItems records, ending with the one that reaches maxBytes.
    let mut count = 0;
    let mut bytes = 0;
    for r in &p.records {
        if count == queue.buffering.max_items || bytes >= queue.buffering.max_bytes {
            break;
        }
        count += 1;
        bytes += r.json.len() + 1;
    }
    let records: Vec<_> = p.records.drain(..count).collect();
    p.bytes -= bytes;
    let drained = p.records.is_empty();
    // What is left waits its own timeout, as if it had arrived now.
    p.first_at = (!drained).then(Instant::now);
    Next::Post {
        records,
        // A flush is answered once everything buffered before it went out.
        flushes: if drained {
            std::mem::take(&mut p.flushes)
        } else {
            Vec::new()
        },
        last: p.closed && drained,
    }
}

async fn deliver(
    sub: Subscription,
    queue: Arc<Queue>,
    client: Client<HttpConnector, Full<Bytes>>,
    stats: Arc<DeliveryStats>,
) {
    loop {
        match next_step(&queue) {
            Next::Post {
                records,
                flushes,
                last,
            } => {
                post(&sub, records, &client, &stats).await;
                for f in flushes {
                    let _ = f.send(());
                }
                if last {
                    return;
                }
            }
            Next::Wait(deadline) => {
                tokio::select! {
                    () = queue.wake.notified() => {}
                    () = sleep_until_opt(deadline) => {}
                }
            }
        }
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

/// POSTs the batch (if any), retrying connection failures and 5xx with backoff.
async fn post(
    sub: &Subscription,
    records: Vec<Arc<TelemetryEvent>>,
    client: &Client<HttpConnector, Full<Bytes>>,
    stats: &DeliveryStats,
) {
    if records.is_empty() {
        return;
    }
    let mut body =
        String::with_capacity(records.iter().map(|r| r.json.len() + 1).sum::<usize>() + 2);
    body.push('[');
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(&r.json);
    }
    body.push(']');
    let body = Bytes::from(body);
    let uri = format!("http://{}{}", sub.addr, sub.path);
    let mut backoff = Duration::from_millis(10);
    for attempt in 0..8 {
        let req = hyper::Request::post(&uri)
            .header("content-type", "application/json")
            .body(Full::new(body.clone()));
        let Ok(req) = req else { break };
        match client.request(req).await {
            Ok(resp) if resp.status().is_success() => {
                stats.batches_accepted.fetch_add(1, Ordering::Relaxed);
                stats
                    .records_accepted
                    .fetch_add(records.len() as u64, Ordering::Relaxed);
                return;
            }
            Ok(resp) if resp.status().is_client_error() => {
                tracing::warn!(status = %resp.status(), %uri, "telemetry batch rejected");
                stats.batches_rejected.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Ok(resp) => tracing::debug!(status = %resp.status(), attempt, "telemetry POST failed"),
            Err(e) => tracing::debug!(error = %e, attempt, "telemetry POST failed"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_millis(500));
    }
    stats.batches_failed.fetch_add(1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::super::telemetry::{Buffering, Category, Subscription, log_line};
    use super::*;
    use http_body_util::BodyExt;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;
    use tokio::sync::mpsc;

    /// A listener on 127.0.0.1:0 that reports each batch (record count) and answers `status`.
    async fn listener(status: u16) -> (u16, mpsc::UnboundedReceiver<Vec<serde_json::Value>>) {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = l.local_addr().unwrap().port();
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            loop {
                let (s, _) = l.accept().await.unwrap();
                let tx = tx.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let batch: Vec<serde_json::Value> =
                                serde_json::from_slice(&body).unwrap();
                            let _ = tx.send(batch);
                            hyper::Response::builder()
                                .status(status)
                                .body(Full::new(Bytes::new()))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        (port, rx)
    }

    /// A listener answering 200 that counts the TCP connections it accepted.
    async fn counting_listener() -> (u16, Arc<AtomicU64>, mpsc::UnboundedReceiver<usize>) {
        let l = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap();
        let port = l.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicU64::new(0));
        let (tx, rx) = mpsc::unbounded_channel();
        let count = accepted.clone();
        tokio::spawn(async move {
            loop {
                let (s, _) = l.accept().await.unwrap();
                count.fetch_add(1, Ordering::Relaxed);
                let tx = tx.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let tx = tx.clone();
                        async move {
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let batch: Vec<serde_json::Value> =
                                serde_json::from_slice(&body).unwrap();
                            let _ = tx.send(batch.len());
                            hyper::Response::builder().body(Full::new(Bytes::new()))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(s), svc)
                        .await;
                });
            }
        });
        (port, accepted, rx)
    }

    #[tokio::test]
    async fn batches_reuse_one_keep_alive_connection() {
        let (port, accepted, mut rx) = counting_listener().await;
        let stats = Arc::new(DeliveryStats::default());
        let hub = TelemetryHub::new(stats.clone());
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Function]));
        for i in 0..5 {
            hub.emit(log_line(Category::Function, &format!("batch {i}")));
            hub.flush(Duration::from_secs(5)).await;
            assert_eq!(rx.recv().await, Some(1));
        }
        assert_eq!(stats.snapshot(), (5, 0, 0));
        assert_eq!(
            accepted.load(Ordering::Relaxed),
            1,
            "five batches, one connection"
        );
    }

    #[tokio::test]
    async fn records_nobody_takes_are_never_built() {
        let hub = TelemetryHub::new(Arc::default());
        let mut built = 0;
        hub.emit_with(Category::Platform, || {
            built += 1;
            log_line(Category::Platform, "kept for replay during Init")
        });
        assert_eq!(built, 1, "Init keeps a backlog");
        hub.end_init();
        hub.emit_with(Category::Platform, || {
            built += 1;
            log_line(Category::Platform, "nobody listens")
        });
        assert_eq!(built, 1, "no subscriber after Init: not built");
        let (port, _accepted, mut rx) = counting_listener().await;
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Function]));
        hub.emit_with(Category::Platform, || {
            built += 1;
            log_line(Category::Platform, "not subscribed")
        });
        hub.emit_with(Category::Function, || {
            built += 1;
            log_line(Category::Function, "subscribed")
        });
        assert_eq!(built, 2, "only the subscribed category is built");
        hub.flush(Duration::from_secs(5)).await;
        assert_eq!(rx.recv().await, Some(1));
    }

    fn sub(port: u16, buffering: Buffering, types: Vec<Category>) -> Subscription {
        Subscription {
            type_names: vec![],
            types,
            buffering,
            addr: ([127, 0, 0, 1], port).into(),
            path: "/".into(),
        }
    }

    fn slow_timeout() -> Buffering {
        Buffering {
            timeout: Duration::from_secs(30),
            ..Buffering::default()
        }
    }

    #[tokio::test]
    async fn batches_flush_after_timeout_ms() {
        let (port, mut rx) = listener(200).await;
        let hub = TelemetryHub::new(Arc::default());
        let b = Buffering {
            timeout: Duration::from_millis(25),
            ..Buffering::default()
        };
        hub.subscribe(sub(port, b, vec![Category::Function]));
        for i in 0..3 {
            hub.emit(log_line(Category::Function, &format!("line {i}")));
        }
        let batch = rx.recv().await.unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch[2]["record"], "line 2");
        // the listener reports before it answers; the count follows the answer
        let deadline = Instant::now() + Duration::from_secs(5);
        while hub.stats.snapshot() != (1, 0, 0) && Instant::now() < deadline {
            tokio::task::yield_now().await;
        }
        assert_eq!(hub.stats.snapshot(), (1, 0, 0));
    }

    #[tokio::test]
    async fn batches_are_cut_at_max_items() {
        let (port, mut rx) = listener(200).await;
        let hub = TelemetryHub::new(Arc::default());
        let b = Buffering {
            max_items: 1000,
            ..slow_timeout()
        };
        hub.subscribe(sub(port, b, vec![Category::Function]));
        for i in 0..2500 {
            hub.emit(log_line(Category::Function, &i.to_string()));
        }
        assert_eq!(rx.recv().await.unwrap().len(), 1000);
        assert_eq!(rx.recv().await.unwrap().len(), 1000);
        hub.flush(Duration::from_secs(5)).await;
        let last = rx.recv().await.unwrap();
        assert_eq!(last.len(), 500);
        assert_eq!(last[499]["record"], "2499");
    }

    #[tokio::test]
    async fn dropping_the_hub_delivers_what_is_buffered() {
        let (port, mut rx) = listener(200).await;
        let hub = TelemetryHub::new(Arc::default());
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Function]));
        for i in 0..3 {
            hub.emit(log_line(Category::Function, &i.to_string()));
        }
        drop(hub);
        let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("delivered before the batch timeout")
            .unwrap();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch[2]["record"], "2");
    }

    #[tokio::test]
    async fn batches_are_cut_at_max_bytes() {
        let (port, mut rx) = listener(200).await;
        let hub = TelemetryHub::new(Arc::default());
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Function]));
        let line = "x".repeat(1000);
        for _ in 0..300 {
            hub.emit(log_line(Category::Function, &line));
        }
        let first = rx.recv().await.unwrap();
        let bytes: usize = first.iter().map(|e| e.to_string().len() + 1).sum();
        assert!(
            bytes >= 262_144 && first.len() < 300,
            "{} records, {bytes} bytes",
            first.len()
        );
    }

    #[tokio::test]
    async fn init_backlog_is_replayed_only_during_init_and_types_filter() {
        let (port, mut rx) = listener(200).await;
        let hub = TelemetryHub::new(Arc::default());
        hub.emit(super::super::telemetry::init_start());
        hub.emit(log_line(Category::Function, "early"));
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Platform]));
        hub.end_init();
        let (port2, mut rx2) = listener(200).await;
        hub.subscribe(sub(
            port2,
            slow_timeout(),
            vec![Category::Platform, Category::Function],
        ));
        hub.emit(log_line(Category::Function, "late"));
        hub.flush(Duration::from_secs(5)).await;
        let first = rx.recv().await.unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(first[0]["type"], "platform.initStart");
        let second = rx2.recv().await.unwrap();
        assert_eq!(second.len(), 1, "no replay after Init: {second:?}");
        assert_eq!(second[0]["record"], "late");
    }

    #[tokio::test]
    async fn rejected_batches_are_counted_not_retried() {
        let (port, mut rx) = listener(400).await;
        let stats = Arc::new(DeliveryStats::default());
        let hub = TelemetryHub::new(stats.clone());
        hub.subscribe(sub(port, slow_timeout(), vec![Category::Function]));
        hub.emit(log_line(Category::Function, "x"));
        hub.flush(Duration::from_secs(5)).await;
        assert_eq!(rx.recv().await.unwrap().len(), 1);
        assert_eq!(stats.snapshot(), (0, 1, 0));
        assert!(rx.try_recv().is_err(), "a 4xx is not retried");
    }
}
