//! ListDeploymentTargets and GetDeploymentTarget: a Lambda deployment's one target, the alias,
//! with the status of each lifecycle event (what the console and SAM show per event).

use std::collections::BTreeMap;

use rollout::deployment::{LifecycleEvent, LifecycleEventStatus};
use serde::{Deserialize, Serialize};

use super::{Extra, Timestamp};

/// ListDeploymentTargets' input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDeploymentTargetsInput {
    /// The deployment's id (required).
    pub deployment_id: String,
    /// Where the previous page ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
    /// `TargetStatus` / `ServerInstanceLabel` filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_filters: Option<BTreeMap<String, Vec<String>>>,
}

/// ListDeploymentTargets' output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDeploymentTargetsOutput {
    /// The targets' ids (for Lambda: `<function>:<alias>`).
    #[serde(default)]
    pub target_ids: Vec<String>,
    /// Where the next page starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// GetDeploymentTarget's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentTargetInput {
    /// The deployment's id (required).
    pub deployment_id: String,
    /// The target's id (required).
    pub target_id: String,
}

/// GetDeploymentTarget's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentTargetOutput {
    /// The target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_target: Option<DeploymentTarget>,
}

/// The kind of a deployment target (CodeDeploy `DeploymentTargetType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentTargetType {
    /// An EC2 or on-premises instance.
    InstanceTarget,
    /// A Lambda alias.
    LambdaTarget,
    /// An ECS service.
    #[serde(rename = "ECSTarget")]
    EcsTarget,
    /// A CloudFormation blue/green target.
    CloudFormationTarget,
}

/// A deployment target (CodeDeploy `DeploymentTarget`); the other kinds' members are kept in
/// `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentTarget {
    /// `LambdaTarget` in the lab.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_target_type: Option<DeploymentTargetType>,
    /// The alias being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_target: Option<LambdaTarget>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// A target's status (CodeDeploy `TargetStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TargetStatus {
    /// Not started.
    Pending,
    /// Being deployed.
    InProgress,
    /// Deployed.
    Succeeded,
    /// Failed or stopped.
    Failed,
    /// Skipped.
    Skipped,
    /// Cannot tell.
    Unknown,
    /// Blue/green: ready for traffic (not Lambda).
    Ready,
}

/// A Lambda deployment's target (CodeDeploy `LambdaTarget`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaTarget {
    /// The deployment's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The target's id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_id: Option<String>,
    /// The alias's ARN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_arn: Option<String>,
    /// The target's status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<TargetStatus>,
    /// When the status last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated_at: Option<Timestamp>,
    /// The lifecycle events, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_events: Option<Vec<TargetLifecycleEvent>>,
    /// The function, alias and versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_function_info: Option<LambdaFunctionInfo>,
}

/// The alias a Lambda target deploys (CodeDeploy `LambdaFunctionInfo`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LambdaFunctionInfo {
    /// The function.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_name: Option<String>,
    /// The alias.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_alias: Option<String>,
    /// The version the alias served before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<String>,
    /// The version being deployed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version: Option<String>,
    /// The target version's share of the traffic in percent (the model: "The percentage of
    /// production traffic that the target version of a Lambda function receives").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_version_weight: Option<f64>,
}

/// Why a lifecycle event failed (CodeDeploy `Diagnostics`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Diagnostics {
    /// `Success`, `ScriptMissing`, `ScriptNotExecutable`, `ScriptTimedOut`, `ScriptFailed` or
    /// `UnknownError`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    /// The hook function (the "script" of a Lambda deployment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_name: Option<String>,
    /// What happened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The last lines of the log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
}

/// One lifecycle event of a target (CodeDeploy `LifecycleEvent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TargetLifecycleEvent {
    /// `BeforeAllowTraffic`, `AllowTraffic` or `AfterAllowTraffic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_event_name: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diagnostics: Option<Diagnostics>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<LifecycleEventStatus>,
}

impl TargetLifecycleEvent {
    /// The wire form of the model's record of an event, whose times count from the
    /// deployment's creation at `created`.
    pub fn of(event: &LifecycleEvent, created: Timestamp) -> Self {
        let at = |d: std::time::Duration| {
            Timestamp::from_unix_millis(
                created.unix_millis() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2),
            )
        };
        let diagnostics = (event.status == LifecycleEventStatus::Failed).then(|| Diagnostics {
            error_code: Some("ScriptFailed".to_owned()),
            script_name: event.hook.as_ref().map(|h| h.function_name.clone()),
            message: event.message.clone(),
            log_tail: None,
        });
        Self {
            lifecycle_event_name: Some(event.name.as_str().to_owned()),
            diagnostics,
            start_time: event.start_time.map(at),
            end_time: event.end_time.map(at),
            status: Some(event.status),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rollout::deployment::{HookExecution, LifecycleEventName};

    use super::*;

    #[test]
    fn a_failed_hook_event_shows_its_function_message_and_wall_clock_times() {
        let event = LifecycleEvent {
            name: LifecycleEventName::BeforeAllowTraffic,
            status: LifecycleEventStatus::Failed,
            start_time: Some(Duration::from_millis(1_500)),
            end_time: Some(Duration::from_secs(3)),
            hook: Some(HookExecution {
                function_name: "CodeDeployHook_pre".into(),
                execution_id: "e-1".into(),
            }),
            message: Some("the hook reported Failed".into()),
        };
        let wire = TargetLifecycleEvent::of(&event, Timestamp::from_unix_millis(1_000_000));
        let json = serde_json::to_value(&wire).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "lifecycleEventName": "BeforeAllowTraffic",
                "diagnostics": {"errorCode": "ScriptFailed", "scriptName": "CodeDeployHook_pre",
                                "message": "the hook reported Failed"},
                "startTime": 1001.5,
                "endTime": 1003,
                "status": "Failed"
            })
        );
        let pending = LifecycleEvent {
            status: LifecycleEventStatus::Pending,
            start_time: None,
            end_time: None,
            hook: None,
            message: None,
            ..event
        };
        let wire = TargetLifecycleEvent::of(&pending, Timestamp::from_unix_millis(0));
        assert_eq!(wire.diagnostics, None);
        assert_eq!(wire.start_time, None);
    }
}
