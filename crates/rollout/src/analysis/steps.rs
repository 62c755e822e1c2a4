//! Judging each schedule step against the observed share.

use super::family::{self, Judged};
use super::series::Series;
use crate::report::{StepReport, StepVerdict};
use crate::schedule::Schedule;

/// Guard band as a fraction of the step length, before the cap: room for a deployer that
/// applies a step's weight a little off its instant (the lab applies weights within
/// milliseconds; CodeDeploy's minute-long steps get 1.2 s and more). The uncertainty of the
/// start is added to it; the start interval already includes a bin each side, and only whole
/// bins inside the band are counted, so no further bin is needed.
pub(crate) const GUARD_FRACTION: f64 = 0.02;
/// Cap of the proportional part of the guard band, seconds.
pub(crate) const GUARD_CAP_SECS: f64 = 2.0;

/// How steps are judged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Judging {
    /// Aligned deployment start, seconds since the origin.
    pub start: f64,
    /// Half-width of the start's interval, seconds (0 when the start was given).
    pub start_half_width: f64,
    /// Fixed guard band, seconds, replacing the default rule.
    pub guard_secs: Option<f64>,
    /// Family-wise confidence.
    pub confidence: f64,
    /// Absolute slack on the expected share.
    pub tolerance: f64,
    /// Minimum requests for a step to be judged.
    pub min_requests: u64,
    /// Largest acceptable minimum detectable deviation (the sensitivity threshold).
    pub max_detectable_deviation: f64,
}

/// One [`StepReport`] per schedule step, the judgement of the period before the start, and the
/// run's sensitivity.
/// The last step (share 1) runs to the end of the observed period when that is later than the
/// schedule's end.
pub(crate) fn judge(series: &Series, schedule: &Schedule, j: &Judging) -> Judged {
    let w = series.bin_secs;
    let obs_start = series.observed_start();
    let obs_end = series.observed_end();
    let steps = schedule.steps();
    let last = steps.len() - 1;
    let mut timing = Vec::with_capacity(steps.len());
    let reports: Vec<StepReport> = steps
        .iter()
        .map(|step| {
            let start = j.start + step.start;
            let scheduled_end = j.start + step.end;
            let end = if step.index == last {
                scheduled_end.max(obs_end)
            } else {
                scheduled_end
            };
            // A full shift is judged as certain (any old response is a deviation): keep the
            // start's uncertainty out of it. Other steps keep it in, as a range of shares.
            let certain = step.share >= 1.0;
            let guard = j.guard_secs.unwrap_or_else(|| {
                ((end - start) * GUARD_FRACTION).min(GUARD_CAP_SECS)
                    + if certain { j.start_half_width } else { 0.0 }
            });
            // The end of an extended last step is the end of the data, not a boundary.
            let end_guard = if step.index == last && end > scheduled_end {
                0.0
            } else {
                guard
            };
            let lo = (start + guard).max(obs_start);
            let hi = (end - end_guard).min(obs_end);
            let observed = start < obs_end && end > obs_start && end > start;
            let (lo_bin, hi_bin) = if certain {
                ((lo / w - 1e-9).ceil(), (hi / w + 1e-9).floor())
            } else {
                ((lo / w).round(), (hi / w).round())
            };
            let (old, new) = if hi_bin > lo_bin {
                series.counts(lo_bin as i64, hi_bin as i64)
            } else {
                (0, 0)
            };
            timing.push(if certain || hi_bin <= lo_bin {
                (step.share, step.share)
            } else {
                share_range(schedule, j, lo_bin * w, hi_bin * w)
            });
            let requests = old + new;
            let verdict = if !observed {
                StepVerdict::NotObserved
            } else if requests < j.min_requests.max(1) {
                StepVerdict::Insufficient
            } else {
                // Decided below, once the number of judged steps is known.
                StepVerdict::Followed
            };
            StepReport {
                index: step.index,
                start,
                end,
                expected_share: step.share,
                observed_share: (requests > 0).then(|| new as f64 / requests as f64),
                ci_low: None,
                ci_high: None,
                min_detectable_deviation: None,
                requests,
                new_requests: new,
                verdict,
            }
        })
        .collect();
    // Before the start: expected share 0 (a deployment that started earlier than the alignment
    // could explain, e.g. a canary held past its end).
    let first_len = steps[0].duration().max(0.0);
    let guard = j
        .guard_secs
        .unwrap_or_else(|| (first_len * GUARD_FRACTION).min(GUARD_CAP_SECS) + j.start_half_width);
    let hi = (j.start - guard).min(obs_end);
    let (old, new) = if hi > obs_start {
        series.counts(series.first as i64, (hi / w + 1e-9).floor() as i64)
    } else {
        (0, 0)
    };
    let before = (old + new >= j.min_requests.max(1)).then_some((old, new));
    family::test(reports, &timing, before, j)
}

/// The lowest and highest mean share the schedule gives the window `[from, to)` (seconds since
/// the origin) for a start anywhere in the aligned start's interval (the schedule never
/// decreases, so the ends of the interval give the extremes).
fn share_range(schedule: &Schedule, j: &Judging, from: f64, to: f64) -> (f64, f64) {
    let mean = |start: f64| {
        (share_integral(schedule, to - start) - share_integral(schedule, from - start))
            / (to - from)
    };
    let (a, b) = (
        mean(j.start + j.start_half_width),
        mean(j.start - j.start_half_width),
    );
    (a.min(b).clamp(0.0, 1.0), a.max(b).clamp(0.0, 1.0))
}

/// The integral of the schedule's share from its start to `secs` after it (1 after its end).
fn share_integral(schedule: &Schedule, secs: f64) -> f64 {
    let steps = schedule.steps();
    let during: f64 = steps
        .iter()
        .map(|s| s.share * (secs - s.start).clamp(0.0, s.duration().max(0.0)))
        .sum();
    let end = steps.last().map_or(0.0, |s| s.end);
    during + (secs - end).max(0.0)
}
