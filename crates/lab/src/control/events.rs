//! The ground-truth event log of deployments (issue 10, item 6): every routing change as
//! applied, hook invocations and results, alarm transitions with the datapoints that caused
//! them, deployment progress and status changes.
//!
//! Each [`EventLog::record`] stamps the event with the wall clock (microseconds), appends one
//! JSON line to the log file (one `write`, so a crash loses nothing already recorded) and prints
//! one human-readable progress line at `info` (target `rollcall_lab::progress`).
//!
//! A line: `{"time":"2026-12-04T11:46:39.123456Z","timeUs":1796384799123456,"type":"routingChanged",...}`
//! — `type` is one of `routingChanged`, `hookInvoked`, `hookResult`, `alarmTransition`,
//! `deploymentProgress`, `deploymentStatus`; the other fields are the variant's, camelCase.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::alias::{Routing, RoutingChange};
use cloudwatch::{AlarmState, AlarmTransition, Datapoint};

/// The tracing target of the console progress lines.
pub const PROGRESS_TARGET: &str = "rollcall_lab::progress";

/// An alias's routing as the log writes it: `{"primary": "1", "additional": {"2": 0.1}}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoutingView {
    /// `FunctionVersion`.
    pub primary: String,
    /// `AdditionalVersionWeights` (empty when all traffic goes to `primary`).
    pub additional: BTreeMap<String, f64>,
}

impl From<&Routing> for RoutingView {
    fn from(r: &Routing) -> Self {
        Self {
            primary: r.primary.clone(),
            additional: r.additional.iter().cloned().collect(),
        }
    }
}

impl std::fmt::Display for RoutingView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let extra: f64 = self.additional.values().sum();
        write!(f, "{} {}", self.primary, percent(1.0 - extra))?;
        for (v, w) in &self.additional {
            write!(f, " + {v} {}", percent(*w))?;
        }
        Ok(())
    }
}

fn percent(weight: f64) -> String {
    let p = weight * 100.0;
    if (p - p.round()).abs() < 1e-9 {
        format!("{}%", p.round())
    } else {
        format!("{p:.2}%")
    }
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    /// An alias's routing changed (UpdateAlias, or a deployment's step), as applied.
    #[serde(rename_all = "camelCase")]
    RoutingChanged {
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The routing before.
        before: RoutingView,
        /// The routing after.
        after: RoutingView,
    },
    /// A lifecycle hook function was invoked (asynchronously).
    #[serde(rename_all = "camelCase")]
    HookInvoked {
        /// `DeploymentId`.
        deployment_id: String,
        /// `BeforeAllowTraffic` or `AfterAllowTraffic`.
        lifecycle_event: String,
        /// The hook function's name.
        function: String,
        /// `LifecycleEventHookExecutionId`.
        execution_id: String,
    },
    /// A hook's result: what PutLifecycleEventHookExecutionStatus reported, or the lab's
    /// verdict (`Failed` for a crash or the time limit, with `reason`).
    #[serde(rename_all = "camelCase")]
    HookResult {
        /// `DeploymentId`.
        deployment_id: String,
        /// `BeforeAllowTraffic` or `AfterAllowTraffic`.
        lifecycle_event: String,
        /// `LifecycleEventHookExecutionId`.
        execution_id: String,
        /// `Succeeded` or `Failed`.
        status: String,
        /// Why, when the lab decided (crash, time limit).
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// An alarm changed state at a period boundary.
    #[serde(rename_all = "camelCase")]
    AlarmTransition {
        /// `AlarmName`.
        alarm: String,
        /// The state before.
        from: AlarmState,
        /// The new state.
        to: AlarmState,
        /// The evaluation instant (the period boundary), epoch milliseconds.
        evaluated_at_ms: i64,
        /// Why, in CloudWatch's manner.
        reason: String,
        /// The evaluation range, oldest first.
        datapoints: Vec<Datapoint>,
    },
    /// Where a deployment stands: the console's progress line.
    #[serde(rename_all = "camelCase")]
    DeploymentProgress {
        /// `DeploymentId`.
        deployment_id: String,
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The traffic-shifting step (1-based) and how many there are.
        step: u32,
        /// Number of steps.
        steps: u32,
        /// The target version.
        target_version: String,
        /// The target version's weight from this step on, in `[0, 1]`.
        target_weight: f64,
        /// Milliseconds (wall clock, time-scaled) until the next shift; none after the last.
        #[serde(skip_serializing_if = "Option::is_none")]
        next_shift_in_ms: Option<u64>,
        /// The states of the deployment group's alarms.
        alarms: BTreeMap<String, AlarmState>,
    },
    /// A deployment's status changed (`Created`, `InProgress`, `Succeeded`, `Failed`,
    /// `Stopped`, ...), with where the alias ended when it is final.
    #[serde(rename_all = "camelCase")]
    DeploymentStatus {
        /// `DeploymentId`.
        deployment_id: String,
        /// The function.
        function: String,
        /// The alias.
        alias: String,
        /// The new status.
        status: String,
        /// Why (a failed hook, an alarm, a stop request), when not a plain progression.
        #[serde(skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        /// The alias's routing once the status applies.
        #[serde(skip_serializing_if = "Option::is_none")]
        routing: Option<RoutingView>,
    },
}

impl Event {
    /// The event of an applied routing change.
    pub fn routing_changed(function: &str, change: &RoutingChange) -> Self {
        Self::RoutingChanged {
            function: function.to_owned(),
            alias: change.alias.clone(),
            before: (&change.before).into(),
            after: (&change.after).into(),
        }
    }

    /// The event of an alarm transition.
    pub fn alarm_transition(t: &AlarmTransition) -> Self {
        Self::AlarmTransition {
            alarm: t.alarm.clone(),
            from: t.from,
            to: t.to,
            evaluated_at_ms: t.at_ms,
            reason: t.reason.clone(),
            datapoints: t.datapoints.clone(),
        }
    }

    /// The console line: one line, human-readable.
    pub fn progress_line(&self) -> String {
        match self {
            Self::RoutingChanged {
                function,
                alias,
                before,
                after,
            } => format!("{function}:{alias} routing {before} -> {after}"),
            Self::HookInvoked {
                deployment_id,
                lifecycle_event,
                function,
                execution_id,
            } => format!(
                "{deployment_id} {lifecycle_event}: hook {function} invoked (execution {execution_id})"
            ),
            Self::HookResult {
                deployment_id,
                lifecycle_event,
                status,
                reason,
                ..
            } => {
                let why = reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(" ({r})"));
                format!("{deployment_id} {lifecycle_event}: hook {status}{why}")
            }
            Self::AlarmTransition {
                alarm,
                from,
                to,
                datapoints,
                ..
            } => {
                let values: Vec<String> = datapoints
                    .iter()
                    .map(|d| d.value.map_or("-".to_owned(), |v| format!("{v:.3}")))
                    .collect();
                format!(
                    "alarm {alarm}: {} -> {} (datapoints, oldest first: {})",
                    state_name(*from),
                    state_name(*to),
                    values.join(" ")
                )
            }
            Self::DeploymentProgress {
                deployment_id,
                function,
                alias,
                step,
                steps,
                target_version,
                target_weight,
                next_shift_in_ms,
                alarms,
            } => {
                let next = next_shift_in_ms.map_or("last step".to_owned(), |ms| {
                    format!("next shift in {:.1} s", ms as f64 / 1000.0)
                });
                let alarms = if alarms.is_empty() {
                    "no alarms".to_owned()
                } else {
                    let states: Vec<String> = alarms
                        .iter()
                        .map(|(n, s)| format!("{n}={}", state_name(*s)))
                        .collect();
                    format!("alarms {}", states.join(", "))
                };
                format!(
                    "{deployment_id} {function}:{alias} step {step}/{steps}: version {target_version} at {}, {next}; {alarms}",
                    percent(*target_weight)
                )
            }
            Self::DeploymentStatus {
                deployment_id,
                function,
                alias,
                status,
                reason,
                routing,
            } => {
                let mut line = format!("{deployment_id} {function}:{alias} {status}");
                if let Some(r) = reason {
                    line.push_str(&format!(" ({r})"));
                }
                if let Some(r) = routing {
                    line.push_str(&format!("; alias at {r}"));
                }
                line
            }
        }
    }
}

fn state_name(s: AlarmState) -> &'static str {
    match s {
        AlarmState::Ok => "OK",
        AlarmState::Alarm => "ALARM",
        AlarmState::InsufficientData => "INSUFFICIENT_DATA",
    }
}

/// One line of the log: the event with its wall-clock time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Record {
    /// RFC 3339, UTC, microseconds.
    pub time: String,
    /// The same instant, microseconds since the epoch (for arithmetic).
    pub time_us: u64,
    /// The event.
    #[serde(flatten)]
    pub event: Event,
}

/// The event log could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the event log {path}: {source} (give --event-log a writable file path)")]
pub struct EventLogError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// The lab's event log: a JSON-lines file (when given) and the console progress lines.
#[derive(Debug)]
pub struct EventLog {
    path: Option<PathBuf>,
    file: Option<Mutex<File>>,
}

impl EventLog {
    /// A log appending to `path` (its directory is created).
    pub fn open(path: &Path) -> Result<Self, EventLogError> {
        let error = |source| EventLogError {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(error)?;
        Ok(Self {
            path: Some(path.to_owned()),
            file: Some(Mutex::new(file)),
        })
    }

    /// A log that only prints the console lines (no file).
    pub fn console_only() -> Self {
        Self {
            path: None,
            file: None,
        }
    }

    /// The file, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Stamps `event` with the wall clock, appends it to the file and prints its progress line;
    /// returns the record written.
    pub fn record(&self, event: Event) -> Record {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        let record = Record {
            time: humantime::format_rfc3339_micros(UNIX_EPOCH + now).to_string(),
            time_us: u64::try_from(now.as_micros()).unwrap_or(u64::MAX),
            event,
        };
        tracing::info!(target: PROGRESS_TARGET, "{}", record.event.progress_line());
        if let Some(file) = &self.file {
            let mut line = serde_json::to_vec(&record).unwrap_or_default();
            line.push(b'\n');
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            if let Err(e) = file.write_all(&line) {
                tracing::warn!(path = ?self.path, error = %e, "cannot append to the event log");
            }
        }
        record
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
