//! The API-Gateway-like server: each request is
//! matched to a route, turned into a payload 1.0 or 2.0 event, run by the [`Invoker`], and the
//! function's output turned back into the HTTP response (conversions in [`super::apigw`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;

pub use crate::api::http::{Handler, Listener, ResponseFuture, json_response, new_request_id};
use crate::api::http::{LabBody, whole};

use super::apigw::{self, GatewayFailure, HttpRequestParts, RequestMeta};
use super::route::{LiveRoutes, PayloadFormat, RouteTable};
use crate::control::Registry;
use crate::invoke::{InvokeOutcome, InvokeRequest, InvokeResponse, Invoker};

/// API Gateway's payload limit: 10 MB.
pub const API_PAYLOAD_LIMIT: usize = 10 * 1024 * 1024;

/// Configuration of the API-Gateway-like front door.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// The routes; each carries its payload format.
    pub routes: RouteTable,
    /// Payload format of the API's own answers when no route matches.
    pub default_format: PayloadFormat,
    /// Stage of REST (payload 1.0) events whose route has no stage of its own: `Prod`, as
    /// SAM names it.
    pub rest_stage: String,
    /// Stage of HTTP API (payload 2.0) events whose route has no stage of its own:
    /// `$default`.
    pub http_stage: String,
    /// Integration timeout (REST APIs: 29 s; HTTP APIs: 30 s).
    pub integration_timeout: Duration,
    /// `apiId` in events.
    pub api_id: String,
    /// `accountId` in events.
    pub account_id: String,
}

impl ApiConfig {
    /// A config with SAM's stage names, a 29 s integration timeout and the lab's ids.
    pub fn new(routes: RouteTable, default_format: PayloadFormat) -> Self {
        Self {
            routes,
            default_format,
            rest_stage: "Prod".into(),
            http_stage: "$default".into(),
            integration_timeout: Duration::from_secs(29),
            api_id: "rollcalllab".into(),
            account_id: "123456789012".into(),
        }
    }
}

/// The API-Gateway-like front door: routes, converts and forwards to one [`Invoker`].
pub struct ApiGateway {
    config: ApiConfig,
    /// The routes served now (`config.routes` at first).
    routes: Arc<LiveRoutes>,
    invoker: Arc<dyn Invoker>,
    registry: Option<Arc<Registry>>,
}

impl std::fmt::Debug for ApiGateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiGateway")
            .field("config", &self.config)
            .finish()
    }
}

impl ApiGateway {
    /// A front door forwarding every route to `invoker` (usually an alias).
    pub fn new(config: ApiConfig, invoker: Arc<dyn Invoker>) -> Self {
        Self {
            routes: Arc::new(LiveRoutes::new(config.routes.clone())),
            config,
            invoker,
            registry: None,
        }
    }

    /// Routes with a [`RouteTarget`](super::route::RouteTarget) invoke it through `registry`
    /// (resolved per invocation); the others the default invoker.
    pub fn with_registry(mut self, registry: Arc<Registry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The handle that replaces this front door's routes while it serves.
    pub fn live_routes(&self) -> Arc<LiveRoutes> {
        Arc::clone(&self.routes)
    }

    /// Binds `addr` and serves this front door.
    pub async fn bind(self, addr: SocketAddr) -> std::io::Result<Listener> {
        Listener::bind(addr, Arc::new(self)).await
    }

    async fn answer(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> Response<LabBody> {
        let received = std::time::Instant::now();
        let time = time::OffsetDateTime::now_utc();
        let request_id = new_request_id();
        let (parts, body) = request.into_parts();
        let routes = self.routes.current();
        let Some(matched) = routes.find(parts.method.as_str(), parts.uri.path()) else {
            return whole(not_found(self.config.default_format));
        };
        // A REST route under its stage (`/Prod/hello`): the event's path is the rest.
        let staged_uri = (matched.path != parts.uri.path())
            .then(|| {
                let path_and_query = match parts.uri.query() {
                    Some(q) => format!("{}?{q}", matched.path),
                    None => matched.path.clone(),
                };
                path_and_query.parse::<http::Uri>().ok()
            })
            .flatten();
        let format = matched.route.format;
        let body = match Limited::new(body, API_PAYLOAD_LIMIT).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) => {
                tracing::debug!(error = %e, "request body refused");
                return whole(json_response(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    r#"{"message":"Request Entity Too Large"}"#,
                ));
            }
        };
        let meta = RequestMeta {
            request_id: request_id.clone(),
            time,
            // A route served under its stage (a stack's REST API) names it; else the
            // front door's own.
            stage: matched.route.stage.clone().unwrap_or_else(|| match format {
                PayloadFormat::V1 => self.config.rest_stage.clone(),
                PayloadFormat::V2 => self.config.http_stage.clone(),
            }),
            api_id: self.config.api_id.clone(),
            account_id: self.config.account_id.clone(),
        };
        let http_parts = HttpRequestParts {
            method: &parts.method,
            uri: staged_uri.as_ref().unwrap_or(&parts.uri),
            version: parts.version,
            headers: &parts.headers,
            body: &body,
            source_ip: peer.ip(),
        };
        let payload = apigw::event_payload(format, &http_parts, &matched, &meta);
        let invoke = InvokeRequest {
            payload,
            response_stream: matched.route.stream,
            ..InvokeRequest::default()
        };
        let converted = received.elapsed();
        // The invocation runs to its end even when the integration times out, as in AWS.
        let invoker: Arc<dyn Invoker> = match (&matched.route.target, &self.registry) {
            (Some(t), Some(registry)) => {
                Arc::new(registry.invoker(&t.function, t.qualifier.as_deref()))
            }
            _ => Arc::clone(&self.invoker),
        };
        let running = tokio::spawn(async move { invoker.invoke(invoke).await });
        let (response, failure) =
            match tokio::time::timeout(self.config.integration_timeout, running).await {
                // A STREAM route's streamed answer (the timeout above covers its head only).
                Ok(Ok(Ok(InvokeResponse {
                    outcome: InvokeOutcome::Streamed(stream),
                    ..
                }))) => {
                    let mut response = match stream.take() {
                        Some(parts) => crate::api::url::streamed(parts).await,
                        None => whole(json_response(
                            StatusCode::BAD_GATEWAY,
                            r#"{"message":"Internal server error"}"#,
                        )),
                    };
                    if let Ok(value) = HeaderValue::from_str(&request_id) {
                        response.headers_mut().insert("x-amzn-requestid", value);
                    }
                    return response;
                }
                Ok(Ok(result)) => apigw::gateway_response(format, &result),
                Ok(Err(join)) => {
                    tracing::error!(error = %join, "invocation task failed");
                    let failure = GatewayFailure::FunctionError;
                    (apigw::failure_response(format, failure), Some(failure))
                }
                Err(_) => {
                    let failure = GatewayFailure::IntegrationTimeout;
                    (apigw::failure_response(format, failure), Some(failure))
                }
            };
        if let Some(failure) = failure {
            tracing::debug!(?failure, %request_id, "API Gateway answered for the function");
        }
        tracing::debug!(
            target: "lab::timing",
            %request_id,
            convert_us = converted.as_micros() as u64,
            invoked_us = received.elapsed().as_micros() as u64,
            "front door request"
        );
        let (mut head, body) = response.into_parts();
        let id_header = match format {
            PayloadFormat::V1 => "x-amzn-requestid",
            PayloadFormat::V2 => "apigw-requestid",
        };
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            head.headers.insert(id_header, value);
        }
        Response::from_parts(head, LabBody::Left(Full::new(body)))
    }
}

impl Handler for ApiGateway {
    fn handle(self: Arc<Self>, request: Request<Incoming>, peer: SocketAddr) -> ResponseFuture {
        Box::pin(self.answer(request, peer))
    }
}

/// What API Gateway answers when no route matches: a REST API says `403 Missing
/// Authentication Token`, an HTTP API `404 Not Found`.
fn not_found(format: PayloadFormat) -> Response<Full<Bytes>> {
    match format {
        PayloadFormat::V1 => json_response(
            StatusCode::FORBIDDEN,
            r#"{"message":"Missing Authentication Token"}"#,
        ),
        PayloadFormat::V2 => json_response(StatusCode::NOT_FOUND, r#"{"message":"Not Found"}"#),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_look_like_uuid_v4() {
        let id = new_request_id();
        let parts: Vec<&str> = id.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'), "{id}");
        assert!(
            matches!(parts[3].as_bytes()[0], b'8' | b'9' | b'a' | b'b'),
            "{id}"
        );
        assert_ne!(id, new_request_id());
    }
}
