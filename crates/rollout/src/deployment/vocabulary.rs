//! CodeDeploy's words for a deployment, spelled as its API spells them (GetDeployment's
//! `DeploymentInfo`: `status`, `deploymentOverview`, `errorInformation`, `rollbackInfo`; the
//! lifecycle events; `trafficRoutingConfig`), so that the lab's CodeDeploy API maps them 1:1.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::schedule::{Schedule, ScheduleError, ScheduleKind};

/// A deployment's `status` (CodeDeploy `DeploymentStatus`).
///
/// CodeDeploy also has `Baking` and `Ready`, which only ECS and EC2 blue/green deployments use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeploymentStatus {
    /// Created, not started yet.
    Created,
    /// Waiting for another deployment of the same alias to finish.
    Queued,
    /// One of the lifecycle events runs.
    InProgress,
    /// Every lifecycle event succeeded: the alias serves the target version only.
    Succeeded,
    /// A lifecycle hook failed or never reported.
    Failed,
    /// Stopped by a request or by an alarm in ALARM.
    Stopped,
}

impl DeploymentStatus {
    /// The name CodeDeploy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Created => "Created",
            Self::Queued => "Queued",
            Self::InProgress => "InProgress",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
            Self::Stopped => "Stopped",
        }
    }

    /// True once the deployment can no longer change (Succeeded, Failed or Stopped).
    pub fn is_complete(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Stopped)
    }
}

impl fmt::Display for DeploymentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The lifecycle events of a Lambda deployment, in order (AppSpec `hooks`; only the first and
/// the last can run a hook function).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LifecycleEventName {
    /// Before the alias sends the target version any traffic (SAM `PreTraffic`).
    BeforeAllowTraffic,
    /// The traffic shift, step by step.
    AllowTraffic,
    /// After the alias serves the target version only (SAM `PostTraffic`).
    AfterAllowTraffic,
}

impl LifecycleEventName {
    /// The three events in the order they run.
    pub const ALL: [Self; 3] = [
        Self::BeforeAllowTraffic,
        Self::AllowTraffic,
        Self::AfterAllowTraffic,
    ];

    /// The name CodeDeploy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::BeforeAllowTraffic => "BeforeAllowTraffic",
            Self::AllowTraffic => "AllowTraffic",
            Self::AfterAllowTraffic => "AfterAllowTraffic",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for LifecycleEventName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The status of a lifecycle event (CodeDeploy `LifecycleEventStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LifecycleEventStatus {
    /// Not reached yet.
    Pending,
    /// Running (a hook invoked and not reported yet, or the traffic shifting).
    InProgress,
    /// Done: the hook reported `Succeeded`, or the shift completed.
    Succeeded,
    /// The hook reported `Failed` or timed out, or the deployment stopped while it ran.
    Failed,
    /// Not run: no hook for it, or the deployment ended before it.
    Skipped,
    /// CodeDeploy's status for an event it cannot tell; this model never produces it.
    Unknown,
}

/// What a hook function reports through `PutLifecycleEventHookExecutionStatus`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HookStatus {
    /// The validation passed: the deployment goes on.
    Succeeded,
    /// The validation failed: the deployment fails (and rolls back if configured).
    Failed,
}

/// A hook status that PutLifecycleEventHookExecutionStatus does not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "lifecycle event hook status {0:?} is not accepted: a hook reports \"Succeeded\" or \"Failed\""
)]
pub struct InvalidHookStatus(pub String);

impl FromStr for HookStatus {
    type Err = InvalidHookStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "Succeeded" => Ok(Self::Succeeded),
            "Failed" => Ok(Self::Failed),
            other => Err(InvalidHookStatus(other.to_owned())),
        }
    }
}

/// `errorInformation.code` values this model produces (CodeDeploy `ErrorCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// A hook reported `Failed` or did not report within the hook timeout.
    HookExecutionFailure,
    /// A monitored alarm was in ALARM during the deployment.
    AlarmActive,
    /// StopDeployment was called.
    ManualStop,
}

impl ErrorCode {
    /// The code as CodeDeploy spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HookExecutionFailure => "HOOK_EXECUTION_FAILURE",
            Self::AlarmActive => "ALARM_ACTIVE",
            Self::ManualStop => "MANUAL_STOP",
        }
    }
}

/// Why a deployment failed or stopped (CodeDeploy `ErrorInformation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInformation {
    /// The error code.
    pub code: ErrorCode,
    /// What happened, naming the hook, alarm or request.
    pub message: String,
}

/// Counts of deployment targets per state (CodeDeploy `DeploymentOverview`). A Lambda
/// deployment has one target, the alias, so exactly one count is 1. A count CodeDeploy leaves
/// out (`Ready`, for Lambda and EC2 in-place) reads as 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeploymentOverview {
    /// Targets not started.
    pub pending: u64,
    /// Targets being deployed.
    pub in_progress: u64,
    /// Targets deployed.
    pub succeeded: u64,
    /// Targets whose deployment failed or was stopped.
    pub failed: u64,
    /// Targets skipped.
    pub skipped: u64,
    /// Blue/green targets ready for traffic (not used by Lambda).
    pub ready: u64,
}

/// What happened after a failed or stopped deployment (CodeDeploy `RollbackInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RollbackInfo {
    /// The id of the rollback deployment CodeDeploy records, once the caller has created it
    /// ([`super::Deployment::record_rollback_deployment`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollback_deployment_id: Option<String>,
    /// On a rollback deployment: the id of the deployment it rolls back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_triggering_deployment_id: Option<String>,
    /// What the rollback did.
    pub rollback_message: String,
}

/// A deployment configuration's `trafficRoutingConfig`: CodeDeploy's custom Lambda configs
/// (integer percentages, integer minutes), turned into the one [`Schedule`] model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum TrafficRoutingConfig {
    /// All traffic at once.
    AllAtOnce,
    /// `canaryPercentage` first, the rest `canaryInterval` minutes later.
    TimeBasedCanary {
        /// The canary's parameters.
        #[serde(rename = "timeBasedCanary")]
        time_based_canary: TimeBasedCanary,
    },
    /// `linearPercentage` more every `linearInterval` minutes.
    TimeBasedLinear {
        /// The increments' parameters.
        #[serde(rename = "timeBasedLinear")]
        time_based_linear: TimeBasedLinear,
    },
}

/// CodeDeploy `TimeBasedCanary`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBasedCanary {
    /// Percent of traffic shifted in the first increment.
    pub canary_percentage: u32,
    /// Minutes between the first and the second increment.
    pub canary_interval: u32,
}

/// CodeDeploy `TimeBasedLinear`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TimeBasedLinear {
    /// Percent of traffic shifted at the start of each increment.
    pub linear_percentage: u32,
    /// Minutes between increments.
    pub linear_interval: u32,
}

impl TrafficRoutingConfig {
    /// The schedule this configuration shifts traffic by (real time; see
    /// [`Schedule::time_scaled`]). Percentages must be in 1..=99 and intervals at least one
    /// minute, as CodeDeploy requires.
    pub fn schedule(&self) -> Result<Schedule, ScheduleError> {
        match *self {
            Self::AllAtOnce => Ok(Schedule::all_at_once()),
            Self::TimeBasedCanary {
                time_based_canary: c,
            } => Schedule::canary(
                f64::from(c.canary_percentage),
                f64::from(c.canary_interval) * 60.0,
            ),
            Self::TimeBasedLinear {
                time_based_linear: l,
            } => Schedule::linear(
                f64::from(l.linear_percentage),
                f64::from(l.linear_interval) * 60.0,
            ),
        }
    }

    /// The configuration of a schedule in CodeDeploy's terms (what GetDeploymentConfig shows
    /// for a predefined config), when its percentage is a whole number and its interval whole
    /// minutes, as CodeDeploy requires; `None` otherwise (a seconds-long lab schedule).
    pub fn of(schedule: &Schedule) -> Option<Self> {
        let whole =
            |x: f64| (x.fract() == 0.0 && x >= 0.0 && x <= f64::from(u32::MAX)).then_some(x as u32);
        match schedule.kind() {
            ScheduleKind::AllAtOnce => Some(Self::AllAtOnce),
            ScheduleKind::Canary {
                percent,
                interval_secs,
            } => Some(Self::TimeBasedCanary {
                time_based_canary: TimeBasedCanary {
                    canary_percentage: whole(percent)?,
                    canary_interval: whole(interval_secs / 60.0)?,
                },
            }),
            ScheduleKind::Linear {
                percent,
                interval_secs,
            } => Some(Self::TimeBasedLinear {
                time_based_linear: TimeBasedLinear {
                    linear_percentage: whole(percent)?,
                    linear_interval: whole(interval_secs / 60.0)?,
                },
            }),
        }
    }
}
