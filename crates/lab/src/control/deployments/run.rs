//! One deployment as it runs: a tokio task that is a thin loop around the pure model
//! (`rollout::deployment`): sleep until `next_change()`, `advance`, perform the actions. Hook
//! reports, stop requests and alarm changes arrive through [`RunningDeployment::event`] from
//! other tasks, which wake the loop.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use protocol::codedeploy::DeploymentContext;
use rollout::deployment::{
    Action, AlarmState, AliasRouting, Deployment, DeploymentError, Event, HookPayload, HookStatus,
    RoutingCause,
};
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

use super::alarms::AlarmSource;
use crate::control::Registry;
use crate::invoke::{InvokeOutcome, InvokeRequest, Invoker};

/// One change of the alias's routing as the engine applied it.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightChange {
    /// The routing set.
    pub routing: AliasRouting,
    /// A schedule step or the rollback.
    pub cause: RoutingCause,
    /// When the schedule wanted it, since the deployment was created (`None`: a rollback,
    /// which has no schedule instant).
    pub scheduled: Option<Duration>,
    /// When the alias took it, since the deployment was created.
    pub applied: Duration,
}

impl WeightChange {
    /// How late the change was applied against the schedule's instant.
    pub fn lateness(&self) -> Option<Duration> {
        self.scheduled.map(|s| self.applied.saturating_sub(s))
    }
}

/// The model and what the engine did with it.
#[derive(Debug)]
pub(super) struct Model {
    pub(super) deployment: Deployment,
    pub(super) weight_changes: Vec<WeightChange>,
}

/// A deployment the engine drives.
#[derive(Debug)]
pub struct RunningDeployment {
    pub(super) context: DeploymentContext,
    registry: Arc<Registry>,
    created: Instant,
    model: Mutex<Model>,
    wake: Notify,
    done: watch::Sender<bool>,
}

impl RunningDeployment {
    pub(super) fn new(
        deployment: Deployment,
        context: DeploymentContext,
        registry: Arc<Registry>,
    ) -> Arc<Self> {
        Arc::new(Self {
            context,
            registry,
            created: Instant::now(),
            model: Mutex::new(Model {
                deployment,
                weight_changes: Vec::new(),
            }),
            wake: Notify::new(),
            done: watch::Sender::new(false),
        })
    }

    /// What GetDeployment shows besides the model: names, revision, creation time.
    pub fn context(&self) -> &DeploymentContext {
        &self.context
    }

    /// The function whose alias is deployed.
    pub fn function_name(&self) -> &str {
        &self.context.function_name
    }

    /// The alias deployed.
    pub fn alias(&self) -> &str {
        &self.context.alias
    }

    /// The deployment group it belongs to.
    pub fn deployment_group(&self) -> (&str, &str) {
        (
            &self.context.application_name,
            &self.context.deployment_group_name,
        )
    }

    /// A copy of the model now.
    pub fn deployment(&self) -> Deployment {
        self.lock().deployment.clone()
    }

    /// The routing changes applied so far, in order.
    pub fn weight_changes(&self) -> Vec<WeightChange> {
        self.lock().weight_changes.clone()
    }

    /// True once Succeeded, Failed or Stopped.
    pub fn is_complete(&self) -> bool {
        self.lock().deployment.status().is_complete()
    }

    /// Waits until the deployment is complete.
    pub async fn finished(&self) {
        let mut done = self.done.subscribe();
        let _ = done.wait_for(|d| *d).await;
    }

    /// Feeds the alarms' current states, starts the deployment, and spawns its loop and its
    /// alarm subscriptions.
    pub(super) fn launch(self: &Arc<Self>, alarms: &dyn AlarmSource) {
        let names = self.lock().deployment.spec().alarms.clone();
        let mut receivers = Vec::new();
        {
            let mut model = self.lock();
            for name in names {
                let mut rx = alarms.watch(&name);
                let state = *rx.borrow_and_update();
                let event = Event::AlarmState {
                    alarm_name: name.clone(),
                    state,
                };
                if let Err(e) = model.deployment.handle(Duration::ZERO, event) {
                    tracing::warn!(error = %e, "alarm state not taken");
                }
                receivers.push((name, rx));
            }
            let now = self.now();
            match model.deployment.start(now) {
                Ok(actions) => self.perform(&mut model, actions),
                Err(e) => tracing::error!(error = %e, "the deployment does not start"),
            }
        }
        for (name, rx) in receivers {
            tokio::spawn(Arc::clone(self).forward_alarm(name, rx));
        }
        tokio::spawn(Arc::clone(self).drive());
    }

    /// A hook status, an alarm state or a stop request, now.
    pub fn event(self: &Arc<Self>, event: Event) -> Result<(), DeploymentError> {
        let mut model = self.lock();
        let actions = model.deployment.handle(self.now(), event)?;
        self.perform(&mut model, actions);
        drop(model);
        self.wake.notify_one();
        Ok(())
    }

    fn now(&self) -> Duration {
        self.created.elapsed()
    }

    fn lock(&self) -> MutexGuard<'_, Model> {
        self.model.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The loop: sleep until the model's next change (or a wake-up), advance, perform.
    async fn drive(self: Arc<Self>) {
        loop {
            let next = {
                let model = self.lock();
                if model.deployment.status().is_complete() {
                    break;
                }
                model.deployment.next_change()
            };
            match next {
                Some(at) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(self.created + at) => {
                            let mut model = self.lock();
                            let actions = model.deployment.advance(self.now());
                            self.perform(&mut model, actions);
                        }
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
        self.done.send_replace(true);
    }

    async fn forward_alarm(
        self: Arc<Self>,
        alarm_name: String,
        mut rx: watch::Receiver<AlarmState>,
    ) {
        let mut done = self.done.subscribe();
        loop {
            tokio::select! {
                changed = rx.changed() => {
                    if changed.is_err() {
                        return;
                    }
                }
                _ = done.wait_for(|d| *d) => return,
            }
            let state = *rx.borrow_and_update();
            tracing::info!(deployment = %self.id(), alarm = %alarm_name, ?state, "alarm state changed");
            let event = Event::AlarmState {
                alarm_name: alarm_name.clone(),
                state,
            };
            if self.event(event).is_err() {
                return;
            }
        }
    }

    fn id(&self) -> String {
        self.lock().deployment.id().to_owned()
    }

    /// Performs the model's actions in order (the caller holds the model: the routing changes
    /// of one deployment never interleave).
    fn perform(self: &Arc<Self>, model: &mut Model, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::SetRouting { routing, cause } => {
                    self.set_routing(model, routing, cause);
                }
                Action::InvokeHook {
                    lifecycle_event,
                    function_name,
                    payload,
                } => {
                    tracing::info!(
                        deployment = %payload.deployment_id,
                        %lifecycle_event,
                        hook = %function_name,
                        "invoking the lifecycle hook"
                    );
                    tokio::spawn(Arc::clone(self).invoke_hook(function_name, payload));
                }
                Action::Finished {
                    status,
                    error_information,
                    routing,
                } => {
                    let why =
                        error_information.map(|e| format!("{}: {}", e.code.as_str(), e.message));
                    tracing::info!(
                        deployment = %model.deployment.id(),
                        %status,
                        alias = %self.context.target_id(),
                        %routing,
                        why = why.as_deref().unwrap_or(""),
                        "deployment finished"
                    );
                    self.wake.notify_one();
                }
            }
        }
    }

    fn set_routing(&self, model: &mut Model, routing: AliasRouting, cause: RoutingCause) {
        let scheduled = match cause {
            RoutingCause::Step { index, .. } => {
                let d = &model.deployment;
                d.traffic_shift_start().and_then(|start| {
                    d.schedule()
                        .steps()
                        .get(index)
                        .map(|step| start + Duration::from_secs_f64(step.start))
                })
            }
            RoutingCause::Rollback => None,
        };
        let result = self.registry.update_alias(
            &self.context.function_name,
            &self.context.alias,
            None,
            routing.function_version.clone(),
            routing.additional_version.clone(),
        );
        let applied = self.now();
        match result {
            Ok(_) => {
                tracing::info!(
                    deployment = %model.deployment.id(),
                    alias = %self.context.target_id(),
                    %routing,
                    ?cause,
                    "alias routing set"
                );
                model.weight_changes.push(WeightChange {
                    routing,
                    cause,
                    scheduled,
                    applied,
                });
            }
            Err(e) => tracing::error!(
                deployment = %model.deployment.id(),
                alias = %self.context.target_id(),
                %routing,
                error = %e,
                "the alias's routing could not be set"
            ),
        }
    }

    /// Invokes a hook asynchronously (`Event`) with its payload. A hook that crashes or cannot
    /// be invoked reports `Failed` on its behalf; one that returns waits for its report.
    async fn invoke_hook(self: Arc<Self>, function_name: String, payload: HookPayload) {
        let execution_id = payload.lifecycle_event_hook_execution_id.clone();
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let request = InvokeRequest {
            payload: Bytes::from(body),
            ..InvokeRequest::default()
        };
        let invoker = self.registry.invoker(&function_name, None);
        let failure = match invoker.invoke(request).await {
            Ok(response) => match response.outcome {
                InvokeOutcome::Success { .. } => None,
                InvokeOutcome::FunctionError { error_type, body } => {
                    Some(format!("{error_type}: {}", String::from_utf8_lossy(&body)))
                }
            },
            Err(e) => Some(e.to_string()),
        };
        let Some(failure) = failure else { return };
        tracing::warn!(hook = %function_name, %execution_id, %failure, "the lifecycle hook failed to run: its lifecycle event fails");
        let event = Event::HookStatus {
            execution_id,
            status: HookStatus::Failed,
        };
        if let Err(e) = self.event(event) {
            tracing::debug!(error = %e, "the failed hook's event had already ended");
        }
    }
}
