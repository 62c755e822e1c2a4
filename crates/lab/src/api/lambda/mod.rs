//! A subset of the Lambda REST API (`2015-03-31`), as `sam local start-lambda` offers it and
//! more, on one listener: [`routes()`] names the [`Operation`]; each resource has its file
//! ([`invoke`], `functions.rs`, [`versions`], [`aliases`], `layers.rs`); Lambda's own errors come with their
//! status, `x-amzn-ErrorType` header and JSON body ([`ApiError`]).

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;

pub use error::ApiError;
pub use function_changes::FunctionControl;
pub use function_name::ArnHome;
pub use invoke::{
    ASYNC_PAYLOAD_LIMIT, InvocationType, InvokeCall, LOG_TAIL_BYTES, SYNC_PAYLOAD_LIMIT,
    parse_invoke,
};
pub use routes::{Operation, routes};

pub mod aliases;
mod error;
mod function_changes;
mod function_name;
mod functions;
pub mod invoke;
mod layers;
pub mod routes;
pub mod stream;
pub mod versions;

use crate::api::cloudformation::{CloudFormationApi, StackEngine};
use crate::api::http::{Handler, Listener, ResponseFuture, whole};
use crate::control::Registry;
use crate::control::deployments::Deployments;
use crate::control::stacks::Stacks;
use function_name::check_home;
use versions::FunctionRead;

/// The ARN of function `name` in `(region, account)`: unqualified, or qualified by `qualifier`.
pub fn function_arn(
    (region, account): (&str, &str),
    name: &str,
    qualifier: Option<&str>,
) -> String {
    let base = format!("arn:aws:lambda:{region}:{account}:function:{name}");
    match qualifier {
        Some(q) => format!("{base}:{q}"),
        None => base,
    }
}

/// The Lambda API front door over the lab's registry: every read resolves against the
/// registry's current snapshot, every change goes through [`Registry::mutate`].
#[derive(Debug, Clone)]
pub struct InvokeApi {
    registry: Arc<Registry>,
    region: String,
    account_id: String,
    control: Option<Arc<FunctionControl>>,
    codedeploy: Option<Arc<Deployments>>,
    cloudformation: Option<Arc<CloudFormationApi>>,
}

impl InvokeApi {
    /// The lab's region and account (those of its functions).
    fn lab_home(&self) -> (&str, &str) {
        (&self.region, &self.account_id)
    }

    /// The ARN of function `name` in the lab's region and account.
    fn arn(&self, name: &str, qualifier: Option<&str>) -> String {
        function_arn(self.lab_home(), name, qualifier)
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
    /// A Lambda API over `registry`, in the region and account of its functions
    /// (`us-east-1`, `123456789012` when it has none yet).
    pub fn new(registry: Arc<Registry>) -> Self {
        let snapshot = registry.snapshot();
        let (region, account_id) = snapshot
            .functions
            .values()
            .next()
            .map(|f| {
                (
                    f.latest.config.region.clone(),
                    f.latest.config.account_id.clone(),
                )
            })
            .unwrap_or_else(|| ("us-east-1".into(), "123456789012".into()));
        Self {
            registry,
            region,
            account_id,
            control: None,
            codedeploy: None,
            cloudformation: None,
        }
    }

    /// Functions are created and changed (`CreateFunction`, `UpdateFunctionCode`, ...) with
    /// `control`; without it those operations answer `ServiceException`.
    pub fn with_control(mut self, control: FunctionControl) -> Self {
        self.control = Some(Arc::new(control));
        self
    }

    /// Answers CodeDeploy's JSON 1.1 requests (`X-Amz-Target: CodeDeploy_20141006.*`) with
    /// `engine`.
    pub fn with_codedeploy(mut self, engine: Arc<Deployments>) -> Self {
        self.codedeploy = Some(engine);
        self
    }

    /// Answers CloudFormation's Query requests (`POST /` with a form body) over `stacks`;
    /// CreateStack and UpdateStack go to `engine`.
    pub fn with_cloudformation(
        mut self,
        stacks: Arc<Stacks>,
        engine: Option<Arc<dyn StackEngine>>,
    ) -> Self {
        self.cloudformation = Some(Arc::new(CloudFormationApi::new(stacks, engine)));
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
        if let Some(api) = &self.cloudformation
            && parts.method == http::Method::POST
            && parts.uri.path() == "/"
            && crate::api::cloudformation::is_query(
                parts
                    .headers
                    .get(http::header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok()),
            )
        {
            use http_body_util::{BodyExt, Limited};
            let limit = crate::api::cloudformation::BODY_LIMIT;
            return Ok(match Limited::new(body, limit).collect().await {
                Ok(body) => api.answer(&body.to_bytes(), request_id),
                Err(_) => crate::api::cloudformation::too_large(request_id),
            });
        }
        let query = parts.uri.query();
        let function = match routes(&parts.method, parts.uri.path())? {
            Operation::Invoke { function } => function,
            Operation::InvokeWithResponseStream { .. } => {
                return Err(ApiError::new(
                    error::Kind::UnknownOperation,
                    "InvokeWithResponseStream is answered as a stream",
                ));
            }
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
            Operation::CreateFunction => return self.create_function(body).await,
            Operation::ListFunctions => return self.list_functions(query),
            Operation::UpdateFunctionCode { function } => {
                return self.update_code(&function, body).await;
            }
            Operation::UpdateFunctionConfiguration { function } => {
                return self.update_configuration(&function, body).await;
            }
            Operation::PublishVersion { function } => {
                return self.publish_version(&function, body).await;
            }
            Operation::DeleteFunction { function } => {
                return self.delete_function(&function, query);
            }
            Operation::CreateAlias { function } => return self.create_alias(&function, body).await,
            Operation::ListAliases { function } => return self.list_aliases(&function, query),
            Operation::DeleteAlias { function, alias } => {
                return self.delete_alias(&function, &alias);
            }
            Operation::ListLayers => return self.layers_root(query),
            Operation::PublishLayerVersion { layer } => {
                return self.publish_layer_version(&layer, body).await;
            }
            Operation::ListLayerVersions { layer } => {
                return self.list_layer_versions(&layer, query);
            }
            Operation::GetLayerVersion { layer, version } => {
                return self.get_layer_version(&layer, &version);
            }
            Operation::DeleteLayerVersion { layer, version } => {
                return self.delete_layer_version(&layer, &version);
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
            let streaming = match routes(request.method(), request.uri().path()) {
                Ok(Operation::InvokeWithResponseStream { function }) => Some(function),
                _ => None,
            };
            let mut response = match streaming {
                Some(function) => {
                    let (parts, body) = request.into_parts();
                    self.invoke_stream(
                        function,
                        parts.uri.query(),
                        &parts.headers,
                        body,
                        &request_id,
                    )
                    .await
                    .unwrap_or_else(|e| whole(e.response()))
                }
                None => whole(
                    self.answer(request, &request_id)
                        .await
                        .unwrap_or_else(|e| e.response()),
                ),
            };
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("x-amzn-requestid", v);
            }
            response
        })
    }
}

#[cfg(test)]
mod tests;
