//! A CodeDeploy deployment as CodeDeploy tells it: which one to follow (`--deployment d-...` or
//! `latest` of a deployment group), what its configuration schedules, and each poll's account
//! (GetDeployment, ListDeploymentTargets + GetDeploymentTarget) turned into the report's
//! [`DeploymentReport`] and into one [`Change`] per thing that changed (the lines `prober watch`
//! prints).
//!
//! The SDK calls are thin; everything they feed ([`Tracker`], [`routing_schedule`]) is pure.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use aws_sdk_codedeploy::Client;
use aws_sdk_codedeploy::types::{self as cd, DeploymentStatus};
use rollout::control_plane::{DeploymentReport, LifecycleEventReport, StatusSeen};
use rollout::deployment::{TimeBasedCanary, TimeBasedLinear, TrafficRoutingConfig};
use rollout::schedule::Schedule;

/// The longest wait between polls after failures (the poll interval doubles per failure).
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Statuses of a deployment that has not ended (what `latest` looks for).
pub const IN_PROGRESS: [&str; 5] = ["Created", "Queued", "InProgress", "Baking", "Ready"];

/// True for a status CodeDeploy does not leave.
pub fn is_final(status: &str) -> bool {
    matches!(status, "Succeeded" | "Failed" | "Stopped")
}

/// The wait before the next poll after `failures` consecutive failures.
pub fn backoff(poll: Duration, failures: u32) -> Duration {
    poll.saturating_mul(1u32 << failures.min(16))
        .min(MAX_BACKOFF.max(poll))
}

pub use super::errors::{control_plane_error, describe};

/// One lifecycle event as a poll saw it (times in Unix seconds, CodeDeploy's clock).
#[derive(Debug, Clone, PartialEq)]
pub struct EventView {
    /// `BeforeAllowTraffic`, `AllowTraffic`, `AfterAllowTraffic`.
    pub name: String,
    /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `Skipped`, `Unknown`.
    pub status: String,
    /// Start.
    pub start: Option<f64>,
    /// End.
    pub end: Option<f64>,
    /// The diagnostics' message.
    pub diagnostics: Option<String>,
}

/// The alias a Lambda deployment shifts (`lambdaTarget.lambdaFunctionInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionView {
    /// The function's name.
    pub function: String,
    /// The alias's name.
    pub alias: String,
    /// The version traffic shifts from.
    pub current_version: Option<String>,
    /// The version traffic shifts to.
    pub target_version: Option<String>,
    /// CodeDeploy's own weight of the target version, percent.
    pub target_weight: Option<f64>,
}

/// One poll's account of a deployment (times in Unix seconds, CodeDeploy's clock).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DeploymentView {
    /// `d-...`.
    pub id: String,
    /// The application.
    pub application: String,
    /// The deployment group.
    pub group: String,
    /// The configuration's name.
    pub config: String,
    /// The status.
    pub status: String,
    /// `Lambda`, `Server` or `ECS`.
    pub compute_platform: Option<String>,
    /// `createTime`.
    pub created: Option<f64>,
    /// `completeTime`.
    pub completed: Option<f64>,
    /// `errorInformation`, as `CODE: message`.
    pub error: Option<String>,
    /// `rollbackInfo.rollbackMessage` (with the rollback deployment's id when there is one).
    pub rollback: Option<String>,
    /// The lifecycle events (empty before the target's first poll).
    pub events: Vec<EventView>,
    /// The alias being shifted.
    pub function: Option<FunctionView>,
}

impl DeploymentView {
    /// The view of GetDeployment's `deploymentInfo`.
    pub fn of_info(info: &cd::DeploymentInfo) -> Self {
        let error = info.error_information().map(|e| {
            let code = e.code().map(|c| c.as_str().to_owned());
            match (code, e.message()) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(c), None) => c,
                (None, m) => m.unwrap_or("unknown error").to_owned(),
            }
        });
        let rollback = info.rollback_info().map(|r| {
            let message = r.rollback_message().unwrap_or("rolled back");
            match r.rollback_deployment_id() {
                Some(id) => format!("{message} (rollback deployment {id})"),
                None => message.to_owned(),
            }
        });
        DeploymentView {
            id: info.deployment_id().unwrap_or_default().to_owned(),
            application: info.application_name().unwrap_or_default().to_owned(),
            group: info.deployment_group_name().unwrap_or_default().to_owned(),
            config: info.deployment_config_name().unwrap_or_default().to_owned(),
            status: info
                .status()
                .map_or("Unknown", DeploymentStatus::as_str)
                .to_owned(),
            compute_platform: info.compute_platform().map(|p| p.as_str().to_owned()),
            created: info.create_time().map(|t| t.as_secs_f64()),
            completed: info.complete_time().map(|t| t.as_secs_f64()),
            error,
            rollback,
            events: Vec::new(),
            function: None,
        }
    }

    /// Adds GetDeploymentTarget's `lambdaTarget`.
    pub fn with_target(mut self, target: &cd::LambdaTarget) -> Self {
        self.events = target
            .lifecycle_events()
            .iter()
            .map(|e| EventView {
                name: e.lifecycle_event_name().unwrap_or_default().to_owned(),
                status: e.status().map_or("Unknown", |s| s.as_str()).to_owned(),
                start: e.start_time().map(|t| t.as_secs_f64()),
                end: e.end_time().map(|t| t.as_secs_f64()),
                diagnostics: e
                    .diagnostics()
                    .and_then(|d| d.message())
                    .filter(|m| !m.is_empty())
                    .map(str::to_owned),
            })
            .collect();
        self.function = target.lambda_function_info().map(|f| FunctionView {
            function: f.function_name().unwrap_or_default().to_owned(),
            alias: f.function_alias().unwrap_or_default().to_owned(),
            current_version: f.current_version().map(str::to_owned),
            target_version: f.target_version().map(str::to_owned),
            target_weight: Some(f.target_version_weight()),
        });
        self
    }
}

/// Something that changed between two polls, as `prober watch` prints it.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The deployment was found (the first poll).
    Found {
        /// `d-...`.
        id: String,
        /// The configuration.
        config: String,
        /// `function:alias`, `current -> target`, when known.
        target: Option<String>,
    },
    /// A new status.
    Status(String),
    /// A lifecycle event's new status.
    Event {
        /// Its name.
        name: String,
        /// Its status.
        status: String,
        /// How long it took (ended events).
        secs: Option<f64>,
        /// Why it failed.
        diagnostics: Option<String>,
    },
    /// `errorInformation` appeared.
    Error(String),
    /// `rollbackInfo` appeared.
    Rollback(String),
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Found { id, config, target } => {
                write!(f, "deployment {id} ({config})")?;
                if let Some(t) = target {
                    write!(f, ": {t}")?;
                }
                Ok(())
            }
            Change::Status(s) => write!(f, "status {s}"),
            Change::Event {
                name,
                status,
                secs,
                diagnostics,
            } => {
                write!(f, "{name} {status}")?;
                if let Some(s) = secs {
                    write!(f, " after {s:.1}s")?;
                }
                if let Some(d) = diagnostics {
                    write!(f, ": {d}")?;
                }
                Ok(())
            }
            Change::Error(e) => write!(f, "error {e}"),
            Change::Rollback(r) => write!(f, "rollback: {r}"),
        }
    }
}

/// Folds the polls of one deployment into its [`DeploymentReport`], noting what changed.
#[derive(Debug, Clone)]
pub struct Tracker {
    report: DeploymentReport,
    /// The origin (the run's t = 0) in Unix seconds: CodeDeploy's times are made relative to it.
    origin_unix: f64,
    polls: u64,
    events: BTreeMap<String, String>,
}

impl Tracker {
    /// A tracker for deployment `id`; times are reported relative to `origin_unix`.
    pub fn new(id: &str, origin_unix: f64) -> Self {
        Tracker {
            report: DeploymentReport {
                deployment_id: id.to_owned(),
                ..DeploymentReport::default()
            },
            origin_unix,
            polls: 0,
            events: BTreeMap::new(),
        }
    }

    /// The report so far.
    pub fn report(&self) -> &DeploymentReport {
        &self.report
    }

    /// Records the schedule the configuration describes (prober syntax).
    pub fn set_schedule(&mut self, schedule: Option<String>) {
        self.report.schedule = schedule;
    }

    /// True once the status is final (Succeeded, Failed, Stopped).
    pub fn is_final(&self) -> bool {
        is_final(&self.report.status)
    }

    /// Takes one poll's view, seen at `at` (seconds since the origin); returns what changed.
    pub fn update(&mut self, view: &DeploymentView, at: f64) -> Vec<Change> {
        let rel = |t: Option<f64>| t.map(|t| t - self.origin_unix);
        let mut changes = Vec::new();
        let r = &mut self.report;
        if self.polls == 0 {
            changes.push(Change::Found {
                id: view.id.clone(),
                config: view.config.clone(),
                target: view.function.as_ref().map(describe_function),
            });
        }
        self.polls += 1;
        r.application.clone_from(&view.application);
        r.deployment_group.clone_from(&view.group);
        r.deployment_config.clone_from(&view.config);
        r.created_at = rel(view.created);
        r.completed_at = rel(view.completed);
        if r.status != view.status {
            r.status.clone_from(&view.status);
            r.status_history.push(StatusSeen {
                status: view.status.clone(),
                at,
            });
            changes.push(Change::Status(view.status.clone()));
        }
        if let Some(f) = &view.function {
            if r.alias.is_none() {
                r.alias = Some(format!("{}:{}", f.function, f.alias));
            }
            r.current_version.clone_from(&f.current_version);
            r.target_version.clone_from(&f.target_version);
            if f.target_weight.is_some() {
                r.target_version_weight = f.target_weight;
            }
        }
        if !view.events.is_empty() {
            r.lifecycle_events = view
                .events
                .iter()
                .map(|e| LifecycleEventReport {
                    name: e.name.clone(),
                    status: e.status.clone(),
                    start: rel(e.start),
                    end: rel(e.end),
                    diagnostics: e.diagnostics.clone(),
                })
                .collect();
        }
        for e in &view.events {
            let previous = self.events.insert(e.name.clone(), e.status.clone());
            let first_pending = previous.is_none() && e.status == "Pending";
            if previous.as_deref() != Some(e.status.as_str()) && !first_pending {
                let secs = match (e.start, e.end) {
                    (Some(s), Some(end)) => Some((end - s).max(0.0)),
                    _ => None,
                };
                changes.push(Change::Event {
                    name: e.name.clone(),
                    status: e.status.clone(),
                    secs,
                    diagnostics: e.diagnostics.clone(),
                });
            }
        }
        if view.error.is_some() && r.error != view.error {
            r.error.clone_from(&view.error);
            changes.extend(view.error.clone().map(Change::Error));
        }
        if view.rollback.is_some() && r.rollback != view.rollback {
            r.rollback.clone_from(&view.rollback);
            changes.extend(view.rollback.clone().map(Change::Rollback));
        }
        // The final status comes last, after the events and rollback that led to it.
        if let Some(pos) = changes
            .iter()
            .position(|c| matches!(c, Change::Status(s) if is_final(s)))
        {
            let last = changes.remove(pos);
            changes.push(last);
        }
        changes
    }
}

fn describe_function(f: &FunctionView) -> String {
    let v = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".to_owned());
    format!(
        "{}:{} version {} -> {}",
        f.function,
        f.alias,
        v(&f.current_version),
        v(&f.target_version)
    )
}

/// The schedule a deployment configuration's `trafficRoutingConfig` describes, in real time.
pub fn routing_schedule(config: &cd::TrafficRoutingConfig) -> Result<Schedule, String> {
    let routing = match config.r#type() {
        Some(cd::TrafficRoutingType::AllAtOnce) | None => TrafficRoutingConfig::AllAtOnce,
        Some(cd::TrafficRoutingType::TimeBasedCanary) => {
            let c = config
                .time_based_canary()
                .ok_or("TimeBasedCanary without timeBasedCanary")?;
            TrafficRoutingConfig::TimeBasedCanary {
                time_based_canary: TimeBasedCanary {
                    canary_percentage: u32::try_from(c.canary_percentage()).unwrap_or(0),
                    canary_interval: u32::try_from(c.canary_interval()).unwrap_or(0),
                },
            }
        }
        Some(cd::TrafficRoutingType::TimeBasedLinear) => {
            let l = config
                .time_based_linear()
                .ok_or("TimeBasedLinear without timeBasedLinear")?;
            TrafficRoutingConfig::TimeBasedLinear {
                time_based_linear: TimeBasedLinear {
                    linear_percentage: u32::try_from(l.linear_percentage()).unwrap_or(0),
                    linear_interval: u32::try_from(l.linear_interval()).unwrap_or(0),
                },
            }
        }
        Some(other) => return Err(format!("unknown traffic routing type {}", other.as_str())),
    };
    routing.schedule().map_err(|e| e.to_string())
}

/// The schedule of configuration `name`: a predefined `CodeDeployDefault.Lambda*` name is
/// parsed, any other is read with GetDeploymentConfig. Real time (not time-scaled).
pub async fn config_schedule(client: &Client, name: &str) -> Result<Schedule, String> {
    if let Ok(schedule) = Schedule::parse(name) {
        return Ok(schedule);
    }
    let out = client
        .get_deployment_config()
        .deployment_config_name(name)
        .send()
        .await
        .map_err(|e| format!("codedeploy:GetDeploymentConfig on {name}: {}", describe(&e)))?;
    let routing = out
        .deployment_config_info()
        .and_then(|i| i.traffic_routing_config())
        .ok_or_else(|| {
            format!("{name} has no trafficRoutingConfig (not a Lambda configuration)")
        })?;
    routing_schedule(routing)
}

/// When CodeDeploy began shifting traffic: the start of the deployment's `AllowTraffic`
/// lifecycle event, seconds since the origin (`None` before it started).
pub fn allow_traffic_start(plane: &rollout::control_plane::ControlPlaneReport) -> Option<f64> {
    plane
        .deployment
        .as_ref()?
        .lifecycle_events
        .iter()
        .find(|e| e.name == "AllowTraffic")?
        .start
}

#[cfg(test)]
#[path = "deployment_tests.rs"]
mod tests;
