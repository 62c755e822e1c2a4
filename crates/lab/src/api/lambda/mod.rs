//! A subset of the Lambda REST API (`2015-03-31`), as `sam local start-lambda` offers it and
//! more: `POST /2015-03-31/functions/{FunctionName}/invocations` with `?Qualifier=`, the
//! `X-Amz-Invocation-Type` (`RequestResponse`, `Event`, `DryRun`), `X-Amz-Client-Context` and
//! `X-Amz-Log-Type` headers. Answers carry `X-Amz-Executed-Version`, and
//! `X-Amz-Function-Error: Unhandled` on function errors; Lambda's own errors come with their
//! status, `x-amzn-ErrorType` header and JSON body. The same listener serves `GetAlias` /
//! `UpdateAlias` ([`super::alias_api`]) and `ListVersionsByFunction`, `GetFunction`,
//! `GetFunctionConfiguration` ([`super::versions_api`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use protocol::lambda_api::LATEST;

pub use error::ApiError;
use error::{Kind, not_found};
pub use routes::{Operation, routes};

pub mod aliases;
mod error;
mod function_name;
pub mod routes;
pub mod versions;

use crate::api::gateway::server::{Handler, Listener, ResponseFuture, json_response};
use crate::control::alias::Alias;
use crate::invoke::{InvokeOutcome, InvokeRequest, Invoker};
use aliases::{alias_document, update_alias};
pub use function_name::ArnHome;
use function_name::{arn_of, check_home, function_and_qualifier, split_function_name};
use versions::{
    FunctionRead, VersionInfo, find_version, function_configuration, get_function, list_versions,
};

/// Synchronous invocation payload limit: 6 MB (LAMBDA-FACTS §1).
pub const SYNC_PAYLOAD_LIMIT: usize = protocol::lambda_api::limits::SYNC_PAYLOAD_MAX;
/// Asynchronous (`Event`) invocation payload limit: 1 MB (LAMBDA-FACTS §1, 2025).
pub const ASYNC_PAYLOAD_LIMIT: usize = protocol::lambda_api::limits::ASYNC_PAYLOAD_MAX;
/// `X-Amz-Log-Result` carries at most the last 4 KB of the invocation's logs.
pub const LOG_TAIL_BYTES: usize = 4096;

/// Where the Invoke API finds an invocation's logs, for `X-Amz-Log-Type: Tail`.
pub trait LogTail: Send + Sync {
    /// The log text of invocation `request_id`, run by `version`, if the lab keeps it.
    fn tail(&self, version: &str, request_id: &str) -> Option<String>;
}

/// One function as the Invoke API sees it: invokers by qualifier (versions, `$LATEST`, aliases).
#[derive(Clone)]
pub struct Function {
    /// The function's name.
    pub name: String,
    /// Region in ARNs.
    pub region: String,
    /// Account in ARNs.
    pub account_id: String,
    /// Invokers by qualifier: `"1"`, `"2"`, `"$LATEST"`, `"live"`.
    pub qualifiers: BTreeMap<String, Arc<dyn Invoker>>,
    /// Logs for `Tail`, when available.
    pub logs: Option<Arc<dyn LogTail>>,
    /// Aliases by name, for `GetAlias` / `UpdateAlias` (invoke them through `qualifiers`).
    pub aliases: BTreeMap<String, Arc<Alias>>,
    /// Versions as `ListVersionsByFunction` lists them (`$LATEST` first).
    pub versions: Vec<VersionInfo>,
}

impl std::fmt::Debug for Function {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Function")
            .field("name", &self.name)
            .field("qualifiers", &self.qualifiers.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Function {
    /// A function with no qualifiers yet, in `us-east-1`, account `123456789012`.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            region: "us-east-1".into(),
            account_id: "123456789012".into(),
            qualifiers: BTreeMap::new(),
            logs: None,
            aliases: BTreeMap::new(),
            versions: Vec::new(),
        }
    }

    /// Adds the invoker of a version or alias.
    pub fn with(mut self, qualifier: impl Into<String>, invoker: Arc<dyn Invoker>) -> Self {
        self.qualifiers.insert(qualifier.into(), invoker);
        self
    }

    /// The ARN as invoked: unqualified, or qualified by `qualifier`.
    pub fn arn(&self, qualifier: Option<&str>) -> String {
        let base = format!(
            "arn:aws:lambda:{}:{}:function:{}",
            self.region, self.account_id, self.name
        );
        match qualifier {
            Some(q) => format!("{base}:{q}"),
            None => base,
        }
    }
}

/// The Lambda Invoke API front door over a set of functions.
#[derive(Debug, Clone, Default)]
pub struct InvokeApi {
    functions: BTreeMap<String, Function>,
}

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
fn invoke_call(
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
    /// The lab's region and account (those of its functions).
    fn lab_home(&self) -> (&str, &str) {
        self.functions
            .values()
            .next()
            .map(|f| (f.region.as_str(), f.account_id.as_str()))
            .unwrap_or(("us-east-1", "123456789012"))
    }

    /// [`check_home`] against the lab's region and account.
    fn check_home(
        &self,
        home: &ArnHome,
        arn: impl FnOnce() -> String,
        action: &str,
    ) -> Result<(), ApiError> {
        check_home(home, self.lab_home(), arn, action)
    }
}

impl InvokeApi {
    /// An Invoke API over `functions`.
    pub fn new(functions: impl IntoIterator<Item = Function>) -> Self {
        Self {
            functions: functions.into_iter().map(|f| (f.name.clone(), f)).collect(),
        }
    }

    /// Binds `addr` and serves this API.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<Listener> {
        Listener::bind(addr, Arc::new(self)).await
    }

    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        request_id: &str,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (parts, body) = request.into_parts();
        let query = parts.uri.query();
        let function = match routes(&parts.method, parts.uri.path())? {
            Operation::Invoke { function } => function,
            Operation::ListVersionsByFunction { function } => {
                return self.list_versions(&function, query);
            }
            Operation::GetFunction { function } => {
                return self.read_function(&FunctionRead::Function(function), query);
            }
            Operation::GetFunctionConfiguration { function } => {
                return self.read_function(&FunctionRead::Configuration(function), query);
            }
            Operation::GetAlias { function, alias } => {
                return self.alias_operation(&function, &alias, None).await;
            }
            Operation::UpdateAlias { function, alias } => {
                return self.alias_operation(&function, &alias, Some(body)).await;
            }
        };
        let call = invoke_call(&function, query, &parts.headers)?;
        self.check_home(
            &call.home,
            || arn_of(&call.function, &call.home, call.qualifier.as_deref()),
            "lambda:InvokeFunction",
        )?;
        let function = self.functions.get(&call.function).ok_or_else(|| {
            not_found(
                "Function",
                Function::new(&call.function).arn(call.qualifier.as_deref()),
            )
        })?;
        let qualifier = call.qualifier.clone().unwrap_or_else(|| LATEST.to_owned());
        let invoker = function
            .qualifiers
            .get(&qualifier)
            .cloned()
            .ok_or_else(|| not_found("Function", function.arn(Some(&qualifier))))?;
        let limit = match call.invocation_type {
            InvocationType::Event => ASYNC_PAYLOAD_LIMIT,
            _ => SYNC_PAYLOAD_LIMIT,
        };
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
            invoked_function_arn: Some(function.arn(call.qualifier.as_deref())),
            client_context: call.client_context.clone(),
            request_id: Some(request_id.to_owned()),
            ..InvokeRequest::default()
        };
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
                    && let Some(logs) = function
                        .logs
                        .as_ref()
                        .and_then(|l| l.tail(&result.executed_version, request_id))
                {
                    let start = logs.len().saturating_sub(LOG_TAIL_BYTES);
                    let start = (start..logs.len())
                        .find(|i| logs.is_char_boundary(*i))
                        .unwrap_or(logs.len());
                    if let Ok(v) = HeaderValue::from_str(&BASE64.encode(&logs[start..])) {
                        headers.insert("x-amz-log-result", v);
                    }
                }
                Ok(response)
            }
        }
    }
}

impl InvokeApi {
    /// `ListVersionsByFunction` (GET).
    fn list_versions(
        &self,
        name: &str,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, qualifier, home) = split_function_name(name)?;
        let name = name.as_str();
        self.check_home(
            &home,
            || arn_of(name, &home, None),
            "lambda:ListVersionsByFunction",
        )?;
        if qualifier.is_some() {
            return Err(ApiError::new(
                Kind::InvalidParameterValue,
                "ListVersionsByFunction takes an unqualified function name or ARN",
            ));
        }
        let f = self
            .functions
            .get(name)
            .ok_or_else(|| not_found("Function", Function::new(name).arn(None)))?;
        let page = list_versions(&f.arn(None), &f.versions, query)?;
        Ok(json_response(StatusCode::OK, page.to_string()))
    }

    /// `GetFunction` and `GetFunctionConfiguration` (GET).
    fn read_function(
        &self,
        read: &FunctionRead,
        query: Option<&str>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let (name, action) = match read {
            FunctionRead::Function(n) => (n, "lambda:GetFunction"),
            FunctionRead::Configuration(n) => (n, "lambda:GetFunctionConfiguration"),
        };
        let (name, qualifier, home) = function_and_qualifier(name, query)?;
        let qualifier = qualifier.as_deref();
        self.check_home(&home, || arn_of(&name, &home, qualifier), action)?;
        let f = self
            .functions
            .get(&name)
            .ok_or_else(|| not_found("Function", Function::new(&name).arn(qualifier)))?;
        let primary = |alias: &str| f.aliases.get(alias).map(|a| a.routing().primary);
        let version = find_version(&f.versions, qualifier, primary)
            .ok_or_else(|| not_found("Function", f.arn(qualifier)))?;
        let asked = f.arn(qualifier);
        let document = match read {
            FunctionRead::Function(_) => get_function(&asked, version),
            FunctionRead::Configuration(_) => function_configuration(&asked, version),
        };
        Ok(json_response(StatusCode::OK, document.to_string()))
    }

    /// `GetAlias`, or `UpdateAlias` with its request `body`.
    async fn alias_operation(
        &self,
        function: &str,
        name: &str,
        update: Option<Incoming>,
    ) -> Result<Response<Full<Bytes>>, ApiError> {
        let f = self
            .functions
            .get(function)
            .ok_or_else(|| not_found("Alias", Function::new(function).arn(Some(name))))?;
        let alias = f
            .aliases
            .get(name)
            .ok_or_else(|| not_found("Alias", f.arn(Some(name))))?;
        if let Some(body) = update {
            let body = Limited::new(body, 64 * 1024)
                .collect()
                .await
                .map(|c| c.to_bytes())
                .map_err(|_| {
                    ApiError::new(
                        Kind::RequestTooLarge,
                        "UpdateAlias request body is too large",
                    )
                })?;
            update_alias(alias, &body)?;
        }
        let document = alias_document(&f.arn(Some(name)), alias);
        Ok(json_response(StatusCode::OK, document.to_string()))
    }
}

fn empty(status: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    response
}

impl Handler for InvokeApi {
    fn handle(self: Arc<Self>, request: Request<Incoming>, _peer: SocketAddr) -> ResponseFuture {
        Box::pin(async move {
            let request_id = crate::api::gateway::server::new_request_id();
            // As Lambda does, the Invoke call's request id is the invocation's.
            let mut response = self
                .answer(request, &request_id)
                .await
                .unwrap_or_else(|e| e.response());
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-amzn-requestid", v);
            }
            response
        })
    }
}

#[cfg(test)]
mod tests;
