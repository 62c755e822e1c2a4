//! The Telemetry API subscriber: a listener bound before subscribing, the subscription request,
//! and the pure function that turns platform records into metrics (timeouts, init duration,
//! memory: what the proxy cannot see).
//!
//! The listener is our own rather than `lambda-extension`'s: that one binds inside its accept
//! loop (refusing deliveries between two connections), panics if the port is taken, and answers
//! 400 to a whole batch when one record type is unknown (LAMBDA-FACTS §4). Ours parses leniently.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use http_body_util::{LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use protocol::telemetry::{
    InitPhase, MAX_MAX_BYTES, SANDBOX_HOST, Status, SubscribeRequest, TelemetryEvent,
    TelemetryRecord, TelemetryType,
};
use tokio::net::TcpListener;
use tracing::{debug, warn};

use crate::endpoint::RuntimeApi;
use crate::listen::{self, Acceptor};
use crate::metrics::Aggregate;
use crate::proxy::Proxy;
use crate::recorder::Recorder;

/// What the telemetry side remembers between batches.
#[derive(Debug, Default, Clone, Copy)]
pub struct TelemetryState {
    /// `platform.initReport` already gave the init duration (then `platform.report`'s
    /// `initDurationMs` is not counted again).
    pub init_seen: bool,
    /// A `platform.report` was counted as an invocation (the next ones are warm).
    pub counted_any: bool,
}

/// Applies a batch of telemetry events to the aggregate for `version`. With
/// `count_invocations`, each `platform.report` (one per invocation, emitted when it ended)
/// counts as an invocation, the first one as the cold start: the fallback when neither the
/// proxy nor INVOKE events see invocations. Returns the number of invocations so counted.
pub fn apply_events(
    aggregate: &mut Aggregate,
    version: &str,
    events: &[TelemetryEvent],
    state: &mut TelemetryState,
    count_invocations: bool,
) -> u64 {
    let mut counted = 0;
    for event in events {
        if let (TelemetryRecord::Report(r), true) = (&event.record, count_invocations) {
            aggregate.invocation(version, !state.counted_any, &r.request_id);
            state.counted_any = true;
            counted += 1;
        }
        match &event.record {
            TelemetryRecord::InitReport(r) if r.phase == InitPhase::Init => {
                aggregate.init_duration(version, r.metrics.duration_ms);
                state.init_seen = true;
            }
            TelemetryRecord::RuntimeDone(r) if r.status == Status::Timeout => {
                aggregate.timeout(version, Some(&r.request_id));
            }
            TelemetryRecord::Report(r) => {
                aggregate.max_memory(version, r.metrics.max_memory_used_mb);
                if r.status == Status::Timeout {
                    aggregate.timeout(version, Some(&r.request_id));
                }
                if let Some(ms) = r.metrics.init_duration_ms
                    && !state.init_seen
                {
                    aggregate.init_duration(version, ms);
                    state.init_seen = true;
                }
            }
            _ => {}
        }
    }
    counted
}

/// The telemetry listener's state.
#[derive(Debug)]
pub struct Listener {
    recorder: Option<Arc<Recorder>>,
    version: Arc<OnceLock<String>>,
    proxy: Option<Arc<Proxy>>,
    state: Mutex<TelemetryState>,
    bypass_reported: AtomicBool,
}

impl Listener {
    /// A listener feeding `recorder` (when metrics are on) for the environment's `version`.
    /// With `proxy` (the extension registered for SHUTDOWN only), invocations are counted from
    /// `platform.report` as long as the proxy has not handed the runtime a single event: the
    /// runtime bypasses the proxy (no `AWS_LAMBDA_EXEC_WRAPPER`, or the function ships its own
    /// `bootstrap`), which is logged once. (A report exists only once the runtime took its
    /// event, so a proxy in use has marked itself by then.)
    pub fn new(
        recorder: Option<Arc<Recorder>>,
        version: Arc<OnceLock<String>>,
        proxy: Option<Arc<Proxy>>,
    ) -> Arc<Self> {
        Arc::new(Self {
            recorder,
            version,
            proxy,
            state: Mutex::new(TelemetryState::default()),
            bypass_reported: AtomicBool::new(false),
        })
    }

    /// Serves deliveries from `listener` until the task is dropped: at most
    /// [`MAX_CONNECTIONS`] at a time, each closed if a request's headers do not arrive within
    /// [`crate::listen::HEADER_READ_TIMEOUT`].
    pub async fn serve(self: Arc<Self>, listener: TcpListener) {
        let mut acceptor = Acceptor::new(listener, "telemetry", MAX_CONNECTIONS);
        loop {
            let (stream, _, permit) = acceptor.accept().await;
            let me = self.clone();
            tokio::spawn(async move {
                let _slot = permit;
                let service = hyper::service::service_fn(move |req| me.clone().handle(req));
                let _ = listen::http1(listen::HEADER_READ_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
    ) -> Result<Response<Full<Bytes>>, Infallible> {
        // Refused unread when larger than any batch the Telemetry API sends.
        let declared = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_DELIVERY_BYTES as u64) {
            warn!(
                bytes = declared,
                limit = MAX_DELIVERY_BYTES,
                "telemetry delivery larger than any Telemetry API batch; refused unread"
            );
            return Ok(status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        let body = match Limited::new(req.into_body(), MAX_DELIVERY_BYTES)
            .collect()
            .await
        {
            Ok(b) => b.to_bytes(),
            Err(e) if e.is::<LengthLimitError>() => {
                warn!(
                    limit = MAX_DELIVERY_BYTES,
                    "telemetry delivery larger than any Telemetry API batch; refused"
                );
                return Ok(status(StatusCode::PAYLOAD_TOO_LARGE));
            }
            Err(e) => {
                debug!(error = %e, "telemetry delivery aborted");
                return Ok(status(StatusCode::BAD_REQUEST));
            }
        };
        let events = match read_batch(&body) {
            Ok(events) => events,
            Err(e) => {
                warn!(error = %e, "telemetry delivery is not a batch of telemetry records; ignored");
                return Ok(status(StatusCode::BAD_REQUEST));
            }
        };
        let bypassed = self
            .proxy
            .as_ref()
            .is_some_and(|p| p.counts_invocations() && !p.served_any());
        if let (Some(r), Some(v)) = (&self.recorder, self.version.get()) {
            let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            let counted = apply_events(&mut r.lock(), v, &events, &mut state, bypassed);
            if counted > 0 && !self.bypass_reported.swap(true, Ordering::Relaxed) {
                warn!(
                    "the runtime does not use the Runtime API proxy: responses are not tagged and latency and errors are not measured (invocations are counted from telemetry). Managed runtimes: set AWS_LAMBDA_EXEC_WRAPPER=/opt/rollcall-wrapper; OS-only runtimes: ship the binary under the Handler name, not as bootstrap"
                );
            }
        }
        Ok(status(StatusCode::OK))
    }
}

/// Largest delivery accepted: a batch may hold up to twice the subscription's `maxBytes`
/// (at most [`MAX_MAX_BYTES`]) plus metadata (Telemetry API; LAMBDA-FACTS §3). Larger bodies
/// are refused with 413 without being read whole.
pub const MAX_DELIVERY_BYTES: usize = 2 * MAX_MAX_BYTES as usize + 256 * 1024;

/// Most connections the telemetry listener serves at once (Lambda delivers one batch at a time).
pub const MAX_CONNECTIONS: usize = 16;

/// Why a delivery is not a batch of telemetry records.
#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    /// Not a JSON array.
    #[error("not a JSON array: {0}")]
    NotAnArray(#[from] serde_json::Error),
    /// An element is not a record envelope.
    #[error(
        "element {index} is not a telemetry record (an object with string `time` and `type` and a `record`)"
    )]
    NotARecord {
        /// Its position in the array.
        index: usize,
    },
}

/// Reads a delivery: a JSON array whose every element is a record envelope
/// (`{"time": .., "type": "platform.*" | "function" | "extension", "record": ..}`); anything
/// else is refused whole. Envelopes of record types not known here, or with members of an
/// unexpected shape, are skipped one by one (as `parse_batch_lenient` does).
pub fn read_batch(body: &[u8]) -> Result<Vec<TelemetryEvent>, BatchError> {
    let values: Vec<serde_json::Value> = serde_json::from_slice(body)?;
    for (index, v) in values.iter().enumerate() {
        let text = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        let plausible = text("time").is_some_and(|t| !t.is_empty())
            && text("type")
                .is_some_and(|t| t.starts_with("platform.") || t == "function" || t == "extension")
            && v.get("record").is_some();
        if !plausible {
            return Err(BatchError::NotARecord { index });
        }
    }
    Ok(values
        .into_iter()
        .filter_map(|v| {
            serde_json::from_value(v)
                .map_err(|err| debug!(error = %err, "telemetry record skipped"))
                .ok()
        })
        .collect())
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::new()));
    *res.status_mut() = code;
    res
}

/// Binds the telemetry listener where telemetry comes from: the address(es) the sandbox's
/// `sandbox.localdomain` resolves to (Lambda delivers there; AWS's sample extensions bind that
/// name too), or loopback where the name does not resolve (the lab, AWS's runtime interface
/// emulator, which posts to 127.0.0.1). Never all interfaces: the listener has no other check
/// of who delivers.
pub async fn bind(port: u16) -> std::io::Result<TcpListener> {
    // /etc/hosts answers at once in the sandbox; a resolver that hangs must not delay Init.
    let resolved = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        tokio::net::lookup_host((SANDBOX_HOST, port)),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .map(Iterator::collect::<Vec<SocketAddr>>)
    .unwrap_or_default();
    for addr in &resolved {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                debug!(%addr, "telemetry listener bound to {SANDBOX_HOST}");
                return Ok(listener);
            }
            Err(e) => debug!(%addr, error = %e, "cannot bind {SANDBOX_HOST}'s address"),
        }
    }
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}

/// Why the subscription failed.
#[derive(Debug, thiserror::Error)]
pub enum SubscribeError {
    /// The request could not be sent.
    #[error("telemetry subscription request failed: {0}")]
    Request(String),
    /// The Telemetry API refused it, by status or (with a 2xx status) by an error body.
    #[error("the Telemetry API answered {status}: {body}")]
    Refused {
        /// HTTP status.
        status: StatusCode,
        /// Response body.
        body: String,
    },
}

/// Most bytes read from the subscription answer (`"OK"`, or an error document).
const MAX_SUBSCRIBE_ANSWER: usize = 64 * 1024;

/// Subscribes `extension_id` to platform telemetry delivered to `port` (Telemetry API).
/// Success is a 2xx answer that is not an error document: AWS's runtime interface emulator
/// answers `202 {"errorType":"Telemetry.NotSupported",...}`, which is a refusal.
pub async fn subscribe(
    api: &RuntimeApi,
    extension_id: &str,
    port: u16,
) -> Result<(), SubscribeError> {
    let body = serde_json::to_vec(&SubscribeRequest::http(vec![TelemetryType::Platform], port))
        .map_err(|e| SubscribeError::Request(e.to_string()))?;
    let req = Request::put(api.uri(protocol::telemetry::SUBSCRIBE_PATH))
        .header(protocol::extension::HEADER_IDENTIFIER, extension_id)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| SubscribeError::Request(e.to_string()))?;
    let client: Client<HttpConnector, Full<Bytes>> =
        Client::builder(TokioExecutor::new()).build(HttpConnector::new());
    let res = client
        .request(req)
        .await
        .map_err(|e| SubscribeError::Request(e.to_string()))?;
    let status = res.status();
    let body = http_body_util::Limited::new(res.into_body(), MAX_SUBSCRIBE_ANSWER)
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if status.is_success() && !is_error_document(&body) {
        return Ok(());
    }
    Err(SubscribeError::Refused {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// True for a JSON object carrying `errorType` (the Runtime/Extensions/Telemetry APIs' error
/// shape), whatever the status it came with.
pub fn is_error_document(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .is_ok_and(|v| v.get("errorType").is_some_and(|t| !t.is_null()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::emf::Document;

    fn batch(json: &str) -> Vec<TelemetryEvent> {
        protocol::telemetry::parse_batch_lenient(json.as_bytes())
            .unwrap()
            .into_iter()
            .filter_map(Result::ok)
            .collect()
    }

    fn member(docs: &[Document], name: &str) -> Option<serde_json::Value> {
        docs.first()?.members.get(name).cloned()
    }

    #[test]
    fn an_error_document_is_a_refusal_whatever_its_status() {
        assert!(is_error_document(
            br#"{"errorType":"Telemetry.NotSupported","errorMessage":"Telemetry API is not supported"}"#
        ));
        assert!(!is_error_document(b"OK"));
        assert!(!is_error_document(br#""OK""#));
        assert!(!is_error_document(b""));
        assert!(!is_error_document(br#"{"errorType":null}"#));
    }

    #[test]
    fn timeouts_init_duration_and_memory_come_from_platform_records() {
        let events = batch(
            r#"[
            {"time":"2024-01-01T00:00:00.000Z","type":"platform.initReport","record":{"initializationType":"on-demand","phase":"init","metrics":{"durationMs":123.4}}},
            {"time":"2024-01-01T00:00:01.000Z","type":"platform.runtimeDone","record":{"requestId":"a","status":"timeout"}},
            {"time":"2024-01-01T00:00:01.000Z","type":"platform.report","record":{"requestId":"a","status":"timeout","metrics":{"durationMs":3000.0,"billedDurationMs":3000,"memorySizeMB":128,"maxMemoryUsedMB":40,"initDurationMs":123.4}}},
            {"time":"2024-01-01T00:00:02.000Z","type":"platform.report","record":{"requestId":"b","status":"success","metrics":{"durationMs":3.0,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":42}}},
            {"time":"2024-01-01T00:00:02.000Z","type":"platform.someFutureThing","record":{}}
        ]"#,
        );
        assert_eq!(events.len(), 5);
        let mut agg = Aggregate::new("f", "Rollcall");
        let mut state = TelemetryState::default();
        assert_eq!(apply_events(&mut agg, "3", &events, &mut state, false), 0);
        assert!(state.init_seen);
        let docs = agg.drain(1);
        assert_eq!(
            member(&docs, "Timeouts"),
            Some(1.into()),
            "runtimeDone and report of one request count once"
        );
        assert_eq!(member(&docs, "MaxMemoryUsed"), Some(42.into()));
        assert_eq!(
            member(&docs, "InitDuration"),
            Some(serde_json::json!([123.4]))
        );
        assert_eq!(member(&docs, "Invocations"), Some(0.into()));
    }

    #[test]
    fn report_init_duration_counts_when_there_was_no_init_report() {
        let events = batch(
            r#"[{"time":"2024-01-01T00:00:02.000Z","type":"platform.report","record":{"requestId":"b","status":"success","metrics":{"durationMs":3.0,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":42,"initDurationMs":77.0}}}]"#,
        );
        let mut agg = Aggregate::new("f", "Rollcall");
        let mut state = TelemetryState::default();
        apply_events(&mut agg, "3", &events, &mut state, false);
        apply_events(&mut agg, "3", &events, &mut state, false);
        let docs = agg.drain(1);
        assert_eq!(
            member(&docs, "InitDuration"),
            Some(serde_json::json!([77.0]))
        );
    }

    #[test]
    fn platform_report_counts_invocations_only_when_asked() {
        let events = batch(
            r#"[
            {"time":"2024-01-01T00:00:01.000Z","type":"platform.start","record":{"requestId":"a","version":"3"}},
            {"time":"2024-01-01T00:00:01.500Z","type":"platform.report","record":{"requestId":"a","status":"success","metrics":{"durationMs":3.0,"billedDurationMs":3,"memorySizeMB":128,"maxMemoryUsedMB":40}}},
            {"time":"2024-01-01T00:00:02.000Z","type":"platform.start","record":{"requestId":"b","version":"3"}},
            {"time":"2024-01-01T00:00:03.000Z","type":"platform.report","record":{"requestId":"b","status":"timeout","metrics":{"durationMs":1000.0,"billedDurationMs":1000,"memorySizeMB":128,"maxMemoryUsedMB":41}}}
        ]"#,
        );
        let mut agg = Aggregate::new("f", "Rollcall");
        let mut state = TelemetryState::default();
        assert_eq!(apply_events(&mut agg, "3", &events, &mut state, false), 0);
        assert_eq!(agg.last_request(), None, "nothing was counted");
        let docs = agg.drain(1);
        assert_eq!(member(&docs, "Invocations"), Some(0.into()));

        let mut agg = Aggregate::new("f", "Rollcall");
        let mut state = TelemetryState::default();
        assert_eq!(apply_events(&mut agg, "3", &events, &mut state, true), 2);
        assert_eq!(agg.last_request(), Some("b"));
        // A SHUTDOWN with reason timeout names the last invocation: counted once.
        agg.timeout("3", Some("b"));
        let docs = agg.drain(2);
        assert_eq!(member(&docs, "Invocations"), Some(2.into()));
        assert_eq!(member(&docs, "Timeouts"), Some(1.into()));
        assert_eq!(
            member(&docs, "ColdStarts"),
            Some(1.into()),
            "only the environment's first invocation is cold"
        );
    }
}
