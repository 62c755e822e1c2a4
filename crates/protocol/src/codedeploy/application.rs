//! CreateApplication and CreateDeploymentGroup, with the deployment group's alarm and
//! automatic-rollback configurations.

use rollout::deployment::AutoRollback;
use serde::{Deserialize, Serialize};

use super::Extra;

/// An application's or config's `computePlatform` (CodeDeploy `ComputePlatform`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ComputePlatform {
    /// EC2 and on-premises instances.
    Server,
    /// Lambda aliases: the only platform the lab deploys to.
    Lambda,
    /// ECS services.
    #[serde(rename = "ECS")]
    Ecs,
}

/// A resource tag (CodeDeploy `Tag`: PascalCase members).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    /// The tag's key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The tag's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// CreateApplication's input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApplicationInput {
    /// The application's name (required; 1–100 characters).
    pub application_name: String,
    /// `Lambda` for the lab; CodeDeploy's default is `Server`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_platform: Option<ComputePlatform>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

/// CreateApplication's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateApplicationOutput {
    /// The application's id (a UUID in AWS).
    pub application_id: String,
}

/// One alarm of an [`AlarmConfiguration`] (CodeDeploy `Alarm`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmRef {
    /// The CloudWatch alarm's name.
    pub name: String,
}

/// The alarms a deployment group monitors (CodeDeploy `AlarmConfiguration`; at most 10).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmConfiguration {
    /// Whether the alarms are monitored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Go on when CloudWatch cannot report an alarm's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore_poll_alarm_failure: Option<bool>,
    /// The alarms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarms: Option<Vec<AlarmRef>>,
}

impl AlarmConfiguration {
    /// CodeDeploy's limit on the alarms of a deployment group.
    pub const MAX_ALARMS: usize = 10;

    /// The names of the alarms a deployment monitors: none unless `enabled`.
    pub fn monitored_alarms(&self) -> Vec<String> {
        if self.enabled != Some(true) {
            return Vec::new();
        }
        self.alarms
            .iter()
            .flatten()
            .map(|a| a.name.clone())
            .collect()
    }
}

/// An event that triggers an automatic rollback (CodeDeploy `AutoRollbackEvent`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AutoRollbackEvent {
    /// The deployment failed (a hook reported `Failed` or timed out).
    DeploymentFailure,
    /// A monitored alarm went to ALARM.
    DeploymentStopOnAlarm,
    /// StopDeployment was called.
    DeploymentStopOnRequest,
}

/// When to roll back (CodeDeploy `AutoRollbackConfiguration`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutoRollbackConfiguration {
    /// Whether automatic rollback is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The events that roll back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<AutoRollbackEvent>>,
}

impl AutoRollbackConfiguration {
    /// The deployment model's rollback settings: nothing unless `enabled`, then the listed
    /// events.
    pub fn auto_rollback(&self) -> AutoRollback {
        if self.enabled != Some(true) {
            return AutoRollback::NONE;
        }
        let has = |e| self.events.iter().flatten().any(|&x| x == e);
        AutoRollback {
            deployment_failure: has(AutoRollbackEvent::DeploymentFailure),
            deployment_stop_on_alarm: has(AutoRollbackEvent::DeploymentStopOnAlarm),
            deployment_stop_on_request: has(AutoRollbackEvent::DeploymentStopOnRequest),
        }
    }

    /// The configuration of the model's settings (what GetDeployment shows).
    pub fn of(auto_rollback: AutoRollback) -> Self {
        let events: Vec<AutoRollbackEvent> = [
            (
                auto_rollback.deployment_failure,
                AutoRollbackEvent::DeploymentFailure,
            ),
            (
                auto_rollback.deployment_stop_on_alarm,
                AutoRollbackEvent::DeploymentStopOnAlarm,
            ),
            (
                auto_rollback.deployment_stop_on_request,
                AutoRollbackEvent::DeploymentStopOnRequest,
            ),
        ]
        .into_iter()
        .filter_map(|(on, e)| on.then_some(e))
        .collect();
        Self {
            enabled: Some(!events.is_empty()),
            events: Some(events),
        }
    }
}

/// CodeDeploy `DeploymentStyle`; a Lambda deployment group is `BLUE_GREEN` +
/// `WITH_TRAFFIC_CONTROL` (what SAM sets).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentStyle {
    /// `IN_PLACE` or `BLUE_GREEN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_type: Option<String>,
    /// `WITH_TRAFFIC_CONTROL` or `WITHOUT_TRAFFIC_CONTROL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_option: Option<String>,
}

/// CreateDeploymentGroup's input. Members for EC2 and ECS (tag filters, load balancers, ...)
/// are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentGroupInput {
    /// The application (required).
    pub application_name: String,
    /// The group's name (required).
    pub deployment_group_name: String,
    /// The default deployment configuration of the group's deployments (CodeDeploy's own
    /// default for Lambda is `CodeDeployDefault.LambdaAllAtOnce`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_name: Option<String>,
    /// The service role CodeDeploy acts as (required by the model; the lab records it).
    pub service_role_arn: String,
    /// The alarms that stop a deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alarm_configuration: Option<AlarmConfiguration>,
    /// When to roll back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rollback_configuration: Option<AutoRollbackConfiguration>,
    /// Blue/green with traffic control for Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_style: Option<DeploymentStyle>,
    /// Tags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// CreateDeploymentGroup's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentGroupOutput {
    /// The group's id (a UUID in AWS).
    pub deployment_group_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_rollback_is_off_unless_enabled_and_follows_the_events() {
        let json = r#"{"enabled":true,"events":["DEPLOYMENT_FAILURE","DEPLOYMENT_STOP_ON_ALARM"]}"#;
        let c: AutoRollbackConfiguration = serde_json::from_str(json).unwrap();
        let r = c.auto_rollback();
        assert!(r.deployment_failure && r.deployment_stop_on_alarm);
        assert!(!r.deployment_stop_on_request);
        assert_eq!(AutoRollbackConfiguration::of(r), c);
        let off: AutoRollbackConfiguration =
            serde_json::from_str(r#"{"enabled":false,"events":["DEPLOYMENT_FAILURE"]}"#).unwrap();
        assert_eq!(off.auto_rollback(), AutoRollback::NONE);
        assert_eq!(
            AutoRollbackConfiguration::of(AutoRollback::NONE).enabled,
            Some(false)
        );
        let err = serde_json::from_str::<AutoRollbackConfiguration>(r#"{"events":["ON_FAILURE"]}"#)
            .unwrap_err();
        assert!(err.to_string().contains("ON_FAILURE"), "{err}");
    }

    #[test]
    fn only_enabled_alarm_configurations_monitor_alarms() {
        let json = r#"{"enabled":true,"alarms":[{"name":"errors"},{"name":"p99"}]}"#;
        let c: AlarmConfiguration = serde_json::from_str(json).unwrap();
        assert_eq!(c.monitored_alarms(), ["errors", "p99"]);
        let c = AlarmConfiguration { enabled: None, ..c };
        assert!(c.monitored_alarms().is_empty());
    }
}
