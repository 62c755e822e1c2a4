//! The errors the lab's CodeDeploy API answers, rendered as CodeDeploy renders them.
//!
//! An AWS JSON 1.1 service answers a failed call with HTTP 400 and a body
//! `{"__type": "<ErrorType>", "message": "..."}`. Clients read the type from `__type`, keeping
//! what follows the last `#` (services may send a namespace, e.g.
//! `com.amazon.coral.service#UnknownOperationException`) and what precedes a `:`, and the
//! message from `message`, then `Message` (botocore `parsers.py`,
//! `BaseJSONParser._do_error_parse`). [`CodeDeployError::parse`] does the same; we send the bare
//! name.
//!
//! The types are the ones the service model declares for the operations the lab answers
//! (`codedeploy-2014-10-06`, each operation's `errors`), plus the two every JSON service
//! answers before an operation runs: `UnknownOperationException` and `SerializationException`.

use std::fmt;

use serde_json::{Map, Value};

/// The HTTP status of every CodeDeploy error the lab answers (JSON 1.1 client errors).
pub const ERROR_STATUS: u16 = 400;

macro_rules! error_types {
    ($($(#[$doc:meta])* $variant:ident => $name:literal,)*) => {
        /// The error types the lab's CodeDeploy API answers; the doc of each is the service
        /// model's.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum CodeDeployErrorType {
            $($(#[$doc])* $variant,)*
        }

        impl CodeDeployErrorType {
            /// Every type, for tables and tests.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)*];

            /// The type's name, as sent in `__type`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$variant => $name,)*
                }
            }
        }
    };
}

error_types! {
    /// No `X-Amz-Target`, or one naming no operation the lab answers.
    UnknownOperation => "UnknownOperationException",
    /// The body is not JSON, or a member has the wrong JSON type.
    Serialization => "SerializationException",
    /// "The minimum number of required application names was not specified."
    ApplicationNameRequired => "ApplicationNameRequiredException",
    /// "The application name was specified in an invalid format."
    InvalidApplicationName => "InvalidApplicationNameException",
    /// "An application with the specified name with the user or Amazon Web Services account
    /// already exists."
    ApplicationAlreadyExists => "ApplicationAlreadyExistsException",
    /// "The application does not exist with the user or Amazon Web Services account."
    ApplicationDoesNotExist => "ApplicationDoesNotExistException",
    /// "The computePlatform is invalid." (the lab answers `Lambda` only)
    InvalidComputePlatform => "InvalidComputePlatformException",
    /// "The deployment group name was not specified."
    DeploymentGroupNameRequired => "DeploymentGroupNameRequiredException",
    /// "The deployment group name was specified in an invalid format."
    InvalidDeploymentGroupName => "InvalidDeploymentGroupNameException",
    /// "A deployment group with the specified name with the user or Amazon Web Services account
    /// already exists."
    DeploymentGroupAlreadyExists => "DeploymentGroupAlreadyExistsException",
    /// "The named deployment group with the user or Amazon Web Services account does not exist."
    DeploymentGroupDoesNotExist => "DeploymentGroupDoesNotExistException",
    /// "The role ID was not specified."
    RoleRequired => "RoleRequiredException",
    /// "The service role ARN was specified in an invalid format."
    InvalidRole => "InvalidRoleException",
    /// "The format of the alarm configuration is invalid."
    InvalidAlarmConfig => "InvalidAlarmConfigException",
    /// "The maximum number of alarms for a deployment group (10) was exceeded."
    AlarmsLimitExceeded => "AlarmsLimitExceededException",
    /// "The automatic rollback configuration was specified in an invalid format."
    InvalidAutoRollbackConfig => "InvalidAutoRollbackConfigException",
    /// "An invalid deployment style was specified."
    InvalidDeploymentStyle => "InvalidDeploymentStyleException",
    /// "The deployment configuration name was not specified."
    DeploymentConfigNameRequired => "DeploymentConfigNameRequiredException",
    /// "The deployment configuration name was specified in an invalid format."
    InvalidDeploymentConfigName => "InvalidDeploymentConfigNameException",
    /// "A deployment configuration with the specified name with the user or Amazon Web Services
    /// account already exists."
    DeploymentConfigAlreadyExists => "DeploymentConfigAlreadyExistsException",
    /// "The deployment configuration does not exist with the user or Amazon Web Services
    /// account."
    DeploymentConfigDoesNotExist => "DeploymentConfigDoesNotExistException",
    /// "The configuration that specifies how traffic is routed during a deployment is invalid."
    InvalidTrafficRoutingConfiguration => "InvalidTrafficRoutingConfigurationException",
    /// "The revision ID was not specified."
    RevisionRequired => "RevisionRequiredException",
    /// "The revision was specified in an invalid format." (also a Lambda AppSpec CodeDeploy
    /// cannot use: [`super::AppSpecError`])
    InvalidRevision => "InvalidRevisionException",
    /// "The description is too long."
    DescriptionTooLong => "DescriptionTooLongException",
    /// "The number of allowed deployments was exceeded." CreateDeployment answers it for a
    /// deployment group that already has an active deployment ("The Deployment Group 'x'
    /// already has an active Deployment 'd-...'", CircleCI-Public/aws-ecs-orb#181).
    DeploymentLimitExceeded => "DeploymentLimitExceededException",
    /// "A deployment to a target was attempted while another deployment was in progress."
    DeploymentAlreadyStarted => "DeploymentAlreadyStartedException",
    /// "At least one deployment ID must be specified."
    DeploymentIdRequired => "DeploymentIdRequiredException",
    /// "At least one of the deployment IDs was specified in an invalid format."
    InvalidDeploymentId => "InvalidDeploymentIdException",
    /// "The deployment with the user or Amazon Web Services account does not exist."
    DeploymentDoesNotExist => "DeploymentDoesNotExistException",
    /// "The deployment is already complete."
    DeploymentAlreadyCompleted => "DeploymentAlreadyCompletedException",
    /// "The specified deployment has not started."
    DeploymentNotStarted => "DeploymentNotStartedException",
    /// "A call was submitted that is not supported for the specified deployment type."
    UnsupportedActionForDeploymentType => "UnsupportedActionForDeploymentTypeException",
    /// "The specified time range was specified in an invalid format."
    InvalidTimeRange => "InvalidTimeRangeException",
    /// "The specified deployment status doesn't exist or cannot be determined."
    InvalidDeploymentStatus => "InvalidDeploymentStatusException",
    /// "The next token was specified in an invalid format."
    InvalidNextToken => "InvalidNextTokenException",
    /// "The result of a Lambda validation function that verifies a lifecycle event is invalid.
    /// It should return `Succeeded` or `Failed`."
    InvalidLifecycleEventHookExecutionStatus => "InvalidLifecycleEventHookExecutionStatusException",
    /// "A lifecycle event hook is invalid."
    InvalidLifecycleEventHookExecutionId => "InvalidLifecycleEventHookExecutionIdException",
    /// "An attempt to return the status of an already completed lifecycle event occurred."
    LifecycleEventAlreadyCompleted => "LifecycleEventAlreadyCompletedException",
    /// "A deployment target ID was not provided."
    DeploymentTargetIdRequired => "DeploymentTargetIdRequiredException",
    /// "The target ID provided was not valid."
    InvalidDeploymentTargetId => "InvalidDeploymentTargetIdException",
    /// "The provided target ID does not belong to the attempted deployment."
    DeploymentTargetDoesNotExist => "DeploymentTargetDoesNotExistException",
    /// "The input was specified in an invalid format."
    InvalidInput => "InvalidInputException",
    /// "An API function was called too frequently."
    Throttling => "ThrottlingException",
}

impl CodeDeployErrorType {
    /// The type named `name` (the bare name, as in `__type` after any `prefix#`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }
}

impl fmt::Display for CodeDeployErrorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A CodeDeploy error: its type and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct CodeDeployError {
    /// The error type.
    pub error_type: CodeDeployErrorType,
    /// What went wrong, naming the input and the fix.
    pub message: String,
}

impl CodeDeployError {
    /// An error of `error_type` with `message`.
    pub fn new(error_type: CodeDeployErrorType, message: impl Into<String>) -> Self {
        Self {
            error_type,
            message: message.into(),
        }
    }

    /// The HTTP status to answer with ([`ERROR_STATUS`]).
    pub fn status(&self) -> u16 {
        ERROR_STATUS
    }

    /// The JSON body: `{"__type": "<name>", "message": "..."}`.
    pub fn body(&self) -> String {
        serde_json::json!({"__type": self.error_type.name(), "message": self.message}).to_string()
    }

    /// Reads an error body as botocore does (see the module doc); `None` when the body names
    /// no type the lab answers.
    pub fn parse(body: &[u8]) -> Option<Self> {
        let map: Map<String, Value> = serde_json::from_slice(body).ok()?;
        let raw = map.get("__type")?.as_str()?;
        let raw = raw.split_once(':').map_or(raw, |(code, _)| code);
        let name = raw.rsplit_once('#').map_or(raw, |(_, name)| name);
        let message = map
            .get("message")
            .or_else(|| map.get("Message"))
            .and_then(Value::as_str)
            .unwrap_or_default();
        Some(Self::new(CodeDeployErrorType::from_name(name)?, message))
    }

    /// A body that is not the operation's input shape (not JSON, or a member of the wrong
    /// type): `SerializationException` naming the operation and serde's complaint.
    pub fn serialization(operation: super::Operation, cause: &dyn fmt::Display) -> Self {
        Self::new(
            CodeDeployErrorType::Serialization,
            format!("the {operation} request body is not a valid {operation}Input: {cause}"),
        )
    }

    /// CreateDeployment for a deployment group that already has an active deployment, in
    /// CodeDeploy's words (see [`CodeDeployErrorType::DeploymentLimitExceeded`]).
    pub fn active_deployment(deployment_group: &str, active_deployment_id: &str) -> Self {
        Self::new(
            CodeDeployErrorType::DeploymentLimitExceeded,
            format!(
                "The Deployment Group '{deployment_group}' already has an active Deployment '{active_deployment_id}'"
            ),
        )
    }

    /// No application named `name`, in CodeDeploy's words ("No application found for name: x",
    /// as clients quote it, e.g. the `aws-deploy` CLI's and CloudFormation providers' tests).
    pub fn application_does_not_exist(name: &str) -> Self {
        Self::new(
            CodeDeployErrorType::ApplicationDoesNotExist,
            format!("No application found for name: {name}"),
        )
    }

    /// No deployment group named `group`, in CodeDeploy's words ("No Deployment Group found for
    /// name: x", as quoted by the same clients).
    pub fn deployment_group_does_not_exist(group: &str) -> Self {
        Self::new(
            CodeDeployErrorType::DeploymentGroupDoesNotExist,
            format!("No Deployment Group found for name: {group}"),
        )
    }

    /// No deployment configuration named `name` (neither predefined nor created); our words.
    pub fn deployment_config_does_not_exist(name: &str) -> Self {
        Self::new(
            CodeDeployErrorType::DeploymentConfigDoesNotExist,
            format!(
                "No deployment configuration found for name: {name}; use a predefined CodeDeployDefault.Lambda* name or create it with CreateDeploymentConfig"
            ),
        )
    }

    /// No deployment with `id`; our words.
    pub fn deployment_does_not_exist(id: &str) -> Self {
        Self::new(
            CodeDeployErrorType::DeploymentDoesNotExist,
            format!("The deployment {id} could not be found."),
        )
    }

    /// The answer to a request the deployment model refused, when that refusal is one an API
    /// request can cause (`rollout`'s [`DeploymentError::aws_error_code`]); the message is the
    /// model's, which names the deployment, the event and the fix.
    ///
    /// [`DeploymentError::aws_error_code`]: rollout::deployment::DeploymentError::aws_error_code
    pub fn from_deployment_error(err: &rollout::deployment::DeploymentError) -> Option<Self> {
        let error_type = CodeDeployErrorType::from_name(err.aws_error_code()?)?;
        Some(Self::new(error_type, err.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_exceptions_and_parse_back() {
        let mut names: Vec<&str> = CodeDeployErrorType::ALL.iter().map(|t| t.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), CodeDeployErrorType::ALL.len());
        for &t in CodeDeployErrorType::ALL {
            assert!(t.name().ends_with("Exception"), "{t}");
            let err = CodeDeployError::new(t, "why and how to fix it");
            assert_eq!(CodeDeployError::parse(err.body().as_bytes()), Some(err));
        }
    }

    #[test]
    fn parse_strips_a_namespace_and_a_suffix_like_botocore() {
        let body = br#"{"__type":"com.amazon.coral.service#UnknownOperationException"}"#;
        let err = CodeDeployError::parse(body).unwrap();
        assert_eq!(err.error_type, CodeDeployErrorType::UnknownOperation);
        assert_eq!(err.message, "");
        let body =
            br#"{"__type":"DeploymentDoesNotExistException:http://internal","Message":"gone"}"#;
        let err = CodeDeployError::parse(body).unwrap();
        assert_eq!(err.error_type, CodeDeployErrorType::DeploymentDoesNotExist);
        assert_eq!(err.message, "gone");
        assert_eq!(CodeDeployError::parse(br#"{"__type":"NoSuchThing"}"#), None);
        assert_eq!(CodeDeployError::parse(b"not json"), None);
    }

    #[test]
    fn the_models_refusals_map_to_the_exceptions_it_names() {
        use rollout::deployment::{DeploymentError, DeploymentStatus};
        let err = DeploymentError::AlreadyCompleted {
            deployment_id: "d-ABC".into(),
            status: DeploymentStatus::Succeeded,
        };
        let api = CodeDeployError::from_deployment_error(&err).unwrap();
        assert_eq!(
            api.error_type,
            CodeDeployErrorType::DeploymentAlreadyCompleted
        );
        assert!(api.message.contains("d-ABC"), "{}", api.message);
        let err = DeploymentError::UnknownHookExecution {
            deployment_id: "d-ABC".into(),
            execution_id: "nope".into(),
        };
        assert_eq!(
            CodeDeployError::from_deployment_error(&err).map(|e| e.error_type),
            Some(CodeDeployErrorType::InvalidLifecycleEventHookExecutionId)
        );
        let engine_only = DeploymentError::AlreadyStarted {
            deployment_id: "d-ABC".into(),
            status: DeploymentStatus::InProgress,
        };
        assert_eq!(CodeDeployError::from_deployment_error(&engine_only), None);
    }
}
