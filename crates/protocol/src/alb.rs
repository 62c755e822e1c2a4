//! Application Load Balancer payloads for Lambda targets. Source: "Lambda functions as
//! targets" (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/lambda-functions.html>).
//!
//! An ALB request carries either `headers`/`queryStringParameters` or, when multi-value headers
//! are enabled on the target group, `multiValueHeaders`/`multiValueQueryStringParameters`; the
//! response must then use the same form.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::apigw::{MultiStringMap, StringMap, decode_body};

/// Maximum size of the response JSON a Lambda target may return to an ALB, and of the
/// request body an ALB sends: 1 MB (ALB, "Limits").
pub const MAX_PAYLOAD_BYTES: usize = 1024 * 1024;

/// Request from an ALB target group (ALB, "Receive events from the load balancer").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbRequest {
    /// `{"elb": {"targetGroupArn": ..}}`.
    pub request_context: AlbRequestContext,
    /// HTTP method.
    pub http_method: String,
    /// Request path.
    #[serde(default)]
    pub path: String,
    /// Query parameters (single-value mode), still URL-encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_string_parameters: Option<StringMap>,
    /// Query parameters (multi-value mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_query_string_parameters: Option<MultiStringMap>,
    /// Headers (single-value mode), lower-cased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StringMap>,
    /// Headers (multi-value mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<MultiStringMap>,
    /// Body (base64 if `isBase64Encoded`); empty string when there is none.
    #[serde(default)]
    pub body: String,
    /// Whether `body` is base64.
    #[serde(default)]
    pub is_base64_encoded: bool,
    /// Members not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl AlbRequest {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(Some(&self.body), self.is_base64_encoded)
    }

    /// True when the target group has multi-value headers enabled (the request then uses
    /// `multiValueHeaders`, and the response must too).
    pub fn uses_multi_value_headers(&self) -> bool {
        self.multi_value_headers.is_some()
    }
}

/// `requestContext` of an ALB request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbRequestContext {
    /// The load balancer details.
    pub elb: Elb,
}

/// `requestContext.elb` of an ALB request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Elb {
    /// ARN of the target group that invoked the function.
    pub target_group_arn: String,
}

/// Response to an ALB (ALB, "Respond to the load balancer"). `statusDescription` is the
/// status line text, e.g. `"200 OK"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlbResponse {
    /// HTTP status code.
    pub status_code: u16,
    /// Status line text, e.g. `"200 OK"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    /// Headers (single-value mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub headers: Option<StringMap>,
    /// Headers (multi-value mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_value_headers: Option<MultiStringMap>,
    /// Body (base64 if `isBase64Encoded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// Whether `body` is base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_base64_encoded: Option<bool>,
}

impl AlbResponse {
    /// The body bytes (base64-decoded when `isBase64Encoded`).
    pub fn body_bytes(&self) -> Result<Vec<u8>, base64::DecodeError> {
        decode_body(
            self.body.as_deref(),
            self.is_base64_encoded.unwrap_or(false),
        )
    }
}
