//! What goes into a deployment (its spec, events) and what comes out (actions, errors).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::vocabulary::{
    DeploymentStatus, ErrorInformation, HookStatus, LifecycleEventName, LifecycleEventStatus,
};
use crate::schedule::{Schedule, ScheduleError};

/// Which failures and stops roll the alias back (CodeDeploy `AutoRollbackConfiguration`
/// events). SAM enables all three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct AutoRollback {
    /// `DEPLOYMENT_FAILURE`: a hook failed or timed out.
    pub deployment_failure: bool,
    /// `DEPLOYMENT_STOP_ON_ALARM`: a monitored alarm went to ALARM.
    pub deployment_stop_on_alarm: bool,
    /// `DEPLOYMENT_STOP_ON_REQUEST`: StopDeployment without `autoRollbackEnabled`.
    pub deployment_stop_on_request: bool,
}

impl AutoRollback {
    /// What SAM configures for every `DeploymentPreference`: roll back on every event.
    pub const ALL: Self = Self {
        deployment_failure: true,
        deployment_stop_on_alarm: true,
        deployment_stop_on_request: true,
    };
    /// No automatic rollback: a failed or stopped deployment leaves the alias as it was.
    pub const NONE: Self = Self {
        deployment_failure: false,
        deployment_stop_on_alarm: false,
        deployment_stop_on_request: false,
    };
}

/// Everything a deployment of one alias needs (CreateDeployment's AppSpec plus the deployment
/// group's and config's settings).
#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentSpec {
    /// The deployment's id; hook execution ids are derived from it.
    pub deployment_id: String,
    /// AppSpec `CurrentVersion`: the version the alias serves before the deployment.
    pub current_version: String,
    /// AppSpec `TargetVersion`: the version the deployment shifts the alias to.
    pub target_version: String,
    /// The traffic-shifting schedule in real time (a predefined or custom config).
    pub schedule: Schedule,
    /// How many times faster than real time the deployment runs: divides the schedule's
    /// intervals and the hook timeout. 1 for real time.
    pub time_scale: f64,
    /// AppSpec `BeforeAllowTraffic` hook function, if any.
    pub before_allow_traffic_hook: Option<String>,
    /// AppSpec `AfterAllowTraffic` hook function, if any.
    pub after_allow_traffic_hook: Option<String>,
    /// Names of the CloudWatch alarms the deployment group monitors (empty: none).
    pub alarms: Vec<String>,
    /// When to roll back.
    pub auto_rollback: AutoRollback,
}

/// A deployment spec that cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeploymentSpecError {
    /// Current and target version are the same.
    #[error(
        "the target version {version:?} is the alias's current version: deploy a different version"
    )]
    SameVersion {
        /// The version given twice.
        version: String,
    },
    /// The time scale is not a finite number > 0, or makes an interval vanish.
    #[error(transparent)]
    TimeScale(#[from] ScheduleError),
}

/// Where an alias sends its traffic: `FunctionVersion` plus at most one additional version
/// with its weight (`RoutingConfig.AdditionalVersionWeights`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AliasRouting {
    /// The alias's `FunctionVersion`; it gets `1 - weight` of the traffic.
    pub function_version: String,
    /// The additional version and its weight in (0, 1), if any.
    pub additional_version: Option<(String, f64)>,
}

impl AliasRouting {
    /// All traffic to `version`, with an empty RoutingConfig.
    pub fn only(version: &str) -> Self {
        Self {
            function_version: version.to_owned(),
            additional_version: None,
        }
    }

    /// The share of the traffic `version` gets.
    pub fn share_of(&self, version: &str) -> f64 {
        match &self.additional_version {
            Some((v, w)) if v == version => *w,
            Some((_, w)) if self.function_version == version => 1.0 - w,
            None if self.function_version == version => 1.0,
            _ => 0.0,
        }
    }
}

impl fmt::Display for AliasRouting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.additional_version {
            None => write!(f, "version {} at 100%", self.function_version),
            Some((v, w)) => write!(
                f,
                "version {} at {:.4}%, version {v} at {:.4}%",
                self.function_version,
                (1.0 - w) * 100.0,
                w * 100.0
            ),
        }
    }
}

/// Why the alias's routing changes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "cause")]
pub enum RoutingCause {
    /// A step of the schedule: the target version gets `share`.
    Step {
        /// The step's position in the schedule, from 0.
        index: usize,
        /// The target version's share from this step on.
        share: f64,
    },
    /// The rollback after a failure or stop: the current version at 100 % at once.
    Rollback,
}

/// A CloudWatch alarm's state (`StateValue`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AlarmState {
    /// Within its threshold.
    Ok,
    /// Breaching: stops the deployment.
    Alarm,
    /// Not enough data to tell; does not stop the deployment.
    InsufficientData,
}

/// Something that happens to a deployment, at the `now` it is handled.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A hook reported through PutLifecycleEventHookExecutionStatus.
    HookStatus {
        /// `lifecycleEventHookExecutionId`.
        execution_id: String,
        /// `status`.
        status: HookStatus,
    },
    /// A monitored alarm changed state.
    AlarmState {
        /// The alarm's name.
        alarm_name: String,
        /// Its new state.
        state: AlarmState,
    },
    /// StopDeployment.
    Stop {
        /// `autoRollbackEnabled`; `None` uses the group's `DEPLOYMENT_STOP_ON_REQUEST`.
        auto_rollback: Option<bool>,
    },
}

/// What the caller must do, in order, as data.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Invoke the hook function asynchronously with [`HookPayload`].
    InvokeHook {
        /// The lifecycle event the hook validates.
        lifecycle_event: LifecycleEventName,
        /// The hook function's name.
        function_name: String,
        /// The payload to send it.
        payload: HookPayload,
    },
    /// Update the alias to this routing.
    SetRouting {
        /// The routing to apply.
        routing: AliasRouting,
        /// Why.
        cause: RoutingCause,
    },
    /// The deployment reached its final status.
    Finished {
        /// Succeeded, Failed or Stopped.
        status: DeploymentStatus,
        /// Why it failed or stopped.
        error_information: Option<ErrorInformation>,
        /// The routing the alias is left with.
        routing: AliasRouting,
    },
}

/// The event a hook function is invoked with, as CodeDeploy sends it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HookPayload {
    /// The deployment's id.
    pub deployment_id: String,
    /// The id the hook reports its status with.
    pub lifecycle_event_hook_execution_id: String,
}

/// An event or request the deployment cannot take in its current state. Each variant that an
/// API request can cause names the CodeDeploy exception to answer with
/// ([`Self::aws_error_code`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeploymentError {
    /// The deployment already ended (stop, alarm or start after the end).
    #[error("deployment {deployment_id} is already complete ({status})")]
    AlreadyCompleted {
        /// The deployment's id.
        deployment_id: String,
        /// Its final status.
        status: DeploymentStatus,
    },
    /// A hook status for an execution id this deployment never issued.
    #[error(
        "deployment {deployment_id} has no lifecycle event hook execution {execution_id:?}: use the LifecycleEventHookExecutionId the hook was invoked with"
    )]
    UnknownHookExecution {
        /// The deployment's id.
        deployment_id: String,
        /// The id given.
        execution_id: String,
    },
    /// A hook status for a lifecycle event that already ended (reported twice, or too late).
    #[error(
        "lifecycle event {lifecycle_event} of deployment {deployment_id} is already complete ({status:?}): its hook can report only once, within the hook timeout"
    )]
    LifecycleEventAlreadyCompleted {
        /// The deployment's id.
        deployment_id: String,
        /// The event the execution id belongs to.
        lifecycle_event: LifecycleEventName,
        /// That event's status.
        status: LifecycleEventStatus,
    },
    /// An alarm state for an alarm the deployment group does not monitor.
    #[error(
        "deployment {deployment_id} does not monitor alarm {alarm_name:?}: add it to the deployment group's alarm configuration"
    )]
    AlarmNotMonitored {
        /// The deployment's id.
        deployment_id: String,
        /// The alarm given.
        alarm_name: String,
    },
    /// `start` on a deployment that already started.
    #[error("deployment {deployment_id} already started ({status})")]
    AlreadyStarted {
        /// The deployment's id.
        deployment_id: String,
        /// Its status.
        status: DeploymentStatus,
    },
}

impl DeploymentError {
    /// The CodeDeploy exception an API request that caused this error is answered with; `None`
    /// for errors only the lab's own engine can cause (an alarm state, a second start).
    pub fn aws_error_code(&self) -> Option<&'static str> {
        match self {
            Self::AlreadyCompleted { .. } => Some("DeploymentAlreadyCompletedException"),
            Self::UnknownHookExecution { .. } => {
                Some("InvalidLifecycleEventHookExecutionIdException")
            }
            Self::LifecycleEventAlreadyCompleted { .. } => {
                Some("LifecycleEventAlreadyCompletedException")
            }
            Self::AlarmNotMonitored { .. } | Self::AlreadyStarted { .. } => None,
        }
    }
}
