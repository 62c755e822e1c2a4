//! `Invoke`: `POST /2015-03-31/functions/{FunctionName}/invocations` with `?Qualifier=`, the
//! `X-Amz-Invocation-Type` (`RequestResponse`, `Event`, `DryRun`), `X-Amz-Client-Context` and
//! `X-Amz-Log-Type` headers. Answers carry `X-Amz-Executed-Version`, and
//! `X-Amz-Function-Error: Unhandled` on function errors.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Method, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use protocol::lambda_api::LATEST;

use super::InvokeApi;
use super::error::{ApiError, Kind, not_found};
use super::function_name::{ArnHome, arn_of, function_and_qualifier};
use super::routes::{Operation, routes};
use crate::api::http::json_response;
use crate::invoke::{InvokeOutcome, InvokeRequest, Invoker, StreamOutcome};

/// Synchronous invocation payload limit: 6 MB (LAMBDA-FACTS §1).
pub const SYNC_PAYLOAD_LIMIT: usize = protocol::lambda_api::limits::SYNC_PAYLOAD_MAX;
/// Asynchronous (`Event`) invocation payload limit: 1 MB (LAMBDA-FACTS §1, 2025).
pub const ASYNC_PAYLOAD_LIMIT: usize = protocol::lambda_api::limits::ASYNC_PAYLOAD_MAX;
/// `X-Amz-Log-Result` carries at most the last 4 KB of the invocation's logs.
pub const LOG_TAIL_BYTES: usize = 4096;

/// `X-Amz-Invocation-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous (default).
    RequestResponse,
    /// Asynchronous: `202`, the invocation runs in the background.
    Event,
    /// Validate only: `204`.
    DryRun,
}

/// A parsed Invoke request: which function and qualifier, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvokeCall {
    /// Function name (from a name, partial ARN or full ARN).
    pub function: String,
    /// Qualifier (`?Qualifier=` or the ARN's), if any.
    pub qualifier: Option<String>,
    /// Where the function name's ARN says the function lives, if it is an ARN.
    pub home: ArnHome,
    /// Invocation type.
    pub invocation_type: InvocationType,
    /// Decoded client context.
    pub client_context: Option<String>,
    /// `X-Amz-Log-Type: Tail`.
    pub tail: bool,
}

/// Parses the path, query and headers of an Invoke request (pure).
pub fn parse_invoke(
    method: &Method,
    path: &str,
    query: Option<&str>,
    headers: &http::HeaderMap,
) -> Result<InvokeCall, ApiError> {
    match routes(method, path)? {
        Operation::Invoke { function } => invoke_call(&function, query, headers),
        _ => Err(ApiError::new(
            Kind::UnknownOperation,
            format!("{method} {path} is not Invoke"),
        )),
    }
}

/// The Invoke call on `name` (as its path named it) with `query` and `headers`.
pub(super) fn invoke_call(
    name: &str,
    query: Option<&str>,
    headers: &http::HeaderMap,
) -> Result<InvokeCall, ApiError> {
    let (function, qualifier, home) = function_and_qualifier(name, query)?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let invocation_type = match header("x-amz-invocation-type") {
        None | Some("RequestResponse") => InvocationType::RequestResponse,
        Some("Event") => InvocationType::Event,
        Some("DryRun") => InvocationType::DryRun,
        Some(other) => {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                format!(
                    "X-Amz-Invocation-Type {other:?} is invalid: use RequestResponse, Event or DryRun"
                ),
            ));
        }
    };
    let client_context = match header("x-amz-client-context") {
        None => None,
        Some(b64) => Some(
            BASE64
                .decode(b64)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .ok_or_else(|| {
                    ApiError::new(
                        Kind::InvalidRequestContent,
                        "Client context must be a valid Base64-encoded JSON object.",
                    )
                })?,
        ),
    };
    Ok(InvokeCall {
        function: function.to_owned(),
        qualifier,
        home,
        invocation_type,
        client_context,
        tail: header("x-amz-log-type") == Some("Tail"),
    })
}

impl InvokeApi {
    /// `Invoke` of `function` (as its path named it).
    pub(super) async fn invoke(
        &self,
        function: String,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: Incoming,
        request_id: &str,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let call = invoke_call(&function, query, headers)?;
        let limit = match call.invocation_type {
            InvocationType::Event => ASYNC_PAYLOAD_LIMIT,
            _ => SYNC_PAYLOAD_LIMIT,
        };
        let (invoker, request) = self.prepare(&call, body, limit, request_id).await?;
        match call.invocation_type {
            InvocationType::DryRun => Ok(empty(StatusCode::NO_CONTENT)),
            InvocationType::Event => {
                tokio::spawn(async move {
                    if let Err(e) = invoker.invoke(request).await {
                        tracing::warn!(error = %e, "asynchronous invocation failed");
                    }
                });
                Ok(empty(StatusCode::ACCEPTED))
            }
            InvocationType::RequestResponse => {
                let result = invoker.invoke(request).await?;
                let (body, function_error) = match result.outcome {
                    InvokeOutcome::Success { body } => (body, false),
                    InvokeOutcome::FunctionError { body, .. } => (body, true),
                    // Not asked for (`response_stream` is false); read whole if it comes.
                    InvokeOutcome::Streamed(stream) => match stream.collect().await {
                        (body, StreamOutcome::Complete) => (body, false),
                        (_, StreamOutcome::Failed { body, .. }) => (body, true),
                    },
                };
                let mut response = json_response(StatusCode::OK, body);
                let headers = response.headers_mut();
                if let Ok(v) = HeaderValue::from_str(&result.executed_version) {
                    headers.insert("x-amz-executed-version", v);
                }
                if function_error {
                    headers.insert(
                        "x-amz-function-error",
                        HeaderValue::from_static("Unhandled"),
                    );
                }
                if call.tail
                    && let Some(tail) =
                        self.log_result(&call.function, &result.executed_version, request_id)
                    && let Ok(v) = HeaderValue::from_str(&tail)
                {
                    headers.insert("x-amz-log-result", v);
                }
                Ok(response)
            }
        }
    }
}

impl InvokeApi {
    /// Checks the function's home and existence, reads the payload (JSON, up to `limit`) and
    /// builds the invocation: what `Invoke` and `InvokeWithResponseStream` share.
    pub(super) async fn prepare(
        &self,
        call: &InvokeCall,
        body: Incoming,
        limit: usize,
        request_id: &str,
    ) -> Result<(Arc<dyn Invoker>, InvokeRequest), ApiError> {
        self.check_home(
            &call.home,
            || {
                arn_of(
                    self.lab_home(),
                    &call.function,
                    &call.home,
                    call.qualifier.as_deref(),
                )
            },
            "lambda:InvokeFunction",
        )?;
        let qualifier = call.qualifier.clone().unwrap_or_else(|| LATEST.to_owned());
        if self
            .registry
            .snapshot()
            .resolve(&call.function, Some(&qualifier))
            .is_err()
        {
            return Err(not_found(
                "Function",
                self.arn(&call.function, Some(&qualifier)),
            ));
        }
        let invoker: Arc<dyn Invoker> =
            Arc::new(self.registry.invoker(&call.function, Some(&qualifier)));
        let payload = Limited::new(body, limit)
            .collect()
            .await
            .map(|c| c.to_bytes())
            .map_err(|_| {
                ApiError::new(Kind::RequestTooLarge,
                    format!("Request must be smaller than {limit} bytes for the InvokeFunction operation"),
                )
            })?;
        if !payload.is_empty()
            && let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(&payload)
        {
            // Lambda passes only JSON to functions (LAMBDA-FACTS §1), and says so with its
            // parser's complaint.
            return Err(ApiError::new(
                Kind::InvalidRequestContent,
                format!(
                    "Could not parse request body into json: Could not parse payload into json: {e}"
                ),
            ));
        }
        let request = InvokeRequest {
            payload: if payload.is_empty() {
                Bytes::from_static(b"{}")
            } else {
                payload
            },
            invoked_function_arn: Some(self.arn(&call.function, call.qualifier.as_deref())),
            client_context: call.client_context.clone(),
            request_id: Some(request_id.to_owned()),
            ..InvokeRequest::default()
        };
        Ok((invoker, request))
    }

    /// The logs of invocation `request_id`, run by `version` of `function`, from that version's
    /// logs in the registry.
    pub(super) fn log_tail(
        &self,
        function: &str,
        version: &str,
        request_id: &str,
    ) -> Option<String> {
        let snapshot = self.registry.snapshot();
        let version = snapshot.functions.get(function)?.version(version)?;
        version.logs.as_ref()?.tail(request_id)
    }
}

impl InvokeApi {
    /// `LogResult`: the last 4 KB of the invocation's logs, base64.
    pub(super) fn log_result(
        &self,
        function: &str,
        version: &str,
        request_id: &str,
    ) -> Option<String> {
        let logs = self.log_tail(function, version, request_id)?;
        let start = logs.len().saturating_sub(LOG_TAIL_BYTES);
        let start = (start..logs.len())
            .find(|i| logs.is_char_boundary(*i))
            .unwrap_or(logs.len());
        Some(BASE64.encode(&logs[start..]))
    }
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}
