//! The rehearsal's calls to the lab: the Lambda API (REST JSON) and the CodeDeploy API (JSON
//! 1.1, `X-Amz-Target`), over HTTP on loopback as the AWS CLI makes them.

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// A call the lab refused or could not answer.
#[derive(Debug, thiserror::Error)]
#[error("{operation}: {reason}")]
pub struct CallError {
    /// The operation, e.g. `PublishVersion`.
    pub operation: String,
    /// The status and AWS error, or the transport error.
    pub reason: String,
}

/// A client of one lab's Lambda API port.
#[derive(Debug, Clone)]
pub struct LabClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
}

impl LabClient {
    /// A client of the Lambda API at `lambda_url` (`http://127.0.0.1:PORT`).
    pub fn new(lambda_url: &str) -> Self {
        Self {
            base: lambda_url.trim_end_matches('/').to_owned(),
            http: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// A Lambda API operation: `method` on `path` (from `/2015-03-31/...`) with `body`.
    pub async fn lambda(
        &self,
        operation: &str,
        method: Method,
        path: &str,
        body: &Value,
    ) -> Result<Value, CallError> {
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        self.send(operation, request).await
    }

    /// A CodeDeploy operation (`CreateDeployment`, ...) with `body`.
    pub async fn codedeploy(&self, operation: &str, body: &Value) -> Result<Value, CallError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("{}/", self.base))
            .header(header::CONTENT_TYPE, "application/x-amz-json-1.1")
            .header("x-amz-target", format!("CodeDeploy_20141006.{operation}"))
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("a valid request");
        self.send(operation, request).await
    }

    async fn send(
        &self,
        operation: &str,
        request: Request<Full<Bytes>>,
    ) -> Result<Value, CallError> {
        let fail = |reason: String| CallError {
            operation: operation.to_owned(),
            reason,
        };
        let response = self
            .http
            .request(request)
            .await
            .map_err(|e| fail(format!("the lab did not answer: {e}")))?;
        let status = response.status();
        let amzn_type = response
            .headers()
            .get("x-amzn-errortype")
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(':').next().unwrap_or(v).to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| fail(format!("the answer was cut: {e}")))?
            .to_bytes();
        let value: Value = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body).map_err(|e| {
                fail(format!(
                    "{status}: the answer is not JSON ({e}): {}",
                    String::from_utf8_lossy(&body)
                ))
            })?
        };
        if status.is_success() || status == StatusCode::NO_CONTENT {
            return Ok(value);
        }
        let error_type = amzn_type
            .as_deref()
            .or_else(|| value["__type"].as_str())
            .unwrap_or("error");
        let message = value["message"]
            .as_str()
            .or_else(|| value["Message"].as_str())
            .unwrap_or_default();
        Err(fail(format!("{status} {error_type}: {message}")))
    }
}
