//! Judging the observed split against what the alias was configured to send (`--alias`):
//! windows of constant configured share instead of schedule steps.
//!
//! A window runs from a change of the new version's share to the next one (the last to the end
//! of the observed period). Where a window starts or ends is uncertain by the bracket of the
//! change (between the poll that first saw it and the one before), and the data plane may
//! apply an alias update a little after GetAlias shows it (or, GetAlias reading a replica that
//! lags, a little before): each edge gets a guard band of `min(2% of the window, 2 s)`, plus
//! the edge's half-bracket, plus the propagation allowance (at most a tenth of the
//! deployment's pace: the shorter of the windows between changes on either side). The last
//! window is counted up to the last poll, less the allowance. The counted span then holds the
//! window's share for certain, so each window is tested against that one share (no range, as
//! a schedule step with an uncertain start needs). Changes that keep the share (another
//! version's weight; a new `RevisionId` with the same weights, i.e. updates between two polls)
//! do not end a window, but the stretch they bracket is left out of it. A window whose counted
//! span overlaps a period without a successful poll is not judged: the routing then is not
//! known.

use super::family::{self, Judged};
use super::series::Series;
use super::steps::{GUARD_CAP_SECS, GUARD_FRACTION, Judging};
use super::{AnalysisConfig, SplitAnalysis, insufficient_sensitivity, rollback_reason};
use crate::configured::{ConfiguredRouting, Routing};
use crate::report::{StepReport, StepVerdict, Verdict};

/// Fraction of the deployment's pace that caps the propagation allowance: a time-compressed
/// deployment (the lab, 1 s steps) applies weights within milliseconds, and a full second at
/// each edge would leave nothing of its windows to judge.
pub(crate) const PROPAGATION_FRACTION: f64 = 0.1;

/// A stretch of constant configured share.
#[derive(Debug, Clone, PartialEq)]
struct Window {
    /// Best estimate of the change that opened it, seconds since the origin.
    from: f64,
    /// That change's half-bracket.
    from_half: f64,
    /// The change that closed it (best estimate, half-bracket); `None`: open to the end.
    to: Option<(f64, f64)>,
    /// The new version's share among old and new responses; `None`: the alias sent neither.
    share: Option<f64>,
    /// Brackets of changes inside the window that kept its share.
    holes: Vec<(f64, f64)>,
}

/// [`super::analyze`] against the alias's configured routing: the start is the change that
/// first gave the new version weight, and windows of constant configured share are judged.
pub(super) fn analyze(
    mut out: SplitAnalysis,
    series: &Series,
    routing: &ConfiguredRouting,
    cfg: &AnalysisConfig,
    completion: Option<f64>,
    note: &str,
) -> SplitAnalysis {
    let old = out.old_version.clone().unwrap_or_default();
    let new = out.new_version.clone().unwrap_or_default();
    let (start, half_width, sentence) = match routing.shift_start(&new) {
        Some(c) => {
            out.deployment_start_ci = Some([c.not_before, c.not_after]);
            (
                Some(c.at),
                c.half_width(),
                format!(
                    "the alias started sending version {new} traffic at {:.1} s (±{:.1} s)",
                    c.at,
                    c.half_width()
                ),
            )
        }
        None => {
            let first = &routing.changes[0];
            let share = first.routing.share_of(&new);
            let sentence = if share > 0.0 {
                format!(
                    "the alias already sent {} to version {new} at its first poll ({:.1} s): the deployment started before the run",
                    percent(share),
                    first.not_after
                )
            } else {
                format!("the alias never gave version {new} weight")
            };
            (cfg.deployment_start, 0.0, sentence)
        }
    };
    out.deployment_start = start;
    let judging = Judging {
        start: start.unwrap_or_default(),
        start_half_width: half_width,
        guard_secs: cfg.guard_secs,
        confidence: cfg.confidence,
        tolerance: cfg.tolerance,
        min_requests: cfg.min_step_requests,
        max_detectable_deviation: cfg.max_detectable_deviation,
    };
    let (judged, notes) = judge(series, routing, &old, &new, &judging, cfg);
    out.steps = judged.steps;
    out.sensitivity = judged.sensitivity;
    // Complete when the clients saw it and the alias sends everything to the new version.
    let all_new = routing
        .changes
        .last()
        .is_some_and(|c| share_between(&c.routing, &old, &new).is_some_and(|s| s >= 1.0 - 1e-9));
    out.completed_at = completion.filter(|_| all_new);
    (out.verdict, out.reason) = verdict(&out, &notes, &sentence, cfg.min_step_requests);
    out.reason += note;
    out
}

/// The new version's share among the old and new versions' responses under `routing` (the
/// analysis counts only those two); `None` when the alias sends neither.
pub(crate) fn share_between(routing: &Routing, old: &str, new: &str) -> Option<f64> {
    let (o, n) = (routing.share_of(old), routing.share_of(new));
    (o + n > 0.0).then(|| n / (o + n))
}

/// Shares closer than this are the same (weights are doubles; half a basis point).
const SAME_SHARE: f64 = 5e-5;

fn windows(configured: &ConfiguredRouting, old: &str, new: &str) -> Vec<Window> {
    let mut out: Vec<Window> = Vec::new();
    for c in &configured.changes {
        let share = share_between(&c.routing, old, new);
        let half = c.half_width();
        match out.last_mut() {
            Some(w)
                if match (w.share, share) {
                    (Some(a), Some(b)) => (a - b).abs() < SAME_SHARE,
                    (None, None) => true,
                    _ => false,
                } =>
            {
                w.holes.push((c.at - half, c.at + half));
            }
            last => {
                if let Some(w) = last {
                    w.to = Some((c.at, half));
                }
                out.push(Window {
                    from: c.at,
                    from_half: half,
                    to: None,
                    share,
                    holes: Vec::new(),
                });
            }
        }
    }
    out
}

/// `[lo, hi]` without the `holes`, as sorted disjoint pieces.
fn without(lo: f64, hi: f64, holes: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut holes = holes.to_vec();
    holes.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut pieces = Vec::new();
    let mut at = lo;
    for (a, b) in holes {
        if a > at {
            pieces.push((at, a.min(hi)));
        }
        at = at.max(b);
        if at >= hi {
            break;
        }
    }
    if at < hi {
        pieces.push((at, hi));
    }
    pieces.retain(|p| p.1 > p.0);
    pieces
}

/// One [`StepReport`] per window of constant configured share (`index` = the window's
/// position; the last one ends with the data), tested as one family, and a note for each window left unjudged for a reason the
/// report's fields do not show (a gap in the polls, a routing to neither version).
pub(crate) fn judge(
    series: &Series,
    configured: &ConfiguredRouting,
    old: &str,
    new: &str,
    j: &Judging,
    cfg: &AnalysisConfig,
) -> (Judged, Vec<String>) {
    let propagation_secs = cfg.propagation_secs;
    let widest = configured
        .changes
        .iter()
        .map(|c| c.not_after - c.not_before)
        .fold(0.0, f64::max);
    let w = series.bin_secs;
    let (obs_start, obs_end) = (series.observed_start(), series.observed_end());
    let mut notes = Vec::new();
    let mut timing = Vec::new();
    let windows = windows(configured, old, new);
    let end_of = |win: &Window| win.to.map_or(obs_end.max(win.from), |(at, _)| at);
    let lengths: Vec<f64> = windows
        .iter()
        .map(|win| (end_of(win) - win.from).max(0.0))
        .collect();
    // The deployment's pace: the length of a window between two changes (the first window
    // starts at the first poll, the last one ends with the run: neither says anything of it).
    let pace =
        |k: usize| (k > 0 && k < windows.len() && windows[k].to.is_some()).then(|| lengths[k]);
    // The allowance at the change that opens window `k`, capped by the pace on either side.
    let allowance = |k: usize| {
        let pace = match (k.checked_sub(1).and_then(pace), pace(k)) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => f64::INFINITY,
        };
        propagation_secs.min(PROPAGATION_FRACTION * pace)
    };
    let reports = windows
        .iter()
        .enumerate()
        .map(|(index, win)| {
            let end = end_of(win);
            let len = lengths[index];
            let proportional = j
                .guard_secs
                .unwrap_or_else(|| (len * GUARD_FRACTION).min(GUARD_CAP_SECS));
            let lo = (win.from + win.from_half + proportional + allowance(index)).max(obs_start);
            let hi = match win.to {
                Some((at, half)) => at - half - proportional - allowance(index + 1),
                // The last window is known up to the last poll: a change after it may already
                // show in the data (or, when that poll's time is not given, up to the widest
                // bracket before the end of the data: a change is seen a poll later at most).
                None => cfg
                    .polled_until
                    .map_or(end - widest, |until| until - allowance(index)),
            }
            .min(obs_end);
            let inside = propagation_secs.min(PROPAGATION_FRACTION * pace(index).unwrap_or(len));
            let holes: Vec<(f64, f64)> = win
                .holes
                .iter()
                .map(|(a, b)| (a - inside, b + inside))
                .collect();
            let pieces = without(lo, hi, &holes);
            let (mut old_n, mut new_n) = (0, 0);
            for (a, b) in &pieces {
                let (a, b) = ((a / w - 1e-9).ceil(), (b / w + 1e-9).floor());
                if b > a {
                    let (o, n) = series.counts(a as i64, b as i64);
                    old_n += o;
                    new_n += n;
                }
            }
            let share = win.share.unwrap_or(0.0);
            timing.push((share, share));
            let requests = old_n + new_n;
            let gap = configured
                .gaps
                .iter()
                .find(|g| pieces.iter().any(|p| g[0] < p.1 && g[1] > p.0));
            let observed = win.from < obs_end && end > obs_start && end > win.from;
            let verdict = if !observed {
                StepVerdict::NotObserved
            } else if win.share.is_none() {
                notes.push(format!(
                    "window {index} ({:.1}-{end:.1} s): the alias sent neither version {old} nor {new}, not judged",
                    win.from
                ));
                StepVerdict::NotObserved
            } else if let Some(g) = gap {
                notes.push(format!(
                    "window {index} ({:.1}-{end:.1} s) overlaps {:.1}-{:.1} s, when no poll of the alias succeeded: not judged",
                    win.from, g[0], g[1]
                ));
                StepVerdict::NotObserved
            } else if requests < j.min_requests.max(1) {
                StepVerdict::Insufficient
            } else {
                // Decided by the family test.
                StepVerdict::Followed
            };
            StepReport {
                index,
                start: win.from,
                end,
                expected_share: share,
                observed_share: (requests > 0).then(|| new_n as f64 / requests as f64),
                ci_low: None,
                ci_high: None,
                min_detectable_deviation: None,
                requests,
                new_requests: new_n,
                verdict,
            }
        })
        .collect();
    (family::test(reports, &timing, None, j), notes)
}

/// A share as a percentage, without decimals when it has none (10%, 12.5%).
pub(crate) fn percent(share: f64) -> String {
    let p = share * 100.0;
    if (p - p.round()).abs() < 1e-6 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// Verdict and reason of a run judged against the alias, from the judged windows, the events,
/// and the notes of [`judge`]; `start` is the sentence saying where the shift's start came from.
pub(crate) fn verdict(
    out: &SplitAnalysis,
    notes: &[String],
    start: &str,
    min_requests: u64,
) -> (Verdict, String) {
    let new = out.new_version.as_deref().unwrap_or_default();
    let count = |v: StepVerdict| out.steps.iter().filter(|s| s.verdict == v).count();
    let notes = if notes.is_empty() {
        String::new()
    } else {
        format!(" {}.", notes.join("; "))
    };
    if let Some(t) = out.rollback_at {
        return (Verdict::Rollback, rollback_reason(new, t) + &notes);
    }
    let judged = count(StepVerdict::Followed) + count(StepVerdict::Deviated);
    let deviated: Vec<&StepReport> = out
        .steps
        .iter()
        .filter(|s| s.verdict == StepVerdict::Deviated)
        .collect();
    if let Some(first) = deviated.first() {
        let pct = |x: Option<f64>| x.unwrap_or(f64::NAN) * 100.0;
        return (
            Verdict::Deviated,
            format!(
                "clients got {:.1}% of version {new} while the alias sent {} (window {}, {:.1}-{:.1} s: interval {:.1}%..{:.1}% over {} requests); {} of {judged} judged windows deviated from the alias's weights; {start}.{notes}",
                pct(first.observed_share),
                percent(first.expected_share),
                first.index,
                first.start,
                first.end,
                pct(first.ci_low),
                pct(first.ci_high),
                first.requests,
                deviated.len(),
            ),
        );
    }
    if judged == 0 {
        return (
            Verdict::Inconclusive,
            format!(
                "no window of the alias's routing had at least {min_requests} requests outside the guard bands to judge; {start}.{notes}"
            ),
        );
    }
    let mut reason =
        format!("clients followed the alias's weights in all {judged} judged windows; {start}");
    let (insufficient, unobserved) = (
        count(StepVerdict::Insufficient),
        count(StepVerdict::NotObserved),
    );
    if insufficient + unobserved > 0 {
        reason += &format!(" ({insufficient} with too few requests, {unobserved} not observed)");
    }
    reason.push('.');
    reason += &notes;
    if let Some(s) = out.sensitivity.as_ref().filter(|s| s.insufficient) {
        reason += &insufficient_sensitivity(s, &out.steps)
            .replace(" in step ", " in window ")
            .replace("that step needed", "that window needed");
    }
    (Verdict::Followed, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::configured::RoutingChange;

    fn change(at: f64, half: f64, additional: f64) -> RoutingChange {
        let mut routing = Routing {
            primary: "1".into(),
            additional: Default::default(),
        };
        if additional > 0.0 {
            routing.additional.insert("2".into(), additional);
        }
        RoutingChange {
            at,
            not_before: at - half,
            not_after: at + half,
            routing,
            revision_id: None,
        }
    }

    #[test]
    fn equal_shares_make_one_window_with_a_hole() {
        let configured = ConfiguredRouting {
            changes: vec![
                change(0.0, 0.0, 0.0),
                change(10.0, 0.5, 0.1),
                change(15.0, 0.5, 0.1),
                change(20.0, 0.25, 0.2),
            ],
            gaps: vec![],
        };
        let w = windows(&configured, "1", "2");
        assert_eq!(w.len(), 3);
        assert_eq!(w[0].to, Some((10.0, 0.5)));
        assert_eq!(w[1].holes, vec![(14.5, 15.5)]);
        assert_eq!(w[1].to, Some((20.0, 0.25)));
        assert!((w[2].share.unwrap() - 0.2).abs() < 1e-12);
    }

    #[test]
    fn holes_are_cut_out_of_the_span() {
        assert_eq!(
            without(0.0, 10.0, &[(4.0, 5.0), (-1.0, 1.0)]),
            vec![(1.0, 4.0), (5.0, 10.0)]
        );
        assert_eq!(without(0.0, 10.0, &[(-1.0, 11.0)]), vec![]);
        assert_eq!(percent(0.1), "10%");
        assert_eq!(percent(0.125), "12.5%");
    }
}
