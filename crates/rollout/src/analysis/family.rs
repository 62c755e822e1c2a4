//! Testing the judged steps as one family: Holm's procedure over the steps' share tests, the
//! period before the start, and what each step could have detected.

use super::steps::Judging;
use crate::report::{Sensitivity, StepReport, StepVerdict};
use crate::stats::{
    exact_interval, holm, min_detectable_deviation, requests_to_detect, share_p_value,
};

/// Probability with which a step's `min_detectable_deviation` would be flagged.
pub const DETECTION_POWER: f64 = 0.95;

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

/// The steps as judged, the period before the start, and the run's sensitivity.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Judged {
    /// One report per schedule step.
    pub steps: Vec<StepReport>,
    /// The period before the start, when it had enough requests to judge.
    pub before: Option<BeforeStart>,
    /// The least sensitive judged step, when any step was judged.
    pub sensitivity: Option<Sensitivity>,
}

/// Tests every step whose verdict is still `Followed` (those with enough requests) and the
/// period before the start (`(old, new)` responses there, when judged) at family-wise
/// confidence `j.confidence`. `timing[i]` is the range of shares step `i`'s window may hold
/// under the schedule given the start's uncertainty; the tolerance widens it.
///
/// A share of exactly 0 or 1 with no tolerance cannot be contradicted by chance: such tests
/// flag any response of the other version and take no share of the false-alarm budget. The
/// others are tested by the exact binomial test against the expected share (± tolerance), with Holm's
/// step-down procedure across them.
pub(crate) fn test(
    mut reports: Vec<StepReport>,
    timing: &[(f64, f64)],
    before: Option<(u64, u64)>,
    j: &Judging,
) -> Judged {
    // The period before the start is indexed past the steps, with share 0.
    let range = |i: usize| timing.get(i).copied().unwrap_or((0.0, 0.0));
    let null = |i: usize| {
        let (low, high) = range(i);
        ((low - j.tolerance).max(0.0), (high + j.tolerance).min(1.0))
    };
    let certain = |i: usize| {
        let (low, high) = null(i);
        low == high && (low == 0.0 || low == 1.0)
    };
    let p_value = |i: usize, new: u64, n: u64| {
        let (low, high) = null(i);
        share_p_value(new, n, low, high)
    };
    let before_index = reports.len();
    let alpha = 1.0 - j.confidence;
    let judged: Vec<usize> = (0..reports.len())
        .filter(|&i| reports[i].verdict == StepVerdict::Followed)
        .collect();
    let uncertain: Vec<usize> = judged.iter().copied().filter(|&i| !certain(i)).collect();
    let p_values: Vec<f64> = uncertain
        .iter()
        .map(|&i| p_value(i, reports[i].new_requests, reports[i].requests))
        .collect();
    let decisions = holm(&p_values, alpha);
    // A single deviating step meets Holm's first, strictest level.
    let first_level = alpha / uncertain.len().max(1) as f64;
    for &i in &judged {
        let r = &mut reports[i];
        let (deviated, level) = match uncertain.iter().position(|&u| u == i) {
            Some(k) => decisions[k],
            None => (p_value(i, r.new_requests, r.requests) < alpha, alpha),
        };
        let (low, high) = exact_interval(r.new_requests, r.requests, 1.0 - level);
        r.ci_low = Some(low);
        r.ci_high = Some(high);
        let (low, high) = range(i);
        let slack = (r.expected_share - low)
            .max(high - r.expected_share)
            .max(0.0);
        r.min_detectable_deviation = Some(min_detectable_deviation(
            r.expected_share,
            j.tolerance + slack,
            r.requests,
            first_level,
            DETECTION_POWER,
        ));
        if deviated {
            r.verdict = StepVerdict::Deviated;
        }
    }
    let before = before.map(|(old, new)| {
        let level = if certain(before_index) {
            alpha
        } else {
            first_level
        };
        let (ci_low, _) = exact_interval(new, old + new, 1.0 - level);
        BeforeStart {
            requests: old + new,
            new_requests: new,
            ci_low,
            deviated: p_value(before_index, new, old + new) < level,
        }
    });
    let sensitivity = judged
        .iter()
        .map(|&i| &reports[i])
        .filter_map(|r| r.min_detectable_deviation.map(|d| (r, d)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(r, d)| Sensitivity {
            step: r.index,
            min_detectable_deviation: d,
            power: DETECTION_POWER,
            threshold: j.max_detectable_deviation,
            insufficient: d > j.max_detectable_deviation,
            requests_needed: requests_to_detect(
                r.expected_share,
                j.max_detectable_deviation,
                j.tolerance,
                first_level,
                DETECTION_POWER,
            ),
        });
    Judged {
        steps: reports,
        before,
        sensitivity,
    }
}
