//! The Telemetry API subscription request, its documented limits and defaults, and the
//! validation Lambda applies (Telemetry API "Subscribe"; RAPID's JSON schema
//! `telemetry-subscription-schema.json` in the managed-instances RIE).

use serde::{Deserialize, Serialize};

use crate::runtime::ErrorResponse;

/// Schema version `2022-07-01` (the one `lambda-extension` 1.1.1 sends).
pub const SCHEMA_VERSION_2022_07_01: &str = "2022-07-01";
/// Schema version `2022-12-13` (Telemetry API reference).
pub const SCHEMA_VERSION_2022_12_13: &str = "2022-12-13";
/// Schema version `2025-01-29` (Telemetry API reference; required on Managed Instances).
pub const SCHEMA_VERSION_2025_01_29: &str = "2025-01-29";
/// Every schema version the live Telemetry API reference lists (2025).
pub const SCHEMA_VERSIONS: [&str; 3] = [
    SCHEMA_VERSION_2022_07_01,
    SCHEMA_VERSION_2022_12_13,
    SCHEMA_VERSION_2025_01_29,
];

/// `buffering.maxItems` default (Telemetry API, "Configuring memory usage and buffering").
pub const DEFAULT_MAX_ITEMS: u32 = 10_000;
/// `buffering.maxItems` minimum.
pub const MIN_MAX_ITEMS: u32 = 1_000;
/// `buffering.maxItems` maximum.
pub const MAX_MAX_ITEMS: u32 = 10_000;
/// `buffering.maxBytes` default (256 KiB).
pub const DEFAULT_MAX_BYTES: u32 = 262_144;
/// `buffering.maxBytes` minimum.
pub const MIN_MAX_BYTES: u32 = 262_144;
/// `buffering.maxBytes` maximum (1 MiB).
pub const MAX_MAX_BYTES: u32 = 1_048_576;
/// `buffering.timeoutMs` default.
pub const DEFAULT_TIMEOUT_MS: u32 = 1_000;
/// `buffering.timeoutMs` minimum.
pub const MIN_TIMEOUT_MS: u32 = 25;
/// `buffering.timeoutMs` maximum.
pub const MAX_TIMEOUT_MS: u32 = 30_000;

/// The only host an HTTP destination may name (Telemetry API: "sandbox.localdomain"); RIE
/// also accepts [`SANDBOX_HOST_SHORT`].
pub const SANDBOX_HOST: &str = "sandbox.localdomain";
/// Short sandbox host name RIE accepts.
pub const SANDBOX_HOST_SHORT: &str = "sandbox";
/// Error type of every 400 answer to an invalid subscription (Telemetry API reference).
pub const ERROR_TYPE_VALIDATION: &str = "ValidationError";
/// Error type once subscriptions are closed, after Init (RIE `GetServiceClosedErrorType`).
pub const ERROR_TYPE_SUBSCRIPTION_CLOSED: &str = "Telemetry.SubscriptionClosed";
/// Success body of a subscription: the JSON string `"OK"` (Telemetry API reference).
pub const SUBSCRIBE_OK_BODY: &str = "\"OK\"";

/// A telemetry stream type (`types` of the subscription; Telemetry API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelemetryType {
    /// `platform.*` records.
    Platform,
    /// Logs the function writes.
    Function,
    /// Logs extensions write.
    Extension,
}

impl TelemetryType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Platform => "platform",
            Self::Function => "function",
            Self::Extension => "extension",
        }
    }
}

/// Body of `PUT /2022-07-01/telemetry` (Telemetry API reference, "Subscribe").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscribeRequest {
    /// One of [`SCHEMA_VERSIONS`].
    pub schema_version: String,
    /// Streams to receive; at least one.
    pub types: Vec<TelemetryType>,
    /// Batching; defaults apply to missing members.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffering: Option<Buffering>,
    /// Where Lambda delivers batches.
    pub destination: Destination,
}

/// `buffering` of a subscription; each member optional (Telemetry API, buffering table).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Buffering {
    /// Maximum events per batch ([`MIN_MAX_ITEMS`]..=[`MAX_MAX_ITEMS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u32>,
    /// Maximum bytes per batch ([`MIN_MAX_BYTES`]..=[`MAX_MAX_BYTES`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_bytes: Option<u32>,
    /// Maximum time to buffer a batch, ms ([`MIN_TIMEOUT_MS`]..=[`MAX_TIMEOUT_MS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u32>,
}

/// Destination protocol: `HTTP` (POST of a JSON array) or `TCP` (NDJSON) (Telemetry API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DestinationProtocol {
    /// `HTTP`, with a `URI`.
    #[serde(rename = "HTTP")]
    Http,
    /// `TCP`, with a `port`.
    #[serde(rename = "TCP")]
    Tcp,
}

/// `destination` of a subscription (Telemetry API reference; RIE JSON schema: HTTP needs `URI`,
/// TCP needs `port`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Destination {
    /// `HTTP` or `TCP`.
    pub protocol: DestinationProtocol,
    /// `http://sandbox.localdomain:<port>[/path]` for HTTP.
    #[serde(rename = "URI", default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// Port for TCP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

impl Destination {
    /// An HTTP destination `http://sandbox.localdomain:<port>`, as `lambda-extension` sends.
    pub fn http_sandbox(port: u16) -> Self {
        Self {
            protocol: DestinationProtocol::Http,
            uri: Some(format!("http://{SANDBOX_HOST}:{port}")),
            port: None,
        }
    }
}

/// A validated subscription with defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The requested schema version.
    pub schema_version: String,
    /// Streams to deliver (deduplicated, sorted).
    pub types: Vec<TelemetryType>,
    /// Effective maximum events per batch.
    pub max_items: u32,
    /// Effective maximum bytes per batch.
    pub max_bytes: u32,
    /// Effective batch timeout, ms.
    pub timeout_ms: u32,
    /// Where to deliver.
    pub target: Target,
}

/// A validated delivery target inside the sandbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// POST JSON arrays to this port; RIE drops the path and posts to `127.0.0.1:<port>`.
    Http {
        /// Port from the URI (80 when absent).
        port: u16,
        /// Path from the URI (`/` when absent).
        path: String,
    },
    /// Stream NDJSON to this port.
    Tcp {
        /// The port.
        port: u16,
    },
}

/// Why Lambda rejects a subscription. Every variant maps to a 400
/// `{"errorType":"ValidationError",...}` ([`SubscriptionError::to_error_response`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The body is not JSON of the subscription shape.
    #[error("Invalid JSON: {0}")]
    InvalidJson(String),
    /// Unknown `schemaVersion`.
    #[error("schemaVersion {0:?} is not supported; use one of 2022-07-01, 2022-12-13, 2025-01-29")]
    SchemaVersion(String),
    /// `types` is empty.
    #[error("types must list at least one of platform, function, extension")]
    NoTypes,
    /// A buffering member is outside its documented range.
    #[error("buffering.{field} = {value} is out of range; it must be between {min} and {max}")]
    Buffering {
        /// `maxItems`, `maxBytes` or `timeoutMs`.
        field: &'static str,
        /// The value given.
        value: u32,
        /// Documented minimum.
        min: u32,
        /// Documented maximum.
        max: u32,
    },
    /// The destination is missing `URI` (HTTP) or `port` (TCP), or the URI is malformed.
    #[error("Invalid destination: {0}")]
    Destination(String),
    /// The destination host is not the sandbox.
    #[error("destination.URI host must be sandbox.localdomain, got {0:?}")]
    Host(String),
}

impl SubscriptionError {
    /// HTTP status Lambda answers with (400).
    pub const STATUS: u16 = 400;

    /// The `{"errorType":"ValidationError","errorMessage":...}` body Lambda returns.
    pub fn to_error_response(&self) -> ErrorResponse {
        ErrorResponse::new(ERROR_TYPE_VALIDATION, self.to_string())
    }
}

/// Parses and validates a subscription body, as the Telemetry API does on `PUT`.
pub fn parse_subscription(body: &[u8]) -> Result<Subscription, SubscriptionError> {
    let request: SubscribeRequest =
        serde_json::from_slice(body).map_err(|e| SubscriptionError::InvalidJson(e.to_string()))?;
    request.validate()
}

fn check_range(
    field: &'static str,
    value: Option<u32>,
    default: u32,
    min: u32,
    max: u32,
) -> Result<u32, SubscriptionError> {
    match value {
        None => Ok(default),
        Some(value) if (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(SubscriptionError::Buffering {
            field,
            value,
            min,
            max,
        }),
    }
}

impl SubscribeRequest {
    /// A request like the one `lambda-extension` 1.1.1 sends: schema `2022-07-01`, HTTP to
    /// `sandbox.localdomain:<port>`, default buffering.
    pub fn http(types: Vec<TelemetryType>, port: u16) -> Self {
        Self {
            schema_version: SCHEMA_VERSION_2022_07_01.to_owned(),
            types,
            buffering: Some(Buffering {
                max_items: Some(DEFAULT_MAX_ITEMS),
                max_bytes: Some(DEFAULT_MAX_BYTES),
                timeout_ms: Some(DEFAULT_TIMEOUT_MS),
            }),
            destination: Destination::http_sandbox(port),
        }
    }

    /// Validates against the documented limits and applies defaults.
    pub fn validate(&self) -> Result<Subscription, SubscriptionError> {
        if !SCHEMA_VERSIONS.contains(&self.schema_version.as_str()) {
            return Err(SubscriptionError::SchemaVersion(
                self.schema_version.clone(),
            ));
        }
        if self.types.is_empty() {
            return Err(SubscriptionError::NoTypes);
        }
        let mut types = self.types.clone();
        types.sort();
        types.dedup();
        let b = self.buffering.unwrap_or_default();
        let max_items = check_range(
            "maxItems",
            b.max_items,
            DEFAULT_MAX_ITEMS,
            MIN_MAX_ITEMS,
            MAX_MAX_ITEMS,
        )?;
        let max_bytes = check_range(
            "maxBytes",
            b.max_bytes,
            DEFAULT_MAX_BYTES,
            MIN_MAX_BYTES,
            MAX_MAX_BYTES,
        )?;
        let timeout_ms = check_range(
            "timeoutMs",
            b.timeout_ms,
            DEFAULT_TIMEOUT_MS,
            MIN_TIMEOUT_MS,
            MAX_TIMEOUT_MS,
        )?;
        let target = match self.destination.protocol {
            DestinationProtocol::Http => {
                let uri = self.destination.uri.as_deref().ok_or_else(|| {
                    SubscriptionError::Destination("HTTP destination needs a URI".to_owned())
                })?;
                parse_sandbox_uri(uri)?
            }
            DestinationProtocol::Tcp => match self.destination.port {
                Some(port) if port > 0 => Target::Tcp { port },
                _ => {
                    return Err(SubscriptionError::Destination(
                        "TCP destination needs a port between 1 and 65535".to_owned(),
                    ));
                }
            },
        };
        Ok(Subscription {
            schema_version: self.schema_version.clone(),
            types,
            max_items,
            max_bytes,
            timeout_ms,
            target,
        })
    }
}

/// Parses `http://sandbox.localdomain[:port][/path]` into an HTTP [`Target`].
pub fn parse_sandbox_uri(uri: &str) -> Result<Target, SubscriptionError> {
    let rest = uri.strip_prefix("http://").ok_or_else(|| {
        SubscriptionError::Destination(format!(
            "URI {uri:?} must start with http:// (HTTPS is not supported)"
        ))
    })?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => {
            let port = port.parse::<u16>().ok().filter(|p| *p > 0).ok_or_else(|| {
                SubscriptionError::Destination(format!("URI {uri:?} has an invalid port {port:?}"))
            })?;
            (host, port)
        }
        None => (authority, 80),
    };
    if !host.eq_ignore_ascii_case(SANDBOX_HOST) && !host.eq_ignore_ascii_case(SANDBOX_HOST_SHORT) {
        return Err(SubscriptionError::Host(host.to_owned()));
    }
    Ok(Target::Http {
        port,
        path: path.to_owned(),
    })
}
