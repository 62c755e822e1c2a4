//! Judging each schedule step against the observed share.

use super::series::Series;
use crate::report::{StepReport, StepVerdict};
use crate::schedule::Schedule;
use crate::stats::wilson_interval;

/// Guard band as a fraction of the step length, before the cap.
const GUARD_FRACTION: f64 = 0.1;
/// Cap of the proportional part of the guard band, seconds.
const GUARD_CAP_SECS: f64 = 2.0;

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
}

/// The period before the aligned start, where the new version should get nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct BeforeStart {
    /// Old and new responses before the start, outside the guard band.
    pub requests: u64,
    /// Of those, new.
    pub new_requests: u64,
    /// Lower bound of the interval on the new version's share there.
    pub ci_low: f64,
    /// True when the share is significantly above zero (beyond the tolerance).
    pub deviated: bool,
}

/// One [`StepReport`] per schedule step, and the judgement of the period before the start.
/// The last step (share 1) runs to the end of the observed period when that is later than the
/// schedule's end.
pub(crate) fn judge(
    series: &Series,
    schedule: &Schedule,
    j: &Judging,
) -> (Vec<StepReport>, Option<BeforeStart>) {
    let w = series.bin_secs;
    let obs_start = series.observed_start();
    let obs_end = series.observed_end();
    let steps = schedule.steps();
    let last = steps.len() - 1;
    let mut reports: Vec<StepReport> = steps
        .iter()
        .map(|step| {
            let start = j.start + step.start;
            let scheduled_end = j.start + step.end;
            let end = if step.index == last {
                scheduled_end.max(obs_end)
            } else {
                scheduled_end
            };
            let guard = j.guard_secs.unwrap_or_else(|| {
                ((end - start) * GUARD_FRACTION).min(GUARD_CAP_SECS) + j.start_half_width + w
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
            let (old, new) = if hi > lo {
                series.counts(
                    (lo / w - 1e-9).ceil() as i64,
                    (hi / w + 1e-9).floor() as i64,
                )
            } else {
                (0, 0)
            };
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
                requests,
                new_requests: new,
                verdict,
            }
        })
        .collect();
    // Before the start: expected share 0 (a deployment that started earlier than the alignment
    // could explain, e.g. a canary held past its end).
    let first_len = steps[0].duration().max(0.0);
    let guard = j.guard_secs.unwrap_or_else(|| {
        (first_len * GUARD_FRACTION).min(GUARD_CAP_SECS) + j.start_half_width + w
    });
    let hi = (j.start - guard).min(obs_end);
    let (old, new) = if hi > obs_start {
        series.counts(series.first as i64, (hi / w + 1e-9).floor() as i64)
    } else {
        (0, 0)
    };
    let before_judged = old + new >= j.min_requests.max(1);
    let judged = reports
        .iter()
        .filter(|r| r.verdict == StepVerdict::Followed)
        .count()
        + usize::from(before_judged);
    if judged == 0 {
        return (reports, None);
    }
    let confidence = 1.0 - (1.0 - j.confidence) / judged as f64;
    let before = before_judged.then(|| {
        let (ci_low, _) = wilson_interval(new, old + new, confidence);
        BeforeStart {
            requests: old + new,
            new_requests: new,
            ci_low,
            deviated: ci_low - j.tolerance > 0.0,
        }
    });
    for r in reports
        .iter_mut()
        .filter(|r| r.verdict == StepVerdict::Followed)
    {
        let (low, high) = wilson_interval(r.new_requests, r.requests, confidence);
        r.ci_low = Some(low);
        r.ci_high = Some(high);
        let compatible =
            low - j.tolerance <= r.expected_share && r.expected_share <= high + j.tolerance;
        if !compatible {
            r.verdict = StepVerdict::Deviated;
        }
    }
    (reports, before)
}
