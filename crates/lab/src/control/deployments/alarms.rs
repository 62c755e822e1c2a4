//! Where the deployment engine learns the states of the alarms a deployment group monitors:
//! any number of [`AlarmSource`]s (the lab's CloudWatch, and [`AlarmBoard`]: states set by hand,
//! as CloudWatch's `SetAlarmState` does), asked in order; the first that knows an alarm answers.
//! A deployment reacts on every transition a source announces (no polling interval adds to
//! the alarm reaction time).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use rollout::deployment::AlarmState as DeploymentAlarmState;
use tokio::sync::watch;

pub use crate::control::alarms::{AlarmSource, AlarmState};

/// Alarm states set by hand.
#[derive(Debug)]
pub struct AlarmBoard {
    states: Mutex<BTreeMap<String, AlarmState>>,
    changes: watch::Sender<u64>,
}

impl Default for AlarmBoard {
    fn default() -> Self {
        Self {
            states: Mutex::default(),
            changes: watch::Sender::new(0),
        }
    }
}

impl AlarmBoard {
    /// A board with no alarm set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `alarm_name`'s state; every subscriber is told.
    pub fn set(&self, alarm_name: &str, state: AlarmState) {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(alarm_name.to_owned(), state);
        self.changes.send_modify(|n| *n += 1);
    }
}

impl AlarmSource for AlarmBoard {
    fn state(&self, alarm_name: &str) -> Option<AlarmState> {
        self.states
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(alarm_name)
            .copied()
    }

    fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }
}

/// The state of `alarm_name` as the first source that knows it says; `INSUFFICIENT_DATA` when
/// none does (an alarm not defined yet, as CodeDeploy sees a missing alarm it may ignore).
pub(super) fn state_of(sources: &[Arc<dyn AlarmSource>], alarm_name: &str) -> DeploymentAlarmState {
    match sources.iter().find_map(|s| s.state(alarm_name)) {
        Some(AlarmState::Ok) => DeploymentAlarmState::Ok,
        Some(AlarmState::Alarm) => DeploymentAlarmState::Alarm,
        Some(AlarmState::InsufficientData) | None => DeploymentAlarmState::InsufficientData,
    }
}
