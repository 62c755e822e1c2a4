//! A CodeDeploy deployment of a Lambda alias as a pure state machine: no clock, no I/O.
//!
//! ```text
//! Created ─Queue─▶ Queued
//!    │               │
//!    └─────Start─────┴─▶ BeforeAllowTraffic ─HookSucceeded | HookSkipped─▶ AllowTraffic
//!                          │                                                 │
//!                          │                                           TrafficShifted
//!                          │                                                 ▼
//!                          │          Succeeded ◀─HookSucceeded | HookSkipped─ AfterAllowTraffic
//!                          │                                                 │
//!                          └─HookFailed (reported Failed, or timed out)─▶ Failed ◀─┘
//!
//! AlarmActivated: BeforeAllowTraffic | AllowTraffic | AfterAllowTraffic ─▶ Stopped
//! StopRequested:  any phase before Succeeded/Failed/Stopped ─▶ Stopped
//! ```
//!
//! The caller owns the clock: every call takes `now`, the time since the deployment was created
//! (monotonic; an earlier `now` than one already seen counts as that one). [`Deployment::advance`]
//! applies what fell due by `now` (schedule steps, hook timeouts); [`Deployment::handle`] takes
//! a hook status, an alarm state or a stop request. Both return the [`Action`]s to perform, in
//! order (invoke a hook, set the alias's routing, report the final status), and
//! [`Deployment::next_change`] says when to call `advance` next. [`Deployment::routing`] is the
//! routing the actions have set so far.
//!
//! ```
//! use std::time::Duration;
//! use rollout::Schedule;
//! use rollout::deployment::{
//!     Action, AutoRollback, Deployment, DeploymentSpec, DeploymentStatus, Event, HookStatus,
//! };
//!
//! let mut deployment = Deployment::new(DeploymentSpec {
//!     deployment_id: "d-EXAMPLE01".into(),
//!     current_version: "1".into(),
//!     target_version: "2".into(),
//!     schedule: "Linear10PercentEvery1Minute".parse::<Schedule>()?,
//!     time_scale: 60.0, // one-second steps, a one-minute hook timeout
//!     before_allow_traffic_hook: Some("CodeDeployHook_pre".into()),
//!     after_allow_traffic_hook: None,
//!     alarms: vec!["hello-errors".into()],
//!     auto_rollback: AutoRollback::ALL,
//! })?;
//! let actions = deployment.start(Duration::ZERO)?;
//! let [Action::InvokeHook { payload, .. }] = &actions[..] else { unreachable!() };
//! assert_eq!(deployment.target_share(), 0.0, "no traffic before the hook succeeds");
//!
//! // The hook reports after 0.5 s: the shift starts then.
//! let execution_id = payload.lifecycle_event_hook_execution_id.clone();
//! let status = HookStatus::Succeeded;
//! deployment.handle(Duration::from_millis(500), Event::HookStatus { execution_id, status })?;
//! assert_eq!(deployment.target_share(), 0.1);
//! assert_eq!(deployment.next_change(), Some(Duration::from_millis(1500)));
//!
//! // The engine: wait until the next change, advance, perform the actions.
//! let mut updates = 0;
//! while let Some(at) = deployment.next_change() {
//!     for action in deployment.advance(at) {
//!         if let Action::SetRouting { .. } = action {
//!             updates += 1; // UpdateAlias with the action's routing
//!         }
//!     }
//! }
//! assert_eq!(updates, 9, "20% .. 90%, then 100%");
//! assert_eq!(deployment.status(), DeploymentStatus::Succeeded);
//! assert_eq!(deployment.complete_time(), Some(Duration::from_millis(10_500)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! CodeDeploy's rules, as encoded here (LAMBDA-FACTS.md §6; CodeDeploy API reference):
//! - the target version gets no traffic before BeforeAllowTraffic succeeds; a hook that is not
//!   set is skipped;
//! - AllowTraffic follows the schedule from the moment it starts; when the target's share
//!   reaches 100 % the alias is set to the target version with an empty RoutingConfig, and a
//!   linear schedule then waits its final interval before AllowTraffic ends;
//! - a hook that reports `Failed` or does not report within [`HOOK_TIMEOUT`] (time-scaled) fails
//!   the deployment (`HOOK_EXECUTION_FAILURE`);
//! - a monitored alarm in ALARM stops the deployment (`ALARM_ACTIVE`) in every lifecycle
//!   event, and one already in ALARM when the deployment starts stops it at once;
//! - StopDeployment stops it (`MANUAL_STOP`);
//! - with auto-rollback for the cause, the alias goes back to the current version at 100 % at
//!   once; without, it stays as it was.

mod ending;
mod lifecycle;
mod messages;
mod vocabulary;

use std::collections::BTreeSet;
use std::time::Duration;

pub use self::lifecycle::{HookExecution, InvalidTransition, LifecycleEvent, Phase, Transition};
pub use self::messages::{
    Action, AlarmState, AliasRouting, AutoRollback, DeploymentError, DeploymentSpec,
    DeploymentSpecError, Event, HookPayload, RoutingCause,
};
pub use self::vocabulary::{
    DeploymentOverview, DeploymentStatus, ErrorCode, ErrorInformation, HookStatus,
    InvalidHookStatus, LifecycleEventName, LifecycleEventStatus, RollbackInfo, TimeBasedCanary,
    TimeBasedLinear, TrafficRoutingConfig,
};
use crate::schedule::{Schedule, ScheduleError};

/// How long CodeDeploy waits for a hook to report its status, in real time.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(3600);

/// A deployment of one alias from its current to its target version.
#[derive(Debug, Clone)]
pub struct Deployment {
    spec: DeploymentSpec,
    schedule: Schedule,
    hook_timeout: Duration,
    phase: Phase,
    now: Duration,
    events: [LifecycleEvent; 3],
    routing: AliasRouting,
    applied_step: Option<usize>,
    shift_start: Option<Duration>,
    hook_deadline: Option<Duration>,
    alarms_in_alarm: BTreeSet<String>,
    start_time: Option<Duration>,
    complete_time: Option<Duration>,
    error: Option<ErrorInformation>,
    rollback: Option<RollbackInfo>,
}

impl Deployment {
    /// A deployment in phase Created; the alias is taken to serve the current version only.
    pub fn new(spec: DeploymentSpec) -> Result<Self, DeploymentSpecError> {
        if spec.current_version == spec.target_version {
            return Err(DeploymentSpecError::SameVersion {
                version: spec.target_version,
            });
        }
        let scale = spec.time_scale;
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ScheduleError::BadTimeScale { factor: scale }.into());
        }
        let schedule = if scale == 1.0 {
            spec.schedule.clone()
        } else {
            spec.schedule.time_scaled(scale)?
        };
        let hook_timeout = Duration::from_secs_f64(HOOK_TIMEOUT.as_secs_f64() / scale);
        let events = LifecycleEventName::ALL.map(|name| LifecycleEvent {
            name,
            status: LifecycleEventStatus::Pending,
            start_time: None,
            end_time: None,
            hook: None,
            message: None,
        });
        Ok(Self {
            routing: AliasRouting::only(&spec.current_version),
            spec,
            schedule,
            hook_timeout,
            phase: Phase::Created,
            now: Duration::ZERO,
            events,
            applied_step: None,
            shift_start: None,
            hook_deadline: None,
            alarms_in_alarm: BTreeSet::new(),
            start_time: None,
            complete_time: None,
            error: None,
            rollback: None,
        })
    }

    /// Created → Queued: another deployment of the alias runs.
    pub fn queue(&mut self, now: Duration) -> Result<(), DeploymentError> {
        self.clock(now);
        if self.phase != Phase::Created {
            return Err(self.not_startable());
        }
        self.go(Transition::Queue);
        Ok(())
    }

    /// Starts the deployment: BeforeAllowTraffic begins (its hook is invoked, or skipped).
    pub fn start(&mut self, now: Duration) -> Result<Vec<Action>, DeploymentError> {
        let now = self.clock(now);
        if !matches!(self.phase, Phase::Created | Phase::Queued) {
            return Err(self.not_startable());
        }
        self.go(Transition::Start);
        self.start_time = Some(now);
        let mut actions = Vec::new();
        if let Some(alarm) = self.alarms_in_alarm.iter().next().cloned() {
            self.stop_on_alarm(now, &alarm, &mut actions);
        } else {
            self.enter_hook(LifecycleEventName::BeforeAllowTraffic, now, &mut actions);
        }
        Ok(actions)
    }

    /// Applies what fell due by `now`: schedule steps, the end of the shift, hook timeouts.
    pub fn advance(&mut self, now: Duration) -> Vec<Action> {
        let now = self.clock(now);
        let mut actions = Vec::new();
        if let Some(deadline) = self.hook_deadline
            && now >= deadline
        {
            let event = self
                .running_event()
                .expect("a hook deadline belongs to a running hook");
            let message = format!(
                "the {} hook {} did not report its status within {:?} (CodeDeploy's one-hour limit, time-scaled)",
                event.name,
                event
                    .hook
                    .as_ref()
                    .map_or("?", |h| h.function_name.as_str()),
                self.hook_timeout,
            );
            self.fail(now, message, &mut actions);
        }
        if self.phase == Phase::AllowTraffic {
            self.shift(now, &mut actions);
        }
        actions
    }

    /// Takes a hook status, an alarm state or a stop request at `now` (after applying what fell
    /// due by then). A rejected event changes nothing.
    pub fn handle(&mut self, now: Duration, event: Event) -> Result<Vec<Action>, DeploymentError> {
        let mut next = self.clone();
        let mut actions = next.advance(now);
        let now = next.now;
        match event {
            Event::HookStatus {
                execution_id,
                status,
            } => next.hook_status(now, &execution_id, status, &mut actions)?,
            Event::AlarmState { alarm_name, state } => {
                next.alarm_state(now, alarm_name, state, &mut actions)?;
            }
            Event::Stop { auto_rollback } => next.stop(now, auto_rollback, &mut actions)?,
        }
        *self = next;
        Ok(actions)
    }

    /// When [`Self::advance`] has something to do next, if anything (nothing while Created or
    /// Queued, or after the end).
    pub fn next_change(&self) -> Option<Duration> {
        match self.phase {
            Phase::BeforeAllowTraffic | Phase::AfterAllowTraffic => self.hook_deadline,
            Phase::AllowTraffic => {
                let start = self.shift_start?;
                let next = self.applied_step.map_or(0, |i| i + 1);
                Some(match self.schedule.steps().get(next) {
                    Some(step) => start + secs(step.start),
                    None => start + secs(self.schedule.total_duration()),
                })
            }
            _ => None,
        }
    }

    /// Records the id of the rollback deployment the caller created for this one.
    pub fn record_rollback_deployment(&mut self, rollback_deployment_id: String) {
        if let Some(info) = &mut self.rollback {
            info.rollback_deployment_id = Some(rollback_deployment_id);
        }
    }

    /// The spec the deployment was created with.
    pub fn spec(&self) -> &DeploymentSpec {
        &self.spec
    }

    /// The deployment's id.
    pub fn id(&self) -> &str {
        &self.spec.deployment_id
    }

    /// The schedule as it runs (time-scaled).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// How long a hook may take to report (time-scaled [`HOOK_TIMEOUT`]).
    pub fn hook_timeout(&self) -> Duration {
        self.hook_timeout
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// The deployment status CodeDeploy reports.
    pub fn status(&self) -> DeploymentStatus {
        self.phase.status()
    }

    /// The alias's routing as the actions so far have set it.
    pub fn routing(&self) -> &AliasRouting {
        &self.routing
    }

    /// The target version's share of the alias's traffic now.
    pub fn target_share(&self) -> f64 {
        self.routing.share_of(&self.spec.target_version)
    }

    /// The lifecycle events in order, with their statuses.
    pub fn lifecycle_events(&self) -> &[LifecycleEvent; 3] {
        &self.events
    }

    /// When the deployment started.
    pub fn start_time(&self) -> Option<Duration> {
        self.start_time
    }

    /// When it reached its final status.
    pub fn complete_time(&self) -> Option<Duration> {
        self.complete_time
    }

    /// When AllowTraffic started (the schedule's time zero).
    pub fn traffic_shift_start(&self) -> Option<Duration> {
        self.shift_start
    }

    /// Why the deployment failed or stopped.
    pub fn error_information(&self) -> Option<&ErrorInformation> {
        self.error.as_ref()
    }

    /// The rollback after a failure or stop, if one was made.
    pub fn rollback_info(&self) -> Option<&RollbackInfo> {
        self.rollback.as_ref()
    }

    /// `deploymentOverview`: the one target (the alias) counted by its state.
    pub fn overview(&self) -> DeploymentOverview {
        let mut overview = DeploymentOverview::default();
        let count = match self.status() {
            DeploymentStatus::Created | DeploymentStatus::Queued => &mut overview.pending,
            DeploymentStatus::InProgress => &mut overview.in_progress,
            DeploymentStatus::Succeeded => &mut overview.succeeded,
            DeploymentStatus::Failed | DeploymentStatus::Stopped => &mut overview.failed,
        };
        *count = 1;
        overview
    }

    fn clock(&mut self, now: Duration) -> Duration {
        self.now = self.now.max(now);
        self.now
    }

    fn go(&mut self, transition: Transition) {
        self.phase = self
            .phase
            .next(transition)
            .expect("the deployment only attempts transitions its lifecycle allows");
    }

    fn not_startable(&self) -> DeploymentError {
        let (deployment_id, status) = (self.spec.deployment_id.clone(), self.status());
        if status.is_complete() {
            DeploymentError::AlreadyCompleted {
                deployment_id,
                status,
            }
        } else {
            DeploymentError::AlreadyStarted {
                deployment_id,
                status,
            }
        }
    }

    fn event_mut(&mut self, name: LifecycleEventName) -> &mut LifecycleEvent {
        &mut self.events[name.index()]
    }

    fn running_event(&self) -> Option<&LifecycleEvent> {
        self.events
            .iter()
            .find(|e| e.status == LifecycleEventStatus::InProgress)
    }

    /// Begins BeforeAllowTraffic or AfterAllowTraffic: invokes its hook, or skips it.
    fn enter_hook(&mut self, name: LifecycleEventName, now: Duration, actions: &mut Vec<Action>) {
        let function = match name {
            LifecycleEventName::BeforeAllowTraffic => self.spec.before_allow_traffic_hook.clone(),
            _ => self.spec.after_allow_traffic_hook.clone(),
        };
        let deployment_id = self.spec.deployment_id.clone();
        let event = self.event_mut(name);
        event.start_time = Some(now);
        let Some(function_name) = function else {
            event.status = LifecycleEventStatus::Skipped;
            event.end_time = Some(now);
            self.go(Transition::HookSkipped);
            self.after_hook(name, now, actions);
            return;
        };
        let execution_id = format!("{deployment_id}-{name}");
        event.status = LifecycleEventStatus::InProgress;
        event.hook = Some(HookExecution {
            function_name: function_name.clone(),
            execution_id: execution_id.clone(),
        });
        self.hook_deadline = Some(now + self.hook_timeout);
        actions.push(Action::InvokeHook {
            lifecycle_event: name,
            function_name,
            payload: HookPayload {
                deployment_id,
                lifecycle_event_hook_execution_id: execution_id,
            },
        });
    }

    /// What follows a hook that succeeded or was skipped.
    fn after_hook(&mut self, name: LifecycleEventName, now: Duration, actions: &mut Vec<Action>) {
        if name == LifecycleEventName::BeforeAllowTraffic {
            let event = self.event_mut(LifecycleEventName::AllowTraffic);
            event.status = LifecycleEventStatus::InProgress;
            event.start_time = Some(now);
            self.shift_start = Some(now);
            self.shift(now, actions);
        } else {
            self.complete_time = Some(now);
            actions.push(Action::Finished {
                status: DeploymentStatus::Succeeded,
                error_information: None,
                routing: self.routing.clone(),
            });
        }
    }

    /// Applies the schedule's step due at `now`, and ends AllowTraffic when the schedule ends.
    fn shift(&mut self, now: Duration, actions: &mut Vec<Action>) {
        let start = self.shift_start.expect("AllowTraffic has a start");
        let due = self
            .schedule
            .steps()
            .iter()
            .rposition(|step| start + secs(step.start) <= now);
        if let Some(index) = due
            && self.applied_step.is_none_or(|applied| index > applied)
        {
            let share = self.schedule.steps()[index].share;
            self.routing = if share >= 1.0 {
                AliasRouting::only(&self.spec.target_version)
            } else {
                AliasRouting {
                    function_version: self.spec.current_version.clone(),
                    additional_version: Some((self.spec.target_version.clone(), share)),
                }
            };
            self.applied_step = Some(index);
            actions.push(Action::SetRouting {
                routing: self.routing.clone(),
                cause: RoutingCause::Step { index, share },
            });
        }
        if now >= start + secs(self.schedule.total_duration()) {
            let event = self.event_mut(LifecycleEventName::AllowTraffic);
            event.status = LifecycleEventStatus::Succeeded;
            event.end_time = Some(now);
            self.go(Transition::TrafficShifted);
            self.enter_hook(LifecycleEventName::AfterAllowTraffic, now, actions);
        }
    }

    fn hook_status(
        &mut self,
        now: Duration,
        execution_id: &str,
        status: HookStatus,
        actions: &mut Vec<Action>,
    ) -> Result<(), DeploymentError> {
        let event = self
            .events
            .iter()
            .find(|e| {
                e.hook
                    .as_ref()
                    .is_some_and(|h| h.execution_id == execution_id)
            })
            .ok_or_else(|| DeploymentError::UnknownHookExecution {
                deployment_id: self.spec.deployment_id.clone(),
                execution_id: execution_id.to_owned(),
            })?;
        let name = event.name;
        if event.status != LifecycleEventStatus::InProgress {
            return Err(DeploymentError::LifecycleEventAlreadyCompleted {
                deployment_id: self.spec.deployment_id.clone(),
                lifecycle_event: name,
                status: event.status,
            });
        }
        match status {
            HookStatus::Succeeded => {
                let event = self.event_mut(name);
                event.status = LifecycleEventStatus::Succeeded;
                event.end_time = Some(now);
                self.hook_deadline = None;
                self.go(Transition::HookSucceeded);
                self.after_hook(name, now, actions);
            }
            HookStatus::Failed => {
                let function = self.events[name.index()]
                    .hook
                    .as_ref()
                    .map(|h| h.function_name.clone())
                    .unwrap_or_default();
                let message = format!("the {name} hook {function} reported Failed");
                self.fail(now, message, actions);
            }
        }
        Ok(())
    }
}

fn secs(secs: f64) -> Duration {
    Duration::from_secs_f64(secs)
}

#[cfg(test)]
mod error_tests;
#[cfg(test)]
mod schedule_tests;
#[cfg(test)]
mod stop_tests;
#[cfg(test)]
mod tests;
