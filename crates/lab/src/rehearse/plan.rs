//! What a rehearsal runs, parsed from its flags by pure functions: the deployment
//! configuration as CodeDeploy names it and as the prober's schedule, the time scale, the
//! release's behaviour, and where everything goes.

use std::path::PathBuf;
use std::time::Duration;

use rollout::schedule::{FULL_NAME_PREFIX, Schedule, ScheduleKind};

use super::RehearseArgs;

/// How long a rehearsal's traffic shifting lasts when `--time-scale` is not given.
pub const TARGET_SHIFT: Duration = Duration::from_secs(60);

/// Share of version 2's requests that fail with `--bad-release` and no rate.
pub const DEFAULT_BAD_RELEASE_RATE: f64 = 0.25;

/// A flag value the rehearsal refuses, with the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{flag} {value}: {reason}")]
pub struct PlanError {
    /// The flag.
    pub flag: &'static str,
    /// Its value as given.
    pub value: String,
    /// What is wrong, and the fix.
    pub reason: String,
}

impl PlanError {
    fn new(flag: &'static str, value: impl ToString, reason: impl Into<String>) -> Self {
        Self {
            flag,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

/// The deployment configuration CodeDeploy deploys with.
#[derive(Debug, Clone, PartialEq)]
pub enum DeploymentConfig {
    /// A predefined one: `CodeDeployDefault.LambdaLinear10PercentEvery1Minute`, ...
    Predefined(String),
    /// A custom one the rehearsal creates (CreateDeploymentConfig): canary or linear, a whole
    /// percentage and whole minutes, as CodeDeploy takes them.
    Custom {
        /// `TimeBasedCanary` or `TimeBasedLinear`.
        linear: bool,
        /// The percentage shifted per increment.
        percentage: u32,
        /// Minutes between increments.
        interval_minutes: u32,
    },
}

impl DeploymentConfig {
    /// The name the deployment group uses.
    pub fn name(&self) -> String {
        match self {
            Self::Predefined(name) => name.clone(),
            Self::Custom {
                linear,
                percentage,
                interval_minutes,
            } => format!(
                "Rollcall.Lambda{}{percentage}PercentEvery{interval_minutes}Minutes",
                if *linear { "Linear" } else { "Canary" }
            ),
        }
    }
}

/// Everything a rehearsal does, from its flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// `hello`'s code directory (holding the `hello` executable).
    pub code: PathBuf,
    /// The rollcall layer's tree (`extensions/rollcall`, `bootstrap`, `rollcall-wrapper`).
    pub layer: PathBuf,
    /// The prober's executable.
    pub prober: PathBuf,
    /// The deployment configuration as CodeDeploy names it.
    pub config: DeploymentConfig,
    /// The same, as the prober's schedule (unscaled).
    pub schedule: Schedule,
    /// Time scale of the lab and the prober (>= 1).
    pub time_scale: f64,
    /// The prober's rate.
    pub rps: u32,
    /// Seed of the alias's routing and of version 2's failures and latency.
    pub seed: u64,
    /// Share of version 2's requests that fail with a 500 (`--bad-release`), if any.
    pub fail_rate: Option<f64>,
    /// Version 2's added latency (`HELLO_LATENCY_MS`: `3` or `2..6`), if any.
    pub added_latency_ms: Option<String>,
    /// Traffic on version 1 alone before the deployment starts (wall clock).
    pub baseline: Duration,
    /// The post-traffic hook, if any: its executable and what its check sends.
    pub post_traffic_hook: Option<(PathBuf, super::HookCheck)>,
    /// Whether the prober is told when the deployment starts (else it estimates it).
    pub prober_knows_start: bool,
    /// The output directory.
    pub out: PathBuf,
    /// The SAM template rehearsed from, and the Python of its translator.
    pub template: Option<(PathBuf, PathBuf)>,
}

impl Plan {
    /// The plan `args` describe, or the first flag refused.
    pub fn from_args(args: &RehearseArgs) -> Result<Self, PlanError> {
        let schedule = Schedule::parse(&args.deployment_config).map_err(|e| {
            PlanError::new(
                "--deployment-config",
                &args.deployment_config,
                e.to_string(),
            )
        })?;
        let config = codedeploy_config(&args.deployment_config, &schedule)?;
        let time_scale = match args.time_scale {
            Some(f) if f.is_finite() && f >= 1.0 => f,
            Some(f) => {
                return Err(PlanError::new(
                    "--time-scale",
                    f,
                    "must be a number >= 1 (10 runs a 10-minute deployment in one minute)",
                ));
            }
            None => default_time_scale(&schedule),
        };
        if args.rps == 0 || args.rps > 10_000 {
            return Err(PlanError::new(
                "--rps",
                args.rps,
                "must be 1..=10000 (the prober's open-loop rate; 50 is plenty for a rehearsal)",
            ));
        }
        let fail_rate = match args.bad_release {
            Some(r) if r > 0.0 && r <= 1.0 => Some(r),
            Some(r) => {
                return Err(PlanError::new(
                    "--bad-release",
                    r,
                    "the share of version 2's requests that fail must be in (0, 1], e.g. 0.25",
                ));
            }
            None => None,
        };
        let added_latency_ms = match args.v2_latency_ms.trim() {
            "" | "0" => None,
            l if valid_latency(l) => Some(l.to_owned()),
            l => {
                return Err(PlanError::new(
                    "--v2-latency-ms",
                    l,
                    "must be milliseconds (`3`) or a range (`2..6`), or empty for none",
                ));
            }
        };
        let prober = match &args.prober {
            Some(p) => p.clone(),
            None => sibling_executable("prober").ok_or_else(|| {
                PlanError::new(
                    "--prober",
                    "(not given)",
                    "no `prober` next to rollcall-lab: build it (`cargo build -p prober`) or give its path",
                )
            })?,
        };
        let post_traffic_hook = match args.post_traffic_hook {
            None => None,
            Some(check) => {
                let binary = match &args.hook {
                    Some(p) => p.clone(),
                    None => sibling_executable("rollcall-hook").ok_or_else(|| {
                        PlanError::new(
                            "--hook",
                            "(not given)",
                            "no `rollcall-hook` next to rollcall-lab: build it (`cargo build -p rollcall-hook`) or give its path",
                        )
                    })?,
                };
                Some((binary, check))
            }
        };
        let template = match &args.template {
            None => None,
            Some(_) if matches!(config, DeploymentConfig::Custom { .. }) => {
                return Err(PlanError::new(
                    "--deployment-config",
                    &args.deployment_config,
                    "a template's DeploymentPreference takes CodeDeploy's predefined configurations: give one (Linear10PercentEvery1Minute, ...) or rehearse without --template",
                ));
            }
            Some(t) if !t.is_file() => {
                return Err(PlanError::new(
                    "--template",
                    t.display(),
                    "no such file: give the SAM template (template.yaml)",
                ));
            }
            Some(t) => Some((
                std::path::absolute(t).unwrap_or_else(|_| t.clone()),
                args.sam.python.clone(),
            )),
        };
        Ok(Self {
            template,
            post_traffic_hook,
            code: args.code.clone(),
            layer: args.layer.clone(),
            prober,
            config,
            schedule,
            time_scale,
            rps: args.rps,
            seed: args.seed,
            fail_rate,
            added_latency_ms,
            baseline: args.baseline,
            prober_knows_start: !args.estimate_start,
            out: args.out.clone(),
        })
    }

    /// How long the traffic shifting lasts in wall-clock time.
    pub fn shift_duration(&self) -> Duration {
        Duration::from_secs_f64(self.schedule.total_duration() / self.time_scale)
    }
}

/// The time scale that makes `schedule` last about [`TARGET_SHIFT`] (1 for shorter ones).
pub fn default_time_scale(schedule: &Schedule) -> f64 {
    (schedule.total_duration() / TARGET_SHIFT.as_secs_f64()).max(1.0)
}

/// `input` (already parsed as `schedule`) as a CodeDeploy deployment configuration.
fn codedeploy_config(input: &str, schedule: &Schedule) -> Result<DeploymentConfig, PlanError> {
    let (linear, percent, interval_secs) = match schedule.kind() {
        ScheduleKind::AllAtOnce => {
            return Ok(DeploymentConfig::Predefined(format!(
                "{FULL_NAME_PREFIX}{}",
                schedule.name()
            )));
        }
        ScheduleKind::Canary {
            percent,
            interval_secs,
        } => (false, percent, interval_secs),
        ScheduleKind::Linear {
            percent,
            interval_secs,
        } => (true, percent, interval_secs),
    };
    let lower = input.trim().to_ascii_lowercase();
    if !(lower.starts_with("canary:") || lower.starts_with("linear:")) {
        return Ok(DeploymentConfig::Predefined(format!(
            "{FULL_NAME_PREFIX}{}",
            schedule.name()
        )));
    }
    let minutes = interval_secs / 60.0;
    if minutes.fract() != 0.0 || !(1.0..=2880.0).contains(&minutes) {
        return Err(PlanError::new(
            "--deployment-config",
            input,
            "CodeDeploy takes whole minutes between increments (1..=2880): write e.g. linear:20%:1m, and compress time with --time-scale",
        ));
    }
    if percent.fract() != 0.0 {
        return Err(PlanError::new(
            "--deployment-config",
            input,
            "CodeDeploy takes a whole percentage (1..=99), e.g. canary:25%:5m",
        ));
    }
    Ok(DeploymentConfig::Custom {
        linear,
        percentage: percent as u32,
        interval_minutes: minutes as u32,
    })
}

/// `3` or `2..6` (what `hello` takes in `HELLO_LATENCY_MS`).
fn valid_latency(value: &str) -> bool {
    let number = |s: &str| s.parse::<u64>().is_ok();
    match value.split_once("..") {
        Some((low, high)) => number(low) && number(high),
        None => number(value),
    }
}

/// `name` in the directory of the running executable, if it is there.
fn sibling_executable(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let candidate = exe.parent()?.join(name);
    candidate.is_file().then_some(candidate)
}
