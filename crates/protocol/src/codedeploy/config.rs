//! Deployment configurations: CreateDeploymentConfig, GetDeploymentConfig and the predefined
//! Lambda configurations (`CodeDeployDefault.Lambda*`).
//!
//! The `trafficRoutingConfig` member is `rollout`'s [`TrafficRoutingConfig`], the one model of a
//! schedule in CodeDeploy's terms; the predefined configurations are `rollout`'s table
//! ([`rollout::schedule::PREDEFINED`]), looked up here by their exact, case-sensitive names as
//! CodeDeploy does.

use rollout::Schedule;
use rollout::deployment::TrafficRoutingConfig;
use rollout::schedule::{FULL_NAME_PREFIX, PREDEFINED};
use serde::{Deserialize, Serialize};

use super::error::{CodeDeployError, CodeDeployErrorType};
use super::{ComputePlatform, Extra, Timestamp};

/// The prefix of every predefined Lambda configuration's name; the whole `CodeDeployDefault.`
/// namespace is reserved for AWS.
pub const PREDEFINED_PREFIX: &str = FULL_NAME_PREFIX;
const RESERVED_PREFIX: &str = "CodeDeployDefault.";

/// The full names of the predefined Lambda configurations
/// (`CodeDeployDefault.LambdaCanary10Percent5Minutes`, ..., `CodeDeployDefault.LambdaAllAtOnce`).
pub fn predefined_names() -> impl Iterator<Item = String> {
    PREDEFINED
        .iter()
        .map(|short| format!("{PREDEFINED_PREFIX}{short}"))
}

/// The predefined Lambda configuration named exactly `name`, as GetDeploymentConfig shows it.
pub fn predefined_config(name: &str) -> Option<DeploymentConfigInfo> {
    let short = name.strip_prefix(PREDEFINED_PREFIX)?;
    if !PREDEFINED.contains(&short) {
        return None;
    }
    let schedule = Schedule::parse(name).ok()?;
    Some(DeploymentConfigInfo {
        deployment_config_id: None,
        deployment_config_name: Some(name.to_owned()),
        create_time: None,
        compute_platform: Some(ComputePlatform::Lambda),
        traffic_routing_config: TrafficRoutingConfig::of(&schedule),
        extra: Extra::new(),
    })
}

/// CreateDeploymentConfig's input. `minimumHealthyHosts` and `zonalConfig` (EC2 only) are kept
/// in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentConfigInput {
    /// The configuration's name (required).
    pub deployment_config_name: String,
    /// How traffic shifts: required for Lambda.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing_config: Option<TrafficRoutingConfig>,
    /// `Lambda` for the lab (CodeDeploy's default is `Server`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_platform: Option<ComputePlatform>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

impl CreateDeploymentConfigInput {
    /// The schedule of a Lambda configuration the lab can create, or the error CodeDeploy
    /// answers: an empty name, a name in the reserved `CodeDeployDefault.` namespace, another
    /// compute platform, no `trafficRoutingConfig`, or percentages and intervals CodeDeploy
    /// refuses (a percentage outside 1–99, an interval under one minute).
    pub fn validate(&self) -> Result<Schedule, CodeDeployError> {
        let name = self.deployment_config_name.trim();
        if name.is_empty() {
            return Err(CodeDeployError::new(
                CodeDeployErrorType::DeploymentConfigNameRequired,
                "deploymentConfigName is empty: name the configuration",
            ));
        }
        if name.starts_with(RESERVED_PREFIX) {
            return Err(CodeDeployError::new(
                CodeDeployErrorType::InvalidDeploymentConfigName,
                format!(
                    "deploymentConfigName {name:?} is in the {RESERVED_PREFIX} namespace reserved for predefined configurations: choose another name"
                ),
            ));
        }
        if self.compute_platform != Some(ComputePlatform::Lambda) {
            return Err(CodeDeployError::new(
                CodeDeployErrorType::InvalidComputePlatform,
                format!(
                    "computePlatform is {:?}: the lab deploys Lambda aliases only; pass --compute-platform Lambda",
                    self.compute_platform
                ),
            ));
        }
        let routing = self.traffic_routing_config.ok_or_else(|| {
            CodeDeployError::new(
                CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                "a Lambda deployment configuration needs trafficRoutingConfig, e.g. type=TimeBasedLinear,timeBasedLinear={linearPercentage=10,linearInterval=1}",
            )
        })?;
        routing.schedule().map_err(|e| {
            CodeDeployError::new(
                CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                format!(
                    "trafficRoutingConfig of {name:?} is invalid: {e} (percentages are whole numbers 1-99, intervals whole minutes >= 1)"
                ),
            )
        })
    }
}

/// CreateDeploymentConfig's output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateDeploymentConfigOutput {
    /// The configuration's id (a UUID in AWS).
    pub deployment_config_id: String,
}

/// GetDeploymentConfig's input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentConfigInput {
    /// The configuration's name (required).
    pub deployment_config_name: String,
}

/// A deployment configuration (CodeDeploy `DeploymentConfigInfo`). `minimumHealthyHosts` and
/// `zonalConfig` (EC2 only) are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfigInfo {
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_id: Option<String>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_name: Option<String>,
    /// When it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<Timestamp>,
    /// Its compute platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_platform: Option<ComputePlatform>,
    /// How traffic shifts (Lambda and ECS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traffic_routing_config: Option<TrafficRoutingConfig>,
    /// Other members, verbatim.
    #[serde(flatten)]
    pub extra: Extra,
}

/// GetDeploymentConfig's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDeploymentConfigOutput {
    /// The configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_config_info: Option<DeploymentConfigInfo>,
}

#[cfg(test)]
mod tests {
    use rollout::deployment::{TimeBasedCanary, TimeBasedLinear};

    use super::*;

    #[test]
    fn every_predefined_lambda_config_resolves_by_its_exact_name() {
        let names: Vec<String> = predefined_names().collect();
        assert_eq!(names.len(), 9);
        for name in &names {
            let info = predefined_config(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(info.deployment_config_name.as_deref(), Some(name.as_str()));
            let routing = info.traffic_routing_config.expect("routing");
            let predefined = Schedule::parse(name).unwrap();
            assert_eq!(
                routing.schedule().unwrap().steps(),
                predefined.steps(),
                "{name}"
            );
        }
        let canary = predefined_config("CodeDeployDefault.LambdaCanary10Percent30Minutes").unwrap();
        assert_eq!(
            canary.traffic_routing_config,
            Some(TrafficRoutingConfig::TimeBasedCanary {
                time_based_canary: TimeBasedCanary {
                    canary_percentage: 10,
                    canary_interval: 30
                }
            })
        );
        for other in [
            "codedeploydefault.lambdaallatonce",
            "LambdaAllAtOnce",
            "CodeDeployDefault.AllAtOnce",
            "CodeDeployDefault.LambdaLinear10PercentEvery5Minutes",
        ] {
            assert_eq!(predefined_config(other), None, "{other}");
        }
    }

    fn custom(json: &str) -> CreateDeploymentConfigInput {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn custom_configs_validate_to_their_schedule_or_name_the_problem() {
        let ok = custom(
            r#"{"deploymentConfigName":"Lin25","computePlatform":"Lambda","trafficRoutingConfig":{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":25,"linearInterval":2}}}"#,
        );
        let linear = TrafficRoutingConfig::TimeBasedLinear {
            time_based_linear: TimeBasedLinear {
                linear_percentage: 25,
                linear_interval: 2,
            },
        };
        assert_eq!(ok.validate().unwrap(), linear.schedule().unwrap());
        for (json, error_type, needle) in [
            (
                r#"{"deploymentConfigName":" ","computePlatform":"Lambda"}"#,
                CodeDeployErrorType::DeploymentConfigNameRequired,
                "deploymentConfigName",
            ),
            (
                r#"{"deploymentConfigName":"CodeDeployDefault.Mine","computePlatform":"Lambda","trafficRoutingConfig":{"type":"AllAtOnce"}}"#,
                CodeDeployErrorType::InvalidDeploymentConfigName,
                "reserved",
            ),
            (
                r#"{"deploymentConfigName":"x","trafficRoutingConfig":{"type":"AllAtOnce"}}"#,
                CodeDeployErrorType::InvalidComputePlatform,
                "--compute-platform Lambda",
            ),
            (
                r#"{"deploymentConfigName":"x","computePlatform":"Lambda"}"#,
                CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                "needs trafficRoutingConfig",
            ),
            (
                r#"{"deploymentConfigName":"x","computePlatform":"Lambda","trafficRoutingConfig":{"type":"TimeBasedCanary","timeBasedCanary":{"canaryPercentage":100,"canaryInterval":5}}}"#,
                CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                "1-99",
            ),
            (
                r#"{"deploymentConfigName":"x","computePlatform":"Lambda","trafficRoutingConfig":{"type":"TimeBasedLinear","timeBasedLinear":{"linearPercentage":10,"linearInterval":0}}}"#,
                CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                "trafficRoutingConfig of \"x\"",
            ),
        ] {
            let err = custom(json).validate().unwrap_err();
            assert_eq!(err.error_type, error_type, "{json}: {err}");
            assert!(err.message.contains(needle), "{json}: {err}");
        }
    }
}
