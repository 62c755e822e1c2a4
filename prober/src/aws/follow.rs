//! The control plane during a run: checked before the first probe ([`Preflight`]), followed by
//! background tasks on the main runtime ([`ControlPlane`]), read by the aggregator once per tick
//! ([`ControlPlane::snapshot`]) and summarised into the report ([`ControlPlane::finish`]).

use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use rollout::configured::ConfiguredRouting;
use rollout::control_plane::ControlPlaneReport;
use rollout::schedule::Schedule;
use time::OffsetDateTime;

use super::alias::{self, AliasFollower, AliasLog};
use super::deployment::{DeploymentView, config_schedule, control_plane_error};
use super::deployment_poll::{Progress, Target, follow, poll_deployment};
use crate::config::Config;
use crate::control::DeploymentSelector;
use crate::error::ProberError;

/// What the aggregator needs from the control plane at a tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlSnapshot {
    /// The alias's routing so far (`--alias`); `None` without an alias.
    pub configured: Option<ConfiguredRouting>,
    /// When the followed deployment reached a final status, seconds since the origin (the run
    /// may end then); `None` while it runs or without `--deployment`.
    pub deployment_ended_at: Option<f64>,
    /// When the alias's last successful poll was sent, seconds since the origin: what the
    /// routing is known up to (responses after it are not judged against an older weight).
    pub polled_until: Option<f64>,
    /// The followed deployment's schedule (its configuration's, time-scaled) when `--schedule`
    /// was not given; `None` until the deployment is found (`latest`).
    pub schedule: Option<Schedule>,
    /// `schedule` as the configuration names it (before `--time-scale`).
    pub schedule_text: Option<String>,
}

/// Shared between the followers and the aggregator.
#[derive(Debug, Default)]
pub struct Shared {
    /// What the aggregator reads at each tick.
    pub snapshot: ControlSnapshot,
    /// The report's section, filled as the run goes.
    pub report: ControlPlaneReport,
    /// `--alias`: the polls so far.
    pub alias: Option<AliasLog>,
}

/// The control plane, checked: every first call answered (nothing has been sent yet).
#[derive(Debug)]
pub struct Preflight {
    shared: Arc<Mutex<Shared>>,
    /// `--deployment`: what the follower needs.
    deployment: Option<DeploymentPlan>,
    /// `--alias`, its first GetAlias answered.
    alias: Option<AliasFollower>,
}

impl Preflight {
    /// Makes the first call of each follower the run needs (GetAlias, GetDeployment); `None`
    /// when the run follows nothing. A failure is a usage error (exit 64) naming the call, the
    /// resource and the fix.
    pub async fn check(config: &Config) -> Result<Option<Preflight>, ProberError> {
        let c = &config.control;
        if c.alias.is_none() && c.deployment.is_none() && c.stack_found.is_none() {
            return Ok(None);
        }
        let deployment = check_deployment(config).await?;
        let shared: Arc<Mutex<Shared>> = Arc::default();
        if let Ok(mut s) = shared.lock() {
            s.report.stack.clone_from(&c.stack_found);
        }
        let target_alias = deployment.as_ref().and_then(|p| p.alias.as_deref());
        let alias = match (&c.alias, target_alias) {
            (None, Some(target)) => deployment_alias(target, c.poll).await,
            _ => check_alias(config).await?,
        };
        Ok(Some(Preflight {
            shared,
            deployment,
            alias,
        }))
    }

    /// Completes `config` with what the deployment's preflight learnt: its configuration's
    /// schedule (when `--schedule` was not given) and its versions (when `--from-version` /
    /// `--to-version` were not given).
    pub fn apply_deployment(&self, config: &mut Config) {
        let Some(plan) = &self.deployment else {
            return;
        };
        if config.schedule.is_none() {
            if let Some((text, schedule)) = &plan.schedule {
                config.schedule_text = Some(text.clone());
                config.schedule = Some(schedule.clone());
            }
        }
        if config.from_version.is_none() {
            config.from_version.clone_from(&plan.versions.0);
        }
        if config.to_version.is_none() {
            config.to_version.clone_from(&plan.versions.1);
        }
    }

    /// Starts the followers; times are measured from `t0` (the timeline's origin, at wall-clock
    /// `origin`).
    pub fn start(self, t0: Instant, origin: OffsetDateTime) -> ControlPlane {
        let mut tasks = Vec::new();
        if let Some(plan) = self.deployment {
            tasks.push(start_deployment(plan, self.shared.clone(), t0, origin));
        }
        tasks.extend(start_alias(self.alias, t0, origin, &self.shared));
        ControlPlane {
            shared: self.shared,
            tasks,
            t0,
        }
    }
}

/// The running followers.
#[derive(Debug)]
pub struct ControlPlane {
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    t0: Instant,
}

impl ControlPlane {
    /// The state at this instant (cheap: a clone under a short lock).
    pub fn snapshot(&self) -> ControlSnapshot {
        self.shared
            .lock()
            .map(|s| s.snapshot.clone())
            .unwrap_or_default()
    }

    /// Stops the followers and returns the control plane's account of the run.
    pub async fn finish(self) -> ControlPlaneReport {
        for task in &self.tasks {
            task.abort();
        }
        let end = self.t0.elapsed().as_secs_f64();
        self.shared
            .lock()
            .map(|mut s| {
                finish_alias(&mut s, end);
                s.report.clone()
            })
            .unwrap_or_default()
    }
}

/// What the deployment follower needs, checked before the first probe.
#[derive(Debug)]
struct DeploymentPlan {
    client: aws_sdk_codedeploy::Client,
    target: Target,
    poll: std::time::Duration,
    /// `(schedule text, time-scaled schedule)` of the deployment's configuration.
    schedule: Option<(String, Schedule)>,
    /// `(current, target)` versions from the deployment's target.
    versions: (Option<String>, Option<String>),
    /// The alias the deployment shifts, `function:alias` (a deployment given by id).
    alias: Option<String>,
    /// The run's `--time-scale`; `None` when `--schedule` was given (the snapshot then carries
    /// no schedule).
    scale_for_snapshot: Option<f64>,
}

/// `--deployment`: GetDeployment of the given id (not found, not Lambda, or a `--schedule`
/// contradicting its configuration: exit 64), or ListDeployments of the group for `latest`.
async fn check_deployment(config: &Config) -> Result<Option<DeploymentPlan>, ProberError> {
    let Some(selector) = &config.control.deployment else {
        return Ok(None);
    };
    let sdk = super::sdk_config(None).await;
    let client = aws_sdk_codedeploy::Client::new(&sdk);
    let scale = |s: Schedule| {
        if config.time_scale == 1.0 {
            Ok(s)
        } else {
            s.time_scaled(config.time_scale)
        }
    };
    let mut plan = DeploymentPlan {
        client,
        target: Target::Id(String::new()),
        poll: config.control.poll,
        schedule: None,
        versions: (None, None),
        alias: None,
        scale_for_snapshot: config.schedule.is_none().then_some(config.time_scale),
    };
    match selector {
        DeploymentSelector::Id(id) => {
            let out = plan
                .client
                .get_deployment()
                .deployment_id(id)
                .send()
                .await
                .map_err(|e| control_plane_error("codedeploy:GetDeployment", id, &e))?;
            let view = out
                .deployment_info()
                .map(DeploymentView::of_info)
                .unwrap_or_default();
            if let Some(platform) = view.compute_platform.as_deref().filter(|p| *p != "Lambda") {
                return Err(ProberError::ControlPlane {
                    call: "codedeploy:GetDeployment",
                    resource: id.clone(),
                    reason: format!("{id} deploys to the {platform} compute platform"),
                    fix: "follow a deployment of a Lambda function's alias".into(),
                });
            }
            if let Ok(schedule) = config_schedule(&plan.client, &view.config).await {
                let text = schedule.name().to_owned();
                let scaled = scale(schedule).map_err(|e| {
                    ProberError::invalid(
                        "--time-scale",
                        config.time_scale.to_string(),
                        e.to_string(),
                    )
                })?;
                if let Some(given) = &config.schedule {
                    if given.kind() != scaled.kind() {
                        return Err(ProberError::invalid(
                            "--schedule",
                            config.schedule_text.clone().unwrap_or_default(),
                            format!(
                                "deployment {id} uses {} ({text}); drop --schedule to judge \
                                 against the deployment's own configuration",
                                view.config
                            ),
                        ));
                    }
                }
                plan.schedule = Some((text, scaled));
            }
            if let Ok(polled) = poll_deployment(&plan.client, id).await {
                if let Some(f) = polled.function {
                    plan.alias = Some(format!("{}:{}", f.function, f.alias));
                    plan.versions = (f.current_version, f.target_version);
                }
            }
            plan.target = Target::Id(id.clone());
        }
        DeploymentSelector::Latest => {
            let Some(group) = &config.control.deployment_group else {
                return Err(ProberError::MissingFlag {
                    flag: "--deployment-group",
                    reason: "`--deployment latest` needs the deployment group as APPLICATION/GROUP"
                        .into(),
                });
            };
            let resource = format!("{}/{}", group.application, group.group);
            plan.client
                .list_deployments()
                .application_name(&group.application)
                .deployment_group_name(&group.group)
                .send()
                .await
                .map_err(|e| control_plane_error("codedeploy:ListDeployments", &resource, &e))?;
            plan.target = Target::Latest {
                application: group.application.clone(),
                group: group.group.clone(),
                since: SystemTime::now(),
            };
        }
    }
    Ok(Some(plan))
}

/// Follows the deployment until its status is final, keeping the shared report and snapshot
/// up to date.
fn start_deployment(
    plan: DeploymentPlan,
    shared: Arc<Mutex<Shared>>,
    t0: Instant,
    origin: OffsetDateTime,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let origin_unix = origin.unix_timestamp_nanos() as f64 / 1e9;
        let now = move || t0.elapsed().as_secs_f64();
        let sink = |progress: Progress<'_>| {
            let Ok(mut s) = shared.lock() else {
                return;
            };
            match progress {
                Progress::Failure(failure) => s.report.failures.push(failure),
                Progress::Polled { tracker, .. } => {
                    let report = tracker.report();
                    if let (Some(factor), None) = (plan.scale_for_snapshot, &s.snapshot.schedule) {
                        s.snapshot.schedule_text.clone_from(&report.schedule);
                        s.snapshot.schedule = report
                            .schedule
                            .as_deref()
                            .and_then(|text| Schedule::parse(text).ok())
                            .and_then(|sc| {
                                if factor == 1.0 {
                                    Some(sc)
                                } else {
                                    sc.time_scaled(factor).ok()
                                }
                            });
                    }
                    if tracker.is_final() && s.snapshot.deployment_ended_at.is_none() {
                        s.snapshot.deployment_ended_at =
                            report.status_history.last().map(|seen| seen.at);
                    }
                    s.report.deployment = Some(report.clone());
                }
            }
        };
        follow(
            &plan.client,
            plan.target.clone(),
            plan.poll,
            origin_unix,
            now,
            sink,
        )
        .await;
    })
}

/// `--alias`: region, credentials and GetAlias checked.
async fn check_alias(config: &Config) -> Result<Option<AliasFollower>, ProberError> {
    match &config.control.alias {
        Some(arg) => Ok(Some(alias::preflight(arg, config.control.poll).await?)),
        None => Ok(None),
    }
}

/// `--deployment ID` without `--alias`: the alias the deployment shifts is polled too, so that
/// the clients are judged against its real weights; a GetAlias that fails then (no
/// `lambda:GetAlias` permission, say) leaves the run following the deployment alone, with a
/// warning, since the alias was not asked for.
async fn deployment_alias(target: &str, poll: std::time::Duration) -> Option<AliasFollower> {
    let arg = crate::control::FunctionArg {
        text: target.to_owned(),
        reference: protocol::lambda_api::names::FunctionRef::parse(target).ok()?,
    };
    match alias::preflight(&arg, poll).await {
        Ok(follower) => Some(follower),
        Err(e) => {
            tracing::warn!(
                alias = target,
                "the deployment's alias is not polled (give --alias to require it): {e}"
            );
            None
        }
    }
}

/// `--alias`: the poller.
fn start_alias(
    alias: Option<AliasFollower>,
    t0: Instant,
    origin: OffsetDateTime,
    shared: &Arc<Mutex<Shared>>,
) -> Option<tokio::task::JoinHandle<()>> {
    let origin_ms = (origin.unix_timestamp_nanos() / 1_000_000).max(0) as u64;
    alias.map(|a| a.start(t0, origin_ms, Arc::clone(shared)))
}

/// `--alias`: the polls into the report (a gap still open ends at `end`).
fn finish_alias(shared: &mut Shared, end: f64) {
    if let Some(log) = shared.alias.as_mut() {
        let report = log.finish(end);
        shared.snapshot.configured = Some(log.configured());
        shared.report.alias = Some(report);
    }
}
