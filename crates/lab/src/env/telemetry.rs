//! Telemetry API records and subscriptions (LAMBDA-FACTS §3), built exactly as Lambda sends them:
//! `{"time": <RFC 3339, ms, UTC>, "type": <type>, "record": <object|string>}` with the documented
//! camelCase fields. Only the 11 types `lambda-extension` knows are ever produced.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};

/// The three telemetry streams a subscriber can choose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    /// `platform.*` records.
    Platform,
    /// The function's log lines.
    Function,
    /// Extensions' log lines.
    Extension,
}

/// One record, serialised once.
#[derive(Debug, Clone)]
pub struct TelemetryEvent {
    /// Which stream it belongs to.
    pub category: Category,
    /// The event as JSON text.
    pub json: String,
}

impl TelemetryEvent {
    /// Builds the envelope around `record` for event type `kind` at `time`.
    pub fn new(category: Category, kind: &str, record: Value, time: SystemTime) -> Self {
        let json = json!({ "time": rfc3339_ms(time), "type": kind, "record": record }).to_string();
        Self { category, json }
    }

    /// A `platform.*` event stamped now.
    pub fn platform(kind: &str, record: Value) -> Self {
        Self::new(Category::Platform, kind, record, SystemTime::now())
    }
}

/// RFC 3339 UTC time with milliseconds, e.g. `2022-10-12T00:00:15.064Z`.
pub fn rfc3339_ms(t: SystemTime) -> String {
    let dt = time::OffsetDateTime::from(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second(),
        dt.millisecond()
    )
}

/// A span of a `runtimeDone`/`initRuntimeDone` record.
pub fn span(name: &str, start: SystemTime, duration: Duration) -> Value {
    json!({ "name": name, "start": rfc3339_ms(start), "durationMs": ms(duration) })
}

/// Milliseconds as a float with microsecond precision, as Lambda reports `durationMs`.
pub fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// The `tracing` object of a record.
pub fn tracing(trace_id: &str) -> Value {
    json!({ "type": "X-Amzn-Trace-Id", "value": trace_id })
}

/// Telemetry `status` of an invocation or init.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Ended normally.
    Success,
    /// The runtime reported an error.
    Error,
    /// The platform failed (crash, `Sandbox.*`).
    Failure,
    /// Timed out.
    Timeout,
}

impl Status {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Error => "error",
            Self::Failure => "failure",
            Self::Timeout => "timeout",
        }
    }
}

fn with_error(mut record: Value, status: Status, error_type: Option<&str>) -> Value {
    record["status"] = json!(status.as_str());
    if let Some(t) = error_type {
        record["errorType"] = json!(t);
    }
    record
}

/// `platform.initStart`.
pub fn init_start() -> TelemetryEvent {
    TelemetryEvent::platform(
        "platform.initStart",
        json!({ "initializationType": "on-demand", "phase": "init" }),
    )
}

/// `platform.initRuntimeDone`.
pub fn init_runtime_done(
    status: Status,
    error_type: Option<&str>,
    spans: Vec<Value>,
) -> TelemetryEvent {
    let record = json!({ "initializationType": "on-demand", "phase": "init", "spans": spans });
    TelemetryEvent::platform(
        "platform.initRuntimeDone",
        with_error(record, status, error_type),
    )
}

/// `platform.initReport`.
pub fn init_report(duration: Duration) -> TelemetryEvent {
    TelemetryEvent::platform(
        "platform.initReport",
        json!({ "initializationType": "on-demand", "phase": "init",
                "metrics": { "durationMs": ms(duration) }, "spans": [] }),
    )
}

/// `platform.start` (carries the version).
pub fn start(request_id: &str, version: &str, trace_id: &str) -> TelemetryEvent {
    TelemetryEvent::platform(
        "platform.start",
        json!({ "requestId": request_id, "version": version, "tracing": tracing(trace_id) }),
    )
}

/// What `platform.runtimeDone` reports.
#[derive(Debug, Clone)]
pub struct RuntimeDone<'a> {
    /// The request.
    pub request_id: &'a str,
    /// How it ended.
    pub status: Status,
    /// The error type for error/failure/timeout.
    pub error_type: Option<&'a str>,
    /// Invoke handed to the runtime → runtime called `next` again (or the end, on failure).
    pub duration: Duration,
    /// Response bytes read from the runtime.
    pub produced_bytes: Option<u64>,
    /// `responseLatency` / `responseDuration` spans.
    pub spans: Vec<Value>,
    /// X-Ray trace header.
    pub trace_id: &'a str,
}

/// `platform.runtimeDone`.
pub fn runtime_done(r: RuntimeDone<'_>) -> TelemetryEvent {
    let mut metrics = json!({ "durationMs": ms(r.duration) });
    if let Some(b) = r.produced_bytes {
        metrics["producedBytes"] = json!(b);
    }
    let record = json!({ "requestId": r.request_id, "metrics": metrics, "spans": r.spans,
                         "tracing": tracing(r.trace_id) });
    TelemetryEvent::platform(
        "platform.runtimeDone",
        with_error(record, r.status, r.error_type),
    )
}

/// What `platform.report` reports.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    /// The request.
    pub request_id: &'a str,
    /// How it ended.
    pub status: Status,
    /// The error type for error/failure/timeout.
    pub error_type: Option<&'a str>,
    /// The whole invoke phase, extensions included.
    pub duration: Duration,
    /// Configured memory.
    pub memory_size_mb: u32,
    /// Peak memory of the process tree.
    pub max_memory_used_mb: u64,
    /// Init duration, on a cold start only.
    pub init_duration: Option<Duration>,
    /// X-Ray trace header.
    pub trace_id: &'a str,
}

impl Report<'_> {
    /// Lambda bills in 1 ms increments, rounding up.
    pub fn billed_duration_ms(&self) -> u64 {
        (self.duration.as_micros() as u64).div_ceil(1000).max(1)
    }
}

/// `platform.report`.
pub fn report(r: &Report<'_>) -> TelemetryEvent {
    let mut metrics = json!({
        "durationMs": ms(r.duration),
        "billedDurationMs": r.billed_duration_ms(),
        "memorySizeMB": r.memory_size_mb,
        "maxMemoryUsedMB": r.max_memory_used_mb,
    });
    if let Some(i) = r.init_duration {
        metrics["initDurationMs"] = json!(ms(i));
    }
    let record = json!({ "requestId": r.request_id, "metrics": metrics, "spans": [],
                         "tracing": tracing(r.trace_id) });
    TelemetryEvent::platform(
        "platform.report",
        with_error(record, r.status, r.error_type),
    )
}

/// `platform.extension` (an extension registered).
pub fn extension(name: &str, events: &[String]) -> TelemetryEvent {
    TelemetryEvent::platform(
        "platform.extension",
        json!({ "name": name, "state": "Ready", "events": events }),
    )
}

/// `platform.telemetrySubscription`.
pub fn telemetry_subscription(name: &str, types: &[String]) -> TelemetryEvent {
    TelemetryEvent::platform(
        "platform.telemetrySubscription",
        json!({ "name": name, "state": "Subscribed", "types": types }),
    )
}

/// A log line as a `function` or `extension` record.
pub fn log_line(category: Category, line: &str) -> TelemetryEvent {
    let kind = if category == Category::Extension {
        "extension"
    } else {
        "function"
    };
    TelemetryEvent::new(
        category,
        kind,
        Value::String(line.to_string()),
        SystemTime::now(),
    )
}

/// Buffering of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// Flush at this many records (1,000..=10,000; default 10,000).
    pub max_items: usize,
    /// Flush at this many bytes (262,144..=1,048,576; default 262,144).
    pub max_bytes: usize,
    /// Flush this long after the first buffered record (25..=30,000 ms; default 1,000).
    pub timeout: Duration,
}

impl Default for Buffering {
    fn default() -> Self {
        Self {
            max_items: 10_000,
            max_bytes: 262_144,
            timeout: Duration::from_millis(1_000),
        }
    }
}

/// A validated `PUT /2022-07-01/telemetry` request.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscription {
    /// Chosen streams.
    pub types: Vec<Category>,
    /// The `types` as sent (for `platform.telemetrySubscription`).
    pub type_names: Vec<String>,
    /// Buffering.
    pub buffering: Buffering,
    /// Where batches are POSTed (`sandbox.localdomain` → 127.0.0.1).
    pub addr: SocketAddr,
    /// URI path (kept; RIE drops it, Lambda documents it as optional).
    pub path: String,
}

/// Validates a subscription body with the shared wire definition (`protocol::telemetry`); the
/// error is the `ValidationError` message. The lab delivers over HTTP only: a TCP destination is
/// refused with a message saying so.
pub fn parse_subscription(body: &[u8]) -> Result<Subscription, String> {
    use protocol::telemetry::{Target, TelemetryType, parse_subscription};
    let sub = parse_subscription(body).map_err(|e| e.to_string())?;
    let (port, path) = match sub.target {
        Target::Http { port, path } => (port, path),
        Target::Tcp { .. } => {
            return Err("destination.protocol TCP is not supported by the lab; use HTTP".into());
        }
    };
    let types = sub
        .types
        .iter()
        .map(|t| match t {
            TelemetryType::Platform => Category::Platform,
            TelemetryType::Function => Category::Function,
            TelemetryType::Extension => Category::Extension,
        })
        .collect();
    Ok(Subscription {
        types,
        type_names: sub.types.iter().map(|t| t.as_str().to_string()).collect(),
        buffering: Buffering {
            max_items: sub.max_items as usize,
            max_bytes: sub.max_bytes as usize,
            timeout: Duration::from_millis(u64::from(sub.timeout_ms)),
        },
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use lambda_extension::LambdaTelemetry;

    fn parse(e: &TelemetryEvent) -> LambdaTelemetry {
        serde_json::from_str(&e.json).unwrap_or_else(|err| panic!("{err}: {}", e.json))
    }

    #[test]
    fn every_record_parses_with_the_lambda_extension_crate() {
        let now = SystemTime::now();
        let events = vec![
            init_start(),
            init_runtime_done(
                Status::Success,
                None,
                vec![span("runtimeInit", now, Duration::from_millis(3))],
            ),
            init_runtime_done(Status::Error, Some("Runtime.ExitError"), vec![]),
            init_report(Duration::from_micros(12_345)),
            start("r1", "7", "Root=1-00000000-000000000000000000000000"),
            runtime_done(RuntimeDone {
                request_id: "r1",
                status: Status::Timeout,
                error_type: Some("Sandbox.Timedout"),
                duration: Duration::from_millis(5),
                produced_bytes: Some(12),
                spans: vec![span("responseLatency", now, Duration::from_millis(1))],
                trace_id: "Root=1-0-0",
            }),
            report(&Report {
                request_id: "r1",
                status: Status::Success,
                error_type: None,
                duration: Duration::from_micros(1500),
                memory_size_mb: 128,
                max_memory_used_mb: 20,
                init_duration: Some(Duration::from_millis(40)),
                trace_id: "Root=1-0-0",
            }),
            extension("ext", &["INVOKE".into(), "SHUTDOWN".into()]),
            telemetry_subscription("ext", &["platform".into()]),
            log_line(Category::Function, "hello"),
            log_line(Category::Extension, "ext says hi"),
        ];
        let batch = format!(
            "[{}]",
            events
                .iter()
                .map(|e| e.json.as_str())
                .collect::<Vec<_>>()
                .join(",")
        );
        let parsed: Vec<LambdaTelemetry> = serde_json::from_str(&batch).unwrap();
        assert_eq!(parsed.len(), events.len());
        for e in &events {
            parse(e);
        }
    }

    #[test]
    fn report_has_every_metric_and_bills_rounding_up() {
        let r = Report {
            request_id: "r",
            status: Status::Success,
            error_type: None,
            duration: Duration::from_micros(1001),
            memory_size_mb: 256,
            max_memory_used_mb: 30,
            init_duration: None,
            trace_id: "t",
        };
        assert_eq!(r.billed_duration_ms(), 2);
        let v: Value = serde_json::from_str(&report(&r).json).unwrap();
        assert_eq!(v["type"], "platform.report");
        let m = &v["record"]["metrics"];
        assert_eq!(m["durationMs"], 1.001);
        assert_eq!(m["billedDurationMs"], 2);
        assert_eq!(m["memorySizeMB"], 256);
        assert_eq!(m["maxMemoryUsedMB"], 30);
        assert!(
            m.get("initDurationMs").is_none(),
            "initDurationMs only on cold starts"
        );
        assert_eq!(v["record"]["status"], "success");
    }

    #[test]
    fn times_are_rfc3339_with_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_665_532_815_064);
        assert_eq!(rfc3339_ms(t), "2022-10-12T00:00:15.064Z");
    }

    #[test]
    fn subscription_defaults_and_sandbox_mapping() {
        let s = parse_subscription(
            br#"{"schemaVersion":"2022-07-01","types":["platform","function"],
                "destination":{"protocol":"HTTP","URI":"http://sandbox.localdomain:9003"}}"#,
        )
        .unwrap();
        assert_eq!(s.types, [Category::Platform, Category::Function]);
        assert_eq!(s.buffering, Buffering::default());
        assert_eq!(s.addr, "127.0.0.1:9003".parse().unwrap());
        assert_eq!(s.path, "/");
    }

    #[test]
    fn subscription_validation_errors_name_the_field() {
        let cases = [
            (
                r#"{"types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "schemaVersion",
            ),
            (
                r#"{"schemaVersion":"2020-01-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "schemaVersion",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":[],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "types",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["logs"],"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "logs",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["platform"],"buffering":{"maxItems":10},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "maxItems",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["platform"],"buffering":{"maxBytes":1},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "maxBytes",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["platform"],"buffering":{"timeoutMs":1},"destination":{"protocol":"HTTP","URI":"http://sandbox:1"}}"#,
                "timeoutMs",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["platform"],"destination":{"protocol":"HTTP","URI":"http://example.com:1"}}"#,
                "sandbox.localdomain",
            ),
            (
                r#"{"schemaVersion":"2022-07-01","types":["platform"]}"#,
                "destination",
            ),
            ("not json", "JSON"),
        ];
        for (body, needle) in cases {
            let err = parse_subscription(body.as_bytes()).unwrap_err();
            assert!(err.contains(needle), "{body}: {err}");
        }
    }
}
