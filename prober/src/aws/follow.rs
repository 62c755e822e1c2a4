//! The control plane during a run: checked before the first probe ([`Preflight`]), followed by
//! background tasks on the main runtime ([`ControlPlane`]), read by the aggregator once per tick
//! ([`ControlPlane::snapshot`]) and summarised into the report ([`ControlPlane::finish`]).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rollout::configured::ConfiguredRouting;
use rollout::control_plane::ControlPlaneReport;
use time::OffsetDateTime;

use super::alias::{self, AliasFollower, AliasLog};
use crate::config::Config;
use crate::error::ProberError;

/// What the aggregator needs from the control plane at a tick.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlSnapshot {
    /// The alias's routing so far (`--alias`); `None` without an alias.
    pub configured: Option<ConfiguredRouting>,
    /// When the followed deployment reached a final status, seconds since the origin (the run
    /// may end then); `None` while it runs or without `--deployment`.
    pub deployment_ended_at: Option<f64>,
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
    /// `--alias`, its first GetAlias answered.
    alias: Option<AliasFollower>,
}

impl Preflight {
    /// Makes the first call of each follower the run needs (GetAlias, GetDeployment); `None`
    /// when the run follows nothing. A failure is a usage error (exit 64) naming the call, the
    /// resource and the fix.
    pub async fn check(config: &Config) -> Result<Option<Preflight>, ProberError> {
        if config.control.alias.is_none() && config.control.deployment.is_none() {
            return Ok(None);
        }
        let alias = check_alias(config).await?;
        Ok(Some(Preflight {
            shared: Arc::default(),
            alias,
        }))
    }

    /// Starts the followers; times are measured from `t0` (the timeline's origin, at wall-clock
    /// `origin`).
    pub fn start(self, t0: Instant, origin: OffsetDateTime) -> ControlPlane {
        let mut tasks = Vec::new();
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

/// `--alias`: region, credentials and GetAlias checked.
async fn check_alias(config: &Config) -> Result<Option<AliasFollower>, ProberError> {
    match &config.control.alias {
        Some(arg) => Ok(Some(alias::preflight(arg, config.control.poll).await?)),
        None => Ok(None),
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
