//! API Gateway Lambda proxy payloads: REST API (and HTTP API payload format 1.0) and HTTP API
//! payload format 2.0, which Lambda function URLs share. Sources: "Set up Lambda proxy
//! integrations" (<https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html>),
//! "Create AWS Lambda proxy integrations for HTTP APIs"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>),
//! "Invoking Lambda function URLs" (<https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html>).
//!
//! Requests keep unknown members (`extra`) so AWS additions survive a round trip. Payload 1.0
//! always carries its nullable top-level members (`"body": null`), so those serialise as `null`;
//! payload 2.0 omits absent members, so those are skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Decodes a proxy payload body: base64 (standard alphabet) when `is_base64_encoded`, the
/// UTF-8 bytes otherwise; an absent body is empty (API Gateway and ALB payloads).
pub fn decode_body(
    body: Option<&str>,
    is_base64_encoded: bool,
) -> Result<Vec<u8>, base64::DecodeError> {
    use base64::Engine as _;
    match body {
        None => Ok(Vec::new()),
        Some(b) if is_base64_encoded => base64::engine::general_purpose::STANDARD.decode(b),
        Some(b) => Ok(b.as_bytes().to_vec()),
    }
}

/// Single-value header / parameter map.
pub type StringMap = BTreeMap<String, String>;
/// Multi-value header / parameter map.
pub type MultiStringMap = BTreeMap<String, Vec<String>>;

/// REST API proxy request, also HTTP API payload format 1.0 (`"version": "1.0"`) (API Gateway,
/// "Input format of a Lambda function for proxy integration").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyRequestV1 {
    /// `"1.0"` for HTTP APIs; absent for REST APIs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Resource path template, e.g. `/{proxy+}`.
    #[serde(default)]
    pub resource: Option<String>,
    /// Request path.
    #[serde(default)]
    pub path: Option<String>,
    /// HTTP method.
    pub http_method: String,
    /// Headers (last value wins for repeated headers).
    #[serde(default)]
    pub headers: Option<StringMap>,
    /// All header values.
    #[serde(default)]
    pub multi_value_headers: Option<MultiStringMap>,
    /// Query string parameters (last value wins).
    #[serde(default)]
    pub query_string_parameters: Option<StringMap>,
    /// All query string values.
    #[serde(default)]
    pub multi_value_query_string_parameters: Option<MultiStringMap>,
    /// Path parameters.
    #[serde(default)]
    pub path_parameters: Option<StringMap>,
    /// Stage variables.
    #[serde(default)]
    pub stage_variables: Option<StringMap>,
    /// Request context.
    #[serde(default)]
    pub request_context: RequestContextV1,
    /// Body (string, base64 if `isBase64Encoded`), or `null`.
    #[serde(default)]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default)]
    pub is_base64_encoded: bool,
    /// Members not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ProxyRequestV1 {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(self.body.as_deref(), self.is_base64_encoded)
    }
}

impl HttpRequestV2 {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(self.body.as_deref(), self.is_base64_encoded)
    }
}

/// `requestContext` of a payload 1.0 request (API Gateway, proxy input format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContextV1 {
    /// AWS account id of the API owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// API id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// Authorizer output (shape depends on the authorizer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<Value>,
    /// Domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// First label of the domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_prefix: Option<String>,
    /// Extended request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extended_request_id: Option<String>,
    /// HTTP method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_method: Option<String>,
    /// Caller identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<Identity>,
    /// Full path including the stage, e.g. `/prod/hello`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Protocol, e.g. `HTTP/1.1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    /// Request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Request time, CLF format (`09/Apr/2015:12:34:56 +0000`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time: Option<String>,
    /// Request time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_time_epoch: Option<i64>,
    /// Resource id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// Resource path template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_path: Option<String>,
    /// Stage name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Members not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `requestContext.identity` of a payload 1.0 request (API Gateway, proxy input format).
/// AWS sends `null` for most members; `null` and absent both read as `None`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// IAM access key of the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key: Option<String>,
    /// Caller account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// Caller principal.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// Cognito authentication provider.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_authentication_provider: Option<String>,
    /// Cognito authentication type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_authentication_type: Option<String>,
    /// Cognito identity id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_identity_id: Option<String>,
    /// Cognito identity pool id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognito_identity_pool_id: Option<String>,
    /// AWS Organizations id of the caller.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_org_id: Option<String>,
    /// Source IP address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// IAM user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// User agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// IAM user ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_arn: Option<String>,
    /// mTLS client certificate, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<Value>,
    /// Members not modelled here (`apiKey`, `apiKeyId`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Payload 1.0 response, REST API and HTTP API (API Gateway, "Output format of a Lambda
/// function for proxy integration"). `statusCode` must be an integer (a string gives a 502
/// "Malformed Lambda proxy response", AWS knowledge center); the other members may be omitted.
/// `headers` and `multiValueHeaders` are merged, multi-value winning on the same name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProxyResponseV1 {
    /// HTTP status code.
    pub status_code: u16,
    /// Single-value headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StringMap>,
    /// Multi-value headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<MultiStringMap>,
    /// Body (base64 if `isBase64Encoded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_base64_encoded: Option<bool>,
}

impl ProxyResponseV1 {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(
            self.body.as_deref(),
            self.is_base64_encoded.unwrap_or(false),
        )
    }

    /// The headers API Gateway sends: `headers` merged with `multiValueHeaders` (multi-value
    /// wins on the same name, compared case-insensitively).
    pub fn merged_headers(&self) -> Vec<(String, String)> {
        let multi = self.multi_value_headers.as_ref();
        let shadowed =
            |name: &str| multi.is_some_and(|m| m.keys().any(|k| k.eq_ignore_ascii_case(name)));
        let mut out: Vec<(String, String)> = self
            .headers
            .iter()
            .flatten()
            .filter(|(k, _)| !shadowed(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, vs) in multi.into_iter().flatten() {
            out.extend(vs.iter().map(|v| (k.clone(), v.clone())));
        }
        out
    }
}

/// HTTP API payload format 2.0 request, also Lambda function URLs (API Gateway, "Payload
/// format version 2.0"; Lambda, "Request payload format").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpRequestV2 {
    /// Always `"2.0"`.
    pub version: String,
    /// Route key, e.g. `"GET /hello"`, or `"$default"`.
    #[serde(default)]
    pub route_key: String,
    /// Raw path.
    #[serde(default)]
    pub raw_path: String,
    /// Raw query string, without `?` (empty if none).
    #[serde(default)]
    pub raw_query_string: String,
    /// Cookies from the `Cookie` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    /// Headers, lower-cased, duplicates comma-joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StringMap>,
    /// Query parameters, duplicates comma-joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<StringMap>,
    /// Request context.
    #[serde(default)]
    pub request_context: RequestContextV2,
    /// Body (base64 if `isBase64Encoded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Path parameters (not on function URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_parameters: Option<StringMap>,
    /// Whether `body` is base64.
    #[serde(default)]
    pub is_base64_encoded: bool,
    /// Stage variables (not on function URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_variables: Option<StringMap>,
    /// Members not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `requestContext` of a payload 2.0 request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestContextV2 {
    /// AWS account id of the API owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    /// API id (URL id for function URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_id: Option<String>,
    /// mTLS authentication details (`{"clientCert": ...}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Value>,
    /// Authorizer output: `{"jwt": ..}`, `{"lambda": ..}` or `{"iam": ..}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorizer: Option<Value>,
    /// Domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_name: Option<String>,
    /// First label of the domain name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_prefix: Option<String>,
    /// HTTP details.
    #[serde(default)]
    pub http: HttpDetails,
    /// Request id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Route key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route_key: Option<String>,
    /// Stage (`$default` for function URLs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<String>,
    /// Request time, CLF format.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Request time, epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_epoch: Option<i64>,
    /// Members not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `requestContext.http` of a payload 2.0 request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpDetails {
    /// HTTP method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Protocol, e.g. `HTTP/1.1`.
    #[serde(default)]
    pub protocol: String,
    /// Source IP address.
    #[serde(default)]
    pub source_ip: String,
    /// User agent.
    #[serde(default)]
    pub user_agent: String,
}

/// Payload 2.0 response (API Gateway, "Lambda function response for format 2.0"). Each cookie
/// becomes a `set-cookie` header. See [`crate::gateway::interpret`] for the response API
/// Gateway infers when the function returns JSON without `statusCode`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpResponseV2 {
    /// HTTP status code (integer).
    pub status_code: u16,
    /// Headers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StringMap>,
    /// Cookies, each sent as `set-cookie`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookies: Option<Vec<String>>,
    /// Body (base64 if `isBase64Encoded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_base64_encoded: Option<bool>,
}

impl HttpResponseV2 {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(
            self.body.as_deref(),
            self.is_base64_encoded.unwrap_or(false),
        )
    }
}
