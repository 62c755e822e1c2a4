//! The ground-truth weight of the new version over time, as the test server applies it.

/// The new version's weight as a piecewise-constant function of the seconds since the
/// deployment started: 0 before the start, then `(from, weight)` steps in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct WeightPlan {
    /// `(from_secs, weight)` in increasing `from_secs`; the weight holds until the next entry.
    steps: Vec<(f64, f64)>,
}

impl WeightPlan {
    /// A plan from explicit `(from_secs, weight)` steps (sorted by the constructor).
    pub fn from_steps(mut steps: Vec<(f64, f64)>) -> Self {
        steps.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self { steps }
    }

    /// A plan that never shifts: the old version serves everything.
    pub fn old_only() -> Self {
        Self { steps: Vec::new() }
    }

    /// The plan of a CodeDeploy-style schedule, through the same model the prober analyses
    /// with (`rollout::schedule`).
    pub fn from_schedule(spec: &str) -> Self {
        Self::from_scaled_schedule(spec, 1.0)
    }

    /// The plan of a schedule compressed `factor` times, as `--time-scale factor` does.
    pub fn from_scaled_schedule(spec: &str, factor: f64) -> Self {
        let schedule = rollout::schedule::Schedule::parse(spec)
            .and_then(|s| s.time_scaled(factor))
            .unwrap_or_else(|e| panic!("schedule {spec:?} x{factor} should parse: {e}"));
        Self::from_steps(
            schedule
                .steps()
                .iter()
                .map(|s| (s.start, s.share))
                .collect(),
        )
    }

    /// The weight of the new version `t` seconds after the deployment started.
    pub fn weight(&self, t: f64) -> f64 {
        self.steps
            .iter()
            .take_while(|(from, _)| *from <= t)
            .last()
            .map_or(0.0, |s| s.1)
    }

    /// The same plan, but the weight stays at its value at `at` from then on (a stalled step).
    pub fn stalled_at(&self, at: f64) -> Self {
        let held = self.weight(at);
        let mut steps: Vec<_> = self.steps.iter().copied().filter(|s| s.0 <= at).collect();
        steps.push((at, held));
        Self::from_steps(steps)
    }

    /// The same plan, but the alias goes back to the old version at `at` (a rollback).
    pub fn rolled_back_at(&self, at: f64) -> Self {
        let mut steps: Vec<_> = self.steps.iter().copied().filter(|s| s.0 < at).collect();
        steps.push((at, 0.0));
        Self::from_steps(steps)
    }
}
