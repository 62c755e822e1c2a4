//! Telemetry records: the `{"time", "type", "record"}` envelope and every record schema of the
//! *Telemetry schema reference*
//! (<https://docs.aws.amazon.com/lambda/latest/dg/telemetry-schema-reference.html>).
//!
//! Field names and JSON types follow what `lambda-extension` 1.1.1 accepts (LAMBDA-FACTS §4):
//! that crate rejects a whole batch if one record does not parse, so a producer (the lab) must
//! emit only [`TelemetryRecord::is_known_to_lambda_extension`] types, integer
//! `billedDurationMs`/`memorySizeMB`/`maxMemoryUsedMB`, and RFC 3339 times.

use serde::{
    Deserialize, Deserializer, Serialize, Serializer, de::Error as _, ser::SerializeStruct,
};
use serde_json::Value;
use time::OffsetDateTime;

use crate::time_format::{self, rfc3339_millis};

/// `initializationType` (schema reference `InitType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitType {
    /// `on-demand`.
    OnDemand,
    /// `provisioned-concurrency`.
    ProvisionedConcurrency,
    /// `snap-start`.
    SnapStart,
}

/// `phase` of an init record: `init`, or `invoke` for a suppressed init re-run during the first
/// invoke (schema reference `InitPhase`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitPhase {
    /// Normal init phase.
    Init,
    /// Init re-run inside the invoke phase.
    Invoke,
}

/// `status` of init/invoke/restore records (schema reference `Status`); `errorType` accompanies
/// `error` and `failure`. RAPID: `timeout` for timeouts, `error` for runtime-reported errors,
/// `failure` for platform (`Sandbox.*`) errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// `success`.
    Success,
    /// `error`.
    Error,
    /// `failure`.
    Failure,
    /// `timeout`.
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

/// A span (schema reference `Span`): e.g. `responseLatency`, `responseDuration`,
/// `runtimeOverhead`, `extensionOverhead`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// Span name.
    pub name: String,
    /// Start time (RFC 3339).
    #[serde(with = "rfc3339_millis")]
    pub start: OffsetDateTime,
    /// Duration in milliseconds.
    pub duration_ms: f64,
}

/// Span name: invoke handed to the runtime -> runtime starts `POST /response` (RAPID).
pub const SPAN_RESPONSE_LATENCY: &str = "responseLatency";
/// Span name: start -> end of reading the response body (RAPID).
pub const SPAN_RESPONSE_DURATION: &str = "responseDuration";
/// Span name: runtime returned its response -> runtime calls `/next` (schema reference).
pub const SPAN_RUNTIME_OVERHEAD: &str = "runtimeOverhead";
/// Span name: time extensions ran after the runtime's response (RAPID `extensionOverhead`).
pub const SPAN_EXTENSION_OVERHEAD: &str = "extensionOverhead";

/// `tracing` of a record (schema reference `TraceContext`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TraceContext {
    /// Span id, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub span_id: Option<String>,
    /// `X-Amzn-Trace-Id` ([`crate::extension::TRACING_TYPE_AMZN`]; the only value
    /// `lambda-extension` accepts).
    #[serde(rename = "type")]
    pub kind: String,
    /// Trace header value.
    pub value: String,
}

/// `platform.initStart` record (schema reference `PlatformInitStart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitStart {
    /// How the environment is initialised.
    pub initialization_type: InitType,
    /// Init or suppressed-init-in-invoke.
    pub phase: InitPhase,
    /// Runtime version, managed runtimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// Runtime version ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    /// Function name (live schema reference; not confirmed on classic Lambda, do not rely on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// Function version (live schema reference; not confirmed on classic Lambda).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_version: Option<String>,
    /// Execution environment instance id (live schema reference).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Memory of the instance in MB (live schema reference: `Integer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_max_memory: Option<u64>,
}

/// `platform.initRuntimeDone` record (schema reference `PlatformInitRuntimeDone`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitRuntimeDone {
    /// How the environment is initialised.
    pub initialization_type: InitType,
    /// Phase, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<InitPhase>,
    /// Outcome of runtime init.
    pub status: Status,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Spans (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// `metrics` of `platform.initReport` / `platform.restoreReport` (schema reference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DurationMetrics {
    /// Duration in milliseconds.
    pub duration_ms: f64,
}

/// `platform.initReport` record (schema reference `PlatformInitReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitReport {
    /// How the environment is initialised.
    pub initialization_type: InitType,
    /// Init or suppressed-init-in-invoke.
    pub phase: InitPhase,
    /// Outcome (Managed Instances and newer schema versions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Init duration.
    pub metrics: DurationMetrics,
    /// Spans (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// `platform.start` record (schema reference `PlatformStart`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Start {
    /// The invocation's request id.
    pub request_id: String,
    /// The function version that runs the invocation (`"$LATEST"`, `"7"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.runtimeDone` (schema reference `RuntimeDoneMetrics`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDoneMetrics {
    /// Invoke handed to the runtime -> runtime calls `/next` again, ms.
    pub duration_ms: f64,
    /// Bytes of the response.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub produced_bytes: Option<u64>,
}

/// `platform.runtimeDone` record (schema reference `PlatformRuntimeDone`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeDone {
    /// The invocation's request id.
    pub request_id: String,
    /// Outcome of the invocation.
    pub status: Status,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Metrics, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<RuntimeDoneMetrics>,
    /// Spans (`responseLatency`, `responseDuration`; omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// Trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `metrics` of `platform.report` (schema reference `ReportMetrics`). The three integer
/// members must be JSON integers for `lambda-extension` (it reads them as `u64`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportMetrics {
    /// Duration including extension overhead, ms.
    pub duration_ms: f64,
    /// Billed duration, ms (integer).
    pub billed_duration_ms: u64,
    /// Configured memory, MB.
    #[serde(rename = "memorySizeMB")]
    pub memory_size_mb: u64,
    /// Peak memory used, MB.
    #[serde(rename = "maxMemoryUsedMB")]
    pub max_memory_used_mb: u64,
    /// Init duration, only on the first invoke after a cold start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_duration_ms: Option<f64>,
    /// SnapStart restore duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restore_duration_ms: Option<f64>,
}

/// `platform.report` record (schema reference `PlatformReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The invocation's request id.
    pub request_id: String,
    /// Outcome of the invocation.
    pub status: Status,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Metrics (all of `durationMs`, `billedDurationMs`, `memorySizeMB`, `maxMemoryUsedMB`).
    pub metrics: ReportMetrics,
    /// Spans (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
    /// Trace context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TraceContext>,
}

/// `platform.extension` record (schema reference `PlatformExtension`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExtensionInfo {
    /// Extension name.
    pub name: String,
    /// State, e.g. `Ready`.
    pub state: String,
    /// Events registered for (`INVOKE`, `SHUTDOWN`); always present (`lambda-extension`
    /// requires it).
    pub events: Vec<String>,
    /// Error type when registration failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
}

/// `platform.telemetrySubscription` record (schema reference `PlatformTelemetrySubscription`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TelemetrySubscription {
    /// Subscribing extension's name.
    pub name: String,
    /// State, e.g. `Subscribed`.
    pub state: String,
    /// Types subscribed to (`platform`, `function`, `extension`).
    pub types: Vec<String>,
}

/// `platform.logsDropped` record (schema reference `PlatformLogsDropped`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogsDropped {
    /// Why records were dropped.
    pub reason: String,
    /// Number of records dropped.
    pub dropped_records: u64,
    /// Bytes dropped.
    pub dropped_bytes: u64,
}

/// `platform.restoreStart` record, SnapStart only (schema reference `PlatformRestoreStart`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreStart {
    /// Runtime version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version: Option<String>,
    /// Runtime version ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_version_arn: Option<String>,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// Function version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_version: Option<String>,
    /// Execution environment instance id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    /// Instance memory; the schema reference says `String` but its example has an integer,
    /// so any JSON value is kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_max_memory: Option<Value>,
}

/// `platform.restoreRuntimeDone` record, SnapStart only (schema reference).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreRuntimeDone {
    /// Outcome of the restore hooks.
    pub status: Status,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Spans (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// `platform.restoreReport` record, SnapStart only (schema reference `PlatformRestoreReport`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RestoreReport {
    /// Outcome of the restore.
    pub status: Status,
    /// Error type for `error`/`failure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Restore duration, when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<DurationMetrics>,
    /// Spans (omitted when empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub spans: Vec<Span>,
}

/// A `function` or `extension` record: a log line (text log format), or an object (JSON log
/// format) (schema reference `function`/`extension`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LogRecord {
    /// Text log format: the line.
    Text(String),
    /// JSON log format (or anything else that is not a string).
    Json(Value),
}

macro_rules! telemetry_records {
    ($( $(#[$doc:meta])* $variant:ident($ty:ty) = $name:literal, known = $known:literal; )*) => {
        /// A telemetry record, tagged by the envelope's `type` (schema reference, "Event types").
        #[derive(Debug, Clone, PartialEq)]
        pub enum TelemetryRecord {
            $( $(#[$doc])* $variant($ty), )*
            /// A `type` this crate does not know; kept verbatim for forward compatibility.
            Unknown {
                /// The `type` string.
                kind: String,
                /// The raw `record`.
                record: Value,
            },
        }

        impl TelemetryRecord {
            /// The envelope `type` string, e.g. `platform.report`.
            pub fn type_name(&self) -> &str {
                match self {
                    $( Self::$variant(_) => $name, )*
                    Self::Unknown { kind, .. } => kind,
                }
            }

            /// True for the 11 types `lambda-extension` 1.1.1 can parse; any other type makes
            /// it reject the whole batch (LAMBDA-FACTS §4).
            pub fn is_known_to_lambda_extension(&self) -> bool {
                match self {
                    $( Self::$variant(_) => $known, )*
                    Self::Unknown { .. } => false,
                }
            }

            /// Builds a record from the envelope's `type` and `record`; unknown types become
            /// [`TelemetryRecord::Unknown`], a known type with a malformed record is an error.
            pub fn from_parts(kind: &str, record: Value) -> Result<Self, serde_json::Error> {
                Ok(match kind {
                    $( $name => Self::$variant(serde_json::from_value(record)?), )*
                    _ => Self::Unknown { kind: kind.to_owned(), record },
                })
            }

            fn serialize_record<S: SerializeStruct>(&self, s: &mut S) -> Result<(), S::Error> {
                match self {
                    $( Self::$variant(r) => s.serialize_field("record", r), )*
                    Self::Unknown { record, .. } => s.serialize_field("record", record),
                }
            }
        }
    };
}

telemetry_records! {
    /// `function`: a log line of the function.
    FunctionLog(LogRecord) = "function", known = true;
    /// `extension`: a log line of an extension.
    ExtensionLog(LogRecord) = "extension", known = true;
    /// `platform.initStart`.
    InitStart(InitStart) = "platform.initStart", known = true;
    /// `platform.initRuntimeDone`.
    InitRuntimeDone(InitRuntimeDone) = "platform.initRuntimeDone", known = true;
    /// `platform.initReport`.
    InitReport(InitReport) = "platform.initReport", known = true;
    /// `platform.start`.
    Start(Start) = "platform.start", known = true;
    /// `platform.runtimeDone`.
    RuntimeDone(RuntimeDone) = "platform.runtimeDone", known = true;
    /// `platform.report`.
    Report(Report) = "platform.report", known = true;
    /// `platform.extension`.
    Extension(ExtensionInfo) = "platform.extension", known = true;
    /// `platform.telemetrySubscription`.
    TelemetrySubscription(TelemetrySubscription) = "platform.telemetrySubscription", known = true;
    /// `platform.logsDropped`.
    LogsDropped(LogsDropped) = "platform.logsDropped", known = true;
    /// `platform.restoreStart` (SnapStart; unknown to `lambda-extension` 1.1.1).
    RestoreStart(RestoreStart) = "platform.restoreStart", known = false;
    /// `platform.restoreRuntimeDone` (SnapStart; unknown to `lambda-extension` 1.1.1).
    RestoreRuntimeDone(RestoreRuntimeDone) = "platform.restoreRuntimeDone", known = false;
    /// `platform.restoreReport` (SnapStart; unknown to `lambda-extension` 1.1.1).
    RestoreReport(RestoreReport) = "platform.restoreReport", known = false;
}

impl TelemetryRecord {
    /// The request id of invoke-phase records (`platform.start`, `runtimeDone`, `report`).
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Start(r) => Some(&r.request_id),
            Self::RuntimeDone(r) => Some(&r.request_id),
            Self::Report(r) => Some(&r.request_id),
            _ => None,
        }
    }
}

/// One delivered event: `{"time": "<RFC 3339>", "type": "<type>", "record": ...}` (Telemetry
/// API, "Telemetry API Event objects"). Lambda POSTs a JSON array of these.
#[derive(Debug, Clone, PartialEq)]
pub struct TelemetryEvent {
    /// When the platform generated the event; serialised with millisecond precision.
    pub time: OffsetDateTime,
    /// The typed record.
    pub record: TelemetryRecord,
}

impl TelemetryEvent {
    /// An event at `time`.
    pub fn new(time: OffsetDateTime, record: TelemetryRecord) -> Self {
        Self { time, record }
    }
}

impl Serialize for TelemetryEvent {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("TelemetryEvent", 3)?;
        s.serialize_field("time", &time_format::format_millis(self.time))?;
        s.serialize_field("type", self.record.type_name())?;
        self.record.serialize_record(&mut s)?;
        s.end()
    }
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(with = "rfc3339_millis")]
    time: OffsetDateTime,
    #[serde(rename = "type")]
    kind: String,
    record: Value,
}

impl<'de> Deserialize<'de> for TelemetryEvent {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEvent::deserialize(d)?;
        let record = TelemetryRecord::from_parts(&raw.kind, raw.record)
            .map_err(|e| D::Error::custom(format!("invalid {} record: {e}", raw.kind)))?;
        Ok(Self {
            time: raw.time,
            record,
        })
    }
}

/// Parses a delivered batch (a JSON array) event by event, so one malformed event does not
/// lose the others (unlike `lambda-extension`, which rejects the whole batch). Errors only if
/// the body is not a JSON array.
pub fn parse_batch_lenient(
    body: &[u8],
) -> Result<Vec<Result<TelemetryEvent, serde_json::Error>>, serde_json::Error> {
    let values: Vec<Value> = serde_json::from_slice(body)?;
    Ok(values.into_iter().map(serde_json::from_value).collect())
}
