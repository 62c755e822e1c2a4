//! Deterministic simulation of a prober's observed split, for tests and rehearsals.
//!
//! Requests are sent open-loop at `i / rps` seconds; each one's version is drawn from a
//! Bernoulli with the new version's share at that instant (a seeded ChaCha RNG, so a seed always
//! gives the same timeline).

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

use crate::schedule::Schedule;
use crate::timeline::Timeline;

/// Version label [`simulate`] gives the old version.
pub const OLD_VERSION: &str = "1";
/// Version label [`simulate`] gives the new version.
pub const NEW_VERSION: &str = "2";

/// A simulated probing run: rate, length, bin width, seed and version labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Simulation {
    /// Requests per second, sent at `i / rps`.
    pub rps: f64,
    /// Length of the run, seconds from the origin.
    pub duration_secs: f64,
    /// Timeline bin width, seconds.
    pub bin_secs: f64,
    /// RNG seed.
    pub seed: u64,
    /// Label of the old version.
    pub old_version: String,
    /// Label of the new version.
    pub new_version: String,
    /// A third version answering this fraction of all requests (e.g. another alias), if any.
    pub third_version: Option<(String, f64)>,
}

impl Simulation {
    /// A run at `rps` for `duration_secs`, 0.1 s bins, versions [`OLD_VERSION`] and
    /// [`NEW_VERSION`], no third version.
    pub fn new(rps: f64, duration_secs: f64, seed: u64) -> Self {
        Self {
            rps,
            duration_secs,
            bin_secs: 0.1,
            seed,
            old_version: OLD_VERSION.to_owned(),
            new_version: NEW_VERSION.to_owned(),
            third_version: None,
        }
    }

    /// Runs the simulation with the new version's share at time `t` (seconds since the origin)
    /// given by `share(t)`, clamped to `[0, 1]`.
    pub fn run(&self, share: impl Fn(f64) -> f64) -> Timeline {
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let mut timeline = Timeline::new(self.bin_secs);
        let old = timeline.version_index(&self.old_version);
        let new = timeline.version_index(&self.new_version);
        let third = self
            .third_version
            .as_ref()
            .map(|(label, fraction)| (timeline.version_index(label), *fraction));
        let requests = (self.duration_secs * self.rps).floor().max(0.0) as u64;
        for i in 0..requests {
            let t = i as f64 / self.rps;
            if let Some((index, fraction)) = third
                && rng.random::<f64>() < fraction
            {
                timeline.add(t, index, 1);
                continue;
            }
            let p = share(t).clamp(0.0, 1.0);
            let version = if rng.random::<f64>() < p { new } else { old };
            timeline.add(t, version, 1);
        }
        timeline
    }
}

/// Simulates a deployment following `schedule` from `start` (seconds since the origin), probed
/// at `rps` for `duration` seconds, with `bin_secs` bins and RNG `seed`.
pub fn simulate(
    schedule: &Schedule,
    start: f64,
    rps: f64,
    duration: f64,
    seed: u64,
    bin_secs: f64,
) -> Timeline {
    let sim = Simulation {
        bin_secs,
        ..Simulation::new(rps, duration, seed)
    };
    sim.run(schedule_share(schedule, start))
}

/// The new version's share over time under `schedule` started at `start`.
pub fn schedule_share(schedule: &Schedule, start: f64) -> impl Fn(f64) -> f64 + '_ {
    move |t| schedule.expected_share(t - start)
}

/// A share that is 0 before the first breakpoint and `share` from each `(t, share)` breakpoint
/// until the next one (breakpoints sorted by time).
pub fn piecewise_share(breakpoints: &[(f64, f64)]) -> impl Fn(f64) -> f64 + '_ {
    move |t| {
        breakpoints
            .iter()
            .take_while(|(at, _)| *at <= t)
            .last()
            .map_or(0.0, |(_, share)| *share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_timeline_and_share_near_expected() {
        let share = piecewise_share(&[(0.0, 0.25)]);
        let a = Simulation::new(100.0, 100.0, 7).run(&share);
        let b = Simulation::new(100.0, 100.0, 7).run(&share);
        assert_eq!(a, b);
        let totals = a.totals();
        let n = (totals[0] + totals[1]) as f64;
        assert_eq!(n, 10_000.0);
        let p = totals[1] as f64 / n;
        // 5 standard deviations of a binomial share with n = 10,000.
        let sd = (0.25_f64 * 0.75 / n).sqrt();
        assert!((p - 0.25).abs() < 5.0 * sd, "share {p}");
    }

    #[test]
    fn piecewise_share_holds_each_value_until_the_next_breakpoint() {
        let share = piecewise_share(&[(10.0, 0.1), (20.0, 0.5)]);
        assert_eq!(share(5.0), 0.0);
        assert_eq!(share(10.0), 0.1);
        assert_eq!(share(19.9), 0.1);
        assert_eq!(share(25.0), 0.5);
    }
}
