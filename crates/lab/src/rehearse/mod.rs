//! `rollcall-lab rehearse`: a release rehearsed from both ends in one command. The lab serves
//! `hello` version 1 behind the alias `live` with the rollcall layer; version 2 is released
//! through the Lambda API (UpdateFunctionConfiguration, PublishVersion); a CodeDeploy
//! deployment (CreateApplication, CreateDeploymentGroup with an error-rate alarm on the
//! extension's EMF and automatic rollback, CreateDeployment) shifts the alias on the chosen
//! schedule, time-scaled; the prober, a separate process that knows only the URL and the
//! schedule, watches from the clients' side. At the end the prober's verdict is compared with
//! the lab's ground truth (the deployment's status and the event log).

mod client;
mod files;
mod from_template;
mod outcome;
mod plan;
mod run;

use std::path::PathBuf;

use clap::Args;

pub use client::{CallError, LabClient};
pub use files::{
    ALIAS, CURRENT_VERSION, ERROR_RATE_THRESHOLD, FUNCTION, HOOK_FUNCTION, alarm_name,
    error_rate_alarm, hook_check_event, lab_spec_yaml, release_environment,
};
pub use outcome::{Agreement, EXIT_DISAGREE, LabResult, Outcome, ProberResult};
pub use plan::{
    DEFAULT_BAD_RELEASE_RATE, DeploymentConfig, Plan, PlanError, TARGET_SHIFT, default_time_scale,
};
pub use run::{APPLICATION, DEPLOYMENT_GROUP, OutLayout, RehearseError, rehearse, write_inputs};

/// What the post-traffic hook's check sends version 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HookCheck {
    /// A `GET /hello` request (API Gateway payload 2.0): passes unless version 2 errs.
    Pass,
    /// A request version 2 cannot handle: the hook reports Failed.
    Fail,
}

/// Flags of `rollcall-lab rehearse`.
#[derive(Debug, Clone, Args)]
pub struct RehearseArgs {
    /// `hello`'s code directory (holding the `hello` executable); `scripts/demo.sh` builds it.
    #[arg(long, value_name = "DIR")]
    pub code: PathBuf,
    /// The rollcall layer's tree (`extensions/rollcall`, `bootstrap`, `rollcall-wrapper`).
    #[arg(long, value_name = "DIR")]
    pub layer: PathBuf,
    /// The prober's executable [default: `prober` next to rollcall-lab].
    #[arg(long, value_name = "PATH")]
    pub prober: Option<PathBuf>,
    /// The deployment configuration: a predefined one (Linear10PercentEvery1Minute,
    /// Canary10Percent5Minutes, AllAtOnce, with or without CodeDeployDefault.Lambda) or a
    /// custom one in whole minutes (canary:25%:2m, linear:20%:1m).
    #[arg(
        long,
        default_value = "Linear10PercentEvery1Minute",
        value_name = "CONFIG"
    )]
    pub deployment_config: String,
    /// Divide the configuration's intervals by this factor [default: about one minute of
    /// shifting, e.g. 10 for Linear10PercentEvery1Minute].
    #[arg(long, value_name = "FACTOR")]
    pub time_scale: Option<f64>,
    /// The prober's rate.
    #[arg(long, default_value_t = 50)]
    pub rps: u32,
    /// Seed of the alias's routing and of version 2's latency and failures.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Version 2 fails this share of its requests with a 500 [0.25 when given without a
    /// value]: the error-rate alarm fires and the deployment rolls back.
    #[arg(long, value_name = "SHARE", num_args = 0..=1, default_missing_value = "0.25")]
    pub bad_release: Option<f64>,
    /// An AfterAllowTraffic hook (the Rust hook, `rollcall-hook`, as function
    /// `hello-post-traffic`) that invokes version 2 once all traffic is on it: `pass` sends it
    /// a `GET /hello` request, `fail` a request it cannot handle, so the hook reports Failed
    /// and the deployment rolls back from 100 %.
    #[arg(long, value_enum, value_name = "CHECK")]
    pub post_traffic_hook: Option<HookCheck>,
    /// The hook's executable [default: `rollcall-hook` next to rollcall-lab].
    #[arg(long, value_name = "PATH")]
    pub hook: Option<PathBuf>,
    /// Version 2's added latency in ms (`HELLO_LATENCY_MS`): `3`, or a range `2..6`; empty
    /// for none.
    #[arg(long, default_value = "2..6", value_name = "MS")]
    pub v2_latency_ms: String,
    /// Traffic on version 1 alone before the deployment starts.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub baseline: std::time::Duration,
    /// Do not tell the prober when the deployment starts: it estimates the start from the split
    /// it sees, as when it watches a deployment somebody else started.
    #[arg(long)]
    pub estimate_start: bool,
    /// Rehearse from this SAM template (the repository's `template.yaml`): the lab runs it as a
    /// stack with `--code` and `--layer` as its built code, and version 2 is deployed as
    /// `rollcall-lab deploy` deploys it (the template's deployment preference and alarms,
    /// `--deployment-config` as its `DeploymentType`). Predefined configurations only, no
    /// `--post-traffic-hook`.
    #[arg(long, value_name = "FILE", conflicts_with = "post_traffic_hook")]
    pub template: Option<PathBuf>,
    /// The Python that runs the SAM translator (with `--template`).
    #[command(flatten)]
    pub sam: crate::template::cli::SamPython,
    /// The output directory: the prober's artifacts, the event log, the lab's spec and logs.
    #[arg(long, default_value = "out/rehearsal", value_name = "DIR")]
    pub out: PathBuf,
}

#[cfg(test)]
mod tests;
