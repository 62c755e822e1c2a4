//! A seeded power study of the split analysis: how often a rollout with one step held at the
//! wrong share is flagged, and how often a correct rollout is judged `followed`, at a given
//! number of requests per step.
//!
//! Each run is simulated as the prober sees it: the prober starts before the deployment, which
//! starts at an instant it does not know (drawn off the bin grid from the seed), every request's
//! version is a Bernoulli draw with the share in force (Lambda's alias routing, LAMBDA-FACTS §7),
//! and the analysis aligns the schedule itself.

use std::ops::Range;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use crate::analysis::{AnalysisConfig, DETECTION_POWER, GUARD_FRACTION, analyze};
use crate::report::Verdict;
use crate::schedule::Schedule;
use crate::sim::{Simulation, piecewise_share};
use crate::stats::requests_to_detect;
use crate::timeline::Timeline;

/// What the simulated deployment does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scenario {
    /// It follows the schedule.
    Correct,
    /// It follows the schedule except that step `step` serves `share` for its whole length.
    Held {
        /// Index of the step that holds the wrong share.
        step: usize,
        /// The share it holds instead of the schedule's.
        share: f64,
    },
}

/// How a set of seeded runs was judged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Runs simulated.
    pub runs: u64,
    /// Judged `followed`.
    pub followed: u64,
    /// Judged `deviated`.
    pub deviated: u64,
    /// Judged anything else (`inconclusive`, `rollback`, ...).
    pub other: u64,
}

impl Outcome {
    /// Fraction of runs judged `followed`.
    pub fn followed_rate(&self) -> f64 {
        self.followed as f64 / self.runs.max(1) as f64
    }

    /// Fraction of runs judged `deviated`.
    pub fn deviated_rate(&self) -> f64 {
        self.deviated as f64 / self.runs.max(1) as f64
    }
}

/// A schedule probed at a fixed rate, from a little before the deployment until a little after.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The schedule the deployment follows and the analysis is told.
    pub schedule: Schedule,
    /// Requests per second.
    pub rps: f64,
    /// The deployment starts this many seconds after the prober, plus up to one second drawn
    /// from the seed.
    pub lead_secs: f64,
    /// The prober stops this many seconds after the deployment ends.
    pub tail_secs: f64,
    /// Timeline bin width, seconds (the prober's is 0.1 s).
    pub bin_secs: f64,
}

impl Study {
    /// `schedule` at `rps`, the prober starting 2-3 s before the deployment and stopping 3 s
    /// after it ends, in the prober's 0.1 s bins.
    pub fn new(schedule: Schedule, rps: f64) -> Self {
        Self {
            schedule,
            rps,
            lead_secs: 2.0,
            tail_secs: 3.0,
            bin_secs: 0.1,
        }
    }

    /// Requests per step of the schedule's first step at this rate.
    pub fn requests_per_step(&self) -> f64 {
        self.schedule.steps()[0].duration() * self.rps
    }

    /// The deployment's true start and the prober's timeline for `seed`.
    pub fn timeline(&self, scenario: Scenario, seed: u64) -> (f64, Timeline) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5eed_57a7);
        let start = self.lead_secs + rng.random::<f64>();
        let mut breakpoints: Vec<(f64, f64)> = self
            .schedule
            .steps()
            .iter()
            .map(|s| (start + s.start, s.share))
            .collect();
        if let Scenario::Held { step, share } = scenario
            && let Some(b) = breakpoints.get_mut(step)
        {
            b.1 = share;
        }
        let sim = Simulation {
            bin_secs: self.bin_secs,
            ..Simulation::new(
                self.rps,
                start + self.schedule.total_duration() + self.tail_secs,
                seed,
            )
        };
        (start, sim.run(piecewise_share(&breakpoints)))
    }

    /// Simulates `scenario` once per seed and tallies the analysis' verdicts under `cfg`
    /// (its schedule is replaced by the study's; its start should be left unknown).
    pub fn run(&self, scenario: Scenario, seeds: Range<u64>, cfg: &AnalysisConfig) -> Outcome {
        let cfg = AnalysisConfig {
            schedule: Some(self.schedule.clone()),
            ..cfg.clone()
        };
        let mut outcome = Outcome::default();
        for seed in seeds {
            let (_, timeline) = self.timeline(scenario, seed);
            let split = analyze(&timeline, &cfg);
            outcome.runs += 1;
            match split.verdict {
                Verdict::Followed => outcome.followed += 1,
                Verdict::Deviated => outcome.deviated += 1,
                _ => outcome.other += 1,
            }
        }
        outcome
    }
}

/// Requests per step a run of `schedule` needs for its verdict to mean something: enough that
/// every step with a share strictly between 0 and 1 could detect `cfg.max_detectable_deviation`
/// (at `cfg`'s confidence and tolerance, with [`DETECTION_POWER`]), counting the guard bands
/// of a deployer applying weights on time (the start's own uncertainty, a bin or two, comes
/// on top). A rehearsal picks its rate as this divided by the step's length in seconds.
pub fn requests_per_step_needed(schedule: &Schedule, cfg: &AnalysisConfig) -> u64 {
    let shares: Vec<f64> = schedule
        .steps()
        .iter()
        .map(|s| s.share)
        .filter(|&p| p > 0.0 && p < 1.0)
        .collect();
    let alpha = (1.0 - cfg.confidence) / shares.len().max(1) as f64;
    let judged = shares
        .iter()
        .map(|&p| {
            requests_to_detect(
                p,
                cfg.max_detectable_deviation,
                cfg.tolerance,
                alpha,
                DETECTION_POWER,
            )
        })
        .max()
        .unwrap_or(0);
    (judged as f64 / (1.0 - 2.0 * GUARD_FRACTION)).ceil() as u64
}
