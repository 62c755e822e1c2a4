//! CloudFormation's errors, as its Query API answers them (`<ErrorResponse><Error><Type>`,
//! `<Code>`, `<Message>`).

/// The code of a CloudFormation error (`<Code>`), with its HTTP status and fault type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// A request CloudFormation refuses: a missing stack, a stack in the wrong state, a bad
    /// parameter.
    ValidationError,
    /// CreateStack with a name already used.
    AlreadyExists,
    /// A template with IAM resources without the capability that acknowledges them.
    InsufficientCapabilities,
    /// An `Action` CloudFormation does not have.
    InvalidAction,
    /// A request without `Action`.
    MissingAction,
    /// A required parameter missing.
    MissingParameter,
    /// The service failed (here: the lab).
    InternalFailure,
}

impl ErrorCode {
    /// The code as CloudFormation spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ValidationError => "ValidationError",
            Self::AlreadyExists => "AlreadyExistsException",
            Self::InsufficientCapabilities => "InsufficientCapabilitiesException",
            Self::InvalidAction => "InvalidAction",
            Self::MissingAction => "MissingAction",
            Self::MissingParameter => "MissingParameter",
            Self::InternalFailure => "InternalFailure",
        }
    }

    /// The HTTP status of the error response.
    pub fn status(self) -> u16 {
        match self {
            Self::InternalFailure => 500,
            _ => 400,
        }
    }

    /// `Sender` (the request's fault) or `Receiver` (the service's).
    pub fn fault(self) -> &'static str {
        match self {
            Self::InternalFailure => "Receiver",
            _ => "Sender",
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error CloudFormation answers: its code and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CloudFormationError {
    /// The error's code.
    pub code: ErrorCode,
    /// The message, in CloudFormation's words where it has some.
    pub message: String,
}

impl CloudFormationError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// A `ValidationError`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::ValidationError, message)
    }

    /// DescribeStacks' (and the other reads') answer for a stack that does not exist.
    pub fn no_such_stack(name_or_id: &str) -> Self {
        Self::validation(format!("Stack with id {name_or_id} does not exist"))
    }
}
