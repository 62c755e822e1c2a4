//! The CodeDeploy operations the lab answers, named by the `X-Amz-Target` header of an AWS
//! JSON 1.1 request (service model metadata: `"protocol": "json"`, `"jsonVersion": "1.1"`,
//! `"targetPrefix": "CodeDeploy_20141006"`).

use std::fmt;

use super::error::{CodeDeployError, CodeDeployErrorType};

/// The header naming the operation: `X-Amz-Target: CodeDeploy_20141006.<Operation>`.
pub const HEADER_TARGET: &str = "x-amz-target";
/// The target prefix of every CodeDeploy operation (service model `targetPrefix`).
pub const TARGET_PREFIX: &str = "CodeDeploy_20141006";
/// The content type of JSON 1.1 requests and responses.
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.1";

macro_rules! operations {
    ($($(#[$doc:meta])* $name:ident),* $(,)?) => {
        /// A CodeDeploy operation the lab answers.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Operation {
            $($(#[$doc])* $name,)*
        }

        impl Operation {
            /// Every operation, in the order of the API reference's Lambda workflow.
            pub const ALL: &'static [Self] = &[$(Self::$name,)*];

            /// The operation's name, as in `X-Amz-Target` after the prefix.
            pub fn name(self) -> &'static str {
                match self {
                    $(Self::$name => stringify!($name),)*
                }
            }
        }
    };
}

operations! {
    /// `aws deploy create-application`.
    CreateApplication,
    /// `aws deploy get-application`.
    GetApplication,
    /// `aws deploy delete-application` (its deployment groups with it).
    DeleteApplication,
    /// `aws deploy create-deployment-group`.
    CreateDeploymentGroup,
    /// `aws deploy get-deployment-group`.
    GetDeploymentGroup,
    /// `aws deploy delete-deployment-group`.
    DeleteDeploymentGroup,
    /// `aws deploy create-deployment-config`.
    CreateDeploymentConfig,
    /// `aws deploy get-deployment-config`.
    GetDeploymentConfig,
    /// `aws deploy create-deployment`.
    CreateDeployment,
    /// `aws deploy get-deployment` (also what `aws deploy wait deployment-successful` polls).
    GetDeployment,
    /// `aws deploy list-deployments`.
    ListDeployments,
    /// `aws deploy stop-deployment`.
    StopDeployment,
    /// What a hook function calls to report its result.
    PutLifecycleEventHookExecutionStatus,
    /// `aws deploy list-deployment-targets` (a Lambda deployment has one target, the alias).
    ListDeploymentTargets,
    /// `aws deploy get-deployment-target`: the per-event status (`lambdaTarget.lifecycleEvents`).
    GetDeploymentTarget,
}

impl Operation {
    /// The operation a request's `X-Amz-Target` header names (`None`: the header is missing).
    ///
    /// A missing header, another service's prefix or an operation the lab does not answer gets
    /// `UnknownOperationException`, as AWS's JSON services answer an unknown target (HTTP 400,
    /// `{"__type":"UnknownOperationException"}`: aws/aws-sdk-js#425, aws/aws-sdk-net#1536).
    pub fn from_target(header: Option<&str>) -> Result<Self, CodeDeployError> {
        let Some(header) = header else {
            return Err(unknown(format!(
                "the request has no X-Amz-Target header: send {TARGET_PREFIX}.<Operation>, e.g. {TARGET_PREFIX}.GetDeployment"
            )));
        };
        let target = header.trim();
        let Some(name) = target
            .strip_prefix(TARGET_PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
        else {
            return Err(unknown(format!(
                "X-Amz-Target {target:?} is not a CodeDeploy operation: it must start with {TARGET_PREFIX}."
            )));
        };
        Self::ALL
            .iter()
            .copied()
            .find(|op| op.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|op| op.name()).collect();
                unknown(format!(
                    "operation {name:?} is not one the lab's CodeDeploy API answers; it answers {}",
                    known.join(", ")
                ))
            })
    }

    /// A request body read as this operation's input `T`; a body that is not JSON, or whose
    /// members do not fit, is `SerializationException` naming the operation and the member.
    /// An empty body reads as `{}`, as botocore sends for an input without members.
    pub fn decode<T: serde::de::DeserializeOwned>(self, body: &[u8]) -> Result<T, CodeDeployError> {
        let body = if body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            body
        };
        serde_json::from_slice(body).map_err(|e| CodeDeployError::serialization(self, &e))
    }

    /// The full `X-Amz-Target` value.
    pub fn target(self) -> String {
        format!("{TARGET_PREFIX}.{}", self.name())
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

fn unknown(message: String) -> CodeDeployError {
    CodeDeployError::new(CodeDeployErrorType::UnknownOperation, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_round_trips_through_its_target() {
        for &op in Operation::ALL {
            assert_eq!(Operation::from_target(Some(&op.target())), Ok(op));
        }
        assert_eq!(
            Operation::from_target(Some(" CodeDeploy_20141006.GetDeployment ")),
            Ok(Operation::GetDeployment)
        );
    }

    #[test]
    fn bodies_that_do_not_fit_are_serialization_errors_naming_the_member() {
        use crate::codedeploy::{GetDeploymentInput, ListDeploymentsInput};
        let op = Operation::GetDeployment;
        let input: GetDeploymentInput = op.decode(br#"{"deploymentId":"d-1"}"#).unwrap();
        assert_eq!(input.deployment_id, "d-1");
        for (body, needle) in [
            (&b"{not json"[..], "GetDeploymentInput"),
            (br#"{"deploymentId":7}"#, "invalid type"),
            (b"{}", "deploymentId"),
        ] {
            let err = op.decode::<GetDeploymentInput>(body).unwrap_err();
            assert_eq!(err.error_type, CodeDeployErrorType::Serialization);
            assert!(err.message.contains(needle), "{}", err.message);
        }
        let all: ListDeploymentsInput = Operation::ListDeployments.decode(b"").unwrap();
        assert_eq!(all, ListDeploymentsInput::default());
    }

    #[test]
    fn unknown_targets_are_unknown_operations_naming_the_target() {
        for (header, needle) in [
            (None, "no X-Amz-Target"),
            (Some("AWSLambda.Invoke"), "AWSLambda.Invoke"),
            (Some("CodeDeploy_20141006"), "CodeDeploy_20141006"),
            (
                Some("CodeDeploy_20141006.BatchGetDeployments"),
                "BatchGetDeployments",
            ),
            (Some("CodeDeploy_20141006.getdeployment"), "getdeployment"),
        ] {
            let err = Operation::from_target(header).unwrap_err();
            assert_eq!(err.error_type, CodeDeployErrorType::UnknownOperation);
            assert!(err.message.contains(needle), "{header:?}: {}", err.message);
        }
    }
}
