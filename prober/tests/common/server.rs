//! A real hyper 1 server on `127.0.0.1:0` playing a Lambda alias during a rollout: each response
//! is served by the old or the new version, drawn from a [`WeightPlan`] with a seeded ChaCha RNG,
//! and tagged per the wire contract. Handlers record what they served as ground truth.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::plan::WeightPlan;

/// The header of the wire contract that names the version.
pub const VERSION_HEADER: &str = "x-rollcall-version";
/// The header of the wire contract that marks an environment's first invocation.
pub const COLD_HEADER: &str = "x-rollcall-cold";

/// How the server misbehaves at the connection level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    /// Serve HTTP normally.
    #[default]
    None,
    /// Accept, read the request, then reset the connection (RST, no response).
    Reset,
    /// Accept, read the request, never answer; hold the connection until the client leaves.
    Hang,
}

/// What the test server does.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The version traffic shifts away from.
    pub old_version: String,
    /// The version traffic shifts to.
    pub new_version: String,
    /// Weight of the new version over time since the deployment start.
    pub plan: WeightPlan,
    /// Time from the server's start to the deployment's start.
    pub deployment_delay: Duration,
    /// Seed of the version/error/untagged draws.
    pub seed: u64,
    /// Mark the first tagged response of each version with `x-rollcall-cold: 1`.
    pub cold_marks: bool,
    /// Share of responses sent without any version.
    pub untagged_share: f64,
    /// Share of the new version's responses answered with a 503.
    pub new_error_share: f64,
    /// Report the version as `{"version": "..."}` in the body instead of the header.
    pub version_in_body: bool,
    /// Added latency of each version's responses.
    pub latency: BTreeMap<String, Duration>,
    /// Connection-level fault mode.
    pub fault: Fault,
    /// The response header that names the version.
    pub version_header: &'static str,
    /// Tag every response with a version never used before (`<old_version>-<n>`): a server
    /// that sends endless distinct values.
    pub distinct_versions: bool,
    /// Speak HTTP/1.1 only (no HTTP/2 with prior knowledge).
    pub http1_only: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            old_version: "7".into(),
            new_version: "8".into(),
            plan: WeightPlan::old_only(),
            deployment_delay: Duration::ZERO,
            seed: 42,
            cold_marks: false,
            untagged_share: 0.0,
            new_error_share: 0.0,
            version_in_body: false,
            latency: BTreeMap::new(),
            fault: Fault::None,
            version_header: VERSION_HEADER,
            distinct_versions: false,
            http1_only: false,
        }
    }
}

/// What one version served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Served {
    /// Responses that carried this version.
    pub tagged: u64,
    /// Responses this version served without saying so.
    pub untagged: u64,
    /// Tagged 5xx responses.
    pub tagged_errors: u64,
    /// All 5xx responses.
    pub errors: u64,
    /// Responses marked cold.
    pub cold: u64,
}

/// Everything the server did, to compare with what the prober observed.
#[derive(Debug, Clone, Default)]
pub struct GroundTruth {
    /// Per version label.
    pub by_version: BTreeMap<String, Served>,
    /// HTTP requests received (a handler started).
    pub requests: u64,
    /// HTTP responses returned.
    pub responses: u64,
    /// Connections accepted.
    pub connections: u64,
    /// Connections reset on purpose ([`Fault::Reset`]).
    pub connections_reset: u64,
    /// Connections held without an answer ([`Fault::Hang`]).
    pub connections_hung: u64,
    /// Request methods seen.
    pub methods: BTreeSet<String>,
    /// Request bodies seen (distinct).
    pub bodies: BTreeSet<Vec<u8>>,
    /// Request header values seen, by lower-case name (distinct).
    pub headers: BTreeMap<String, BTreeSet<String>>,
    /// HTTP versions of the requests seen, e.g. `HTTP/1.1`, `HTTP/2.0`.
    pub http_versions: BTreeSet<String>,
    /// Request targets seen (path and query), distinct.
    pub paths: BTreeSet<String>,
}

impl GroundTruth {
    /// Tagged responses of `version`.
    pub fn tagged(&self, version: &str) -> u64 {
        self.by_version.get(version).map_or(0, |s| s.tagged)
    }

    /// Untagged responses over all versions.
    pub fn untagged(&self) -> u64 {
        self.by_version.values().map(|s| s.untagged).sum()
    }
}

/// One draw: which version serves, and how.
#[derive(Debug)]
struct Draw {
    version: String,
    tagged: bool,
    error: bool,
    cold: bool,
}

#[derive(Debug)]
struct Shared {
    config: ServerConfig,
    deployment_start: Instant,
    rng: Mutex<ChaCha8Rng>,
    truth: Mutex<GroundTruth>,
    cold_seen: Mutex<BTreeSet<String>>,
    served: watch::Sender<u64>,
    received: watch::Sender<u64>,
}

impl Shared {
    /// Seconds since the deployment start (negative before it).
    fn deployment_secs(&self) -> f64 {
        let now = Instant::now();
        match now.checked_duration_since(self.deployment_start) {
            Some(d) => d.as_secs_f64(),
            None => -(self.deployment_start - now).as_secs_f64(),
        }
    }

    fn draw(&self) -> Draw {
        let weight = self.config.plan.weight(self.deployment_secs());
        let (is_new, untagged, error) = {
            let mut rng = self.rng.lock().unwrap();
            let is_new = rng.random::<f64>() < weight;
            let untagged = rng.random::<f64>() < self.config.untagged_share;
            let error = rng.random::<f64>() < self.config.new_error_share;
            (is_new, untagged, error)
        };
        let version = if self.config.distinct_versions {
            let n = self.truth.lock().unwrap().requests;
            format!("{}-{n}", self.config.old_version)
        } else if is_new {
            self.config.new_version.clone()
        } else {
            self.config.old_version.clone()
        };
        let tagged = !untagged;
        let cold = self.config.cold_marks
            && tagged
            && self.cold_seen.lock().unwrap().insert(version.clone());
        Draw {
            version,
            tagged,
            error: is_new && error,
            cold,
        }
    }

    fn record_request(&self, req: &Request<Incoming>) {
        let mut truth = self.truth.lock().unwrap();
        truth.requests += 1;
        self.received.send_replace(truth.requests);
        truth.methods.insert(req.method().to_string());
        truth.http_versions.insert(format!("{:?}", req.version()));
        if let Some(pq) = req.uri().path_and_query() {
            truth.paths.insert(pq.as_str().to_owned());
        }
        for (name, value) in req.headers() {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            truth
                .headers
                .entry(name.as_str().to_owned())
                .or_default()
                .insert(value);
        }
    }

    fn record_response(&self, draw: &Draw) {
        let total = {
            let mut truth = self.truth.lock().unwrap();
            let served = truth.by_version.entry(draw.version.clone()).or_default();
            if draw.tagged {
                served.tagged += 1;
                served.tagged_errors += u64::from(draw.error);
            } else {
                served.untagged += 1;
            }
            served.errors += u64::from(draw.error);
            served.cold += u64::from(draw.cold);
            truth.responses += 1;
            truth.responses
        };
        self.served.send_replace(total);
    }
}

/// A running test server; stopped when dropped.
#[derive(Debug)]
pub struct TestServer {
    /// The bound loopback address.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    deployment_start_unix_ms: f64,
    task: JoinHandle<()>,
}

impl TestServer {
    /// Binds `127.0.0.1:0` and serves with `config` until dropped.
    pub async fn start(config: ServerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local_addr");
        let (now, now_unix) = (Instant::now(), SystemTime::now());
        let unix_ms = now_unix.duration_since(UNIX_EPOCH).unwrap().as_secs_f64() * 1000.0;
        let deployment_start_unix_ms = unix_ms + config.deployment_delay.as_secs_f64() * 1000.0;
        let shared = Arc::new(Shared {
            deployment_start: now + config.deployment_delay,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            config,
            truth: Mutex::new(GroundTruth::default()),
            cold_seen: Mutex::new(BTreeSet::new()),
            served: watch::Sender::new(0),
            received: watch::Sender::new(0),
        });
        let task = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Self {
            addr,
            shared,
            deployment_start_unix_ms,
            task,
        }
    }

    /// `http://127.0.0.1:PORT/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// A snapshot of what was served so far.
    pub fn truth(&self) -> GroundTruth {
        self.shared.truth.lock().unwrap().clone()
    }

    /// The deployment's start, Unix epoch milliseconds (same clock as `report.started_at_unix_ms`).
    pub fn deployment_start_unix_ms(&self) -> f64 {
        self.deployment_start_unix_ms
    }

    /// Resolves once at least `n` responses have been served.
    pub async fn served_at_least(&self, n: u64) {
        let mut rx = self.shared.served.subscribe();
        rx.wait_for(|&served| served >= n)
            .await
            .expect("server alive");
    }

    /// A receiver of the number of requests received so far (handlers started).
    pub fn received_watch(&self) -> watch::Receiver<u64> {
        self.shared.received.subscribe()
    }

    /// A receiver of the number of responses served so far, to wait on from a spawned task.
    pub fn served_watch(&self) -> watch::Receiver<u64> {
        self.shared.served.subscribe()
    }

    /// The weight of the new version the plan gives at `t` seconds since the deployment start.
    pub fn weight_at(&self, t: f64) -> f64 {
        self.shared.config.plan.weight(t)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    // Owning the connections here means aborting this task aborts them all.
    let mut connections = JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        while connections.try_join_next().is_some() {}
        shared.truth.lock().unwrap().connections += 1;
        let shared = Arc::clone(&shared);
        match shared.config.fault {
            Fault::None => connections.spawn(serve_http(stream, shared)),
            Fault::Reset => connections.spawn(reset(stream, shared)),
            Fault::Hang => connections.spawn(hang(stream, shared)),
        };
    }
}

async fn serve_http(stream: TcpStream, shared: Arc<Shared>) {
    let _ = stream.set_nodelay(true);
    let http1_only = shared.config.http1_only;
    let service = service_fn(move |req| handle(Arc::clone(&shared), req));
    if http1_only {
        let _ = hyper::server::conn::http1::Builder::new()
            .serve_connection(TokioIo::new(stream), service)
            .await;
    } else {
        let _ = auto::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(stream), service)
            .await;
    }
}

async fn reset(mut stream: TcpStream, shared: Arc<Shared>) {
    let mut buf = [0u8; 4096];
    let _ = stream.read(&mut buf).await;
    let _ = stream.set_zero_linger();
    shared.truth.lock().unwrap().connections_reset += 1;
    drop(stream);
}

async fn hang(mut stream: TcpStream, shared: Arc<Shared>) {
    shared.truth.lock().unwrap().connections_hung += 1;
    let mut buf = [0u8; 4096];
    // Read and discard until the client gives up; never answer.
    while matches!(stream.read(&mut buf).await, Ok(n) if n > 0) {}
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    shared.record_request(&req);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if !body.is_empty() {
        shared.truth.lock().unwrap().bodies.insert(body.to_vec());
    }
    let draw = shared.draw();
    if let Some(delay) = shared.config.latency.get(&draw.version) {
        // Simulated service time of this version, not synchronisation.
        tokio::time::sleep(*delay).await;
    }
    let status = if draw.error {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let mut builder = Response::builder().status(status);
    let body = if shared.config.version_in_body {
        if draw.tagged {
            serde_json::json!({"version": draw.version, "message": "hello"}).to_string()
        } else {
            r#"{"message":"hello"}"#.to_owned()
        }
    } else {
        if draw.tagged {
            builder = builder.header(shared.config.version_header, draw.version.as_str());
        }
        "hello".to_owned()
    };
    if draw.cold {
        builder = builder.header(COLD_HEADER, "1");
    }
    let response = builder
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("valid response");
    shared.record_response(&draw);
    Ok(response)
}
