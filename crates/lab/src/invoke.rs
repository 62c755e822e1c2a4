//! The contract between the front doors (API Gateway, Invoke API) and what runs invocations
//! (a version's pool of execution environments, or an alias routing between two pools).

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

pub use crate::response_stream::{ResponseStream, StreamOutcome, StreamParts};

/// One invocation as the front door hands it over.
#[derive(Debug, Clone, Default)]
pub struct InvokeRequest {
    /// The event payload (JSON for API Gateway events; any bytes for a direct Invoke).
    pub payload: Bytes,
    /// The ARN as invoked (unqualified, version- or alias-qualified), sent to the runtime as
    /// `Lambda-Runtime-Invoked-Function-Arn`; `None` lets the pool build the qualified one.
    pub invoked_function_arn: Option<String>,
    /// `Lambda-Runtime-Client-Context` (base64-decoded JSON), when the caller sent one.
    pub client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity` JSON, when the caller sent one.
    pub cognito_identity: Option<String>,
    /// X-Ray trace header; the pool makes one up when absent.
    pub trace_id: Option<String>,
    /// The invocation's request id (the runtime's `Lambda-Runtime-Aws-Request-Id`, the id in
    /// the `START`/`END`/`REPORT` lines); Lambda's Invoke API uses its own `x-amzn-RequestId`.
    /// `None`: the environment makes one up.
    pub request_id: Option<String>,
    /// The caller can take a streamed response chunk by chunk (`InvokeWithResponseStream`, a
    /// `RESPONSE_STREAM` function URL). When false, a response the runtime streams is read whole
    /// (up to 6 MB), as Lambda's `Invoke` does.
    pub response_stream: bool,
}

/// How an invocation ended, as Lambda's `Invoke` API reports it.
#[derive(Debug, Clone, PartialEq)]
pub enum InvokeOutcome {
    /// The runtime posted `/response`: the response payload as the function returned it.
    Success {
        /// Response bytes, exactly as posted by the runtime.
        body: Bytes,
    },
    /// The invocation failed inside the function (`X-Amz-Function-Error: Unhandled` / `Handled`):
    /// the runtime posted `/error`, timed out, crashed, or exceeded the response size.
    FunctionError {
        /// Lambda's error type, e.g. `Runtime.ExitError`, `Sandbox.Timedout`,
        /// `Function.ResponseSizeTooLarge`, or the type the runtime posted.
        error_type: String,
        /// The error document returned to the caller
        /// (`{"errorMessage": ..., "errorType": ...}`).
        body: Bytes,
    },
    /// The runtime streamed its response and the caller asked for a stream
    /// ([`InvokeRequest::response_stream`]): chunks as they come, then the outcome.
    Streamed(ResponseStream),
}

/// The result of one invocation.
#[derive(Debug, Clone, PartialEq)]
pub struct InvokeResponse {
    /// The version whose environment ran it (`X-Amz-Executed-Version`).
    pub executed_version: String,
    /// True when the environment was started for this invocation (cold start).
    pub cold_start: bool,
    /// What happened.
    pub outcome: InvokeOutcome,
}

/// Why an invocation could not run at all (the Lambda service's own errors).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvokeError {
    /// Concurrency limit reached: `429 TooManyRequestsException`, reason `ReservedFunctionConcurrentInvocationLimitExceeded`.
    #[error("rate exceeded: {0}")]
    Throttled(String),
    /// No such function, version or alias: `404 ResourceNotFoundException`.
    #[error("not found: {0}")]
    NotFound(String),
    /// The request payload exceeds 6 MB: `413 RequestTooLargeException`.
    #[error("request too large: {0}")]
    RequestTooLarge(String),
    /// The environment could not be started (init failed): `502`/`500` with the init error type.
    #[error("{error_type}: {message}")]
    Service {
        /// HTTP status Lambda answers with.
        status: u16,
        /// Lambda's error type, e.g. `Runtime.InitError`, `ServiceException`.
        error_type: String,
        /// Human-readable message.
        message: String,
    },
}

/// A boxed invocation future.
pub type InvokeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<InvokeResponse, InvokeError>> + Send + 'a>>;

/// Something that runs invocations: a version's pool of environments, or an alias.
pub trait Invoker: Send + Sync {
    /// Runs one invocation to its end.
    fn invoke(&self, request: InvokeRequest) -> InvokeFuture<'_>;
}
