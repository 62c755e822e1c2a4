//! The errors the lab's Lambda API answers, rendered the way Lambda renders them.
//!
//! Lambda (protocol `rest-json`) answers a failed call with the error's HTTP status, the header
//! `x-amzn-ErrorType: <ErrorType>` and a JSON body `{"Type": "User", "message": "..."}`
//! (`"Type": "Service"` for a server fault). The message member is spelled as the service model
//! declares it for that error: `Message` for `ResourceNotFoundException`, `ServiceException` and
//! `InvalidZipFileException`, `message` for the others (Lambda service model
//! `lambda-2015-03-31`, botocore 1.43 `service-2.json`). Throttling adds `Reason` and a
//! `Retry-After` header.
//!
//! Clients read the type from `x-amzn-ErrorType` first, then from a body `code`/`Code`, and the
//! message from `message`, then `Message` (botocore `parsers.py`, `RestJSONParser
//! ._inject_error_code` and `BaseJSONParser._do_error_parse`; the AWS SDK for JavaScript v3
//! reads the same header first). [`LambdaError::parse`] does the same.

use std::fmt;

use serde_json::{Map, Value};

/// Lambda's message for a deployment package or layer archive it cannot unzip
/// (`InvalidParameterValueException`, 400, `"Type": "User"`), as reported by SDK and CLI users
/// (boto/boto3#488, aws-samples/aws-rds-snapshot-management#4, Sparticuz/chromium#322).
pub const NOT_A_ZIP: &str =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";
/// Lambda's message for an empty deployment package (`InvalidParameterValueException`, 400;
/// adieuadieu/serverless-chrome#331).
pub const EMPTY_ZIP: &str = "Uploaded file must be a non-empty zip";

/// The error types the lab's Lambda API answers, with their HTTP status (service model).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LambdaErrorType {
    /// 404: "The resource specified in the request does not exist."
    ResourceNotFound,
    /// 409: "The resource already exists, or another operation is in progress."
    ResourceConflict,
    /// 400: "One of the parameters in the request is not valid." Also a deployment package that
    /// is not a zip ([`NOT_A_ZIP`]) or an empty one ([`EMPTY_ZIP`]), at `CreateFunction`,
    /// `UpdateFunctionCode` and `PublishLayerVersion`.
    InvalidParameterValue,
    /// 400: "The request body could not be parsed as JSON, or a request header is invalid."
    InvalidRequestContent,
    /// 412: "The RevisionId provided does not match the latest RevisionId for the Lambda
    /// function or alias."
    PreconditionFailed,
    /// 429: "The request throughput limit was exceeded."
    TooManyRequests,
    /// 413: "The request payload exceeded the Invoke request body JSON input quota."
    RequestTooLarge,
    /// 413, from the API's front end rather than the service model: a request over the size
    /// the operation takes, e.g. a `ZipFile` over the 50 MB direct-upload quota ("Request must be
    /// smaller than 69905067 bytes for the CreateFunction operation"; localstack/localstack#2999,
    /// apex/up#222).
    RequestEntityTooLarge,
    /// 415: "The content type of the Invoke request body is not JSON."
    UnsupportedMediaType,
    /// 400: "Your Amazon Web Services account has exceeded its maximum total code size."
    CodeStorageExceeded,
    /// 400: "The number of aliases ... exceeds the limit."
    AliasLimitExceeded,
    /// 502: "Lambda could not unzip the deployment package." (at invocation)
    InvalidZipFile,
    /// 500: "The Lambda service encountered an internal error."
    Service,
    /// 400: a request member outside the service model's pattern (a function name with too
    /// many `:` parts).
    Validation,
    /// 403: the caller may not act on the resource (an ARN of another account or region).
    AccessDenied,
    /// 404: no operation at this path.
    UnknownOperation,
    /// 405: an operation's path with another method. Sent as `UnknownOperationException`, so
    /// it is not in [`Self::ALL`] (a client reads it back as [`Self::UnknownOperation`]).
    UnknownOperationMethod,
}

impl LambdaErrorType {
    /// Every type, for tables and tests.
    pub const ALL: [Self; 16] = [
        Self::ResourceNotFound,
        Self::ResourceConflict,
        Self::InvalidParameterValue,
        Self::InvalidRequestContent,
        Self::PreconditionFailed,
        Self::TooManyRequests,
        Self::RequestTooLarge,
        Self::RequestEntityTooLarge,
        Self::UnsupportedMediaType,
        Self::CodeStorageExceeded,
        Self::AliasLimitExceeded,
        Self::InvalidZipFile,
        Self::Service,
        Self::Validation,
        Self::AccessDenied,
        Self::UnknownOperation,
    ];

    /// The type's name, as sent in `x-amzn-ErrorType`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ResourceNotFound => "ResourceNotFoundException",
            Self::ResourceConflict => "ResourceConflictException",
            Self::InvalidParameterValue => "InvalidParameterValueException",
            Self::InvalidRequestContent => "InvalidRequestContentException",
            Self::PreconditionFailed => "PreconditionFailedException",
            Self::TooManyRequests => "TooManyRequestsException",
            Self::RequestTooLarge => "RequestTooLargeException",
            Self::RequestEntityTooLarge => "RequestEntityTooLargeException",
            Self::UnsupportedMediaType => "UnsupportedMediaTypeException",
            Self::CodeStorageExceeded => "CodeStorageExceededException",
            Self::AliasLimitExceeded => "AliasLimitExceededException",
            Self::InvalidZipFile => "InvalidZipFileException",
            Self::Service => "ServiceException",
            Self::Validation => "ValidationException",
            Self::AccessDenied => "AccessDeniedException",
            Self::UnknownOperation | Self::UnknownOperationMethod => "UnknownOperationException",
        }
    }

    /// The HTTP status Lambda answers with.
    pub fn status(self) -> u16 {
        match self {
            Self::ResourceNotFound | Self::UnknownOperation => 404,
            Self::AccessDenied => 403,
            Self::UnknownOperationMethod => 405,
            Self::ResourceConflict => 409,
            Self::PreconditionFailed => 412,
            Self::RequestTooLarge | Self::RequestEntityTooLarge => 413,
            Self::UnsupportedMediaType => 415,
            Self::TooManyRequests => 429,
            Self::Service => 500,
            Self::InvalidZipFile => 502,
            Self::InvalidParameterValue
            | Self::InvalidRequestContent
            | Self::CodeStorageExceeded
            | Self::AliasLimitExceeded
            | Self::Validation => 400,
        }
    }

    /// The body member holding the message, as the service model spells it.
    pub fn message_member(self) -> &'static str {
        match self {
            Self::ResourceNotFound | Self::Service | Self::InvalidZipFile => "Message",
            _ => "message",
        }
    }

    /// The body's `Type`: `User` for a caller's fault (4xx), `Service` otherwise.
    pub fn fault(self) -> &'static str {
        if self.status() < 500 {
            "User"
        } else {
            "Service"
        }
    }

    /// The type named `name` (a bare name, or with a `:` or `#` decoration as botocore strips it).
    pub fn from_name(name: &str) -> Option<Self> {
        let name = name.split(':').next().unwrap_or(name);
        let name = name.rsplit('#').next().unwrap_or(name);
        Self::ALL.into_iter().find(|t| t.name() == name)
    }
}

impl fmt::Display for LambdaErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// `Reason` of a `TooManyRequestsException` (`ThrottleReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ThrottleReason {
    /// The account's concurrency is exhausted.
    ConcurrentInvocationLimitExceeded,
    /// The function's reserved concurrency is exhausted.
    ReservedFunctionConcurrentInvocationLimitExceeded,
    /// The API's request rate limit.
    CallerRateLimitExceeded,
}

impl ThrottleReason {
    /// The reason as Lambda writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ConcurrentInvocationLimitExceeded => "ConcurrentInvocationLimitExceeded",
            Self::ReservedFunctionConcurrentInvocationLimitExceeded => {
                "ReservedFunctionConcurrentInvocationLimitExceeded"
            }
            Self::CallerRateLimitExceeded => "CallerRateLimitExceeded",
        }
    }
}

/// One error answer of the Lambda API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct LambdaError {
    /// Its type (status, header, body spelling).
    pub kind: LambdaErrorType,
    /// The message, in Lambda's words where the lab copies them.
    pub message: String,
    /// `Reason`, for throttling.
    pub reason: Option<ThrottleReason>,
}

impl LambdaError {
    /// An error of type `kind`.
    pub fn new(kind: LambdaErrorType, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            reason: None,
        }
    }

    /// `TooManyRequestsException` with its `Reason`.
    pub fn throttled(reason: ThrottleReason, message: impl Into<String>) -> Self {
        Self {
            reason: Some(reason),
            ..Self::new(LambdaErrorType::TooManyRequests, message)
        }
    }

    /// `404 ResourceNotFoundException`: `Function not found: <arn>` (Lambda's wording).
    pub fn function_not_found(arn: impl fmt::Display) -> Self {
        Self::new(
            LambdaErrorType::ResourceNotFound,
            format!("Function not found: {arn}"),
        )
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.kind.status()
    }

    /// The value of the `x-amzn-ErrorType` header.
    pub fn error_type(&self) -> &'static str {
        self.kind.name()
    }

    /// The JSON body, `{"Type": ..., "message"|"Message": ..., "Reason"?: ...}`.
    pub fn body(&self) -> Value {
        let mut body = Map::new();
        body.insert("Type".into(), self.kind.fault().into());
        body.insert(
            self.kind.message_member().into(),
            self.message.clone().into(),
        );
        if let Some(reason) = self.reason {
            body.insert("Reason".into(), reason.as_str().into());
        }
        Value::Object(body)
    }

    /// Reads an error answer as a client does: the type from `error_type_header`
    /// (`x-amzn-ErrorType`) or else the body's `code`/`Code`; the message from `message` or
    /// `Message`. `None` when the type is not one of [`LambdaErrorType`].
    pub fn parse(error_type_header: Option<&str>, body: &[u8]) -> Option<Self> {
        let body: Map<String, Value> = serde_json::from_slice(body).unwrap_or_default();
        let text = |k: &str| body.get(k).and_then(Value::as_str);
        let name = error_type_header.or_else(|| text("code").or_else(|| text("Code")))?;
        let kind = LambdaErrorType::from_name(name)?;
        let message = text("message").or_else(|| text("Message")).unwrap_or("");
        let reason = match text("Reason") {
            Some("ConcurrentInvocationLimitExceeded") => {
                Some(ThrottleReason::ConcurrentInvocationLimitExceeded)
            }
            Some("ReservedFunctionConcurrentInvocationLimitExceeded") => {
                Some(ThrottleReason::ReservedFunctionConcurrentInvocationLimitExceeded)
            }
            Some("CallerRateLimitExceeded") => Some(ThrottleReason::CallerRateLimitExceeded),
            _ => None,
        };
        Some(Self {
            kind,
            message: message.to_owned(),
            reason,
        })
    }
}
