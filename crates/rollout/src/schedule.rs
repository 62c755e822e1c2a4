//! CodeDeploy-style traffic-shifting schedules for Lambda aliases.
//!
//! A [`Schedule`] says which share of the traffic the new version should get at each moment,
//! in seconds since the deployment started (DESIGN.md "Schedules", LAMBDA-FACTS.md §6):
//!
//! - Canary X%/T: X% from t = 0, 100% from t = T; the deployment ends at T.
//! - Linear X%/T: X% at t = 0, +X% at each multiple of T, capped at 100%; 100% is reached at
//!   `(ceil(100 / X) - 1)·T` (9·T for 10%), and the deployment ends
//!   [`LINEAR_FINAL_INTERVALS`] intervals later (AWS does not document that final wait).
//! - AllAtOnce: 100% at t = 0.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Intervals a linear deployment waits after reaching 100% before it ends.
///
/// AWS does not document this precisely (LAMBDA-FACTS.md §6): the API reading puts 100% at 9·I for
/// 10% steps, the SAM docs say the deployment takes 10·I. One interval fits both. The analysis
/// does not depend on it: the 100% step is judged up to the end of the observed period.
pub const LINEAR_FINAL_INTERVALS: f64 = 1.0;

/// The predefined CodeDeploy Lambda configurations, by short name.
///
/// The full names are these prefixed with `CodeDeployDefault.Lambda`.
pub const PREDEFINED: [&str; 9] = predefined_names();

/// Every predefined configuration with its parameters (CodeDeploy `CodeDeployDefault.Lambda*`):
/// the one table behind [`PREDEFINED`] and the parser.
const PREDEFINED_CONFIGS: [(&str, ScheduleKind); 9] = [
    ("Canary10Percent5Minutes", canary_minutes(5.0)),
    ("Canary10Percent10Minutes", canary_minutes(10.0)),
    ("Canary10Percent15Minutes", canary_minutes(15.0)),
    ("Canary10Percent30Minutes", canary_minutes(30.0)),
    ("Linear10PercentEvery1Minute", linear_minutes(1.0)),
    ("Linear10PercentEvery2Minutes", linear_minutes(2.0)),
    ("Linear10PercentEvery3Minutes", linear_minutes(3.0)),
    ("Linear10PercentEvery10Minutes", linear_minutes(10.0)),
    ("AllAtOnce", ScheduleKind::AllAtOnce),
];

const fn canary_minutes(minutes: f64) -> ScheduleKind {
    ScheduleKind::Canary {
        percent: 10.0,
        interval_secs: minutes * 60.0,
    }
}

const fn linear_minutes(minutes: f64) -> ScheduleKind {
    ScheduleKind::Linear {
        percent: 10.0,
        interval_secs: minutes * 60.0,
    }
}

const fn predefined_names() -> [&'static str; 9] {
    let mut names = [""; 9];
    let mut i = 0;
    while i < names.len() {
        names[i] = PREDEFINED_CONFIGS[i].0;
        i += 1;
    }
    names
}

/// Prefix of the full names of the predefined Lambda configurations.
pub const FULL_NAME_PREFIX: &str = "CodeDeployDefault.Lambda";

const CUSTOM_SYNTAX: &str = "canary:<percent>%:<interval> or linear:<percent>%:<interval>, \
     with a percent in (0, 100) and an interval like 30s, 5m or 1.5h";

/// One step of a schedule: the new version's share from `start` to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position in the schedule, from 0.
    pub index: usize,
    /// Start, seconds since the deployment started.
    pub start: f64,
    /// End, seconds since the deployment started (the next step's start).
    pub end: f64,
    /// Share of the traffic the new version gets, in `(0, 1]`.
    pub share: f64,
}

impl Step {
    /// Length of the step in seconds.
    pub fn duration(&self) -> f64 {
        self.end - self.start
    }
}

/// The kind of a schedule and its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScheduleKind {
    /// All traffic shifts at once.
    AllAtOnce,
    /// `percent` first, the rest `interval_secs` later.
    Canary {
        /// Percent shifted in the first increment, in (0, 100).
        percent: f64,
        /// Seconds between the two increments.
        interval_secs: f64,
    },
    /// `percent` more every `interval_secs`, starting at once.
    Linear {
        /// Percent shifted at the start of each increment, in (0, 100).
        percent: f64,
        /// Seconds between increments.
        interval_secs: f64,
    },
}

/// Why a schedule could not be parsed or built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScheduleError {
    /// Not a predefined name nor the custom syntax.
    #[error(
        "unknown schedule {input:?}: expected one of {} (or with the prefix {FULL_NAME_PREFIX}), or {CUSTOM_SYNTAX}",
        PREDEFINED.join(", ")
    )]
    UnknownName {
        /// The input as given.
        input: String,
    },
    /// The percent of a custom schedule is not a number in (0, 100).
    #[error(
        "schedule {input:?}: the percent {value:?} must be a number in (0, 100); expected {CUSTOM_SYNTAX}"
    )]
    BadPercent {
        /// The input as given.
        input: String,
        /// The offending percent.
        value: String,
    },
    /// The interval of a custom schedule is malformed or not positive.
    #[error("schedule {input:?}: the interval {value:?} {reason}; expected {CUSTOM_SYNTAX}")]
    BadInterval {
        /// The input as given.
        input: String,
        /// The offending interval.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A custom schedule without the expected three parts.
    #[error("schedule {input:?}: {reason}; expected {CUSTOM_SYNTAX}")]
    Malformed {
        /// The input as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A time-scale factor that is not a finite number > 0.
    #[error(
        "time scale {factor} must be a finite number greater than 0 (e.g. 60 to run a 10-minute schedule in 10 s)"
    )]
    BadTimeScale {
        /// The offending factor.
        factor: f64,
    },
}

/// A traffic-shifting schedule: the expected share of the new version over time.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    name: String,
    kind: ScheduleKind,
    steps: Vec<Step>,
    full_shift_at: f64,
    total_duration: f64,
}

impl Schedule {
    /// Parses a predefined name (short or full, case-insensitive) or a custom
    /// `canary:<pct>%:<interval>` / `linear:<pct>%:<interval>` schedule.
    pub fn parse(input: &str) -> Result<Self, ScheduleError> {
        let trimmed = input.trim();
        let lower = trimmed.to_ascii_lowercase();
        if let Some(rest) = lower
            .strip_prefix("canary:")
            .map(|r| (true, r))
            .or_else(|| lower.strip_prefix("linear:").map(|r| (false, r)))
        {
            return parse_custom(input, rest.0, rest.1);
        }
        let short = lower
            .strip_prefix(&FULL_NAME_PREFIX.to_ascii_lowercase())
            .unwrap_or(&lower);
        let (canonical, kind) = PREDEFINED_CONFIGS
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(short))
            .ok_or_else(|| ScheduleError::UnknownName {
                input: input.to_owned(),
            })?;
        Ok(Self::build((*canonical).to_owned(), *kind))
    }

    /// A canary schedule: `percent` at once, 100% after `interval_secs`.
    pub fn canary(percent: f64, interval_secs: f64) -> Result<Self, ScheduleError> {
        let kind = ScheduleKind::Canary {
            percent,
            interval_secs,
        };
        check_custom(&kind)?;
        Ok(Self::build(
            format!("canary:{percent}%:{}", fmt_secs(interval_secs)),
            kind,
        ))
    }

    /// A linear schedule: `percent` more every `interval_secs`, starting at once.
    pub fn linear(percent: f64, interval_secs: f64) -> Result<Self, ScheduleError> {
        let kind = ScheduleKind::Linear {
            percent,
            interval_secs,
        };
        check_custom(&kind)?;
        Ok(Self::build(
            format!("linear:{percent}%:{}", fmt_secs(interval_secs)),
            kind,
        ))
    }

    /// All traffic to the new version at once.
    pub fn all_at_once() -> Self {
        Self::build("AllAtOnce".to_owned(), ScheduleKind::AllAtOnce)
    }

    /// The same schedule running `factor` times faster (durations divided by `factor`); the name
    /// gets a ` x<factor>` suffix.
    pub fn time_scaled(&self, factor: f64) -> Result<Self, ScheduleError> {
        if !(factor.is_finite() && factor > 0.0) {
            return Err(ScheduleError::BadTimeScale { factor });
        }
        let scale = |s: f64| s / factor;
        let kind = match self.kind {
            ScheduleKind::AllAtOnce => ScheduleKind::AllAtOnce,
            ScheduleKind::Canary {
                percent,
                interval_secs,
            } => ScheduleKind::Canary {
                percent,
                interval_secs: scale(interval_secs),
            },
            ScheduleKind::Linear {
                percent,
                interval_secs,
            } => ScheduleKind::Linear {
                percent,
                interval_secs: scale(interval_secs),
            },
        };
        if let ScheduleKind::Canary { interval_secs, .. }
        | ScheduleKind::Linear { interval_secs, .. } = kind
            && !(interval_secs.is_finite() && interval_secs > 0.0)
        {
            return Err(ScheduleError::BadTimeScale { factor });
        }
        Ok(Self::build(format!("{} x{factor}", self.name), kind))
    }

    /// The schedule's name: the canonical short name, the custom spec, plus any time-scale note.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The kind of schedule and its parameters (intervals already time-scaled).
    pub fn kind(&self) -> ScheduleKind {
        self.kind
    }

    /// The steps in order; the last one has share 1.0 and runs from [`Self::full_shift_at`] to
    /// [`Self::total_duration`] (zero length for canary and all-at-once schedules).
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// Seconds from the deployment start to its end.
    pub fn total_duration(&self) -> f64 {
        self.total_duration
    }

    /// Seconds from the deployment start until the new version gets all traffic.
    pub fn full_shift_at(&self) -> f64 {
        self.full_shift_at
    }

    /// The new version's expected share `secs_since_start` seconds after the deployment started:
    /// 0 before the start, 1 from [`Self::full_shift_at`] on.
    pub fn expected_share(&self, secs_since_start: f64) -> f64 {
        if secs_since_start < 0.0 || secs_since_start.is_nan() {
            return 0.0;
        }
        if secs_since_start >= self.full_shift_at {
            return 1.0;
        }
        self.steps
            .iter()
            .find(|s| secs_since_start < s.end)
            .map_or(1.0, |s| s.share)
    }

    fn build(name: String, kind: ScheduleKind) -> Self {
        let (shares, interval, final_wait): (Vec<f64>, f64, f64) = match kind {
            ScheduleKind::AllAtOnce => (vec![1.0], 0.0, 0.0),
            ScheduleKind::Canary {
                percent,
                interval_secs,
            } => (vec![percent / 100.0, 1.0], interval_secs, 0.0),
            ScheduleKind::Linear {
                percent,
                interval_secs,
            } => {
                // Tolerate float noise so that 100 / 10 gives exactly 10 increments.
                let increments = ((100.0 / percent) - 1e-9).ceil().max(1.0) as usize;
                let shares = (1..=increments)
                    .map(|k| {
                        if k == increments {
                            1.0
                        } else {
                            (k as f64 * percent / 100.0).min(1.0)
                        }
                    })
                    .collect();
                (
                    shares,
                    interval_secs,
                    LINEAR_FINAL_INTERVALS * interval_secs,
                )
            }
        };
        let last = shares.len() - 1;
        let full_shift_at = last as f64 * interval;
        let total_duration = full_shift_at + final_wait;
        let steps = shares
            .into_iter()
            .enumerate()
            .map(|(index, share)| Step {
                index,
                start: index as f64 * interval,
                end: if index == last {
                    total_duration
                } else {
                    (index + 1) as f64 * interval
                },
                share,
            })
            .collect();
        Self {
            name,
            kind,
            steps,
            full_shift_at,
            total_duration,
        }
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

fn parse_custom(input: &str, canary: bool, rest: &str) -> Result<Schedule, ScheduleError> {
    let mut parts = rest.split(':');
    let (Some(pct), Some(interval), None) = (parts.next(), parts.next(), parts.next()) else {
        return Err(ScheduleError::Malformed {
            input: input.to_owned(),
            reason: "a custom schedule has exactly three parts separated by ':'",
        });
    };
    let pct_text = pct.trim();
    let percent = pct_text
        .strip_suffix('%')
        .unwrap_or(pct_text)
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|p| p.is_finite() && *p > 0.0 && *p < 100.0)
        .ok_or_else(|| ScheduleError::BadPercent {
            input: input.to_owned(),
            value: pct_text.to_owned(),
        })?;
    let interval_secs = parse_interval(input, interval.trim())?;
    let kind = if canary {
        ScheduleKind::Canary {
            percent,
            interval_secs,
        }
    } else {
        ScheduleKind::Linear {
            percent,
            interval_secs,
        }
    };
    let name = format!(
        "{}:{percent}%:{}",
        if canary { "canary" } else { "linear" },
        interval.trim()
    );
    Ok(Schedule::build(name, kind))
}

fn parse_interval(input: &str, text: &str) -> Result<f64, ScheduleError> {
    let bad = |reason| ScheduleError::BadInterval {
        input: input.to_owned(),
        value: text.to_owned(),
        reason,
    };
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => return Err(bad("needs a unit: s, m or h")),
    };
    let factor = match unit {
        's' => 1.0,
        'm' => 60.0,
        'h' => 3600.0,
        _ => return Err(bad("has an unknown unit (use s, m or h)")),
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| bad("is not a number followed by s, m or h"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(bad("must be greater than zero"));
    }
    Ok(value * factor)
}

fn check_custom(kind: &ScheduleKind) -> Result<(), ScheduleError> {
    if let ScheduleKind::Canary {
        percent,
        interval_secs,
    }
    | ScheduleKind::Linear {
        percent,
        interval_secs,
    } = *kind
    {
        let input = format!("{kind:?}");
        if !(percent.is_finite() && percent > 0.0 && percent < 100.0) {
            return Err(ScheduleError::BadPercent {
                input,
                value: percent.to_string(),
            });
        }
        if !(interval_secs.is_finite() && interval_secs > 0.0) {
            return Err(ScheduleError::BadInterval {
                input,
                value: interval_secs.to_string(),
                reason: "must be greater than zero",
            });
        }
    }
    Ok(())
}

fn fmt_secs(secs: f64) -> String {
    format!("{secs}s")
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
