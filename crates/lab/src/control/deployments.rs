//! The lab's CodeDeploy: applications, deployment groups, custom deployment configurations and
//! deployments of Lambda aliases. Each deployment runs as its own task around the pure model
//! (`rollout::deployment`, see [`run`]); its routing changes go through the [`Registry`] like
//! every other alias update, its hooks are invoked through the registry, and its alarms come
//! from an [`AlarmSource`].
//!
//! Time scale: one factor for the whole lab ([`Deployments::set_time_scale`]), applied to every
//! deployment created after it is set (schedule intervals and the hook timeout). CodeDeploy's
//! shapes have no place for it, and the prober that judges a rehearsal must use the same factor
//! as the lab, so it is the lab's setting rather than a deployment group's.
//!
//! Refusals are CodeDeploy's errors ([`CodeDeployError`]), checked before anything changes.

mod alarms;
mod run;
mod setup;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use protocol::codedeploy::{
    AlarmConfiguration, AppSpec, CodeDeployError, CodeDeployErrorType, CreateDeploymentInput,
    CreateDeploymentOutput, DeploymentConfigInfo, DeploymentContext, DeploymentInfo,
    DeploymentStyle, ListDeploymentsInput, ListDeploymentsOutput,
    PutLifecycleEventHookExecutionStatusInput, PutLifecycleEventHookExecutionStatusOutput,
    StopDeploymentInput, StopDeploymentOutput, StopStatus, Timestamp, predefined_config,
};
use rollout::Schedule;
use rollout::deployment::{AutoRollback, Deployment, DeploymentSpec, Event};

pub use alarms::{AlarmBoard, AlarmSource, AlarmState};
pub use run::{RunningDeployment, WeightChange};

use super::Registry;

/// The deployment configuration of a Lambda deployment group that names none.
pub const DEFAULT_CONFIG: &str = "CodeDeployDefault.LambdaAllAtOnce";

/// A CodeDeploy application.
#[derive(Debug, Clone)]
struct Application {
    id: String,
    create_time: Timestamp,
    groups: BTreeMap<String, DeploymentGroup>,
}

/// A deployment group: how its deployments run.
#[derive(Debug, Clone)]
struct DeploymentGroup {
    id: String,
    service_role_arn: String,
    deployment_style: Option<DeploymentStyle>,
    config_name: String,
    alarms: AlarmConfiguration,
    auto_rollback: AutoRollback,
}

#[derive(Debug, Default)]
struct Store {
    applications: BTreeMap<String, Application>,
    configs: BTreeMap<String, DeploymentConfigInfo>,
    deployments: BTreeMap<String, Arc<RunningDeployment>>,
    /// Deployment ids in creation order.
    order: Vec<String>,
    next_id: u64,
}

/// The deployment engine.
pub struct Deployments {
    registry: Arc<Registry>,
    alarms: Vec<Arc<dyn AlarmSource>>,
    time_scale: Mutex<f64>,
    store: Mutex<Store>,
}

impl std::fmt::Debug for Deployments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deployments")
            .field("time_scale", &self.time_scale())
            .finish_non_exhaustive()
    }
}

impl Deployments {
    /// An engine deploying the registry's aliases, in real time, reading alarm states from
    /// `alarms` in order (the first source that knows an alarm answers).
    pub fn new(registry: Arc<Registry>, alarms: Vec<Arc<dyn AlarmSource>>) -> Arc<Self> {
        Arc::new(Self {
            registry,
            alarms,
            time_scale: Mutex::new(1.0),
            store: Mutex::new(Store::default()),
        })
    }

    /// Runs deployments created from now on `factor` times faster than real time.
    pub fn set_time_scale(&self, factor: f64) -> Result<(), rollout::ScheduleError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(rollout::ScheduleError::BadTimeScale { factor });
        }
        *self.time_scale.lock().unwrap_or_else(|e| e.into_inner()) = factor;
        Ok(())
    }

    /// The time scale new deployments get.
    pub fn time_scale(&self) -> f64 {
        *self.time_scale.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A deployment by id.
    pub fn deployment(&self, id: &str) -> Result<Arc<RunningDeployment>, CodeDeployError> {
        self.lock()
            .deployments
            .get(id)
            .cloned()
            .ok_or_else(|| CodeDeployError::deployment_does_not_exist(id))
    }

    /// CreateDeployment: checks the AppSpec against the registry, then starts the deployment.
    pub fn create_deployment(
        &self,
        input: &CreateDeploymentInput,
    ) -> Result<CreateDeploymentOutput, CodeDeployError> {
        let group_name = input.deployment_group_name.as_deref().ok_or_else(|| {
            error(
                CodeDeployErrorType::DeploymentGroupNameRequired,
                "deploymentGroupName is missing: name the deployment group to deploy with",
            )
        })?;
        let revision = input.revision.as_ref().ok_or_else(|| {
            error(
                CodeDeployErrorType::RevisionRequired,
                "revision is missing: give the AppSpec with revisionType=AppSpecContent",
            )
        })?;
        let appspec = AppSpec::parse(revision.app_spec_text()?)?;
        let time_scale = self.time_scale();
        let mut store = self.lock();
        let group = store.group(&input.application_name, group_name)?.clone();
        let config_name = input
            .deployment_config_name
            .clone()
            .unwrap_or_else(|| group.config_name.clone());
        let schedule = store.schedule(&config_name)?;
        let function = &appspec.function;
        for running in store.deployments.values() {
            if running.is_complete() {
                continue;
            }
            if running.deployment_group() == (input.application_name.as_str(), group_name) {
                return Err(CodeDeployError::active_deployment(
                    group_name,
                    running.deployment().id(),
                ));
            }
            if running.function_name() == function.name && running.alias() == function.alias {
                return Err(error(
                    CodeDeployErrorType::DeploymentAlreadyStarted,
                    format!(
                        "alias {}:{} is already being deployed by {}: wait for it to end or stop it (aws deploy stop-deployment)",
                        function.name,
                        function.alias,
                        running.deployment().id()
                    ),
                ));
            }
        }
        self.check_against_registry(&appspec)?;
        let alarms = input
            .override_alarm_configuration
            .as_ref()
            .unwrap_or(&group.alarms)
            .monitored_alarms();
        let auto_rollback = input
            .auto_rollback_configuration
            .as_ref()
            .map_or(group.auto_rollback, |c| c.auto_rollback());
        store.next_id += 1;
        let deployment_id = format!("d-LAB{:06}", store.next_id);
        let spec = DeploymentSpec {
            deployment_id: deployment_id.clone(),
            current_version: function.current_version.clone(),
            target_version: function.target_version.clone(),
            schedule,
            time_scale,
            before_allow_traffic_hook: appspec.before_allow_traffic.clone(),
            after_allow_traffic_hook: appspec.after_allow_traffic.clone(),
            alarms,
            auto_rollback,
        };
        let deployment = Deployment::new(spec)
            .map_err(|e| error(CodeDeployErrorType::InvalidRevision, e.to_string()))?;
        let context = DeploymentContext {
            application_name: input.application_name.clone(),
            deployment_group_name: group_name.to_owned(),
            deployment_config_name: config_name,
            function_name: function.name.clone(),
            alias: function.alias.clone(),
            revision: Some(revision.clone()),
            description: input.description.clone(),
            created: Timestamp::from_system_time(SystemTime::now()),
        };
        let running = RunningDeployment::new(
            deployment,
            context,
            Arc::clone(&self.registry),
            self.alarms.clone(),
        );
        store
            .deployments
            .insert(deployment_id.clone(), Arc::clone(&running));
        store.order.push(deployment_id.clone());
        drop(store);
        tracing::info!(
            deployment = %deployment_id,
            alias = %format!("{}:{}", function.name, function.alias),
            from = %function.current_version,
            to = %function.target_version,
            time_scale,
            "deployment created"
        );
        running.launch();
        Ok(CreateDeploymentOutput { deployment_id })
    }

    /// GetDeployment.
    pub fn get_deployment(&self, id: &str) -> Result<DeploymentInfo, CodeDeployError> {
        let running = self.deployment(id)?;
        Ok(DeploymentInfo::of(&running.deployment(), &running.context))
    }

    /// Every deployment's id, in creation order.
    pub fn deployment_ids(&self) -> Vec<String> {
        self.lock().order.clone()
    }

    /// ListDeployments, oldest first (the lab answers in one page).
    pub fn list_deployments(
        &self,
        input: &ListDeploymentsInput,
    ) -> Result<ListDeploymentsOutput, CodeDeployError> {
        input.validate()?;
        if input.next_token.is_some() {
            return Err(error(
                CodeDeployErrorType::InvalidNextToken,
                "nextToken is not one the lab gave: the lab lists every deployment in one page",
            ));
        }
        let statuses = input.statuses()?;
        let store = self.lock();
        if let Some(app) = &input.application_name {
            let application = store.application(app)?;
            if let Some(group) = &input.deployment_group_name
                && !application.groups.contains_key(group)
            {
                return Err(CodeDeployError::deployment_group_does_not_exist(group));
            }
        }
        let deployments = store
            .order
            .iter()
            .filter_map(|id| store.deployments.get(id))
            .filter(|running| {
                let (app, group) = running.deployment_group();
                let deployment = running.deployment();
                input.application_name.as_deref().is_none_or(|a| a == app)
                    && input
                        .deployment_group_name
                        .as_deref()
                        .is_none_or(|g| g == group)
                    && statuses
                        .as_ref()
                        .is_none_or(|s| s.contains(&deployment.status()))
                    && input.create_time_range.is_none_or(|range| {
                        let created = running.context.created;
                        range.start.is_none_or(|s| created >= s)
                            && range.end.is_none_or(|e| created <= e)
                    })
            })
            .map(|running| running.deployment().id().to_owned())
            .collect();
        Ok(ListDeploymentsOutput {
            deployments,
            next_token: None,
        })
    }

    /// StopDeployment, with or without rollback (`autoRollbackEnabled`; the group's
    /// DEPLOYMENT_STOP_ON_REQUEST when not given).
    pub fn stop_deployment(
        &self,
        input: &StopDeploymentInput,
    ) -> Result<StopDeploymentOutput, CodeDeployError> {
        let running = self.deployment(&input.deployment_id)?;
        let event = Event::Stop {
            auto_rollback: input.auto_rollback_enabled,
        };
        running.event(event).map_err(|e| model_refusal(&e))?;
        Ok(StopDeploymentOutput {
            status: Some(StopStatus::Succeeded),
            status_message: Some(format!(
                "Deployment {} stopped; the alias serves {}",
                input.deployment_id,
                running.deployment().routing()
            )),
        })
    }

    /// PutLifecycleEventHookExecutionStatus: a hook's report.
    pub fn put_hook_status(
        &self,
        input: &PutLifecycleEventHookExecutionStatusInput,
    ) -> Result<PutLifecycleEventHookExecutionStatusOutput, CodeDeployError> {
        let (deployment_id, execution_id, status) = input.report()?;
        let running = self.deployment(deployment_id)?;
        let event = Event::HookStatus {
            execution_id: execution_id.to_owned(),
            status,
        };
        running.event(event).map_err(|e| model_refusal(&e))?;
        Ok(PutLifecycleEventHookExecutionStatusOutput {
            lifecycle_event_hook_execution_id: Some(execution_id.to_owned()),
        })
    }

    /// The AppSpec's function, alias, versions and hooks exist in the registry, and the alias
    /// serves the current version only.
    fn check_against_registry(&self, appspec: &AppSpec) -> Result<(), CodeDeployError> {
        let invalid = |m: String| error(CodeDeployErrorType::InvalidRevision, m);
        let snapshot = self.registry.snapshot();
        let f = &appspec.function;
        let function = snapshot.function(&f.name).map_err(|_| {
            invalid(format!(
                "AppSpec names function {:?}, which the lab does not have: deploy one of its functions",
                f.name
            ))
        })?;
        for (what, version) in [
            ("CurrentVersion", &f.current_version),
            ("TargetVersion", &f.target_version),
        ] {
            if function.version(version).is_none() || version == protocol::lambda_api::LATEST {
                let published: Vec<String> = function.versions.keys().map(u64::to_string).collect();
                return Err(invalid(format!(
                    "AppSpec {what} {version:?} is not a published version of {}: publish it first (published: {})",
                    f.name,
                    published.join(", ")
                )));
            }
        }
        let alias = function.aliases.get(&f.alias).ok_or_else(|| {
            invalid(format!(
                "AppSpec names alias {:?}, which function {} does not have: create the alias first",
                f.alias, f.name
            ))
        })?;
        let routing = alias.routing();
        if routing.primary != f.current_version || routing.additional.is_some() {
            return Err(invalid(format!(
                "alias {}:{} serves {routing}, not CurrentVersion {} only: set CurrentVersion to what the alias serves, or update the alias first",
                f.name, f.alias, f.current_version
            )));
        }
        for hook in [&appspec.before_allow_traffic, &appspec.after_allow_traffic]
            .into_iter()
            .flatten()
        {
            if snapshot.function(hook).is_err() {
                return Err(invalid(format!(
                    "AppSpec Hooks name function {hook:?}, which the lab does not have: create the hook function first"
                )));
            }
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Store {
    fn application(&self, name: &str) -> Result<&Application, CodeDeployError> {
        self.applications
            .get(name)
            .ok_or_else(|| CodeDeployError::application_does_not_exist(name))
    }

    fn application_mut(&mut self, name: &str) -> Result<&mut Application, CodeDeployError> {
        self.applications
            .get_mut(name)
            .ok_or_else(|| CodeDeployError::application_does_not_exist(name))
    }

    fn group(&self, application: &str, group: &str) -> Result<&DeploymentGroup, CodeDeployError> {
        self.application(application)?
            .groups
            .get(group)
            .ok_or_else(|| CodeDeployError::deployment_group_does_not_exist(group))
    }

    /// The schedule of a predefined or custom configuration (real time).
    fn schedule(&self, config_name: &str) -> Result<Schedule, CodeDeployError> {
        let info = predefined_config(config_name)
            .or_else(|| self.configs.get(config_name).cloned())
            .ok_or_else(|| CodeDeployError::deployment_config_does_not_exist(config_name))?;
        if predefined_config(config_name).is_some() {
            return Schedule::parse(config_name).map_err(|e| {
                error(
                    CodeDeployErrorType::InvalidDeploymentConfigName,
                    e.to_string(),
                )
            });
        }
        info.traffic_routing_config
            .ok_or_else(|| CodeDeployError::deployment_config_does_not_exist(config_name))?
            .schedule()
            .map_err(|e| {
                error(
                    CodeDeployErrorType::InvalidTrafficRoutingConfiguration,
                    e.to_string(),
                )
            })
    }
}

/// The API's answer to a request the model refused.
fn model_refusal(e: &rollout::deployment::DeploymentError) -> CodeDeployError {
    CodeDeployError::from_deployment_error(e)
        .unwrap_or_else(|| error(CodeDeployErrorType::InvalidInput, e.to_string()))
}

fn error(error_type: CodeDeployErrorType, message: impl Into<String>) -> CodeDeployError {
    CodeDeployError::new(error_type, message)
}

fn uuid() -> String {
    crate::env::extensions_api::uuid_v4()
}

#[cfg(test)]
#[path = "deployments/tests.rs"]
mod tests;
