//! The Lambda API's one error type: an error of the service model (rendered by
//! [`protocol::lambda_api::LambdaError`]) or a function's own failure passed through as Lambda
//! does (`Runtime.InitError`, ...).

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use protocol::lambda_api::{LambdaError, LambdaErrorType, ThrottleReason};

use crate::api::http::json_response;
use crate::invoke::InvokeError;

pub use protocol::lambda_api::LambdaErrorType as Kind;

/// An error answer of the lab's Lambda API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// An error of the service model.
    Lambda(LambdaError),
    /// A failure of the function's environment, sent with its own status and type.
    Function {
        /// HTTP status.
        status: StatusCode,
        /// `x-amzn-ErrorType`.
        error_type: String,
        /// Message.
        message: String,
    },
}

impl ApiError {
    /// An error of type `kind`.
    pub fn new(kind: LambdaErrorType, message: impl Into<String>) -> Self {
        Self::Lambda(LambdaError::new(kind, message))
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Lambda(e) => {
                StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            Self::Function { status, .. } => *status,
        }
    }

    /// The `x-amzn-ErrorType` value.
    pub fn error_type(&self) -> &str {
        match self {
            Self::Lambda(e) => e.error_type(),
            Self::Function { error_type, .. } => error_type,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        match self {
            Self::Lambda(e) => &e.message,
            Self::Function { message, .. } => message,
        }
    }

    /// The throttling `Reason`, if any.
    pub fn reason(&self) -> Option<ThrottleReason> {
        match self {
            Self::Lambda(e) => e.reason,
            Self::Function { .. } => None,
        }
    }

    /// The response Lambda sends for this error.
    pub fn response(&self) -> Response<Full<Bytes>> {
        let body = match self {
            Self::Lambda(e) => e.body(),
            Self::Function {
                status, message, ..
            } => {
                let fault = if status.is_server_error() {
                    "Service"
                } else {
                    "User"
                };
                serde_json::json!({"Type": fault, "message": message})
            }
        };
        let mut response = json_response(self.status(), body.to_string());
        if let Ok(v) = HeaderValue::from_str(self.error_type()) {
            response.headers_mut().insert("x-amzn-errortype", v);
        }
        response
    }
}

impl From<LambdaError> for ApiError {
    fn from(e: LambdaError) -> Self {
        Self::Lambda(e)
    }
}

impl From<InvokeError> for ApiError {
    fn from(e: InvokeError) -> Self {
        match e {
            InvokeError::Throttled(m) => LambdaError::throttled(
                ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded,
                m,
            )
            .into(),
            InvokeError::NotFound(m) => Self::new(Kind::ResourceNotFound, m),
            InvokeError::RequestTooLarge(m) => Self::new(Kind::RequestTooLarge, m),
            InvokeError::Service {
                status,
                error_type,
                message,
            } => Self::Function {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                error_type,
                message,
            },
        }
    }
}

/// `404 ResourceNotFoundException`: "<what> not found: <arn>".
pub fn not_found(what: &str, arn: impl std::fmt::Display) -> ApiError {
    ApiError::new(Kind::ResourceNotFound, format!("{what} not found: {arn}"))
}
