//! Analysis of an observed version split against a schedule.
//!
//! [`analyze`] works on a [`Timeline`] (tagged responses per version per bin):
//! 1. it picks the old and new versions (given, or detected from the data);
//! 2. with a schedule and no known start, it aligns the schedule by maximum likelihood over
//!    candidate starts, with a likelihood-ratio interval on the start;
//! 3. it judges each step with an exact binomial test of the observed share against the
//!    schedule's (the range the start's uncertainty allows), outside narrow guard bands around
//!    the step boundaries, with Holm's procedure over the judged steps, and says what each step
//!    could have detected (its minimum detectable deviation) and whether the run as a whole
//!    could see the deviations that matter ([`AnalysisConfig::max_detectable_deviation`]);
//! 4. it looks for a rollback (the new version's share falling back to zero after rising) and
//!    for completion (the new version serving all traffic for good).
//!
//! With the alias's configured routing ([`AnalysisConfig::configured`], `--alias`), steps 2 and
//! 3 change: the start is the change that first gave the new version weight (known to its
//! poll bracket, not estimated), and the observed share is judged per window of constant
//! configured share against that share, not per schedule step (the schedule, if any, is then
//! compared with the alias by [`crate::configured::conformance`]; [`overall_with_conformance`]
//! combines both).
//!
//! All times are seconds since the timeline's origin.

mod align;
mod configured;
mod events;
mod family;
mod series;
mod steps;
mod versions;

use self::family::{BeforeStart, Judged};
use self::series::Series;
use self::steps::Judging;
use self::versions::Versions;
use crate::configured::ConfiguredRouting;
use crate::control_plane::ScheduleConformance;
use crate::report::{Sensitivity, StepReport, StepVerdict, Verdict};
use crate::schedule::Schedule;
use crate::timeline::Timeline;

pub(crate) use self::configured::percent;
pub use self::family::DETECTION_POWER;
pub(crate) use self::steps::GUARD_FRACTION;

/// Default family-wise confidence of the step tests: a deployment that follows its schedule
/// should be judged `deviated` in at most 0.4% of runs (Holm's procedure controls the
/// family-wise error; the power study in [`crate::power`] measures about 0.5% with the start
/// unknown), under the 1% false-alarm rate a pipeline can live with; the rest of the budget
/// goes to power (a 10-point deviation at 600 requests per step is flagged in about 98% of runs).
pub const DEFAULT_CONFIDENCE: f64 = 0.996;
/// Default absolute slack on the expected share when judging a step: none. Lambda routes each
/// invocation of a weighted alias to a version at random with the weight (LAMBDA-FACTS §7), so
/// the observed share is binomial around the weight and the step's test already accounts for
/// all of its variation; what timing adds (the unknown start, the deployer's step instants) is
/// kept out by the guard bands, not by widening every step's interval.
pub const DEFAULT_TOLERANCE: f64 = 0.0;
/// Default largest acceptable minimum detectable deviation: 5 percentage points.
pub const DEFAULT_MAX_DETECTABLE_DEVIATION: f64 = 0.05;
/// Default minimum of requests (outside guard bands) for a step to be judged.
pub const DEFAULT_MIN_STEP_REQUESTS: u64 = 20;
/// Default propagation allowance, seconds: Lambda's data plane may apply an alias update a
/// little after GetAlias shows it (or before, GetAlias reading a lagging replica), so each edge
/// of a window of configured share gets this much more guard band (at most a tenth of the
/// deployment's pace, the shorter window between changes next to the edge: time-compressed
/// deployments, like the lab's, apply weights within milliseconds).
pub const DEFAULT_PROPAGATION_SECS: f64 = 1.0;

/// What the analysis knows in advance; every field may be left to the data.
#[derive(Debug, Clone, PartialEq)]
pub struct AnalysisConfig {
    /// The schedule the deployment should follow (`None`: only detect shift, rollback, completion).
    pub schedule: Option<Schedule>,
    /// The version traffic shifts away from (`--from-version`); detected when `None`.
    pub old_version: Option<String>,
    /// The version traffic shifts to (`--to-version`); detected when `None`.
    pub new_version: Option<String>,
    /// Deployment start, seconds since the timeline origin; estimated when `None`.
    pub deployment_start: Option<f64>,
    /// Family-wise confidence of the step intervals (default [`DEFAULT_CONFIDENCE`]).
    pub confidence: f64,
    /// Absolute slack on the expected share (default [`DEFAULT_TOLERANCE`]).
    pub tolerance: f64,
    /// Steps with fewer requests are `insufficient` (default [`DEFAULT_MIN_STEP_REQUESTS`]).
    pub min_step_requests: u64,
    /// Guard band at each step boundary, seconds. `None`: `min(2% of the step, 2 s)` plus the
    /// half-width of the start interval.
    pub guard_secs: Option<f64>,
    /// A run whose least sensitive judged step could not detect a deviation this large (a share;
    /// default [`DEFAULT_MAX_DETECTABLE_DEVIATION`]) is reported as insufficient.
    pub max_detectable_deviation: f64,
    /// What the alias was configured to send over the run (`--alias`): when given, the expected
    /// share per window is the configured weight, not the schedule's.
    pub configured: Option<ConfiguredRouting>,
    /// Propagation allowance at each edge of a window of configured share, seconds (default
    /// [`DEFAULT_PROPAGATION_SECS`]).
    pub propagation_secs: f64,
    /// When the last successful poll of the alias was sent, seconds since the origin: the last
    /// window of configured share is judged up to it (less the propagation allowance), since a
    /// change after it may already show in the responses. `None`: up to the end of the data
    /// less the widest poll bracket seen. A live analysis should set it.
    pub polled_until: Option<f64>,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            schedule: None,
            old_version: None,
            new_version: None,
            deployment_start: None,
            confidence: DEFAULT_CONFIDENCE,
            tolerance: DEFAULT_TOLERANCE,
            min_step_requests: DEFAULT_MIN_STEP_REQUESTS,
            guard_secs: None,
            max_detectable_deviation: DEFAULT_MAX_DETECTABLE_DEVIATION,
            configured: None,
            propagation_secs: DEFAULT_PROPAGATION_SECS,
            polled_until: None,
        }
    }
}

impl AnalysisConfig {
    /// Checks the numeric settings (the schedule and versions are valid by construction).
    pub fn validate(&self) -> Result<(), AnalysisConfigError> {
        if !(self.confidence > 0.0 && self.confidence < 1.0) {
            return Err(AnalysisConfigError::Confidence(self.confidence));
        }
        if !(self.tolerance >= 0.0 && self.tolerance < 1.0) {
            return Err(AnalysisConfigError::Tolerance(self.tolerance));
        }
        if let Some(g) = self.guard_secs.filter(|g| !(g.is_finite() && *g >= 0.0)) {
            return Err(AnalysisConfigError::Guard(g));
        }
        if !(self.max_detectable_deviation > 0.0 && self.max_detectable_deviation <= 1.0) {
            return Err(AnalysisConfigError::MaxDetectableDeviation(
                self.max_detectable_deviation,
            ));
        }
        if let Some(s) = self.deployment_start.filter(|s| !s.is_finite()) {
            return Err(AnalysisConfigError::Start(s));
        }
        if !(self.propagation_secs.is_finite() && self.propagation_secs >= 0.0) {
            return Err(AnalysisConfigError::Propagation(self.propagation_secs));
        }
        if let Some(t) = self.polled_until.filter(|t| !t.is_finite()) {
            return Err(AnalysisConfigError::PolledUntil(t));
        }
        Ok(())
    }
}

/// A setting of [`AnalysisConfig`] out of range.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
pub enum AnalysisConfigError {
    /// `confidence` outside (0, 1).
    #[error("confidence {0} must be in (0, 1), e.g. 0.999")]
    Confidence(f64),
    /// `tolerance` outside [0, 1).
    #[error("tolerance {0} must be a share in [0, 1), e.g. 0.02")]
    Tolerance(f64),
    /// A negative or non-finite guard band.
    #[error("guard band {0} s must be a finite number of seconds >= 0")]
    Guard(f64),
    /// `max_detectable_deviation` outside (0, 1].
    #[error("max detectable deviation {0} must be a share in (0, 1], e.g. 0.05 for 5 points")]
    MaxDetectableDeviation(f64),
    /// A non-finite deployment start.
    #[error("deployment start {0} must be a finite number of seconds since the run's origin")]
    Start(f64),
    /// A negative or non-finite propagation allowance.
    #[error("propagation allowance {0} s must be a finite number of seconds >= 0, e.g. 1")]
    Propagation(f64),
    /// A non-finite time of the last poll.
    #[error("the last poll's time {0} must be a finite number of seconds since the run's origin")]
    PolledUntil(f64),
}

/// The result of [`analyze`]: the split part of `report.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitAnalysis {
    /// One of `Followed`, `Completed`, `Deviated`, `Rollback`, `Inconclusive`.
    pub verdict: Verdict,
    /// Why, in one or two sentences (mentions ignored versions).
    pub reason: String,
    /// The version traffic shifted away from.
    pub old_version: Option<String>,
    /// The version traffic shifted to.
    pub new_version: Option<String>,
    /// Deployment start (given or estimated), seconds since the origin; may be negative.
    pub deployment_start: Option<f64>,
    /// Likelihood-ratio interval of the estimated start, `[low, high]`; `None` when given.
    pub deployment_start_ci: Option<[f64; 2]>,
    /// Steps as observed, or the windows of constant configured share with
    /// [`AnalysisConfig::configured`] (empty without either or without a second version).
    pub steps: Vec<StepReport>,
    /// The least sensitive judged step: what the run could have caught (`None` when no step
    /// was judged).
    pub sensitivity: Option<Sensitivity>,
    /// Start of the stretch in which the new version's share fell back to zero.
    pub rollback_at: Option<f64>,
    /// Start of the final stretch in which the new version served all traffic; set only once
    /// that stretch is sustained (see [`SplitAnalysis::is_finished`]).
    pub completed_at: Option<f64>,
}

impl SplitAnalysis {
    /// True when a rollback was seen, or the deployment completed: the new version has served
    /// all traffic for a sustained stretch and, with a schedule, the observed period reaches
    /// the aligned end of the deployment. A prober running without `--duration` stops then.
    pub fn is_finished(&self) -> bool {
        self.rollback_at.is_some() || self.completed_at.is_some()
    }
}

/// Analyses the observed split in `timeline` under `cfg` (check it first with
/// [`AnalysisConfig::validate`]).
///
/// With a schedule, the last step (share 1) is judged up to the end of the observed period, so
/// that a deployment stuck before its full shift shows as that step deviating; after a
/// rollback, alignment and steps use only the data before it. Without a schedule,
/// `deployment_start` (unless given) is the first bin in which the new version answered.
pub fn analyze(timeline: &Timeline, cfg: &AnalysisConfig) -> SplitAnalysis {
    let alias = cfg.configured.as_ref().filter(|c| !c.changes.is_empty());
    let (old, new) = match alias {
        Some(c) => c.old_and_new(cfg.old_version.as_deref(), cfg.new_version.as_deref()),
        None => (cfg.old_version.clone(), cfg.new_version.clone()),
    };
    let versions = versions::pick(timeline, old.as_deref(), new.as_deref());
    let series = Series::new(timeline, versions.old_index(), versions.new_index());
    let mut out = SplitAnalysis {
        verdict: Verdict::Inconclusive,
        reason: String::new(),
        old_version: versions.old.as_ref().map(|s| s.label.clone()),
        new_version: versions.new.as_ref().map(|s| s.label.clone()),
        deployment_start: cfg.deployment_start,
        deployment_start_ci: None,
        steps: Vec::new(),
        sensitivity: None,
        rollback_at: None,
        completed_at: None,
    };
    let note = versions.ignored_note();
    if !(timeline.bin_secs.is_finite() && timeline.bin_secs > 0.0) {
        out.reason = format!(
            "the timeline's bin width {} s is not a positive number of seconds.",
            timeline.bin_secs
        );
        return out;
    }
    // Against the alias, a version the alias sends traffic to but the clients never see is a
    // deviation to judge, not a reason to stop.
    let alias =
        alias.filter(|_| versions.old.is_some() && versions.new.is_some() && !series.is_empty());
    if let Some(reason) = alias
        .is_none()
        .then(|| missing_versions(&versions, cfg.schedule.is_some()))
        .flatten()
    {
        out.verdict = if series.is_empty() || cfg.schedule.is_some() {
            Verdict::Inconclusive
        } else {
            Verdict::Completed
        };
        out.reason = reason + &note;
        return out;
    }
    let w = series.bin_secs;
    let rollback = events::rollback_bin(&series);
    out.rollback_at = rollback.map(|b| b as f64 * w);
    let before = rollback.map_or_else(|| series.clone(), |b| series.truncated(b));
    let completion = rollback
        .is_none()
        .then(|| events::completion_bin(&series))
        .flatten()
        .map(|b| b as f64 * w);
    if let Some(routing) = alias {
        return configured::analyze(out, &series, routing, cfg, completion, &note);
    }
    let new_label = out.new_version.clone().unwrap_or_default();
    let Some(schedule) = &cfg.schedule else {
        out.deployment_start = cfg
            .deployment_start
            .or_else(|| series.first_new_bin().map(|b| b as f64 * w));
        out.completed_at = completion;
        (out.verdict, out.reason) = match (out.rollback_at, completion) {
            (Some(t), _) => (Verdict::Rollback, rollback_reason(&new_label, t)),
            (None, Some(t)) => (
                Verdict::Completed,
                format!("version {new_label} has served all traffic since {t:.1} s."),
            ),
            (None, None) => (
                Verdict::Completed,
                format!(
                    "no schedule given; version {new_label} appeared but has not yet served all traffic for a sustained stretch."
                ),
            ),
        };
        out.reason += &note;
        return out;
    };
    let (start, half_width) = match cfg.deployment_start {
        Some(start) => (start, 0.0),
        None => match align::align(&before, schedule) {
            Some(a) => {
                out.deployment_start_ci = Some(a.ci);
                (a.start, a.half_width())
            }
            None => {
                out.reason =
                    format!("nothing observed before the rollback to align {schedule} with.{note}");
                if out.rollback_at.is_some() {
                    out.verdict = Verdict::Rollback;
                }
                return out;
            }
        },
    };
    out.deployment_start = Some(start);
    let judging = Judging {
        start,
        start_half_width: half_width,
        guard_secs: cfg.guard_secs,
        confidence: cfg.confidence,
        tolerance: cfg.tolerance,
        min_requests: cfg.min_step_requests,
        max_detectable_deviation: cfg.max_detectable_deviation,
    };
    let Judged {
        steps,
        before: before_start,
        sensitivity,
    } = steps::judge(&before, schedule, &judging);
    out.steps = steps;
    out.sensitivity = sensitivity;
    out.completed_at =
        completion.filter(|_| series.observed_end() >= start + schedule.total_duration());
    (out.verdict, out.reason) = schedule_verdict(
        &out,
        schedule,
        half_width,
        before_start.filter(|b| b.deviated),
        cfg.min_step_requests,
    );
    out.reason += &note;
    out
}

/// The reason when the old or new version is missing, `None` when both were seen.
fn missing_versions(versions: &Versions, scheduled: bool) -> Option<String> {
    let label = |s: &Option<versions::Side>| s.as_ref().map(|s| s.label.clone());
    match (label(&versions.old), label(&versions.new)) {
        (None, _) => Some("no tagged response of any version was seen.".to_owned()),
        (Some(old), None) => Some(if scheduled {
            format!(
                "never saw a second version: only version {old} answered, so no shift could be checked."
            )
        } else {
            format!("only version {old} answered: no shift observed.")
        }),
        (Some(old), Some(new)) => {
            if versions.new_index().is_none() {
                Some(format!("never saw the new version {new} (old: {old})."))
            } else if versions.old_index().is_none() {
                Some(format!(
                    "never saw the old version {old}: only version {new} answered."
                ))
            } else {
                None
            }
        }
    }
}

fn rollback_reason(new: &str, at: f64) -> String {
    format!(
        "version {new} served traffic, then its share fell back to 0 from {at:.1} s on (rollback)."
    )
}

/// Verdict and reason with a schedule, from the judged steps and events.
fn schedule_verdict(
    out: &SplitAnalysis,
    schedule: &Schedule,
    half_width: f64,
    early: Option<BeforeStart>,
    min_requests: u64,
) -> (Verdict, String) {
    let new = out.new_version.as_deref().unwrap_or_default();
    let count = |v: StepVerdict| out.steps.iter().filter(|s| s.verdict == v).count();
    let start = out.deployment_start.unwrap_or_default();
    let aligned = format!("{schedule} aligned to start at {start:.1} s (±{half_width:.1} s)");
    if let Some(t) = out.rollback_at {
        return (Verdict::Rollback, rollback_reason(new, t));
    }
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
                "{} of {} judged steps deviated; first: step {} expected {:.0}% of version {new}, observed {:.1}% (interval {:.1}%..{:.1}%) over {} requests; {aligned}.",
                deviated.len(),
                out.steps.len()
                    - count(StepVerdict::Insufficient)
                    - count(StepVerdict::NotObserved),
                first.index,
                first.expected_share * 100.0,
                pct(first.observed_share),
                pct(first.ci_low),
                pct(first.ci_high),
                first.requests,
            ),
        );
    }
    if let Some(b) = early {
        return (
            Verdict::Deviated,
            format!(
                "version {new} served {} of {} requests ({:.1}%, at least {:.1}%) before the deployment's aligned start: it started earlier than the schedule explains (e.g. a step held past its end); {aligned}.",
                b.new_requests,
                b.requests,
                b.new_requests as f64 / b.requests as f64 * 100.0,
                b.ci_low * 100.0,
            ),
        );
    }
    let followed = count(StepVerdict::Followed);
    if followed == 0 {
        return (
            Verdict::Inconclusive,
            format!(
                "no step had at least {min_requests} requests outside the guard bands to judge; {aligned}."
            ),
        );
    }
    let mut reason = format!("all {followed} judged steps followed the schedule; {aligned}");
    let (insufficient, unobserved) = (
        count(StepVerdict::Insufficient),
        count(StepVerdict::NotObserved),
    );
    if insufficient + unobserved > 0 {
        reason += &format!(" ({insufficient} with too few requests, {unobserved} not observed)");
    }
    reason.push('.');
    if let Some(s) = out.sensitivity.as_ref().filter(|s| s.insufficient) {
        reason += &insufficient_sensitivity(s, &out.steps);
    }
    (Verdict::Followed, reason)
}

/// What a `followed` verdict could not have caught, as a sentence to append to its reason.
fn insufficient_sensitivity(s: &Sensitivity, steps: &[StepReport]) -> String {
    let seen = steps
        .iter()
        .find(|r| r.index == s.step)
        .map_or(0, |r| r.requests);
    format!(
        " This run could not have detected a deviation smaller than {:.1} points in step {} \
         ({:.0}% power; threshold {:.1} points): run longer or faster (that step needed about \
         {} requests outside the guard bands, it had {seen}).",
        s.min_detectable_deviation * 100.0,
        s.step,
        s.power * 100.0,
        s.threshold * 100.0,
        s.requests_needed,
    )
}

/// The overall verdict of a run and its reason, from the split analysis, whether the error
/// budget was exceeded, and whether any response carried a version.
///
/// Precedence: no tagged response at all → `Inconclusive`; then `Rollback` > `ErrorBudget` >
/// `Deviated` > `Inconclusive` > `Followed`/`Completed`.
pub fn overall(
    split: &SplitAnalysis,
    error_budget_exceeded: bool,
    any_tagged: bool,
) -> (Verdict, String) {
    overall_with_conformance(split, None, error_budget_exceeded, any_tagged)
}

/// [`overall`] for a run that also compared the alias with a schedule
/// ([`crate::configured::conformance`]): the two planes' findings in one verdict.
///
/// Precedence: `Rollback` > `ErrorBudget` > `Deviated` (the clients against the alias, or the
/// schedule: `split`) > `Deviated` (the alias against the schedule: `conformance` not
/// followed) > `Inconclusive` > `Followed`/`Completed`. The reason says which plane deviated;
/// when both followed, it says so for both.
pub fn overall_with_conformance(
    split: &SplitAnalysis,
    conformance: Option<&ScheduleConformance>,
    error_budget_exceeded: bool,
    any_tagged: bool,
) -> (Verdict, String) {
    let (verdict, reason) = overall_of_split(split, error_budget_exceeded, any_tagged);
    match (verdict, conformance) {
        (Verdict::Rollback | Verdict::ErrorBudget | Verdict::Deviated, _) | (_, None) => {
            (verdict, reason)
        }
        (_, Some(c)) if !c.followed => (
            Verdict::Deviated,
            format!("{}. Against the alias: {reason}", c.reason),
        ),
        (_, Some(c)) => (verdict, format!("{reason} {}.", capitalized(&c.reason))),
    }
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

fn overall_of_split(
    split: &SplitAnalysis,
    error_budget_exceeded: bool,
    any_tagged: bool,
) -> (Verdict, String) {
    if !any_tagged {
        return (
            Verdict::Inconclusive,
            "no response carried a version: check the version header (--version-header) or source"
                .to_owned(),
        );
    }
    match split.verdict {
        Verdict::Rollback => (Verdict::Rollback, split.reason.clone()),
        _ if error_budget_exceeded => (
            Verdict::ErrorBudget,
            format!(
                "the error rate exceeded the budget; split: {}",
                split.reason
            ),
        ),
        verdict => (verdict, split.reason.clone()),
    }
}
