//! Whether the alias's weights followed a schedule. Deterministic, no statistics: the weights
//! and the schedule are exact; only the instants of the changes are uncertain, by their
//! brackets.
//!
//! The schedule's t = 0 is the change that first gave the new version weight (CodeDeploy starts
//! the schedule when AllowTraffic starts). Each step is matched, in order, with the next change
//! of the new version's share that holds the step's share; a change to a share no step has
//! (before the one that does) makes the step `wrong_share`; a change back to a lower share (a
//! rollback) or to a later step's share leaves the step `missing`. A matched step is on time
//! when `|applied_at - expected_at|` is within the change's bracket (`not_after - not_before`:
//! both its own instant and the start's are uncertain by about half a bracket) plus
//! `max(`[`MIN_TOLERANCE_SECS`]`, `[`TOLERANCE_FRACTION`]` of the schedule's interval)`.

use super::ConfiguredRouting;
use crate::analysis::percent;
use crate::control_plane::{ScheduleConformance, StepConformance};
use crate::schedule::{Schedule, ScheduleKind};

/// Smallest timing tolerance of a step, seconds (CodeDeploy applies a step a second or two
/// after its instant).
pub const MIN_TOLERANCE_SECS: f64 = 1.0;
/// Timing tolerance of a step as a fraction of the schedule's interval, when larger.
pub const TOLERANCE_FRACTION: f64 = 0.05;
/// Shares closer than this are the same (weights are doubles).
const SAME_SHARE: f64 = 5e-5;
/// How close the ratio of the observed step spacing to the schedule's interval must be to a
/// whole number (relatively) for the reason to suggest a `--time-scale`.
const SCALE_MATCH: f64 = 0.05;

/// A change of the new version's share.
#[derive(Debug, Clone, Copy)]
struct Transition {
    at: f64,
    half: f64,
    share: f64,
}

fn same(a: f64, b: f64) -> bool {
    (a - b).abs() < SAME_SHARE
}

fn interval(schedule: &Schedule) -> Option<f64> {
    match schedule.kind() {
        ScheduleKind::Canary { interval_secs, .. } | ScheduleKind::Linear { interval_secs, .. } => {
            Some(interval_secs)
        }
        ScheduleKind::AllAtOnce => None,
    }
}

/// Compares the alias's routing over the run with `schedule` (already time-scaled, as the
/// analysis uses it; `schedule_text` is how it was given, reported and used to suggest a
/// `--time-scale`) for version `new`. `polled_until` is when the last poll was answered (the
/// run's end will do): a step due before it that never came is `missing`, one due after it
/// `not_observed`.
pub fn conformance(
    schedule: &Schedule,
    schedule_text: &str,
    configured: &ConfiguredRouting,
    new: &str,
    polled_until: f64,
) -> ScheduleConformance {
    let steps = schedule.steps();
    let slack = MIN_TOLERANCE_SECS.max(TOLERANCE_FRACTION * interval(schedule).unwrap_or(0.0));
    let mut trans: Vec<Transition> = Vec::new();
    for c in &configured.changes {
        let share = c.routing.share_of(new);
        if trans.last().is_none_or(|t| !same(t.share, share)) {
            trans.push(Transition {
                at: c.at,
                half: c.half_width(),
                share,
            });
        }
    }
    let end = configured
        .changes
        .last()
        .map_or(polled_until, |c| c.not_after.max(polled_until));
    let nothing = |reason: String| ScheduleConformance {
        schedule: schedule_text.to_owned(),
        followed: true,
        reason,
        steps: Vec::new(),
    };
    let Some(first) = trans.first() else {
        return nothing(format!(
            "the alias was never polled successfully: nothing to compare with {schedule_text}"
        ));
    };
    // (transition, step) the schedule's clock is set by.
    let anchor = if first.share <= 0.0 {
        trans.iter().position(|t| t.share > 0.0).map(|i| (i, 0))
    } else {
        // The deployment started before the run: the first later change to a step's share.
        trans.iter().enumerate().skip(1).find_map(|(i, t)| {
            (1..steps.len())
                .find(|&k| same(steps[k].share, t.share))
                .map(|k| (i, k))
        })
    };
    let Some((anchor_at, anchor_step)) = anchor else {
        return nothing(if first.share > 0.0 {
            format!(
                "the alias already sent {} to version {new} at its first poll and did not move to another step of {schedule_text}: nothing to compare",
                percent(first.share)
            )
        } else {
            format!(
                "the alias never gave version {new} weight while it was polled: no step of {schedule_text} to compare"
            )
        });
    };
    let t0 = trans[anchor_at].at - steps[anchor_step].start;
    let first_poll = trans[0].at;
    let mut cursor = anchor_at;
    let mut last_share = if anchor_at == 0 {
        0.0
    } else {
        trans[anchor_at - 1].share
    };
    let mut rollback: Option<Transition> = None;
    let mut out = Vec::with_capacity(steps.len());
    for (i, step) in steps.iter().enumerate() {
        let expected_at = t0 + step.start;
        let mut report = StepConformance {
            index: step.index,
            expected_share: step.share,
            expected_at,
            applied_at: None,
            applied_share: None,
            lateness_secs: None,
            tolerance_secs: None,
            verdict: "not_observed".to_owned(),
        };
        if i < anchor_step {
            out.push(report);
            continue;
        }
        let (mut found, mut stray) = (None, None);
        for (j, t) in trans.iter().enumerate().skip(cursor) {
            if same(t.share, step.share) {
                found = Some(j);
                break;
            }
            if t.share < last_share - SAME_SHARE {
                rollback.get_or_insert(*t);
                break;
            }
            if steps[i + 1..].iter().any(|s| same(s.share, t.share)) {
                break;
            }
            stray.get_or_insert(j);
        }
        if let Some(j) = found.or(stray) {
            let t = trans[j];
            let lateness = t.at - expected_at;
            let tolerance = 2.0 * t.half + slack;
            report.applied_at = Some(t.at);
            report.applied_share = Some(t.share);
            report.lateness_secs = Some(lateness);
            report.tolerance_secs = Some(tolerance);
            report.verdict = if found.is_none() {
                "wrong_share"
            } else if lateness > tolerance {
                "late"
            } else if lateness < -tolerance {
                "early"
            } else {
                "on_time"
            }
            .to_owned();
            cursor = j + 1;
            last_share = t.share;
        } else if expected_at + slack <= end && expected_at >= first_poll {
            // A step shorter than the bracket of the change that passed over it may have come
            // and gone between two polls: not seen, not missing.
            let step_secs = steps
                .get(i + 1)
                .map_or(f64::INFINITY, |next| next.start - step.start);
            let between_polls = trans
                .get(cursor)
                .is_some_and(|t| 2.0 * t.half + slack >= step_secs);
            if !between_polls {
                report.verdict = "missing".to_owned();
            }
        }
        out.push(report);
    }
    let reason = reason(schedule, schedule_text, &out, rollback, slack);
    ScheduleConformance {
        schedule: schedule_text.to_owned(),
        followed: out
            .iter()
            .all(|s| s.verdict == "on_time" || s.verdict == "not_observed"),
        reason,
        steps: out,
    }
}

fn reason(
    schedule: &Schedule,
    text: &str,
    steps: &[StepConformance],
    rollback: Option<Transition>,
    slack: f64,
) -> String {
    let off: Vec<&StepConformance> = steps
        .iter()
        .filter(|s| s.verdict != "on_time" && s.verdict != "not_observed")
        .collect();
    let unobserved = steps.iter().filter(|s| s.verdict == "not_observed").count();
    let unobserved = if unobserved > 0 {
        format!(
            " ({unobserved} not observed: due before the first poll or after the last, or shorter \
             than the polls' interval)"
        )
    } else {
        String::new()
    };
    let Some(first) = off.first() else {
        let on_time = steps.len() - steps.iter().filter(|s| s.verdict == "not_observed").count();
        let worst = steps
            .iter()
            .filter_map(|s| s.lateness_secs)
            .map(f64::abs)
            .fold(0.0, f64::max);
        return format!(
            "the alias followed {text}: {on_time} steps applied with their share on time (at most {worst:.1} s off; tolerance {slack:.1} s plus each change's bracket){unobserved}"
        );
    };
    let expected = percent(first.expected_share);
    let what = match first.verdict.as_str() {
        "late" | "early" => format!(
            "step {} ({expected}) applied {:.1} s {} (tolerance {:.1} s)",
            first.index,
            first.lateness_secs.unwrap_or_default().abs(),
            first.verdict,
            first.tolerance_secs.unwrap_or_default(),
        ),
        "wrong_share" => format!(
            "step {} set {} instead of {expected}",
            first.index,
            percent(first.applied_share.unwrap_or_default())
        ),
        _ => format!("step {} ({expected}) was never applied", first.index),
    };
    let mut reason = format!("the alias did not follow {text}: {what}");
    if off.len() > 1 {
        reason += &format!("; {} steps off in all", off.len());
    }
    if let Some(t) = rollback {
        reason += &format!(
            "; the alias went back to {} at {:.1} s",
            percent(t.share),
            t.at
        );
    }
    reason += &time_scale_hint(schedule, text, steps).unwrap_or_default();
    reason + &unobserved
}

/// When the applied steps were spaced a whole multiple (or fraction) of the schedule's interval
/// apart, the `--time-scale` that would make them match, as a clause of the reason.
fn time_scale_hint(schedule: &Schedule, text: &str, steps: &[StepConformance]) -> Option<String> {
    let interval = interval(schedule)?;
    let applied: Vec<(usize, f64)> = steps
        .iter()
        .filter_map(|s| s.applied_at.map(|a| (s.index, a)))
        .collect();
    let mut spacings: Vec<f64> = applied
        .windows(2)
        .map(|p| (p[1].1 - p[0].1) / (p[1].0 - p[0].0) as f64)
        .collect();
    if spacings.is_empty() {
        return None;
    }
    spacings.sort_by(f64::total_cmp);
    let spacing = spacings[spacings.len() / 2];
    if spacing <= 0.0 {
        return None;
    }
    // The scale already applied: the interval as given over the one compared with.
    let given = Schedule::parse(text)
        .ok()
        .and_then(|s| self::interval(&s))
        .unwrap_or(interval);
    let whole = |r: f64| {
        let k = r.round();
        (k >= 2.0 && (r - k).abs() <= SCALE_MATCH * k).then_some(k)
    };
    let ratio = interval / spacing;
    let scale = given / interval;
    let number = |x: f64| {
        if (x - x.round()).abs() < 1e-6 {
            format!("{x:.0}")
        } else {
            format!("{x:.3}")
        }
    };
    if let Some(k) = whole(ratio) {
        return Some(format!(
            "; its steps were {spacing:.2} s apart, 1/{k:.0} of the schedule's {} s interval: if the deployment runs on compressed time (the lab's time scale), pass --time-scale {}",
            number(interval),
            number(scale * k),
        ));
    }
    let k = whole(1.0 / ratio)?;
    let fix = if (scale / k - 1.0).abs() < 1e-6 {
        "drop --time-scale".to_owned()
    } else {
        format!("pass --time-scale {}", number(scale / k))
    };
    Some(format!(
        "; its steps were {spacing:.2} s apart, {k:.0} times the schedule's {} s interval: {fix}",
        number(interval),
    ))
}
