//! The ground-truth weight of the new version over time, as the test server applies it: the
//! routing changes of a deployment run by the same model the lab drives its aliases with
//! (`rollout::deployment`), or explicit steps.

use std::time::Duration;

use rollout::deployment::{
    Action, AutoRollback, Deployment, DeploymentSpec, DeploymentStatus, Event,
};
use rollout::schedule::Schedule;

/// The new version's weight as a piecewise-constant function of the seconds since the
/// deployment started: 0 before the start, then `(from, weight)` steps in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightPlan {
    /// `(from_secs, weight)` in increasing `from_secs`; the weight holds until the next entry.
    steps: Vec<(f64, f64)>,
    /// The deployment the steps come from, to replay it with a stop.
    deployment: Option<DeploymentSpec>,
}

impl WeightPlan {
    /// A plan from explicit `(from_secs, weight)` steps (sorted by the constructor).
    pub fn from_steps(mut steps: Vec<(f64, f64)>) -> Self {
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            steps,
            deployment: None,
        }
    }

    /// A plan that never shifts: the old version serves everything.
    pub fn old_only() -> Self {
        Self::from_steps(Vec::new())
    }

    /// The plan of a CodeDeploy-style schedule: the routing a deployment without hooks applies.
    pub fn from_schedule(spec: &str) -> Self {
        Self::from_scaled_schedule(spec, 1.0)
    }

    /// The plan of a schedule compressed `factor` times, as `--time-scale factor` does.
    pub fn from_scaled_schedule(spec: &str, factor: f64) -> Self {
        let schedule =
            Schedule::parse(spec).unwrap_or_else(|e| panic!("schedule {spec:?} should parse: {e}"));
        let deployment = DeploymentSpec {
            deployment_id: "d-PROBERTEST".to_owned(),
            current_version: "old".to_owned(),
            target_version: "new".to_owned(),
            schedule,
            time_scale: factor,
            before_allow_traffic_hook: None,
            after_allow_traffic_hook: None,
            alarms: Vec::new(),
            auto_rollback: AutoRollback::ALL,
        };
        Self {
            steps: run(&deployment, None),
            deployment: Some(deployment),
        }
    }

    /// The weight of the new version `t` seconds after the deployment started.
    pub fn weight(&self, t: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|(from, _)| *from <= t)
            .last()
            .map_or(0.0, |s| s.1)
    }

    /// The same plan, but the weight stays at its value at `at` from then on (a stalled step,
    /// which no CodeDeploy deployment does).
    pub fn stalled_at(&self, at: f64) -> Self {
        let held = self.weight(at);
        let mut steps: Vec<_> = self.steps.iter().copied().filter(|s| s.0 <= at).collect();
        steps.push((at, held));
        Self::from_steps(steps)
    }

    /// The same plan, but the alias goes back to the old version at `at` (a rollback): the
    /// deployment stopped with rollback at `at`, or explicit steps cut there.
    pub fn rolled_back_at(&self, at: f64) -> Self {
        if let Some(deployment) = &self.deployment {
            return Self {
                steps: run(deployment, Some(at)),
                deployment: None,
            };
        }
        let mut steps: Vec<_> = self.steps.iter().copied().filter(|s| s.0 < at).collect();
        steps.push((at, 0.0));
        Self::from_steps(steps)
    }
}

/// Runs `spec` from t = 0 to its end, or to a stop with rollback at `stop_at` seconds, and
/// returns the target version's share at each routing change.
fn run(spec: &DeploymentSpec, stop_at: Option<f64>) -> Vec<(f64, f64)> {
    let mut deployment = Deployment::new(spec.clone())
        .unwrap_or_else(|e| panic!("deployment of {}: {e}", spec.schedule));
    let stop_at = stop_at.map(Duration::from_secs_f64);
    let mut now = Duration::ZERO;
    let mut actions = deployment.start(now).expect("a new deployment starts");
    let mut steps = Vec::new();
    loop {
        for action in actions {
            match action {
                Action::SetRouting { routing, .. } => {
                    steps.push((now.as_secs_f64(), routing.share_of(&spec.target_version)));
                }
                Action::Finished { status, .. } => {
                    assert!(
                        status == DeploymentStatus::Succeeded || stop_at == Some(now),
                        "deployment of {}: {status} at {now:?}; a rollback at {stop_at:?} must \
                         come before its end",
                        spec.schedule
                    );
                    return steps;
                }
                Action::InvokeHook { .. } => unreachable!("the plan's deployment has no hooks"),
            }
        }
        let next = deployment
            .next_change()
            .expect("a running deployment has a next change");
        actions = match stop_at {
            Some(stop) if stop <= next => {
                now = stop;
                deployment
                    .handle(
                        stop,
                        Event::Stop {
                            auto_rollback: Some(true),
                        },
                    )
                    .unwrap_or_else(|e| panic!("stop at {stop:?}: {e}"))
            }
            _ => {
                now = next;
                deployment.advance(next)
            }
        };
    }
}
