//! Deployments: CreateDeployment, GetDeployment, ListDeployments, StopDeployment and
//! PutLifecycleEventHookExecutionStatus.
//!
//! `DeploymentInfo` embeds `rollout`'s vocabulary where it is CodeDeploy's 1:1: [`DeploymentStatus`],
//! [`DeploymentOverview`], [`ErrorInformation`], [`RollbackInfo`].

use rollout::deployment::{
    DeploymentOverview, DeploymentStatus, ErrorInformation, HookStatus, RollbackInfo,
};
use serde::{Deserialize, Serialize};

use super::application::{AlarmConfiguration, AutoRollbackConfiguration, DeploymentStyle};
use super::error::{CodeDeployError, CodeDeployErrorType};
use super::{ComputePlatform, Extra, Timestamp};

/// Where a revision is (CodeDeploy `RevisionLocationType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RevisionType {
    /// An object in S3 (not in the lab).
    S3,
    /// A GitHub commit (not in the lab).
    GitHub,
    /// An AppSpec given inline (the older spelling).
    String,
    /// An AppSpec given inline: what Lambda deployments use.
    AppSpecContent,
}

/// An inline AppSpec (CodeDeploy `RawString` and `AppSpecContent`: the same members).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawString {
    /// The AppSpec, YAML or JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// The SHA-256 of `content`, hex (recorded, not checked by the lab).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// A revision (CodeDeploy `RevisionLocation`). `s3Location` and `gitHubLocation` are kept in
/// `extra`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RevisionLocation {
    /// Where the revision is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision_type: Option<RevisionType>,
    /// The AppSpec, for `String`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string: Option<RawString>,
    /// The AppSpec, for `AppSpecContent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_spec_content: Option<RawString>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl RevisionLocation {
    /// An inline AppSpec revision (`revisionType` `AppSpecContent`).
    pub fn app_spec(content: impl Into<String>) -> Self {
        Self {
            revision_type: Some(RevisionType::AppSpecContent),
            string: None,
            app_spec_content: Some(RawString {
                content: Some(content.into()),
                sha256: None,
            }),
            extra: Extra::new(),
        }
    }

    /// The AppSpec text of an inline revision, or `InvalidRevisionException` naming what is
    /// wrong: a revision the lab cannot fetch (S3, GitHub), or no `content`.
    pub fn app_spec_text(&self) -> Result<&str, CodeDeployError> {
        let invalid = |m: String| CodeDeployError::new(CodeDeployErrorType::InvalidRevision, m);
        let raw = match self.revision_type {
            Some(RevisionType::AppSpecContent) => self.app_spec_content.as_ref(),
            Some(RevisionType::String) => self.string.as_ref(),
            Some(other) => {
                return Err(invalid(format!(
                    "revisionType {other:?} is not available in the lab: give the AppSpec inline with revisionType=AppSpecContent,appSpecContent={{content=...}}"
                )));
            }
            None => {
                return Err(invalid(
                    "the revision has no revisionType: use revisionType=AppSpecContent".into(),
                ));
            }
        };
        raw.and_then(|r| r.content.as_deref())
            .filter(|c| !c.trim().is_empty())
            .ok_or_else(|| {
                invalid(
                    "the revision has no AppSpec content: set appSpecContent.content to the AppSpec (YAML or JSON)"
                        .into(),
                )
            })
    }
}

/// CreateDeployment's input. EC2-only members (`targetInstances`, `fileExistsBehavior`, ...)
/// are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentInput {
    /// The application (required).
    pub application_name: String,
    /// The deployment group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_group_name: Option<String>,
    /// The revision: an inline AppSpec for Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionLocation>,
    /// Overrides the deployment group's configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_name: Option<String>,
    /// A comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Overrides the deployment group's rollback settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback_configuration: Option<AutoRollbackConfiguration>,
    /// Overrides the deployment group's alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_alarm_configuration: Option<AlarmConfiguration>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// CreateDeployment's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentOutput {
    /// The new deployment's id (`d-` and 9 characters in AWS).
    pub deployment_id: String,
}

/// Input of GetDeployment, and of the operations naming one deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentInput {
    /// The deployment's id (required).
    pub deployment_id: String,
}

/// Who created a deployment (CodeDeploy `DeploymentCreator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentCreator {
    /// A person or a script, through the API.
    #[serde(rename = "user")]
    User,
    /// EC2 Auto Scaling.
    #[serde(rename = "autoscaling")]
    Autoscaling,
    /// CodeDeploy's automatic rollback: the rollback deployment.
    #[serde(rename = "codeDeployRollback")]
    CodeDeployRollback,
    /// CodeDeploy itself.
    CodeDeploy,
    /// CodeDeploy's automatic update.
    CodeDeployAutoUpdate,
    /// CloudFormation (SAM's `AutoPublishAlias` + `DeploymentPreference`).
    CloudFormation,
    /// A CloudFormation rollback.
    CloudFormationRollback,
    /// Auto Scaling termination.
    #[serde(rename = "autoscalingTermination")]
    AutoscalingTermination,
}

/// A deployment as GetDeployment shows it (CodeDeploy `DeploymentInfo`). Members for EC2 and
/// ECS are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentInfo {
    /// The application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// The deployment group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_group_name: Option<String>,
    /// The configuration it shifts traffic by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_name: Option<String>,
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The revision deployed before this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_revision: Option<RevisionLocation>,
    /// The revision. GetDeployment leaves `appSpecContent.content` out and keeps its `sha256`
    /// (API reference, GetDeployment: "The content property of the appSpecContent object in
    /// the returned revision is always null").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<RevisionLocation>,
    /// Its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DeploymentStatus>,
    /// Why it failed or stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_information: Option<ErrorInformation>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<Timestamp>,
    /// When it started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_time: Option<Timestamp>,
    /// Its targets per state (one target, the alias, for Lambda).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_overview: Option<DeploymentOverview>,
    /// Its comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who created it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator: Option<DeploymentCreator>,
    /// When it rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback_configuration: Option<AutoRollbackConfiguration>,
    /// What its rollback did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_info: Option<RollbackInfo>,
    /// Blue/green with traffic control for Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_style: Option<DeploymentStyle>,
    /// `Lambda`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_platform: Option<ComputePlatform>,
    /// The alarms that replaced the group's for this deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_alarm_configuration: Option<AlarmConfiguration>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// GetDeployment's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentOutput {
    /// The deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_info: Option<DeploymentInfo>,
}

/// A time range of ListDeployments (CodeDeploy `TimeRange`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeRange {
    /// Earliest creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<Timestamp>,
    /// Latest creation time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<Timestamp>,
}

/// ListDeployments' input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDeploymentsInput {
    /// Only this application's deployments (requires `deploymentGroupName` too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    /// Only this deployment group's deployments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_group_name: Option<String>,
    /// Only deployments with this external id (CloudFormation's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// Only deployments in these statuses, as sent ([`Self::statuses`] reads them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_only_statuses: Option<Vec<String>>,
    /// Only deployments created in this range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time_range: Option<TimeRange>,
    /// Where the previous page ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

impl ListDeploymentsInput {
    /// The statuses to keep (`None`: all), or the error CodeDeploy answers for a status it does
    /// not know. `Baking` and `Ready` are valid but no Lambda deployment is ever in them.
    pub fn statuses(&self) -> Result<Option<Vec<DeploymentStatus>>, CodeDeployError> {
        let Some(names) = &self.include_only_statuses else {
            return Ok(None);
        };
        let mut statuses = Vec::new();
        for name in names {
            match serde_json::from_value(serde_json::Value::String(name.clone())) {
                Ok(status) => statuses.push(status),
                Err(_) if name == "Baking" || name == "Ready" => {}
                Err(_) => {
                    return Err(CodeDeployError::new(
                        CodeDeployErrorType::InvalidDeploymentStatus,
                        format!(
                            "includeOnlyStatuses has {name:?}: a status is one of Created, Queued, InProgress, Baking, Succeeded, Failed, Stopped, Ready"
                        ),
                    ));
                }
            }
        }
        Ok(Some(statuses))
    }

    /// The error CodeDeploy answers for filters that do not fit together: a deployment group
    /// without its application, or a time range that ends before it starts.
    pub fn validate(&self) -> Result<(), CodeDeployError> {
        if self.deployment_group_name.is_some() && self.application_name.is_none() {
            return Err(CodeDeployError::new(
                CodeDeployErrorType::ApplicationNameRequired,
                "deploymentGroupName is given without applicationName: name the group's application too",
            ));
        }
        if let Some(TimeRange {
            start: Some(start),
            end: Some(end),
        }) = self.create_time_range
            && start > end
        {
            return Err(CodeDeployError::new(
                CodeDeployErrorType::InvalidTimeRange,
                format!(
                    "createTimeRange starts ({}) after it ends ({}): swap start and end",
                    start.unix_secs(),
                    end.unix_secs()
                ),
            ));
        }
        self.statuses().map(drop)
    }
}

/// ListDeployments' output.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListDeploymentsOutput {
    /// The deployments' ids.
    #[serde(default)]
    pub deployments: Vec<String>,
    /// Where the next page starts (absent on the last page).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// StopDeployment's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopDeploymentInput {
    /// The deployment's id (required).
    pub deployment_id: String,
    /// Roll the alias back to the current version (`None`: the group's setting decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback_enabled: Option<bool>,
}

/// StopDeployment's `status` (CodeDeploy `StopStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StopStatus {
    /// The stop was requested and is under way.
    Pending,
    /// The deployment is stopped.
    Succeeded,
}

/// StopDeployment's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopDeploymentOutput {
    /// Whether the stop is done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<StopStatus>,
    /// What the stop did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

/// PutLifecycleEventHookExecutionStatus' input: what a hook function reports. Every member is
/// optional in the model; [`Self::report`] checks them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLifecycleEventHookExecutionStatusInput {
    /// The deployment the hook was invoked for (its event's `DeploymentId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_id: Option<String>,
    /// The execution id the hook was invoked with (`LifecycleEventHookExecutionId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_event_hook_execution_id: Option<String>,
    /// `Succeeded` or `Failed`, as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl PutLifecycleEventHookExecutionStatusInput {
    /// The deployment id, execution id and status the hook reported, or the error CodeDeploy
    /// answers for the first one missing or invalid.
    pub fn report(&self) -> Result<(&str, &str, HookStatus), CodeDeployError> {
        let deployment_id = self
            .deployment_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                CodeDeployError::new(
                    CodeDeployErrorType::DeploymentIdRequired,
                    "deploymentId is missing: pass the DeploymentId of the hook's invocation event",
                )
            })?;
        let execution_id = self
            .lifecycle_event_hook_execution_id
            .as_deref()
            .filter(|id| !id.is_empty())
            .ok_or_else(|| {
                CodeDeployError::new(
                    CodeDeployErrorType::InvalidLifecycleEventHookExecutionId,
                    "lifecycleEventHookExecutionId is missing: pass the LifecycleEventHookExecutionId of the hook's invocation event",
                )
            })?;
        let status = self.status.as_deref().unwrap_or_default();
        let status = status.parse::<HookStatus>().map_err(|e| {
            CodeDeployError::new(
                CodeDeployErrorType::InvalidLifecycleEventHookExecutionStatus,
                e.to_string(),
            )
        })?;
        Ok((deployment_id, execution_id, status))
    }
}

/// PutLifecycleEventHookExecutionStatus' output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PutLifecycleEventHookExecutionStatusOutput {
    /// The execution id reported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_event_hook_execution_id: Option<String>,
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
