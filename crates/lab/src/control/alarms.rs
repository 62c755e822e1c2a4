//! The lab plays CloudWatch for its alarms (issue 10, item 5): every line the environments
//! print goes through [`cloudwatch::parse_emf_line`] into one lab-wide metric store; a task
//! evaluates the alarms at their (time-scaled) period boundaries and publishes each transition
//! to the [`EventLog`] and to the subscribers of [`AlarmSource`] (the deployment engine).
//!
//! Evaluation of the boundary `B` runs at `B + grace`, `grace` being a quarter of the alarm's
//! (scaled) period, at most [`MAX_GRACE`]: EMF documents stamped before `B` but still on their
//! way (an extension flushes periodically; lines cross a pipe) count for the period they belong
//! to. The transition carries `B` as its instant, as CloudWatch's would.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

pub use cloudwatch::AlarmState;
use cloudwatch::{AlarmError, AlarmTransition, CloudWatch, PutMetricAlarm, parse_emf_line};

use super::events::{Event, EventLog};
use crate::env::{LineTap, LogLine, LogSource};

/// What the deployment engine reads alarms through.
pub trait AlarmSource: Send + Sync {
    /// The state of `alarm_name`, `None` when no such alarm exists.
    fn state(&self, alarm_name: &str) -> Option<AlarmState>;
    /// A receiver whose value is bumped on every transition of any alarm.
    fn subscribe(&self) -> watch::Receiver<u64>;
}

/// Longest wait after a period boundary before evaluating it.
pub const MAX_GRACE: Duration = Duration::from_secs(5);

/// Samples older than this many evaluation ranges of the longest alarm are forgotten...
const KEEP_RANGES: i64 = 4;

/// ... but never younger than an hour (time-scaled), so that an alarm defined later (a
/// deployment group's) finds the recent past, as in CloudWatch.
const MIN_RETENTION_MS: i64 = 3_600_000;

/// Documents ingested between two prunings when no evaluation prunes (no alarm yet).
const PRUNE_EVERY_DOCS: u64 = 1024;

/// A refused alarm file: which file, and why.
#[derive(Debug, thiserror::Error)]
pub enum AlarmFileError {
    /// The file cannot be read.
    #[error("--alarm {path}: cannot read it: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The alarm is refused (not PutMetricAlarm's JSON, or a field CloudWatch would refuse).
    #[error("--alarm {path}: {source}")]
    Alarm {
        /// The file.
        path: String,
        /// What is wrong and how to fix it.
        source: AlarmError,
    },
}

#[derive(Debug)]
struct State {
    cloudwatch: CloudWatch,
    /// Scaled evaluation range (`(EvaluationPeriods + 2) * period`) per alarm, to prune.
    ranges: BTreeMap<String, i64>,
    /// Every transition so far, in order.
    history: Vec<AlarmTransition>,
    /// Lines that looked like EMF but were refused, counted (warned about once).
    bad_lines: u64,
    /// Documents ingested.
    docs: u64,
}

impl State {
    /// Forgets the samples no alarm can look at any more.
    fn prune(&mut self, now_ms: i64, time_scale: f64) {
        let longest = self.ranges.values().max().copied().unwrap_or(0);
        let keep = (KEEP_RANGES * longest).max((MIN_RETENTION_MS as f64 / time_scale) as i64);
        self.cloudwatch.store_mut().prune_before(now_ms - keep);
    }
}

/// The lab's CloudWatch: metrics from the environments' EMF lines and the alarms on them.
#[derive(Debug)]
pub struct LabCloudWatch {
    state: Mutex<State>,
    time_scale: f64,
    transitions: watch::Sender<u64>,
    alarms_changed: Arc<Notify>,
    events: Arc<EventLog>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl LabCloudWatch {
    /// A CloudWatch whose periods last `Period / time_scale`, recording transitions in `events`.
    pub fn new(time_scale: f64, events: Arc<EventLog>) -> Result<Arc<Self>, AlarmError> {
        Ok(Arc::new(Self {
            state: Mutex::new(State {
                cloudwatch: CloudWatch::new(time_scale)?,
                ranges: BTreeMap::new(),
                history: Vec::new(),
                bad_lines: 0,
                docs: 0,
            }),
            time_scale,
            transitions: watch::channel(0).0,
            alarms_changed: Arc::new(Notify::new()),
            events,
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The time scale periods shrink by.
    pub fn time_scale(&self) -> f64 {
        self.time_scale
    }

    /// Reads one stdout line: an EMF document goes into the metric store; anything else is
    /// ignored. A line that looks like EMF but is not a valid document is counted and warned
    /// about once (CloudWatch drops it too).
    pub fn ingest_line(&self, line: &str) {
        let doc = match parse_emf_line(line) {
            None => return,
            Some(Ok(doc)) => doc,
            Some(Err(problem)) => {
                let first = {
                    let mut st = self.lock();
                    st.bad_lines += 1;
                    st.bad_lines == 1
                };
                if first {
                    tracing::warn!(%problem, "an EMF line was dropped (further ones are counted, not logged)");
                }
                return;
            }
        };
        let report = {
            let mut st = self.lock();
            st.docs += 1;
            if st.docs % PRUNE_EVERY_DOCS == 0 {
                st.prune(now_ms(), self.time_scale);
            }
            st.cloudwatch.ingest(&doc)
        };
        if !report.skipped.is_empty() {
            tracing::debug!(skipped = ?report.skipped, "parts of an EMF document were skipped");
        }
    }

    /// Creates or replaces an alarm (PutMetricAlarm); evaluation starts at its next period
    /// boundary.
    pub fn put_metric_alarm(&self, request: &PutMetricAlarm) -> Result<(), AlarmError> {
        let spec = request.validate()?;
        {
            let mut st = self.lock();
            st.cloudwatch.put_metric_alarm(request, now_ms())?;
            let period = st.cloudwatch.period_ms(&spec.name).unwrap_or(1);
            let range = i64::from(spec.evaluation_periods + cloudwatch::eval::EXTRA_RANGE_PERIODS);
            st.ranges.insert(spec.name.clone(), range * period);
        }
        tracing::info!(alarm = %spec.name, "alarm defined");
        self.alarms_changed.notify_one();
        Ok(())
    }

    /// [`Self::put_metric_alarm`] from PutMetricAlarm's JSON (`--cli-input-json`); the alarm's
    /// name.
    pub fn put_metric_alarm_json(&self, json: &str) -> Result<String, AlarmError> {
        let request = PutMetricAlarm::from_json(json)?;
        self.put_metric_alarm(&request)?;
        Ok(request.alarm_name)
    }

    /// Defines the alarm of a PutMetricAlarm JSON file (`rollcall-lab serve --alarm FILE`).
    pub fn load_alarm_file(&self, path: &Path) -> Result<String, AlarmFileError> {
        let shown = path.display().to_string();
        let json = std::fs::read_to_string(path).map_err(|source| AlarmFileError::Read {
            path: shown.clone(),
            source,
        })?;
        self.put_metric_alarm_json(&json)
            .map_err(|source| AlarmFileError::Alarm {
                path: shown,
                source,
            })
    }

    /// Deletes an alarm; false if there was none.
    pub fn delete_alarm(&self, name: &str) -> bool {
        let mut st = self.lock();
        st.ranges.remove(name);
        st.cloudwatch.delete_alarm(name)
    }

    /// Every alarm's state, by name.
    pub fn states(&self) -> BTreeMap<String, AlarmState> {
        self.lock()
            .cloudwatch
            .states()
            .map(|(n, s)| (n.to_owned(), s))
            .collect()
    }

    /// Every transition so far, oldest first.
    pub fn history(&self) -> Vec<AlarmTransition> {
        self.lock().history.clone()
    }

    /// Evaluates every alarm at each period boundary up to `now_ms` and publishes the
    /// transitions (event log, subscribers); returns them.
    pub fn evaluate(&self, now_ms: i64) -> Vec<AlarmTransition> {
        let transitions = {
            let mut st = self.lock();
            let transitions = st.cloudwatch.evaluate(now_ms);
            st.history.extend(transitions.iter().cloned());
            st.prune(now_ms, self.time_scale);
            // Recorded before the lock is released: whoever reads a new state finds its
            // transition in the event log already.
            for t in &transitions {
                self.events.record(Event::alarm_transition(t));
            }
            transitions
        };
        if !transitions.is_empty() {
            self.transitions
                .send_modify(|n| *n += transitions.len() as u64);
        }
        transitions
    }

    /// When to evaluate next (epoch ms): the earliest `next boundary + grace` of any alarm.
    fn next_evaluation_ms(&self, now_ms: i64) -> Option<i64> {
        let st = self.lock();
        st.ranges
            .keys()
            .filter_map(|name| st.cloudwatch.period_ms(name))
            .map(|p| {
                let next = (now_ms.div_euclid(p) + 1) * p;
                let grace = (p / 4).min(MAX_GRACE.as_millis() as i64);
                // Evaluating at `now` covers a boundary passed less than `grace` ago.
                let last = now_ms.div_euclid(p) * p;
                if now_ms < last + grace {
                    last + grace
                } else {
                    next + grace
                }
            })
            .min()
    }

    /// Starts the evaluation task: it sleeps until the next boundary (plus grace) of any
    /// alarm, evaluates, and repeats; a new alarm wakes it to re-plan. It ends when the
    /// CloudWatch is dropped or the handle aborted.
    pub fn spawn_evaluator(self: &Arc<Self>) -> JoinHandle<()> {
        let weak: Weak<Self> = Arc::downgrade(self);
        let changed = Arc::clone(&self.alarms_changed);
        tokio::spawn(async move {
            loop {
                let wait = {
                    let Some(cw) = weak.upgrade() else { return };
                    let now = now_ms();
                    cw.next_evaluation_ms(now)
                        .map(|at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
                };
                // `notify_one` leaves a permit when nobody waits: a change between the plan
                // above and this wait is not lost.
                match wait {
                    Some(wait) => {
                        tokio::select! {
                            () = tokio::time::sleep(wait) => {
                                let Some(cw) = weak.upgrade() else { return };
                                cw.evaluate(now_ms());
                            }
                            () = changed.notified() => {}
                        }
                    }
                    None => changed.notified().await,
                }
            }
        })
    }
}

impl Drop for LabCloudWatch {
    /// Wakes the evaluation task so that it sees the CloudWatch gone and ends.
    fn drop(&mut self) {
        self.alarms_changed.notify_one();
    }
}

impl AlarmSource for LabCloudWatch {
    fn state(&self, alarm_name: &str) -> Option<AlarmState> {
        self.lock().cloudwatch.state(alarm_name)
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.transitions.subscribe()
    }
}

impl LineTap for LabCloudWatch {
    /// Reads the function's and the extensions' lines (not the platform's own).
    fn line(&self, line: &LogLine) {
        if line.source != LogSource::Platform {
            self.ingest_line(&line.text);
        }
    }
}

#[cfg(test)]
#[path = "alarms_tests.rs"]
mod tests;
