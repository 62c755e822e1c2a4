//! One deployment as it runs: a tokio task that is a thin loop around the pure model
//! (`rollout::deployment`): sleep until `next_change()`, `advance`, perform the actions. Hook
//! reports, stop requests and alarm changes arrive through [`RunningDeployment::event`] from
//! other tasks, which wake the loop.

use std::collections::BTreeMap;
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

use super::alarms::{AlarmSource, AlarmState as CloudWatchState, state_of};
use crate::control::Registry;
use crate::control::events::{Event as LogEvent, RoutingView};
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
pub struct RunningDeployment {
    pub(super) context: DeploymentContext,
    registry: Arc<Registry>,
    created: Instant,
    model: Mutex<Model>,
    wake: Notify,
    done: watch::Sender<bool>,
    sources: Vec<Arc<dyn AlarmSource>>,
    /// Why a hook's execution failed when the lab decided it (a crash), until recorded.
    crashes: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for RunningDeployment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningDeployment")
            .field("context", &self.context)
            .field("model", &self.model)
            .finish_non_exhaustive()
    }
}

impl RunningDeployment {
    pub(super) fn new(
        deployment: Deployment,
        context: DeploymentContext,
        registry: Arc<Registry>,
        sources: Vec<Arc<dyn AlarmSource>>,
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
            sources,
            crashes: Mutex::default(),
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
    /// alarm watch.
    pub(super) fn launch(self: &Arc<Self>) {
        let sources = self.sources.clone();
        let names = self.lock().deployment.spec().alarms.clone();
        let mut seen = BTreeMap::new();
        {
            let mut model = self.lock();
            for name in names {
                let state = state_of(&sources, &name);
                seen.insert(name.clone(), state);
                let event = Event::AlarmState {
                    alarm_name: name,
                    state,
                };
                if let Err(e) = model.deployment.handle(Duration::ZERO, event) {
                    tracing::warn!(error = %e, "alarm state not taken");
                }
            }
            let now = self.now();
            match model.deployment.start(now) {
                Ok(actions) => {
                    self.record_status(&model.deployment, None);
                    self.perform(&mut model, actions);
                }
                Err(e) => tracing::error!(error = %e, "the deployment does not start"),
            }
        }
        if !seen.is_empty() {
            tokio::spawn(Arc::clone(self).watch_alarms(sources, seen));
        }
        tokio::spawn(Arc::clone(self).drive());
    }

    /// A hook status, an alarm state or a stop request, now.
    pub fn event(self: &Arc<Self>, event: Event) -> Result<(), DeploymentError> {
        let report = match &event {
            Event::HookStatus {
                execution_id,
                status,
            } => Some((execution_id.clone(), *status)),
            _ => None,
        };
        if let Some((execution_id, status)) = &report {
            let reason = self.take_crash(execution_id);
            // Recorded before the actions the report causes (the shift, the rollback).
            if self.hook_is_running(execution_id) {
                self.record_hook_result(execution_id, *status, reason);
            }
        }
        let mut model = self.lock();
        let actions = model.deployment.handle(self.now(), event)?;
        self.perform(&mut model, actions);
        drop(model);
        self.wake.notify_one();
        Ok(())
    }

    fn take_crash(&self, execution_id: &str) -> Option<String> {
        self.crashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(execution_id)
    }

    fn hook_is_running(&self, execution_id: &str) -> bool {
        self.lock().deployment.lifecycle_events().iter().any(|e| {
            e.status == rollout::deployment::LifecycleEventStatus::InProgress
                && e.hook
                    .as_ref()
                    .is_some_and(|h| h.execution_id == execution_id)
        })
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
                            let waiting = running_hook(&model.deployment);
                            let actions = model.deployment.advance(self.now());
                            if let Some(execution_id) = waiting
                                && running_hook(&model.deployment).is_none()
                            {
                                // The hook's time limit passed: the lab's verdict.
                                let reason = model
                                    .deployment
                                    .error_information()
                                    .map(|e| e.message.clone());
                                if let Some(entry) = hook_result(
                                    &model.deployment,
                                    &execution_id,
                                    HookStatus::Failed,
                                    reason,
                                ) {
                                    self.log(entry);
                                }
                            }
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

    /// Tells the model every change of a monitored alarm's state, until the deployment ends.
    async fn watch_alarms(
        self: Arc<Self>,
        sources: Vec<Arc<dyn AlarmSource>>,
        mut seen: BTreeMap<String, AlarmState>,
    ) {
        let changed = Arc::new(Notify::new());
        let mut relays = Vec::new();
        for source in &sources {
            let mut rx = source.subscribe();
            let changed = Arc::clone(&changed);
            relays.push(tokio::spawn(async move {
                while rx.changed().await.is_ok() {
                    changed.notify_one();
                }
            }));
        }
        let mut done = self.done.subscribe();
        loop {
            tokio::select! {
                () = changed.notified() => {}
                _ = done.wait_for(|d| *d) => break,
            }
            let mut ended = false;
            for (alarm_name, last) in &mut seen {
                let state = state_of(&sources, alarm_name);
                if state == *last {
                    continue;
                }
                *last = state;
                tracing::info!(deployment = %self.id(), alarm = %alarm_name, ?state, "alarm state changed");
                let event = Event::AlarmState {
                    alarm_name: alarm_name.clone(),
                    state,
                };
                ended |= self.event(event).is_err();
            }
            if ended || self.is_complete() {
                break;
            }
        }
        for relay in relays {
            relay.abort();
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
                    self.log(LogEvent::HookInvoked {
                        deployment_id: payload.deployment_id.clone(),
                        lifecycle_event: lifecycle_event.to_string(),
                        function: function_name.clone(),
                        execution_id: payload.lifecycle_event_hook_execution_id.clone(),
                    });
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
                    let reason = model
                        .deployment
                        .error_information()
                        .map(|e| format!("{}: {}", e.code.as_str(), e.message));
                    self.record_status(&model.deployment, reason);
                    self.wake.notify_one();
                }
            }
        }
    }

    fn log(&self, event: LogEvent) {
        if let Some(log) = self.registry.event_log() {
            log.record(event);
        }
    }

    /// The deployment's status in the event log, with the alias's routing.
    fn record_status(&self, deployment: &Deployment, reason: Option<String>) {
        let routing = deployment.routing();
        self.log(LogEvent::DeploymentStatus {
            deployment_id: deployment.id().to_owned(),
            function: self.context.function_name.clone(),
            alias: self.context.alias.clone(),
            status: deployment.status().to_string(),
            reason,
            routing: Some(RoutingView {
                primary: routing.function_version.clone(),
                additional: routing.additional_version.iter().cloned().collect(),
            }),
        });
    }

    /// Where the shift stands after step `index`: the console's progress line.
    fn record_progress(&self, deployment: &Deployment, index: usize, share: f64) {
        let next_shift_in_ms = deployment
            .next_change()
            .filter(|_| index + 1 < deployment.schedule().steps().len())
            .map(|at| u64::try_from(at.saturating_sub(self.now()).as_millis()).unwrap_or(u64::MAX));
        let alarms = deployment
            .spec()
            .alarms
            .iter()
            .map(|name| {
                let state = self
                    .sources
                    .iter()
                    .find_map(|s| s.state(name))
                    .unwrap_or(CloudWatchState::InsufficientData);
                (name.clone(), state)
            })
            .collect();
        self.log(LogEvent::DeploymentProgress {
            deployment_id: deployment.id().to_owned(),
            function: self.context.function_name.clone(),
            alias: self.context.alias.clone(),
            step: u32::try_from(index + 1).unwrap_or(u32::MAX),
            steps: u32::try_from(deployment.schedule().steps().len()).unwrap_or(u32::MAX),
            target_version: deployment.spec().target_version.clone(),
            target_weight: share,
            next_shift_in_ms,
            alarms,
        });
    }

    /// A hook's result in the event log (`reason`: why the lab decided, for a crash).
    fn record_hook_result(&self, execution_id: &str, status: HookStatus, reason: Option<String>) {
        let entry = hook_result(&self.lock().deployment, execution_id, status, reason);
        if let Some(entry) = entry {
            self.log(entry);
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
                if let RoutingCause::Step { index, share } = cause {
                    self.record_progress(&model.deployment, index, share);
                }
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
                InvokeOutcome::Success { .. } | InvokeOutcome::Streamed(_) => None,
                InvokeOutcome::FunctionError { error_type, body } => {
                    Some(format!("{error_type}: {}", String::from_utf8_lossy(&body)))
                }
            },
            Err(e) => Some(e.to_string()),
        };
        let Some(failure) = failure else { return };
        self.crashes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(execution_id.clone(), format!("the hook crashed: {failure}"));
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

/// The execution id of the hook the deployment waits for, if any.
fn running_hook(deployment: &Deployment) -> Option<String> {
    deployment
        .lifecycle_events()
        .iter()
        .find(|e| e.status == rollout::deployment::LifecycleEventStatus::InProgress)
        .and_then(|e| e.hook.as_ref())
        .map(|h| h.execution_id.clone())
}

/// The event-log entry of a hook's result.
fn hook_result(
    deployment: &Deployment,
    execution_id: &str,
    status: HookStatus,
    reason: Option<String>,
) -> Option<LogEvent> {
    let event = deployment.lifecycle_events().iter().find(|e| {
        e.hook
            .as_ref()
            .is_some_and(|h| h.execution_id == execution_id)
    })?;
    Some(LogEvent::HookResult {
        deployment_id: deployment.id().to_owned(),
        lifecycle_event: event.name.to_string(),
        execution_id: execution_id.to_owned(),
        status: format!("{status:?}"),
        reason,
    })
}
