//! What the client receives for a function's output: API Gateway's interpretation (REST API and
//! HTTP API payload 1.0, HTTP API payload 2.0 with its inference for output without
//! `statusCode`) and ALB's, written once for the lab's front door and the extension's tagger.
//!
//! Payload 2.0 output without `statusCode` follows the table "Lambda function output / API
//! Gateway interpretation" of "Create AWS Lambda proxy integrations for HTTP APIs"
//! (<https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html>),
//! kept as the fixture `tests/fixtures/apigw/v2_inference.json`: a JSON string gives `200`,
//! `content-type: application/json` and the string's content as the body; a JSON object gives
//! the same with the object's JSON text as the body.
//!
//! [`Interpretation::agreed`] says whether every gateway that sends this event shape documents
//! the same answer. It is false for what is extrapolated (whitespace around the output, numbers,
//! arrays, `true`/`false`/`null`) and for a bare string under payload 2.0: function URLs share
//! the event shape, and their guide ("Invoking Lambda function URLs") shows the output
//! `"Hello, world!"` reaching the client with its quotes. A caller that rewrites a response (the
//! extension) must leave it alone unless `agreed`.

use http::{HeaderName, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::alb::AlbResponse;
use crate::apigw::{HttpResponseV2, ProxyResponseV1, decode_body};

/// The response format a gateway expects from the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutputFormat {
    /// REST API, or HTTP API payload 1.0: `statusCode` required, `headers` and
    /// `multiValueHeaders` merged; a REST API adds `content-type: application/json` when the
    /// response has none.
    ProxyV1,
    /// HTTP API payload 2.0 and function URLs: output without `statusCode` is inferred.
    HttpV2,
    /// Application Load Balancer: `statusCode` required; `headers` or `multiValueHeaders`.
    Alb,
}

/// The HTTP response a client receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResponse {
    /// Status code.
    pub status: u16,
    /// Headers in the order the output gives them (names as written).
    pub headers: Vec<(String, String)>,
    /// Body bytes (base64 decoded).
    pub body: Vec<u8>,
}

impl ClientResponse {
    /// The headers without those named in `names` (case-insensitively), sorted: for comparing
    /// two responses apart from some headers.
    pub fn headers_without(&self, names: &[&str]) -> Vec<(String, String)> {
        let mut kept: Vec<(String, String)> = self
            .headers
            .iter()
            .filter(|(k, _)| !names.iter().any(|n| n.eq_ignore_ascii_case(k)))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        kept.sort();
        kept
    }
}

/// A function output turned into a client response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interpretation {
    /// What the client receives.
    pub response: ClientResponse,
    /// Every gateway sending this event shape documents this answer (see the module docs).
    pub agreed: bool,
}

/// A function output the gateway cannot turn into a response (API Gateway answers `502` for a
/// REST API, `500` for an HTTP API; ALB `502`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Lambda proxy response: {0}")]
pub struct Malformed(pub String);

fn malformed(reason: impl ToString) -> Malformed {
    Malformed(reason.to_string())
}

impl Malformed {
    /// The status the client receives instead of the function's response.
    pub fn client_status(format: OutputFormat) -> u16 {
        match format {
            OutputFormat::HttpV2 => 500,
            OutputFormat::ProxyV1 | OutputFormat::Alb => 502,
        }
    }
}

/// JSON whitespace (RFC 8259 `ws`).
fn is_json_space(b: &u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Interprets `raw`, a function's output, as a gateway expecting `format` does.
///
/// Output that is not JSON text (invalid UTF-8, lone surrogates such as `"\ud800"`, anything
/// `serde_json` refuses), a missing or non-integer `statusCode` where one is required, an
/// invalid status, header name or value, or a body that is not base64 when it says so, is
/// [`Malformed`].
///
/// ```
/// use protocol::gateway::{interpret, OutputFormat};
/// let hello = interpret(OutputFormat::HttpV2, br#""hello""#).unwrap();
/// assert_eq!((hello.response.status, &hello.response.body[..]), (200, &b"hello"[..]));
/// assert!(interpret(OutputFormat::HttpV2, br#"{"statusCode":404,"\ud800":1}"#).is_err());
/// ```
pub fn interpret(format: OutputFormat, raw: &[u8]) -> Result<Interpretation, Malformed> {
    let value: Value = serde_json::from_slice(raw).map_err(malformed)?;
    let has_status = value.get("statusCode").is_some();
    if format == OutputFormat::HttpV2 && !has_status {
        return Ok(inferred(raw, &value));
    }
    let (status, headers, body, base64) = match format {
        OutputFormat::ProxyV1 => {
            let out = ProxyResponseV1::deserialize(&value).map_err(malformed)?;
            let mut headers = out.merged_headers();
            if !headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            {
                headers.push(("content-type".to_owned(), "application/json".to_owned()));
            }
            (out.status_code, headers, out.body, out.is_base64_encoded)
        }
        OutputFormat::Alb => {
            let out = AlbResponse::deserialize(&value).map_err(malformed)?;
            let merged = ProxyResponseV1 {
                status_code: out.status_code,
                headers: out.headers,
                multi_value_headers: out.multi_value_headers,
                body: None,
                is_base64_encoded: None,
            }
            .merged_headers();
            (out.status_code, merged, out.body, out.is_base64_encoded)
        }
        OutputFormat::HttpV2 => {
            let out = HttpResponseV2::deserialize(&value).map_err(malformed)?;
            let mut headers: Vec<(String, String)> =
                out.headers.unwrap_or_default().into_iter().collect();
            headers.extend(
                out.cookies
                    .unwrap_or_default()
                    .into_iter()
                    .map(|c| ("set-cookie".to_owned(), c)),
            );
            (out.status_code, headers, out.body, out.is_base64_encoded)
        }
    };
    StatusCode::from_u16(status).map_err(|e| malformed(format!("statusCode {status}: {e}")))?;
    for (name, value) in &headers {
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| malformed(format!("header {name:?}: {e}")))?;
        HeaderValue::from_str(value).map_err(|e| malformed(format!("header {name}: {e}")))?;
    }
    let body = decode_body(body.as_deref(), base64.unwrap_or(false))
        .map_err(|e| malformed(format!("body is not base64: {e}")))?;
    Ok(Interpretation {
        response: ClientResponse {
            status,
            headers,
            body,
        },
        agreed: true,
    })
}

/// Payload 2.0 output without `statusCode` (the documented table, extrapolated to other JSON).
fn inferred(raw: &[u8], value: &Value) -> Interpretation {
    let start = raw.iter().position(|b| !is_json_space(b)).unwrap_or(0);
    let end = raw
        .iter()
        .rposition(|b| !is_json_space(b))
        .map_or(0, |i| i + 1);
    let text = &raw[start..end];
    let padded = text.len() != raw.len();
    let (body, agreed) = match value {
        // API Gateway documents the content; function URLs show the quotes kept.
        Value::String(s) => (s.as_bytes().to_vec(), false),
        Value::Object(_) => (text.to_vec(), !padded),
        _ => (text.to_vec(), false),
    };
    Interpretation {
        response: ClientResponse {
            status: 200,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body,
        },
        agreed,
    }
}
