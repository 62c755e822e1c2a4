//! Runtime API, version 2018-06-01: the interface between a Lambda runtime and the execution
//! environment. Source: *Runtime API* (<https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html>)
//! and RAPID (`internal/lambda/rapi/...` in `aws/aws-lambda-runtime-interface-emulator`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Path prefix of every Runtime API call (Runtime API: `/2018-06-01/runtime/...`).
pub const PREFIX: &str = "/2018-06-01/runtime";
/// `GET` long-poll for the next event; body = event payload (Runtime API, "Next invocation").
pub const NEXT_PATH: &str = "/2018-06-01/runtime/invocation/next";
/// `POST` an initialization error (Runtime API, "Initialization error").
pub const INIT_ERROR_PATH: &str = "/2018-06-01/runtime/init/error";
/// `GET` the SnapStart restore event (RAPID registers it only with init caching).
pub const RESTORE_NEXT_PATH: &str = "/2018-06-01/runtime/restore/next";
/// `POST` a SnapStart after-restore error (RAPID).
pub const RESTORE_ERROR_PATH: &str = "/2018-06-01/runtime/restore/error";

/// `POST /2018-06-01/runtime/invocation/{request_id}/response` (Runtime API, "Invocation response").
pub fn response_path(request_id: &str) -> String {
    format!("{PREFIX}/invocation/{request_id}/response")
}

/// `POST /2018-06-01/runtime/invocation/{request_id}/error` (Runtime API, "Invocation error").
pub fn error_path(request_id: &str) -> String {
    format!("{PREFIX}/invocation/{request_id}/error")
}

/// Which invocation call a Runtime API path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationCall<'a> {
    /// `GET .../invocation/next`.
    Next,
    /// `POST .../invocation/{id}/response` with the request id.
    Response(&'a str),
    /// `POST .../invocation/{id}/error` with the request id.
    Error(&'a str),
    /// `POST .../init/error`.
    InitError,
}

/// Parses a Runtime API path (without query) into the call it names, or `None` for any other
/// path. Used by servers (the lab) and proxies (the extension) alike.
pub fn parse_path(path: &str) -> Option<InvocationCall<'_>> {
    if path == NEXT_PATH {
        return Some(InvocationCall::Next);
    }
    if path == INIT_ERROR_PATH {
        return Some(InvocationCall::InitError);
    }
    let rest = path.strip_prefix(PREFIX)?.strip_prefix("/invocation/")?;
    let (id, call) = rest.split_once('/')?;
    if id.is_empty() {
        return None;
    }
    match call {
        "response" => Some(InvocationCall::Response(id)),
        "error" => Some(InvocationCall::Error(id)),
        _ => None,
    }
}

/// `/next` response header: the request id (UUID) (Runtime API).
pub const HEADER_REQUEST_ID: &str = "Lambda-Runtime-Aws-Request-Id";
/// `/next` response header: absolute deadline, Unix epoch milliseconds (Runtime API).
pub const HEADER_DEADLINE_MS: &str = "Lambda-Runtime-Deadline-Ms";
/// `/next` response header: the function ARN as invoked (unqualified, version or alias) (Runtime API).
pub const HEADER_INVOKED_FUNCTION_ARN: &str = "Lambda-Runtime-Invoked-Function-Arn";
/// `/next` response header: X-Ray tracing header `Root=...;Parent=...;Sampled=1` (Runtime API).
pub const HEADER_TRACE_ID: &str = "Lambda-Runtime-Trace-Id";
/// `/next` response header: client context JSON, mobile SDK clients only (Runtime API).
pub const HEADER_CLIENT_CONTEXT: &str = "Lambda-Runtime-Client-Context";
/// `/next` response header: Cognito identity JSON (Runtime API; RAPID `model/cognitoidentity.go`).
pub const HEADER_COGNITO_IDENTITY: &str = "Lambda-Runtime-Cognito-Identity";
/// `/next` response header: tenant id with tenant isolation (`lambda_runtime` 1.5 `constants.rs`).
pub const HEADER_TENANT_ID: &str = "Lambda-Runtime-Aws-Tenant-Id";
/// `/next` response header echoed by `lambda_runtime` 1.5 on `/response` and `/error`, so RAPID
/// can reject stale responses; absent on older RAPID (`lambda_runtime` 1.5 `api_response.rs`).
pub const HEADER_INVOCATION_ID: &str = "Lambda-Runtime-Invocation-Id";
/// `/error` request header: error type, recommended `Category.Reason` (Runtime API); also a
/// streaming trailer (RAPID `invocationresponse.go`).
pub const HEADER_FUNCTION_ERROR_TYPE: &str = "Lambda-Runtime-Function-Error-Type";
/// Streaming trailer carrying a mid-stream error body (RAPID `invocationresponse.go`).
pub const TRAILER_FUNCTION_ERROR_BODY: &str = "Lambda-Runtime-Function-Error-Body";
/// `/response` request header selecting the response mode; only [`RESPONSE_MODE_STREAMING`]
/// is valid (RAPID `invocationresponse.go`).
pub const HEADER_FUNCTION_RESPONSE_MODE: &str = "Lambda-Runtime-Function-Response-Mode";
/// The one valid value of [`HEADER_FUNCTION_RESPONSE_MODE`].
pub const RESPONSE_MODE_STREAMING: &str = "streaming";
/// Optional `/error` request header with an X-Ray error cause (Runtime API).
pub const HEADER_XRAY_ERROR_CAUSE: &str = "Lambda-Runtime-Function-XRay-Error-Cause";
/// `/error` content type whose body carries an X-Ray error cause (Runtime API; RAPID
/// `errorWithCauseContentType`).
pub const CONTENT_TYPE_ERROR_CAUSE: &str = "application/vnd.aws.lambda.error.cause+json";
/// Content type a streamed function-URL response uses (`lambda_runtime` streaming branch).
pub const CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE: &str =
    "application/vnd.awslambda.http-integration-response";
/// What ends the JSON prelude (`{"statusCode":..,"headers":{..},"cookies":[..]}`) of a streamed
/// [`CONTENT_TYPE_HTTP_INTEGRATION_RESPONSE`] body: 8 NUL bytes, then the HTTP body
/// (`lambda_runtime` streaming branch).
pub const PRELUDE_DELIMITER: [u8; 8] = [0; 8];

/// RAPID's maximum sync payload: `MaxPayloadSize = 6*1024*1024 + 100` bytes (RIE
/// `internal/lambda/interop/model.go`); the documented limit is 6 MB (Lambda quotas).
pub const MAX_PAYLOAD_SIZE: usize = 6 * 1024 * 1024 + 100;
/// Error type RAPID puts in its 413 body when `/response` exceeds [`MAX_PAYLOAD_SIZE`].
pub const ERROR_TYPE_REQUEST_TOO_LARGE: &str = "RequestEntityTooLarge";
/// Error message of the 413 body (RAPID; exact text).
pub const PAYLOAD_TOO_LARGE_MESSAGE: &str =
    "Exceeded maximum allowed payload size (6291556 bytes).";
/// Error type the invoker sees when the response was too large (RAPID).
pub const ERROR_TYPE_RESPONSE_SIZE_TOO_LARGE: &str = "Function.ResponseSizeTooLarge";
/// Error type RAPID answers (400) for a response-mode header other than `streaming`.
pub const ERROR_TYPE_INVALID_RESPONSE_MODE: &str = "InvalidFunctionResponseMode";
/// Error type of the failed invoke after an invalid response-mode header (RAPID).
pub const ERROR_TYPE_INVALID_RESPONSE_MODE_HEADER: &str = "Runtime.InvalidResponseModeHeader";
/// Normalised runtime error type when the reported one is not valid (RAPID `fatalerror`).
pub const ERROR_TYPE_RUNTIME_UNKNOWN: &str = "Runtime.Unknown";
/// Normalised function error type when the reported one starts `Function.` but is not valid.
pub const ERROR_TYPE_FUNCTION_UNKNOWN: &str = "Function.Unknown";
/// Largest streamed response: 200 MB ("Response streaming for Lambda functions", Lambda developer
/// guide, 2025; it was 20 MB before). The first 6 MB stream uncapped, the rest at up to 2 MB/s.
pub const MAX_STREAMED_RESPONSE_SIZE: u64 = 200 * 1024 * 1024;
/// Error type of a streamed response that ended without its terminating chunk (RAPID
/// `fatalerror.TruncatedResponse`).
pub const ERROR_TYPE_TRUNCATED_RESPONSE: &str = "Runtime.TruncatedResponse";
/// Error type `lambda_runtime` 1.5 sends on `/init/error` (`src/requests.rs`).
pub const ERROR_TYPE_INIT_ERROR: &str = "Runtime.InitError";

/// Body of an error report on `/invocation/{id}/error`, `/init/error` and the extension error
/// endpoints: `{"errorMessage", "errorType", "stackTrace"}`, all optional (Runtime API,
/// "Invocation error"; the body itself is optional). Unknown members are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorRequest {
    /// Human-readable error message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// Error type, e.g. `Runtime.NoSuchHandler` or a language exception name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_type: Option<String>,
    /// Stack trace lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<Vec<String>>,
    /// Any other members the runtime sent (kept for lossless round trips).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ErrorRequest {
    /// Parses an error body leniently: an empty or non-JSON body yields `None` (the body is
    /// optional in the Runtime API and RAPID does not reject malformed ones).
    pub fn parse_lenient(body: &[u8]) -> Option<Self> {
        serde_json::from_slice(body).ok()
    }
}

/// Success body RAPID returns (202) for `/response`, `/error` and `/init/error`:
/// `{"status":"OK"}` (Runtime API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusResponse {
    /// Always `"OK"` on success.
    pub status: String,
}

impl StatusResponse {
    /// The `{"status":"OK"}` body.
    pub fn ok() -> Self {
        Self {
            status: "OK".to_owned(),
        }
    }
}

/// Error body RAPID returns from the Runtime, Extensions and Telemetry APIs:
/// `{"errorType", "errorMessage"}` (Runtime API "ErrorResponse"; RAPID `rendering.go`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    /// Machine-readable type, e.g. `RequestEntityTooLarge`, `Extension.RegistrationClosed`.
    pub error_type: String,
    /// Human-readable message.
    pub error_message: String,
}

impl ErrorResponse {
    /// Builds an error body.
    pub fn new(error_type: impl Into<String>, error_message: impl Into<String>) -> Self {
        Self {
            error_type: error_type.into(),
            error_message: error_message.into(),
        }
    }

    /// The 413 body RAPID returns when `/response` exceeds [`MAX_PAYLOAD_SIZE`].
    pub fn payload_too_large() -> Self {
        Self::new(ERROR_TYPE_REQUEST_TOO_LARGE, PAYLOAD_TOO_LARGE_MESSAGE)
    }
}

/// Normalises a reported `Lambda-Runtime-Function-Error-Type` the way RAPID does
/// (`fatalerror.GetValidRuntimeOrFunctionErrorType`): a value matching
/// `^(Runtime|Function)\.[A-Z][a-zA-Z]+$` is kept; otherwise `Function.Unknown` if it starts with
/// `Function.`, else `Runtime.Unknown`.
///
/// The match is anchored, as in RAPID's newer `internal/lambda-managed-instances` tree (its fuzz
/// test rejects `"Runtime.MyError\n"`); the classic `internal/lambda` RAPID calls an unanchored
/// `regexp.MatchString`, which would also keep a value that merely *contains* such a substring.
///
/// ```
/// use protocol::runtime::normalize_error_type;
/// assert_eq!(normalize_error_type("Runtime.NoSuchHandler"), "Runtime.NoSuchHandler");
/// assert_eq!(normalize_error_type("unhandled"), "Runtime.Unknown");
/// assert_eq!(normalize_error_type("Function.oops"), "Function.Unknown");
/// ```
pub fn normalize_error_type(error_type: &str) -> &str {
    if is_valid_error_type(error_type) {
        error_type
    } else if error_type.starts_with("Function.") {
        ERROR_TYPE_FUNCTION_UNKNOWN
    } else {
        ERROR_TYPE_RUNTIME_UNKNOWN
    }
}

/// True if `error_type` matches `^(Runtime|Function)\.[A-Z][a-zA-Z]+$` (RAPID).
pub fn is_valid_error_type(error_type: &str) -> bool {
    let Some(reason) = error_type
        .strip_prefix("Runtime.")
        .or_else(|| error_type.strip_prefix("Function."))
    else {
        return false;
    };
    let mut chars = reason.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && reason.len() >= 2
        && chars.all(|c| c.is_ascii_alphabetic())
}

/// Cognito identity sent in `Lambda-Runtime-Cognito-Identity` (RAPID `model/cognitoidentity.go`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CognitoIdentity {
    /// The Cognito identity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_identity_id: Option<String>,
    /// The Cognito identity pool id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_identity_pool_id: Option<String>,
}
