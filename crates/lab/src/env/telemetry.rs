//! Telemetry API records and subscriptions (LAMBDA-FACTS §3), in Lambda's envelope
//! `{"time": <RFC 3339, ms, UTC>, "type": <type>, "record": <object|string>}` with the documented
//! camelCase fields (optional members such as an empty `spans` are left out). The records are the
//! shared wire types of `protocol::telemetry` (the ones the extension parses), serialised once
//! when emitted. Only the 11 types `lambda-extension`
//! knows are ever produced.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

pub use protocol::telemetry::Status;
use protocol::telemetry::{
    DurationMetrics, ExtensionInfo, InitPhase, InitReport, InitRuntimeDone, InitStart, InitType,
    LogRecord, ReportMetrics, RuntimeDoneMetrics, Span, Start, TelemetryRecord, TraceContext,
};
use time::OffsetDateTime;

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
    /// The event carrying `record` at `time`.
    pub fn new(category: Category, record: TelemetryRecord, time: SystemTime) -> Self {
        let event = protocol::telemetry::TelemetryEvent::new(OffsetDateTime::from(time), record);
        let json = serde_json::to_string(&event)
            .expect("a telemetry record (strings, numbers, arrays) always serialises");
        Self { category, json }
    }

    /// A `platform.*` event stamped now.
    pub fn platform(record: TelemetryRecord) -> Self {
        Self::new(Category::Platform, record, SystemTime::now())
    }
}

/// RFC 3339 UTC time with milliseconds, e.g. `2022-10-12T00:00:15.064Z`.
pub fn rfc3339_ms(t: SystemTime) -> String {
    protocol::time_format::format_millis(OffsetDateTime::from(t))
}

/// A span of a `runtimeDone`/`initRuntimeDone` record.
pub fn span(name: &str, start: SystemTime, duration: Duration) -> Span {
    Span {
        name: name.to_owned(),
        start: OffsetDateTime::from(start),
        duration_ms: ms(duration),
    }
}

/// Milliseconds as a float with microsecond precision, as Lambda reports `durationMs`.
pub fn ms(d: Duration) -> f64 {
    d.as_micros() as f64 / 1000.0
}

/// The `tracing` object of a record.
pub fn tracing(trace_id: &str) -> TraceContext {
    TraceContext {
        span_id: None,
        kind: "X-Amzn-Trace-Id".to_owned(),
        value: trace_id.to_owned(),
    }
}

/// `platform.initStart`.
pub fn init_start() -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::InitStart(InitStart {
        initialization_type: InitType::OnDemand,
        phase: InitPhase::Init,
        runtime_version: None,
        runtime_version_arn: None,
        function_name: None,
        function_version: None,
        instance_id: None,
        instance_max_memory: None,
    }))
}

/// `platform.initRuntimeDone`.
pub fn init_runtime_done(
    status: Status,
    error_type: Option<&str>,
    spans: Vec<Span>,
) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::InitRuntimeDone(InitRuntimeDone {
        initialization_type: InitType::OnDemand,
        phase: Some(InitPhase::Init),
        status,
        error_type: error_type.map(str::to_owned),
        spans,
    }))
}

/// `platform.initReport`.
pub fn init_report(duration: Duration) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::InitReport(InitReport {
        initialization_type: InitType::OnDemand,
        phase: InitPhase::Init,
        status: None,
        error_type: None,
        metrics: DurationMetrics {
            duration_ms: ms(duration),
        },
        spans: Vec::new(),
    }))
}

/// `platform.start` (carries the version).
pub fn start(request_id: &str, version: &str, trace_id: &str) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::Start(Start {
        request_id: request_id.to_owned(),
        version: Some(version.to_owned()),
        tracing: Some(tracing(trace_id)),
    }))
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
    pub spans: Vec<Span>,
    /// X-Ray trace header.
    pub trace_id: &'a str,
}

/// `platform.runtimeDone`.
pub fn runtime_done(r: RuntimeDone<'_>) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::RuntimeDone(
        protocol::telemetry::RuntimeDone {
            request_id: r.request_id.to_owned(),
            status: r.status,
            error_type: r.error_type.map(str::to_owned),
            metrics: Some(RuntimeDoneMetrics {
                duration_ms: ms(r.duration),
                produced_bytes: r.produced_bytes,
            }),
            spans: r.spans,
            tracing: Some(tracing(r.trace_id)),
        },
    ))
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
    TelemetryEvent::platform(TelemetryRecord::Report(protocol::telemetry::Report {
        request_id: r.request_id.to_owned(),
        status: r.status,
        error_type: r.error_type.map(str::to_owned),
        metrics: ReportMetrics {
            duration_ms: ms(r.duration),
            billed_duration_ms: r.billed_duration_ms(),
            memory_size_mb: u64::from(r.memory_size_mb),
            max_memory_used_mb: r.max_memory_used_mb,
            init_duration_ms: r.init_duration.map(ms),
            restore_duration_ms: None,
        },
        spans: Vec::new(),
        tracing: Some(tracing(r.trace_id)),
    }))
}

/// `platform.extension` (an extension registered).
pub fn extension(name: &str, events: &[String]) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::Extension(ExtensionInfo {
        name: name.to_owned(),
        state: "Ready".to_owned(),
        events: events.to_vec(),
        error_type: None,
    }))
}

/// `platform.telemetrySubscription`.
pub fn telemetry_subscription(name: &str, types: &[String]) -> TelemetryEvent {
    TelemetryEvent::platform(TelemetryRecord::TelemetrySubscription(
        protocol::telemetry::TelemetrySubscription {
            name: name.to_owned(),
            state: "Subscribed".to_owned(),
            types: types.to_vec(),
        },
    ))
}

/// A log line as a `function` or `extension` record.
pub fn log_line(category: Category, line: &str) -> TelemetryEvent {
    let text = LogRecord::Text(line.to_owned());
    let record = if category == Category::Extension {
        TelemetryRecord::ExtensionLog(text)
    } else {
        TelemetryRecord::FunctionLog(text)
    };
    TelemetryEvent::new(category, record, SystemTime::now())
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
        let v: serde_json::Value = serde_json::from_str(&report(&r).json).unwrap();
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
