//! A subset of the Lambda REST API (`2015-03-31`), as `sam local start-lambda` offers it and
//! more, on one listener: [`routes()`] names the [`Operation`]; each resource has its file
//! ([`invoke`], `functions.rs`, [`versions`], [`aliases`]); Lambda's own errors come with their
//! status, `x-amzn-ErrorType` header and JSON body ([`ApiError`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;

pub use error::ApiError;
pub use function_name::ArnHome;
pub use invoke::{
    ASYNC_PAYLOAD_LIMIT, InvocationType, InvokeCall, LOG_TAIL_BYTES, SYNC_PAYLOAD_LIMIT,
    parse_invoke,
};
pub use routes::{Operation, routes};

pub mod aliases;
mod error;
mod function_name;
mod functions;
pub mod invoke;
pub mod routes;
pub mod versions;

use crate::api::http::{Handler, Listener, ResponseFuture};
use crate::control::Registry;
use crate::control::alias::Alias;
use crate::control::deployments::Deployments;
use crate::invoke::Invoker;
use function_name::check_home;
use versions::{FunctionRead, VersionInfo};

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
    registry: Option<Arc<Registry>>,
    codedeploy: Option<Arc<Deployments>>,
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
            registry: None,
            codedeploy: None,
        }
    }

    /// Answers CodeDeploy's JSON 1.1 requests (`X-Amz-Target: CodeDeploy_20141006.*`) with
    /// `engine`.
    pub fn with_codedeploy(mut self, engine: Arc<Deployments>) -> Self {
        self.codedeploy = Some(engine);
        self
    }

    /// Mutations (`UpdateAlias`) go through `registry`, serialised with every other one.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
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
        let target = parts
            .headers
            .get(protocol::codedeploy::HEADER_TARGET)
            .and_then(|v| v.to_str().ok());
        if let Some(engine) = &self.codedeploy
            && crate::api::codedeploy::is_codedeploy(target)
        {
            use http_body_util::{BodyExt, Limited};
            let limit = crate::api::codedeploy::BODY_LIMIT;
            return Ok(match Limited::new(body, limit).collect().await {
                Ok(body) => crate::api::codedeploy::answer(engine, target, &body.to_bytes()),
                Err(_) => crate::api::codedeploy::too_large(),
            });
        }
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
        self.invoke(function, query, &parts.headers, body, request_id)
            .await
    }
}

impl Handler for InvokeApi {
    fn handle(self: Arc<Self>, request: Request<Incoming>, _peer: SocketAddr) -> ResponseFuture {
        Box::pin(async move {
            let request_id = crate::api::http::new_request_id();
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
