//! TEMPORARY stand-in until the CloudFormation API helper's module is merged: the engine trait.

/// A CloudFormation error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct CloudFormationError {
    /// Code.
    pub code: String,
    /// Message.
    pub message: String,
    /// HTTP status.
    pub status: u16,
}

impl CloudFormationError {
    /// ValidationError.
    pub fn validation(message: impl Into<String>) -> Self {
        Self {
            code: "ValidationError".into(),
            message: message.into(),
            status: 400,
        }
    }
}

/// CreateStack / UpdateStack input.
#[derive(Debug, Clone, Default)]
pub struct StackRequest {
    /// StackName.
    pub stack_name: String,
    /// TemplateBody.
    pub template_body: Option<String>,
    /// TemplateURL.
    pub template_url: Option<String>,
    /// Parameters.
    pub parameters: Vec<(String, String)>,
    /// Capabilities.
    pub capabilities: Vec<String>,
}

/// What runs CreateStack and UpdateStack.
pub trait StackEngine: Send + Sync + std::fmt::Debug {
    /// CreateStack.
    fn create_stack(&self, request: StackRequest) -> Result<String, CloudFormationError>;
    /// UpdateStack.
    fn update_stack(&self, request: StackRequest) -> Result<String, CloudFormationError>;
}
