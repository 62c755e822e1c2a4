//! GetApplication, DeleteApplication, GetDeploymentGroup and DeleteDeploymentGroup: what
//! `aws deploy get-application` reads and what a stack's cleanup (CloudFormation deleting an
//! `AWS::CodeDeploy::Application` or `DeploymentGroup`) calls.

use serde::{Deserialize, Serialize};

use super::{
    AlarmConfiguration, AutoRollbackConfiguration, ComputePlatform, DeploymentStyle, Extra,
    Timestamp,
};

/// GetApplication's and DeleteApplication's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationNameInput {
    /// The application (required).
    pub application_name: String,
}

/// An application as GetApplication describes it (CodeDeploy `ApplicationInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationInfo {
    /// The application's id.
    pub application_id: String,
    /// Its name.
    pub application_name: String,
    /// When it was created.
    pub create_time: Timestamp,
    /// Whether it is linked to GitHub (never in the lab).
    pub linked_to_git_hub: bool,
    /// `Lambda` in the lab.
    pub compute_platform: ComputePlatform,
}

/// GetApplication's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetApplicationOutput {
    /// The application.
    pub application: ApplicationInfo,
}

/// GetDeploymentGroup's and DeleteDeploymentGroup's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentGroupNameInput {
    /// The application (required).
    pub application_name: String,
    /// The deployment group (required).
    pub deployment_group_name: String,
}

/// A deployment group as GetDeploymentGroup describes it (CodeDeploy
/// `DeploymentGroupInfo`, its Lambda members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentGroupInfo {
    /// The application.
    pub application_name: String,
    /// The group's id.
    pub deployment_group_id: String,
    /// The group's name.
    pub deployment_group_name: String,
    /// Its deployments' configuration.
    pub deployment_config_name: String,
    /// The role CodeDeploy acts as.
    pub service_role_arn: String,
    /// The alarms that stop its deployments.
    pub alarm_configuration: AlarmConfiguration,
    /// When its deployments roll back.
    pub auto_rollback_configuration: AutoRollbackConfiguration,
    /// Blue/green with traffic control for Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_style: Option<DeploymentStyle>,
    /// `Lambda` in the lab.
    pub compute_platform: ComputePlatform,
}

/// GetDeploymentGroup's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentGroupOutput {
    /// The deployment group.
    pub deployment_group_info: DeploymentGroupInfo,
}

/// DeleteDeploymentGroup's output: the Auto Scaling hooks left behind (none for Lambda).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteDeploymentGroupOutput {
    /// Always empty in the lab.
    pub hooks_not_cleaned_up: Vec<Extra>,
}
