//! Alarm evaluation with CloudWatch's semantics (CloudWatch User Guide, "Evaluating an alarm"
//! and "How alarm state is evaluated when data is missing").
//!
//! Periods are aligned to the epoch: period k covers `[k·P, (k+1)·P)` milliseconds, P being
//! `Period / time_scale` seconds. At each period boundary the alarm looks at its *evaluation
//! range*, the `EvaluationPeriods + 2` periods that ended last (the docs' tables retrieve 5
//! datapoints for 3 evaluation periods; the real range depends on the period, so this is an
//! assumption), and [`decide`]s its state.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alarm::{AlarmSpec, MissingData, PutMetricAlarm, Query};
use crate::error::AlarmError;
use crate::stat::Samples;
use crate::store::{IngestReport, MetricStore};

/// Periods retrieved beyond `EvaluationPeriods` (the docs' tables: 5 for 3).
pub const EXTRA_RANGE_PERIODS: u32 = 2;

/// An alarm's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum AlarmState {
    /// `OK`
    #[serde(rename = "OK")]
    Ok,
    /// `ALARM`
    #[serde(rename = "ALARM")]
    Alarm,
    /// `INSUFFICIENT_DATA` (every alarm starts here).
    #[serde(rename = "INSUFFICIENT_DATA")]
    InsufficientData,
}

/// One period of an evaluation range.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Datapoint {
    /// Start of the period, epoch milliseconds.
    pub timestamp_ms: i64,
    /// The alarm's value for the period; `None`: missing.
    pub value: Option<f64>,
    /// Whether the value breaches the threshold; `None` when missing.
    pub breaching: Option<bool>,
    /// Counted in the decision (the most recent `EvaluationPeriods` real datapoints).
    pub evaluated: bool,
}

/// A state change, with the evaluation range that caused it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlarmTransition {
    /// `AlarmName`.
    pub alarm: String,
    /// Previous state.
    pub from: AlarmState,
    /// New state.
    pub to: AlarmState,
    /// The evaluation instant (a period boundary), epoch milliseconds.
    pub at_ms: i64,
    /// Why, in CloudWatch's manner.
    pub reason: String,
    /// The evaluation range, oldest first.
    pub datapoints: Vec<Datapoint>,
}

#[derive(Debug, Clone)]
struct Running {
    spec: AlarmSpec,
    period_ms: i64,
    state: AlarmState,
    last_boundary_ms: i64,
}

/// The lab's CloudWatch: metrics from EMF documents and the metric alarms on them. Pure: the
/// caller passes the time.
#[derive(Debug, Clone)]
pub struct CloudWatch {
    store: MetricStore,
    alarms: BTreeMap<String, Running>,
    time_scale: f64,
}

impl CloudWatch {
    /// A CloudWatch whose periods last `Period / time_scale` seconds (60 s -> 1 s at 60).
    pub fn new(time_scale: f64) -> Result<Self, AlarmError> {
        if !(time_scale.is_finite() && time_scale >= 1.0) {
            return Err(AlarmError::invalid(
                "time scale",
                format!(
                    "{time_scale} is not a factor >= 1; use 1 for real time, 60 for 1 s per minute"
                ),
            ));
        }
        Ok(Self {
            store: MetricStore::new(),
            alarms: BTreeMap::new(),
            time_scale,
        })
    }

    /// Adds an EMF document's samples.
    pub fn ingest(&mut self, doc: &protocol::emf::Document) -> IngestReport {
        self.store.ingest(doc)
    }

    /// The metric store.
    pub fn store(&self) -> &MetricStore {
        &self.store
    }

    /// Mutable metric store (e.g. to prune it).
    pub fn store_mut(&mut self) -> &mut MetricStore {
        &mut self.store
    }

    /// Creates or replaces an alarm at `now_ms`. A new alarm starts in INSUFFICIENT_DATA; a
    /// replaced one keeps its state (as PutMetricAlarm does). Evaluation starts at the next
    /// period boundary.
    pub fn put_metric_alarm(
        &mut self,
        request: &PutMetricAlarm,
        now_ms: i64,
    ) -> Result<(), AlarmError> {
        let spec = request.validate()?;
        let period_ms = (f64::from(spec.period_s) * 1000.0 / self.time_scale).round() as i64;
        if period_ms < 1 {
            return Err(AlarmError::invalid(
                "Period",
                format!(
                    "{} s at time scale {} is shorter than a millisecond; use a longer period or a smaller scale",
                    spec.period_s, self.time_scale
                ),
            ));
        }
        let state = self
            .alarms
            .get(&spec.name)
            .map_or(AlarmState::InsufficientData, |a| a.state);
        self.alarms.insert(
            spec.name.clone(),
            Running {
                spec,
                period_ms,
                state,
                last_boundary_ms: now_ms.div_euclid(period_ms) * period_ms,
            },
        );
        Ok(())
    }

    /// Deletes an alarm; false if there was none.
    pub fn delete_alarm(&mut self, name: &str) -> bool {
        self.alarms.remove(name).is_some()
    }

    /// An alarm's state.
    pub fn state(&self, name: &str) -> Option<AlarmState> {
        self.alarms.get(name).map(|a| a.state)
    }

    /// Every alarm's name and state.
    pub fn states(&self) -> impl Iterator<Item = (&str, AlarmState)> {
        self.alarms.iter().map(|(n, a)| (n.as_str(), a.state))
    }

    /// The scaled period of an alarm in milliseconds.
    pub fn period_ms(&self, name: &str) -> Option<i64> {
        self.alarms.get(name).map(|a| a.period_ms)
    }

    /// Evaluates every alarm at each period boundary passed since its last evaluation, up to
    /// `now_ms`, and returns the state changes in time order.
    pub fn evaluate(&mut self, now_ms: i64) -> Vec<AlarmTransition> {
        let mut out = Vec::new();
        for alarm in self.alarms.values_mut() {
            let latest = now_ms.div_euclid(alarm.period_ms) * alarm.period_ms;
            let mut boundary = alarm.last_boundary_ms + alarm.period_ms;
            while boundary <= latest {
                if let Some(t) = step(&self.store, alarm, boundary) {
                    out.push(t);
                }
                alarm.last_boundary_ms = boundary;
                boundary += alarm.period_ms;
            }
        }
        out.sort_by_key(|t| t.at_ms);
        out
    }
}

/// One evaluation at `boundary`.
fn step(store: &MetricStore, alarm: &mut Running, boundary: i64) -> Option<AlarmTransition> {
    let spec = &alarm.spec;
    let range = (spec.evaluation_periods + EXTRA_RANGE_PERIODS) as i64;
    let p = alarm.period_ms;
    let mut datapoints = Vec::with_capacity(range as usize);
    let mut low_samples = Vec::with_capacity(range as usize);
    for i in 0..range {
        let start = boundary - (range - i) * p;
        let (value, low) = value_at(store, spec, start, start + p);
        datapoints.push(Datapoint {
            timestamp_ms: start,
            value,
            breaching: value.map(|v| spec.comparison.breaches(v, spec.threshold)),
            evaluated: false,
        });
        low_samples.push(low);
    }
    let points: Vec<Option<bool>> = datapoints.iter().map(|d| d.breaching).collect();
    let decision = decide(
        &points,
        spec.datapoints_to_alarm,
        spec.evaluation_periods,
        spec.missing,
        alarm.state,
    );
    for &i in &decision.evaluated {
        datapoints[i].evaluated = true;
    }
    let low = decision.evaluated.iter().any(|&i| low_samples[i]);
    if spec.ignore_low_sample_percentiles && low {
        return None;
    }
    let from = alarm.state;
    if decision.state == from {
        return None;
    }
    alarm.state = decision.state;
    Some(AlarmTransition {
        alarm: spec.name.clone(),
        from,
        to: decision.state,
        at_ms: boundary,
        reason: decision.reason(spec),
        datapoints,
    })
}

/// The result query's value for `[start, end)` and whether a percentile had too few samples.
fn value_at(store: &MetricStore, spec: &AlarmSpec, start: i64, end: i64) -> (Option<f64>, bool) {
    let mut values: BTreeMap<String, Option<f64>> = BTreeMap::new();
    let mut low = false;
    for id in &spec.order {
        let v = match &spec.queries[id] {
            Query::Stat { metric, stat, unit } => {
                let samples: Samples = store.samples(metric, unit.as_deref(), start, end);
                if *id == spec.result {
                    low = stat
                        .min_significant_samples()
                        .is_some_and(|min| samples.count > 0.0 && samples.count < min);
                }
                samples.statistic(*stat)
            }
            Query::Math(e) => e.eval(&values),
        };
        values.insert(id.clone(), v);
    }
    (values.get(&spec.result).copied().flatten(), low)
}

/// The outcome of one evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The new state.
    pub state: AlarmState,
    /// Indices of the real datapoints counted.
    pub evaluated: Vec<usize>,
    /// Breaching datapoints counted, including missing ones filled as breaching.
    pub breaching: u32,
    /// Missing datapoints filled by the treatment.
    pub filled: u32,
}

impl Decision {
    fn reason(&self, spec: &AlarmSpec) -> String {
        let treatment = match spec.missing {
            MissingData::Missing => "missing",
            MissingData::NotBreaching => "notBreaching",
            MissingData::Breaching => "breaching",
            MissingData::Ignore => "ignore",
        };
        format!(
            "{} of the last {} datapoints breached the threshold ({:?} {}; {} needed for ALARM); \
             {} missing datapoints treated as {treatment}",
            self.breaching,
            spec.evaluation_periods,
            spec.comparison,
            spec.threshold,
            spec.datapoints_to_alarm,
            self.filled,
        )
    }
}

/// The state for an evaluation range (`Some(breaching)` per period, `None` when missing; oldest
/// first), M = `datapoints_to_alarm` out of N = `evaluation_periods`.
///
/// Following the User Guide: with at least N real datapoints the N most recent decide and the
/// treatment of missing data is not used. With fewer, every real datapoint counts and missing
/// ones fill the rest, as few as possible: `breaching` counts them as breaching,
/// `notBreaching` as not. `missing` and `ignore` do not fill: ALARM when M real datapoints
/// breach, OK when a real datapoint does not breach; otherwise (no real datapoint, or only
/// breaching ones short of M) `ignore` keeps the state and `missing` goes to
/// INSUFFICIENT_DATA — except that it goes to ALARM when the oldest datapoint evaluated is a
/// real breaching one (the fills taking the most recent missing periods), which is how the
/// docs' table puts `X - - - -` in ALARM but `- - - - X` in INSUFFICIENT_DATA.
pub fn decide(
    points: &[Option<bool>],
    m: u32,
    n: u32,
    missing: MissingData,
    current: AlarmState,
) -> Decision {
    let real: Vec<usize> = (0..points.len()).filter(|&i| points[i].is_some()).collect();
    let breaches = |idx: &[usize]| idx.iter().filter(|&&i| points[i] == Some(true)).count() as u32;
    let threshold_state = |b: u32| {
        if b >= m {
            AlarmState::Alarm
        } else {
            AlarmState::Ok
        }
    };
    if real.len() >= n as usize {
        let evaluated = real[real.len() - n as usize..].to_vec();
        let b = breaches(&evaluated);
        return Decision {
            state: threshold_state(b),
            evaluated,
            breaching: b,
            filled: 0,
        };
    }
    let filled = n - real.len() as u32;
    let b = breaches(&real);
    let state = match missing {
        MissingData::Breaching => {
            return decision(threshold_state(b + filled), real, b + filled, filled);
        }
        MissingData::NotBreaching => threshold_state(b),
        _ if b >= m => AlarmState::Alarm,
        _ if (b as usize) < real.len() => AlarmState::Ok,
        MissingData::Ignore => current,
        MissingData::Missing => {
            let missing_idx: Vec<usize> =
                (0..points.len()).filter(|&i| points[i].is_none()).collect();
            let fills = &missing_idx[missing_idx.len().saturating_sub(filled as usize)..];
            let oldest_is_real = match (real.first(), fills.first()) {
                (Some(r), Some(f)) => r < f,
                (Some(_), None) => true,
                _ => false,
            };
            if oldest_is_real {
                AlarmState::Alarm
            } else {
                AlarmState::InsufficientData
            }
        }
    };
    decision(state, real, b, filled)
}

fn decision(state: AlarmState, evaluated: Vec<usize>, breaching: u32, filled: u32) -> Decision {
    Decision {
        state,
        evaluated,
        breaching,
        filled,
    }
}
