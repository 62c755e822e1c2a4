//! The deployment lifecycle: its phases, the transitions between them, and the record of each
//! lifecycle event.

use std::time::Duration;

use super::vocabulary::{DeploymentStatus, LifecycleEventName, LifecycleEventStatus};

/// Where a deployment is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Created, not started.
    Created,
    /// Waiting for another deployment of the alias to end.
    Queued,
    /// The BeforeAllowTraffic hook runs; the alias serves the current version only.
    BeforeAllowTraffic,
    /// The schedule shifts traffic to the target version.
    AllowTraffic,
    /// The AfterAllowTraffic hook runs; the alias serves the target version only.
    AfterAllowTraffic,
    /// Done: the alias serves the target version only.
    Succeeded,
    /// A hook failed or timed out.
    Failed,
    /// Stopped by a request or an alarm.
    Stopped,
}

/// What moves a deployment from one phase to the next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Another deployment of the alias is running.
    Queue,
    /// The deployment starts.
    Start,
    /// The running lifecycle event's hook reported `Succeeded`.
    HookSucceeded,
    /// The running lifecycle event has no hook.
    HookSkipped,
    /// The last step of the schedule ended.
    TrafficShifted,
    /// The running hook reported `Failed` or timed out.
    HookFailed,
    /// A monitored alarm is in ALARM.
    AlarmActivated,
    /// StopDeployment.
    StopRequested,
}

/// A transition the lifecycle does not allow from a phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid deployment transition {transition:?} from phase {from:?}")]
pub struct InvalidTransition {
    /// The phase the deployment was in.
    pub from: Phase,
    /// The transition attempted.
    pub transition: Transition,
}

impl Phase {
    /// The phase after `transition`, or an error when the lifecycle does not allow it.
    pub fn next(self, transition: Transition) -> Result<Phase, InvalidTransition> {
        use Phase::*;
        use Transition::*;
        match (self, transition) {
            (Created, Queue) => Ok(Queued),
            (Created | Queued, Start) => Ok(BeforeAllowTraffic),
            (BeforeAllowTraffic, HookSucceeded | HookSkipped) => Ok(AllowTraffic),
            (AllowTraffic, TrafficShifted) => Ok(AfterAllowTraffic),
            (AfterAllowTraffic, HookSucceeded | HookSkipped) => Ok(Succeeded),
            (BeforeAllowTraffic | AfterAllowTraffic, HookFailed) => Ok(Failed),
            (BeforeAllowTraffic | AllowTraffic | AfterAllowTraffic, AlarmActivated) => Ok(Stopped),
            (
                Created | Queued | BeforeAllowTraffic | AllowTraffic | AfterAllowTraffic,
                StopRequested,
            ) => Ok(Stopped),
            (from, transition) => Err(InvalidTransition { from, transition }),
        }
    }

    /// The deployment status CodeDeploy reports in this phase.
    pub fn status(self) -> DeploymentStatus {
        match self {
            Self::Created => DeploymentStatus::Created,
            Self::Queued => DeploymentStatus::Queued,
            Self::BeforeAllowTraffic | Self::AllowTraffic | Self::AfterAllowTraffic => {
                DeploymentStatus::InProgress
            }
            Self::Succeeded => DeploymentStatus::Succeeded,
            Self::Failed => DeploymentStatus::Failed,
            Self::Stopped => DeploymentStatus::Stopped,
        }
    }

    /// True while a lifecycle event runs.
    pub fn is_in_progress(self) -> bool {
        self.status() == DeploymentStatus::InProgress
    }
}

/// One lifecycle event of a deployment (CodeDeploy `LifecycleEvent`), times since creation.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    /// Which event.
    pub name: LifecycleEventName,
    /// Its status.
    pub status: LifecycleEventStatus,
    /// When it started.
    pub start_time: Option<Duration>,
    /// When it ended.
    pub end_time: Option<Duration>,
    /// The hook invoked for it: function name and execution id.
    pub hook: Option<HookExecution>,
    /// Why it failed (the diagnostics message).
    pub message: Option<String>,
}

/// A hook invocation of a lifecycle event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookExecution {
    /// The hook function.
    pub function_name: String,
    /// `LifecycleEventHookExecutionId`.
    pub execution_id: String,
}
