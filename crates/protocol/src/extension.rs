//! Extensions API, version 2020-01-01: registration, the event loop and error reporting of
//! Lambda extensions. Source: *Extensions API*
//! (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-extensions-api.html>) and RAPID
//! (`rapi/router.go`, `rapi/handler/*`, `rapi/model/agentevent.go`).

use serde::{Deserialize, Serialize};

pub use crate::runtime::{ErrorRequest, ErrorResponse};

/// `POST` register an extension (Extensions API, "Register").
pub const REGISTER_PATH: &str = "/2020-01-01/extension/register";
/// `GET` the next event, blocking (Extensions API, "Next").
pub const NEXT_PATH: &str = "/2020-01-01/extension/event/next";
/// `POST` an initialization error (Extensions API, "Init error").
pub const INIT_ERROR_PATH: &str = "/2020-01-01/extension/init/error";
/// `POST` an exit error (Extensions API, "Exit error").
pub const EXIT_ERROR_PATH: &str = "/2020-01-01/extension/exit/error";

/// Which Extensions API call a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionCall {
    /// `POST /extension/register`.
    Register,
    /// `GET /extension/event/next`.
    Next,
    /// `POST /extension/init/error`.
    InitError,
    /// `POST /extension/exit/error`.
    ExitError,
}

/// Parses an Extensions API path (without query) into the call it names, or `None`.
pub fn parse_path(path: &str) -> Option<ExtensionCall> {
    match path {
        REGISTER_PATH => Some(ExtensionCall::Register),
        NEXT_PATH => Some(ExtensionCall::Next),
        INIT_ERROR_PATH => Some(ExtensionCall::InitError),
        EXIT_ERROR_PATH => Some(ExtensionCall::ExitError),
        _ => None,
    }
}

/// Register request header: the extension's name; for an external extension the full file name
/// of its executable in `/opt/extensions/` (Extensions API).
pub const HEADER_NAME: &str = "Lambda-Extension-Name";
/// Register response header with the extension's id; request header on every later call
/// (Extensions API).
pub const HEADER_IDENTIFIER: &str = "Lambda-Extension-Identifier";
/// Register request header: comma-separated optional features; only [`FEATURE_ACCOUNT_ID`]
/// exists (Extensions API).
pub const HEADER_ACCEPT_FEATURE: &str = "Lambda-Extension-Accept-Feature";
/// The `accountId` feature: the register response then carries `accountId` (Extensions API).
pub const FEATURE_ACCOUNT_ID: &str = "accountId";
/// `/event/next` response header with an event id (RAPID sets it; not in the public docs).
pub const HEADER_EVENT_IDENTIFIER: &str = "Lambda-Extension-Event-Identifier";
/// Init/exit error request header: error type, recommended `Extension.Reason` (Extensions API).
pub const HEADER_FUNCTION_ERROR_TYPE: &str = "Lambda-Extension-Function-Error-Type";

/// Maximum number of registered extensions (Extensions API; RAPID `Extension.TooManyExtensions`).
pub const MAX_EXTENSIONS: usize = 10;

/// RAPID error types returned by the Extensions API (RIE `rapi/handler` constants).
pub mod error_type {
    /// 403: register after the runtime finished init (RAPID `errAgentRegistrationClosed`).
    pub const REGISTRATION_CLOSED: &str = "Extension.RegistrationClosed";
    /// 403: more than [`super::MAX_EXTENSIONS`] extensions (RAPID `errTooManyExtensions`).
    pub const TOO_MANY_EXTENSIONS: &str = "Extension.TooManyExtensions";
    /// 403: missing or invalid `Lambda-Extension-Name` (RAPID `errAgentNameInvalid`).
    pub const INVALID_EXTENSION_NAME: &str = "Extension.InvalidExtensionName";
    /// 403: unknown event type, or SHUTDOWN for an internal extension (RAPID `errInvalidEventType`).
    pub const INVALID_EVENT_TYPE: &str = "Extension.InvalidEventType";
    /// 403: the name is already registered (RIE).
    pub const ALREADY_REGISTERED: &str = "Extension.AlreadyRegistered";
    /// 403: unknown `Lambda-Extension-Identifier` (RAPID `errAgentIdentifierUnknown`).
    pub const UNKNOWN_EXTENSION_IDENTIFIER: &str = "Extension.UnknownExtensionIdentifier";
    /// 403: missing `Lambda-Extension-Identifier` (LAMBDA-FACTS §2).
    pub const MISSING_EXTENSION_IDENTIFIER: &str = "Extension.MissingExtensionIdentifier";
    /// 403: call not allowed in the extension's current state (RAPID `errAgentInvalidState`).
    pub const INVALID_EXTENSION_STATE: &str = "Extension.InvalidExtensionState";
    /// 400: a required header is missing (RAPID `errAgentMissingHeader`).
    pub const MISSING_HEADER: &str = "Extension.MissingHeader";
    /// 400: the body is not valid JSON of the expected shape (RAPID `errInvalidRequestFormat`).
    pub const INVALID_REQUEST_FORMAT: &str = "InvalidRequestFormat";
}

/// An event an extension can subscribe to (Extensions API, "Register": `INVOKE`, `SHUTDOWN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum EventType {
    /// Sent at each function invocation.
    Invoke,
    /// Sent once before the environment shuts down (external extensions only).
    Shutdown,
}

impl EventType {
    /// The wire name, `INVOKE` or `SHUTDOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invoke => "INVOKE",
            Self::Shutdown => "SHUTDOWN",
        }
    }
}

/// Body of `POST /extension/register`: `{"events": ["INVOKE", "SHUTDOWN"]}`; the body may be
/// empty or omit `events` (Extensions API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterRequest {
    /// Events to receive.
    #[serde(default)]
    pub events: Vec<EventType>,
}

/// 200 body of `POST /extension/register` (Extensions API, "Register" response).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegisterResponse {
    /// The function's name.
    pub function_name: String,
    /// The version of this environment, e.g. `"$LATEST"` or `"7"`.
    pub function_version: String,
    /// The function's handler setting.
    pub handler: String,
    /// The account id; present only when `Lambda-Extension-Accept-Feature: accountId` was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
}

/// Body of `GET /extension/event/next`, tagged by `eventType` (Extensions API, "Next";
/// RAPID `rapi/model/agentevent.go`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "eventType", rename_all = "UPPERCASE")]
pub enum NextEvent {
    /// An invocation; carries no payload and no version.
    Invoke(InvokeEvent),
    /// The environment is shutting down.
    Shutdown(ShutdownEvent),
}

/// The `INVOKE` event (Extensions API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvokeEvent {
    /// Absolute deadline, Unix epoch milliseconds.
    pub deadline_ms: u64,
    /// The invocation's request id.
    pub request_id: String,
    /// The ARN as invoked (may be alias-qualified; does not reveal the executed version).
    pub invoked_function_arn: String,
    /// X-Ray trace header; omitted when there is no trace (RAPID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<Tracing>,
}

/// `tracing` of an `INVOKE` event: `{"type": "X-Amzn-Trace-Id", "value": "Root=..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracing {
    /// Always `X-Amzn-Trace-Id` today.
    #[serde(rename = "type")]
    pub kind: String,
    /// The trace header value.
    pub value: String,
}

/// The `X-Amzn-Trace-Id` tracing type (Extensions API; Telemetry schema reference).
pub const TRACING_TYPE_AMZN: &str = "X-Amzn-Trace-Id";

/// The `SHUTDOWN` event (Extensions API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShutdownEvent {
    /// Why the environment shuts down; see [`ShutdownReason`].
    pub shutdown_reason: ShutdownReason,
    /// Absolute deadline of the shutdown phase, Unix epoch milliseconds.
    pub deadline_ms: u64,
}

/// `shutdownReason`. The docs list `SPINDOWN`/`TIMEOUT`/`FAILURE`; RAPID sends lower case.
/// Serialised in lower case (RAPID); parsed case-insensitively; any other value is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Normal spin-down of an idle environment.
    Spindown,
    /// The function timed out.
    Timeout,
    /// The runtime or an extension failed.
    Failure,
    /// A value not known today, kept verbatim.
    Other(String),
}

impl ShutdownReason {
    /// The wire value (`spindown`, `timeout`, `failure`, or the unknown value).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Spindown => "spindown",
            Self::Timeout => "timeout",
            Self::Failure => "failure",
            Self::Other(s) => s,
        }
    }

    /// Parses case-insensitively.
    pub fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "spindown" => Self::Spindown,
            "timeout" => Self::Timeout,
            "failure" => Self::Failure,
            _ => Self::Other(s.to_owned()),
        }
    }
}

impl Serialize for ShutdownReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ShutdownReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}
