//! Where the deployment engine learns the states of the alarms a deployment group monitors.
//!
//! The engine subscribes to each monitored alarm through an [`AlarmSource`] and reacts to every
//! change at once (no polling interval adds to the alarm reaction time). The lab's CloudWatch
//! (metric alarms over the environments' EMF) is one source; [`AlarmBoard`] is the in-memory one
//! for alarms set by hand.

use std::collections::BTreeMap;
use std::sync::Mutex;

use rollout::deployment::AlarmState;
use tokio::sync::watch;

/// The states of named alarms, as subscriptions.
pub trait AlarmSource: Send + Sync {
    /// A subscription to `alarm_name`'s state: the current state now, and every change after.
    /// An alarm the source does not know reads `INSUFFICIENT_DATA` until it is defined.
    fn watch(&self, alarm_name: &str) -> watch::Receiver<AlarmState>;
}

/// Alarms whose states are set by hand ([`AlarmBoard::set`]).
#[derive(Debug, Default)]
pub struct AlarmBoard {
    alarms: Mutex<BTreeMap<String, watch::Sender<AlarmState>>>,
}

impl AlarmBoard {
    /// A board with no alarms defined.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `alarm_name`'s state; every subscriber sees the change.
    pub fn set(&self, alarm_name: &str, state: AlarmState) {
        self.sender(alarm_name).send_replace(state);
    }

    /// `alarm_name`'s state now.
    pub fn state(&self, alarm_name: &str) -> AlarmState {
        *self.sender(alarm_name).borrow()
    }

    fn sender(&self, alarm_name: &str) -> watch::Sender<AlarmState> {
        let mut alarms = self.alarms.lock().unwrap_or_else(|e| e.into_inner());
        alarms
            .entry(alarm_name.to_owned())
            .or_insert_with(|| watch::Sender::new(AlarmState::InsufficientData))
            .clone()
    }
}

impl AlarmSource for AlarmBoard {
    fn watch(&self, alarm_name: &str) -> watch::Receiver<AlarmState> {
        self.sender(alarm_name).subscribe()
    }
}
