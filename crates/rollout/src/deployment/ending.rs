//! How a deployment ends early: alarms, stops and failed hooks, and the rollback after them.

use std::time::Duration;

use super::{
    Action, AlarmState, AliasRouting, Deployment, DeploymentError, ErrorCode, ErrorInformation,
    LifecycleEventStatus, RollbackInfo, RoutingCause, Transition,
};

impl Deployment {
    pub(super) fn alarm_state(
        &mut self,
        now: Duration,
        alarm_name: String,
        state: AlarmState,
        actions: &mut Vec<Action>,
    ) -> Result<(), DeploymentError> {
        if !self.spec.alarms.contains(&alarm_name) {
            return Err(DeploymentError::AlarmNotMonitored {
                deployment_id: self.spec.deployment_id.clone(),
                alarm_name,
            });
        }
        self.check_not_complete()?;
        if state == AlarmState::Alarm {
            if self.phase.is_in_progress() {
                self.stop_on_alarm(now, &alarm_name, actions);
            }
            self.alarms_in_alarm.insert(alarm_name);
        } else {
            self.alarms_in_alarm.remove(&alarm_name);
        }
        Ok(())
    }

    pub(super) fn stop(
        &mut self,
        now: Duration,
        auto_rollback: Option<bool>,
        actions: &mut Vec<Action>,
    ) -> Result<(), DeploymentError> {
        self.check_not_complete()?;
        let rollback = auto_rollback.unwrap_or(self.spec.auto_rollback.deployment_stop_on_request);
        let error = ErrorInformation {
            code: ErrorCode::ManualStop,
            message: "the deployment was stopped on request (StopDeployment)".to_owned(),
        };
        self.end(now, Transition::StopRequested, error, rollback, actions);
        Ok(())
    }

    fn check_not_complete(&self) -> Result<(), DeploymentError> {
        let status = self.status();
        if status.is_complete() {
            return Err(DeploymentError::AlreadyCompleted {
                deployment_id: self.spec.deployment_id.clone(),
                status,
            });
        }
        Ok(())
    }

    pub(super) fn stop_on_alarm(&mut self, now: Duration, alarm: &str, actions: &mut Vec<Action>) {
        let error = ErrorInformation {
            code: ErrorCode::AlarmActive,
            message: format!("the deployment was stopped because alarm {alarm} is in ALARM"),
        };
        let rollback = self.spec.auto_rollback.deployment_stop_on_alarm;
        self.end(now, Transition::AlarmActivated, error, rollback, actions);
    }

    pub(super) fn fail(&mut self, now: Duration, message: String, actions: &mut Vec<Action>) {
        let error = ErrorInformation {
            code: ErrorCode::HookExecutionFailure,
            message,
        };
        let rollback = self.spec.auto_rollback.deployment_failure;
        self.end(now, Transition::HookFailed, error, rollback, actions);
    }

    /// Ends the deployment as Failed or Stopped: the running event fails, the ones not reached
    /// are skipped, and with `rollback` the alias goes back to the current version.
    fn end(
        &mut self,
        now: Duration,
        transition: Transition,
        error: ErrorInformation,
        rollback: bool,
        actions: &mut Vec<Action>,
    ) {
        let started = self.phase.is_in_progress();
        self.go(transition);
        for event in &mut self.events {
            match event.status {
                LifecycleEventStatus::InProgress => {
                    event.status = LifecycleEventStatus::Failed;
                    event.end_time = Some(now);
                    event.message = Some(error.message.clone());
                }
                LifecycleEventStatus::Pending => event.status = LifecycleEventStatus::Skipped,
                _ => {}
            }
        }
        self.hook_deadline = None;
        self.complete_time = Some(now);
        if rollback && started {
            let current = self.spec.current_version.clone();
            let rollback_message = if self.routing == AliasRouting::only(&current) {
                format!("rolled back: the alias still served version {current} at 100%")
            } else {
                self.routing = AliasRouting::only(&current);
                actions.push(Action::SetRouting {
                    routing: self.routing.clone(),
                    cause: RoutingCause::Rollback,
                });
                format!("rolled back: the alias serves version {current} at 100% again")
            };
            self.rollback = Some(RollbackInfo {
                rollback_deployment_id: None,
                rollback_triggering_deployment_id: None,
                rollback_message,
            });
        }
        actions.push(Action::Finished {
            status: self.status(),
            error_information: Some(error.clone()),
            routing: self.routing.clone(),
        });
        self.error = Some(error);
    }
}
