//! The control plane's account of a run in `report.json` (`control_plane`): what the alias was
//! configured to send (GetAlias), what CodeDeploy says of the deployment (GetDeployment), where
//! the target came from (a CloudFormation stack), and whether those agree with what the probes
//! observed. Additive to format version 1: absent in runs without `--alias`, `--deployment` or
//! `--stack`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::configured::RoutingChange;

/// The control plane's section of the report.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ControlPlaneReport {
    /// The alias the prober polled (`--alias`, or found through `--stack`).
    #[serde(default)]
    pub alias: Option<AliasReport>,
    /// The CodeDeploy deployment the prober followed (`--deployment`, or found through
    /// `--stack`).
    #[serde(default)]
    pub deployment: Option<DeploymentReport>,
    /// The stack the target, alias and deployment group came from (`--stack`).
    #[serde(default)]
    pub stack: Option<StackReport>,
    /// Whether the alias's weights followed `--schedule` (or the deployment's configuration).
    #[serde(default)]
    pub schedule_conformance: Option<ScheduleConformance>,
    /// Whether the control plane's verdict (CodeDeploy's status) agrees with the probes'.
    #[serde(default)]
    pub agreement: Option<Agreement>,
    /// Control-plane calls that failed during the run (retried with backoff; the probe went on).
    #[serde(default)]
    pub failures: Vec<CallFailure>,
}

/// The alias as polled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct AliasReport {
    /// The alias's ARN.
    pub alias_arn: String,
    /// Seconds between polls.
    pub poll_secs: f64,
    /// Polls answered.
    pub polls: u64,
    /// Every routing seen, in order (the first is the routing at the first poll).
    pub changes: Vec<RoutingChange>,
    /// Wall-clock time (Unix ms) at which the poll that saw each change was answered, in the
    /// order of `changes` (to compare with another clock, e.g. the lab's event log).
    #[serde(default)]
    pub seen_at_unix_ms: Vec<u64>,
    /// `[from, to]` periods without a successful poll, seconds since the origin.
    #[serde(default)]
    pub gaps: Vec<[f64; 2]>,
    /// The longest time a successful poll took to be answered, seconds.
    #[serde(default)]
    pub max_answer_secs: f64,
    /// The longest delay of a poll's send past its due instant, seconds (a busy machine).
    #[serde(default)]
    pub max_send_delay_secs: f64,
}

/// CodeDeploy's own account of the deployment (GetDeployment), at the end of the run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DeploymentReport {
    /// The deployment id (`d-...`).
    pub deployment_id: String,
    /// The application.
    pub application: String,
    /// The deployment group.
    pub deployment_group: String,
    /// The deployment configuration's name, e.g. `CodeDeployDefault.LambdaLinear10PercentEvery1Minute`.
    pub deployment_config: String,
    /// The schedule the configuration describes, in the prober's `--schedule` syntax
    /// (`null` when the configuration could not be read).
    #[serde(default)]
    pub schedule: Option<String>,
    /// The last status seen (`Created`, `InProgress`, `Succeeded`, `Failed`, `Stopped`, ...).
    pub status: String,
    /// Every status seen with when it was first seen, seconds since the origin.
    #[serde(default)]
    pub status_history: Vec<StatusSeen>,
    /// The version traffic shifts away from (the AppSpec's `CurrentVersion`).
    #[serde(default)]
    pub current_version: Option<String>,
    /// The version traffic shifts to (`TargetVersion`).
    #[serde(default)]
    pub target_version: Option<String>,
    /// The alias being shifted, `function:alias` (`lambdaTarget.lambdaFunctionInfo`).
    #[serde(default)]
    pub alias: Option<String>,
    /// CodeDeploy's own weight of the target version at the last poll, percent
    /// (`lambdaFunctionInfo.targetVersionWeight`).
    #[serde(default)]
    pub target_version_weight: Option<f64>,
    /// CodeDeploy's `createTime`, seconds since the origin.
    #[serde(default)]
    pub created_at: Option<f64>,
    /// CodeDeploy's `completeTime`, seconds since the origin.
    #[serde(default)]
    pub completed_at: Option<f64>,
    /// The lifecycle events (hooks and AllowTraffic) as CodeDeploy reports them.
    #[serde(default)]
    pub lifecycle_events: Vec<LifecycleEventReport>,
    /// `errorInformation.code` and `.message`, when the deployment failed.
    #[serde(default)]
    pub error: Option<String>,
    /// `rollbackInfo.rollbackMessage` (and the rollback deployment's id), when it rolled back.
    #[serde(default)]
    pub rollback: Option<String>,
}

/// A deployment status and when the prober first saw it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StatusSeen {
    /// The status.
    pub status: String,
    /// Seconds since the origin.
    pub at: f64,
}

/// One lifecycle event of the deployment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct LifecycleEventReport {
    /// `BeforeAllowTraffic`, `AllowTraffic`, `AfterAllowTraffic`, ...
    pub name: String,
    /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `Skipped`, `Unknown`.
    pub status: String,
    /// Start, seconds since the origin.
    #[serde(default)]
    pub start: Option<f64>,
    /// End, seconds since the origin.
    #[serde(default)]
    pub end: Option<f64>,
    /// The diagnostics' message, when it failed.
    #[serde(default)]
    pub diagnostics: Option<String>,
}

/// Where the run's target came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StackReport {
    /// The stack's name.
    pub stack_name: String,
    /// Its status when the run started.
    pub status: String,
    /// The output the URL was taken from.
    #[serde(default)]
    pub url_output: Option<String>,
    /// Every output of the stack.
    #[serde(default)]
    pub outputs: BTreeMap<String, String>,
}

/// The alias's weights against the schedule (deterministic, no statistics: both are exact).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ScheduleConformance {
    /// The schedule compared with (as given).
    pub schedule: String,
    /// True when no step was late, early, applied with another share or missing (steps the
    /// run could not see, `not_observed`, do not count against it).
    pub followed: bool,
    /// Why, in one sentence.
    pub reason: String,
    /// Per schedule step.
    pub steps: Vec<StepConformance>,
}

/// One schedule step against the alias.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct StepConformance {
    /// Step index (0 = the first shifted step).
    pub index: usize,
    /// The share the schedule expects.
    pub expected_share: f64,
    /// When the schedule expects it, seconds since the origin.
    pub expected_at: f64,
    /// When the alias was seen with it (the change's best estimate); `null` if never.
    #[serde(default)]
    pub applied_at: Option<f64>,
    /// The share the alias was set to for this step.
    #[serde(default)]
    pub applied_share: Option<f64>,
    /// `applied_at - expected_at`, seconds.
    #[serde(default)]
    pub lateness_secs: Option<f64>,
    /// The largest `|lateness_secs|` still on time: the change's bracket plus
    /// `max(1 s, 5% of the schedule's interval)`. Absent in reports written before it existed.
    #[serde(default)]
    pub tolerance_secs: Option<f64>,
    /// `on_time`, `late`, `early`, `wrong_share` (the alias held another share where this step
    /// was due), `missing` (never applied although the polls covered its time) or
    /// `not_observed` (due before the first poll or after the last, or shorter than the bracket
    /// of the change that passed over it: it may have come and gone between two polls).
    pub verdict: String,
}

/// The control plane's verdict next to the probes'.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Agreement {
    /// True when both tell the same story (e.g. CodeDeploy Succeeded and the split followed;
    /// CodeDeploy rolled back and the probes saw the rollback).
    pub agree: bool,
    /// One sentence; starts with "CodeDeploy marks" when CodeDeploy's account contradicts the
    /// observed split (the finding to report loudly).
    pub reason: String,
}

/// A control-plane call that failed during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct CallFailure {
    /// Seconds since the origin.
    pub at: f64,
    /// The call, e.g. `lambda:GetAlias`.
    pub call: String,
    /// The error as the SDK reported it.
    pub error: String,
}
