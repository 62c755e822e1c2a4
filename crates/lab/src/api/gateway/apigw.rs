//! Pure conversions between HTTP and API Gateway's Lambda proxy payloads, as API Gateway does
//! them: an HTTP request becomes a REST (payload 1.0) or HTTP API (payload 2.0) event, and the
//! function's output (or failure) becomes the HTTP response (LAMBDA-FACTS §8).
//!
//! Errors follow "Handling Lambda errors with an API Gateway API" (Lambda developer guide) for
//! REST APIs: a function error or a malformed output gives `502`, an invocation Lambda refused
//! (throttled, not found, too large) gives `500`, both with `{"message": "Internal server
//! error"}`; the 29 s integration timeout gives `504 {"message": "Endpoint request timed out"}`.
//! HTTP APIs answer every integration failure with `500 {"message":"Internal Server Error"}`
//! ("Troubleshooting issues with HTTP API Lambda integrations") and a timeout with
//! `503 {"message":"Service Unavailable"}`.
//!
//! Known differences from AWS: header names arrive lower-cased (hyper normalises them), so
//! payload 1.0 `headers` keys are lower-case; path parameters are passed raw (not decoded);
//! `+` in a query string is kept as `+`; bodies are base64-encoded by content type for both
//! formats (a REST API does that only for its configured binary media types).

use std::net::IpAddr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{CONTENT_TYPE, COOKIE, HOST, USER_AGENT};
use http::{HeaderMap, HeaderName, HeaderValue, Response, StatusCode};
use protocol::apigw::{
    HttpDetails, HttpRequestV2, Identity, MultiStringMap, ProxyRequestV1, RequestContextV1,
    RequestContextV2, StringMap,
};
use protocol::gateway::{self, OutputFormat};
use time::OffsetDateTime;
use time::macros::format_description;

use super::route::{PayloadFormat, RouteMatch};
use crate::invoke::{InvokeError, InvokeOutcome, InvokeResponse};

/// The parts of an HTTP request the conversion reads.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequestParts<'a> {
    /// Method.
    pub method: &'a http::Method,
    /// Request target (path and query).
    pub uri: &'a http::Uri,
    /// HTTP version, for `protocol`.
    pub version: http::Version,
    /// Headers.
    pub headers: &'a HeaderMap,
    /// Body bytes.
    pub body: &'a [u8],
    /// Client address (`sourceIp`).
    pub source_ip: IpAddr,
}

/// What API Gateway adds about the API and the request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestMeta {
    /// `requestId` (also `extendedRequestId`).
    pub request_id: String,
    /// When the request arrived (`requestTime`, `requestTimeEpoch`, `time`, `timeEpoch`).
    pub time: OffsetDateTime,
    /// Stage name (`Prod` for a SAM REST API, `$default` for an HTTP API).
    pub stage: String,
    /// `apiId`.
    pub api_id: String,
    /// `accountId`.
    pub account_id: String,
}

/// Why API Gateway answered instead of the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GatewayFailure {
    /// The function ran and failed (`X-Amz-Function-Error`).
    FunctionError,
    /// The function's output is not a valid proxy response.
    MalformedResponse,
    /// Lambda refused the invocation (throttled, not found, request too large).
    InvokeRejected,
    /// The integration timeout elapsed.
    IntegrationTimeout,
}

/// A function output that is not a valid proxy response, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct Malformed(pub String);

fn malformed(reason: impl ToString) -> Malformed {
    Malformed(reason.to_string())
}

const REQUEST_TIME: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");

fn request_time(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(REQUEST_TIME)
        .unwrap_or_default()
}

fn epoch_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The first label of the `Host` header (`abc` of `abc.execute-api...`), as `domainPrefix`.
fn domain_prefix(headers: &HeaderMap) -> Option<String> {
    headers.get(HOST).map(|h| {
        header_str(h)
            .split(['.', ':'])
            .next()
            .unwrap_or("")
            .to_owned()
    })
}

fn header_str(v: &HeaderValue) -> String {
    String::from_utf8_lossy(v.as_bytes()).into_owned()
}

fn protocol_name(v: http::Version) -> String {
    match v {
        http::Version::HTTP_10 => "HTTP/1.0",
        http::Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
    .to_owned()
}

pub use crate::api::http::percent_decode;

/// The decoded query parameters in order, repeated names kept.
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    query
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(p), String::new()),
        })
        .collect()
}

/// True when API Gateway passes a body of this content type as text.
pub fn is_text_content_type(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else {
        return true;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    mime.starts_with("text/")
        || mime.ends_with("+json")
        || mime.ends_with("+xml")
        || matches!(
            mime.as_str(),
            "application/json"
                | "application/xml"
                | "application/javascript"
                | "application/x-www-form-urlencoded"
                | "application/graphql"
        )
}

/// The event's `body` and `isBase64Encoded`: `None` for an empty body; base64 for non-text
/// content types and for bytes that are not UTF-8.
fn event_body(headers: &HeaderMap, body: &[u8]) -> (Option<String>, bool) {
    if body.is_empty() {
        return (None, false);
    }
    let content_type = headers.get(CONTENT_TYPE).map(header_str);
    match std::str::from_utf8(body) {
        Ok(text) if is_text_content_type(content_type.as_deref()) => (Some(text.to_owned()), false),
        _ => (Some(BASE64.encode(body)), true),
    }
}

fn non_empty<T: Default + PartialEq>(value: T) -> Option<T> {
    (value != T::default()).then_some(value)
}

/// `requestContext.identity` members of a payload 1.0 event that are `null` without an
/// authorizer, API key or client certificate.
const NULL_IDENTITY_MEMBERS: &[&str] = &[
    "accessKey",
    "accountId",
    "apiKey",
    "apiKeyId",
    "caller",
    "clientCert",
    "cognitoAuthenticationProvider",
    "cognitoAuthenticationType",
    "cognitoIdentityId",
    "cognitoIdentityPoolId",
    "principalOrgId",
    "user",
    "userArn",
];

/// Builds the REST API proxy event (payload 1.0) API Gateway sends for this request.
pub fn v1_request(
    req: &HttpRequestParts<'_>,
    route: &RouteMatch<'_>,
    meta: &RequestMeta,
) -> ProxyRequestV1 {
    let path = req.uri.path().to_owned();
    let mut headers = StringMap::new();
    let mut multi_headers = MultiStringMap::new();
    for (name, value) in req.headers {
        headers.insert(name.as_str().to_owned(), header_str(value));
        multi_headers
            .entry(name.as_str().to_owned())
            .or_default()
            .push(header_str(value));
    }
    let mut query = StringMap::new();
    let mut multi_query = MultiStringMap::new();
    for (k, v) in query_pairs(req.uri.query()) {
        query.insert(k.clone(), v.clone());
        multi_query.entry(k).or_default().push(v);
    }
    let (body, is_base64_encoded) = event_body(req.headers, req.body);
    let resource = route.route.resource().to_owned();
    ProxyRequestV1 {
        version: None,
        resource: Some(resource.clone()),
        path: Some(path.clone()),
        http_method: req.method.as_str().to_owned(),
        headers: non_empty(headers),
        multi_value_headers: non_empty(multi_headers),
        query_string_parameters: non_empty(query),
        multi_value_query_string_parameters: non_empty(multi_query),
        path_parameters: non_empty(route.path_parameters.clone()),
        stage_variables: None,
        request_context: RequestContextV1 {
            account_id: Some(meta.account_id.clone()),
            api_id: Some(meta.api_id.clone()),
            domain_name: req.headers.get(HOST).map(header_str),
            domain_prefix: domain_prefix(req.headers),
            extended_request_id: Some(meta.request_id.clone()),
            http_method: Some(req.method.as_str().to_owned()),
            identity: Some(Identity {
                source_ip: Some(req.source_ip.to_string()),
                user_agent: req.headers.get(USER_AGENT).map(header_str),
                // API Gateway sends the identity members it has no value for as `null`.
                extra: NULL_IDENTITY_MEMBERS
                    .iter()
                    .map(|k| ((*k).to_owned(), serde_json::Value::Null))
                    .collect(),
                ..Identity::default()
            }),
            path: Some(format!("/{}{path}", meta.stage)),
            protocol: Some(protocol_name(req.version)),
            request_id: Some(meta.request_id.clone()),
            request_time: Some(request_time(meta.time)),
            request_time_epoch: Some(epoch_ms(meta.time)),
            resource_id: Some(meta.api_id.clone()),
            resource_path: Some(resource),
            stage: Some(meta.stage.clone()),
            ..RequestContextV1::default()
        },
        body,
        is_base64_encoded,
        extra: Default::default(),
    }
}

/// Builds the HTTP API event (payload 2.0) API Gateway sends for this request.
pub fn v2_request(
    req: &HttpRequestParts<'_>,
    route: &RouteMatch<'_>,
    meta: &RequestMeta,
) -> HttpRequestV2 {
    let mut headers = StringMap::new();
    let mut cookies = Vec::new();
    for (name, value) in req.headers {
        if name == COOKIE {
            cookies.extend(
                header_str(value)
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned),
            );
            continue;
        }
        headers
            .entry(name.as_str().to_ascii_lowercase())
            .and_modify(|v: &mut String| {
                v.push(',');
                v.push_str(&header_str(value));
            })
            .or_insert_with(|| header_str(value));
    }
    let mut query = StringMap::new();
    for (k, v) in query_pairs(req.uri.query()) {
        query
            .entry(k)
            .and_modify(|all: &mut String| {
                all.push(',');
                all.push_str(&v);
            })
            .or_insert(v);
    }
    let (body, is_base64_encoded) = event_body(req.headers, req.body);
    let route_key = route.route.route_key();
    HttpRequestV2 {
        version: "2.0".into(),
        route_key: route_key.clone(),
        raw_path: req.uri.path().to_owned(),
        raw_query_string: req.uri.query().unwrap_or("").to_owned(),
        cookies: non_empty(cookies),
        headers: non_empty(headers),
        query_string_parameters: non_empty(query),
        request_context: RequestContextV2 {
            account_id: Some(meta.account_id.clone()),
            api_id: Some(meta.api_id.clone()),
            domain_name: req.headers.get(HOST).map(header_str),
            domain_prefix: domain_prefix(req.headers),
            http: HttpDetails {
                method: req.method.as_str().to_owned(),
                path: req.uri.path().to_owned(),
                protocol: protocol_name(req.version),
                source_ip: req.source_ip.to_string(),
                user_agent: req
                    .headers
                    .get(USER_AGENT)
                    .map(header_str)
                    .unwrap_or_default(),
            },
            request_id: Some(meta.request_id.clone()),
            route_key: Some(route_key),
            stage: Some(meta.stage.clone()),
            time: Some(request_time(meta.time)),
            time_epoch: Some(epoch_ms(meta.time)),
            ..RequestContextV2::default()
        },
        body,
        path_parameters: non_empty(route.path_parameters.clone()),
        is_base64_encoded,
        stage_variables: None,
        extra: Default::default(),
    }
}

/// The event payload bytes for `format`.
pub fn event_payload(
    format: PayloadFormat,
    req: &HttpRequestParts<'_>,
    route: &RouteMatch<'_>,
    meta: &RequestMeta,
) -> Bytes {
    // Sized for a typical event up front (serde_json starts at 128 bytes and regrows).
    let mut json = Vec::with_capacity(2048 + req.body.len() * 4 / 3);
    let written = match format {
        PayloadFormat::V1 => serde_json::to_writer(&mut json, &v1_request(req, route, meta)),
        PayloadFormat::V2 => serde_json::to_writer(&mut json, &v2_request(req, route, meta)),
    };
    // Serialising these string-only structs cannot fail.
    if written.is_err() {
        json.clear();
    }
    Bytes::from(json)
}

/// The HTTP response for a function's output, as `protocol::gateway` interprets it (the one
/// interpretation the extension's tagger uses too).
fn client_response(format: OutputFormat, payload: &[u8]) -> Result<Response<Bytes>, Malformed> {
    let interpreted = gateway::interpret(format, payload).map_err(|e| Malformed(e.0))?;
    let out = interpreted.response;
    let mut response = Response::new(Bytes::from(out.body));
    *response.status_mut() = StatusCode::from_u16(out.status).map_err(malformed)?;
    for (name, value) in out.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| malformed(format!("header {name:?}: {e}")))?;
        let value =
            HeaderValue::from_str(&value).map_err(|e| malformed(format!("header {name}: {e}")))?;
        response.headers_mut().append(name, value);
    }
    Ok(response)
}

/// Turns a payload 1.0 function output into the HTTP response (headers and
/// `multiValueHeaders` merged, multi-value winning; base64 bodies decoded; `content-type`
/// defaulting to `application/json` as a REST API does).
pub fn v1_response(payload: &[u8]) -> Result<Response<Bytes>, Malformed> {
    client_response(OutputFormat::ProxyV1, payload)
}

/// Turns a payload 2.0 function output into the HTTP response: an object with `statusCode` is
/// an explicit response (each cookie a `set-cookie`); any other valid JSON is a `200`
/// `application/json` response whose body is that JSON (a JSON string: its content), as API
/// Gateway's documented table has it.
pub fn v2_response(payload: &[u8]) -> Result<Response<Bytes>, Malformed> {
    client_response(OutputFormat::HttpV2, payload)
}

/// The response API Gateway sends itself when the integration fails.
pub fn failure_response(format: PayloadFormat, failure: GatewayFailure) -> Response<Bytes> {
    let (status, message) = match (format, failure) {
        (PayloadFormat::V1, GatewayFailure::FunctionError | GatewayFailure::MalformedResponse) => {
            (502, r#"{"message": "Internal server error"}"#)
        }
        (PayloadFormat::V1, GatewayFailure::InvokeRejected) => {
            (500, r#"{"message": "Internal server error"}"#)
        }
        (PayloadFormat::V1, GatewayFailure::IntegrationTimeout) => {
            (504, r#"{"message": "Endpoint request timed out"}"#)
        }
        (PayloadFormat::V2, GatewayFailure::IntegrationTimeout) => {
            (503, r#"{"message":"Service Unavailable"}"#)
        }
        (PayloadFormat::V2, _) => (500, r#"{"message":"Internal Server Error"}"#),
    };
    let mut response = Response::new(Bytes::from_static(message.as_bytes()));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The HTTP response for an invocation's result, with the failure (if any) that API Gateway
/// answered for.
pub fn gateway_response(
    format: PayloadFormat,
    result: &Result<InvokeResponse, InvokeError>,
) -> (Response<Bytes>, Option<GatewayFailure>) {
    let failure = match result {
        Ok(InvokeResponse {
            outcome: InvokeOutcome::Success { body },
            ..
        }) => {
            let converted = match format {
                PayloadFormat::V1 => v1_response(body),
                PayloadFormat::V2 => v2_response(body),
            };
            match converted {
                Ok(response) => return (response, None),
                Err(e) => {
                    tracing::warn!(error = %e, "function output is not a proxy response");
                    GatewayFailure::MalformedResponse
                }
            }
        }
        Ok(InvokeResponse {
            outcome: InvokeOutcome::FunctionError { .. },
            ..
        })
        | Err(InvokeError::Service { .. }) => GatewayFailure::FunctionError,
        // The front door asks for buffered responses, so a stream never reaches it.
        Ok(InvokeResponse {
            outcome: InvokeOutcome::Streamed(_),
            ..
        }) => GatewayFailure::MalformedResponse,
        Err(
            InvokeError::Throttled(_) | InvokeError::NotFound(_) | InvokeError::RequestTooLarge(_),
        ) => GatewayFailure::InvokeRejected,
    };
    (failure_response(format, failure), Some(failure))
}

#[cfg(test)]
#[path = "apigw_tests.rs"]
mod tests;
