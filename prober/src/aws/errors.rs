//! What a failed control-plane call means to the user: the call as IAM names its permission,
//! the resource, what AWS (or the SDK) said and what to do about it. Generic over every SDK
//! client's error type, so the alias, deployment and stack followers share it.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};

use crate::error::ProberError;

/// Why a call failed, as far as the fix is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// No credential provider of the chain found credentials.
    NoCredentials,
    /// The credentials expired (locally known, or AWS said so).
    ExpiredCredentials,
    /// AWS does not know the key or the signature does not match.
    InvalidCredentials,
    /// No region from the environment, the profile or an ARN.
    NoRegion,
    /// The resource does not exist (in that region and account).
    NotFound,
    /// The identity lacks the permission.
    AccessDenied,
    /// The control plane's quota was exceeded.
    Throttled,
    /// No answer: the endpoint could not be reached, or the call timed out.
    Unreachable,
    /// Anything else AWS answered.
    Other,
}

/// Error codes of expired credentials across services.
const EXPIRED_CODES: &[&str] = &["ExpiredTokenException", "ExpiredToken", "RequestExpired"];
/// Error codes of unknown keys or bad signatures.
const INVALID_CODES: &[&str] = &[
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
];
/// Error codes of a missing resource (Lambda, CodeDeploy, CloudFormation).
const NOT_FOUND_CODES: &[&str] = &[
    "ResourceNotFoundException",
    "DeploymentDoesNotExistException",
    "DeploymentGroupDoesNotExistException",
    "ApplicationDoesNotExistException",
];
/// Error codes of a missing permission.
const DENIED_CODES: &[&str] = &[
    "AccessDeniedException",
    "AccessDenied",
    "UnauthorizedOperation",
];
/// Error codes of throttling.
const THROTTLED_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ThrottledException",
];

/// The kind of failure and AWS's (or the SDK's) words, on one line.
pub fn classify<E, R>(err: &SdkError<E, R>) -> (FailureKind, String)
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    if let SdkError::ServiceError(_) = err {
        let code = err.code().unwrap_or("unknown error");
        let message = err.message().unwrap_or("");
        let said = if message.is_empty() {
            code.to_owned()
        } else {
            format!("{code}: {message}")
        };
        let kind = if EXPIRED_CODES.contains(&code) {
            FailureKind::ExpiredCredentials
        } else if INVALID_CODES.contains(&code) {
            FailureKind::InvalidCredentials
        } else if NOT_FOUND_CODES.contains(&code)
            || code.ends_with("NotFoundException")
            || code.ends_with("DoesNotExistException")
            || (code == "ValidationError" && message.contains("does not exist"))
        {
            FailureKind::NotFound
        } else if DENIED_CODES.contains(&code) {
            FailureKind::AccessDenied
        } else if THROTTLED_CODES.contains(&code) {
            FailureKind::Throttled
        } else {
            FailureKind::Other
        };
        return (kind, said);
    }
    let chain = chain(err);
    if let Some(kind) = credentials_kind(err) {
        return (kind, chain);
    }
    let lower = chain.to_ascii_lowercase();
    let kind = match err {
        SdkError::ConstructionFailure(_) if lower.contains("region") => FailureKind::NoRegion,
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) => FailureKind::Unreachable,
        _ => FailureKind::Other,
    };
    (kind, chain)
}

/// The error of a call made before the first probe: exit 64, naming the call, the resource and
/// the fix. For access denied, the resource AWS names (its full ARN) is preferred.
pub fn control_plane_error<E, R>(
    call: &'static str,
    resource: &str,
    err: &SdkError<E, R>,
) -> ProberError
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    let (kind, reason) = classify(err);
    let resource = match kind {
        FailureKind::AccessDenied => denied_resource(&reason).unwrap_or(resource).to_owned(),
        _ => resource.to_owned(),
    };
    failure(call, &resource, kind, reason)
}

/// The error for `kind` with AWS's words `reason`.
pub fn failure(
    call: &'static str,
    resource: &str,
    kind: FailureKind,
    reason: String,
) -> ProberError {
    let fix = fix(call, resource, &kind);
    ProberError::ControlPlane {
        call,
        resource: resource.to_owned(),
        reason,
        fix,
    }
}

/// A call failed without reaching AWS since the credential chain found nothing usable.
pub fn credentials_error(
    call: &'static str,
    resource: &str,
    err: &CredentialsError,
) -> ProberError {
    let kind = match err {
        CredentialsError::CredentialsNotLoaded(_) => FailureKind::NoCredentials,
        _ => FailureKind::InvalidCredentials,
    };
    let reason = format!("no usable credentials: {}", error_chain(err));
    failure(call, resource, kind, reason)
}

/// The region could not be resolved.
pub fn no_region(call: &'static str, resource: &str) -> ProberError {
    failure(
        call,
        resource,
        FailureKind::NoRegion,
        "no region: none in AWS_REGION, AWS_DEFAULT_REGION or the profile".into(),
    )
}

/// A mid-run failure, for the report's `failures` (one line: code and message, or the cause).
pub fn describe<E, R>(err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + 'static,
{
    classify(err).1
}

/// What to do about a failure of `call` on `resource`.
pub fn fix(call: &str, resource: &str, kind: &FailureKind) -> String {
    match kind {
        FailureKind::NoCredentials => "give AWS credentials as every AWS tool takes them: \
             AWS_PROFILE=NAME with a profile of ~/.aws/config (`aws configure`), \
             `aws sso login --profile NAME` for IAM Identity Center, or AWS_ACCESS_KEY_ID and \
             AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN)"
            .into(),
        FailureKind::ExpiredCredentials => "the credentials have expired: refresh them \
             (`aws sso login --profile NAME`, a new session from your credential_process or \
             `aws sts assume-role`), then run again"
            .into(),
        FailureKind::InvalidCredentials => "AWS does not accept these credentials: check \
             AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN or the profile's keys \
             (`aws sts get-caller-identity` shows who you are)"
            .into(),
        FailureKind::NoRegion => format!(
            "set AWS_REGION (or the profile's region: `aws configure set region us-east-1`){}",
            if call.starts_with("lambda:") {
                ", or give an ARN, e.g. arn:aws:lambda:us-east-1:123456789012:function:hello:live"
            } else {
                ""
            }
        ),
        FailureKind::NotFound => not_found_fix(call, resource),
        FailureKind::AccessDenied => format!(
            "the identity lacks the permission {call} on {resource}: allow it in an IAM policy \
             (Action \"{call}\", Resource \"{resource}\"), or use a profile that has it"
        ),
        FailureKind::Throttled => "the control plane's quota was exceeded: poll less often \
             (e.g. --poll 2s) or try again later"
            .into(),
        FailureKind::Unreachable => "no answer from the service: check the network, proxy \
             settings and any AWS_ENDPOINT_URL* variable"
            .into(),
        FailureKind::Other => format!(
            "see AWS's message; `aws` with the same profile and \
             region should fail alike for {call}"
        ),
    }
}

fn not_found_fix(call: &str, resource: &str) -> String {
    match call {
        "lambda:GetAlias" => {
            let function = function_of(resource);
            format!(
                "the alias does not exist in that region and account: check the name and \
                 AWS_REGION; list the function's aliases with \
                 `aws lambda list-aliases --function-name {function}`"
            )
        }
        c if c.starts_with("codedeploy:") => "check the id and AWS_REGION; list the \
             deployments with `aws deploy list-deployments --application-name APP \
             --deployment-group-name GROUP`"
            .into(),
        c if c.starts_with("cloudformation:") => "check the stack's name and AWS_REGION; \
             list the stacks with `aws cloudformation list-stacks`"
            .into(),
        _ => "check the name and AWS_REGION".into(),
    }
}

/// The function of `hello:live`, `arn:...:function:hello:live` or `hello:live in REGION`.
fn function_of(resource: &str) -> &str {
    let resource = resource.split(' ').next().unwrap_or(resource);
    match resource.split_once(":function:") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => resource.split(':').next().unwrap_or(resource),
    }
}

/// `... on resource: arn:... because ...` in an AccessDenied message.
fn denied_resource(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once("on resource: ")?;
    let arn = rest.split_whitespace().next()?;
    arn.starts_with("arn:").then_some(arn)
}

/// A credentials error somewhere in the cause chain of `err`.
fn credentials_kind(err: &(dyn StdError + 'static)) -> Option<FailureKind> {
    let mut cause: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(c) = e.downcast_ref::<CredentialsError>() {
            return Some(match c {
                CredentialsError::CredentialsNotLoaded(_) => FailureKind::NoCredentials,
                _ => FailureKind::InvalidCredentials,
            });
        }
        cause = e.source();
    }
    None
}

/// `err: its cause: ...` on one line.
fn chain<E, R>(err: &SdkError<E, R>) -> String
where
    E: StdError + 'static,
    R: Debug + 'static,
{
    error_chain(err)
}

fn error_chain(err: &(dyn StdError + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(e) = cause {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cause = e.source();
    }
    out.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_denied_resource_is_taken_from_aws_s_message() {
        let m = "User: arn:aws:iam::123456789012:user/x is not authorized to perform: \
                 lambda:GetAlias on resource: arn:aws:lambda:us-east-1:123456789012:function:hello:live \
                 because no identity-based policy allows the lambda:GetAlias action";
        assert_eq!(
            denied_resource(m),
            Some("arn:aws:lambda:us-east-1:123456789012:function:hello:live")
        );
        assert_eq!(denied_resource("Access denied"), None);
    }

    #[test]
    fn not_found_names_the_listing_command() {
        for resource in [
            "hello:live",
            "hello:live in us-east-1",
            "arn:aws:lambda:us-east-1:123456789012:function:hello:live",
        ] {
            let fix = fix("lambda:GetAlias", resource, &FailureKind::NotFound);
            assert!(
                fix.contains("aws lambda list-aliases --function-name hello`"),
                "{fix}"
            );
        }
    }

    #[test]
    fn each_kind_says_what_to_do() {
        let kinds = [
            (FailureKind::NoCredentials, "AWS_PROFILE"),
            (FailureKind::ExpiredCredentials, "aws sso login"),
            (FailureKind::InvalidCredentials, "get-caller-identity"),
            (FailureKind::NoRegion, "AWS_REGION"),
            (FailureKind::AccessDenied, "lambda:GetAlias on arn:x"),
            (FailureKind::Throttled, "--poll"),
            (FailureKind::Unreachable, "AWS_ENDPOINT_URL"),
        ];
        for (kind, needle) in kinds {
            let fix = fix("lambda:GetAlias", "arn:x", &kind);
            assert!(fix.contains(needle), "{kind:?}: {fix}");
        }
        assert!(fix("lambda:GetAlias", "x", &FailureKind::NoRegion).contains("an ARN"));
        assert!(!fix("codedeploy:GetDeployment", "x", &FailureKind::NoRegion).contains("ARN"));
    }
}
